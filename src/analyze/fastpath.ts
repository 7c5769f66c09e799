/**
 * The analyzer's per-packet fast path: the fields it needs from an ordinary TCP packet (Ethernet with or
 * without VLAN tags, or raw IP; an unfragmented, uncut IPv4 or IPv6 datagram without extension headers),
 * read straight from the capture buffer into one reused object — no IP/TCP objects, address or payload
 * views, or option records per packet. Anything else (other link types, fragments, snaplen-cut datagrams,
 * extension headers, tunnels, non-TCP, any malformation) returns false and goes through the full decoder
 * (src/wire/packet.ts), so both paths give the same result: the checks here are the decoder's, and a
 * packet that would fail one of them is always left to the decoder to report.
 */
import { onesComplementSum } from '../wire/checksum.js';

/** One TCP packet's fields, as the analyzer uses them (filled by `parseFast` or from a full decode). */
export class PacketFields {
  /** Buffers and offsets of the source and destination addresses (4 or 16 bytes). */
  srcBuf: Uint8Array = EMPTY;
  srcOff = 0;
  dstBuf: Uint8Array = EMPTY;
  dstOff = 0;
  addrLen = 4;
  version = 4;
  ipTotalLength = 0;
  ipChecksumOk = true;
  /** More-fragments set (a first fragment: the TCP header is there, the payload incomplete). */
  mf = false;
  /** Whether the TCP checksum could be verified (whole datagram captured, not a fragment), and its result. */
  verifiable = false;
  tcpChecksumOk = false;
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  /** Window scale option value, -1 when absent. */
  wscale = -1;
  /** TCP payload length from the IP header (snaplen-independent); negative when the headers do not fit it. */
  len = 0;
  /** Payload bytes actually captured. */
  caplen = 0;
  /** Where the captured payload starts (for service detection: only its first bytes are read). */
  payBuf: Uint8Array = EMPTY;
  payOff = 0;
}

const EMPTY = new Uint8Array(0);

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_IPV4 = 228;
const LINKTYPE_IPV6 = 229;

/**
 * Whether the TCP options in b[start..end) are all well-formed by decodeTcpRange's rules (a malformed list
 * is left to the decoder, which reports it); sets `out.wscale`.
 */
function scanOptions(b: Uint8Array, start: number, end: number, out: PacketFields): boolean {
  let i = start;
  while (i < end) {
    const kind = b[i]!;
    if (kind === 0) break;
    if (kind === 1) { i++; continue; }
    if (i + 1 >= end) return false;
    const len = b[i + 1]!;
    if (len < 2 || i + len > end) return false;
    switch (kind) {
      case 2: if (len !== 4) return false; break;
      case 3: if (len !== 3) return false; out.wscale = b[i + 2]!; break;
      case 4: if (len !== 2) return false; break;
      case 5: if (len < 10 || (len - 2) % 8 !== 0) return false; break;
      case 8: if (len !== 10) return false; break;
      default: break;
    }
    i += len;
  }
  return true;
}

let wordsOf: ArrayBufferLike | null = null;
let words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

/**
 * onesComplementSum(b, start, end) read four bytes at a time through a Uint32Array over b's buffer (cached
 * per buffer: the capture reader reuses one). The sum of little-endian words is the byte-swapped sum of
 * the big-endian ones (RFC 1071 §2(B): byte order independence), so the aligned middle is summed that way
 * and swapped back. Returns a value folded below 2^17, like onesComplementSum.
 */
function sumWide(b: Uint8Array, start: number, end: number, initial: number): number {
  const abs = b.byteOffset + start;
  // Short ranges, and odd starts (the 16-bit pairing would shift), take the byte loop.
  if (end - start < 64 || (abs & 1) !== 0) return onesComplementSum(b, start, end, initial);
  let sum = initial;
  let i = start;
  if ((abs & 2) !== 0) {
    sum += (b[i]! << 8) | b[i + 1]!;
    i += 2;
  }
  const buf = b.buffer;
  if (wordsOf !== buf) {
    words = new Uint32Array(buf, 0, buf.byteLength >>> 2);
    wordsOf = buf;
  }
  const w0 = (b.byteOffset + i) >>> 2;
  const w1 = (b.byteOffset + end) >>> 2;
  // Each word's halves are added separately so the accumulator stays a small integer (≤ 2^17 per word).
  let le = 0;
  for (let k = w0; k < w1; k++) {
    const w = words[k]!;
    le += (w >>> 16) + (w & 0xffff);
  }
  while (le > 0xffff) le = (le & 0xffff) + Math.floor(le / 0x10000);
  sum += ((le & 0xff) << 8) | (le >>> 8);
  i = (w1 << 2) - b.byteOffset;
  return onesComplementSum(b, i, end, sum % 0x10000 + Math.floor(sum / 0x10000));
}

/** Ones' complement sum of the TCP pseudo-header (RFC 9293 §3.1) read from the datagram's address bytes. */
function pseudoSum(b: Uint8Array, src: number, dst: number, alen: number, tcpLen: number): number {
  let sum = 6 + tcpLen; // protocol + TCP length (below 2^16: the datagram length field bounds it)
  for (let i = 0; i < alen; i += 2) sum += ((b[src + i]! << 8) | b[src + i + 1]!) + ((b[dst + i]! << 8) | b[dst + i + 1]!);
  return sum;
}

