/**
 * Initial sequence numbers per RFC 6528 §3:  ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
 * where M is a 4-microsecond timer and F a keyed PRF (here SipHash-2-4) with a per-stack random secret.
 * Randomness is injected (the caller supplies the secret) so tests are deterministic.
 */
import { SipHash, loadWords } from './siphash.js';

/** Fills `out` with random bytes (crypto.getRandomValues by default; a seeded PRNG makes runs reproducible). */
export type RandomSource = (out: Uint8Array) => void;

/**
 * Initial sequence numbers as RFC 6528 §3 asks: a 4 µs clock plus a keyed hash (SipHash-2-4) of the 4-tuple,
 * so ISNs are unpredictable off-path yet increase for each tuple.
 */
export class IsnGenerator {
  private readonly prf: SipHash;
  // F's input as SipHash message words, written as numbers (no byte buffer): for IPv4, local address, remote
  // address, local port, remote port (network order), 12 bytes, as Linux's secure_tcp_seq hashes three words
  // (two SipHash blocks and finalization: 8 rounds instead of 14); for IPv6 the addresses in 16-byte slots, then
  // the ports, 36 bytes. The length is hashed too, so the two never give the same input.
  private readonly words = new Uint32Array(9);

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
    const w = this.words;
    const ports = (localPort >>> 8) | ((localPort & 0xff) << 8) | ((remotePort >>> 8) << 16) | ((remotePort & 0xff) << 24);
    let f: number;
    if (localAddr.length === 4 && remoteAddr.length === 4) {
      loadWords(w, 0, localAddr, 0, 4);
      loadWords(w, 1, remoteAddr, 0, 4);
      w[2] = ports;
      f = this.prf.hashWords(w, 12);
    } else {
      w.fill(0);
      loadWords(w, 0, localAddr, 0, localAddr.length);
      loadWords(w, 4, remoteAddr, 0, remoteAddr.length);
      w[8] = ports;
      f = this.prf.hashWords(w, 36);
    }
    const m = Math.floor(nowMs * 250) >>> 0;
    return (m + f) >>> 0;
  }
}
