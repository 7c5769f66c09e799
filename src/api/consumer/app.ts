/**
 * A consumer of the packed synack package (src/api/package-consumer.test.ts installs the tarball into a scratch
 * project, type-checks this file with strict, exactOptionalPropertyTypes and noUncheckedIndexedAccess, and runs
 * it). It imports only public entries and uses the libraries as their documentation says, with synack's
 * functions passed where they take a connection factory. It prints one JSON object of what it observed.
 */
import http from 'node:http';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express from 'express';
import { WebSocketServer, WebSocket } from 'ws';
import { Agent, fetch } from 'undici';
import { Network, createNet } from 'synack';
import { TcpConnection } from 'synack/engine';
import { decodePacket } from 'synack/wire';
import { analyzeCapture } from 'synack/analyze';
import { runScriptText } from 'synack/drill';
import { tunUnavailableReason } from 'synack/tun';

const out: Record<string, unknown> = {};

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; b[i] = x & 0xff; }
  return b;
}
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Runs `network`'s virtual time until `p` settles. */
async function drive<T>(network: Network, p: Promise<T>): Promise<T> {
  let settled = false;
  const q = p.finally(() => { settled = true; });
  await network.runUntil(() => settled, 3_600_000);
  return q;
}

// 1. node:http between two stacks on a lossy wire (virtual time): 10 MB each way, keep-alive reuse.
{
  const network = new Network({ seed: 42, delayMs: 5, impairments: { loss: 0.01 } });
  const server = network.addStack({ name: 'server', addresses: ['10.9.0.1'] });
  const client = network.addStack({ name: 'client', addresses: ['10.9.0.2'] });
  const download = pattern(10_000_000, 1);
  const upload = pattern(10_000_000, 2);
  let connections = 0;
  const httpServer = http.createServer((req, res) => {
    const h = createHash('sha256');
    req.on('data', (d: Buffer) => h.update(d));
    req.on('end', () => { res.setHeader('x-upload-sha256', h.digest('hex')); res.end(req.url === '/big' ? download : 'small'); });
  });
  httpServer.on('connection', () => { connections++; });
  createNet(server).serve(httpServer, 80);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  agent.createConnection = createNet(client).createConnection;
  const post = (path: string, body: Uint8Array) => new Promise<{ uploadSha: string; bodySha: string; length: number }>((resolve, reject) => {
    const req = http.request({ host: '10.9.0.1', port: 80, path, method: 'POST', agent }, (res) => {
      const h = createHash('sha256');
      let length = 0;
      res.on('data', (d: Buffer) => { h.update(d); length += d.length; });
      res.on('end', () => resolve({ uploadSha: String(res.headers['x-upload-sha256']), bodySha: h.digest('hex'), length }));
    });
    req.on('error', reject);
    req.end(body);
  });
  const big = await drive(network, post('/big', upload));
  const small = await drive(network, post('/small', upload.subarray(0, 1000)));
  const lost = network.wire.counters(0, 1).lost + network.wire.counters(1, 0).lost;
  out.http = {
    uploadIntact: big.uploadSha === sha(upload), downloadIntact: big.bodySha === sha(download), downloadLength: big.length,
    secondIntact: small.uploadSha === sha(upload.subarray(0, 1000)), connections, lost, virtualSeconds: network.now / 1000,
  };
  agent.destroy();
  network.close();
}

// The rest on the real clock.
const network = new Network({ realTime: true, delayMs: 1, seed: 7 });
const server = network.addStack({ name: 'server', addresses: ['10.9.1.1', 'fd09::1'] });
const client = network.addStack({ name: 'client', addresses: ['10.9.1.2', 'fd09::2'] });
const sNet = createNet(server);
const cNet = createNet(client, { hosts: { 'app.test': '10.9.1.1' } });

// 2. express.
const app = express();
app.use(express.json());
app.post('/sum', (req, res) => { res.json({ sum: (req.body as { a: number; b: number }).a + (req.body as { a: number; b: number }).b }); });
const appServer = sNet.serve(http.createServer(app), 3000);
const sum = await new Promise<string>((resolve, reject) => {
  const req = http.request({ host: 'app.test', port: 3000, path: '/sum', method: 'POST', headers: { 'content-type': 'application/json' }, createConnection: cNet.createConnection }, (res) => {
    let b = '';
    res.on('data', (d: Buffer) => { b += d; });
    res.on('end', () => resolve(b));
  });
  req.on('error', reject);
  req.end(JSON.stringify({ a: 20, b: 22 }));
});
out.express = JSON.parse(sum);

