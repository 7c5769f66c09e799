/**
 * CaptureReader.nextView (records read in place, no allocation per pcap record) yields exactly what next()
 * yields: the same records, fields and bytes, the same errors, for pcap and pcapng, whole or in any chunks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CaptureReader, type CaptureRecordView } from './capture.js';
import { PcapngWriter } from './pcapng-writer.js';

interface Seen { rec: unknown[]; error: string | null }

const view = (): CaptureRecordView => ({
  frame: 0, tsSec: 0, tsNsec: 0, linkType: 0, interfaceId: 0, buf: new Uint8Array(0), start: 0, length: 0, origLength: 0, offset: 0,
});

function chunks(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...at, bytes.length]) { out.push(bytes.slice(prev, c)); prev = c; }
  return out;
}

function read(parts: Uint8Array[], inPlace: boolean): Seen {
  const r = new CaptureReader();
  const v = view();
  const rec: unknown[] = [];
  const take = (): void => {
    if (inPlace) {
      while (r.nextView(v)) {
        rec.push([v.frame, v.tsSec, v.tsNsec, v.linkType, v.interfaceId, v.origLength, v.offset, Array.from(v.buf.subarray(v.start, v.start + v.length))]);
      }
    } else {
      for (let x = r.next(); x; x = r.next()) rec.push([x.frame, x.tsSec, x.tsNsec, x.linkType, x.interfaceId, x.origLength, x.offset, Array.from(x.data)]);
    }
  };
  try {
    for (const p of parts) { r.push(p); take(); }
    r.end();
    take();
  } catch (e) {
    return { rec, error: (e as Error).message };
  }
  return { rec, error: null };
}

function pcap(little: boolean, nanos: boolean, packets: Array<{ sec: number; frac: number; len: number; orig: number }>): Uint8Array {
  const out: number[] = [];
  const u32 = (v: number): void => {
    const b = [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    out.push(...(little ? b.reverse() : b));
  };
  const u16 = (v: number): void => { out.push(...(little ? [v & 0xff, v >>> 8] : [v >>> 8, v & 0xff])); };
  u32(nanos ? 0xa1b23c4d : 0xa1b2c3d4); u16(2); u16(4); u32(0); u32(0); u32(65535); u32(1);
  packets.forEach((p, i) => {
    u32(p.sec); u32(p.frac); u32(p.len); u32(p.orig);
    for (let k = 0; k < p.len; k++) out.push((i * 31 + k) & 0xff);
  });
  return Uint8Array.from(out);
}

test('pcap, either byte order and resolution, any chunking, truncated or not: nextView = next', () => {
  fc.assert(fc.property(
    fc.boolean(), fc.boolean(),
    fc.array(fc.record({ sec: fc.nat(), frac: fc.nat({ max: 999_999 }), len: fc.nat({ max: 80 }), orig: fc.nat() }), { maxLength: 12 }),
    fc.array(fc.nat(), { maxLength: 6 }), fc.nat(),
    (little, nanos, packets, cuts, cut) => {
      const whole = pcap(little, nanos, packets);
      for (const bytes of [whole, whole.subarray(0, whole.length - (cut % 24))]) {
        const parts = chunks(bytes, cuts);
        assert.deepEqual(read(parts, true), read(parts, false));
      }
    },
  ), { numRuns: 300 });
});

test('pcapng (records through next()): nextView = next, whole and in chunks', () => {
  const w = new PcapngWriter();
  const a = w.addInterface();
  const b = w.addInterface({ linkType: 1 });
  for (let i = 0; i < 20; i++) w.writePacket(i % 3 ? a : b, 1_700_000_000_000 + i * 1.5, Uint8Array.from({ length: 40 + i }, (_, k) => (k * 7 + i) & 0xff));
  const bytes = w.take();
  for (const cuts of [[], [1, 30, 31, 200, 333], [7, 77, 777]]) {
    const seen = read(chunks(bytes, cuts), true);
    assert.equal(seen.rec.length, 20);
    assert.deepEqual(seen, read(chunks(bytes, cuts), false));
  }
  assert.deepEqual(read([bytes.subarray(0, bytes.length - 5)], true), read([bytes.subarray(0, bytes.length - 5)], false));
});
