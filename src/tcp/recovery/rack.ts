/**
 * RACK-TLP loss detection (RFC 8985 §6) and the record it needs: every data segment sent and not yet
 * cumulatively acknowledged, with the time it was (last) sent. A segment is deemed lost when a segment sent
 * after it has been delivered and more than RACK.rtt + RACK.reo_wnd has passed since it was sent: time, not
 * a count of duplicate ACKs, so a lost retransmission is detected as readily as a lost original, and
 * reordering within the window costs nothing. Used where both ends use SACK (config.rack); without SACK,
 * recovery/fast-recovery.ts counts duplicate ACKs (RFC 5681, RFC 6582).
 *
 * The same record gives RTT samples from send times (Linux tcp_clean_rtx_queue): timers.ts sampleRtt.
 */
import { seqDiff, seqGe, seqGt, seqLe, seqLt } from '../../wire/tcp-types.js';
import type { TcpConnection } from '../connection.js';
import { sndMssCap, tsNow } from '../options.js';

/** One data segment in flight: [start, end) in sequence space (a FIN counts one). */
export interface SentSegment {
  start: number;
  end: number;
  /** When it was last sent (ms), and the TSval it carried. */
  xmit: number;
  tsval: number;
  /** Sent more than once (Karn: its ACK is ambiguous). */
  retrans: boolean;
  /** The peer SACKed all of it. */
  sacked: boolean;
  /**
   * It was SACKed once, even if an RTO has since cleared the scoreboard: its cumulative ACK says nothing about
   * the RTT (it waited at the receiver for a hole to fill), so it gives no sample (Linux keeps SACKED_ACKED).
   */
  sackedOnce: boolean;
  /** Deemed lost and not retransmitted since. */
  lost: boolean;
}

/** Per-connection RACK state (RFC 8985 §6.1) and the sent-segment record. */
export class Rack {
  /** Segments above SND.UNA in sequence order; q[head..] are live. */
  q: SentSegment[] = [];
  head = 0;
  /** Bytes deemed lost and not yet retransmitted (not SACKed): they leave the pipe (RFC 6675 §4 IsLost). */
  lostBytes = 0;
  /** RACK.xmit_ts, RACK.end_seq: the most recently sent segment that has been delivered. */
  xmitTs = -Infinity;
  endSeq = 0;
  /** RACK.rtt: RTT of that segment. */
  rtt = 0;
  /** RACK.min_RTT: the smallest RTT sample seen. */
  minRtt = Infinity;
  /** RACK.fack: the highest sequence number delivered (cumulatively or SACKed); meaningful once fackSet. */
  fack = 0;
  /**
   * Sequence numbers start at a random ISS (RFC 6528): before the first delivery there is no RACK.fack to
   * compare with (0 would be "ahead" of half of all ISSs, and every first delivery would look reordered).
   */
  fackSet = false;
  /** RACK.reordering_seen (§6.2 step 3). */
  reorderingSeen = false;
  /** RACK.reo_wnd_mult (§6.2 step 4): raised by one for each round trip that brings a D-SACK. */
  reoWndMult = 1;
  /** RACK.dsack_round: SND.NXT when reo_wnd_mult was last raised; another D-SACK before SND.UNA passes it counts not. */
  dsackRound = -1;
  /** RACK.reo_wnd_persist: recoveries left before reo_wnd_mult falls back to 1 (16 after a D-SACK). */
  reoWndPersist = 0;
  /** The reordering timer (§6.2 step 5): when the last of the segments still waiting would be deemed lost. */
  timerAt = Infinity;
  /**
   * A segment was delivered (RACK.xmit_ts / RACK.rtt may have moved) since loss detection last ran: an ACK that
   * delivered nothing new makes no new judgement (Linux tp->rack.advanced, tcp_rack_mark_lost); only the timer does.
   */
  advanced = false;

