/**
 * RFC 9293 §3.10.7.4: SEGMENT ARRIVES in SYN-RECEIVED and every synchronized state (ESTABLISHED, FIN-WAIT-1,
 * FIN-WAIT-2, CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT). inputSynchronized() walks the RFC's steps in order;
 * each step is a function below, in the same order: first (sequence number), second (RST), third (security),
 * fourth (SYN), fifth (ACK), sixth (URG), seventh (text), eighth (FIN). Per-state rules sit inside each step,
 * as in the RFC (e.g. a RST in CLOSE-WAIT: secondCheckRst).
 */
import { ACK, EMPTY, FIN, RST, SYN, URG, seqAdd, seqDiff, seqGt, seqLe, seqLt, type TcpSegment } from '../../wire/tcp-types.js';
import type { TcpCause, TcpConnection } from '../connection.js';
import { pawsReject, updateTsRecent } from '../options.js';
import { acceptWindow, acceptable, rcvAutotuneArrived } from '../receive-window.js';
import { onDupAck, rackAfterAck } from '../recovery/fast-recovery.js';
import { reportDuplicate, reportOutOfOrderDuplicate } from '../recovery/dsack.js';
import { isDsack, logSacked, rackActive, rackOnDsack } from '../recovery/rack.js';
import { undoOnDsack } from '../recovery/undo.js';
import { holdOutOfOrderAck } from '../sack-compression.js';
import { enterQuickAck, inQuickAck, startQuickAck, windowOpening } from './quick-ack.js';
import { updateScoreboard } from '../recovery/scoreboard.js';
import { rstFor } from '../segment.js';
import { abortRst, ackAdvance, makeRaw, maybeStartPersist } from '../send.js';
import { sampleRtt } from '../timers.js';

/** §3.10.7.4: SYN-RECEIVED and every synchronized state. */
export function inputSynchronized(c: TcpConnection, seg: TcpSegment, now: number): void {
  // Set when the peer's SYN+ACK of a simultaneous open completes the handshake: its window is not scaled.
  let windowUnscaled = false;
  if (c.state === 'SYN-RECEIVED' && (seg.flags & (SYN | ACK)) === (SYN | ACK) && seg.seq === c.irs) {
    // Simultaneous open (RFC 9293 Figure 8, line 6): the peer's SYN+ACK repeats its SYN, which is old;
    // only the new part, the ACK, is processed (§3.10.7.4 "straddle" rule, as BSD trims it). The window
    // field of a <SYN,ACK> is never scaled (RFC 7323 §2.2), trimmed or not.
    windowUnscaled = true;
    seg = { ...seg, flags: seg.flags & ~SYN, seq: seqAdd(seg.seq, 1) };
  }
  // RFC 7323 §5.3: PAWS, before the sequence check (options.ts).
  if (pawsReject(c, seg, now)) return;
  // Data below RCV.NXT arrived before: report it in a D-SACK (RFC 2883; Linux tcp_send_dupack, tcp_data_queue).
  if (seg.payload.length > 0 && seqLt(seg.seq, c.rcvNxt) && !(seg.flags & (SYN | RST)) && c.state !== 'TIME-WAIT') {
    const end = seqAdd(seg.seq, seg.payload.length);
    reportDuplicate(c, seg.seq, seqLt(end, c.rcvNxt) ? end : c.rcvNxt);
  }
  seg = acceptDuplicateEndingAtRcvNxt(c, seg, now);

  if (!firstCheckSequenceNumber(c, seg, now)) return;
  if (seg.flags & RST) { secondCheckRst(c, seg, now); return; }
  if (!thirdCheckSecurity(c, seg)) return;
  if (seg.flags & SYN) { fourthCheckSyn(c, seg, now); return; }
  if (!fifthCheckAck(c, seg, windowUnscaled, now)) return;
  sixthCheckUrg(c, seg);
  if (!seventhProcessText(c, seg, seg.seq, seg.payload, now)) return;
  eighthCheckFin(c, seg, seg.seq, seg.payload, now);
}

/** Seventh and eighth for a SYN+ACK that carries data or FIN in SYN-SENT (§3.10.7.3: "continue at sixth"). */
export function processTextAndFin(c: TcpConnection, seg: TcpSegment, seq: number, payload: Uint8Array, now: number): void {
  if (seventhProcessText(c, seg, seq, payload, now)) eighthCheckFin(c, seg, seq, payload, now);
}

