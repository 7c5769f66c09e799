/**
 * A timer wake-up that runs late (the host was paused: a GC, the process not scheduled) reads the link's waiting
 * input first (LinkCapabilities.pollInput), so the loss probe, RACK and the RTO see the ACKs that arrived during
 * the pause instead of resending data already acknowledged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, type LinkCapabilities, type StackConnection } from './stack.js';
import { VirtualClock } from './clock.js';
import { decodePacket, encodeTcpPacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { ACK, SYN, type TcpSegment, EMPTY } from '../wire/tcp-types.js';

const PEER = parseAddress('10.0.0.1'), US = parseAddress('10.0.0.2');
const MSS = 1000;

/**
 * An active connection to 10.0.0.1:80 with SACK and an SRTT of 10 ms that has 3 000 bytes in flight; the
 * link holds input in `waiting` until the stack polls it (only when `poll` is true: a link with the hook).
 */
function inFlight(poll: boolean) {
  const clock = new VirtualClock();
  const s = new Stack({ addresses: ['10.0.0.2'], clock, random: (b) => b.fill(7), tcp: { timestamps: false } });
  const out: TcpSegment[] = [];
  const waiting: Uint8Array[] = [];
  let polls = 0;
  const caps: LinkCapabilities = poll ? { pollInput: (then) => { polls++; for (const p of waiting.splice(0)) s.receive(p); then(); } } : {};
  s.attach((p) => { out.push(decodePacket(p).tcp!.seg); }, caps);
  const c: StackConnection = s.connect({ host: '10.0.0.1', port: 80 });
  const syn = out.pop()!;
  assert.equal(syn.flags, SYN);
  clock.advanceTo(10);
  const from = (seq: number, ack: number, flags: number): Uint8Array =>
    encodeTcpPacket({ src: PEER, dst: US }, { srcPort: 80, dstPort: c.localPort, seq, ack, flags, window: 65535, urgent: 0, options: flags & SYN ? { mss: MSS, sackPermitted: true } : {}, payload: EMPTY });
  s.receive(from(5000, syn.seq + 1, SYN | ACK));
  assert.equal(c.tcp.state, 'ESTABLISHED');
  out.length = 0;
  c.tcp.send(new Uint8Array(3 * MSS), clock.now()); c.service();
  const sent = out.splice(0).filter((x) => x.payload.length > 0);
  assert.equal(sent.length, 3);
  return { s, c, clock, out, waiting, polls: () => polls, ackAll: from(5001, syn.seq + 1 + 3 * MSS, ACK), una: syn.seq + 1 + 3 * MSS };
}

const dataSent = (out: TcpSegment[]): TcpSegment[] => out.filter((x) => x.payload.length > 0);

test('a late wake-up reads the ACK waiting at the link before its timers: no loss probe, no retransmission', () => {
  const h = inFlight(true);
  const deadline = h.clock.nextWake();
  assert.ok(deadline < 1000, 'a loss probe or RTO is armed');
  // The peer's ACK of everything arrives before the deadline, but the host is paused: it waits at the link,
  // and the stack wakes 30 ms after its deadline.
  h.waiting.push(h.ackAll);
  h.clock.advanceTo(deadline + 30);
  assert.equal(h.polls(), 1, 'the link was polled once');
  assert.deepEqual(dataSent(h.out), [], 'nothing resent');
  assert.equal(h.s.stats.RetransSegs, 0);
  assert.equal(h.s.stats.TCPLossProbes, 0);
  assert.equal(h.c.tcp.sndUna, h.una, 'the ACK was processed');
});

test('without the hook the same late wake-up resends data that was already acknowledged (what the hook prevents)', () => {
  const h = inFlight(false);
  const deadline = h.clock.nextWake();
  h.clock.advanceTo(deadline + 30);
  h.s.receive(h.ackAll); // the event loop reads the device only after its expired timers ran
  assert.ok(dataSent(h.out).length >= 1, 'a probe or retransmission of acknowledged data');
  assert.equal(h.c.tcp.sndUna, h.una);
});

test('a late wake-up with nothing waiting still runs its timers (the loss probe goes out)', () => {
  const h = inFlight(true);
  const deadline = h.clock.nextWake();
  h.clock.advanceTo(deadline + 30);
  assert.equal(h.polls(), 1);
  assert.ok(dataSent(h.out).length >= 1, 'the timer fired after the poll');
});

test('a wake-up on time does not poll the link', () => {
  const h = inFlight(true);
  h.clock.advanceTo(h.clock.nextWake());
  assert.equal(h.polls(), 0);
  assert.ok(dataSent(h.out).length >= 1, 'the timer fired');
});
