/**
 * RFC 5681 §4.1: after an idle period longer than an RTO, cwnd goes back to the restart window
 * RW = min(IW, cwnd) "before transmission begins" — so the first flight after idleness is IW segments, not one
 * more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK } from '../wire/tcp-types.js';
import { IRS, ISS, PLAIN, bytes, established, seg } from './test-util.js';

const MSS = 1000;

test('after idling longer than an RTO the first flight is exactly the initial window (10 segments)', () => {
  const c = established({ ...PLAIN, sendBufferSize: 1 << 20 }, 0, { options: { mss: MSS }, window: 65535 });
  let now = 10;
  let acked = ISS + 1;
  // Grow cwnd well past IW: send, ACK each flight as a whole.
  c.send(bytes(300_000), now);
  const flights: number[] = [];
  while (flights.length < 10) {
    const out = c.drainTransmit(now).filter((s) => s.payload.length > 0);
    flights.push(out.length);
    const last = out[out.length - 1]!;
    acked = (last.seq + last.payload.length) >>> 0;
    now += 10;
    c.input(seg(ACK, IRS + 1, acked, { window: 65535 }), now);
  }
  assert.ok(flights[flights.length - 1]! > 20, `cwnd did not grow: flights ${flights.join(',')}`);
  // Drain the rest so nothing is outstanding, then idle for 10 s (RTO ≤ 1 s here).
  for (;;) {
    const out = c.drainTransmit(now).filter((s) => s.payload.length > 0);
    if (out.length === 0) break;
    const last = out[out.length - 1]!;
    now += 10;
    c.input(seg(ACK, IRS + 1, (last.seq + last.payload.length) >>> 0, { window: 65535 }), now);
  }
  now += 10_000;
  c.send(bytes(50_000), now);
  const first = c.drainTransmit(now).filter((s) => s.payload.length > 0);
  assert.equal(first.length, 10, `first flight after idle: ${first.length} segments`);
});

test('with TSO the first super-segment after idling is sized by the restart window, not the old cwnd', () => {
  const c = established({ ...PLAIN, sendBufferSize: 1 << 20, tsoMaxBytes: 65535 }, 0, { options: { mss: MSS }, window: 65535 });
  let now = 10;
  c.send(bytes(400_000), now);
  let lastFlight = 0;
  for (let i = 0; i < 12; i++) {
    const out = c.drainTransmit(now).filter((s) => s.payload.length > 0);
    lastFlight = out.reduce((n, s) => n + s.payload.length, 0);
    if (out.length === 0) break;
    const last = out[out.length - 1]!;
    now += 10;
    c.input(seg(ACK, IRS + 1, (last.seq + last.payload.length) >>> 0, { window: 65535 }), now);
  }
  assert.ok(lastFlight > 20 * MSS, `cwnd did not grow: last flight ${lastFlight} bytes`);
  for (;;) {
    const out = c.drainTransmit(now).filter((s) => s.payload.length > 0);
    if (out.length === 0) break;
    const last = out[out.length - 1]!;
    now += 10;
    c.input(seg(ACK, IRS + 1, (last.seq + last.payload.length) >>> 0, { window: 65535 }), now);
  }
  now += 10_000;
  c.send(bytes(100_000), now);
  const first = c.drainTransmit(now).filter((s) => s.payload.length > 0);
  const flight = first.reduce((n, s) => n + s.payload.length, 0);
  assert.equal(flight, 10 * MSS, `first flight after idle: ${first.map((s) => s.payload.length).join('+')} bytes`);
});
