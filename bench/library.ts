/**
 * The library as users get it (issue 12): the browser bundle of the core stack with web-stream sockets
 * (gzipped size; goal ≤ 40 KB) and its 1 MiB transfer in Chromium; node:http requests per second between two
 * in-process synack stacks (real clock, in-memory link) against the same handler and client on kernel sockets
 * over 127.0.0.1, in the same run. `npm run bench -- library --metafile` also prints the core bundle's minified bytes
 * by source file (esbuild's metafile) and what each file costs of the gzipped size (the bundle gzipped without that
 * file's bytes, from the source map), largest cost first: gzip already shares repeated text (the compact TCB's
 * accessors are 10 KB minified but ~2 KB of the gzip), so the second column is the one a size cut is measured by.
 */
import http from 'node:http';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { Network } from '../src/link/network.js';
import { createNet } from '../src/stack/node-net.js';
import type { BenchResult } from './results.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const browserEntry = fileURLToPath(new URL('../src/api/browser.ts', import.meta.url));

/** What a page that uses the stack with streams imports (tree-shaken like any app's bundle). */
const CORE = `export { createStack, attachLink, messagePortLink, webSocketLink, connectTcp, listenTcp } from ${JSON.stringify(browserEntry)};`;

const PAGE = `
import { createStack, attachLink, messagePortLink, connectTcp, listenTcp } from ${JSON.stringify(browserEntry)};
window.transfer = async () => {
  const { port1, port2 } = new MessageChannel();
  const a = createStack({ addresses: ['10.7.0.1'] }), b = createStack({ addresses: ['10.7.0.2'] });
  attachLink(a, messagePortLink(port1)); attachLink(b, messagePortLink(port2));
  const server = listenTcp(b, { port: 9 });
  const { readable: conns } = await server.opened;
  let got = 0;
  const done = conns.getReader().read().then(async ({ value }) => {
    const { readable } = await value.opened;
    const r = readable.getReader();
    for (let x = await r.read(); !x.done; x = await r.read()) got += x.value.length;
  });
  const t0 = performance.now();
  const { writable } = await connectTcp(a, { host: '10.7.0.2', port: 9 }).opened;
  const w = writable.getWriter();
  const chunk = new Uint8Array(65536);
  for (let i = 0; i < 16; i++) await w.write(chunk);
  await w.close();
  await done;
  const ms = performance.now() - t0;
  a.destroy(); b.destroy();
  return { got, ms };
};
window.ready = true;
`;

