/**
 * Initial sequence numbers per RFC 6528 (ISN = M + F(4-tuple, secret)) and the SipHash-2-4 PRF behind F.
 * What a user would check: ISNs advance with a 4 µs clock for one tuple, differ unpredictably between
 * tuples and between secrets, and show no simple correlation an off-path attacker could exploit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SipHash } from './siphash.js';
import { IsnGenerator } from './isn.js';

// SipHash-2-4 reference vectors (Aumasson & Bernstein, "SipHash: a fast short-input PRF", Appendix A and the
// reference implementation's vectors.h, all 64): key = 00 01 .. 0f, message i = 00 01 .. (i-1). Each output is the
// 64-bit result in little-endian byte order, as the reference code emits it.
const VECTORS: string[] = [
  '310e0edd47db6f72', 'fd67dc93c539f874', '5a4fa9d909806c0d', '2d7efbd796666785',
  'b7877127e09427cf', '8da699cd64557618', 'cee3fe586e46c9cb', '37d1018bf50002ab',
  '6224939a79f5f593', 'b0e4a90bdf82009e', 'f3b9dd94c5bb5d7a', 'a7ad6b22462fb3f4',
  'fbe50e86bc8f1e75', '903d84c02756ea14', 'eef27a8e90ca23f7', 'e545be4961ca29a1',
  'db9bc2577fcc2a3f', '9447be2cf5e99a69', '9cd38d96f0b3c14b', 'bd6179a71dc96dbb',
  '98eea21af25cd6be', 'c7673b2eb0cbf2d0', '883ea3e395675393', 'c8ce5ccd8c030ca8',
  '94af49f6c650adb8', 'eab8858ade92e1bc', 'f315bb5bb835d817', 'adcf6b0763612e2f',
  'a5c91da7acaa4dde', '716595876650a2a6', '28ef495c53a387ad', '42c341d8fa92d832',
  'ce7cf2722f512771', 'e37859f94623f3a7', '381205bb1ab0e012', 'ae97a10fd434e015',
  'b4a31508beff4d31', '81396229f0907902', '4d0cf49ee5d4dcca', '5c73336a76d8bf9a',
  'd0a704536ba93e0e', '925958fcd6420cad', 'a915c29bc8067318', '952b79f3bc0aa6d4',
  'f21df2e41d4535f9', '87577519048f53a9', '10a56cf5dfcd9adb', 'eb75095ccd986cd0',
  '51a9cb9ecba312e6', '96afadfc2ce666c7', '72fe52975a4364ee', '5a1645b276d592a1',
  'b274cb8ebf87870a', '6f9bb4203de7b381', 'eaecb2a30b22a87f', '9924a43cc1315724',
  'bd838d3aafbf8db7', '0b1a2a3265d51aea', '135079a3231ce660', '932b2846e4d70666',
  'e1915f5cb1eca46c', 'f325965ca16d629f', '575ff28e60381be5', '724506eb4c328a95',
];

const KEY = Uint8Array.from({ length: 16 }, (_, i) => i);

function leHex(lo: number, hi: number): string {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setUint32(0, lo, true);
  new DataView(b.buffer).setUint32(4, hi, true);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

test('SipHash-2-4 matches the reference vectors for messages of 0..63 bytes (key 00..0f)', () => {
  const h = new SipHash(KEY);
  for (let len = 0; len < VECTORS.length; len++) {
    const msg = Uint8Array.from({ length: len }, (_, i) => i);
    const lo = h.hash(msg);
    assert.equal(leHex(lo, h.hi), VECTORS[len], `message length ${len}`);
  }
});

test('SipHash: the 15-byte vector is 0xa129ca6149be45e5: hash() returns the low word, .hi the high word', () => {
  const h = new SipHash(KEY);
  const lo = h.hash(Uint8Array.from({ length: 15 }, (_, i) => i));
  assert.equal(lo, 0x49be45e5);
  assert.equal(h.hi, 0xa129ca61);
});

test('SipHash: hashing a sub-range (offset, length) equals hashing a copy; the scratch state is reset each call', () => {
  const h = new SipHash(KEY);
  const buf = Uint8Array.from({ length: 40 }, (_, i) => (i + 0x30) & 0xff);
  const msg = Uint8Array.from({ length: 15 }, (_, i) => i);
  buf.set(msg, 7);
  const lo = h.hash(buf, 7, 15);
  assert.equal(leHex(lo, h.hi), VECTORS[15]);
  // Again, after an unrelated hash: same answer.
  h.hash(buf);
  assert.equal(leHex(h.hash(buf, 7, 15), h.hi), VECTORS[15]);
});

test('SipHash: a key that is not 16 bytes is a RangeError, not a silent weak key', () => {
  assert.throws(() => new SipHash(new Uint8Array(8)), RangeError);
});

// ---------------------------------------------------------------------------------------------
const A4 = Uint8Array.of(192, 0, 2, 1);
const B4 = Uint8Array.of(198, 51, 100, 7);

function secret(seed: number): Uint8Array {
  // Deterministic "random" secret: xorshift32 bytes (the stack injects real randomness).
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; out[i] = x & 0xff; }
  return out;
}

test('ISN for one tuple advances with the 4 µs clock: +250000 per second, +1 per 4 µs, wrapping mod 2^32', () => {
  const g = new IsnGenerator(secret(1));
  const at = (ms: number) => g.isn(A4, 80, B4, 40000, ms);
  const base = at(1000);
  assert.equal((at(2000) - base) >>> 0, 250_000);
  assert.equal((at(1000.004) - base) >>> 0, 1);
  assert.equal((at(1000.0039) - base) >>> 0, 0, 'below one 4 µs tick');
  assert.equal((at(61_000) - base) >>> 0, 15_000_000);
  // After 2^32 ticks (about 4.77 hours) M wraps: the ISN is where it started.
  const wrapMs = 2 ** 32 / 250;
  assert.equal(at(1000 + wrapMs), base);
  // Monotonic within a wrap: later connections never get a smaller ISN (in sequence space) for the same tuple.
  let prev = base;
  for (let t = 1000; t < 1000 + 3_600_000; t += 97_531) {
    const v = at(t);
    assert.ok(((v - prev) | 0) >= 0, `ISN went backwards at ${t} ms`);
    prev = v;
  }
});

test('ISNs differ between tuples (each port, each address, the direction) at the same time', () => {
  const g = new IsnGenerator(secret(2));
  const t = 5000;
  const seen = new Set<number>();
  const tuples: Array<[Uint8Array, number, Uint8Array, number]> = [
    [A4, 80, B4, 40000], [A4, 80, B4, 40001], [A4, 81, B4, 40000], [B4, 80, A4, 40000],
    [A4, 40000, B4, 80], [Uint8Array.of(192, 0, 2, 2), 80, B4, 40000],
    [new Uint8Array(16).fill(0x20), 80, new Uint8Array(16).fill(0x30), 40000],
  ];
  for (const [la, lp, ra, rp] of tuples) seen.add(g.isn(la, lp, ra, rp, t));
  assert.equal(seen.size, tuples.length);
});

test('ISNs differ between secrets for the same tuple and time, and F changes completely with the secret', () => {
  const isns = new Set<number>();
  for (let s = 1; s <= 64; s++) isns.add(new IsnGenerator(secret(s)).isn(A4, 80, B4, 40000, 0));
  assert.equal(isns.size, 64);
});

test('no simple correlation: the offset between two tuples\' ISNs is not constant across secrets', () => {
  // If ISN(t1) - ISN(t2) were the same for every secret, an attacker who learns one of his own ISNs could
  // predict a victim tuple's. With a PRF the difference is different under each secret.
  const diffs = new Set<number>();
  for (let s = 1; s <= 50; s++) {
    const g = new IsnGenerator(secret(s));
    diffs.add((g.isn(A4, 80, B4, 40000, 777) - g.isn(A4, 80, B4, 40001, 777)) >>> 0);
  }
  assert.equal(diffs.size, 50);
  // Nor is the offset between neighbouring ports constant within one secret.
  const g = new IsnGenerator(secret(99));
  const steps = new Set<number>();
  for (let p = 40000; p < 40050; p++) steps.add((g.isn(A4, 80, B4, p + 1, 0) - g.isn(A4, 80, B4, p, 0)) >>> 0);
  assert.equal(steps.size, 50);
});

test('bit balance: over 4096 tuples each ISN bit is set about half the time, and flipping one port bit flips ~16 bits', () => {
  const g = new IsnGenerator(secret(7));
  const N = 4096;
  const ones = new Array<number>(32).fill(0);
  let flipped = 0;
  for (let i = 0; i < N; i++) {
    const port = 1024 + i;
    const v = g.isn(A4, 443, B4, port, 0);
    for (let b = 0; b < 32; b++) if ((v >>> b) & 1) ones[b]!++;
    const w = g.isn(A4, 443, B4, port ^ 0x8000, 0);
    let x = (v ^ w) >>> 0;
    while (x) { flipped += x & 1; x >>>= 1; }
  }
  // Binomial(4096, 1/2): sd = 32; allow 5 sd.
  for (let b = 0; b < 32; b++) assert.ok(Math.abs(ones[b]! - N / 2) < 160, `bit ${b} set ${ones[b]} of ${N} times`);
  const meanFlip = flipped / N;
  assert.ok(meanFlip > 15 && meanFlip < 17, `avalanche: mean bits flipped ${meanFlip}`);
});

test('fromRandom draws the 16-byte secret from the injected source (deterministic in tests)', () => {
  const fill = (b: Uint8Array) => { for (let i = 0; i < b.length; i++) b[i] = (i * 37 + 11) & 0xff; };
  const g1 = IsnGenerator.fromRandom(fill);
  const g2 = IsnGenerator.fromRandom(fill);
  assert.equal(g1.isn(A4, 80, B4, 40000, 123), g2.isn(A4, 80, B4, 40000, 123));
  const key = new Uint8Array(16); fill(key);
  assert.equal(new IsnGenerator(key).isn(A4, 80, B4, 40000, 123), g1.isn(A4, 80, B4, 40000, 123));
  let calls = 0;
  IsnGenerator.fromRandom((b) => { calls++; assert.equal(b.length, 16); });
  assert.equal(calls, 1);
});

test('SipHash.hashWords: a message given as little-endian words hashes as its bytes (every length 0..63, reference vectors)', () => {
  const h = new SipHash(KEY);
  for (let len = 0; len < VECTORS.length; len++) {
    const w = new Uint32Array(16);
    for (let i = 0; i < len; i++) w[i >>> 2]! |= i << (8 * (i & 3));
    const lo = h.hashWords(w, len);
    assert.equal(leHex(lo, h.hi), VECTORS[len], `message length ${len}`);
  }
});

test('ISN is M + SipHash-2-4 over local address, remote address (IPv4: 4 bytes each; IPv6: 16), local port, remote port: the same key and tuple give the same ISN', () => {
  // RFC 6528's F, built byte by byte as the layout says, against the generator (which writes it as words).
  let x = 7;
  const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  for (const alen of [4, 16]) {
    for (let i = 0; i < 300; i++) {
      const key = secret(rnd());
      const la = Uint8Array.from({ length: alen }, () => rnd() & 0xff);
      const ra = Uint8Array.from({ length: alen }, () => rnd() & 0xff);
      const lp = rnd() & 0xffff, rp = rnd() & 0xffff, now = (rnd() % 1e9) / 7;
      const msg = new Uint8Array(alen === 4 ? 12 : 36);
      msg.set(la, 0); msg.set(ra, alen);
      msg[2 * alen] = lp >>> 8; msg[2 * alen + 1] = lp & 0xff; msg[2 * alen + 2] = rp >>> 8; msg[2 * alen + 3] = rp & 0xff;
      const want = (Math.floor(now * 250) + new SipHash(key).hash(msg)) >>> 0;
      const g = new IsnGenerator(key);
      assert.equal(g.isn(la, lp, ra, rp, now), want, `IPv${alen === 4 ? 4 : 6} tuple ${i}`);
      // A generator with the same key material, after other tuples: the same ISN.
      g.isn(ra, rp, la, lp, now);
      assert.equal(new IsnGenerator(Uint8Array.from(key)).isn(la, lp, ra, rp, now), g.isn(la, lp, ra, rp, now));
    }
  }
});

// An independent SipHash-2-4 on 64-bit BigInts, written from the paper's description, to check the 32-bit-lane
// implementation where the reference vectors' single key does not reach: random keys and messages, so the low
// words' additions carry and do not carry in every combination.
function sipHashBig(key: Uint8Array, msg: Uint8Array): bigint {
  const M = (1n << 64n) - 1n;
  const le = (b: Uint8Array, o: number, n: number): bigint => { let x = 0n; for (let i = n - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[o + i]!); return x; };
  const rotl = (x: bigint, n: bigint): bigint => ((x << n) | (x >> (64n - n))) & M;
  const k0 = le(key, 0, 8), k1 = le(key, 8, 8);
  let v0 = k0 ^ 0x736f6d6570736575n, v1 = k1 ^ 0x646f72616e646f6dn, v2 = k0 ^ 0x6c7967656e657261n, v3 = k1 ^ 0x7465646279746573n;
  const round = (): void => {
    v0 = (v0 + v1) & M; v1 = rotl(v1, 13n) ^ v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M; v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & M; v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & M; v1 = rotl(v1, 17n) ^ v2; v2 = rotl(v2, 32n);
  };
  const n = msg.length, end = n - (n % 8);
  for (let i = 0; i <= end; i += 8) {
    const m = i < end ? le(msg, i, 8) : le(msg, i, n - end) | (BigInt(n & 0xff) << 56n);
    v3 ^= m; round(); round(); v0 ^= m;
  }
  v2 ^= 0xffn; round(); round(); round(); round();
  return v0 ^ v1 ^ v2 ^ v3;
}

test('SipHash-2-4 equals an independent 64-bit implementation for 2000 random keys and messages of 0..47 bytes', () => {
  let x = 0x2545f491;
  const byte = (): number => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x & 0xff; };
  for (let i = 0; i < 2000; i++) {
    const key = Uint8Array.from({ length: 16 }, byte);
    const msg = Uint8Array.from({ length: i % 48 }, byte);
    const h = new SipHash(key);
    const lo = h.hash(msg);
    const want = sipHashBig(key, msg);
    assert.equal((BigInt(h.hi) << 32n) | BigInt(lo), want, `key ${key.join(',')} message ${msg.join(',')}`);
  }
});
