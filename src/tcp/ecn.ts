/**
 * Explicit Congestion Notification (RFC 3168) for one connection.
 * - Negotiation (§6.1.1): an active open with config.ecn 'on' sends SYN+ECE+CWR and uses ECN if the SYN+ACK
 *   carries ECE without CWR; a passive open with 'on' or 'passive' (Linux's default, tcp_ecn = 2) answers a
 *   SYN+ECE+CWR with SYN+ACK+ECE.
 * - Sender (§6.1.2): new data segments leave ECN-capable (ECT(0), told to the stack through txEct); never pure
 *   ACKs, SYNs, RSTs or retransmissions (§6.1.4, §6.1.5). An ACK with ECE halves cwnd as a fast retransmit would,
 *   at most once per window of data, and the next new data segment carries CWR.
 * - Receiver (§6.1.3): a segment that arrived with CE makes every ACK carry ECE until a segment with CWR arrives.
 */
import { ACK, CWR, ECE, SYN, seqAdd, seqDiff, seqGe, seqGt, type TcpSegment } from '../wire/tcp-types.js';
import type { TcpConnection } from './connection.js';
import { sndMssCap } from './options.js';

/** A segment arrives (before SEGMENT ARRIVES processing); `ce`: its IP header said Congestion Experienced. */
export function ecnOnInput(c: TcpConnection, seg: TcpSegment, ce: boolean): void {
  const f = seg.flags;
  const s = c.state;
  if (s === 'LISTEN' || s === 'SYN-SENT') {
    if (s === 'LISTEN' && (f & (SYN | ACK)) === SYN) c.ecnOk = c.cfg.ecn !== 'off' && (f & (ECE | CWR)) === (ECE | CWR);
    else if (s === 'SYN-SENT' && (f & (SYN | ACK)) === (SYN | ACK)) c.ecnOk = c.cfg.ecn === 'on' && (f & ECE) !== 0 && (f & CWR) === 0;
    else return;
    c.ecnRecover = c.iss;
    c.ecnSndHigh = seqAdd(c.iss, 1);
    return;
  }
  if (!c.ecnOk) return;
  // Receiver: CWR ends the echo; CE (on this very segment too) starts it again.
  if (f & CWR) c.ecnEcho = false;
  if (ce) {
    if (!c.ecnEcho) c.ackNow = true; // tell the sender at once (Linux enters quick-ACK mode on the first CE)
    c.ecnEcho = true;
  }
  // Sender: ECE on an ACK (never on a SYN) is a congestion signal, answered once per window.
  if ((f & (ECE | ACK)) === (ECE | ACK) && !(f & SYN) && !c.inRecovery && !c.rtoRecovery && seqGe(c.sndUna, c.ecnRecover)) {
    const flight = seqDiff(c.sndNxt, c.sndUna);
    if (flight <= 0 && !seqGt(seg.ack, c.sndUna)) return;
    const mss = sndMssCap(c);
    // ssthresh = max(FlightSize / 2, 2 MSS) and cwnd = ssthresh, as on entering and leaving fast recovery.
    c.cc.onFastRetransmit(flight, mss);
    c.cc.onRecoveryEnd(flight, mss);
    c.ecnRecover = c.sndNxt;
    c.ecnCwrPending = true;
    c.ecnReductions++;
  }
}

/** ECN bits for a segment about to leave (called by send.ts out()); sets c.txEct for the stack. */
export function ecnOnOutput(c: TcpConnection, seg: TcpSegment): void {
  c.txEct = false;
  const f = seg.flags;
  if (f & SYN) {
    if (!(f & ACK)) { if (c.cfg.ecn === 'on') seg.flags |= ECE | CWR; }
    else if (c.ecnOk) seg.flags |= ECE;
    return;
  }
  if (!c.ecnOk) return;
  if (c.ecnEcho && (f & ACK)) seg.flags |= ECE;
  const len = seg.payload.length;
  if (len === 0) return;
  // New data only: beyond everything sent ECN-capable before (a retransmission is not ECT, §6.1.5).
  const end = seqAdd(seg.seq, len);
  if (!seqGt(end, c.ecnSndHigh)) return;
  c.ecnSndHigh = end;
  c.txEct = true;
  if (c.ecnCwrPending) { seg.flags |= CWR; c.ecnCwrPending = false; }
}
