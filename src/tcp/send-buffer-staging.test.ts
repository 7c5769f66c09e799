/**
 * Small writes are copied into staging memory (buffers.ts): a response's headers are staged at their size and the
 * small body written right after them grows that stage in place, so a request/response server's answer is one
 * piece, sent as one segment that is a view, in about half the memory of a fixed 2 KiB stage. When other
 * connections stage in between (many answering in one turn), the body still leaves with its headers in one
 * segment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SendBuffer } from './buffers.js';
import { ACK } from '../wire/tcp-types.js';
import { ISS, IRS, PLAIN, established, seg } from './test-util.js';

const filled = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + salt * 7 + (i >>> 8)) & 0xff);
const join = (a: Uint8Array, b: Uint8Array) => { const o = new Uint8Array(a.length + b.length); o.set(a); o.set(b, a.length); return o; };

test('headers and a small body written one after the other are one piece, handed out as one view', () => {
  const b = new SendBuffer();
  const headers = filled(160, 1), body = filled(1000, 2);
  b.push(headers);
  b.push(body);
  assert.equal(b.pieces, 1);
  const seg1 = b.slice(0, 1160), seg2 = b.slice(0, 1160);
  assert.deepEqual([...seg1], [...join(headers, body)]);
  // The same memory both times: a view of the stage, not a copy per segment.
  assert.equal(seg1.buffer, seg2.buffer);
  assert.equal(seg1.byteOffset, seg2.byteOffset);
  // The application may reuse its buffers once the write is taken: the stage holds copies.
  headers.fill(0); body.fill(0);
  assert.deepEqual([...b.slice(0, 1160)], [...join(filled(160, 1), filled(1000, 2))]);
});

test('a stage grown in place leaves views handed out before unchanged, and other buffers\' bytes untouched', () => {
  const a = new SendBuffer(), other = new SendBuffer();
  a.push(filled(100, 3));
  const early = a.slice(0, 100); // e.g. the headers sent alone (Nagle off) before the body was written
  a.push(filled(900, 4)); // grows the stage: a was the last to stage
  other.push(filled(300, 5)); // carved right after a's stage
  a.push(filled(50, 6)); // a can no longer grow in place: a new stage
  assert.deepEqual([...early], [...filled(100, 3)]);
  assert.deepEqual([...a.slice(0, 1050)], [...join(join(filled(100, 3), filled(900, 4)), filled(50, 6))]);
  assert.deepEqual([...other.slice(0, 300)], [...filled(300, 5)]);
});

for (const order of ['each in turn', 'all headers first'] as const) {
  test(`20 connections answering in one turn (${order}): each response leaves as one segment holding its headers and body`, () => {
    const conns = Array.from({ length: 20 }, () => established({ ...PLAIN, nagle: false }, 0, { options: { mss: 1460 } }));
    const sent = conns.map(() => 0);
    for (let round = 0; round < 3; round++) {
      const headers = conns.map((_, i) => filled(140 + i, 10 * round + i));
      const bodies = conns.map((_, i) => filled(1000 - i, 100 + 10 * round + i));
      if (order === 'each in turn') {
        conns.forEach((c, i) => { c.send(headers[i]!, round); c.send(bodies[i]!, round); });
      } else {
        conns.forEach((c, i) => c.send(headers[i]!, round));
        conns.forEach((c, i) => c.send(bodies[i]!, round));
      }
      conns.forEach((c, i) => {
        const out = c.drainTransmit(round).filter((s) => s.payload.length > 0);
        assert.equal(out.length, 1, `connection ${i}, round ${round}: one segment`);
        assert.equal(out[0]!.seq, (ISS + 1 + sent[i]!) >>> 0);
        assert.deepEqual([...out[0]!.payload], [...join(headers[i]!, bodies[i]!)], `connection ${i}, round ${round}: headers then body`);
        sent[i]! += out[0]!.payload.length;
        // The next request acknowledges the response: everything sent is acknowledged, the buffer drains.
        c.input(seg(ACK, IRS + 1, ISS + 1 + sent[i]!), round);
        c.drainTransmit(round);
        assert.equal(c.sendQueued, 0);
      });
    }
  });
}

test('100 send buffers answering and draining in turn hand out exactly their own bytes and end idle', () => {
  const bufs = Array.from({ length: 100 }, () => new SendBuffer());
  for (let round = 0; round < 3; round++) {
    bufs.forEach((b, i) => { b.push(filled(200, round * 1000 + i)); b.push(filled(700, round * 1000 + i + 500)); });
    bufs.forEach((b, i) => {
      assert.deepEqual([...b.slice(b.front, 900)], [...join(filled(200, round * 1000 + i), filled(700, round * 1000 + i + 500))]);
      b.consume(b.length);
      assert.ok(b.idle, 'a drained send buffer holds no storage');
    });
  }
});
