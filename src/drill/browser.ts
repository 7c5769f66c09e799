/**
 * A packetdrill script run that also records what happened, for the web page (in its Web Worker) and for
 * `synack drill --ladder/--pcap`: every packet in and out of the stack under test with its virtual time, the
 * stack's state transitions, and from those a neutral Trace (ladder, state machines) whose left side is the
 * script's peer and right side synack. Browser-clean (no node: imports), unlike conformance.ts.
 *
 * The runner (runner.ts) builds its Stack privately and has no observer hook, so for the duration of one
 * synchronous run this attaches observers to every Stack that links up (Stack.prototype.attach wrapped, then
 * restored). A `RunOptions.observe` hook in the runner would make this unnecessary.
 */
import { Stack } from '../stack/stack.js';
import { decodePacket } from '../wire/packet.js';
import { formatAddress } from '../wire/address.js';
import { ACK, FIN, RST, SYN, type TcpSegment } from '../wire/tcp-types.js';
import type { Trace, TraceEntry, TraceStateChange, TcpStateName } from '../wire/trace.js';
import type { Personality } from './ast.js';
import { runScriptText, type DrillResult, type RunOptions } from './runner.js';

export interface DrillPacket {
  /** Virtual ms since the script started. */
  time: number;
  /** 'a' = injected by the script (its peer), 'b' = sent by synack. */
  from: 'a' | 'b';
  bytes: Uint8Array;
}

export interface TracedDrill {
  result: DrillResult;
  packets: DrillPacket[];
  /** The first connection's ladder: the script's peer ('a', states inferred from its segments) and synack ('b'). */
  trace: Trace;
  /** Each trace entry's IP datagram (same index). */
  raw: Uint8Array[];
  /** synack's states, in order (CLOSED first). */
  localStates: TcpStateName[];
}

type StackLike = Stack & { attach: Stack['attach'] };

/** Runs one script's text (like runScriptText) and records its packets and the stack's transitions. */
export function runDrillTraced(text: string, opts: Omit<RunOptions, 'log'> & { personality: Personality }): TracedDrill {
  const packets: DrillPacket[] = [];
  type Ev = { kind: 'pkt'; p: DrillPacket } | { kind: 'tr'; time: number; localPort: number; remotePort: number; from: TcpStateName; to: TcpStateName; cause: string; bySegment: boolean };
  const events: Ev[] = [];
  const proto = Stack.prototype as StackLike;
  const attach = proto.attach;
  proto.attach = function (this: Stack, ...args: Parameters<Stack['attach']>) {
    this.observePackets((dir, bytes, time) => {
      const p: DrillPacket = { time, from: dir === 'in' ? 'a' : 'b', bytes: bytes.slice() };
      packets.push(p);
      events.push({ kind: 'pkt', p });
    });
    this.observeTransitions((c, ev) => {
      const cause = ev.cause.kind === 'user' ? `${ev.cause.call}()` : ev.cause.kind === 'timer' ? `${ev.cause.timer} timer` : 'segment';
      events.push({ kind: 'tr', time: ev.time, localPort: c.localPort, remotePort: c.remotePort, from: ev.from, to: ev.to, cause, bySegment: ev.cause.kind === 'segment' });
    });
    return attach.apply(this, args);
  };
  let result: DrillResult;
  try {
    result = runScriptText(text, opts);
  } finally {
    proto.attach = attach;
  }
  const { trace, raw, localStates } = buildDrillTrace(events, opts.file);
  return { result, packets, trace, raw, localStates };
}

