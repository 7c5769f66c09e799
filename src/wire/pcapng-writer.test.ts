import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapngWriter, LINKTYPE_RAW } from './pcapng-writer.js';
import { encodeTcpPacket } from './packet.js';
import { parseAddress } from './address.js';
import { makeSegment, SYN, ACK, FIN, PSH } from './tcp-types.js';
import { WireError } from './errors.js';

const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

function packets(): Uint8Array[] {
  const v4 = { src: parseAddress('10.0.0.1'), dst: parseAddress('10.0.0.2') };
  const v4r = { src: v4.dst, dst: v4.src };
  const v6 = { src: parseAddress('fd00::1'), dst: parseAddress('fd00::2') };
  return [
    encodeTcpPacket(v4, makeSegment({ srcPort: 40000, dstPort: 80, seq: 1000, flags: SYN, window: 65535, options: { mss: 1460 } })),
    encodeTcpPacket(v4r, makeSegment({ srcPort: 80, dstPort: 40000, seq: 5000, ack: 1001, flags: SYN | ACK, window: 65535, options: { mss: 1460 } })),
    encodeTcpPacket(v4, makeSegment({ srcPort: 40000, dstPort: 80, seq: 1001, ack: 5001, flags: ACK | PSH, window: 512, payload: new TextEncoder().encode('hello') })),
    encodeTcpPacket(v6, makeSegment({ srcPort: 40001, dstPort: 443, seq: 7, flags: SYN, window: 1000 })),
    encodeTcpPacket(v6, makeSegment({ srcPort: 40001, dstPort: 443, seq: 8, ack: 9, flags: FIN | ACK, window: 1000 })),
  ];
}

/** Walks the block structure: [type, totalLength] per block, checking the trailing length copy. */
function blocks(b: Uint8Array): Array<[number, number, number]> {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Array<[number, number, number]> = [];
  let off = 0;
  while (off < b.length) {
    const type = dv.getUint32(off, true);
    const len = dv.getUint32(off + 4, true);
    assert.equal(len % 4, 0, `block at ${off} length ${len} is 32-bit aligned`);
    assert.ok(off + len <= b.length, `block at ${off} fits`);
    assert.equal(dv.getUint32(off + len - 4, true), len, `trailing length of block at ${off}`);
    out.push([type, len, off]);
    off += len;
  }
  return out;
}

test('pcapng writer emits SHB, IDB and one EPB per packet with exact lengths and timestamps', () => {
  const w = new PcapngWriter({ application: 'synack-test' });
  w.comment('section: writer test');
  const i0 = w.addInterface({ name: 'wire0', tsResolMicro: true });
  const i1 = w.addInterface({ name: 'wire1', description: 'nanosecond interface' });
  assert.deepEqual([i0, i1], [0, 1]);
  const ps = packets();
  w.writePacket(i0, 1500.25, ps[0]!, 'first');
  w.writePacket(i1, 1_700_000_000_123.456789, ps[1]!);
  const b = w.take();
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const bl = blocks(b);
  assert.deepEqual(bl.map((x) => x[0]), [0x0a0d0d0a, 1, 1, 6, 6]);
  assert.equal(dv.getUint32(8, true), 0x1a2b3c4d);
  // EPB 1: µs interface, 1500.25 ms = 1500250 µs.
  const [, , e0] = bl[3]!;
  assert.equal(dv.getUint32(e0 + 8, true), 0);
  assert.equal(dv.getUint32(e0 + 12, true), 0);
  assert.equal(dv.getUint32(e0 + 16, true), 1500250);
  assert.equal(dv.getUint32(e0 + 20, true), ps[0]!.length);
  assert.equal(dv.getUint32(e0 + 24, true), ps[0]!.length);
  assert.deepEqual(b.subarray(e0 + 28, e0 + 28 + ps[0]!.length), ps[0]);
  // EPB 2: ns interface; 1700000000123.456789 ms → 1700000000123456789 ns (to float precision of the input: the
  // fractional part of a ~1.7e12 double has ~0.2 µs steps, so compare at µs).
  const [, , e1] = bl[4]!;
  assert.equal(dv.getUint32(e1 + 8, true), 1);
  const ns = (BigInt(dv.getUint32(e1 + 12, true)) << 32n) | BigInt(dv.getUint32(e1 + 16, true));
  assert.equal(ns / 1000n, 1700000000123456n);
  // Text of the section comment and the packet comment are in the file.
  const text = new TextDecoder('latin1').decode(b);
  assert.ok(text.includes('section: writer test'));
  assert.ok(text.includes('first'));
  assert.ok(text.includes('wire0') && text.includes('nanosecond interface') && text.includes('synack-test'));
});

