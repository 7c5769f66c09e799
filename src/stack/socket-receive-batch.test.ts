/**
 * Sockets between two stacks whose Network receives in batches (NetworkOptions.receiveBatch, what the stack
 * bench's lifecycles.batch figure measures): the same events in the same order as node:net on 127.0.0.1 for
 * the bench's lifecycle (connect, 1 byte each way, the server ends first), and the datagrams and TIME-WAIT a
 * kernel gives it: the client reads the server's data and FIN together, so it closes second and the server,
 * which closed first, holds TIME-WAIT. Delivered one datagram at a time, the client's user code runs between
 * the data and the FIN and both ends close at once (RFC 9293 §3.6 simultaneous close: a datagram more, both
 * ends in TIME-WAIT); same events either way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Network } from '../link/network.js';
import { Server } from './server.js';
import { Socket } from './socket.js';
import { decodePacket } from '../wire/packet.js';
import { FIN } from '../wire/tcp-types.js';

type Log = { client: string[]; server: string[] };

/** The bench's lifecycle on node:net over 127.0.0.1, events of both ends ('ready' and 'finish' left out: timing). */
async function nodeLifecycle(): Promise<Log> {
  const log: Log = { client: [], server: [] };
  let serverClosed!: () => void;
  const serverDone = new Promise<void>((r) => { serverClosed = r; });
  const srv = net.createServer((s) => {
    log.server.push('connection');
    s.on('data', (d) => { log.server.push(`data:${String(d)}`); s.end('y'); });
    s.on('end', () => log.server.push('end'));
    s.on('close', (hadError) => { log.server.push(`close:${hadError}`); serverClosed(); });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { log.client.push('connect'); s.write('x'); });
    s.on('data', (d) => { log.client.push(`data:${String(d)}`); s.end(); });
    s.on('end', () => log.client.push('end'));
    s.on('close', (hadError) => { log.client.push(`close:${hadError}`); resolve(); });
  });
  await serverDone;
  srv.close();
  return log;
}

/** The same lifecycle, `count` times, through synack sockets; events of the first, datagrams per lifecycle. */
async function synackLifecycles(receiveBatch: boolean, count: number) {
  const n = new Network({ seed: 5, delayMs: 0.05, receiveBatch });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  let datagrams = 0;
  let simultaneous = 0;
  const serverFins = new Set<string>();
  n.wire.onPacket = (ev) => {
    datagrams++;
    // A FIN that does not acknowledge a FIN already received: both ends were closing at once.
    const seg = decodePacket(ev.bytes).tcp!.seg;
    if (seg.flags & FIN && ev.from === 1 && !serverFins.has(`${seg.srcPort}:${seg.ack - 1}`)) simultaneous++;
    if (seg.flags & FIN && ev.from === 0) serverFins.add(`${seg.dstPort}:${seg.seq + seg.payload.length}`);
  };
  const first: Log = { client: [], server: [] };
  let accepted = 0;
  const srv = new Server(server, {}, (s) => {
    const log = accepted++ === 0 ? first.server : [];
    log.push('connection');
    s.on('data', (d: Buffer) => { log.push(`data:${String(d)}`); s.end('y'); });
    s.on('end', () => log.push('end'));
    s.on('close', (hadError: boolean) => log.push(`close:${hadError}`));
  });
  srv.listen(7);
  let done = 0;
  const one = () => {
    const log = done === 0 ? first.client : [];
    const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => { log.push('connect'); s.write('x'); });
    s.on('data', (d: Buffer) => { log.push(`data:${String(d)}`); s.end(); });
    s.on('end', () => log.push('end'));
    s.on('close', (hadError: boolean) => { log.push(`close:${hadError}`); if (++done < count) one(); });
  };
  one();
  await n.runUntil(() => done === count && accepted === count && server.connectionCount === 0 && first.server.length >= 4 && n.wire.inFlight === 0, 60_000);
  const out = { first, datagrams: datagrams / count, simultaneous, serverTw: server.timeWaitCount, clientTw: client.timeWaitCount };
  n.close();
  return out;
}

test('receiveBatch: socket lifecycles emit node:net\'s events in its order; the server, which closed first, alone holds TIME-WAIT (8 datagrams)', async () => {
  const kernel = await nodeLifecycle();
  assert.deepEqual(kernel.client, ['connect', 'data:y', 'end', 'close:false']);
  const b = await synackLifecycles(true, 20);
  assert.deepEqual(b.first.client, kernel.client);
  assert.deepEqual(b.first.server, kernel.server);
  assert.equal(b.simultaneous, 0, 'every client FIN acknowledges the server\'s');
  assert.equal(b.datagrams, 8);
  assert.deepEqual([b.serverTw, b.clientTw], [20, 0]);
});

test('one datagram at a time: the same events, but both ends close at once (9 datagrams, both in TIME-WAIT)', async () => {
  const kernel = await nodeLifecycle();
  const p = await synackLifecycles(false, 20);
  assert.deepEqual(p.first.client, kernel.client);
  assert.deepEqual(p.first.server, kernel.server);
  assert.equal(p.simultaneous, 20);
  assert.equal(p.datagrams, 9);
  assert.deepEqual([p.serverTw, p.clientTw], [20, 20]);
});
