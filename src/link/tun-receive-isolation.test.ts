// What an application reads from a synack socket over TUN is a view of memory (a Buffer): as with node:net, whose
// reads each get memory of their own, everything that memory holds (`chunk.buffer`) must be its own connection's
// bytes (its data and headers, or zeros), never another connection's, so an application may hand `chunk.buffer` on
// (a proxy, a test harness) without exposing anyone else's traffic. Four kernel clients (two over IPv4, two over
// IPv6) in a namespace of the test's own send interleaved writes, small and large, to a synack server over TUN;
// every chunk the server's sockets read is checked: its data intact, no run of another client's bytes and no other
// connection's TCP header (its port pair) anywhere in its memory. With and without the kernel's offloads.
// Needs root, /dev/net/tun, unshare and the addon; skips with the reason otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { TunLink } from './tun.js';
import { configureTunDevice } from './tun-device.js';
import { tunTestSkip } from './tun-testkit.js';
import { runInNetns, reportResult, NETNS_ENV } from './netns.js';
import { Stack } from '../stack/stack.js';
import { Server } from '../stack/server.js';
import type { Socket } from '../stack/socket.js';

const PORT = 9;
const CLIENTS = ['10.77.0.2', '10.77.0.2', 'fd77::2', 'fd77::2'];
/** Bytes each client sends (client i sends the value 0x10 + i). */
const EACH = 200_000;

/** Where 16 bytes in a row hold another client's value (0x10..0x13 but `own`), or -1. */
function foreignRun(m: Uint8Array, own: number): number {
  let run = 0;
  for (let k = 0; k < m.length; k++) {
    const x = m[k]!;
    run = x !== own && x >= 0x10 && x < 0x10 + CLIENTS.length && (run === 0 || m[k - 1] === x) ? run + 1 : 0;
    if (run === 16) return k - 15;
  }
  return -1;
}

/** Where a TCP header of a segment from port `from` to PORT lies in `m` (its first 4 bytes), or -1. */
function headerAt(m: Uint8Array, from: number): number {
  const a = from >>> 8, b = from & 0xff;
  for (let k = 0; k + 3 < m.length; k++) if (m[k] === a && m[k + 1] === b && m[k + 2] === 0 && m[k + 3] === PORT) return k;
  return -1;
}

async function serveRole(offload: boolean): Promise<void> {
  const link = TunLink.open(undefined, { offload });
  await configureTunDevice({
    name: link.name,
    addresses: [{ stack: '10.77.0.2', kernel: '10.77.0.1', prefix: 24 }, { stack: 'fd77::2', kernel: 'fd77::1', prefix: 64 }],
    mtu: 1500,
  });
  const stack = new Stack({ addresses: ['10.77.0.2', 'fd77::2'] });
  link.attachStack(stack);
  const conns: Array<{ port: number; chunks: Buffer[]; ended: boolean }> = [];
  new Server(stack, {}, (s: Socket) => {
    const c = { port: s.remotePort!, chunks: [] as Buffer[], ended: false };
    conns.push(c);
    s.on('data', (d: Buffer) => c.chunks.push(d));
    s.on('end', () => { c.ended = true; s.end(); });
  }).listen(PORT);

  const clients = await Promise.all(CLIENTS.map((host) => new Promise<net.Socket>((resolve, reject) => {
    const c = net.connect({ host, port: PORT }, () => resolve(c));
    c.on('error', reject);
  })));
  const sent = clients.map(() => 0);
  // Interleaved writes of uneven sizes from every client each turn (their segments share the device's read
  // batches), with a large one now and then (runs of one connection's segments within a batch).
  for (let round = 0; sent.some((x) => x < EACH); round++) {
    clients.forEach((c, i) => {
      if (sent[i]! >= EACH) return;
      const want = round % 11 === i ? 24_000 : 1 + ((round * 37 + i * 101) % 1700);
      const len = Math.min(EACH - sent[i]!, want);
      c.write(Buffer.alloc(len, 0x10 + i));
      sent[i]! += len;
    });
    await new Promise((r) => setImmediate(r));
  }
  for (const c of clients) c.end();
  for (let t = 0; t < 400 && !(conns.length === CLIENTS.length && conns.every((c) => c.ended)); t++) await new Promise((r) => setTimeout(r, 25));

  const out = conns.map((c) => {
    const own = c.chunks[0]?.[0] ?? -1;
    let bytes = 0, damaged = 0, foreignData = 0, foreignHeaders = 0;
    let example = '';
    const others = conns.filter((o) => o !== c).map((o) => o.port);
    for (const d of c.chunks) {
      bytes += d.length;
      if (!d.every((x) => x === own)) damaged++;
      const m = new Uint8Array(d.buffer);
      const run = foreignRun(m, own);
      if (run >= 0) { foreignData++; example ||= `${m[run]!.toString(16)} x16 at ${run} of a ${m.length} B buffer (chunk at ${d.byteOffset})`; }
      const h = others.map((p) => headerAt(m, p)).find((k) => k >= 0);
      if (h !== undefined) { foreignHeaders++; example ||= `a header from another port at ${h} of a ${m.length} B buffer`; }
    }
    return { own, ended: c.ended, chunks: c.chunks.length, bytes, damaged, foreignData, foreignHeaders, example };
  });
  for (const c of clients) c.destroy();
  reportResult({ conns: out, writeErrors: link.writeErrors, offload: link.offload });
  link.close();
  process.exit(0); // the stack's TIME-WAIT timers would keep the loop alive for 2 MSL
}

if (process.env[NETNS_ENV]) {
  if (process.argv[2] === 'serve') await serveRole(process.argv[3] === 'offload');
} else {
  const { skip } = tunTestSkip();
  for (const offload of [false, true]) {
    test(`over TUN${offload ? ' (offload)' : ''}, a chunk a socket reads holds no other connection's bytes in its memory (4 interleaved kernel clients, IPv4 and IPv6); data intact`, { skip }, async () => {
      const res = await runInNetns(import.meta.url, ['serve', offload ? 'offload' : 'plain'], { timeoutMs: 60_000 });
      assert.equal(res.code, 0, `role failed (timedOut=${res.timedOut}):\n${res.stderr}\n${res.stdout}`);
      const r = res.result as { conns: Array<{ own: number; ended: boolean; chunks: number; bytes: number; damaged: number; foreignData: number; foreignHeaders: number; example: string }>; writeErrors: number; offload: boolean };
      assert.equal(r.offload, offload);
      assert.equal(r.writeErrors, 0);
      assert.deepEqual(r.conns.map((c) => c.own).sort(), CLIENTS.map((_, i) => 0x10 + i), 'one connection per client');
      for (const c of r.conns) {
        const who = `connection of 0x${c.own.toString(16)}`;
        assert.ok(c.ended, `${who}: FIN received`);
        assert.equal(c.bytes, EACH, `${who}: every byte once`);
        assert.equal(c.damaged, 0, `${who}: data intact`);
        assert.ok(c.chunks > 1, `${who}: read in several chunks (${c.chunks})`);
        assert.equal(c.foreignData, 0, `${who}: ${c.foreignData} of ${c.chunks} chunks' memory holds another client's data (${c.example})`);
        assert.equal(c.foreignHeaders, 0, `${who}: ${c.foreignHeaders} of ${c.chunks} chunks' memory holds another connection's TCP header (${c.example})`);
      }
    });
  }
}
