/**
 * The memory behind a Socket's 'data' chunk (`chunk.buffer`), as node:net gives it: each read's own, never another
 * connection's bytes. Small reads (up to 64 bytes) arriving one at a time are Buffers of their own, exactly their
 * bytes (socket.ts chunkOf copies them rather than making V8 give the engine's small view a backing store); larger
 * ones are views of their connection's payload memory, which holds that connection's bytes and zeros only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import { Server } from './server.js';
import { Socket } from './socket.js';

test('node:net Socket: small reads are Buffers of their own, exactly their bytes; larger ones show only their connection\'s bytes', async () => {
  const n = new Network({ seed: 5, delayMs: 0.5 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  const chunks = new Map<number, Buffer[]>(); // by the byte value its connection writes
  new Server(server, {}, (s) => { s.on('data', (d: Buffer) => { chunks.set(d[0]!, [...(chunks.get(d[0]!) ?? []), d]); }); }).listen(7);
  // Three connections from one stack, writes interleaved, each its own byte value; one write per step apart, so each
  // arrives on its own (not in a burst joined at the turn's end); no Nagle, so none waits for an ACK.
  const sockets = [0x21, 0x22, 0x23].map((v) => ({ v, s: Socket.connect(client, { host: '10.0.0.2', port: 7, noDelay: true }) }));
  await n.runUntil(() => sockets.every(({ s }) => !s.connecting));
  const sizes = [1, 7, 64, 3, 65, 200, 1, 40];
  for (const size of sizes) {
    for (const { v, s } of sockets) s.write(Buffer.alloc(size, v));
    await n.runUntil(() => false, 5);
  }
  for (const { v } of sockets) {
    const got = chunks.get(v) ?? [];
    assert.deepEqual(got.map((d) => d.length), sizes, `connection ${v}: one chunk per write`);
    for (const d of got) {
      assert.ok(Buffer.isBuffer(d) && d.every((x) => x === v), 'a Buffer of its connection\'s bytes');
      const mem = new Uint8Array(d.buffer);
      assert.ok(mem.every((x) => x === v || x === 0), `connection ${v}: its memory holds no other connection's bytes`);
      if (d.length <= 64) assert.equal(d.buffer.byteLength, d.length, `a ${d.length}-byte read: memory of its own, exactly its bytes`);
    }
  }
  n.close();
});