/**
 * BSD and Linux process the ACK of a wholly duplicate segment that ends exactly at RCV.NXT (typically a
 * retransmitted FIN that now acknowledges ours); RFC 9293's test rejects it. Only the new part, the ACK,
 * is kept ("only the new parts are processed", §3.10.7.4), and the duplicate is re-ACKed.
 * finOnAck implies it: two stacks that repeat their FIN on every ACK would otherwise answer each other's
 * duplicate FIN+ACK forever in a simultaneous close (CLOSING ↔ CLOSING), never seeing their FIN acknowledged.
 * Returns the segment to process: `seg` itself, or its trimmed copy.
 */
function acceptDuplicateEndingAtRcvNxt(c: TcpConnection, seg: TcpSegment, now: number): TcpSegment {
  const f = seg.flags;
  if (c.cfg.seqCheck === 'bsd' && c.state !== 'TIME-WAIT' && (f & ACK) && !(f & (SYN | RST))
    && seg.payload.length === 0 && !(f & FIN) && seqAdd(seg.seq, 1) === c.rcvNxt) {
    // tcp_input.c (todrop > tlen): a bare segment just left of the window is a duplicate, ACKed at once, and
    // processing goes on for its ACK (longer duplicates ending at RCV.NXT are the case below).
    c.ackNow = true;
    return { ...seg, seq: c.rcvNxt };
  }
  const dupLen = seg.payload.length + (f & FIN ? 1 : 0);
  const endsAtRcvNxt = dupLen > 0 && seqAdd(seg.seq, dupLen) === c.rcvNxt && (f & ACK) !== 0 && (f & (SYN | RST)) === 0;
  // Whether or not its ACK is processed, a duplicate that reaches RCV.NXT (= Last.ACK.sent once ACKed) refreshes
  // TS.Recent, so the ACK it draws echoes the retransmission's TSval, not an old one that would inflate the
  // sender's RTT (Linux tcp_sequence + tcp_replace_ts_recent; FreeBSD tcp_input tests
  // SEG.SEQ ≤ Last.ACK.sent ≤ SEG.SEQ + SEG.LEN, RFC 7323 §4.3's rule with the right end included).
  if (endsAtRcvNxt && c.state !== 'TIME-WAIT') updateTsRecent(c, seg, now);
  if ((c.cfg.ackOfDuplicate || c.cfg.finOnAck) && c.state !== 'TIME-WAIT' && endsAtRcvNxt) {
    c.ackNow = true;
    if (seg.payload.length > 0) enterQuickAck(c); // Linux tcp_send_dupack: data it already had
    return { ...seg, seq: c.rcvNxt, flags: f & ~FIN, payload: EMPTY };
  }
  return seg;
}

