/** The Node `net`-style API: events, errors with Node codes, half-close, RST, timeouts, counters. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import { Server } from './server.js';
import { Socket } from './socket.js';
import { decodePacket } from '../wire/packet.js';

function setup() {
  const net = new Network({ seed: 4, delayMs: 2 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2', 'fd00::2'], tcp: { msl: 1000 } });
  const client = net.addStack({ name: 'client', addresses: ['10.0.0.1', 'fd00::1'], tcp: { msl: 1000 } });
  return { net, server, client };
}

test("connect to a closed port: 'error' with code ECONNREFUSED, then 'close'", async () => {
  const { net, client } = setup();
  const s = Socket.connect(client, { host: '10.0.0.2', port: 81 });
  let err: NodeJS.ErrnoException | null = null, closed = false;
  s.on('error', (e) => { err = e; });
  s.on('close', () => { closed = true; });
  await net.runUntil(() => closed);
  assert.equal(err!.code, 'ECONNREFUSED');
  assert.equal((err as unknown as { syscall: string }).syscall, 'connect');
  net.close();
});

test("echo over IPv6: 'connect', data both ways, 'end', 'close'; addresses and byte counters", async () => {
  const { net, server, client } = setup();
  const srv = new Server(server, {}, (sock) => sock.pipe(sock));
  srv.listen(7);
  const s = Socket.connect(client, { host: 'fd00::2', port: 7 });
  const events: string[] = [];
  let data = '';
  s.on('connect', () => { events.push('connect'); s.end('ping over v6'); });
  s.on('data', (d: Buffer) => { data += d; });
  s.on('end', () => events.push('end'));
  s.on('close', () => events.push('close'));
  await net.runUntil(() => events.includes('close'));
  assert.deepEqual(events, ['connect', 'end', 'close']);
  assert.equal(data, 'ping over v6');
  assert.equal(s.remoteAddress, 'fd00::2');
  assert.equal(s.remoteFamily, 'IPv6');
  assert.equal(s.bytesWritten, 12);
  assert.equal(s.bytesRead, 12);
  net.close();
});

test('allowHalfOpen: the server keeps writing after the client end()s; the client reads it all', async () => {
  const { net, server, client } = setup();
  const srv = new Server(server, { allowHalfOpen: true }, (sock) => {
    sock.on('end', () => { for (let i = 0; i < 10; i++) sock.write(Buffer.alloc(10_000, 65 + i)); sock.end(); });
    sock.resume();
  });
  srv.listen(8);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 8, allowHalfOpen: true }, () => s.end('request'));
  let got = 0, closed = false;
  s.on('data', (d: Buffer) => { got += d.length; });
  s.on('close', () => { closed = true; });
  await net.runUntil(() => closed);
  assert.equal(got, 100_000);
  net.close();
});

test('resetAndDestroy sends RST: the peer sees ECONNRESET', async () => {
  const { net, server, client } = setup();
  let peerErr: NodeJS.ErrnoException | null = null;
  const srv = new Server(server, {}, (sock) => { sock.on('error', (e) => { peerErr = e; }); sock.resume(); });
  srv.listen(9);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 9 }, () => { s.write('x'); setImmediate(() => s.resetAndDestroy()); });
  await net.runUntil(() => peerErr !== null);
  assert.equal(peerErr!.code, 'ECONNRESET');
  net.close();
});

test('setTimeout fires in the stack clock after idle time', async () => {
  const { net, server, client } = setup();
  new Server(server, {}, (sock) => sock.resume()).listen(10);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 10 });
  let firedAt = -1;
  s.setTimeout(5000, () => { firedAt = net.now; s.destroy(); });
  await net.runUntil(() => firedAt >= 0, 60_000);
  assert.ok(firedAt >= 5000 && firedAt < 5100, `fired at ${firedAt}`);
  net.close();
});

test('setTimeout set again on every write (as node:http does per request) fires once, a timeout after the last activity; shortened or disabled as asked', async () => {
  const { net, server, client } = setup();
  new Server(server, {}, (sock) => sock.resume()).listen(12);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 12 });
  const fired: number[] = [];
  s.on('timeout', () => { fired.push(net.now); });
  await net.runUntil(() => s.readyState === 'open');
  // Ten writes 300 ms apart, each followed by setTimeout(1000): idle never reaches 1000 ms until the last.
  let last = 0;
  for (let i = 0; i < 10; i++) {
    s.write('x');
    s.setTimeout(1000);
    last = net.now;
    const until = net.now + 300;
    await net.runUntil(() => net.now >= until, 400);
  }
  await net.runUntil(() => fired.length > 0, 5000);
  assert.equal(fired.length, 1);
  assert.ok(fired[0]! >= last + 1000 && fired[0]! < last + 1400, `fired at ${fired[0]}, last activity ${last}`);
  // Shortened: the new, earlier deadline holds (not the one armed before).
  s.setTimeout(10_000);
  s.setTimeout(200);
  const t0 = net.now;
  await net.runUntil(() => fired.length > 1, 20_000);
  assert.ok(fired[1]! - t0 >= 200 && fired[1]! - t0 < 300, `fired ${fired[1]! - t0} ms after`);
  // Disabled: nothing more, however long the socket stays idle.
  s.setTimeout(0);
  const t1 = net.now;
  await net.runUntil(() => net.now > t1 + 30_000, 40_000);
  assert.equal(fired.length, 2);
  s.destroy();
  net.close();
});

test('writing after the peer reset fails with EPIPE/ECONNRESET, not a crash', async () => {
  const { net, server, client } = setup();
  new Server(server, {}, (sock) => { sock.resetAndDestroy(); }).listen(11);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 11 });
  let err: NodeJS.ErrnoException | null = null;
  s.on('error', (e) => { err = e; });
  await net.runUntil(() => err !== null);
  assert.ok(['ECONNRESET', 'EPIPE'].includes(err!.code!));
  net.close();
});

test('backpressure: write() returns false when the send buffer is full, drain follows', async () => {
  const net = new Network({ seed: 5, delayMs: 2 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'], tcp: { recvBufferSize: 16384 } });
  const client = net.addStack({ name: 'client', addresses: ['10.0.0.1'], tcp: { sendBufferSize: 16384 } });
  let readers: Socket | null = null;
  new Server(server, {}, (sock) => { readers = sock; sock.pause(); }).listen(12);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 12 });
  let full = false, drained = false;
  s.on('connect', () => {
    for (let i = 0; i < 100 && !full; i++) full = !s.write(Buffer.alloc(8192));
    s.once('drain', () => { drained = true; });
  });
  await net.runUntil(() => full && readers !== null, 10_000);
  assert.ok(full, 'write() signalled backpressure');
  assert.equal(drained, false);
  readers!.resume();
  await net.runUntil(() => drained, 60_000);
  assert.ok(drained);
  net.close();
});

test("every socket exposes its RFC 9293 state and a 'state' event per transition", async () => {
  const { net, server, client } = setup();
  const serverStates: string[] = [];
  new Server(server, {}, (sock) => { serverStates.push(sock.tcpState); sock.on('state', (to: string) => serverStates.push(to)); sock.resume(); sock.on('end', () => sock.end()); }).listen(13);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 13 });
  const clientStates: string[] = [];
  s.on('state', (to: string, from: string) => clientStates.push(`${from}>${to}`));
  s.on('connect', () => { assert.equal(s.tcpState, 'ESTABLISHED'); s.end(); });
  s.resume();
  let closed = false;
  s.on('close', () => { closed = true; });
  await net.runUntil(() => closed && serverStates.includes('CLOSED'));
  // The server closes as soon as it reads EOF, so its FIN carries the ACK: FIN-WAIT-1 goes straight to TIME-WAIT.
  assert.deepEqual(clientStates, ['CLOSED>SYN-SENT', 'SYN-SENT>ESTABLISHED', 'ESTABLISHED>FIN-WAIT-1', 'FIN-WAIT-1>TIME-WAIT']);
  assert.deepEqual(serverStates, ['ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
  net.close();
});

test('setNoDelay(true) sends a small write at once although data is unacknowledged; with Nagle it waits for the ACK', async () => {
  for (const noDelay of [false, true]) {
    const { net, server, client } = setup();
    new Server(server, {}, (sock) => sock.resume()).listen(14);
    const sentAt: number[] = [];
    const s = Socket.connect(client, { host: '10.0.0.2', port: 14 });
    client.observePackets((dir, p) => { if (dir === 'out' && decodePacket(p).tcp!.seg.payload.length > 0) sentAt.push(net.now); });
    s.on('connect', () => { s.setNoDelay(noDelay); s.write('a'); s.write('b'); });
    await net.runUntil(() => sentAt.length >= 2, 10_000);
    // Nagle holds the second one-byte write until the first is acknowledged (one round trip, 4 ms here).
    if (noDelay) assert.equal(sentAt[1], sentAt[0], 'both small segments leave at once');
    else assert.ok(sentAt[1]! - sentAt[0]! >= 4, `second segment waited for the ACK (${sentAt[1]! - sentAt[0]!} ms)`);
    net.close();
  }
});

test('setKeepAlive(true, 1000): idle connection sends keep-alive probes the peer answers; the connection survives', async () => {
  const { net, server, client } = setup();
  new Server(server, {}, (sock) => sock.resume()).listen(15);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 15 });
  s.on('connect', () => s.setKeepAlive(true, 1000));
  let probes = 0;
  client.observePackets((dir) => { if (dir === 'out' && net.now > 500) probes++; });
  await net.runUntil(() => false, 5000);
  assert.ok(probes >= 2, `keep-alive probes sent: ${probes}`);
  assert.equal(s.tcpState, 'ESTABLISHED');
  net.close();
});
