/**
 * Capture-analyzer benchmark: generate a large capture of mixed TCP lifecycles (≥ 500 000 packets,
 * ≥ 50 000 connections, interleaved as on a busy link) into a temp file, then time
 * `synack analyze --format json` against `tshark -r FILE -q -z conv,tcp` in the same run: the CLI's default, and
 * with its worker threads forced on and off (src/cli/analyze.ts uses them only when a core looks idle); and the
 * floor under it (bench/analyze-floor.ts: reading and printing with no analysis). The tshark peer is skipped
 * when tshark is not installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, writeSync, fsyncSync, closeSync, rmSync, renameSync, statSync, createReadStream } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable, Readable } from 'node:stream';
import { Conversation, PcapBuilder } from '../src/analyze/synth.js';
import { analyzeCommand as analyzeFromSource } from '../src/cli/analyze.js';
import { Analyzer } from '../src/analyze/analyzer.js';
import { CaptureReader } from '../src/wire/capture.js';
import { mulberry32 } from '../src/tcp/test-util.js';
import type { BenchResult } from './results.js';
import { floor, type FloorMode } from './analyze-floor.js';

type Step = (c: Conversation) => void;

/** A deterministic PRNG (mulberry32, the tests' own) so every run generates the same capture. */
const rng = mulberry32;

/** The scripted packets of one connection, by lifecycle. */
function lifecycle(r: () => number): { kind: string; steps: Step[] } {
  const hs: Step[] = [(c) => c.send('c', 'S'), (c) => c.send('s', 'SA'), (c) => c.send('c', 'A')];
  const data = (n: number): Step[] => {
    const s: Step[] = [];
    for (let i = 0; i < n; i++) {
      s.push((c) => c.send('c', 'PA', { len: 64 + ((i * 37) % 400) }));
      s.push((c) => c.send('s', 'PA', { len: 200 + ((i * 91) % 1200) }));
    }
    return s;
  };
  const x = r();
  if (x < 0.3) return { kind: 'four-way', steps: [...hs, ...data(3), (c) => c.send('c', 'FA'), (c) => c.send('s', 'A'), (c) => c.send('s', 'FA'), (c) => c.send('c', 'A')] };
  if (x < 0.45) return { kind: 'three-way', steps: [...hs, ...data(3), (c) => c.send('c', 'FA'), (c) => c.send('s', 'FA'), (c) => c.send('c', 'A')] };
  if (x < 0.5) {
    return {
      kind: 'simultaneous',
      steps: [...hs, ...data(2), (c) => { const a = c.s.nxt; const b = c.c.nxt; c.send('c', 'FA', { ack: a }).send('s', 'FA', { ack: b }); }, (c) => c.send('c', 'A'), (c) => c.send('s', 'A')],
    };
  }
  if (x < 0.6) return { kind: 'rst-by-originator', steps: [...hs, ...data(3), (c) => c.send('c', 'RA')] };
  if (x < 0.67) return { kind: 'rst-by-responder', steps: [...hs, ...data(2), (c) => c.send('s', 'RA')] };
  if (x < 0.75) return { kind: 'refused', steps: [(c) => c.send('c', 'S'), (c) => c.send('s', 'RA', { seq: 0, ack: c.c.isn + 1 })] };
  if (x < 0.8) return { kind: 'unanswered', steps: [(c) => c.send('c', 'S'), (c) => c.send('c', 'S', { seq: c.c.isn, dt: 0.2 })] };
  if (x < 0.9) return { kind: 'half-closed', steps: [...hs, ...data(2), (c) => c.send('c', 'FA'), (c) => c.send('s', 'A'), (c) => c.send('s', 'PA', { len: 500 })] };
  return { kind: 'open', steps: [...hs, ...data(4)] };
}

export interface GeneratedCapture { file: string; packets: number; connections: number; bytes: number; dir: string }

/**
 * Writes the capture: connections start at a steady rate and up to `concurrency` of them exchange packets
 * at once, so packets of different connections interleave.
 */
