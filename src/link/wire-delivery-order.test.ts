// Deliveries come in time order, ties in sending order, whatever mix of directions and delays is in flight
// (the wire keeps packets that arrive in sending order in a queue and the others in a heap).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Wire, type WireEndpoint } from './wire.js';
import { encodeTcpPacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { makeSegment } from '../wire/tcp-types.js';

const ADDRS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map(parseAddress);

test('delivery order is (arrival time, sending order) across directions with different delays, jitter and reordering', () => {
  fc.assert(fc.property(
    fc.array(fc.record({ delayMs: fc.integer({ min: 0, max: 20 }), jitterMs: fc.constantFrom(0, 0, 3), reorder: fc.constantFrom(0, 0, 0.3) }), { minLength: 6, maxLength: 6 }),
    fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 4 }), fc.boolean()), { minLength: 1, maxLength: 300 }),
    fc.integer(),
    (dirs, sends, seed) => {
      const wire = new Wire({ seed, impairments: { reorderDelayMs: 7 } });
      const got: Array<{ id: number; time: number }> = [];
      const eps: WireEndpoint[] = ADDRS.map(() => ({ deliver(p, now) { got.push({ id: (p[p.length - 2]! << 8) | p[p.length - 1]!, time: now }); } }));
      ADDRS.forEach((a, i) => wire.attach(eps[i]!, a));
      let k = 0;
      for (let f = 0; f < 3; f++) for (let t = 0; t < 3; t++) if (f !== t) wire.impair(f, t, dirs[k++ % dirs.length]!);
      const sentAt: number[] = [];
      let now = 0;
      for (const [from, toOff, gap, advance] of sends) {
        const to = (from + 1 + (toOff % 2)) % 3;
        now += gap;
        if (advance) wire.advance(now);
        const id = sentAt.length;
        sentAt.push(now);
        const payload = new Uint8Array([id >> 8, id & 0xff]);
        wire.send(from, encodeTcpPacket({ src: ADDRS[from]!, dst: ADDRS[to]! }, makeSegment({ srcPort: 1, dstPort: 2, payload })), now);
      }
      wire.runUntilIdle();
      assert.equal(wire.inFlight, 0);
      // Never earlier than sent, and in non-decreasing time.
      for (let i = 0; i < got.length; i++) {
        assert.ok(got[i]!.time >= sentAt[got[i]!.id]!);
        if (i > 0) assert.ok(got[i]!.time >= got[i - 1]!.time, `delivery ${i} at ${got[i]!.time} after one at ${got[i - 1]!.time}`);
      }
      // Packets due at the same time keep the order they were sent in.
      for (let i = 1; i < got.length; i++) {
        if (got[i]!.time === got[i - 1]!.time && got[i]!.id !== got[i - 1]!.id) assert.ok(got[i]!.id > got[i - 1]!.id);
      }
    },
  ), { numRuns: 300 });
});
