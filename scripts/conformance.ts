/**
 * `npm run conformance [-- --summary] [-- --strict]`: the public conformance corpora in ../shared. The
 * packetdrill part runs every script of ../shared/packetdrill with its INDEX.tsv personality
 * (src/drill/conformance.ts) and prints pass/fail/unsupported by source, class and topic, then every
 * non-pass with its reason. Known failures do not fail the command unless --strict is given; an internal
 * error of the runner always does. Then the state × event matrix (src/drill/matrix): cells passed per
 * personality and state (a failing cell outside KNOWN_GAPS fails the command). The analyzer part (src/analyze/conformance.ts) runs `synack analyze` over
 * ../shared/pcap-corpus and prints its agreement with Zeek, suricata-verify and TShark, with the reason for
 * every known difference; --strict also fails on an undocumented disagreement.
 */
import { runDrillConformance } from '../src/drill/conformance.js';
import { runAnalyzeConformance } from '../src/analyze/conformance.js';
import { KNOWN_GAPS } from '../src/drill/matrix/cells.js';
import { formatMatrixReport, runMatrix } from '../src/drill/matrix/run.js';

async function main(): Promise<void> {
  const details = !process.argv.includes('--summary');
  const strict = process.argv.includes('--strict');
  const rep = await runDrillConformance({ details });
  if (rep) {
    const internal = rep.rows.filter((r) => r.result.reason?.includes('internal error'));
    if (internal.length > 0 || (strict && rep.totals.fail > 0)) process.exitCode = 1;
  }
  // The state × event matrix (src/drill/matrix, issue 16): cells passed per personality and state.
  const matrix = runMatrix();
  console.log(`\n== state × event matrix (src/drill/matrix) ==\n${formatMatrixReport(matrix, details)}`);
  if (matrix.results.some((r) => !r.pass && KNOWN_GAPS[r.cell.id] === undefined)) process.exitCode = 1;
  // The capture analyzer against Zeek, suricata-verify and TShark (src/analyze/conformance.ts).
  const analyze = runAnalyzeConformance({ details });
  if (analyze && strict && analyze.disagreements > 0) process.exitCode = 1;
}

main().catch((e: unknown) => { console.error(e); process.exitCode = 2; });
