/**
 * Whole client↔server lifecycles under specific losses, asserted segment by segment (flags, relative seq
 * and ack, length, fate) as a packet trace reads. Client a: ISS 100; server b: ISS 300; one-way delay 10 ms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, type Fate, type Side } from './pair.js';
import { TcpConnection } from './connection.js';
import type { TcpConfig } from './config.js';
import { PLAIN, bytes, readAll, states } from './test-util.js';
import type { TcpSegment } from '../wire/tcp-types.js';

/** A pair whose wire drops the transmissions with the given indexes (0 = the first segment sent). */
function lossy(drop: number[], config: Partial<TcpConfig> = PLAIN, fate?: (from: Side, seg: TcpSegment, i: number) => Fate): Pair {
  const a = new TcpConnection({ localPort: 40000, remotePort: 80, iss: 100, config });
  const b = new TcpConnection({ localPort: 80, remotePort: 40000, iss: 300, config });
  b.listen(0);
  return new Pair(a, b, { fate: fate ?? ((_f, _s, i) => (drop.includes(i) ? 'drop' : 'deliver')) });
}

function timed(p: Pair): string[] {
  return p.describe().map((l, i) => `${p.log[i]!.time} ${l}`);
}

test('lost SYN: retransmitted after the initial RTO (1 s); then RTO = 3 s for data (RFC 6298 §5.7)', () => {
  const p = lossy([0]);
  p.a.connect(0);
  p.run((q) => q.a.state === 'ESTABLISHED' && q.b.state === 'ESTABLISHED');
  assert.deepEqual(timed(p), [
    '0 a>b SYN seq=0 [drop]',
    '1000 a>b SYN seq=0',
    '1010 b>a SYN+ACK seq=0 ack=1',
    '1020 a>b ACK seq=1 ack=1',
  ]);
  assert.equal(p.a.retransmissionTimeout, 3000);
  assert.equal(p.b.retransmissionTimeout, 200, 'the server had a clean sample (20 ms → clamped to rtoMin)');
});

