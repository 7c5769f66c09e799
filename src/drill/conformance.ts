/**
 * The public packetdrill corpus (../shared/packetdrill, INDEX.tsv) run with each script's personality:
 * pass/fail/unsupported by source and topic (issue #6, `npm run conformance`).
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Personality } from './ast.js';
import { runScriptText, type DrillResult } from './runner.js';

export interface CorpusEntry {
  path: string;
  source: string;
  personality: Personality;
  klass: string;
  group: string;
  topic: string;
  ipVersion: string;
  linuxReference: string;
}

export interface ConformanceRow { entry: CorpusEntry; result: DrillResult }

export interface ConformanceReport {
  rows: ConformanceRow[];
  totals: { pass: number; fail: number; unsupported: number };
  /** Wall time for the whole corpus, milliseconds. */
  wallMs: number;
}

/** Reads INDEX.tsv (header row names the columns). */
export async function readCorpusIndex(corpusDir: string): Promise<CorpusEntry[]> {
  const text = await readFile(path.join(corpusDir, 'INDEX.tsv'), 'utf8');
  const [head, ...lines] = text.split('\n').filter((l) => l.trim() !== '');
  const cols = head!.split('\t');
  const col = (row: string[], name: string): string => row[cols.indexOf(name)] ?? '';
  return lines.map((l) => {
    const r = l.split('\t');
    const p = col(r, 'personality');
    return {
      path: col(r, 'path'), source: col(r, 'source'), personality: (p === 'freebsd' ? 'freebsd' : p === 'synack' ? 'synack' : 'linux') as Personality,
      klass: col(r, 'class'), group: col(r, 'group'), topic: col(r, 'topic'), ipVersion: col(r, 'ip_version'),
      linuxReference: col(r, 'linux_6_18_reference_result'),
    };
  });
}

/**
 * Runs one corpus script as its source's runner does (§11.9): gVisor's with --tolerance_usecs=100000, and
 * family-neutral Linux scripts in both IPv4 and IPv6 (the result is the worse of the two, the reason names
 * the family). FreeBSD scripts pin their family.
 */
export function runEntry(entry: CorpusEntry, text: string): DrillResult {
  const toleranceUsecs = entry.path.startsWith('gvisor/') ? 100_000 : undefined;
  const families: Array<'ipv4' | 'ipv6'> = entry.ipVersion === 'any' ? ['ipv4', 'ipv6'] : [entry.ipVersion === 'ipv6' ? 'ipv6' : 'ipv4'];
  let worst: DrillResult | null = null;
  const rank = { pass: 0, unsupported: 1, fail: 2 } as const;
  for (const ipVersion of families) {
    const r = runScriptText(text, { file: entry.path, personality: entry.personality, toleranceUsecs, ipVersion });
    if (families.length > 1 && r.reason) r.reason = `[${ipVersion}] ${r.reason}`;
    if (worst === null || rank[r.result] > rank[worst.result]) worst = r;
  }
  return worst!;
}

/** Runs every corpus script (family-neutral Linux scripts in both families). */
export async function runCorpus(corpusDir: string, filter?: (e: CorpusEntry) => boolean): Promise<ConformanceReport> {
  const entries = (await readCorpusIndex(corpusDir)).filter((e) => !filter || filter(e));
  const t0 = performance.now();
  const rows: ConformanceRow[] = [];
  for (const entry of entries) {
    const text = await readFile(path.join(corpusDir, entry.path), 'utf8');
    rows.push({ entry, result: runEntry(entry, text) });
  }
  const wallMs = performance.now() - t0;
  const totals = { pass: 0, fail: 0, unsupported: 0 };
  for (const r of rows) totals[r.result.result]++;
  return { rows, totals, wallMs };
}

function table(title: string, keyOf: (r: ConformanceRow) => string, rows: ConformanceRow[]): string {
  const m = new Map<string, { pass: number; fail: number; unsupported: number }>();
  for (const r of rows) {
    const k = keyOf(r);
    const v = m.get(k) ?? { pass: 0, fail: 0, unsupported: 0 };
    v[r.result.result]++;
    m.set(k, v);
  }
  const width = Math.max(title.length, ...[...m.keys()].map((k) => k.length));
  const lines = [`${title.padEnd(width)}  pass  fail  unsup  total`];
  for (const [k, v] of [...m.entries()].sort()) {
    lines.push(`${k.padEnd(width)}  ${String(v.pass).padStart(4)}  ${String(v.fail).padStart(4)}  ${String(v.unsupported).padStart(5)}  ${String(v.pass + v.fail + v.unsupported).padStart(5)}`);
  }
  return lines.join('\n');
}

/** The printed report: totals, by source folder, by topic, then every non-pass with its reason. */
export function formatConformance(rep: ConformanceReport, opts: { details?: boolean } = {}): string {
  const out: string[] = [];
  const { pass, fail, unsupported } = rep.totals;
  const n = rep.rows.length;
  out.push(`packetdrill corpus: ${n} scripts — ${pass} passed, ${fail} failed, ${unsupported} unsupported (${n ? ((100 * pass) / n).toFixed(1) : '0'}% pass) in ${(rep.wallMs / 1000).toFixed(2)} s`);
  out.push('');
  out.push(table('source', (r) => r.entry.path.split('/')[0]!, rep.rows));
  out.push('');
  out.push(table('class', (r) => r.entry.klass || '-', rep.rows));
  out.push('');
  out.push(table('topic', (r) => `${r.entry.personality}/${r.entry.topic}`, rep.rows));
  if (opts.details !== false) {
    out.push('');
    for (const r of rep.rows) {
      if (r.result.result === 'pass') continue;
      const ref = r.entry.linuxReference.includes('FAIL') && r.entry.personality === 'linux' ? ` [Linux 6.18 reference: ${r.entry.linuxReference}]` : '';
      out.push(`${r.result.result.toUpperCase()} ${r.entry.path}${r.result.line ? `:${r.result.line}` : ''}: ${r.result.reason ?? ''}${ref}`);
    }
  }
  return out.join('\n');
}

/** The directory holding package.json above this module (works from src/ and from dist/). */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** `npm run conformance`, drill part: runs the corpus and prints the report; returns it for callers. */
export async function runDrillConformance(opts: { corpusDir?: string; print?: (s: string) => void; details?: boolean } = {}): Promise<ConformanceReport | null> {
  const shared = process.env.SYNACK_SHARED ?? path.resolve(repoRoot(), '../shared');
  const dir = opts.corpusDir ?? path.join(shared, 'packetdrill');
  const print = opts.print ?? ((s: string) => process.stdout.write(s + '\n'));
  try {
    await readFile(path.join(dir, 'INDEX.tsv'));
  } catch {
    print(`packetdrill corpus not found at ${dir} (../shared not present): skipped`);
    return null;
  }
  const rep = await runCorpus(dir);
  print(formatConformance(rep, { details: opts.details }));
  return rep;
}
