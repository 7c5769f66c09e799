/**
 * Sending (RFC 9293 §3.8.6, §3.10.2): what pollTransmit() returns next — control segments, the SYN, a
 * retransmission (recovery/fast-recovery.ts), new data within the usable window with sender SWS avoidance,
 * Nagle and TSO sizing, the tail loss probe (recovery/loss-probe.ts), zero-window and keep-alive probes, ACKs —
 * and what happens when SND.UNA advances (ackAdvance). Segment construction (makeSyn, makeRaw) and the
 * bookkeeping for every segment that goes out (out) are at the end.
 */
import { fastOpenSyn } from './fast-open.js';
import {
  ACK, EMPTY, FIN, PSH, RST, SYN,
  seqAdd, seqDiff, seqGt, seqLe, seqLt,
  type TcpOptions, type TcpSegment,
} from '../wire/tcp-types.js';
import type { TcpConnection } from './connection.js';
import { ecnOnOutput } from './ecn.js';
import { MAX_WINDOW_FIELD, segmentDataMax, tsNow } from './options.js';
import { currentWindowFree, windowField } from './receive-window.js';
import { nextRetransmission, onNewAck, pipe } from './recovery/fast-recovery.js';
import { takeDsack } from './recovery/dsack.js';
import { lossProbe, schedulePto } from './recovery/loss-probe.js';
import { inlineAcked, logAcked, logSent } from './recovery/rack.js';
import { pruneScoreboard } from './recovery/scoreboard.js';
import { NO_OPTIONS } from './segment.js';
import { rtoTimeout, sampleRtt } from './timers.js';

/** The next segment to transmit, or null. Call repeatedly until null after every input/user call/timeout. */
/** The next segment to transmit, or null (TcpConnection.pollTransmit). */
export function pollTransmit(c: TcpConnection, now: number): TcpSegment | null {
  c.txSegmentSize = 0;
  c.txEct = false;
  if (c.ctrl.length) {
    const seg = c.ctrl.shift()!;
    c.stats.OutSegs++;
    if (seg.flags & RST) c.stats.OutRsts++;
    return seg;
  }
  const s = c.state;
  if (s === 'CLOSED' || s === 'LISTEN') return null;
  if (c.synPending) {
    c.synPending = false;
    if (s === 'SYN-SENT') return out(c, makeSyn(c, now, false), now);
    if (s === 'SYN-RECEIVED') return out(c, makeSyn(c, now, true), now);
  }
  if (s === 'SYN-SENT') return null;
  if (s === 'SYN-RECEIVED') return c.ackNow ? out(c, makeAck(c, now), now) : null;

  // Retransmission (RTO or fast recovery), limited by cwnd via pipe.
  if (c.sndRtx !== -1 || c.rackLostBytes > 0) {
    const seg = nextRetransmission(c, now);
    if (seg !== null) return seg;
  }
  // New data (and FIN).
  const data = nextNewData(c, now);
  if (data !== null) { c.tlpPending = false; return data; }
  if (c.tlpPending) {
    c.tlpPending = false;
    const probe = lossProbe(c, now);
    if (probe !== null) return probe;
  }
  if (c.probePending) {
    c.probePending = false;
    // Zero-window probe as Linux sends it: an old sequence number and no data elicits an ACK with the window.
    return out(c, makeRaw(c, seqAdd(c.sndUna, -1), c.rcvNxt, ACK, EMPTY, now), now);
  }
  if (c.keepalivePending) {
    c.keepalivePending = false;
    // Keep-alive probe: SEG.SEQ = SND.NXT - 1, no data (RFC 1122 §4.2.3.6).
    return out(c, makeRaw(c, seqAdd(c.sndNxt, -1), c.rcvNxt, ACK, EMPTY, now), now);
  }
  if (c.ackNow) {
    if (c.cfg.finOnAck && !c.challengePending && c.finSent && seqLe(c.sndUna, c.finSeq)
      && (s === 'FIN-WAIT-1' || s === 'CLOSING' || s === 'LAST-ACK')) {
      // BSD tcp_output: while our FIN is unacknowledged every ACK it sends repeats the FIN (snd_nxt is
      // wound back to it); challenge ACKs (tcp_respond) do not. A valid retransmission per RFC 9293.
      return out(c, makeRaw(c, c.finSeq, c.rcvNxt, ACK | FIN, EMPTY, now), now);
    }
    return out(c, makeAck(c, now), now);
  }
  if (c.windowUpdatePending) {
    c.windowUpdatePending = false;
    if (c.delackAt === Infinity) c.delackAt = now + c.cfg.delayedAckTimeout;
  }
  return null;
}

