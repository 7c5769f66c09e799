/**
 * TCP demultiplexing: a segment goes to its connection, else its TIME-WAIT entry (Linux's
 * tcp_timewait_state_process rules or RFC 9293's, by configuration), else a listener (listener.ts), else the
 * CLOSED state's reply (RFC 9293 §3.10.7.1).
 */
import { ACK, EMPTY, FIN, RST, SYN, seqGt, type TcpOptions, type TcpSegment } from '../wire/tcp-types.js';
import { rstFor, segmentAcceptable } from '../tcp/connection.js';
import { classifyInvalidFlags } from '../tcp/flags.js';
import { findListener, tupleKey } from './demux.js';
import { listenerArrives } from './listener.js';
import { output } from './ip-output.js';
import { ackBeforeNextInBatch } from '../tcp/sack-compression.js';
import type { Stack } from './stack.js';

export function segmentArrives(s: Stack, la: Uint8Array, ra: Uint8Array, seg: TcpSegment, now: number): void {
  // The RST for no connection answers the segment as it came (FreeBSD tcp_dropwithreset counts SYN and FIN).
  const arrived = seg;
  // FreeBSD net.inet.tcp.drop_synfin=0: a SYN+FIN is processed as a SYN, its FIN ignored (config.synFin).
  if (s.config.synFin === 'ignore-fin' && (seg.flags & (SYN | FIN)) === (SYN | FIN)) seg = { ...seg, flags: seg.flags & ~FIN };
  // The connection the last segment reached first (no hash), then one hash of the 4-tuple for both tables (a
  // segment of no connection, such as a SYN, looks in both).
  let c = s.conns.recent(la, seg.dstPort, ra, seg.srcPort);
  let key = 0;
  if (c === null) { key = tupleKey(la, seg.dstPort, ra, seg.srcPort); c = s.conns.find(key, la, seg.dstPort, ra, seg.srcPort); }
  if (c !== null) {
    // In a batch (Stack.receiveBatch) a connection is serviced once, at its end: one ACK covers its in-order
    // data. Out-of-order data and duplicates draw ACKs of their own, as with Linux (RFC 5681 §4.2; GRO merges only
    // in-order runs), sent before the connection's next segment of the batch: one ACK for the batch carried at
    // most three SACK blocks and one D-SACK for all of them, and a Linux sender, never told of the rest, resent
    // data already here. Unless the next segment fills the hole or extends the same SACK block: the ACK after it
    // then tells the sender all this one would (sack-compression.ts ackBeforeNextInBatch).
    if (s.batching && ackBeforeNextInBatch(c.tcp, seg.seq, seg.payload.length)) {
      s.service(c);
      if (c.removed) { segmentArrives(s, la, ra, seg, now); return; } // its application closed it meanwhile
    }
    c.tcp.input(seg, now, s.rxCe);
    if (s.batching) {
      if (!c.dirty) { c.dirty = true; s.dirty.push(c); }
    } else s.service(c);
    return;
  }
  const tw = s.tw.find(key, la, seg.dstPort, ra, seg.srcPort);
  if (tw !== -1) {
    if (timeWaitArrives(s, tw, seg, now)) return;
    // A new SYN may reuse the tuple: fall through to the listener.
  }
  const l = findListener(s, la, seg.dstPort);
  if (l !== null) { listenerArrives(s, l, la, ra, seg, now); return; }
  // No connection, no listener: RFC 9293 §3.10.7.1 (CLOSED): RST unless it is a RST.
  s.stats.InSegs++;
  const bad = classifyInvalidFlags(seg.flags);
  if (bad !== null) s.stats.invalidFlags[bad]++;
  if (seg.flags & RST) return;
  if (bad !== null && s.silentInvalid) { s.counters.SilentDrops++; return; }
  s.counters.NoPortRsts++;
  s.stats.OutRsts++;
  s.stats.OutSegs++;
  output(s, la, ra, rstFor(arrived), now);
}

/** Returns true if the segment was consumed by the TIME-WAIT entry. */
/**
 * In a receive batch, a connection it reached has an ACK due that reports data out of order (a SACK hole): before
 * the batch's end sends it, a link that can read what it already holds without blocking (the TUN device's readNow)
 * takes that in first, so the ACK does not report a hole this receiver holds.
 */