/** First: check the sequence number (the four acceptability cases). Returns false when the segment is done with. */
export function firstCheckSequenceNumber(c: TcpConnection, seg: TcpSegment, now: number): boolean {
  const f = seg.flags;
  const s = c.state;
  const segLen = seg.payload.length + (f & SYN ? 1 : 0) + (f & FIN ? 1 : 0);
  const rcvWnd = acceptWindow(c);
  // RFC 9293 §3.10.7.4: "If the RCV.WND is zero, no segments will be acceptable, but special allowance should be
  // made to accept valid ACKs, URGs, and RSTs." A segment at exactly RCV.NXT is therefore processed for its
  // control fields (its text is trimmed to the zero window in the seventh step); a bare FIN there is accepted
  // too, as Linux does, since it needs no buffer space (and our own sender sends FINs into a zero window).
  if (c.cfg.seqCheck === 'linux') {
    // Linux tcp_sequence: only segments ending before rcv_wup or starting beyond RCV.NXT + RCV.WND fail. rcv_wup
    // is RCV.NXT as of the last segment we sent (Last.ACK.sent), not RCV.NXT: the peer has not yet been told of
    // data we took since, so a segment in [rcv_wup, RCV.NXT) passes and its ACK is processed; a RST there draws
    // a challenge ACK (second check) where RFC 9293 §3.10.7.4 drops it. TIME-WAIT keeps RCV.NXT
    // (tcp_timewait_state_process tests against tw_rcv_nxt).
    const left = s === 'TIME-WAIT' ? c.rcvNxt : c.lastAckSent;
    const right = seqAdd(c.rcvNxt, rcvWnd);
    const end = seqAdd(seg.seq, segLen);
    // Linux ≥ 6.17 (tcp_sequence, "do not accept packets beyond window"): text running past the right edge is
    // taken only while the application has read everything (an empty receive queue); otherwise the whole
    // segment is dropped and answered with a duplicate ACK. A FIN just past the edge is let through.
    if (!seqLt(end, left) && !seqGt(seg.seq, right)
      && (!seqGt(f & FIN ? seqAdd(end, -1) : end, right) || c.rcv.length === 0 || s === 'TIME-WAIT')) return true;
    // tcp_reset_check: the peer's FIN took RCV.NXT − 1; a RST there still resets (CLOSE-WAIT, CLOSING, LAST-ACK).
    if ((f & RST) && linuxResetCheck(c, seg)) { secondCheckRst(c, { ...seg, seq: c.rcvNxt }, now); return false; }
  } else if (acceptable(c, seg.seq, segLen, rcvWnd) || (rcvWnd === 0 && seg.seq === c.rcvNxt)) return true;
  else if (c.cfg.seqCheck === 'bsd' && !(f & (RST | SYN))) {
    // tcp_input.c: todrop = seq + tlen − (rcv_nxt + rcv_wnd) is 0 for a bare segment at the right edge: kept.
    if (segLen === 0 && seg.seq === seqAdd(c.rcvNxt, rcvWnd)) return true;
  } else if (c.cfg.seqCheck === 'bsd' && (f & RST) && s === 'SYN-RECEIVED' && !c.activeOpen && seg.seq === seqAdd(c.rcvNxt, rcvWnd)) {
    // tcp_syncache.c syncache_chkrst: SEG.SEQ =< IRS + 1 + the SYN,ACK's window (the right edge included).
    return true;
  }
  if (s === 'SYN-RECEIVED' && (f & SYN) && !(f & ACK) && seg.seq === c.irs) {
    // A retransmitted SYN: our SYN+ACK was lost. Resend it (as Linux does).
    c.synPending = true;
    return false;
  }
  if (f & RST) {
    c.stats.RstIgnored++;
    c.drop('rst-out-of-window', 'RST outside the receive window', seg, now);
    return false;
  }
  if (s === 'TIME-WAIT' && (f & FIN)) {
    // §3.10.7.4 eighth, TIME-WAIT: a retransmitted FIN; acknowledge it and restart the 2 MSL timeout.
    c.timeWaitAt = now + 2 * c.cfg.msl;
    c.ackNow = true;
    c.drop('out-of-window', 'retransmitted FIN in TIME-WAIT: re-ACK', seg, now);
    return false;
  }
  c.stats.OutOfWindow++;
  c.drop('out-of-window', `seq ${seg.seq} len ${segLen} outside RCV.NXT ${c.rcvNxt} WND ${rcvWnd}`, seg, now);
  // A pure ACK outside the window is answered at most once per invalidAckRatelimit ms (Linux's
  // tcp_invalid_ratelimit): two ends that each see the other's ACKs as out of window would otherwise
  // ping-pong ACKs forever. Segments with data, SYN or FIN are always answered.
  if (segLen === 0 && !(f & SYN) && c.cfg.invalidAckRatelimit > 0 && now - c.lastOowAckAt < c.cfg.invalidAckRatelimit) {
    c.stats.TCPACKSkippedSeq++;
  } else {
    if (segLen === 0) c.lastOowAckAt = now;
    c.ackNow = true;
    // Data we already had or beyond the window: Linux enters quick-ACK mode (tcp_send_dupack, out_of_window).
    if (seg.payload.length > 0) enterQuickAck(c);
  }
  // RFC 5961 §4: a SYN in a synchronized state draws a challenge ACK whatever its sequence number.
  if (f & SYN) c.challengePending = true;
  return false;
}

