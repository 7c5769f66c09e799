import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketSlab, PayloadRuns, decodePacket, encodeTcpPacket, encodeTcpPacketIn } from './packet.js';
import { parseAddress } from './address.js';
import { ACK, makeSegment } from './tcp-types.js';

const ip = { src: parseAddress('10.0.0.1'), dst: parseAddress('10.0.0.2') };

test('datagrams encoded from one slab are byte-identical to encodeTcpPacket and never share bytes', () => {
  const slab = new PacketSlab(4096);
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const seg = makeSegment({ srcPort: 1000, dstPort: 80, seq: i * 100, ack: 7, flags: ACK, window: 500, options: i % 3 ? { tsVal: i, tsEcr: 9 } : {}, payload: new Uint8Array(i * 17 % 700).fill(i) });
    const p = encodeTcpPacketIn(slab, ip, seg, 'full');
    assert.deepEqual(p, encodeTcpPacket(ip, seg));
    assert.ok(decodePacket(p).tcpChecksumOk);
    assert.equal(p.byteOffset % 8, 0, 'aligned, so checksums read whole words');
    packets.push(p);
  }
  // No two share a byte: a link may complete a checksum in place without touching another datagram.
  for (let i = 0; i < packets.length; i++) for (let j = 0; j < packets.length; j++) {
    if (i === j || packets[i]!.buffer !== packets[j]!.buffer) continue;
    const a = packets[i]!, b = packets[j]!;
    assert.ok(a.byteOffset + a.length <= b.byteOffset || b.byteOffset + b.length <= a.byteOffset);
  }
});

test('a datagram larger than a quarter of a slab block gets a buffer of its own', () => {
  const slab = new PacketSlab(4096);
  const p = encodeTcpPacketIn(slab, ip, makeSegment({ srcPort: 1, dstPort: 2, flags: ACK, payload: new Uint8Array(2000) }), 'full');
  assert.equal(p.byteOffset, 0);
  assert.equal(p.buffer.byteLength, p.length);
});

test('PayloadRuns: a stream\'s payloads one after the other in blocks of its own, zeroed, never another stream\'s bytes', () => {
  const runs = new PayloadRuns(4096);
  const got: Array<{ owner: number; b: Uint8Array }> = [];
  // Six streams (more than the runs kept at once), interleaved unevenly, and one long run.
  const order = [1, 1, 2, 1, 3, 2, 4, 5, 6, 1, 2, 2, 2, 7, 1];
  for (let i = 0; i < 40; i++) order.push(8);
  for (const owner of order) {
    const b = runs.take(owner, 100 + owner);
    assert.ok(b.every((x) => x === 0), 'zeroed');
    b.fill(owner);
    got.push({ owner, b });
  }
  for (const { owner, b } of got) {
    // Everything its memory shows is its stream's or zero: never another stream's byte.
    assert.ok(new Uint8Array(b.buffer).every((x) => x === 0 || x === owner), `stream ${owner}: only its own bytes reachable`);
    assert.ok(b.every((x) => x === owner), 'no later take wrote over it');
  }
  const first = got.find((g) => g.owner === 8)!.b;
  assert.equal(first.buffer.byteLength, first.length, 'a run\'s first payload: exactly its length');
  const run = got.filter((g) => g.owner === 8).map((g) => g.b);
  let contiguous = 0;
  for (let i = 1; i < run.length; i++) {
    if (run[i]!.buffer === run[i - 1]!.buffer) { assert.equal(run[i]!.byteOffset, run[i - 1]!.byteOffset + run[i - 1]!.length); contiguous++; }
    else assert.equal(run[i]!.byteOffset, 0, 'a new block starts at its beginning');
    assert.ok(run[i]!.buffer.byteLength <= 4096, 'blocks no larger than asked');
  }
  assert.ok(contiguous >= 30, `a long run lies mostly contiguous (${contiguous} of 39)`);
  assert.equal(runs.take(9, 2000).buffer.byteLength, 2000, 'larger than a quarter block: its own buffer');
});
