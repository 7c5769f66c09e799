import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeTcp, encodeTcp, encodeOptions, optionsLength, tcpChecksumOk, freebsdOptionOrder, linuxOptionOrder } from './tcp.js';
import { parseAddress } from './address.js';
import { WireError } from './errors.js';
import { hex, wireError } from './test-util.js';
import { SYN, ACK, ECE, CWR, URG, PSH, AE, FIN, RST, makeSegment, type TcpOptions, type TcpSegment } from './tcp-types.js';

const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

// TCP parts of reference datagrams built by an independent Python implementation (see ip-header-codec tests).
const SYN_V4 = '9c4000500102030400000000a002faf054100000020405b40402080a112233440000000001030307';
const SYNACK_V6 = '00509c40fffffff001020305a052fe88f2ac0000020405a00402080aaabbccdd1122334401030309';
const DATA_V4 = '303901bb000000070000000891b80200eab100030101050a000003e8000007d0fe04785668656c6c6f';
const A4 = [parseAddress('10.0.0.1'), parseAddress('10.0.0.2')] as const;
const A6 = [parseAddress('fd00::2'), parseAddress('fd00::1')] as const;
const AD = [parseAddress('192.168.1.10'), parseAddress('192.168.1.20')] as const;


test('decodes a Linux SYN: header fields and MSS, SACK-permitted, timestamps, window scale', () => {
  const d = decodeTcp(hex(SYN_V4));
  assert.equal(d.dataOffset, 40);
  assert.equal(d.checksum, 0x5410);
  assert.equal(d.reserved, 0);
  const s = d.seg;
  assert.deepEqual([s.srcPort, s.dstPort, s.seq, s.ack, s.flags, s.window, s.urgent], [40000, 80, 0x01020304, 0, SYN, 64240, 0]);
  assert.deepEqual(s.options, { mss: 1460, sackPermitted: true, tsVal: 0x11223344, tsEcr: 0, wscale: 7, order: [2, 4, 8, 1, 3] });
  assert.equal(s.payload.length, 0);
});

test('decodes SYN+ACK+ECE over IPv6 with sequence numbers near 2^32', () => {
  const s = decodeTcp(hex(SYNACK_V6)).seg;
  assert.equal(s.flags, SYN | ACK | ECE);
  assert.equal(s.seq, 0xfffffff0);
  assert.equal(s.ack, 0x01020305);
  assert.equal(s.options.tsVal, 0xaabbccdd);
  assert.equal(s.options.tsEcr, 0x11223344);
  assert.equal(s.options.wscale, 9);
  assert.equal(tcpChecksumOk(hex(SYNACK_V6), A6[0], A6[1]), true);
});

test('decodes AE/CWR/URG flags, urgent pointer, SACK blocks, unknown options raw, and payload', () => {
  const s = decodeTcp(hex(DATA_V4)).seg;
  assert.equal(s.flags, AE | CWR | URG | PSH | ACK);
  assert.equal(s.urgent, 3);
  assert.deepEqual(s.options.sack, [1000, 2000]);
  assert.equal(s.options.unknown?.length, 1);
  assert.equal(s.options.unknown![0]!.kind, 254);
  assert.deepEqual(s.options.unknown![0]!.data, hex('7856'));
  assert.deepEqual(s.options.order, [1, 1, 5, 254]);
  assert.equal(new TextDecoder().decode(s.payload), 'hello');
  assert.equal(tcpChecksumOk(hex(DATA_V4), AD[0], AD[1]), true);
});

test('every control bit decodes independently, including the reserved bits', () => {
  for (const bit of [FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, AE]) {
    const b = hex(SYN_V4);
    b[12] = (b[12]! & 0xf0) | (bit >> 8);
    b[13] = bit & 0xff;
    assert.equal(decodeTcp(b).seg.flags, bit);
  }
  const b = hex(SYN_V4);
  b[12] = (b[12]! & 0xf0) | 0x0e;
  const d = decodeTcp(b);
  assert.equal(d.reserved, 7);
  assert.equal(d.seg.flags, SYN, 'reserved bits are not flags');
});

test('encodes reference segments byte for byte, with Linux option layout when no order is given', () => {
  const syn = makeSegment({ srcPort: 40000, dstPort: 80, seq: 0x01020304, flags: SYN, window: 64240,
    options: { mss: 1460, sackPermitted: true, tsVal: 0x11223344, tsEcr: 0, wscale: 7 } });
  assert.equal(toHex(encodeTcp(syn, A4[0], A4[1])), SYN_V4);
  const synack = makeSegment({ srcPort: 80, dstPort: 40000, seq: 0xfffffff0, ack: 0x01020305, flags: SYN | ACK | ECE, window: 65160,
    options: { wscale: 9, tsEcr: 0x11223344, tsVal: 0xaabbccdd, mss: 1440, sackPermitted: true } });
  assert.equal(toHex(encodeTcp(synack, A6[0], A6[1])), SYNACK_V6);
});

