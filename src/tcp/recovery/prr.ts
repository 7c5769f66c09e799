/**
 * Proportional Rate Reduction (RFC 6937) during fast recovery: on every ACK, the sender may send what keeps
 * the data sent in recovery (prr_out) in proportion to the data delivered (prr_delivered), so that the window
 * comes down to ssthresh smoothly and ends there — instead of waiting half an RTT in silence and then sending
 * in a burst (RFC 6675), or inflating with every duplicate ACK (RFC 5681). When pipe falls below ssthresh,
 * the slow-start reduction bound (PRR-SSRB) lets it grow back by at most one MSS more than was delivered.
 * As Linux does (tcp_cwnd_reduction), the allowance is expressed as cwnd = pipe + sndcnt, and every sender
 * path (retransmission, new data) keeps its usual cwnd test.
 */
import { seqDiff } from '../../wire/tcp-types.js';
import type { TcpConnection } from '../connection.js';
import { sndMssCap } from '../options.js';
import { pipe } from './fast-recovery.js';

export class Prr {
  /** prr_delivered: bytes delivered to the receiver since recovery began. */
  delivered = 0;
  /** prr_out: bytes sent (new and retransmitted) since recovery began. */
  out = 0;
  /** RecoverFS: FlightSize when recovery began. */
  recoverFs = 1;
}

/** Recovery begins (RFC 6937 §3 "On entering recovery"). */
export function prrStart(c: TcpConnection): void {
  const p = c.prr;
  p.delivered = 0;
  p.out = 0;
  p.recoverFs = Math.max(1, seqDiff(c.sndNxt, c.sndUna));
}

/**
 * An ACK in recovery delivered `deliveredData` bytes (the change in SND.UNA plus the change in SACKed bytes,
 * RFC 6937 §3 DeliveredData): compute sndcnt and set cwnd to pipe + sndcnt (whole segments, as Linux counts
 * packets; prr_out counts the bytes actually sent, so rounding never accumulates). Returns sndcnt in bytes.
 */
export function prrOnAck(c: TcpConnection, deliveredData: number): number {
  const p = c.prr;
  const mss = sndMssCap(c);
  p.delivered += deliveredData;
  const inFlight = pipe(c);
  const ssthresh = c.cc.ssthresh;
  let sndcnt: number;
  if (inFlight > ssthresh) {
    // Proportional part: sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out.
    sndcnt = Math.ceil((p.delivered * ssthresh) / p.recoverFs) - p.out;
  } else {
    // PRR-SSRB: limit = MAX(prr_delivered - prr_out, DeliveredData) + MSS; sndcnt = MIN(ssthresh - pipe, limit).
    const limit = Math.max(p.delivered - p.out, deliveredData) + mss;
    sndcnt = Math.min(ssthresh - inFlight, limit);
  }
  // The fast retransmit itself always goes (RFC 6937 §3: "on the first ACK, sndcnt is at least one segment").
  if (sndcnt <= 0 && p.out === 0) sndcnt = 1;
  if (sndcnt < 0) sndcnt = 0;
  c.cc.cwnd = Math.max(mss, inFlight + Math.ceil(sndcnt / mss) * mss);
  return sndcnt;
}
