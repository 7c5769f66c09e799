/**
 * Connections that cost little: a connection allocates buffer storage when data first flows and gives it
 * back once everything is read and acknowledged, so idle connections (fresh, or between requests) hold no
 * buffer memory; and a connection keeps only its latest state transition, not a list of past segments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import type { StackConnection } from './stack.js';

test('idle connections hold no buffer memory: none before data flows, none again once it is read and acknowledged', async () => {
  const net = new Network({ seed: 5, delayMs: 1 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'] });
  const client = net.addStack({ name: 'client', addresses: ['10.0.0.1'] });
  const accepted: StackConnection[] = [];
  const enc = new TextEncoder();
  // The server answers each request with 3000 bytes (more than two segments), like a small HTTP response.
  server.listen(80, {
    onConnection: (c) => {
      accepted.push(c);
      c.handler = {
        onEvent() {},
        onWritable() {},
        onReadable() { if (c.tcp.read().length > 0) { c.tcp.send(new Uint8Array(3000), net.now); } c.service(); },
      };
    },
  });
  const N = 50;
  const conns: StackConnection[] = [];
  const got = new Array<number>(N).fill(0);
  for (let i = 0; i < N; i++) {
    const c = client.connect({ host: '10.0.0.2', port: 80 });
    c.handler = { onEvent() {}, onWritable() {}, onReadable() { got[i]! += c.tcp.read().length; c.service(); } };
    conns.push(c);
  }
  await net.runUntil(() => accepted.length === N && conns.every((c) => c.state === 'ESTABLISHED'), 10_000);
  const ends = () => [...conns, ...accepted];
  for (const c of ends()) assert.ok(c.tcp.snd.idle && c.tcp.rcv.idle, 'a fresh connection has no buffer storage');

  for (let round = 0; round < 2; round++) {
    for (const c of conns) { c.tcp.send(enc.encode('GET / HTTP/1.1\r\n\r\n'), net.now); c.service(); }
    await net.runUntil(() => got.every((n) => n === 3000 * (round + 1)), 10_000);
    assert.ok(got.every((n) => n === 3000 * (round + 1)), `responses of round ${round} delivered`);
    // Let the last ACKs arrive (delayed ACK timers included).
    await net.runUntil(() => ends().every((c) => c.tcp.bytesInFlight === 0), 10_000);
    for (const c of ends()) {
      assert.equal(c.tcp.sendQueued, 0);
      assert.ok(c.tcp.snd.idle, 'the send buffer gave its storage back once everything was acknowledged');
      assert.ok(c.tcp.rcv.idle, 'the receive buffer gave its storage back once everything was read');
      assert.equal(c.history.length, 1, 'only the latest transition is kept');
    }
  }
  net.close();
});
