import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeIp, decodeIpv4, decodeIpv6, encodeIpHeader } from './ip.js';
import { parseAddress, formatAddress } from './address.js';
import { hex, wireError } from './test-util.js';


// Reference datagrams built by an independent Python (struct + socket.inet_pton) implementation.
/** Linux-style SYN 10.0.0.1:40000 → 10.0.0.2:80, id 0x1c46, DF, TTL 64. */
const V4_SYN = '4500003c1c46400040060a740a0000010a0000029c4000500102030400000000a002faf054100000020405b40402080a112233440000000001030307';
/** IPv4 with Router Alert option (RFC 2113), TOS 2, TTL 1, no DF, carrying 5 bytes of TCP data. */
const V4_OPTIONS = '46020041beef00000106e252c0a8010ac0a8011494040000303901bb000000070000000891b80200eab100030101050a000003e8000007d0fe04785668656c6c6f';
/** IPv6 SYN-ACK fd00::2 → fd00::1, flow label 0x12345. */
const V6_SYNACK = '6001234500280640fd000000000000000000000000000002fd00000000000000000000000000000100509c40fffffff001020305a052fe88f2ac0000020405a00402080aaabbccdd1122334401030309';
/** IPv6, traffic class 0xb8: hop-by-hop → destination options → fragment (offset 0, M=1, id deadbeef) → TCP. */
const V6_EXT = '6b800000002f00ff20010db800000000000000000000000a20010db800000000000000000000000b3c000104000000002c0001040000000006000001deadbeef0001000200000064000000c8501103e85cb9000078797a';


test('decodes a reference IPv4 SYN header', () => {
  const p = decodeIp(hex(V4_SYN));
  assert.equal(p.version, 4);
  assert.equal(formatAddress(p.src), '10.0.0.1');
  assert.equal(formatAddress(p.dst), '10.0.0.2');
  assert.equal(p.protocol, 6);
  assert.equal(p.ttl, 64);
  assert.equal(p.tos, 0);
  assert.equal(p.totalLength, 60);
  assert.equal(p.headerLength, 20);
  assert.equal(p.id, 0x1c46);
  assert.equal(p.df, true);
  assert.equal(p.mf, false);
  assert.equal(p.fragOffset, 0);
  assert.equal(p.ipOptions.length, 0);
  assert.equal(p.checksum, 0x0a74);
  assert.equal(p.checksumOk, true);
  assert.equal(p.payload.length, 40);
  assert.equal(p.payload[0], 0x9c);
  assert.equal(p.truncated, false);
});

test('IPv4 header options are skipped but kept raw', () => {
  const p = decodeIpv4(hex(V4_OPTIONS));
  assert.equal(p.headerLength, 24);
  assert.deepEqual(p.ipOptions, hex('94040000'));
  assert.equal(p.tos, 2);
  assert.equal(p.ttl, 1);
  assert.equal(p.df, false);
  assert.equal(p.id, 0xbeef);
  assert.equal(p.checksumOk, true);
  assert.equal(p.payload.length, 0x41 - 24);
  assert.deepEqual(p.payload.subarray(0, 2), hex('3039'));
});

test('a corrupted IPv4 header reports checksumOk false', () => {
  const b = hex(V4_SYN);
  b[8] = 63; // TTL decremented without updating the checksum
  assert.equal(decodeIpv4(b).checksumOk, false);
});

test('IPv4 fragment fields: MF and offset in bytes', () => {
  const b = hex(V4_SYN);
  b[6] = 0x20 | 0x01; b[7] = 0x02; // MF, offset 0x102 × 8
  const p = decodeIpv4(b);
  assert.equal(p.mf, true);
  assert.equal(p.df, false);
  assert.equal(p.fragOffset, 0x102 * 8);
});

test('decodes an IPv6 header: traffic class, flow label, hop limit', () => {
  const p = decodeIp(hex(V6_SYNACK));
  assert.equal(p.version, 6);
  assert.equal(formatAddress(p.src), 'fd00::2');
  assert.equal(formatAddress(p.dst), 'fd00::1');
  assert.equal(p.flowLabel, 0x12345);
  assert.equal(p.tos, 0);
  assert.equal(p.ttl, 64);
  assert.equal(p.protocol, 6);
  assert.equal(p.totalLength, 80);
  assert.equal(p.headerLength, 40);
  assert.equal(p.payload.length, 40);
  assert.equal(p.checksumOk, true);
  assert.deepEqual(p.extHeaders, []);
});

