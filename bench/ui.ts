/**
 * The page's budget (issue: first load < 1 s on localhost, bundle < 400 KB gzipped, a 100 000-packet capture
 * analyzed in the page in a few seconds with the progress bar moving). Builds the page fresh, serves it with
 * `synack ui`'s server and measures in Debian's Chromium through playwright-core. Skipped without Chromium.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { startUiServer } from '../src/cli/ui.js';
import { generateCapture } from './analyze.js';
import type { BenchResult } from './results.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => { const p = path.join(dir, e); return statSync(p).isDirectory() ? files(p) : [p]; });
}

export async function run(): Promise<BenchResult[]> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'synack-bench-ui-'));
  const dist = path.join(tmp, 'dist');
  const out: BenchResult[] = [];
  try {
    const { build } = await import('vite');
    await build({ configFile: path.join(repoRoot, 'ui/vite.config.ts'), build: { outDir: dist, emptyOutDir: true }, logLevel: 'silent' });
    // Everything a first visit downloads (the worker included), each file gzipped as a server would send it.
    const all = files(dist);
    const gz = all.reduce((s, f) => s + gzipSync(readFileSync(f), { level: 9 }).length, 0);
    const raw = all.reduce((s, f) => s + statSync(f).size, 0);
    out.push({ name: 'ui.bundle-gzip', value: Math.round(gz / 102.4) / 10, unit: 'KB' });
    out.push({ name: 'ui.bundle-raw', value: Math.round(raw / 102.4) / 10, unit: 'KB' });

    if (!existsSync(CHROMIUM)) {
      console.log('  (chromium not installed: page timings skipped)');
      return out;
    }
    const cap = generateCapture({ connections: 8_000, minPackets: 100_000, seed: 7 });
    const { chromium } = await import('playwright-core');
    const srv = await startUiServer({ port: 0, root: dist });
    const srvCap = await startUiServer({ port: 0, root: dist, files: [cap.file] });
    const ctx = await chromium.launchPersistentContext(path.join(tmp, 'profile'), { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1366, height: 800 } });
    try {
      // First load, median of three fresh pages.
      const loads: number[] = [];
      const ladders: number[] = [];
      for (let i = 0; i < 3; i++) {
        const page = await ctx.newPage();
        // Nothing from the browser cache: every load is a first visit.
        const cdp = await ctx.newCDPSession(page);
        await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
        const t0 = Date.now();
        await page.goto(`${srv.url}?run=${i}`, { waitUntil: 'load' });
        const nav = await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventEnd);
        await page.waitForSelector('body[data-ran]');
        ladders.push(Date.now() - t0);
        loads.push(nav);
        await page.close();
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      out.push({ name: 'ui.first-load', value: Math.round(median(loads)), unit: 'ms' });
      out.push({ name: 'ui.first-ladder', value: Math.round(median(ladders)), unit: 'ms' });

      // A 100 000-packet capture handed to the page by `synack ui FILE`, analyzed in its worker.
      const page = await ctx.newPage();
      const t0 = Date.now();
      await page.goto(srvCap.url);
      // Count distinct progress-bar values seen while the worker reads the file. (A string, so that the
      // TypeScript loader's helpers do not leak into code that runs in the page.)
      const progress = await page.evaluate(`new Promise((resolve) => {
        const seen = new Set();
        const bar = document.getElementById('cap-progress');
        const tick = () => {
          seen.add(bar.value.toFixed(3));
          const s = document.body.dataset.analyzed;
          if (s === 'ok' || s === 'error') resolve(seen.size); else requestAnimationFrame(tick);
        };
        tick();
      })`) as number;
      const wall = Date.now() - t0;
      const inWorker = Number(await page.getAttribute('body', 'data-analyze-ms'));
      const status = await page.getAttribute('body', 'data-analyzed');
      if (status !== 'ok') throw new Error(`the page failed to analyze the capture: ${await page.textContent('#cap-error')}`);
      out.push({ name: 'ui.analyze-100k', value: Math.round(inWorker), unit: 'ms' });
      out.push({ name: 'ui.analyze-100k-wall', value: wall, unit: 'ms' });
      out.push({ name: 'ui.analyze-100k-progress-steps', value: progress, unit: 'values' });
      out.push({ name: 'ui.analyze-100k-packets', value: cap.packets, unit: 'packets' });
      await page.close();
    } finally {
      await ctx.close();
      await srv.close();
      await srvCap.close();
      rmSync(cap.dir, { recursive: true, force: true });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}
