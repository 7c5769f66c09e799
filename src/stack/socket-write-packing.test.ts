/**
 * A Socket copies large writes (the writer may reuse its buffer once the write is done) into a block that
 * successive writes fill in turn, as the kernel fills a socket's page fragment: the engine holds them as one
 * piece, the peer receives each write's bytes as they were when written, and once everything is acknowledged
 * the socket gives the block back, so an idle socket holds no copy and the next writer reuses it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import { Server, Socket } from './socket.js';

function pair() {
  const n = new Network({ seed: 6, delayMs: 1 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
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
