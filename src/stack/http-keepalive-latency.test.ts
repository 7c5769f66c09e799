/**
 * A keep-alive HTTP exchange between two synack stacks (node:http on both ends, virtual time): each response
 * leaves whole as soon as the handler answers — headers and body together, the short last segment included —
 * never waiting for the client's (delayed) ACK. Nagle is what used to hold it: Linux's variant (a small
 * segment waits only for an earlier small one, tcp_minshall_check), the merged corked write (_writev), and
 * node:http's noDelay on accepted sockets each remove the wait; the test checks the segments on the wire.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Socket as NodeSocket } from 'node:net';
import { Network } from '../link/network.js';
import { createNet } from './node-net.js';
import { decodePacket } from '../wire/packet.js';

const BODY = 3000; // two full 1460-byte segments and a short tail, with the headers

async function exchange(serverNoDelay: boolean | undefined) {
  const net = new Network({ seed: 3, delayMs: 5 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'] });
  const client = net.addStack({ name: 'client', addresses: ['10.0.0.1'] });
  const payload = Buffer.alloc(BODY, 0x61);
  const httpServer = http.createServer(serverNoDelay === undefined ? {} : { noDelay: serverNoDelay }, (_req, res) => {
    res.setHeader('content-length', payload.length);
    res.end(payload);
  });
  const srv = createNet(server).serve(httpServer, 80);
  // Every server segment with data, by virtual send time.
  const sent: Array<{ t: number; len: number }> = [];
  server.observePackets((dir, p) => {
    if (dir !== 'out') return;
    const len = decodePacket(p).tcp!.seg.payload.length;
    if (len > 0) sent.push({ t: net.now, len });
  });
  const cnet = createNet(client);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  (agent as unknown as { createConnection: unknown }).createConnection = (o: object, cb: (e: Error | null, s: NodeSocket) => void) => {
    const s = cnet.createConnection({ ...(o as { port: number }), host: '10.0.0.2' }) as unknown as NodeSocket;
    cb(null, s);
    return s;
  };
  const responses: Array<{ firstByteAt: number; endAt: number; len: number; sentFrom: number }> = [];
  let created = 0;
  agent.on('free', () => undefined);
  const get = () => new Promise<void>((resolve, reject) => {
    const sentFrom = sent.length;
    const req = http.get({ host: '10.0.0.2', port: 80, path: '/', agent }, (res) => {
      let len = 0;
      const firstByteAt = net.now;
      res.on('data', (d: Buffer) => { len += d.length; });
      res.on('end', () => { responses.push({ firstByteAt, endAt: net.now, len, sentFrom }); resolve(); });
    });
    req.on('socket', () => { created++; });
    req.on('error', reject);
  });
  let done = false;
  const run = (async () => { for (let i = 0; i < 3; i++) await get(); done = true; })();
  await net.runUntil(() => done, 60_000);
  await run;
  agent.destroy();
  srv.close();
  net.close();
  return { responses, sent, created };
}

for (const noDelay of [undefined, false] as const) {
  test(`keep-alive request/response between two stacks: each response's body leaves with its headers, without waiting for an ACK (server noDelay ${noDelay ?? 'default'})`, async () => {
    const { responses, sent } = await exchange(noDelay);
    assert.equal(responses.length, 3);
    for (const [i, r] of responses.entries()) {
      assert.equal(r.len, BODY, `response ${i} complete`);
      const segs = sent.slice(r.sentFrom);
      const through = segs.findIndex((_, k) => segs.slice(0, k + 1).reduce((a, s) => a + s.len, 0) > BODY);
      const mine = segs.slice(0, through + 1);
      assert.ok(mine.length >= 3, `response ${i}: ${mine.length} segments (headers and body, more than two MSS)`);
      // All of the response's segments leave at the same virtual instant: none waited for an ACK (5 ms away)
      // nor for the client's delayed ACK (40 ms).
      assert.deepEqual(mine.map((s) => s.t - mine[0]!.t), mine.map(() => 0), `response ${i}: ${JSON.stringify(mine)}`);
      // One round trip (10 ms) from request to the whole response.
      assert.ok(r.endAt - r.firstByteAt < 5, `response ${i} arrived whole within one delivery (${r.endAt - r.firstByteAt} ms)`);
    }
  });
}
