// Issue 18 in Chromium: the checks of ui-truth-suite.ts, `synack ui` serving the page built fresh from ui/, in
// Debian's Chromium via playwright-core; skips when /usr/bin/chromium is absent. Screenshots go to test-artifacts/.
import { before, after, afterEach, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { artifacts, preparePage, serve, type Served } from './ui-e2e-shared.js';
import { uiTruthSuite, type CommonPage } from './ui-truth-suite.js';

const CHROMIUM = '/usr/bin/chromium';
const noBrowser = !existsSync(CHROMIUM) && 'chromium not installed (apt-get install chromium)';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('issue 18: the page exactly true, in Chromium', { skip: noBrowser }, () => {
  let tmp = '';
  let dist = '';
  let demoPcap = '';
  let browser: Browser;
  let page: Page;
  let server: Served;
  const problems: string[] = [];

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'synack-ui-truth-'));
    ({ dist, demoPcap } = await preparePage(tmp));
    server = await serve(dist);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
    page = await browser.newPage({ viewport: { width: 1024, height: 700 } });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    await page.goto(server.url);
    await page.waitForSelector('body[data-ran="four-way-close"]', { timeout: 20_000 });
  });

  afterEach(() => { assert.deepEqual(problems.splice(0), []); });

  after(async () => {
    await browser?.close();
    if (server) assert.equal(await server.stop(), 0);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  uiTruthSuite(() => ({
    page: page as unknown as CommonPage, tmp, demoPcap,
    select: (sel, v) => page.selectOption(sel, v),
    fill: (sel, v) => page.fill(sel, v),
    upload: (file) => page.setInputFiles('#file-input', file),
    shot: (name) => page.screenshot({ path: path.join(artifacts, `ui-truth-${name}.png`) }),
    download: async (sel) => {
      const [dl] = await Promise.all([page.waitForEvent('download'), page.click(sel)]);
      return (await dl.path())!;
    },
    clickAt: (sel, x, y) => page.click(sel, { position: { x, y }, force: true }),
  }));
});
