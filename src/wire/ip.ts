/**
 * IPv4 (RFC 791) and IPv6 (RFC 8200) header codecs.
 * Decoders never trust a length field: every read is bounds-checked first, and problems surface as WireError
 * with the byte offset relative to the buffer passed in. A truncation error's offset is the first missing byte.
 */
import { WireError } from './errors.js';
import { onesComplementSum, finishChecksum } from './checksum.js';
import { EMPTY } from './tcp-types.js';

/** An IPv6 extension header decodeIp walked past (RFC 8200 §4). */
export interface IpExtHeader {
  /** Extension header type (the Next Header value that announced it). */
  type: number;
  /** Byte offset of the header from the start of the IPv6 packet. */
  offset: number;
  /** Its length in bytes. */
  length: number;
}

/** A decoded IPv4 (RFC 791) or IPv6 (RFC 8200) header and a view of its payload (decodeIp). */
export interface IpPacket {
  /** IP version. */
  version: 4 | 6;
  /** Source address, 4 or 16 bytes. */
  src: Uint8Array;
  /** Destination address, 4 or 16 bytes. */
  dst: Uint8Array;
  /** Upper-layer protocol; for IPv6 the Next Header after walking the extension headers. */
  protocol: number;
  /** TTL; hop limit for IPv6. */
  ttl: number;
  /** Type of service (DSCP+ECN); traffic class for IPv6. */
  tos: number;
  /** Total length from the header (IPv6: 40 + payload length). */
  totalLength: number;
  /** Bytes up to the upper-layer payload, incl. IPv4 options / IPv6 extension headers. */
  headerLength: number;
  /** IPv4 identification; for IPv6 the fragment header's identification (0 without one). */
  id: number;
  /** Don't Fragment (IPv4); false for IPv6. */
  df: boolean;
  /** More Fragments. */
  mf: boolean;
  /** Fragment offset in bytes. */
  fragOffset: number;
  /** IPv4 options, raw (RFC 791 §3.1); empty for IPv6. */
  ipOptions: Uint8Array;
  /** IPv4 header checksum field as on the wire; 0 for IPv6. */
  checksum: number;
  /** IPv4 header checksum verified; always true for IPv6 (which has none). */
  checksumOk: boolean;
  /** IPv6 flow label (20 bits); 0 for IPv4. */
  flowLabel: number;
  /** IPv6 extension headers walked, in order; empty for IPv4. */
  extHeaders: IpExtHeader[];
  /** View of the upper-layer bytes, clipped to totalLength and to what the buffer holds. */
  payload: Uint8Array;
  /** The buffer is shorter than totalLength (e.g. a capture snaplen). */
  truncated: boolean;
}

/** The extHeaders of a datagram without any (every IPv4 one): shared, frozen, so decoding allocates no list. */
const NO_EXT_HEADERS: IpExtHeader[] = Object.freeze([]) as unknown as IpExtHeader[];

export const IPV4_HEADER_LENGTH = 20;
export const IPV6_HEADER_LENGTH = 40;
export const PROTO_TCP = 6;

// IPv6 extension headers walked to reach the upper layer (RFC 8200 §4; AH RFC 4302).
export const EXT_HOP_BY_HOP = 0;
export const EXT_ROUTING = 43;
export const EXT_FRAGMENT = 44;
export const EXT_AH = 51;
export const EXT_DEST_OPTIONS = 60;

function ensureBytes(bytes: unknown, layer: 'ipv4' | 'ipv6' | 'packet'): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new WireError(layer, 'bad-input', 'expected a Uint8Array', 0);
}

/** Decodes by the version nibble. */
export function decodeIp(bytes: Uint8Array): IpPacket {
  ensureBytes(bytes, 'packet');
  if (bytes.length < 1) throw new WireError('packet', 'truncated', 'empty buffer, no IP version', 0);
  const version = bytes[0]! >> 4;
  if (version === 4) return decodeIpv4(bytes);
  if (version === 6) return decodeIpv6(bytes);
  throw new WireError('packet', 'bad-version', `IP version ${version} is neither 4 nor 6`, 0);
}

