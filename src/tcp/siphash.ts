/**
 * SipHash-2-4 (Aumasson & Bernstein) with 64-bit lanes held as (hi, lo) uint32 pairs, so it runs on
 * plain JS numbers in any browser. Used as the keyed PRF for ISNs (RFC 6528 §3) and SYN cookies.
 */
export class SipHash {
  // Key as four 32-bit words: k0 = (k0hi, k0lo), k1 = (k1hi, k1lo).
  private readonly k0lo: number; private readonly k0hi: number;
  private readonly k1lo: number; private readonly k1hi: number;
  // Scratch state (v0..v3 hi/lo); reused, so hashing allocates nothing.
  private v = new Uint32Array(8);

  /** key: 16 bytes. */
  constructor(key: Uint8Array) {
    if (key.length !== 16) throw new RangeError('SipHash key must be 16 bytes');
    const le = (o: number) => (key[o]! | (key[o + 1]! << 8) | (key[o + 2]! << 16) | (key[o + 3]! << 24)) >>> 0;
    this.k0lo = le(0); this.k0hi = le(4); this.k1lo = le(8); this.k1hi = le(12);
  }

  /** Hash `len` bytes of `data` from `off`. Returns the low 32 bits; the high 32 bits are in `hi` afterwards. */
  hash(data: Uint8Array, off = 0, len = data.length - off): number {
    const v = this.v;
    // v0 = k0 ^ "somepseu", v1 = k1 ^ "dorandom", v2 = k0 ^ "lygenera", v3 = k1 ^ "tedbytes"
    v[0] = this.k0hi ^ 0x736f6d65; v[1] = this.k0lo ^ 0x70736575;
    v[2] = this.k1hi ^ 0x646f7261; v[3] = this.k1lo ^ 0x6e646f6d;
    v[4] = this.k0hi ^ 0x6c796765; v[5] = this.k0lo ^ 0x6e657261;
    v[6] = this.k1hi ^ 0x74656462; v[7] = this.k1lo ^ 0x79746573;
    const end = off + len;
    const full = off + (len & ~7);
    let i = off;
    for (; i < full; i += 8) {
      const mlo = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0;
      const mhi = (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24)) >>> 0;
      this.absorb(mhi, mlo);
    }
    // Last block: remaining bytes plus the length in the top byte.
    let blo = 0, bhi = (len & 0xff) << 24;
    const rem = end - i;
    for (let j = 0; j < rem; j++) {
      const b = data[i + j]!;
      if (j < 4) blo |= b << (8 * j); else bhi |= b << (8 * (j - 4));
    }
    this.absorb(bhi >>> 0, blo >>> 0);
    v[5] = (v[5]! ^ 0xff) >>> 0; // v2 ^= 0xff
    this.round(); this.round(); this.round(); this.round();
    const lo = (v[1]! ^ v[3]! ^ v[5]! ^ v[7]!) >>> 0;
    this.hi = (v[0]! ^ v[2]! ^ v[4]! ^ v[6]!) >>> 0;
    return lo;
  }
  hi = 0;

  private absorb(mhi: number, mlo: number): void {
    const v = this.v;
    v[6] = (v[6]! ^ mhi) >>> 0; v[7] = (v[7]! ^ mlo) >>> 0;
    this.round(); this.round();
    v[0] = (v[0]! ^ mhi) >>> 0; v[1] = (v[1]! ^ mlo) >>> 0;
  }

  private round(): void {
    const v = this.v;
    let v0h = v[0]!, v0l = v[1]!, v1h = v[2]!, v1l = v[3]!, v2h = v[4]!, v2l = v[5]!, v3h = v[6]!, v3l = v[7]!;
    let lo: number, h: number, l: number;
    // v0 += v1; v1 = rotl(v1,13); v1 ^= v0; v0 = rotl(v0,32)
    lo = (v0l + v1l) >>> 0; v0h = (v0h + v1h + (lo < v0l ? 1 : 0)) >>> 0; v0l = lo;
    h = ((v1h << 13) | (v1l >>> 19)) >>> 0; l = ((v1l << 13) | (v1h >>> 19)) >>> 0; v1h = (h ^ v0h) >>> 0; v1l = (l ^ v0l) >>> 0;
    h = v0h; v0h = v0l; v0l = h;
    // v2 += v3; v3 = rotl(v3,16); v3 ^= v2
    lo = (v2l + v3l) >>> 0; v2h = (v2h + v3h + (lo < v2l ? 1 : 0)) >>> 0; v2l = lo;
    h = ((v3h << 16) | (v3l >>> 16)) >>> 0; l = ((v3l << 16) | (v3h >>> 16)) >>> 0; v3h = (h ^ v2h) >>> 0; v3l = (l ^ v2l) >>> 0;
    // v0 += v3; v3 = rotl(v3,21); v3 ^= v0
    lo = (v0l + v3l) >>> 0; v0h = (v0h + v3h + (lo < v0l ? 1 : 0)) >>> 0; v0l = lo;
    h = ((v3h << 21) | (v3l >>> 11)) >>> 0; l = ((v3l << 21) | (v3h >>> 11)) >>> 0; v3h = (h ^ v0h) >>> 0; v3l = (l ^ v0l) >>> 0;
    // v2 += v1; v1 = rotl(v1,17); v1 ^= v2; v2 = rotl(v2,32)
    lo = (v2l + v1l) >>> 0; v2h = (v2h + v1h + (lo < v2l ? 1 : 0)) >>> 0; v2l = lo;
    h = ((v1h << 17) | (v1l >>> 15)) >>> 0; l = ((v1l << 17) | (v1h >>> 15)) >>> 0; v1h = (h ^ v2h) >>> 0; v1l = (l ^ v2l) >>> 0;
    h = v2h; v2h = v2l; v2l = h;
    v[0] = v0h; v[1] = v0l; v[2] = v1h; v[3] = v1l; v[4] = v2h; v[5] = v2l; v[6] = v3h; v[7] = v3l;
  }
}
