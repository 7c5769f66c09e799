// End to end: `synack ui` serving the page (built fresh from ui/), driven in Debian's Chromium by playwright-core.
// Skips when /usr/bin/chromium is absent. Screenshots go to test-artifacts/ for a person to look at.
import { test, before, after, afterEach, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { uiCommand } from './ui.js';
import { demoCommand } from './demo.js';
import { Analyzer } from '../analyze/analyzer.js';
import { readCapture } from '../wire/capture.js';
import { decodePacket } from '../wire/packet.js';
import { flagsToString } from '../wire/tcp-types.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shared = process.env.SYNACK_SHARED ?? path.resolve(repoRoot, '../shared');
const CHROMIUM = '/usr/bin/chromium';
const noBrowser = !existsSync(CHROMIUM) && 'chromium not installed (apt-get install chromium)';
const artifacts = path.join(repoRoot, 'test-artifacts');
const sharedTrace = path.join(shared, 'pcap-corpus/zeek/traces/ftp/ipv4.pcap');
const sharedExpected = path.join(shared, 'pcap-corpus/zeek/expected/ftp__ipv4.pcap.conn.tsv');

interface Served { url: string; stop(): Promise<number> }

/** Runs the real `synack ui` command on a free port and returns the URL it printed. */
async function serve(dist: string, files: string[] = []): Promise<Served> {
  const ac = new AbortController();
  let out = '';
  let err = '';
  let resolveUrl!: (u: string) => void;
  const urlP = new Promise<string>((r) => { resolveUrl = r; });
  const io = {
    stdout: { write: (s: string) => { out += s; const m = /serving the page at (http:\/\/\S+)/.exec(out); if (m) resolveUrl(m[1]!); return true; } },
    stderr: { write: (s: string) => { err += s; return true; } },
  };
  const done = uiCommand(['--port', '0', '--dist', dist, ...files], io, ac.signal);
  const url = await Promise.race([urlP, done.then((code) => { throw new Error(`synack ui exited ${code}: ${err}`); })]);
  return { url, stop: async () => { ac.abort(); return done; } };
}

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('synack ui in Chromium', { skip: noBrowser }, () => {
  let tmp = '';
  let dist = '';
  let ctx: BrowserContext;
  let page: Page;
  let server: Served;
  let demoPcap = '';
  /** Page errors and requests to anywhere but synack ui, checked after every test. */
  const problems: string[] = [];

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'synack-ui-e2e-'));
    dist = path.join(tmp, 'dist');
    // Build the page from the current sources, so the test never runs a stale ui/dist.
    const { build } = await import('vite');
    await build({ configFile: path.join(repoRoot, 'ui/vite.config.ts'), build: { outDir: dist, emptyOutDir: true }, logLevel: 'silent' });
    mkdirSync(artifacts, { recursive: true });
    demoPcap = path.join(tmp, 'demo.pcapng');
    const quiet = { write: () => true };
    assert.equal(await demoCommand(['--pcap', demoPcap], { stdout: quiet, stderr: process.stderr, stdin: process.stdin } as never), 0);
    server = await serve(dist);
    const { chromium } = await import('playwright-core');
    ctx = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
      executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1366, height: 800 }, acceptDownloads: true,
    });
    page = ctx.pages()[0] ?? await ctx.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // No external network requests: everything the page loads comes from synack ui.
    const origin = new URL(server.url).origin;
    ctx.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith('http://127.0.0.1:') && !u.startsWith('blob:') && !u.startsWith('data:')) problems.push(`external request: ${u}`);
    });
    assert.ok(origin.startsWith('http://127.0.0.1:'));
    await page.goto(server.url);
    await page.waitForSelector('body[data-ran="four-way-close"]', { timeout: 20_000 });
  });

  afterEach(() => { assert.deepEqual(problems.splice(0), []); });

  after(async () => {
    await ctx?.close();
    if (server) assert.equal(await server.stop(), 0);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const shot = (name: string) => page.screenshot({ path: path.join(artifacts, `ui-${name}.png`) });
  const litState = (side: 'a' | 'b') => page.textContent(`#sm-${side}-title .current-state`);
  const litNode = (side: 'a' | 'b') => page.getAttribute(`#sm-${side} g.node.lit`, 'data-node');

  test('four-way close: SYN, SYN+ACK, ACK, FIN, ACK, FIN, ACK arrows with their labels', async () => {
    const labels = await page.$$eval('svg.ladder g.row.seg text.label', (els) => els.map((e) => e.textContent));
    assert.equal(labels.length, 7);
    const expected = [/^SYN seq=0 len=0 win=\d+$/, /^SYN\+ACK seq=0 ack=1 len=0 win=\d+$/, /^ACK seq=1 ack=1 len=0 win=\d+$/,
      /^FIN\+ACK seq=1 ack=1 len=0 win=\d+$/, /^ACK seq=1 ack=2 len=0 win=\d+$/, /^FIN\+ACK seq=1 ack=2 len=0 win=\d+$/, /^ACK seq=2 ack=2 len=0 win=\d+$/];
    labels.forEach((l, i) => assert.match(l!, expected[i]!));
    const from = await page.$$eval('svg.ladder g.row.seg', (els) => els.map((e) => e.getAttribute('data-from')));
    assert.deepEqual(from, ['a', 'b', 'a', 'a', 'b', 'b', 'a']);
    // The client's states beside its timeline end TIME-WAIT then CLOSED.
    const clientStates = await page.$$eval('svg.ladder text.state-a', (els) => els.map((e) => e.textContent));
    assert.deepEqual(clientStates.slice(-2), ['TIME-WAIT', 'CLOSED']);
    assert.equal(await litState('a'), 'CLOSED');
    assert.equal(await litNode('a'), 'CLOSED-END');
    await shot('four-way-close');
  });

  test('stepping back and forth lights the right states', async () => {
    await page.focus('#ladder-wrap');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await litState('a'), 'TIME-WAIT');
    assert.equal(await page.getAttribute('#sm-a g.edge.taken', 'data-from'), 'FIN-WAIT-2');
    assert.equal(await litState('b'), 'CLOSED');
    await page.keyboard.press('Home');
    assert.deepEqual([await litState('a'), await litState('b')], ['CLOSED', 'LISTEN']);
    assert.equal(await litNode('a'), 'CLOSED');
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('ArrowRight');
      seen.push(`${await litState('a')}/${await litState('b')}`);
    }
    assert.deepEqual(seen, ['SYN-SENT/LISTEN', 'SYN-SENT/SYN-RECEIVED', 'ESTABLISHED/SYN-RECEIVED', 'ESTABLISHED/ESTABLISHED']);
    await page.keyboard.press('ArrowLeft');
    assert.deepEqual([await litState('a'), await litState('b')], ['ESTABLISHED', 'SYN-RECEIVED']);
    assert.equal(await page.getAttribute('#sm-b g.edge.taken', 'data-to'), 'SYN-RECEIVED');
    assert.equal(await page.$$eval('svg.ladder g.row.future', (els) => els.length), 11 - 3);
    await shot('stepped');
    // Space plays to the end at the chosen speed.
    await page.selectOption('#speed', '10');
    await page.focus('#ladder-wrap');
    await page.keyboard.press(' ');
    await page.waitForFunction(() => document.getElementById('step-label')!.textContent!.startsWith('step 11 / 11'), null, { timeout: 10_000 });
    assert.equal(await litState('a'), 'CLOSED');
  });

  test('clicking a segment shows its header fields and the RFC 9293 rule applied', async () => {
    await page.waitForFunction(() => document.getElementById('btn-play')!.textContent === '▶ Play');
    // Click at the row's left edge (its time label), where no neighbouring arrow reaches.
    await page.click('svg.ladder rect.band[data-row="1"]', { position: { x: 40, y: 19 }, force: true });
    assert.equal(await page.getAttribute('svg.ladder rect.band.selected', 'data-row'), '1');
    await page.waitForSelector('#detail:not([hidden])');
    assert.match((await page.textContent('#detail-rule'))!, /RFC 9293 §3\.10\.7\.2 — server: LISTEN: a SYN opens the connection passively/);
    const fields = await page.textContent('#detail-fields');
    assert.match(fields!, /Maximum segment size \(kind 2\)\s*1460 bytes/);
    assert.match(fields!, /Header checksum\s*0x[0-9a-f]{4} \[correct\]/);
    await shot('detail');
    await page.keyboard.press('Escape');
  });

  test('export SVG: the download parses as SVG with the seven arrows', async () => {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#btn-svg')]);
    const file = path.join(tmp, 'ladder.svg');
    await dl.saveAs(file);
    const text = readFileSync(file, 'utf8');
    const parsed = await page.evaluate((src) => {
      const doc = new DOMParser().parseFromString(src, 'image/svg+xml');
      return { error: doc.getElementsByTagName('parsererror').length, root: doc.documentElement.nodeName, segs: doc.querySelectorAll('line.seg').length };
    }, text);
    assert.deepEqual(parsed, { error: 0, root: 'svg', segs: 7 });
  });

  test('export pcapng: the download holds the run\'s packets', async () => {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#btn-pcapng')]);
    const file = path.join(tmp, 'run.pcapng');
    await dl.saveAs(file);
    const flags = [...readCapture(new Uint8Array(readFileSync(file)))].map((r) => flagsToString(decodePacket(r.data).tcp!.seg.flags));
    assert.deepEqual(flags, ['SYN', 'SYN+ACK', 'ACK', 'FIN+ACK', 'ACK', 'FIN+ACK', 'ACK']);
  });

  test('a built scenario: the server closes first', async () => {
    await page.selectOption('#scenario-select', 'custom');
    await page.selectOption('#b-closer', 'server');
    await page.fill('#b-c2s-delay', '25');
    await page.click('#run-btn');
    await page.waitForSelector('body[data-ran="custom"]');
    const fins = await page.$$eval('svg.ladder g.row.seg', (els) => els.filter((e) => /^FIN/.test(e.querySelector('text.label')!.textContent!)).map((e) => e.getAttribute('data-from')));
    assert.deepEqual(fins, ['b', 'a']);
    const serverStates = await page.$$eval('svg.ladder text.state-b', (els) => els.map((e) => e.textContent));
    assert.ok(serverStates.includes('FIN-WAIT-2') && serverStates.includes('TIME-WAIT'), serverStates.join(','));
    await shot('built-scenario');
    // A bad value is reported, not run.
    await page.fill('#b-c2s-loss', '2');
    await page.click('#run-btn');
    await page.waitForSelector('#lab-error:not([hidden])');
    assert.match((await page.textContent('#lab-error'))!, /c2s\.loss must be a number in \[0, 0\.9\]/);
    await page.fill('#b-c2s-loss', '0');
  });

  test('capture view: the demo scenarios\' pcapng gives each connection its close kind', async () => {
    await page.click('#tab-capture');
    await page.setInputFiles('#file-input', demoPcap);
    await page.waitForSelector('body[data-analyzed="ok"]');
    const rows = await page.$$eval('#conn-table tbody tr', (trs) => trs.map((tr) => ({ ep: tr.querySelector('td.endpoints')!.textContent!, close: tr.getAttribute('data-close')! })));
    const byPort = new Map(rows.map((r) => [Number(/:(\d+)$/.exec(r.ep)![1]), r.close]));
    // synack demo puts scenario i on server port 8001 + i.
    assert.equal(byPort.get(8002), 'four-way');
    assert.equal(byPort.get(8003), 'three-way');
    assert.equal(byPort.get(8005), 'simultaneous');
    assert.equal(byPort.get(8007), 'rst-by-originator');
    assert.equal(byPort.get(8009), 'refused');
    // The page's analyzer agrees with the Node one, connection for connection.
    const reports: Array<{ first_frame: number; close: string }> = [];
    const a = new Analyzer({ onConnection: (r) => reports.push(r) });
    for (const rec of readCapture(new Uint8Array(readFileSync(demoPcap)))) a.packet(rec);
    a.finish();
    // The table's default order is by first frame.
    const node = reports.sort((x, y) => x.first_frame - y.first_frame).map((r) => r.close);
    assert.deepEqual(rows.map((r) => r.close), node);
    const chips = await page.$$eval('#summary .chip.close', (els) => els.map((e) => e.getAttribute('data-label')));
    assert.ok(chips.includes('four-way') && chips.includes('refused'));
    assert.equal(await page.getAttribute('#cap-progress', 'value'), '1');
    // Sorting and filtering.
    await page.fill('#cap-filter', 'close == four-way');
    assert.deepEqual(await page.$$eval('#conn-table tbody tr', (trs) => trs.map((t) => t.getAttribute('data-close'))), node.filter((c) => c === 'four-way'));
    await page.fill('#cap-filter', '');
    await shot('capture-demo');
    // Open the four-way-close connection in the ladder and state views.
    await page.click('#conn-table tbody tr:has(td.endpoints:text-matches(":8002$"))');
    await page.waitForSelector('#panel-lab.active svg.ladder g.row.seg');
    assert.equal(await page.$$eval('svg.ladder g.row.seg', (els) => els.length), 7);
    assert.match((await page.textContent('#source-banner'))!, /four-way close/);
    await page.click('svg.ladder rect.band[data-row="3"]', { position: { x: 40, y: 19 }, force: true });
    await page.waitForSelector('#detail:not([hidden])');
    assert.match((await page.textContent('#detail-fields'))!, /Internet Protocol Version 4.*Header checksum\s*0x[0-9a-f]{4} \[correct\]/s);
    assert.match((await page.textContent('#detail-rule'))!, /RFC 9293 §3\.10\.7\.4 — responder: ESTABLISHED: FIN processed → CLOSE-WAIT/);
    await shot('capture-connection');
  });

  test('a malformed capture shows a clear error and keeps the connections read', async () => {
    const bytes = readFileSync(demoPcap);
    const cut = path.join(tmp, 'cut.pcapng');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await page.click('#tab-capture');
    await page.setInputFiles('#file-input', cut);
    await page.waitForSelector('body[data-analyzed="error"]');
    const msg = await page.textContent('#cap-error');
    assert.match(msg!, /^cut\.pcapng: pcapng: .*truncated.* \(at byte \d+\); connections read before it are kept$/);
    assert.ok(await page.isVisible('#cap-error'));
    const n = await page.$$eval('#conn-table tbody tr', (trs) => trs.length);
    assert.ok(n >= 5, `kept ${n} connections`);
    await shot('capture-malformed');
    const junk = path.join(tmp, 'notes.pcap');
    writeFileSync(junk, 'this is not a capture at all\n');
    await page.setInputFiles('#file-input', junk);
    await page.waitForSelector('body[data-analyzed="error"]');
    assert.match((await page.textContent('#cap-error'))!, /^notes\.pcap: not a pcap or pcapng file/);
  });

  test('a capture from the shared corpus passed to synack ui matches Zeek\'s baseline', { skip: !existsSync(sharedTrace) && '../shared not present' }, async () => {
    const srv2 = await serve(dist, [sharedTrace]);
    try {
      const p2 = await ctx.newPage();
      await p2.goto(srv2.url);
      await p2.waitForSelector('body[data-analyzed="ok"]', { timeout: 20_000 });
      const got = await p2.$$eval('#conn-table tbody tr', (trs) => trs.map((tr) => {
        const ep = tr.querySelector('td.endpoints')!.textContent!;
        return `${/:(\d+) →/.exec(ep)![1]} ${tr.querySelector('td.conn_state')!.textContent} ${tr.querySelector('td.history')!.textContent}`;
      }));
      const expected = readFileSync(sharedExpected, 'utf8').split('\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('uid'))
        .map((l) => { const c = l.split('\t'); return `${c[2]} ${c[6]} ${c[7]}`; });
      assert.deepEqual([...got].sort(), [...expected].sort());
      assert.match((await p2.textContent('#server-files'))!, /ipv4\.pcap/);
      await p2.screenshot({ path: path.join(artifacts, 'ui-capture-shared.png') });
      await p2.close();
    } finally {
      assert.equal(await srv2.stop(), 0);
    }
  });
});
