/**
 * Drill benchmark: wall time for the whole public packetdrill corpus (../shared/packetdrill, 291 scripts)
 * in virtual time, one core, each script as its source's runner runs it (Linux scripts in both families). Goal (issue #6): under 10 s; the real packetdrill needs real seconds per script.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCorpusIndex, runEntry } from '../src/drill/conformance.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export async function run(): Promise<Array<{ name: string; value: number; unit: string }>> {
  const shared = process.env.SYNACK_SHARED ?? path.resolve(here, '../../shared');
  const corpus = path.join(shared, 'packetdrill');
  if (!existsSync(path.join(corpus, 'INDEX.tsv'))) return [];
  const entries = await readCorpusIndex(corpus);
  // Read every script first: the figure is interpreter + stack time, not disk time.
  const texts = await Promise.all(entries.map((e) => readFile(path.join(corpus, e.path), 'utf8')));
  const once = (): { ms: number; pass: number } => {
    const t0 = performance.now();
    let pass = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (runEntry(e, texts[i]!).result === 'pass') pass++;
    }
    return { ms: performance.now() - t0, pass };
  };
  once(); // warm-up (JIT)
  const runs = [once(), once(), once()].map((r) => r.ms).sort((a, b) => a - b);
  const median = runs[1]!;
  return [
    { name: 'drill.corpus-wall', value: Math.round(median), unit: 'ms' },
    { name: 'drill.per-script', value: Math.round((median / entries.length) * 1000) / 1000, unit: 'ms' },
    { name: 'drill.corpus-scripts', value: entries.length, unit: 'scripts' },
  ];
}
