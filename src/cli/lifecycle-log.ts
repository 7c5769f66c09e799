/**
 * One line per connection when it ends: its 4-tuple, every RFC 9293 state it went through, and how it closed.
 * "Ends" means the application is done with it: it reached TIME-WAIT (the remaining 2·MSL wait is the
 * stack's business, kept in its compact TIME-WAIT table) or CLOSED.
 *
 * Close variants (names as in `synack analyze`, seen from synack's side):
 *   four-way      FIN, ACK, FIN, ACK: the second FIN came after the first was acknowledged on its own
 *                 (RFC 9293 §3.6, Figure 12). We closed first: FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT. The peer
 *                 closed first: we acknowledged its FIN before sending ours (CLOSE-WAIT → LAST-ACK).
 *   three-way     the second FIN carried the ACK of the first (FIN, FIN+ACK, ACK): FIN-WAIT-1 → TIME-WAIT, or our
 *                 FIN was the first segment we sent after the peer's FIN.
 *   simultaneous  both FINs crossed: FIN-WAIT-1 → CLOSING → TIME-WAIT (Figure 13).
 *   rst-by-us     we aborted (ABORT, or close with unread data: RFC 1122 §4.2.2.13), or answered data after close.
 *   rst-by-peer   the peer's RST closed it (§3.10.7.4, first check of the RST bit).
 *   refused       our SYN was answered with RST (§3.10.7.3).
 *   timeout       a timer gave up: retransmissions, keep-alive, FIN-WAIT-2, or a SYN-RECEIVED entry expired.
 *   open          still open when synack stopped (reported by flush()).
 */
import type { TcpStateName } from '../wire/trace.js';
import { formatAddress } from '../wire/address.js';
import { FIN, RST } from '../wire/tcp-types.js';
import type { TcpCause } from '../tcp/connection.js';
import type { Stack } from '../stack/stack.js';

export type CloseVariant = 'four-way' | 'three-way' | 'simultaneous' | 'rst-by-us' | 'rst-by-peer' | 'refused' | 'timeout' | 'open';

export interface LifecycleRecord {
  id: number;
  /** "10.77.0.2:80" / "[fd77::2]:80" */
  local: string;
  remote: string;
  /** Whether synack sent the first SYN. */
  open: 'active' | 'passive';
  /** Every state in order, starting with the state before the first transition. */
  states: TcpStateName[];
  close: CloseVariant;
  /** Which side sent the first FIN (null when no FIN was involved). */
  firstFin: 'us' | 'peer' | 'both' | null;
  /** What ended it, e.g. "timer fin-wait-2", "user abort", "segment R." */
  endCause: string;
  durationMs: number;
  /** Wall-clock time of the end, ISO 8601. */
  endedAt: string;
}

interface Live {
  id: number;
  localAddr: Uint8Array;
  localPort: number;
  remoteAddr: Uint8Array;
  remotePort: number;
  states: TcpStateName[];
  start: number;
  active: boolean;
  firstFin: 'us' | 'peer' | 'both' | null;
  /** After the peer's FIN: did we send anything (an ACK of it, data) before our own FIN? */
  sentInCloseWait: boolean | null;
}

function endpoint(a: Uint8Array, port: number): string {
  return a.length === 16 ? `[${formatAddress(a)}]:${port}` : `${formatAddress(a)}:${port}`;
}

export function describeCause(c: TcpCause): string {
  if (c.kind === 'user') return `user ${c.call}`;
  if (c.kind === 'timer') return `timer ${c.timer}`;
  const f = c.seg.flags;
  let s = '';
  if (f & 0x02) s += 'S';
  if (f & FIN) s += 'F';
  if (f & RST) s += 'R';
  if (f & 0x08) s += 'P';
  if (f & 0x10) s += '.';
  return `segment ${s || 'none'}`;
}

export class LifecycleLogger {
  private readonly live = new Map<number, Live>();
  /** Connections between the peer's FIN and our FIN whose outgoing segments we watch (see sentInCloseWait). */
  private readonly closeWait = new Set<Live>();
  private readonly unsubs: Array<() => void> = [];
  /** Connections reported so far, by variant. */
  readonly totals: Record<CloseVariant, number> = { 'four-way': 0, 'three-way': 0, simultaneous: 0, 'rst-by-us': 0, 'rst-by-peer': 0, refused: 0, timeout: 0, open: 0 };

  constructor(private readonly stack: Stack, private readonly onRecord: (r: LifecycleRecord) => void) {
    this.unsubs.push(stack.observeTransitions((c, ev) => this.transition(c, ev)));
    this.unsubs.push(stack.observePackets((dir, packet) => {
      // Only while some connection is between the peer's FIN and ours: nothing to do on the data path otherwise.
      if (dir === 'out' && this.closeWait.size > 0) this.outgoing(packet);
    }, { headersOnly: true })); // ports and flags: segments keep their gathered, checksum-offloaded path
  }

  /** Number of connections being followed (bounded by the stack's live connections). */
  get size(): number {
    return this.live.size;
  }

