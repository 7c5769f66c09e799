import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CaptureReader, readCapture, detectCaptureFormat, type CaptureRecord } from './capture.js';
import { WireError } from './errors.js';
import { PcapngWriter } from './pcapng-writer.js';

// ---- hand-built captures ----

class Bytes {
  private parts: number[] = [];
  constructor(private readonly little: boolean) {}
  u8(v: number): this { this.parts.push(v & 0xff); return this; }
  u16(v: number): this {
    if (this.little) this.parts.push(v & 0xff, (v >>> 8) & 0xff);
    else this.parts.push((v >>> 8) & 0xff, v & 0xff);
    return this;
  }
  u32(v: number): this {
    const b = [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    this.parts.push(...(this.little ? b.reverse() : b));
    return this;
  }
  bytes(b: ArrayLike<number>): this { for (let i = 0; i < b.length; i++) this.parts.push(b[i]!); return this; }
  pad4(): this { while (this.parts.length % 4) this.parts.push(0); return this; }
  get length(): number { return this.parts.length; }
  build(): Uint8Array { return Uint8Array.from(this.parts); }
}

interface Pkt { sec: number; frac: number; data: number[]; orig?: number }

function pcap(opts: { little: boolean; nanos: boolean; linkType: number; snap?: number }, pkts: Pkt[]): Uint8Array {
  const b = new Bytes(opts.little);
  b.u32(opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(opts.snap ?? 65535).u32(opts.linkType);
  for (const p of pkts) b.u32(p.sec).u32(p.frac).u32(p.data.length).u32(p.orig ?? p.data.length).bytes(p.data);
  return b.build();
}

function block(little: boolean, type: number, body: Bytes | Uint8Array): Uint8Array {
  const content = body instanceof Bytes ? body.build() : body;
  const padded = (content.length + 3) & ~3;
  const b = new Bytes(little).u32(type).u32(padded + 12).bytes(content);
  while (b.length < 8 + padded) b.u8(0);
  b.u32(padded + 12);
  return b.build();
}

function shb(little: boolean): Uint8Array {
  return block(little, 0x0a0d0d0a, new Bytes(little).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff));
}

function idb(little: boolean, linkType: number, tsresol?: number, snap = 0, tsoffset?: number): Uint8Array {
  const b = new Bytes(little).u16(linkType).u16(0).u32(snap);
  if (tsresol !== undefined) b.u16(9).u16(1).u8(tsresol).pad4();
  if (tsoffset !== undefined) b.u16(14).u16(8).u32(little ? tsoffset : 0).u32(little ? 0 : tsoffset);
  if (tsresol !== undefined || tsoffset !== undefined) b.u16(0).u16(0);
  return block(little, 1, b);
}

function epb(little: boolean, ifId: number, ts: bigint, data: number[], orig = data.length): Uint8Array {
  const b = new Bytes(little).u32(ifId).u32(Number(ts >> 32n)).u32(Number(ts & 0xffffffffn)).u32(data.length).u32(orig).bytes(data).pad4();
  return block(little, 6, b);
}

function spb(little: boolean, orig: number, data: number[]): Uint8Array {
  return block(little, 3, new Bytes(little).u32(orig).bytes(data).pad4());
}

function opb(little: boolean, ifId: number, ts: bigint, data: number[]): Uint8Array {
  const b = new Bytes(little).u16(ifId).u16(0).u32(Number(ts >> 32n)).u32(Number(ts & 0xffffffffn)).u32(data.length).u32(data.length).bytes(data).pad4();
  return block(little, 2, b);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

const summary = (r: CaptureRecord): [number, number, number, number, number, number[]] =>
  [r.frame, r.tsSec, r.tsNsec, r.linkType, r.origLength, [...r.data]];

// ---- pcap ----

for (const little of [true, false]) {
  for (const nanos of [false, true]) {
    test(`pcap ${little ? 'little' : 'big'}-endian ${nanos ? 'nanosecond' : 'microsecond'}: timestamps, link type, lengths`, () => {
      const frac = nanos ? 123456789 : 123456;
      const bytes = pcap({ little, nanos, linkType: 101 }, [
        { sec: 1700000000, frac, data: [0x45, 1, 2, 3], orig: 60 },
        { sec: 1700000001, frac: 0, data: [0x60, 9] },
      ]);
      assert.equal(detectCaptureFormat(bytes), 'pcap');
      const recs = [...readCapture(bytes)];
      assert.deepEqual(recs.map(summary), [
        [1, 1700000000, nanos ? 123456789 : 123456000, 101, 60, [0x45, 1, 2, 3]],
        [2, 1700000001, 0, 101, 2, [0x60, 9]],
      ]);
      assert.equal(recs[0]!.offset, 24);
      assert.equal(recs[1]!.offset, 24 + 16 + 4);
    });
  }
}

test('pcap: the FCS bits in the link-type word do not change the link type', () => {
  const bytes = pcap({ little: true, nanos: false, linkType: 0x10000001 }, [{ sec: 1, frac: 0, data: [1] }]);
  assert.equal([...readCapture(bytes)][0]!.linkType, 1);
});

// ---- pcapng ----

test('pcapng: several sections and interfaces, EPB/SPB/OPB, per-interface if_tsresol and if_tsoffset', () => {
  for (const little of [true, false]) {
    const bytes = concat(
      shb(little),
      idb(little, 1), // default resolution: microseconds
      idb(little, 101, 9), // nanoseconds
      epb(little, 0, 1700000000_000001n, [1, 2, 3]),
      epb(little, 1, 1700000000_123456789n, [0x45], 40),
      spb(little, 5, [7, 7, 7, 7, 7]),
      opb(little, 1, 5_000000001n, [0x60]),
      // a new section restarts interface numbering
      shb(!little),
      idb(!little, 113, 0x80 | 10, 0, 100), // 2^-10 s units, +100 s offset
      epb(!little, 0, 3072n, [9, 9]),
    );
    assert.equal(detectCaptureFormat(bytes), 'pcapng');
    const r = new CaptureReader();
    r.push(bytes);
    r.end();
    const recs: CaptureRecord[] = [];
    for (let x = r.next(); x; x = r.next()) recs.push(x);
    assert.deepEqual(recs.map(summary), [
      [1, 1700000000, 1000, 1, 3, [1, 2, 3]],
      [2, 1700000000, 123456789, 101, 40, [0x45]],
      [3, 0, 0, 1, 5, [7, 7, 7, 7, 7]],
      [4, 5, 1, 101, 1, [0x60]],
      [5, 103, 0, 113, 2, [9, 9]],
    ]);
    assert.deepEqual(recs.map((x) => x.interfaceId), [0, 1, 0, 1, 2]);
    assert.equal(r.sectionCount, 2);
    assert.equal(r.interfaces.length, 3);
  }
});

test('pcapng: the SPB captured length is cut to the interface snap length', () => {
  const bytes = concat(shb(true), idb(true, 1, undefined, 3), spb(true, 8, [1, 2, 3, 4, 5, 6, 7, 8]));
  const [rec] = [...readCapture(bytes)];
  assert.deepEqual([...rec!.data], [1, 2, 3]);
  assert.equal(rec!.origLength, 8);
});

test('pcapng: files written by synack\'s own PcapngWriter read back', () => {
  const w = new PcapngWriter();
  const id = w.addInterface({ name: 'lo', linkType: 101 });
  w.writePacket(id, 1700000000123, new Uint8Array([0x45, 0, 0, 20]));
  const bytes = w.take();
  const recs = [...readCapture(bytes)];
  assert.equal(recs.length, 1);
  assert.equal(recs[0]!.linkType, 101);
  assert.deepEqual([...recs[0]!.data], [0x45, 0, 0, 20]);
  assert.equal(recs[0]!.tsSec, 1700000000);
});

// ---- streaming ----

test('streaming: any split of the bytes into chunks yields the same records', () => {
  const bytes = concat(
    shb(true), idb(true, 1), idb(true, 101, 9),
    epb(true, 0, 1n, [1, 2, 3, 4, 5]), epb(true, 1, 2n, [6]), spb(true, 2, [8, 9]),
  );
  const whole = [...readCapture(bytes)].map(summary);
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: bytes.length }), { maxLength: 12 }), (cuts) => {
    const points = [...new Set(cuts)].sort((a, b) => a - b);
    const r = new CaptureReader();
    const got: ReturnType<typeof summary>[] = [];
    let prev = 0;
    for (const p of [...points, bytes.length]) {
      r.push(bytes.slice(prev, p));
      prev = p;
      for (let x = r.next(); x; x = r.next()) got.push(summary(x));
    }
    r.end();
    for (let x = r.next(); x; x = r.next()) got.push(summary(x));
    assert.deepEqual(got, whole);
  }));
});