/** Second: check the RST bit (RFC 5961 §3.2: only an exact RCV.NXT match resets; in-window → challenge ACK). */
export function secondCheckRst(c: TcpConnection, seg: TcpSegment, now: number): void {
  const s = c.state;
  const twRst = c.cfg.timeWaitRst;
  if (s === 'TIME-WAIT' && (twRst === 'close' || (twRst === 'close-exact' && seg.seq === c.rcvNxt))) {
    c.stats.RstAccepted++;
    c.toClosed({ kind: 'segment', seg }, now);
    return;
  }
  if (s === 'TIME-WAIT') {
    // RFC 1337: ignore RST in TIME-WAIT (TIME-WAIT assassination hazards).
    c.stats.RstIgnored++;
    c.drop('rst-in-time-wait', 'RST ignored in TIME-WAIT (RFC 1337)', seg, now);
    return;
  }
  // RFC 793 (config.rstInWindow 'reset', FreeBSD insecure_rst=1): any RST that passed the first check resets.
  // Linux's request socks (tcp_check_req) reset on any RST inside the window in SYN-RECEIVED, no challenge ACK.
  const linuxEmbryonic = s === 'SYN-RECEIVED' && c.cfg.seqCheck === 'linux';
  if (seg.seq !== c.rcvNxt && c.cfg.rstInWindow === 'challenge' && !linuxResetCheck(c, seg) && !linuxEmbryonic && !linuxSackEdgeRst(c, seg)) {
    c.stats.RstIgnored++;
    c.drop('rst-not-exact', `RST seq ${seg.seq} != RCV.NXT ${c.rcvNxt}: challenge ACK`, seg, now);
    challengeAck(c, now);
    return;
  }
  c.stats.RstAccepted++;
  const cause: TcpCause = { kind: 'segment', seg };
  if (s === 'SYN-RECEIVED') {
    if (c.activeOpen) c.fail('ECONNREFUSED', 'connection refused', cause, now);
    else c.toClosed(cause, now);
    return;
  }
  if (s === 'ESTABLISHED' || s === 'FIN-WAIT-1' || s === 'FIN-WAIT-2' || s === 'CLOSE-WAIT') {
    c.fail('ECONNRESET', 'connection reset by peer', cause, now);
    return;
  }
  // CLOSING, LAST-ACK: enter CLOSED and delete the TCB.
  c.toClosed(cause, now);
}

/** Linux tcp_reset_check (config.seqCheck 'linux'): a RST at RCV.NXT − 1 after the peer's FIN (CLOSE-WAIT, CLOSING, LAST-ACK). */
function linuxResetCheck(c: TcpConnection, seg: TcpSegment): boolean {
  const s = c.state;
  return c.cfg.seqCheck === 'linux' && seg.seq === seqAdd(c.rcvNxt, -1) && (s === 'CLOSE-WAIT' || s === 'CLOSING' || s === 'LAST-ACK');
}

/**
 * Linux tcp_validate_incoming (config.seqCheck 'linux'), beyond RFC 5961 §3.2 (which resets only at RCV.NXT): a RST
 * at the right edge of the highest SACK block we hold resets too. A peer that aborts sends its RST at its SND.NXT,
 * which is there when data before it was lost, so the abort takes effect without a challenge round trip.
 */
function linuxSackEdgeRst(c: TcpConnection, seg: TcpSegment): boolean {
  if (c.cfg.seqCheck !== 'linux' || !c.sackOk || !c.rcv.hasOutOfOrder) return false;
  const n = c.rcv.sackRanges(4, SACK_EDGES, 0);
  let right = -1;
  for (let i = 1; i < n; i += 2) if (SACK_EDGES[i]! > right) right = SACK_EDGES[i]!;
  return right >= 0 && seg.seq === seqAdd(c.rcvNxt, right - c.rcv.nextAbs);
}
const SACK_EDGES = new Float64Array(8);

/**
 * Third: check security (§3.10.7.4 third). synack neither sets nor checks an IP security/compartment
 * option, so every segment passes; the step is kept so the code reads in the RFC's order.
 */
export function thirdCheckSecurity(_c: TcpConnection, _seg: TcpSegment): boolean {
  return true;
}

/** Fourth: check the SYN bit. A SYN in a synchronized state (RFC 5961 §4): challenge ACK, drop. */
export function fourthCheckSyn(c: TcpConnection, seg: TcpSegment, now: number): void {
  const s = c.state;
  if (s === 'SYN-RECEIVED' && !c.activeOpen && !(seg.flags & ACK)) {
    // Passive open: RFC 9293 returns the TCB to LISTEN; a different SYN here is a new attempt. Resend SYN+ACK.
    c.synPending = true;
    return;
  }
  if (c.cfg.synInWindow === 'reset' && c.isSynchronized()) {
    // RFC 793 p. 71 (FreeBSD insecure_syn=1, tcp_drop): an in-window SYN is an error: RST, close, "connection reset".
    c.drop('syn-in-synchronized-state', 'in-window SYN (RFC 793): RST', seg, now);
    c.queueCtrl(abortRst(c, now));
    c.fail('ECONNRESET', 'connection reset by in-window SYN', { kind: 'segment', seg }, now);
    return;
  }
  c.drop('syn-in-synchronized-state', 'SYN in synchronized state: challenge ACK', seg, now);
  if (s === 'TIME-WAIT') { c.ackNow = true; return; }
  challengeAck(c, now);
}

