// End to end in Firefox: `synack ui` serving the page (built fresh from ui/), driven in Debian's firefox-esr by
// puppeteer-core over WebDriver BiDi (no browser is downloaded: puppeteer-core only drives the one given).
// The same core checks as the Chromium suite (ui-e2e.test.ts), from the shared expectations in ui-e2e-shared.ts.
// Skips when /usr/bin/firefox-esr (or $SYNACK_FIREFOX) is absent. Screenshots go to test-artifacts/ui-firefox-*.png.
import { test, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ElementHandle, Page } from 'puppeteer-core';
import {
  artifacts, assertDemoCloseKinds, assertFourWayLabels, CUT_CAPTURE_ERROR, FOUR_WAY_FIRST_STEPS, FOUR_WAY_FROM, FOUR_WAY_ROWS, FOUR_WAY_SVG,
  JUNK_CAPTURE_ERROR, nodeCloseKinds, svgSummaryInPage, writeCutCapture, writeJunkCapture,
} from './ui-e2e-shared.js';
import { noFirefox, quietFirefoxPage, waitForDownload } from './firefox-e2e-kit.js';

describe('synack ui in Firefox', { skip: noFirefox }, () => {
  const fx = quietFirefoxPage('synack-ui-firefox-', { width: 1366, height: 800 });
  let tmp = '';
  let downloads = '';
  let demoPcap = '';
  let page: Page;
  before(() => ({ tmp, downloads, demoPcap, page } = fx));

  const shot = (name: string) => page.screenshot({ path: path.join(artifacts, `ui-firefox-${name}.png`) as `${string}.png` });
  const text = (sel: string) => page.$eval(sel, (e) => e.textContent);
  const attr = (sel: string, name: string) => page.$eval(sel, (e, n) => e.getAttribute(n), name);
  const litState = (side: 'a' | 'b') => text(`#sm-${side}-title .current-state`);
  const litNode = (side: 'a' | 'b') => attr(`#sm-${side} g.node.lit`, 'data-node');
  /** Toolbar heights seen while stepping: the ladder below it must not jump as the step label changes. */
  const toolbarHeights = new Set<number>();
  const both = async () => {
    toolbarHeights.add(await page.$eval('.viewer .toolbar', (e) => (e as HTMLElement).offsetHeight));
    return `${await litState('a')}/${await litState('b')}`;
  };
  /** Clicks a ladder row at its left edge (its time label), where no neighbouring arrow reaches. */
  const clickRow = async (row: number) => {
    const band = await page.$(`svg.ladder rect.band[data-row="${row}"]`);
    assert.ok(band, `no ladder row ${row}`);
    await band.click({ offset: { x: 40, y: 19 } });
  };

  test('four-way close: SYN, SYN+ACK, ACK, FIN, ACK, FIN, ACK arrows with their labels', async () => {
    assertFourWayLabels(await page.$$eval('svg.ladder g.row.seg text.label', (els) => els.map((e) => e.textContent)));
    assert.deepEqual(await page.$$eval('svg.ladder g.row.seg', (els) => els.map((e) => e.getAttribute('data-from'))), FOUR_WAY_FROM);
    // The client's states beside its timeline end TIME-WAIT then CLOSED.
    const clientStates = await page.$$eval('svg.ladder text.state-a', (els) => els.map((e) => e.textContent));
    assert.deepEqual(clientStates.slice(-2), ['TIME-WAIT', 'CLOSED']);
    assert.equal(await litState('a'), 'CLOSED');
    assert.equal(await litNode('a'), 'CLOSED-END');
    // Firefox lays the SVG out too: the arrows have real, distinct extents (not collapsed to nothing).
    const boxes = await page.$$eval('svg.ladder g.row.seg line.arrow', (els) => els.map((e) => { const r = e.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.top)]; }));
    assert.equal(boxes.length, 7);
    assert.ok(boxes.every(([w]) => w! > 100), `arrow widths ${boxes.map((b) => b[0]).join(',')}`);
    assert.equal(new Set(boxes.map((b) => b[1])).size, 7, 'each arrow on its own row');
    await shot('four-way-close');
  });

  test('stepping back and forth lights the right states', async () => {
    await page.focus('#ladder-wrap');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await litState('a'), 'TIME-WAIT');
    assert.equal(await attr('#sm-a g.edge.taken', 'data-from'), 'FIN-WAIT-2');
    assert.equal(await litState('b'), 'CLOSED');
    await page.keyboard.press('Home');
    assert.equal(await both(), 'CLOSED/LISTEN');
    assert.equal(await litNode('a'), 'CLOSED');
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('ArrowRight');
      seen.push(await both());
    }
    assert.deepEqual(seen, FOUR_WAY_FIRST_STEPS);
    await page.keyboard.press('ArrowLeft');
    assert.equal(await both(), 'ESTABLISHED/SYN-RECEIVED');
    assert.equal(await attr('#sm-b g.edge.taken', 'data-to'), 'SYN-RECEIVED');
    assert.equal(await page.$$eval('svg.ladder g.row.future', (els) => els.length), FOUR_WAY_ROWS - 3);
    await shot('stepped');
    // The toolbar buttons step too, and space plays to the end at the chosen speed.
    await page.click('#btn-fwd');
    assert.equal(await both(), 'ESTABLISHED/ESTABLISHED');
    await page.click('#btn-back');
    assert.equal(await both(), 'ESTABLISHED/SYN-RECEIVED');
    await page.select('#speed', '10');
    await page.focus('#ladder-wrap');
    await page.keyboard.press(' ');
    await page.waitForFunction((n) => document.getElementById('step-label')!.textContent!.startsWith(`step ${n} / ${n}`), { timeout: 10_000 }, FOUR_WAY_ROWS);
    assert.equal(await both(), 'CLOSED/CLOSED');
    await page.waitForFunction(() => document.getElementById('btn-play')!.textContent!.trim() === 'Play');
    assert.equal(toolbarHeights.size, 1, `toolbar heights while stepping: ${[...toolbarHeights].join(', ')} px`);
    // The longest label of the run is shown whole, not cut off.
    assert.ok(await page.$eval('#step-label', (e) => e.scrollWidth <= e.clientWidth), 'step label truncated');
  });

  test('clicking a segment shows its header fields and the RFC 9293 rule applied', async () => {
    await clickRow(1);
    assert.equal(await attr('svg.ladder rect.band.selected', 'data-row'), '1');
    await page.waitForSelector('#detail:not([hidden])');
    assert.match((await text('#detail-rule'))!, /RFC 9293 §3\.10\.7\.2 — server: LISTEN: a SYN opens the connection passively/);
    const fields = await text('#detail-fields');
    assert.match(fields!, /Maximum segment size \(kind 2\)\s*1460 bytes/);
    assert.match(fields!, /Header checksum\s*0x[0-9a-f]{4} \[correct\]/);
    await shot('detail');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#detail[hidden]');
  });

  test('export SVG: the download parses as SVG with the seven arrows', async () => {
    await page.keyboard.press('End');
    await page.click('#btn-svg');
    const file = await waitForDownload(downloads, 'four-way-close-ladder.svg');
    const src = readFileSync(file, 'utf8');
    assert.deepEqual(await page.evaluate(svgSummaryInPage, src), FOUR_WAY_SVG);
  });

  test('capture view: the demo scenarios\' pcapng gives each connection its close kind', async () => {
    await page.click('#tab-capture');
    const input = await page.$('#file-input') as ElementHandle<HTMLInputElement> | null;
    assert.ok(input);
    await input.uploadFile(demoPcap);
    await page.waitForSelector('body[data-analyzed="ok"]', { timeout: 20_000 });
    const rows = await page.$$eval('#conn-table tbody tr', (trs) => trs.map((tr) => ({ ep: tr.querySelector('td.endpoints')!.textContent!, close: tr.getAttribute('data-close')!, uid: tr.getAttribute('data-uid')! })));
    assertDemoCloseKinds(rows);
    // The page's analyzer (in Firefox's worker) agrees with the Node one, connection for connection.
    const node = nodeCloseKinds(demoPcap);
    assert.deepEqual(rows.map((r) => r.close), node);
    const chips = await page.$$eval('#summary .chip.close', (els) => els.map((e) => e.getAttribute('data-label')));
    assert.ok(chips.includes('four-way') && chips.includes('refused'), chips.join(','));
    assert.equal(await page.$eval('#cap-progress', (e) => (e as HTMLProgressElement).value), 1);
    // Filtering by expression.
    await page.type('#cap-filter', 'close == four-way');
    assert.deepEqual(await page.$$eval('#conn-table tbody tr', (trs) => trs.map((t) => t.getAttribute('data-close'))), node.filter((c) => c === 'four-way'));
    await page.$eval('#cap-filter', (e) => { (e as HTMLInputElement).value = ''; e.dispatchEvent(new Event('input', { bubbles: true })); });
    assert.equal(await page.$$eval('#conn-table tbody tr', (trs) => trs.length), node.length);
    await shot('capture-demo');
    // Open the four-way-close connection in the ladder and state views.
    const fourWay = rows.find((r) => /:8002$/.test(r.ep));
    assert.ok(fourWay);
    await page.click(`#conn-table tbody tr[data-uid="${fourWay.uid}"] td.endpoints`);
    await page.waitForSelector('#panel-lab.active svg.ladder g.row.seg');
    assert.equal(await page.$$eval('svg.ladder g.row.seg', (els) => els.length), 7);
    assert.match((await text('#source-banner'))!, /four-way close/);
    await clickRow(3);
    await page.waitForSelector('#detail:not([hidden])');
    assert.match((await text('#detail-fields'))!, /Internet Protocol Version 4.*Header checksum\s*0x[0-9a-f]{4} \[correct\]/s);
    assert.match((await text('#detail-rule'))!, /RFC 9293 §3\.10\.7\.4 — responder: ESTABLISHED: FIN processed → CLOSE-WAIT/);
    await shot('capture-connection');
  });

  test('a malformed capture shows a clear error and keeps the connections read', async () => {
    await page.click('#tab-capture');
    const input = await page.$('#file-input') as ElementHandle<HTMLInputElement> | null;
    assert.ok(input);
    await input.uploadFile(writeCutCapture(demoPcap, tmp));
    await page.waitForSelector('body[data-analyzed="error"]', { timeout: 20_000 });
    assert.match((await text('#cap-error'))!, CUT_CAPTURE_ERROR);
    assert.ok(await page.$eval('#cap-error', (e) => (e as HTMLElement).offsetHeight > 0), 'the error is visible');
    const n = await page.$$eval('#conn-table tbody tr', (trs) => trs.length);
    assert.ok(n >= 5, `kept ${n} connections`);
    await shot('capture-malformed');
    await input.uploadFile(writeJunkCapture(tmp));
    await page.waitForFunction(() => /^notes\.pcap/.test(document.getElementById('cap-error')!.textContent ?? ''), { timeout: 20_000 });
    assert.equal(await attr('body', 'data-analyzed'), 'error');
    assert.match((await text('#cap-error'))!, JUNK_CAPTURE_ERROR);
  });
});
