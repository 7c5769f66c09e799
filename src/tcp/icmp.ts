/**
 * What ICMP tells a connection (the stack checks the message first: RFC 5927 §4.1, the quoted sequence number
 * within SND.UNA..SND.NXT):
 * - path MTU (RFC 1191 §6.4, RFC 8201 §5.4): the send MSS drops to what the path carries, and everything in
 *   flight is sent again in the new size at once, without a congestion response (Linux tcp_simple_retransmit:
 *   the segments were dropped for their size, not by congestion);
 * - errors (RFC 1122 §4.2.3.9, Linux tcp_v4_err): in SYN-SENT they end the connection attempt with their errno;
 *   later they are only remembered as the soft error, which replaces ETIMEDOUT if the connection times out
 *   (Linux sk_err_soft), and forgotten when an ACK shows the path works.
 */
import type { TcpConnection, TcpErrorCode } from './connection.js';
import { updateSndMss } from './options.js';

/** Linux's floor for the send MSS (net.ipv4.tcp_min_snd_mss). */
export const MIN_SND_MSS = 48;

/** `resend` false: only the MSS drops (another connection to the same destination got the ICMP; Linux tcp_sync_mss). */
export function pathMtuReduced(c: TcpConnection, mss: number, now: number, resend = true): void {
  const m = Math.max(MIN_SND_MSS, mss);
  if (m >= c.pmtuMss) return;
  c.pmtuMss = m;
  const before = c.sndMss;
  updateSndMss(c);
  if (!resend || c.sndMss >= before || !c.isSynchronized() || c.sndUna === c.sndNxt) return;
  // Resend everything outstanding in the new size (go-back-N from SND.UNA, as after an RTO but keeping cwnd and
  // the RTO backoff: Linux tcp_simple_retransmit). SACKed ranges are skipped by the retransmission scan.
  c.rtoRecovery = true;
  c.inRecovery = false;
  c.forceRtx = true;
  c.recover = c.sndNxt;
  c.rttSeq = -1; // Karn: no RTT sample from resent data
  c.sndRtx = c.sndUna;
  c.sndRtxEnd = c.sndNxt;
  c.ackNow = true;
  void now;
}

export function icmpError(c: TcpConnection, code: TcpErrorCode, now: number): void {
  const s = c.state;
  if (s === 'SYN-SENT' || (s === 'SYN-RECEIVED' && c.activeOpen)) {
    c.fail(code, `connection attempt failed: ICMP ${code}`, { kind: 'user', call: 'abort' }, now);
    return;
  }
  if (s === 'SYN-RECEIVED') {
    // A listener's embryonic connection (Linux tcp_req_err): dropped silently, nobody waits on it.
    c.toClosed({ kind: 'user', call: 'abort' }, now);
    return;
  }
  c.softError = code;
}

/** The error a connection that timed out reports: the last ICMP error for it, else ETIMEDOUT (Linux tcp_write_err). */
export function timeoutError(c: TcpConnection): TcpErrorCode {
  return c.softError ?? 'ETIMEDOUT';
}
