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
import { TCP_STATES, stateIndex, type TcpStateName } from '../wire/trace.js';
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

/** The highest number of states kept in a number, 4 bits each (16^13 < 2^53); more go to an array. */
const PACKED_STATES = 13;
/** 16^i for each packed state's place (a table: `16 ** i` with a variable i is a call to pow). */
const PLACE = Array.from({ length: PACKED_STATES }, (_, i) => 16 ** i);

/**
 * One connection the logger follows and, once it ended, its record. Kept compact, as `synack serve` keeps its
 * recent records and a connection-per-request load ends one per request: the states as TCP_STATES indexes packed
 * in a number, the addresses as the stack's own arrays (its addresses, interned remote addresses), the end time as
 * a number; the strings (endpoints, states, ISO time) are built when read (printed, JSON), from shared caches
 * where they repeat. What a reader sees is LifecycleRecord's fields, and JSON.stringify gives them (toJSON).
 */
class Lifecycle implements LifecycleRecord {
  close: CloseVariant = 'open';
  firstFin: 'us' | 'peer' | 'both' | null = null;
  /** After the peer's FIN: did we send anything (an ACK of it, data) before our own FIN? */
  sentInCloseWait: boolean | null = null;
  endCause = '';
  durationMs = 0;
  /** Wall-clock time of the end (Date.now()). */
  endedAtMs = 0;
  /** The first PACKED_STATES states' TCP_STATES indexes, 4 bits each, the first lowest. */
  private packed = 0;
  private count = 0;
  /** States beyond PACKED_STATES. */
  private more: TcpStateName[] | null = null;
  /** Every state it went through, as bits (1 << TCP_STATES index): has() without walking the list. */
  private seen = 0;
  constructor(
    readonly id: number,
    readonly localAddr: Uint8Array,
    readonly localPort: number,
    readonly remoteAddr: Uint8Array,
    readonly remotePort: number,
    readonly start: number,
    readonly active: boolean,
    first: TcpStateName,
  ) {
    this.push(first);
  }

  push(state: TcpStateName): void {
    const n = this.count++;
    const i = stateIndex(state);
    this.seen |= 1 << i;
    if (n < PACKED_STATES) this.packed += i * PLACE[n]!;
    else (this.more ??= []).push(state);
  }
  /** The i-th state, in order (0: the first). */
  stateAt(i: number): TcpStateName {
    if (i >= PACKED_STATES) return this.more![i - PACKED_STATES]!;
    return TCP_STATES[Math.floor(this.packed / PLACE[i]!) % 16]!;
  }
  get stateCount(): number { return this.count; }
  has(state: TcpStateName): boolean { return (this.seen & (1 << stateIndex(state))) !== 0; }
  get states(): TcpStateName[] {
    const out: TcpStateName[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.stateAt(i));
    return out;
  }
  /** `states` joined with ' > ' (one string per sequence of states of at most 12, shared: their key is exact). */
  get statesText(): string {
    if (this.count > 12) return this.states.join(' > ');
    const key = this.packed * 16 + this.count;
    let t = STATES_TEXT.get(key);
    if (t === undefined) { t = this.states.join(' > '); if (STATES_TEXT.size < 4096) STATES_TEXT.set(key, t); }
    return t;
  }
  get local(): string { return endpoint(this.localAddr, this.localPort); }
  get remote(): string { return endpoint(this.remoteAddr, this.remotePort); }
  get open(): 'active' | 'passive' { return this.active ? 'active' : 'passive'; }
  get endedAt(): string { return isoTime(this.endedAtMs); }
  toJSON(): LifecycleRecord {
    return {
      id: this.id, local: this.local, remote: this.remote, open: this.open, states: this.states, close: this.close,
      firstFin: this.firstFin, endCause: this.endCause, durationMs: this.durationMs, endedAt: this.endedAt,
    };
  }
}

/** The joined text of each sequence of states seen (Lifecycle#statesText), by packed value and count. */
const STATES_TEXT = new Map<number, string>();

/** The text of the addresses last formatted: a server's own address and its few peers repeat. */
const addressText = { a: null as Uint8Array | null, text: '', b: null as Uint8Array | null, btext: '' };
function formatAddressCached(a: Uint8Array): string {
  const c = addressText;
  if (a === c.a) return c.text;
  if (a === c.b) return c.btext;
  c.b = c.a; c.btext = c.text;
  c.a = a; c.text = formatAddress(a);
  return c.text;
}

function endpoint(a: Uint8Array, port: number): string {
  const t = formatAddressCached(a);
  return a.length === 16 ? `[${t}]:${port}` : `${t}:${port}`;
}

/** ISO 8601 of a wall-clock time; connections that end in the same millisecond share the string. */
let isoMs = NaN, isoText = '';
function isoTime(ms: number): string {
  if (ms !== isoMs) { isoMs = ms; isoText = new Date(ms).toISOString(); }
  return isoText;
}

/** describeCause's texts, made once each (a cause's text depends only on the call, the timer or the flags). */
const CAUSE_TEXT = new Map<string, string>();
const SEGMENT_TEXT: string[] = [];

