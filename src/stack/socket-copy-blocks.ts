/**
 * The scratch a Socket's small string writes are encoded into (encodeString) on their way to the engine. Apart from
 * socket.ts because it is module state shared by every socket, not a socket's own. Node-only: it uses Node's global
 * Buffer (no import). The copy blocks large writes are copied into are browser-clean, in copy-blocks.ts.
 */
import { SMALL_WRITE } from '../tcp/buffers.js';

/**
 * Where small string writes are encoded (encodeString): the engine copies a write under SMALL_WRITE when it takes
 * it (staging), and a pending rest is copied out (writeChunks), so the scratch is free again once a
 * _write/_writev has handed its chunks over; one serves every socket. Room for the strings of one corked batch.
 */
export const SCRATCH = Buffer.allocUnsafe(4 * SMALL_WRITE);
/** Bytes of SCRATCH the current _write/_writev has used. */
let scratchAt = 0;

/** A _write/_writev begins (Socket#writeStarts): the previous one's chunks were handed over or copied out. */
export function resetScratch(): void { scratchAt = 0; }

/**
 * A string write's bytes, as Buffer.from(s, encoding) gives them (net.Socket's write encodings: utf8, latin1/binary,
 * ascii, hex, base64, base64url, ucs2/utf16le): a small one encoded into SCRATCH, not into a Buffer of its own.
 */
export function encodeString(s: string, encoding: BufferEncoding | 'buffer'): Uint8Array {
  const enc = encoding === 'buffer' ? 'utf8' : encoding;
  // Every encoding takes at most 3 bytes per UTF-16 unit (utf8), so short strings need no byteLength pass.
  const max = s.length <= (SMALL_WRITE - 1) / 3 ? 3 * s.length : Buffer.byteLength(s, enc);
  if (max >= SMALL_WRITE || scratchAt + max > SCRATCH.length) return Buffer.from(s, enc);
  let n = -1;
  // A short ASCII string in an encoding that keeps ASCII as it is: copied here, without Buffer#write's native call
  // (~50 ns whatever the length; this loop is cheaper up to ~20 characters).
  if (s.length <= 16 && (enc === 'utf8' || enc === 'utf-8' || enc === 'latin1' || enc === 'binary' || enc === 'ascii')) n = copyAscii(s, scratchAt);
  if (n < 0) n = SCRATCH.write(s, scratchAt, enc);
  // A plain view: a Buffer's subarray builds a Buffer (a larger object, through its constructor).
  const out = new Uint8Array(SCRATCH.buffer, SCRATCH.byteOffset + scratchAt, n);
  scratchAt += n;
  return out;
}

/** `s` into SCRATCH at `at` if every character is ASCII (its length then); -1 (nothing meaningful written) else. */
function copyAscii(s: string, at: number): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return -1;
    SCRATCH[at + i] = c;
  }
  return n;
}
