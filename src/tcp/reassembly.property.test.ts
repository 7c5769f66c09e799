/**
 * Property: however a byte stream is cut into segments, duplicated, overlapped and reordered (within the
 * window), the receiver delivers exactly the stream, and every ACK it sends is consistent: the cumulative ACK
 * only grows, SACK blocks (RFC 2018) lie above it, are disjoint, describe bytes actually received, and the
 * first block holds the segment that just arrived (§4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ACK, FIN } from '../wire/tcp-types.js';
import { IRS, ISS, PLAIN, established, readAll, seg } from './test-util.js';

const RCV = IRS + 1;
const SND = ISS + 1;

const plan = fc.record({
  len: fc.integer({ min: 1, max: 6000 }),
  cuts: fc.array(fc.record({ start: fc.nat(), size: fc.integer({ min: 1, max: 1500 }) }), { minLength: 1, maxLength: 40 }),
  ts: fc.boolean(),
  fin: fc.boolean(),
  readEvery: fc.integer({ min: 0, max: 5 }),
});

test('property: any segmentation, overlap, duplication and order reassembles the stream exactly, with consistent ACKs and SACK blocks', () => {
  fc.assert(fc.property(plan, ({ len, cuts, ts, fin, readEvery }) => {
    const stream = Uint8Array.from({ length: len }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
    const c = established({ ...PLAIN, sack: true, timestamps: ts, recvBufferSize: 1 << 16 }, 0, {
      options: ts ? { sackPermitted: true, tsVal: 1 } : { sackPermitted: true }, ackOptions: ts ? { tsVal: 1 } : {},
    });
    const got: Uint8Array[] = [];
    const received = new Uint8Array(len); // which stream bytes have arrived (for checking SACK blocks)
    let lastAck = RCV;
    let t = 1;
    // Random pieces first, then the whole stream in order so that everything is eventually filled.
    const pieces = cuts.map(({ start, size }) => { const s = start % len; return [s, Math.min(len, s + size)] as const; });
    for (let off = 0; off < len; off += 1000) pieces.push([off, Math.min(len, off + 1000)]);
    for (const [from, to] of pieces) {
      t++;
      const last = to === len;
      c.input(seg(ACK | (fin && last ? FIN : 0), RCV + from, SND, { payload: stream.slice(from, to), options: ts ? { tsVal: 1 + t, tsEcr: 0 } : {} }), t);
      const before = received.slice(from, to);
      received.fill(1, from, to);
      for (const s of c.drainTransmit(t)) {
        assert.ok(((s.ack - lastAck) | 0) >= 0, 'cumulative ACK never goes back');
        lastAck = s.ack;
        let blocks = s.options.sack ?? [];
        assert.ok(blocks.length <= (ts ? 6 : 8), 'block count fits the option space');
        if (blocks.length >= 2 && (((blocks[1]! - s.ack) | 0) <= 0 || (blocks.length >= 4 && ((blocks[0]! - blocks[2]!) | 0) >= 0 && ((blocks[3]! - blocks[1]!) | 0) >= 0))) {
          // A D-SACK (RFC 2883 §4): below the cumulative ACK or inside the next block; it reports bytes of the
          // segment just received that had arrived before.
          const l = (blocks[0]! - RCV) | 0, r = (blocks[1]! - RCV) | 0;
          assert.ok(l < r && from <= l && r <= to, `D-SACK [${l}, ${r}) lies within the segment just received [${from}, ${to})`);
          for (let k = l; k < r; k++) assert.equal(before[k - from], 1, `D-SACK [${l}, ${r}) claims byte ${k} was a duplicate`);
          blocks = blocks.slice(2);
        }
        for (let i = 0; i < blocks.length; i += 2) {
          const l = (blocks[i]! - RCV) | 0, r = (blocks[i + 1]! - RCV) | 0;
          assert.ok(l < r, 'non-empty block');
          assert.ok(((blocks[i]! - s.ack) | 0) > 0, 'a SACK block lies above the cumulative ACK');
          for (let k = l; k < Math.min(r, len); k++) assert.equal(received[k], 1, `SACK block [${l}, ${r}) claims byte ${k} never received`);
          for (let j = 0; j < i; j += 2) assert.ok(r <= ((blocks[j]! - RCV) | 0) || l >= ((blocks[j + 1]! - RCV) | 0), 'SACK blocks are disjoint');
        }
        if (blocks.length > 0 && ((RCV + from - s.ack) | 0) > 0) {
          const l = (blocks[0]! - RCV) | 0, r = (blocks[1]! - RCV) | 0;
          assert.ok(l <= from && to <= r, `first block [${l}, ${r}) holds the segment just received [${from}, ${to})`);
        }
      }
      if (readEvery > 0 && t % readEvery === 0) got.push(readAll(c));
    }
    got.push(readAll(c));
    const all = new Uint8Array(got.reduce((n, g) => n + g.length, 0));
    let o = 0;
    for (const g of got) { all.set(g, o); o += g.length; }
    assert.deepEqual(all, stream);
    assert.equal(c.rcvNxt, (RCV + len + (fin ? 1 : 0)) >>> 0);
    assert.equal(c.state, fin ? 'CLOSE-WAIT' : 'ESTABLISHED');
  }), { numRuns: 300, includeErrorInReport: true });
});
