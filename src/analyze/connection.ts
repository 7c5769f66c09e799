/**
 * One TCP connection as seen in a capture: Zeek's view (conn_state, history), Wireshark's completeness and
 * sequence analysis, the inferred RFC 9293 state of both endpoints after every packet, and synack's
 * handshake/close classification (../shared/docs/connection-analysis.md §5).
 *
 * Sides are numbered by capture order: side 0 (`a`) sent the first packet, side 1 (`b`) the other one.
 * Zeek may decide the originator is side 1 (role flips); reports map sides to originator/responder at the end.
 */
import { ACK, FIN, PSH, RST, SYN, URG, seqGe, seqGt, seqLt, type TcpSegment } from '../wire/tcp-types.js';
import type { TcpStateName, TraceEntry } from '../wire/trace.js';
import { ZeekConn } from './zeek.js';
import { detectService, type Service } from './service.js';

export interface PacketInfo {
  frame: number;
  /** Capture time, seconds (float). */
  time: number;
  flags: number;
  seq: number;
  ack: number;
  /** TCP payload length from the IP header (independent of the snap length). */
  len: number;
  window: number;
  /** Window scale option on a SYN, -1 otherwise. */
  wscale: number;
  /** IP total length. */
  ipLen: number;
  /** Decoded segment (ladder traces only; null on the fast path). */
  seg: TcpSegment | null;
}

/**
 * How the connection opened, claiming only what was captured: `normal` and `retried-syn` need the SYN, the
 * SYN-ACK and the originator's ACK of the SYN-ACK; `no-final-ack` is SYN and SYN-ACK without that ACK (a
 * spoofed source, a half-open connection, or a capture that stopped); `no-syn-ack` is a SYN the originator went
 * on from (it ACKed or sent data) while no SYN-ACK was captured (a one-sided capture).
 */
export type HandshakeKind = 'normal' | 'simultaneous-open' | 'retried-syn' | 'refused' | 'unanswered' | 'midstream'
  | 'no-final-ack' | 'no-syn-ack';
/**
 * How it closed: `four-way`, `three-way` and `simultaneous` only when every FIN's ACK was captured; the
 * `-no-last-ack` variants are the same FIN exchanges with the last ACK missing (the closing side still in
 * LAST-ACK or CLOSING as far as the capture shows).
 */
export type CloseKind = 'four-way' | 'three-way' | 'simultaneous' | 'four-way-no-last-ack' | 'three-way-no-last-ack'
  | 'simultaneous-no-last-ack' | 'rst-by-originator' | 'rst-by-responder' | 'half-closed' | 'open' | 'refused' | 'unanswered';

/** Wireshark tcp.completeness bits (§2.1). */
export const C_SYN = 1;
export const C_SYNACK = 2;
export const C_ACK = 4;
export const C_DATA = 8;
export const C_FIN = 16;
export const C_RST = 32;

/** A finished Zeek connection's conn.log row, kept when Zeek split a connection that synack keeps whole. */
export interface ZeekRowSnapshot {
  uid: string;
  ts: number;
  orig_h: string;
  orig_p: number;
  resp_h: string;
  resp_p: number;
  conn_state: string;
  history: string;
  first_frame: number;
  /** Zeek's reason (weird) for starting this Zeek connection, as in `split`. */
  split: string | null;
  zeek: {
    duration: number; orig_bytes: number; resp_bytes: number; missed_bytes: number; orig_pkts: number; resp_pkts: number;
    orig_ip_bytes: number; resp_ip_bytes: number; orig_endpoint_state: string; resp_endpoint_state: string;
  };
}

/** An anomaly within one connection (e.g. an out-of-window RST): its kind, the frames (at most 100 listed) and how many. */
export interface AnomalyHit { kind: string; frames: number[]; count: number; detail?: string }

const MAX_FRAMES_PER_ANOMALY = 100;

/**
 * The invalid flag combination of a segment, or null (§1.7, §3): SYN+FIN, SYN+RST, FIN+RST, no flags at all
 * (NULL), FIN+PSH+URG without ACK (Xmas), FIN without ACK.
 */
export function invalidFlagsKind(flags: number): string | null {
  const f = flags & (SYN | FIN | RST | ACK | PSH | URG);
  if ((f & (SYN | FIN)) === (SYN | FIN)) return 'SYN+FIN';
  if ((f & (SYN | RST)) === (SYN | RST)) return 'SYN+RST';
  if ((f & (FIN | RST)) === (FIN | RST)) return 'FIN+RST';
  if ((flags & 0x1ff) === 0) return 'NULL';
  if ((f & (FIN | PSH | URG)) === (FIN | PSH | URG) && !(f & ACK)) return 'Xmas';
  if (f & FIN && !(f & ACK)) return 'FIN-without-ACK';
  return null;
}

/**
 * Everything tracked per side of a connection, in one object (one allocation per side keeps connections
 * cheap for the garbage collector: a busy capture holds thousands of them).
 */
