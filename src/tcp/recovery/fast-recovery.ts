/**
 * Loss recovery on duplicate ACKs: fast retransmit / fast recovery with NewReno's partial ACKs (RFC 5681 §3.2,
 * RFC 6582) and, with SACK, RFC 6675's conservative loss recovery (pipe, NextSeg). The congestion window itself
 * is sized by the CongestionControl in cc/. Entered from processAck (arrive/synchronized.ts) and left through
 * onNewAck (called by send.ts ackAdvance); an RTO (timers.ts onRto) starts a run over everything not SACKed instead.
 */
import { ACK, EMPTY, FIN, PSH, seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, type TcpSegment } from '../../wire/tcp-types.js';
import type { TcpConnection } from '../connection.js';
import { segmentDataMax, sndMssCap } from '../options.js';
import { dataEndSeq, makeRaw, out } from '../send.js';
import { rtoTimeout } from '../timers.js';
import { prrOnAck, prrStart } from './prr.js';
import { firstLost, logRetransmit, rackActive, rackDetectLoss, rackPipe, rackRecoveryEnded } from './rack.js';
import { sackedUntil } from './scoreboard.js';
import { initUndo, undoAfterRto, undoAtRecoveryEnd, undoOnPartialAck } from './undo.js';

/** A duplicate ACK (RFC 5681 §2), or an ACK that SACKs new data: count it, and enter fast recovery on the third (RFC 5681 §3.2, RFC 6675 §5). */
export function onDupAck(c: TcpConnection): void {
  c.dupAcks++;
  const mss = sndMssCap(c);
  if (c.inRecovery) {
    if (!c.sackOk) c.cc.onDupAckInRecovery(mss);
    return;
  }
  // Loss detection: 3 duplicate ACKs (RFC 5681 §3.2), or with SACK, more than 3 segments SACKed above SND.UNA (RFC 6675 §5).
  const sackTrigger = c.sackOk && c.sackedBytes >= 3 * mss;
  if (c.dupAcks >= 3 || sackTrigger) {
    // RFC 6582 §3.2 step 2: after an RTO, duplicate ACKs for data below "recover" are echoes of the
    // go-back-N retransmission, not a new loss.
    if (c.rtoRecovery && !seqGt(c.sndUna, c.recover)) return;
    c.rtoRecovery = false;
    c.inRecovery = true;
    c.tlpAt = Infinity; // recovery repairs the tail now (RFC 8985 §7.2: no probe during recovery)
    c.forceRtx = true;
    c.recover = c.sndNxt;
    c.stats.TCPFastRetrans++;
    initUndo(c);
    c.cc.onFastRetransmit(pipe(c), mss);
    c.sndRtx = c.sndUna;
    c.sndRtxEnd = c.sndNxt;
    c.rttSeq = -1;
  }
}

/**
 * SND.UNA advanced by `acked` bytes to `ack`: leave fast recovery on a full ACK, retransmit on a partial ACK
 * (RFC 6582 §3.2 steps 5–6, RFC 6675), or grow cwnd outside recovery (RFC 5681 §3.1).
 */
export function onNewAck(c: TcpConnection, ack: number, acked: number, now: number, seg: TcpSegment): void {
  const mss = sndMssCap(c);
  if (c.inRecovery) {
    if (seqGe(ack, c.recover)) {
      c.inRecovery = false;
      c.dupAcks = 0;
      // A needless reduction is undone (recovery/undo.ts); otherwise recovery ends at ssthresh, and counts
      // toward shrinking RACK's reordering window back (Linux tcp_try_undo_recovery).
      if (!undoAtRecoveryEnd(c, seg)) {
        rackRecoveryEnded(c);
        c.cc.onRecoveryEnd(seqDiff(c.sndNxt, c.sndUna), mss);
      }
      if (c.sndRtx !== -1 && seqGe(ack, c.sndRtxEnd)) c.sndRtx = -1;
    } else {
      // The hole was filled by a late original: undo, or hold off resending for this ACK (recovery/undo.ts).
      if (c.sackOk && rackActive(c) && undoOnPartialAck(c, seg)) { c.cc.onPartialAck(acked, mss); return; }
      if (!c.inRecovery) return;
      // Partial ACK (RFC 6582 §3.2 step 5): retransmit the next unacknowledged segment.
      c.cc.onPartialAck(acked, mss);
      if (!c.sackOk) {
        c.sndRtx = c.sndUna;
        c.sndRtxEnd = c.recover;
        c.forceRtx = true;
      } else if (!rackActive(c) && c.sndRtx === c.sndUna) {
        // SACK recovery: sndRtx is HighRxt (RFC 6675), the next byte not yet retransmitted in this episode.
        // It only equals SND.UNA when the segment the partial ACK stops at has not been resent yet: resend it
        // now, as NewReno would. Holes already retransmitted are not resent again (a lost retransmission is
        // repaired by the RTO, RFC 6675 §5.1), so restarting the scan from SND.UNA would be spurious.
        c.forceRtx = true;
      }
    }
  } else {
    c.dupAcks = 0;
    // After an RTO, an ACK for data sent before it: the timeout was spurious (recovery/undo.ts).
    if (c.rtoRecovery) undoAfterRto(c, seg);
    if (c.state !== 'SYN-SENT' && c.state !== 'SYN-RECEIVED') c.cc.onAck(acked, mss, now);
    if (seqGe(ack, c.sndRtxEnd)) { c.sndRtx = -1; c.rtoRecovery = false; }
  }
}

