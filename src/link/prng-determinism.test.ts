import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from './prng.js';

test('same seed gives the same stream; nearby seeds give unrelated streams', () => {
  const a = new Prng(12345);
  const b = new Prng(12345);
  const xs = Array.from({ length: 100 }, () => a.nextU32());
  assert.deepEqual(Array.from({ length: 100 }, () => b.nextU32()), xs);
  const c = new Prng(12346);
  const ys = Array.from({ length: 100 }, () => c.nextU32());
  assert.equal(xs.filter((x, i) => x === ys[i]).length, 0);
});

test('next() is in [0, 1) and roughly uniform; nextU32 is an unsigned 32-bit integer', () => {
  const p = new Prng(1);
  const buckets = new Array<number>(10).fill(0);
  for (let i = 0; i < 20000; i++) {
    const x = p.next();
    assert.ok(x >= 0 && x < 1);
    buckets[Math.floor(x * 10)]!++;
    const u = p.nextU32();
    assert.ok(Number.isInteger(u) && u >= 0 && u <= 0xffffffff);
  }
  for (const n of buckets) assert.ok(n > 1800 && n < 2200, `bucket ${n}`);
});

test('fill() writes deterministic bytes, including a ragged tail', () => {
  const a = new Uint8Array(13);
  const b = new Uint8Array(13);
  new Prng(9).fill(a);
  new Prng(9).fill(b);
  assert.deepEqual(a, b);
  // Bytes are the little-endian bytes of successive nextU32() values; the tail takes the low byte of the next one.
  const p = new Prng(9);
  const expected: number[] = [];
  for (let w = 0; w < 4; w++) {
    const v = p.nextU32();
    expected.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24);
  }
  assert.deepEqual([...a], expected.slice(0, 13));
});

test('a non-finite seed is a RangeError', () => {
  assert.throws(() => new Prng(NaN), RangeError);
});
