/**
 * The receive window: the free buffer space we could offer, the window field we advertise (receiver SWS
 * avoidance, never shrinking the right edge; RFC 9293 §3.8.6.2.2, RFC 7323 §2.4), and the window that
 * arriving segments are tested against (§3.10.7.4 first check).
 */
import { seqAdd, seqDiff, seqGt } from '../wire/tcp-types.js';
import type { TcpConnection } from './connection.js';
import { MAX_WINDOW_FIELD } from './options.js';
import { segmentAcceptable } from './segment.js';

/** Free receive-buffer space, i.e. the window we could offer from RCV.NXT. */
export function currentWindowFree(c: TcpConnection): number {
  return Math.max(0, c.cfg.recvBufferSize - c.rcv.length);
}

/** The window to advertise now, as the 16-bit field value; never shrinks the right edge. */
export function windowField(c: TcpConnection): number {
  let wnd = currentWindowFree(c);
  const advRemaining = seqDiff(c.rcvAdvRight, c.rcvNxt);
  // Receiver SWS avoidance: only move the right edge by a worthwhile amount (RFC 9293 §3.8.6.2.2).
  if (c.cfg.receiverSws === 'bsd') {
    // BSD (tcp_output): never advertise a window below min(buffer/4, MSS), otherwise offer all free space.
    if (wnd < Math.min(c.cfg.recvBufferSize >>> 2, c.cfg.mss)) wnd = 0;
  } else if (wnd - advRemaining < Math.min(c.cfg.recvBufferSize >>> 1, c.cfg.mss) && advRemaining >= 0) wnd = advRemaining;
  if (wnd < advRemaining) wnd = advRemaining; // never shrink (RFC 7323 §2.4)
  let field = wnd >>> c.rcvShift;
  if (field > MAX_WINDOW_FIELD) field = MAX_WINDOW_FIELD;
  // The shift truncates: the right edge could move left by up to 2^shift - 1. Round up instead when the
  // buffer has room for it (as Linux's tcp_select_window aligns up); otherwise keep the truncation, which
  // RFC 7323 §2.4 anticipates (a sender must cope with such a shrink) — never over-promise the buffer.
  if (c.rcvShift > 0 && field < MAX_WINDOW_FIELD && (field << c.rcvShift) < advRemaining
    && ((field + 1) << c.rcvShift) <= currentWindowFree(c)) field++;
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
