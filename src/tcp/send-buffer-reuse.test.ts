/**
 * Send buffers that drain in turn (a request/response connection's, one response per flight) reuse drained stores
 * between them (buffers.ts SendBuffer.consume keeps up to four as the process's spares; six buffers here, so several
 * spares are kept and taken at once): each must still hand out exactly its own bytes, and a payload handed out
 * earlier must never change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SendBuffer } from './buffers.js';

const op = fc.record({
  buf: fc.integer({ min: 0, max: 5 }),
  kind: fc.constantFrom('write', 'write', 'slice', 'ack', 'drain' as const),
  size: fc.oneof(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 2048, max: 20_000 })),
  from: fc.nat(),
});

test('property: send buffers draining in turn hand out their own bytes, unchanged, and end idle', () => {
  fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 80 }), (ops) => {
    const bufs = [0, 1, 2, 3, 4, 5].map((id) => ({ b: new SendBuffer(), written: 0, byteAt: (i: number) => (i * 7 + id * 101 + (i >>> 8)) & 0xff }));
    const handed: Array<{ id: number; at: number; view: Uint8Array }> = [];
    for (const o of ops) {
      const x = bufs[o.buf]!;
      const b = x.b;
      if (o.kind === 'write') {
        b.push(Uint8Array.from({ length: o.size }, (_, k) => x.byteAt(x.written + k)));
        x.written += o.size;
      } else if (o.kind === 'ack') {
        b.consume(Math.min(o.size, b.length));
      } else if (o.kind === 'drain') {
        b.consume(b.length);
        assert.ok(b.idle, 'a drained send buffer holds no storage');
      } else if (b.length > 0) {
        const at = b.front + (o.from % b.length);
        const len = Math.min(o.size, b.end - at);
        const view = b.slice(at, len);
        assert.equal(view.length, len);
        handed.push({ id: o.buf, at, view: view });
      }
      assert.equal(b.end, x.written);
    }
    for (const { id, at, view } of handed) {
      const byteAt = bufs[id]!.byteAt;
      for (let k = 0; k < view.length; k++) {
        if (view[k] !== byteAt(at + k)) assert.fail(`buffer ${id}: byte ${at + k} handed out as ${view[k]}, written as ${byteAt(at + k)}`);
      }
    }
  }), { numRuns: 400 });
});