export class Side {
  pkts = 0;
  ipBytes = 0;
  payload = 0;
  /** Inferred RFC 9293 state (undefined until known). */
  rfc: TcpStateName | undefined = undefined;
  iss = 0;
  issKnown = false;
  /** Sequence number of this side's FIN (the FIN's own seq), -1 before one is seen. */
  finSeq = -1;
  /** Highest seq + segment length sent. */
  sndMax = 0;
  sndKnown = false;
  rcvWindow = -1;
  wscale = -1;
  pureSyns = 0;
  synAcks = 0;
  onlySyns = true;
  /** Ever sent a segment with the ACK bit. */
  sentAck = false;
  /** Packets Zeek processed (its ConnSize counts), and their IP bytes. */
  zeekPkts = 0;
  zeekIpBytes = 0;
  /** Wireshark-style base for relative sequence numbers (§2.3); NaN until known. */
  relBase = NaN;
  closedByRst = false;
  /** Union of the TCP flags this side sent (Suricata's tcp_flags_ts / tcp_flags_tc). */
  flagsSeen = 0;
  // Wireshark-style sequence analysis (§2.2)
  /** Highest seq + len seen (+1 for SYN/FIN); valid when `known`. */
  nextSeq = 0;
  known = false;
  lastAck = 0;
  ackKnown = false;
  window = -1;
  dupAcks = 0;
  lastSegWasKeepAlive = false;
  lastNextSeqTime = 0;
  /** Time of this side's last segment with ACK (Wireshark's lastacktime, for fast retransmissions). */
  lastAckTime = 0;
  /** The peer acknowledged this side's FIN (ack ≥ FIN seq + 1, in a segment without RST). */
  finAcked = false;
  /** Retransmissions (Wireshark's sense) of segments carrying this side's FIN. */
  finRetx = 0;
  /** This side acknowledged the peer's SYN-ACK (the handshake's final ACK). */
  ackedSynAck = false;
  /** Payload bytes carried on this side's SYN (TCP Fast Open or plain SYN data, RFC 7413 / RFC 9293 §3.4). */
  synData = 0;

  /** Back to the state of a fresh Side (objects are recycled between connections). */
  reset(): void {
    this.pkts = 0;
    this.ipBytes = 0;
    this.payload = 0;
    this.rfc = undefined;
    this.iss = 0;
    this.issKnown = false;
    this.finSeq = -1;
    this.sndMax = 0;
    this.sndKnown = false;
    this.rcvWindow = -1;
    this.wscale = -1;
    this.pureSyns = 0;
    this.synAcks = 0;
    this.onlySyns = true;
    this.sentAck = false;
    this.zeekPkts = 0;
    this.zeekIpBytes = 0;
    this.relBase = NaN;
    this.closedByRst = false;
    this.flagsSeen = 0;
    this.nextSeq = 0;
    this.known = false;
    this.lastAck = 0;
    this.ackKnown = false;
    this.window = -1;
    this.dupAcks = 0;
    this.lastSegWasKeepAlive = false;
    this.lastNextSeqTime = 0;
    this.lastAckTime = 0;
    this.finAcked = false;
    this.finRetx = 0;
    this.ackedSynAck = false;
    this.synData = 0;
  }
}

/** `from` copied into `into` when the lengths match (a byte loop: TypedArray.set costs more for 4 or 16 bytes), else a new copy. */
function copyAddress(into: Uint8Array, from: Uint8Array): Uint8Array {
  if (into.length !== from.length) return new Uint8Array(from);
  for (let i = 0; i < from.length; i++) into[i] = from[i]!;
  return into;
}

export class Connection {
  id: number;
  /**
   * The id of the first piece of the Wireshark conversation this connection continues (its own id when it
   * starts one): Zeek's timers split a long failed close or a SYN retry series into pieces that TShark keeps as
   * one stream; reports link them by this id (`group`).
   */
  groupId: number;
  addr: [Uint8Array, Uint8Array];
  port: [number, number];
  zeek: ZeekConn;
  splitReason: string | null;
  /** Per-side state: index 0 is the first packet's sender. */
  readonly s: [Side, Side] = [new Side(), new Side()];
  firstFrame = 0;
  lastFrame = 0;
  firstTime = 0;
  lastTime = 0;
  synRetries = 0;
  /** What the other side first answered to the first pure SYN: 'synack' | 'rst' | 'other' | ''. */
  firstAnswer = '';
  /** The side that sent the first pure SYN (-1 before one). */
  synSide = -1;
  // close tracking (§5.2), by side
  firstFinSide = -1;
  firstFinX = 0;
  secondFinSide = -1;
  secondFinAck = 0;
  secondFinHasAck = false;
  ackedFirstFinBeforeOwnFin = false;
  firstRstSide = -1;
  /** Time of that first deciding RST (NaN before one). */
  firstRstTime = NaN;
  rstAfterClose = false;
  halfCloseData = false;
  completeness = 0;
  retransmissions = 0;
  dupAcks = 0;
  outOfOrder = 0;
  zeroWindows = 0;
  keepAlives = 0;
  lostSegments = 0;
  badChecksums = 0;
  /** Null until the first anomaly (most connections have none). */
  anomalies: AnomalyHit[] | null = null;
  /** The application protocol the first payload bytes showed (service.ts), null when none did. */
  service: Service | null = null;
  /** Bit per side whose first payload was looked at (each side's first data segment only). */
  sniffed = 0;
  trace: TraceEntry[] | null;

