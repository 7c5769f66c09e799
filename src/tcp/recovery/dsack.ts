/**
 * The receiver's side of D-SACK (RFC 2883): a segment that brings data we already hold is reported in the
 * first SACK block of the next segment we send, once. It tells the sender that a retransmission was not needed
 * (the original was only late, or its ACK was lost), so the sender can widen its reordering window (RFC 8985
 * §6.2 step 4) and undo the congestion window reduction (Linux tcp_try_undo_dsack, RFC 3708). Linux sends it by
 * default (net.ipv4.tcp_dsack = 1: tcp_dsack_set, tcp_dsack_extend), so a Linux sender expects it.
 * The sending side is in send.ts makeRaw; the sender's use of D-SACKs in rack.ts and undo.ts.
 */
import { seqAdd, seqGt, seqLe, seqLt } from '../../wire/tcp-types.js';
import type { TcpConnection } from '../connection.js';

/**
 * [seq, end) arrived again (sequence numbers, data only): report it in the next segment's first SACK block.
 * A second duplicate before that segment goes out extends the block when the two touch; otherwise the first
 * is kept (Linux tcp_dsack_extend).
 */
export function reportDuplicate(c: TcpConnection, seq: number, end: number): void {
  if (!c.sackOk || !c.cfg.dsack || !seqLt(seq, end)) return;
  const r = c.rcv;
  if (r.dsackRight !== -1 && seqLe(seq, r.dsackRight) && seqLe(r.dsackLeft, end)) {
    if (seqLt(seq, r.dsackLeft)) r.dsackLeft = seq;
    if (seqGt(end, r.dsackRight)) r.dsackRight = end;
    return;
  }
  if (r.dsackRight !== -1) return;
  r.dsackLeft = seq;
  r.dsackRight = end;
}

/**
 * A segment's data [seq, seq + len) at absolute offset `at` is about to be queued out of order: the part that
 * overlaps data already held beyond a hole is a duplicate (RFC 2883 §4.1.2: its D-SACK block is followed by the
 * SACK block holding it, which the receive buffer reports first as the most recently updated).
 */
export function reportOutOfOrderDuplicate(c: TcpConnection, seq: number, at: number, len: number): void {
  if (!c.sackOk || !c.cfg.dsack || !c.rcv.hasOutOfOrder) return;
  const o = c.rcv.oooOverlap(at, at + len);
  if (o === null) return;
  reportDuplicate(c, seqAdd(seq, o[0] - at), seqAdd(seq, o[1] - at));
}

/** The D-SACK block to send (and forget: it is reported once, RFC 2883 §4), or null. */
export function takeDsack(c: TcpConnection): [number, number] | null {
  const r = c.rcv;
  if (r.dsackRight === -1) return null;
  const b: [number, number] = [r.dsackLeft, r.dsackRight];
  r.dsackRight = -1;
  c.stats.TCPDSACKOldSent++;
  return b;
}
