/**
 * `npm run bench [-- NAME...]`: runs the benchmarks (all but the NAMED_ONLY ones, or those whose name starts with NAME), prints
 * each figure (with the peer measured in the same run and the ratio, where there is one) and writes every
 * figure to bench/results.json.
 *
 * The in-process suites (COMPILED) run as users run the library: TypeScript compiled to JavaScript (dist/ from
 * `npm run build`), not through tsx, whose transform wraps every function a module creates in a naming helper
 * (~10 % of the stack bench's CPU). This process (under tsx) first transpiles src/ and bench/ with the TypeScript
 * compiler (the emit `tsc` gives for tsconfig.json, per file, only what changed since the last run) into
 * dist/bench/ (ignored by git, outside the package's files), then runs those suites there in a child process
 * and the others itself. `--tsx` runs every suite under tsx, as before (for an A/B of the two).
 */
import { writeFileSync, readFileSync, existsSync, mkdirSync, readdirSync, statSync, symlinkSync, lstatSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative, resolve } from 'node:path';
import type { BenchResult } from './results.js';

const here = dirname(fileURLToPath(import.meta.url));
const SUITES: Record<string, string> = {
  engine: './engine.js',
  stack: './stack.js',
  analyze: './analyze.js',
  drill: './drill.js',
  tun: './tun.js',
  ip: './ip.js',
  http: './http.js',
  loss: './loss.js',
  ui: './ui.js',
  library: './library.js',
  idle: './idle.js',
};
/** Suites run only when named (`npm run bench -- idle`): one million connections take ~30 s and 2-3 GiB. */
const NAMED_ONLY = new Set(['idle']);
/**
 * Suites run compiled. The real-peer ones (tun, ip, http, loss) too: synack's side runs in their namespace
 * process (runInNetns re-executes the compiled file without tsx), as `synack serve` runs from dist/, and the
 * kernel peers they spawn are plain JavaScript (http's kernel server runs the file the way its parent does).
 * The others stay under tsx: analyze times its CLI from its own esbuild bundle, ui builds the page with vite.
 */
