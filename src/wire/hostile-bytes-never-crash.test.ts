import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodePacket } from './packet.js';
import { decodeIp, decodeIpv4, decodeIpv6 } from './ip.js';
import { decodeTcp, encodeTcp } from './tcp.js';
import { WireError } from './errors.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g)!.map((x) => parseInt(x, 16)));
const SEEDS = [
  '4500003c1c46400040060a740a0000010a0000029c4000500102030400000000a002faf054100000020405b40402080a112233440000000001030307',
  '46020041beef00000106e252c0a8010ac0a8011494040000303901bb000000070000000891b80200eab100030101050a000003e8000007d0fe04785668656c6c6f',
  '6001234500280640fd000000000000000000000000000002fd00000000000000000000000000000100509c40fffffff001020305a052fe88f2ac0000020405a00402080aaabbccdd1122334401030309',
  '6b800000002f00ff20010db800000000000000000000000a20010db800000000000000000000000b3c000104000000002c0001040000000006000001deadbeef0001000200000064000000c8501103e85cb9000078797a',
].map(hex);

/** Runs fn and fails on anything thrown that is not a WireError with a sane offset. */
function onlyWireErrors(bytes: Uint8Array, fn: (b: Uint8Array) => unknown): void {
  try {
    fn(bytes);
  } catch (e) {
    if (!(e instanceof WireError)) assert.fail(`threw ${String(e)} on ${Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join('')}`);
    assert.ok(Number.isInteger(e.offset) && e.offset >= 0 && e.offset <= bytes.length, `offset ${e.offset} outside 0..${bytes.length}`);
  }
}

const decoders = [decodePacket, decodeIp, decodeIpv4, decodeIpv6, decodeTcp];

test('10k random byte arrays (version nibble 4 or 6 half the time) only ever raise WireError', () => {
  const arb = fc.tuple(fc.uint8Array({ maxLength: 120 }), fc.constantFrom(-1, 0x45, 0x46, 0x4f, 0x60)).map(([b, first]) => {
    if (first >= 0 && b.length > 0) b[0] = first;
    return b;
  });
  fc.assert(fc.property(arb, (b) => { for (const d of decoders) onlyWireErrors(b, d); }), { numRuns: 10_000 });
});

test('10k mutations of real datagrams (byte writes, truncation, extension) only ever raise WireError', () => {
  const arb = fc.tuple(
    fc.constantFrom(...SEEDS),
    fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { maxLength: 6 }),
    fc.nat(220),
  ).map(([seed, writes, cut]) => {
    const b = new Uint8Array(Math.min(cut, seed.length + 20));
    b.set(seed.subarray(0, b.length));
    for (const [at, v] of writes) if (at < b.length) b[at] = v;
    return b;
  });
  fc.assert(fc.property(arb, (b) => {
    onlyWireErrors(b, decodePacket);
    onlyWireErrors(b, decodeIp);
    // The TCP part alone, wherever it would start.
    onlyWireErrors(b.subarray(Math.min(b.length, b[0]! >> 4 === 6 ? 40 : 20)), decodeTcp);
  }), { numRuns: 10_000 });
});

test('10k random TCP option areas either decode and re-encode, or raise WireError(tcp-option)', () => {
  fc.assert(fc.property(fc.nat(10), fc.uint8Array({ minLength: 40, maxLength: 40 }), (words, area) => {
    const b = new Uint8Array(20 + words * 4);
    b[12] = (5 + words) << 4;
    b.set(area.subarray(0, words * 4), 20);
    let d;
    try {
      d = decodeTcp(b);
    } catch (e) {
      assert.ok(e instanceof WireError && e.layer === 'tcp-option', String(e));
      return;
    }
    // Whatever decoded must encode again (possibly shorter: garbage after EOL is dropped) without throwing.
    const again = encodeTcp(d.seg, new Uint8Array(4), new Uint8Array(4));
    assert.ok(again.length <= b.length);
  }), { numRuns: 10_000 });
});
