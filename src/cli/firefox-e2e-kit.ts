// How the Firefox end-to-end suites (ui-firefox-e2e.test.ts, ui-truth-firefox-e2e.test.ts) drive Debian's
// firefox-esr: puppeteer-core over WebDriver BiDi, a throwaway profile with prefs that keep Firefox off the
// network, and a local proxy sink that records anything it tries anyway. Not a test file itself.
import { before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { isLocalRequest, preparePage, serve, type Served } from './ui-e2e-shared.js';

/** Debian's firefox-esr (WebDriver BiDi since 128 ESR); SYNACK_FIREFOX points the suite at another Firefox. */
export const FIREFOX = process.env.SYNACK_FIREFOX ?? '/usr/bin/firefox-esr';
export const noFirefox = !existsSync(FIREFOX) && `${FIREFOX} not present (apt-get install firefox-esr)`;

/**
 * Preferences on top of puppeteer's own test profile (which already turns off updates, safebrowsing lists,
 * health reports and the like): nothing Firefox does on its own may reach the network. Every proxied
 * connection goes to a local sink that only records it, and the suite asserts the sink saw none.
 * Loopback (synack ui) is never proxied (network.proxy.allow_hijacking_localhost is false by default).
 */
export function quietPrefs(sinkPort: number): Record<string, unknown> {
  return {
    'network.proxy.type': 1,
    'network.proxy.http': '127.0.0.1', 'network.proxy.http_port': sinkPort,
    'network.proxy.ssl': '127.0.0.1', 'network.proxy.ssl_port': sinkPort,
    'network.proxy.share_proxy_settings': true,
    'network.proxy.socks_remote_dns': true,
    'network.trr.mode': 5,
    'network.dns.disablePrefetch': true,
    'network.prefetch-next': false,
    'network.predictor.enabled': false,
    'network.captive-portal-service.enabled': false,
    'network.connectivity-service.enabled': false,
    'app.update.enabled': false,
    'app.update.auto': false,
    'extensions.update.enabled': false,
    'extensions.systemAddon.update.enabled': false,
    'toolkit.telemetry.enabled': false,
    'toolkit.telemetry.unified': false,
    'toolkit.telemetry.archive.enabled': false,
    'toolkit.telemetry.server': '',
    'datareporting.policy.dataSubmissionEnabled': false,
    'datareporting.healthreport.uploadEnabled': false,
    'browser.safebrowsing.malware.enabled': false,
    'browser.safebrowsing.phishing.enabled': false,
    'browser.safebrowsing.downloads.enabled': false,
    'browser.safebrowsing.downloads.remote.enabled': false,
    'browser.safebrowsing.provider.google4.updateURL': '',
    'browser.safebrowsing.provider.mozilla.updateURL': '',
    'browser.region.network.url': '',
    'browser.region.update.enabled': false,
    'browser.topsites.contile.enabled': false,
    'browser.newtabpage.activity-stream.feeds.section.topstories': false,
    'browser.ping-centre.telemetry': false,
    'geo.provider.network.url': '',
    'dom.push.connection.enabled': false,
    'media.gmp-manager.updateEnabled': false,
    'security.OCSP.enabled': 0,
    'security.remote_settings.crlite_filters.enabled': false,
    'security.remote_settings.intermediates.enabled': false,
    'identity.fxaccounts.enabled': false,
    // Remote settings (blocklists, CRLite, search config...) otherwise poll firefox.settings.services.mozilla.com;
    // a release build honours this override only with MOZ_DISABLE_NONLOCAL_CONNECTIONS=1 (set at launch).
    'services.settings.server': 'data:,#remote-settings-dummy/v1',
  };
}

/** A TCP listener that records every connection (its first line, e.g. "CONNECT host:443 HTTP/1.1") and drops it. */
export async function startSink(): Promise<{ port: number; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const srv = net.createServer((sock) => {
    let first = '';
    const record = () => { seen.push(first.split('\r\n')[0] || '(connection, no request line)'); sock.destroy(); };
    const timer = setTimeout(record, 500);
    sock.on('data', (d) => { first += d.toString('latin1'); if (first.includes('\r\n')) { clearTimeout(timer); record(); } });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as net.AddressInfo).port, seen, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

/**
 * Waits until a download named `name` (or the first whose name matches it) is complete in `dir` (Firefox writes
 * NAME.part until it is done) and returns its path.
 */
export async function waitForDownload(dir: string, name: string | RegExp, timeoutMs = 10_000): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    const files = existsSync(dir) ? readdirSync(dir) : [];
    const hit = typeof name === 'string' ? (files.includes(name) ? name : undefined) : files.find((f) => name.test(f));
    if (hit !== undefined && !files.some((f) => f.endsWith('.part'))) return path.join(dir, hit);
    if (Date.now() - t0 > timeoutMs) throw new Error(`no download ${String(name)} in ${timeoutMs} ms (have: ${files.join(', ') || 'nothing'})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export type Sink = Awaited<ReturnType<typeof startSink>>;

/**
 * Launches Firefox quietly (profile in `profileDir`, prefs pointing at `sink`), opens a page in a context that
 * saves downloads to `downloads`, and records page errors, console errors and non-local requests in `problems`.
 */
export async function openQuietFirefox(opts: {
  profileDir: string; downloads: string; sink: Sink; viewport: { width: number; height: number }; problems: string[];
}): Promise<{ browser: Browser; page: Page }> {
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({
    browser: 'firefox', executablePath: FIREFOX, headless: true, userDataDir: opts.profileDir,
    defaultViewport: opts.viewport, extraPrefsFirefox: quietPrefs(opts.sink.port),
    // Firefox's own stderr stays out of the test output; a failed launch still reports why.
    dumpio: false,
    // Firefox's test switch: refuse connections to anything but loopback, and let the pref above take effect.
    env: { ...process.env, MOZ_DISABLE_NONLOCAL_CONNECTIONS: '1' },
  });
  const ctx = await browser.createBrowserContext({ downloadBehavior: { policy: 'allow', downloadPath: opts.downloads } });
  const page = await ctx.newPage();
  const problems = opts.problems;
  page.on('pageerror', (e) => problems.push(`page error: ${e instanceof Error ? e.message : String(e)}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  // No external network requests: everything the page loads comes from synack ui.
  page.on('request', (r) => { if (!isLocalRequest(r.url())) problems.push(`external request: ${r.url()}`); });
  return { browser, page };
}

/** What quietFirefoxPage() gives a suite once its `before` hook has run. */
export interface FirefoxPageFixture {
  tmp: string;
  downloads: string;
  demoPcap: string;
  page: Page;
  server: Served;
}

/**
 * The shared setup of the Firefox suites, registered as hooks of the calling describe(): the page built fresh,
 * `synack ui` serving it, a quiet Firefox at `viewport` on it (the seed run finished); after every test no page
 * errors, no requests beyond synack ui and nothing at the proxy sink; everything closed and removed afterwards.
 * The returned object is filled in when the hook has run.
 */
export function quietFirefoxPage(tmpPrefix: string, viewport: { width: number; height: number }): FirefoxPageFixture {
  const f = {} as FirefoxPageFixture;
  let browser: Browser | undefined;
  let server: Served | undefined;
  let sink: Sink | undefined;
  const problems: string[] = [];
  before(async () => {
    f.tmp = mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
    const { dist, demoPcap } = await preparePage(f.tmp);
    f.demoPcap = demoPcap;
    f.downloads = path.join(f.tmp, 'downloads');
    mkdirSync(f.downloads);
    sink = await startSink();
    server = f.server = await serve(dist);
    let page: Page;
    ({ browser, page } = await openQuietFirefox({ profileDir: path.join(f.tmp, 'profile'), downloads: f.downloads, sink, viewport, problems }));
    f.page = page;
    await page.goto(server.url);
    await page.waitForSelector('body[data-ran="four-way-close"]', { timeout: 20_000 });
  });
  afterEach(() => {
    assert.deepEqual(problems.splice(0), []);
    assert.deepEqual(sink?.seen.splice(0) ?? [], [], 'Firefox tried to reach the network');
  });
  after(async () => {
    await browser?.close();
    if (server) assert.equal(await server.stop(), 0);
    await sink?.close();
    if (f.tmp) rmSync(f.tmp, { recursive: true, force: true });
  });
  return f;
}
