/**
 * Rate limits for the ICMP errors a host sends (RFC 1812 §4.3.2.8, RFC 4443 §2.4(f)), as Linux applies them:
 * a global token bucket (net.ipv4.icmp_msgs_per_sec = 1000, icmp_msgs_burst = 50) and, per destination, one
 * error per icmp_ratelimit = 1000 ms with a burst of 6 (inet_peer_xrlim_allow, XRLIM_BURST_FACTOR). Echo
 * replies are not limited (Linux's icmp_ratemask leaves them out). The per-destination table is bounded.
 */
export class IcmpRateLimiter {
  private globalTokens: number;
  private globalAt = 0;
  private readonly peers = new Map<number, { tokens: number; at: number }>();
  /** Errors suppressed by either limit (Linux: IcmpOutRateLimitGlobal + IcmpOutRateLimitHost). */
  suppressed = 0;
  constructor(
    readonly perSecond = 1000,
    readonly burst = 50,
    readonly peerIntervalMs = 1000,
    readonly peerBurst = 6,
    readonly maxPeers = 4096,
  ) {
    this.globalTokens = burst;
  }

  /** May an error go to `dst` now? Consumes a token from both buckets when it may. */
  allow(dst: Uint8Array, now: number): boolean {
    this.globalTokens = Math.min(this.burst, this.globalTokens + ((now - this.globalAt) * this.perSecond) / 1000);
    this.globalAt = now;
    if (this.globalTokens < 1) { this.suppressed++; return false; }
    const k = hash(dst);
    let p = this.peers.get(k);
    if (p === undefined) {
      if (this.peers.size >= this.maxPeers) this.peers.delete(this.peers.keys().next().value as number);
      p = { tokens: this.peerBurst, at: now };
      this.peers.set(k, p);
    }
    p.tokens = Math.min(this.peerBurst, p.tokens + (now - p.at) / this.peerIntervalMs);
    p.at = now;
    if (p.tokens < 1) { this.suppressed++; return false; }
    p.tokens -= 1;
    this.globalTokens -= 1;
    return true;
  }
}

function hash(a: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a[i]!, 0x01000193);
  return h >>> 0;
}