/**
 * Fifth: check the ACK field. SYN-RECEIVED completes the handshake; the other states process the ACK
 * (processAck: SND.UNA, window, loss detection); then FIN-WAIT-1, CLOSING and LAST-ACK move on when our FIN
 * is acknowledged. Returns false when processing stops here.
 */
export function fifthCheckAck(c: TcpConnection, seg: TcpSegment, windowUnscaled: boolean, now: number): boolean {
  const f = seg.flags;
  if (!(f & ACK)) { c.drop('no-ack', 'segment without ACK', seg, now); return false; }

  // RFC 7323 §4.3: update TS.Recent when the segment covers Last.ACK.sent.
  updateTsRecent(c, seg, now);

  if (c.state === 'SYN-RECEIVED') {
    if (seqLt(c.sndUna, seg.ack) && seqLe(seg.ack, c.sndNxt)) {
      c.synPending = false;
      // Window from the handshake-completing ACK is scaled, unless it is the peer's SYN+ACK of a
      // simultaneous open (RFC 7323 §2.2).
      c.sndWnd = windowUnscaled ? seg.window : seg.window << c.sndShift;
      c.maxSndWnd = Math.max(c.maxSndWnd, c.sndWnd);
      c.sndWl1 = seg.seq; c.sndWl2 = seg.ack;
      ackAdvance(c, seg.ack, now, seg);
      c.setState('ESTABLISHED', { kind: 'segment', seg }, now);
      c.emit({ type: 'established', time: now });
      deliverSynText(c, now);
      if (c.finQueued) c.setState('FIN-WAIT-1', { kind: 'user', call: 'shutdown' }, now);
    } else {
      c.drop('bad-ack', 'ACK outside SND.UNA..SND.NXT in SYN-RECEIVED', seg, now);
      c.queueCtrl(makeRaw(c, seg.ack, 0, RST, EMPTY));
      return false;
    }
  } else {
    // RFC 5961 §5.2: acceptable if SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT.
    if (seqGt(seg.ack, c.sndNxt)) {
      c.drop('bad-ack', `ACK ${seg.ack} for data not yet sent (SND.NXT ${c.sndNxt})`, seg, now);
      c.ackNow = true;
      return false;
    }
    if (c.cfg.oldAck === 'challenge' && seqLt(seg.ack, seqAdd(c.sndUna, -Math.max(c.maxSndWnd, 1)))) {
      c.drop('bad-ack', `ACK ${seg.ack} too old`, seg, now);
      challengeAck(c, now);
      return false;
    }
    processAck(c, seg, now);
    if (c.state === 'CLOSED') return false;
  }

  // FIN-WAIT-1 / CLOSING / LAST-ACK transitions driven by our FIN being acknowledged.
  const finAcked = c.finSent && seqGt(c.sndUna, c.finSeq);
  if (!finAcked && c.state !== 'TIME-WAIT') return true; // every ACK of a bulk transfer: no cause object to collect
  const cause: TcpCause = { kind: 'segment', seg };
  switch (c.state) {
    case 'FIN-WAIT-1':
      // A FIN+ACK that acknowledges our FIN and carries the peer's in-order FIN goes straight to TIME-WAIT
      // (§3.10.7.4 eighth: "If our FIN has been ACKed (perhaps in this segment), then enter TIME-WAIT").
      if (finAcked && !((f & FIN) && seg.seq === c.rcvNxt && !orphanedDataPending(c, seg))) {
        c.setState('FIN-WAIT-2', cause, now);
        if (c.orphaned) c.finWait2At = c.finWait2Deadline(now);
      }
      break;
    case 'CLOSING':
      if (finAcked) {
        // Linux tcp_rcv_state_process (TCP_CLOSING): the ACK of our FIN enters TIME-WAIT and the segment is
        // consumed, so a duplicate FIN carrying that ACK is not re-ACKed (BSD's trimming ACKs it).
        if (c.cfg.seqCheck === 'linux') c.ackNow = false;
        c.enterTimeWait(cause, now);
        return false;
      }
      break;
    case 'LAST-ACK':
      if (finAcked) { c.toClosed(cause, now); return false; }
      break;
    case 'TIME-WAIT':
      // Only a retransmitted FIN can legitimately arrive (handled in the eighth step). BSD's tcp_twcheck also
      // ACKs anything that is not a bare duplicate ACK (config.timeWaitAckData).
      if (c.cfg.timeWaitAckData && (seg.seq !== c.rcvNxt || seg.ack !== c.sndNxt || f !== ACK)) c.ackNow = true;
      break;
  }
  return true;
}

