/**
 * CUBIC (RFC 9438) with HyStart++ (RFC 9406): Linux's default congestion control.
 *
 * Congestion avoidance follows W_cubic(t) = C·(t − K)³ + W_max (§4.2), in segments, t in seconds since the
 * epoch began (the first ACK after a congestion event), K = ∛((W_max − cwnd_epoch)/C). Each ACK moves cwnd
 * toward target = W_cubic(t + RTT), bounded to [cwnd, 1.5·cwnd] (§4.4). Where Reno would be faster (small BDP)
 * the Reno-friendly estimate W_est wins (§4.3). A congestion event multiplies cwnd by β = 0.7 and, if cwnd had
 * not reached the previous W_max, lowers W_max further (fast convergence, §4.7).
 *
 * Slow start ends on a delay increase: per round (an RTT, delimited by SND.NXT) the minimum RTT of at least 8
 * samples is compared with the previous round's; on an increase of max(4 ms, min(16 ms, lastRound/8)) either
 * slow start ends at once, ssthresh = cwnd (`'linux'`: Linux CUBIC's HyStart delay detection, bictcp
 * hystart_update, HYSTART_DELAY), or HyStart++ (`'rfc9406'`, RFC 9406 §4) moves to Conservative Slow Start
 * (growth / 4), which becomes congestion avoidance after 5 rounds, or goes back to slow start if the RTT falls
 * again. CSS keeps growing by a quarter per round for 5 rounds: into a shallow queue (25 ms) that overshoots it
 * and the losses (or, where some packets take a faster route, a queue's worth of RACK marks) follow.
 */
import type { CongestionControl, CongestionFactory } from './congestion.js';

/** RFC 9438 §5: C = 0.4, β_cubic = 0.7. */
export const CUBIC_C = 0.4;
export const CUBIC_BETA = 0.7;
/** RFC 9406 §4.3 constants. */
export const HYSTART = {
  minRttThresh: 4, maxRttThresh: 16, minRttDivisor: 8, nRttSample: 8, cssGrowthDivisor: 4, cssRounds: 5,
} as const;

/** W_cubic(t) in segments (RFC 9438 §4.2, eq. 1), t and K in seconds. */
export function wCubic(t: number, k: number, wMax: number): number {
  return CUBIC_C * (t - k) ** 3 + wMax;
}

/** K in seconds (RFC 9438 §4.2, eq. 2). */
export function cubicK(wMax: number, cwndEpoch: number): number {
  return Math.cbrt(Math.max(0, wMax - cwndEpoch) / CUBIC_C);
}

export class Cubic implements CongestionControl {
  readonly name = 'cubic';
  cwnd: number;
  ssthresh = 0x7fffffff;
  /** W_max in segments: cwnd before the last congestion event. */
  wMax = 0;
  /** Start of the current congestion-avoidance epoch (ms), or -1 before the first ACK after an event. */
  epochStart = -1;
  /** K (s) and cwnd_epoch (segments) of this epoch. */
  k = 0;
  cwndEpoch = 0;
  /** W_est (segments): the Reno-friendly estimate (RFC 9438 §4.3). */
  wEst = 0;
  /** Smallest RTT seen (ms): the RTT in W_cubic(t + RTT) (Linux bictcp delay_min). */
  minRtt = Infinity;

  // HyStart++ (RFC 9406 §4.2)
  private readonly hystart: HystartMode;
  /** Conservative Slow Start: the baseline RTT it began with, or -1 outside CSS. */
  cssBaselineMinRtt = -1;
  cssRoundsDone = 0;
  private windowEnd: number | null = null;
  private lastRoundMinRtt = Infinity;
  private currentRoundMinRtt = Infinity;
  private rttSampleCount = 0;

  constructor(initialWindow: number, hystart: HystartMode | boolean = 'linux') {
    this.cwnd = initialWindow;
    this.hystart = hystart === true ? 'rfc9406' : hystart === false ? 'off' : hystart;
  }

  /** In Conservative Slow Start (RFC 9406 §4.2). */
  get inCss(): boolean { return this.cssBaselineMinRtt >= 0; }

  onRttSample(rtt: number, _now: number, ack: number, sndNxt: number): void {
    if (rtt < this.minRtt) this.minRtt = rtt;
    if (this.hystart === 'off' || this.cwnd >= this.ssthresh) return;
    // A round ends when the ACK passes the SND.NXT recorded at its start (RFC 9406 §4.2).
    if (this.windowEnd === null || ((ack - this.windowEnd) | 0) >= 0) {
      this.windowEnd = sndNxt;
      this.lastRoundMinRtt = this.currentRoundMinRtt;
      this.currentRoundMinRtt = Infinity;
      this.rttSampleCount = 0;
      if (this.inCss && ++this.cssRoundsDone >= HYSTART.cssRounds) {
        // CSS lasted CSS_ROUNDS rounds: slow start is over (ssthresh = cwnd, congestion avoidance).
        this.ssthresh = this.cwnd;
        this.cssBaselineMinRtt = -1;
        return;
      }
    }
    if (rtt < this.currentRoundMinRtt) this.currentRoundMinRtt = rtt;
    this.rttSampleCount++;
    if (this.rttSampleCount < HYSTART.nRttSample || this.currentRoundMinRtt === Infinity || this.lastRoundMinRtt === Infinity) return;
    if (!this.inCss) {
      const thresh = Math.max(HYSTART.minRttThresh, Math.min(HYSTART.maxRttThresh, this.lastRoundMinRtt / HYSTART.minRttDivisor));
      if (this.currentRoundMinRtt >= this.lastRoundMinRtt + thresh) {
        if (this.hystart === 'linux') { this.ssthresh = this.cwnd; return; } // slow start is over
        this.cssBaselineMinRtt = this.currentRoundMinRtt;
        this.cssRoundsDone = 0;
      }
    } else if (this.currentRoundMinRtt < this.cssBaselineMinRtt) {
      // The RTT went back down: the increase was spurious; resume slow start (RFC 9406 §4.2).
      this.cssBaselineMinRtt = -1;
    }
  }

