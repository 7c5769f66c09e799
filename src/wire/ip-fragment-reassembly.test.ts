import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeIp, encodeIpHeader } from './ip.js';
import { parseAddress } from './address.js';
import { finishChecksum, onesComplementSum } from './checksum.js';
import { DATAGRAM_OVERHEAD, FRAGMENT_OVERHEAD, IpReassembler, fragment, fragmentAt } from './ip-reassembly.js';

/** A whole datagram: IPv4 (no DF, so it may be fragmented) or IPv6, `payload` as its upper-layer bytes. */
function datagram(version: 4 | 6, payload: Uint8Array, opts: { src?: string; dst?: string; protocol?: number; tos?: number; id?: number } = {}): Uint8Array {
  const src = parseAddress(opts.src ?? (version === 4 ? '192.0.2.1' : '2001:db8::1'));
  const dst = parseAddress(opts.dst ?? (version === 4 ? '192.0.2.2' : '2001:db8::2'));
  const hl = version === 4 ? 20 : 40;
  const out = new Uint8Array(hl + payload.length);
  encodeIpHeader({ src, dst, protocol: opts.protocol ?? 17, df: false, tos: opts.tos ?? 0, id: opts.id ?? 0x1234 }, payload.length, out, 0);
  out.set(payload, hl);
  return out;
}

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) { x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i; b[i] = x >>> 24; }
  return b;
}

function refreshIpv4Checksum(p: Uint8Array): void {
  p[10] = 0; p[11] = 0;
  const c = finishChecksum(onesComplementSum(p, 0, 20));
  p[10] = c >> 8; p[11] = c & 0xff;
}

/** Every push; returns the datagrams completed. */
function pushAll(r: IpReassembler, frags: Uint8Array[], now = 0): Uint8Array[] {
  const done: Uint8Array[] = [];
  for (const f of frags) { const d = r.push(f, now); if (d) done.push(d); }
  return done;
}

test('random fragmentations of random datagrams, in random order and with duplicates, reassemble to the original', () => {
  const arb = fc.record({
    version: fc.constantFrom<4 | 6>(4, 6),
    len: fc.integer({ min: 9, max: 6000 }),
    seed: fc.integer(),
    tos: fc.constantFrom(0, 1, 2, 0xb8),
    cutFractions: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 40 }),
    order: fc.array(fc.nat(), { minLength: 50, maxLength: 50 }),
    dups: fc.array(fc.nat(), { maxLength: 5 }),
  });
  fc.assert(fc.property(arb, ({ version, len, seed, tos, cutFractions, order, dups }) => {
    const original = datagram(version, bytes(len, seed), { tos });
    const cuts = [...new Set(cutFractions.map((f) => Math.floor((f * len) / 8) * 8).filter((c) => c > 0 && c < len))].sort((a, b) => a - b);
    fc.pre(cuts.length > 0);
    const frags = fragmentAt(original, cuts, 0x1234);
    // A random permutation (Fisher–Yates driven by `order`), then some exact duplicates anywhere.
    for (let i = frags.length - 1; i > 0; i--) { const j = order[i % order.length]! % (i + 1); [frags[i], frags[j]] = [frags[j]!, frags[i]!]; }
    for (const d of dups) frags.splice(d % (frags.length + 1), 0, frags[d % frags.length]!.slice());
    const r = new IpReassembler();
    const done = pushAll(r, frags);
    // Duplicates arriving after completion start the datagram again (and may complete it again, as on Linux).
    assert.ok(done.length >= 1 && done.length <= 1 + dups.length);
    for (const d of done) assert.deepEqual(d, original);
    assert.ok(r.pending <= dups.length);
    assert.equal(r.counters.ReasmOverlaps, 0);
    if (dups.length === 0) { assert.equal(done.length, 1); assert.equal(r.pending, 0); assert.equal(r.heldBytes, 0); }
  }), { numRuns: 300 });
});

test('fragment() cuts to the MTU and the pieces reassemble; a datagram within the MTU is left whole', () => {
  for (const version of [4, 6] as const) {
    const original = datagram(version, bytes(3008, 7));
    const frags = fragment(original, 1500, 99);
    assert.equal(frags.length, 3);
    for (const f of frags) assert.ok(f.length <= 1500);
    assert.deepEqual(pushAll(new IpReassembler(), frags.reverse()), [original]);
    const small = datagram(version, bytes(100, 1));
    assert.deepEqual(fragment(small, 1500, 1), [small]);
  }
});

