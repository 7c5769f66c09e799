/**
 * Timers (RFC 9293 §3.8, RFC 6298): every timer is an absolute deadline field on the connection (Infinity when
 * not armed); TcpConnection.nextDeadline() is the earliest, and the caller calls onTimeout(now) once it has
 * passed. Here too: the retransmission timeout (RTO, RFC 6298 §5), its value, and RTT sampling. The tail loss
 * probe's timer is in recovery/loss-probe.ts; the persist timer is started by the sender (send.ts maybeStartPersist).
 */
import { seqDiff, seqGt, seqLt, type TcpSegment } from '../wire/tcp-types.js';
import type { TcpConnection } from './connection.js';
import { timeoutError } from './icmp.js';
import { sndMssCap, tsNow } from './options.js';
import { rackAfterAck } from './recovery/fast-recovery.js';
import { onProbeTimeout } from './recovery/loss-probe.js';
import { clearAckSample, rackOnRto } from './recovery/rack.js';
import { initUndo } from './recovery/undo.js';
import { compressedAckDue } from './sack-compression.js';
import { abortRst } from './send.js';

/**
 * Run every timer that is due at `now`, in this order: TIME-WAIT (2·MSL), orphaned FIN-WAIT-2, connection
 * establishment (keepinit), the tail loss probe or the retransmission timer, delayed ACK, persist (zero-window
 * probe), keep-alive.
 */
export function onTimeout(c: TcpConnection, now: number): void {
  if (c.timeWaitAt <= now) {
    c.timeWaitAt = Infinity;
    if (c.state === 'TIME-WAIT') { c.toClosed({ kind: 'timer', timer: 'time-wait' }, now); return; }
  }
  if (c.finWait2At <= now) {
    c.finWait2At = Infinity;
    if (c.state === 'FIN-WAIT-2' && c.orphaned) {
      // Like Linux's tcp_fin_timeout: the peer never sent its FIN; reap silently.
      c.toClosed({ kind: 'timer', timer: 'fin-wait-2' }, now);
      return;
    }
  }
  if (c.keepInitAt <= now) {
    c.keepInitAt = Infinity;
    if (c.state === 'SYN-SENT' || c.state === 'SYN-RECEIVED') {
      c.stats.TCPAbortOnTimeout++;
      c.fail(timeoutError(c), 'connection establishment timed out (keepinit)', { kind: 'timer', timer: 'rto' }, now);
      return;
    }
  }
  if (c.rackTimerAt <= now) {
    // RFC 8985 §6.2 step 5: the reordering window of a segment has passed without its delivery: lost.
    c.rack.timerAt = Infinity;
    c.rack.advanced = true; // the timer judges the waiting segments anew (Linux tcp_rack_reo_timeout)
    rackAfterAck(c, 0, now);
  }
  if (c.tlpAt <= now && c.tlpAt <= c.rtoAt) {
    onProbeTimeout(c, now);
  } else if (c.rtoAt <= now) {
    onRto(c, now);
  }
  if (c.state === 'CLOSED') return;
  // Pacing: the paced data is due; the host's pollTransmit() sends it (send.ts nextNewData).
  if (c.paceAt <= now) c.paceAt = Infinity;
  // A delayed ACK that had to fire ends pingpong mode (Linux tcp_delack_timer_handler).
  if (c.delackAt <= now) { c.delackAt = Infinity; c.ackNow = true; c.pingpong = false; }
  // The held duplicate ACK leaves with the latest SACK blocks (Linux tcp_compressed_ack_kick).
  if (c.sackCompressAt <= now) compressedAckDue(c, now);
  if (c.persistAt <= now) {
    c.persistAt = Infinity;
    if (c.sndWnd === 0 && c.snd.length > seqDiff(c.sndNxt, c.sndBufSeq) && c.isSynchronized()) {
      c.probePending = true;
      c.persistBackoff++;
      c.persistAt = now + Math.min(c.cfg.rtoMax, c.rtt.current() * 2 ** c.persistBackoff);
    }
  }
  if (c.keepaliveAt <= now) {
    c.keepaliveAt = Infinity;
    if (c.keepAlive && (c.state === 'ESTABLISHED' || c.state === 'CLOSE-WAIT')) {
      if (c.keepaliveProbes >= c.cfg.keepAliveProbes) {
        // Like Linux (tcp_keepalive_timer) and like our retransmission limit: tell a peer that may still be
        // there, behind a path that only just came back, that this connection is gone.
        c.stats.TCPAbortOnTimeout++;
        c.queueCtrl(abortRst(c, now));
        c.fail(timeoutError(c), 'keep-alive: peer not responding', { kind: 'timer', timer: 'keepalive' }, now);
        return;
      }
      c.keepaliveProbes++;
      c.keepalivePending = true;
      c.keepaliveAt = now + c.cfg.keepAliveInterval;
    }
  }
}