export function decodeIpv4(bytes: Uint8Array): IpPacket {
  ensureBytes(bytes, 'ipv4');
  const len = bytes.length;
  if (len < IPV4_HEADER_LENGTH) {
    throw new WireError('ipv4', 'truncated', `header needs 20 bytes, buffer has ${len}`, len);
  }
  const b0 = bytes[0]!;
  if (b0 >> 4 !== 4) throw new WireError('ipv4', 'bad-version', `version ${b0 >> 4}, expected 4`, 0);
  const headerLength = (b0 & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_LENGTH) {
    throw new WireError('ipv4', 'bad-header-length', `IHL ${headerLength / 4} is below the minimum 5`, 0);
  }
  if (len < headerLength) {
    throw new WireError('ipv4', 'truncated', `header with options needs ${headerLength} bytes, buffer has ${len}`, len);
  }
  let totalLength = (bytes[2]! << 8) | bytes[3]!;
  // A zero total length is what captures of TSO/BIG TCP super-packets show (Wireshark: "0 (likely TSO)"):
  // take the datagram to extend to the end of the buffer.
  if (totalLength === 0) totalLength = len;
  else if (totalLength < headerLength) {
    throw new WireError('ipv4', 'bad-total-length', `total length ${totalLength} is less than the header length ${headerLength}`, 2);
  }
  const fragField = (bytes[6]! << 8) | bytes[7]!;
  const checksum = (bytes[10]! << 8) | bytes[11]!;
  const truncated = len < totalLength;
  const end = truncated ? len : totalLength;
  return {
    version: 4,
    src: bytes.subarray(12, 16),
    dst: bytes.subarray(16, 20),
    protocol: bytes[9]!,
    ttl: bytes[8]!,
    tos: bytes[1]!,
    totalLength,
    headerLength,
    id: (bytes[4]! << 8) | bytes[5]!,
    // Flags (RFC 791 §3.1): bit 0 reserved, bit 1 DF, bit 2 MF; offset in 8-byte units.
    df: (fragField & 0x4000) !== 0,
    mf: (fragField & 0x2000) !== 0,
    fragOffset: (fragField & 0x1fff) * 8,
    ipOptions: headerLength > IPV4_HEADER_LENGTH ? bytes.subarray(IPV4_HEADER_LENGTH, headerLength) : EMPTY,
    checksum,
    checksumOk: finishChecksum(onesComplementSum(bytes, 0, headerLength)) === 0,
    flowLabel: 0,
    extHeaders: NO_EXT_HEADERS,
    payload: bytes.subarray(headerLength, end),
    truncated,
  };
}

