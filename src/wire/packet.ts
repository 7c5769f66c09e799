/**
 * Whole IP datagrams carrying TCP: decode IP then TCP; encode both into one allocation.
 */
import { WireError } from './errors.js';
import { decodeIp, encodeIpHeader, ipHeaderLengthFor, IPV4_HEADER_LENGTH, IPV6_HEADER_LENGTH, PROTO_TCP, type IpHeaderInit, type IpPacket } from './ip.js';
import { finishChecksum, onesComplementSum } from './checksum.js';
import { decodeHostSegment, decodeTcpRange, optionsLength, writeTcp, tcpChecksumRangeOk, checkSegmentFields, TCP_HEADER_LENGTH, type DecodedTcp } from './tcp.js';
import { EMPTY, type TcpSegment } from './tcp-types.js';

/** An IP datagram decoded down to TCP (decodePacket). */
export interface DecodedPacket {
  /** The IP header. */
  ip: IpPacket;
  /** null when the protocol is not TCP, for non-first fragments, and when a truncated/fragmented datagram lacks the full TCP header. */
  tcp: DecodedTcp | null;
  /** TCP checksum verified; false when it cannot be checked (truncated capture, fragment) or there is no TCP. */
  tcpChecksumOk: boolean;
}

/**
 * Decodes IP then TCP. Error offsets are relative to `bytes`. A truncated (snaplen) or fragmented datagram is
 * not an error: the TCP header is decoded when it is all there, and its checksum is reported false (unknown).
 */
export function decodePacket(bytes: Uint8Array): DecodedPacket {
  return decode(bytes, true, false);
}

/**
 * decodePacket without the TCP checksum pass over the payload, for datagrams whose checksum the link already
 * vouched for (checksum offload); tcpChecksumOk is then always false (not checked).
 */
export function decodePacketUnverified(bytes: Uint8Array): DecodedPacket {
  return decode(bytes, false, false);
}

/**
 * What a host's input uses: decodePacket (or, with verifyTcpChecksum false, decodePacketUnverified) with TCP
 * options parsed as Linux parses them, so a malformed or unknown option is skipped and never costs the segment.
 */
export function decodeHostPacket(bytes: Uint8Array, verifyTcpChecksum: boolean): DecodedPacket {
  return decode(bytes, verifyTcpChecksum, true);
}

/**
 * Where decodeHostTcp found the IP header's fields a host's TCP input needs, so the addresses are read from the
 * datagram's bytes where they lie instead of through a view made per packet. The caller's to reuse.
 */
export interface HostTcpHeader {
  /** Address length: 4 (IPv4) or 16 (IPv6). */
  addrLen: number;
  /** Byte offset of the source address in the datagram; the destination follows it at srcOff + addrLen. */
  srcOff: number;
  /** Type of service (DSCP+ECN); traffic class for IPv6. */
  tos: number;
  /** TCP checksum verified; false when not asked to verify (the link vouched for it) or when it is wrong. */
  tcpChecksumOk: boolean;
}

/**
 * A host's input fast path: the TCP segment of a plain, whole datagram (IPv4 with a good header checksum, not a
 * fragment, length fields neither zero nor beyond the buffer; IPv6 with TCP as its first Next Header) decoded as
 * decodeHostPacket decodes it, the IP fields a host needs written to `out`, and no IP header object, address
 * views or second payload view made. null for anything else, and for a malformed TCP header: decodeHostPacket
 * then decides (slow path, errors). The segment is the caller's; its options may be shared frozen objects
 * (decodeHostSegment).
 */
export function decodeHostTcp(bytes: Uint8Array, verifyTcpChecksum: boolean, out: HostTcpHeader): TcpSegment | null {
  const len = bytes.length;
  if (len < 1) return null;
  const version = bytes[0]! >> 4;
  let start: number;
  let end: number;
  let pseudo: number;
  if (version === 4) {
    if (len < IPV4_HEADER_LENGTH) return null;
    start = (bytes[0]! & 0x0f) * 4;
    end = (bytes[2]! << 8) | bytes[3]!;
    // IHL below 5, a total length of zero (slow path: trimmed), short of the header or beyond the buffer,
    // MF or a fragment offset, not TCP: the general path.
    if (start < IPV4_HEADER_LENGTH || len < start || end < start || end > len) return null;
    if ((((bytes[6]! << 8) | bytes[7]!) & 0x3fff) !== 0 || bytes[9] !== PROTO_TCP) return null;
    if (finishChecksum(onesComplementSum(bytes, 0, start)) !== 0) return null; // counted by the general path
    out.addrLen = 4;
    out.srcOff = 12;
    out.tos = bytes[1]!;
    // RFC 9293 §3.1 pseudo-header: src and dst lie together at 12..20, then zero, protocol, TCP length.
    pseudo = verifyTcpChecksum ? onesComplementSum(bytes, 12, 20) + PROTO_TCP + ((end - start) & 0xffff) : 0;
  } else if (version === 6) {
    if (len < IPV6_HEADER_LENGTH || bytes[6] !== PROTO_TCP) return null;
    const payloadLength = (bytes[4]! << 8) | bytes[5]!;
    start = IPV6_HEADER_LENGTH;
    end = IPV6_HEADER_LENGTH + payloadLength;
    if (payloadLength === 0 || end > len) return null;
    out.addrLen = 16;
    out.srcOff = 8;
    out.tos = ((bytes[0]! & 0x0f) << 4) | (bytes[1]! >> 4);
    // RFC 8200 §8.1 pseudo-header: src and dst at 8..40, 32-bit length (16 bits here), next header.
    pseudo = verifyTcpChecksum ? onesComplementSum(bytes, 8, 40) + PROTO_TCP + payloadLength : 0;
  } else return null;
  const seg = decodeHostSegment(bytes, start, end);
  if (seg === null) return null;
  out.tcpChecksumOk = verifyTcpChecksum && finishChecksum(onesComplementSum(bytes, start, end, pseudo)) === 0;
  return seg;
}