test('take() returns only the bytes produced since the last take, SHB first', () => {
  const w = new PcapngWriter();
  const iface = w.addInterface({ linkType: LINKTYPE_RAW });
  const first = w.take();
  assert.deepEqual(blocks(first).map((x) => x[0]), [0x0a0d0d0a, 1]);
  w.writePacket(iface, 0, packets()[0]!);
  const second = w.take();
  assert.deepEqual(blocks(second).map((x) => x[0]), [6]);
  assert.equal(w.take().length, 0);
});

test('writer rejects unknown interfaces and bad timestamps with WireError', () => {
  const w = new PcapngWriter();
  assert.throws(() => w.writePacket(0, 0, new Uint8Array(20)), (e) => e instanceof WireError && e.code === 'bad-interface');
  const i = w.addInterface();
  assert.throws(() => w.writePacket(i, NaN, new Uint8Array(20)), (e) => e instanceof WireError && e.code === 'bad-timestamp');
  assert.throws(() => w.writePacket(i, -1, new Uint8Array(20)), (e) => e instanceof WireError && e.code === 'bad-timestamp');
  assert.throws(() => w.addInterface({ linkType: 70000 }), (e) => e instanceof WireError && e.code === 'bad-linktype');
});

test('tshark reads IPv4 and IPv6 TCP packets back with zero malformed', { skip: !hasTshark && 'tshark not installed' }, () => {
  const w = new PcapngWriter();
  w.comment('scenario: writer');
  const iface = w.addInterface({ name: 'synack0' });
  const ps = packets();
  ps.forEach((p, i) => w.writePacket(iface, 1000 + i * 10.5, p, i === 2 ? 'data segment' : undefined));
  w.comment('after the SHB this rides on the next packet');
  w.writePacket(iface, 2000, ps[0]!);
  const dir = mkdtempSync(join(tmpdir(), 'synack-pcapng-'));
  try {
    const f = join(dir, 'w.pcapng');
    writeFileSync(f, w.take());
    const r = spawnSync('tshark', ['-r', f, '-T', 'fields', '-e', 'frame.number', '-e', 'tcp.flags', '-e', '_ws.malformed', '-e', 'frame.comment', '-e', 'ip.version', '-e', 'ipv6.version'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.equal(lines.length, ps.length + 1);
    assert.deepEqual(lines.map((l) => Number(l[0])), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(lines.map((l) => Number(l[1])), [0x002, 0x012, 0x018, 0x002, 0x011, 0x002]);
    assert.ok(lines.every((l) => l[2] === ''), 'no malformed packets');
    assert.equal(lines[2]![3], 'data segment');
    assert.equal(lines[5]![3], 'after the SHB this rides on the next packet');
    assert.deepEqual(lines.map((l) => (l[4] || l[5])), ['4', '4', '4', '6', '6', '4']);
    // Interface name and section comment as tshark reports them.
    const cap = spawnSync('capinfos', [f], { encoding: 'utf8' });
    if (cap.status === 0) {
      assert.match(cap.stdout, /synack0/);
      assert.match(cap.stdout, /scenario: writer/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