test('streaming: the caller may reuse (and scribble over) its chunk buffer right after push()', () => {
  const bytes = concat(
    shb(true), idb(true, 1), epb(true, 0, 1n, [1, 2, 3, 4, 5, 6, 7]), epb(true, 0, 2n, [8, 9]), epb(true, 0, 3n, new Array(40).fill(3)),
  );
  const whole = [...readCapture(bytes)].map(summary);
  for (const size of [1, 3, 7, 16, 50]) {
    const scratch = new Uint8Array(size);
    const r = new CaptureReader();
    const got: ReturnType<typeof summary>[] = [];
    for (let at = 0; at < bytes.length; at += size) {
      const n = Math.min(size, bytes.length - at);
      scratch.set(bytes.subarray(at, at + n));
      r.push(scratch.subarray(0, n));
      scratch.fill(0xee);
      for (let x = r.next(); x; x = r.next()) got.push(summary(x));
    }
    r.end();
    for (let x = r.next(); x; x = r.next()) got.push(summary(x));
    assert.deepEqual(got, whole, `chunk size ${size}`);
  }
});

test('streaming: the reader keeps only the unread tail (memory does not grow with the capture)', () => {
  const pkt = epb(true, 0, 1n, new Array(100).fill(1));
  const r = new CaptureReader();
  r.push(concat(shb(true), idb(true, 1)));
  let n = 0;
  for (let i = 0; i < 2000; i++) {
    // Each chunk holds one and a half packets: a tail always remains.
    r.push(pkt.subarray(0, 60));
    for (let x = r.next(); x; x = r.next()) n++;
    r.push(pkt.subarray(60));
    for (let x = r.next(); x; x = r.next()) n++;
    const internal = (r as unknown as { buf: Uint8Array; pos: number });
    assert.ok(internal.buf.length - internal.pos < pkt.length, 'unread tail smaller than one record');
  }
  assert.equal(n, 2000);
});

