/**
 * TCP header and option codec (RFC 9293 §3.1, §3.2; MSS RFC 9293 §3.7.1, window scale and timestamps
 * RFC 7323, SACK RFC 2018, ECN bits RFC 3168, AE: the AccECN bit, formerly NS of RFC 3540).
 * Hot path: straight-line byte reads, no DataView, no closures; decode allocates the segment, its options
 * object (plus the arrays holding option order/SACK blocks/unknown options, each at its size) and the payload view;
 * a host's input (decodeHostSegment) shares frozen objects for no options and the common option layouts.
 */
import { WireError } from './errors.js';
import { onesComplementSum, finishChecksum, pseudoHeaderSum } from './checksum.js';
import {
  EMPTY, OPT_EOL, OPT_NOP, OPT_MSS, OPT_WSCALE, OPT_SACK_PERMITTED, OPT_SACK, OPT_TIMESTAMPS,
  OPT_FASTOPEN, OPT_EXPERIMENTAL, TFO_EXP_MAGIC, type TcpOptions, type TcpSegment, type UnknownOption,
} from './tcp-types.js';

export const TCP_HEADER_LENGTH = 20;
/** Options fit in data offset 15 → 60 bytes of header (RFC 9293 §3.1). */
export const TCP_MAX_OPTIONS_LENGTH = 40;

/** A decoded TCP header (decodeTcp): the segment plus the header fields it does not carry. */
export interface DecodedTcp {
  /** The segment: ports, numbers, flags, window, options, a view of the payload. */
  seg: TcpSegment;
  /** Header length in bytes (data offset × 4). */
  dataOffset: number;
  /** Checksum field as on the wire. */
  checksum: number;
  /** The three reserved bits (RFC 9293 §3.1), right-aligned. */
  reserved: number;
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function w32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}

/** Throws the WireError for a malformed option starting at `at`. */
function optionBad(code: string, message: string, at: number): never {
  throw new WireError('tcp-option', code, message, at);
}

/**
 * Parses options in b[start..end); offsets in errors are relative to b. `lenient`: parse as Linux's
 * tcp_parse_options does instead of throwing: a length byte that is missing, below 2 or runs past the header
 * ends the list (what came before is kept); a known option of the wrong length, or an MSS of 0, is skipped.
 * A host must not refuse a segment for its options (RFC 9293 §3.1: unknown options are ignored; RFC 1122
 * §4.2.2.5 be robust to illegal option lengths).
 */
