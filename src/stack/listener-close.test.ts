/** Closing a listener resets every connection still waiting in its accept queue, as closing a listening socket does on Linux. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';

test('closing a listener resets every connection waiting in its accept queue', async () => {
  const net = new Network({ seed: 11, delayMs: 1 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'] });
  const client = net.addStack({ name: 'client', addresses: ['10.0.0.1'] });
  const l = server.listen(80, { backlog: 64 });
  const conns = Array.from({ length: 9 }, () => client.connect({ host: '10.0.0.2', port: 80 }));
  await net.runUntil(() => conns.every((c) => c.state === 'ESTABLISHED') && l.acceptQueue.length === 9, 5_000);
  assert.equal(l.acceptQueue.length, 9, 'all nine wait to be accepted');
  l.close();
  await net.runUntil(() => conns.every((c) => c.state === 'CLOSED'), 5_000);
  assert.deepEqual(conns.map((c) => c.state), conns.map(() => 'CLOSED'), 'every client was reset');
  assert.equal(server.connectionCount, 0);
  net.close();
});
