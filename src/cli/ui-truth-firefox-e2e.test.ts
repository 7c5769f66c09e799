// Issue 18 in Firefox: the checks of ui-truth-suite.ts, driven in Debian's firefox-esr by puppeteer-core over
// WebDriver BiDi the way ui-firefox-e2e.test.ts drives it (quiet profile, local proxy sink; firefox-e2e-kit.ts).
// `synack ui` serves the page built fresh from ui/. Skips when /usr/bin/firefox-esr (or $SYNACK_FIREFOX) is absent.
// Screenshots go to test-artifacts/ui-truth-firefox-*.png.
import { before, describe } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { ElementHandle, Page } from 'puppeteer-core';
import { artifacts } from './ui-e2e-shared.js';
import { uiTruthSuite, type CommonPage } from './ui-truth-suite.js';
import { noFirefox, quietFirefoxPage, waitForDownload } from './firefox-e2e-kit.js';

describe('issue 18: the page exactly true, in Firefox', { skip: noFirefox }, () => {
  const fx = quietFirefoxPage('synack-ui-truth-firefox-', { width: 1024, height: 700 });
  let tmp = '';
  let downloads = '';
  let demoPcap = '';
  let page: Page;
  before(() => ({ tmp, downloads, demoPcap, page } = fx));

  uiTruthSuite(() => ({
    page: page as unknown as CommonPage, tmp, demoPcap,
    select: (sel, v) => page.select(sel, v),
    // As Playwright's fill: set the text, then an input event.
    fill: async (sel, v) => { await page.$eval(sel, (e, x) => { (e as HTMLTextAreaElement).value = x; e.dispatchEvent(new Event('input', { bubbles: true })); }, v); },
    upload: async (file) => {
      const input = await page.$('#file-input') as ElementHandle<HTMLInputElement> | null;
      assert.ok(input);
      await input.uploadFile(file);
    },
    shot: (name) => page.screenshot({ path: path.join(artifacts, `ui-truth-firefox-${name}.png`) as `${string}.png` }),
    // Firefox saves the download into the context's download directory (no download event over BiDi).
    download: async (sel, name) => { await page.click(sel); return waitForDownload(downloads, name); },
    clickAt: async (sel, x, y) => {
      const el = await page.$(sel);
      assert.ok(el, `no ${sel}`);
      await el.click({ offset: { x, y } });
    },
  }));
});
