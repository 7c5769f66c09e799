/**
 * ICMP (RFC 792, RFC 1191 for the next-hop MTU) and ICMPv6 (RFC 4443, RFC 8201) codecs: what a host needs to
 * answer echo requests, send errors, and read the errors routers send about its TCP segments. Pure.
 */
import { WireError } from './errors.js';
import { finishChecksum, onesComplementSum, pseudoHeaderSum } from './checksum.js';
import { decodeIp, encodeIpHeader, IPV4_HEADER_LENGTH, IPV6_HEADER_LENGTH, PROTO_TCP } from './ip.js';

export const PROTO_ICMP = 1;
export const PROTO_ICMPV6 = 58;

// ICMPv4 types and codes (RFC 792, RFC 1122, RFC 1812 §5.2.7.1).
export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROBLEM = 12;
export const ICMP_NET_UNREACH = 0;
export const ICMP_HOST_UNREACH = 1;
export const ICMP_PROT_UNREACH = 2;
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
/** Time exceeded code 1: fragment reassembly time exceeded. */
export const ICMP_EXC_FRAGTIME = 1;

// ICMPv6 types and codes (RFC 4443).
export const ICMPV6_DEST_UNREACH = 1;
export const ICMPV6_PKT_TOOBIG = 2;
export const ICMPV6_TIME_EXCEED = 3;
export const ICMPV6_PARAMPROB = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMPV6_NOROUTE = 0;
export const ICMPV6_ADM_PROHIBITED = 1;
export const ICMPV6_ADDR_UNREACH = 3;
export const ICMPV6_PORT_UNREACH = 4;
/** Parameter problem codes (RFC 4443 §3.4): erroneous header field, unrecognized next header. */
export const ICMPV6_HDR_FIELD = 0;
export const ICMPV6_UNK_NEXTHDR = 1;
/** Parameter problem code 3: the first fragment has an incomplete header chain (RFC 7112). */
export const ICMPV6_HDR_INCOMPLETE = 3;
/** Time exceeded code 1: fragment reassembly time exceeded. */
export const ICMPV6_EXC_FRAGTIME = 1;

/** IPv6's minimum link MTU (RFC 8200 §5): every link carries it, so errors quote up to this much. */
export const IPV6_MIN_MTU = 1280;
/** RFC 1812 §4.3.2.3: an ICMPv4 error quotes as much as keeps the error within 576 bytes. */
export const ICMP_ERROR_MAX = 576;

export interface IcmpMessage {
  version: 4 | 6;
  type: number;
  code: number;
  checksumOk: boolean;
  /** The four bytes after the checksum (RFC 792 "rest of header"), big-endian. */
  rest: number;
  /** What follows the 8-byte header: an echo's data, or the datagram an error quotes. */
  body: Uint8Array;
}

/**
 * Decodes an ICMP (version 4) or ICMPv6 (version 6) message from an IP payload. `src`/`dst` are the IP
 * addresses (ICMPv6's checksum covers a pseudo-header; RFC 4443 §2.3).
 */
export function decodeIcmp(payload: Uint8Array, version: 4 | 6, src: Uint8Array, dst: Uint8Array): IcmpMessage {
  if (payload.length < 8) throw new WireError('packet', 'truncated', `ICMP message needs 8 bytes, has ${payload.length}`, payload.length);
  let sum = onesComplementSum(payload, 0, payload.length);
  if (version === 6) sum += pseudoHeaderSum(src, dst, PROTO_ICMPV6, payload.length);
  return {
    version,
    type: payload[0]!,
    code: payload[1]!,
    checksumOk: finishChecksum(sum) === 0,
    rest: ((payload[4]! << 24) | (payload[5]! << 16) | (payload[6]! << 8) | payload[7]!) >>> 0,
    body: payload.subarray(8),
  };
}