export function batchOwesHoleAck(s: Stack): boolean {
  const d = s.dirty;
  for (let i = 0; i < d.length; i++) {
    const t = d[i]!.tcp;
    if (t.ackNow && t.rcv.hasOutOfOrder) return true;
  }
  return false;
}

export function timeWaitArrives(s: Stack, slot: number, seg: TcpSegment, now: number): boolean {
  const tw = s.tw;
  s.stats.InSegs++;
  const f = seg.flags;
  const bad = classifyInvalidFlags(f);
  if (bad !== null) { s.stats.invalidFlags[bad]++; return true; }
  if (f & RST) {
    // config.timeWaitRst: RFC 1337 ignores every RST (the default); Linux with tcp_rfc1337 = 0 lets one at
    // exactly RCV.NXT end TIME-WAIT (tcp_timewait_state_process); RFC 793 p. 70 any acceptable one.
    const mode = s.config.timeWaitRst;
    const kill = mode === 'close-exact' ? seg.seq === tw.rcvNxt(slot)
      : mode === 'close' && segmentAcceptable(tw.rcvNxt(slot), tw.window(slot), seg.seq, 0);
    if (!kill) { s.stats.RstIgnored++; return true; }
    s.stats.RstAccepted++;
    s.twClosed(slot, now, { kind: 'segment', seg });
    tw.remove(slot);
    return true;
  }
  if ((f & SYN) && !(f & ACK)) {
    // A new incarnation (RFC 9293 §3.10.7.4 note, RFC 6191): accept if its ISN is beyond what we saw.
    if (seqGt(seg.seq, tw.rcvNxt(slot)) || (tw.tsOk(slot) && seg.options.tsVal !== undefined && seqGt(seg.options.tsVal, tw.tsRecent(slot)))) {
      s.twClosed(slot, now, { kind: 'segment', seg });
      s.tw.remove(slot);
      s.counters.TimeWaitReused++;
      return false;
    }
  }
  if (s.config.timeWaitAckData) {
    // Linux tcp_timewait_state_process: only a segment occupying no sequence space at RCV.NXT (a bare ACK,
    // whatever its SEG.ACK) is consumed; anything else, in the window or not, is ACKed, a pure ACK or a SYN
    // at most once per invalidAckRatelimit (tcp_timewait_check_oow_rate_limit: text and FINs always).
    const len = seg.payload.length + (f & SYN ? 1 : 0) + (f & FIN ? 1 : 0);
    if (len === 0 && seg.seq === tw.rcvNxt(slot)) return true;
    if ((len === 0 || (f & SYN)) && s.config.invalidAckRatelimit > 0) {
      if (now - tw.lastOowAckAt(slot) < s.config.invalidAckRatelimit) { s.stats.TCPACKSkippedSeq++; return true; }
      tw.setLastOowAckAt(slot, now);
    }
  } else if (!(f & (SYN | FIN))) {
    // RFC 9293 §3.10.7.4: an acceptable segment without SYN or FIN carries nothing for TIME-WAIT (a bare
    // ACK is simply dropped); only unacceptable segments are answered with an ACK (first check).
    if (segmentAcceptable(tw.rcvNxt(slot), tw.window(slot), seg.seq, seg.payload.length)) return true;
  }
  // Anything else (typically a retransmitted FIN): ACK it; a FIN restarts the 2MSL timer.
  if (f & FIN) {
    tw.restart(slot, now + 2 * s.config.msl);
    s.rearm();
  }
  s.counters.TimeWaitReAcks++;
  const options: TcpOptions = tw.tsOk(slot) ? { tsVal: (Math.floor(now * s.config.tsTicksPerMs) + tw.tsOffset(slot)) >>> 0, tsEcr: tw.tsRecent(slot) } : {};
  const ack: TcpSegment = { srcPort: tw.localPort(slot), dstPort: tw.remotePort(slot), seq: tw.sndNxt(slot), ack: tw.rcvNxt(slot), flags: ACK, window: tw.window(slot), urgent: 0, options, payload: EMPTY };
  s.stats.OutSegs++;
  output(s, tw.localAddr(slot), tw.remoteAddr(slot), ack, now);
  return true;
}
