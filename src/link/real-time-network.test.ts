import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from './network.js';
import { Server, Socket } from '../stack/socket.js';

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
