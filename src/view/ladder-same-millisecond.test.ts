/**
 * Rows that share a millisecond: a segment and a state change that both carry the trace's shared `order` are
 * drawn in that order (a timer that fired just after a segment was sent comes after it); a change without
 * one goes before the segments of its millisecond (a user call precedes the segment it causes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLadder } from './ladder-model.js';
import { makeSegment, ACK, PSH } from '../wire/tcp-types.js';
import type { Trace } from '../wire/trace.js';

function trace(withOrder: boolean): Trace {
  const data = makeSegment({ srcPort: 40000, dstPort: 80, seq: 1001, ack: 5001, flags: PSH | ACK, window: 64240, payload: new Uint8Array(10) });
  return {
    a: { addr: '10.0.0.1', port: 40000, label: 'client', isn: 1000 },
    b: { addr: '10.0.0.2', port: 80, label: 'server', isn: 5000 },
    // The client's data segment leaves at t=7; in the same millisecond, after it, a timer changes the
    // server's state.
    entries: [{ time: 7, from: 'a', seg: data, stateB: 'ESTABLISHED', ...(withOrder ? { order: 1 } : {}) }],
    changes: [{ time: 7, side: 'b', from: 'ESTABLISHED', to: 'CLOSE-WAIT', cause: 'timer', ...(withOrder ? { order: 2 } : {}) }],
  };
}

test('with a shared order, a change later in the same millisecond is drawn after the segment', () => {
  const rows = buildLadder(trace(true)).rows;
  assert.deepEqual(rows.map((r) => r.kind), ['segment', 'change']);
});

test('a change without one: drawn before the segments of that millisecond is drawn first (a user call before the segment it causes)', () => {
  const rows = buildLadder(trace(false)).rows;
  assert.deepEqual(rows.map((r) => r.kind), ['change', 'segment']);
});