/** `lenientOptions`: TCP options parsed as Linux parses them, malformed ones skipped (decodeTcpRange). */
function decode(bytes: Uint8Array, verifyTcpChecksum: boolean, lenientOptions: boolean): DecodedPacket {
  const ip = decodeIp(bytes);
  if (ip.protocol !== PROTO_TCP || ip.fragOffset !== 0) return { ip, tcp: null, tcpChecksumOk: false };
  const start = ip.headerLength;
  const end = start + ip.payload.length;
  const partial = ip.truncated || ip.mf;
  if (partial) {
    // Only what the header says we have; a header cut short is not the peer's fault, so no error.
    const need = end - start >= TCP_HEADER_LENGTH ? (bytes[start + 12]! >> 4) * 4 : TCP_HEADER_LENGTH;
    if (end - start < TCP_HEADER_LENGTH || end - start < need) return { ip, tcp: null, tcpChecksumOk: false };
    return { ip, tcp: decodeTcpRange(bytes, start, end, lenientOptions), tcpChecksumOk: false };
  }
  const tcp = decodeTcpRange(bytes, start, end, lenientOptions);
  if (!verifyTcpChecksum) return { ip, tcp, tcpChecksumOk: false };
  return { ip, tcp, tcpChecksumOk: tcpChecksumRangeOk(bytes, start, end, ip.src, ip.dst) };
}

/**
 * Packet buffers carved from larger blocks: each datagram gets its own bytes (never reused or written again),
 * but a block allocation serves many datagrams. Allocating a typed array costs about as much as encoding
 * a 1500-byte segment; a host sending many segments (Stack's output) takes them from one of these. A view
 * kept by a receiver keeps its whole block alive, so blocks are small and large datagrams get their own.
 */
export class PacketSlab implements PacketMemory {
  // The block as its memory, from which take() makes views (a typed array's `.buffer` read per view was a runtime
  // call each).
  private mem: ArrayBuffer;
  private at = 0;
  constructor(private readonly blockSize = 16384) {
    this.mem = new ArrayBuffer(blockSize);
  }
  /** `n` zeroed bytes no other take() returns; 8-byte aligned, so the TCP header's words are aligned too. */
  take(n: number): Uint8Array {
    if (n > this.blockSize >>> 2) return new Uint8Array(n);
    if (this.at + n > this.blockSize) { this.mem = new ArrayBuffer(this.blockSize); this.at = 0; }
    // A view made by the constructor, not subarray(): ~15 ns against ~32 per call (subarray looks up the species).
    const out = new Uint8Array(this.mem, this.at, n);
    this.at = (this.at + n + 7) & ~7;
    return out;
  }
}

/**
 * Memory for copies of several streams' payloads (a link's typed segments: Network), each stream's bytes in memory
 * of its own: a view's `.buffer` shows that stream's payloads and zeros, never another stream's bytes (one shared
 * block showed every connection a stack sent to to each of their receivers). A stream's consecutive payloads lie
 * one after the other in its blocks, so its receiver may take them as one view (ReceiveBuffer.read). Its first
 * payload gets exactly its length (a request or a response allocates no block it would not fill; up to 64 bytes V8
 * keeps it on its heap); the blocks of a stream that goes on sending double from there up to `blockSize`. Streams are
 * named by a number (a connection's id); the last RUNS of them to start keep their blocks, a new one takes the
 * oldest one's slot (a few transfers interleaved from one stack keep their runs).
 */
