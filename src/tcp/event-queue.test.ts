/**
 * Pending events (pollEvent) belong to their connection: when several connections have events waiting at once,
 * each gives back its own, in the order they happened, however their bursts interleave (a drained list is reused
 * by the next connection that needs one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, SYN } from '../wire/tcp-types.js';
import type { TcpConnection, TcpEvent } from './connection.js';
import { IRS, ISS, seg, synSent } from './test-util.js';

/** Each pending event as type, plus the state reached for a state change. */
function pending(c: TcpConnection): string[] {
  const out: string[] = [];
  let e: TcpEvent | null;
  while ((e = c.pollEvent()) !== null) out.push(e.type === 'state' ? `state ${e.to}` : e.type);
  return out;
}

/** The SYN+ACK that establishes a connection from synSent(): two events (the state change, 'established'). */
const synAck = (c: TcpConnection, now: number): void => c.input(seg(SYN | ACK, IRS, ISS + 1, { window: 65535 }), now);

test('connections whose event bursts interleave each poll their own events, in order', () => {
  const a = synSent(), b = synSent(), c = synSent();
  synAck(a, 1);
  assert.deepEqual(pending(a), ['state ESTABLISHED', 'established']);
  // a's drained list is free: b's burst, then c's, then a's next ones wait at the same time.
  synAck(b, 2);
  synAck(c, 3);
  a.shutdown(4);
  a.drainTransmit(4);
  a.input(seg(ACK, IRS + 1, ISS + 2, { window: 65535 }), 5);
  assert.deepEqual(pending(b), ['state ESTABLISHED', 'established']);
  // b's list is free again while c's and a's still wait.
  a.abort(6);
  assert.deepEqual(pending(c), ['state ESTABLISHED', 'established']);
  assert.deepEqual(pending(a), ['state FIN-WAIT-1', 'state FIN-WAIT-2', 'state CLOSED', 'closed']);
  assert.deepEqual([pending(a), pending(b), pending(c)], [[], [], []]);
});