/** ACK processing for ESTABLISHED-like states (§3.10.7.4 fifth), with loss detection and congestion control. */
export function processAck(c: TcpConnection, seg: TcpSegment, now: number): void {
  const ack = seg.ack;
  const opts = seg.options;
  // SACK scoreboard update first (RFC 6675 §5: the update precedes loss detection).
  const una = c.sndUna, sacked = c.sackedBytes;
  if (c.sackOk && isDsack(ack, opts.sack)) {
    rackOnDsack(c);
    undoOnDsack(c, opts.sack![0]!, opts.sack![1]!, una); // recovery/undo.ts: all resent data was D-SACKed?
  }
  let sackAdvanced = false;
  if (c.sackOk && opts.sack !== undefined) sackAdvanced = updateScoreboard(c, opts.sack, ack);
  if (sackAdvanced) logSacked(c, now, opts.sack!, ack);

  const oldWnd = c.sndWnd;
  if (seqGt(ack, c.sndUna)) {
    ackAdvance(c, ack, now, seg);
  } else if (ack === c.sndUna) {
    // Duplicate ACK per RFC 5681 §2: no data, no window change, outstanding data, ack == SND.UNA.
    const isDup = seg.payload.length === 0 && !(seg.flags & (SYN | FIN)) && (seg.window << c.sndShift) === oldWnd && seqGt(c.sndNxt, c.sndUna);
    if (isDup || (sackAdvanced && seqGt(c.sndNxt, c.sndUna))) {
      if (rackActive(c)) c.dupAcks++; // RACK decides on loss (below), not the count
      else onDupAck(c);
    }
    if (sackAdvanced) sampleRtt(c, ack, seg, now, false);
  }
  // RACK-TLP and PRR (recovery/): DeliveredData = ΔSND.UNA + ΔSACKed (RFC 6937 §3).
  rackAfterAck(c, seqDiff(c.sndUna, una) + c.sackedBytes - sacked, now);
  // Window update (§3.10.7.4: if SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)).
  if (seqLt(c.sndWl1, seg.seq) || (c.sndWl1 === seg.seq && seqLe(c.sndWl2, ack))) {
    const wnd = seg.window << c.sndShift;
    c.sndWnd = wnd;
    if (wnd > c.maxSndWnd) c.maxSndWnd = wnd;
    c.sndWl1 = seg.seq;
    c.sndWl2 = ack;
    // Checked before written: the two live in the cold part of the TCB, and their setters cost a call per ACK.
    if (wnd > 0 && (c.persistAt !== Infinity || c.persistBackoff !== 0)) { c.persistAt = Infinity; c.persistBackoff = 0; }
  }
  maybeStartPersist(c, now);
  if (c.keepAlive) { c.keepaliveAt = now + c.keepAliveIdle; c.keepaliveProbes = 0; }
}

/** Sixth: check the URG bit (§3.10.7.4 sixth) — we track RCV.UP only. */
export function sixthCheckUrg(c: TcpConnection, seg: TcpSegment): void {
  if ((seg.flags & URG) && seqGt(seqAdd(seg.seq, seg.urgent), c.rcvUp)) c.rcvUp = seqAdd(seg.seq, seg.urgent);
}

/**
 * Seventh: process the segment text (§3.10.7.4 seventh). `seq` is the sequence number of payload[0].
 * Returns false when the connection was closed here (data for an orphaned connection): stop processing.
 */
