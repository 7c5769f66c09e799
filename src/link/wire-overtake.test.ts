/**
 * The overtake impairment: with a bandwidth limit, a packet occasionally takes a second, faster route past the
 * queue (as reordering looks on real paths: issue 15's reordering bench sends 1 % of packets over a side link).
 * It arrives ahead of packets sent before it that still wait in the queue, and it takes no place in the queue.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Wire, LinkError, type WireEndpoint, type Impairments } from './wire.js';
import { encodeTcpPacket, decodePacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { makeSegment, ACK } from '../wire/tcp-types.js';

const A = parseAddress('10.0.0.1');
const B = parseAddress('10.0.0.2');

/** Packet i A→B, 1000 bytes of payload (the index rides in the sequence number). */
const pkt = (i: number): Uint8Array => encodeTcpPacket({ src: A, dst: B },
  makeSegment({ srcPort: 1234, dstPort: 80, seq: i, ack: 1, flags: ACK, window: 1000, payload: new Uint8Array(1000) }));

class Recorder implements WireEndpoint {
  got: Array<{ i: number; time: number }> = [];
  deliver(packet: Uint8Array, now: number): void { this.got.push({ i: decodePacket(packet).tcp!.seg.seq, time: now }); }
}

/** Sends `n` packets back to back at time 0 into an 8 Mbit/s link (1 ms per packet), 5 ms away; returns arrivals. */
function burst(imp: Partial<Impairments>, n = 400, seed = 7): { got: Recorder['got']; wire: Wire; ia: number; ib: number } {
  const wire = new Wire({ seed, impairments: { bandwidthBps: 8_320_000, queueBytes: 1e9, delayMs: 5, ...imp } });
  const b = new Recorder();
  const ia = wire.attach(new Recorder(), A);
  const ib = wire.attach(b, B);
  for (let i = 0; i < n; i++) wire.send(ia, pkt(i), 0);
  wire.runUntilIdle();
  return { got: b.got, wire, ia, ib };
}

test('overtake: a packet skips the queue and arrives ahead of packets sent before it; the queue drains as if it had never been there', () => {
  const { got, wire, ia, ib } = burst({ overtake: 0.05, overtakeDelayMs: 4.5 });
  const c = wire.counters(ia, ib);
  assert.equal(got.length, 400, 'nothing lost');
  assert.ok(c.overtook >= 8 && c.overtook <= 40, `overtook ${c.overtook} of 400`);
  // Overtaking packets arrive at 0 + 4.5 + 5 ms; the others in sending order, one per ms (1040 bytes) from 6 ms on.
  const fast = got.filter((g) => g.time === 9.5);
  assert.equal(fast.length, c.overtook, 'every overtaking packet arrives 4.5 + 5 ms after it was sent');
  const slow = got.filter((g) => g.time !== 9.5);
  assert.deepEqual(slow.map((g) => g.i), [...slow.map((g) => g.i)].sort((x, y) => x - y), 'the queue keeps its order');
  // No place in the queue: the queued packets leave back to back, the last at (400 - overtook) ms of serialisation.
  assert.ok(Math.abs(slow[slow.length - 1]!.time - (5 + (400 - c.overtook))) < 0.01, `last at ${slow[slow.length - 1]!.time}`);
  // Reordering as a receiver sees it: an overtaking packet arrives before many packets sent before it.
  const last = Math.max(...fast.map((g) => g.i));
  assert.ok(slow.filter((g) => g.i < last && g.time > 9.5).length > 100, 'packets sent earlier arrive after it');
});

test('overtake off (0 or unset) changes nothing: the same seed gives the same fates and times as before', () => {
  const imp = { loss: 0.1, reorder: 0.05, reorderDelayMs: 2, jitterMs: 1 };
  const a = burst(imp).got, b = burst({ ...imp, overtake: 0 }).got;
  assert.deepEqual(b, a);
  assert.equal(burst({}).wire.counters(0, 1).overtook, 0);
});

test('overtake without a bandwidth limit has no queue to skip; a bad probability is refused', () => {
  const { got } = burst({ bandwidthBps: 0, overtake: 0.5, overtakeDelayMs: 4 });
  assert.ok(got.every((g) => g.time === 5));
  assert.throws(() => new Wire({ impairments: { overtake: 2 } }), LinkError);
  assert.throws(() => new Wire({ impairments: { overtakeDelayMs: -1 } }), LinkError);
});