/** The next segment of new data (and FIN) that the windows, SWS avoidance and Nagle let go now, or null. */
export function nextNewData(c: TcpConnection, now: number): TcpSegment | null {
  if (!c.sendsData()) return null;
  const sndNxt = c.sndNxt;
  const dataEnd = dataEndSeq(c);
  const unsent = c.finSent ? 0 : seqDiff(dataEnd, sndNxt);
  const wantFin = c.finQueued && !c.finSent;
  if (unsent <= 0 && !wantFin) return null;
  const mss = segmentDataMax(c);
  const sndUna = c.sndUna;
  const flight = seqDiff(sndNxt, sndUna);
  if (unsent > 0 && c.lastSendTime !== 0 && flight === 0 && now - c.lastSendTime > c.rtt.current()) {
    // RFC 5681 §4.1: idle for more than an RTO, so cwnd goes back to the restart window before this
    // transmission is sized (a TSO segment sized by the old cwnd would burst past it).
    c.cc.onIdleRestart(c.sndMss, c.cfg.initialWindowSegments * c.sndMss);
  }
  // Usable window (RFC 9293 §3.8.6.2.1 / RFC 5681): min(SND.WND right edge, cwnd) minus what is in flight.
  const byWnd = seqDiff(sndUna + c.sndWnd, sndNxt); // the right edge SND.UNA + SND.WND, modulo 2^32 as seqDiff takes it
  const byCwnd = c.cc.cwnd - pipe(c);
  const usable = Math.min(byWnd, byCwnd);
  let len = Math.min(unsent, mss, usable > 0 ? usable : 0);
  // Capped so the datagram keeps a 16-bit length (IPv4 total length: 20-byte header, up to 60 of TCP header).
  let tso = Math.min(c.cfg.tsoMaxBytes, 65535 - 20 - 60);
  const rate = pacingRate(c);
  // Linux tcp_tso_autosize: a paced TSO segment holds about 1 ms at the pacing rate, at least 2 MSS
  // (tcp_min_tso_segs), so a super-segment is not a 64 KB burst into a shallow queue.
  if (rate !== Infinity) tso = Math.min(tso, Math.max(2 * mss, Math.floor(rate * PACING_BURST_MS / mss) * mss));
  if (tso > mss && len === mss) {
    // TSO: one segment of up to tsoMaxBytes that the link cuts into MSS pieces, each as we would have sent
    // it. Only whole MSS multiples unless it ends the data, so no piece is a runt the rules below would
    // have held back (Linux tcp_mss_split_point).
    const big = Math.min(unsent, Math.floor(tso / mss) * mss, usable);
    len = big === unsent ? big : big - (big % mss);
  }
  if (unsent > 0) {
    if (len <= 0) {
      if (c.sndWnd === 0 || byWnd <= 0) maybeStartPersist(c, now);
      return null;
    }
    if (len < mss && len < unsent) {
      // Sender SWS avoidance (§3.8.6.2.1): don't send a small segment just because the window is small,
      // unless it is at least half the largest window the peer offered, or nothing is in flight.
      if (len < (c.maxSndWnd >>> 1) && flight > 0) return null;
    }
    if (len < mss && len === unsent && c.nagle && flight > 0 && !c.finQueued && seqGt(c.sndSml, c.sndUna)) {
      // Nagle (§3.7.4) as Linux applies it (tcp_nagle_check with tcp_minshall_check): hold a small segment
      // only while a previous *small* segment is unacknowledged. Full-sized data in flight does not hold
      // the tail of a response, so a reply that is not a multiple of the MSS never waits for a delayed ACK.
      return null;
    }
    if (rate !== Infinity && now < c.nextSendAt) {
      // Pacing: not before this segment's time; the host's timer (nextDeadline) brings us back.
      c.paceAt = c.nextSendAt;
      return null;
    }
  } else {
    len = 0;
  }
  let flags = ACK;
  const seq = sndNxt;
  const payload = len > 0 ? c.snd.slice(c.snd.front + seqDiff(seq, c.sndBufSeq), len) : EMPTY;
  const end = seqAdd(seq, len);
  if (len > 0 && end === dataEnd) flags |= PSH;
  if (wantFin && end === dataEnd) {
    // The FIN rides on the last data segment, or goes alone once all data is sent (Linux sends it even
    // into a zero window, and so do we: it needs no buffer space at the receiver).
    flags |= FIN;
    c.finSent = true;
    c.finSeq = end;
  }
  if (len === 0 && !(flags & FIN)) return null;
  if (len > mss) {
    c.txSegmentSize = mss;
    c.stats.OutSegs += Math.ceil(len / mss) - 1; // out() counts one; the link sends this many
  }
  c.sndNxt = seqAdd(end, flags & FIN ? 1 : 0);
  // Linux tcp_minshall_update: remember the end of the last segment holding a piece shorter than the MSS.
  if (len % mss !== 0) c.sndSml = end;
  logSent(c, seq, c.sndNxt, now);
  if (len > 0 && rate !== Infinity) {
    // Linux tcp_update_skb_after_send: the next segment's time is this one's plus its length at the pacing
    // rate. A late timer (a host's timers are coarse) leaves up to one burst of credit, no more after idle.
    c.nextSendAt = Math.max(c.nextSendAt, now - PACING_BURST_MS) + len / rate;
  }
  c.paceAt = Infinity;
  if (c.rtoAt === Infinity) c.rtoAt = now + rtoTimeout(c);
  if (flight === 0) c.unackedSince = now;
  // Linux tcp_event_data_sent: data sent soon after data arrived makes the exchange interactive (pingpong).
  if (len > 0 && c.lastDataRecvAt >= 0 && now - c.lastDataRecvAt < c.cfg.delayedAckTimeout) c.pingpong = true;
  const seg = out(c, makeRaw(c, seq, c.rcvNxt, flags, payload, now), now);
  schedulePto(c, now);
  return seg;
}

