/**
 * Which ephemeral ports a connect may take (RFC 6056 §2.2, RFC 9293 §3.10.7.4): a port nobody uses at all is free
 * (demux.ts takes it without looking its tuple up, PortUse); a port some connection or TIME-WAIT entry has is
 * free only for another 4-tuple. With a range of two ports the stack has to choose between used ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import type { Stack, StackConnection } from './stack.js';
import { PortUse } from './time-wait-table.js';

function hosts(range: [number, number]) {
  const n = new Network({ seed: 3, delayMs: 1 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'], ephemeralPortRange: range });
  for (const p of [7, 8]) server.listen(p, { onConnection: (c) => { c.handler = closer(n, c); } });
  return { n, server, client };
}

/** Closes its end once the peer's FIN arrives. */
function closer(n: Network, c: StackConnection) {
  return { onEvent: (ev: { type: string }) => { if (ev.type === 'eof') { c.tcp.shutdown(n.now); c.service(); } }, onReadable: () => undefined, onWritable: () => undefined };
}

function code(f: () => unknown): string | undefined {
  try { f(); return undefined; } catch (e) { return (e as { code?: string }).code; }
}

/** Open to `port`, close from the client (its end into TIME-WAIT); returns the local port used. */
function openClose(n: Network, client: Stack, port: number): number {
  const c = client.connect({ host: '10.0.0.2', port });
  while (c.state !== 'ESTABLISHED' && n.step()) { /* handshake */ }
  c.tcp.shutdown(n.now); c.service();
  while (c.state !== 'CLOSED' && client.connectionCount > 0 && n.step()) { /* close */ }
  return c.localPort;
}

test('a port in TIME-WAIT toward one destination is taken for another, and again for the first once the entry is gone', () => {
  const { n, client } = hosts([40000, 40001]);
  const used = [openClose(n, client, 7), openClose(n, client, 7)].sort();
  assert.deepEqual(used, [40000, 40001]);
  assert.equal(client.timeWaitCount, 2);
  // Both tuples toward :7 are in TIME-WAIT: nothing left for it.
  assert.equal(code(() => client.connect({ host: '10.0.0.2', port: 7 })), 'EADDRNOTAVAIL');
  // Toward :8 the same ports make other tuples.
  const other = client.connect({ host: '10.0.0.2', port: 8 });
  assert.ok(other.localPort === 40000 || other.localPort === 40001);
  while (other.state !== 'ESTABLISHED' && n.step()) { /* handshake */ }
  assert.equal(other.state, 'ESTABLISHED');
  // The entries gone (and that connection aborted), both ports are free again toward :7.
  assert.equal(client.dropTimeWait(), 2);
  other.tcp.abort(n.now); other.service();
  assert.equal(client.connectionCount, 0);
  const again = [client.connect({ host: '10.0.0.2', port: 7 }).localPort, client.connect({ host: '10.0.0.2', port: 7 }).localPort].sort();
  assert.deepEqual(again, [40000, 40001]);
  n.close();
});

test('a port a live connection has is taken only for another tuple, and again once that connection is gone', () => {
  const { n, client } = hosts([40000, 40000]);
  const a = client.connect({ host: '10.0.0.2', port: 7 });
  assert.equal(a.localPort, 40000);
  assert.equal(code(() => client.connect({ host: '10.0.0.2', port: 7 })), 'EADDRNOTAVAIL');
  const b = client.connect({ host: '10.0.0.2', port: 8 });
  assert.equal(b.localPort, 40000);
  assert.equal(code(() => client.connect({ host: '10.0.0.2', port: 8 })), 'EADDRNOTAVAIL');
  a.tcp.abort(n.now); a.service();
  assert.equal(client.connect({ host: '10.0.0.2', port: 7 }).localPort, 40000);
  n.close();
});

test('a port count that saturates keeps the port looked up, never taken as unused', () => {
  const u = new PortUse();
  assert.equal(u.unused(5), true);
  u.inc(5); u.inc(5);
  assert.equal(u.unused(5), false);
  u.dec(5);
  assert.equal(u.unused(5), false);
  u.dec(5);
  assert.equal(u.unused(5), true);
  for (let i = 0; i < 300; i++) u.inc(6);
  for (let i = 0; i < 300; i++) u.dec(6);
  assert.equal(u.unused(6), false, 'past 255 the count is unknown: the tuple lookups decide');
  assert.equal(u.unused(7), true);
});

test('lastTransition gives back every state it was given, from and to', async () => {
  const { TCP_STATES } = await import('../wire/trace.js');
  const { n, client } = hosts([40000, 40010]);
  const c = client.connect({ host: '10.0.0.2', port: 7 });
  for (const from of TCP_STATES) {
    for (const to of TCP_STATES) {
      c.lastTransition = { time: 1, from, to, cause: { kind: 'user', call: 'close' } };
      const t = c.lastTransition;
      assert.equal(t?.from, from); assert.equal(t?.to, to);
    }
  }
  n.close();
});
