/**
 * A write's buffer is the writer's again once the write is done: node:net calls back when the kernel has the
 * data, and a writer may refill its buffer for the next write; a web-stream write resolves the same way. The
 * engine keeps large writes by reference until they are acknowledged, so the sockets hand it a copy: what the
 * peer receives is what was written, not what the buffer holds later.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import { Server } from './server.js';
import { Socket } from './socket.js';
import { connectTcp, listenTcp, type TcpSocket } from './stream-socket.js';

function pair() {
  const n = new Network({ seed: 2, delayMs: 1 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  return { n, server, client };
}

/** Four 64 KiB writes from one buffer, refilled after each write is done: 0xa0, 0xa1, 0xa2, 0xa3. */
const WRITES = 4;
const SIZE = 65536;

function expected(): Buffer {
  return Buffer.concat(Array.from({ length: WRITES }, (_, i) => Buffer.alloc(SIZE, 0xa0 + i)));
}

test('node:net Socket: a buffer refilled after its write callback does not change the bytes the peer receives', async () => {
  const { n, server, client } = pair();
  const got: Buffer[] = [];
  let ended = false;
  new Server(server, {}, (s) => { s.on('data', (d: Buffer) => got.push(d)); s.on('end', () => { ended = true; }); }).listen(7);
  const buf = Buffer.alloc(SIZE);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => {
    let i = 0;
    const next = () => {
      if (i === WRITES) { buf.fill(0); s.end(); return; }
      buf.fill(0xa0 + i++);
      s.write(buf, next); // the callback: the buffer may be reused
    };
    next();
  });
  await n.runUntil(() => ended, 60_000);
  assert.ok(Buffer.concat(got).equals(expected()), 'each write\'s bytes as they were when written');
  n.close();
});

test('web-stream socket: a buffer refilled after its write resolved does not change the bytes the peer receives', async () => {
  const { n, server, client } = pair();
  const srv = listenTcp(server, { port: 7 });
  const got: Uint8Array[] = [];
  let ended = false;
  void (async () => {
    const { readable } = await srv.opened;
    for await (const conn of readable as unknown as AsyncIterable<TcpSocket>) {
      const { readable: r } = await conn.opened;
      for await (const c of r as unknown as AsyncIterable<Uint8Array>) got.push(c);
      ended = true;
    }
  })();
  const sock = connectTcp(client, { host: '10.0.0.2', port: 7 });
  const buf = new Uint8Array(SIZE);
  let wrote = false;
  void (async () => {
    const { writable } = await sock.opened;
    const w = writable.getWriter();
    for (let i = 0; i < WRITES; i++) { buf.fill(0xa0 + i); await w.write(buf); }
    buf.fill(0);
    await w.close();
    wrote = true;
  })();
  await n.runUntil(() => ended && wrote, 60_000);
  assert.ok(Buffer.concat(got).equals(expected()), 'each write\'s bytes as they were when written');
  n.close();
});
