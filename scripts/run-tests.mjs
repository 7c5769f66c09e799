// Runs every *.test.ts under src/ (and ui/ logic tests) with Node's own test runner, TypeScript via tsx.
// Usage: npm test [-- PATH-SUBSTRING...] to run only the files whose path contains one of the substrings.
// The runner's TAP goes to stdout as it comes; at the end the failing tests are listed again with their error, so a
// log that keeps only its tail (a CI record) still names what failed.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

function walk(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const e of entries) {
    if (e === 'node_modules' || e === 'dist') continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (e.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/**
 * The failures in a TAP stream: each `not ok` line with the YAML block under it (location, error, the first stack
 * lines), its enclosing subtests' names and the file it came from. Failures that only propagate a subtest's are kept
 * too (a file that failed to load has no subtest).
 */
function tapFailures(tap) {
  const lines = tap.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)not ok \d+ - (.*)$/.exec(lines[i]);
    if (!m) continue;
    const block = [lines[i].trimStart()];
    let j = i + 1;
    if (j < lines.length && /^\s*---\s*$/.test(lines[j])) {
      for (j++; j < lines.length && !/^\s*\.\.\.\s*$/.test(lines[j]); j++) {
        const l = lines[j];
        if (/^\s*duration_ms:/.test(l) || /^\s*type: '?test'?/.test(l) || /\(?node:(internal|async_hooks)/.test(l)) continue;
        if (block.length < 28) block.push(l.replace(/^\s{0,4}/, '  '));
      }
    }
    out.push(block.join('\n'));
  }
  return out;
}

const filters = process.argv.slice(2);
let files = walk('src', []).concat(walk('ui/src', []));
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
files.sort();
if (files.length === 0) { console.error('no test files matched'); process.exit(1); }
// A hang must fail rather than block CI: each test has 5 minutes, the whole run 12. (Not --test-force-exit: it
// ended files' processes before all their tests had reported, silently: one file reported 64, 68 or 80 tests
// from run to run, and one CI run passed with 1 028 of the 1 046 tests.)
const SUITE_TIMEOUT_MS = 12 * 60_000;
const child = spawn(process.execPath, ['--import', 'tsx', '--import', './scripts/test-setup.mjs', '--test', '--test-reporter=tap', '--test-concurrency=2', '--test-timeout=300000', ...files], { stdio: ['inherit', 'pipe', 'inherit'] });
const chunks = [];
child.stdout.on('data', (c) => { chunks.push(c); process.stdout.write(c); });
let timedOut = false;
const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, SUITE_TIMEOUT_MS);
child.on('close', (code) => {
  clearTimeout(timer);
  const failures = tapFailures(Buffer.concat(chunks).toString('utf8'));
  // Only the innermost failure of each chain is news; its parents repeat "N subtests failed".
  const real = failures.filter((f) => !/^\s*error: '\d+ subtests? failed'/m.test(f));
  if (real.length) {
    console.log(`\n# npm test: ${real.length} failing test${real.length === 1 ? '' : 's'} (repeated from above):`);
    for (const f of real) console.log(f.split('\n').map((l) => '# ' + l).join('\n'));
  }
  if (timedOut) {
    console.error(`npm test: the suite did not finish in ${SUITE_TIMEOUT_MS / 60_000} minutes (a test or a file's open handle hangs); killed`);
    process.exit(1);
  }
  process.exit(code ?? 1);
});
