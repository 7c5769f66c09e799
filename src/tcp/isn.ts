/**
 * Initial sequence numbers per RFC 6528 §3:  ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
 * where M is a 4-microsecond timer and F a keyed PRF (here SipHash-2-4) with a per-stack random secret.
 * Randomness is injected (the caller supplies the secret) so tests are deterministic.
 */
import { SipHash } from './siphash.js';

/** Fills `out` with random bytes (crypto.getRandomValues by default; a seeded PRNG makes runs reproducible). */
export type RandomSource = (out: Uint8Array) => void;

/**
 * Initial sequence numbers as RFC 6528 §3 asks: a 4 µs clock plus a keyed hash (SipHash-2-4) of the 4-tuple,
 * so ISNs are unpredictable off-path yet increase for each tuple.
 */
export class IsnGenerator {
  private readonly prf: SipHash;
  private readonly buf = new Uint8Array(2 * 16 + 4);

  /** secret: 16 random bytes, drawn once per stack (RFC 6528 §3: "secretkey"). */
  constructor(secret: Uint8Array) {
    this.prf = new SipHash(secret);
  }

  /** A generator whose 16-byte secret is drawn from `random`. */
  static fromRandom(random: RandomSource): IsnGenerator {
    const key = new Uint8Array(16);
    random(key);
    return new IsnGenerator(key);
  }

  /**
   * ISN for a connection. Addresses are 4 or 16 bytes; `nowMs` is the injected clock in milliseconds.
   * M = floor(now / 4 µs), so ISNs for one tuple advance at 250 000 per second.
   */
  isn(localAddr: Uint8Array, localPort: number, remoteAddr: Uint8Array, remotePort: number, nowMs: number): number {
    const b = this.buf;
    b.fill(0);
    b.set(localAddr, 0);
    b.set(remoteAddr, 16);
    b[32] = localPort >>> 8; b[33] = localPort & 0xff; b[34] = remotePort >>> 8; b[35] = remotePort & 0xff;
    const f = this.prf.hash(b, 0, 36);
    const m = Math.floor(nowMs * 250) >>> 0;
    return (m + f) >>> 0;
  }
}