  /** Whether this connection's first packet would create a Wireshark conversation (a new tuple, or a SYN with a new ISN). */
  wsCreates = true;
  /** The side that is the current Zeek connection's endpoint `a` (the sender of that Zeek connection's first packet). */
  zeekA: 0 | 1 = 0;
  /**
   * conn.log rows of the Zeek connections that ended inside this one: Zeek splits a tuple on a SYN+FIN or
   * SYN+RST (IsReuse), a packet the receiving stack drops (RFC 9293 §3.10.7), so synack does not. Null when none.
   */
  zeekRows: ZeekRowSnapshot[] | null = null;
  /** Why the current Zeek connection's predecessor on the tuple ended (Zeek's weird, as `split`). */
  zeekSplitReason: string | null = null;
  /** synack's originator side once a Zeek-only split happened (-1: follow Zeek's current orientation). */
  fixedOrigSide = -1;
  /** Packets with a valid flag combination (the ones synack's own inferences use). */
  validPkts = 0;
  /** First packet of the current Zeek connection (0: the connection's own first packet). */
  zeekFirstFrame = 0;

  constructor(id: number, srcAddr: Uint8Array, srcPort: number, dstAddr: Uint8Array, dstPort: number,
    zeek: ZeekConn, keepTrace: boolean, splitReason: string | null) {
    this.id = id;
    this.groupId = id;
    // Copies (Buffer.prototype.slice would return a view into the capture buffer, which recycling overwrites).
    this.addr = [new Uint8Array(srcAddr), new Uint8Array(dstAddr)];
    this.port = [srcPort, dstPort];
    this.zeek = zeek;
    this.trace = keepTrace ? [] : null;
    this.splitReason = splitReason;
    this.zeekSplitReason = splitReason;
  }

  /**
   * Makes a finished Connection (and its Sides) a fresh one for another 4-tuple: a busy capture creates
   * tens of thousands of connections, and recycling keeps them out of the young-generation GC.
   */
  reuse(id: number, srcAddr: Uint8Array, srcPort: number, dstAddr: Uint8Array, dstPort: number,
    flip: boolean, t: number, keepTrace: boolean, splitReason: string | null): void {
    this.id = id;
    this.groupId = id;
    this.addr[0] = copyAddress(this.addr[0], srcAddr);
    this.addr[1] = copyAddress(this.addr[1], dstAddr);
    this.port[0] = srcPort;
    this.port[1] = dstPort;
    this.zeek.reuse(flip, t);
    this.trace = keepTrace ? [] : null;
    this.splitReason = splitReason;
    this.s[0].reset();
    this.s[1].reset();
    this.firstFrame = 0;
    this.lastFrame = 0;
    this.firstTime = 0;
    this.lastTime = 0;
    this.synRetries = 0;
    this.firstAnswer = '';
    this.synSide = -1;
    this.firstFinSide = -1;
    this.firstFinX = 0;
    this.secondFinSide = -1;
    this.secondFinAck = 0;
    this.secondFinHasAck = false;
    this.ackedFirstFinBeforeOwnFin = false;
    this.firstRstSide = -1;
    this.firstRstTime = NaN;
    this.rstAfterClose = false;
    this.halfCloseData = false;
    this.completeness = 0;
    this.retransmissions = 0;
    this.dupAcks = 0;
    this.outOfOrder = 0;
    this.zeroWindows = 0;
    this.keepAlives = 0;
    this.lostSegments = 0;
    this.badChecksums = 0;
    this.anomalies = null;
    this.service = null;
    this.sniffed = 0;
    this.wsCreates = true;
    this.pendingCompleteness = 0;
    this.firstSynTime = NaN;
    this.initialRtt = -1;
    this.zeekA = 0;
    this.zeekRows = null;
    this.zeekSplitReason = splitReason;
    this.fixedOrigSide = -1;
    this.validPkts = 0;
    this.zeekFirstFrame = 0;
  }

  /** Which side sent a packet from (addr, port). */
  sideOf(srcAddr: Uint8Array, srcPort: number): 0 | 1 {
    if (srcPort !== this.port[0]) return 1;
    const a = this.addr[0];
    if (a.length !== srcAddr.length) return 1;
    for (let i = 0; i < a.length; i++) if (a[i] !== srcAddr[i]) return 1;
    return 0;
  }