export function decodeIpv6(bytes: Uint8Array): IpPacket {
  ensureBytes(bytes, 'ipv6');
  const len = bytes.length;
  if (len < IPV6_HEADER_LENGTH) {
    throw new WireError('ipv6', 'truncated', `header needs 40 bytes, buffer has ${len}`, len);
  }
  const b0 = bytes[0]!;
  if (b0 >> 4 !== 6) throw new WireError('ipv6', 'bad-version', `version ${b0 >> 4}, expected 6`, 0);
  const b1 = bytes[1]!;
  const tos = ((b0 & 0x0f) << 4) | (b1 >> 4);
  const flowLabel = ((b1 & 0x0f) << 16) | (bytes[2]! << 8) | bytes[3]!;
  const payloadLength = (bytes[4]! << 8) | bytes[5]!;
  let nextHeader = bytes[6]!;
  // Zero payload length with something following: a jumbogram (RFC 2675) or a BIG TCP capture; like IPv4's
  // zero total length, take the datagram to run to the end of the buffer. (59 = No Next Header is really empty.)
  const totalLength = payloadLength === 0 && nextHeader !== 59 ? len : IPV6_HEADER_LENGTH + payloadLength;
  const truncated = len < totalLength;
  const end = truncated ? len : totalLength;

  let extHeaders = NO_EXT_HEADERS;
  let off = IPV6_HEADER_LENGTH;
  let id = 0;
  let mf = false;
  let fragOffset = 0;
  // Walk extension headers (RFC 8200 §4.1). Each is ≥ 8 bytes, so the loop is bounded by the buffer length.
  for (;;) {
    const type = nextHeader;
    if (type !== EXT_HOP_BY_HOP && type !== EXT_ROUTING && type !== EXT_FRAGMENT && type !== EXT_DEST_OPTIONS && type !== EXT_AH) break;
    if (off + 2 > end) {
      if (off + 2 <= totalLength) throw new WireError('ipv6', 'truncated', `extension header ${type} is cut off by the ${len}-byte buffer`, len);
      throw new WireError('ipv6', 'bad-ext-header', `extension header ${type} does not fit the payload length`, off);
    }
    let hlen: number;
    if (type === EXT_FRAGMENT) hlen = 8;
    else if (type === EXT_AH) hlen = (bytes[off + 1]! + 2) * 4; // RFC 4302 §2.2: 32-bit words minus 2
    else hlen = (bytes[off + 1]! + 1) * 8; // RFC 8200 §4.3: 8-octet units not counting the first 8
    if (off + hlen > end) {
      if (off + hlen <= totalLength) {
        throw new WireError('ipv6', 'truncated', `extension header ${type} of ${hlen} bytes is cut off by the ${len}-byte buffer`, len);
      }
      throw new WireError('ipv6', 'bad-ext-header', `extension header ${type} of ${hlen} bytes overruns the payload length`, off);
    }
    if (extHeaders === NO_EXT_HEADERS) extHeaders = [];
    extHeaders.push({ type, offset: off, length: hlen });
    nextHeader = bytes[off]!;
    if (type === EXT_FRAGMENT) {
      // RFC 8200 §4.5: offset (13 bits, 8-octet units) in the top of the word, M flag in bit 0.
      const w = (bytes[off + 2]! << 8) | bytes[off + 3]!;
      fragOffset = w & 0xfff8;
      mf = (w & 1) !== 0;
      id = ((bytes[off + 4]! << 24) | (bytes[off + 5]! << 16) | (bytes[off + 6]! << 8) | bytes[off + 7]!) >>> 0;
      off += hlen;
      // In a non-first fragment, what follows is the middle of the fragmentable part, not more headers.
      if (fragOffset !== 0) break;
      continue;
    }
    off += hlen;
  }

  return {
    version: 6,
    src: bytes.subarray(8, 24),
    dst: bytes.subarray(24, 40),
    protocol: nextHeader,
    ttl: bytes[7]!,
    tos,
    totalLength,
    headerLength: off,
    id,
    df: false,
    mf,
    fragOffset,
    ipOptions: EMPTY,
    checksum: 0,
    checksumOk: true,
    flowLabel,
    extHeaders,
    payload: bytes.subarray(off, end),
    truncated,
  };
}

/** The fields of an IP header to encode (encodeIpHeader): the version follows the addresses' length. */
export interface IpHeaderInit {
  /** Source address: 4 bytes (IPv4) or 16 (IPv6), the same as dst. */
  src: Uint8Array;
  /** Destination address. */
  dst: Uint8Array;
  /** Default 6 (TCP). */
  protocol?: number;
  /** Default 64. */
  ttl?: number;
  /** DSCP+ECN (IPv4 TOS, IPv6 traffic class). Default 0. */
  tos?: number;
  /** IPv4 identification. Default 0. */
  id?: number;
  /** Default true (RFC 1191 path MTU discovery, as Linux sends). */
  df?: boolean;
  /** IPv6 flow label. Default 0. */
  flowLabel?: number;
}

