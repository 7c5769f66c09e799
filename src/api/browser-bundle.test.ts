/**
 * What the browser entry's bundle leaves out, and that Node users still have it: the SYN-cookie fast path pays off
 * only for batched device reads (TUN), so the stack does not import it; the Node entry installs it for every stack
 * (issue 12: the bundle of bench/library.ts, same entry and esbuild settings). Skips when esbuild is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAddress } from '../wire/address.js';
import { encodeTcpPacket } from '../wire/packet.js';
import { EMPTY, SYN } from '../wire/tcp-types.js';
import { VirtualClock } from '../stack/clock.js';

type Build = typeof import('esbuild').build;
let build: Build | null = null;
try { ({ build } = await import('esbuild')); } catch { /* skipped below */ }
const noEsbuild = build === null && 'esbuild not installed (npm install)';

const root = fileURLToPath(new URL('../..', import.meta.url));
const browserEntry = fileURLToPath(new URL('./browser.ts', import.meta.url));

/** The source files in a minified browser bundle of `code` (esbuild's metafile), relative to the repository. */
async function bundledFiles(code: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'synack-bundle-'));
  try {
    writeFileSync(join(dir, 'entry.js'), code);
    const r = await build!({ entryPoints: [join(dir, 'entry.js')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, outfile: join(dir, 'out.js'), metafile: true, logLevel: 'silent' });
    const out = Object.values(r.metafile.outputs)[0]!;
    return Object.keys(out.inputs).filter((k) => out.inputs[k]!.bytesInOutput > 0).map((k) => relative(root, join(process.cwd(), k)).replaceAll('\\', '/'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the browser entry\'s stack bundle (bench/library.ts\'s CORE) has no SYN-cookie fast path; a page that installs it has', { skip: noEsbuild }, async () => {
  const core = await bundledFiles(`export { createStack, attachLink, messagePortLink, webSocketLink, connectTcp, listenTcp } from ${JSON.stringify(browserEntry)};`);
  assert.ok(core.includes('src/stack/stack.ts') && core.includes('src/tcp/connection.ts'), `the stack is bundled: ${core.join(', ')}`);
  assert.ok(!core.includes('src/stack/syn-fast-path.ts'), 'the fast path is left out');
  const opted = await bundledFiles(`export { createStack, installSynFastPath } from ${JSON.stringify(browserEntry)};`);
  assert.ok(opted.includes('src/stack/syn-fast-path.ts'), 'installSynFastPath brings it');
});

test('in Node (the synack entry) every stack answers a SYN flood on the fast path, as before it was installable', async () => {
  const { createStack } = await import('./index.js');
  for (const synFastPath of [undefined, false]) {
    const s = createStack({ addresses: ['10.0.0.2'], clock: new VirtualClock(), random: (b) => b.fill(3), ...(synFastPath === undefined ? {} : { synFastPath }) });
    const sent: Uint8Array[] = [];
    s.attach((p) => { sent.push(p); });
    s.listen(80, { backlog: 1 });
    const dst = parseAddress('10.0.0.2');
    for (let i = 0; i < 10; i++) {
      s.receive(encodeTcpPacket({ src: parseAddress(`10.9.0.${i + 1}`), dst }, { srcPort: 4000 + i, dstPort: 80, seq: i * 1000, ack: 0, flags: SYN, window: 65535, urgent: 0, options: { mss: 1460 }, payload: EMPTY }));
    }
    assert.equal(sent.length, 10, 'every SYN answered');
    assert.equal(s.counters.SyncookiesSent, 9, 'the first fills the SYN queue, the rest get cookies');
    assert.equal(s.counters.SynFastPath, synFastPath === false ? 0 : 9, `synFastPath: ${synFastPath}`);
    s.destroy();
  }
});
