/**
 * Connections that cost little: a connection allocates buffer storage when data first flows and gives it
 * back once everything is read and acknowledged, so idle connections (fresh, or between requests) hold no
 * buffer memory (nor records of segments sent and acknowledged); a connection keeps only its latest state transition, not a list of past segments; and an
 * idle ESTABLISHED connection's heap stays small (issue 14).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
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
      assert.ok(!c.tcp.rackCreated || c.tcp.rack.q.length === 0, 'no record of sent segments is kept once all are acknowledged');
      assert.equal(c.history.length, 1, 'only the latest transition is kept');
    }
  }
  net.close();
});

test('an idle ESTABLISHED connection costs little heap: 20 000 of them take well under 1.5 KiB per end', () => {
  // The precise figure is the bench's (npm run bench -- stack: stack.heap.per-established, about 1 KiB); this
  // bound catches a connection that again carries what it does not use (a congestion controller, a RACK
  // record, buffer lists, the segment of its last transition with its packet buffer: 3-4 KiB before).
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const heap = () => { gc(); gc(); return process.memoryUsage().heapUsed; };
  const net = new Network({ seed: 7, delayMs: 0.05 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'] });
  const client = net.addStack({ name: 'client', addresses: ['10.0.0.1', '10.0.0.3'] });
  const N = 20_000;
  server.listen(80, { backlog: N + 10, onConnection: () => undefined });
  const before = heap();
  const conns: StackConnection[] = [];
  for (let i = 0; i < N; i++) {
    conns.push(client.connect({ host: '10.0.0.2', port: 80, localAddress: i & 1 ? '10.0.0.3' : '10.0.0.1' }));
    if ((i & 1023) === 1023) while (net.step()) { /* complete the handshakes */ }
  }
  while (net.step()) { /* complete the handshakes */ }
  const perEnd = (heap() - before) / (2 * N);
  assert.equal(conns.filter((c) => c.state === 'ESTABLISHED').length, N, 'every connection is up');
  assert.equal(server.connectionCount, N, 'the server holds every accepted end');
  assert.ok(perEnd < 1536, `heap per idle ESTABLISHED end: ${Math.round(perEnd)} bytes`);
  net.close();
});