test('lost SYN+ACK: the client\'s SYN retransmission draws a second SYN+ACK at once; the server\'s own RTO copy is an old duplicate', () => {
  const p = lossy([1]);
  p.a.connect(0);
  p.run((q) => q.a.state === 'ESTABLISHED' && q.b.state === 'ESTABLISHED');
  p.run((q) => q.now >= 1100);
  assert.deepEqual(timed(p), [
    '0 a>b SYN seq=0',
    '10 b>a SYN+ACK seq=0 ack=1 [drop]',
    '1000 a>b SYN seq=0',
    '1010 b>a SYN+ACK seq=0 ack=1',
    '1010 b>a SYN+ACK seq=0 ack=1',
    '1020 a>b ACK seq=1 ack=1',
    '1020 a>b ACK seq=1 ack=1',
  ]);
  assert.deepEqual(states(p.eventsB), ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED']);
});

test('lost third ACK: the client\'s first data segment (it carries the ACK) completes the server\'s handshake', () => {
  const p = lossy([2]);
  p.a.connect(0);
  p.run((q) => q.a.state === 'ESTABLISHED');
  p.a.send(bytes(5), p.now);
  p.run((q) => q.b.readableLength === 5);
  assert.deepEqual(timed(p), [
    '0 a>b SYN seq=0',
    '10 b>a SYN+ACK seq=0 ack=1',
    '20 a>b ACK seq=1 ack=1 [drop]',
    '20 a>b PSH+ACK seq=1 ack=1 len=5',
    '30 b>a ACK seq=1 ack=6',
  ]);
  assert.equal(p.b.state, 'ESTABLISHED');
  assert.deepEqual(readAll(p.b), bytes(5));
});

test('one lost data segment in a burst: three duplicate ACKs, fast retransmit, one cumulative ACK', () => {
  let n = 0;
  const p = lossy([], PLAIN, (from, s) => (from === 'a' && s.payload.length > 0 && n++ === 1 ? 'drop' : 'deliver'));
  p.a.connect(0);
  p.run((q) => q.a.state === 'ESTABLISHED' && q.b.state === 'ESTABLISHED');
  p.log.length = 0;
  p.a.send(bytes(5 * 1460), p.now);
  p.run((q) => q.a.bytesInFlight === 0 && q.a.sendQueued === 0);
  const t0 = p.log[0]!.time;
  assert.deepEqual(p.describe(), [
    'a>b ACK seq=1 ack=1 len=1460',
    'a>b ACK seq=1461 ack=1 len=1460 [drop]',
    'a>b ACK seq=2921 ack=1 len=1460',
    'a>b ACK seq=4381 ack=1 len=1460',
    'a>b PSH+ACK seq=5841 ack=1 len=1460',
    'b>a ACK seq=1 ack=1461',
    'b>a ACK seq=1 ack=1461',
    'b>a ACK seq=1 ack=1461',
    'b>a ACK seq=1 ack=1461',
    'a>b ACK seq=1461 ack=1 len=1460',
    'b>a ACK seq=1 ack=7301',
  ]);
  assert.equal(p.log[9]!.time, t0 + 20, 'retransmitted on the third duplicate ACK, not after an RTO');
  assert.equal(p.a.stats.TCPFastRetrans, 1);
  assert.equal(p.a.stats.TCPTimeouts, 0);
});

test('lost FIN in a simultaneous close: the other FIN still crosses, CLOSING, then the retransmitted FIN ends it', () => {
  let n = 0;
  const p = lossy([], PLAIN, (from, s) => (from === 'a' && (s.flags & 1) && n++ === 0 ? 'drop' : 'deliver'));
  p.a.connect(0);
  p.run((q) => q.a.state === 'ESTABLISHED' && q.b.state === 'ESTABLISHED');
  p.log.length = 0; p.eventsA.length = 0; p.eventsB.length = 0;
  p.a.shutdown(p.now);
  p.b.shutdown(p.now);
  p.run((q) => q.a.state === 'TIME-WAIT' && q.b.state === 'TIME-WAIT');
  assert.deepEqual(p.describe(), [
    'a>b FIN+ACK seq=1 ack=1 [drop]',
    'b>a FIN+ACK seq=1 ack=1',
    'a>b ACK seq=2 ack=2',
    'a>b FIN+ACK seq=1 ack=2',
    'b>a ACK seq=2 ack=2',
  ]);
  assert.deepEqual(states(p.eventsA), ['FIN-WAIT-1', 'CLOSING', 'TIME-WAIT']);
  assert.deepEqual(states(p.eventsB), ['FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT']);
});

test('peer vanishes mid-transfer: retransmissions back off until maxRetransmits, then RST and ETIMEDOUT', () => {
  let gone = false;
  const p = lossy([], { ...PLAIN, maxRetransmits: 4 }, (from) => (gone && from === 'a' ? 'drop' : 'deliver'));
  p.a.connect(0);
  p.run((q) => q.a.state === 'ESTABLISHED' && q.b.state === 'ESTABLISHED');
  p.log.length = 0;
  gone = true;
  p.a.send(bytes(100), p.now);
  p.run((q) => q.a.state === 'CLOSED');
  const t0 = p.log[0]!.time;
  assert.deepEqual(p.log.map((r) => [r.time - t0, p.describe()[p.log.indexOf(r)]]), [
    [0, 'a>b PSH+ACK seq=1 ack=1 len=100 [drop]'],
    [200, 'a>b PSH+ACK seq=1 ack=1 len=100 [drop]'],
    [600, 'a>b PSH+ACK seq=1 ack=1 len=100 [drop]'],
    [1400, 'a>b PSH+ACK seq=1 ack=1 len=100 [drop]'],
    [3000, 'a>b PSH+ACK seq=1 ack=1 len=100 [drop]'],
    [6200, 'a>b RST seq=101 [drop]'],
  ]);
  assert.equal(p.a.error?.code, 'ETIMEDOUT');
  assert.equal(p.b.state, 'ESTABLISHED', 'the peer never heard of it (the RST was lost too)');
});

test('simultaneous close between two stacks that repeat their FIN on every ACK (BSD finOnAck) ends, no FIN+ACK ping-pong', () => {
  const p = lossy([], { ...PLAIN, finOnAck: true });
  p.a.connect(0);
  p.run((q) => q.a.state === 'ESTABLISHED' && q.b.state === 'ESTABLISHED');
  p.log.length = 0;
  p.a.shutdown(p.now);
  p.b.shutdown(p.now);
  p.run((q) => q.a.state === 'CLOSED' && q.b.state === 'CLOSED', p.now + 60_000);
  assert.equal(p.a.state, 'CLOSED');
  assert.equal(p.b.state, 'CLOSED');
  assert.ok(p.log.length <= 6, `closed in a handful of segments:\n${p.describe().join('\n')}`);
});