test('decode → encode reproduces a peer layout exactly via options.order', () => {
  for (const h of [SYN_V4, SYNACK_V6, DATA_V4]) {
    const d = decodeTcp(hex(h));
    const src = h === SYN_V4 ? A4 : h === SYNACK_V6 ? A6 : AD;
    assert.equal(toHex(encodeTcp(d.seg, src[0], src[1])), h);
  }
  // A BSD-style SYN: MSS, NOP, WS, NOP, NOP, TS, SACK-permitted, EOL, pad.
  const opts = hex('020405a0 01030301 0101080a 3a01ea4e 00000000 04020000');
  const d = decodeTcp(new Uint8Array([...hex('c0210015268a7e5f00000000b002ffff00000000'), ...opts]));
  assert.deepEqual(d.seg.options.order, [2, 1, 3, 1, 1, 8, 4, 0]);
  const out = new Uint8Array(opts.length);
  assert.equal(encodeOptions(d.seg.options, out, 0), 24);
  assert.deepEqual(out, opts);
});

test('Linux default layouts: TS without SACK-permitted, SACK-permitted alone, window scale, SACK blocks', () => {
  const enc = (o: TcpOptions): string => {
    const out = new Uint8Array(optionsLength(o));
    encodeOptions(o, out, 0);
    return toHex(out);
  };
  assert.equal(enc({ tsVal: 1, tsEcr: 2 }), '0101080a0000000100000002');
  assert.equal(enc({ sackPermitted: true }), '01010402');
  assert.equal(enc({ mss: 536, wscale: 14 }), '02040218' + '01030' + '30e');
  assert.equal(enc({ tsVal: 5, tsEcr: 6, sack: [10, 20, 30, 40] }),
    '0101080a0000000500000006' + '01010512' + '0000000a00000014' + '0000001e00000028');
  assert.equal(enc({ unknown: [{ kind: 34, data: hex('aabb') }] }), '2204aabb');
  assert.equal(enc({ unknown: [{ kind: 30, data: hex('01') }] }), '1e030100', 'padded with zeros to 4');
  assert.equal(enc({}), '');
});

test('malformed options give WireError(tcp-option) at the option offset', () => {
  const withOptions = (o: string): Uint8Array => {
    const opts = hex(o);
    const b = new Uint8Array(20 + opts.length);
    b[12] = ((20 + opts.length) / 4) << 4;
    b.set(opts, 20);
    return b;
  };
  assert.throws(() => decodeTcp(withOptions('02050000 00000000')), wireError('tcp-option', 'bad-length', 20));
  assert.throws(() => decodeTcp(withOptions('01010300')), wireError('tcp-option', 'bad-length', 22), 'WS length 0');
  assert.throws(() => decodeTcp(withOptions('01fe0100')), wireError('tcp-option', 'bad-length', 21), 'length 1');
  assert.throws(() => decodeTcp(withOptions('0101080a 00000000')), wireError('tcp-option', 'overrun', 22));
  assert.throws(() => decodeTcp(withOptions('010101fe')), wireError('tcp-option', 'truncated', 23));
  assert.throws(() => decodeTcp(withOptions('0101080c 00000000 00000000 00000000')), wireError('tcp-option', 'bad-length', 22));
  assert.throws(() => decodeTcp(withOptions('0502 0000')), wireError('tcp-option', 'bad-length', 20), 'SACK without blocks');
  assert.throws(() => decodeTcp(withOptions('050b 00000000 00000000 0000000000')), wireError('tcp-option', 'bad-length', 20));
  assert.throws(() => decodeTcp(withOptions('0403 0000')), wireError('tcp-option', 'bad-length', 20));
});

test('truncated or impossible TCP headers give WireError at the right offset', () => {
  assert.throws(() => decodeTcp(new Uint8Array(0)), wireError('tcp', 'truncated', 0));
  assert.throws(() => decodeTcp(hex(SYN_V4).subarray(0, 19)), wireError('tcp', 'truncated', 19));
  assert.throws(() => decodeTcp(hex(SYN_V4).subarray(0, 39)), wireError('tcp', 'truncated', 39));
  const b = hex(SYN_V4); b[12] = 0x40;
  assert.throws(() => decodeTcp(b), wireError('tcp', 'bad-data-offset', 12));
  assert.throws(() => decodeTcp('nope' as unknown as Uint8Array), WireError);
});