/**
 * Bytes in flight (RFC 6675 §4 "pipe", simplified): outstanding minus SACKed minus holes below the
 * highest SACK that are deemed lost and not yet retransmitted.
 */
export function pipe(c: TcpConnection): number {
  if (c.rtoRecovery && c.sndRtx !== -1) {
    // After an RTO all outstanding data not SACKed counts as lost; in flight is only what was resent since (the
    // SACKed ranges the run skipped are not), plus new data.
    let resent = seqDiff(c.sndRtx, c.sndUna);
    const sb = c.sackedBytes > 0 ? c.scoreboard : null;
    for (let i = 0; sb !== null && i < sb.length && seqLt(sb[i]!, c.sndRtx); i += 2) {
      resent -= seqDiff(seqLt(sb[i + 1]!, c.sndRtx) ? sb[i + 1]! : c.sndRtx, sb[i]!);
    }
    const fresh = seqDiff(c.sndNxt, c.sndRtxEnd);
    return (resent > 0 ? resent : 0) + (fresh > 0 ? fresh : 0);
  }
  if (rackActive(c)) return rackPipe(c);
  let p = seqDiff(c.sndNxt, c.sndUna) - c.sackedBytes;
  if (c.sackOk && c.scoreboardCreated && c.scoreboard.length && (c.inRecovery || c.sndRtx !== -1)) {
    const from = c.sndRtx !== -1 ? c.sndRtx : c.sndUna;
    // Un-SACKed bytes between `from` and highSack are lost-not-yet-retransmitted.
    let lost = seqDiff(c.highSack, from);
    if (lost > 0) {
      const sb = c.scoreboard;
      for (let i = 0; i < sb.length; i += 2) {
        const l = seqGt(sb[i]!, from) ? sb[i]! : from;
        if (seqLt(l, sb[i + 1]!)) lost -= seqDiff(sb[i + 1]!, l);
      }
      if (lost > 0) p -= lost;
    }
  }
  return p > 0 ? p : 0;
}

/** The next retransmission of the recovery run (RFC 6675 §5 NextSeg), or null when none may go now. */
export function nextRetransmission(c: TcpConnection, now: number): TcpSegment | null {
  if (rackActive(c)) return rackRetransmission(c, now);
  if (c.sndRtx === -1) return null;
  let seq = c.sndRtx;
  // Skip SACKed ranges (RFC 6675 §5 NextSeg rule 1: first un-SACKed, lost byte).
  for (;;) {
    const until = sackedUntil(c, seq);
    if (until === -1) break;
    seq = until;
  }
  if (!seqLt(seq, c.sndRtxEnd) || !seqLt(seq, c.sndNxt)) { c.sndRtx = -1; return null; }
  const mss = sndMssCap(c);
  // After an RTO everything outstanding and not SACKed is deemed lost (resent up to sndRtxEnd). In fast recovery only
  // data deemed lost is resent: with SACK, un-SACKed holes below the highest SACKed byte (RFC 6675 NextSeg
  // rules 1 and 3), at least the segment at SND.UNA; without SACK just that segment (RFC 6582 §3.2 steps 2
  // and 5). Data above it may merely be in flight; the (inflated) cwnd clocks out new data instead.
  let repairEnd = c.sndRtxEnd;
  if (!c.rtoRecovery) {
    let lostEnd = seqAdd(c.sndUna, mss);
    if (c.sackOk && seqGt(c.highSack, lostEnd)) lostEnd = c.highSack;
    if (seqLt(lostEnd, repairEnd)) repairEnd = lostEnd;
    // Nothing known lost here yet: keep the position (HighRxt) and wait for more SACK information.
    if (!seqLt(seq, repairEnd)) { c.sndRtx = seq; return null; }
  }
  // The first retransmission of a recovery episode, and NewReno's partial-ACK retransmission, go out
  // regardless of cwnd (RFC 5681 §3.2 step 2, RFC 6582 §3.2 step 5); the rest are clocked by cwnd - pipe.
  if (c.forceRtx) c.forceRtx = false;
  else if (pipe(c) + 1 > c.cc.cwnd) return null;
  // Segment end: up to MSS, the next SACKed range, the end of the run, and the end of data (FIN).
  let limit = seqAdd(seq, segmentDataMax(c));
  if (seqGt(limit, repairEnd)) limit = repairEnd;
  const sb = c.scoreboard;
  for (let i = 0; i < sb.length; i += 2) if (seqGt(sb[i]!, seq) && seqLt(sb[i]!, limit)) { limit = sb[i]!; break; }
  let flags = ACK;
  let dataEnd = limit;
  if (c.finSent && seqGt(limit, c.finSeq)) { dataEnd = c.finSeq; flags |= FIN; }
  const len = seqDiff(dataEnd, seq);
  const payload = len > 0 ? c.snd.slice(c.snd.front + seqDiff(seq, c.sndBufSeq), len) : EMPTY;
  if (len > 0 && dataEnd === dataEndSeq(c)) flags |= PSH;
  c.sndRtx = seqAdd(dataEnd, flags & FIN ? 1 : 0);
  if (!seqLt(c.sndRtx, c.sndRtxEnd)) c.sndRtx = -1;
  logRetransmit(c, seq, seqAdd(dataEnd, flags & FIN ? 1 : 0), now);
  c.stats.RetransSegs++;
  if (c.rtoAt === Infinity) c.rtoAt = now + rtoTimeout(c);
  return out(c, makeRaw(c, seq, c.rcvNxt, flags, payload, now), now);
}