/** Throws unless src and dst are both 4 or both 16 bytes; returns the header length they imply. */
export function ipHeaderLengthFor(init: IpHeaderInit): number {
  const s = init.src;
  const d = init.dst;
  if (!(s instanceof Uint8Array) || !(d instanceof Uint8Array) || s.length !== d.length || (s.length !== 4 && s.length !== 16)) {
    throw new WireError('address', 'bad-length', 'src and dst must both be 4-byte IPv4 or both 16-byte IPv6 addresses', 0);
  }
  return s.length === 4 ? IPV4_HEADER_LENGTH : IPV6_HEADER_LENGTH;
}

/** Header fields must fit their bits: refuse rather than silently truncate. */
function checkField(layer: 'ipv4' | 'ipv6', name: string, v: number, max: number): void {
  if (!(v >= 0 && v <= max && v === Math.floor(v))) {
    throw new WireError(layer, 'bad-field', `${name} ${String(v)} is not an integer in 0..${max}`, 0);
  }
}

/**
 * Writes an IPv4 header (20 bytes, no options, checksum filled) or an IPv6 header (40 bytes, no extension
 * headers), chosen by the address length, for `payloadLength` bytes of upper-layer data. Returns the header length.
 */
export function encodeIpHeader(init: IpHeaderInit, payloadLength: number, out: Uint8Array, offset: number): number {
  const hlen = ipHeaderLengthFor(init);
  const layer = hlen === IPV4_HEADER_LENGTH ? 'ipv4' : 'ipv6';
  if (!(offset >= 0) || offset + hlen > out.length) {
    throw new WireError(layer, 'buffer-too-small', `need ${hlen} bytes at offset ${offset}, buffer has ${out.length}`, offset);
  }
  const protocol = init.protocol ?? PROTO_TCP;
  const ttl = init.ttl ?? 64;
  const tos = init.tos ?? 0;
  checkField(layer, 'protocol', protocol, 0xff);
  checkField(layer, 'ttl', ttl, 0xff);
  checkField(layer, 'tos', tos, 0xff);
  const o = offset;
  if (hlen === IPV4_HEADER_LENGTH) {
    const total = IPV4_HEADER_LENGTH + payloadLength;
    if (!(payloadLength >= 0) || total > 0xffff) {
      throw new WireError('ipv4', 'too-long', `total length ${total} does not fit 16 bits`, offset + 2);
    }
    const id = init.id ?? 0;
    checkField('ipv4', 'id', id, 0xffff);
    out[o] = 0x45;
    out[o + 1] = tos;
    out[o + 2] = total >> 8;
    out[o + 3] = total;
    out[o + 4] = id >> 8;
    out[o + 5] = id;
    out[o + 6] = (init.df ?? true) ? 0x40 : 0;
    out[o + 7] = 0;
    out[o + 8] = ttl;
    out[o + 9] = protocol;
    out[o + 10] = 0;
    out[o + 11] = 0;
    out.set(init.src, o + 12);
    out.set(init.dst, o + 16);
    const ck = finishChecksum(onesComplementSum(out, o, o + IPV4_HEADER_LENGTH));
    out[o + 10] = ck >> 8;
    out[o + 11] = ck;
    return IPV4_HEADER_LENGTH;
  }
  if (!(payloadLength >= 0) || payloadLength > 0xffff) {
    throw new WireError('ipv6', 'too-long', `payload length ${payloadLength} does not fit 16 bits`, offset + 4);
  }
  const flow = init.flowLabel ?? 0;
  checkField('ipv6', 'flowLabel', flow, 0xfffff);
  out[o] = 0x60 | ((tos >> 4) & 0x0f);
  out[o + 1] = ((tos & 0x0f) << 4) | ((flow >> 16) & 0x0f);
  out[o + 2] = flow >> 8;
  out[o + 3] = flow;
  out[o + 4] = payloadLength >> 8;
  out[o + 5] = payloadLength;
  out[o + 6] = protocol;
  out[o + 7] = ttl;
  out.set(init.src, o + 8);
  out.set(init.dst, o + 24);
  return IPV6_HEADER_LENGTH;
}
