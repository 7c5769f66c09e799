/**
 * The Internet checksum (RFC 1071): 16-bit ones' complement of the ones' complement sum.
 * Sums are kept unfolded while adding (ones' complement addition commutes with folding, RFC 1071 §2(B)),
 * and folded once at the end.
 */

/** Below this many bytes the byte loop is used: a Uint32Array view costs more than it saves. */
const WORD_LOOP_MIN = 64;

/** The host stores multi-byte words little-endian (every platform Node and browsers run on, but checked). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Ones' complement sum of bytes[start..end) as big-endian 16-bit words, added to `initial`.
 * An odd final byte is padded with a zero byte (RFC 9293 §3.1). When chaining calls, every range but the
 * last must have even length. The result is folded below 2^17 so it stays a safe small integer to chain.
 */
export function onesComplementSum(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  const abs = bytes.byteOffset + start;
  if (end - start < WORD_LOOP_MIN || (abs & 1) !== 0) return byteSum(bytes, start, end, initial);
  // A segment's worth of bytes: 32-bit words, four times fewer loads. The sum does not depend on byte order
  // (RFC 1071 §2(B)): words read in host order are summed, folded to 16 bits and swapped back once.
  let head = 0;
  if ((abs & 3) === 2) { head = 2; initial += (bytes[start]! << 8) | bytes[start + 1]!; }
  const n = (end - start - head) >>> 2;
  const w = wordsOf(bytes.buffer, abs + head + 4 * n);
  let a = 0;
  let b = 0;
  let k = (abs + head) >>> 2;
  const stop = k + n;
  // Two accumulators of at most 2^32 per add: exact far beyond any 16-bit length (2^53 / 2^32 words).
  for (const n4 = stop - (n & 3); k < n4; k += 4) { a += w[k]! + w[k + 1]!; b += w[k + 2]! + w[k + 3]!; }
  for (; k < stop; k++) a += w[k]!;
  let sum = fold(a + b);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  if (LITTLE_ENDIAN) sum = ((sum & 0xff) << 8) | (sum >>> 8);
  return byteSum(bytes, start + head + 4 * n, end, initial + sum);
}

/**
 * A Uint32Array over the whole of `buffer` (at least its first `bytes` bytes): the one made for the previous
 * call when it is the same buffer, as consecutive packets carved from one block are (PacketSlab). A view per
 * call was most of what checksumming allocated. Keeps the last buffer summed referenced until the next call.
 */
function wordsOf(buffer: ArrayBufferLike, bytes: number): Uint32Array {
  let w = lastWords;
  if (w === null || w.buffer !== buffer || w.length * 4 < bytes) {
    w = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
    lastWords = w;
  }
  return w;
}
let lastWords: Uint32Array | null = null;

/** onesComplementSum one byte at a time (short ranges, odd offsets). */
function byteSum(bytes: Uint8Array, start: number, end: number, initial: number): number {
  // High and low bytes of the words are summed separately (hi·256 + lo is the word sum), 8 words per
  // iteration: about twice as fast in V8 as shifting every word. Both stay far below 2^53 for any length.
  let hi = 0;
  let lo = 0;
  let i = start;
  const even = end - ((end - start) & 1);
  const blockEnd = even - ((even - i) & 15);
  for (; i < blockEnd; i += 16) {
    hi += bytes[i]! + bytes[i + 2]! + bytes[i + 4]! + bytes[i + 6]! + bytes[i + 8]! + bytes[i + 10]! + bytes[i + 12]! + bytes[i + 14]!;
    lo += bytes[i + 1]! + bytes[i + 3]! + bytes[i + 5]! + bytes[i + 7]! + bytes[i + 9]! + bytes[i + 11]! + bytes[i + 13]! + bytes[i + 15]!;
  }
  for (; i < even; i += 2) {
    hi += bytes[i]!;
    lo += bytes[i + 1]!;
  }
  if (even < end) hi += bytes[even]!;
  return fold(initial + hi * 256 + lo);
}

/** Folds carries back in until the value fits 17 bits; exact for any non-negative sum below 2^53. */
function fold(sum: number): number {
  while (sum > 0xffffffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Folds and complements a partial sum into the 16-bit checksum field value. */
export function finishChecksum(sum: number): number {
  sum = fold(sum);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Sum over the pseudo-header for `length` bytes of upper-layer data.
 * IPv4 (RFC 9293 §3.1): src, dst, zero, protocol, 16-bit TCP length.
 * IPv6 (RFC 8200 §8.1): src, dst, 32-bit upper-layer length, three zero bytes, next header.
 */
export function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): number {
  let sum = onesComplementSum(src, 0, src.length, 0);
  sum = onesComplementSum(dst, 0, dst.length, sum);
  sum += protocol & 0xff;
  if (src.length === 16) sum += Math.floor(length / 0x10000) % 0x10000 + (length & 0xffff);
  else sum += length & 0xffff;
  return sum;
}
