/**
 * Property: the send buffer hands out exactly the bytes the application wrote, whatever the write sizes
 * (small writes are staged, large ones kept by reference), segment sizes (small segments copy across chunk
 * boundaries, large ones coalesce the chunks ahead) and acknowledgements; and a payload handed out earlier
 * never changes afterwards (segments in flight, retransmission queues and captures may still hold it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SendBuffer } from './buffers.js';

const op = fc.oneof(
  fc.record({ kind: fc.constant('write' as const), size: fc.oneof(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 2048, max: 70_000 }), fc.integer({ min: 200_000, max: 600_000 })) }),
  // The bytes right after the previous continuation write in the same memory, as a socket packs successive writes
  // into one block: the buffer extends its last piece with them (a new, longer view of it).
  fc.record({ kind: fc.constant('continue' as const), size: fc.oneof(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 2048, max: 20_000 })) }),
  fc.record({ kind: fc.constant('slice' as const), from: fc.nat(), size: fc.oneof(fc.integer({ min: 1, max: 1500 }), fc.integer({ min: 8192, max: 65_535 })) }),
  fc.record({ kind: fc.constant('ack' as const), size: fc.integer({ min: 0, max: 100_000 }) }),
);

test('property: slices return the written bytes and stay unchanged, across staging, copies, coalescing, continuations and acks', () => {
  fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
    const b = new SendBuffer();
    let written = 0;
    const byteAt = (i: number) => (i * 31 + (i >>> 9)) & 0xff;
    const handed: Array<{ at: number; view: Uint8Array }> = [];
    const mine: Array<{ at: number; chunk: Uint8Array }> = [];
    const block = new Uint8Array(60 * 20_000);
    let blockAt = 0;
    for (const o of ops) {
      if (o.kind === 'write' || o.kind === 'continue') {
        const chunk = o.kind === 'write' ? new Uint8Array(o.size) : block.subarray(blockAt, blockAt + o.size);
        if (o.kind === 'continue') blockAt += o.size;
        for (let k = 0; k < o.size; k++) chunk[k] = byteAt(written + k);
        b.push(chunk);
        mine.push({ at: written, chunk });
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
    // The application's own chunks are never written to.
    for (const { at, chunk } of mine) {
      for (let k = 0; k < chunk.length; k++) if (chunk[k] !== byteAt(at + k)) assert.fail(`the application's chunk at ${at} was modified`);
    }
  }), { numRuns: 300 });
});

test('a 64 KiB-segment stream over 64 KiB writes is handed out as views after the first coalesced block', () => {
  const b = new SendBuffer();
  const chunks = Array.from({ length: 32 }, (_, n) => new Uint8Array(65536).fill(n));
  for (const c of chunks) b.push(c);
  const mss = 65483;
  const firstBuffers = new Set<ArrayBufferLike>();
  for (let at = 0; at + mss <= 15 * 65536; at += mss) firstBuffers.add(b.slice(at, mss).buffer);
  // Without coalescing every segment but the first spans two chunks and gets its own copy (15 buffers);
  // coalescing serves them from a few 1 MiB blocks.
  assert.ok(firstBuffers.size <= 3, `segments came from ${firstBuffers.size} distinct buffers`);
});

test('a span into a big chunk copies only what the segment needs: the big chunk stays a view', () => {
  const b = new SendBuffer();
  b.push(new Uint8Array(40_000).fill(1));
  const big = new Uint8Array(4 << 20).fill(2);
  b.push(big);
  const seg = b.slice(30_000, 20_000); // 10 000 bytes of the small chunk, 10 000 of the big one
  assert.equal(seg[0], 1);
  assert.equal(seg[seg.length - 1], 2);
  assert.ok(seg.buffer.byteLength < 1 << 20, `the segment's buffer is ${seg.buffer.byteLength} bytes: the big chunk was copied`);
  const next = b.slice(50_000, 20_000);
  assert.equal(next.buffer, big.buffer, 'later segments are views of the application chunk');
});
