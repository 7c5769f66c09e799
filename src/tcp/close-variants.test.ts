/** Whole lifecycles on two engines in virtual time; the wire is asserted segment by segment. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair } from './pair.js';
import { TcpConnection } from './connection.js';
import { PLAIN, states, bytes, readAll } from './test-util.js';
import type { TcpConfig } from './config.js';

function connected(config: Partial<TcpConfig> = PLAIN, delay = 10) {
  const a = new TcpConnection({ localPort: 40000, remotePort: 80, iss: 100, config });
  const b = new TcpConnection({ localPort: 80, remotePort: 40000, iss: 300, config });
  b.listen(0);
  const p = new Pair(a, b, { delay });
  a.connect(0);
  p.run((q) => q.a.state === 'ESTABLISHED' && q.b.state === 'ESTABLISHED');
  p.log.length = 0; p.eventsA.length = 0; p.eventsB.length = 0;
  return p;
}

test('four-way close, client first: FIN, ACK, FIN, ACK; client FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED after 2MSL', () => {
  const p = connected({ ...PLAIN, msl: 1000 });
  p.a.shutdown(p.now);
  // Server application closes only after it has seen EOF, a while later (so the FIN and the ACK are separate).
  let closedAt = -1;
  p.onStep = (q) => { if (q.b.state === 'CLOSE-WAIT' && closedAt < 0) closedAt = q.now + 50; if (closedAt >= 0 && q.now >= closedAt && q.b.state === 'CLOSE-WAIT') q.b.shutdown(q.now); };
  // Drive: after EOF the server waits 50 ms; we emulate by stepping time explicitly.
  p.run((q) => q.b.state === 'CLOSE-WAIT');
  const t = p.now;
  while (p.now < t + 50) { if (!p.step()) { p.now = t + 50; } }
  p.b.shutdown(p.now);
  p.run((q) => q.a.state === 'CLOSED' && q.b.state === 'CLOSED');
  assert.deepEqual(p.describe(), [
    'a>b FIN+ACK seq=1 ack=1',
    'b>a ACK seq=1 ack=2',
    'b>a FIN+ACK seq=1 ack=2',
    'a>b ACK seq=2 ack=2',
  ]);
  assert.deepEqual(states(p.eventsA), ['FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSED']);
  assert.deepEqual(states(p.eventsB), ['CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
  const tw = p.eventsA.find((e) => e.type === 'state' && e.to === 'TIME-WAIT')!.time;
  const cl = p.eventsA.find((e) => e.type === 'state' && e.to === 'CLOSED')!.time;
  assert.equal(cl - tw, 2000, 'TIME-WAIT lasts 2·MSL');
});

test('merged "three-way" close: server answers FIN with FIN+ACK at once; client FIN-WAIT-1 → TIME-WAIT directly', () => {
  const p = connected({ ...PLAIN, delayedAck: true });
  p.onStep = (q) => { if (q.b.state === 'CLOSE-WAIT') q.b.shutdown(q.now); };
  p.a.shutdown(p.now);
  p.run((q) => q.a.state === 'TIME-WAIT' && q.b.state === 'CLOSED');
  assert.deepEqual(p.describe(), [
    'a>b FIN+ACK seq=1 ack=1',
    'b>a FIN+ACK seq=1 ack=2',
    'a>b ACK seq=2 ack=2',
  ]);
  assert.deepEqual(states(p.eventsA), ['FIN-WAIT-1', 'TIME-WAIT']);
  assert.deepEqual(states(p.eventsB), ['CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
});

test('simultaneous close: both FIN-WAIT-1 → CLOSING → TIME-WAIT', () => {
  const p = connected();
  p.a.shutdown(p.now);
  p.b.shutdown(p.now);
  p.run((q) => q.a.state === 'TIME-WAIT' && q.b.state === 'TIME-WAIT');
  assert.deepEqual(states(p.eventsA), ['FIN-WAIT-1', 'CLOSING', 'TIME-WAIT']);
  assert.deepEqual(states(p.eventsB), ['FIN-WAIT-1', 'CLOSING', 'TIME-WAIT']);
  assert.deepEqual(p.describe(), [
    'a>b FIN+ACK seq=1 ack=1', 'b>a FIN+ACK seq=1 ack=1',
    'b>a ACK seq=2 ack=2', 'a>b ACK seq=2 ack=2',
  ]);
  p.run((q) => q.a.state === 'CLOSED' && q.b.state === 'CLOSED');
  assert.equal(p.a.state, 'CLOSED');
});

test('half-close: after the client FIN the server keeps sending; the client receives all of it in FIN-WAIT-2', () => {
  const p = connected();
  p.a.shutdown(p.now);
  p.run((q) => q.b.state === 'CLOSE-WAIT' && q.a.state === 'FIN-WAIT-2');
  const payload = bytes(5000);
  assert.equal(p.b.send(payload, p.now), 5000);
  p.run((q) => q.b.bytesInFlight === 0 && q.b.sendQueued === 0);
  const got = readAll(p.a);
  assert.equal(got.length, 5000);
  assert.deepEqual(got, payload);
  assert.equal(p.a.state, 'FIN-WAIT-2');
  p.b.shutdown(p.now);
  p.run((q) => q.a.state === 'TIME-WAIT' && q.b.state === 'CLOSED');
  assert.ok(p.a.readEnded);
});

test('TIME-WAIT re-ACKs a retransmitted FIN and restarts the 2MSL timer', () => {
  const p = connected({ ...PLAIN, msl: 1000, delayedAck: true });
  // Drop the client's final ACK once so the server retransmits its FIN.
  let dropped = false;
  const pp = new Pair(p.a, p.b, { fate: (from, seg) => (from === 'a' && !(seg.flags & 1) && p.a.state === 'TIME-WAIT' && !dropped ? ((dropped = true), 'drop') : 'deliver') });
  pp.now = p.now;
  pp.onStep = (q) => { if (q.b.state === 'CLOSE-WAIT') q.b.shutdown(q.now); };
  pp.a.shutdown(pp.now);
  pp.run((q) => q.a.state === 'TIME-WAIT');
  const twStart = pp.now;
  pp.run((q) => q.b.state === 'CLOSED');
  const lines = pp.describe();
  assert.deepEqual(lines, [
    'a>b FIN+ACK seq=1 ack=1', 'b>a FIN+ACK seq=1 ack=2',
    'a>b ACK seq=2 ack=2 [drop]', 'b>a FIN+ACK seq=1 ack=2', 'a>b ACK seq=2 ack=2',
  ]);
  const reFinAt = pp.log[3]!.time + 10; // arrival at the client
  pp.run((q) => q.a.state === 'CLOSED');
  assert.equal(pp.now, reFinAt + 2000, '2MSL restarted when the retransmitted FIN arrived');
  assert.ok(pp.now > twStart + 2000);
});

test('RST in TIME-WAIT is ignored (RFC 1337)', () => {
  const p = connected();
  p.onStep = (q) => { if (q.b.state === 'CLOSE-WAIT') q.b.shutdown(q.now); };
  p.a.shutdown(p.now);
  p.run((q) => q.a.state === 'TIME-WAIT');
  p.a.input({ srcPort: 80, dstPort: 40000, seq: p.a.rcvNxt, ack: 0, flags: 0x04, window: 0, urgent: 0, options: {}, payload: new Uint8Array(0) }, p.now);
  assert.equal(p.a.state, 'TIME-WAIT');
});

test('FIN-WAIT-2 timeout reaps an orphaned connection whose peer never sends FIN', () => {
  const p = connected({ ...PLAIN, finWait2Timeout: 5000 });
  p.a.close(p.now);
  p.run((q) => q.a.state === 'FIN-WAIT-2');
  const t = p.now;
  p.run((q) => q.a.state === 'CLOSED');
  assert.equal(p.a.state, 'CLOSED');
  assert.equal(p.now, t + 5000);
  assert.equal(p.b.state, 'CLOSE-WAIT');
});

test('a FIN-WAIT-2 connection that was only shut down (not closed) waits for the peer indefinitely', () => {
  const p = connected({ ...PLAIN, finWait2Timeout: 5000 });
  p.a.shutdown(p.now);
  p.run((q) => q.a.state === 'FIN-WAIT-2');
  p.run(() => false, p.now + 60_000);
  assert.equal(p.a.state, 'FIN-WAIT-2');
});

test('abort sends RST: the peer gets ECONNRESET, both CLOSED', () => {
  const p = connected();
  p.a.abort(p.now);
  p.run((q) => q.b.state === 'CLOSED');
  assert.deepEqual(p.describe(), ['a>b RST seq=1']);
  assert.equal(p.b.error?.code, 'ECONNRESET');
  assert.equal(p.a.state, 'CLOSED');
});

test('close with unread data sends RST instead of FIN', () => {
  const p = connected();
  p.b.send(bytes(10), p.now);
  p.run((q) => q.a.readableLength === 10 && q.b.bytesInFlight === 0);
  p.log.length = 0;
  p.a.close(p.now);
  p.run((q) => q.b.state === 'CLOSED');
  assert.deepEqual(p.describe(), ['a>b RST seq=1']);
  assert.equal(p.b.error?.code, 'ECONNRESET');
});

test('data arriving after close() is answered with RST', () => {
  const p = connected();
  p.a.close(p.now);
  p.run((q) => q.a.state === 'FIN-WAIT-2');
  p.log.length = 0;
  p.b.send(bytes(100), p.now);
  p.run((q) => q.b.state === 'CLOSED');
  assert.deepEqual(p.describe(), ['b>a PSH+ACK seq=1 ack=2 len=100', 'a>b RST seq=2']);
  assert.equal(p.a.state, 'CLOSED');
  assert.equal(p.b.error?.code, 'ECONNRESET');
});

test('FIN retransmitted when lost; connection still closes cleanly', () => {
  let n = 0;
  const a = new TcpConnection({ localPort: 40000, remotePort: 80, iss: 100, config: PLAIN });
  const b = new TcpConnection({ localPort: 80, remotePort: 40000, iss: 300, config: PLAIN });
  b.listen(0);
  const p = new Pair(a, b, { fate: (from, seg) => (from === 'a' && (seg.flags & 1) && n++ === 0 ? 'drop' : 'deliver') });
  a.connect(0);
  p.run((q) => q.a.state === 'ESTABLISHED' && q.b.state === 'ESTABLISHED');
  p.onStep = (q) => { if (q.b.state === 'CLOSE-WAIT') q.b.shutdown(q.now); };
  a.shutdown(p.now);
  p.run((q) => q.a.state === 'TIME-WAIT' && q.b.state === 'CLOSED');
  const fins = p.log.filter((r) => r.from === 'a' && r.seg.flags & 1);
  assert.equal(fins.length, 2);
  assert.ok(fins[1]!.time - fins[0]!.time >= 200);
});
