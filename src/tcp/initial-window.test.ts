/**
 * The initial window (RFC 6928 §2: 10 segments here) and RFC 5681 §3.1: "if the SYN or SYN/ACK is lost, the
 * initial window used by a sender after a correctly transmitted SYN MUST be one segment". The 'linux'
 * setting (the drill's Linux personality) follows tcp_init_transfer: one segment only after more than one
 * handshake retransmission.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, SYN } from '../wire/tcp-types.js';
import { IRS, ISS, PLAIN, bytes, newConn, seg } from './test-util.js';
import type { TcpConfig } from './config.js';
import type { TcpConnection } from './connection.js';

const MSS = 1000;

/** Segments with data in the first flight after ESTABLISHED. */
function firstFlight(c: TcpConnection, now: number): number {
  c.send(bytes(50_000), now);
  return c.drainTransmit(now).filter((s) => s.payload.length > 0).length;
}

/** Active open whose SYN times out `lost` times before the SYN+ACK arrives. */
function activeOpen(lost: number, config: Partial<TcpConfig> = {}): number {
  const c = newConn({ ...PLAIN, ...config });
  let now = 0;
  c.connect(now);
  c.drainTransmit(now);
  for (let i = 0; i < lost; i++) {
    now = c.nextDeadline();
    c.onTimeout(now);
    const again = c.drainTransmit(now);
    assert.ok(again.some((s) => s.flags === SYN), 'the SYN was not retransmitted');
  }
  now += 5;
  c.input(seg(SYN | ACK, IRS, ISS + 1, { options: { mss: MSS }, window: 65535 }), now);
  assert.equal(c.state, 'ESTABLISHED');
  c.drainTransmit(now);
  return firstFlight(c, now);
}

/** Passive open whose SYN+ACK times out `lost` times before the final ACK arrives. */
function passiveOpen(lost: number, config: Partial<TcpConfig> = {}): number {
  const c = newConn({ ...PLAIN, ...config });
  let now = 0;
  c.listen(now);
  c.input(seg(SYN, IRS, 0, { options: { mss: MSS }, window: 65535 }), now);
  c.drainTransmit(now);
  for (let i = 0; i < lost; i++) {
    now = c.nextDeadline();
    c.onTimeout(now);
    assert.ok(c.drainTransmit(now).some((s) => s.flags === (SYN | ACK)), 'the SYN+ACK was not retransmitted');
  }
  now += 5;
  c.input(seg(ACK, IRS + 1, ISS + 1, { window: 65535 }), now);
  assert.equal(c.state, 'ESTABLISHED');
  return firstFlight(c, now);
}

test('no handshake loss: the first flight is the initial window, 10 segments (both ends)', () => {
  assert.equal(activeOpen(0), 10);
  assert.equal(passiveOpen(0), 10);
});

test('a lost SYN: the client starts with one segment (RFC 5681 §3.1)', () => {
  assert.equal(activeOpen(1), 1);
  assert.equal(activeOpen(2), 1);
});

test('a lost SYN+ACK: the server starts with one segment', () => {
  assert.equal(passiveOpen(1), 1);
});

test("'linux': one lost SYN keeps the initial window, two drop it to one segment", () => {
  assert.equal(activeOpen(1, { synLossWindow: 'linux' }), 10);
  assert.equal(activeOpen(2, { synLossWindow: 'linux' }), 1);
});
