/**
 * A writer blocked on a full send buffer is resumed once a third of the buffer is free, as Linux wakes it
 * (sk_stream_write_space): the engine then holds a large write in a few large pieces, not in one piece per
 * ACK that freed a segment or two, and every byte still arrives in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import { Server } from './server.js';
import { Socket } from './socket.js';
import { connectTcp, listenTcp, type TcpSocket } from './stream-socket.js';

test('a write larger than the send buffer is fed to the engine in pieces of at least a third of the buffer', async () => {
  const n = new Network({ seed: 3, delayMs: 1 });
  const SND = 65536;
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'], tcp: { mss: 1460, sendBufferSize: SND } });
  const got: Buffer[] = [];
  let ended = false;
  new Server(server, {}, (s) => { s.on('data', (d: Buffer) => got.push(d)); s.on('end', () => { ended = true; }); }).listen(7);
  const data = Buffer.alloc(1 << 20);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 11)) & 0xff;
  const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => { s.end(data); });
  let maxPieces = 0;
  let steps = 0;
  await n.runUntil(() => {
    const snd = s.conn?.tcp.snd;
    if (snd) maxPieces = Math.max(maxPieces, snd.pieces);
    steps++;
    return ended;
  }, 60_000);
  assert.ok(Buffer.concat(got).equals(data), 'every byte, in order');
  assert.ok(steps > 50, 'sampled along the transfer');
  // 64 KiB in pieces of >= 21 KiB: at most 4 (the last may be shorter); one per ACK would be ~22.
  assert.ok(maxPieces <= 5, `the engine held ${maxPieces} pieces at most`);
  n.close();
});

test('web-stream socket: a write larger than the send buffer is fed to the engine in pieces of at least a third of it', async () => {
  const n = new Network({ seed: 4, delayMs: 1 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'], tcp: { mss: 1460, sendBufferSize: 65536 } });
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
  const data = new Uint8Array(1 << 20);
  for (let i = 0; i < data.length; i++) data[i] = (i * 13 + (i >> 10)) & 0xff;
  const sock = connectTcp(client, { host: '10.0.0.2', port: 7 });
  void (async () => {
    const { writable } = await sock.opened;
    const w = writable.getWriter();
    await w.write(data);
    await w.close();
  })();
  let maxPieces = 0;
  await n.runUntil(() => {
    const conn = [...client.allConnections()][0];
    if (conn) maxPieces = Math.max(maxPieces, conn.tcp.snd.pieces);
    return ended;
  }, 60_000);
  assert.ok(Buffer.concat(got).equals(data), 'every byte, in order');
  assert.ok(maxPieces <= 5, `the engine held ${maxPieces} pieces at most`);
  n.close();
});
