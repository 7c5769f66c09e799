/**
 * createNet(stack): node:net's functions bound to a stack, with node:net's semantics where libraries depend on
 * them — listen(0), 'error' codes, destroy(err) closing gracefully, 'close' with hadError, corked writes, and
 * the factories node:http, http.Agent and undici take as they are. Virtual time throughout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Network } from '../link/network.js';
import { createNet } from './node-net.js';
import { Socket } from './socket.js';
import { decodePacket } from '../wire/packet.js';
import { RST, FIN } from '../wire/tcp-types.js';

function setup(seed = 7) {
  const net = new Network({ seed, delayMs: 2 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2', 'fd00::2'], tcp: { msl: 1000 } });
  const client = net.addStack({ name: 'client', addresses: ['10.0.0.1', 'fd00::1'], tcp: { msl: 1000 } });
  /** Flags and payload sizes of every TCP segment the wire carried, in order. */
  const wire: Array<{ from: string; flags: number; len: number }> = [];
  net.wire.observe((ev) => {
    const d = decodePacket(ev.bytes);
    if (d.tcp) wire.push({ from: ev.from === 0 ? 'server' : 'client', flags: d.tcp.seg.flags, len: d.tcp.seg.payload.length });
  });
  return { net, server, client, wire, sNet: createNet(server), cNet: createNet(client, { hosts: { 'api.test': '10.0.0.2' } }) };
}

test('listen(0) picks a free port that address() reports and clients reach', async () => {
  const { net, sNet, cNet } = setup();
  const a = sNet.createServer((s) => s.end('hi')).listen(0);
  const b = sNet.createServer((s) => s.end('ho')).listen();
  await net.runUntil(() => a.listening && b.listening, 10);
  const pa = a.address()!.port, pb = b.address()!.port;
  assert.ok(pa >= 32768 && pa <= 60999, `port ${pa}`);
  assert.notEqual(pa, pb);
  let got = '';
  const s = cNet.connect(pa, '10.0.0.2');
  s.on('data', (d: Buffer) => { got += d; });
  await net.runUntil(() => s.destroyed);
  assert.equal(got, 'hi');
  net.close();
});

test("a port in use: 'error' EADDRINUSE with syscall listen and the port, as node:net", async () => {
  const { net, sNet } = setup();
  sNet.createServer().listen(80);
  const second = sNet.createServer();
  let err: NodeJS.ErrnoException & { port?: number } | null = null;
  second.on('error', (e) => { err = e; });
  second.listen(80);
  await net.runUntil(() => err !== null, 10);
  assert.equal(err!.code, 'EADDRINUSE');
  assert.equal(err!.syscall, 'listen');
  assert.equal(err!.port, 80);
  assert.equal(second.listening, false);
  net.close();
});