function decodeOptions(b: Uint8Array, start: number, end: number, lenient: boolean, shared: boolean): TcpOptions {
  if (start >= end) return shared ? NO_OPTIONS : {};
  // The host path's most common list, NOP NOP TS alone (RFC 7323 Appendix A layout): one object of its final
  // shape, built at once, with the shared order list.
  if (shared && end - start === 12 && b[start] === OPT_NOP && b[start + 1] === OPT_NOP && b[start + 2] === OPT_TIMESTAMPS && b[start + 3] === 10) {
    return { order: COMMON_ORDERS[0] as number[], tsVal: u32(b, start + 4), tsEcr: u32(b, start + 8) };
  }
  const opts: TcpOptions = {};
  // Kinds are gathered in a scratch list and copied once, at their count: an array grown by push reserves 17
  // slots on the first, the largest allocation of decoding a segment.
  const order = orderScratch;
  order.length = 0;
  opts.order = order; // set first, as before: key order shows in JSON
  let i = start;
  while (i < end) {
    const kind = b[i]!;
    if (kind === OPT_EOL) {
      // RFC 9293 §3.2: end of the option list; what follows up to the data offset is padding.
      order.push(OPT_EOL);
      break;
    }
    if (kind === OPT_NOP) {
      order.push(OPT_NOP);
      i++;
      continue;
    }
    if (i + 1 >= end) { if (lenient) break; optionBad('truncated', `option kind ${kind} has no length byte`, i); }
    const len = b[i + 1]!;
    if (len < 2) { if (lenient) break; optionBad('bad-length', `option kind ${kind} has length ${len} (< 2)`, i); }
    if (i + len > end) { if (lenient) break; optionBad('overrun', `option kind ${kind} of length ${len} runs past the header end at ${end}`, i); }
    if (lenient && !wellFormed(kind, len, b, i)) { i += len; continue; }
    // Known kinds have lengths fixed by their RFCs; any other length byte is malformed.
    switch (kind) {
      case OPT_MSS:
        if (len !== 4) optionBad('bad-length', `MSS option length ${len}, expected 4`, i);
        opts.mss = (b[i + 2]! << 8) | b[i + 3]!;
        break;
      case OPT_WSCALE:
        if (len !== 3) optionBad('bad-length', `window scale option length ${len}, expected 3`, i);
        opts.wscale = b[i + 2]!;
        break;
      case OPT_SACK_PERMITTED:
        if (len !== 2) optionBad('bad-length', `SACK-permitted option length ${len}, expected 2`, i);
        opts.sackPermitted = true;
        break;
      case OPT_SACK: {
        if (len < 10 || (len - 2) % 8 !== 0) optionBad('bad-length', `SACK option length ${len}, expected 2 + 8n with n ≥ 1`, i);
        const sack = opts.sack ?? (opts.sack = []);
        for (let j = i + 2; j < i + len; j += 4) sack.push(u32(b, j));
        break;
      }
      case OPT_TIMESTAMPS:
        if (len !== 10) optionBad('bad-length', `timestamps option length ${len}, expected 10`, i);
        opts.tsVal = u32(b, i + 2);
        opts.tsEcr = u32(b, i + 6);
        break;
      case OPT_FASTOPEN:
        // RFC 7413 §4.1.1: a request (no cookie) or a cookie of 4..16 bytes; any other length is kept as unknown.
        if (fastOpenLength(len - 2)) { opts.fastOpen = b.subarray(i + 2, i + len); break; }
        (opts.unknown ?? (opts.unknown = [])).push({ kind, data: b.subarray(i + 2, i + len) });
        break;
      case OPT_EXPERIMENTAL:
        if (len >= 4 && ((b[i + 2]! << 8) | b[i + 3]!) === TFO_EXP_MAGIC && fastOpenLength(len - 4)) {
          opts.fastOpen = b.subarray(i + 4, i + len);
          opts.fastOpenExp = true;
          break;
        }
        (opts.unknown ?? (opts.unknown = [])).push({ kind, data: b.subarray(i + 2, i + len) });
        break;
      default: {
        const unknown = opts.unknown ?? (opts.unknown = []);
        unknown.push({ kind, data: b.subarray(i + 2, i + len) });
      }
    }
    order.push(kind);
    i += len;
  }
  opts.order = (shared ? commonOrder(order) : null) ?? order.slice();
  return opts;
}

const orderScratch: number[] = [];

/**
 * The host path's options of a segment without any: one shared, frozen object (a data segment of a peer
 * without timestamps allocates none); frozen, so a receiver that tried to write into it would fail loudly.
 */
const NO_OPTIONS: TcpOptions = Object.freeze({}) as TcpOptions;

/**
 * The option layouts nearly every segment after the handshake carries (Linux, FreeBSD, Windows): NOP NOP TS,
 * with NOP NOP SACK after it or alone. The host path shares one frozen `order` list for each instead of a copy
 * per segment.
 */
const COMMON_ORDERS: readonly (readonly number[])[] = [
  [OPT_NOP, OPT_NOP, OPT_TIMESTAMPS],
  [OPT_NOP, OPT_NOP, OPT_TIMESTAMPS, OPT_NOP, OPT_NOP, OPT_SACK],
  [OPT_NOP, OPT_NOP, OPT_SACK],
].map((o) => Object.freeze(o));

