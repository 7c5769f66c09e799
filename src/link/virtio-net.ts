/**
 * struct virtio_net_hdr (linux/virtio_net.h, virtio spec v1.2 §5.1.6): the 10-byte header a TUN device opened
 * with IFF_VNET_HDR puts before every packet it reads and expects before every packet written. It carries the
 * offload metadata a NIC would: "the checksum is still to be done" (NEEDS_CSUM, with where it starts and where
 * the result goes) and "this is a TCP super-packet to be cut into gso_size pieces" (GSO).
 *
 * Fields are in the host's byte order (legacy virtio, what TUN uses unless TUNSETVNETBE/LE says otherwise);
 * every Linux host Node runs on today is little-endian, and TunLink refuses offload on a big-endian one.
 */
import { WireError } from '../wire/errors.js';
import { finishChecksum, onesComplementSum, pseudoHeaderSum } from '../wire/checksum.js';

export const VIRTIO_NET_HDR_LEN = 10;

/** flags: the checksum from csum_start to the end is still to be computed, stored at csum_start + csum_offset. */
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
/** flags: the checksum was already verified (e.g. by a NIC). */
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;

export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_UDP = 3;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

/**
 * struct virtio_net_hdr (linux/virtio_net.h, virtio spec v1.2 §5.1.6): the offload metadata a TUN device
 * opened with `{ offload: true }` puts before every packet (TunLink.onPackets) and takes with every write.
 */
export interface VirtioNetHdr {
  /** 1 = NEEDS_CSUM (the checksum is still to be computed), 2 = DATA_VALID (already verified). */
  flags: number;
  /** GSO type (0 none, 1 TCPv4, 4 TCPv6) with the ECN bit (0x80) when set. */
  gsoType: number;
  /** Bytes of headers (IP + TCP) before the payload of a GSO packet (a hint for the receiver). */
  hdrLen: number;
  /** Payload bytes per segment of a GSO packet (the MSS). */
  gsoSize: number;
  /** With NEEDS_CSUM: where checksumming starts (the TCP header), in bytes from the packet's start. */
  csumStart: number;
  /** With NEEDS_CSUM: where the checksum goes, in bytes from csumStart (16 for TCP). */
  csumOffset: number;
}

export function decodeVirtioNetHdr(b: Uint8Array, offset = 0): VirtioNetHdr {
  if (!(offset >= 0) || offset + VIRTIO_NET_HDR_LEN > b.length) {
    throw new WireError('packet', 'truncated', `virtio_net_hdr needs ${VIRTIO_NET_HDR_LEN} bytes at offset ${offset}, buffer has ${b.length}`, b.length);
  }
  const o = offset;
  return {
    flags: b[o]!,
    gsoType: b[o + 1]!,
    hdrLen: b[o + 2]! | (b[o + 3]! << 8),
    gsoSize: b[o + 4]! | (b[o + 5]! << 8),
    csumStart: b[o + 6]! | (b[o + 7]! << 8),
    csumOffset: b[o + 8]! | (b[o + 9]! << 8),
  };
}

export function encodeVirtioNetHdr(h: VirtioNetHdr, out: Uint8Array = new Uint8Array(VIRTIO_NET_HDR_LEN), offset = 0): Uint8Array {
  if (!(offset >= 0) || offset + VIRTIO_NET_HDR_LEN > out.length) {
    throw new WireError('packet', 'buffer-too-small', `virtio_net_hdr needs ${VIRTIO_NET_HDR_LEN} bytes at offset ${offset}`, offset);
  }
  const fields: Array<[string, number, number]> = [
    ['flags', h.flags, 0xff], ['gsoType', h.gsoType, 0xff], ['hdrLen', h.hdrLen, 0xffff],
    ['gsoSize', h.gsoSize, 0xffff], ['csumStart', h.csumStart, 0xffff], ['csumOffset', h.csumOffset, 0xffff],
  ];
  for (const [name, v, max] of fields) {
    if (!(Number.isInteger(v) && v >= 0 && v <= max)) throw new WireError('packet', 'bad-field', `virtio_net_hdr ${name} ${String(v)} is not an integer in 0..${max}`, offset);
  }
  const o = offset;
  out[o] = h.flags;
  out[o + 1] = h.gsoType;
  out[o + 2] = h.hdrLen & 0xff; out[o + 3] = h.hdrLen >>> 8;
  out[o + 4] = h.gsoSize & 0xff; out[o + 5] = h.gsoSize >>> 8;
  out[o + 6] = h.csumStart & 0xff; out[o + 7] = h.csumStart >>> 8;
  out[o + 8] = h.csumOffset & 0xff; out[o + 9] = h.csumOffset >>> 8;
  return out;
}

