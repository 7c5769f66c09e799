/**
 * Connections made from one complete configuration (a stack's) read that object itself; a field set through one
 * connection's `config` (a socket option) is that connection's own and changes only what it sends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, PSH, SYN } from '../wire/tcp-types.js';
import { resolveConfig, type TcpConfig } from './config.js';
import { TcpConnection } from './connection.js';
import { IRS, ISS, PLAIN, bytes, seg } from './test-util.js';

/** A passive connection made from `config` (the object itself), taken to ESTABLISHED with a plain handshake. */
function open(config: TcpConfig, port: number): TcpConnection {
  const c = new TcpConnection({ localPort: 80, remotePort: port, iss: ISS, config });
  c.listen(0);
  c.input(seg(SYN, IRS, 0, { window: 65535 }), 0);
  c.drainTransmit(0);
  c.input(seg(ACK, IRS + 1, ISS + 1, { window: 65535 }), 1);
  c.drainTransmit(1);
  return c;
}

/** What `c` sends at once when one data segment arrives. */
const answerToData = (c: TcpConnection, now: number): number =>
  (c.input(seg(ACK | PSH, IRS + 1, ISS + 1, { payload: bytes(100), window: 65535 }), now), c.drainTransmit(now).length);

test('a field set on one connection\'s config is its own: that connection ACKs at once, the others and the shared configuration keep delayed ACKs', () => {
  const shared = resolveConfig({ ...PLAIN, delayedAck: true });
  const a = open(shared, 40001), b = open(shared, 40002);
  a.config.delayedAck = false;
  assert.equal(answerToData(a, 10), 1, 'a ACKs the data at once');
  assert.equal(answerToData(b, 10), 0, 'b delays its ACK');
  assert.equal(shared.delayedAck, true);
  assert.equal(a.config.delayedAck, false);
  assert.equal(b.config.delayedAck, true, 'b inherits the shared value');
});

test('a connection that has not taken its own config follows a change to the configuration it was made from', () => {
  const shared = resolveConfig({ ...PLAIN, delayedAck: true });
  const a = open(shared, 40003);
  shared.delayedAck = false; // e.g. a stack's configuration changed after the connection was made
  assert.equal(answerToData(a, 10), 1);
});