export class PayloadRuns {
  private readonly owners: number[] = new Array<number>(RUNS).fill(-1);
  private readonly mems: ArrayBuffer[] = new Array<ArrayBuffer>(RUNS).fill(NO_MEMORY);
  /** Where the next payload goes in the slot's block; its block's size (0: the run has not started). */
  private readonly ats: number[] = new Array<number>(RUNS).fill(0);
  private readonly sizes: number[] = new Array<number>(RUNS).fill(0);
  private last = 0;
  private victim = 0;
  constructor(private readonly blockSize = 65536) {}
  /** `n` (> 0) zeroed bytes for stream `owner`, right after its previous ones when they fit its block. */
  take(owner: number, n: number): Uint8Array {
    let i = this.last;
    if (this.owners[i] !== owner) {
      i = this.owners.indexOf(owner);
      if (i < 0) {
        i = this.victim;
        this.victim = (i + 1) % RUNS;
        this.owners[i] = owner; this.mems[i] = NO_MEMORY; this.ats[i] = 0; this.sizes[i] = 0;
      }
      this.last = i;
    }
    const at = this.ats[i]!, size = this.sizes[i]!;
    if (at + n <= size) { this.ats[i] = at + n; return new Uint8Array(this.mems[i]!, at, n); }
    if (n > this.blockSize >>> 2 || size === 0) {
      // Large, or the first of a run: memory of its own, exactly its length.
      if (size === 0) { this.sizes[i] = n; this.ats[i] = n; }
      return new Uint8Array(n);
    }
    const next = Math.min(this.blockSize, Math.max(2 * size, n));
    const mem = new ArrayBuffer(next);
    this.mems[i] = mem; this.sizes[i] = next; this.ats[i] = n;
    return new Uint8Array(mem, 0, n);
  }

  /** take() starting on an 8-byte boundary (whole datagrams: their TCP header's words aligned, as PacketSlab's). */
  takeAligned(owner: number, n: number): Uint8Array {
    const i = this.owners[this.last] === owner ? this.last : this.owners.indexOf(owner);
    if (i >= 0) this.ats[i] = Math.min(this.sizes[i]!, (this.ats[i]! + 7) & ~7);
    return this.take(owner, n);
  }
}

/** Where an encoder takes a datagram's bytes from (PacketSlab; a connection's PayloadRuns: Stack.linkRuns). */
export interface PacketMemory {
  /** `n` zeroed bytes nothing else is given. */
  take(n: number): Uint8Array;
}

/** Streams PayloadRuns keeps blocks for at once. */
const RUNS = 4;
const NO_MEMORY = /* @__PURE__ */ new ArrayBuffer(0);

/**
 * A whole IPv4 or IPv6 datagram (by address length) carrying `seg`: one allocation, IP and TCP checksums
 * computed once. The IP protocol is always TCP here.
 */
export function encodeTcpPacket(ip: IpHeaderInit, seg: TcpSegment): Uint8Array {
  return encode(ip, seg, 'full', true, undefined);
}

/**
 * encodeTcpPacket (or, with 'pseudo-header', encodeTcpPacketChecksumOffload) into bytes taken from `slab`: a
 * view into a shared block, not a buffer of its own (a host's output path).
 */
export function encodeTcpPacketIn(slab: PacketMemory, ip: IpHeaderInit, seg: TcpSegment, checksum: 'full' | 'pseudo-header'): Uint8Array {
  return encode(ip, seg, checksum, true, slab);
}

/**
 * encodeTcpPacket for a link with checksum offload: the TCP checksum field holds only the pseudo-header sum
 * (over the whole TCP length), which the link's hardware (or the kernel, for a TUN device with IFF_VNET_HDR
 * and VIRTIO_NET_HDR_F_NEEDS_CSUM) completes; the payload is never summed here. The IPv4 header checksum is
 * complete.
 */
export function encodeTcpPacketChecksumOffload(ip: IpHeaderInit, seg: TcpSegment): Uint8Array {
  return encode(ip, seg, 'pseudo-header', true, undefined);
}

/**
 * The IP and TCP headers of the datagram encodeTcpPacket would build, without the payload: for links that
 * gather a packet from parts (writev(2)), so a large payload is never copied in JS. Lengths and checksums cover
 * the payload; the datagram on the wire is these bytes followed by `seg.payload`.
 */
export function encodeTcpPacketHeaders(ip: IpHeaderInit, seg: TcpSegment, checksum: 'full' | 'pseudo-header' = 'full'): Uint8Array {
  return encode(ip, seg, checksum, false, undefined);
}

function encode(ip: IpHeaderInit, seg: TcpSegment, checksum: 'full' | 'pseudo-header', withPayload: boolean, slab: PacketMemory | undefined): Uint8Array {
  const ipLen = ipHeaderLengthFor(ip);
  checkSegmentFields(seg);
  const optLen = optionsLength(seg.options);
  const tcpLen = TCP_HEADER_LENGTH + optLen + (seg.payload ?? EMPTY).length;
  if (tcpLen > 0xffff) {
    throw new WireError('packet', 'too-long', `TCP segment of ${tcpLen} bytes does not fit a 16-bit length`, 0);
  }
  const len = withPayload ? ipLen + tcpLen : ipLen + TCP_HEADER_LENGTH + optLen;
  const out = slab === undefined ? new Uint8Array(len) : slab.take(len);
  encodeIpHeader(ip.protocol === PROTO_TCP || ip.protocol === undefined ? ip : { ...ip, protocol: PROTO_TCP }, tcpLen, out, 0);
  writeTcp(seg, ip.src, ip.dst, out, ipLen, optLen, checksum, withPayload);
  return out;
}