function commonOrder(order: number[]): number[] | null {
  for (let k = 0; k < COMMON_ORDERS.length; k++) {
    const c = COMMON_ORDERS[k]!;
    if (c.length !== order.length) continue;
    let j = 0;
    while (j < c.length && c[j] === order[j]) j++;
    if (j === c.length) return c as number[];
  }
  return null;
}

/** A TFO cookie length RFC 7413 §4.1.1 allows: 0 (a request) or 4..16 bytes (Linux: even lengths only). */
function fastOpenLength(n: number): boolean {
  return n === 0 || (n >= 4 && n <= 16 && (n & 1) === 0);
}

/** A known option's length (and Linux's MSS 0 rule) as tcp_parse_options checks them; unknown kinds are always fine. */
function wellFormed(kind: number, len: number, b: Uint8Array, i: number): boolean {
  switch (kind) {
    case OPT_MSS: return len === 4 && ((b[i + 2]! << 8) | b[i + 3]!) !== 0;
    case OPT_WSCALE: return len === 3;
    case OPT_SACK_PERMITTED: return len === 2;
    case OPT_SACK: return len >= 10 && (len - 2) % 8 === 0;
    case OPT_TIMESTAMPS: return len === 10;
    default: return true;
  }
}

/**
 * Decodes a TCP segment from b[start..end), reporting error offsets relative to b (so a caller holding the
 * whole datagram gets datagram offsets). `lenientOptions`: malformed options are skipped the way Linux skips
 * them rather than refused (see decodeOptions); a host's input uses this, capture analysis does not.
 */
export function decodeTcpRange(b: Uint8Array, start: number, end: number, lenientOptions = false): DecodedTcp {
  if (!(start >= 0 && start <= end && end <= b.length)) {
    throw new WireError('tcp', 'bad-range', `range ${start}..${end} is not inside the ${b.length}-byte buffer`, 0);
  }
  if (end - start < TCP_HEADER_LENGTH) {
    throw new WireError('tcp', 'truncated', `header needs 20 bytes, have ${end - start}`, end);
  }
  const b12 = b[start + 12]!;
  const dataOffset = (b12 >> 4) * 4;
  if (dataOffset < TCP_HEADER_LENGTH) {
    throw new WireError('tcp', 'bad-data-offset', `data offset ${dataOffset / 4} is below the minimum 5`, start + 12);
  }
  if (start + dataOffset > end) {
    throw new WireError('tcp', 'truncated', `header with options needs ${dataOffset} bytes, have ${end - start}`, end);
  }
  const seg = segmentAt(b, start, end, dataOffset, lenientOptions, false);
  return { seg, dataOffset, checksum: (b[start + 16]! << 8) | b[start + 17]!, reserved: (b12 >> 1) & 7 };
}

/**
 * A host's input (decodeHostTcp, packet.ts): the segment alone, no header wrapper, options as Linux parses them,
 * and the no-options object and the common option layouts shared (frozen) rather than made per segment. null
 * when the header is malformed (the general path, decodeHostPacket, then decides what that costs).
 */
export function decodeHostSegment(b: Uint8Array, start: number, end: number): TcpSegment | null {
  if (end - start < TCP_HEADER_LENGTH) return null;
  const dataOffset = (b[start + 12]! >> 4) * 4;
  if (dataOffset < TCP_HEADER_LENGTH || start + dataOffset > end) return null;
  return segmentAt(b, start, end, dataOffset, true, true);
}