test('IPv6 extension headers are walked to TCP; the fragment header sets id/mf/fragOffset', () => {
  const p = decodeIpv6(hex(V6_EXT));
  assert.equal(p.tos, 0xb8);
  assert.equal(p.ttl, 255);
  assert.equal(p.protocol, 6);
  assert.deepEqual(p.extHeaders, [
    { type: 0, offset: 40, length: 8 },
    { type: 60, offset: 48, length: 8 },
    { type: 44, offset: 56, length: 8 },
  ]);
  assert.equal(p.headerLength, 64);
  assert.equal(p.id, 0xdeadbeef);
  assert.equal(p.mf, true);
  assert.equal(p.fragOffset, 0);
  assert.equal(p.payload.length, 23);
  assert.deepEqual(p.payload.subarray(0, 4), hex('00010002'));
});

test('IPv6 routing and AH headers are walked with their own length units', () => {
  // routing (43): hdr ext len 1 → 16 bytes; AH (51): payload len 4 → (4+2)*4 = 24 bytes (RFC 4302 §2.2).
  const routing = hex('33 01 00 00 00000000 0000000000000000');
  const ah = hex('06 04 0000 00000001 00000002 000000000000000000000000'); // 12-byte ICV
  const tcp = new Uint8Array(20);
  const hdr = new Uint8Array(40);
  encodeIpHeader({ src: parseAddress('::1'), dst: parseAddress('::2'), protocol: 43 }, routing.length + ah.length + tcp.length, hdr, 0);
  const b = new Uint8Array([...hdr, ...routing, ...ah, ...tcp]);
  const p = decodeIpv6(b);
  assert.deepEqual(p.extHeaders.map((e) => [e.type, e.offset, e.length]), [[43, 40, 16], [51, 56, 24]]);
  assert.equal(p.protocol, 6);
  assert.equal(p.headerLength, 80);
  assert.equal(p.payload.length, 20);
});

test('a non-first IPv6 fragment stops the walk at the fragment header', () => {
  const b = hex(V6_EXT);
  b[58] = 0x00; b[59] = 0xb8; // offset 23 × 8 = 184, M = 0
  const p = decodeIpv6(b);
  assert.equal(p.fragOffset, 184);
  assert.equal(p.mf, false);
  assert.equal(p.protocol, 6);
  assert.equal(p.headerLength, 64);
});

test('payload is clipped to the total length (Ethernet padding) and truncation is flagged (snaplen)', () => {
  const padded = new Uint8Array([...hex(V4_SYN), 0, 0, 0, 0, 0, 0]);
  const p = decodeIp(padded);
  assert.equal(p.payload.length, 40);
  assert.equal(p.truncated, false);
  const cut = hex(V4_SYN).subarray(0, 34);
  const q = decodeIp(cut);
  assert.equal(q.truncated, true);
  assert.equal(q.totalLength, 60);
  assert.equal(q.payload.length, 14);
  const cut6 = hex(V6_SYNACK).subarray(0, 50);
  const r = decodeIp(cut6);
  assert.equal(r.truncated, true);
  assert.equal(r.payload.length, 10);
});

test('a zero IPv4 total length (TSO capture) extends to the end of the buffer', () => {
  const b = hex(V4_SYN);
  b[2] = 0; b[3] = 0;
  const p = decodeIpv4(b);
  assert.equal(p.totalLength, 60);
  assert.equal(p.payload.length, 40);
});

test('truncated and malformed IP headers give WireError at the right offset', () => {
  assert.throws(() => decodeIp(new Uint8Array(0)), wireError('packet', 'truncated', 0));
  assert.throws(() => decodeIp(hex(V4_SYN).subarray(0, 19)), wireError('ipv4', 'truncated', 19));
  assert.throws(() => decodeIp(hex(V4_OPTIONS).subarray(0, 22)), wireError('ipv4', 'truncated', 22));
  assert.throws(() => decodeIp(hex(V6_SYNACK).subarray(0, 39)), wireError('ipv6', 'truncated', 39));
  const v5 = hex(V4_SYN); v5[0] = 0x55;
  assert.throws(() => decodeIp(v5), wireError('packet', 'bad-version', 0));
  assert.throws(() => decodeIpv6(hex(V4_SYN)), wireError('ipv6', 'bad-version', 0));
  const ihl = hex(V4_SYN); ihl[0] = 0x44;
  assert.throws(() => decodeIp(ihl), wireError('ipv4', 'bad-header-length', 0));
  const tl = hex(V4_SYN); tl[2] = 0; tl[3] = 19;
  assert.throws(() => decodeIp(tl), wireError('ipv4', 'bad-total-length', 2));
  // Extension headers cut by the capture: error at the first missing byte.
  assert.throws(() => decodeIp(hex(V6_EXT).subarray(0, 60)), wireError('ipv6', 'truncated', 60));
  assert.throws(() => decodeIp(hex(V6_EXT).subarray(0, 41)), wireError('ipv6', 'truncated', 41));
  // An extension header that claims more than the payload length holds: error at that header.
  const big = hex(V6_EXT); big[49] = 9;
  assert.throws(() => decodeIp(big), wireError('ipv6', 'bad-ext-header', 48));
});