/** Offset of the TCP checksum field inside the TCP header (RFC 9293 §3.1). */
const TCP_CSUM_OFFSET = 16;

/**
 * Prepares a whole IPv4/IPv6 TCP datagram (no IPv4 options, no IPv6 extension headers: what our encoder
 * writes) for the kernel to segment into `gsoSize`-byte pieces, and returns its virtio_net_hdr:
 * GSO TCPV4/TCPV6, NEEDS_CSUM over the TCP header and payload. As Linux's own TSO path does
 * (__tcp_v4_send_check, tcp_gso_segment), the TCP checksum field is overwritten IN PLACE with the folded,
 * uncomplemented pseudo-header sum over the whole TCP length; the kernel adjusts it per segment and
 * completes it. With gsoSize 0 the packet is not segmented, only marked NEEDS_CSUM the same way.
 */
export function prepareTcpOffload(packet: Uint8Array, gsoSize: number, payloadLength = 0): VirtioNetHdr {
  const v4 = packet.length >= 20 && packet[0]! >> 4 === 4;
  const v6 = packet.length >= 40 && packet[0]! >> 4 === 6;
  if (!v4 && !v6) throw new WireError('packet', 'bad-version', 'not an IPv4 or IPv6 datagram', 0);
  const ipLen = v4 ? (packet[0]! & 0x0f) * 4 : 40;
  const proto = v4 ? packet[9]! : packet[6]!;
  if (proto !== 6) throw new WireError('packet', 'bad-protocol', `offload is for TCP, this datagram carries protocol ${proto}`, v4 ? 9 : 6);
  if (packet.length < ipLen + 20) throw new WireError('packet', 'truncated', 'no room for a TCP header', packet.length);
  // `packet` may be the headers only, its payload sent as a second part (TunLink's gathered writes).
  const tcpLen = packet.length + payloadLength - ipLen;
  const tcpHdrLen = (packet[ipLen + 12]! >> 4) * 4;
  const src = v4 ? packet.subarray(12, 16) : packet.subarray(8, 24);
  const dst = v4 ? packet.subarray(16, 20) : packet.subarray(24, 40);
  // ~finishChecksum is the folded sum; finishChecksum only ever returns 0xffff for a zero sum.
  const partial = ~finishChecksum(pseudoHeaderSum(src, dst, 6, tcpLen)) & 0xffff;
  packet[ipLen + TCP_CSUM_OFFSET] = partial >>> 8;
  packet[ipLen + TCP_CSUM_OFFSET + 1] = partial & 0xff;
  const segment = gsoSize > 0 && tcpLen - tcpHdrLen > gsoSize;
  return {
    flags: VIRTIO_NET_HDR_F_NEEDS_CSUM,
    gsoType: segment ? (v4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6) : VIRTIO_NET_HDR_GSO_NONE,
    hdrLen: segment ? ipLen + tcpHdrLen : 0,
    gsoSize: segment ? gsoSize : 0,
    csumStart: ipLen,
    csumOffset: TCP_CSUM_OFFSET,
  };
}

/**
 * prepareTcpOffload for a datagram synack's encoder wrote (IPv4 without options or IPv6 without extension
 * headers, TCP, checked by the caller), with the virtio_net_hdr written into `out` (10 bytes at `offset`)
 * instead of returned as an object: the TUN send path's per-segment form, allocating nothing (the header
 * object, its encoding and two address views were ~2 % of synack's CPU while sending). Same bytes as
 * encodeVirtioNetHdr(prepareTcpOffload(packet, gsoSize, payloadLength)). Returns whether the kernel is to
 * segment it (GSO).
 */