function segmentAt(b: Uint8Array, start: number, end: number, dataOffset: number, lenientOptions: boolean, shared: boolean): TcpSegment {
  const b12 = b[start + 12]!;
  const options = decodeOptions(b, start + TCP_HEADER_LENGTH, start + dataOffset, lenientOptions, shared);
  return {
    srcPort: (b[start]! << 8) | b[start + 1]!,
    dstPort: (b[start + 2]! << 8) | b[start + 3]!,
    seq: u32(b, start + 4),
    ack: u32(b, start + 8),
    // Low bit of byte 12 is AE (ex-NS), just above CWR: flags as a 9-bit field.
    flags: ((b12 & 1) << 8) | b[start + 13]!,
    window: (b[start + 14]! << 8) | b[start + 15]!,
    urgent: (b[start + 18]! << 8) | b[start + 19]!,
    options,
    // The host path's segments without data (ACKs, half of what a bulk transfer decodes) share the empty array.
    payload: shared && start + dataOffset === end ? EMPTY : b.subarray(start + dataOffset, end),
  };
}

/** Decodes TCP header + options + payload. Malformed options → WireError('tcp-option') at the option's offset. */
export function decodeTcp(bytes: Uint8Array): DecodedTcp {
  if (!(bytes instanceof Uint8Array)) throw new WireError('tcp', 'bad-input', 'expected a Uint8Array', 0);
  return decodeTcpRange(bytes, 0, bytes.length);
}

/**
 * Writes the options (or, with out === null, only measures them) and returns the unpadded length.
 * One routine for both so optionsLength and encodeOptions can never disagree.
 */
function layoutOptions(opts: TcpOptions, out: Uint8Array | null, o: number): number {
  const start = o;
  const order = opts.order;
  if (order !== undefined) {
    // Reproduce the recorded layout; a kind whose value is absent from opts is skipped.
    let unknownIdx = 0;
    let sackDone = false;
    const unknown = opts.unknown;
    for (let k = 0; k < order.length; k++) {
      const kind = order[k]!;
      switch (kind) {
        case OPT_EOL:
          if (out) out[o] = OPT_EOL;
          return o + 1 - start;
        case OPT_NOP:
          if (out) out[o] = OPT_NOP;
          o++;
          break;
        case OPT_MSS:
          if (opts.mss !== undefined) o = writeMss(opts.mss, out, o);
          break;
        case OPT_WSCALE:
          if (opts.wscale !== undefined) o = writeWscale(opts.wscale, out, o);
          break;
        case OPT_SACK_PERMITTED:
          if (opts.sackPermitted) o = writeSackPermitted(out, o);
          break;
        case OPT_SACK:
          // All blocks go in the first SACK option; a repeated kind 5 (hostile or odd peers) adds nothing.
          if (!sackDone && opts.sack !== undefined && opts.sack.length >= 2) o = writeSack(opts.sack, out, o);
          sackDone = true;
          break;
        case OPT_TIMESTAMPS:
          if (opts.tsVal !== undefined) o = writeTimestamps(opts.tsVal, opts.tsEcr ?? 0, out, o);
          break;
        case OPT_FASTOPEN:
          if (opts.fastOpen !== undefined && !opts.fastOpenExp) o = writeFastOpen(opts.fastOpen, false, out, o);
          else if (unknown !== undefined && unknownIdx < unknown.length && unknown[unknownIdx]!.kind === kind) o = writeUnknown(unknown[unknownIdx++]!, out, o);
          break;
        case OPT_EXPERIMENTAL:
          if (opts.fastOpen !== undefined && opts.fastOpenExp) o = writeFastOpen(opts.fastOpen, true, out, o);
          else if (unknown !== undefined && unknownIdx < unknown.length) o = writeUnknown(unknown[unknownIdx++]!, out, o);
          break;
        default: {
          // The n-th unknown option of the list goes where the n-th unknown kind sits in order.
          if (unknown !== undefined && unknownIdx < unknown.length) o = writeUnknown(unknown[unknownIdx++]!, out, o);
        }
      }
    }
    return o - start;
  }
  // Linux's layout (tcp_options_write): MSS; SACK-permitted+TS packed as 4,2,8,10 or NOP,NOP,TS or
  // NOP,NOP,SACK-permitted; NOP,WS; NOP,NOP,SACK blocks; then anything unknown.
  if (opts.mss !== undefined) o = writeMss(opts.mss, out, o);
  if (opts.tsVal !== undefined) {
    if (opts.sackPermitted) o = writeSackPermitted(out, o);
    else o = writeNops(2, out, o);
    o = writeTimestamps(opts.tsVal, opts.tsEcr ?? 0, out, o);
  } else if (opts.sackPermitted) {
    o = writeNops(2, out, o);
    o = writeSackPermitted(out, o);
  }
  if (opts.wscale !== undefined) {
    o = writeNops(1, out, o);
    o = writeWscale(opts.wscale, out, o);
  }
  if (opts.sack !== undefined && opts.sack.length >= 2) {
    o = writeNops(2, out, o);
    o = writeSack(opts.sack, out, o);
  }
  if (opts.fastOpen !== undefined) {
    // tcp_options_write: the FO option, then NOPs to the next 32-bit boundary.
    o = writeFastOpen(opts.fastOpen, opts.fastOpenExp === true, out, o);
    if (((o - start) & 3) === 2) o = writeNops(2, out, o);
  }
  if (opts.unknown !== undefined) for (let k = 0; k < opts.unknown.length; k++) o = writeUnknown(opts.unknown[k]!, out, o);
  return o - start;
}

