/**
 * Writes that continue the previous one in the same memory (a socket packing successive writes into one block,
 * src/stack/socket.ts) are held as one longer piece, as the kernel grows an skb's last page fragment: fewer
 * pieces, fewer straddling segments. The bytes handed out are still exactly the written ones, and views handed
 * out before an extension never change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SendBuffer, SMALL_WRITE } from './buffers.js';

test('contiguous writes from one block are held as one piece; a gap or another block starts a new one', () => {
  const b = new SendBuffer();
  const block = new Uint8Array(65536).map((_, i) => i & 0xff);
  b.push(block.subarray(0, 4096));
  b.push(block.subarray(4096, 8192));
  b.push(block.subarray(8192, 20000));
  assert.equal(b.pieces, 1, 'three contiguous writes, one piece');
  // A segment across the former write boundaries is a view of the block, not a copy.
  const seg = b.slice(4000, 1460);
  assert.equal(seg.buffer, block.buffer);
  assert.deepEqual([...seg], [...block.subarray(4000, 5460)]);
  b.push(block.subarray(20008, 30000)); // a gap: not the continuation
  assert.equal(b.pieces, 2);
  b.push(new Uint8Array(4096).fill(9)); // another buffer
  assert.equal(b.pieces, 3);
  b.push(block.subarray(30000, 34096)); // continues block, but piece 2 is no longer the last one
  assert.equal(b.pieces, 4);
});

test('small writes are still staged, and a write continuing the block after one does not extend the stage', () => {
  const b = new SendBuffer();
  const block = new Uint8Array(65536).fill(1);
  b.push(block.subarray(0, 4096));
  b.push(new Uint8Array(100).fill(2)); // staged (copied)
  b.push(block.subarray(4096, 8192));
  assert.equal(b.pieces, 3);
  assert.deepEqual([...b.slice(4090, 110)], [...new Array(6).fill(1), ...new Array(100).fill(2), 1, 1, 1, 1]);
  assert.ok(SMALL_WRITE > 100);
});

const op = fc.oneof(
  // A write packed right after the previous packed one (the usual socket case), or after a gap.
  fc.record({ kind: fc.constant('pack' as const), size: fc.oneof(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 2048, max: 70_000 })), gap: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 64 })) }),
  fc.record({ kind: fc.constant('write' as const), size: fc.integer({ min: 1, max: 70_000 }) }),
  fc.record({ kind: fc.constant('slice' as const), from: fc.nat(), size: fc.oneof(fc.integer({ min: 1, max: 1500 }), fc.integer({ min: 8192, max: 65_535 })) }),
  fc.record({ kind: fc.constant('ack' as const), size: fc.integer({ min: 0, max: 100_000 }) }),
);

test('property: packed writes, fresh writes, slices and acks: slices are the written bytes and never change', () => {
  fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
    const b = new SendBuffer();
    const byteAt = (i: number) => (i * 31 + (i >>> 9)) & 0xff;
    const arena = new Uint8Array(60 * 70_100);
    let arenaAt = 0;
    let written = 0;
    const handed: Array<{ at: number; view: Uint8Array }> = [];
    for (const o of ops) {
      if (o.kind === 'pack' || o.kind === 'write') {
        let chunk: Uint8Array;
        if (o.kind === 'pack') { arenaAt += o.gap; chunk = arena.subarray(arenaAt, arenaAt + o.size); arenaAt += o.size; } else chunk = new Uint8Array(o.size);
        for (let k = 0; k < o.size; k++) chunk[k] = byteAt(written + k);
        b.push(chunk);
        written += o.size;
      } else if (o.kind === 'ack') {
        b.consume(Math.min(o.size, b.end - b.front));
      } else if (b.length > 0) {
        const at = b.front + (o.from % b.length);
        const len = Math.min(o.size, b.end - at);
        const view = b.slice(at, len);
        assert.equal(view.length, len);
        handed.push({ at, view });
      }
      assert.equal(b.end, written);
    }
    for (const { at, view } of handed) {
      for (let k = 0; k < view.length; k++) {
        if (view[k] !== byteAt(at + k)) assert.fail(`byte ${at + k} handed out as ${view[k]}, written as ${byteAt(at + k)}`);
      }
    }
  }), { numRuns: 300 });
});