  /** Side that is the current Zeek connection's originator (0 or 1). */
  get zeekOrigSide(): 0 | 1 { return this.zeek.origIsA ? this.zeekA : (1 - this.zeekA) as 0 | 1; }

  /** synack's originator: Zeek's (the first SYN's sender, or Zeek's heuristics), fixed at a Zeek-only split. */
  get origSide(): 0 | 1 { return this.fixedOrigSide >= 0 ? this.fixedOrigSide as 0 | 1 : this.zeekOrigSide; }

  /**
   * Zeek would start a new connection here but synack does not (an invalid-flag SYN: see `zeekRows`): keep the
   * finished Zeek connection's row, and continue with `next` whose first packet `side` is sending.
   */
  zeekSplit(row: ZeekRowSnapshot, next: ZeekConn, side: 0 | 1, reason: string, frame: number): void {
    this.zeekFirstFrame = frame;
    if (this.fixedOrigSide < 0) this.fixedOrigSide = this.zeekOrigSide;
    (this.zeekRows ??= []).push(row);
    this.zeek = next;
    this.zeekA = side;
    this.zeekSplitReason = reason;
    this.s[0].zeekPkts = 0;
    this.s[0].zeekIpBytes = 0;
    this.s[1].zeekPkts = 0;
    this.s[1].zeekIpBytes = 0;
  }

  /**
   * Service detection on `side`'s first data segment (`n` ≤ 8 captured bytes at buf[off], `segLen` the
   * segment's payload length): the first side whose bytes match decides.
   */
  sniff(side: 0 | 1, buf: Uint8Array, off: number, n: number, segLen: number): void {
    this.sniffed |= 1 << side;
    this.service = detectService(buf, off, n, segLen, side === this.origSide);
  }

  anomaly(kind: string, frame: number, detail?: string): void {
    let hit: AnomalyHit | undefined;
    if (this.anomalies === null) this.anomalies = [];
    for (const h of this.anomalies) if (h.kind === kind && h.detail === detail) { hit = h; break; }
    if (!hit) {
      hit = { kind, frames: [], count: 0 };
      if (detail !== undefined) hit.detail = detail;
      this.anomalies.push(hit);
    }
    hit.count++;
    if (hit.frames.length < MAX_FRAMES_PER_ANOMALY) hit.frames.push(frame);
  }

  /** Process one packet sent by `side` (Zeek processing is done by the caller). */
  add(side: 0 | 1, p: PacketInfo, note?: string): void {
    const flags = p.flags;
    const other = (1 - side) as 0 | 1;
    if (this.s[0].pkts + this.s[1].pkts === 0) {
      this.firstFrame = p.frame;
      this.firstTime = p.time;
    }
    this.lastFrame = p.frame;
    this.lastTime = p.time;
    this.s[side].pkts++;
    this.s[side].ipBytes += p.ipLen;
    this.s[side].payload += p.len;
    this.s[side].flagsSeen |= flags & 0xff;

    if (Number.isNaN(this.s[side].relBase)) this.s[side].relBase = flags & SYN ? p.seq : (p.seq - 1) >>> 0;
    if (flags & ACK && Number.isNaN(this.s[other].relBase)) this.s[other].relBase = (p.ack - 1) >>> 0;
    const invalid = invalidFlagsKind(flags);
    // Wireshark's completeness and sequence analysis look at every segment, whatever its flags.
    this.updateCompleteness(p);
    this.sequenceAnalysis(side, p);
    if (invalid !== null) {
      // A receiving TCP drops an invalid flag combination (RFC 9293 §3.10.7: SYN or RST with FIN, or no ACK in
      // a synchronized state): it changes no endpoint's state, so synack's own inferences skip it.
      this.anomaly('invalid-flags', p.frame, invalid);
      this.traceEntry(side, p, note);
      return;
    }
    this.validPkts++;
    if (flags & ACK) this.s[side].sentAck = true;
    if ((flags & SYN) === 0) this.s[side].onlySyns = false;
    else if (flags & (ACK | FIN | RST)) this.s[side].onlySyns = false;
    this.handshakeAndClose(side, other, p);
    this.rfcStates(side, other, p);

    // Bookkeeping of what each side has sent, after the checks that compare against the previous values.
    const segLen = p.len + (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0);
    const end = (p.seq + segLen) >>> 0;
    if (!(flags & RST)) {
      if (!this.s[side].sndKnown || seqGt(end, this.s[side].sndMax)) { this.s[side].sndMax = end; this.s[side].sndKnown = true; }
    }
    if (flags & SYN) {
      this.s[side].iss = p.seq;
      this.s[side].issKnown = true;
      if (p.wscale >= 0) this.s[side].wscale = p.wscale;
    }
    if (!(flags & RST)) this.s[side].rcvWindow = p.window * (flags & SYN || this.s[side].wscale < 0 || this.s[other].wscale < 0 ? 1 : 2 ** this.s[side].wscale);

    this.traceEntry(side, p, note);
  }

