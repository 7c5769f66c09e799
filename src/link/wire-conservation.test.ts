import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Wire, type WireEndpoint } from './wire.js';
import { encodeTcpPacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { makeSegment } from '../wire/tcp-types.js';

const A = parseAddress('10.0.0.1');
const B = parseAddress('10.0.0.2');
const prob = fc.double({ min: 0, max: 1, noNaN: true });

test('every packet is accounted for, in time order, under any impairment mix', () => {
  fc.assert(fc.property(
    fc.record({
      loss: prob, duplicate: prob, reorder: prob, corrupt: prob,
      reorderDelayMs: fc.integer({ min: 0, max: 50 }), delayMs: fc.integer({ min: 0, max: 50 }), jitterMs: fc.integer({ min: 0, max: 20 }),
      bandwidthBps: fc.constantFrom(0, 100_000, 10_000_000), queueBytes: fc.constantFrom(Infinity, 0, 3000),
    }),
    fc.integer(),
    fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 1400 })), { minLength: 1, maxLength: 200 }),
    (imp, seed, sends) => {
      const wire = new Wire({ seed, impairments: imp });
      const times: number[] = [];
      const b: WireEndpoint = { deliver(_p, now) { times.push(now); } };
      const ia = wire.attach({ deliver() {} }, A);
      wire.attach(b, B);
      const fates = { delivered: 0, lost: 0, corrupted: 0, duplicate: 0, 'queue-drop': 0, unroutable: 0 };
      wire.observe((e) => { fates[e.fate]++; });
      let t = 0;
      for (const [gap, len] of sends) {
        t += gap;
        wire.advance(t);
        wire.send(ia, encodeTcpPacket({ src: A, dst: B }, makeSegment({ srcPort: 1, dstPort: 2, payload: new Uint8Array(len) })), t);
      }
      wire.runUntilIdle();
      const c = wire.counters(ia, 1);
      assert.equal(c.sent, sends.length);
      assert.equal(c.sent, c.lost + c.queueDropped + (c.delivered - c.duplicated));
      assert.equal(fates.lost, c.lost);
      assert.equal(fates['queue-drop'], c.queueDropped);
      assert.equal(fates.duplicate, c.duplicated);
      assert.equal(fates.corrupted, c.corrupted);
      assert.equal(fates.delivered + fates.corrupted + fates.duplicate, c.delivered);
      assert.equal(times.length, c.delivered);
      for (let i = 1; i < times.length; i++) assert.ok(times[i]! >= times[i - 1]!, 'delivery times never go backwards');
      assert.equal(wire.inFlight, 0);
      assert.equal(wire.nextDeadline(), Infinity);
    },
  ), { numRuns: 150 });
});
