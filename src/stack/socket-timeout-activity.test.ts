/**
 * The idle timeout counts from the socket's last activity: data received while no timeout was set is not
 * activity the timeout later set counts from (net.Socket#setTimeout restarts the count), and data received
 * while one is set pushes its deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import { Server } from './server.js';
import { Socket } from './socket.js';

test('a timeout set after data arrived counts from setTimeout; data arriving while it is set pushes it back', async () => {
  const net = new Network({ seed: 3, delayMs: 2 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'] });
  const client = net.addStack({ name: 'client', addresses: ['10.0.0.1'] });
  let peer: Socket | null = null;
  new Server(server, {}, (sock) => { peer = sock; }).listen(9);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 9 });
  const reads: number[] = [];
  const fired: number[] = [];
  s.on('data', () => reads.push(net.now));
  s.on('timeout', () => fired.push(net.now));
  await net.runUntil(() => s.readyState === 'open' && peer !== null);
  peer!.write('a');
  await net.runUntil(() => reads.length === 1, 1000);
  // 500 ms after the data, with no timeout set all along, a 1 000 ms timeout.
  await net.runUntil(() => false, 500);
  const setAt = net.now;
  s.setTimeout(1000);
  await net.runUntil(() => fired.length === 1, 3000);
  assert.deepEqual(fired, [setAt + 1000], 'a timeout after setTimeout, not after the earlier data');
  // With the timeout set, data 400 ms later moves the next one to a timeout after that data.
  await net.runUntil(() => false, 400);
  peer!.write('b');
  await net.runUntil(() => reads.length === 2, 1000);
  await net.runUntil(() => fired.length === 2, 3000);
  assert.equal(fired[1], reads[1]! + 1000, 'a timeout after the data received while it was set');
  s.destroy();
  net.close();
});