test('misuse gets Node error types and codes, never an exception from inside the stack', async () => {
  const { net, sNet, cNet } = setup();
  assert.throws(() => cNet.connect(70000, '10.0.0.2'), (e: Error & { code?: string }) => e instanceof RangeError && e.code === 'ERR_SOCKET_BAD_PORT');
  assert.throws(() => cNet.connect({ port: 'http' as unknown as number, host: '10.0.0.2' }), (e: Error & { code?: string }) => e.code === 'ERR_SOCKET_BAD_PORT');
  assert.throws(() => sNet.createServer().listen(-1), (e: Error & { code?: string }) => e instanceof RangeError && e.code === 'ERR_SOCKET_BAD_PORT');
  // A name nobody resolves: ENOTFOUND from getaddrinfo, as Node's DNS failure looks.
  const s = cNet.connect(80, 'nowhere.test');
  let err: NodeJS.ErrnoException | null = null;
  s.on('error', (e) => { err = e; });
  await net.runUntil(() => s.destroyed);
  assert.equal(err!.code, 'ENOTFOUND');
  assert.equal(err!.syscall, 'getaddrinfo');
  // Refused: ECONNREFUSED with address and port.
  const r = cNet.connect(81, 'api.test');
  let rerr: (NodeJS.ErrnoException & { address?: string; port?: number }) | null = null;
  r.on('error', (e) => { rerr = e; });
  await net.runUntil(() => r.destroyed && rerr !== null);
  assert.equal(rerr!.code, 'ECONNREFUSED');
  assert.equal(rerr!.address, '10.0.0.2');
  assert.equal(rerr!.port, 81);
  // Writing after end(): the stream's own error, as net.Socket gives it.
  sNet.createServer((x) => x.resume()).listen(7);
  const w = cNet.connect(7, '10.0.0.2');
  await net.runUntil(() => !w.connecting);
  w.end();
  let werr: NodeJS.ErrnoException | null = null;
  w.on('error', (e) => { werr = e; });
  w.write('late');
  await net.runUntil(() => werr !== null, 100);
  assert.equal(werr!.code, 'ERR_STREAM_WRITE_AFTER_END');
  // Writing to a destroyed socket, and writing what is not bytes: the stream's own codes, no stack exception.
  const d = cNet.connect(7, '10.0.0.2');
  await net.runUntil(() => !d.connecting);
  d.destroy();
  let derr: NodeJS.ErrnoException | null = null;
  d.on('error', (e) => { derr = e; });
  d.write('after destroy', (e) => { derr ??= e ?? null; });
  await net.runUntil(() => derr !== null, 100);
  assert.equal(derr!.code, 'ERR_STREAM_DESTROYED');
  const t = cNet.connect(7, '10.0.0.2');
  assert.throws(() => t.write(12345 as unknown as string), (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE');
  assert.throws(() => t.setTimeout(-1), (e: Error & { code?: string }) => e instanceof RangeError && e.code === 'ERR_OUT_OF_RANGE');
  t.destroy();
  // Closing a server that is not listening.
  const idle = sNet.createServer();
  const cerr = await new Promise<Error & { code?: string }>((res) => idle.close((e) => res(e as Error)));
  assert.equal(cerr.code, 'ERR_SERVER_NOT_RUNNING');
  net.close();
});

test("destroy(err) closes with FIN as node:net does, reports err locally, and 'close' carries hadError", async () => {
  const { net, sNet, cNet, wire } = setup();
  let serverEnded = false;
  sNet.createServer((s) => { s.on('end', () => { serverEnded = true; }); s.resume(); }).listen(7);
  const s = cNet.connect(7, '10.0.0.2');
  await net.runUntil(() => !s.connecting);
  const events: unknown[] = [];
  s.on('error', (e) => events.push(['error', e.message]));
  s.on('close', (hadError: boolean) => events.push(['close', hadError]));
  s.destroy(new Error('application gave up'));
  await net.runUntil(() => serverEnded && events.length === 2);
  assert.deepEqual(events, [['error', 'application gave up'], ['close', true]]);
  assert.ok(!wire.some((w) => w.from === 'client' && w.flags & RST), 'no RST from the client');
  assert.ok(wire.some((w) => w.from === 'client' && w.flags & FIN), 'a FIN from the client');
  net.close();
});

test("a normal close: 'close' with hadError false; destroy() with unread data and resetAndDestroy() send RST", async () => {
  const { net, sNet, cNet, wire } = setup();
  const serverErrors: string[] = [];
  sNet.createServer((s) => {
    s.on('error', (e: NodeJS.ErrnoException) => serverErrors.push(e.code!));
    s.on('data', () => {});
    s.write('unread by the client');
  }).listen(7);
  // 1: graceful
  const a = cNet.connect(7, '10.0.0.2');
  a.on('data', () => {});
  let aHad: boolean | null = null;
  a.on('close', (h: boolean) => { aHad = h; });
  a.on('connect', () => a.end());
  await net.runUntil(() => aHad !== null && !a.connecting);
  // The server end closes too once it has the FIN (allowHalfOpen false ends it).
  assert.equal(aHad, false);
  // 2: destroy() while received data is unread (the socket is paused) → RST, as close(2) on Linux.
  const rstsBefore = wire.filter((w) => w.from === 'client' && w.flags & RST).length;
  const b = cNet.connect(7, '10.0.0.2');
  b.pause();
  await net.runUntil(() => b.readableLength > 0 || ((b as unknown as Socket).conn?.tcp.readableLength ?? 0) > 0);
  b.destroy();
  await net.runUntil(() => wire.filter((w) => w.from === 'client' && w.flags & RST).length > rstsBefore, 1000);
  // 3: resetAndDestroy() on a quiet connection → RST.
  const c = cNet.connect(7, '10.0.0.2');
  c.on('data', () => {});
  await net.runUntil(() => !c.connecting);
  const before = wire.filter((w) => w.from === 'client' && w.flags & RST).length;
  c.resetAndDestroy();
  await net.runUntil(() => wire.filter((w) => w.from === 'client' && w.flags & RST).length > before, 1000);
  await net.runUntil(() => serverErrors.length >= 2, 1000);
  assert.deepEqual(serverErrors, ['ECONNRESET', 'ECONNRESET']);
  net.close();
});

test('corked writes leave as full segments, not one segment per write', async () => {
  const { net, sNet, cNet, wire } = setup();
  let got = 0;
  sNet.createServer((s) => s.on('data', (d: Buffer) => { got += d.length; })).listen(7);
  const s = cNet.connect({ port: 7, host: '10.0.0.2', noDelay: true });
  await net.runUntil(() => !s.connecting);
  const start = wire.length;
  s.cork();
  for (let i = 0; i < 20; i++) s.write(Buffer.alloc(100, i));
  process.nextTick(() => s.uncork());
  await net.runUntil(() => got === 2000);
  const data = wire.slice(start).filter((w) => w.from === 'client' && w.len > 0).map((w) => w.len);
  // One full segment (MSS 1460 less 12 bytes of timestamps) and the rest: the 20 writes were merged.
  assert.deepEqual(data, [1448, 552]);
  net.close();
});

test('node:http runs with createConnection, and an http.Agent reuses one keep-alive connection', async () => {
  const { net, sNet, cNet, server } = setup();
  const httpServer = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end(`${req.method} ${req.url}`)); });
  sNet.serve(httpServer, 80);
  const get = (opts: http.RequestOptions) => new Promise<string>((resolve, reject) => {
    const req = http.request(opts, (res) => { let b = ''; res.on('data', (d: Buffer) => { b += d; }); res.on('end', () => resolve(b)); });
    req.on('error', reject);
    req.end();
  });
  let body: string | undefined;
  void get({ host: 'api.test', port: 80, path: '/one', createConnection: cNet.createConnection as never }).then((b) => { body = b; });
  await net.runUntil(() => body !== undefined);
  assert.equal(body, 'GET /one');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  (agent as unknown as { createConnection: unknown }).createConnection = cNet.createConnection;
  const bodies: string[] = [];
  for (let i = 0; i < 3; i++) void get({ host: '10.0.0.2', port: 80, path: `/k${i}`, agent }).then((b) => bodies.push(b));
  await net.runUntil(() => bodies.length === 3);
  assert.deepEqual(bodies.sort(), ['GET /k0', 'GET /k1', 'GET /k2']);
  // One connection for the agent's three requests (plus the first request's own): two accepted in all.
  let accepted = 0;
  for (const c of server.allConnections()) if (c.localPort === 80) accepted++;
  assert.ok(accepted <= 2, `server connections on port 80: ${accepted}`);
  agent.destroy();
  net.close();
});

test("undiciConnect: undici's callback convention, errors through the callback", async () => {
  const { net, cNet, sNet } = setup();
  sNet.createServer((s) => s.end('x')).listen(8080);
  const ok = await new Promise<unknown>((res) => {
    cNet.undiciConnect({ hostname: '10.0.0.2', port: '8080', protocol: 'http:' }, (err, s) => res(err ? null : s));
    void net.runUntil(() => false, 100);
  });
  assert.ok(ok instanceof Socket);
  const refused = await new Promise<Error | null>((res) => {
    cNet.undiciConnect({ hostname: '10.0.0.2', port: '9', protocol: 'http:' }, (...args) => res(args[0]));
    void net.runUntil(() => false, 100);
  });
  assert.equal((refused as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  net.close();
});
