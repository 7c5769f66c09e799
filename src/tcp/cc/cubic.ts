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
 *
 * `'linux'` also ends slow start on the ACK train (Linux HYSTART_ACK_TRAIN, on by default beside HYSTART_DELAY):
 * once cwnd is 16 segments or more, when the ACKs of one round, each within 2 ms of the previous, span more than
 * half the minimum RTT (plus a TSO cushion), the bottleneck is already busy for that long per round: the path is
 * full, and further doubling only fills the queue. On a sub-millisecond path the delay test needs a 4 ms queue
 * (70 segments at 200 Mbit/s) before it fires; the train fires one round after the pipe is full.
 */
import type { CongestionControl, CongestionFactory } from './congestion.js';

/** RFC 9438 §5: C = 0.4, β_cubic = 0.7. */
export const CUBIC_C = 0.4;
export const CUBIC_BETA = 0.7;
/** RFC 9406 §4.3 constants. */
export const HYSTART = {
  minRttThresh: 4, maxRttThresh: 16, minRttDivisor: 8, nRttSample: 8, cssGrowthDivisor: 4, cssRounds: 5,
} as const;
/**
 * Linux HyStart's ACK-train test (tcp_cubic.c): not below 16 segments (hystart_low_window), ACKs at most 2 ms
 * apart belong to one train (hystart_ack_delta_us), the TSO/GRO cushion added to the minimum RTT is at most 1 ms
 * (hystart_ack_delay), and GSO_MAX_SIZE (64 KiB) is the aggregate it allows for by default.
 */
export const HYSTART_TRAIN = { lowWindowSegments: 16, ackDeltaMs: 2, maxCushionMs: 1, gsoBytes: 65536 } as const;

/** What Linux's ACK-train test needs to know about the sender (cubic's hystart_ack_delay). */
export interface HystartTrainOptions {
  /** The sender paces (TcpConfig.pacing): the train may then last the whole minimum RTT, not half (Linux SK_PACING_NONE halves it). */
  paced?: boolean;
  /** The largest aggregate the sender hands the link (TSO), bytes; default 64 KiB. */
  gsoBytes?: number;
}

/**
 * W_cubic(t) in segments (RFC 9438 §4.2, eq. 1), t and K in seconds. The cube as two multiplications: `** 3` is a
 * call to the C library's pow (~150 instructions, twice per ACK in congestion avoidance).
 */
export function wCubic(t: number, k: number, wMax: number): number {
  const d = t - k;
  return CUBIC_C * (d * d * d) + wMax;
}

/** K in seconds (RFC 9438 §4.2, eq. 2). */
export function cubicK(wMax: number, cwndEpoch: number): number {
  return Math.cbrt(Math.max(0, wMax - cwndEpoch) / CUBIC_C);
}

// Slots of Cubic.f: the controller's numbers, unboxed in one array of doubles. As fields, each that ever holds a
// fraction or ±Infinity (cwnd, the times, the RTTs, K, W) would be a separate boxed number, about half of the
// controller's bytes, and every connection has one.
const F_CWND = 0;
const F_SSTHRESH = 1;
const F_W_MAX = 2;
const F_EPOCH_START = 3;
const F_K = 4;
const F_CWND_EPOCH = 5;
const F_W_EST = 6;
const F_MIN_RTT = 7;
const F_CSS_BASELINE_MIN_RTT = 8;
const F_CSS_ROUNDS_DONE = 9;
const F_WINDOW_END = 10;
const F_LAST_ROUND_MIN_RTT = 11;
const F_CURRENT_ROUND_MIN_RTT = 12;
const F_RTT_SAMPLE_COUNT = 13;
const F_ROUND_START = 14;
const F_LAST_ACK = 15;
const F_MSS = 16;
const F_GSO_BYTES = 17;

