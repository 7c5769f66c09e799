import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodePacket, encodeTcpPacket } from './packet.js';
import { parseAddress, formatAddress } from './address.js';
import { WireError } from './errors.js';
import { SYN, ACK, FIN, PSH, makeSegment, type TcpSegment } from './tcp-types.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((x) => parseInt(x, 16)));
const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

// Reference datagrams built by an independent Python implementation (struct + socket.inet_pton + its own RFC 1071 sum).
const V4_SYN = '4500003c1c46400040060a740a0000010a0000029c4000500102030400000000a002faf054100000020405b40402080a112233440000000001030307';
const V4_OPTIONS = '46020041beef00000106e252c0a8010ac0a8011494040000303901bb000000070000000891b80200eab100030101050a000003e8000007d0fe04785668656c6c6f';
const V6_SYNACK = '6001234500280640fd000000000000000000000000000002fd00000000000000000000000000000100509c40fffffff001020305a052fe88f2ac0000020405a00402080aaabbccdd1122334401030309';
const V6_EXT = '6b800000002f00ff20010db800000000000000000000000a20010db800000000000000000000000b3c000104000000002c0001040000000006000001deadbeef0001000200000064000000c8501103e85cb9000078797a';

test('decodes whole reference datagrams: IP, TCP and both checksums', () => {
  const a = decodePacket(hex(V4_SYN));
  assert.equal(a.ip.checksumOk, true);
  assert.equal(a.tcpChecksumOk, true);
  assert.equal(a.tcp!.seg.flags, SYN);
  assert.equal(a.tcp!.seg.options.mss, 1460);
  const b = decodePacket(hex(V4_OPTIONS));
  assert.equal(b.ip.headerLength, 24);
  assert.equal(b.tcpChecksumOk, true);
  assert.equal(new TextDecoder().decode(b.tcp!.seg.payload), 'hello');
  const c = decodePacket(hex(V6_SYNACK));
  assert.equal(formatAddress(c.ip.src), 'fd00::2');
  assert.equal(c.tcpChecksumOk, true);
  assert.equal(c.tcp!.seg.options.mss, 1440);
});

test('a first IPv6 fragment: TCP decoded from what is there, checksum reported false (unknown)', () => {
  const p = decodePacket(hex(V6_EXT));
  assert.equal(p.ip.mf, true);
  assert.equal(p.tcp!.seg.flags, FIN | ACK);
  assert.equal(p.tcp!.seg.seq, 100);
  assert.equal(new TextDecoder().decode(p.tcp!.seg.payload), 'xyz');
  assert.equal(p.tcpChecksumOk, false);
  // The same datagram without the M flag is complete, and its checksum verifies.
  const whole = hex(V6_EXT);
  whole[59] = 0;
  assert.equal(decodePacket(whole).tcpChecksumOk, true);
});

test('a non-first fragment carries no TCP header', () => {
  const b = hex(V4_SYN);
  b[6] = 0x00; b[7] = 0x01; // offset 8 bytes
  const p = decodePacket(b);
  assert.equal(p.ip.fragOffset, 8);
  assert.equal(p.tcp, null);
  assert.equal(p.tcpChecksumOk, false);
});

test('a snaplen-truncated datagram decodes TCP when the header is complete, else tcp is null', () => {
  const b = hex(V4_OPTIONS).subarray(0, 24 + 36 + 2); // IP 24 + TCP 36 complete, 2 of 5 payload bytes
  const p = decodePacket(b);
  assert.equal(p.ip.truncated, true);
  assert.deepEqual(p.tcp!.seg.options.sack, [1000, 2000]);
  assert.equal(p.tcp!.seg.payload.length, 2);
  assert.equal(p.tcpChecksumOk, false);
  const q = decodePacket(hex(V4_SYN).subarray(0, 50)); // TCP options cut
  assert.equal(q.tcp, null);
  const r = decodePacket(hex(V4_SYN).subarray(0, 30)); // TCP fixed header cut
  assert.equal(r.tcp, null);
});

test('non-TCP datagrams decode with tcp null', () => {
  const udp = hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
  const p = decodePacket(new Uint8Array([...udp, ...new Uint8Array(0x73 - 20)]));
  assert.equal(p.ip.protocol, 17);
  assert.equal(p.tcp, null);
});

test('a corrupted TCP checksum is reported, not thrown', () => {
  const b = hex(V4_SYN);
  b[40] ^= 0xff;
  const p = decodePacket(b);
  assert.equal(p.ip.checksumOk, true);
  assert.equal(p.tcpChecksumOk, false);
});

test('TCP errors inside a datagram carry offsets relative to the datagram', () => {
  const b = hex(V4_OPTIONS);
  b[24 + 23] = 1; // the SACK option (at TCP offset 22) gets length 1
  assert.throws(() => decodePacket(b), (e: unknown) => e instanceof WireError && e.layer === 'tcp-option' && e.code === 'bad-length' && e.offset === 24 + 22);
  const c = hex(V4_SYN);
  c[20 + 12] = 0x30;
  assert.throws(() => decodePacket(c), (e: unknown) => e instanceof WireError && e.code === 'bad-data-offset' && e.offset === 32);
  // Complete (not truncated) datagram whose IP payload is too short for a TCP header.
  const d = hex(V4_SYN).subarray(0, 30);
  d[3] = 30;
  assert.throws(() => decodePacket(d), (e: unknown) => e instanceof WireError && e.layer === 'tcp' && e.code === 'truncated' && e.offset === 30);
});

