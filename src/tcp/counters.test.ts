/**
 * The Linux-named counters (TcpStats) as a user comparing them with `nstat` would read them. The MIB ones
 * follow their RFC 1213 definitions: ActiveOpens CLOSED → SYN-SENT, PassiveOpens LISTEN → SYN-RECEIVED,
 * AttemptFails SYN-SENT/SYN-RECEIVED → CLOSED, EstabResets ESTABLISHED/CLOSE-WAIT → CLOSED.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, RST, SYN } from '../wire/tcp-types.js';
import type { TcpConnection } from './connection.js';
import { IRS, ISS, PLAIN, bytes, inState, newConn, seg, synReceived, synSent } from './test-util.js';

const SND = ISS + 1;
const RCV = IRS + 1;

function counts(c: TcpConnection) {
  const { ActiveOpens, PassiveOpens, AttemptFails, EstabResets } = c.stats;
  return { ActiveOpens, PassiveOpens, AttemptFails, EstabResets };
}

function untilClosed(c: TcpConnection): void {
  for (let i = 0; i < 100 && c.state !== 'CLOSED'; i++) { const t = c.nextDeadline(); if (t === Infinity) break; c.onTimeout(t); c.drainTransmit(t); }
}

test('a clean active and a clean passive open count one ActiveOpens / PassiveOpens and nothing else', () => {
  const a = synSent();
  a.input(seg(SYN | ACK, IRS, SND), 1);
  assert.deepEqual(counts(a), { ActiveOpens: 1, PassiveOpens: 0, AttemptFails: 0, EstabResets: 0 });
  const p = synReceived();
  p.input(seg(ACK, RCV, SND), 1);
  assert.deepEqual(counts(p), { ActiveOpens: 0, PassiveOpens: 1, AttemptFails: 0, EstabResets: 0 });
});

test('AttemptFails: refused, timed out (SYN-SENT and SYN-RECEIVED, active or passive), reset embryonic, given up by the user', () => {
  const refused = synSent();
  refused.input(seg(RST | ACK, 0, SND), 1);
  const timedOut = synSent({ ...PLAIN, synRetries: 1 });
  untilClosed(timedOut);
  const simultaneous = synSent({ ...PLAIN, synAckRetries: 1 });
  simultaneous.input(seg(SYN, IRS), 1);
  untilClosed(simultaneous);
  const passiveTimeout = synReceived({ ...PLAIN, synAckRetries: 1 });
  untilClosed(passiveTimeout);
  const passiveReset = synReceived();
  passiveReset.input(seg(RST, RCV), 1);
  const userAbort = synSent();
  userAbort.abort(1);
  for (const [name, c] of Object.entries({ refused, timedOut, simultaneous, passiveTimeout, passiveReset, userAbort })) {
    assert.equal(c.state, 'CLOSED', name);
    assert.equal(c.stats.AttemptFails, 1, name);
    assert.equal(c.stats.EstabResets, 0, name);
  }
});

test('EstabResets: ESTABLISHED or CLOSE-WAIT → CLOSED by RST received, abort, retransmission timeout or keep-alive failure', () => {
  const cases: Array<[string, TcpConnection, (c: TcpConnection) => void]> = [
    ['RST in ESTABLISHED', inState('ESTABLISHED'), (c) => c.input(seg(RST, RCV), 1)],
    ['RST in CLOSE-WAIT', inState('CLOSE-WAIT'), (c) => c.input(seg(RST, RCV + 1), 1)],
    ['abort in ESTABLISHED', inState('ESTABLISHED'), (c) => c.abort(1)],
    ['close with unread data', inState('ESTABLISHED'), (c) => { c.input(seg(ACK, RCV, SND, { payload: bytes(3) }), 1); c.close(2); }],
    ['retransmission limit', inState('ESTABLISHED', { ...PLAIN, maxRetransmits: 1 }), (c) => { c.send(bytes(5), 1); c.drainTransmit(1); untilClosed(c); }],
    ['keep-alive failure', inState('ESTABLISHED', { ...PLAIN, keepAlive: true, keepAliveIdle: 100, keepAliveInterval: 10, keepAliveProbes: 1 }), untilClosed],
  ];
  for (const [name, c, act] of cases) {
    act(c);
    assert.equal(c.state, 'CLOSED', name);
    assert.equal(c.stats.EstabResets, 1, name);
    assert.equal(c.stats.AttemptFails, 0, name);
  }
});

test('no EstabResets for resets in closing states (FIN-WAIT-1/2, CLOSING, LAST-ACK), data after close(), or a clean close', () => {
  const cases: Array<[string, TcpConnection, (c: TcpConnection) => void]> = [
    ['RST in FIN-WAIT-1', inState('FIN-WAIT-1'), (c) => c.input(seg(RST, RCV), 1)],
    ['RST in FIN-WAIT-2', inState('FIN-WAIT-2'), (c) => c.input(seg(RST, RCV), 1)],
    ['RST in LAST-ACK', inState('LAST-ACK'), (c) => c.input(seg(RST, RCV + 1), 1)],
    ['data after close()', inState('ESTABLISHED'), (c) => { c.close(1); c.drainTransmit(1); c.input(seg(ACK, RCV, SND + 1, { payload: bytes(3) }), 2); }],
    ['clean LAST-ACK', inState('LAST-ACK'), (c) => c.input(seg(ACK, RCV + 1, SND + 1), 1)],
    ['TIME-WAIT expiry', inState('TIME-WAIT'), untilClosed],
  ];
  for (const [name, c, act] of cases) {
    act(c);
    assert.equal(c.state, 'CLOSED', name);
    assert.equal(c.stats.EstabResets, 0, name);
  }
});

test('segment counters: InSegs, OutSegs, OutRsts, RetransSegs, and per-cause counters', () => {
  const c = newConn();
  c.input(seg(ACK, 7, 9), 0); // no connection → RST
  c.drainTransmit(0);
  assert.equal(c.stats.InSegs, 1);
  assert.equal(c.stats.OutSegs, 1);
  assert.equal(c.stats.OutRsts, 1);
  const d = inState('ESTABLISHED');
  const before = d.stats.RetransSegs;
  d.send(bytes(10), 1);
  d.drainTransmit(1);
  d.onTimeout(d.nextDeadline());
  d.drainTransmit(d.nextDeadline());
  assert.equal(d.stats.RetransSegs, before + 1);
  assert.equal(d.stats.TCPTimeouts, 1);
});
