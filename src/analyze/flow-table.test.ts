import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlowTable, endpointHash, flowKey } from './flow-table.js';
import { Connection } from './connection.js';
import { ZeekConn } from './zeek.js';

const addr = (n: number): Uint8Array => Uint8Array.from([10, 0, n >> 8, n & 255]);
const conn = (id: number, a: number, ap: number, b: number, bp: number): Connection =>
  new Connection(id, addr(a), ap, addr(b), bp, new ZeekConn(false, 0), false, null);

test('the flow key is the same in both directions', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 65535 }),
    fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 65535 }), (a, ap, b, bp) => {
      assert.equal(flowKey(endpointHash(a, ap), endpointHash(b, bp)), flowKey(endpointHash(b, bp), endpointHash(a, ap)));
      assert.ok(flowKey(endpointHash(a, ap), endpointHash(b, bp)) < 2 ** 30);
    }));
});

test('colliding keys: each tuple finds its own connection and the sending side; removal keeps the others', () => {
  const t = new FlowTable();
  const c1 = conn(1, 1, 1000, 2, 80);
  const c2 = conn(2, 3, 2000, 4, 443);
  const c3 = conn(3, 5, 3000, 6, 22);
  for (const c of [c1, c2, c3]) t.add(7, c);
  assert.equal(t.find(7, addr(3), 2000, addr(4), 443), c2);
  assert.equal(t.side, 0);
  assert.equal(t.find(7, addr(6), 22, addr(5), 3000), c3);
  assert.equal(t.side, 1);
  assert.equal(t.find(7, addr(1), 1000, addr(2), 81), undefined);
  assert.equal(t.find(8, addr(1), 1000, addr(2), 80), undefined);
  t.remove(7, c2);
  assert.equal(t.find(7, addr(3), 2000, addr(4), 443), undefined);
  assert.equal(t.find(7, addr(1), 1000, addr(2), 80), c1);
  const gone = t.removeWhere((c) => c.id === 1);
  assert.deepEqual(gone.map((c) => c.id), [1]);
  assert.equal(t.find(7, addr(5), 3000, addr(6), 22), c3);
  assert.deepEqual(t.drain().map((c) => c.id), [3]);
  assert.deepEqual(t.drain(), []);
});