test('encodeTcpPacket reproduces reference IPv4 and IPv6 datagrams byte for byte', () => {
  const syn = makeSegment({ srcPort: 40000, dstPort: 80, seq: 0x01020304, flags: SYN, window: 64240,
    options: { mss: 1460, sackPermitted: true, tsVal: 0x11223344, tsEcr: 0, wscale: 7 } });
  assert.equal(toHex(encodeTcpPacket({ src: parseAddress('10.0.0.1'), dst: parseAddress('10.0.0.2'), id: 0x1c46 }, syn)), V4_SYN);
  const d = decodePacket(hex(V6_SYNACK));
  assert.equal(toHex(encodeTcpPacket({ src: d.ip.src, dst: d.ip.dst, flowLabel: d.ip.flowLabel }, d.tcp!.seg)), V6_SYNACK);
});

test('encodeTcpPacket refuses segments too large for the IP length fields', () => {
  const big = makeSegment({ srcPort: 1, dstPort: 2, payload: new Uint8Array(65535 - 20 - 20 + 1) });
  assert.throws(() => encodeTcpPacket({ src: parseAddress('10.0.0.1'), dst: parseAddress('10.0.0.2') }, big), WireError);
  const big6 = makeSegment({ srcPort: 1, dstPort: 2, payload: new Uint8Array(65535 - 20 + 1) });
  assert.throws(() => encodeTcpPacket({ src: parseAddress('::1'), dst: parseAddress('::2') }, big6), WireError);
  assert.throws(() => encodeTcpPacket({ src: parseAddress('::1'), dst: parseAddress('10.0.0.1') }, big), WireError);
});

const segArb: fc.Arbitrary<TcpSegment> = fc.record({
  srcPort: fc.nat(0xffff), dstPort: fc.nat(0xffff), seq: fc.nat({ max: 0xffffffff }), ack: fc.nat({ max: 0xffffffff }),
  flags: fc.nat(0x1ff), window: fc.nat(0xffff), urgent: fc.nat(0xffff),
  options: fc.record({ mss: fc.nat(0xffff), tsVal: fc.nat({ max: 0xffffffff }), tsEcr: fc.nat({ max: 0xffffffff }) }, { requiredKeys: [] }).map((o) => ({ ...o })),
  payload: fc.uint8Array({ maxLength: 200 }),
}).map((s) => ({ ...s, options: s.options.tsVal === undefined ? (({ tsEcr: _e, ...rest }) => rest)(s.options) : { tsEcr: 0, ...s.options } }));

test('property: encodeTcpPacket → decodePacket round-trips IPv4 and IPv6 datagrams with valid checksums', () => {
  fc.assert(fc.property(
    segArb, fc.boolean(), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }),
    fc.nat(255), fc.nat(0xffff), fc.nat(0xfffff),
    (seg, v6, s16, d16, ttl, id, flowLabel) => {
      const src = v6 ? s16 : s16.subarray(0, 4);
      const dst = v6 ? d16 : d16.subarray(0, 4);
      const bytes = encodeTcpPacket({ src, dst, ttl, id, flowLabel }, seg);
      const p = decodePacket(bytes);
      assert.equal(p.ip.version, v6 ? 6 : 4);
      assert.equal(p.ip.checksumOk, true);
      assert.equal(p.tcpChecksumOk, true);
      assert.deepEqual([p.ip.src, p.ip.dst, p.ip.ttl, p.ip.protocol], [src, dst, ttl, 6]);
      if (v6) assert.equal(p.ip.flowLabel, flowLabel); else assert.equal(p.ip.id, id);
      const { order: _o, ...opts } = p.tcp!.seg.options;
      assert.deepEqual({ ...p.tcp!.seg, options: opts }, { ...seg, payload: seg.payload });
      assert.equal(p.tcp!.seg.payload.buffer, bytes.buffer, 'payload is a view into the datagram');
    }));
});

test('encodeTcpPacket with PSH data and IPv6 hop limit default 64', () => {
  const seg = makeSegment({ srcPort: 5, dstPort: 6, flags: PSH | ACK, payload: new TextEncoder().encode('GET /') });
  const p = decodePacket(encodeTcpPacket({ src: parseAddress('fd00::1'), dst: parseAddress('fd00::2') }, seg));
  assert.equal(p.ip.ttl, 64);
  assert.equal(p.ip.totalLength, 40 + 20 + 5);
  assert.equal(new TextDecoder().decode(p.tcp!.seg.payload), 'GET /');
});

test('encoders refuse field values the headers cannot carry instead of truncating them', () => {
  const ip = { src: parseAddress('10.0.0.1'), dst: parseAddress('10.0.0.2') };
  const bad = (seg: Partial<TcpSegment>) => () => encodeTcpPacket(ip, { ...makeSegment({ srcPort: 1, dstPort: 2 }), ...seg });
  const isBadField = (e: unknown): boolean => e instanceof WireError && e.code === 'bad-field';
  assert.throws(bad({ srcPort: 65536 }), isBadField);
  assert.throws(bad({ dstPort: -1 }), isBadField);
  assert.throws(bad({ window: 1.5 }), isBadField);
  assert.throws(bad({ urgent: 0x10000 }), isBadField);
  assert.throws(bad({ flags: 0x200 }), isBadField);
  assert.throws(bad({ seq: NaN }), isBadField);
  assert.throws(bad({ options: { mss: 70000 } }), isBadField);
  assert.throws(bad({ options: { wscale: 256 } }), isBadField);
  assert.throws(() => encodeTcpPacket({ ...ip, ttl: 256 }, makeSegment({ srcPort: 1, dstPort: 2 })), isBadField);
  assert.throws(() => encodeTcpPacket({ ...ip, id: 0x10000 }, makeSegment({ srcPort: 1, dstPort: 2 })), isBadField);
  assert.throws(() => encodeTcpPacket({ src: parseAddress('::1'), dst: parseAddress('::2'), flowLabel: 0x100000 }, makeSegment({ srcPort: 1, dstPort: 2 })), isBadField);
});