function writeNops(n: number, out: Uint8Array | null, o: number): number {
  if (out) for (let k = 0; k < n; k++) out[o + k] = OPT_NOP;
  return o + n;
}
function writeMss(mss: number, out: Uint8Array | null, o: number): number {
  if (out) { out[o] = OPT_MSS; out[o + 1] = 4; out[o + 2] = mss >> 8; out[o + 3] = mss; }
  return o + 4;
}
function writeWscale(ws: number, out: Uint8Array | null, o: number): number {
  if (out) { out[o] = OPT_WSCALE; out[o + 1] = 3; out[o + 2] = ws; }
  return o + 3;
}
function writeSackPermitted(out: Uint8Array | null, o: number): number {
  if (out) { out[o] = OPT_SACK_PERMITTED; out[o + 1] = 2; }
  return o + 2;
}
function writeTimestamps(tsVal: number, tsEcr: number, out: Uint8Array | null, o: number): number {
  if (out) { out[o] = OPT_TIMESTAMPS; out[o + 1] = 10; w32(out, o + 2, tsVal); w32(out, o + 6, tsEcr); }
  return o + 10;
}
function writeSack(sack: number[], out: Uint8Array | null, o: number): number {
  const blocks = sack.length >> 1; // an odd trailing edge has no partner and is dropped
  const len = 2 + blocks * 8;
  if (out) {
    out[o] = OPT_SACK;
    out[o + 1] = len;
    for (let k = 0; k < blocks * 2; k++) w32(out, o + 2 + 4 * k, sack[k]!);
  }
  return o + len;
}
function writeFastOpen(cookie: Uint8Array, exp: boolean, out: Uint8Array | null, o: number): number {
  const head = exp ? 4 : 2;
  if (out) {
    out[o] = exp ? OPT_EXPERIMENTAL : OPT_FASTOPEN;
    out[o + 1] = head + cookie.length;
    if (exp) { out[o + 2] = TFO_EXP_MAGIC >> 8; out[o + 3] = TFO_EXP_MAGIC & 0xff; }
    out.set(cookie, o + head);
  }
  return o + head + cookie.length;
}
function writeUnknown(u: UnknownOption, out: Uint8Array | null, o: number): number {
  const len = 2 + u.data.length;
  if (len > 0xff) throw new WireError('tcp-option', 'too-long', `option kind ${u.kind} with ${u.data.length} data bytes exceeds 255`, o);
  if (out) { out[o] = u.kind; out[o + 1] = len; out.set(u.data, o + 2); }
  return o + len;
}

