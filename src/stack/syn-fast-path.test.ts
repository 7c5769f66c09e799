import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, FIN, SYN, type TcpOptions } from '../wire/tcp-types.js';
import { decodePacket, encodeTcpPacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import type { TcpConfig } from '../tcp/config.js';
import { ipHost, seg, tcpFrom, V4, V6 } from './ip-test-peer.js';
import { installSynFastPath } from './syn-fast-path.js';
import { installSynCookies } from './syn-cookies.js';

/**
 * Two hosts with the same secrets and clock, one with the SYN-cookie fast path (installed, as every stack in Node
 * has it) and one without,
 * each listening with a SYN queue of one that a first SYN fills: every further SYN is a SYN-cookie case.
 */
function pair(v: 4 | 6, tcp: Partial<TcpConfig> = {}) {
  const fast = ipHost({ mtu: 1500, tcp });
  const slow = ipHost({ mtu: 1500, tcp, synFastPath: false });
  installSynFastPath(fast.stack);
  installSynFastPath(slow.stack); // and switched off by the option
  for (const h of [fast, slow]) {
    h.stack.listen(80, { backlog: 1 });
    h.stack.receive(tcpFrom(v, seg({ flags: SYN, srcPort: 999, options: { mss: 1460 } })));
    h.clock.advanceTo(123_456.7); // a timestamp clock well past zero
    h.out.length = 0;
  }
  return { fast, slow };
}

/** Sends the same datagram to both hosts; returns what each sent back (bytes) and the counters that differ. */
function both(p: ReturnType<typeof pair>, datagram: Uint8Array) {
  p.fast.stack.receive(datagram.slice());
  p.slow.stack.receive(datagram.slice());
  const fastOut = p.fast.out.splice(0).map((s) => s.bytes);
  const slowOut = p.slow.out.splice(0).map((s) => s.bytes);
  const a = p.fast.stack.snapshot(), b = p.slow.stack.snapshot();
  const differ = Object.keys(a).filter((k) => k !== 'SynFastPath' && a[k] !== b[k]).map((k) => `${k}: ${a[k]} vs ${b[k]}`);
  return { fastOut, slowOut, differ, fastPath: a.SynFastPath! };
}

const OPTION_SETS: Array<[string, TcpOptions]> = [
  ['no options (hping3)', {}],
  ['MSS only', { mss: 1400 }],
  ['Linux client: MSS, SACK-permitted, timestamps, window scale', { mss: 1460, sackPermitted: true, tsVal: 0xdeadbeef, tsEcr: 0, wscale: 7 }],
  ['timestamps without SACK', { mss: 1460, tsVal: 77, tsEcr: 0 }],
  ['timestamps and window scale 14+', { mss: 9000, tsVal: 1, tsEcr: 0, wscale: 15 }],
  ['SACK-permitted and window scale without timestamps (lost in the cookie, as on Linux)', { mss: 536, sackPermitted: true, wscale: 2 }],
];

for (const v of [4, 6] as const) {
  for (const [name, options] of OPTION_SETS) {
    test(`IPv${v}, ${name}: the fast path's cookie SYN+ACK is byte for byte the general path's`, () => {
      const p = pair(v);
      const r = both(p, tcpFrom(v, seg({ flags: SYN, srcPort: 40001, seq: 0x12345678, options })));
      assert.equal(r.fastPath, 1, 'answered by the fast path');
      assert.equal(r.fastOut.length, 1);
      assert.deepEqual(r.fastOut[0], r.slowOut[0]);
      assert.deepEqual(r.differ, []);
      const synack = decodePacket(r.fastOut[0]!);
      assert.equal(synack.tcp!.seg.flags, SYN | ACK);
      assert.ok(synack.tcpChecksumOk && synack.ip.checksumOk);
      assert.equal(synack.tcp!.seg.ack, 0x12345679);
    });
  }

  for (const [name, tcp] of [
    ['timestamps off', { timestamps: false }], ['SACK off', { sack: false }], ['window scaling off', { windowScaling: false }],
    ['a 64 KiB receive buffer, 1000-tick timestamps', { recvBufferSize: 65536, tsTicksPerMs: 1 }], ['MSS 1200', { mss: 1200 }],
  ] as Array<[string, Partial<TcpConfig>]>) {
    test(`IPv${v}, ${name}: the fast path's cookie SYN+ACK is byte for byte the general path's`, () => {
      const p = pair(v, tcp);
      const r = both(p, tcpFrom(v, seg({ flags: SYN, srcPort: 40001, seq: 7, options: { mss: 1460, sackPermitted: true, tsVal: 99, tsEcr: 0, wscale: 9 } })));
      assert.equal(r.fastPath, 1, 'answered by the fast path');
      assert.equal(r.fastOut.length, 1);
      assert.deepEqual(r.fastOut[0], r.slowOut[0]);
      assert.deepEqual(r.differ, []);
    });
  }

  test(`IPv${v}: the fast path's cookie completes the handshake when the client's ACK returns it`, () => {
    const { fast } = pair(v);
    let accepted = 0;
    fast.stack.unlisten(fast.stack.listenerFor(80)!);
    fast.stack.listen(80, { backlog: 1, onConnection: () => { accepted++; } });
    fast.stack.receive(tcpFrom(v, seg({ flags: SYN, srcPort: 999, options: { mss: 1460 } }))); // fills the SYN queue again
    fast.out.length = 0;
    fast.stack.receive(tcpFrom(v, seg({ flags: SYN, srcPort: 40002, seq: 5000, options: { mss: 1460, tsVal: 9, tsEcr: 0, wscale: 7, sackPermitted: true } })));
    assert.equal(fast.stack.counters.SynFastPath, 1);
    const synack = fast.out.pop()!.tcp!;
    fast.stack.receive(tcpFrom(v, seg({ flags: ACK, srcPort: 40002, seq: 5001, ack: synack.seq + 1, options: { tsVal: 10, tsEcr: synack.options.tsVal! } })));
    assert.equal(fast.stack.counters.SyncookiesRecv, 1);
    assert.equal(accepted, 1);
  });
}

/** A datagram edited after encoding (checksums then wrong unless fixed by the edit's own rules). */
function edited(v: 4 | 6, f: (b: Uint8Array) => Uint8Array, options: TcpOptions = { mss: 1460 }): Uint8Array {
  return f(tcpFrom(v, seg({ flags: SYN, srcPort: 40003, options })));
}

const HOSTILE: Array<[string, 4 | 6, () => Uint8Array, string | null]> = [
  ['bad TCP checksum', 4, () => edited(4, (b) => { b[b.length - 1]! ^= 0xff; b[36] ^= 1; return b; }), 'InCsumErrors'],
  ['bad TCP checksum (IPv6)', 6, () => edited(6, (b) => { b[56] ^= 1; return b; }), 'InCsumErrors'],
  ['bad IPv4 header checksum', 4, () => edited(4, (b) => { b[10] ^= 0x55; return b; }), 'InHdrErrors'],
  ['truncated: shorter than its IPv4 total length', 4, () => edited(4, (b) => b.subarray(0, b.length - 2)), 'InTruncatedPkts'],
  ['truncated: shorter than its IPv6 payload length', 6, () => edited(6, (b) => b.subarray(0, b.length - 4)), 'InTruncatedPkts'],
  ['truncated: not even a TCP header', 4, () => edited(4, (b) => { const c = b.slice(0, 30); c[2] = 0; c[3] = 30; c[10] = 0; c[11] = 0; return fixIpv4Checksum(c); }), 'InErrs'],
  ['martian source (our own address: LAND)', 4, () => encodeTcpPacket({ src: parseAddress(V4.stack), dst: parseAddress(V4.stack) }, seg({ flags: SYN })), 'InMartians'],
  ['martian source (multicast)', 6, () => encodeTcpPacket({ src: parseAddress('ff02::1'), dst: parseAddress(V6.stack) }, seg({ flags: SYN })), 'InMartians'],
  ['not our address', 4, () => encodeTcpPacket({ src: parseAddress(V4.peer), dst: parseAddress('10.0.0.99') }, seg({ flags: SYN })), 'InAddrErrors'],
  ['SYN+FIN', 4, () => tcpFrom(4, seg({ flags: SYN | FIN })), null],
  ['data offset below 5', 4, () => edited(4, (b) => { b[32] = (4 << 4); return fixTcpChecksum4(b); }), 'InErrs'],
  ['a fragment of a SYN', 4, () => edited(4, (b) => { b[6] |= 0x20; return fixIpv4Checksum(b); }), null],
  ['MSS 0', 4, () => edited(4, (b) => b, { mss: 0 }), null],
  ['a SYN with data', 4, () => tcpFrom(4, seg({ flags: SYN, payload: new Uint8Array([1, 2, 3]) })), null],
  ['an option of unknown kind', 6, () => tcpFrom(6, seg({ flags: SYN, options: { mss: 1460, unknown: [{ kind: 30, data: new Uint8Array(6) }] } })), null],
  ['a truncated option', 4, () => edited(4, (b) => { b[32] = (6 << 4); b[40] = 8; b[41] = 10; return fixTcpChecksum4(b); }), null],
  ['TCP Fast Open cookie request', 4, () => tcpFrom(4, seg({ flags: SYN, options: { mss: 1460, fastOpen: new Uint8Array(0) } })), null],
  ['ECN setup SYN (SYN, ECE, CWR)', 4, () => tcpFrom(4, seg({ flags: SYN | 0x40 | 0x80 })), null],
];

for (const [name, v, make, counter] of HOSTILE) {
  test(`IPv${v}, ${name}: left to the general path, which treats it exactly as without the fast path`, () => {
    const p = pair(v);
    const before = counter === null ? 0 : p.fast.stack.snapshot()[counter]!;
    const r = both(p, make());
    assert.equal(r.fastPath, 0, 'not answered by the fast path');
    assert.deepEqual(r.fastOut, r.slowOut);
    assert.deepEqual(r.differ, []);
    if (counter !== null) {
      assert.equal(r.fastOut.length, 0, 'dropped');
      assert.equal(p.fast.stack.snapshot()[counter], before + 1, `counted in ${counter}`);
    }
  });
}

test('SYNs to a listener whose SYN queue has room, or to no listener, are not the fast path\'s', () => {
  const h = ipHost();
  installSynFastPath(h.stack);
  h.stack.listen(80, { backlog: 8 });
  h.stack.receive(tcpFrom(4, seg({ flags: SYN, srcPort: 41000 })));
  h.stack.receive(tcpFrom(4, seg({ flags: SYN, srcPort: 41001, dstPort: 81 })));
  assert.equal(h.stack.counters.SynFastPath, 0);
  assert.equal(h.stack.connectionCount, 1, 'a SYN-RECEIVED entry for the first');
  assert.equal(h.out.length, 2, 'a SYN+ACK, and a RST from the closed port');
});

test('a receive batch hands its fast-path SYN+ACKs to a batching link in one call, in arrival order', () => {
  const { fast, slow } = pair(4);
  const calls: number[] = [];
  const batched: Uint8Array[] = [];
  fast.stack.attach(() => assert.fail('whole packets go through sendBatch'), {
    sendBatch: (buf, offsets, count) => {
      calls.push(count);
      for (let i = 0; i < count; i++) batched.push(buf.slice(offsets[2 * i]!, offsets[2 * i]! + offsets[2 * i + 1]!));
    },
  });
  const syns = Array.from({ length: 1500 }, (_, i) => tcpFrom(4, seg({ flags: SYN, srcPort: 2000 + i, seq: i * 7919, options: i % 2 ? { mss: 1460, tsVal: i, tsEcr: 0, wscale: 7, sackPermitted: true } : {} }), `10.1.${Math.floor(i / 250)}.${1 + (i % 250)}`));
  fast.stack.receiveBatch(syns.map((s) => s.slice()));
  for (const s of syns) slow.stack.receive(s.slice());
  assert.ok(calls.length >= 2 && calls.length <= 3, `buffer-sized chunks, then the rest at the batch's end: ${calls.join(', ')}`);
  assert.equal(batched.length, 1500);
  assert.deepEqual(batched, slow.out.map((s) => s.bytes));
});

function fixIpv4Checksum(b: Uint8Array): Uint8Array {
  b[10] = 0; b[11] = 0;
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const ck = ~sum & 0xffff;
  b[10] = ck >> 8; b[11] = ck & 0xff;
  return b;
}

/** Recomputes the TCP checksum of an IPv4 datagram over its whole length (the edit keeps lengths). */
function fixTcpChecksum4(b: Uint8Array): Uint8Array {
  b[36] = 0; b[37] = 0;
  let sum = 0;
  const len = b.length - 20;
  for (let i = 12; i < 20; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  sum += 6 + len;
  for (let i = 20; i < b.length; i += 2) sum += (b[i]! << 8) | (i + 1 < b.length ? b[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const ck = ~sum & 0xffff;
  b[36] = ck >> 8; b[37] = ck & 0xff;
  return b;
}

test('a stack with SYN cookies installed but not the fast path answers a flood through the general path, byte for byte', () => {
  const { fast } = pair(4);
  const bare = ipHost({ mtu: 1500 });
  installSynCookies(bare.stack);
  bare.stack.listen(80, { backlog: 1 });
  bare.stack.receive(tcpFrom(4, seg({ flags: SYN, srcPort: 999, options: { mss: 1460 } })));
  bare.clock.advanceTo(123_456.7);
  bare.out.length = 0;
  for (let i = 0; i < 20; i++) {
    const syn = tcpFrom(4, seg({ flags: SYN, srcPort: 3000 + i, seq: i * 104729, options: i % 2 ? { mss: 1460, tsVal: i, tsEcr: 0, wscale: 7, sackPermitted: true } : {} }));
    fast.stack.receive(syn.slice());
    bare.stack.receive(syn.slice());
  }
  assert.equal(fast.stack.counters.SynFastPath, 20);
  assert.equal(bare.stack.counters.SynFastPath, 0);
  assert.equal(bare.stack.counters.SyncookiesSent, 20);
  assert.deepEqual(bare.out.map((s) => s.bytes), fast.out.map((s) => s.bytes));
});
