/** node:http, unchanged, over synack sockets on an in-memory wire in virtual time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { Network } from '../link/network.js';
import { Server } from './server.js';
import { Socket } from './socket.js';
import type { Stack } from './stack.js';

function body(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; b[i] = x & 0xff; }
  return b;
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function httpRoundTrip(loss: number, seed: number, method: 'GET' | 'POST') {
  const net = new Network({ seed, delayMs: 5, impairments: loss ? { loss, duplicate: loss / 4, reorder: loss / 2, reorderDelayMs: 3 } : {} });
  const server: Stack = net.addStack({ name: 'server', addresses: ['10.0.0.2'] });
  const client: Stack = net.addStack({ name: 'client', addresses: ['10.0.0.1'] });
  const big = body(1 << 20, seed);
  const httpServer = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      if (req.method === 'POST') { res.end(sha(Buffer.concat(parts))); return; }
      res.setHeader('content-length', big.length);
      res.end(big);
    });
  });
  const srv = new Server(server, {}, (s) => httpServer.emit('connection', s));
  srv.listen(80);
  let result: { status?: number; body?: Buffer; err?: Error } = {};
  let created = 0;
  const req = http.request({
    method, path: '/', host: '10.0.0.2', port: 80,
    // No `agent` option: with `agent: false` node:http ignores createConnection and uses the host network.
    createConnection: () => { created++; return Socket.connect(client, { host: '10.0.0.2', port: 80 }) as unknown as import('node:net').Socket; },
  }, (res) => {
    const parts: Buffer[] = [];
    res.on('data', (d: Buffer) => parts.push(d));
    res.on('end', () => { result = { status: res.statusCode, body: Buffer.concat(parts) }; });
  });
  req.on('error', (err) => { result = { err }; });
  if (method === 'POST') req.end(big); else req.end();
  // Virtual time: at 20 % loss both ways (ACKs too) RTO backoff can stretch a 1 MB transfer to most of an hour.
  await net.runUntil(() => result.body !== undefined || result.err !== undefined, 3 * 60 * 60_000);
  net.close();
  httpServer.close();
  assert.equal(created, 1, 'the request went over synack');
  return { result, big, net, server, client };
}

for (const loss of [0, 0.05, 0.2]) {
  test(`node:http GET of 1 MB over synack with ${loss * 100}% loss, duplication and reordering: body byte-identical`, async () => {
    const { result, big, client } = await httpRoundTrip(loss, 7 + loss * 100, 'GET');
    assert.equal(result.err, undefined, String(result.err));
    assert.equal(result.status, 200);
    assert.equal(result.body!.length, big.length);
    assert.ok(result.body!.equals(big));
    if (loss > 0) assert.ok(client.stats.InSegs > 0);
  });
  test(`node:http POST of 1 MB over synack with ${loss * 100}% loss: the server's digest matches`, async () => {
    const { result, big, client } = await httpRoundTrip(loss, 11 + loss * 100, 'POST');
    assert.equal(result.err, undefined, String(result.err));
    assert.equal(result.body!.toString(), sha(big));
    if (loss > 0) assert.ok(client.stats.RetransSegs > 0, 'losses were repaired by retransmission');
  });
}