  // Undo of a needless window reduction (recovery/undo.ts; Linux undo_marker, undo_retrans, retrans_stamp).
  /** SND.UNA when the reduction began; -1: nothing to undo. */
  undoMarker = -1;
  /** Bytes retransmitted since then and not yet reported by a D-SACK; -1: none retransmitted yet. */
  undoRetrans = -1;
  /** cwnd and ssthresh before the reduction. */
  priorCwnd = 0;
  priorSsthresh = 0;
  /** TSval of the first retransmission since SND.UNA last caught up, or -1 (Eifel, RFC 3522). */
  retransTsval = -1;
  /**
   * An ACK found the recovery's hole filled by a late original while retransmissions are in flight, or undid a
   * reduction (undo.ts): 1 while that ACK is processed (RACK marks nothing lost on it), 2 from then until the
   * next ACK or reordering timeout (nothing deemed lost is resent for it, as Linux's tcp_try_undo_partial returns
   * before the retransmission), 0 otherwise. Not keyed by the ACK's time: a host sends what an ACK allows at its
   * own later time (Stack.service reads its clock again).
   */
  hold: 0 | 1 | 2 = 0;
  /** Bytes retransmitted and bytes reported by D-SACKs over the connection (a D-SACK beyond what we resent is dubious). */
  retransBytes = 0;
  dsackBytes = 0;

  /** RTT sample candidates gathered while one ACK is processed (read and cleared by timers.ts sampleRtt). */
  ackFirstXmit = -1;
  ackRetransAcked = false;
  ackLatestTsval = -1;
  /** The send time of the most recently sent segment this ACK newly SACKs (never retransmitted), or -1. */
  sackLatestXmit = -1;
  /**
   * This ACK cumulatively acknowledged a segment deemed lost that its first transmission delivered: marked and not
   * resent since, or resent and answered with an older timestamp (the test below). The marks were reordering
   * (recovery/undo.ts undoOnPartialAck). Set by logAcked for each ACK that advances SND.UNA.
   */
  ackLateOriginal = false;
  /**
   * Records of acknowledged segments, kept for logSent to fill in again (at most SPARE_RECORDS): a bulk sender's
   * ACK frees about as many as it then sends, so it does not allocate one per segment. Dropped once everything
   * is acknowledged (an idle connection keeps none).
   */
  spare: SentSegment[] | null = null;
}

/** How many acknowledged records a Rack keeps for reuse (logAcked, logSent). */
const SPARE_RECORDS = 64;

/** RFC 8985 applies: SACK negotiated and enabled, not in the go-back-N run after an RTO. */
export function rackActive(c: TcpConnection): boolean {
  return c.sackOk && c.cfg.rack && !c.rtoRecovery;
}

/**
 * New data [start, end) went out (send.ts nextNewData).
 *
 * Without a record, a segment sent when nothing is in flight is kept inline (c.inlineSentAt; its range is
 * [SND.UNA, SND.NXT)), and so is a FIN sent alone after it (c.inlineFinApart, sent at c.inlineFinSentAt): a
 * request/response connection, one segment per flight and its FIN, never builds the record. The record
 * is created, with that segment first, when a second one goes out, or when anything else needs it (a SACK, a
 * retransmission, an RTO, recovery): it then holds what it would have held. What it would have learnt from
 * segments delivered before (RACK.xmit_ts, end_seq, rtt, fack) decides nothing later: everything was
 * acknowledged, and every segment since was sent after (a later delivery replaces them first). min_RTT, which
 * does last, is kept by the connection (rttSampleToCcAndRack).
 */