/**
 * Fills `out` from an ordinary TCP packet and returns true; returns false for anything the full decoder
 * must handle. `verify`: compute the TCP checksum.
 */
export function parseFast(linkType: number, f: Uint8Array, out: PacketFields, verify: boolean): boolean {
  return parseFastAt(linkType, f, 0, f.length, out, verify);
}

/** parseFast of the packet in f[start, lim) (read in place from the capture buffer). */
export function parseFastAt(linkType: number, f: Uint8Array, start: number, lim: number, out: PacketFields, verify: boolean): boolean {
  let o: number;
  if (linkType === LINKTYPE_ETHERNET) {
    if (lim - start < 14) return false;
    let type = (f[start + 12]! << 8) | f[start + 13]!;
    o = start + 14;
    while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
      if (lim < o + 4) return false;
      type = (f[o + 2]! << 8) | f[o + 3]!;
      o += 4;
    }
    if (type !== 0x0800 && type !== 0x86dd) return false;
  } else if (linkType === LINKTYPE_RAW || linkType === LINKTYPE_IPV4 || linkType === LINKTYPE_IPV6) {
    o = start;
  } else {
    return false;
  }
  if (lim - o < 1) return false;
  const v = f[o]! >> 4;
  let ihl: number;
  let total: number;
  if (v === 4) {
    if (lim - o < 20) return false;
    ihl = (f[o]! & 0x0f) * 4;
    if (ihl < 20 || lim - o < ihl) return false;
    total = (f[o + 2]! << 8) | f[o + 3]!;
    // A zero (TSO) or short total length, a cut datagram, a fragment, not TCP: the decoder's cases.
    if (total < ihl + 20 || lim - o < total) return false;
    if (((f[o + 6]! << 8) | f[o + 7]!) & 0x3fff) return false;
    if (f[o + 9] !== 6) return false;
    out.version = 4;
    out.addrLen = 4;
    out.srcOff = o + 12;
    out.dstOff = o + 16;
    // IPv4 header checksum (RFC 791): the sum over the header, checksum included, is 0xffff.
    // The usual 20-byte header summed without a loop; options (ihl > 20) word by word after it.
    let s = ((f[o]! << 8) | f[o + 1]!) + ((f[o + 2]! << 8) | f[o + 3]!) + ((f[o + 4]! << 8) | f[o + 5]!)
      + ((f[o + 6]! << 8) | f[o + 7]!) + ((f[o + 8]! << 8) | f[o + 9]!) + ((f[o + 10]! << 8) | f[o + 11]!)
      + ((f[o + 12]! << 8) | f[o + 13]!) + ((f[o + 14]! << 8) | f[o + 15]!) + ((f[o + 16]! << 8) | f[o + 17]!)
      + ((f[o + 18]! << 8) | f[o + 19]!);
    for (let i = o + 20; i < o + ihl; i += 2) s += (f[i]! << 8) | f[i + 1]!;
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    out.ipChecksumOk = s === 0xffff;
  } else if (v === 6) {
    if (lim - o < 40) return false;
    const plen = (f[o + 4]! << 8) | f[o + 5]!;
    // Extension headers, jumbograms, cut datagrams and non-TCP go to the decoder.
    if (f[o + 6] !== 6 || plen < 20 || lim - o < 40 + plen) return false;
    ihl = 40;
    total = 40 + plen;
    out.version = 6;
    out.addrLen = 16;
    out.srcOff = o + 8;
    out.dstOff = o + 24;
    out.ipChecksumOk = true;
  } else {
    return false;
  }
  const t = o + ihl;
  const end = o + total;
  const doff = (f[t + 12]! >> 4) * 4;
  if (doff < 20 || t + doff > end) return false;
  out.wscale = -1;
  if (doff > 20 && !scanOptions(f, t + 20, t + doff, out)) return false;
  out.srcBuf = f;
  out.dstBuf = f;
  out.ipTotalLength = total;
  out.mf = false;
  out.srcPort = (f[t]! << 8) | f[t + 1]!;
  out.dstPort = (f[t + 2]! << 8) | f[t + 3]!;
  out.seq = ((f[t + 4]! << 24) | (f[t + 5]! << 16) | (f[t + 6]! << 8) | f[t + 7]!) >>> 0;
  out.ack = ((f[t + 8]! << 24) | (f[t + 9]! << 16) | (f[t + 10]! << 8) | f[t + 11]!) >>> 0;
  out.flags = ((f[t + 12]! & 1) << 8) | f[t + 13]!;
  out.window = (f[t + 14]! << 8) | f[t + 15]!;
  out.len = end - t - doff;
  out.caplen = out.len;
  out.payBuf = f;
  out.payOff = t + doff;
  out.verifiable = true;
  if (verify) {
    const sum = sumWide(f, t, end, pseudoSum(f, out.srcOff, out.dstOff, out.addrLen, end - t));
    out.tcpChecksumOk = (sum & 0xffff) + (sum >>> 16) === 0xffff;
  } else {
    out.tcpChecksumOk = true;
  }
  return true;
}
