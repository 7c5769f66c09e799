// A wire whose queue never empties (a bulk transfer: packets sent while earlier ones are delivered, the number in
// flight growing and shrinking) delivers every packet once, in sending order, at its time: the queue of packets due
// in sending order is a ring that wraps around and grows while wrapped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Wire, type WireEndpoint } from './wire.js';
import { encodeTcpPacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { makeSegment } from '../wire/tcp-types.js';
import { Prng } from './prng.js';

const A = parseAddress('10.0.0.1'), B = parseAddress('10.0.0.2');

function packet(id: number): Uint8Array {
  const payload = new Uint8Array([id >>> 16, (id >>> 8) & 0xff, id & 0xff]);
  return encodeTcpPacket({ src: A, dst: B }, makeSegment({ srcPort: 1, dstPort: 2, payload }));
}
const idOf = (p: Uint8Array): number => (p[p.length - 3]! << 16) | (p[p.length - 2]! << 8) | p[p.length - 1]!;

for (const seed of [1, 2, 3]) {
  test(`never-empty queue, bursts of 0-300 packets per step (seed ${seed}): each packet once, in sending order, at its time`, () => {
    const wire = new Wire({ seed, impairments: { delayMs: 5 } });
    const got: Array<{ id: number; time: number }> = [];
    const sink: WireEndpoint = { deliver(p, now) { got.push({ id: idOf(p), time: now }); } };
    wire.attach({ deliver() { /* sender */ } }, A);
    wire.attach(sink, B);
    const rng = new Prng(seed);
    const sentAt: number[] = [];
    let now = 0, maxInFlight = 0;
    for (let step = 0; step < 400; step++) {
      // Bursts that grow the queue past its room several times over while its front has moved on.
      const burst = Math.floor(rng.next() * (step < 200 ? 300 : 40));
      for (let i = 0; i < burst; i++) { sentAt.push(now); wire.send(0, packet(sentAt.length - 1), now); }
      maxInFlight = Math.max(maxInFlight, wire.inFlight);
      now += 1 + Math.floor(rng.next() * 3);
      wire.advance(now);
      assert.equal(wire.inFlight, sentAt.filter((t) => t + 5 > now).length, `in flight after step ${step}`);
    }
    wire.runUntilIdle();
    assert.ok(maxInFlight > 500, `${maxInFlight} in flight at most`);
    assert.equal(wire.inFlight, 0);
    assert.deepEqual(got.map((g) => g.id), sentAt.map((_, i) => i));
    for (const g of got) assert.equal(g.time, sentAt[g.id]! + 5);
  });
}

test('a burst of 40 000 packets (a mass open), drained, then traffic again: each packet once, in sending order, at its time', () => {
  const wire = new Wire({ seed: 1, impairments: { delayMs: 5 } });
  const got: number[] = [];
  wire.attach({ deliver() { /* sender */ } }, A);
  wire.attach({ deliver(p) { got.push(idOf(p)); } }, B);
  let id = 0, now = 0;
  for (const burst of [40_000, 10, 3_000, 40_000, 1]) {
    for (let i = 0; i < burst; i++) wire.send(0, packet(id++), now);
    assert.equal(wire.inFlight, burst);
    now += 5;
    assert.equal(wire.advance(now), burst);
    assert.equal(wire.inFlight, 0);
  }
  assert.deepEqual(got, Array.from({ length: id }, (_, i) => i));
});
