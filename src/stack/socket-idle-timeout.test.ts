/**
 * Socket#setTimeout: 'timeout' comes at the exact virtual time the socket has been idle that long, again after
 * re-arming; armed sockets are entries in one heap per stack, not a stack timer (and a closure) each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import { Server } from './server.js';
import { Socket } from './socket.js';

function setup() {
  const net = new Network({ seed: 7, delayMs: 2 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'] });
  const client = net.addStack({ name: 'client', addresses: ['10.0.0.1'] });
  return { net, server, client };
}

test("'timeout' comes exactly a timeout after the last data received, and again a timeout later while idle", async () => {
  const { net, server, client } = setup();
  // The server answers each byte 300 ms later: the client's socket is active (reads) 300 ms after each write.
  new Server(server, {}, (sock) => sock.on('data', (d: Buffer) => { server.schedule(net.now + 300, () => sock.write(d)); })).listen(9);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 9 });
  const fired: number[] = [];
  const reads: number[] = [];
  s.on('timeout', () => fired.push(net.now));
  s.on('data', () => reads.push(net.now));
  s.setTimeout(1000);
  await net.runUntil(() => s.readyState === 'open');
  for (let i = 0; i < 3; i++) {
    s.write('x');
    await net.runUntil(() => reads.length > i, 2000);
  }
  const last = reads[reads.length - 1]!;
  await net.runUntil(() => fired.length >= 2, 5000);
  // Reads came 300 ms + a round trip apart: never 1000 ms idle until after the last.
  assert.deepEqual(fired, [last + 1000, last + 2000]);
  s.destroy();
  net.close();
});

test('idle timeouts of 200 sockets take one stack timer, not one each, and each fires at its own deadline', async () => {
  const { net, server, client } = setup();
  new Server(server, {}, (sock) => sock.resume()).listen(10);
  const sockets: Socket[] = [];
  for (let i = 0; i < 200; i++) sockets.push(Socket.connect(client, { host: '10.0.0.2', port: 10 }));
  await net.runUntil(() => sockets.every((s) => s.readyState === 'open'));
  const scheduled: Array<() => void> = [];
  const schedule = client.schedule.bind(client);
  client.schedule = (at, fn) => { scheduled.push(fn); return schedule(at, fn); };
  const armedAt = net.now;
  const fired = new Map<Socket, number>();
  sockets.forEach((s, i) => {
    s.setTimeout(1000 + i);
    s.on('timeout', () => { fired.set(s, net.now); s.destroy(); });
  });
  assert.equal(scheduled.length, 1, 'arming 200 idle timeouts');
  // Activity re-arms without a new stack timer: the armed deadline is earlier than the new one.
  for (const s of sockets.slice(0, 50)) s.setTimeout(5000);
  assert.equal(scheduled.length, 1, 'after re-arming 50 of them');
  await net.runUntil(() => fired.size === 200, 10_000);
  sockets.forEach((s, i) => assert.equal(fired.get(s), armedAt + (i < 50 ? 5000 : 1000 + i), `socket ${i}`));
  // Each stack timer was the same function: the heap's, not a closure per socket.
  assert.equal(new Set(scheduled).size, 1);
  net.close();
});

test("connect's timeout option (set before the connection exists) fires a timeout after the connect call when nothing is read or written", async () => {
  const { net, server, client } = setup();
  new Server(server, {}, (sock) => sock.resume()).listen(11);
  const t0 = net.now;
  const s = Socket.connect(client, { host: '10.0.0.2', port: 11, timeout: 1000 });
  let fired = -1;
  s.on('timeout', () => { fired = net.now; s.destroy(); });
  await net.runUntil(() => fired >= 0, 10_000);
  assert.equal(s.readyState, 'closed');
  assert.equal(fired, t0 + 1000);
  net.close();
});