/**
 * Linux's option layout (tcp_options_write, net/ipv4/tcp_output.c) as an `order` list: what encodeOptions
 * writes when opts.order is absent. Unknown options go last.
 */
export function linuxOptionOrder(opts: TcpOptions): number[] {
  const order: number[] = [];
  if (opts.mss !== undefined) order.push(OPT_MSS);
  if (opts.tsVal !== undefined) {
    if (opts.sackPermitted) order.push(OPT_SACK_PERMITTED); else order.push(OPT_NOP, OPT_NOP);
    order.push(OPT_TIMESTAMPS);
  } else if (opts.sackPermitted) order.push(OPT_NOP, OPT_NOP, OPT_SACK_PERMITTED);
  if (opts.wscale !== undefined) order.push(OPT_NOP, OPT_WSCALE);
  if (opts.sack !== undefined && opts.sack.length >= 2) order.push(OPT_NOP, OPT_NOP, OPT_SACK);
  if (opts.fastOpen !== undefined) {
    order.push(opts.fastOpenExp ? OPT_EXPERIMENTAL : OPT_FASTOPEN);
    if (((opts.fastOpenExp ? 4 : 2) + opts.fastOpen.length) % 4 === 2) order.push(OPT_NOP, OPT_NOP);
  }
  if (opts.unknown !== undefined) for (const u of opts.unknown) order.push(u.kind);
  return order;
}

/** Appends NOPs until len % mod === rem; returns the new length. */
function padNops(order: number[], len: number, mod: number, rem: number): number {
  while (len % mod !== rem) { order.push(OPT_NOP); len++; }
  return len;
}

/**
 * FreeBSD's option layout (tcp_addoptions, sys/netinet/tcp_output.c) as an `order` list: MSS, window scale,
 * SACK-permitted, timestamps, SACK blocks, each preceded by NOPs to its alignment (WS: odd length, SACK-permitted:
 * even, TS and SACK: length mod 4 = 2), then EOL if padding is needed. Unknown options go before the padding.
 */
export function freebsdOptionOrder(opts: TcpOptions): number[] {
  const order: number[] = [];
  let len = 0;
  if (opts.mss !== undefined) { order.push(OPT_MSS); len += 4; }
  if (opts.wscale !== undefined) { len = padNops(order, len, 2, 1); order.push(OPT_WSCALE); len += 3; }
  if (opts.sackPermitted) { len = padNops(order, len, 2, 0); order.push(OPT_SACK_PERMITTED); len += 2; }
  if (opts.tsVal !== undefined) { len = padNops(order, len, 4, 2); order.push(OPT_TIMESTAMPS); len += 10; }
  if (opts.sack !== undefined && opts.sack.length >= 2) { len = padNops(order, len, 4, 2); order.push(OPT_SACK); len += 2 + (opts.sack.length >> 1) * 8; }
  if (opts.fastOpen !== undefined) { order.push(opts.fastOpenExp ? OPT_EXPERIMENTAL : OPT_FASTOPEN); len += (opts.fastOpenExp ? 4 : 2) + opts.fastOpen.length; }
  if (opts.unknown !== undefined) for (const u of opts.unknown) { order.push(u.kind); len += 2 + u.data.length; }
  if (len & 3) order.push(OPT_EOL);
  return order;
}

function paddedOptionsLength(opts: TcpOptions): number {
  const raw = layoutOptions(opts, null, 0);
  const padded = (raw + 3) & ~3;
  if (padded > TCP_MAX_OPTIONS_LENGTH) {
    throw new WireError('tcp-option', 'too-long', `options need ${padded} bytes, at most ${TCP_MAX_OPTIONS_LENGTH} fit`, TCP_HEADER_LENGTH);
  }
  return padded;
}

/** Encoded length of the options, padded to a multiple of 4. WireError if over 40 bytes. */
export function optionsLength(opts: TcpOptions): number {
  return paddedOptionsLength(opts);
}