/** RFC 6298 §5.4–5.7 (retransmit the earliest unacknowledged segment, back off) and RFC 5681 §3.1 on loss. */
export function onRto(c: TcpConnection, now: number): void {
  c.rtoAt = Infinity;
  c.tlpAt = Infinity;
  c.tlpPending = false;
  if (c.userTimeout > 0 && c.unackedSince >= 0 && now - c.unackedSince >= c.userTimeout && c.isSynchronized()) {
    // RFC 9293 §3.10.8 USER TIMEOUT: flush everything, tell the user, delete the TCB (Linux sends no RST).
    c.stats.TCPAbortOnTimeout++;
    c.fail(timeoutError(c), `nothing acknowledged for ${c.userTimeout} ms (user timeout)`, { kind: 'timer', timer: 'rto' }, now);
    return;
  }
  const s = c.state;
  c.stats.TCPTimeouts++;
  c.retries++;
  if (s === 'SYN-SENT' || s === 'SYN-RECEIVED') {
    const limit = s === 'SYN-SENT' ? c.cfg.synRetries : c.cfg.synAckRetries;
    if (c.retries > limit) {
      c.stats.TCPAbortOnTimeout++;
      if (s === 'SYN-RECEIVED' && !c.activeOpen) {
        c.toClosed({ kind: 'timer', timer: 'rto' }, now);
      } else {
        c.fail(timeoutError(c), s === 'SYN-SENT' ? 'no answer to SYN' : 'handshake timed out', { kind: 'timer', timer: 'rto' }, now);
      }
      return;
    }
    c.synTimedOut = true;
    c.synRetransmits++;
    // Linux ≥ 6.5 tcp_syn_linear_timeouts: the first few SYN retransmissions do not back off.
    if (s !== 'SYN-SENT' || c.retries > c.cfg.synLinearTimeouts) c.rtt.backOff();
    c.synPending = true;
    c.stats.RetransSegs++;
    c.rtoAt = now + rtoTimeout(c);
    return;
  }
  if (c.sndUna === c.sndNxt) return; // nothing outstanding
  if (c.retries > c.cfg.maxRetransmits) {
    c.stats.TCPAbortOnTimeout++;
    c.queueCtrl(abortRst(c, now));
    c.fail(timeoutError(c), 'retransmission limit reached', { kind: 'timer', timer: 'rto' }, now);
    return;
  }
  // What to restore if the timeout proves spurious (recovery/undo.ts): kept from a recovery still under way and
  // across repeated timeouts (Linux tcp_enter_loss).
  if ((!c.inRecovery && !c.rtoRecovery) || !seqGt(c.recover, c.sndUna) || (c.rtoRecovery && c.retries === 1)) initUndo(c);
  // RFC 5681 §3.1 eq. 4: ssthresh from FlightSize (not pipe: everything is about to be deemed lost).
  if (c.retries === 1) c.cc.onRto(seqDiff(c.sndNxt, c.sndUna), sndMssCap(c));
  else c.cc.onRto(2 * sndMssCap(c) * 2, sndMssCap(c)); // repeated RTO: keep ssthresh low
  c.inRecovery = false;
  c.rtoRecovery = true;
  c.forceRtx = true;
  c.dupAcks = 0;
  c.recover = c.sndNxt;
  c.rtt.backOff();
  c.rttSeq = -1; // Karn: no sample from retransmitted data
  // What the peer SACKed is not resent (Linux tcp_enter_loss, RFC 8985 §6.3: only un-SACKed data is lost); the
  // run below skips it. A receiver may renege on SACKed data (RFC 2018 §8): after a second timeout in a row
  // the scoreboard is forgotten and everything from SND.UNA is resent (RFC 6675 §5.1).
  const renege = c.retries > 1;
  if (renege) {
    if (c.scoreboardCreated) c.scoreboard.length = 0;
    c.sackedBytes = 0; c.highSack = c.sndUna;
  }
  rackOnRto(c, renege);
  c.sndRtx = c.sndUna;
  c.sndRtxEnd = c.sndNxt;
  c.rtoAt = now + rtoTimeout(c);
}