const COMPILED = new Set(['engine', 'stack', 'idle', 'library', 'drill', 'tun', 'ip', 'http', 'loss']);
/** Set in the compiled child: the suites it runs, and where the results go. */
const CHILD_SUITES = process.env.SYNACK_BENCH_SUITES;
const RESULTS = process.env.SYNACK_BENCH_RESULTS ?? join(here, 'results.json');

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
let names = Object.keys(SUITES).filter((n) => wanted.length === 0 ? !NAMED_ONLY.has(n) : wanted.some((w) => n.startsWith(w) || w.startsWith(n)));
if (names.length === 0) {
  console.error(`unknown benchmark ${wanted.join(' ')}; known: ${Object.keys(SUITES).join(', ')}`);
  process.exit(2);
}
if (CHILD_SUITES !== undefined) {
  names = CHILD_SUITES.split(',').filter((n) => n in SUITES);
} else if (!process.argv.includes('--tsx')) {
  const compiled = names.filter((n) => COMPILED.has(n));
  if (compiled.length) {
    const root = resolve(here, '..');
    const t0 = performance.now();
    const n = compileForBench(root, join(root, 'dist/bench'));
    console.log(`(compiled: ${compiled.join(', ')}; ${n} files transpiled in ${Math.round(performance.now() - t0)} ms)`);
    // The same Node flags as this process (--expose-gc, heap size, a profiler's), without tsx.
    const flags = process.execArgv.filter((a, i, all) => !(a === 'tsx' && all[i - 1] === '--import') && !(a === '--import' && all[i + 1] === 'tsx'));
    const child = spawnSync(process.execPath, [...flags, join(root, 'dist/bench/bench/run.js'), ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, SYNACK_BENCH_SUITES: compiled.join(','), SYNACK_BENCH_RESULTS: RESULTS, SYNACK_SHARED: process.env.SYNACK_SHARED ?? resolve(root, '../shared') },
    });
    if (child.status !== 0) console.log(`  compiled suites ended with ${child.status ?? child.signal}`);
    names = names.filter((x) => !COMPILED.has(x));
    if (names.length === 0) process.exit(child.status ?? 1);
  }
}
const out: BenchResult[] = [];
for (const n of names) {
  const file = join(here, CHILD_SUITES !== undefined ? SUITES[n]! : SUITES[n]!.replace('.js', '.ts'));
  if (!existsSync(file)) { console.log(`- ${n}: not present, skipped`); continue; }
  console.log(`# ${n}`);
  try {
    const mod = (await import(SUITES[n]!)) as { run: () => Promise<BenchResult[]> };
    const res = await mod.run();
    // A suite may filter by sub-name: `npm run bench -- engine.bulk` keeps only matching figures.
    for (const r of res) {
      if (wanted.length && !wanted.some((w) => r.name.startsWith(w) || w === n)) continue;
      out.push(r);
      const peer = r.peer !== undefined ? `   ${r.peer}: ${r.peerValue} ${r.unit}   ratio ${r.ratio}` : '';
      console.log(`  ${r.name.padEnd(36)} ${String(r.value).padStart(12)} ${r.unit}${peer}`);
    }
  } catch (e) {
    console.log(`  ${n} failed: ${(e as Error).message}`);
  }
}
const path = RESULTS;
let prev: BenchResult[] = [];
try { prev = JSON.parse(readFileSync(path, 'utf8')) as BenchResult[]; } catch { /* first run */ }
// Keep figures from suites not run this time; replace the ones measured now.
const merged = [...prev.filter((p) => !out.some((o) => o.name === p.name)), ...out];
writeFileSync(path, JSON.stringify(merged, null, 2) + '\n');
console.log(`wrote ${path}`);

/**
 * Transpiles src/ (without tests) and bench/ into `out` with the TypeScript compiler and tsconfig.json's options,
 * each file only when its source is newer than its output; returns how many it wrote. Per-file emit is what tsc
 * emits for this code (no const enums; type-only re-exports are marked, as tsx's own per-file transform needs).
 * Each source under src/ is also linked beside its output, for benches that hand a source path to a bundler.
 */
function compileForBench(root: string, out: string): number {
  const require = createRequire(join(root, 'package.json'));
  const ts = require('typescript') as typeof import('typescript');
  const config = ts.parseJsonConfigFileContent(ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, root);
  const options = { ...config.options, module: ts.ModuleKind.ES2022, sourceMap: false, inlineSourceMap: false, declaration: false };
  // A different compiler or options invalidates every output.
  const stamp = JSON.stringify({ ts: ts.version, target: options.target, module: options.module });
  const stampFile = join(out, '.stamp');
  const fresh = existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp;
  let written = 0;
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = join(dir, e.name);
      if (e.isDirectory()) { if (rel !== join('src', 'api', 'consumer')) walk(rel); continue; }
      if (!e.name.endsWith('.ts') || e.name.endsWith('.test.ts') || e.name.endsWith('.d.ts')) continue;
      const src = join(root, rel);
      const dst = join(out, rel.replace(/\.ts$/, '.js'));
      if (fresh && existsSync(dst) && statSync(dst).mtimeMs >= statSync(src).mtimeMs) continue;
      const js = ts.transpileModule(readFileSync(src, 'utf8'), { compilerOptions: options, fileName: src }).outputText;
      mkdirSync(dirname(dst), { recursive: true });
      writeFileSync(dst, js);
      written++;
      const link = join(out, rel);
      if (dir.startsWith('src') && !existsSync(link)) {
        try { lstatSync(link); } catch { symlinkSync(relative(dirname(link), src), link); }
      }
    }
  };
  walk('src');
  walk('bench');
  writeFileSync(stampFile, stamp);
  return written;
}
