/**
 * The receive window: the free buffer space we could offer, the window field we advertise (receiver SWS
 * avoidance, never shrinking the right edge; RFC 9293 §3.8.6.2.2, RFC 7323 §2.4), the window that
 * arriving segments are tested against (§3.10.7.4 first check), and receive-buffer autotuning
 * (TcpConfig.recvBufferAutotune: Linux's dynamic right-sizing).
 */
import type { TcpSegment } from '../wire/tcp-types.js';
import { seqAdd, seqDiff, seqGt } from '../wire/tcp-types.js';
import type { TcpConnection } from './connection.js';
import { kept } from './layouts.js';
import { MAX_WINDOW_FIELD, tsNow } from './options.js';
import { segmentAcceptable } from './segment.js';

/**
 * The window an autotuned buffer offers at first: 64 KiB, what Linux offers from tcp_rmem[1] = 128 KiB at its
 * default overhead ratio (half; tcp_select_initial_window: 64 240 = 44 · 1460 in its SYN). A power of two, so
 * that every window-scale shift expresses it exactly (the right edge never moves left when the SYN's unscaled
 * 65 535 becomes a scaled field).
 */
export const RCV_INITIAL_WINDOW = 65536;

/**
 * Receive-buffer autotuning state (Linux tcp_sock's rcvq_space and rcv_rtt_est), made when a connection has
 * received its first full segment of data: a request/response connection with small messages never makes it.
 * Offsets are the receive buffer's absolute ones (ReceiveBuffer.nextAbs), times ms.
 */
export class RecvAutotune {
  /** The window we may offer now (Linux's window_clamp following sk_rcvbuf): grows, never shrinks. */
  clamp: number;
  /** Bytes the application took in the last measured period (rcvq_space.space). */
  space: number;
  /** Bytes read (absolute offset) and time when the current period began (rcvq_space.seq, .time). */
  spaceAt: number;
  spaceTime: number;
  /** The receiver's RTT estimate (rcv_rtt_est.rtt_us), ms; 0 before any sample. */
  rtt = 0;
  /** The window-based sample in progress: it ends when RCV.NXT (absolute) passes rttAt (rcv_rtt_est.seq, .time). */
  rttAt: number;
  rttTime: number;
  /** TSecr of the last segment sampled (rcv_rtt_last_tsecr); -1: none. */
  lastTsecr = -1;
  /** Time of the last segment received (Linux's cached tcp_mstamp, which tcp_rcv_space_adjust reads). */
  lastAt: number;
  /**
   * Linux's rcv_ssthresh as Linux itself would have it, for ACK timing only (arrive/quick-ack.ts windowOpening): it
   * follows a DRS step at two segments per segment (each ACKed at once), where synack's window (clamp) opens at once;
   * 0 until used.
   */
  ackSsthresh = 0;

  constructor(clamp: number, space: number, readAt: number, rttAt: number, now: number) {
    this.clamp = clamp; this.space = space; this.spaceAt = readAt; this.spaceTime = now;
    this.rttAt = rttAt; this.rttTime = now; this.lastAt = now;
  }
}

/**
 * The most the receive window may offer: recvBufferSize for a fixed buffer; autotuned, what the application
 * has shown it can take (RCV_INITIAL_WINDOW until then), at most recvBufferSize.
 */
export function recvWindowLimit(c: TcpConnection): number {
  const max = c.cfg.recvBufferSize;
  if (!c.cfg.recvBufferAutotune) return max;
  const t = c.rcvTune;
  return t !== null ? t.clamp : max < RCV_INITIAL_WINDOW ? max : RCV_INITIAL_WINDOW;
}

/** Free receive-buffer space, i.e. the window we could offer from RCV.NXT. */
export function currentWindowFree(c: TcpConnection): number {
  return Math.max(0, recvWindowLimit(c) - c.rcv.length);
}

