/**
 * `npm run bench [-- NAME...]`: runs the benchmarks (all but the NAMED_ONLY ones, or those whose name starts with NAME), prints
 * each figure (with the peer measured in the same run and the ratio, where there is one) and writes every
 * figure to bench/results.json.
 */
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
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

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = Object.keys(SUITES).filter((n) => wanted.length === 0 ? !NAMED_ONLY.has(n) : wanted.some((w) => n.startsWith(w) || w.startsWith(n)));
if (names.length === 0) {
  console.error(`unknown benchmark ${wanted.join(' ')}; known: ${Object.keys(SUITES).join(', ')}`);
  process.exit(2);
}
const out: BenchResult[] = [];
for (const n of names) {
  const file = join(here, SUITES[n]!.replace('.js', '.ts'));
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
const path = join(here, 'results.json');
let prev: BenchResult[] = [];
try { prev = JSON.parse(readFileSync(path, 'utf8')) as BenchResult[]; } catch { /* first run */ }
// Keep figures from suites not run this time; replace the ones measured now.
const merged = [...prev.filter((p) => !out.some((o) => o.name === p.name)), ...out];
writeFileSync(path, JSON.stringify(merged, null, 2) + '\n');
console.log(`wrote ${path}`);
