// What the browser end-to-end suites (ui-e2e.test.ts in Chromium, ui-firefox-e2e.test.ts in Firefox) share:
// building the page, running the real `synack ui`, the demo capture, and the expectations both browsers must meet.
// Not a test file itself; it imports no browser driver, so each suite brings its own.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { uiCommand } from './ui.js';
import { demoCommand } from './demo.js';
import { Analyzer } from '../analyze/analyzer.js';
import { readCapture } from '../wire/capture.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const shared = process.env.SYNACK_SHARED ?? path.resolve(repoRoot, '../shared');
export const artifacts = path.join(repoRoot, 'test-artifacts');

export interface Served { url: string; stop(): Promise<number> }

/** Runs the real `synack ui` command on a free port and returns the URL it printed. */
export async function serve(dist: string, files: string[] = []): Promise<Served> {
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

/**
 * Builds the page from the current sources into tmp/dist (so a test never runs a stale ui/dist) and writes
 * `synack demo --pcap` output to tmp/demo.pcapng.
 */
export async function preparePage(tmp: string): Promise<{ dist: string; demoPcap: string }> {
  const dist = path.join(tmp, 'dist');
  const { build } = await import('vite');
  await build({ configFile: path.join(repoRoot, 'ui/vite.config.ts'), build: { outDir: dist, emptyOutDir: true }, logLevel: 'silent' });
  mkdirSync(artifacts, { recursive: true });
  const demoPcap = path.join(tmp, 'demo.pcapng');
  const quiet = { write: () => true };
  assert.equal(await demoCommand(['--pcap', demoPcap], { stdout: quiet, stderr: process.stderr, stdin: process.stdin } as never), 0);
  return { dist, demoPcap };
}

/** Everything the page loads must come from synack ui itself (or be a blob:/data: URL it made). */
export function isLocalRequest(url: string): boolean {
  return url.startsWith('http://127.0.0.1:') || url.startsWith('blob:') || url.startsWith('data:');
}

/** The four-way-close seed scenario's arrows, in order: labels and the side each one leaves from. */
// SYNs carry their raw window (never scaled); later segments the scaled value, then on a wide enough ladder
// the raw field and shift, "win=1048576 (32768×2^5)".
const WIN = 'win=\\d+( \\(\\d+×2\\^\\d+\\))?';
export const FOUR_WAY_LABELS = [/^SYN seq=0 len=0 win=\d+$/, /^SYN\+ACK seq=0 ack=1 len=0 win=\d+$/, ...['ACK seq=1 ack=1', 'FIN\\+ACK seq=1 ack=1', 'ACK seq=1 ack=2', 'FIN\\+ACK seq=1 ack=2', 'ACK seq=2 ack=2'].map((l) => new RegExp(`^${l} len=0 ${WIN}$`))];
export const FOUR_WAY_FROM = ['a', 'b', 'a', 'a', 'b', 'b', 'a'];

export function assertFourWayLabels(labels: Array<string | null>): void {
  assert.equal(labels.length, FOUR_WAY_LABELS.length, labels.join(' | '));
  labels.forEach((l, i) => assert.match(l ?? '', FOUR_WAY_LABELS[i]!));
}

/** Client/server lit states after each of the first four steps forward from Home (cursor before the first row). */
export const FOUR_WAY_FIRST_STEPS = ['SYN-SENT/LISTEN', 'SYN-SENT/SYN-RECEIVED', 'ESTABLISHED/SYN-RECEIVED', 'ESTABLISHED/ESTABLISHED'];
/** Rows (segments plus state changes) in the four-way-close ladder. */
export const FOUR_WAY_ROWS = 11;

/** `synack demo` puts scenario i on server port 8001 + i; these are the close kinds the analyzer must find. */
export const DEMO_CLOSE_BY_PORT: ReadonlyArray<[number, string]> = [
  [8002, 'four-way'], [8003, 'three-way'], [8005, 'simultaneous'], [8007, 'rst-by-originator'], [8009, 'refused'],
];

/** Asserts the capture table's rows (endpoints text "a:p → b:port", close kind) give each demo port its close kind. */
export function assertDemoCloseKinds(rows: Array<{ ep: string; close: string }>): void {
  const byPort = new Map(rows.map((r) => [Number(/:(\d+)$/.exec(r.ep)?.[1]), r.close]));
  for (const [port, close] of DEMO_CLOSE_BY_PORT) assert.equal(byPort.get(port), close, `port ${port}`);
}

/** The Node analyzer's close kinds for a capture, by first frame (the table's default order). */
export function nodeCloseKinds(file: string): string[] {
  const reports: Array<{ first_frame: number; close: string }> = [];
  const a = new Analyzer({ onConnection: (r) => reports.push(r) });
  for (const rec of readCapture(new Uint8Array(readFileSync(file)))) a.packet(rec);
  a.finish();
  return reports.sort((x, y) => x.first_frame - y.first_frame).map((r) => r.close);
}

/** Writes the first 60 % of a capture (a pcapng cut inside a block) to dir/cut.pcapng. */
export function writeCutCapture(from: string, dir: string): string {
  const bytes = readFileSync(from);
  const cut = path.join(dir, 'cut.pcapng');
  writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  return cut;
}
export const CUT_CAPTURE_ERROR = /^cut\.pcapng: pcapng: .*truncated.* \(at byte \d+\); connections read before it are kept$/;

/** Writes a text file named like a capture to dir/notes.pcap. */
export function writeJunkCapture(dir: string): string {
  const junk = path.join(dir, 'notes.pcap');
  writeFileSync(junk, 'this is not a capture at all\n');
  return junk;
}
export const JUNK_CAPTURE_ERROR = /^notes\.pcap: not a pcap or pcapng file/;

/**
 * Runs inside the page (passed to evaluate): parses an exported SVG with the browser's own XML parser.
 * Self-contained on purpose, since drivers send its source text to the browser.
 */
export function svgSummaryInPage(src: string): { error: number; root: string; segs: number } {
  const doc = new DOMParser().parseFromString(src, 'image/svg+xml');
  return { error: doc.getElementsByTagName('parsererror').length, root: doc.documentElement.nodeName, segs: doc.querySelectorAll('line.seg').length };
}
export const FOUR_WAY_SVG = { error: 0, root: 'svg', segs: 7 };
