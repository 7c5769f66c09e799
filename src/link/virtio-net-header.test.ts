// struct virtio_net_hdr codec and the TSO preparation of synack's datagrams (src/link/virtio-net.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  VIRTIO_NET_HDR_LEN, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV6,
  completeChecksum, decodeVirtioNetHdr, encodeVirtioNetHdr, fixGsoIpLength, prepareTcpOffload, writeTcpOffloadHdr, type VirtioNetHdr,
} from './virtio-net.js';
import { WireError } from '../wire/errors.js';
import { decodePacket, encodeTcpPacket, encodeTcpPacketChecksumOffload } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { ACK, PSH, type TcpSegment } from '../wire/tcp-types.js';

test('virtio_net_hdr: the kernel\'s little-endian layout, byte for byte', () => {
  // A TSO packet as Linux's tun_put_user writes it: NEEDS_CSUM, GSO_TCPV4, hdr_len 66, gso_size 1448,
  // csum_start 20, csum_offset 16.
  const bytes = Uint8Array.from([0x01, 0x01, 0x42, 0x00, 0xa8, 0x05, 0x14, 0x00, 0x10, 0x00]);
  const h = decodeVirtioNetHdr(bytes);
  assert.deepEqual(h, { flags: 1, gsoType: 1, hdrLen: 66, gsoSize: 1448, csumStart: 20, csumOffset: 16 });
  assert.deepEqual(encodeVirtioNetHdr(h), bytes);
  // At an offset inside a larger buffer (as read from the device: header, then the packet).
  const buf = new Uint8Array(30);
  encodeVirtioNetHdr(h, buf, 7);
  assert.deepEqual(decodeVirtioNetHdr(buf, 7), h);
});

test('virtio_net_hdr: encode/decode round-trip for every field value', () => {
  const u8 = fc.integer({ min: 0, max: 0xff });
  const u16 = fc.integer({ min: 0, max: 0xffff });
  fc.assert(fc.property(fc.record({ flags: u8, gsoType: u8, hdrLen: u16, gsoSize: u16, csumStart: u16, csumOffset: u16 }), (h: VirtioNetHdr) => {
    const b = encodeVirtioNetHdr(h);
    assert.equal(b.length, VIRTIO_NET_HDR_LEN);
    assert.deepEqual(decodeVirtioNetHdr(b), { ...h }); // fast-check records have a null prototype
  }));
});

test('virtio_net_hdr: short buffers and out-of-range fields are WireErrors', () => {
  assert.throws(() => decodeVirtioNetHdr(new Uint8Array(9)), WireError);
  assert.throws(() => decodeVirtioNetHdr(new Uint8Array(12), 3), WireError);
  const ok: VirtioNetHdr = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
  assert.throws(() => encodeVirtioNetHdr({ ...ok, gsoSize: 65536 }), WireError);
  assert.throws(() => encodeVirtioNetHdr({ ...ok, flags: -1 }), WireError);
  assert.throws(() => encodeVirtioNetHdr({ ...ok, csumStart: 1.5 }), WireError);
  assert.throws(() => encodeVirtioNetHdr(ok, new Uint8Array(10), 1), WireError);
});

function segment(payloadLen: number): TcpSegment {
  const payload = new Uint8Array(payloadLen);
  for (let i = 0; i < payloadLen; i++) payload[i] = (i * 31 + 7) & 0xff;
  return { srcPort: 80, dstPort: 40000, seq: 123456, ack: 654321, flags: ACK | PSH, window: 1000, urgent: 0, options: { tsVal: 5, tsEcr: 6 }, payload };
}