test('a packet that is no fragment passes through unchanged and is not counted', () => {
  const r = new IpReassembler();
  const p = datagram(4, bytes(100, 3));
  assert.equal(r.push(p, 0), p);
  assert.equal(r.counters.ReasmReqds, 0);
});

test('an IPv6 atomic fragment (offset 0, M = 0) is processed on its own (RFC 6946)', () => {
  const original = datagram(6, bytes(64, 5));
  const [atomic] = fragmentAt(original, [], 7);
  assert.equal(decodeIp(atomic!).extHeaders[0]!.type, 44);
  assert.deepEqual(new IpReassembler().push(atomic!, 0), original);
});

for (const version of [4, 6] as const) {
  test(`IPv${version}: an overlapping fragment discards the whole datagram, and its later fragments too (RFC 5722)`, () => {
    const original = datagram(version, bytes(2400, 11));
    const frags = fragmentAt(original, [800, 1600], 5);
    const overlapping = fragmentAt(original, [400, 1200], 5)[1]!; // data 400..1200 overlaps 0..800
    const r = new IpReassembler();
    assert.equal(r.push(frags[0]!, 0), null);
    assert.equal(r.push(overlapping, 0), null);
    assert.equal(r.lastDrop, 'overlap');
    assert.equal(r.push(frags[1]!, 0), null);
    assert.equal(r.push(frags[2]!, 0), null);
    assert.equal(r.counters.ReasmOverlaps, 1);
    assert.equal(r.counters.ReasmDiscardedLate, 2);
    assert.equal(r.counters.ReasmOKs, 0);
    // Once the discarded entry has timed out, the same datagram can be reassembled afresh.
    const later = (version === 4 ? r.timeoutMs : r.timeoutMs6) + 1;
    assert.deepEqual(pushAll(r, frags, later), [original]);
  });
}

test('an exact duplicate is dropped alone, as Linux does', () => {
  const original = datagram(4, bytes(1600, 2));
  const frags = fragmentAt(original, [800], 5);
  const r = new IpReassembler();
  assert.equal(r.push(frags[0]!, 0), null);
  assert.equal(r.push(frags[0]!, 0), null);
  assert.equal(r.lastDrop, 'duplicate');
  assert.deepEqual(r.push(frags[1]!, 0), original);
  assert.equal(r.counters.ReasmDuplicates, 1);
});

test('a datagram that would exceed 65 535 bytes (ping of death) is dropped and counted', () => {
  const original = datagram(4, bytes(2000, 2));
  const [first, last] = fragmentAt(original, [1000], 9);
  // Move the last fragment's offset to 65 528: its end lies past 65 535.
  const f = last!.slice();
  f[6] = (65528 / 8) >> 8; f[7] = (65528 / 8) & 0xff;
  refreshIpv4Checksum(f);
  const r = new IpReassembler();
  r.push(first!, 0);
  assert.equal(r.push(f, 0), null);
  assert.equal(r.lastDrop, 'too-long');
  assert.equal(r.counters.ReasmTooLong, 1);
});

test('a second, different last fragment discards the datagram', () => {
  const a = datagram(6, bytes(1600, 2));
  const b = datagram(6, bytes(2400, 2));
  const r = new IpReassembler();
  r.push(fragmentAt(a, [800], 3)[1]!, 0);
  assert.equal(r.push(fragmentAt(b, [1600], 3)[1]!, 0), null);
  assert.equal(r.lastDrop, 'inconsistent-end');
  assert.equal(r.counters.ReasmBadEnd, 1);
});

test('an IPv6 non-last fragment whose length is not a multiple of 8 is dropped (RFC 8200 §4.5)', () => {
  const original = datagram(6, bytes(1600, 2));
  const [first] = fragmentAt(original, [800], 3);
  const bad = first!.slice(0, first!.length - 3);
  bad[5] = bad[5]! - 3;
  const r = new IpReassembler();
  assert.equal(r.push(bad, 0), null);
  assert.equal(r.lastDrop, 'bad-length');
});

test('ECN: CE on one fragment marks the datagram CE; ECT mixed with Not-ECT discards it (RFC 3168 §5.3)', () => {
  const frags = fragmentAt(datagram(4, bytes(1600, 2), { tos: 2 }), [800], 4);
  const ce = frags[1]!.slice();
  ce[1] = 3;
  refreshIpv4Checksum(ce);
  const r = new IpReassembler();
  r.push(frags[0]!, 0);
  const d = r.push(ce, 0);
  assert.ok(d);
  assert.equal(decodeIp(d).tos & 3, 3);
  assert.equal(decodeIp(d).checksumOk, true);

  const notEct = fragmentAt(datagram(4, bytes(1600, 2), { tos: 0 }), [800], 4)[1]!;
  const r2 = new IpReassembler();
  r2.push(frags[0]!, 0);
  assert.equal(r2.push(notEct, 0), null);
  assert.equal(r2.lastDrop, 'ecn-mix');
});

