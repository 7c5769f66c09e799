/**
 * NewReno per RFC 5681 (slow start, congestion avoidance) and RFC 6582 (fast recovery with partial ACKs).
 */
import type { CongestionControl, CongestionFactory } from './congestion.js';

export class NewReno implements CongestionControl {
  readonly name = 'newreno';
  cwnd: number;
  ssthresh: number;
  /** Bytes acked in congestion avoidance, to grow cwnd by one MSS per cwnd acked (RFC 5681 §3.1, eq. 3 alternative). */
  private bytesAcked = 0;

  constructor(initialWindow: number) {
    this.cwnd = initialWindow;
    this.ssthresh = 0x7fffffff; // "arbitrarily high" (RFC 5681 §3.1)
  }

  onAck(acked: number, mss: number): void {
    if (this.cwnd < this.ssthresh) {
      // Slow start with appropriate byte counting, L = 2 (RFC 3465).
      this.cwnd += Math.min(acked, 2 * mss);
    } else {
      this.bytesAcked += acked;
      if (this.bytesAcked >= this.cwnd) {
        this.bytesAcked -= this.cwnd;
        this.cwnd += mss;
      }
    }
  }

  onFastRetransmit(flight: number, mss: number): void {
    this.ssthresh = Math.max(flight >>> 1, 2 * mss);
    this.cwnd = this.ssthresh + 3 * mss;
  }

  onDupAckInRecovery(mss: number): void {
    this.cwnd += mss;
  }

  onPartialAck(acked: number, mss: number): void {
    // Deflate by the amount acked, add back one MSS (RFC 6582 §3.2 step 5).
    this.cwnd = Math.max(mss, this.cwnd - acked + (acked >= mss ? mss : 0));
  }

  onRecoveryEnd(flight: number, mss: number): void {
    // RFC 6582 §3.2 step 6, option (1) bounded as in option (2).
    this.cwnd = Math.min(this.ssthresh, Math.max(flight, mss) + mss);
    this.bytesAcked = 0;
  }

  onRto(flight: number, mss: number): void {
    this.ssthresh = Math.max(flight >>> 1, 2 * mss);
    this.cwnd = mss; // loss window LW = 1 SMSS
    this.bytesAcked = 0;
  }

  onIdleRestart(mss: number, initialWindow: number): void {
    this.cwnd = Math.min(this.cwnd, Math.max(initialWindow, mss));
  }
}

export const newReno: CongestionFactory = (iw) => new NewReno(iw);