/**
 * Writes the options at out[offset..] padded with zeros (RFC 9293 §3.1: padding is zeros) to a multiple of 4;
 * returns the padded length. With opts.order, reproduces that layout exactly; otherwise Linux's layout.
 */
export function encodeOptions(opts: TcpOptions, out: Uint8Array, offset: number): number {
  const padded = paddedOptionsLength(opts);
  if (offset + padded > out.length) {
    throw new WireError('tcp-option', 'buffer-too-small', `need ${padded} bytes at offset ${offset}, buffer has ${out.length}`, offset);
  }
  return writeOptionsPadded(opts, out, offset, padded);
}

function writeOptionsPadded(opts: TcpOptions, out: Uint8Array, offset: number, padded: number): number {
  const raw = layoutOptions(opts, out, offset);
  for (let k = raw; k < padded; k++) out[offset + k] = 0;
  return padded;
}

/**
 * Writes header+options+payload at out[offset..], checksum over the pseudo-header for src/dst.
 * `optLen` is the padded option length (already validated). Returns the number of bytes written.
 * `checksum` 'pseudo-header': the checksum field gets only the folded, uncomplemented pseudo-header sum, for a
 * link that completes checksums itself (checksum offload, virtio NEEDS_CSUM); the payload is not summed.
 * `payloadInOut` false: only the header is written (the payload goes to the link as a separate part, e.g. by
 * writev(2)); the checksum still covers the payload.
 */
export function writeTcp(seg: TcpSegment, src: Uint8Array, dst: Uint8Array, out: Uint8Array, offset: number, optLen: number, checksum: 'full' | 'pseudo-header' = 'full', payloadInOut = true): number {
  const o = offset;
  const hlen = TCP_HEADER_LENGTH + optLen;
  const payload = seg.payload ?? EMPTY;
  const total = hlen + payload.length;
  out[o] = seg.srcPort >> 8;
  out[o + 1] = seg.srcPort;
  out[o + 2] = seg.dstPort >> 8;
  out[o + 3] = seg.dstPort;
  w32(out, o + 4, seg.seq);
  w32(out, o + 8, seg.ack);
  out[o + 12] = ((hlen >> 2) << 4) | ((seg.flags >> 8) & 1);
  out[o + 13] = seg.flags;
  out[o + 14] = seg.window >> 8;
  out[o + 15] = seg.window;
  out[o + 16] = 0;
  out[o + 17] = 0;
  out[o + 18] = seg.urgent >> 8;
  out[o + 19] = seg.urgent;
  if (optLen > 0) writeOptionsPadded(seg.options, out, o + TCP_HEADER_LENGTH, optLen);
  let ck: number;
  if (checksum === 'pseudo-header') {
    if (payloadInOut && payload.length > 0) out.set(payload, o + hlen);
    ck = ~finishChecksum(pseudoHeaderSum(src, dst, 6, total)) & 0xffff;
  } else if (payloadInOut) {
    if (payload.length > 0) out.set(payload, o + hlen);
    ck = finishChecksum(onesComplementSum(out, o, o + total, pseudoHeaderSum(src, dst, 6, total)));
  } else {
    // The header length is a multiple of 4, so the payload's words continue the header's sum unshifted.
    ck = finishChecksum(onesComplementSum(payload, 0, payload.length, onesComplementSum(out, o, o + hlen, pseudoHeaderSum(src, dst, 6, total))));
  }
  out[o + 16] = ck >> 8;
  out[o + 17] = ck;
  return total;
}

function fieldBad(name: string, value: unknown, max: number): never {
  throw new WireError('tcp', 'bad-field', `${name} ${String(value)} is not an integer in 0..${max}`, 0);
}

/**
 * Refuses values the header cannot carry instead of silently truncating them (an engine bug should be loud).
 * seq/ack are taken modulo 2^32, as sequence arithmetic produces them.
 */