async function bundle(code: string, showInputs = false): Promise<Buffer> {
  const { build } = await import('esbuild');
  const dir = mkdtempSync(join(tmpdir(), 'synack-bench-lib-'));
  try {
    writeFileSync(join(dir, 'entry.js'), code);
    // An external source map leaves the output's bytes as they are (no sourceMappingURL comment).
    const r = await build({ entryPoints: [join(dir, 'entry.js')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, outfile: join(dir, 'out.js'), logLevel: 'silent', metafile: showInputs, sourcemap: showInputs ? 'external' : false });
    const out = readFileSync(join(dir, 'out.js'));
    if (showInputs) {
      const inputs = Object.entries(r.metafile!.outputs).find(([file]) => file.endsWith('.js'))![1].inputs;
      const gz = gzipCostBySource(out.toString(), JSON.parse(readFileSync(join(dir, 'out.js.map'), 'utf8')) as SourceMap);
      const name = (file: string): string => file.replace(/^.*?(?=src\/)/, '');
      const rows = Object.entries(inputs).filter(([, v]) => v.bytesInOutput > 0).map(([file, v]) => ({ file: name(file), min: v.bytesInOutput, gz: gz.get(name(file)) ?? 0 }));
      rows.sort((a, b) => b.gz - a.gz || b.min - a.min);
      console.log('  core bundle by source file: minified bytes, and bytes of the gzipped bundle that go with the file');
      for (const row of rows) console.log(`  ${String(row.min).padStart(8)} ${String(row.gz).padStart(7)} gz  ${row.file}`);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface SourceMap { sources: string[]; mappings: string }

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * For each source of a bundle (named as bundle() prints them), how many bytes smaller the gzipped bundle is
 * without the characters the source map attributes to it. Each generated range runs from one mapping to the
 * next on its line (source map v3: base64 VLQ fields, generated column and source index as deltas); esbuild
 * escapes non-ASCII characters by default, so a column is a byte.
 */
function gzipCostBySource(out: string, map: SourceMap): Map<string, number> {
  const owner = new Int16Array(out.length).fill(-1);
  let lineStart = 0, src = 0, prevStart = -1, prevSrc = -1;
  const lineEnd = (from: number): number => { const i = out.indexOf('\n', from); return i < 0 ? out.length : i; };
  const close = (end: number): void => { if (prevStart >= 0 && prevSrc >= 0) owner.fill(prevSrc, prevStart, end); prevStart = -1; };
  let i = 0, col = 0;
  const m = map.mappings;
  while (i < m.length) {
    const ch = m[i]!;
    if (ch === ';') { close(lineEnd(lineStart)); lineStart = lineEnd(lineStart) + 1; col = 0; i++; continue; }
    if (ch === ',') { i++; continue; }
    const fields: number[] = [];
    while (i < m.length && m[i] !== ',' && m[i] !== ';') {
      let value = 0, shift = 0, digit: number;
      do { digit = B64.indexOf(m[i++]!); value += (digit & 31) << shift; shift += 5; } while (digit & 32);
      fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
    }
    col += fields[0]!;
    close(lineStart + col);
    prevStart = lineStart + col;
    if (fields.length >= 4) { src += fields[1]!; prevSrc = src; } else prevSrc = -1;
  }
  close(lineEnd(lineStart));
  const total = gzipSync(out).length;
  const costs = new Map<string, number>();
  for (let s = 0; s < map.sources.length; s++) {
    let kept = '';
    let from = 0;
    for (let k = 0; k <= out.length; k++) {
      if (k === out.length || owner[k] === s) { if (k > from) kept += out.slice(from, k); from = k + 1; }
    }
    const name = map.sources[s]!.replace(/^.*?(?=src\/)/, '');
    costs.set(name, (costs.get(name) ?? 0) + total - gzipSync(kept).length);
  }
  return costs;
}

async function chromiumTransfer(page: Buffer): Promise<number> {
  const web = http.createServer((req, res) => {
    if (req.url === '/p.js') { res.setHeader('content-type', 'text/javascript'); res.end(page); return; }
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><script type="module" src="/p.js"></script>');
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  try {
    const p = await browser.newPage();
    await p.goto(`http://127.0.0.1:${(web.address() as AddressInfo).port}/`);
    await p.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await p.evaluate(() => (window as unknown as { transfer(): Promise<{ got: number; ms: number }> }).transfer());
      if (r.got !== 1 << 20) throw new Error(`transfer delivered ${r.got} bytes`);
      times.push(r.ms);
    }
    times.sort((x, y) => x - y);
    return times[2]!;
  } finally {
    await browser.close();
    await new Promise<void>((r) => web.close(() => r()));
  }
}

const handler: http.RequestListener = (req, res) => { req.resume(); req.on('end', () => res.end('hello from the handler\n')); };

/** Requests per second: `total` GETs, `concurrency` at a time, over a keep-alive agent. */
async function requestRate(agent: http.Agent, host: string, port: number, total: number, concurrency: number): Promise<number> {
  let next = 0;
  const one = () => new Promise<void>((resolve, reject) => {
    http.get({ host, port, path: '/', agent }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject);
  });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => { while (next++ < total) await one(); }));
  return total / ((performance.now() - t0) / 1000);
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const core = await bundle(CORE, process.argv.includes('--metafile'));
  out.push({ name: 'library.browser-bundle-gzip', value: Math.round(gzipSync(core).length / 102.4) / 10, unit: 'KB (goal ≤ 40)' });
  if (existsSync(CHROMIUM)) {
    const ms = await chromiumTransfer(await bundle(PAGE));
    out.push({ name: 'library.browser-1MiB-transfer', value: Math.round(ms), unit: 'ms (Chromium, MessageChannel, median of 5)' });
  }
  // node:http between two stacks, real clock, no impairments: the cost of the stack and its socket layer.
  const TOTAL = 5000, C = 20;
  const network = new Network({ realTime: true, delayMs: 0, seed: 1 });
  const server = network.addStack({ name: 'server', addresses: ['10.8.0.1'] });
  const client = network.addStack({ name: 'client', addresses: ['10.8.0.2'] });
  createNet(server).serve(http.createServer(handler), 80);
  const agent = new http.Agent({ keepAlive: true, maxSockets: C });
  agent.createConnection = createNet(client).createConnection;
  await requestRate(agent, '10.8.0.1', 80, 200, C); // warm-up
  const ours = await requestRate(agent, '10.8.0.1', 80, TOTAL, C);
  agent.destroy();
  network.close();
  const kernelServer = http.createServer(handler);
  await new Promise<void>((r) => kernelServer.listen(0, '127.0.0.1', () => r()));
  const kAgent = new http.Agent({ keepAlive: true, maxSockets: C });
  const kPort = (kernelServer.address() as AddressInfo).port;
  await requestRate(kAgent, '127.0.0.1', kPort, 200, C);
  const kernel = await requestRate(kAgent, '127.0.0.1', kPort, TOTAL, C);
  kAgent.destroy();
  await new Promise<void>((r) => kernelServer.close(() => r()));
  out.push({
    name: 'library.node-http-keepalive', value: Math.round(ours), unit: 'req/s (two in-process stacks, 20 at a time)',
    peer: 'kernel sockets on 127.0.0.1, same process', peerValue: Math.round(kernel), ratio: Math.round((ours / kernel) * 100) / 100,
  });
  return out;
}