export function logSent(c: TcpConnection, start: number, end: number, now: number): void {
  if (!c.rackCreated) {
    const sentAt = c.inlineSentAt;
    if (sentAt < 0) {
      if (start === c.sndUna && !c.inRecovery) { c.inlineSentAt = now; return; }
    } else if (!c.inlineFinApart && c.finSent && start === c.finSeq && seqDiff(end, start) === 1 && !c.inRecovery
      && c.rttSeq === -1) {
      // The FIN alone after the inline data segment: a socket's end() after its last write (node:net on Linux sends
      // them so), or a server's response then its close, often a turn of the event loop later (node:http closes
      // once the response's write has completed: a later clock reading on a real clock). Both are kept inline:
      // their entries differ in range, the boundary being the FIN's sequence number, and in send time, the FIN's
      // kept in rttTime's slot, free once the SYN is no longer timed (adoptInline). Nothing can be sent after a
      // FIN, so no third segment ever joins them; and the FIN, sent no earlier than the data, counts as sent after
      // it for RACK as it would in a record.
      c.inlineFinApart = true;
      c.inlineFinSentAt = now;
      return;
    } else {
      // The inline segment ends where this one starts (SND.NXT has moved already).
      c.createRack(start);
    }
  }
  const r = c.rack;
  const tsval = c.tsOk ? tsNow(c, now) : 0;
  const spare = r.spare;
  let s: SentSegment;
  if (spare !== null && spare.length > 0) {
    s = spare.pop()!;
    s.start = start; s.end = end; s.xmit = now; s.tsval = tsval;
    s.retrans = false; s.sacked = false; s.sackedOnce = false; s.lost = false;
  } else {
    s = sentSegment(start, end, now, tsval);
  }
  // A flight's first record starts a one-element list: push on an empty list reserves 17 slots (V8), and a
  // request/response connection sends one segment per flight (logAcked releases the list once all is acknowledged).
  if (r.q.length === 0) { r.q = [s]; r.head = 0; } else r.q.push(s);
  if (c.inRecovery) c.prr.out += seqDiff(end, start);
}

/** A new record entry: [start, end) sent at `xmit` with TSval `tsval`, not retransmitted, SACKed or lost. */
function sentSegment(start: number, end: number, xmit: number, tsval: number): SentSegment {
  return { start, end, xmit, tsval, retrans: false, sacked: false, sackedOnce: false, lost: false };
}

/**
 * The segment kept inline (logSent) becomes the new record's first entry (TcpConnection.createRack); `finSentAt`
 * (-1: none): the FIN went alone after it then, and is the second.
 */
export function adoptInline(c: TcpConnection, r: Rack, start: number, end: number, sentAt: number, finSentAt: number): void {
  const tsval = c.tsOk ? tsNow(c, sentAt) : 0;
  r.q = finSentAt >= 0 && seqLt(start, c.finSeq)
    ? [sentSegment(start, c.finSeq, sentAt, tsval), sentSegment(c.finSeq, end, finSentAt, c.tsOk ? tsNow(c, finSentAt) : 0)]
    : [sentSegment(start, end, sentAt, tsval)];
  r.head = 0;
}

/**
 * SND.UNA advanced (send.ts ackAdvance) on a connection without a record: if that acknowledged the segment kept
 * inline, it is dropped and its send time returned for the RTT sample (logAcked's candidate), else -1.
 */
export function inlineAcked(c: TcpConnection): number {
  const sentAt = c.inlineSentAt;
  if (sentAt < 0) return -1;
  if (c.sndUna === c.sndNxt) {
    c.inlineSentAt = -1;
    c.inlineFinApart = false;
    return sentAt;
  }
  // The data segment acknowledged, the FIN sent alone after it not: the FIN is now the one segment kept inline,
  // sent when it was. A record would hold RACK's reference at the data segment, which judges nothing: the FIN, sent
  // no earlier and ending above it, counts as sent after it (rackDetectLoss), and nothing is ever sent after the FIN.
  if (c.inlineFinApart && c.sndUna === c.finSeq) {
    c.inlineFinApart = false;
    c.inlineSentAt = c.inlineFinSentAt;
    return sentAt;
  }
  return -1;
}

/**
 * Split the record so that a segment boundary falls at `seq` (when seq lies inside one). Returns its index. The
 * record is contiguous and in sequence order: a binary search, not a walk from SND.UNA (every SACK block of every
 * ACK splits at both its edges).
 */