test('options beyond 40 bytes and oversize unknown options are refused with WireError', () => {
  const sack = Array.from({ length: 10 }, (_, i) => i * 100); // 5 blocks = 42 bytes + NOPs
  assert.throws(() => optionsLength({ sack }), wireError('tcp-option', 'too-long', 20));
  assert.throws(() => encodeTcp(makeSegment({ srcPort: 1, dstPort: 2, options: { sack } }), A4[0], A4[1]), WireError);
  assert.throws(() => optionsLength({ unknown: [{ kind: 99, data: new Uint8Array(300) }] }), WireError);
  assert.throws(() => encodeTcp(makeSegment({ srcPort: 1, dstPort: 2 }), A4[0], A6[1]), wireError('address', 'bad-length', 0));
});

test('encodeTcp into a caller buffer writes at the offset and returns a view', () => {
  const seg = makeSegment({ srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: ACK | FIN, window: 5, payload: hex('010203') });
  const out = new Uint8Array(100).fill(0xee);
  const view = encodeTcp(seg, A4[0], A4[1], out, 10);
  assert.equal(view.byteOffset, 10);
  assert.equal(view.length, 23);
  assert.equal(out[9], 0xee);
  assert.equal(out[33], 0xee);
  assert.equal(tcpChecksumOk(view, A4[0], A4[1]), true);
  assert.deepEqual(view, encodeTcp(seg, A4[0], A4[1]));
  assert.throws(() => encodeTcp(seg, A4[0], A4[1], out, 80), wireError('tcp', 'buffer-too-small', 80));
});

// ---- properties ----

const u32 = fc.nat({ max: 0xffffffff });
const flagsArb = fc.nat(0x1ff);
const optionsArb: fc.Arbitrary<TcpOptions> = fc.record({
  mss: fc.option(fc.nat(0xffff), { nil: undefined }),
  wscale: fc.option(fc.nat(255), { nil: undefined }),
  sackPermitted: fc.option(fc.constant(true), { nil: undefined }),
  ts: fc.option(fc.tuple(u32, u32), { nil: undefined }),
  sack: fc.option(fc.array(fc.tuple(u32, u32), { minLength: 1, maxLength: 2 }), { nil: undefined }),
  unknown: fc.option(fc.array(fc.record({ kind: fc.integer({ min: 6, max: 255 }).filter((k) => k !== 8), data: fc.uint8Array({ maxLength: 3 }) }), { minLength: 1, maxLength: 1 }), { nil: undefined }),
}).map((r) => {
  const o: TcpOptions = {};
  if (r.mss !== undefined) o.mss = r.mss;
  if (r.wscale !== undefined) o.wscale = r.wscale;
  if (r.sackPermitted) o.sackPermitted = true;
  if (r.ts) { o.tsVal = r.ts[0]; o.tsEcr = r.ts[1]; }
  if (r.sack) o.sack = r.sack.flat();
  if (r.unknown) o.unknown = r.unknown.map((u) => ({ kind: u.kind, data: u.data }));
  return o;
}).filter((o) => { try { optionsLength(o); return true; } catch { return false; } });

const segmentArb = (options: fc.Arbitrary<TcpOptions>): fc.Arbitrary<TcpSegment> => fc.record({
  srcPort: fc.nat(0xffff), dstPort: fc.nat(0xffff), seq: u32, ack: u32, flags: flagsArb,
  window: fc.nat(0xffff), urgent: fc.nat(0xffff), options, payload: fc.uint8Array({ maxLength: 64 }),
});

test('property: encode → decode preserves every header field and option (IPv4 and IPv6 checksums valid)', () => {
  fc.assert(fc.property(segmentArb(optionsArb), fc.boolean(), (seg, v6) => {
    const [src, dst] = v6 ? A6 : A4;
    const bytes = encodeTcp(seg, src, dst);
    assert.equal(tcpChecksumOk(bytes, src, dst), true);
    const d = decodeTcp(bytes);
    assert.equal(d.dataOffset, 20 + optionsLength(seg.options));
    const { order, ...opts } = d.seg.options;
    assert.deepEqual({ ...d.seg, options: opts }, { ...seg });
    assert.ok(order === undefined || order.length > 0);
  }));
});