export function armRto(c: TcpConnection, now: number): void {
  c.rtoAt = now + rtoTimeout(c);
}

/** The RTO to arm: RFC 6298 plus the configured slop once backed off or measured (FreeBSD rexmit_slop). */
export function rtoTimeout(c: TcpConnection): number {
  const t = c.rtt.current();
  if (c.cfg.rtoSlop === 0 || (c.rtt.backoff === 0 && !c.rtt.hasSample)) return t;
  return Math.min(c.cfg.rtoMax, t + c.cfg.rtoSlop);
}

/**
 * One RTT sample per ACK, as Linux takes it (tcp_clean_rtx_queue, tcp_ack_update_rtt), in this order:
 * 1. the send time of the oldest segment this ACK newly acknowledges, if none of them was retransmitted
 *    (Karn's algorithm, RFC 6298 §3: the ACK cannot be for an earlier copy); our SYN when it is acknowledged;
 * 2. the send time of the newest segment it newly SACKs that was never retransmitted (not after an RTO, when
 *    the scoreboard is being learnt again and blocks for data received long ago reappear);
 * 3. only when SND.UNA advanced over retransmitted data: the timestamp echo (RFC 7323 §4.1), and only if it
 *    is no older than the latest transmission of that data. An echo older than that answers an earlier copy,
 *    or is a TS.Recent the receiver kept while it discarded duplicates: under heavy two-way loss such echoes
 *    are seconds old and would inflate SRTT and the RTO (the defect of issue 15).
 * `advanced`: SND.UNA moved with this ACK. `inlineXmit`: it acknowledged the segment kept without a RACK record
 * (rack.ts logSent), sent then; -1 otherwise.
 */
export function sampleRtt(c: TcpConnection, ack: number, seg: TcpSegment, now: number, advanced: boolean, inlineXmit = -1): void {
  // No RACK record yet (nothing was sent but the SYN): no candidates, and none is created for nothing. Read
  // straight off the record and cleared for the next ACK (no object per ACK).
  let first = -1, retrans = false, latestTsval = -1, sack = -1;
  if (c.rackCreated) {
    const r = c.rack;
    first = r.ackFirstXmit; retrans = r.ackRetransAcked; latestTsval = r.ackLatestTsval; sack = r.sackLatestXmit;
    clearAckSample(r);
  } else if (inlineXmit >= 0) {
    first = inlineXmit; latestTsval = c.tsOk ? tsNow(c, inlineXmit) : 0; // as logAcked notes it
  }
  let rtt = -1;
  if (advanced && c.rttSeq !== -1 && seqGt(ack, c.rttSeq)) {
    rtt = now - c.rttTime; // our SYN, timed unless retransmitted (makeSyn)
    c.rttSeq = -1;
  } else if (first >= 0 && !retrans) {
    rtt = now - first;
  } else if (sack >= 0 && !c.rtoRecovery) {
    rtt = now - sack;
  } else if (advanced && c.tsOk && seg.options.tsEcr !== undefined && seg.options.tsEcr !== 0
    && (latestTsval < 0 || !seqLt(seg.options.tsEcr, latestTsval))) {
    const ticks = (tsNow(c, now) - seg.options.tsEcr) >>> 0;
    if (ticks < 0x7fffffff) rtt = ticks / c.cfg.tsTicksPerMs;
  }
  if (rtt >= 0) {
    c.rtt.sample(rtt);
    // RACK's min_RTT (recovery/rack.ts rackRttSample) and the controller's sample, kept for them by the
    // connection until they exist (an idle connection has neither).
    c.rttSampleToCcAndRack(rtt, now, ack, c.sndNxt);
  }
}