/** How much a paced TSO segment holds, and how much credit a late sender keeps: 1 ms (Linux sk_pacing_shift 10). */
const PACING_BURST_MS = 1;

/**
 * The pacing rate in bytes per ms, Infinity when not pacing (config.pacing off, or no SRTT yet: the initial
 * window goes unpaced, as in Linux). Linux tcp_update_pacing_rate: max(cwnd, in flight) / SRTT, × 200 % while
 * cwnd is below half of ssthresh (slow start doubles cwnd every RTT), else × 120 % (tcp_pacing_ss_ratio,
 * tcp_pacing_ca_ratio).
 */
export function pacingRate(c: TcpConnection): number {
  if (!c.cfg.pacing || !c.rtt.hasSample || c.rtt.srtt <= 0) return Infinity;
  const ratio = c.cc.cwnd < c.cc.ssthresh / 2 ? 2 : 1.2;
  return ratio * Math.max(c.cc.cwnd, seqDiff(c.sndNxt, c.sndUna)) / c.rtt.srtt;
}

/** Start the persist timer when the peer's window is zero and data waits (RFC 9293 §3.8.6.1). */
export function maybeStartPersist(c: TcpConnection, now: number): void {
  if (c.sndWnd === 0 && c.persistAt === Infinity && c.sndUna === c.sndNxt && c.snd.length > 0 && !c.finSent) {
    c.persistAt = now + c.rtt.current();
  }
}

