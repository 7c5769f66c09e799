/**
 * `npm run conformance`: the public conformance corpora in ../shared. The packetdrill part runs every
 * script of ../shared/packetdrill with its INDEX.tsv personality (src/drill/conformance.ts).
 */
import { runDrillConformance } from '../src/drill/conformance.js';

async function main(): Promise<void> {
  const details = !process.argv.includes('--summary');
  const rep = await runDrillConformance({ details });
  if (rep && rep.totals.fail > 0) process.exitCode = 1;
}

main().catch((e: unknown) => { console.error(e); process.exitCode = 2; });
