/**
 * In a batch of packets read at once (a TUN read, Stack.receiveBatch) an ACK due for out-of-order data waits for the
 * connection's next segment of the batch when the ACK after that one tells the sender all it would
 * (src/tcp/sack-compression.ts ackBeforeNextInBatch): the next segment fills the hole, or extends the same SACK
 * block. A hole filled within the batch is never reported (a Linux sender marks such a segment lost at once and
 * resends it); segments that start new blocks, and every duplicate ACK of a connection without SACK, still leave
 * one by one (batch-out-of-order-ack.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from './stack.js';
import { VirtualClock } from './clock.js';
import { decodePacket, encodeTcpPacket } from '../wire/packet.js';
import type { TcpOptions, TcpSegment } from '../wire/tcp-types.js';

const PEER = new Uint8Array([10, 0, 0, 1]);
const US = new Uint8Array([10, 0, 0, 2]);
const MSS = 1000;

function packet(seq: number, ack: number, flags: number, payload: Uint8Array, options: TcpOptions = {}): Uint8Array {
  return encodeTcpPacket({ src: PEER, dst: US }, { srcPort: 5000, dstPort: 80, seq, ack, flags, window: 65535, urgent: 0, options, payload });
}

/** A passive connection (SACK permitted or not, no timestamps), ESTABLISHED; returns the stack and what it sent. */
function established(sack = true): { s: Stack; out: TcpSegment[]; iss: number; clock: VirtualClock } {
  const clock = new VirtualClock();
  const s = new Stack({ addresses: ['10.0.0.2'], clock, random: (b) => b.fill(7), tcp: { timestamps: false } });
  const out: TcpSegment[] = [];
  s.attach((p) => { out.push(decodePacket(p).tcp!.seg); });
  s.listen(80);
  s.receive(packet(1000, 0, 0x02, new Uint8Array(0), sack ? { mss: MSS, sackPermitted: true } : { mss: MSS }));
  const synAck = out.pop()!;
  s.receive(packet(1001, synAck.seq + 1, 0x10, new Uint8Array(0)));
  out.length = 0;
  return { s, out, iss: synAck.seq, clock };
}

const at = (i: number): number => 1001 + i * MSS;
const data = (iss: number, i: number): Uint8Array => packet(at(i), iss + 1, 0x10, new Uint8Array(MSS).fill(0x61));

test('a batch whose last segment fills the hole the others are behind gets one cumulative ACK, no SACK block', () => {
  const { s, out, iss, clock } = established();
  s.receiveBatch([1, 2, 0].map((i) => data(iss, i)));
  clock.advanceTo(clock.now() + 5); // any held ACK's timer
  assert.deepEqual(out.map((x) => [x.ack, x.options.sack]), [[at(3), undefined]]);
});

test('a run of out-of-order segments extending one SACK block gets one ACK for the batch, with the whole block', () => {
  const { s, out, iss, clock } = established();
  s.receiveBatch([1, 2, 3, 4, 5, 6, 7, 8].map((i) => data(iss, i)));
  clock.advanceTo(clock.now() + 5);
  assert.deepEqual(out.map((x) => [x.ack, x.options.sack]), [[at(0), [at(1), at(9)]]]);
});

test('without SACK every out-of-order segment of a batch still draws its duplicate ACK (the sender counts them)', () => {
  const { s, out, iss, clock } = established(false);
  s.receiveBatch([1, 2, 3, 4].map((i) => data(iss, i)));
  clock.advanceTo(clock.now() + 5);
  assert.deepEqual(out.map((x) => x.ack), [at(0), at(0), at(0), at(0)]);
});
