import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, CWR, ECE, PSH, SYN } from '../wire/tcp-types.js';
import { encodeTcpPacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { ipHost, seg, V4 } from './ip-test-peer.js';
import type { StackConnection } from './stack.js';

const PEER = parseAddress(V4.peer), HOST = parseAddress(V4.stack);
/** A segment from the peer; `tos` 3 = CE, 2 = ECT(0). */
const from = (s: Parameters<typeof seg>[0], tos = 0) => encodeTcpPacket({ src: PEER, dst: HOST, tos }, seg(s));

/** Passive open with the given SYN flags; returns the SYN+ACK's flags and the connection once established. */
function passive(synFlags: number, ecn?: 'on' | 'passive' | 'off') {
  const h = ipHost(ecn ? { tcp: { ecn } } : {});
  let conn: StackConnection | null = null;
  h.stack.listen(80, { onConnection: (c) => { conn = c; } });
  h.stack.receive(from({ flags: synFlags, options: { mss: 1460 } }));
  const synack = h.out.pop()!;
  h.stack.receive(from({ flags: ACK, seq: 1001, ack: synack.tcp!.seq + 1 }));
  return { h, synack, conn: conn as StackConnection | null, iss: synack.tcp!.seq };
}

test('a SYN+ECE+CWR is answered with SYN+ACK+ECE (RFC 3168 §6.1.1; accepting when asked is the default, as Linux tcp_ecn = 2)', () => {
  const { synack, conn } = passive(SYN | ECE | CWR);
  assert.equal(synack.tcp!.flags, SYN | ACK | ECE);
  assert.equal(synack.ip.tos & 3, 0, 'the SYN+ACK itself is not ECN-capable');
  assert.equal(conn!.tcp.ecnOk, true);
  assert.equal(passive(SYN).synack.tcp!.flags, SYN | ACK, 'no ECN unless asked');
  assert.equal(passive(SYN | ECE).synack.tcp!.flags, SYN | ACK, 'ECE alone is not an ECN setup SYN');
  assert.equal(passive(SYN | ECE | CWR, 'off').synack.tcp!.flags, SYN | ACK, 'ecn off');
});

test('ecn on: the active open sends SYN+ECE+CWR; SYN+ACK+ECE negotiates; new data is ECT(0), ACKs and retransmissions are not', () => {
  const h = ipHost({ tcp: { ecn: 'on' } });
  const c = h.stack.connect({ host: V4.peer, port: 80 });
  const syn = h.out.pop()!;
  assert.equal(syn.tcp!.flags, SYN | ECE | CWR);
  h.stack.receive(from({ flags: SYN | ACK | ECE, srcPort: 80, dstPort: c.localPort, seq: 5000, ack: syn.tcp!.seq + 1, options: { mss: 1460 } }));
  assert.equal(c.tcp.ecnOk, true);
  const ack = h.out.pop()!;
  assert.equal(ack.ip.tos & 3, 0, 'pure ACK not ECT');
  c.tcp.send(new Uint8Array(3000), h.clock.now()); c.service();
  const data = h.out.splice(0);
  assert.ok(data.length >= 2 && data.every((o) => (o.ip.tos & 3) === 2 && o.ip.df), 'data ECT(0)');
  // Nothing acknowledged: the RTO resends the first segment, not ECN-capable (RFC 3168 §6.1.5).
  h.clock.advanceTo(h.clock.nextWake());
  const rtx = h.out.filter((o) => o.tcp && o.tcp.payload.length > 0);
  assert.ok(rtx.length >= 1);
  assert.equal(rtx[0]!.tcp!.seq, data[0]!.tcp!.seq);
  assert.equal(rtx[0]!.ip.tos & 3, 0);
  // A SYN+ACK with both ECE and CWR is not an ECN setup (§6.1.1): no ECN.
  const h2 = ipHost({ tcp: { ecn: 'on' } });
  const c2 = h2.stack.connect({ host: V4.peer, port: 80 });
  const syn2 = h2.out.pop()!;
  h2.stack.receive(from({ flags: SYN | ACK | ECE | CWR, srcPort: 80, dstPort: c2.localPort, seq: 5000, ack: syn2.tcp!.seq + 1 }));
  assert.equal(c2.tcp.ecnOk, false);
});

test('receiver: a CE-marked segment makes our ACKs carry ECE until the peer sends CWR (RFC 3168 §6.1.3)', () => {
  const { h, conn, iss } = passive(SYN | ECE | CWR);
  const c = conn!;
  h.out.length = 0;
  const data = (seq: number, flags = ACK | PSH, tos = 2) => from({ flags, seq, ack: iss + 1, payload: new Uint8Array(100) }, tos);
  h.stack.receive(data(1001, ACK | PSH, 3)); // CE
  const a1 = h.out.pop()!;
  assert.equal(a1.tcp!.flags & ECE, ECE, 'ACKed at once with ECE');
  // The ACK goes at once (a second segment) or at the delayed-ACK timer, if one is armed.
  const delayedAck = () => { if (h.clock.nextWake() < Infinity) h.clock.advanceTo(h.clock.nextWake()); };
  h.stack.receive(data(1101)); h.stack.receive(data(1201));
  delayedAck();
  const a2 = h.out.pop()!;
  assert.equal(a2.tcp!.flags & ECE, ECE, 'still ECE: no CWR yet');
  h.stack.receive(data(1301, ACK | PSH | CWR));
  delayedAck();
  const a3 = h.out.pop()!;
  assert.equal(a3.tcp!.ack, 1401);
  assert.equal(a3.tcp!.flags & ECE, 0, 'CWR ends the echo');
  assert.equal(c.tcp.readableLength, 400);
});

test('sender: ECE reduces cwnd (as a fast retransmit would: ½ for NewReno, 0.7 for CUBIC) once per window of data, and the next new segment carries CWR (RFC 3168 §6.1.2)', () => {
  const { h, conn } = passive(SYN | ECE | CWR);
  const c = conn!;
  h.out.length = 0;
  c.tcp.send(new Uint8Array(200_000), h.clock.now()); c.service();
  const sent = h.out.splice(0).filter((o) => o.tcp!.payload.length > 0);
  const cwnd0 = c.tcp.congestionWindow;
  const ackFor = (o: (typeof sent)[number], flags = ACK | ECE) => from({ flags, seq: 1001, ack: o.tcp!.seq + o.tcp!.payload.length });
  // One ACK for six of the ten segments, with ECE: room for new data under the reduced window.
  h.stack.receive(ackFor(sent[5]!));
  assert.equal(c.tcp.ecnReductions, 1);
  // ssthresh from the congestion controller's decrease, cwnd down to it (the ACK itself may add a little).
  assert.ok(c.tcp.slowStartThreshold <= 0.7 * cwnd0 + 1, `ssthresh ${c.tcp.slowStartThreshold}`);
  assert.ok(c.tcp.congestionWindow < cwnd0, `${cwnd0} → ${c.tcp.congestionWindow}`);
  const next = h.out.splice(0).filter((o) => o.tcp!.payload.length > 0);
  assert.ok(next.length >= 1, 'new data after the ACK');
  assert.equal(next[0]!.tcp!.flags & CWR, CWR);
  assert.ok(next.slice(1).every((o) => (o.tcp!.flags & CWR) === 0), 'CWR on one segment only');
  // More ECEs for the same window of data: no further reduction.
  const cwnd1 = c.tcp.congestionWindow;
  h.stack.receive(ackFor(sent[6]!)); h.stack.receive(ackFor(sent[7]!));
  assert.equal(c.tcp.ecnReductions, 1);
  assert.ok(c.tcp.congestionWindow >= cwnd1);
  // Once the window that was in flight at the reduction is acknowledged, the next ECE reduces again.
  const last = [...sent, ...next, ...h.out.splice(0).filter((o) => o.tcp!.payload.length > 0)].pop()!;
  h.stack.receive(ackFor(last, ACK));
  assert.equal(c.tcp.ecnReductions, 1);
  const more = h.out.splice(0).filter((o) => o.tcp!.payload.length > 0);
  assert.ok(more.length > 0);
  h.stack.receive(ackFor(more[0]!));
  assert.equal(c.tcp.ecnReductions, 2);
});

test('IPv6: ECN negotiated the same way, and data carries ECT(0) in the traffic class', () => {
  const h = ipHost({ tcp: { ecn: 'on' } });
  const c = h.stack.connect({ host: 'fd00::1', port: 80 });
  const syn = h.out.pop()!;
  assert.equal(syn.tcp!.flags, SYN | ECE | CWR);
  h.stack.receive(encodeTcpPacket({ src: parseAddress('fd00::1'), dst: parseAddress('fd00::2') }, seg({ flags: SYN | ACK | ECE, srcPort: 80, dstPort: c.localPort, seq: 5000, ack: syn.tcp!.seq + 1, options: { mss: 1440 } })));
  assert.equal(c.tcp.ecnOk, true);
  h.out.length = 0;
  c.tcp.send(new Uint8Array(2000), h.clock.now()); c.service();
  const data = h.out.filter((o) => o.tcp && o.tcp.payload.length > 0);
  assert.ok(data.length >= 1 && data.every((o) => o.ip.version === 6 && (o.ip.tos & 3) === 2));
});
