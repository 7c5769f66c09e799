/**
 * synack serve's V8 flags (SERVE_V8_FLAGS, set by serveCommand): young-generation GCs run on the event loop's
 * thread alone, not split across V8's worker threads. Seen in V8's own trace (--trace-gc-nvp gives each scavenge's
 * time in the workers, background.scavenge.parallel) of a child process that keeps enough objects alive across
 * scavenges for V8 to share the work: with V8's defaults the workers take part, after applyServeV8Flags() never.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { SERVE_V8_FLAGS } from './serve.js';

const SERVE = pathToFileURL(new URL('./serve.ts', import.meta.url).pathname).href;

/**
 * The scavenges of a child that loads serve (applying its flags or not), then allocates ~1 M small objects, 8 arrays
 * of 20 000 alive at a time: time (ms) the workers spent in each, from the line the child prints once loaded.
 */
function workerScavengeMs(apply: boolean): number[] {
  const code = `const serve = await import(${JSON.stringify(SERVE)});
${apply ? 'serve.applyServeV8Flags();' : ''}
console.log('loaded');
const keep = [];
for (let i = 0; i < 60; i++) {
  const a = [];
  for (let j = 0; j < 20000; j++) a.push({ i, j, s: 'x' + j });
  keep.push(a);
  if (keep.length > 8) keep.shift();
}`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--trace-gc-nvp', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = `\n${r.stdout}`;
  const lines = out.slice(out.indexOf('\nloaded\n')).split('\n').filter((l) => /\bgc=s\b/.test(l));
  return lines.map((l) => Number(/\bbackground\.scavenge\.parallel=([\d.]+)/.exec(l)?.[1] ?? NaN));
}

test('serve flags: V8\'s workers take no part in scavenges once applyServeV8Flags() ran', () => {
  assert.ok(SERVE_V8_FLAGS.includes('--no-parallel-scavenge'));
  const defaults = workerScavengeMs(false);
  assert.ok(defaults.length >= 3, `scavenges traced: ${defaults.length}`);
  // The workload is one V8 shares with its workers by default (else this test could not fail).
  assert.ok(defaults.some((ms) => ms > 0), `worker time per scavenge with V8's defaults: ${defaults.join(' ')}`);
  const serve = workerScavengeMs(true);
  assert.ok(serve.length >= 3, `scavenges traced: ${serve.length}`);
  assert.deepEqual(serve.filter((ms) => !(ms === 0)), [], `worker time per scavenge with serve's flags: ${serve.join(' ')}`);
});
