/**
 * A receive buffer gives its drained store to the next one that takes data in (buffers.ts spareStore): two
 * connections that receive in turn, each read empty after every batch, pass one store back and forth. What each
 * application reads must still be exactly what its peer sent, with holes, overlaps and partial reads, and a
 * connection that has read everything holds no buffer (issue 14's idle connections).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK } from '../wire/tcp-types.js';
import type { TcpConnection } from './connection.js';
import { IRS, ISS, PLAIN, bytes, established, mulberry32, seg, wire } from './test-util.js';

const SEG = 300;
const SEGS = 120;

/** Reads at most `max` bytes at a time until nothing is readable; appends to `into`. */
function readSome(c: TcpConnection, into: number[], max: number): void {
  for (;;) { const b = c.read(max); if (b.length === 0) return; for (const x of b) into.push(x); }
}

for (const seed of [1, 2, 3, 4, 5, 6]) {
  test(`two receivers draining in turn read exactly what was sent (seed ${seed})`, () => {
    const rnd = mulberry32(seed);
    const conns = [0, 1].map(() => established({ ...PLAIN, sack: true, recvBufferSize: 1 << 20 }, 0, { options: { sackPermitted: true } }));
    const data = [bytes(SEG * SEGS, 0x11), bytes(SEG * SEGS, 0x77)];
    const got: number[][] = [[], []];
    // Each connection's segments in a seeded order: mostly in order, some held back (a hole until they come),
    // some sent twice, some cut to overlap their neighbours.
    const orders = [0, 1].map(() => {
      const o: [number, number][] = [];
      for (let i = 0; i < SEGS; i++) o.push([i * SEG, SEG]);
      for (let i = 0; i < SEGS; i++) {
        const r = rnd();
        if (r < 0.1 && i + 5 < o.length) { const [x] = o.splice(i, 1); o.splice(i + 1 + Math.floor(rnd() * 4), 0, x!); }
        else if (r < 0.15) o.splice(i + 1, 0, [Math.max(0, o[i]![0] - 100), SEG]);
      }
      return o;
    });
    const at = [0, 0];
    let now = 1;
    // Batches alternate between the connections; after each batch the application reads everything, in
    // pieces of a random size (so a store is drained, released and taken by the other connection).
    while (at[0]! < orders[0]!.length || at[1]! < orders[1]!.length) {
      const k = rnd() < 0.5 ? 0 : 1;
      const c = conns[k]!;
      const n = 1 + Math.floor(rnd() * 6);
      for (let j = 0; j < n && at[k]! < orders[k]!.length; j++, at[k]!++) {
        const [off, len] = orders[k]![at[k]!]!;
        const end = Math.min(off + len, data[k]!.length);
        c.input(seg(ACK, IRS + 1 + off, ISS + 1, { payload: data[k]!.subarray(off, end) }), now);
      }
      wire(c, now);
      readSome(c, got[k]!, 1 + Math.floor(rnd() * 2 * SEG));
      now += 1;
    }
    for (const k of [0, 1]) {
      assert.deepEqual(Uint8Array.from(got[k]!), data[k], `connection ${k}: the bytes read are the bytes sent`);
      assert.equal(conns[k]!.rcv.idle, true, `connection ${k}: everything read, no buffer held`);
    }
  });
}