export function checkSegmentFields(seg: TcpSegment): void {
  const { srcPort, dstPort, flags, window, urgent, seq, ack } = seg;
  if (!(srcPort >= 0 && srcPort <= 0xffff && srcPort === Math.floor(srcPort))) fieldBad('srcPort', srcPort, 0xffff);
  if (!(dstPort >= 0 && dstPort <= 0xffff && dstPort === Math.floor(dstPort))) fieldBad('dstPort', dstPort, 0xffff);
  if (!(window >= 0 && window <= 0xffff && window === Math.floor(window))) fieldBad('window', window, 0xffff);
  if (!(urgent >= 0 && urgent <= 0xffff && urgent === Math.floor(urgent))) fieldBad('urgent', urgent, 0xffff);
  if (!(flags >= 0 && flags <= 0x1ff && flags === Math.floor(flags))) fieldBad('flags', flags, 0x1ff);
  if (!Number.isInteger(seq)) fieldBad('seq', seq, 0xffffffff);
  if (!Number.isInteger(ack)) fieldBad('ack', ack, 0xffffffff);
  const o = seg.options;
  if (o === null || typeof o !== 'object') throw new WireError('tcp', 'bad-field', 'options must be an object', 0);
  if (o.mss !== undefined && !(o.mss >= 0 && o.mss <= 0xffff && o.mss === Math.floor(o.mss))) fieldBad('MSS', o.mss, 0xffff);
  if (o.wscale !== undefined && !(o.wscale >= 0 && o.wscale <= 0xff && o.wscale === Math.floor(o.wscale))) fieldBad('window scale', o.wscale, 0xff);
  if (seg.payload !== undefined && !(seg.payload instanceof Uint8Array)) throw new WireError('tcp', 'bad-field', 'payload must be a Uint8Array', 0);
}

function checkAddresses(src: Uint8Array, dst: Uint8Array): void {
  if (!(src instanceof Uint8Array) || !(dst instanceof Uint8Array) || src.length !== dst.length || (src.length !== 4 && src.length !== 16)) {
    throw new WireError('address', 'bad-length', 'src and dst must both be 4-byte IPv4 or both 16-byte IPv6 addresses', 0);
  }
}

/**
 * Encodes header+options+payload with the checksum over the pseudo-header of src/dst (IPv4 or IPv6 by length).
 * Without `out`, allocates exactly one array of the segment's size and returns it; with `out`, writes at
 * `offset` and returns a view of the written bytes.
 */
export function encodeTcp(seg: TcpSegment, src: Uint8Array, dst: Uint8Array, out?: Uint8Array, offset = 0): Uint8Array {
  checkAddresses(src, dst);
  checkSegmentFields(seg);
  const optLen = paddedOptionsLength(seg.options);
  const total = TCP_HEADER_LENGTH + optLen + (seg.payload ?? EMPTY).length;
  if (out === undefined) {
    out = new Uint8Array(total);
    writeTcp(seg, src, dst, out, 0, optLen);
    return out;
  }
  if (!(offset >= 0) || offset + total > out.length) {
    throw new WireError('tcp', 'buffer-too-small', `need ${total} bytes at offset ${offset}, buffer has ${out.length}`, offset);
  }
  writeTcp(seg, src, dst, out, offset, optLen);
  return out.subarray(offset, offset + total);
}

/** Verifies the TCP checksum of tcpBytes (the whole segment) against the pseudo-header of src/dst. */
export function tcpChecksumOk(tcpBytes: Uint8Array, src: Uint8Array, dst: Uint8Array): boolean {
  return tcpChecksumRangeOk(tcpBytes, 0, tcpBytes.length, src, dst);
}

export function tcpChecksumRangeOk(b: Uint8Array, start: number, end: number, src: Uint8Array, dst: Uint8Array): boolean {
  const len = end - start;
  return finishChecksum(onesComplementSum(b, start, end, pseudoHeaderSum(src, dst, 6, len))) === 0;
}
