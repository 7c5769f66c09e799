// The lifecycle logger's verdicts (one record per connection: states and close variant), on two synack stacks
// joined by an in-memory wire in virtual time, so it runs anywhere (no root, no TUN).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import type { Stack, StackConnection } from '../stack/stack.js';
import { LifecycleLogger, formatRecord, type LifecycleRecord } from './lifecycle-log.js';

async function setup() {
  const net = new Network({ seed: 7, delayMs: 5 });
  const server: Stack = net.addStack({ name: 'server', addresses: ['10.0.0.2'] });
  const client: Stack = net.addStack({ name: 'client', addresses: ['10.0.0.1'] });
  const recS: LifecycleRecord[] = [];
  const recC: LifecycleRecord[] = [];
  const logS = new LifecycleLogger(server, (r) => recS.push(r));
  const logC = new LifecycleLogger(client, (r) => recC.push(r));
  let accepted: StackConnection | null = null;
  server.listen(80, { onConnection: (c) => { accepted = c; } });
  const conn = client.connect({ host: '10.0.0.2', port: 80 });
  await net.runUntil(() => accepted !== null && conn.state === 'ESTABLISHED');
  return { net, server, client, recS, recC, logS, logC, c: conn, s: accepted! as StackConnection };
}

test('four-way close, client first: FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT; the server ACKed the FIN before its own', async () => {
  const { net, c, s, recS, recC } = await setup();
  c.tcp.shutdown(net.now); c.service();
  await net.runUntil(() => s.state === 'CLOSE-WAIT');
  await net.runUntil(() => false, 200); // the delayed ACK (40 ms) goes out on its own
  s.tcp.shutdown(net.now); s.service();
  await net.runUntil(() => recS.length === 1 && recC.length === 1);
  assert.deepEqual(recC[0]!.states, ['CLOSED', 'SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT']);
  assert.equal(recC[0]!.close, 'four-way');
  assert.equal(recC[0]!.firstFin, 'us');
  assert.equal(recC[0]!.open, 'active');
  assert.deepEqual(recS[0]!.states, ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
  assert.equal(recS[0]!.close, 'four-way');
  assert.equal(recS[0]!.firstFin, 'peer');
  assert.equal(recS[0]!.open, 'passive');
  assert.equal(recS[0]!.local, '10.0.0.2:80');
  assert.match(formatRecord(recS[0]!), /10\.0\.0\.2:80 <- 10\.0\.0\.1:\d+ LISTEN > SYN-RECEIVED > ESTABLISHED > CLOSE-WAIT > LAST-ACK > CLOSED close=four-way, peer closed first/);
});

test('three-way close: the server closes at once, its FIN carries the ACK of the client\'s FIN', async () => {
  const { net, c, s, recS, recC } = await setup();
  c.tcp.shutdown(net.now); c.service();
  await net.runUntil(() => s.state === 'CLOSE-WAIT');
  s.tcp.shutdown(net.now); s.service(); // before the 40 ms delayed ACK
  await net.runUntil(() => recS.length === 1 && recC.length === 1);
  assert.equal(recS[0]!.close, 'three-way');
  assert.deepEqual(recC[0]!.states.slice(-2), ['FIN-WAIT-1', 'TIME-WAIT']);
  assert.equal(recC[0]!.close, 'three-way');
});

test('simultaneous close: both FINs cross, both go through CLOSING', async () => {
  const { net, c, s, recS, recC } = await setup();
  c.tcp.shutdown(net.now); c.service();
  s.tcp.shutdown(net.now); s.service();
  await net.runUntil(() => recS.length === 1 && recC.length === 1);
  for (const r of [recS[0]!, recC[0]!]) {
    assert.equal(r.close, 'simultaneous');
    assert.equal(r.firstFin, 'both');
    assert.deepEqual(r.states.slice(-3), ['FIN-WAIT-1', 'CLOSING', 'TIME-WAIT']);
  }
});

test('abort: rst-by-us on the aborting side, rst-by-peer on the other', async () => {
  const { net, c, recS, recC } = await setup();
  c.tcp.abort(net.now); c.service();
  await net.runUntil(() => recS.length === 1 && recC.length === 1);
  assert.equal(recC[0]!.close, 'rst-by-us');
  assert.equal(recC[0]!.endCause, 'user abort');
  assert.equal(recS[0]!.close, 'rst-by-peer');
  assert.equal(recS[0]!.endCause, 'segment R');
});

test('close with unread data is an RST (RFC 1122 §4.2.2.13): rst-by-us, cause user close', async () => {
  const { net, c, s, recS, recC } = await setup();
  c.tcp.send(new Uint8Array(100), net.now); c.service();
  await net.runUntil(() => s.tcp.readableLength === 100);
  s.tcp.close(net.now); s.service();
  await net.runUntil(() => recS.length === 1 && recC.length === 1);
  assert.equal(recS[0]!.close, 'rst-by-us');
  assert.equal(recS[0]!.endCause, 'user close');
  assert.equal(recC[0]!.close, 'rst-by-peer');
});

test('refused: a SYN to a closed port ends as refused; flush() reports open connections as open', async () => {
  const { net, client, recC, logC } = await setup();
  client.connect({ host: '10.0.0.2', port: 81 });
  await net.runUntil(() => recC.length === 1);
  assert.equal(recC[0]!.close, 'refused');
  assert.deepEqual(recC[0]!.states, ['CLOSED', 'SYN-SENT', 'CLOSED']);
  logC.flush(); // the first connection is still ESTABLISHED
  assert.equal(recC.length, 2);
  assert.equal(recC[1]!.close, 'open');
  assert.equal(logC.size, 0);
});

test('a record prints as JSON with its fields in order and as its text line; strings are built when read, from the connection\'s own values', async () => {
  const { net, c, s, recS, recC } = await setup();
  c.tcp.shutdown(net.now); c.service();
  await net.runUntil(() => s.state === 'CLOSE-WAIT');
  s.tcp.shutdown(net.now); s.service();
  await net.runUntil(() => recS.length === 1 && recC.length === 1);
  const r = recC[0]!;
  const json = JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(json), ['id', 'local', 'remote', 'open', 'states', 'close', 'firstFin', 'endCause', 'durationMs', 'endedAt']);
  assert.deepEqual(json, {
    id: r.id, local: `10.0.0.1:${c.localPort}`, remote: '10.0.0.2:80', open: 'active',
    states: ['CLOSED', 'SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'TIME-WAIT'], close: 'three-way', firstFin: 'us',
    endCause: 'segment F.', durationMs: r.durationMs, endedAt: r.endedAt,
  });
  assert.equal(r.id, c.id);
  assert.match(r.endedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Math.abs(Date.parse(r.endedAt) - Date.now()) < 60_000);
  assert.ok(r.durationMs > 0 && r.durationMs <= net.now - c.createdAt, String(r.durationMs));
  assert.equal(formatRecord(r), `${r.endedAt} 10.0.0.1:${c.localPort} -> 10.0.0.2:80 CLOSED > SYN-SENT > ESTABLISHED > FIN-WAIT-1 > TIME-WAIT close=three-way, we closed first (segment F.) ${r.durationMs} ms`);
  // A plain object with the same fields prints the same line (formatRecord takes any LifecycleRecord).
  assert.equal(formatRecord(json as unknown as LifecycleRecord), formatRecord(r));
});