  /**
   * What Wireshark-style sequence analysis said of the current packet that the ladder does not work out by
   * itself (it marks retransmissions and duplicate ACKs from the segments): out-of-order, keep-alive.
   */
  private seqMark = '';

  private traceEntry(side: 0 | 1, p: PacketInfo, note: string | undefined): void {
    if (this.trace && p.seg) {
      const mark = this.seqMark;
      this.seqMark = '';
      // The capture's frame number first (to find the packet in Wireshark), then what the analysis found.
      note = [`frame ${p.frame}`, ...(mark ? [mark] : []), ...(note ? [note] : [])].join('; ');
      // The segment's payload is a view into the capture reader's buffer, which the next read overwrites.
      const seg = { ...p.seg, payload: p.seg.payload.slice() };
      const e: TraceEntry = { time: (p.time - this.firstTime) * 1000, from: side === 0 ? 'a' : 'b', seg, frame: p.frame };
      const sa = this.s[0].rfc;
      const sb = this.s[1].rfc;
      if (sa) e.stateA = sa;
      if (sb) e.stateB = sb;
      if (note) e.note = note;
      this.trace.push(e);
    }
  }

  /**
   * Wireshark's conversation completeness (§2.1, as TShark 4.0.17 reports it): SYN only when the packet
   * creating the conversation is a pure SYN; SYN-ACK, ACK (no payload), DATA (payload with ACK), FIN (with
   * ACK) and RST from any packet. The creating packet's own other bits show only once the conversation has a
   * second packet: TShark reports a lone RST or a lone SYN-ACK as 0 (tcp/single-rst.pcap, wikipedia.pcap).
   */
  private updateCompleteness(p: PacketInfo): void {
    const f = p.flags;
    let bits = 0;
    if ((f & (SYN | ACK)) === (SYN | ACK)) bits |= C_SYNACK;
    if ((f & (SYN | ACK)) === ACK) bits |= p.len > 0 ? C_DATA : C_ACK;
    if ((f & (SYN | ACK)) === SYN && p.len > 0) bits |= C_DATA;
    if ((f & (FIN | ACK)) === (FIN | ACK)) bits |= C_FIN;
    if (f & RST) bits |= C_RST;
    const n = this.s[0].pkts + this.s[1].pkts;
    if (n === 1 && this.wsCreates) {
      if ((f & (SYN | ACK)) === SYN) this.completeness |= C_SYN;
      this.pendingCompleteness = bits;
      return;
    }
    this.completeness |= bits | this.pendingCompleteness;
    this.pendingCompleteness = 0;
  }

  private pendingCompleteness = 0;

  /** The completeness of this connection's Wireshark conversation so far, with bits still waiting for a second packet. */
  wiresharkCompleteness(): number { return this.completeness | this.pendingCompleteness; }
  /** First pure SYN's time (NaN before) and the handshake's RTT (-1 until the third segment). */
  private firstSynTime = NaN;
  private initialRtt = -1;