export class Cubic implements CongestionControl {
  get name(): string { return 'cubic'; }
  /**
   * The numbers below, by slot (F_*). Literal with Infinity among them, so the array holds doubles from the start.
   * windowEnd −1: no round yet (a sequence number is never negative).
   */
  private readonly f: number[] = [0, 0x7fffffff, 0, -1, 0, 0, 0, Infinity, -1, 0, -1, Infinity, Infinity, 0, 0, 0, 1460, HYSTART_TRAIN.gsoBytes];
  get cwnd(): number { return this.f[F_CWND]!; }
  set cwnd(v: number) { this.f[F_CWND] = v; }
  get ssthresh(): number { return this.f[F_SSTHRESH]!; }
  set ssthresh(v: number) { this.f[F_SSTHRESH] = v; }
  /** W_max in segments: cwnd before the last congestion event. */
  get wMax(): number { return this.f[F_W_MAX]!; }
  set wMax(v: number) { this.f[F_W_MAX] = v; }
  /** Start of the current congestion-avoidance epoch (ms), or -1 before the first ACK after an event. */
  get epochStart(): number { return this.f[F_EPOCH_START]!; }
  set epochStart(v: number) { this.f[F_EPOCH_START] = v; }
  /** K (s) and cwnd_epoch (segments) of this epoch. */
  get k(): number { return this.f[F_K]!; }
  set k(v: number) { this.f[F_K] = v; }
  get cwndEpoch(): number { return this.f[F_CWND_EPOCH]!; }
  set cwndEpoch(v: number) { this.f[F_CWND_EPOCH] = v; }
  /** W_est (segments): the Reno-friendly estimate (RFC 9438 §4.3). */
  get wEst(): number { return this.f[F_W_EST]!; }
  set wEst(v: number) { this.f[F_W_EST] = v; }
  /** Smallest RTT seen (ms): the RTT in W_cubic(t + RTT) (Linux bictcp delay_min). */
  get minRtt(): number { return this.f[F_MIN_RTT]!; }
  set minRtt(v: number) { this.f[F_MIN_RTT] = v; }

  // HyStart++ (RFC 9406 §4.2)
  private readonly hystart: HystartMode;
  /** Conservative Slow Start: the baseline RTT it began with, or -1 outside CSS. */
  get cssBaselineMinRtt(): number { return this.f[F_CSS_BASELINE_MIN_RTT]!; }
  set cssBaselineMinRtt(v: number) { this.f[F_CSS_BASELINE_MIN_RTT] = v; }
  get cssRoundsDone(): number { return this.f[F_CSS_ROUNDS_DONE]!; }
  set cssRoundsDone(v: number) { this.f[F_CSS_ROUNDS_DONE] = v; }
  // Slots F_WINDOW_END (SND.NXT when this round began, -1 before the first), F_LAST_ROUND_MIN_RTT,
  // F_CURRENT_ROUND_MIN_RTT, F_RTT_SAMPLE_COUNT; for Linux's ACK train ('linux' only) F_ROUND_START and F_LAST_ACK,
  // when this round's first ACK came and the last ACK of the train so far (ms); F_MSS, the send MSS learnt from
  // onAck (for the 16-segment floor); F_GSO_BYTES.
  private readonly paced: boolean;

  constructor(initialWindow: number, hystart: HystartMode | boolean = 'linux', train?: HystartTrainOptions) {
    this.cwnd = initialWindow;
    this.hystart = hystart === true ? 'rfc9406' : hystart === false ? 'off' : hystart;
    this.paced = train?.paced ?? false;
    if (train?.gsoBytes !== undefined) this.f[F_GSO_BYTES] = train.gsoBytes;
  }

  /** In Conservative Slow Start (RFC 9406 §4.2). */
  get inCss(): boolean { return this.cssBaselineMinRtt >= 0; }