function splitAt(r: Rack, seq: number): number {
  const q = r.q;
  let i = r.head, hi = q.length;
  while (i < hi) {
    const mid = (i + hi) >>> 1;
    if (seqLe(q[mid]!.end, seq)) i = mid + 1;
    else hi = mid;
  }
  if (i < q.length && seqLt(q[i]!.start, seq)) {
    const s = q[i]!;
    q.splice(i + 1, 0, { ...s, start: seq });
    s.end = seq;
    if (s.lost) { /* both halves keep the mark; lostBytes unchanged */ }
    i++;
  }
  return i;
}

/** [start, end) was sent again (a retransmission or a loss probe): it is in flight again, timed anew. */
export function logRetransmit(c: TcpConnection, start: number, end: number, now: number): void {
  const r = c.rack;
  if (!seqLt(start, end)) return;
  let i = splitAt(r, start);
  splitAt(r, end);
  const q = r.q;
  const tsval = c.tsOk ? tsNow(c, now) : 0;
  if (c.inRecovery) c.prr.out += seqDiff(end, start);
  const len = seqDiff(end, start);
  r.retransBytes += len;
  if (r.undoRetrans < 0) r.undoRetrans = 0;
  r.undoRetrans += len;
  if (r.retransTsval === -1 && c.tsOk) r.retransTsval = tsval;
  for (; i < q.length && seqLe(q[i]!.end, end); i++) {
    const s = q[i]!;
    if (s.lost) { s.lost = false; r.lostBytes -= seqDiff(s.end, s.start); }
    s.retrans = true;
    s.xmit = now;
    s.tsval = tsval;
  }
}

/**
 * The segments in [SND.UNA, ack) are acknowledged: drop them, note RTT candidates and RACK updates. `tsEcr`: the
 * ACK's timestamp echo, if any.
 */
export function logAcked(c: TcpConnection, ack: number, now: number, tsEcr?: number): void {
  const r = c.rack;
  const q = r.q;
  let i = r.head;
  r.ackLateOriginal = false;
  for (; i < q.length && seqLe(q[i]!.end, ack); i++) {
    const s = q[i]!;
    if (s.lost) { r.lostBytes -= seqDiff(s.end, s.start); r.ackLateOriginal = true; }
    if (s.sacked || s.sackedOnce) continue;
    // Linux tcp_clean_rtx_queue: the oldest newly acknowledged segment never retransmitted gives the RTT sample.
    if (s.retrans) r.ackRetransAcked = true;
    else if (r.ackFirstXmit < 0) r.ackFirstXmit = s.xmit;
    if (r.ackLatestTsval < 0 || seqGt(s.tsval, r.ackLatestTsval)) r.ackLatestTsval = s.tsval;
    // RFC 8985 §6.2 step 2: a retransmitted segment whose cumulative ACK echoes a timestamp older than the
    // retransmission was delivered by its original (the receiver echoes the segment that filled the hole, RFC
    // 7323 §4.3): its RTT and send time would be the retransmission's, too short and too late, and RACK would
    // deem everything sent before the retransmission lost. (SACKs are not tested: a receiver with a hole echoes
    // an older TS.Recent, whichever copy it SACKs.)
    if (s.retrans && tsEcr !== undefined && tsEcr !== 0 && c.tsOk && seqLt(tsEcr, s.tsval)) { r.ackLateOriginal = true; continue; }
    delivered(c, s, now);
  }
  // A segment only partly acknowledged keeps its remainder (a TSO segment).
  if (i < q.length && seqLt(q[i]!.start, ack)) {
    const s = q[i]!;
    if (s.lost) r.lostBytes -= seqDiff(ack, s.start);
    s.start = ack;
  }
  // Everything acknowledged: drop the records now (an idle connection keeps none; length 0 releases the
  // backing store). Else the acknowledged ones are kept for reuse (nothing reads the record below its head, and
  // logSent fills in every field), and the list is compacted once the acknowledged prefix dominates.
  if (i === q.length) { q.length = 0; r.head = 0; r.spare = null; return; }
  if (i > r.head) {
    const spare = r.spare ??= [];
    for (let k = r.head; k < i && spare.length < SPARE_RECORDS; k++) spare.push(q[k]!);
  }
  r.head = i;
  if (r.head > 64 && r.head * 2 > q.length) { q.splice(0, r.head); r.head = 0; }
}