  /** Wireshark's tcp.analysis precedence, simplified to the counters synack reports (§2.2). */
  private sequenceAnalysis(side: 0 | 1, p: PacketInfo): void {
    const d = this.s[side];
    const r = this.s[1 - side]!;
    const f = p.flags;
    const len = p.len;
    const ctl = f & (SYN | FIN | RST);
    const segLen = len + (f & SYN ? 1 : 0) + (f & FIN ? 1 : 0);
    let keepAlive = false;
    if (p.window === 0 && !ctl) this.zeroWindows++;
    if (d.known && !(f & RST) && seqGt(p.seq, d.nextSeq)) this.lostSegments++;
    if (d.known && (len === 0 || len === 1) && ((d.nextSeq - 1) >>> 0) === p.seq && !ctl) {
      keepAlive = true;
      this.keepAlives++;
      this.seqMark = 'keep-alive';
    }
    let dup = false;
    if (d.known && len === 0 && !ctl && p.window !== 0 && p.window === d.window && p.seq === d.nextSeq
      && d.ackKnown && p.ack === d.lastAck && !r.lastSegWasKeepAlive) {
      dup = true;
      d.dupAcks++;
      this.dupAcks++;
    }
    if (!dup && (!d.ackKnown || p.ack !== d.lastAck)) d.dupAcks = 0;
    if (!keepAlive && (len > 0 || f & (SYN | FIN)) && d.known && seqLt(p.seq, d.nextSeq)) {
      // TShark's order (§2.2, 11): spurious retransmission (data already acknowledged), then fast
      // retransmission (≥ 2 duplicate ACKs for this seq within 20 ms, tcp.fastrt_supersedes_ooo), then
      // out-of-order (a gap-filler arriving within the initial RTT, else 3 ms, of the segment that advanced
      // nextSeq), else retransmission.
      const spurious = len > 0 && r.ackKnown && seqGe(r.lastAck, (p.seq + len) >>> 0);
      // TShark compares these intervals in whole nanoseconds; times here are seconds since the epoch in a
      // double (about 0.2 µs apart at today's dates), so intervals are compared in whole microseconds: an ACK
      // exactly 20 ms before is not "within 20 ms" whatever the rounding of the two times.
      const fast = r.dupAcks >= 2 && r.ackKnown && r.lastAck === p.seq && micros(p.time - r.lastAckTime) < 20_000;
      const threshold = this.initialRtt >= 0 ? micros(this.initialRtt) : 3_000;
      if (!spurious && !fast && micros(p.time - d.lastNextSeqTime) < threshold && ((p.seq + segLen) >>> 0) !== d.nextSeq) {
        this.outOfOrder++;
        this.seqMark = 'out-of-order';
      } else {
        this.retransmissions++;
        if (f & FIN) d.finRetx++;
      }
    }
    const end = (p.seq + segLen) >>> 0;
    if (!(f & RST) && (!d.known || seqGt(end, d.nextSeq))) {
      if (!(keepAlive && len === 1)) {
        d.nextSeq = end;
        d.known = true;
        d.lastNextSeqTime = p.time;
      }
    }
    if (f & ACK) { d.lastAck = p.ack; d.ackKnown = true; d.lastAckTime = p.time; }
    // tcp.analysis.initial_rtt: from the first SYN to the ACK that completes the handshake.
    if (this.initialRtt < 0) {
      if ((f & (SYN | ACK)) === SYN && Number.isNaN(this.firstSynTime)) this.firstSynTime = p.time;
      else if ((f & (SYN | ACK)) === ACK && !Number.isNaN(this.firstSynTime) && r.synAcks > 0) this.initialRtt = p.time - this.firstSynTime;
    }
    d.window = p.window;
    d.lastSegWasKeepAlive = keepAlive;
  }

  private handshakeAndClose(side: 0 | 1, other: 0 | 1, p: PacketInfo): void {
    const f = p.flags;
    if ((f & (SYN | ACK | FIN | RST)) === SYN) {
      if (this.s[side].pureSyns > 0 && this.s[side].issKnown && this.s[side].iss === p.seq && this.s[other].synAcks === 0) this.synRetries++;
      this.s[side].pureSyns++;
    }
    if ((f & (SYN | ACK)) === (SYN | ACK)) this.s[side].synAcks++;
    if (f & SYN && p.len > 0 && p.len > this.s[side].synData) this.s[side].synData = p.len;
    // The handshake's final ACK: this side acknowledges the peer's SYN-ACK (RFC 9293 §3.5, Figure 6 line 4).
    if (!this.s[side].ackedSynAck && (f & (SYN | ACK | RST)) === ACK && this.s[other].synAcks > 0 && this.s[other].issKnown
      && seqGe(p.ack, (this.s[other].iss + 1) >>> 0)) this.s[side].ackedSynAck = true;
    // A FIN counts as acknowledged by an ACK that covers it; a RST+ACK ends the connection instead (§3.10.7.4).
    if (this.s[other].finSeq >= 0 && !this.s[other].finAcked && (f & (ACK | RST)) === ACK
      && seqGe(p.ack, (this.s[other].finSeq + 1) >>> 0)) this.s[other].finAcked = true;
    if (this.synSide < 0 && (f & (SYN | ACK | FIN | RST)) === SYN) this.synSide = side;
    else if (this.synSide >= 0 && side !== this.synSide && this.firstAnswer === '') {
      this.firstAnswer = (f & (SYN | ACK)) === (SYN | ACK) ? 'synack' : f & RST ? 'rst' : 'other';
    }
    // RST: the first in-window one before both FINs decides an abort (§5.2 step 3).
    if (f & RST) {
      if (!this.rstInWindow(side, other, p)) {
        this.anomaly('out-of-window-rst', p.frame);
      } else if (this.firstFinSide >= 0 && this.secondFinSide >= 0) {
        if (!this.rstAfterClose) this.anomaly('rst-after-close', p.frame);
        this.rstAfterClose = true;
      } else if (this.firstRstSide < 0) {
        this.firstRstSide = side;
        this.firstRstTime = p.time;
      }
    }
    // Half-close data: payload from the side that has not sent FIN after the other's FIN.
    if (p.len > 0 && !(f & RST) && this.firstFinSide === other && this.secondFinSide < 0) this.halfCloseData = true;
    // A segment from the not-yet-closed side acknowledging the first FIN.
    if (this.firstFinSide === other && this.secondFinSide < 0 && f & ACK && !(f & FIN) && !(f & RST)
      && seqGe(p.ack, (this.firstFinX + 1) >>> 0)) {
      this.ackedFirstFinBeforeOwnFin = true;
    }
    if (f & FIN && !(f & RST) && !(f & SYN)) {
      const x = (p.seq + p.len) >>> 0;
      if (this.firstFinSide < 0) {
        this.firstFinSide = side;
        this.firstFinX = x;
      } else if (this.firstFinSide !== side && this.secondFinSide < 0) {
        this.secondFinSide = side;
        this.secondFinAck = p.ack;
        this.secondFinHasAck = (f & ACK) !== 0;
      }
      if (this.s[side].finSeq < 0) this.s[side].finSeq = x;
    }
  }