export function generateCapture(opts: { connections?: number; minPackets?: number; concurrency?: number; seed?: number } = {}): GeneratedCapture {
  const total = opts.connections ?? 55_000;
  const minPackets = opts.minPackets ?? 500_000;
  const concurrency = opts.concurrency ?? 64;
  const r = rng(opts.seed ?? 42);
  const dir = mkdtempSync(path.join(tmpdir(), 'synack-bench-'));
  const file = path.join(dir, 'mixed.pcap');
  const fd = openSync(file, 'w');
  const pcap = new PcapBuilder();
  let bytes = 0;
  const flush = (): void => {
    for (const chunk of pcap.drain()) { writeSync(fd, chunk); bytes += chunk.length; }
  };
  let clock = 1_700_000_000;
  let started = 0;
  const active: Array<{ conv: Conversation; steps: Step[]; i: number }> = [];
  while (started < total || active.length > 0) {
    while (active.length < concurrency && started < total) {
      const n = started++;
      const client = `10.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}:${10000 + (n % 50000)}`;
      const server = `192.168.${n % 4}.${1 + (n % 200)}:${[80, 443, 22, 8080, 5432][n % 5]}`;
      const { steps } = lifecycle(r);
      const conv = new Conversation(pcap, client, server, { time: clock, cIsn: Math.floor(r() * 0xffffffff), sIsn: Math.floor(r() * 0xffffffff) });
      active.push({ conv, steps, i: 0 });
    }
    const k = Math.floor(r() * active.length);
    const a = active[k]!;
    clock += 0.00005;
    a.conv.time = clock;
    a.steps[a.i]!(a.conv);
    clock = Math.max(clock, a.conv.time);
    a.i++;
    if (a.i >= a.steps.length) {
      active[k] = active[active.length - 1]!;
      active.pop();
    }
    if (pcap.packets % 8192 === 0) flush();
  }
  // Bulk data on long-lived connections until the packet target is met.
  let filler = 0;
  while (pcap.packets < minPackets) {
    const conv = new Conversation(pcap, `172.16.0.${1 + (filler % 250)}:${30000 + filler}`, '172.16.1.1:9000', { time: clock });
    conv.handshake();
    for (let i = 0; i < 200 && pcap.packets < minPackets; i++) conv.send('s', 'A', { len: 1448 }).send('c', 'A');
    conv.send('c', 'FA').send('s', 'FA').send('c', 'A');
    clock = conv.time + 0.01;
    filler++;
    if (pcap.packets % 8192 < 500) flush();
  }
  flush();
  // On disk before any timed run reads it: the kernel's write-back of 80 MB would otherwise land in the first one.
  fsyncSync(fd);
  closeSync(fd);
  return { file, packets: pcap.packets, connections: total + filler, bytes, dir };
}

function nullSink(): Writable {
  return new Writable({ write(_chunk, _enc, cb) { cb(); } });
}

let cpu0 = process.cpuUsage();
/** CPU seconds of the last timed analysis (less sensitive than wall time to other jobs on the machine). */
let cpuSecs = 0;

type AnalyzeCommand = typeof analyzeFromSource;

/**
 * The CLI module compiled to JavaScript (one esbuild bundle: the same transpilation tsx does), as the shipped
 * build runs it: its worker threads then start like `synack analyze`'s, instead of loading tsx and
 * transpiling TypeScript while the analysis waits for them. Null (the source under tsx is timed) when
 * esbuild is not installed.
 */
async function compiledCli(): Promise<string | null> {
  try {
    const esbuild = await import('esbuild');
    const root = fileURLToPath(new URL('..', import.meta.url));
    // Inside node_modules so that the bundle's own imports (commander, cli-progress) resolve.
    const dir = path.join(root, 'node_modules', '.cache', 'synack-bench');
    mkdirSync(dir, { recursive: true });
    const outfile = path.join(dir, 'analyze.mjs');
    await esbuild.build({
      entryPoints: [path.join(root, 'src/cli/analyze.ts')], bundle: true, platform: 'node', format: 'esm',
      packages: 'external', outfile, logLevel: 'warning',
    });
    return outfile;
  } catch {
    return null;
  }
}

/** Times `synack analyze FILE --format json` in this process (output discarded); returns seconds. */
async function timeAnalyze(analyzeCommand: AnalyzeCommand, file: string): Promise<number> {
  const t0 = performance.now();
  cpu0 = process.cpuUsage();
  const code = await analyzeCommand([file, '--format', 'json', '--no-progress'], { stdout: nullSink(), stderr: nullSink(), stdin: Readable.from([]) });
  const secs = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  cpuSecs = (c.user + c.system) / 1e6;
  if (code !== 0) throw new Error(`synack analyze exited ${code}`);
  return secs;
}

