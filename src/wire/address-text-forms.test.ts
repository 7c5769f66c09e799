import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAddress, formatAddress, addressEquals, isIpv6 } from './address.js';
import { WireError } from './errors.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

test('parses IPv4 dotted quads into 4 network-order bytes', () => {
  assert.deepEqual(parseAddress('10.0.0.1'), bytes(10, 0, 0, 1));
  assert.deepEqual(parseAddress('255.255.255.255'), bytes(255, 255, 255, 255));
  assert.deepEqual(parseAddress('0.0.0.0'), bytes(0, 0, 0, 0));
  assert.equal(isIpv6(parseAddress('192.168.1.1')), false);
});

test('parses IPv6 text forms of RFC 4291 §2.2 into 16 bytes', () => {
  assert.deepEqual(parseAddress('fd00::1'), bytes(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));
  assert.deepEqual(parseAddress('::'), new Uint8Array(16));
  assert.deepEqual(parseAddress('::1'), bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));
  assert.deepEqual(parseAddress('2001:DB8:0:0:8:800:200C:417A'), bytes(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 8, 8, 0, 0x20, 0x0c, 0x41, 0x7a));
  assert.deepEqual(parseAddress('::ffff:1.2.3.4'), bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4));
  assert.deepEqual(parseAddress('64:ff9b::192.0.2.33').subarray(12), bytes(192, 0, 2, 33));
  assert.deepEqual(parseAddress('1::'), bytes(0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
  assert.equal(isIpv6(parseAddress('fe80::1')), true);
});

test('formats IPv6 canonically per RFC 5952', () => {
  // §4.1 no leading zeros, §4.3 lowercase, §4.2.1 shorten maximally, §4.2.2 not a single 16-bit 0,
  // §4.2.3 longest run, first one on ties; §5 IPv4-mapped in mixed notation.
  const cases: Array<[string, string]> = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:DB8::AAAA', '2001:db8::aaaa'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['fd00:0:0:0:0:0:0:1', 'fd00::1'],
    ['0:0:0:0:0:ffff:102:304', '::ffff:1.2.3.4'],
  ];
  for (const [input, want] of cases) assert.equal(formatAddress(parseAddress(input)), want, input);
});

test('formats IPv4 as a dotted quad', () => {
  assert.equal(formatAddress(bytes(10, 0, 0, 1)), '10.0.0.1');
  assert.equal(formatAddress(bytes(255, 0, 128, 7)), '255.0.128.7');
});

test('rejects malformed addresses with WireError(address)', () => {
  const badInputs = [
    '', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.-4', '1.2.3.4 ', 'a.b.c.d',
    ':::', '1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', 'fe80::1%eth0', '[::1]',
    '1:2:3:4:5:6:7::8', '::ffff:1.2.3', '::1.2.3.4:5', ':1::', '1:2:3:4:5:6:1.2.3.4:1',
  ];
  for (const s of badInputs) {
    assert.throws(() => parseAddress(s), (e: unknown) => e instanceof WireError && e.layer === 'address', JSON.stringify(s));
  }
  assert.throws(() => parseAddress(42 as unknown as string), WireError);
  assert.throws(() => formatAddress(new Uint8Array(5)), (e: unknown) => e instanceof WireError && e.code === 'bad-length');
});

test('addressEquals compares bytes and family', () => {
  assert.equal(addressEquals(parseAddress('10.0.0.1'), bytes(10, 0, 0, 1)), true);
  assert.equal(addressEquals(parseAddress('10.0.0.1'), bytes(10, 0, 0, 2)), false);
  assert.equal(addressEquals(parseAddress('::a00:1'), parseAddress('10.0.0.1')), false);
  assert.equal(addressEquals(parseAddress('fd00::1'), parseAddress('fd00:0::0:1')), true);
});

test('any IPv4 address round-trips through its text form', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (a) => {
    assert.deepEqual(parseAddress(formatAddress(a)), a);
  }));
});

// Zero runs are what compression is about, so bias groups toward 0.
const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
const ipv6 = fc.array(group, { minLength: 8, maxLength: 8 }).map((gs) => {
  const a = new Uint8Array(16);
  gs.forEach((g, i) => { a[2 * i] = g >> 8; a[2 * i + 1] = g & 0xff; });
  return a;
});

test('any IPv6 address round-trips through its RFC 5952 text form', () => {
  fc.assert(fc.property(ipv6, (a) => {
    assert.deepEqual(parseAddress(formatAddress(a)), a);
  }));
});

test('IPv6 text agrees with the WHATWG URL serializer (same compression rules) outside IPv4-mapped', () => {
  fc.assert(fc.property(ipv6, (a) => {
    const mapped = a.subarray(0, 10).every((x) => x === 0) && a[10] === 0xff && a[11] === 0xff;
    fc.pre(!mapped);
    const text = formatAddress(a);
    assert.equal(new URL(`http://[${text}]/`).hostname, `[${text}]`);
  }));
});