/** This ACK's SACK blocks within (floor, SND.NXT], in sequence order (logSacked). */
const SACKED_SCRATCH: number[] = [];

/**
 * The scoreboard grew with this ACK's SACK `blocks` (`ack` its cumulative ACK): mark the segments they cover
 * SACKed (split at block edges so each is all or none). Only this ACK's blocks are walked, in sequence order as
 * Linux walks them (tcp_sacktag_write_queue sorts them): whatever else the scoreboard holds was marked when it
 * was reported. What they acknowledge cumulatively, or lies beyond SND.NXT, is left out as updateScoreboard
 * leaves it out. Neighbouring SACKed entries are merged into one (Linux tcp_shift_skb_data collapses SACKed
 * skbs): a range the receiver keeps reporting, growing by a segment or two per ACK, stays one entry, so neither
 * this walk nor RACK's (rackDetectLoss) grows with what has been SACKed.
 */
export function logSacked(c: TcpConnection, now: number, blocks: readonly number[], ack: number): void {
  const r = c.rack;
  const floor = seqGt(ack, c.sndUna) && seqLe(ack, c.sndNxt) ? ack : c.sndUna;
  const b = SACKED_SCRATCH;
  b.length = 0;
  for (let k = 0; k + 1 < blocks.length; k += 2) {
    let l = blocks[k]!;
    const rr = blocks[k + 1]!;
    if (!seqLt(l, rr) || !seqGt(rr, floor) || seqGt(rr, c.sndNxt)) continue;
    if (seqLt(l, floor)) l = floor;
    // Insertion by left edge (at most four blocks).
    let j = b.length;
    b.push(l, rr);
    while (j > 0 && seqLt(l, b[j - 2]!)) { b[j] = b[j - 2]!; b[j + 1] = b[j - 1]!; j -= 2; }
    b[j] = l; b[j + 1] = rr;
  }
  for (let k = 0; k < b.length; k += 2) {
    const l = b[k]!, rr = b[k + 1]!;
    let i = splitAt(r, l);
    splitAt(r, rr);
    const q = r.q;
    const first = i;
    for (; i < q.length && seqLe(q[i]!.end, rr); i++) {
      const s = q[i]!;
      if (s.sacked) continue;
      s.sacked = true;
      if (s.lost) { s.lost = false; r.lostBytes -= seqDiff(s.end, s.start); }
      if (s.sackedOnce) continue; // SACKed before an RTO: delivered long ago, no news for RACK or the RTT
      s.sackedOnce = true;
      // The most recently sent of the newly SACKed segments: normally the one whose arrival drew this ACK. An
      // older one may be reported only now (a receiver lists few blocks, ACKs get lost) and would inflate the RTT.
      if (!s.retrans && s.xmit > r.sackLatestXmit) r.sackLatestXmit = s.xmit;
      delivered(c, s, now);
    }
    mergeSacked(r, first > r.head ? first - 1 : first, i < q.length ? i + 1 : i);
  }
}

/**
 * Merge neighbouring SACKed entries in q[from, to) that were both sent once or both resent (undo.ts counts the
 * resent bytes a D-SACK reports). A SACKed entry's send time and TSval are not read again: RACK and the RTT
 * skip SACKed segments, and an RTO that forgets the scoreboard resends from SND.UNA, timing each piece anew.
 */
function mergeSacked(r: Rack, from: number, to: number): void {
  const q = r.q;
  let w = from;
  for (let j = from + 1; j < to; j++) {
    const a = q[w]!, s = q[j]!;
    if (a.sacked && s.sacked && a.retrans === s.retrans && a.sackedOnce === s.sackedOnce) a.end = s.end;
    else q[++w] = s;
  }
  if (to - w - 1 > 0) q.splice(w + 1, to - w - 1);
}

/**
 * RFC 8985 §6.2 steps 2–3 for one delivered segment: RACK.rtt / xmit_ts / end_seq follow the most recently
 * sent delivered segment, unless the delivery is ambiguous (a retransmission whose ACK may answer the
 * original: an RTT below the minimum). Reordering is seen when a
 * segment never retransmitted is delivered below RACK.fack.
 */
