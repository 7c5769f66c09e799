import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, PSH, RST, SYN } from '../wire/tcp-types.js';
import { fragmentAt } from '../wire/ip-reassembly.js';
import { encodeIcmp, ICMP_ECHO_REQUEST, ICMPV6_ECHO_REQUEST } from '../wire/icmp.js';
import { encodeIpHeader } from '../wire/ip.js';
import { parseAddress } from '../wire/address.js';
import { IpReassembler } from '../wire/ip-reassembly.js';
import { ipHost, seg, tcpFrom, V4, V6 } from './ip-test-peer.js';

/** Opens a connection from the peer (SYN in, SYN+ACK out, ACK in) and returns the server side. */
function established(v: 4 | 6, h: ReturnType<typeof ipHost>) {
  let conn: import('./stack.js').StackConnection | null = null;
  h.stack.listen(80, { onConnection: (c) => { conn = c; } });
  h.stack.receive(tcpFrom(v, seg({ flags: SYN, options: { mss: 1460 } })));
  const synack = h.out.pop()!.tcp!;
  h.stack.receive(tcpFrom(v, seg({ flags: ACK, seq: 1001, ack: synack.seq + 1 })));
  assert.ok(conn);
  return { conn: conn as import('./stack.js').StackConnection, iss: synack.seq };
}

function readAll(c: import('./stack.js').StackConnection): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let b = c.tcp.read(); b.length > 0; b = c.tcp.read()) parts.push(b);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

for (const v of [4, 6] as const) {
  test(`IPv${v}: a SYN in three fragments is reassembled and answered with SYN+ACK`, () => {
    const h = ipHost();
    h.stack.listen(80);
    const syn = tcpFrom(v, seg({ flags: SYN, options: { mss: 1460, sackPermitted: true, tsVal: 1, tsEcr: 0, wscale: 7 } }));
    // IPv6's first fragment must hold the whole TCP header (RFC 7112); IPv4's may be as small as 8 bytes.
    const frags = fragmentAt(syn, v === 4 ? [8, 24] : [24, 32], 77);
    assert.equal(frags.length, 3);
    for (const f of frags.reverse()) h.stack.receive(f);
    assert.equal(h.out.length, 1);
    assert.equal(h.out[0]!.tcp!.flags, SYN | ACK);
    assert.equal(h.stack.snapshot().ReasmOKs, 1);
  });

  test(`IPv${v}: a data segment in fragments, in order or reversed, delivers its bytes intact`, () => {
    const h = ipHost();
    const { conn, iss } = established(v, h);
    const data = new Uint8Array(3000).map((_, i) => (i * 7) & 0xff);
    const d1 = tcpFrom(v, seg({ flags: ACK | PSH, seq: 1001, ack: iss + 1, payload: data.subarray(0, 1500) }));
    const d2 = tcpFrom(v, seg({ flags: ACK | PSH, seq: 2501, ack: iss + 1, payload: data.subarray(1500) }));
    for (const f of fragmentAt(d1, [512, 1024], 1)) h.stack.receive(f);
    for (const f of fragmentAt(d2, [400, 800, 1200], 2).reverse()) h.stack.receive(f);
    assert.deepEqual(readAll(conn), data);
  });

  test(`IPv${v}: overlapping fragments of a SYN discard it (RFC 5722): no answer, counted`, () => {
    const h = ipHost();
    h.stack.listen(80);
    const syn = tcpFrom(v, seg({ flags: SYN, options: { mss: 1460, sackPermitted: true, tsVal: 1, tsEcr: 0, wscale: 7 } }));
    const [a, b] = fragmentAt(syn, [24], 5);
    const overlap = fragmentAt(syn, [16], 5)[1]!; // 16..end overlaps 0..24
    h.stack.receive(a!); h.stack.receive(overlap); h.stack.receive(b!);
    assert.equal(h.out.length, 0);
    assert.equal(h.stack.snapshot().ReasmOverlaps, 1);
  });
}

test('IPv6: a first fragment without the whole TCP header draws parameter problem code 3, pointer 0 (RFC 7112, as Linux)', () => {
  const h = ipHost();
  h.stack.listen(80);
  const syn = tcpFrom(6, seg({ flags: SYN, options: { mss: 1460, sackPermitted: true, tsVal: 1, tsEcr: 0, wscale: 7 } }));
  for (const f of fragmentAt(syn, [16], 6)) h.stack.receive(f);
  assert.equal(h.out.length, 1);
  assert.deepEqual([h.out[0]!.icmp!.type, h.out[0]!.icmp!.code, h.out[0]!.icmp!.rest], [4, 3, 0]);
  assert.equal(h.stack.connectionCount, 0);
});

