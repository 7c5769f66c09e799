// synack serve's lifecycle lines (batchLines): those of one turn of the event loop reach stdout in one write at
// its end, the same text in the same order; a full batch or a flush (serve stopping) writes at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LINE_BATCH_BYTES, batchLines } from './serve.js';

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

test('the lines of one turn go out in one write at its end, in order; the next turn\'s in another', async () => {
  const writes: string[] = [];
  const lines = batchLines({ write: (t) => writes.push(t) });
  lines.push('a 1\n'); lines.push('b 2\n'); lines.push('c 3\n');
  assert.deepEqual(writes, [], 'nothing written during the turn');
  await nextTurn();
  assert.deepEqual(writes, ['a 1\nb 2\nc 3\n']);
  lines.push('d 4\n');
  await nextTurn();
  assert.deepEqual(writes, ['a 1\nb 2\nc 3\n', 'd 4\n']);
  await nextTurn();
  assert.equal(writes.length, 2, 'no empty writes');
});

test('a full batch is written at once, and flush() writes what waits (nothing twice)', async () => {
  const writes: string[] = [];
  const lines = batchLines({ write: (t) => writes.push(t) });
  const line = 'x'.repeat(99) + '\n';
  const n = Math.ceil(LINE_BATCH_BYTES / line.length);
  for (let i = 0; i < n; i++) lines.push(line);
  assert.equal(writes.length, 1, 'written once the batch reached LINE_BATCH_BYTES');
  assert.equal(writes[0], line.repeat(n));
  lines.push('last\n');
  lines.flush();
  assert.deepEqual(writes.slice(1), ['last\n']);
  await nextTurn();
  assert.equal(writes.join(''), line.repeat(n) + 'last\n');
});