  /** RFC 9293 §3.10.7: a RST is acceptable when its sequence number is in the receiver's window. */
  private rstInWindow(side: 0 | 1, other: 0 | 1, p: PacketInfo): boolean {
    const recvState = this.s[other].rfc;
    if (recvState === 'SYN-SENT') {
      // In SYN-SENT only a RST that acknowledges our SYN counts (§3.10.7.3).
      return (p.flags & ACK) !== 0 && this.s[other].issKnown && p.ack === ((this.s[other].iss + 1) >>> 0);
    }
    if (!this.s[side].sndKnown) return true;
    const expected = this.s[side].sndMax;
    if (p.seq === expected) return true;
    // Unknown receive window (the receiver sent nothing yet): assume the largest unscaled one.
    const win = this.s[other].rcvWindow < 0 ? 65535 : this.s[other].rcvWindow;
    if (win === 0) return p.seq === expected;
    // Accept anything within the receive window, allowing for RSTs that start before an unacknowledged FIN.
    const d = (p.seq - expected) | 0;
    return d >= -1 && d < win;
  }

  private rfcStates(side: 0 | 1, other: 0 | 1, p: PacketInfo): void {
    const f = p.flags;
    if (this.validPkts === 1) {
      // A SYN shows its sender; whether anything listens at the other end only its answer can show.
      if ((f & (SYN | ACK)) === SYN) { this.s[side].rfc = 'CLOSED'; this.s[other].rfc = undefined; }
      else if ((f & (SYN | ACK)) === (SYN | ACK)) { this.s[side].rfc = 'LISTEN'; this.s[other].rfc = 'SYN-SENT'; }
      else { this.s[side].rfc = 'ESTABLISHED'; this.s[other].rfc = 'ESTABLISHED'; }
    }
    let s = this.s[side].rfc;
    let r = this.s[other].rfc;
    // --- the sender, as it sends ---
    if (f & RST) {
      s = 'CLOSED';
    } else {
      if ((f & (SYN | ACK)) === SYN) {
        if (s === undefined || s === 'CLOSED' || s === 'LISTEN') {
          // Crossing SYNs (the peer's came first in the capture): this side takes it next, SYN-SENT → SYN-RECEIVED.
          s = this.s[other].pureSyns > 0 && this.s[other].rfc === 'SYN-SENT' ? 'SYN-RECEIVED' : 'SYN-SENT';
        }
      } else if ((f & (SYN | ACK)) === (SYN | ACK)) {
        if (s === undefined || s === 'CLOSED' || s === 'LISTEN' || s === 'SYN-SENT') s = 'SYN-RECEIVED';
      } else if (f & ACK && s === 'SYN-SENT') {
        // It acknowledges something: it must have had the SYN-ACK (one-sided capture).
        s = 'ESTABLISHED';
      }
      if (f & FIN) {
        if (s === 'ESTABLISHED' || s === 'SYN-RECEIVED' || s === undefined) s = 'FIN-WAIT-1';
        else if (s === 'CLOSE-WAIT') {
          // A FIN that does not acknowledge the peer's FIN was sent before that FIN arrived: the two crossed,
          // so this side went FIN-WAIT-1 → CLOSING (RFC 9293 §3.6, simultaneous close), not LAST-ACK.
          const crossed = this.s[other].finSeq >= 0 && (!(f & ACK) || !seqGe(p.ack, (this.s[other].finSeq + 1) >>> 0));
          s = crossed ? 'CLOSING' : 'LAST-ACK';
        }
      }
    }
    // --- the receiver, as it processes the segment (RFC 9293 §3.10.7) ---
    if (f & RST) {
      this.s[side].closedByRst = true;
      if (r !== undefined && r !== 'LISTEN' && r !== 'CLOSED' && this.rstInWindow(side, other, p)) { r = 'CLOSED'; this.s[other].closedByRst = true; }
    } else if (r === 'CLOSED' && this.s[other].closedByRst) {
      // stays closed: segments after an abort are answered by RST
    } else {
      if ((f & (SYN | ACK)) === SYN) {
        // Only a side already seen to send its own SYN (simultaneous open, §3.5 Figure 8) is known to take
        // this one; a listener shows its SYN-RECEIVED by answering with SYN-ACK (the sender rule above).
        if (r === 'SYN-SENT') r = 'SYN-RECEIVED';
      } else if ((f & (SYN | ACK)) === (SYN | ACK)) {
        // An originator in SYN-SENT shows it took the SYN-ACK by acknowledging it (the sender rule above): a
        // spoofed or vanished originator never does, so it stays SYN-SENT. In a simultaneous open (both sent
        // SYNs) the SYN-ACK ends the handshake for its receiver: no further ACK is due (§3.5 Figure 8).
        const simultaneous = this.s[side].pureSyns > 0 && this.s[other].pureSyns > 0;
        if ((r === 'SYN-RECEIVED' || (r === 'SYN-SENT' && simultaneous)) && this.acks(other, p, true)) r = 'ESTABLISHED';
      } else if (f & ACK) {
        const simultaneous = this.s[side].pureSyns > 0 && this.s[other].pureSyns > 0;
        if ((r === 'SYN-RECEIVED' || (r === 'SYN-SENT' && simultaneous)) && this.acks(other, p, true)) r = 'ESTABLISHED';
      }
      if (f & ACK && this.s[other].finSeq >= 0 && seqGe(p.ack, (this.s[other].finSeq + 1) >>> 0)) {
        if (r === 'FIN-WAIT-1') r = 'FIN-WAIT-2';
        else if (r === 'CLOSING') r = 'TIME-WAIT';
        else if (r === 'LAST-ACK') r = 'CLOSED';
      }
      if (f & FIN) {
        if (r === 'ESTABLISHED' || r === 'SYN-RECEIVED') r = 'CLOSE-WAIT';
        else if (r === 'FIN-WAIT-1') r = 'CLOSING';
        else if (r === 'FIN-WAIT-2') r = 'TIME-WAIT';
      }
    }
    this.s[side].rfc = s;
    this.s[other].rfc = r;
  }