export function seventhProcessText(c: TcpConnection, seg: TcpSegment, seq: number, payload: Uint8Array, now: number): boolean {
  const s = c.state;
  const canReceive = s === 'ESTABLISHED' || s === 'FIN-WAIT-1' || s === 'FIN-WAIT-2' || s === 'SYN-RECEIVED';
  let dataLen = payload.length;
  if (dataLen > 0) {
    if (!canReceive || c.peerFinReceived) {
      // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: "This should not occur since a FIN has been received" — ignore.
      dataLen = 0;
      // TIME-WAIT: BSD's tcp_twcheck and Linux's tcp_timewait_state_process still ACK text (config.timeWaitAckData).
      if (s === 'TIME-WAIT' && c.cfg.timeWaitAckData) c.ackNow = true;
    } else if (c.orphaned) {
      // The application is gone: RST the peer (RFC 1122 §4.2.2.13; Linux TCPAbortOnData).
      c.stats.TCPAbortOnData++;
      c.drop('data-after-close', 'data after close(): RST', seg, now);
      // Linux (tcp_v4_send_reset) and FreeBSD (tcp_dropwithreset) answer the segment itself: <SEQ=SEG.ACK><CTL=RST>.
      c.queueCtrl(c.cfg.abortRstAck ? rstFor(seg) : abortRst(c, now));
      c.toClosed({ kind: 'segment', seg }, now);
      return false;
    } else {
      // Trim to the window (RFC 9293 §3.10.7.4: "segments with higher beginning sequence numbers may be held").
      const winRight = seqAdd(c.rcvNxt, acceptWindow(c));
      let data = payload;
      let dseq = seq;
      if (seqLt(dseq, c.rcvNxt)) {
        const skip = seqDiff(c.rcvNxt, dseq);
        data = skip >= data.length ? EMPTY : data.subarray(skip);
        dseq = c.rcvNxt;
      }
      const room = seqDiff(winRight, dseq);
      if (data.length > room) data = room > 0 ? data.subarray(0, room) : EMPTY;
      if (data.length > 0) {
        const at = c.rcv.nextAbs + seqDiff(dseq, c.rcvNxt);
        const inOrder = dseq === c.rcvNxt;
        const hadOoo = c.rcv.hasOutOfOrder;
        reportOutOfOrderDuplicate(c, dseq, at, data.length);
        const advanced = c.rcv.insert(at, data);
        if (advanced > 0) c.rcvNxt = seqAdd(c.rcvNxt, advanced);
        rcvAutotuneArrived(c, seg, data.length, advanced, now);
        const opening = windowOpening(c, data.length); // Linux tcp_grow_window: quick-ACK while the window opens
        if (c.rcvFinSeq !== -1 && c.rcvFinSeq === c.rcvNxt && !(seg.flags & FIN)) {
          // The FIN we held beyond a hole is now in order.
          acceptFin(c, { kind: 'segment', seg }, now);
        }
        if (!inOrder || hadOoo) {
          // Out-of-order data or a filled hole: ACK at once (RFC 5681 §4.2) so the sender gets dup ACKs / SACKs,
          // unless SACK compression holds a fourth duplicate at the same RCV.NXT (sack-compression.ts).
          if (!holdOutOfOrderAck(c, now)) c.ackNow = true;
        } else {
          // Delayed ACK (RFC 9293 §3.8.6.3): ACK at least every second segment, otherwise within the timeout.
          // With receive offload, a segment above our MSS is a coalesced super-segment (GRO/LRO): it is at
          // least two full-sized segments, so it is ACKed at once (as Linux __tcp_ack_snd_check does).
          c.unackedSegs += c.cfg.receiveOffload && data.length > c.cfg.mss ? 2 : 1;
          // Linux quick-ACK mode (tcp_event_data_recv, tcp_in_quickack_mode): the first data segments of a
          // connection are ACKed at once (quickAckSegments of them), and again after the peer was silent for
          // longer than the RTO; not while the exchange is interactive (pingpong: we answered within the
          // delayed-ACK time, so the ACK rides on our reply).
          if (c.lastDataRecvAt < 0) startQuickAck(c);
          else if (now - c.lastDataRecvAt > c.rtt.current()) enterQuickAck(c);
          c.lastDataRecvAt = now;
          // And every segment that lets the window grow (quick-ack.ts windowOpening; it uses no quick-ACK count).
          const quick = opening ? !c.pingpong : inQuickAck(c);
          if (quick && !opening) c.quickAcksSent++;
          if (!c.cfg.delayedAck || c.unackedSegs >= 2 || quick) c.ackNow = true;
          else if (c.delackAt === Infinity) c.delackAt = now + c.cfg.delayedAckTimeout;
        }
      } else if (payload.length > 0) {
        c.ackNow = true; // entirely duplicate or beyond the window: re-ACK
        enterQuickAck(c); // as Linux (tcp_data_queue: a retransmission we had, or out of window)
      }
    }
  }
  return true;
}

/**
 * Text (and FIN) that arrived on a SYN in SYN-SENT, held until the handshake completes (RFC 9293 §3.10.7.3
 * fourth: "queue them for processing after the ESTABLISHED state has been reached"); processed now, as the
 * seventh and eighth steps would have.
 */
