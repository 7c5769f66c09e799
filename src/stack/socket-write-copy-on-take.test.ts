/**
 * A large Socket write is copied only as the engine takes it: the engine keeps large chunks by reference until they
 * are acknowledged and takes about two congestion windows at a time (send-buffer autotuning), so the socket copies
 * that much and keeps a reference to the rest of the caller's buffer, as node:net's write request does until the
 * kernel has it. The write's callback comes once its last byte is handed to the engine (node:net: once the kernel
 * has it), so a buffer reused after the callback still cannot change what the peer receives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import { Server } from './server.js';
import { Socket } from './socket.js';
import { connectTcp, listenTcp, type TcpSocket } from './stream-socket.js';

const BIG = 4 << 20;

function arrayBufferBytes(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().arrayBuffers;
}

test('a 4 MiB write holds a copy of what the engine took, not of the whole write, and every byte arrives in order', async () => {
  const n = new Network({ seed: 5, delayMs: 1 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  const got: Buffer[] = [];
  let received = 0;
  let ended = false;
  new Server(server, {}, (s) => {
    s.on('data', (d: Buffer) => { got.push(d); received += d.length; });
    s.on('end', () => { ended = true; s.end(); });
  }).listen(7);
  const data = Buffer.alloc(BIG);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 10)) & 0xff;
  const original = Buffer.from(data);
  const at = { before: 0, after: 0, queued: 0, returned: true };
  const cb = { called: false, bytesWritten: -1, received: -1, sendQueued: -1 };
  let drains = 0;
  const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => {
    at.before = arrayBufferBytes();
    at.returned = s.write(data, () => {
      cb.called = true;
      cb.bytesWritten = s.bytesWritten;
      cb.received = received;
      cb.sendQueued = s.conn!.tcp.sendQueued;
      // The caller reuses its buffer: nothing the engine still holds may change with it.
      data.fill(0);
      s.end();
    });
    at.after = arrayBufferBytes();
    at.queued = s.conn!.tcp.sendQueued;
  });
  s.on('drain', () => { drains++; });
  let handedBeforeCallback = 0;
  await n.runUntil(() => {
    if (!cb.called && s.conn) handedBeforeCallback = Math.max(handedBeforeCallback, s.bytesWritten);
    return ended;
  }, 120_000);
  assert.ok(at.queued > 0 && at.queued < BIG / 8, `the engine took its share (${at.queued} B)`);
  // Before, the whole write was copied into the socket's blocks at once (4 MiB and more).
  const held = at.after - at.before;
  assert.ok(held < 4 * at.queued + (256 << 10), `memory the write added: ${held} B, the engine holds ${at.queued} B`);
  assert.equal(at.returned, false, 'write() returns false: more than the high-water mark is pending');
  assert.ok(cb.called, 'the callback came');
  assert.equal(cb.bytesWritten, BIG, 'the callback comes once every byte is handed to the engine');
  assert.ok(handedBeforeCallback < BIG, 'not before');
  assert.ok(cb.received < BIG && cb.sendQueued > 0, 'nor only when the peer has it all: the engine still held the tail');
  assert.equal(drains, 1, "'drain' once the write is done");
  assert.ok(Buffer.concat(got).equals(original), 'every byte as written, although the buffer was cleared after the callback');
  n.close();
});

test('web-stream socket: a 4 MiB write holds a copy of what the engine took, resolves once the engine has every byte, and the bytes arrive as written', async () => {
  const n = new Network({ seed: 6, delayMs: 1 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  const srv = listenTcp(server, { port: 7 });
  const got: Uint8Array[] = [];
  let received = 0;
  let ended = false;
  void (async () => {
    const { readable } = await srv.opened;
    for await (const conn of readable as unknown as AsyncIterable<TcpSocket>) {
      const { readable: r } = await conn.opened;
      for await (const c of r as unknown as AsyncIterable<Uint8Array>) { got.push(c); received += c.length; }
      ended = true;
    }
  })();
  const data = new Uint8Array(BIG);
  for (let i = 0; i < data.length; i++) data[i] = (i * 13 + (i >> 9)) & 0xff;
  const original = data.slice();
  const at = { before: 0, after: 0, resolvedWith: -1, queued: -1 };
  const sock = connectTcp(client, { host: '10.0.0.2', port: 7 });
  void (async () => {
    const { writable } = await sock.opened;
    const w = writable.getWriter();
    at.before = arrayBufferBytes();
    const done = w.write(data);
    at.after = arrayBufferBytes();
    await done;
    at.resolvedWith = received;
    data.fill(0); // the writer reuses its buffer once the write resolved
    await w.close();
  })();
  await n.runUntil(() => ended, 120_000);
  const held = at.after - at.before;
  assert.ok(held < 1 << 20, `memory the write added: ${held} B (a copy of the whole write would be 4 MiB)`);
  assert.ok(at.resolvedWith >= 0 && at.resolvedWith < BIG, `resolved when the engine had every byte, before the peer had (${at.resolvedWith} B received then)`);
  const all = Buffer.concat(got);
  assert.ok(all.equals(original), 'every byte as written, although the buffer was cleared once the write resolved');
  n.close();
});