/** From the recorded events: the first connection's entries and synack's changes, then the peer's inferred states. */
function buildDrillTrace(events: Array<{ kind: 'pkt'; p: DrillPacket } | { kind: 'tr'; time: number; localPort: number; remotePort: number; from: TcpStateName; to: TcpStateName; cause: string; bySegment: boolean }>, file: string): { trace: Trace; raw: Uint8Array[]; localStates: TcpStateName[] } {
  let tuple: { local: number; remote: number; localAddr: string; remoteAddr: string } | null = null;
  const entries: TraceEntry[] = [];
  const raw: Uint8Array[] = [];
  const changes: TraceStateChange[] = [];
  const localStates: TcpStateName[] = ['CLOSED'];
  let state: TcpStateName = 'CLOSED';
  let lastIn: TraceEntry | null = null;
  let pendingOut: TraceEntry[] = [];
  const flush = (): void => { for (const e of pendingOut) e.stateB = state; pendingOut = []; };
  const mine = (local: number, remote: number): boolean => tuple !== null && tuple.local === local && tuple.remote === remote;
  for (const [order, ev] of events.entries()) {
    if (ev.kind === 'pkt') {
      let seg: TcpSegment;
      let src: Uint8Array, dst: Uint8Array;
      try { const d = decodePacket(ev.p.bytes); if (!d.tcp) continue; seg = d.tcp.seg; src = d.ip.src; dst = d.ip.dst; } catch { continue; }
      const local = ev.p.from === 'a' ? seg.dstPort : seg.srcPort;
      const remote = ev.p.from === 'a' ? seg.srcPort : seg.dstPort;
      // The connection the ladder follows: the first one a SYN opens (or the first segment's, if none does).
      if (tuple === null && (seg.flags & SYN || entries.length === 0)) {
        tuple = { local, remote, localAddr: formatAddress(ev.p.from === 'a' ? dst : src), remoteAddr: formatAddress(ev.p.from === 'a' ? src : dst) };
      }
      if (!mine(local, remote)) continue;
      // What synack sent while it processed the previous segment is settled now: its transitions were
      // reported after those sends.
      if (ev.p.from === 'a') flush();
      // The run's own order of events: segments and changes of one millisecond keep it on the ladder.
      const e: TraceEntry = { time: ev.p.time, from: ev.p.from, seg, order };
      entries.push(e);
      raw.push(ev.p.bytes);
      if (ev.p.from === 'a') { lastIn = e; e.stateB = state; } else pendingOut.push(e);
      continue;
    }
    // A listener's child is born in LISTEN: the listening socket itself, not news.
    if (tuple === null && ev.to === 'LISTEN') { if (state === 'CLOSED') { state = 'LISTEN'; localStates.push('LISTEN'); changes.push({ time: ev.time, side: 'b', from: 'CLOSED', to: 'LISTEN', cause: ev.cause, order }); } continue; }
    if (tuple === null || !mine(ev.localPort, ev.remotePort)) {
      if (tuple === null && ev.from === 'CLOSED' && ev.to !== 'LISTEN') { state = ev.to; localStates.push(ev.to); changes.push({ time: ev.time, side: 'b', from: 'CLOSED', to: ev.to, cause: ev.cause, order }); }
      continue;
    }
    if (ev.to === 'LISTEN' && state === 'LISTEN') continue;
    state = ev.to;
    if (localStates[localStates.length - 1] !== ev.to) localStates.push(ev.to);
    if (ev.bySegment && lastIn) lastIn.stateB = ev.to;
    else {
      // A call's (or a listener's) change is reported after the segments it sent: it goes just before them, and a
      // listener's child is born as the SYN arrives, just before it.
      const first = ev.to === 'LISTEN' ? lastIn : pendingOut[0];
      changes.push({ time: ev.time, side: 'b', from: ev.from, to: ev.to, cause: ev.cause, order: first?.order !== undefined ? first.order - 0.5 : order });
      if (ev.to !== 'LISTEN') flush();
    }
  }
  flush();
  inferPeerStates(entries, localStates[1] === 'LISTEN' || localStates[1] === 'SYN-RECEIVED');
  return {
    trace: {
      title: `packetdrill ${file}`,
      a: { addr: tuple?.remoteAddr ?? '', port: tuple?.remote ?? 0, label: 'script' },
      b: { addr: tuple?.localAddr ?? '', port: tuple?.local ?? 0, label: 'synack' },
      entries, changes,
    },
    raw,
    localStates,
  };
}