test('an incomplete datagram times out after 30 s: memory released, ICMP time exceeded (fragment reassembly) sent', () => {
  const h = ipHost();
  h.stack.listen(80);
  const syn = tcpFrom(4, seg({ flags: SYN, options: { mss: 1460 } }));
  h.stack.receive(fragmentAt(syn, [8], 9)[0]!);
  assert.equal(h.stack.reassembler.pending, 1);
  h.clock.advanceTo(30_000);
  assert.equal(h.stack.reassembler.pending, 0);
  assert.equal(h.stack.reassembler.heldBytes, 0);
  assert.equal(h.out.length, 1);
  assert.deepEqual([h.out[0]!.icmp!.type, h.out[0]!.icmp!.code], [11, 1]);
  assert.equal(h.stack.snapshot().ReasmTimeout, 1);
});

const MARTIANS: Array<[string, 4 | 6, string]> = [
  ['own address (LAND)', 4, V4.stack], ['loopback', 4, '127.0.0.1'], ['multicast', 4, '224.0.0.1'],
  ['limited broadcast', 4, '255.255.255.255'], ['zero network', 4, '0.0.0.0'],
  ['own address (LAND)', 6, V6.stack], ['loopback', 6, '::1'], ['multicast', 6, 'ff02::1'], ['unspecified', 6, '::'],
  ['IPv4-mapped', 6, '::ffff:10.0.0.1'],
];
for (const [name, v, src] of MARTIANS) {
  test(`a SYN from a martian source (IPv${v} ${name}, ${src}) is dropped unanswered and counted`, () => {
    const h = ipHost();
    h.stack.listen(80);
    h.stack.receive(tcpFrom(v, seg({ flags: SYN }), src));
    h.stack.receive(tcpFrom(v, seg({ flags: SYN, dstPort: 81 }), src)); // a closed port: no RST either
    assert.equal(h.out.length, 0);
    assert.equal(h.stack.counters.InMartians, 2);
    assert.equal(h.stack.connectionCount, 0);
    // The same SYN from the ordinary peer is answered.
    h.stack.receive(tcpFrom(v, seg({ flags: SYN })));
    assert.equal(h.out[0]!.tcp!.flags, SYN | ACK);
  });
}

for (const v of [4, 6] as const) {
  test(`IPv${v}: an echo request is answered with its data; a 3000-byte one arrives in fragments and the reply leaves fragmented to the MTU`, () => {
    const h = ipHost({ mtu: 1500 });
    const a = v === 4 ? V4 : V6;
    const echo = (n: number) => encodeIcmp({ src: parseAddress(a.peer), dst: parseAddress(a.stack), type: v === 4 ? ICMP_ECHO_REQUEST : ICMPV6_ECHO_REQUEST, code: 0, rest: 0x12340001, body: new Uint8Array(n).map((_, i) => i & 0xff) });
    h.stack.receive(echo(56));
    assert.equal(h.out.length, 1);
    const r = h.out[0]!;
    assert.deepEqual([r.icmp!.type, r.icmp!.code, r.icmp!.rest, r.icmp!.checksumOk], [v === 4 ? 0 : 129, 0, 0x12340001, true]);
    assert.deepEqual(r.icmp!.body, new Uint8Array(56).map((_, i) => i & 0xff));

    h.out.length = 0;
    const big = echo(3000);
    for (const f of fragmentAt(big, [1480, 2960].map((c) => c - (v === 6 ? 8 : 0)), 3)) h.stack.receive(f);
    assert.ok(h.out.length >= 3, `${h.out.length} fragments`);
    for (const o of h.out) assert.ok(o.bytes.length <= 1500);
    const re = new IpReassembler();
    let whole: Uint8Array | null = null;
    for (const o of h.out) whole = re.push(o.bytes, 0) ?? whole;
    assert.ok(whole);
    assert.equal(whole.length, big.length);
    assert.deepEqual(whole.subarray(whole.length - 3000), big.subarray(big.length - 3000));
  });
}

