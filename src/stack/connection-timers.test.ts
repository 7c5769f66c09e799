/**
 * The stack's connection timers (IndexedTimerHeap): each connection is in the heap at most once, at its engine's
 * next deadline, and leaves it when it closes or moves to the TIME-WAIT table, so closed connections are neither
 * kept alive by old deadlines nor wake the host for nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import { IndexedTimerHeap } from './timer-heap.js';
import { mulberry32 } from '../tcp/test-util.js';

test('a run of short connections: the timer heap never holds more entries than live connections, and none once all are closed', () => {
  const n = new Network({ seed: 4, delayMs: 0.05 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  const x = new Uint8Array([120]);
  server.listen(7, {
    onConnection: (c) => {
      c.handler = {
        onEvent: () => undefined, onWritable: () => undefined,
        onReadable: () => { if (c.tcp.read().length > 0) { c.tcp.send(x, n.now); c.tcp.shutdown(n.now); c.service(); } },
      };
    },
  });
  let done = 0, worst = 0;
  const one = (): void => {
    const c = client.connect({ host: '10.0.0.2', port: 7 });
    c.handler = {
      onEvent: (ev) => { if (ev.type === 'established') { c.tcp.send(x, n.now); c.service(); } else if (ev.type === 'closed' && ++done < 300) one(); },
      onWritable: () => undefined,
      onReadable: () => { if (c.tcp.read().length > 0) { c.tcp.shutdown(n.now); c.service(); } },
    };
  };
  one();
  while (done < 300 && n.step()) {
    for (const s of [server, client]) worst = Math.max(worst, s.timerHeapSize - s.connectionCount);
  }
  assert.equal(done, 300);
  assert.equal(server.timeWaitCount + client.timeWaitCount, 300, 'every connection ended in TIME-WAIT on one side');
  assert.ok(worst <= 0, `the heap held ${worst} entries more than live connections`);
  assert.equal(server.timerHeapSize + client.timerHeapSize, 0);
  n.close();
});

test('IndexedTimerHeap pops items in deadline order after random arms, moves and disarms (against a sorted list)', () => {
  const random = mulberry32(99);
  for (let round = 0; round < 50; round++) {
    const heap = new IndexedTimerHeap<{ heapIndex: number; id: number }>();
    const items = Array.from({ length: 40 }, (_, id) => ({ heapIndex: -1, id }));
    const armed = new Map<number, number>(); // id -> deadline
    for (let op = 0; op < 300; op++) {
      const it = items[Math.floor(random() * items.length)]!;
      const r = random();
      if (r < 0.6) { const d = Math.floor(random() * 1000); heap.set(it, d); armed.set(it.id, d); }
      else if (r < 0.75) { heap.set(it, Infinity); armed.delete(it.id); }
      else if (r < 0.9) { heap.delete(it); armed.delete(it.id); }
      else if (armed.size > 0) {
        const min = Math.min(...armed.values());
        assert.equal(heap.peekTime(), min);
        const top = heap.pop()!;
        assert.equal(armed.get(top.id), min, 'the earliest deadline first');
        assert.equal(top.heapIndex, -1, 'popped: disarmed');
        armed.delete(top.id);
      }
      assert.equal(heap.size, armed.size);
      for (const x of items) assert.equal(x.heapIndex >= 0, armed.has(x.id), `item ${x.id} armed`);
    }
    const order: number[] = [];
    while (heap.size > 0) order.push(armed.get(heap.pop()!.id)!);
    assert.deepEqual(order, [...armed.values()].sort((a, b) => a - b));
  }
});

test('IndexedTimerHeap emptied after a burst of 5 000 items (its arrays made again) keeps working', () => {
  const heap = new IndexedTimerHeap<{ heapIndex: number; d: number }>();
  const burst = Array.from({ length: 5000 }, (_, i) => ({ heapIndex: -1, d: (i * 7919) % 5000 }));
  for (const x of burst) heap.set(x, x.d);
  for (let k = 0; k < 5000; k++) assert.equal(heap.pop()!.d, k);
  assert.equal(heap.size, 0);
  assert.ok(burst.every((x) => x.heapIndex === -1));
  const again = [{ heapIndex: -1, d: 3 }, { heapIndex: -1, d: 1 }, { heapIndex: -1, d: 2 }];
  for (const x of again) heap.set(x, x.d);
  heap.delete(again[1]!);
  assert.deepEqual([heap.pop()!.d, heap.pop()!.d, heap.pop()], [2, 3, undefined]);
});
