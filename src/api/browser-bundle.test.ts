/**
 * What the browser entry's bundle leaves out, and that Node users still have it: SYN cookies (a flood defence for a
 * host on a network; a page's listeners hear the page's own stacks), their fast path (it pays off only for batched
 * device reads, TUN) and IP fragment reassembly (synack's peers send TCP with DF) are not imported by the stack; the
 * Node entry installs them for every stack (issue 12: the bundle of bench/library.ts,
 * same entry and esbuild settings). Skips when esbuild is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseAddress } from '../wire/address.js';
import { encodeTcpPacket } from '../wire/packet.js';
import { EMPTY, SYN } from '../wire/tcp-types.js';
import { fragmentAt } from '../wire/ip-reassembly.js';
import { VirtualClock } from '../stack/clock.js';
import type { Stack, StackOptions } from '../stack/stack.js';

type Build = typeof import('esbuild').build;
let build: Build | null = null;
try { ({ build } = await import('esbuild')); } catch { /* skipped below */ }
const noEsbuild = build === null && 'esbuild not installed (npm install)';

const root = fileURLToPath(new URL('../..', import.meta.url));
const entry = (name: string): string => JSON.stringify(fileURLToPath(new URL(name, import.meta.url)));

/**
 * Bundles `code` as bench/library.ts does (esbuild, ESM, minified) for `platform`, in a scratch directory, and
 * runs `use` on the output file and the source files in it (relative to the repository) before removing it.
 */
async function bundled<T>(code: string, platform: 'browser' | 'node', use: (out: string, files: string[]) => Promise<T> | T): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'synack-bundle-'));
  try {
    writeFileSync(join(dir, 'entry.js'), code);
    const outfile = join(dir, 'out.mjs');
    const r = await build!({ entryPoints: [join(dir, 'entry.js')], bundle: true, format: 'esm', platform, target: 'es2022', minify: true, outfile, metafile: true, logLevel: 'silent' });
    const out = Object.values(r.metafile.outputs)[0]!;
    const files = Object.keys(out.inputs).filter((k) => out.inputs[k]!.bytesInOutput > 0).map((k) => relative(root, join(process.cwd(), k)).replaceAll('\\', '/'));
    return await use(outfile, files);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A stack listening with a SYN queue of one, then 10 SYNs from as many sources: returns its counters. */
function flood(createStack: (o: StackOptions) => Stack, opts: Partial<StackOptions> = {}): { sent: number; cookies: number; fastPath: number; dropped: number } {
  const s = createStack({ addresses: ['10.0.0.2'], clock: new VirtualClock(), random: (b) => b.fill(3), ...opts });
  let sent = 0;
  s.attach(() => { sent++; });
  s.listen(80, { backlog: 1 });
  const dst = parseAddress('10.0.0.2');
  for (let i = 0; i < 10; i++) {
    s.receive(encodeTcpPacket({ src: parseAddress(`10.9.0.${i + 1}`), dst }, { srcPort: 4000 + i, dstPort: 80, seq: i * 1000, ack: 0, flags: SYN, window: 65535, urgent: 0, options: { mss: 1460 }, payload: EMPTY }));
  }
  s.destroy();
  return { sent, cookies: s.counters.SyncookiesSent, fastPath: s.counters.SynFastPath, dropped: s.counters.TCPReqQFullDrop };
}

test('the browser entry\'s stack bundle (bench/library.ts\'s CORE) has no SYN cookies, fast path or reassembly; a page that installs them has', { skip: noEsbuild }, async () => {
  const core = await bundled(`export { createStack, attachLink, messagePortLink, webSocketLink, connectTcp, listenTcp } from ${entry('./browser.ts')};`, 'browser', (_, f) => f);
  assert.ok(core.includes('src/stack/stack.ts') && core.includes('src/tcp/connection.ts'), `the stack is bundled: ${core.join(', ')}`);
  assert.ok(!core.includes('src/stack/syn-cookies.ts'), 'SYN cookies are left out');
  assert.ok(!core.includes('src/stack/syn-fast-path.ts'), 'the fast path is left out');
  assert.ok(!core.includes('src/stack/reassembly.ts'), 'reassembly is left out');
  const opted = await bundled(`export { createStack, installSynCookies, installSynFastPath, installIpReassembly } from ${entry('./browser.ts')};`, 'browser', (_, f) => f);
  assert.ok(opted.includes('src/stack/syn-cookies.ts'), 'installSynCookies brings SYN cookies');
  assert.ok(opted.includes('src/stack/syn-fast-path.ts'), 'installSynFastPath brings the fast path');
  assert.ok(opted.includes('src/stack/reassembly.ts'), 'installIpReassembly brings reassembly');
});

test('a page\'s stack drops SYNs past a full SYN queue until the page installs SYN cookies, then answers them with cookies', { skip: noEsbuild }, async () => {
  const got = await bundled(`export { createStack, installSynCookies } from ${entry('./browser.ts')};`, 'browser', async (out) => {
    const page = (await import(pathToFileURL(out).href)) as { createStack: (o: StackOptions) => Stack; installSynCookies: (s?: Stack) => void };
    const before = flood(page.createStack);
    page.installSynCookies();
    return { before, after: flood(page.createStack) };
  });
  assert.deepEqual(got.before, { sent: 1, cookies: 0, fastPath: 0, dropped: 9 }, 'the first SYN fills the queue; the rest are dropped and counted');
  assert.deepEqual(got.after, { sent: 10, cookies: 9, fastPath: 0, dropped: 0 }, 'installed: the rest get cookies, on the general path');
});

test('in Node (the synack entry) every stack answers a SYN flood on the fast path and reassembles fragments, as before they were installable', async () => {
  const { createStack } = await import('./index.js');
  assert.deepEqual(flood(createStack), { sent: 10, cookies: 9, fastPath: 9, dropped: 0 }, 'the first SYN fills the queue, the rest get cookies, by the fast path');
  assert.deepEqual(flood(createStack, { synFastPath: false }), { sent: 10, cookies: 9, fastPath: 0, dropped: 0 });
  const s = createStack({ addresses: ['10.0.0.2'], clock: new VirtualClock() });
  let sent = 0;
  s.attach(() => { sent++; });
  s.listen(80);
  const syn = encodeTcpPacket({ src: parseAddress('10.9.0.1'), dst: parseAddress('10.0.0.2'), df: false, id: 7 }, { srcPort: 4000, dstPort: 80, seq: 1, ack: 0, flags: SYN, window: 65535, urgent: 0, options: { mss: 1460, sackPermitted: true, tsVal: 1, tsEcr: 0, wscale: 7 }, payload: EMPTY });
  for (const f of fragmentAt(syn, [24], 7)) s.receive(f);
  assert.equal(sent, 1, 'the SYN in two fragments is answered');
  assert.equal(s.snapshot().ReasmOKs, 1);
  s.destroy();
});

test('a Node program bundled from the synack entry (package.json sideEffects) still installs the fast path', { skip: noEsbuild }, async () => {
  const got = await bundled(`export { createStack } from ${entry('./index.ts')};`, 'node', async (out) => {
    const { createStack } = (await import(pathToFileURL(out).href)) as { createStack: (o: StackOptions) => Stack };
    return flood(createStack);
  });
  assert.equal(got.fastPath, 9);
});