  private transition(c: { id: number; localAddr: Uint8Array; localPort: number; remoteAddr: Uint8Array; remotePort: number }, ev: { time: number; from: TcpStateName; to: TcpStateName; cause: TcpCause }): void {
    let l = this.live.get(c.id);
    if (!l) {
      // TIME-WAIT → CLOSED of a compact entry: its line was written when it entered TIME-WAIT.
      if (ev.from === 'TIME-WAIT') return;
      l = {
        id: c.id, localAddr: c.localAddr, localPort: c.localPort, remoteAddr: c.remoteAddr, remotePort: c.remotePort,
        states: [ev.from], start: ev.time, active: ev.to === 'SYN-SENT', firstFin: null, sentInCloseWait: null,
      };
      this.live.set(c.id, l);
      // A passive open's TCB starts with CLOSED → LISTEN (the listener's "copy"); the story starts at LISTEN.
      if (ev.from === 'CLOSED' && ev.to === 'LISTEN') { l.states = ['LISTEN']; return; }
    }
    l.states.push(ev.to);
    if (ev.to === 'FIN-WAIT-1' && l.firstFin === null) l.firstFin = 'us';
    if (ev.to === 'CLOSE-WAIT') {
      l.firstFin = 'peer';
      l.sentInCloseWait = false;
      this.closeWait.add(l);
    }
    if (ev.to === 'CLOSING') l.firstFin = 'both';
    // Stay watched in LAST-ACK until our FIN actually leaves: data queued before close() goes out first.
    if (ev.from === 'CLOSE-WAIT' && ev.to !== 'LAST-ACK') this.closeWait.delete(l);
    if (ev.to === 'TIME-WAIT' || ev.to === 'CLOSED') this.end(l, ev.time, ev.to, ev.cause);
  }

  /** Outgoing segment while some connection is in CLOSE-WAIT: note when one of them sends anything but a FIN. */
  private outgoing(p: Uint8Array): void {
    const v = p[0]! >> 4;
    let off: number, dst: Uint8Array;
    if (v === 4) { off = (p[0]! & 0x0f) * 4; dst = p.subarray(16, 20); } else if (v === 6) { off = 40; dst = p.subarray(24, 40); } else return;
    if (p.length < off + 14) return;
    const sport = (p[off]! << 8) | p[off + 1]!;
    const dport = (p[off + 2]! << 8) | p[off + 3]!;
    const flags = p[off + 13]!;
    for (const l of this.closeWait) {
      if (l.localPort !== sport || l.remotePort !== dport || l.remoteAddr.length !== dst.length) continue;
      let same = true;
      for (let i = 0; i < dst.length; i++) if (dst[i] !== l.remoteAddr[i]) { same = false; break; }
      if (!same) continue;
      if (!(flags & (FIN | RST))) l.sentInCloseWait = true;
      else this.closeWait.delete(l); // our FIN (or RST) is out: the answer is known
      return;
    }
  }

  private end(l: Live, time: number, final: TcpStateName, cause: TcpCause): void {
    this.live.delete(l.id);
    this.closeWait.delete(l);
    const s = l.states;
    const has = (x: TcpStateName) => s.includes(x);
    let close: CloseVariant;
    const rstIn = cause.kind === 'segment' && (cause.seg.flags & RST) !== 0;
    if (rstIn) close = s.includes('SYN-SENT') && !has('ESTABLISHED') ? 'refused' : 'rst-by-peer';
    else if (cause.kind === 'user' && (cause.call === 'abort' || cause.call === 'close')) close = 'rst-by-us';
    else if (cause.kind === 'timer' && final === 'CLOSED' && cause.timer !== 'time-wait') close = 'timeout';
    // Data after close (Linux TCPAbortOnData): the engine answered with RST and deleted the TCB.
    else if (final === 'CLOSED' && cause.kind === 'segment' && s[s.length - 2] !== 'LAST-ACK') close = 'rst-by-us';
    else if (has('CLOSING')) close = 'simultaneous';
    else if (l.firstFin === 'us') close = has('FIN-WAIT-2') ? 'four-way' : 'three-way';
    else if (l.firstFin === 'peer') close = l.sentInCloseWait ? 'four-way' : 'three-way';
    else close = 'timeout';
    this.emit(l, time, close, `${describeCause(cause)}`);
  }

  private emit(l: Live, time: number, close: CloseVariant, endCause: string): void {
    this.totals[close]++;
    this.onRecord({
      id: l.id,
      local: endpoint(l.localAddr, l.localPort),
      remote: endpoint(l.remoteAddr, l.remotePort),
      open: l.active ? 'active' : 'passive',
      states: l.states,
      close,
      firstFin: l.firstFin,
      endCause,
      durationMs: Math.round((time - l.start) * 10) / 10,
      endedAt: new Date().toISOString(),
    });
  }

  /** Reports every connection still followed as `open` (when synack stops) and stops observing. */
  flush(): void {
    const now = this.stack.clock.now();
    for (const l of [...this.live.values()]) {
      this.live.delete(l.id);
      this.emit(l, now, 'open', 'synack stopped');
    }
    this.closeWait.clear();
    for (const u of this.unsubs.splice(0)) u();
  }
}

/** The text form of a record: one line. */
export function formatRecord(r: LifecycleRecord): string {
  const first = r.firstFin === 'us' ? ', we closed first' : r.firstFin === 'peer' ? ', peer closed first' : r.firstFin === 'both' ? ', both at once' : '';
  return `${r.endedAt} ${r.local} ${r.open === 'active' ? '->' : '<-'} ${r.remote} ${r.states.join(' > ')} close=${r.close}${first} (${r.endCause}) ${r.durationMs} ms`;
}