// 3. undici's fetch through synack (connect), keep-alive: several requests, one connection.
const dispatcher = new Agent({ connect: cNet.undiciConnect });
const fetched: unknown[] = [];
for (let i = 0; i < 5; i++) {
  const r = await fetch('http://10.9.1.1:3000/sum', { method: 'POST', body: JSON.stringify({ a: i, b: 1 }), headers: { 'content-type': 'application/json' }, dispatcher });
  fetched.push(await r.json());
}
out.undici = fetched;
await dispatcher.close();

// 4. ws: 1 000 messages each way, in order, over IPv6.
const wsHttp = http.createServer();
const wss = new WebSocketServer({ server: wsHttp });
wss.on('connection', (ws) => { ws.on('message', (m) => ws.send(`echo ${String(m)}`)); });
const wsListener = sNet.serve(wsHttp, 8080);
out.ws = await new Promise<{ received: number; inOrder: boolean }>((resolve, reject) => {
  const ws = new WebSocket('ws://[fd09::1]:8080/', { createConnection: cNet.createConnection });
  let received = 0, inOrder = true;
  ws.on('open', () => { for (let i = 0; i < 1000; i++) ws.send(String(i)); });
  ws.on('message', (m) => {
    if (String(m) !== `echo ${received}`) inOrder = false;
    if (++received === 1000) { ws.close(); resolve({ received, inOrder }); }
  });
  ws.on('error', reject);
});

// 5. TLS over a synack socket (certificate from the test; skipped without one).
if (process.env.SYNACK_TEST_CERT && process.env.SYNACK_TEST_KEY) {
  const cert = readFileSync(process.env.SYNACK_TEST_CERT);
  const key = readFileSync(process.env.SYNACK_TEST_KEY);
  const tlsListener = sNet.serve(tls.createServer({ key, cert }, (s) => { s.end(`hello ${s.getProtocol()}`); }), 443);
  out.tls = await new Promise<{ text: string; authorized: boolean }>((resolve, reject) => {
    const s = tls.connect({ socket: cNet.connect(443, '10.9.1.1'), ca: cert, servername: 'synack.test' }, () => {
      let text = '';
      s.on('data', (d: Buffer) => { text += d; });
      s.on('end', () => resolve({ text, authorized: s.authorized }));
    });
    s.on('error', reject);
  });
  tlsListener.close();
}

// 6. stream.pipeline of 100 MiB into a slow reader: memory stays bounded (TCP's window holds the sender back).
{
  const total = 100 * 1024 * 1024;
  const chunk = pattern(64 * 1024, 3);
  let received = 0, peakRss = 0, calls = 0;
  const rss0 = process.memoryUsage().rss;
  const listener = sNet.createServer((sock) => {
    const slow = new Writable({
      highWaterMark: 64 * 1024,
      write(c: Buffer, _e, cb) {
        received += c.length;
        if (++calls % 64 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
        // A slow consumer: every 32nd chunk waits for a timer.
        if (calls % 32 === 0) setTimeout(cb, 1); else cb();
      },
    });
    void pipeline(sock, slow);
  }).listen(9000);
  async function* produce() { for (let sent = 0; sent < total; sent += chunk.length) yield chunk; }
  await pipeline(Readable.from(produce()), cNet.connect(9000, '10.9.1.1'));
  while (received < total) await new Promise((r) => setTimeout(r, 10));
  out.pipeline = { received, peakRssGrowthMiB: Math.round((peakRss - rss0) / 1048576) };
  listener.close();
}

// 7. The other entries load and work.
{
  const c = new TcpConnection({ localPort: 1000, remotePort: 2000, iss: 1 });
  c.connect(0);
  const syn = c.pollTransmit(0);
  out.engine = { state: c.state, synFlags: syn?.flags };
  out.wire = typeof decodePacket;
  out.analyze = analyzeCapture(new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0])).summary.packets;
  out.drill = runScriptText('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 close(3) = 0\n', { file: 'tiny.pkt', personality: 'linux' }).result;
  out.tun = tunUnavailableReason();
}

appServer.close();
wsListener.close();
wss.close();
network.close();
console.log(JSON.stringify(out));
