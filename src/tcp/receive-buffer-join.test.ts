/**
 * ReceiveBuffer.read takes payloads that lie one after the other in one buffer (a link that packs a connection's
 * segments contiguously) as one view, in stream order, up to the reader's limit; anything else comes as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReceiveBuffer } from './buffers.js';

function block(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

test('in-order payloads adjacent in one buffer are read as one view holding exactly their bytes', () => {
  const mem = block(10_000);
  const r = new ReceiveBuffer();
  for (let at = 0; at < 6000; at += 1000) r.insert(at, mem.subarray(at, at + 1000));
  const out = r.read(65536);
  assert.equal(out.length, 6000);
  assert.equal(out.buffer, mem.buffer, 'a view, not a copy');
  assert.deepEqual(out, mem.subarray(0, 6000));
  assert.equal(r.length, 0);
  assert.ok(r.idle, 'everything read: the store is given back');
});

test('a join stops at the reader\'s limit, at a gap in memory and at another buffer; the rest reads on', () => {
  const mem = block(10_000);
  const other = block(500);
  const r = new ReceiveBuffer();
  const parts = [mem.subarray(0, 1000), mem.subarray(1000, 2000), mem.subarray(2000, 3000), mem.subarray(3100, 4100), other, mem.subarray(4100, 5100)];
  let at = 0;
  for (const p of parts) { r.insert(at, p); at += p.length; }
  const want = Buffer.concat(parts);
  const reads: Uint8Array[] = [];
  for (let d = r.read(2500); d.length > 0; d = r.read(2500)) reads.push(d);
  assert.deepEqual(reads.map((d) => d.length), [2000, 1000, 1000, 500, 1000], 'two joined (a third would pass 2 500), then each alone');
  assert.deepEqual(Buffer.concat(reads), want);
});

test('out-of-order payloads drained into order join as in-order ones; adjacent memory in the wrong order does not', () => {
  const mem = block(8000);
  const r = new ReceiveBuffer();
  r.insert(2000, mem.subarray(2000, 3000));
  r.insert(1000, mem.subarray(1000, 2000));
  assert.equal(r.insert(0, mem.subarray(0, 1000)), 3000);
  assert.deepEqual(r.read(), mem.subarray(0, 3000));
  // Stream order A then B, but B lies just before A in memory: not one run.
  const s = new ReceiveBuffer();
  s.insert(0, mem.subarray(5000, 6000));
  s.insert(1000, mem.subarray(4000, 5000));
  assert.deepEqual(s.read().byteOffset, 5000);
  assert.deepEqual(s.read().byteOffset, 4000);
});