/** Sequence number just past the last byte of data queued by the user. */
export function dataEndSeq(c: TcpConnection): number { return seqAdd(c.sndBufSeq, c.snd.length); }

// =====================================================================================
// SND.UNA advances
// =====================================================================================

/** SND.UNA advances to `ack`: free acknowledged data, sample RTT, grow cwnd / handle recovery, rearm RTO. */
export function ackAdvance(c: TcpConnection, ack: number, now: number, seg: TcpSegment): void {
  const acked = seqDiff(ack, c.sndUna);
  if (acked <= 0) return;
  // Account SYN and FIN, which occupy sequence space but not buffer bytes.
  let dataAcked = acked;
  if (c.sndUna === c.iss) dataAcked--; // our SYN
  if (c.finSent && seqGt(ack, c.finSeq)) dataAcked--; // our FIN
  if (dataAcked > 0) {
    const freeable = Math.min(dataAcked, c.snd.length);
    c.snd.consume(freeable);
  }
  c.sndUna = ack;
  c.softError = null; // the path works (Linux tcp_ack clears sk_err_soft)
  c.sndBufSeq = c.finSent && seqGt(ack, c.finSeq) ? c.finSeq : (seqGt(ack, c.sndBufSeq) ? ack : c.sndBufSeq);
  if (c.sndRtx !== -1 && seqLt(c.sndRtx, ack)) c.sndRtx = ack;
  // Without a record nothing was logged (the handshake's ACK) or one segment was kept inline (rack.ts logSent).
  let inlineXmit = -1;
  if (c.rackCreated) logAcked(c, ack, now, seg.options.tsEcr);
  else inlineXmit = inlineAcked(c);
  if (c.scoreboardCreated) pruneScoreboard(c); // none yet: nothing SACKed to prune

  // RTT sample: from send times, Karn-safe, else a timestamp that cannot be stale (timers.ts sampleRtt).
  sampleRtt(c, ack, seg, now, true, inlineXmit);
  c.retries = 0;

  // Loss recovery and congestion control (recovery/fast-recovery.ts, cc/).
  onNewAck(c, ack, acked, now, seg);

  // RFC 6298 §5.2/5.3: turn off the timer when all is acked, otherwise restart it.
  if (c.sndUna === c.sndNxt) c.rtoAt = Infinity;
  else c.rtoAt = now + rtoTimeout(c);
  c.tlpOutstanding = false;
  c.unackedSince = c.sndUna === c.sndNxt ? -1 : now;
  schedulePto(c, now);
}

// =====================================================================================
// Segment construction
// =====================================================================================