function delivered(c: TcpConnection, s: SentSegment, now: number): void {
  const r = c.rack;
  // Never negative: a host may hand the engine a `now` slightly older than one it already used to send.
  const rtt = Math.max(0, now - s.xmit);
  // Linux tcp_rack_advance: only the minimum-RTT test. (RFC 8985's TSecr test would also discard the SACK of
  // a loss probe, which a receiver with a hole answers with an older TS.Recent, RFC 7323 §4.3.)
  if (s.retrans && rtt < r.minRtt) return;
  r.advanced = true;
  if (r.fackSet && !s.retrans && seqLt(s.end, r.fack)) r.reorderingSeen = true;
  if (!r.fackSet || seqGt(s.end, r.fack)) { r.fack = s.end; r.fackSet = true; }
  r.rtt = rtt;
  if (s.xmit > r.xmitTs || (s.xmit === r.xmitTs && seqGt(s.end, r.endSeq))) { r.xmitTs = s.xmit; r.endSeq = s.end; }
}

/** A new RTT sample (from sampleRtt): RACK.min_RTT. */
export function rackRttSample(c: TcpConnection, rtt: number): void {
  if (rtt > 0 && rtt < c.rack.minRtt) c.rack.minRtt = rtt;
}

/**
 * Is this ACK's first SACK block a D-SACK (RFC 2883 §4): below the cumulative ACK, or inside the second block?
 * It reports a segment received twice: a retransmission that was not needed (reordering, or a delayed ACK).
 */
export function isDsack(ack: number, blocks: number[] | undefined): boolean {
  if (blocks === undefined || blocks.length < 2) return false;
  const l = blocks[0]!, r = blocks[1]!;
  if (seqLe(r, ack)) return true;
  return blocks.length >= 4 && seqLe(blocks[2]!, l) && seqLe(r, blocks[3]!);
}

/**
 * A D-SACK arrived (RFC 8985 §6.2 step 4): the reordering window was too small. Widen it by min_RTT/4, at most
 * once per round trip, keep it for 16 recoveries; reordering has been seen.
 */
export function rackOnDsack(c: TcpConnection): void {
  const r = c.rack;
  r.reorderingSeen = true;
  if (r.dsackRound !== -1 && seqLt(c.sndUna, r.dsackRound)) return;
  r.dsackRound = c.sndNxt;
  if (r.reoWndMult < 255) r.reoWndMult++;
  r.reoWndPersist = 16;
}

/** A recovery episode ended: after 16 without a D-SACK the reordering window shrinks back (RFC 8985 §6.2 step 4). */
export function rackRecoveryEnded(c: TcpConnection): void {
  const r = c.rack;
  if (r.reoWndPersist > 0 && --r.reoWndPersist === 0) r.reoWndMult = 1;
}

/**
 * RACK.reo_wnd (RFC 8985 §6.2 step 4): zero once three segments are SACKed or in recovery, as long as no
 * reordering has been seen (the classic DupThresh behaviour); else min(reo_wnd_mult · min_RTT / 4, SRTT).
 */
export function reoWnd(c: TcpConnection): number {
  const r = c.rack;
  if (!r.reorderingSeen && (c.inRecovery || c.sackedBytes >= 3 * sndMssCap(c))) return 0;
  const minRtt = r.minRtt === Infinity ? 0 : r.minRtt;
  const srtt = c.rtt.hasSample ? c.rtt.srtt : minRtt;
  return Math.min(r.reoWndMult * minRtt / 4, srtt);
}

/**
 * RFC 8985 §6.2 step 5: mark lost every segment sent before RACK.xmit_ts that is neither SACKed nor
 * already marked, once RACK.rtt + reo_wnd has passed since it was sent; arm the reordering timer for the
 * latest of the rest (RFC 8985 RACK_detect_loss: timeout = max(remaining, timeout); Linux tcp_rack_detect_loss
 * "record maximum wait time"). One timeout then judges them all; armed for the earliest, it fired once per
 * segment of a queue that a packet on a faster path had overtaken, and resent each just before it arrived.
 * Returns true if it marked any segment lost.
 */