test('a datagram of an unknown protocol: IPv4 protocol unreachable, IPv6 parameter problem at the Next Header (as Linux)', () => {
  const h = ipHost();
  for (const v of [4, 6] as const) {
    const a = v === 4 ? V4 : V6;
    const hl = v === 4 ? 20 : 40;
    const p = new Uint8Array(hl + 8);
    encodeIpHeader({ src: parseAddress(a.peer), dst: parseAddress(a.stack), protocol: 253 }, 8, p, 0);
    h.stack.receive(p);
  }
  assert.equal(h.out.length, 2);
  assert.deepEqual([h.out[0]!.icmp!.type, h.out[0]!.icmp!.code, h.out[0]!.ip.tos], [3, 2, 0xc0]);
  assert.deepEqual([h.out[1]!.icmp!.type, h.out[1]!.icmp!.code, h.out[1]!.icmp!.rest], [4, 1, 6]);
  assert.equal(h.stack.counters.InUnknownProtos, 2);
});

test('IPv6: a hop-by-hop header after another extension header draws a parameter problem pointing at the Next Header that named it', () => {
  const h = ipHost();
  h.stack.listen(80);
  const syn = tcpFrom(6, seg({ flags: SYN }));
  // destination options (8 bytes, next = hop-by-hop) then hop-by-hop (8 bytes, next = TCP), then the segment.
  const p = new Uint8Array(syn.length + 16);
  p.set(syn.subarray(0, 40), 0);
  p[6] = 60;
  p.set([0, 0, 1, 4, 0, 0, 0, 0], 40);
  p.set([6, 0, 1, 4, 0, 0, 0, 0], 48);
  p.set(syn.subarray(40), 56);
  const pl = p.length - 40; p[4] = pl >> 8; p[5] = pl & 0xff;
  h.stack.receive(p);
  assert.equal(h.out.length, 1);
  assert.deepEqual([h.out[0]!.icmp!.type, h.out[0]!.icmp!.code, h.out[0]!.icmp!.rest], [4, 1, 40]);
  assert.equal(h.stack.connectionCount, 0);
});

test('a zero length field (IPv6 payload length 0, IPv4 total length 0) drops the datagram silently, as Linux does', () => {
  const h = ipHost();
  h.stack.listen(80);
  const s6 = tcpFrom(6, seg({ flags: SYN })); s6[4] = 0; s6[5] = 0;
  const s4 = tcpFrom(4, seg({ flags: SYN }));
  s4[2] = 0; s4[3] = 0;
  s4[10] = 0; s4[11] = 0;
  let sum = 0; for (let i = 0; i < 20; i += 2) sum += (s4[i]! << 8) | s4[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  s4[10] = (~sum >> 8) & 0xff; s4[11] = ~sum & 0xff;
  h.stack.receive(s6); h.stack.receive(s4);
  assert.equal(h.out.length, 0);
  assert.equal(h.stack.counters.InTruncatedPkts, 2);
});

test('ICMP errors the host sends are rate-limited per destination (burst 6, then one a second)', () => {
  const h = ipHost();
  const p = new Uint8Array(28);
  encodeIpHeader({ src: parseAddress(V4.peer), dst: parseAddress(V4.stack), protocol: 253 }, 8, p, 0);
  for (let i = 0; i < 100; i++) h.stack.receive(p);
  assert.equal(h.out.length, 6);
  h.clock.advanceTo(1000);
  for (let i = 0; i < 100; i++) h.stack.receive(p);
  assert.equal(h.out.length, 7);
  assert.equal(h.stack.counters.IcmpOutRateLimited, 193);
});

test('no ICMP error about an ICMP error, and nothing at all with ICMP switched off', () => {
  const h = ipHost();
  const inner = new Uint8Array(28);
  encodeIpHeader({ src: parseAddress(V4.stack), dst: parseAddress(V4.peer), protocol: 253 }, 8, inner, 0);
  // An ICMP error (type 3) whose checksum is bad would be dropped; make a valid one with an unknown code.
  const err = encodeIcmp({ src: parseAddress(V4.peer), dst: parseAddress(V4.stack), type: 3, code: 99, body: inner });
  h.stack.receive(err);
  assert.equal(h.out.length, 0);
  const off = ipHost({ icmp: false });
  off.stack.receive(encodeIcmp({ src: parseAddress(V4.peer), dst: parseAddress(V4.stack), type: 8, code: 0, rest: 1 }));
  assert.equal(off.out.length, 0);
  assert.equal(off.stack.counters.IcmpIgnored, 1);
});

test('outgoing TCP segments carry DF (path-MTU discovery, as Linux sends)', () => {
  const h = ipHost();
  h.stack.listen(80);
  h.stack.receive(tcpFrom(4, seg({ flags: SYN })));
  assert.equal(h.out[0]!.ip.df, true);
  assert.equal(h.out[0]!.tcp!.flags & RST, 0);
});