  /** Does this segment acknowledge side `who`'s SYN? */
  private acks(who: 0 | 1, p: PacketInfo, syn: boolean): boolean {
    if (!(p.flags & ACK)) return false;
    if (!this.s[who].issKnown) return true;
    return syn ? seqGe(p.ack, (this.s[who].iss + 1) >>> 0) : true;
  }

  // ---- final classification ----

  handshake(): HandshakeKind {
    const o = this.origSide;
    const r = (1 - o) as 0 | 1;
    if (this.s[0].pureSyns > 0 && this.s[1].pureSyns > 0) return 'simultaneous-open';
    if (this.s[o].pureSyns === 0) return 'midstream';
    if (this.s[r].synAcks === 0) {
      if (this.firstAnswerOf(o) === 'rst') return 'refused';
      // Nothing came back and the originator never acknowledged anything (a one-sided capture would show ACKs).
      if (this.s[r].pkts === 0 && !this.s[o].sentAck) return 'unanswered';
      // The originator went on (ACKs, data) but the SYN-ACK is not in the capture.
      return 'no-syn-ack';
    }
    // SYN and SYN-ACK, but the ACK that completes the handshake was never captured.
    if (!this.s[o].ackedSynAck) return 'no-final-ack';
    if (this.synRetries > 0) return 'retried-syn';
    return 'normal';
  }

  /** The responder's first answer to the originator's SYN ('' when none was recorded for that side). */
  private firstAnswerOf(o: 0 | 1): string {
    return this.synSide === o ? this.firstAnswer : '';
  }

  close(): CloseKind {
    const o = this.origSide;
    const r = (1 - o) as 0 | 1;
    if (this.s[o].pureSyns > 0 && this.s[o].onlySyns && this.s[r].pkts === 0) return 'unanswered';
    if (this.s[o].pureSyns > 0 && this.s[r].synAcks === 0 && this.firstAnswerOf(o) === 'rst') return 'refused';
    if (this.firstRstSide >= 0) return this.firstRstSide === o ? 'rst-by-originator' : 'rst-by-responder';
    if (this.firstFinSide >= 0 && this.secondFinSide >= 0) {
      if (!this.secondFinHasAck || !seqGe(this.secondFinAck, (this.firstFinX + 1) >>> 0)) {
        return this.s[0].finAcked && this.s[1].finAcked ? 'simultaneous' : 'simultaneous-no-last-ack';
      }
      // The first FIN is acknowledged (before the second FIN, or by it); the close is complete only when the
      // second FIN's ACK was captured too.
      const complete = this.s[this.secondFinSide]!.finAcked;
      if (this.ackedFirstFinBeforeOwnFin) return complete ? 'four-way' : 'four-way-no-last-ack';
      return complete ? 'three-way' : 'three-way-no-last-ack';
    }
    if (this.firstFinSide >= 0) return 'half-closed';
    return 'open';
  }
}

/** An interval in seconds as whole microseconds (see sequenceAnalysis). */
function micros(seconds: number): number {
  return Math.round(seconds * 1e6);
}
