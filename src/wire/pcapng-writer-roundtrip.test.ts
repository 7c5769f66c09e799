import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PcapngWriter } from './pcapng-writer.js';

interface Epb { iface: number; ts: bigint; data: Uint8Array; origLen: number; comments: string[]; flags?: number }

/** A minimal pcapng reader for the test: blocks, IDB tsresol, EPB fields and options. */
function read(b: Uint8Array): { resol: number[]; shbComments: string[]; epbs: Epb[] } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const dec = new TextDecoder('utf-8', { fatal: true });
  const opts = (from: number, to: number) => {
    const out: Array<[number, Uint8Array]> = [];
    for (let o = from; o < to;) {
      const code = dv.getUint16(o, true);
      const len = dv.getUint16(o + 2, true);
      if (code === 0) { assert.equal(len, 0); assert.equal(o + 4, to, 'opt_endofopt ends the options'); break; }
      out.push([code, b.subarray(o + 4, o + 4 + len)]);
      for (let p = o + 4 + len; p < o + 4 + ((len + 3) & ~3); p++) assert.equal(b[p], 0, 'padding is zero');
      o += 4 + ((len + 3) & ~3);
    }
    return out;
  };
  const resol: number[] = [];
  const shbComments: string[] = [];
  const epbs: Epb[] = [];
  for (let off = 0; off < b.length;) {
    const type = dv.getUint32(off, true);
    const len = dv.getUint32(off + 4, true);
    assert.equal(dv.getUint32(off + len - 4, true), len);
    const end = off + len - 4;
    if (type === 0x0a0d0d0a) {
      for (const [c, v] of opts(off + 24, end)) if (c === 1) shbComments.push(dec.decode(v));
    } else if (type === 1) {
      const r = opts(off + 16, end).find(([c]) => c === 9);
      resol.push(r ? r[1][0]! : 6);
    } else if (type === 6) {
      const cap = dv.getUint32(off + 20, true);
      const e: Epb = {
        iface: dv.getUint32(off + 8, true),
        ts: (BigInt(dv.getUint32(off + 12, true)) << 32n) | BigInt(dv.getUint32(off + 16, true)),
        data: b.slice(off + 28, off + 28 + cap),
        origLen: dv.getUint32(off + 24, true),
        comments: [],
      };
      for (const [c, v] of opts(off + 28 + ((cap + 3) & ~3), end)) {
        if (c === 1) e.comments.push(dec.decode(v));
        if (c === 2) e.flags = new DataView(v.buffer, v.byteOffset).getUint32(0, true);
      }
      epbs.push(e);
    } else assert.fail(`unexpected block type ${type}`);
    off += len;
  }
  return { resol, shbComments, epbs };
}

test('whatever is written reads back: bytes, lengths, interfaces, timestamps, comments, flags', () => {
  fc.assert(fc.property(
    fc.array(fc.boolean(), { minLength: 1, maxLength: 3 }),
    fc.array(fc.string({ unit: 'grapheme', maxLength: 30 }), { maxLength: 2 }),
    fc.array(fc.record({
      iface: fc.nat(),
      ms: fc.integer({ min: 0, max: 4_000_000_000_000 }),
      bytes: fc.uint8Array({ maxLength: 300 }),
      comment: fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }), { nil: undefined }),
      flags: fc.option(fc.constantFrom(1, 2), { nil: undefined }),
      takeAfter: fc.boolean(),
    }), { maxLength: 30 }),
    (micro, sectionComments, pkts) => {
      const w = new PcapngWriter();
      for (const c of sectionComments) w.comment(c);
      for (const m of micro) w.addInterface({ tsResolMicro: m });
      const parts: Uint8Array[] = [];
      for (const p of pkts) {
        w.writePacket(p.iface % micro.length, p.ms, p.bytes, p.comment, p.flags);
        if (p.takeAfter) parts.push(w.take());
      }
      parts.push(w.take());
      const all = new Uint8Array(parts.reduce((s, x) => s + x.length, 0));
      let o = 0;
      for (const x of parts) { all.set(x, o); o += x.length; }
      const r = read(all);
      assert.deepEqual(r.resol, micro.map((m) => (m ? 6 : 9)));
      assert.deepEqual(r.shbComments, sectionComments);
      assert.equal(r.epbs.length, pkts.length);
      pkts.forEach((p, i) => {
        const e = r.epbs[i]!;
        const iface = p.iface % micro.length;
        assert.equal(e.iface, iface);
        assert.deepEqual(e.data, p.bytes);
        assert.equal(e.origLen, p.bytes.length);
        assert.equal(e.ts, BigInt(p.ms) * (micro[iface] ? 1000n : 1000000n));
        assert.deepEqual(e.comments, p.comment === undefined ? [] : [p.comment]);
        assert.equal(e.flags, p.flags);
      });
    },
  ), { numRuns: 200 });
});
