// End to end: `synack ui` serving the page (built fresh from ui/), driven in Debian's Chromium by playwright-core.
// Skips when /usr/bin/chromium is absent. Screenshots go to test-artifacts/ for a person to look at.
import { test, before, after, afterEach, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { readCapture } from '../wire/capture.js';
import { decodePacket } from '../wire/packet.js';
import { flagsToString } from '../wire/tcp-types.js';
import {
  artifacts, assertDemoCloseKinds, assertFourWayLabels, CUT_CAPTURE_ERROR, FOUR_WAY_FIRST_STEPS, FOUR_WAY_FROM, FOUR_WAY_ROWS, FOUR_WAY_SVG,
  isLocalRequest, JUNK_CAPTURE_ERROR, nodeCloseKinds, preparePage, serve, shared, svgSummaryInPage, writeCutCapture, writeJunkCapture, type Served,
} from './ui-e2e-shared.js';

const CHROMIUM = '/usr/bin/chromium';
const noBrowser = !existsSync(CHROMIUM) && 'chromium not installed (apt-get install chromium)';
const sharedTrace = path.join(shared, 'pcap-corpus/zeek/traces/ftp/ipv4.pcap');
const sharedExpected = path.join(shared, 'pcap-corpus/zeek/expected/ftp__ipv4.pcap.conn.tsv');

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
    ({ dist, demoPcap } = await preparePage(tmp));
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
      if (!isLocalRequest(u)) problems.push(`external request: ${u}`);
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
    assertFourWayLabels(labels);
    const from = await page.$$eval('svg.ladder g.row.seg', (els) => els.map((e) => e.getAttribute('data-from')));
    assert.deepEqual(from, FOUR_WAY_FROM);
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
    assert.deepEqual(seen, FOUR_WAY_FIRST_STEPS);
    await page.keyboard.press('ArrowLeft');
    assert.deepEqual([await litState('a'), await litState('b')], ['ESTABLISHED', 'SYN-RECEIVED']);
    assert.equal(await page.getAttribute('#sm-b g.edge.taken', 'data-to'), 'SYN-RECEIVED');
    assert.equal(await page.$$eval('svg.ladder g.row.future', (els) => els.length), FOUR_WAY_ROWS - 3);
    await shot('stepped');
    // Space plays to the end at the chosen speed.
    await page.selectOption('#speed', '10');
    await page.focus('#ladder-wrap');
    await page.keyboard.press(' ');
    await page.waitForFunction((n) => document.getElementById('step-label')!.textContent!.startsWith(`step ${n} / ${n}`), FOUR_WAY_ROWS, { timeout: 10_000 });
    assert.equal(await litState('a'), 'CLOSED');
  });

  test('clicking a segment shows its header fields and the RFC 9293 rule applied', async () => {
    await page.waitForFunction(() => document.getElementById('btn-play')!.textContent!.trim() === 'Play');
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
    assert.deepEqual(await page.evaluate(svgSummaryInPage, text), FOUR_WAY_SVG);
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
    assertDemoCloseKinds(rows);
    // The page's analyzer agrees with the Node one, connection for connection (the table's default order is by first frame).
    const node = nodeCloseKinds(demoPcap);
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
    const cut = writeCutCapture(demoPcap, tmp);
    await page.click('#tab-capture');
    await page.setInputFiles('#file-input', cut);
    await page.waitForSelector('body[data-analyzed="error"]');
    const msg = await page.textContent('#cap-error');
    assert.match(msg!, CUT_CAPTURE_ERROR);
    assert.ok(await page.isVisible('#cap-error'));
    const n = await page.$$eval('#conn-table tbody tr', (trs) => trs.length);
    assert.ok(n >= 5, `kept ${n} connections`);
    await shot('capture-malformed');
    const junk = writeJunkCapture(tmp);
    await page.setInputFiles('#file-input', junk);
    await page.waitForSelector('body[data-analyzed="error"]');
    assert.match((await page.textContent('#cap-error'))!, JUNK_CAPTURE_ERROR);
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