for (const [fam, src, dst, gso] of [['IPv4', '10.77.0.2', '10.77.0.1', VIRTIO_NET_HDR_GSO_TCPV4], ['IPv6', 'fd77::2', 'fd77::1', VIRTIO_NET_HDR_GSO_TCPV6]] as const) {
  test(`prepareTcpOffload (${fam}): GSO header for the kernel, and a seeded checksum that completes to the real one`, () => {
    const pkt = encodeTcpPacket({ src: parseAddress(src), dst: parseAddress(dst) }, segment(10 * 1436 + 100));
    const reference = pkt.slice();
    const ipLen = fam === 'IPv4' ? 20 : 40;
    const h = prepareTcpOffload(pkt, 1436);
    assert.deepEqual(h, { flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: gso, hdrLen: ipLen + 32, gsoSize: 1436, csumStart: ipLen, csumOffset: 16 });
    // Only the checksum field changed, and it is no longer a valid full checksum (it is the pseudo-header sum).
    for (let i = 0; i < pkt.length; i++) if (i !== ipLen + 16 && i !== ipLen + 17) assert.equal(pkt[i], reference[i]);
    assert.equal(decodePacket(pkt).tcpChecksumOk, false);
    // Completing it as the kernel (or a NIC) would gives back exactly the checksum the encoder computed.
    completeChecksum(pkt, h);
    assert.deepEqual(pkt, reference);
    assert.equal(decodePacket(pkt).tcpChecksumOk, true);
  });

  test(`encodeTcpPacketChecksumOffload (${fam}): seeded as prepareTcpOffload would, and completes to encodeTcpPacket's bytes`, () => {
    const ip = { src: parseAddress(src), dst: parseAddress(dst) };
    for (const n of [0, 1, 1435, 30_001]) {
      const full = encodeTcpPacket(ip, segment(n));
      const seeded = encodeTcpPacketChecksumOffload(ip, segment(n));
      const again = seeded.slice();
      const h = prepareTcpOffload(again, 1436);
      assert.deepEqual(again, seeded, 'prepareTcpOffload writes the same seed');
      completeChecksum(seeded, h);
      assert.deepEqual(seeded, full, `${n}-byte payload`);
    }
  });

  test(`prepareTcpOffload (${fam}): a segment of at most one segment size is marked NEEDS_CSUM only`, () => {
    const pkt = encodeTcpPacket({ src: parseAddress(src), dst: parseAddress(dst) }, segment(1436));
    const h = prepareTcpOffload(pkt, 1436);
    assert.equal(h.gsoType, VIRTIO_NET_HDR_GSO_NONE);
    assert.equal(h.gsoSize, 0);
    completeChecksum(pkt, h);
    assert.equal(decodePacket(pkt).tcpChecksumOk, true);
  });

  test(`writeTcpOffloadHdr (${fam}): the send path's in-place header is prepareTcpOffload's, byte for byte`, () => {
    const ip = { src: parseAddress(src), dst: parseAddress(dst) };
    // Whole datagrams and headers-only ones with their payload apart (TunLink's gathered writes), below, at and
    // above one segment size, into a reused buffer at an offset.
    const out = new Uint8Array(VIRTIO_NET_HDR_LEN + 3).fill(0xee);
    for (const n of [0, 1, 1436, 1437, 10 * 1436 + 100, 40_000]) {
      for (const split of [false, true]) {
        const whole = encodeTcpPacket(ip, segment(n));
        const a = split ? whole.slice(0, whole.length - n) : whole.slice();
        const b = a.slice();
        const h = prepareTcpOffload(a, 1436, split ? n : 0);
        const gso = writeTcpOffloadHdr(b, 1436, split ? n : 0, out, 3);
        assert.deepEqual(b, a, `${n}-byte payload: the same seeded checksum`);
        assert.deepEqual(out.subarray(3), encodeVirtioNetHdr(h), `${n}-byte payload, split ${split}`);
        assert.equal(gso, h.gsoType !== VIRTIO_NET_HDR_GSO_NONE);
        assert.equal(gso, n > 1436);
      }
    }
    assert.deepEqual(out.subarray(0, 3), Uint8Array.of(0xee, 0xee, 0xee), 'nothing written before the offset');
  });
}

test('prepareTcpOffload refuses what it cannot offload with a WireError', () => {
  assert.throws(() => prepareTcpOffload(new Uint8Array(10), 1000), WireError);
  const udp = encodeTcpPacket({ src: parseAddress('10.0.0.1'), dst: parseAddress('10.0.0.2') }, segment(10));
  udp[9] = 17;
  assert.throws(() => prepareTcpOffload(udp, 1000), (e: unknown) => e instanceof WireError && e.code === 'bad-protocol');
});

test('fixGsoIpLength: an IPv4 total length of 0 becomes the real length with a valid header checksum', () => {
  const pkt = encodeTcpPacket({ src: parseAddress('10.77.0.1'), dst: parseAddress('10.77.0.2') }, segment(30000));
  const reference = pkt.slice();
  pkt[2] = 0; pkt[3] = 0; pkt[10] = 0x12; pkt[11] = 0x34;
  assert.equal(fixGsoIpLength(pkt), true);
  assert.deepEqual(pkt, reference);
  assert.equal(decodePacket(pkt).ip.checksumOk, true);
  // Already right: untouched.
  assert.equal(fixGsoIpLength(pkt), true);
  assert.deepEqual(pkt, reference);
  // Longer than a 16-bit length can say: refused.
  const huge = new Uint8Array(70000);
  huge[0] = 0x45;
  assert.equal(fixGsoIpLength(huge), false);
});

test('fixGsoIpLength: an IPv6 payload length of 0 (no jumbo option) becomes the real length', () => {
  const pkt = encodeTcpPacket({ src: parseAddress('fd77::1'), dst: parseAddress('fd77::2') }, segment(20000));
  const reference = pkt.slice();
  pkt[4] = 0; pkt[5] = 0;
  assert.equal(fixGsoIpLength(pkt), true);
  assert.deepEqual(pkt, reference);
});