/** The window to advertise now, as the 16-bit field value; never shrinks the right edge. */
export function windowField(c: TcpConnection): number {
  const limit = recvWindowLimit(c);
  let wnd = Math.max(0, limit - c.rcv.length);
  const advRemaining = seqDiff(c.rcvAdvRight, c.rcvNxt);
  // Receiver SWS avoidance: only move the right edge by a worthwhile amount (RFC 9293 §3.8.6.2.2).
  if (c.cfg.receiverSws === 'bsd') {
    // BSD (tcp_output): never advertise a window below min(buffer/4, MSS), otherwise offer all free space.
    if (wnd < Math.min(limit >>> 2, c.cfg.mss)) wnd = 0;
  } else if (wnd - advRemaining < Math.min(limit >>> 1, c.cfg.mss) && advRemaining >= 0) wnd = advRemaining;
  if (wnd < advRemaining) wnd = advRemaining; // never shrink (RFC 7323 §2.4)
  let field = wnd >>> c.rcvShift;
  if (field > MAX_WINDOW_FIELD) field = MAX_WINDOW_FIELD;
  // The shift truncates: the right edge could move left by up to 2^shift - 1. Round up instead when the
  // buffer has room for it (as Linux's tcp_select_window aligns up); otherwise keep the truncation, which
  // RFC 7323 §2.4 anticipates (a sender must cope with such a shrink) — never over-promise the buffer. An
  // autotuned window is below the buffer (recvBufferSize) itself: the room is the buffer's, not the window's.
  if (c.rcvShift > 0 && field < MAX_WINDOW_FIELD && (field << c.rcvShift) < advRemaining
    && ((field + 1) << c.rcvShift) <= c.cfg.recvBufferSize - c.rcv.length) field++;
  const adv = field << c.rcvShift;
  c.rcvWnd = adv;
  const right = seqAdd(c.rcvNxt, adv);
  if (seqGt(right, c.rcvAdvRight)) c.rcvAdvRight = right;
  return field;
}

/** The window used for the acceptability test: what we advertised (RFC 9293 §3.10.7.4). */
export function acceptWindow(c: TcpConnection): number {
  const adv = seqDiff(c.rcvAdvRight, c.rcvNxt);
  // FreeBSD (tcp_input.c): rcv_wnd = max(sbspace, rcv_adv - rcv_nxt), the free buffer even beyond what an
  // unscaled window field could advertise (config.rcvWndAccept 'buffer').
  // A passive open's SYN-RECEIVED is FreeBSD's syncache entry, whose window is the one its SYN,ACK offered.
  if (c.cfg.rcvWndAccept === 'buffer' && (c.state !== 'SYN-RECEIVED' || c.activeOpen)) return Math.max(adv, currentWindowFree(c), 0);
  return adv > 0 ? adv : 0;
}

export function acceptable(c: TcpConnection, seq: number, len: number, wnd: number): boolean {
  return segmentAcceptable(c.rcvNxt, wnd, seq, len);
}

// --- Receive-buffer autotuning (TcpConfig.recvBufferAutotune; Linux tcp_rcv_space_adjust, net/ipv4/tcp_input.c) ---

/**
 * Data arrived (the seventh step, after it was queued; `advanced` in-order bytes of it): measure the receiver's
 * RTT and, while data is held out of order, let the window cover it. Makes the state at the connection's first
 * full segment of data.
 */
