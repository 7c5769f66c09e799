import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeHostPacket, decodeHostTcp, encodeTcpPacket, type HostTcpHeader } from './packet.js';
import { WireError } from './errors.js';
import { ACK, PSH, SYN, OPT_NOP, OPT_TIMESTAMPS, OPT_SACK, type TcpOptions } from './tcp-types.js';

const V4 = { src: new Uint8Array([10, 0, 0, 1]), dst: new Uint8Array([10, 0, 0, 2]) };
const V6 = {
  src: new Uint8Array([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
  dst: new Uint8Array([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]),
};

/** What the general path does with a datagram: the plain TCP case ipInput hands to TCP directly, or not. */
function generalPath(b: Uint8Array, verify: boolean) {
  let d;
  try { d = decodeHostPacket(b, verify); } catch (e) { if (e instanceof WireError) return null; throw e; }
  const ip = d.ip;
  const zero = ip.version === 4 ? b[2] === 0 && b[3] === 0 : b[4] === 0 && b[5] === 0 && b.length > 40 && b[6] !== 59;
  if (!ip.checksumOk || d.tcp === null || ip.truncated || ip.mf || ip.fragOffset !== 0 || ip.extHeaders.length !== 0 || zero) return null;
  return d;
}

const optionsArb: fc.Arbitrary<TcpOptions> = fc.oneof(
  fc.constant({}),
  fc.record({ tsVal: fc.nat(0xffffffff), tsEcr: fc.nat(0xffffffff) }).map((o) => ({ order: [OPT_NOP, OPT_NOP, OPT_TIMESTAMPS], ...o })),
  fc.record({ tsVal: fc.nat(0xffffffff), tsEcr: fc.nat(0xffffffff), sack: fc.array(fc.nat(0xffffffff), { minLength: 2, maxLength: 6 }) })
    .map((o) => ({ order: [OPT_NOP, OPT_NOP, OPT_TIMESTAMPS, OPT_NOP, OPT_NOP, OPT_SACK], ...o, sack: o.sack.slice(0, o.sack.length & ~1) })),
  fc.record({ sack: fc.array(fc.nat(0xffffffff), { minLength: 2, maxLength: 8 }) }).map((o) => ({ order: [OPT_NOP, OPT_NOP, OPT_SACK], sack: o.sack.slice(0, o.sack.length & ~1) })),
  fc.record({ mss: fc.integer({ min: 1, max: 0xffff }), wscale: fc.nat(14), sackPermitted: fc.constant(true), tsVal: fc.nat(0xffffffff), tsEcr: fc.constant(0) }),
);

const datagramArb = fc.record({
  v6: fc.boolean(),
  flags: fc.constantFrom(ACK, ACK | PSH, SYN, SYN | ACK),
  seq: fc.nat(0xffffffff), ack: fc.nat(0xffffffff), window: fc.nat(0xffff),
  options: optionsArb,
  payload: fc.uint8Array({ maxLength: 64 }),
  // A header byte changed (IP or TCP, options included), the buffer cut or padded, or both, or neither.
  mutateAt: fc.option(fc.nat(99), { freq: 2 }), mutateTo: fc.nat(255),
  cut: fc.option(fc.integer({ min: -8, max: 6 }), { freq: 3 }),
  verify: fc.boolean(),
});

test('host fast path: every datagram it takes decodes as the general path decodes it, and it takes every plain TCP datagram', () => {
  let taken = 0;
  let left = 0;
  const out: HostTcpHeader = { addrLen: 0, srcOff: 0, tos: 0, tcpChecksumOk: false };
  fc.assert(fc.property(datagramArb, (g) => {
    const a = g.v6 ? V6 : V4;
    let b = encodeTcpPacket({ ...a, tos: g.seq & 0xff }, {
      srcPort: 40000, dstPort: 80, seq: g.seq, ack: g.ack, flags: g.flags, window: g.window, urgent: 0, options: g.options, payload: g.payload,
    });
    if (g.mutateAt !== null && g.mutateAt < b.length) b[g.mutateAt] = g.mutateTo;
    if (g.cut !== null) {
      const n = Math.max(0, b.length + g.cut);
      const c = new Uint8Array(n);
      c.set(b.subarray(0, Math.min(n, b.length)));
      b = c;
    }
    const seg = decodeHostTcp(b, g.verify, out);
    const d = generalPath(b, g.verify);
    if (d === null) { assert.equal(seg, null); left++; return; }
    assert.notEqual(seg, null, 'a plain TCP datagram must take the fast path');
    taken++;
    assert.deepEqual(seg, d.tcp!.seg);
    assert.equal(out.tcpChecksumOk, d.tcpChecksumOk);
    assert.equal(out.tos, d.ip.tos);
    assert.deepEqual(b.subarray(out.srcOff, out.srcOff + out.addrLen), d.ip.src);
    assert.deepEqual(b.subarray(out.srcOff + out.addrLen, out.srcOff + 2 * out.addrLen), d.ip.dst);
  }), { seed: 0x5eed, numRuns: 4000 });
  // Both ways exercised: plain datagrams taken, damaged ones left to the general path.
  assert.ok(taken > 1000 && left > 500, `taken ${taken}, left ${left}`);
});

test('host fast path: IPv4 options, fragments, zero lengths and IPv6 extension headers go to the general path', () => {
  const out: HostTcpHeader = { addrLen: 0, srcOff: 0, tos: 0, tcpChecksumOk: false };
  const seg = { srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: ACK, window: 5, urgent: 0, options: {}, payload: new Uint8Array([1, 2, 3]) };
  const v4 = encodeTcpPacket(V4, seg);
  assert.notEqual(decodeHostTcp(v4, true, out), null);
  assert.equal(out.tcpChecksumOk, true);
  const fixIpSum = (b: Uint8Array, hl: number) => {
    b[10] = 0; b[11] = 0;
    let s = 0;
    for (let i = 0; i < hl; i += 2) s += (b[i]! << 8) | b[i + 1]!;
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    b[10] = (~s >> 8) & 0xff; b[11] = ~s & 0xff;
  };
  const mf = v4.slice(); mf[6] |= 0x20; fixIpSum(mf, 20);
  assert.equal(decodeHostTcp(mf, true, out), null);
  const zero = v4.slice(); zero[2] = 0; zero[3] = 0; fixIpSum(zero, 20);
  assert.equal(decodeHostTcp(zero, true, out), null);
  // IPv4 options (IHL 6, a NOP word): the general path hands it to TCP too, and so does the fast path.
  const opt = new Uint8Array(v4.length + 4);
  opt.set(v4.subarray(0, 20)); opt.set([1, 1, 1, 0], 20); opt.set(v4.subarray(20), 24);
  opt[0] = 0x46; opt[3] = opt.length; fixIpSum(opt, 24);
  const s = decodeHostTcp(opt, true, out);
  assert.deepEqual(s, generalPath(opt, true)!.tcp!.seg);
  assert.equal(out.tcpChecksumOk, true);
  // IPv6 with a destination options header before TCP.
  const v6 = encodeTcpPacket(V6, seg);
  const ext = new Uint8Array(v6.length + 8);
  ext.set(v6.subarray(0, 40)); ext.set([6, 0, 1, 4, 0, 0, 0, 0], 40); ext.set(v6.subarray(40), 48);
  ext[6] = 60; ext[5] = ext.length - 40;
  assert.equal(decodeHostTcp(ext, false, out), null);
  const d = decodeHostPacket(ext, false);
  assert.equal(d.ip.extHeaders.length, 1, 'the general decode walks the header (and ipInput takes its slow path)');
  assert.deepEqual(d.tcp!.seg, decodeHostTcp(v6, false, out));
});

test('host fast path: a segment without options or with timestamps only gets options equal to the general decode, immutable where shared', () => {
  const out: HostTcpHeader = { addrLen: 0, srcOff: 0, tos: 0, tcpChecksumOk: false };
  const base = { srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: ACK, window: 5, urgent: 0, payload: new Uint8Array(0) };
  for (const options of [{}, { order: [OPT_NOP, OPT_NOP, OPT_TIMESTAMPS], tsVal: 0xfffffff0, tsEcr: 7 }]) {
    const b = encodeTcpPacket(V4, { ...base, options });
    const a = decodeHostTcp(b, true, out)!;
    const c = decodeHostTcp(b, true, out)!;
    assert.deepEqual(a.options, generalPath(b, true)!.tcp!.seg.options);
    assert.deepEqual(c.options, a.options);
    // A receiver writing into a shared list would change every segment's: it must throw instead.
    if (a.options.order !== undefined) assert.throws(() => { a.options.order!.push(1); });
    else assert.throws(() => { (a.options as { mss?: number }).mss = 1; });
  }
});