/** Whether an ICMP type is an error (as opposed to an informational message such as echo). */
export function isIcmpError(version: 4 | 6, type: number): boolean {
  if (version === 6) return type < 128; // RFC 4443 §2.1
  return type === ICMP_DEST_UNREACH || type === ICMP_SOURCE_QUENCH || type === ICMP_REDIRECT || type === ICMP_TIME_EXCEEDED || type === ICMP_PARAMETER_PROBLEM;
}

/** The transport header quoted by an ICMP error: whose connection it is about (RFC 5927 §4.1 needs the ports and the sequence number). */
export interface QuotedTcp {
  /** The quoted datagram's source: one of our addresses, when it was ours. */
  src: Uint8Array;
  dst: Uint8Array;
  srcPort: number;
  dstPort: number;
  seq: number;
}

/**
 * The TCP ports and sequence number an ICMP error quotes (RFC 792: the IP header and at least 8 bytes of
 * data), or null when the quote is not of a (first-fragment) TCP segment or too short.
 */
export function quotedTcp(body: Uint8Array): QuotedTcp | null {
  let ip;
  try { ip = decodeIp(body); } catch { return null; }
  if (ip.protocol !== PROTO_TCP || ip.fragOffset !== 0) return null;
  const t = ip.payload;
  if (t.length < 8) return null;
  return {
    src: ip.src, dst: ip.dst,
    srcPort: (t[0]! << 8) | t[1]!, dstPort: (t[2]! << 8) | t[3]!,
    seq: ((t[4]! << 24) | (t[5]! << 16) | (t[6]! << 8) | t[7]!) >>> 0,
  };
}

export interface IcmpInit {
  src: Uint8Array;
  dst: Uint8Array;
  type: number;
  code: number;
  /** The 4 bytes after the checksum (identifier + sequence, the MTU, the pointer ...). */
  rest?: number;
  body?: Uint8Array;
  ttl?: number;
  /** IPv4 TOS / IPv6 traffic class (default 0). */
  tos?: number;
}

/** A whole IPv4+ICMP or IPv6+ICMPv6 datagram (by address length), checksums filled. ICMPv4 leaves DF clear. */
export function encodeIcmp(init: IcmpInit): Uint8Array {
  const v6 = init.src.length === 16;
  const hl = v6 ? IPV6_HEADER_LENGTH : IPV4_HEADER_LENGTH;
  const body = init.body ?? new Uint8Array(0);
  const len = 8 + body.length;
  const out = new Uint8Array(hl + len);
  encodeIpHeader({ src: init.src, dst: init.dst, protocol: v6 ? PROTO_ICMPV6 : PROTO_ICMP, ttl: init.ttl ?? 64, tos: init.tos ?? 0, df: false }, len, out, 0);
  const o = hl;
  const rest = init.rest ?? 0;
  out[o] = init.type; out[o + 1] = init.code;
  out[o + 4] = rest >>> 24; out[o + 5] = rest >>> 16; out[o + 6] = rest >>> 8; out[o + 7] = rest;
  out.set(body, o + 8);
  let sum = onesComplementSum(out, o, o + len);
  if (v6) sum += pseudoHeaderSum(init.src, init.dst, PROTO_ICMPV6, len);
  const ck = finishChecksum(sum);
  out[o + 2] = ck >> 8; out[o + 3] = ck;
  return out;
}

/**
 * An ICMP error about `offending` (a whole datagram we received), from `src` to its source: quoting as much
 * of it as RFC 1812 §4.3.2.3 (576 bytes in all) or RFC 4443 §2.4(c) (the IPv6 minimum MTU) allows.
 */
export function encodeIcmpError(src: Uint8Array, offending: Uint8Array, type: number, code: number, rest = 0, ttl = 64, tos = 0): Uint8Array {
  const ip = decodeIp(offending);
  const v6 = ip.version === 6;
  const max = (v6 ? IPV6_MIN_MTU : ICMP_ERROR_MAX) - (v6 ? IPV6_HEADER_LENGTH : IPV4_HEADER_LENGTH) - 8;
  const end = Math.min(offending.length, ip.totalLength, max);
  return encodeIcmp({ src, dst: ip.src, type, code, rest, body: offending.subarray(0, end), ttl, tos });
}
