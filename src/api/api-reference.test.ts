/**
 * The API reference (docs/api, TypeDoc with typedoc.json) cannot drift from the code: TypeDoc run on the public
 * entries reports no warning (every public export and member documented, no type the API uses left unexported),
 * and what it generates is byte for byte the committed docs/api.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const committed = join(root, 'docs', 'api');

/** Every file under `dir`, as paths relative to it, sorted. */
function files(dir: string, base = dir, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) files(p, base, out);
    else out.push(relative(base, p));
  }
  return out.sort();
}

test('the API reference: TypeDoc documents every public export without a warning, and docs/api is what it generates', { timeout: 180_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'synack-api-docs-'));
  try {
    // typedoc.json's own options (warnings are errors, validation of undocumented and unexported items), only
    // the output elsewhere.
    const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], {
      cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }, maxBuffer: 16 << 20,
    });
    const log = `${r.stdout}${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, ''); // without colour codes
    const problems = log.split('\n').filter((l) => /^\[(warning|error)\]/.test(l));
    assert.deepEqual(problems, [], `TypeDoc reported problems (document the item, or export the type it names from src/api/*.ts):\n${log}`);
    assert.equal(r.status, 0, `typedoc failed:\n${log}`);

    const generated = files(out);
    assert.ok(generated.includes('README.md') && generated.some((f) => f.startsWith('index/classes/')), 'TypeDoc generated the reference');
    const stale = 'docs/api is out of date: run `npm run docs` and commit docs/api';
    let have: string[] = [];
    try { have = files(committed); } catch { /* no docs/api at all: every file is missing below */ }
    assert.deepEqual(have, generated, `${stale} (files added or removed)`);
    const differing = generated.filter((f) => !readFileSync(join(out, f)).equals(readFileSync(join(committed, f))));
    assert.deepEqual(differing, [], `${stale} (files that differ)`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