export function rcvAutotuneArrived(c: TcpConnection, seg: TcpSegment, len: number, advanced: number, now: number): void {
  if (!c.cfg.recvBufferAutotune) return;
  let t = c.rcvTune;
  const rcv = c.rcv;
  if (t === null) {
    if (rcv.nextAbs < c.cfg.mss) return;
    // tcp_init_buffer_space: the first period expects at most an initial window's worth (10 segments).
    const limit = recvWindowLimit(c);
    t = c.rcvTune = kept.tune = new RecvAutotune(limit, Math.min(limit, 10 * c.cfg.mss), rcv.nextAbs - rcv.length,
      rcv.nextAbs + Math.max(0, seqDiff(c.rcvAdvRight, c.rcvNxt)), now);
    return;
  }
  // The reads since the last arrival, at that arrival's time (tcp_rcv_space_adjust runs in recvmsg with the
  // cached tcp_mstamp): taken here, before this segment counts, the growth does not depend on how the
  // application split its reads.
  rcvSpaceAdjust(c, t, advanced);
  t.lastAt = now;
  if (advanced > 0) {
    // tcp_rcv_rtt_measure: the time until RCV.NXT passes the right edge advertised when the sample began is at
    // least one RTT (the minimum of such samples is kept).
    if (rcv.nextAbs >= t.rttAt) {
      rcvRttSample(t, Math.max(now - t.rttTime, 0.001), true, false);
      t.rttAt = rcv.nextAbs + Math.max(0, seqDiff(c.rcvAdvRight, c.rcvNxt));
      t.rttTime = now;
    }
    // tcp_rcv_rtt_measure_ts: a full segment echoing a new TSval; ticks of 0 say nothing.
    const ecr = seg.options.tsEcr;
    if (c.tsOk && ecr !== undefined && ecr !== 0 && ecr !== t.lastTsecr) {
      t.lastTsecr = ecr;
      if (len >= Math.min(c.sndMss, c.cfg.mss - 12)) {
        const ticks = (tsNow(c, now) - ecr) >>> 0;
        if (ticks > 0 && ticks < 0x7fffffff) rcvRttSample(t, ticks / c.cfg.tsTicksPerMs, false, rcv.length - advanced === 0);
      }
    }
  } else if (rcv.hasOutOfOrder) {
    // tcp_data_queue_ofo → tcp_rcvbuf_grow(space): the window covers what is held beyond the hole as well, so a
    // sender in loss recovery is not held back by the receiver.
    rcvBufGrow(c, t, t.space);
  }
}

/** tcp_rcv_rtt_update: a smaller sample replaces the estimate; a timestamp sample is averaged in (1/8) only while nothing waits to be read. */
function rcvRttSample(t: RecvAutotune, sample: number, windowBased: boolean, queueEmpty: boolean): void {
  if (t.rtt === 0 || sample < t.rtt) t.rtt = sample;
  else if (!windowBased && queueEmpty) t.rtt += (sample - t.rtt) / 8;
}

/**
 * What the application read (RECEIVE, §3.10.3): once a receiver RTT has passed since the period began, the bytes
 * it took in that period (less what still waits, not counting the `arrived` bytes just queued) are what the
 * sender can deliver per RTT; if that grew, grow the window (tcp_rcv_space_adjust, at the time of the last
 * segment received before those reads, as Linux's cached tcp_mstamp).
 */
function rcvSpaceAdjust(c: TcpConnection, t: RecvAutotune, arrived: number): void {
  if (t.rtt === 0 || t.lastAt - t.spaceTime < t.rtt) return;
  const readAt = c.rcv.nextAbs - c.rcv.length;
  const copied = readAt - t.spaceAt - (c.rcv.length - arrived);
  if (copied > t.space) rcvBufGrow(c, t, copied);
  t.spaceAt = readAt;
  t.spaceTime = t.lastAt;
}

/**
 * tcp_rcvbuf_grow (Linux 6.18): two periods' worth (DRS is one RTT late), plus room for the sender to double its
 * rate in slow start (2 · that · growth / previous), plus what is held out of order; at most recvBufferSize
 * (tcp_rmem[2]); never smaller. Linux 6.19's net.ipv4.tcp_rcvbuf_low_rtt (growth scaled by rtt/1 ms below 1 ms)
 * is not followed: with it the kernel sender of the loss bench (6.18, sub-ms path) was receive-window limited for
 * 12.5 % of one transfer's early time, and the in-process benches gained nothing from it.
 */
function rcvBufGrow(c: TcpConnection, t: RecvAutotune, copied: number): void {
  const old = t.space;
  t.space = copied;
  let win = 2 * copied;
  if (old > 0 && copied > old) win += 2 * win * (copied - old) / old;
  const rcv = c.rcv;
  const n = rcv.oooStart.length;
  if (n > 0) win += rcv.oooStart[n - 1]! + rcv.oooData[n - 1]!.length - rcv.nextAbs;
  win = Math.min(Math.ceil(win), c.cfg.recvBufferSize);
  if (win > t.clamp) t.clamp = win;
}
