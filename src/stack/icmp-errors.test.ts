import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, SYN } from '../wire/tcp-types.js';
import { encodeIcmp } from '../wire/icmp.js';
import { parseAddress } from '../wire/address.js';
import { encodeTcpPacket } from '../wire/packet.js';
import { ipHost, seg, V4, V6 } from './ip-test-peer.js';
import type { StackConnection } from './stack.js';

/** An ICMP error from `router` about a segment the stack sent (its IP header and first 8 TCP bytes quoted). */
function icmpAbout(sent: Uint8Array, type: number, code: number, rest = 0, router?: string): Uint8Array {
  const v6 = sent[0]! >> 4 === 6;
  const hl = v6 ? 40 : 20;
  const a = v6 ? V6 : V4;
  return encodeIcmp({ src: parseAddress(router ?? a.peer), dst: parseAddress(a.stack), type, code, rest, body: sent.subarray(0, hl + 8) });
}

/** The stack connects to the peer; returns the connection and the SYN it sent. */
function connecting(v: 4 | 6, h = ipHost()) {
  const c = h.stack.connect({ host: v === 4 ? V4.peer : V6.peer, port: 80 });
  const syn = h.out.pop()!;
  assert.equal(syn.tcp!.flags, SYN);
  return { h, c, syn };
}

/** Completes the handshake from the peer's side (MSS 1460, timestamps) and returns what the stack sends next. */
function establish(v: 4 | 6, h: ReturnType<typeof ipHost>, c: StackConnection, synSeq: number) {
  const a = v === 4 ? V4 : V6;
  h.stack.receive(encodeTcpPacket({ src: parseAddress(a.peer), dst: parseAddress(a.stack) }, seg({ flags: SYN | ACK, srcPort: 80, dstPort: c.localPort, seq: 5000, ack: synSeq + 1, options: { mss: 1460, tsVal: 1, tsEcr: 1 } })));
  assert.equal(c.state, 'ESTABLISHED');
}

const UNREACH: Array<[4 | 6, number, number, string]> = [
  [4, 3, 3, 'ECONNREFUSED'], [4, 3, 1, 'EHOSTUNREACH'], [4, 3, 0, 'ENETUNREACH'], [4, 3, 13, 'EHOSTUNREACH'],
  [4, 11, 0, 'EHOSTUNREACH'], [6, 1, 4, 'ECONNREFUSED'], [6, 1, 0, 'ENETUNREACH'], [6, 1, 1, 'EACCES'], [6, 1, 3, 'EHOSTUNREACH'],
];
for (const [v, type, code, errno] of UNREACH) {
  test(`connect: ICMPv${v === 4 ? '4' : '6'} ${type}/${code} quoting our SYN ends the attempt with ${errno}, as Linux`, () => {
    const { h, c, syn } = connecting(v);
    h.stack.receive(icmpAbout(syn.bytes, type, code));
    assert.equal(c.state, 'CLOSED');
    assert.equal(c.tcp.error?.code, errno);
    assert.equal(h.stack.connectionCount, 0);
    assert.equal(h.out.length, 0, 'no RST');
  });
}

test('an ICMP error whose quoted sequence number is not SND.UNA..SND.NXT is ignored (RFC 5927 §4.1), and so is one for no connection', () => {
  const { h, c, syn } = connecting(4);
  const forged = syn.bytes.slice();
  forged[24] ^= 0x40; // a different sequence number in the quote (checksums of the quote are not checked)
  h.stack.receive(icmpAbout(forged, 3, 3));
  const other = syn.bytes.slice();
  other[21] ^= 1; // another source port
  h.stack.receive(icmpAbout(other, 3, 3));
  assert.equal(c.state, 'SYN-SENT');
  assert.equal(h.stack.counters.OutOfWindowIcmps, 2);
});

test('established: an ICMP host unreachable is kept as the soft error; the connection reports it when it times out (Linux sk_err_soft)', () => {
  const h = ipHost({ tcp: { maxRetransmits: 3 } });
  const { c, syn } = connecting(4, h);
  establish(4, h, c, syn.tcp!.seq);
  h.out.length = 0;
  c.tcp.send(new Uint8Array(100), h.clock.now()); c.service();
  const data = h.out.pop()!;
  h.stack.receive(icmpAbout(data.bytes, 3, 1));
  assert.equal(c.state, 'ESTABLISHED', 'a soft error does not end an established connection');
  assert.equal(c.tcp.softError, 'EHOSTUNREACH');
  for (let i = 0; i < 20 && (c.state as string) !== 'CLOSED'; i++) h.clock.advanceTo(h.clock.nextWake());
  assert.equal(c.state, 'CLOSED');
  assert.equal(c.tcp.error?.code, 'EHOSTUNREACH');
});

test('established: an ACK clears the soft error, so a later timeout is ETIMEDOUT again', () => {
  const h = ipHost({ tcp: { maxRetransmits: 2 } });
  const { c, syn } = connecting(4, h);
  establish(4, h, c, syn.tcp!.seq);
  h.out.length = 0;
  c.tcp.send(new Uint8Array(100), h.clock.now()); c.service();
  const data = h.out.pop()!;
  h.stack.receive(icmpAbout(data.bytes, 3, 0));
  assert.equal(c.tcp.softError, 'ENETUNREACH');
  h.stack.receive(encodeTcpPacket({ src: parseAddress(V4.peer), dst: parseAddress(V4.stack) }, seg({ flags: ACK, srcPort: 80, dstPort: c.localPort, seq: 5001, ack: data.tcp!.seq + 100, options: { tsVal: 2, tsEcr: 1 } })));
  assert.equal(c.tcp.softError, null);
  c.tcp.send(new Uint8Array(100), h.clock.now()); c.service();
  for (let i = 0; i < 20 && (c.state as string) !== 'CLOSED'; i++) h.clock.advanceTo(h.clock.nextWake());
  assert.equal(c.tcp.error?.code, 'ETIMEDOUT');
});

