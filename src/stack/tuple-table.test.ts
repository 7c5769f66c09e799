/**
 * The stack's connection table (TupleTable): whatever the order of additions and removals, including tuples
 * whose hashes collide, bursts that grow the table and its emptying after them, a connection is found by its
 * tuple exactly while it is in the table, and iteration gives the connections in the order they were added.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TupleTable, type TupleKeyed } from './tuple-table.js';
import { tupleKey } from './demux.js';
import { mulberry32 } from '../tcp/test-util.js';

interface Entry extends TupleKeyed { n: number; key: number }

const LOCAL = new Uint8Array([10, 0, 0, 2]);

function entry(n: number, port: number, collide: boolean): Entry {
  const remoteAddr = new Uint8Array([10, 1, (n >> 8) & 255, n & 255]);
  // A colliding entry is filed under a key shared with others (as two tuples whose hashes are equal).
  const key = collide ? 12345 : tupleKey(LOCAL, 80, remoteAddr, port);
  return { n, key, localAddr: LOCAL, localPort: 80, remoteAddr, remotePort: port };
}

for (const seed of [1, 2, 3]) {
  test(`random additions and removals (seed ${seed}): found exactly while present, iterated in insertion order`, () => {
    const rnd = mulberry32(seed);
    const table = new TupleTable<Entry>();
    const live: Entry[] = []; // the model: insertion order
    let made = 0;
    for (let step = 0; step < 30_000; step++) {
      // Phases: bursts that grow the table to thousands, then drain it (shrinking), else churn around a few.
      const phase = Math.floor(step / 5000) % 3;
      const pAdd = phase === 0 ? 0.8 : phase === 1 ? 0.2 : 0.5;
      if (live.length === 0 || rnd() < pAdd) {
        const e = entry(made++, 1024 + Math.floor(rnd() * 60000), rnd() < 0.05);
        table.add(e.key, e);
        live.push(e);
      } else {
        const i = Math.floor(rnd() * live.length);
        const e = live[i]!;
        assert.equal(table.remove(e.key, e), true);
        assert.equal(table.remove(e.key, e), false, 'removed twice');
        live.splice(i, 1);
        assert.equal(table.find(e.key, e.localAddr, e.localPort, e.remoteAddr, e.remotePort), null, 'found after removal');
      }
      if (step % 997 === 0 || live.length < 3) {
        assert.equal(table.size, live.length);
        assert.deepEqual([...table.values()].map((x) => x.n), live.map((x) => x.n));
        for (const e of live) assert.equal(table.find(e.key, e.localAddr, e.localPort, e.remoteAddr, e.remotePort), e);
      }
    }
    for (const e of live) assert.equal(table.remove(e.key, e), true);
    assert.equal(table.size, 0);
    assert.deepEqual([...table.values()], []);
  });
}

test('a tuple not in the table is not found, even under a key other entries share', () => {
  const table = new TupleTable<Entry>();
  const a = entry(1, 5000, true), b = entry(2, 5001, true);
  table.add(a.key, a);
  assert.equal(table.find(b.key, b.localAddr, b.localPort, b.remoteAddr, b.remotePort), null);
  assert.equal(table.remove(b.key, b), false);
  table.add(b.key, b);
  assert.equal(table.find(b.key, b.localAddr, b.localPort, b.remoteAddr, b.remotePort), b);
  assert.equal(table.find(a.key, a.localAddr, a.localPort, a.remoteAddr, a.remotePort), a);
});

test('entries added while iterating are visited, and removals meanwhile are not', () => {
  const table = new TupleTable<Entry>();
  const es = Array.from({ length: 8 }, (_, i) => entry(i, 2000 + i, false));
  for (const e of es.slice(0, 6)) table.add(e.key, e);
  const seen: number[] = [];
  for (const e of table.values()) {
    seen.push(e.n);
    if (e.n === 0) { table.remove(es[3]!.key, es[3]!); table.add(es[6]!.key, es[6]!); table.add(es[7]!.key, es[7]!); }
  }
  assert.deepEqual(seen, [0, 1, 2, 4, 5, 6, 7]);
});