  onAck(acked: number, mss: number, now: number): void {
    if (this.cwnd < this.ssthresh) {
      // Slow start (Linux: no ABC limit), divided by CSS_GROWTH_DIVISOR in Conservative Slow Start.
      const grow = this.inCss ? acked / HYSTART.cssGrowthDivisor : acked;
      this.cwnd += grow;
      if (this.cwnd <= this.ssthresh) return;
      const over = this.cwnd - this.ssthresh;
      this.cwnd = this.ssthresh;
      acked = Math.min(acked, over);
    }
    this.avoid(acked, mss, now);
  }

  /** Congestion avoidance (RFC 9438 §4.2–4.5) for `acked` bytes, cwnd in bytes, W in segments. */
  private avoid(acked: number, mss: number, now: number): void {
    const cwndSeg = this.cwnd / mss;
    if (this.epochStart < 0) {
      this.epochStart = now;
      this.cwndEpoch = cwndSeg;
      if (this.wMax < cwndSeg) this.wMax = cwndSeg; // no congestion event yet, or cwnd grew past it
      this.k = cubicK(this.wMax, cwndSeg);
      this.wEst = cwndSeg;
    }
    const segsAcked = acked / mss;
    // Reno-friendly region (§4.3): α_cubic = 3(1 − β)/(1 + β) until W_est reaches W_max, then 1.
    const alpha = this.wEst >= this.wMax ? 1 : (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);
    this.wEst += (alpha * segsAcked) / cwndSeg;
    const rtt = this.minRtt === Infinity ? 0 : this.minRtt;
    const t = (now - this.epochStart) / 1000;
    const cubicNow = wCubic(t, this.k, this.wMax);
    if (cubicNow < this.wEst) {
      this.cwnd = Math.max(this.cwnd, this.wEst * mss);
      return;
    }
    // Concave/convex regions (§4.4, §4.5): target = W_cubic(t + RTT) within [cwnd, 1.5·cwnd].
    let target = wCubic(t + rtt / 1000, this.k, this.wMax);
    if (target < cwndSeg) target = cwndSeg;
    if (target > 1.5 * cwndSeg) target = 1.5 * cwndSeg;
    this.cwnd += ((target - cwndSeg) / cwndSeg) * segsAcked * mss;
  }

  /** A congestion event (RFC 9438 §4.6, fast convergence §4.7). */
  private reduce(mss: number): void {
    const cwndSeg = this.cwnd / mss;
    this.wMax = cwndSeg < this.wMax ? (cwndSeg * (1 + CUBIC_BETA)) / 2 : cwndSeg;
    this.ssthresh = Math.max(Math.floor(this.cwnd * CUBIC_BETA), 2 * mss);
    this.epochStart = -1;
    this.cssBaselineMinRtt = -1;
  }

  onFastRetransmit(_flight: number, mss: number): void {
    this.reduce(mss);
    // During recovery PRR (recovery/prr.ts) sizes cwnd on every ACK; without SACK, window inflation as RFC 5681.
    this.cwnd = this.ssthresh + 3 * mss;
  }

  onDupAckInRecovery(mss: number): void {
    this.cwnd += mss;
  }

  onPartialAck(acked: number, mss: number): void {
    this.cwnd = Math.max(mss, this.cwnd - acked + (acked >= mss ? mss : 0));
  }

  onRecoveryEnd(_flight: number, _mss: number): void {
    // Linux tcp_end_cwnd_reduction: recovery ends with cwnd = ssthresh; the epoch starts with the next ACK.
    this.cwnd = this.ssthresh;
    this.epochStart = -1;
  }

  onRto(_flight: number, mss: number): void {
    if (this.cwnd > 2 * mss) this.reduce(mss);
    else this.epochStart = -1;
    this.cwnd = mss;
  }

  onIdleRestart(mss: number, initialWindow: number): void {
    this.cwnd = Math.min(this.cwnd, Math.max(initialWindow, mss));
    this.epochStart = -1;
  }
}

export const cubic: CongestionFactory = (iw) => new Cubic(iw);
export const cubicWithoutHystart: CongestionFactory = (iw) => new Cubic(iw, false);

/** How CUBIC leaves slow start on a delay increase: at once (Linux), through Conservative Slow Start (RFC 9406), or not at all. */
export type HystartMode = 'linux' | 'rfc9406' | 'off';
