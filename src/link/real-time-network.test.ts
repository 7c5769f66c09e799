import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from './network.js';
import { Server } from '../stack/server.js';
import { Socket } from '../stack/socket.js';

test('two stacks on a real-time wire (real clock, 5 ms delay): an echo round trip completes in real time', async () => {
  const net = new Network({ realTime: true, delayMs: 5, seed: 2 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'] });
  const client = net.addStack({ name: 'client', addresses: ['10.0.0.1'] });
  new Server(server, {}, (s) => s.pipe(s)).listen(7);
  const t0 = performance.now();
  const reply = await new Promise<string>((resolve, reject) => {
    const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => s.end('hello in real time'));
    let got = '';
    s.on('data', (d: Buffer) => { got += d; });
    s.on('close', () => resolve(got));
    s.on('error', reject);
  });
  const elapsed = performance.now() - t0;
  assert.equal(reply, 'hello in real time');
  // Handshake + data + FINs: at least two round trips of 2 × 5 ms on a real clock.
  assert.ok(elapsed >= 15, `took ${elapsed.toFixed(1)} ms`);
  net.close();
});

test('real time with 5 % loss both ways: a 300 KB transfer between two stacks completes intact', async () => {
  const net = new Network({ realTime: true, delayMs: 2, seed: 11, impairments: { loss: 0.05 } });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'], tcp: { msl: 100 } });
  const client = net.addStack({ name: 'client', addresses: ['10.0.0.1'], tcp: { msl: 100 } });
  const payload = Buffer.alloc(300_000);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + (i >> 9)) & 0xff;
  new Server(server, {}, (s) => s.end(payload)).listen(9);
  const got = await new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    const s = Socket.connect(client, { host: '10.0.0.2', port: 9 });
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });
  assert.equal(got.length, payload.length);
  assert.ok(got.equals(payload));
  assert.ok(net.wire.counters(0, 1).lost + net.wire.counters(1, 0).lost > 0, 'the wire lost packets');
  net.close();
});

test("one stack's timers never cancel another's on a shared real clock: a client's 100 ms idle timeout fires", async () => {
  const net = new Network({ realTime: true, delayMs: 1, seed: 3 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'] });
  const client = net.addStack({ name: 'client', addresses: ['10.0.0.1'] });
  // The server's side keeps arming its own timers (keep-alive probes every 20 ms, delayed ACKs).
  new Server(server, {}, (s) => { s.setKeepAlive(true, 20); s.resume(); }).listen(7);
  const t0 = performance.now();
  const fired = await new Promise<number>((resolve) => {
    const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => {
      s.setTimeout(100, () => { resolve(performance.now() - t0); s.destroy(); });
    });
  });
  assert.ok(fired >= 100 && fired < 2000, `timeout fired after ${fired.toFixed(0)} ms`);
  net.close();
});
