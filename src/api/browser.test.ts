/**
 * The browser entry in a real browser: a page bundled from `synack`'s browser condition (src/api/browser.ts, no
 * Node built-ins: esbuild for platform 'browser' fails on any) runs in headless Chromium. Two stacks in the page
 * joined by a MessageChannel move 1 MiB; and the page's stack, tunnelled through a WebSocket packet link, talks
 * TCP to a stack in this Node process; and the in-memory Network runs in virtual time there (no setImmediate).
 * Skips when Chromium is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { Stack } from '../stack/stack.js';
import { RealClock } from '../stack/clock.js';
import { listenTcp, type TcpSocket } from '../stack/stream-socket.js';
import { attachLink, webSocketLink, type WebSocketLike } from '../link/packet-link.js';

const CHROMIUM = '/usr/bin/chromium';
const noBrowser = !existsSync(CHROMIUM) && 'chromium not installed (apt-get install chromium)';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const browserEntry = fileURLToPath(new URL('./browser.ts', import.meta.url));

/** The page: everything it uses comes from the browser entry. */
const PAGE_SCRIPT = `
import { createStack, attachLink, messagePortLink, webSocketLink, connectTcp, listenTcp, Network } from ${JSON.stringify(browserEntry)};

const hex = async (data) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', data))].map((b) => b.toString(16).padStart(2, '0')).join('');
const pattern = (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = (i * 131 + (i >>> 11)) & 255; return b; };
async function readAll(readable) {
  const parts = []; let n = 0;
  const r = readable.getReader();
  for (let x = await r.read(); !x.done; x = await r.read()) { parts.push(x.value); n += x.value.length; }
  const out = new Uint8Array(n); let o = 0; for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
async function send(stack, host, port, data) {
  const sock = connectTcp(stack, { host, port });
  const { readable, writable } = await sock.opened;
  const w = writable.getWriter();
  for (let o = 0; o < data.length; o += 65536) await w.write(data.subarray(o, o + 65536));
  await w.close();
  return readAll(readable);
}

window.channelTest = async () => {
  const { port1, port2 } = new MessageChannel();
  // The client reads the echo only after writing all of it: a fixed window, with room for the whole 1 MiB
  // (an autotuned one offers 64 KiB to a reader that has read nothing, and the echo would stall the writes).
  const a = createStack({ addresses: ['10.7.0.1'], tcp: { recvBufferAutotune: false } }), b = createStack({ addresses: ['10.7.0.2'] });
  attachLink(a, messagePortLink(port1)); attachLink(b, messagePortLink(port2));
  const server = listenTcp(b, { port: 80 });
  const { readable: conns } = await server.opened;
  // The server answers with everything it read, reversed in order of 64 KiB blocks' first bytes: a real echo.
  conns.getReader().read().then(async ({ value }) => { const { readable, writable } = await value.opened; await readable.pipeTo(writable); });
  const data = pattern(1 << 20);
  const t0 = performance.now();
  const echoed = await send(a, '10.7.0.2', 80, data);
  const ms = performance.now() - t0;
  a.destroy(); b.destroy();
  return { length: echoed.length, same: (await hex(echoed)) === (await hex(data)), ms };
};

window.webSocketTest = async (url) => {
  const stack = createStack({ addresses: ['fd07::2'] });
  attachLink(stack, webSocketLink(new WebSocket(url)));
  const data = pattern(1 << 20);
  const reply = new TextDecoder().decode(await send(stack, 'fd07::1', 443, data));
  stack.destroy();
  return { reply, expected: await hex(data) };
};
// The in-memory Network in virtual time (no setImmediate in a browser): 1 % loss, 256 KiB, seconds of virtual time.
window.networkTest = async () => {
  const net = new Network({ seed: 9, delayMs: 20, impairments: { loss: 0.01 } });
  const a = net.addStack({ addresses: ['10.6.0.1'] }), b = net.addStack({ addresses: ['10.6.0.2'] });
  const server = listenTcp(b, { port: 5 });
  let got = 0, done = false;
  server.opened.then(({ readable }) => readable.getReader().read()).then(async ({ value }) => {
    const { readable } = await value.opened;
    const r = readable.getReader();
    for (let x = await r.read(); !x.done; x = await r.read()) got += x.value.length;
    done = true;
  });
  const sock = connectTcp(a, { host: '10.6.0.2', port: 5 });
  sock.opened.then(async ({ writable }) => { const w = writable.getWriter(); await w.write(pattern(1 << 18)); await w.close(); });
  const t0 = performance.now();
  await net.runUntil(() => done, 600000);
  const lost = net.wire.counters(0, 1).lost + net.wire.counters(1, 0).lost;
  return { got, lost, virtualMs: net.now, realMs: performance.now() - t0 };
};
window.ready = true;
`;

