/**
 * Typed segments cross only a direction nobody can tell from a perfect one (Wire.transparentRoute). The wire
 * keeps its last answer for a sender's address array; impairing the direction afterwards must take effect at
 * once: from then on its segments cross as bytes, and are lost, delayed or corrupted as configured.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from './network.js';

test('a direction impaired after typed segments crossed it applies its impairments to the very next segment', async () => {
  const n = new Network({ seed: 5, delayMs: 1 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  let received = 0;
  server.listen(80, {
    onConnection: (c) => { c.handler = { onEvent: () => undefined, onWritable: () => undefined, onReadable: () => { received += c.tcp.read().length; } }; },
  });
  const c = client.connect({ host: '10.0.0.2', port: 80 });
  await n.runUntil(() => c.state === 'ESTABLISHED');
  c.tcp.send(new Uint8Array(100), n.now); c.service();
  await n.runUntil(() => received === 100);
  // Endpoint ids: the server was attached first (0), the client second (1).
  const lostBefore = n.wire.counters(1, 0).lost;
  n.impair(client, server, { loss: 1 });
  c.tcp.send(new Uint8Array(100), n.now); c.service();
  await n.runUntil(() => received > 100, 50);
  assert.equal(received, 100, 'nothing more arrives over a direction that loses everything');
  const lost = n.wire.counters(1, 0).lost;
  assert.ok(lost > lostBefore, `the wire counted the segment lost (${lost})`);
  n.close();
});
