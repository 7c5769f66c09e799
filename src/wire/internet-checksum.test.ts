import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { onesComplementSum, finishChecksum, pseudoHeaderSum } from './checksum.js';
import { parseAddress } from './address.js';
import { tcpChecksumOk } from './tcp.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((x) => parseInt(x, 16)));

/** Textbook reference: sum 16-bit words with arbitrary precision, fold at the end. */
function referenceChecksum(b: Uint8Array): number {
  let s = 0n;
  for (let i = 0; i < b.length; i += 2) s += BigInt((b[i]! << 8) | (b[i + 1] ?? 0));
  while (s >> 16n) s = (s & 0xffffn) + (s >> 16n);
  return Number(~s & 0xffffn);
}

test('RFC 1071 §3 worked example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2', () => {
  const b = hex('0001f203f4f5f6f7');
  const sum = onesComplementSum(b, 0, b.length);
  assert.equal(finishChecksum(sum), 0xffff - 0xddf2);
});

test('a real IPv4 header (192.168.0.1 → 192.168.0.199, UDP) has checksum b861', () => {
  const header = hex('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7');
  assert.equal(finishChecksum(onesComplementSum(header, 0, 20)), 0xb861);
  header[10] = 0xb8; header[11] = 0x61;
  assert.equal(finishChecksum(onesComplementSum(header, 0, 20)), 0, 'a header with its checksum sums to zero');
});

test('an odd trailing byte is padded with zero on the right', () => {
  assert.equal(finishChecksum(onesComplementSum(hex('ab'), 0, 1)), ~0xab00 & 0xffff);
  assert.equal(finishChecksum(onesComplementSum(hex('0102 03'), 0, 3)), ~(0x0102 + 0x0300) & 0xffff);
});

test('sub-ranges and chaining give the same sum as one pass', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(150), (b, cut) => {
    const c = Math.min(cut * 2, b.length - (b.length & 1));
    const whole = finishChecksum(onesComplementSum(b, 0, b.length));
    const chained = finishChecksum(onesComplementSum(b, c, b.length, onesComplementSum(b, 0, c)));
    assert.equal(chained, whole);
    assert.equal(whole, referenceChecksum(b));
  }));
});

test('matches the arbitrary-precision reference on 64 KiB of 0xff (carry-heavy)', () => {
  const b = new Uint8Array(65535).fill(0xff);
  assert.equal(finishChecksum(onesComplementSum(b, 0, b.length)), referenceChecksum(b));
  assert.equal(finishChecksum(onesComplementSum(b, 0, b.length, 0xfffff)), (() => {
    let s = 0xfffff + 0xffff * 32767 + 0xff00;
    while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
    return ~s & 0xffff;
  })());
});

test('IPv4 pseudo-header (RFC 9293 §3.1): src, dst, 0, protocol, TCP length', () => {
  const src = parseAddress('10.0.0.1');
  const dst = parseAddress('10.0.0.2');
  const explicit = hex('0a000001 0a000002 0006 0028');
  assert.equal(finishChecksum(pseudoHeaderSum(src, dst, 6, 40)), finishChecksum(onesComplementSum(explicit, 0, explicit.length)));
});

test('IPv6 pseudo-header (RFC 8200 §8.1): src, dst, 32-bit length, zeros, next header', () => {
  const src = parseAddress('2001:db8::a');
  const dst = parseAddress('2001:db8::b');
  const explicit = hex('20010db8 00000000 00000000 0000000a  20010db8 00000000 00000000 0000000b  00010005 000000 06');
  assert.equal(explicit.length, 40);
  assert.equal(finishChecksum(pseudoHeaderSum(src, dst, 6, 0x10005)), finishChecksum(onesComplementSum(explicit, 0, 40)));
});

test('TCP checksums of independently built segments verify under both pseudo-headers', () => {
  // Built by a separate Python struct implementation (see ip-header-codec tests for the full datagrams).
  const v4tcp = hex('9c4000500102030400000000a002faf054100000020405b40402080a112233440000000001030307');
  assert.equal(tcpChecksumOk(v4tcp, parseAddress('10.0.0.1'), parseAddress('10.0.0.2')), true);
  assert.equal(tcpChecksumOk(v4tcp, parseAddress('10.0.0.1'), parseAddress('10.0.0.3')), false, 'wrong pseudo-header');
  const v6tcp = hex('0001000200000064000000c8501103e85cb9000078797a');
  assert.equal(tcpChecksumOk(v6tcp, parseAddress('2001:db8::a'), parseAddress('2001:db8::b')), true);
  v6tcp[22] ^= 1;
  assert.equal(tcpChecksumOk(v6tcp, parseAddress('2001:db8::a'), parseAddress('2001:db8::b')), false, 'flipped payload bit');
});

test('any alignment in memory and any start: the same sum as the reference (the 32-bit word loop and its edges)', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.nat(7), fc.nat(9), (data, shift, start) => {
    // The bytes at every offset of a larger buffer: views starting on 1-, 2- and 4-byte boundaries.
    const backing = new Uint8Array(data.length + 16);
    const view = backing.subarray(shift, shift + data.length);
    view.set(data);
    const from = Math.min(start * 2, data.length - (data.length & 1));
    assert.equal(finishChecksum(onesComplementSum(view, from, view.length)), referenceChecksum(data.subarray(from)));
  }), { numRuns: 500 });
});

test('ranges of one buffer summed one after another, alternating with another buffer and with the bytes changing between calls: the same sums as the reference', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 64, maxLength: 4000 }), fc.array(fc.tuple(fc.nat(4000), fc.nat(1600), fc.boolean()), { minLength: 1, maxLength: 20 }), (data, ranges) => {
    // Packets carved from one block, as PacketSlab carves them, and a second block in between.
    const blocks = [new Uint8Array(data.length + 8), new Uint8Array(data.length + 8)];
    blocks[0]!.set(data, 3);
    blocks[1]!.set(data.reverse(), 5);
    let i = 0;
    for (const [at, len, other] of ranges) {
      const b = blocks[other ? 1 : 0]!;
      const start = Math.min(at, b.length);
      const end = Math.min(b.length, start + len);
      const view = b.subarray(start, end);
      assert.equal(finishChecksum(onesComplementSum(view, 0, view.length)), referenceChecksum(view), `range ${start}..${end}`);
      b[(start + 7 * i++) % b.length] ^= 0x5a; // the block's bytes change: the next sum must see them
    }
  }), { numRuns: 300 });
});
