import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketSlab, decodePacket, encodeTcpPacket, encodeTcpPacketIn } from './packet.js';
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

test('takePacked: zeroed bytes right after the previous ones in the block, never shared, a new block when full', () => {
  const slab = new PacketSlab(4096);
  const got: Uint8Array[] = [];
  for (let i = 0; i < 20; i++) {
    const b = slab.takePacked(333);
    assert.ok(b.every((x) => x === 0), 'zeroed');
    b.fill(i + 1);
    got.push(b);
  }
  for (let i = 1; i < got.length; i++) {
    const a = got[i - 1]!, b = got[i]!;
    if (a.buffer === b.buffer) assert.equal(b.byteOffset, a.byteOffset + a.length, 'contiguous within a block');
    else assert.equal(b.byteOffset, 0, 'a new block starts at its beginning');
  }
  assert.ok(got.every((b, i) => b.every((x) => x === i + 1)), 'no two share a byte');
  assert.equal(slab.takePacked(2000).byteLength, 2000);
  assert.equal(slab.takePacked(2000).buffer.byteLength, 2000, 'larger than a quarter block: its own buffer');
});