// =====================================================================================
// With SACK on both ends: RACK-TLP (RFC 8985) decides what is lost, PRR (RFC 6937) how fast to repair
// =====================================================================================

/**
 * After an ACK has been processed (or the RACK reordering timer fired): let RACK mark what is lost, enter
 * fast recovery on the first loss (RFC 8985 §6.2: loss detected by time, not by three duplicate ACKs), and
 * during recovery size the next transmissions by PRR. `delivered` is RFC 6937's DeliveredData.
 */
export function rackAfterAck(c: TcpConnection, delivered: number, now: number): void {
  if (!c.rackCreated) {
    // No record (rack.ts logSent): what a new one would do, without making one. Nothing is held, no delivery
    // moved RACK's reference (none is recorded), nothing is deemed lost.
    if (rackActive(c) && c.sndUna !== c.sndNxt && c.inRecovery) prrOnAck(c, delivered);
    return;
  }
  const held = c.rack.hold === 1;
  // Held (recovery/undo.ts): nothing deemed lost is resent until the next ACK or reordering timeout.
  c.rack.hold = held ? 2 : 0;
  if (!rackActive(c) || c.sndUna === c.sndNxt) { c.rack.timerAt = Infinity; return; }
  // Linux tcp_try_undo_partial returning early: this ACK marks nothing lost (recovery/undo.ts). Detection runs
  // when a delivery moved RACK's reference (rack.ts delivered) or for the reordering timer (timers.ts).
  if (!held && c.rack.advanced) rackDetectLoss(c, now);
  if (!c.inRecovery && c.rack.lostBytes > 0) {
    // RFC 6675 §5 step 4 / RFC 8985 §6.2: a loss starts one recovery episode, which ends when SND.UNA
    // passes what was outstanding now ("recover"). ssthresh from the congestion controller (cc/).
    c.inRecovery = true;
    c.tlpAt = Infinity; // RFC 8985 §7.2: no probe during recovery
    c.recover = c.sndNxt;
    c.stats.TCPFastRetrans++;
    initUndo(c);
    c.cc.onFastRetransmit(seqDiff(c.sndNxt, c.sndUna), sndMssCap(c));
    prrStart(c);
  }
  if (c.inRecovery) prrOnAck(c, delivered);
}

/** The first segment RACK deems lost, retransmitted within PRR's allowance (cwnd − pipe), or null. */
function rackRetransmission(c: TcpConnection, now: number): TcpSegment | null {
  c.forceRtx = false;
  if (c.rack.hold !== 0) return null; // resending is held until the next ACK (undo.ts undoOnPartialAck)
  const s = firstLost(c);
  if (s === null) return null;
  if (pipe(c) + 1 > c.cc.cwnd) return null;
  const seq = s.start;
  let limit = seqAdd(seq, segmentDataMax(c));
  if (seqGt(limit, s.end)) limit = s.end;
  let flags = ACK;
  let dataEnd = limit;
  if (c.finSent && !seqLt(limit, seqAdd(c.finSeq, 1)) && seqLe(seq, c.finSeq)) { dataEnd = c.finSeq; flags |= FIN; }
  const len = seqDiff(dataEnd, seq);
  const payload = len > 0 ? c.snd.slice(c.snd.front + seqDiff(seq, c.sndBufSeq), len) : EMPTY;
  if (len > 0 && dataEnd === dataEndSeq(c)) flags |= PSH;
  logRetransmit(c, seq, seqAdd(dataEnd, flags & FIN ? 1 : 0), now);
  c.stats.RetransSegs++;
  if (c.rtoAt === Infinity) c.rtoAt = now + rtoTimeout(c);
  return out(c, makeRaw(c, seq, c.rcvNxt, flags, payload, now), now);
}