  onRttSample(rtt: number, now: number, ack: number, sndNxt: number): void {
    const f = this.f;
    if (rtt < this.minRtt) this.minRtt = rtt;
    if (this.hystart === 'off' || this.cwnd >= this.ssthresh) return;
    // A round ends when the ACK passes the SND.NXT recorded at its start (RFC 9406 §4.2).
    if (f[F_WINDOW_END]! === -1 || ((ack - f[F_WINDOW_END]!) | 0) >= 0) {
      f[F_WINDOW_END] = sndNxt;
      f[F_LAST_ROUND_MIN_RTT] = f[F_CURRENT_ROUND_MIN_RTT]!;
      f[F_CURRENT_ROUND_MIN_RTT] = Infinity;
      f[F_RTT_SAMPLE_COUNT] = 0;
      f[F_ROUND_START] = f[F_LAST_ACK] = now;
      if (this.inCss && ++this.cssRoundsDone >= HYSTART.cssRounds) {
        // CSS lasted CSS_ROUNDS rounds: slow start is over (ssthresh = cwnd, congestion avoidance).
        this.ssthresh = this.cwnd;
        this.cssBaselineMinRtt = -1;
        return;
      }
    }
    if (this.hystart === 'linux' && this.cwnd >= HYSTART_TRAIN.lowWindowSegments * f[F_MSS]! && this.ackTrain(rtt, now)) {
      this.ssthresh = this.cwnd; // slow start is over
      return;
    }
    if (rtt < f[F_CURRENT_ROUND_MIN_RTT]!) f[F_CURRENT_ROUND_MIN_RTT] = rtt;
    f[F_RTT_SAMPLE_COUNT] = f[F_RTT_SAMPLE_COUNT]! + 1;
    if (f[F_RTT_SAMPLE_COUNT]! < HYSTART.nRttSample || f[F_CURRENT_ROUND_MIN_RTT]! === Infinity || f[F_LAST_ROUND_MIN_RTT]! === Infinity) return;
    if (!this.inCss) {
      const thresh = Math.max(HYSTART.minRttThresh, Math.min(HYSTART.maxRttThresh, f[F_LAST_ROUND_MIN_RTT]! / HYSTART.minRttDivisor));
      if (f[F_CURRENT_ROUND_MIN_RTT]! >= f[F_LAST_ROUND_MIN_RTT]! + thresh) {
        if (this.hystart === 'linux') { this.ssthresh = this.cwnd; return; } // slow start is over
        this.cssBaselineMinRtt = f[F_CURRENT_ROUND_MIN_RTT]!;
        this.cssRoundsDone = 0;
      }
    } else if (f[F_CURRENT_ROUND_MIN_RTT]! < this.cssBaselineMinRtt) {
      // The RTT went back down: the increase was spurious; resume slow start (RFC 9406 §4.2).
      this.cssBaselineMinRtt = -1;
    }
  }

  /**
   * Linux hystart_update's ACK-train test for an ACK at `now`: a train is ACKs each at most 2 ms after the last;
   * it ends slow start once it has lasted longer than the minimum RTT plus the TSO cushion, halved when the
   * sender does not pace (packets then leave in bursts at up to twice the bottleneck rate in slow start). The
   * cushion, hystart_ack_delay, is the time four aggregates take at the pacing rate (2·cwnd/RTT in slow start,
   * tcp_update_pacing_rate), at most 1 ms: a short path's ACKs arrive in GRO/TSO-sized clumps.
   */
  private ackTrain(rtt: number, now: number): boolean {
    const f = this.f;
    if (now - f[F_LAST_ACK]! > HYSTART_TRAIN.ackDeltaMs || this.minRtt === Infinity) return false;
    f[F_LAST_ACK] = now;
    const cushion = Math.min(HYSTART_TRAIN.maxCushionMs, (4 * f[F_GSO_BYTES]! * Math.max(rtt, this.minRtt)) / (2 * this.cwnd));
    const threshold = (this.minRtt + cushion) / (this.paced ? 1 : 2);
    return now - f[F_ROUND_START]! > threshold;
  }

  onAck(acked: number, mss: number, now: number): void {
    this.f[F_MSS] = mss;
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
