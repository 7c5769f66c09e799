/**
 * Undoing a needless window reduction, as Linux does (tcp_input.c: tcp_init_undo, tcp_try_undo_dsack,
 * tcp_try_undo_recovery, tcp_try_undo_loss, tcp_undo_cwnd_reduction). Reordering or a delayed ACK can make a
 * sender retransmit data that was not lost and cut cwnd for nothing. It learns this afterwards:
 * - every retransmission of the episode is reported by a D-SACK (RFC 2883, RFC 3708 §3): the receiver had the
 *   data already;
 * - with timestamps, the ACK that ends recovery (or the first after an RTO) echoes a TSval older than the first
 *   retransmission (RFC 3522 Eifel detection, RFC 4015): it acknowledges the original transmission.
 * Then cwnd goes back to what it was and ssthresh to at least what it was (Linux tcp_undo_cwnd_reduction:
 * cwnd = max(cwnd, prior_cwnd), ssthresh = max(ssthresh, prior_ssthresh)), and recovery ends.
 * The record lives on Rack (undoMarker, undoRetrans, priorCwnd, priorSsthresh, retransTsval); rack.ts
 * logRetransmit counts what is resent.
 */
import { seqDiff, seqGt, seqLe, seqLt, type TcpSegment } from '../../wire/tcp-types.js';
import type { TcpConnection } from '../connection.js';

/**
 * A window reduction begins (fast recovery or an RTO): remember cwnd, ssthresh (Linux tcp_current_ssthresh:
 * at least ¾ cwnd) and SND.UNA. Retransmissions still in flight (a loss probe) count: they may be D-SACKed.
 */
export function initUndo(c: TcpConnection): void {
  const r = c.rack;
  r.undoMarker = c.sndUna;
  let inFlight = 0;
  for (let i = r.head; i < r.q.length; i++) {
    const s = r.q[i]!;
    if (s.retrans && !s.sacked) inFlight += seqDiff(s.end, s.start);
  }
  r.undoRetrans = inFlight > 0 ? inFlight : -1;
  if (inFlight === 0) r.retransTsval = -1;
  r.priorCwnd = c.cc.cwnd;
  r.priorSsthresh = Math.max(c.cc.ssthresh, Math.floor(0.75 * c.cc.cwnd));
}

/**
 * This ACK's first SACK block is a D-SACK for [left, right) (rack.ts isDsack), `una` SND.UNA before the ACK.
 * Count it against the episode's retransmissions (Linux tcp_check_dsack: bytes already acknowledged are
 * counted without looking, "dumb counting"); a D-SACK beyond everything ever resent is dubious and ignored
 * (tcp_dsack_seen). Then undo if nothing resent is left unreported (tcp_try_undo_dsack).
 */
export function undoOnDsack(c: TcpConnection, left: number, right: number, una: number): void {
  const r = c.rack;
  const len = seqDiff(right, left);
  if (len <= 0 || len > Math.max(c.maxSndWnd, 1)) return;
  c.stats.TCPDSACKRecv++;
  r.dsackBytes += len;
  if (r.dsackBytes > r.retransBytes) return;
  if (r.undoMarker === -1 || r.undoRetrans <= 0 || !seqGt(right, r.undoMarker)) return;
  let reported = len;
  if (seqGt(right, una)) {
    // Above SND.UNA: only the retransmitted part of what is still in the record counts (tcp_sacktag_one).
    reported = seqLe(left, una) ? seqDiff(una, left) : 0;
    for (let i = r.head; i < r.q.length; i++) {
      const s = r.q[i]!;
      if (!seqLt(s.start, right)) break;
      if (!s.retrans || !seqGt(s.end, left)) continue;
      reported += seqDiff(seqLt(s.end, right) ? s.end : right, seqGt(s.start, left) ? s.start : left);
    }
  }
  r.undoRetrans = Math.max(0, r.undoRetrans - reported);
  if (r.undoRetrans > 0 || c.rtoRecovery) return;
  c.stats.TCPDSACKUndo++;
  // Reordering, not loss: keep the widened reordering window one recovery longer (Linux tcp_try_undo_dsack).
  if (r.reoWndPersist < 16) r.reoWndPersist++;
  undoReduction(c);
  if (c.inRecovery) leaveRecovery(c);
}

/**
 * The ACK `seg` ends fast recovery (SND.UNA reached "recover"): true if the reduction was needless (every
 * retransmission D-SACKed, or the ACK answers an original transmission) and has been undone (Linux
 * tcp_try_undo_recovery); the caller then skips the usual end of recovery (cwnd = ssthresh).
 */
export function undoAtRecoveryEnd(c: TcpConnection, seg: TcpSegment): boolean {
  if (!mayUndo(c, seg)) return false;
  c.stats.TCPFullUndo++;
  undoReduction(c);
  holdLossMarking(c);
  return true;
}

/**
 * An undo ends this ACK's loss processing (Linux tcp_fastretrans_alert returns after tcp_try_undo_recovery and
 * tcp_try_undo_loss): RACK marks nothing on it. The ACK that reveals a late original also delivers a segment
 * that was retransmitted, whose RTT is then measured from the retransmission (too short: the ACK answers the
 * original, RFC 8985 §6.2 step 2) and whose send time is the latest: marking now would deem the whole queue sent
 * before that retransmission lost. The next ACKs deliver segments with their true RTT first.
 */