// Raw option lists with arbitrary NOP/EOL placement, to check `order` reproduces any layout.
const rawOption = fc.oneof(
  fc.constant('01'),
  fc.nat(0xffff).map((v) => '0204' + v.toString(16).padStart(4, '0')),
  fc.nat(255).map((v) => '0303' + v.toString(16).padStart(2, '0')),
  fc.constant('0402'),
  fc.tuple(u32, u32).map(([a, b]) => '080a' + a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0')),
  fc.tuple(u32, u32).map(([a, b]) => '050a' + a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0')),
  fc.tuple(fc.integer({ min: 9, max: 255 }), fc.uint8Array({ maxLength: 4 })).map(([k, d]) => k.toString(16).padStart(2, '0') + (d.length + 2).toString(16).padStart(2, '0') + toHex(d)),
);

test('property: any option list (NOP/EOL anywhere, each kind at most once) survives decode → encode byte for byte', () => {
  fc.assert(fc.property(
    fc.array(rawOption, { maxLength: 8 }).filter((l) => {
      const kinds = l.filter((h) => h !== '01').map((h) => h.slice(0, 2));
      return new Set(kinds).size === kinds.length;
    }),
    fc.boolean(),
    (list, eol) => {
      let raw = list.join('') + (eol ? '00' : '');
      fc.pre(raw.length / 2 <= 40);
      while ((raw.length / 2) % 4) raw += '00';
      const header = hex('000100020000000100000002' + ((20 + raw.length / 2) / 4 << 4).toString(16) + '10ffff00000000');
      const bytes = new Uint8Array([...header, ...hex(raw || '00').subarray(0, raw.length / 2), ...hex('abcd')]);
      const d = decodeTcp(bytes);
      const again = encodeTcp(d.seg, A4[0], A4[1]);
      assert.equal(toHex(again.subarray(20)), toHex(bytes.subarray(20)));
      assert.deepEqual(d.seg.payload, hex('abcd'));
    }));
});

test('repeated options: the last value wins, SACK blocks accumulate and re-encode in the first SACK option', () => {
  const opts = hex('0204 0100 0204 0200 050a 00000001 00000002 050a 00000003 00000004 00000000'); // 32 bytes
  const b = new Uint8Array(20 + opts.length);
  b[12] = ((20 + opts.length) / 4) << 4;
  b.set(opts, 20);
  const o = decodeTcp(b).seg.options;
  assert.equal(o.mss, 0x200);
  assert.deepEqual(o.sack, [1, 2, 3, 4]);
  assert.deepEqual(o.order, [2, 2, 5, 5, 0]);
  const out = new Uint8Array(optionsLength(o));
  encodeOptions(o, out, 0);
  assert.equal(toHex(out), '02040200' + '02040200' + '0512' + '00000001000000020000000300000004' + '0000', 'EOL then zero padding to 28');
});

test('FreeBSD layouts from the packetdrill reference (tcp_addoptions alignment rule)', () => {
  const enc = (o: TcpOptions): string => {
    const out = new Uint8Array(optionsLength(o));
    encodeOptions(o, out, 0);
    return toHex(out);
  };
  const withOrder = (o: TcpOptions): TcpOptions => ({ ...o, order: freebsdOptionOrder(o) });
  // <mss 1460,nop,wscale 6,sackOK,TS val 1 ecr 0> (20 bytes)
  assert.equal(enc(withOrder({ mss: 1460, wscale: 6, sackPermitted: true, tsVal: 1, tsEcr: 0 })), '020405b4' + '010303060402' + '080a0000000100000000');
  // <mss 1460,sackOK,eol,eol>
  assert.equal(enc(withOrder({ mss: 1460, sackPermitted: true })), '020405b404020000');
  // no SACK: <mss 1460,nop,wscale 6,nop,nop,TS val 1 ecr 0>
  assert.equal(enc(withOrder({ mss: 1460, wscale: 6, tsVal: 1, tsEcr: 0 })), '020405b401030306' + '0101080a0000000100000000');
  // <mss 1460>
  assert.equal(enc(withOrder({ mss: 1460 })), '020405b4');
  // data: <nop,nop,TS>, then SACK blocks aligned to mod 4 = 2
  assert.equal(enc(withOrder({ tsVal: 7, tsEcr: 8, sack: [1, 2] })), '0101080a0000000700000008' + '0101050a0000000100000002');
});

test('linuxOptionOrder names the default layout, and encoding with it changes nothing', () => {
  const cases: TcpOptions[] = [
    { mss: 1460, sackPermitted: true, tsVal: 1, tsEcr: 0, wscale: 8 },
    { mss: 1460, sackPermitted: true, wscale: 8 },
    { mss: 1460, sackPermitted: true },
    { mss: 1460, wscale: 8 },
    { tsVal: 1, tsEcr: 2, sack: [5, 6] },
  ];
  assert.deepEqual(linuxOptionOrder(cases[0]!), [2, 4, 8, 1, 3]);
  assert.deepEqual(linuxOptionOrder(cases[1]!), [2, 1, 1, 4, 1, 3]);
  for (const o of cases) {
    const a = new Uint8Array(optionsLength(o));
    const b = new Uint8Array(a.length);
    encodeOptions(o, a, 0);
    encodeOptions({ ...o, order: linuxOptionOrder(o) }, b, 0);
    assert.deepEqual(b, a);
  }
});
