/**
 * RFC 5681 §4.1: after an idle period longer than an RTO, cwnd goes back to the restart window
 * RW = min(IW, cwnd) "before transmission begins" — so the first flight after idleness is IW segments, not one
 * more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, type TcpSegment } from '../wire/tcp-types.js';
import { IRS, PLAIN, bytes, established, seg } from './test-util.js';
import type { TcpConfig } from './config.js';

const MSS = 1000;

/**
 * Grows cwnd well past IW (`flights` round trips, each flight ACKed as a whole), drains everything, idles 10 s
 * (RTO ≤ 1 s here) and returns the data segments of the first flight after the idle period, with the size
 * in bytes of the last flight before it.
 */
function firstFlightAfterIdle(config: Partial<TcpConfig>, flights: number): { grown: number; first: TcpSegment[] } {
  const c = established({ ...PLAIN, congestionControl: 'newreno', sendBufferSize: 1 << 20, sendBufferAutotune: false, ...config }, 0, { options: { mss: MSS }, window: 65535 });
  let now = 10;
  c.send(bytes(400_000), now);
  let grown = 0;
  for (let i = 0; ; i++) {
    const out = c.drainTransmit(now).filter((s) => s.payload.length > 0);
    if (out.length === 0) break;
    if (i < flights) grown = out.reduce((n, s) => n + s.payload.length, 0);
    const last = out[out.length - 1]!;
    now += 10;
    c.input(seg(ACK, IRS + 1, (last.seq + last.payload.length) >>> 0, { window: 65535 }), now);
  }
  now += 10_000;
  c.send(bytes(100_000), now);
  return { grown, first: c.drainTransmit(now).filter((s) => s.payload.length > 0) };
}

test('after idling longer than an RTO the first flight is exactly the initial window (10 segments)', () => {
  const { grown, first } = firstFlightAfterIdle({}, 10);
  assert.ok(grown > 20 * MSS, `cwnd did not grow: last flight ${grown} bytes`);
  assert.equal(first.length, 10, `first flight after idle: ${first.length} segments`);
});

test('with TSO the first super-segment after idling is sized by the restart window, not the old cwnd', () => {
  const { grown, first } = firstFlightAfterIdle({ tsoMaxBytes: 65535 }, 12);
  assert.ok(grown > 20 * MSS, `cwnd did not grow: last flight ${grown} bytes`);
  const flight = first.reduce((n, s) => n + s.payload.length, 0);
  assert.equal(flight, 10 * MSS, `first flight after idle: ${first.map((s) => s.payload.length).join('+')} bytes`);
});