test('an incomplete datagram times out: counted, its memory released, ICMP time exceeded offered for a first fragment', () => {
  const seen: Array<{ version: number; len: number }> = [];
  const r = new IpReassembler({ timeoutMs: 1000, timeoutMs6: 2000, onTimeout: (f, version) => seen.push({ version, len: f.length }) });
  const v4 = fragmentAt(datagram(4, bytes(1600, 2)), [800], 1);
  const v6 = fragmentAt(datagram(6, bytes(1600, 2)), [800], 1);
  r.push(v4[0]!, 0);
  r.push(v6[0]!, 0);
  r.push(fragmentAt(datagram(4, bytes(1600, 2), { id: 77 }), [800], 77)[1]!, 0); // no first fragment: no ICMP
  assert.equal(r.pending, 3);
  assert.equal(r.nextExpiry(), 1000);
  assert.equal(r.expire(999), 0);
  assert.equal(r.expire(1000), 2);
  assert.deepEqual(seen, [{ version: 4, len: 20 + 800 }]);
  assert.equal(r.nextExpiry(), 2000);
  // The late second half of the IPv4 datagram starts a new, incomplete one.
  assert.equal(r.push(v4[1]!, 1500), null);
  assert.equal(r.expire(2000), 1);
  assert.deepEqual(seen.map((s) => s.version), [4, 6]);
  assert.equal(seen[1]!.len, 40 + 8 + 800);
  assert.equal(r.counters.ReasmTimeout, 3);
  r.expire(10_000);
  assert.equal(r.heldBytes, 0);
  assert.equal(r.pending, 0);
});

test('a fragment flood from many sources and one source stays within the total and per-source bounds', () => {
  const maxBytes = 256 * 1024, maxPerSource = 64 * 1024;
  const r = new IpReassembler({ maxBytes, maxPerSource });
  let x = 12345;
  const rnd = (n: number): number => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return x % n; };
  let completed = 0;
  for (let i = 0; i < 20_000; i++) {
    // Half from one source, half from random sources; random ids, offsets and sizes, never completing.
    const src = i % 2 ? '203.0.113.9' : `10.${rnd(256)}.${rnd(256)}.${rnd(256)}`;
    const payload = bytes(8 + 8 * rnd(180), i);
    const p = datagram(i % 3 ? 4 : 6, payload, { src: i % 3 ? src : `2001:db8::${rnd(65536).toString(16)}`, id: rnd(65536) });
    const cuts = [8 * (1 + rnd(Math.max(1, payload.length / 8 - 1)))].filter((c) => c < payload.length);
    if (!cuts.length) continue;
    const frags = fragmentAt(p, cuts, rnd(65536));
    if (r.push(frags[rnd(frags.length)]!, i) !== null) completed++;
    assert.ok(r.heldBytes <= maxBytes, `held ${r.heldBytes} > ${maxBytes}`);
    assert.ok(r.heldFor(parseAddress('203.0.113.9')) <= maxPerSource);
  }
  assert.equal(completed, 0);
  assert.ok(r.counters.ReasmEvictedTotal + r.counters.ReasmEvictedSource > 0, 'the bounds were reached');
  // Everything the reassembler holds is accounted for: data plus per-entry overheads.
  assert.ok(r.pending * DATAGRAM_OVERHEAD <= r.heldBytes);
  assert.ok(FRAGMENT_OVERHEAD > 0);
});

test('a legitimate datagram completes during a flood from another source (per-source bound)', () => {
  const r = new IpReassembler({ maxBytes: 1 << 20, maxPerSource: 64 * 1024 });
  const legit = datagram(4, bytes(3000, 1), { src: '198.51.100.7', id: 4242 });
  const lf = fragment(legit, 1500, 4242);
  r.push(lf[0]!, 0);
  for (let i = 0; i < 5000; i++) {
    const p = datagram(4, bytes(1600, i), { src: '203.0.113.9', id: i });
    r.push(fragmentAt(p, [800], i)[0]!, 0);
  }
  assert.ok(r.heldFor(parseAddress('203.0.113.9')) <= 64 * 1024);
  r.push(lf[1]!, 0);
  assert.deepEqual(r.push(lf[2]!, 0), legit);
});
