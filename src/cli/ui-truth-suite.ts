/**
 * Issue 18's checks of the page, written once and run in each browser (ui-truth-e2e.test.ts in Chromium through
 * playwright-core, ui-truth-firefox-e2e.test.ts in Firefox through puppeteer-core): the page at 1024×700, the
 * current row kept in view, the flood lane, a captured connection on its own tab, the why scenarios, packetdrill
 * in a worker, offloaded checksums, a refused file said once. Each file starts its browser on `synack ui`
 * serving the page built fresh from ui/ and gives the suite a TruthDriver.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeJunkCapture } from './ui-e2e-shared.js';

/** The page calls both drivers spell alike (playwright-core's and puppeteer-core's Page). */
export interface CommonPage {
  $eval<R>(selector: string, fn: (e: Element) => R): Promise<R>;
  $$eval<R>(selector: string, fn: (els: Element[]) => R): Promise<R>;
  $(selector: string): Promise<unknown>;
  click(selector: string): Promise<void>;
  waitForSelector(selector: string, opts?: { timeout?: number }): Promise<unknown>;
  keyboard: { press(key: string): Promise<void> };
}

/** One browser's page and the calls its driver spells its own way. */
export interface TruthDriver {
  page: CommonPage;
  /** A scratch directory, and the demo capture (`synack demo --pcap`) in it. */
  tmp: string;
  demoPcap: string;
  select(selector: string, value: string): Promise<unknown>;
  /** Set a text field's value as typing would (an input event follows). */
  fill(selector: string, value: string): Promise<void>;
  /** Give the page's file input this file. */
  upload(file: string): Promise<void>;
  /** A screenshot into test-artifacts/, named for the browser and `name`. */
  shot(name: string): Promise<unknown>;
  /** Click `selector` and return the path of the file the page then downloads (its name matching `name`). */
  download(selector: string, name: RegExp): Promise<string>;
  /** Click the element at (x, y) from its top-left corner, whatever is drawn over it there. */
  clickAt(selector: string, x: number, y: number): Promise<void>;
}

