import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Wire, type WireEndpoint } from './wire.js';
import { driveInRealTime } from './real-time.js';
import { encodeTcpPacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { makeSegment } from '../wire/tcp-types.js';

const A = parseAddress('10.0.0.1');
const B = parseAddress('10.0.0.2');

test('real-time driver delivers each packet once its delay has passed on the real clock', async () => {
  const wire = new Wire({ impairments: { delayMs: 30 } });
  const arrivals: Array<{ seq: number; at: number; sent: number }> = [];
  const sentAt = new Map<number, number>();
  const b: WireEndpoint = {
    deliver(p) {
      const seq = new DataView(p.buffer, p.byteOffset).getUint32(24);
      arrivals.push({ seq, at: performance.now(), sent: sentAt.get(seq)! });
    },
  };
  const ia = wire.attach({ deliver() {} }, A);
  wire.attach(b, B);
  const driver = driveInRealTime(wire);
  assert.throws(() => driveInRealTime(wire), /already has a driver/);
  const send = (seq: number) => {
    const t = performance.now();
    sentAt.set(seq, t);
    wire.send(ia, encodeTcpPacket({ src: A, dst: B }, makeSegment({ srcPort: 1, dstPort: 2, seq })), t);
  };
  send(1);
  await new Promise((r) => setTimeout(r, 10));
  send(2);
  // Wait for both (bounded): a loaded machine may fire timers late, never early.
  const until = performance.now() + 2000;
  while (arrivals.length < 2 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
  driver.stop();
  assert.deepEqual(arrivals.map((x) => x.seq), [1, 2]);
  for (const x of arrivals) {
    const d = x.at - x.sent;
    assert.ok(d >= 29.5 && d < 1000, `delivered after ${d.toFixed(1)} ms, want 30 (never early)`);
  }
  assert.equal(wire.onWake, undefined);
  // After stop, nothing is delivered any more.
  send(3);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(arrivals.length, 2);
  assert.equal(wire.inFlight, 1);
});
