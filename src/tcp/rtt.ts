/**
 * Retransmission timeout per RFC 6298: SRTT/RTTVAR smoothing (§2), Karn's rule is applied by the caller
 * (no samples from retransmitted segments unless timestamps disambiguate, RFC 7323 §4), exponential
 * backoff (§5.5), clamped to [rtoMin, rtoMax].
 */
export class RttEstimator {
  srtt = 0;
  rttvar = 0;
  /** The current RTO before backoff, milliseconds. */
  rto: number;
  /** Number of consecutive backoffs (RTO doublings) since the last new sample. */
  backoff = 0;
  hasSample = false;
  private readonly rtoMin: number;
  private readonly rtoMax: number;
  /** Clock granularity G (RFC 6298 §2). */
  private static readonly G = 1;

  constructor(initialRto: number, rtoMin: number, rtoMax: number) {
    this.rto = initialRto;
    this.rtoMin = rtoMin;
    this.rtoMax = rtoMax;
  }

  sample(r: number): void {
    if (r < 0) return;
    if (!this.hasSample) {
      // §2.2: first measurement.
      this.srtt = r;
      this.rttvar = r / 2;
      this.hasSample = true;
    } else {
      // §2.3 with alpha = 1/8, beta = 1/4.
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    const rto = this.srtt + Math.max(RttEstimator.G, 4 * this.rttvar);
    this.rto = Math.min(this.rtoMax, Math.max(this.rtoMin, rto));
    this.backoff = 0;
  }

  /** The timeout to arm now, including backoff (§5.5). */
  current(): number {
    return Math.min(this.rtoMax, this.rto * backoffFactor(this.backoff));
  }

  backOff(): void {
    if (this.rto * backoffFactor(this.backoff) < this.rtoMax) this.backoff++;
  }
}

/**
 * 2^n for the backoff count n: a shift below 31 (every real backoff), the same value as `2 ** n`, which with a
 * variable n is a call to the C library's pow (~170 instructions) made on the per-segment path (current()).
 */
function backoffFactor(n: number): number {
  return n < 31 ? 1 << n : 2 ** n;
}
