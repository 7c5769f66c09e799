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
    const le = (o: number) => (key[o]! | (key[o + 1]! << 8) | (key[o + 2]! << 16) | (key[o + 3]! << 24)) >>> 0;
    const k0lo = le(0), k0hi = le(4), k1lo = le(8), k1hi = le(12);
    const v = this.init;
    // v0 = k0 ^ "somepseu", v1 = k1 ^ "dorandom", v2 = k0 ^ "lygenera", v3 = k1 ^ "tedbytes"
    v[0] = k0hi ^ 0x736f6d65; v[1] = k0lo ^ 0x70736575;
    v[2] = k1hi ^ 0x646f7261; v[3] = k1lo ^ 0x6e646f6d;
    v[4] = k0hi ^ 0x6c796765; v[5] = k0lo ^ 0x6e657261;
    v[6] = k1hi ^ 0x74656462; v[7] = k1lo ^ 0x79746573;
  }

  /** Hash `len` bytes of `data` from `off`. Returns the low 32 bits; the high 32 bits are in `hi` afterwards. */
  hash(data: Uint8Array, off = 0, len = data.length - off): number {
    const n = (len + 3) >>> 2;
    if (this.words.length < n + 2) this.words = new Uint32Array(n + 2);
    const w = this.words;
    const full = len & ~3;
    let j = 0;
    for (let i = 0; i < full; i += 4, j++) {
      const p = off + i;
      w[j] = data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16) | (data[p + 3]! << 24);
    }
    if (full < len) {
      let x = 0;
      for (let i = full; i < len; i++) x |= data[off + i]! << (8 * (i - full));
      w[j] = x;
    }
    return this.hashWords(w, len);
  }

  /**
   * Hash a message of `len` bytes given as little-endian 32-bit words (byte i of the message is byte i % 4 of
   * word i / 4); the bytes of the last word beyond `len` must be zero. The same result as hash() over those
   * bytes, without them: a caller that has its input as numbers (IsnGenerator) skips the byte buffer.
   */
  hashWords(w: Uint32Array, len: number): number {
    const k = this.init;
    // The state in locals for the whole message (a round reads and writes no memory), as int32 (V8 keeps them
    // in integer registers; uint32 values above 2^31 would be doubles): additions carry by unsigned comparison.
    let v0h = k[0]!, v0l = k[1]!, v1h = k[2]!, v1l = k[3]!, v2h = k[4]!, v2l = k[5]!, v3h = k[6]!, v3l = k[7]!;
    let lo: number, h: number, l: number;
    const blocks = len >>> 3;
    const rem = len & 7;
    for (let b = 0; b <= blocks; b++) {
      let mlo: number, mhi: number;
      if (b < blocks) { mlo = w[2 * b]! | 0; mhi = w[2 * b + 1]! | 0; } else {
        // Last block: the remaining bytes, the length's low byte in the top byte.
        mlo = rem > 0 ? w[2 * b]! | 0 : 0;
        mhi = (rem > 4 ? w[2 * b + 1]! : 0) | ((len & 0xff) << 24);
      }
      v3h ^= mhi; v3l ^= mlo;
      for (let r = 0; r < 2; r++) {
        // SipRound (commented in the finalization below).
        lo = (v0l + v1l) | 0; v0h = (v0h + v1h + ((lo >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0; v0l = lo;
        h = (v1h << 13) | (v1l >>> 19); l = (v1l << 13) | (v1h >>> 19); v1h = h ^ v0h; v1l = l ^ v0l;
        h = v0h; v0h = v0l; v0l = h;
        lo = (v2l + v3l) | 0; v2h = (v2h + v3h + ((lo >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0; v2l = lo;
        h = (v3h << 16) | (v3l >>> 16); l = (v3l << 16) | (v3h >>> 16); v3h = h ^ v2h; v3l = l ^ v2l;
        lo = (v0l + v3l) | 0; v0h = (v0h + v3h + ((lo >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0; v0l = lo;
        h = (v3h << 21) | (v3l >>> 11); l = (v3l << 21) | (v3h >>> 11); v3h = h ^ v0h; v3l = l ^ v0l;
        lo = (v2l + v1l) | 0; v2h = (v2h + v1h + ((lo >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0; v2l = lo;
        h = (v1h << 17) | (v1l >>> 15); l = (v1l << 17) | (v1h >>> 15); v1h = h ^ v2h; v1l = l ^ v2l;
        h = v2h; v2h = v2l; v2l = h;
      }
      v0h ^= mhi; v0l ^= mlo;
    }
    v2l ^= 0xff; // v2 ^= 0xff
    for (let r = 0; r < 4; r++) {
      // v0 += v1; v1 = rotl(v1,13); v1 ^= v0; v0 = rotl(v0,32)
      lo = (v0l + v1l) | 0; v0h = (v0h + v1h + ((lo >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0; v0l = lo;
      h = (v1h << 13) | (v1l >>> 19); l = (v1l << 13) | (v1h >>> 19); v1h = h ^ v0h; v1l = l ^ v0l;
      h = v0h; v0h = v0l; v0l = h;
      // v2 += v3; v3 = rotl(v3,16); v3 ^= v2
      lo = (v2l + v3l) | 0; v2h = (v2h + v3h + ((lo >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0; v2l = lo;
      h = (v3h << 16) | (v3l >>> 16); l = (v3l << 16) | (v3h >>> 16); v3h = h ^ v2h; v3l = l ^ v2l;
      // v0 += v3; v3 = rotl(v3,21); v3 ^= v0
      lo = (v0l + v3l) | 0; v0h = (v0h + v3h + ((lo >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0; v0l = lo;
      h = (v3h << 21) | (v3l >>> 11); l = (v3l << 21) | (v3h >>> 11); v3h = h ^ v0h; v3l = l ^ v0l;
      // v2 += v1; v1 = rotl(v1,17); v1 ^= v2; v2 = rotl(v2,32)
      lo = (v2l + v1l) | 0; v2h = (v2h + v1h + ((lo >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0; v2l = lo;
      h = (v1h << 17) | (v1l >>> 15); l = (v1l << 17) | (v1h >>> 15); v1h = h ^ v2h; v1l = l ^ v2l;
      h = v2h; v2h = v2l; v2l = h;
    }
    this.hi = (v0h ^ v1h ^ v2h ^ v3h) >>> 0;
    return (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
  }
  hi = 0;
}