export async function run(): Promise<BenchResult[]> {
  const gen = generateCapture();
  const compiled = await compiledCli();
  const cli = compiled === null ? [] : ['--cli', compiled];
  const results: BenchResult[] = [];
  try {
    // The analysis runs in a fresh process (the generator's garbage would otherwise be collected on our time),
    // through the real CLI code path: file streaming, decoding, analysis, JSON formatting. Timed inside the
    // child, so node and module start-up are excluded (tshark's own start-up, ~0.2 s, is included in its time).
    // Three configurations of the CLI (src/cli/analyze.ts): its default (worker threads only when a core looks
    // idle), the capture reading and JSON formatting forced onto worker threads, and everything on one thread.
    const timed = (env: Record<string, string>): { secs: number; peakOpen: number } => {
      const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', gen.file, ...cli],
        { encoding: 'utf8', env: { ...process.env, ...env } });
      if (child.status !== 0) throw new Error(`analyzer child failed: ${child.stderr}`);
      return JSON.parse(child.stdout.trim().split('\n').pop()!) as { secs: number; peakOpen: number };
    };
    const measured = timed({});
    const ours = gen.packets / measured.secs;

    let peerValue: number | undefined;
    const probe = spawnSync('tshark', ['-v'], { encoding: 'utf8' });
    if (probe.status === 0) {
      // Its faster of two runs (one run varied by 25 % between bench runs on the shared machine).
      for (let i = 0; i < 2; i++) {
        const p0 = performance.now();
        const t = spawnSync('tshark', ['-r', gen.file, '-q', '-z', 'conv,tcp'], { encoding: 'utf8', maxBuffer: 1 << 30 });
        const psecs = (performance.now() - p0) / 1000;
        if (t.status === 0) peerValue = Math.max(peerValue ?? 0, gen.packets / psecs);
      }
    }
    const workers = gen.packets / timed({ SYNACK_JSON_WORKER_MIN_BYTES: '1', SYNACK_CAPTURE_WORKER_MIN_BYTES: '1' }).secs;
    // The floor (bench/analyze-floor.ts): reading and the 4-tuple lookup with no analysis, then the same with
    // the JSON lines written. What 10x tshark leaves for the analysis itself is the gap above it.
    const floorRun = (mode: FloorMode): { secs: number; connections: number; outputBytes: number } => {
      const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--floor', mode, gen.file], { encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`floor child failed: ${child.stderr}`);
      return JSON.parse(child.stdout.trim().split('\n').pop()!) as { secs: number; connections: number; outputBytes: number };
    };
    const floors = (['read', 'bytes', 'json'] as const).map((m) => [m, floorRun(m)] as const);
    const never = String(2 ** 52);
    const oneThread = gen.packets / timed({ SYNACK_JSON_WORKER_MIN_BYTES: never, SYNACK_CAPTURE_WORKER_MIN_BYTES: never }).secs;
    const withPeer = (name: string, value: number): BenchResult => {
      const r: BenchResult = { name, value: Math.round(value), unit: 'packets/s' };
      if (peerValue !== undefined) {
        r.peer = 'tshark -r FILE -q -z conv,tcp';
        r.peerValue = Math.round(peerValue);
        r.ratio = Math.round((value / peerValue) * 100) / 100;
      }
      return r;
    };
    results.push(withPeer('analyze --format json (mixed lifecycles)', ours));
    results.push(withPeer('analyze --format json, reading and JSON on worker threads', workers));
    results.push(withPeer('analyze --format json, one thread', oneThread));
    const floorNames: Record<FloorMode, string> = {
      read: 'analyze floor: read + 4-tuple lookup, no analysis, no output',
      bytes: 'analyze floor: + JSON lines (bytes writer), no analysis',
      json: 'analyze floor: + JSON lines (JSON.stringify), no analysis',
    };
    for (const [m, f] of floors) results.push(withPeer(floorNames[m], gen.packets / f.secs));
    results.push({ name: 'analyze capture size', value: gen.packets, unit: 'packets' });
    results.push({ name: 'analyze capture connections', value: gen.connections, unit: 'connections' });
    // Memory stays proportional to open connections: the most the analyzer held at once.
    results.push({ name: 'analyze peak open connections', value: measured.peakOpen, unit: 'connections' });
    results.push({ name: 'analyze capture file', value: Math.round(statSync(gen.file).size / 1048576), unit: 'MB' });
  } finally {
    rmSync(gen.dir, { recursive: true, force: true });
  }
  return results;
}

/** Child mode: time the CLI (compiled, when `cli` names the bundle), then count the peak of open connections in a second pass. */
async function child(file: string, cli: string | undefined): Promise<void> {
  const analyze = cli === undefined ? analyzeFromSource : (await import(pathToFileURL(cli).href) as { analyzeCommand: AnalyzeCommand }).analyzeCommand;
  const secs = await timeAnalyze(analyze, file);
  const an = new Analyzer({ recycle: true });
  const rd = new CaptureReader();
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    rd.push(chunk as Buffer);
    for (let rec = rd.next(); rec; rec = rd.next()) an.packet(rec);
  }
  rd.end();
  for (let rec = rd.next(); rec; rec = rd.next()) an.packet(rec);
  an.finish();
  process.stdout.write(JSON.stringify({ secs, cpuSecs, peakOpen: an.peakOpen }) + '\n');
}

// `node --import tsx bench/analyze.ts` runs it alone; `--child FILE [--cli BUNDLE]` is the timed analysis process.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === '--floor') {
    const t0 = performance.now();
    const f = floor(process.argv[4]!, process.argv[3] as FloorMode);
    process.stdout.write(JSON.stringify({ secs: (performance.now() - t0) / 1000, ...f }) + '\n');
  } else if (process.argv[2] === '--child') {
    await child(process.argv[3]!, process.argv[4] === '--cli' ? process.argv[5] : undefined);
  } else if (process.argv[2] === '--generate') {
    // Keep the capture (for profiling: `node --cpu-prof --import tsx bench/analyze.ts --child FILE`).
    const g = generateCapture();
    renameSync(g.file, process.argv[3]!);
    rmSync(g.dir, { recursive: true, force: true });
    console.log(JSON.stringify({ file: process.argv[3], packets: g.packets, connections: g.connections }));
  } else {
    for (const r of await run()) console.log(JSON.stringify(r));
  }
}