/** Our SYN, or SYN+ACK, with the options we offer (RFC 9293 §3.7.1, RFC 7323, RFC 2018). */
export function makeSyn(c: TcpConnection, now: number, withAck: boolean): TcpSegment {
  // TCP_MAXSEG (config.userMss) lowers the MSS we advertise.
  const mss = c.cfg.userMss > 0 ? Math.min(c.cfg.mss, c.cfg.userMss) : c.cfg.mss;
  // Time the SYN for the first RTT sample unless it is a retransmission (Karn).
  if (c.retries === 0) { c.rttSeq = c.iss; c.rttTime = now; } else c.rttSeq = -1;
  let o: TcpOptions;
  if (withAck ? c.sackOk && c.tsOk && c.peerOfferedWs && c.cfg.windowScaling : c.cfg.sack && c.cfg.timestamps && c.cfg.windowScaling) {
    // Every option (the usual case): built in one literal, the fields in the order the branches below add them,
    // instead of an object grown field by field (V8 keeps fields added after a literal in separately allocated,
    // regrown property storage).
    o = { mss, sackPermitted: true, tsVal: tsNow(c, now), tsEcr: withAck ? c.tsRecent : 0, wscale: c.rcvShift };
  } else if (withAck) {
    o = { mss };
    if (c.sackOk) o.sackPermitted = true;
    if (c.tsOk) { o.tsVal = tsNow(c, now); o.tsEcr = c.tsRecent; }
    if (c.peerOfferedWs && c.cfg.windowScaling) o.wscale = c.rcvShift;
  } else {
    o = { mss };
    if (c.cfg.sack) o.sackPermitted = true;
    if (c.cfg.timestamps) { o.tsVal = tsNow(c, now); o.tsEcr = 0; }
    if (c.cfg.windowScaling) o.wscale = c.rcvShift;
  }
  if (c.cfg.noOptions) { for (const k of Object.keys(o)) delete o[k as keyof TcpOptions]; }
  // TCP Fast Open (RFC 7413, fast-open.ts): the cookie option and, on a client's first SYN, data.
  const payload = c.tfoCookie !== null || c.tfoServerCookie !== null ? fastOpenSyn(c, o, withAck) : EMPTY;
  // The window in a SYN or SYN+ACK is never scaled (RFC 7323 §2.2).
  const wnd = Math.min(MAX_WINDOW_FIELD, currentWindowFree(c));
  c.rcvWnd = wnd;
  c.rcvAdvRight = seqAdd(c.rcvNxt, wnd);
  c.lastAckSent = c.rcvNxt;
  c.ackNow = false;
  return {
    srcPort: c.localPort, dstPort: c.remotePort, seq: c.iss, ack: withAck ? c.rcvNxt : 0,
    flags: withAck ? SYN | ACK : SYN, window: wnd, urgent: 0, options: o, payload,
  };
}

export function makeAck(c: TcpConnection, now: number): TcpSegment {
  return makeRaw(c, c.sndNxt, c.rcvNxt, ACK, EMPTY, now);
}

/** Build a segment with our current window and options. RSTs carry no options and (unless ACK) no ack. */
export function makeRaw(c: TcpConnection, seq: number, ack: number, flags: number, payload: Uint8Array, now = 0): TcpSegment {
  let options: TcpOptions;
  let window = 0;
  if (flags & RST) {
    options = NO_OPTIONS;
    ack = flags & ACK ? ack : 0;
  } else {
    // Built once, with every field it will have (no property added later, no intermediate arrays): an ACK is
    // built per received segment or batch, and its garbage is what the receiver's scavenges collect.
    const tsVal = c.tsOk ? tsNow(c, now) : 0;
    let sack: number[] | null = null;
    if (c.sackOk && (c.rcv.hasOutOfOrder || c.rcv.dsackRight !== -1)) {
      // Up to 3 blocks beside timestamps, else 4 (RFC 2018 §3); a D-SACK first (RFC 2883 §4, recovery/dsack.ts).
      const dsack = takeDsack(c);
      let n = 0;
      if (dsack) { SACK_SCRATCH[0] = dsack[0]; SACK_SCRATCH[1] = dsack[1]; n = 2; }
      if (c.rcv.hasOutOfOrder) {
        const k = c.rcv.sackRanges((c.tsOk ? 3 : 4) - (dsack ? 1 : 0), SACK_SCRATCH, n);
        const base = c.rcv.nextAbs;
        for (let i = n; i < n + k; i++) SACK_SCRATCH[i] = seqAdd(c.rcvNxt, SACK_SCRATCH[i]! - base);
        n += k;
      }
      sack = sackArray(n);
    }
    options = c.tsOk ? (sack !== null ? { tsVal, tsEcr: c.tsRecent, sack } : timestampOptions(tsVal, c.tsRecent)) : sack !== null ? { sack } : NO_OPTIONS;
    window = windowField(c);
  }
  return { srcPort: c.localPort, dstPort: c.remotePort, seq, ack, flags, window, urgent: 0, options, payload };
}

