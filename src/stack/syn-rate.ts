/**
 * A per-source SYN rate limit (StackOptions.synRatePerSource; off by default, as on Linux and FreeBSD): token
 * buckets direct-mapped by address hash into a fixed number of slots of typed arrays, so a flood from random
 * sources costs no allocation; a source whose slot another took starts again with a full bucket.
 */
import { addrHash } from './demux.js';

/** Slots of the limiter (a power of two). */
const SYN_BUCKETS = 8192;

export class SynRateLimiter {
  private readonly keys = new Uint32Array(SYN_BUCKETS);
  private readonly tokens = new Float64Array(SYN_BUCKETS);
  private readonly at = new Float64Array(SYN_BUCKETS);
  private readonly used = new Uint8Array(SYN_BUCKETS);
  /** Slots in use (bounded by SYN_BUCKETS whatever the number of sources). */
  size = 0;
  /** `rate`: SYNs per second per source, burst the same; Infinity = no limit. */
  constructor(readonly rate: number) {}

  /** May a SYN from `ra` be processed now? Takes a token if so. */
  allow(ra: Uint8Array, now: number): boolean {
    const rate = this.rate;
    if (rate === Infinity) return true;
    const k = addrHash(ra);
    const i = k & (SYN_BUCKETS - 1);
    if (this.used[i] === 0 || this.keys[i] !== k) {
      if (this.used[i] === 0) { this.used[i] = 1; this.size++; }
      this.keys[i] = k; this.tokens[i] = rate; this.at[i] = now;
    }
    const tokens = Math.min(rate, this.tokens[i]! + ((now - this.at[i]!) / 1000) * rate);
    this.at[i] = now;
    if (tokens < 1) { this.tokens[i] = tokens; return false; }
    this.tokens[i] = tokens - 1;
    return true;
  }
}
