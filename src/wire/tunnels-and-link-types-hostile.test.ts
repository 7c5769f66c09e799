/**
 * Hostile bytes against the tunnel decoder (tunnels.ts) and the link types added to linktypes.ts: random and
 * mutated frames never raise anything but WireError, and what they return is a view inside the given bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decapsulate } from './linktypes.js';
import { tunnelPayload, PROTO_GRE, PROTO_IPIP, PROTO_IPV6_IN_IP, PROTO_UDP } from './tunnels.js';
import { WireError } from './errors.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s/g, '').match(/../g)!.map((x) => parseInt(x, 16)));
/** A minimal IPv4+TCP SYN (40 bytes) the seeds carry. */
const IP4 = '4500002800010000400600000a0900010a0900029c400050000003e80000000050022000000000000';

/** Link type → a valid frame carrying IP4. */
const LINK_SEEDS: Array<[number, Uint8Array]> = [
  [9, hex('0021' + IP4)],
  [50, hex('ff030021' + IP4)],
  [51, hex('1100000300160021' + IP4)],
  [104, hex('0f000800' + IP4)],
  [105, hex('0801 0000 020000000002 020000000001 020000000003 0000 aaaa03000000 0800' + IP4)],
  [127, hex('00000800 00000000 8801 0000 020000000002 020000000001 020000000003 0000 0000 aaaa03000000 0800' + IP4)],
  [119, hex('44000000 10000000 0000000000000000 0801 0000 020000000002 020000000001 020000000003 0000 aaaa03000000 0800' + IP4)],
  [163, hex('80211001 00000010 0000000000000000 0801 0000 020000000002 020000000001 020000000003 0000 aaaa03000000 0800' + IP4)],
  [10, hex('50 020000000002 020000000001 aaaa03000000 0800' + IP4)],
  [242, hex('00'.repeat(40) + '08000000' + IP4)],
  [178, hex('4d474381 0003 010105 020000000002 020000000001 0800' + IP4)],
  [178, hex('4d474303 02000000' + IP4)],
  [129, hex('01020000d4000000' + IP4)],
  [239, hex('02000005 0800 0100 00000000 2c00 0900' + IP4 + '0000 0000')],
  [1, hex('020000000002 020000000001 002e aaaa03000000 0800' + IP4)],
  [1, hex('020000000002 020000000001 88e7 00000001 020000000002 020000000001 0800' + IP4)],
  [1, hex('020000000002 020000000001 8926 00010002 0800' + IP4)],
];

/** IP protocol → a valid payload carrying a tunnel. */
const TUNNEL_SEEDS: Array<[number, Uint8Array]> = [
  [PROTO_IPIP, hex(IP4)],
  [PROTO_IPV6_IN_IP, hex('6000000000080640' + '00'.repeat(32) + '0000000000000000')],
  [PROTO_GRE, hex('00000800' + IP4)],
  [PROTO_GRE, hex('30006558 00000007 00000001 020000000002 020000000001 0800' + IP4)],
  [PROTO_GRE, hex('100088be 00000001 10000005 00000000 020000000002 020000000001 0800' + IP4)],
  [PROTO_GRE, hex('100022eb 00000001 20000005 00000000 00000000 020000000002 020000000001 0800' + IP4)],
  [PROTO_GRE, hex('3081880b 00280001 00000001 00000000 0021' + IP4)],
  [PROTO_UDP, hex('c35012b5 00000000 08000000 00002a00 020000000002 020000000001 0800' + IP4)],
  [PROTO_UDP, hex('c35017c1 00000000 00006558 00000700 020000000002 020000000001 0800' + IP4)],
  [PROTO_UDP, hex('08680868 00000000 34ff0028 00000009 00000085 01000000' + IP4)],
  [PROTO_UDP, hex('13d013d0 00000000 41521129 00000000' + '00'.repeat(36) + IP4)],
];

function isViewInside(out: Uint8Array, input: Uint8Array): boolean {
  return out.buffer === input.buffer && out.byteOffset >= input.byteOffset
    && out.byteOffset + out.length <= input.byteOffset + input.length;
}

function onlyWireErrors(bytes: Uint8Array, fn: (b: Uint8Array) => Uint8Array | null): void {
  let out: Uint8Array | null;
  try {
    out = fn(bytes);
  } catch (e) {
    if (!(e instanceof WireError)) assert.fail(`threw ${String(e)} on ${Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join('')}`);
    return;
  }
  if (out !== null) assert.ok(isViewInside(out, bytes), 'the result is a view inside the input');
}

test('every link type seed decodes to its IPv4 datagram', () => {
  for (const [lt, frame] of LINK_SEEDS) {
    const ip = decapsulate(lt, frame);
    assert.ok(ip !== null, `link type ${lt}`);
    assert.equal(ip[0], 0x45, `link type ${lt}`);
  }
  for (const [proto, payload] of TUNNEL_SEEDS) assert.ok(tunnelPayload(proto, payload) !== null, `protocol ${proto} ${Array.from(payload.subarray(0, 4), (x) => x.toString(16)).join(' ')}`);
});

test('10k random frames on every added link type only ever raise WireError, and return views inside the input', () => {
  const types = [...new Set(LINK_SEEDS.map(([lt]) => lt))];
  fc.assert(fc.property(fc.constantFrom(...types), fc.uint8Array({ maxLength: 200 }), (lt, b) => {
    onlyWireErrors(b, (x) => decapsulate(lt, x));
  }), { numRuns: 10_000 });
});

test('10k mutations of valid link-layer frames only ever raise WireError', () => {
  const arb = fc.tuple(fc.constantFrom(...LINK_SEEDS), fc.array(fc.tuple(fc.nat(120), fc.nat(255)), { maxLength: 6 }), fc.nat(140))
    .map(([[lt, seed], writes, cut]) => {
      const b = new Uint8Array(Math.min(cut, seed.length + 8));
      b.set(seed.subarray(0, b.length));
      for (const [at, v] of writes) if (at < b.length) b[at] = v;
      return [lt, b] as const;
    });
  fc.assert(fc.property(arb, ([lt, b]) => onlyWireErrors(b, (x) => decapsulate(lt, x))), { numRuns: 10_000 });
});

test('10k random and mutated tunnel payloads never throw, and return views inside the input', () => {
  const arb = fc.oneof(
    fc.tuple(fc.constantFrom(PROTO_IPIP, PROTO_IPV6_IN_IP, PROTO_GRE, PROTO_UDP), fc.uint8Array({ maxLength: 160 })),
    fc.tuple(fc.constantFrom(...TUNNEL_SEEDS), fc.array(fc.tuple(fc.nat(100), fc.nat(255)), { maxLength: 6 }), fc.nat(120))
      .map(([[proto, seed], writes, cut]) => {
        const b = new Uint8Array(Math.min(cut, seed.length + 8));
        b.set(seed.subarray(0, b.length));
        for (const [at, v] of writes) if (at < b.length) b[at] = v;
        return [proto, b] as [number, Uint8Array];
      }),
  );
  fc.assert(fc.property(arb, ([proto, b]) => {
    const t = tunnelPayload(proto, b);
    if (t !== null) assert.ok(isViewInside(t.bytes, b));
  }), { numRuns: 10_000 });
});