for (const v of [4, 6] as const) {
  const mtu = v === 4 ? 1000 : 1280;
  test(`path MTU (IPv${v}): ${v === 4 ? 'fragmentation needed, MTU 1000' : 'packet too big, MTU 1280'}: the in-flight data is resent at once in ${mtu - (v === 4 ? 40 : 60)}-byte segments (less timestamps), and the next connection starts with it`, () => {
    const h = ipHost();
    const { c, syn } = connecting(v, h);
    establish(v, h, c, syn.tcp!.seq);
    h.out.length = 0;
    const total = 10 * 1448;
    c.tcp.send(new Uint8Array(total).fill(1), h.clock.now()); c.service();
    const first = h.out.filter((o) => o.tcp && o.tcp.payload.length > 0);
    assert.equal(first.length, 10);
    assert.ok(first.every((o) => o.tcp!.payload.length === 1448));
    h.out.length = 0;
    // The router drops the first segment and says why.
    h.stack.receive(icmpAbout(first[0]!.bytes, v === 4 ? 3 : 2, v === 4 ? 4 : 0, mtu, v === 4 ? '10.9.9.9' : 'fd09::9'));
    const resent = h.out.filter((o) => o.tcp && o.tcp.payload.length > 0);
    const size = mtu - (v === 4 ? 40 : 60) - 12;
    assert.ok(resent.length > 0, 'resent at once, not on the RTO');
    assert.ok(resent.every((o) => o.tcp!.payload.length <= size && o.bytes.length <= mtu), JSON.stringify(resent.map((o) => o.bytes.length)));
    assert.equal(resent[0]!.tcp!.seq, first[0]!.tcp!.seq, 'from SND.UNA');
    assert.equal(resent[0]!.tcp!.payload.length, size);
    assert.equal(h.stack.counters.PmtuUpdates, 1);
    assert.equal(c.tcp.congestionWindow >= 10 * 1448, true, 'no congestion response');
    // A later connection to the same destination sends at most the path MTU from the start.
    const { c: c2, syn: syn2 } = connecting(v, h);
    establish(v, h, c2, syn2.tcp!.seq);
    h.out.length = 0;
    c2.tcp.send(new Uint8Array(3000), h.clock.now()); c2.service();
    const sizes = h.out.filter((o) => o.tcp && o.tcp.payload.length > 0).map((o) => o.tcp!.payload.length);
    assert.equal(Math.max(...sizes), size);
  });
}

test('path MTU: a larger MTU than known, an IPv6 packet-too-big below 1280, or ICMP switched off change nothing', () => {
  for (const [v, type, code, mtu, icmp] of [[4, 3, 4, 1600, true], [6, 2, 0, 1000, true], [4, 3, 4, 1000, false]] as const) {
    const h = ipHost({ icmp });
    const { c, syn } = connecting(v, h);
    establish(v, h, c, syn.tcp!.seq);
    h.out.length = 0;
    c.tcp.send(new Uint8Array(2896), h.clock.now()); c.service();
    const d = h.out.filter((o) => o.tcp && o.tcp.payload.length > 0);
    h.out.length = 0;
    h.stack.receive(icmpAbout(d[0]!.bytes, type, code, mtu));
    assert.equal(h.out.length, 0, `${v} ${type}/${code} mtu ${mtu} icmp ${icmp}`);
    assert.equal(h.stack.counters.PmtuUpdates, 0);
  }
});

test('a listener\'s SYN-RECEIVED entry is dropped silently by a fatal ICMP error quoting its SYN+ACK (Linux tcp_req_err)', () => {
  const h = ipHost();
  h.stack.listen(80);
  h.stack.receive(encodeTcpPacket({ src: parseAddress(V4.peer), dst: parseAddress(V4.stack) }, seg({ flags: SYN, options: { mss: 1460 } })));
  const synack = h.out.pop()!;
  assert.equal(h.stack.connectionCount, 1);
  h.stack.receive(icmpAbout(synack.bytes, 3, 13)); // administratively prohibited: not fatal for a request
  assert.equal(h.stack.connectionCount, 1);
  h.stack.receive(icmpAbout(synack.bytes, 3, 1)); // host unreachable: drops it
  assert.equal(h.stack.connectionCount, 0);
  assert.equal(h.out.length, 0);
});

test('path MTU below Linux\'s min_pmtu (552): taken as 552 and locked, segments leave without DF (so routers fragment)', () => {
  const h = ipHost();
  const { c, syn } = connecting(4, h);
  establish(4, h, c, syn.tcp!.seq);
  h.out.length = 0;
  c.tcp.send(new Uint8Array(3000), h.clock.now()); c.service();
  const first = h.out.filter((o) => o.tcp && o.tcp.payload.length > 0);
  assert.ok(first.every((o) => o.ip.df));
  h.out.length = 0;
  h.stack.receive(icmpAbout(first[0]!.bytes, 3, 4, 300));
  const resent = h.out.filter((o) => o.tcp && o.tcp.payload.length > 0);
  assert.ok(resent.length > 0);
  assert.equal(resent[0]!.tcp!.payload.length, 552 - 40 - 12);
  assert.ok(resent.every((o) => !o.ip.df), 'DF clear');
  const { c: c2, syn: syn2 } = connecting(4, h);
  assert.equal(syn2.ip.df, false, 'a new connection to the locked path too');
  establish(4, h, c2, syn2.tcp!.seq);
});
