/**
 * A Socket copies large writes (the writer may reuse its buffer once the write is done) into a block that
 * successive writes fill in turn, as the kernel fills a socket's page fragment: the engine holds them as one
 * piece, the peer receives each write's bytes as they were when written, and once everything is acknowledged
 * the socket gives the block back, so an idle socket holds no copy and the next writer reuses it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import { Server } from './server.js';
import { Socket } from './socket.js';

function pair() {
  const n = new Network({ seed: 6, delayMs: 1 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'], tcp: { sendBufferAutotune: false } });
  const got: Buffer[] = [];
  let ended = 0;
  new Server(server, {}, (s) => { s.on('data', (d: Buffer) => got.push(d)); s.on('end', () => { ended++; s.end(); }); }).listen(7);
  return { n, client, got, ended: () => ended };
}

test('successive large writes from one reused buffer are held by the engine as one piece and arrive as written', async () => {
  const { n, client, got, ended } = pair();
  const WRITES = 8, SIZE = 4096;
  const buf = Buffer.alloc(SIZE);
  let maxPieces = 0;
  const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => {
    let i = 0;
    const next = () => {
      maxPieces = Math.max(maxPieces, s.conn!.tcp.snd.pieces);
      if (i === WRITES) { buf.fill(0); s.end(); return; }
      buf.fill(0xb0 + i++);
      s.write(buf, next); // the callback: the buffer may be reused
    };
    next();
  });
  await n.runUntil(() => ended() === 1, 60_000);
  const want = Buffer.concat(Array.from({ length: WRITES }, (_, i) => Buffer.alloc(SIZE, 0xb0 + i)));
  assert.ok(Buffer.concat(got).equals(want), 'each write\'s bytes as they were when written');
  assert.equal(maxPieces, 1, `${WRITES} writes of ${SIZE} B in flight together, one piece`);
  n.close();
});

test('a socket whose writes are all acknowledged holds no copy block: the next writer reuses it', async () => {
  const { n, client, ended } = pair();
  const a = Socket.connect(client, { host: '10.0.0.2', port: 7 });
  let aBlock: ArrayBufferLike | null = null;
  a.on('connect', () => { a.write(Buffer.alloc(8192, 1)); aBlock = a.conn!.tcp.snd.slice(a.conn!.tcp.snd.front, 100).buffer; });
  await n.runUntil(() => aBlock !== null && a.conn!.tcp.sendQueued === 0 && a.conn!.tcp.bytesInFlight === 0, 60_000);
  assert.ok(aBlock !== null && a.conn!.tcp.snd.idle, 'the first socket\'s write is acknowledged');
  const b = Socket.connect(client, { host: '10.0.0.2', port: 7 });
  let bBlock: ArrayBufferLike | null = null;
  b.on('connect', () => { b.write(Buffer.alloc(8192, 2)); bBlock = b.conn!.tcp.snd.slice(b.conn!.tcp.snd.front, 100).buffer; });
  await n.runUntil(() => bBlock !== null, 60_000);
  assert.equal(bBlock, aBlock, 'the idle socket gave its copy block back, and the next write took it');
  a.end(); b.end();
  await n.runUntil(() => ended() === 2, 60_000);
  n.close();
});

test('seeded: concurrent writers of random sizes reusing their buffers, on a lossy path with a small send buffer, deliver every byte as written', async () => {
  const n = new Network({ seed: 9, delayMs: 1 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'], tcp: { sendBufferSize: 32 * 1024 } });
  // Loss and reordering make the engine resend from copy blocks after others were given back and reused.
  n.impair(client, server, { loss: 0.03, reorder: 0.02, reorderDelayMs: 3 });
  const got = new Map<number, Buffer[]>();
  let ended = 0;
  new Server(server, {}, (s) => {
    const parts: Buffer[] = [];
    s.once('data', (d: Buffer) => { got.set(d[0]!, parts); parts.push(d); s.on('data', (e: Buffer) => parts.push(e)); });
    s.on('end', () => { ended++; s.end(); });
  }).listen(7);
  let seed = 12345;
  const rand = (k: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % k; };
  const WRITERS = 6;
  const want = new Map<number, Buffer[]>();
  for (let w = 0; w < WRITERS; w++) {
    const id = 0x40 + w;
    const sizes = Array.from({ length: 24 }, () => [1 + rand(1500), 2048 + rand(30_000), 60_000 + rand(200_000)][rand(3)]!);
    const expected: Buffer[] = [];
    want.set(id, expected);
    const buf = Buffer.alloc(300_000);
    const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => {
      let i = 0;
      const next = () => {
        if (i === sizes.length) { buf.fill(0); s.end(); return; }
        const size = sizes[i]!;
        // Each write's bytes: the writer's id first (the server files the stream by it), then a pattern of the write.
        for (let k = 0; k < size; k++) buf[k] = (k * 13 + i * 71 + id) & 0xff;
        if (i === 0) buf[0] = id;
        expected.push(Buffer.from(buf.subarray(0, size)));
        i++;
        s.write(buf.subarray(0, size), next); // the callback: the buffer is refilled for the next write
      };
      next();
    });
  }
  await n.runUntil(() => ended === WRITERS, 600_000);
  assert.equal(ended, WRITERS, 'every writer finished');
  for (const [id, expected] of want) {
    assert.ok(Buffer.concat(got.get(id) ?? []).equals(Buffer.concat(expected)), `writer ${id.toString(16)}: the bytes as written`);
  }
  n.close();
});