// ---- bad input ----

test('a truncated pcap yields the records before the cut, then a WireError naming the byte offset', () => {
  const bytes = pcap({ little: true, nanos: false, linkType: 1 }, [
    { sec: 1, frac: 0, data: [1, 2, 3, 4] }, { sec: 2, frac: 0, data: [5, 6, 7, 8] },
  ]);
  const cut = bytes.subarray(0, bytes.length - 2);
  const r = new CaptureReader();
  r.push(cut);
  r.end();
  assert.equal(r.next()!.frame, 1);
  assert.throws(() => r.next(), (e: unknown) => {
    assert.ok(e instanceof WireError);
    assert.equal(e.code, 'truncated');
    assert.equal(e.offset, 24 + 16 + 4); // the second record starts here
    assert.match(e.message, /at byte 44/);
    return true;
  });
});

test('a truncated pcapng block is reported at the block\'s offset', () => {
  const good = concat(shb(true), idb(true, 1));
  const bytes = concat(good, epb(true, 0, 1n, [1, 2, 3, 4]).subarray(0, 20));
  assert.throws(() => [...readCapture(bytes)], (e: unknown) => e instanceof WireError && e.code === 'truncated' && e.offset === good.length);
});

test('input that is not a capture is refused with a clear message', () => {
  for (const text of ['{"name":"synack"}', 'GET / HTTP/1.1\r\n', '', 'ab']) {
    assert.throws(() => [...readCapture(new TextEncoder().encode(text))], (e: unknown) => {
      assert.ok(e instanceof WireError);
      assert.equal(e.code, 'not-a-capture');
      assert.match(e.message, /not a pcap or pcapng capture/);
      return true;
    });
  }
});

test('corrupt lengths are typed errors, never a crash or a huge allocation', () => {
  const hdr = pcap({ little: true, nanos: false, linkType: 1 }, []);
  const huge = concat(hdr, new Bytes(true).u32(1).u32(0).u32(0xfffffff0).u32(10).build());
  assert.throws(() => [...readCapture(huge)], (e: unknown) => e instanceof WireError && e.code === 'bad-length');
  const badBlock = concat(shb(true), new Bytes(true).u32(6).u32(13).u32(0).build());
  assert.throws(() => [...readCapture(badBlock)], (e: unknown) => e instanceof WireError && e.code === 'bad-length');
  const noIface = concat(shb(true), epb(true, 3, 1n, [1]));
  assert.throws(() => [...readCapture(noIface)], (e: unknown) => e instanceof WireError && e.code === 'no-interface');
});

test('random bytes after a valid header never escape as anything but WireError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (tail, ng) => {
    const head = ng ? concat(shb(true), idb(true, 1)) : pcap({ little: true, nanos: false, linkType: 1 }, []);
    try {
      for (const rec of readCapture(concat(head, tail))) void rec;
    } catch (e) {
      assert.ok(e instanceof WireError, String(e));
    }
  }));
});