/**
 * The script's side has no TCB: its state after each segment is inferred from what it sends and what it shows
 * it has received, by RFC 9293's rules. A segment of synack's with sequence space (SYN, FIN, data) counts as
 * received by the script when the script's ACK covers it (until then the two may have crossed, as in a
 * simultaneous close); a RST at once. `peerActive`: synack listened, so the script opened; else it listened.
 */
function inferPeerStates(entries: TraceEntry[], peerActive: boolean): void {
  let s: TcpStateName = peerActive ? 'CLOSED' : 'LISTEN';
  let synEnd: number | undefined; // one past the script's SYN
  let finEnd: number | undefined; // one past the script's FIN
  const segEnd = (g: TcpSegment): number => (g.seq + g.payload.length + (g.flags & SYN ? 1 : 0) + (g.flags & FIN ? 1 : 0)) >>> 0;
  const covers = (ack: number, end: number | undefined): boolean => end !== undefined && ((ack - end) | 0) >= 0;
  const receive = (g: TcpSegment): void => {
    const f = g.flags;
    if (f & RST) { s = 'CLOSED'; return; }
    if (f & SYN) {
      if (f & ACK) { if (s === 'SYN-SENT' && covers(g.ack, synEnd)) s = 'ESTABLISHED'; } else if (s === 'SYN-SENT' || s === 'LISTEN') s = 'SYN-RECEIVED';
    } else if (s === 'SYN-RECEIVED' && f & ACK && covers(g.ack, synEnd)) s = 'ESTABLISHED';
    const acksFin = (f & ACK) !== 0 && covers(g.ack, finEnd);
    if (acksFin) s = s === 'FIN-WAIT-1' ? 'FIN-WAIT-2' : s === 'CLOSING' ? 'TIME-WAIT' : s === 'LAST-ACK' ? 'CLOSED' : s;
    if (f & FIN) s = s === 'ESTABLISHED' ? 'CLOSE-WAIT' : s === 'FIN-WAIT-1' ? 'CLOSING' : s === 'FIN-WAIT-2' ? 'TIME-WAIT' : s;
  };
  // Pass 1: the row at which the script takes in each of synack's segments. One it acknowledges at row j was
  // taken in after the script's previous segment (which did not acknowledge it) and after it was sent.
  const receiptsAt = new Map<number, TcpSegment[]>();
  const at = (row: number, g: TcpSegment): void => { const l = receiptsAt.get(row); if (l) l.push(g); else receiptsAt.set(row, [g]); };
  const queue: number[] = [];
  let lastPeer = -1;
  entries.forEach((e, row) => {
    const g = e.seg;
    if (e.from === 'b') {
      if (g.flags & RST) { queue.length = 0; at(row, g); } else if (queue.length === 0 && segEnd(g) === g.seq) at(row, g); else queue.push(row);
      return;
    }
    if (g.flags & ACK) {
      while (queue.length) {
        const u = entries[queue[0]!]!.seg;
        if (segEnd(u) !== u.seq && !covers(g.ack, segEnd(u))) break;
        at(Math.min(row, Math.max(queue[0]!, lastPeer) + 1), u);
        queue.shift();
      }
    }
    lastPeer = row;
  });
  // What the script never acknowledged it is taken to have received when it arrived (after its last segment).
  for (const q of queue) at(Math.min(entries.length - 1, Math.max(q, lastPeer + 1)), entries[q]!.seg);
  // Pass 2: at each row, what the script takes in, then what it sends.
  entries.forEach((e, row) => {
    for (const g of receiptsAt.get(row) ?? []) receive(g);
    const g = e.seg;
    if (e.from === 'a') {
      if (g.flags & RST) s = 'CLOSED';
      else {
        if (g.flags & SYN) { synEnd = (g.seq + 1) >>> 0; s = g.flags & ACK ? 'SYN-RECEIVED' : s === 'SYN-RECEIVED' ? s : 'SYN-SENT'; }
        if (g.flags & FIN) { finEnd = segEnd(g); const st = s as TcpStateName; s = st === 'CLOSE-WAIT' ? 'LAST-ACK' : st === 'ESTABLISHED' || st === 'SYN-RECEIVED' ? 'FIN-WAIT-1' : st; }
      }
    }
    e.stateA = s;
  });
}