export function deliverSynText(c: TcpConnection, now: number): void {
  const q = c.synText;
  if (q === null) return;
  c.synText = null;
  processTextAndFin(c, q, q.seq, q.payload, now);
  if (c.cfg.synSentData === 'queue') c.ackNow = true;
  else { c.ackNow = false; c.delackAt = Infinity; } // FreeBSD: no ACK asked for; it rides on the next segment
}

/** Eighth: check the FIN bit (§3.10.7.4 eighth). `seq` and `payload` as for the seventh step. */
export function eighthCheckFin(c: TcpConnection, seg: TcpSegment, seq: number, payload: Uint8Array, now: number): void {
  if (!(seg.flags & FIN)) return;
  const finAt = seqAdd(seq, payload.length);
  if (c.peerFinReceived) {
    // Retransmitted FIN: re-ACK (TIME-WAIT also restarts 2MSL).
    if (c.state === 'TIME-WAIT') c.timeWaitAt = now + 2 * c.cfg.msl;
    c.ackNow = true;
    return;
  }
  if (finAt !== c.rcvNxt) {
    // FIN beyond a hole: remember it, process when the data before it has arrived.
    if (seqGt(finAt, c.rcvNxt)) c.rcvFinSeq = finAt;
    c.ackNow = true;
    return;
  }
  acceptFin(c, { kind: 'segment', seg }, now);
}

/** The peer's FIN is in order: RCV.NXT covers it, and the state moves on (§3.10.7.4 eighth). */
export function acceptFin(c: TcpConnection, cause: TcpCause, now: number): void {
  c.peerFinReceived = true;
  c.rcvFinSeq = -1;
  c.rcvNxt = seqAdd(c.rcvNxt, 1);
  c.rcv.dsackRight = -1; // Linux tcp_fin → tcp_sack_reset: a pending D-SACK is dropped with the FIN
  c.emit({ type: 'eof', time: now });
  switch (c.state) {
    case 'SYN-RECEIVED':
    case 'ESTABLISHED':
      // Like Linux (pingpong mode on FIN), the ACK of a FIN in ESTABLISHED is delayed: an application that
      // closes at once then sends FIN+ACK together, the merged "three-way" close.
      if (c.cfg.delayedAck && !ackFinNow(c)) { if (c.delackAt === Infinity) c.delackAt = now + c.cfg.delayedAckTimeout; }
      else c.ackNow = true;
      c.setState('CLOSE-WAIT', cause, now);
      break;
    case 'FIN-WAIT-1':
      c.ackNow = true;
      if (c.finSent && seqGt(c.sndUna, c.finSeq)) c.enterTimeWait(cause, now);
      else c.setState('CLOSING', cause, now);
      break;
    case 'FIN-WAIT-2':
      c.ackNow = true;
      c.finWait2At = Infinity;
      c.enterTimeWait(cause, now);
      break;
    case 'TIME-WAIT':
      c.ackNow = true;
      c.timeWaitAt = now + 2 * c.cfg.msl;
      break;
    default:
      c.ackNow = true;
      break;
  }
}

/** RFC 5961 §7: rate-limited challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. */
export function challengeAck(c: TcpConnection, now: number): void {
  // Linux's per-socket limit (__tcp_oow_rate_limited): one per challengeAckIntervalMs.
  if (now - c.lastChallengeAt < c.cfg.challengeAckIntervalMs) { c.stats.TCPChallengeACKLimited++; return; }
  if (now - c.challengeWindowStart >= 1000) { c.challengeWindowStart = now; c.challengeCount = 0; }
  if (c.challengeCount >= c.cfg.challengeAckLimit) { c.stats.TCPChallengeACKLimited++; return; }
  c.lastChallengeAt = now;
  c.challengeCount++;
  c.stats.TCPChallengeACK++;
  c.ackNow = true;
  c.challengePending = true;
}

/** Whether a FIN arriving in ESTABLISHED is ACKed at once (config.ackFinImmediately) or on the delayed-ACK timer. */
export function ackFinNow(c: TcpConnection): boolean {
  const m = c.cfg.ackFinImmediately;
  // 'if-no-data': Linux's quick-ACK mode still holds when no data segment has been received yet.
  return m === true || (m === 'if-no-data' && c.quickAcksSent === 0 && c.unackedSegs === 0);
}

/** Would this segment's data trigger the orphan RST (so its FIN is never processed)? */
export function orphanedDataPending(c: TcpConnection, seg: TcpSegment): boolean { return c.orphaned && seg.payload.length > 0; }