export function describeCause(c: TcpCause): string {
  if (c.kind !== 'segment') {
    const key = c.kind === 'user' ? c.call : c.timer;
    let t = CAUSE_TEXT.get(c.kind + key);
    if (t === undefined) { t = `${c.kind} ${key}`; CAUSE_TEXT.set(c.kind + key, t); }
    return t;
  }
  const f = c.seg.flags & (0x02 | FIN | RST | 0x08 | 0x10);
  let t = SEGMENT_TEXT[f];
  if (t === undefined) {
    let s = '';
    if (f & 0x02) s += 'S';
    if (f & FIN) s += 'F';
    if (f & RST) s += 'R';
    if (f & 0x08) s += 'P';
    if (f & 0x10) s += '.';
    t = SEGMENT_TEXT[f] = `segment ${s || 'none'}`;
  }
  return t;
}

type ConnInfo = { id: number; localAddr: Uint8Array; localPort: number; remoteAddr: Uint8Array; remotePort: number };
type Transition = { time: number; from: TcpStateName; to: TcpStateName; cause: TcpCause };

export class LifecycleLogger {
  private readonly live = new Map<number, Lifecycle>();
  /** Connections between the peer's FIN and our FIN whose outgoing segments we watch (see sentInCloseWait). */
  private readonly closeWait = new Set<Lifecycle>();
  private readonly unsubs: Array<() => void> = [];
  /** Connections reported so far, by variant. */
  readonly totals: Record<CloseVariant, number> = { 'four-way': 0, 'three-way': 0, simultaneous: 0, 'rst-by-us': 0, 'rst-by-peer': 0, refused: 0, timeout: 0, open: 0 };

  constructor(private readonly stack: Stack, private readonly onRecord: (r: LifecycleRecord) => void) {
    // A compact TIME-WAIT entry's end is not news here (its line was written when it entered TIME-WAIT): the
    // stack builds no transition for it.
    this.unsubs.push(stack.observeTransitions((c, ev) => this.transition(c, ev), { timeWaitEnds: false }));
    this.unsubs.push(stack.observePackets((dir, packet) => {
      // Only while some connection is between the peer's FIN and ours: nothing to do on the data path otherwise.
      if (dir === 'out' && this.closeWait.size > 0) this.outgoing(packet);
    }, { headersOnly: true })); // ports and flags: segments keep their gathered, checksum-offloaded path
  }

  /** Number of connections being followed (bounded by the stack's live connections). */
  get size(): number {
    return this.live.size;
  }

  private transition(c: ConnInfo, ev: Transition): void {
    let l = this.live.get(c.id);
    if (l === undefined) {
      // TIME-WAIT → CLOSED of a full TCB kept in TIME-WAIT: its line was written when it entered TIME-WAIT.
      if (ev.from === 'TIME-WAIT') return;
      // A passive open's TCB starts with CLOSED → LISTEN (the listener's "copy"); the story starts at LISTEN.
      const listen = ev.from === 'CLOSED' && ev.to === 'LISTEN';
      // The addresses are the stack's (its own, interned remote ones), not views into a packet.
      l = new Lifecycle(c.id, c.localAddr, c.localPort, c.remoteAddr, c.remotePort, ev.time, ev.to === 'SYN-SENT', listen ? 'LISTEN' : ev.from);
      this.live.set(c.id, l);
      if (listen) return;
    }
    l.push(ev.to);
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

  private end(l: Lifecycle, time: number, final: TcpStateName, cause: TcpCause): void {
    this.live.delete(l.id);
    if (l.sentInCloseWait !== null) this.closeWait.delete(l);
    let close: CloseVariant;
    const rstIn = cause.kind === 'segment' && (cause.seg.flags & RST) !== 0;
    if (rstIn) close = l.has('SYN-SENT') && !l.has('ESTABLISHED') ? 'refused' : 'rst-by-peer';
    else if (cause.kind === 'user' && (cause.call === 'abort' || cause.call === 'close')) close = 'rst-by-us';
    else if (cause.kind === 'timer' && final === 'CLOSED' && cause.timer !== 'time-wait') close = 'timeout';
    // Data after close (Linux TCPAbortOnData): the engine answered with RST and deleted the TCB.
    else if (final === 'CLOSED' && cause.kind === 'segment' && l.stateAt(l.stateCount - 2) !== 'LAST-ACK') close = 'rst-by-us';
    else if (l.has('CLOSING')) close = 'simultaneous';
    else if (l.firstFin === 'us') close = l.has('FIN-WAIT-2') ? 'four-way' : 'three-way';
    else if (l.firstFin === 'peer') close = l.sentInCloseWait ? 'four-way' : 'three-way';
    else close = 'timeout';
    this.emit(l, time, close, describeCause(cause));
  }

  private emit(l: Lifecycle, time: number, close: CloseVariant, endCause: string): void {
    this.totals[close]++;
    l.close = close;
    l.endCause = endCause;
    l.durationMs = Math.round((time - l.start) * 10) / 10;
    l.endedAtMs = Date.now();
    this.onRecord(l);
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
  const states = r instanceof Lifecycle ? r.statesText : r.states.join(' > ');
  return `${r.endedAt} ${r.local} ${r.open === 'active' ? '->' : '<-'} ${r.remote} ${states} close=${r.close}${first} (${r.endCause}) ${r.durationMs} ms`;
}
