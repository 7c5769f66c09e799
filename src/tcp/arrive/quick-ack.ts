/**
 * When a receiver ACKs in-order data at once rather than on the delayed-ACK timer (RFC 9293 §3.8.6.3 leaves it
 * open; RFC 5681 §4.2: "an ACK SHOULD be generated for at least every second full-sized segment"): Linux's
 * quick-ACK mode (net/ipv4/tcp_input.c). config.quickAckSegments sets how many of a connection's first segments
 * are ACKed at once (Linux 16; synack 0 by default: a request's ACK rides on its response, one packet fewer per
 * request/response connection); config.quickAckBeyondStart turns on the rest, which matter when the sender waits
 * for an ACK (on by default). Besides after an idle period (arrive/synchronized.ts seventhProcessText), Linux ACKs at once:
 * - after data it already had, or data beyond the window (tcp_send_dupack, tcp_data_queue's out_of_window:
 *   tcp_enter_quickack_mode): the sender retransmitted needlessly or probes, so it is waiting for an ACK;
 * - every segment that lets its window grow (tcp_grow_window sets icsk_ack.quick): while the receive buffer's
 *   autotuned size runs ahead of rcv_ssthresh, which creeps up by two segments per segment received. A sender
 *   with one segment in flight (a small window after losses) then gets its ACK in microseconds, not after the
 *   40 ms delayed-ACK timer, for as long as the window opens.
 */
import type { TcpConnection } from '../connection.js';
import { RCV_INITIAL_WINDOW } from '../receive-window.js';

/** Linux TCP_MAX_QUICKACKS: the in-order segments ACKed at once after quick-ACK mode is entered beyond the start. */
const MAX_QUICK_ACKS = 16;

/**
 * How many in-order segments in a row quick-ACK mode ACKs at once (c.quickAcksSent counts them): the larger of the
 * start's and, under quickAckBeyondStart, Linux's 16. 0: no quick-ACK rules at all.
 */
export function quickAckLimit(c: TcpConnection): number {
  const start = c.cfg.quickAckSegments;
  return c.cfg.quickAckBeyondStart && start < MAX_QUICK_ACKS ? MAX_QUICK_ACKS : start;
}

/**
 * Linux tcp_in_quickack_mode: in-order data is ACKed at once (quick ACKs left, the exchange not interactive). Not
 * before the first in-order data (Linux's icsk_ack.quick is set by tcp_event_data_recv): out-of-order segments of
 * a connection that has received nothing in order yet are subject to SACK compression.
 */
export function inQuickAck(c: TcpConnection): boolean {
  return !c.pingpong && c.lastDataRecvAt >= 0 && c.quickAcksSent < quickAckLimit(c);
}

/**
 * A connection's first in-order data: quick-ACK mode grants quickAckSegments ACKs at once, not the whole limit
 * (the rest of the count is taken as used), so with quickAckSegments 0 the first request is ACKed as any segment.
 */
export function startQuickAck(c: TcpConnection): void {
  c.quickAcksSent = quickAckLimit(c) - c.cfg.quickAckSegments;
}

/**
 * Linux tcp_enter_quickack_mode: the next quickAckLimit in-order segments are ACKed at once and the exchange is
 * no longer taken as interactive.
 */
export function enterQuickAck(c: TcpConnection): void {
  if (quickAckLimit(c) === 0) return;
  c.quickAcksSent = 0;
  c.pingpong = false;
}

/**
 * Linux tcp_grow_window, for a segment of `len` bytes just queued (in order or not): while rcv_ssthresh (from the
 * initial window) is below the buffer's free space (the autotuned buffer less what is held), it grows by two
 * segments (at least twice this one) and the ACK leaves at once. Returns whether it grew. synack's window opens to
 * a DRS step at once (receive-window.ts rcvBufGrow), so Linux's rcv_ssthresh is followed here on its own
 * (RecvAutotune.ackSsthresh). Only with receive-buffer autotuning (its state is made at the first full segment)
 * and under quick-ACK rules beyond the start (quickAckBeyondStart; or quickAckSegments > 0, as before it).
 */
export function windowOpening(c: TcpConnection, len: number): boolean {
  const t = c.rcvTune;
  if (t === null || len < 128 || quickAckLimit(c) === 0) return false;
  if (t.ackSsthresh === 0) t.ackSsthresh = Math.min(RCV_INITIAL_WINDOW, t.clamp);
  const room = t.clamp - c.rcv.length - t.ackSsthresh;
  if (room <= 0) return false;
  t.ackSsthresh += Math.min(room, Math.max(2 * c.cfg.mss, 2 * len));
  return true;
}
