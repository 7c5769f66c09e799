import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decapsulate, isSupportedLinkType } from './linktypes.js';
import { WireError } from './errors.js';

const IP4 = [0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
const IP6 = [0x60, 0, 0, 0, 0, 0, 6, 64, ...new Array(32).fill(0)];
const MACS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
const u8 = (a: number[]): Uint8Array => Uint8Array.from(a);
const ip = (r: Uint8Array | null): number[] | null => (r === null ? null : [...r]);

test('Ethernet: IPv4, IPv6, and non-IP (ARP, 802.3 LLC) frames', () => {
  assert.deepEqual(ip(decapsulate(1, u8([...MACS, 0x08, 0x00, ...IP4]))), IP4);
  assert.deepEqual(ip(decapsulate(1, u8([...MACS, 0x86, 0xdd, ...IP6]))), IP6);
  assert.equal(decapsulate(1, u8([...MACS, 0x08, 0x06, 0, 1])), null);
  assert.equal(decapsulate(1, u8([...MACS, 0x00, 0x40, 0xaa, 0xaa])), null);
});

test('Ethernet: 802.1Q, QinQ (802.1ad) and the old 0x9100 tags, any depth', () => {
  assert.deepEqual(ip(decapsulate(1, u8([...MACS, 0x81, 0x00, 0, 5, 0x08, 0x00, ...IP4]))), IP4);
  assert.deepEqual(ip(decapsulate(1, u8([...MACS, 0x88, 0xa8, 0, 5, 0x81, 0x00, 0, 7, 0x86, 0xdd, ...IP6]))), IP6);
  assert.deepEqual(ip(decapsulate(1, u8([...MACS, 0x91, 0x00, 0, 5, 0x81, 0x00, 0, 7, 0x08, 0x00, ...IP4]))), IP4);
});

test('Ethernet: MPLS label stacks, PPPoE sessions and Cisco FabricPath', () => {
  // two labels, bottom-of-stack on the second
  assert.deepEqual(ip(decapsulate(1, u8([...MACS, 0x88, 0x47, 0, 1, 0, 64, 0, 2, 1, 64, ...IP4]))), IP4);
  // PPPoE session, PPP protocol 0x0021 (IPv4) / 0x0057 (IPv6) / LCP (not IP)
  assert.deepEqual(ip(decapsulate(1, u8([...MACS, 0x88, 0x64, 0x11, 0, 0, 1, 0, 22, 0x00, 0x21, ...IP4]))), IP4);
  assert.deepEqual(ip(decapsulate(1, u8([...MACS, 0x88, 0x64, 0x11, 0, 0, 1, 0, 42, 0x00, 0x57, ...IP6]))), IP6);
  assert.equal(decapsulate(1, u8([...MACS, 0x88, 0x64, 0x11, 0, 0, 1, 0, 4, 0xc0, 0x21, 1, 2])), null);
  // FabricPath: outer MACs, 0x8903, FTag/TTL, then a whole inner Ethernet header
  assert.deepEqual(ip(decapsulate(1, u8([...MACS, 0x89, 0x03, 0, 0, ...MACS, 0x08, 0x00, ...IP4]))), IP4);
});

test('raw IP link types 101, 12, 14 (version nibble), 228 and 229', () => {
  for (const lt of [101, 12, 14]) {
    assert.deepEqual(ip(decapsulate(lt, u8(IP4))), IP4);
    assert.deepEqual(ip(decapsulate(lt, u8(IP6))), IP6);
    assert.throws(() => decapsulate(lt, u8([0x10, 0])), (e: unknown) => e instanceof WireError && e.code === 'bad-version');
  }
  assert.deepEqual(ip(decapsulate(228, u8(IP4))), IP4);
  assert.deepEqual(ip(decapsulate(229, u8(IP6))), IP6);
});

test('Linux cooked capture SLL (113) and SLL2 (276)', () => {
  const sll = [0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
  assert.deepEqual(ip(decapsulate(113, u8([...sll, 0x08, 0x00, ...IP4]))), IP4);
  assert.deepEqual(ip(decapsulate(113, u8([...sll, 0x86, 0xdd, ...IP6]))), IP6);
  assert.equal(decapsulate(113, u8([...sll, 0x08, 0x06, 0])), null);
  const sll2 = (proto: number[]): number[] => [...proto, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
  assert.deepEqual(ip(decapsulate(276, u8([...sll2([0x08, 0x00]), ...IP4]))), IP4);
  assert.deepEqual(ip(decapsulate(276, u8([...sll2([0x86, 0xdd]), ...IP6]))), IP6);
});

test('BSD null (0, host byte order) and OpenBSD loopback (108, network order)', () => {
  assert.deepEqual(ip(decapsulate(0, u8([2, 0, 0, 0, ...IP4]))), IP4);
  assert.deepEqual(ip(decapsulate(0, u8([0, 0, 0, 2, ...IP4]))), IP4);
  for (const af6 of [24, 28, 30]) assert.deepEqual(ip(decapsulate(0, u8([af6, 0, 0, 0, ...IP6]))), IP6);
  assert.deepEqual(ip(decapsulate(108, u8([0, 0, 0, 2, ...IP4]))), IP4);
  assert.deepEqual(ip(decapsulate(108, u8([0, 0, 0, 24, ...IP6]))), IP6);
  assert.equal(decapsulate(0, u8([7, 0, 0, 0, 1])), null);
});

test('short headers are typed errors naming the layer; unknown link types are refused', () => {
  const cases: Array<[number, number[], string]> = [
    [1, [1, 2, 3], 'ethernet'], [1, [...MACS, 0x81, 0x00, 0], 'ethernet'], [113, [0, 1], 'sll'], [276, [8, 0], 'sll'],
    [0, [2, 0], 'null'], [108, [], 'null'], [101, [], 'packet'],
  ];
  for (const [lt, bytes, layer] of cases) {
    assert.throws(() => decapsulate(lt, u8(bytes)), (e: unknown) => e instanceof WireError && e.layer === layer && e.code === 'truncated');
  }
  // 802.11 (105) is read now; Juniper's ATM1 (137) still is not (of Juniper's link types only Ethernet, 178).
  assert.equal(isSupportedLinkType(105), true);
  assert.equal(isSupportedLinkType(137), false);
  assert.throws(() => decapsulate(137, u8([1])), (e: unknown) => e instanceof WireError && e.code === 'unsupported-linktype');
});

test('any bytes on any supported link type: an IP view, null, or a WireError', () => {
  fc.assert(fc.property(fc.constantFrom(0, 1, 12, 14, 101, 108, 113, 228, 229, 276), fc.uint8Array({ maxLength: 80 }), (lt, bytes) => {
    try {
      const r = decapsulate(lt, bytes);
      if (r) assert.ok(r.buffer === bytes.buffer, 'a view, not a copy');
    } catch (e) {
      assert.ok(e instanceof WireError);
    }
  }));
});