export function writeTcpOffloadHdr(packet: Uint8Array, gsoSize: number, payloadLength: number, out: Uint8Array, offset = 0): boolean {
  const v4 = packet[0]! >> 4 === 4;
  const ipLen = v4 ? (packet[0]! & 0x0f) * 4 : 40;
  const tcpLen = packet.length + payloadLength - ipLen;
  const tcpHdrLen = (packet[ipLen + 12]! >> 4) * 4;
  // RFC 9293 §3.1 / RFC 8200 §8.1 pseudo-header: the addresses lie together (12..20, 8..40), then protocol and
  // length (IPv6: 32 bits); the folded, uncomplemented sum goes in the checksum field, as prepareTcpOffload.
  let sum = 6 + (tcpLen & 0xffff) + (tcpLen >>> 16);
  for (let i = v4 ? 12 : 8, end = v4 ? 20 : 40; i < end; i += 2) sum += (packet[i]! << 8) | packet[i + 1]!;
  const partial = ~finishChecksum(sum) & 0xffff;
  packet[ipLen + TCP_CSUM_OFFSET] = partial >>> 8;
  packet[ipLen + TCP_CSUM_OFFSET + 1] = partial & 0xff;
  const segment = gsoSize > 0 && tcpLen - tcpHdrLen > gsoSize;
  const hdrLen = segment ? ipLen + tcpHdrLen : 0, size = segment ? gsoSize : 0;
  const o = offset;
  out[o] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  out[o + 1] = segment ? (v4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6) : VIRTIO_NET_HDR_GSO_NONE;
  out[o + 2] = hdrLen & 0xff; out[o + 3] = hdrLen >>> 8;
  out[o + 4] = size & 0xff; out[o + 5] = size >>> 8;
  out[o + 6] = ipLen; out[o + 7] = 0;
  out[o + 8] = TCP_CSUM_OFFSET; out[o + 9] = 0;
  return segment;
}

/**
 * Completes a NEEDS_CSUM checksum in place (what a NIC would do; used by tests to check what the kernel sent,
 * and never on the fast path): the ones' complement sum from csum_start to the end, stored at csum_start +
 * csum_offset. The field holds the pseudo-header sum the sender seeded, so it is part of the sum.
 */
export function completeChecksum(packet: Uint8Array, h: VirtioNetHdr): void {
  if (!(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) return;
  const at = h.csumStart + h.csumOffset;
  if (at + 2 > packet.length) throw new WireError('packet', 'truncated', `checksum field at ${at} is beyond the ${packet.length}-byte packet`, packet.length);
  const ck = finishChecksum(onesComplementSum(packet, h.csumStart, packet.length));
  packet[at] = ck >>> 8;
  packet[at + 1] = ck & 0xff;
}

/**
 * A GSO super-packet from the kernel may carry an IPv4 total length of 0 (BIG TCP, or what captures show for
 * TSO); such packets are given their real length (and a fresh header checksum) when it fits 16 bits.
 * Returns false when the datagram cannot be represented (longer than 65535 bytes): the caller drops it.
 */
export function fixGsoIpLength(packet: Uint8Array): boolean {
  if (packet.length < 20) return true;
  const version = packet[0]! >> 4;
  if (version === 4) {
    if (packet[2] !== 0 || packet[3] !== 0) return true;
    if (packet.length > 0xffff) return false;
    const ihl = (packet[0]! & 0x0f) * 4;
    packet[2] = packet.length >>> 8;
    packet[3] = packet.length & 0xff;
    packet[10] = 0;
    packet[11] = 0;
    const ck = finishChecksum(onesComplementSum(packet, 0, ihl));
    packet[10] = ck >>> 8;
    packet[11] = ck & 0xff;
    return true;
  }
  if (version === 6 && packet.length >= 40) {
    if (packet[4] !== 0 || packet[5] !== 0 || packet.length === 40) return true;
    // IPv6 BIG TCP inserts a hop-by-hop jumbo option; without one a zero payload length here means a
    // super-packet whose length was left out. Only what fits 16 bits is representable.
    if (packet.length - 40 > 0xffff || packet[6] === 0) return false;
    packet[4] = (packet.length - 40) >>> 8;
    packet[5] = (packet.length - 40) & 0xff;
    return true;
  }
  return true;
}