function holdLossMarking(c: TcpConnection): void {
  c.rack.hold = 1;
}

/**
 * SND.UNA advanced after an RTO: if the ACK answers data sent before the timeout (Eifel, RFC 3522; Linux
 * tcp_try_undo_loss) the timeout was spurious: restore the window and stop resending (the go-back-N run).
 */
export function undoAfterRto(c: TcpConnection, seg: TcpSegment): boolean {
  if (!mayUndo(c, seg)) return false;
  c.stats.TCPLossUndo++;
  undoReduction(c);
  holdLossMarking(c);
  c.rtoRecovery = false;
  c.sndRtx = -1;
  return true;
}

/**
 * A partial ACK in fast recovery (SND.UNA advanced, still below "recover") that echoes a timestamp older than our
 * first retransmission: the hole was filled by the original, only late (Linux tcp_try_undo_partial). While
 * retransmissions are still in flight, this ACK marks nothing more lost and resends nothing (new data may go):
 * returns true and sets Rack.hold. Once none is in flight, the reduction is undone, the loss marks cleared and
 * recovery ends. On a path where some packets overtake a queue (a second route), RACK deems the whole queue lost;
 * this stops resending it as soon as the queue's first packets arrive.
 */
export function undoOnPartialAck(c: TcpConnection, seg: TcpSegment): boolean {
  const r = c.rack;
  // Nothing resent yet in this episode, and this ACK acknowledges a segment deemed lost that its original delivered
  // (Linux tcp_packet_delayed is true when nothing was retransmitted, retrans_stamp 0): the marks were reordering.
  // Undone at once with every mark, as Linux's tcp_try_undo_partial with no retransmission out: a host that reads
  // several ACKs before it sends (a receive batch) sees the overtaker's SACK and the late queue's first ACKs
  // together, and held, it would still resend the rest of the queue as soon as an ACK brought no late original.
  const nothingResent = r.undoMarker !== -1 && r.undoRetrans < 0 && r.ackLateOriginal;
  if (!nothingResent && (r.undoMarker === -1 || !packetDelayed(c, seg))) {
    // The same evidence for one segment (rack.ts ackLateOriginal): it was deemed lost, yet its original arrived.
    // Eifel's test cannot tell once a retransmission has filled an earlier hole (TS.Recent never goes back, RFC
    // 7323 §4.3) or for a segment sent after the episode's first retransmission (a long recovery on a path where
    // packets keep overtaking a queue: each overtaker deems the queue behind it lost); the segments deemed lost
    // with it are as likely late. Hold as above; an undo waits for the D-SACKs.
    if (r.ackLateOriginal) { r.hold = 1; return true; }
    return false;
  }
  if (retransInFlight(c)) { r.hold = 1; return true; }
  c.stats.TCPPartialUndo++;
  undoReduction(c);
  holdLossMarking(c);
  for (let i = r.head; i < r.q.length; i++) r.q[i]!.lost = false;
  r.lostBytes = 0;
  r.timerAt = Infinity;
  leaveRecovery(c);
  return false;
}

/** Some retransmitted data is still in flight (neither acknowledged nor SACKed; Linux retrans_out). */
function retransInFlight(c: TcpConnection): boolean {
  const r = c.rack;
  for (let i = r.head; i < r.q.length; i++) { const s = r.q[i]!; if (s.retrans && !s.sacked && !s.lost) return true; }
  return false;
}

/** Linux tcp_may_undo: a reduction is recorded and either every retransmission was D-SACKed or the ACK was delayed. */
function mayUndo(c: TcpConnection, seg: TcpSegment): boolean {
  const r = c.rack;
  return r.undoMarker !== -1 && (r.undoRetrans === 0 || packetDelayed(c, seg));
}

/**
 * Linux tcp_packet_delayed: the ACK echoes a timestamp older than our first retransmission, so what it
 * acknowledges arrived as sent the first time (RFC 3522 §3.2; a zero TSecr says nothing, RFC 7323 §3.2).
 */
function packetDelayed(c: TcpConnection, seg: TcpSegment): boolean {
  const ecr = seg.options.tsEcr;
  return c.tsOk && c.rack.retransTsval !== -1 && ecr !== undefined && ecr !== 0 && seqLt(ecr, c.rack.retransTsval);
}

/** Linux tcp_undo_cwnd_reduction: cwnd and ssthresh back (never lower than now); nothing left to undo. */
function undoReduction(c: TcpConnection): void {
  const r = c.rack;
  if (r.priorCwnd > c.cc.cwnd) c.cc.cwnd = r.priorCwnd;
  if (r.priorSsthresh > c.cc.ssthresh) c.cc.ssthresh = r.priorSsthresh;
  r.undoMarker = -1;
}

/**
 * Recovery is over, undone: RACK may start a new episode on a real loss. The reordering window is not shrunk
 * (that counts recoveries that were losses, rack.ts rackRecoveryEnded).
 */
function leaveRecovery(c: TcpConnection): void {
  c.inRecovery = false;
  c.dupAcks = 0;
  if (c.sndRtx !== -1 && !c.rtoRecovery) c.sndRtx = -1;
}