/**
 * The timestamp-only options last built (makeRaw), newest first: a segment's options are never written once it is
 * built (TcpSegment.options), so segments with the same TSval and TSecr share one object. A connection's segments
 * within one tick of its timestamp clock carry the same TSval, and the same TSecr until TS.Recent moves (RFC 7323
 * §4.3), so a bulk transfer builds about one per tick instead of one per data segment and ACK (~130 B of garbage per
 * data segment). Two are kept: in one process a connection's data and its peer's ACKs alternate.
 */
let tsOptsA: TcpOptions = Object.freeze({ tsVal: -1, tsEcr: -1 });
let tsOptsB: TcpOptions = Object.freeze({ tsVal: -1, tsEcr: -1 });

function timestampOptions(tsVal: number, tsEcr: number): TcpOptions {
  const a = tsOptsA;
  if (a.tsVal === tsVal && a.tsEcr === tsEcr) return a;
  const b = tsOptsB;
  tsOptsB = a;
  if (b.tsVal === tsVal && b.tsEcr === tsEcr) { tsOptsA = b; return b; }
  // Frozen: a harness that rewrites an outgoing segment's timestamps gets a TypeError, not other segments changed.
  return (tsOptsA = Object.freeze({ tsVal, tsEcr }));
}

/** SACK blocks being built (makeRaw): at most 4 blocks, 8 edges. */
const SACK_SCRATCH = new Float64Array(8);

/** The first `n` edges of SACK_SCRATCH as an array of exactly that size. */
function sackArray(n: number): number[] {
  const s = SACK_SCRATCH;
  switch (n) {
    case 2: return [s[0]!, s[1]!];
    case 4: return [s[0]!, s[1]!, s[2]!, s[3]!];
    case 6: return [s[0]!, s[1]!, s[2]!, s[3]!, s[4]!, s[5]!];
    case 8: return [s[0]!, s[1]!, s[2]!, s[3]!, s[4]!, s[5]!, s[6]!, s[7]!];
    default: return Array.from(s.subarray(0, n));
  }
}

/** Book-keeping for every segment that goes out carrying an ACK. */
export function out(c: TcpConnection, seg: TcpSegment, now: number): TcpSegment {
  c.stats.OutSegs++;
  if (c.cfg.ecn !== 'off') ecnOnOutput(c, seg);
  if (seg.flags & ACK) {
    // ACK, challenge ACK and delayed ACK answered; it carries the window as it is now: a window update queued by
    // read() has nothing left to say.
    c.noteAckSent(seg.ack);
    // Every held duplicate ACK is answered by this one (Linux tcp_event_ack_sent).
    if (c.sackCompressed > 0) { c.stats.TCPAckCompressed += c.sackCompressed; c.sackCompressed = 0; c.sackCompressAt = Infinity; }
  }
  if (seg.payload.length > 0 || seg.flags & (SYN | FIN)) c.lastSendTime = now;
  return seg;
}

/**
 * The RST that aborts a synchronized connection: <SEQ=SND.NXT><CTL=RST> (RFC 9293 §3.10.5), or with
 * config.abortRstAck also ACK=RCV.NXT, as Linux and FreeBSD send it (tcp_send_active_reset).
 */
export function abortRst(c: TcpConnection, now: number): TcpSegment {
  if (!c.cfg.abortRstAck) return makeRaw(c, c.sndNxt, 0, RST, EMPTY);
  const rst = makeRaw(c, c.sndNxt, c.rcvNxt, RST | ACK, EMPTY);
  // Linux's active reset goes through tcp_transmit_skb and so carries the timestamp option.
  if (c.tsOk) rst.options = { tsVal: tsNow(c, now), tsEcr: c.tsRecent };
  return rst;
}