/** Registers the checks in the caller's describe; `driver()` is called once the caller's `before` has started the browser. */
export function uiTruthSuite(driver: () => TruthDriver): void {
  let d: TruthDriver;
  let page: CommonPage;
  // Registered after the caller's own `before` (which starts the browser), so it runs after it.
  before(() => { d = driver(); page = d.page; });
  const text = (sel: string) => page.$eval(sel, (e) => e.textContent);
  const value = (sel: string) => page.$eval(sel, (e) => (e as HTMLTextAreaElement).value);
  /** Present, a non-empty box, and not visibility:hidden (as Playwright's isVisible). */
  const isVisible = async (sel: string) => (await page.$(sel)) !== null && page.$eval(sel, (e) => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden';
  });
  async function run(name: string): Promise<void> {
    await page.click('#tab-lab');
    await d.select('#scenario-select', name);
    await page.click('#run-btn');
    await page.waitForSelector(`body[data-ran="${name}"]`);
    await new Promise((r) => setTimeout(r, 50));
  }
  /** How far the ladder's content reaches past the visible part of its box, px (0: it fits). */
  const overflowX = () => page.$eval('#ladder-wrap', (w) => {
    const wr = w.getBoundingClientRect();
    let right = 0;
    for (const t of Array.from(w.querySelectorAll('text.state, text.hdr'))) right = Math.max(right, t.getBoundingClientRect().right);
    return Math.max(0, right - wr.right, w.scrollWidth - w.clientWidth);
  });

  test('at 1024×700 the server\'s state labels are whole and the ladder needs no sideways scrolling', async () => {
    for (const name of ['four-way-close', 'syn-flood', 'simultaneous-close']) {
      await run(name);
      assert.equal(await overflowX(), 0, name);
      const states = await page.$$eval('svg.ladder text.state-b', (els) => els.map((e) => e.textContent));
      assert.ok(states.includes('ESTABLISHED'), `${name}: ${states.join(',')}`);
    }
    await d.shot('1024-simultaneous-close');
  });

  test('the pause button is drawn (not a missing glyph) and says Pause while playing', async () => {
    await run('handshake');
    await page.click('#btn-first');
    await page.click('#btn-play');
    const html = await page.$eval('#btn-play', (b) => ({ text: b.textContent!.trim(), svg: b.querySelectorAll('svg rect').length }));
    assert.deepEqual(html, { text: 'Pause', svg: 2 });
    await page.click('#btn-play');
  });

  test('after Run, End and ▶| the current row is in view (lossy transfer, hundreds of rows)', async () => {
    await run('lossy-transfer');
    const visible = () => page.$eval('#ladder-wrap', (w) => {
      const cur = w.querySelector('rect.band.current');
      if (!cur) return 'no current row';
      const r = cur.getBoundingClientRect(), b = w.getBoundingClientRect();
      return r.top >= b.top - 1 && r.bottom <= b.bottom + 1 ? 'visible' : `row at ${Math.round(r.top)}..${Math.round(r.bottom)}, box ${Math.round(b.top)}..${Math.round(b.bottom)}`;
    });
    assert.ok(await page.$eval('#ladder-wrap', (w) => w.scrollHeight > 3 * w.clientHeight), 'a ladder taller than its box');
    assert.equal(await visible(), 'visible', 'after Run');
    await page.click('#btn-first');
    assert.equal(await page.$eval('#ladder-wrap', (w) => w.scrollTop), 0);
    await page.click('#btn-last');
    assert.equal(await visible(), 'visible', 'after ▶|');
    await page.keyboard.press('Home');
    await page.keyboard.press('End');
    assert.equal(await visible(), 'visible', 'after End');
    await d.shot('lossy-end');
  });

  test('syn flood: the spoofed SYNs leave from their own lane, and the client\'s SYN is seq=0', async () => {
    await run('syn-flood');
    const lane = await page.$eval('svg.ladder g.row.seg[data-from="x"]', (g) => ({
      x1: Number(g.querySelector('line.arrow')!.getAttribute('x1')), label: g.querySelector('text.label')!.textContent!,
    }));
    const clientX = await page.$eval('svg.ladder line.timeline', (l) => Number(l.getAttribute('x1')));
    assert.ok(lane.x1 > clientX + 20, `flood leaves at ${lane.x1}, client timeline at ${clientX}`);
    assert.match(lane.label, /^300× SYN from 198\.1[89]\./);
    const labels = await page.$$eval('svg.ladder g.row.seg[data-from="a"] text.label', (els) => els.map((e) => e.textContent));
    assert.match(labels[0]!, /^SYN seq=0 len=0/);
    await d.shot('syn-flood');
  });

  test('a connection opened from a capture gets its own tab, without the lab\'s form; the lab keeps its run', async () => {
    await run('four-way-close');
    await page.click('#tab-capture');
    await d.upload(d.demoPcap);
    await page.waitForSelector('body[data-analyzed="ok"]', { timeout: 20_000 });
    // Playwright's `tr:has(td.endpoints:text-matches(":8005$"))`: the row whose endpoints end in the port.
    const uid = await page.$$eval('#conn-table tbody tr', (trs) => trs.find((tr) => /:8005$/.test(tr.querySelector('td.endpoints')?.textContent ?? ''))?.getAttribute('data-uid') ?? null);
    assert.ok(uid, 'a row for port 8005');
    await page.click(`#conn-table tbody tr[data-uid="${uid}"] td.endpoints`);
    await page.waitForSelector('#tab-conn.active');
    assert.equal(await isVisible('#lab-form'), false);
    assert.equal(await isVisible('#conn-info'), true);
    assert.match((await text('#conn-info'))!, /simultaneous/);
    // The capture's simultaneous close: the FINs cross there too.
    assert.ok(await page.$('svg.ladder g.row.seg.crossing'));
    await d.shot('connection-tab');
    await page.click('#tab-lab');
    assert.equal(await isVisible('#lab-form'), true);
    assert.equal(await page.$$eval('svg.ladder g.row.seg', (els) => els.length), 7, 'the lab\'s four-way close again');
    await page.click('#tab-conn');
    assert.equal(await isVisible('#lab-form'), false);
  });

  test('the why scenarios run in the page: grouped apart, the two-way handshake beside the three-way one, the corrupted bytes shown', async () => {
    const groups = await page.$$eval('#scenario-select optgroup', (gs) => gs.map((g) => [g.getAttribute('label'), g.querySelectorAll('option').length]));
    assert.deepEqual(groups.map((g) => g[0]), ['Lifecycles', 'Why? (the answers, happening)']);
    assert.equal(groups[1]![1], 10);
    await run('why-three-way');
    assert.deepEqual(await page.$$eval('svg.ladder g.row.seg text.label', (els) => els.map((e) => e.textContent!.split(' ')[0])), ['SYN', 'SYN+ACK', 'RST', 'SYN', 'SYN+ACK', 'ACK']);
    assert.match((await text('#aside'))!, /Hypothetical: a two-way handshake/);
    assert.ok(await page.$('#aside svg line.seg'));
    await d.shot('why-three-way');
    await run('why-2msl');
    assert.match((await text('#notes'))!, /CORRUPTED: \d+ of the \d+ bytes.*server read "[^"]*OLD DATA/s);
    await run('syn-flood-no-defence');
    assert.match((await text('#notes'))!, /error ETIMEDOUT/);
  });

  test('packetdrill in the page: the seed-like script reaches CLOSING in a Web Worker, with its ladder, both machines, verdict and pcapng', async () => {
    await page.click('#tab-lab');
    await d.select('#scenario-select', 'drill');
    assert.equal(await isVisible('#drill-text'), true);
    assert.match(await value('#drill-text'), /TCP_CLOSING/);
    await d.select('#drill-personality', 'synack');
    await page.click('#run-btn');
    await page.waitForSelector('body[data-ran="drill"][data-drill="pass"]');
    assert.match((await text('#drill-verdict'))!, /^PASS/);
    const a = await page.$$eval('svg.ladder text.state-a', (els) => els.map((e) => e.textContent));
    const b = await page.$$eval('svg.ladder text.state-b', (els) => els.map((e) => e.textContent));
    assert.ok(a.includes('CLOSING') && b.includes('CLOSING'), `script: ${a.join(',')} / synack: ${b.join(',')}`);
    assert.ok(await page.$('svg.ladder g.row.seg.crossing'), 'the FINs cross');
    // Step to synack's CLOSING: its state machine lights CLOSING.
    await page.keyboard.press('Home');
    for (let i = 0; i < 20 && (await text('#sm-b-title .current-state')) !== 'CLOSING'; i++) await page.keyboard.press('ArrowRight');
    assert.equal(await page.$eval('#sm-b g.node.lit', (e) => e.getAttribute('data-node')), 'CLOSING');
    await d.shot('drill-closing');
    const { readCapture } = await import('../wire/capture.js');
    const recs = [...readCapture(new Uint8Array(readFileSync(await d.download('#btn-pcapng', /\.pcapng$/))))];
    assert.equal(recs.length, 7);
    // A failing line: the verdict names it and shows it.
    await d.fill('#drill-text', (await value('#drill-text')).replace('+0   > . 2:2(0) ack 2', '+0   > . 2:2(0) ack 3'));
    await page.click('#run-btn');
    await page.waitForSelector('body[data-drill="fail"]');
    assert.match((await text('#drill-verdict'))!, /^FAIL at line \d+ \(virtual time 0\.110000 s\)/);
    assert.match((await text('#notes'))!, /line \d+: \+0 +> \. 2:2\(0\) ack 3/);
    await d.shot('drill-fail');
  });

  test('a loopback capture with partial (offloaded) checksums: "checksum offloaded", explained, not "bad checksum"', async () => {
    const { runSeedScenario } = await import('../../ui/src/lab-run.js');
    const { decodePacket, encodeTcpPacketChecksumOffload } = await import('../wire/packet.js');
    const { PcapngWriter } = await import('../wire/pcapng-writer.js');
    // The client's packets as a capture on the client's host sees them: TCP checksum left to the NIC.
    const r = await runSeedScenario('four-way-close', { seed: 1, timestamps: true, sack: true, windowScaling: true });
    const w = new PcapngWriter({ application: 'test' });
    const iface = w.addInterface({ name: 'lo' });
    for (const p of r.packets) {
      const d = decodePacket(p.bytes);
      w.writePacket(iface, 1_700_000_000_000 + p.time, p.from === 'a' ? encodeTcpPacketChecksumOffload({ src: d.ip.src, dst: d.ip.dst }, d.tcp!.seg) : p.bytes);
    }
    const file = path.join(d.tmp, 'offload.pcapng');
    writeFileSync(file, w.take());
    await page.click('#tab-capture');
    await d.upload(file);
    await page.waitForSelector('body[data-analyzed="ok"]', { timeout: 20_000 });
    await page.click('#conn-table tbody tr');
    await page.waitForSelector('#tab-conn.active');
    const labels = await page.$$eval('svg.ladder g.row.seg', (gs) => gs.map((g) => `${g.getAttribute('data-from')} ${g.querySelector('text.label')!.textContent}`));
    const fromClient = labels.filter((l) => l.startsWith('a '));
    assert.equal(fromClient.length, 4);
    // (The analyzer may put other notes in the same brackets, e.g. the frame number.)
    for (const l of fromClient) assert.match(l, /\[[^\]]*checksum offloaded\]$/);
    assert.ok(labels.every((l) => !l.includes('bad checksum')), labels.join('\n'));
    assert.match((await text('#conn-info'))!, /4 packet\(s\) marked checksum offloaded: captured on the sending host/);
    // Click the first row at its left edge (its time label), where no arrow reaches.
    await d.clickAt('svg.ladder rect.band[data-row="0"]', 40, 19);
    await page.waitForSelector('#detail:not([hidden])');
    assert.match((await text('#detail-fields'))!, /Checksum\s*0x[0-9a-f]{4} \[partial: pseudo-header sum only/);
    await d.shot('offload');
  });

  test('a file that is not a capture: the error says so once and no progress bar claims it was read', async () => {
    await page.click('#tab-capture');
    await d.upload(writeJunkCapture(d.tmp));
    await page.waitForSelector('body[data-analyzed="error"]', { timeout: 20_000 });
    const msg = (await text('#cap-error'))!;
    assert.equal(msg.match(/not a pcap/g)?.length, 1, msg);
    assert.equal(await isVisible('#cap-progress'), false);
    await d.shot('junk-file');
  });
}