test('the browser entry in Chromium: MessageChannel and WebSocket links move 1 MiB intact', { skip: noBrowser, timeout: 180_000 }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'synack-browser-'));
  const { build } = await import('esbuild');
  writeFileSync(join(tmp, 'page.js'), PAGE_SCRIPT);
  await build({ entryPoints: [join(tmp, 'page.js')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, outfile: join(tmp, 'bundle.js'), logLevel: 'silent' });
  const bundle = readFileSync(join(tmp, 'bundle.js'));
  // The Node stack on the far side of the WebSocket: answers the sha256 of what it read.
  const nodeStack = new Stack({ name: 'node', addresses: ['fd07::1'], clock: new RealClock() });
  const srv = listenTcp(nodeStack, { port: 443 });
  void srv.opened.then(async ({ readable }) => {
    for await (const conn of readable as unknown as AsyncIterable<TcpSocket>) {
      void conn.opened.then(async ({ readable: r, writable: w }) => {
        const h = createHash('sha256');
        for await (const c of r as unknown as AsyncIterable<Uint8Array>) h.update(c);
        const wr = w.getWriter();
        await wr.write(new TextEncoder().encode(h.digest('hex')));
        await wr.close();
      });
    }
  });
  const web = http.createServer((req, res) => {
    if (req.url === '/bundle.js') { res.setHeader('content-type', 'text/javascript'); res.end(bundle); return; }
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><meta charset="utf-8"><title>synack in the browser</title><script type="module" src="/bundle.js"></script>');
  });
  const wss = new WebSocketServer({ server: web, path: '/link' });
  wss.on('connection', (ws) => { attachLink(nodeStack, webSocketLink(ws as unknown as WebSocketLike)); });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
  const port = (web.address() as { port: number }).port;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    const ch = await page.evaluate(() => (window as unknown as { channelTest(): Promise<{ length: number; same: boolean; ms: number }> }).channelTest());
    assert.equal(ch.length, 1 << 20);
    assert.equal(ch.same, true);
    const vn = await page.evaluate(() => (window as unknown as { networkTest(): Promise<{ got: number; lost: number; virtualMs: number; realMs: number }> }).networkTest());
    assert.equal(vn.got, 1 << 18);
    assert.ok(vn.lost > 0, 'the in-memory wire lost packets');
    const ws = await page.evaluate((u) => (window as unknown as { webSocketTest(u: string): Promise<{ reply: string; expected: string }> }).webSocketTest(u), `ws://127.0.0.1:${port}/link`);
    assert.equal(ws.reply, ws.expected);
    assert.deepEqual(errors, []);
    // Not a timing assertion: a line for whoever reads the test log.
    console.log(`# browser bundle ${bundle.length} B (${gzipSync(bundle).length} B gzipped); 1 MiB echoed over a MessageChannel in ${ch.ms.toFixed(0)} ms`);
  } finally {
    await browser.close();
    nodeStack.destroy();
    wss.close();
    await new Promise<void>((r) => web.close(() => r()));
    rmSync(tmp, { recursive: true, force: true });
  }
});
