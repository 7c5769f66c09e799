/** Packet links: two real-time stacks joined by a MessageChannel, and by a WebSocket (the `ws` package). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { WebSocketServer, WebSocket } from 'ws';
import { Stack } from '../stack/stack.js';
import { RealClock } from '../stack/clock.js';
import { connectTcp, listenTcp, type TcpSocket } from '../stack/stream-socket.js';
import { attachLink, messagePortLink, webSocketLink, type WebSocketLike } from './packet-link.js';

function stack(name: string, addr: string): Stack {
  return new Stack({ name, addresses: [addr], clock: new RealClock(), tcp: { msl: 100 } });
}

/** A sha256 echo: the server answers the sha256 of everything it read, then closes. */
function hashServer(s: Stack, port: number): void {
  const srv = listenTcp(s, { port });
  void (async () => {
    const { readable } = await srv.opened;
    for await (const conn of readable as unknown as AsyncIterable<TcpSocket>) {
      void (async () => {
        const { readable: r, writable: w } = await conn.opened;
        const h = createHash('sha256');
        for await (const c of r as unknown as AsyncIterable<Uint8Array>) h.update(c);
        const wr = w.getWriter();
        await wr.write(new TextEncoder().encode(h.digest('hex')));
        await wr.close();
      })();
    }
  })();
}

async function sendAndHash(s: Stack, host: string, port: number, data: Uint8Array): Promise<string> {
  const sock = connectTcp(s, { host, port });
  const { readable, writable } = await sock.opened;
  const w = writable.getWriter();
  for (let o = 0; o < data.length; o += 64 * 1024) await w.write(data.subarray(o, o + 64 * 1024));
  await w.close();
  let text = '';
  for await (const c of readable as unknown as AsyncIterable<Uint8Array>) text += new TextDecoder().decode(c);
  return text;
}

const MiB = new Uint8Array(1 << 20).map((_, i) => (i * 131 + (i >>> 11)) & 0xff);
const MiB_SHA = createHash('sha256').update(MiB).digest('hex');

test('two stacks over a MessageChannel move 1 MiB intact, one datagram per message', async () => {
  const ch = new MessageChannel();
  const a = stack('a', '10.1.0.1'), b = stack('b', '10.1.0.2');
  const la = messagePortLink(ch.port1), lb = messagePortLink(ch.port2);
  const da = attachLink(a, la), db = attachLink(b, lb);
  hashServer(b, 80);
  assert.equal(await sendAndHash(a, '10.1.0.2', 80, MiB), MiB_SHA);
  assert.ok(la.stats.sent > 700 && lb.stats.received > 700, `packets: ${la.stats.sent} sent, ${lb.stats.received} received`);
  da(); db();
  a.destroy(); b.destroy();
  ch.port1.close();
});

test('a stack tunnelled to another over a WebSocket (ws in Node) moves 1 MiB both ways', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const port = (wss.address() as { port: number }).port;
  const server = stack('server', 'fd77::1');
  hashServer(server, 443);
  const detached: Array<() => void> = [];
  wss.on('connection', (ws) => { detached.push(attachLink(server, webSocketLink(ws as unknown as WebSocketLike))); });
  const client = stack('client', 'fd77::2');
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  const link = webSocketLink(ws as unknown as WebSocketLike);
  detached.push(attachLink(client, link));
  // Sent before the WebSocket is open: queued, then flushed on 'open'.
  assert.equal(await sendAndHash(client, 'fd77::1', 443, MiB), MiB_SHA);
  // And the reverse direction, from the server's stack to one listening on the client's side.
  hashServer(client, 8443);
  assert.equal(await sendAndHash(server, 'fd77::2', 8443, MiB), MiB_SHA);
  assert.equal(link.stats.ignored, 0);
  for (const d of detached) d();
  server.destroy(); client.destroy();
  await new Promise<void>((r) => wss.close(() => r()));
});