const v4addr = fc.uint8Array({ minLength: 4, maxLength: 4 });
const v6addr = fc.uint8Array({ minLength: 16, maxLength: 16 });

test('encodeIpHeader → decodeIp round-trips every IPv4 field with a valid checksum', () => {
  fc.assert(fc.property(v4addr, v4addr, fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(0xffff), fc.boolean(), fc.nat(2000),
    (src, dst, protocol, ttl, tos, id, df, payloadLength) => {
      const out = new Uint8Array(3 + 20 + payloadLength);
      assert.equal(encodeIpHeader({ src, dst, protocol, ttl, tos, id, df }, payloadLength, out, 3), 20);
      const p = decodeIpv4(out.subarray(3));
      assert.deepEqual([p.src, p.dst, p.protocol, p.ttl, p.tos, p.id, p.df, p.mf, p.fragOffset], [src, dst, protocol, ttl, tos, id, df, false, 0]);
      assert.equal(p.totalLength, 20 + payloadLength);
      assert.equal(p.checksumOk, true);
      assert.equal(p.payload.length, payloadLength);
    }));
});

test('encodeIpHeader → decodeIp round-trips every IPv6 field', () => {
  fc.assert(fc.property(v6addr, v6addr, fc.nat(255), fc.nat(255), fc.nat(0xfffff), fc.nat(2000), fc.constantFrom(6, 17, 58, 59),
    (src, dst, ttl, tos, flowLabel, payloadLength, protocol) => {
      fc.pre(!(payloadLength === 0 && protocol !== 59));
      const out = new Uint8Array(40 + payloadLength);
      assert.equal(encodeIpHeader({ src, dst, ttl, tos, flowLabel, protocol }, payloadLength, out, 0), 40);
      const p = decodeIpv6(out);
      assert.deepEqual([p.src, p.dst, p.ttl, p.tos, p.flowLabel, p.protocol], [src, dst, ttl, tos, flowLabel, protocol]);
      assert.equal(p.totalLength, 40 + payloadLength);
      assert.equal(p.payload.length, payloadLength);
    }));
});

test('encodeIpHeader defaults: TCP, TTL 64, DF, and reproduces reference header bytes', () => {
  const out = new Uint8Array(20);
  encodeIpHeader({ src: parseAddress('10.0.0.1'), dst: parseAddress('10.0.0.2'), id: 0x1c46 }, 40, out, 0);
  assert.deepEqual(out, hex(V4_SYN).subarray(0, 20));
  const out6 = new Uint8Array(40);
  encodeIpHeader({ src: parseAddress('fd00::2'), dst: parseAddress('fd00::1'), flowLabel: 0x12345 }, 40, out6, 0);
  assert.deepEqual(out6, hex(V6_SYNACK).subarray(0, 40));
});

test('encodeIpHeader rejects mixed families, small buffers and oversize payloads with WireError', () => {
  const out = new Uint8Array(64);
  assert.throws(() => encodeIpHeader({ src: parseAddress('10.0.0.1'), dst: parseAddress('::1') }, 0, out, 0), wireError('address', 'bad-length', 0));
  assert.throws(() => encodeIpHeader({ src: parseAddress('10.0.0.1'), dst: parseAddress('10.0.0.2') }, 0, out, 50), wireError('ipv4', 'buffer-too-small', 50));
  assert.throws(() => encodeIpHeader({ src: parseAddress('10.0.0.1'), dst: parseAddress('10.0.0.2') }, 65516, out, 0), wireError('ipv4', 'too-long', 2));
  assert.throws(() => encodeIpHeader({ src: parseAddress('::1'), dst: parseAddress('::2') }, 65536, out, 0), wireError('ipv6', 'too-long', 4));
});
