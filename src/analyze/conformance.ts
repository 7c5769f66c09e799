/**
 * The analyzer part of `npm run conformance`: synack analyze over ../shared/pcap-corpus, compared with Zeek's
 * conn.log baselines, the suricata-verify flow checks and TShark 4.0.17's completeness values, with the
 * written reason for every known difference. The rules are the corpus tests' (src/analyze/corpus.ts).
 */
import { allCorpusChecks, zeekDir, type CheckResult, type CorpusCheck } from './corpus.js';

export interface AnalyzeConformanceReport {
  checks: CorpusCheck[];
  /** Per suite: agree / known / disagree counts. */
  totals: Record<CorpusCheck['suite'], Record<CheckResult, number>>;
  disagreements: number;
  wallMs: number;
}

const SUITE_TITLES: Record<CorpusCheck['suite'], string> = {
  'zeek-state': 'Zeek conn.log conn_state + history (per row; plus the row count per trace)',
  'zeek-numbers': "Zeek conn.log numbers (duration, seq-derived bytes, missed bytes, packets, IP bytes)",
  'suricata-verify': 'suricata-verify flow checks (tcp.state, flags per direction, syn/fin/rst)',
  'tshark-completeness': 'TShark 4.0.17 tcp.completeness (per stream)',
};

/**
 * Runs every check and prints a table per suite, then each known difference with its reason and each
 * disagreement (`details`: also list the traces checked). Returns null when ../shared is absent.
 */
export function runAnalyzeConformance(opts: { details?: boolean; write?: (s: string) => void } = {}): AnalyzeConformanceReport | null {
  const write = opts.write ?? ((s: string): void => { process.stdout.write(s); });
  const t0 = performance.now();
  const checks = allCorpusChecks();
  if (checks === null) {
    write(`analyzer conformance: skipped, ${zeekDir} not present (../shared not present)\n`);
    return null;
  }
  const wallMs = performance.now() - t0;
  const totals = {} as AnalyzeConformanceReport['totals'];
  for (const suite of Object.keys(SUITE_TITLES) as Array<CorpusCheck['suite']>) totals[suite] = { agree: 0, known: 0, disagree: 0 };
  for (const c of checks) totals[c.suite][c.result]++;

  write('\n== synack analyze vs the reference tools (../shared/pcap-corpus) ==\n');
  for (const [suite, title] of Object.entries(SUITE_TITLES) as Array<[CorpusCheck['suite'], string]>) {
    const t = totals[suite];
    const traces = new Set(checks.filter((c) => c.suite === suite).map((c) => c.trace)).size;
    write(`${title}\n  ${traces} traces, ${t.agree + t.known + t.disagree} checks: ${t.agree} agree, ${t.known} known differences, ${t.disagree} disagree\n`);
    if (opts.details) {
      const byTrace = new Map<string, CorpusCheck[]>();
      for (const c of checks) if (c.suite === suite) byTrace.set(c.trace, [...(byTrace.get(c.trace) ?? []), c]);
      for (const [trace, cs] of byTrace) {
        const bad = cs.filter((c) => c.result !== 'agree').length;
        write(`    ${bad === 0 ? 'ok  ' : 'diff'} ${trace} (${cs.length})\n`);
      }
    }
  }
  const known = checks.filter((c) => c.result === 'known');
  if (known.length > 0) {
    write('\nKnown differences (documented):\n');
    for (const c of known) write(`  [${c.suite}] ${c.trace} ${c.item}: reference ${c.expected}, synack ${c.actual}\n      why: ${c.why ?? ''}\n`);
  }
  const bad = checks.filter((c) => c.result === 'disagree');
  if (bad.length > 0) {
    write('\nDisagreements (not documented):\n');
    for (const c of bad) write(`  [${c.suite}] ${c.trace} ${c.item}: reference ${c.expected}, synack ${c.actual}${c.why ? ` (documented: ${c.why})` : ''}\n`);
  }
  write(`\nanalyzer conformance: ${checks.length} checks, ${known.length} known differences, ${bad.length} disagreements (${(wallMs / 1000).toFixed(1)} s)\n`);
  return { checks, totals, disagreements: bad.length, wallMs };
}
