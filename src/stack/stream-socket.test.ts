/** Web-stream sockets (connectTcp/listenTcp): bytes, half-close, backpressure through the receive window, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import { connectTcp, listenTcp, TcpSocketError, type TcpSocket } from './stream-socket.js';

function setup(seed = 3) {
  const net = new Network({ seed, delayMs: 2 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2', 'fd00::2'], tcp: { msl: 500 } });
  const client = net.addStack({ name: 'client', addresses: ['10.0.0.1', 'fd00::1'], tcp: { msl: 500 } });
  return { net, server, client };
}

/** Settles `p` while virtual time runs. */
async function run<T>(net: Network, p: Promise<T>, maxTime = 120_000): Promise<T> {
  let done = false;
  let out: { v?: T; e?: unknown } = {};
  p.then((v) => { out = { v }; done = true; }, (e: unknown) => { out = { e }; done = true; });
  await net.runUntil(() => done, maxTime);
  assert.ok(done, 'settled in virtual time');
  if ('e' in out) throw out.e;
  return out.v as T;
}

async function readAll(r: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of r as unknown as AsyncIterable<Uint8Array>) { parts.push(c); n += c.length; }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

test('echo over IPv6 with web streams: request, half-close, the whole reply, both closed', async () => {
  const { net, server, client } = setup();
  const srv = listenTcp(server, { port: 7 });
  void (async () => {
    const { readable } = await srv.opened;
    for await (const conn of readable as unknown as AsyncIterable<TcpSocket>) {
      const { readable: r, writable: w } = await conn.opened;
      void r.pipeTo(w); // echo, and close our side when the peer closes its
    }
  })();
  const sock = connectTcp(client, { host: 'fd00::2', port: 7 });
  const info = await run(net, sock.opened);
  assert.equal(info.remoteAddress, 'fd00::2');
  assert.equal(info.remotePort, 7);
  const msg = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff);
  const writer = info.writable.getWriter();
  void writer.write(msg).then(() => writer.close());
  const got = await run(net, readAll(info.readable));
  assert.deepEqual(got, msg);
  await run(net, sock.closed);
  net.close();
});

test('a reader that stops pulling closes the receive window; reading again delivers every byte', async () => {
  const { net, server, client } = setup(5);
  const srv = listenTcp(server, { port: 9, readHighWaterMark: 4096 });
  let serverConn: TcpSocket | undefined;
  void srv.opened.then(async ({ readable }) => { const rd = readable.getReader(); serverConn = (await rd.read()).value; });
  const sock = connectTcp(client, { host: '10.0.0.2', port: 9 });
  const { writable } = await run(net, sock.opened);
  const total = 4_000_000; // more than the 1 MiB receive buffer and the 1 MiB send buffer together
  const w = writable.getWriter();
  let written = 0;
  void (async () => { while (written < total) { await w.write(new Uint8Array(50_000).fill(written / 50_000)); written += 50_000; } await w.close(); })();
  await net.runUntil(() => false, 5_000);
  // Nobody reads on the server side yet: the sender is held back by the window, far short of 2 MB.
  assert.ok(written < total, `written ${written}`);
  const { readable } = await run(net, serverConn!.opened);
  const got = await run(net, readAll(readable));
  assert.equal(got.length, total);
  for (let i = 0; i < total; i += 50_000) assert.equal(got[i], i / 50_000);
  net.close();
});

test('refused: opened rejects with ECONNREFUSED; reset: the readable errors with ECONNRESET', async () => {
  const { net, server, client } = setup();
  const refused = connectTcp(client, { host: '10.0.0.2', port: 1 });
  await assert.rejects(run(net, refused.opened), (e: unknown) => e instanceof TcpSocketError && e.code === 'ECONNREFUSED');
  const srv = listenTcp(server, { port: 2 });
  void srv.opened.then(async ({ readable }) => {
    const conn = (await readable.getReader().read()).value!;
    await conn.opened;
    conn.abort();
  });
  const s = connectTcp(client, { host: '10.0.0.2', port: 2 });
  const { readable } = await run(net, s.opened);
  await assert.rejects(run(net, readAll(readable)), (e: unknown) => e instanceof TcpSocketError && e.code === 'ECONNRESET');
  await assert.rejects(run(net, s.closed), (e: unknown) => (e as TcpSocketError).code === 'ECONNRESET');
  assert.throws(() => listenTcp(server, { port: 2 }), (e: Error & { code?: string }) => e.code === 'EADDRINUSE');
  net.close();
});
