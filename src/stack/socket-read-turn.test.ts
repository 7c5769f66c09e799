/**
 * How a flowing socket reads datagrams received one by one (src/stack/socket.ts onReadable): an arrival at once,
 * during the step that brings it; later arrivals of the same burst (the same virtual time) at the end of the host
 * turn, as one chunk where the payloads lie one after the other (node:net reads what the kernel queued in one read
 * per wake-up, not a 'data' event per segment). Bytes stay intact and in order, also when a 'data' listener writes
 * back (servicing the connection inside a push), and what arrived before a RST in the same turn is delivered
 * before its 'error'. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import { Server } from './server.js';
import { Socket } from './socket.js';
import { decodePacket } from '../wire/packet.js';
import { RST } from '../wire/tcp-types.js';

function setup() {
  const n = new Network({ seed: 21, delayMs: 0.5 });
  const tcp = { recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 };
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'], tcp });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'], tcp });
  return { n, server, client };
}

function pattern(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 13 + (i >> 10)) & 255;
  return b;
}

test('a burst of segments arriving together is read as few chunks, bytes intact and in order', async () => {
  const { n, server, client } = setup();
  const sent = pattern(600_000);
  new Server(server, {}, (c) => c.end(sent)).listen(7);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 7 });
  // No wire observer: segments cross typed, their payloads packed one after the other in the receiver's memory.
  const segments = Math.ceil(sent.length / 1448);
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  await n.runUntil(() => s.destroyed, 10_000);
  assert.ok(Buffer.concat(chunks).equals(sent), 'the bytes as written, in order');
  // A chunk for each burst's first arrival and one for the rest of it: far fewer than one per segment.
  assert.ok(chunks.length * 4 < segments, `${chunks.length} chunks for ${segments} segments`);
  n.close();
});

test('a lone segment is emitted during the step that brings it, without waiting for the turn to end', async () => {
  const { n, server, client } = setup();
  let accepted: Socket | null = null;
  new Server(server, {}, (c) => { accepted = c; }).listen(7);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 7 });
  let got = '';
  s.on('data', (d: Buffer) => { got += String(d); });
  await n.runUntil(() => accepted !== null && s.tcpState === 'ESTABLISHED', 1_000);
  accepted!.write('ping');
  // Stepped synchronously: no microtask or tick runs until the loop ends.
  while (got === '' && n.step()) { /* virtual steps */ }
  assert.equal(got, 'ping');
  n.close();
});

test("data that arrived in the same turn as a RST is delivered before 'error' ECONNRESET", async () => {
  const { n, server, client } = setup();
  const sent = pattern(200_000);
  new Server(server, {}, (c) => {
    // Everything the window allows leaves at once; the RST follows it on the wire, arriving in the same turn.
    c.write(sent, () => c.resetAndDestroy());
  }).listen(7);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 7 });
  let beforeRst = 0, rstSeen = false;
  n.wire.observe((ev) => {
    const seg = decodePacket(ev.bytes).tcp!.seg;
    if (ev.from === 0 && !rstSeen) { if (seg.flags & RST) rstSeen = true; else beforeRst += seg.payload.length; }
  });
  const chunks: Buffer[] = [];
  const log: string[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  s.on('error', (e: NodeJS.ErrnoException) => log.push(`error:${e.code}:${Buffer.concat(chunks).length}`));
  s.on('close', (hadError: boolean) => log.push(`close:${hadError}`));
  await n.runUntil(() => s.destroyed && log.length === 2, 10_000);
  assert.ok(rstSeen, 'the server reset the connection');
  assert.ok(beforeRst > 0, 'data was on the wire before the RST');
  assert.deepEqual(log, [`error:ECONNRESET:${beforeRst}`, 'close:true']);
  assert.ok(Buffer.concat(chunks).equals(sent.subarray(0, beforeRst)), 'the bytes before the RST, intact');
  n.close();
});

test("an echo server writing back from its 'data' listener (which services the connection inside a push) gets and returns every byte in order", async () => {
  for (const typed of [true, false]) {
    const n = new Network({ seed: 21, delayMs: 0.2 });
    n.typedSegments = typed; // false: every datagram crosses as bytes, its payload a view into its own datagram
    const tcp = { recvBufferSize: 256 << 10, sendBufferSize: 256 << 10 };
    const server = n.addStack({ name: 's', addresses: ['10.0.0.2'], tcp });
    const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'], tcp });
    const sent = pattern(300_004);
    const atServer: Buffer[] = [];
    new Server(server, {}, (c) => {
      c.on('data', (d: Buffer) => { atServer.push(Buffer.from(d)); c.write(d); });
      c.on('end', () => c.end());
    }).listen(7);
    const s = Socket.connect(client, { host: '10.0.0.2', port: 7 });
    const back: Buffer[] = [];
    s.on('connect', () => s.end(sent));
    s.on('data', (d: Buffer) => back.push(d));
    await n.runUntil(() => s.destroyed, 60_000);
    assert.ok(Buffer.concat(atServer).equals(sent), `${typed ? 'typed' : 'bytes'}: the server got the bytes as written, in order`);
    assert.ok(Buffer.concat(back).equals(sent), `${typed ? 'typed' : 'bytes'}: and the client got them back`);
    n.close();
  }
});
