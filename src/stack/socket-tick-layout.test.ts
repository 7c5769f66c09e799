/**
 * A process with synack sockets keeps process.nextTick on its fast path after many full GCs that find no tick queued
 * (what a socket's bulk transfer gives: it queues almost no ticks). Node builds each tick as an object literal with
 * computed keys; V8 drops that literal's maps at a full GC when no tick object has them, and after several such GCs
 * the literal's stores go megamorphic for the rest of the process (every nextTick then ~0.3-0.5 us). Socket holds
 * one tick object (socket.ts, holdTickLayout). Checked in a child process with V8's natives syntax: the state of
 * nextTick's feedback for the literal's stores, with and without a synack Socket made first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const socket = fileURLToPath(new URL('./socket.ts', import.meta.url));

/** The feedback states of nextTick's literal stores after `cycles` full GCs with no tick queued, each then a tick. */
function literalStoreStates(withSocket: boolean, cycles: number): string[] {
  const code = `
    ${withSocket ? `const { Socket } = await import(${JSON.stringify(socket)}); new Socket().destroy();` : ''}
    await new Promise((r) => process.nextTick(r));
    for (let i = 0; i < ${cycles}; i++) {
      await new Promise((r) => setImmediate(r));
      globalThis.gc();
      await new Promise((r) => process.nextTick(r, 1, 2));
    }
    for (let i = 0; i < 2000; i++) await new Promise((r) => process.nextTick(r, 1, 2));
    new Function('f', '%DebugPrint(f)')(process.nextTick);
  `;
  // V8 prints to the child's stdout through C's stdio: into a file, as a pipe (non-blocking in Node) may lose part of it.
  const dir = mkdtempSync(join(tmpdir(), 'synack-tick-'));
  const out = openSync(join(dir, 'out'), 'w');
  try {
    const r = spawnSync(process.execPath, ['--expose-gc', '--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', code], {
      encoding: 'utf8', timeout: 60_000, stdio: ['ignore', out, 'pipe'],
      // Not as a test runner's child (NODE_TEST_CONTEXT): its stdout would be the runner's protocol.
      env: { ...process.env, NODE_TEST_CONTEXT: undefined },
    });
    assert.equal(r.status, 0, r.stderr);
  } finally { closeSync(out); }
  const printed = readFileSync(join(dir, 'out'), 'utf8');
  rmSync(dir, { recursive: true, force: true });
  const bySlot = new Map<string, string>();
  for (const m of printed.matchAll(/slot #(\d+) DefineKeyedOwnPropertyInLiteral (\w+)/g)) if (!bySlot.has(m[1]!)) bySlot.set(m[1]!, m[2]!);
  return [...bySlot.values()];
}

test('full GCs with no tick queued do not make nextTick\'s tick-object stores megamorphic once a Socket exists', (t) => {
  const control = literalStoreStates(false, 16);
  if (control.length === 0) { t.skip('this Node build does not print feedback vectors (%DebugPrint)'); return; }
  if (!control.includes('MEGAMORPHIC')) { t.skip(`this Node/V8 keeps the tick literal's maps through full GCs (states without a Socket: ${control.join(', ')})`); return; }
  const withSocket = literalStoreStates(true, 16);
  assert.ok(withSocket.length > 0);
  assert.deepEqual(withSocket.filter((s) => s === 'MEGAMORPHIC'), [], `states with a Socket: ${withSocket.join(', ')} (without: ${control.join(', ')})`);
});
