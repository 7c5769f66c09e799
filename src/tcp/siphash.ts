/**
 * SipHash-2-4 (Aumasson & Bernstein) with 64-bit lanes held as (hi, lo) uint32 pairs, so it runs on
 * plain JS numbers in any browser. Used as the keyed PRF for ISNs (RFC 6528 §3) and SYN cookies.
 */
export class SipHash {
  // The state before the first block, v0..v3 as (hi, lo): the key XORed with "somepseudorandomlygeneratedbytes",
  // computed once per key (it is the same for every message).
  private readonly init = new Int32Array(8);
  // Message words (little-endian 32-bit) of hash()'s input; reused, grown only for a longer message.
  private words = new Uint32Array(12);

  /** key: 16 bytes. */
  constructor(key: Uint8Array) {
    if (key.length !== 16) throw new RangeError('SipHash key must be 16 bytes');
    // k0 = (k[1], k[0]), k1 = (k[3], k[2]) as (hi, lo).
    const k = loadWords(new Uint32Array(4), 0, key, 0, 16);
    const v = this.init;
    // v0 = k0 ^ "somepseu", v1 = k1 ^ "dorandom", v2 = k0 ^ "lygenera", v3 = k1 ^ "tedbytes"
    v[0] = k[1]! ^ 0x736f6d65; v[1] = k[0]! ^ 0x70736575;
    v[2] = k[3]! ^ 0x646f7261; v[3] = k[2]! ^ 0x6e646f6d;
    v[4] = k[1]! ^ 0x6c796765; v[5] = k[0]! ^ 0x6e657261;
    v[6] = k[3]! ^ 0x74656462; v[7] = k[2]! ^ 0x79746573;
  }

  /** Hash `len` bytes of `data` from `off`. Returns the low 32 bits; the high 32 bits are in `hi` afterwards. */
  hash(data: Uint8Array, off = 0, len = data.length - off): number {
    if (this.words.length < (len >>> 2) + 2) this.words = new Uint32Array((len >>> 2) + 2);
    return this.hashWords(loadWords(this.words, 0, data, off, len), len);
  }

  /**
   * Hash a message of `len` bytes given as little-endian 32-bit words (byte i of the message is byte i % 4 of
   * word i / 4); the bytes of the last word beyond `len` must be zero. The same result as hash() over those
   * bytes, without them: a caller that has its input as numbers (IsnGenerator) skips the byte buffer.
   */
  hashWords(w: Uint32Array, len: number): number {
    const k = this.init;
    // The state in locals for the whole message (a round reads and writes no memory), as int32 (V8 keeps them
    // in integer registers; uint32 values above 2^31 would be doubles). A 64-bit addition's carry out of the low
    // word is the top bit of (a & b) | ((a | b) & ~sum), computed without a branch: as an unsigned comparison it
    // was a branch taken half the time at random, and its mispredictions made the hash ~1.8x slower.
    let v0h = k[0]!, v0l = k[1]!, v1h = k[2]!, v1l = k[3]!, v2h = k[4]!, v2l = k[5]!, v3h = k[6]!, v3l = k[7]!;
    let lo: number, h: number, l: number, mlo: number, mhi: number;
    const blocks = len >>> 3, rem = len & 7;
    // Each block, then the last (the remaining bytes, the length's low byte in the top byte), then finalization
    // (v2 ^= 0xff, 4 rounds, no message): one loop, so the round is written once.
    for (let b = 0; b <= blocks + 1; b++) {
      if (b < blocks) { mlo = w[2 * b]! | 0; mhi = w[2 * b + 1]! | 0; } else if (b === blocks) {
        mlo = rem > 0 ? w[2 * b]! | 0 : 0;
        mhi = (rem > 4 ? w[2 * b + 1]! : 0) | (len << 24);
      } else { mlo = mhi = 0; v2l ^= 0xff; }
      v3h ^= mhi; v3l ^= mlo;
      for (let r = b > blocks ? 4 : 2; r > 0; r--) {
        // v0 += v1; v1 = rotl(v1,13); v1 ^= v0; v0 = rotl(v0,32)
        lo = (v0l + v1l) | 0; v0h = (v0h + v1h + (((v0l & v1l) | ((v0l | v1l) & ~lo)) >>> 31)) | 0; v0l = lo;
        h = (v1h << 13) | (v1l >>> 19); l = (v1l << 13) | (v1h >>> 19); v1h = h ^ v0h; v1l = l ^ v0l;
        h = v0h; v0h = v0l; v0l = h;
        // v2 += v3; v3 = rotl(v3,16); v3 ^= v2
        lo = (v2l + v3l) | 0; v2h = (v2h + v3h + (((v2l & v3l) | ((v2l | v3l) & ~lo)) >>> 31)) | 0; v2l = lo;
        h = (v3h << 16) | (v3l >>> 16); l = (v3l << 16) | (v3h >>> 16); v3h = h ^ v2h; v3l = l ^ v2l;
        // v0 += v3; v3 = rotl(v3,21); v3 ^= v0
        lo = (v0l + v3l) | 0; v0h = (v0h + v3h + (((v0l & v3l) | ((v0l | v3l) & ~lo)) >>> 31)) | 0; v0l = lo;
        h = (v3h << 21) | (v3l >>> 11); l = (v3l << 21) | (v3h >>> 11); v3h = h ^ v0h; v3l = l ^ v0l;
        // v2 += v1; v1 = rotl(v1,17); v1 ^= v2; v2 = rotl(v2,32)
        lo = (v2l + v1l) | 0; v2h = (v2h + v1h + (((v2l & v1l) | ((v2l | v1l) & ~lo)) >>> 31)) | 0; v2l = lo;
        h = (v1h << 17) | (v1l >>> 15); l = (v1l << 17) | (v1h >>> 15); v1h = h ^ v2h; v1l = l ^ v2l;
        h = v2h; v2h = v2l; v2l = h;
      }
      v0h ^= mhi; v0l ^= mlo;
    }
    this.hi = (v0h ^ v1h ^ v2h ^ v3h) >>> 0;
    return (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
  }
  hi = 0;
}

/**
 * `len` bytes of `data` from `off` as little-endian words into w[at..] (SipHash.hashWords' message), the bytes
 * of a last partial word beyond them zero. Returns `w`.
 */
export function loadWords(w: Uint32Array, at: number, data: Uint8Array, off: number, len: number): Uint32Array {
  // Four bytes a word; a last word read past the message is cut back to its bytes.
  for (let i = 0, p = off; i < len; i += 4, p += 4) w[at + (i >>> 2)] = data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16) | (data[p + 3]! << 24);
  if (len & 3) w[at + (len >>> 2)]! &= (1 << 8 * (len & 3)) - 1;
  return w;
}
