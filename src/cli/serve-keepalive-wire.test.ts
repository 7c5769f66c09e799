// `synack serve --http` answering keep-alive requests from the kernel's TCP: what synack puts on the wire per
// request. A request answered at once is acknowledged by its response (the delayed ACK rides on the data,
// RFC 9293 §3.8.6.3 / RFC 1122 §4.2.3.2, as Linux does), and a response that fits one MSS leaves as one
// segment (headers and body written together, no Nagle stall): exactly one segment out per request, no pure
// ACK in between. Checked with the CLI's defaults (offload, writer thread) and with neither (plain device,
// writes from the event loop). The client is Node's http over kernel sockets, in a fresh namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { PassThrough } from 'node:stream';
import { startServe } from './serve.js';
import { runInNetns, reportResult, NETNS_ENV } from '../link/netns.js';
import { tunTestSkip } from '../link/tun-testkit.js';

const REQUESTS = 60;
const BODY = 1000;

interface Seg { dir: 'in' | 'out'; sport: number; dport: number; flags: number; len: number }

/** Ports, flags and TCP payload length of an IPv4 datagram (lengths from the headers: observers may see headers only). */
function seg(dir: 'in' | 'out', p: Uint8Array): Seg | null {
  if (p[0]! >> 4 !== 4 || p[9] !== 6) return null;
  const ihl = (p[0]! & 0x0f) * 4;
  const total = (p[2]! << 8) | p[3]!;
  const doff = (p[ihl + 12]! >> 4) * 4;
  return { dir, sport: (p[ihl]! << 8) | p[ihl + 1]!, dport: (p[ihl + 2]! << 8) | p[ihl + 3]!, flags: p[ihl + 13]!, len: total - ihl - doff };
}

async function serveRole(): Promise<void> {
  const out: Record<string, unknown> = {};
  for (const [name, o] of [['defaults', { offload: true, writeThread: true }], ['plain', { offload: false, writeThread: false }]] as const) {
    const io = { stdout: new PassThrough(), stderr: new PassThrough(), stdin: new PassThrough() };
    const h = await startServe({ addr: ['10.77.0.2'], peer: ['10.77.0.1/24'], http: 80, synRate: 0, ...o }, io);
    const segs: Seg[] = [];
    h.stack.observePackets((dir, p) => { const s = seg(dir, p); if (s) segs.push(s); }, { headersOnly: true });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const bodies: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      bodies.push(await new Promise<number>((resolve, reject) => {
        http.get({ host: '10.77.0.2', port: 80, path: `/bytes/${BODY}`, agent }, (res) => {
          let n = 0;
          res.on('data', (d: Buffer) => (n += d.length));
          res.on('end', () => resolve(n));
        }).on('error', reject);
      }));
    }
    agent.destroy();
    await new Promise((r) => setTimeout(r, 300)); // the close's segments
    await h.stop(100);
    out[name] = { bodies, segs };
  }
  reportResult(out);
}

const role = process.env[NETNS_ENV] ? process.argv[2] : undefined;
if (role === 'serve') await serveRole();
else if (role === undefined) {
  const { skip } = tunTestSkip('serve wire tests need root, /dev/net/tun, unshare and the addon');
  test(`keep-alive: each of ${REQUESTS} requests on one connection gets exactly one segment from synack serve, its whole response, and no pure ACK between handshake and close (CLI defaults; plain device without the writer thread)`, { skip }, async () => {
    const res = await runInNetns(import.meta.url, ['serve'], { timeoutMs: 60_000 });
    assert.equal(res.code, 0, res.stderr + res.stdout);
    for (const [name, r] of Object.entries(res.result as Record<string, { bodies: number[]; segs: Seg[] }>)) {
      assert.deepEqual(r.bodies, Array(REQUESTS).fill(BODY), `${name}: every body whole`);
      const conns = new Set(r.segs.map((s) => (s.dir === 'in' ? s.sport : s.dport)));
      assert.equal(conns.size, 1, `${name}: one connection for all requests`);
      // From synack's SYN+ACK to its first FIN (or the peer's, whichever comes first).
      const synAck = r.segs.findIndex((s) => s.dir === 'out' && (s.flags & 0x12) === 0x12);
      const fin = r.segs.findIndex((s) => (s.flags & 0x01) !== 0);
      assert.ok(synAck >= 0 && fin > synAck, `${name}: a handshake and a close were seen`);
      const between = r.segs.slice(synAck + 1, fin);
      const requests = between.filter((s) => s.dir === 'in' && s.len > 0);
      const sent = between.filter((s) => s.dir === 'out');
      assert.equal(requests.length, REQUESTS, `${name}: each request in one segment`);
      assert.deepEqual(sent.filter((s) => s.len === 0).map((s) => s.flags), [], `${name}: no pure ACK from synack`);
      assert.equal(sent.length, REQUESTS, `${name}: one segment out per request`);
      assert.ok(sent.every((s) => s.len > BODY), `${name}: each carries the headers and the whole body`);
      // Each response follows its request: in, out, in, out ...
      const order = between.filter((s) => s.len > 0).map((s) => s.dir).join(' ');
      assert.equal(order, Array(REQUESTS).fill('in out').join(' '), `${name}: request, response, request ...`);
    }
  });
}