export function rackDetectLoss(c: TcpConnection, now: number): boolean {
  const r = c.rack;
  r.timerAt = Infinity;
  r.advanced = false;
  if (r.xmitTs === -Infinity) return false;
  const wnd = reoWnd(c);
  const q = r.q;
  let marked = false;
  let next = Infinity;
  for (let i = r.head; i < q.length; i++) {
    const s = q[i]!;
    if (s.sacked || s.lost) continue;
    // Sent after the most recently delivered segment: nothing can be said about it yet. The record is in
    // sequence order, which is send order for data sent once, and a retransmission goes out after its first
    // send: past the first never-retransmitted segment sent after RACK's, every later one was sent later still
    // (Linux walks its time-sorted queue and stops there too). Without this, every ACK of a bulk transfer scanned
    // the whole flight.
    if (s.xmit > r.xmitTs || (s.xmit === r.xmitTs && !seqLt(s.end, r.endSeq))) {
      if (!s.retrans) break;
      continue;
    }
    const remaining = s.xmit + r.rtt + wnd - now;
    if (remaining <= 0) {
      s.lost = true;
      r.lostBytes += seqDiff(s.end, s.start);
      marked = true;
    } else if (next === Infinity || remaining > next) next = remaining;
  }
  // Linux arms this timer at least TCP_TIMEOUT_MIN_US (2 ms) past the deadline (tcp_rack_mark_lost): a timer
  // that fired on time would, on a sub-millisecond path, deem lost each segment of a queue draining behind a
  // packet that overtook it, just before its ACK came (the window, min_RTT/4, is a few µs there).
  if (next !== Infinity) r.timerAt = now + next + RACK_TIMER_SLACK_MS;
  return marked;
}

/** The reordering timer's slack past the computed deadline (Linux TCP_TIMEOUT_MIN_US). */
export const RACK_TIMER_SLACK_MS = 2;

/** The first segment deemed lost and not yet retransmitted, as [start, end), or null. */
export function firstLost(c: TcpConnection): SentSegment | null {
  const r = c.rack;
  if (r.lostBytes <= 0) return null;
  for (let i = r.head; i < r.q.length; i++) if (r.q[i]!.lost) return r.q[i]!;
  return null;
}

/**
 * After an RTO what is not SACKed is resent from SND.UNA (timers.ts onRto): forget loss marks, and SACK marks
 * too when the scoreboard is dropped (`forgetSacked`, a suspected renege).
 */
export function rackOnRto(c: TcpConnection, forgetSacked: boolean): void {
  const r = c.rack;
  for (let i = r.head; i < r.q.length; i++) { if (forgetSacked) r.q[i]!.sacked = false; r.q[i]!.lost = false; }
  r.lostBytes = 0;
  r.timerAt = Infinity;
}

/** Bytes in flight by RACK's reckoning (Linux tcp_packets_in_flight): sent, not acknowledged, not SACKed, not lost. */
export function rackPipe(c: TcpConnection): number {
  const p = seqDiff(c.sndNxt, c.sndUna) - c.sackedBytes - c.rackLostBytes;
  return p > 0 ? p : 0;
}

/** Clear the per-ACK RTT candidates (timers.ts sampleRtt has read them). */
export function clearAckSample(r: Rack): void {
  r.ackFirstXmit = -1; r.ackRetransAcked = false; r.ackLatestTsval = -1; r.sackLatestXmit = -1;
}

/** Whether segment-level records cover [SND.UNA, SND.NXT) (sanity for tests). */
export function rackCovers(c: TcpConnection): boolean {
  const r = c.rack;
  let at = c.sndUna;
  for (let i = r.head; i < r.q.length; i++) {
    if (r.q[i]!.start !== at) return false;
    at = r.q[i]!.end;
  }
  return seqGe(at, c.sndNxt) || at === c.sndNxt;
}
