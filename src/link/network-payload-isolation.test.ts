/**
 * What an application receives between in-process stacks is a view of memory: everything that memory holds
 * (`chunk.buffer`) must be its own connection's bytes (or zeros), never another connection's, whichever way the
 * segments crossed (typed, or as bytes: an impaired direction, typed segments off), and the data arrives intact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from './network.js';
import type { Stack, StackConnection } from '../stack/stack.js';

/** One client stack with four connections: two to one server stack, two to another; each writes its own byte value. */
async function exchange(mode: 'typed' | 'bytes' | 'impaired'): Promise<void> {
  const n = new Network({ seed: 3, delayMs: 0.05 });
  if (mode === 'bytes') n.typedSegments = false;
  const a = n.addStack({ name: 'a', addresses: ['10.0.0.2'] });
  const b = n.addStack({ name: 'b', addresses: ['10.0.0.3'] });
  const c = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  if (mode === 'impaired') n.impair(c, a, { duplicate: 0.05, reorder: 0.05, reorderDelayMs: 0.2 });
  const received = new Map<number, Uint8Array[]>(); // by the value the sender writes
  const listen = (s: Stack): void => {
    s.listen(9, {
      onConnection: (x) => {
        x.handler = {
          onEvent: () => undefined, onWritable: () => undefined,
          onReadable: () => {
            for (let d = x.tcp.read(); d.length > 0; d = x.tcp.read()) {
              const v = d[0]!;
              received.set(v, [...(received.get(v) ?? []), d]);
            }
            if (x.tcp.ackNow || x.tcp.windowUpdatePending) x.service();
          },
        };
      },
    });
  };
  listen(a); listen(b);
  const conns: StackConnection[] = [];
  for (const host of ['10.0.0.2', '10.0.0.3', '10.0.0.2', '10.0.0.3']) conns.push(c.connect({ host, port: 9 }));
  await n.runUntil(() => conns.every((x) => x.tcp.state === 'ESTABLISHED'));
  const each = 30_000;
  const sent = [0, 0, 0, 0];
  // Interleaved writes of uneven sizes (small ones packed, runs broken by the other connections).
  for (let round = 0; sent.some((x) => x < each); round++) {
    conns.forEach((x, i) => {
      if (sent[i]! >= each) return;
      const len = Math.min(each - sent[i]!, 1 + ((round * 37 + i * 101) % 1700));
      sent[i]! += x.tcp.send(new Uint8Array(len).fill(0x10 + i), n.now);
      x.service();
    });
    await n.runUntil(() => false, 0.5);
  }
  const total = (v: number): number => (received.get(v) ?? []).reduce((k, d) => k + d.length, 0);
  await n.runUntil(() => [0, 1, 2, 3].every((i) => total(0x10 + i) >= each));
  for (let i = 0; i < 4; i++) {
    const v = 0x10 + i;
    const chunks = received.get(v)!;
    assert.equal(total(v), each, `connection ${i}: every byte once`);
    for (const d of chunks) {
      assert.ok(d.every((x) => x === v), `connection ${i}: its data intact`);
      // A datagram's own headers may lie in the same memory (bytes path): another connection's data shows as a run.
      assert.equal(foreignRun(new Uint8Array(d.buffer), v), -1, `connection ${i} (${mode}): no other connection's bytes reachable through a received chunk`);
    }
  }
  n.close();
}

/** Where 16 bytes in a row hold another connection's value (0x10..0x13 but `own`), or -1. */
function foreignRun(m: Uint8Array, own: number): number {
  let run = 0;
  for (let k = 0; k < m.length; k++) {
    const x = m[k]!;
    run = x !== own && x >= 0x10 && x < 0x14 && (run === 0 || m[k - 1] === x) ? run + 1 : 0;
    if (run === 16) return k - 15;
  }
  return -1;
}

for (const mode of ['typed', 'bytes', 'impaired'] as const) {
  test(`a received chunk's memory holds no other connection's bytes (${mode}); data intact`, async () => {
    await exchange(mode);
  });
}
