/**
 * The copy blocks large writes are copied into as the engine takes them: the process-wide pool
 * (takeCopyBlock/giveCopyBlock) and a socket's own blocks (CopyBlocks: what it fills, what the engine still reads).
 * Apart from the sockets because the pool is module state shared by every socket; browser-clean (no Buffer), so
 * any socket kind can use it. The string-encoding scratch, which needs Buffer, stays in socket-copy-blocks.ts.
 */
import type { StackConnection } from './stack.js';

type Tcp = StackConnection['tcp'];

/** A socket's first copy block (CopyBlocks#send): a response or two. */
export const FIRST_COPY_BLOCK = 65536;
/**
 * The largest copy block: a streaming socket's pieces are this long, so a 64 KiB TSO segment straddles two in 16
 * and is copied alone (buffers.ts coalesces only pieces under four segments long, copying everything twice).
 */
export const MAX_COPY_BLOCK = 1 << 20;
/**
 * Copy blocks kept for reuse, by size (FIRST_COPY_BLOCK << k), at most MAX_SPARE_BYTES in all across the process's
 * sockets: a fresh buffer per write (hundreds of MB/s in a bulk transfer) cost a quarter of the CPU in allocation
 * and the collections its external memory brought on.
 */
const spareBlocks: ArrayBuffer[][] = [[], [], [], [], []];
const MAX_SPARE_BYTES = 16 << 20;
let spareBytes = 0;
function sizeClass(size: number): number { return 31 - Math.clz32(size / FIRST_COPY_BLOCK); }

export function takeCopyBlock(size: number): ArrayBuffer {
  const b = spareBlocks[sizeClass(size)]!.pop();
  if (b !== undefined) { spareBytes -= size; return b; }
  return new ArrayBuffer(size);
}

export function giveCopyBlock(b: ArrayBuffer): void {
  if (spareBytes + b.byteLength > MAX_SPARE_BYTES) return;
  spareBlocks[sizeClass(b.byteLength)]!.push(b);
  spareBytes += b.byteLength;
}

/** What nothing is taken from when the engine has no room: its own answer to a send (its state's error ...). */
const EMPTY_CHUNK = new Uint8Array(0);
/** blockEnds of a socket holding no copy block (blocks null): never written, so one serves every socket. */
const NO_ENDS: number[] = [];

/**
 * One socket's copy blocks. The engine keeps large writes by reference until they are acknowledged (src/tcp/buffers.ts
 * SMALL_WRITE) while the writer may reuse its buffer as soon as the write is handed over, so what the engine takes
 * of a large write is copied first, into these blocks, as the kernel fills a socket's page fragment
 * (sk_page_frag): successive writes land contiguously, so the engine's send buffer extends one piece instead of
 * holding a piece per write, and segments rarely straddle two pieces (a straddling segment is copied again).
 * A block goes back to the pool only when the peer has acknowledged every byte of it (release).
 */
export class CopyBlocks {
  /** The block being filled; null when the socket holds no copy (idle). */
  private fill: ArrayBuffer | null = null;
  /** Bytes of `fill` already used. */
  private fillAt = 0;
  /** Size of the next copy block: doubles while a writer keeps the engine busy, from FIRST_COPY_BLOCK to MAX_COPY_BLOCK. */
  private nextBlock = FIRST_COPY_BLOCK;
  /** Copy blocks the engine holds, in stream order, and the stream offset each one's data ends at. */
  private blocks: ArrayBuffer[] | null = null;
  private blockEnds: number[] = NO_ENDS;
  private blockHead = 0;

  /**
   * A large write (`chunk`) as the engine may keep it: what the engine takes now is copied into the blocks and
   * handed over; the rest stays the caller's, to be offered again when the engine has room. So a 4 MiB write holds
   * about what the engine holds (two congestion windows, autotuned), not a 4 MiB copy. Returns how many bytes the
   * engine took.
   */
  send(t: Tcp, chunk: Uint8Array, now: number): number {
    const room = Math.min(t.sendSpace, chunk.length);
    // Nothing fits: the engine's own answer (its state's error, EPIPE ...), taking nothing.
    if (room === 0) return t.send(EMPTY_CHUNK, now);
    // Blocks acknowledged meanwhile go back before more is copied.
    this.release(t);
    let off = 0;
    while (off < room) {
      let b = this.fill;
      if (b === null || this.fillAt === b.byteLength) {
        // A block still held when the next is needed: the writer streams, so the next one is larger (fewer pieces
        // and straddles); a socket writing a response now and then keeps taking FIRST_COPY_BLOCK.
        if (b !== null) this.nextBlock = Math.min(MAX_COPY_BLOCK, 2 * this.nextBlock);
        b = this.fill = takeCopyBlock(this.nextBlock);
        this.fillAt = 0;
      }
      const n = Math.min(b.byteLength - this.fillAt, room - off);
      const piece = new Uint8Array(b, this.fillAt, n);
      piece.set(chunk.subarray(off, off + n));
      const start = t.snd.end;
      const took = t.send(piece, now); // all of it: no more than its free space
      // Only what the engine took is used: a rest it refused is copied again, contiguously, when it has room.
      this.fillAt += took;
      // A copy block is the engine's until it has every byte of it acknowledged (release).
      if (took > 0) this.hold(b, start + took);
      off += took;
      if (took < n) break;
    }
    return off;
  }

  /** The engine took a piece of copy block `block`, up to stream offset `end`. */
  private hold(block: ArrayBuffer, end: number): void {
    const blocks = this.blocks;
    if (blocks === null) { this.blocks = [block]; this.blockEnds = [end]; return; }
    if (blocks.length > this.blockHead && blocks[blocks.length - 1] === block) { this.blockEnds[blocks.length - 1] = end; return; }
    blocks.push(block);
    this.blockEnds.push(end);
  }

  /**
   * Copy blocks whose every byte the peer has acknowledged are no longer read by the engine: back to the pool.
   * The last one may be the block being filled: it goes only when everything handed over is acknowledged, and
   * then the socket holds no copy memory at all. Every copied byte is the engine's as soon as it is copied (send),
   * so none is ever in hand elsewhere. Called when the engine has room again (the socket's onWritable).
   */
  release(t: Tcp): void {
    const blocks = this.blocks;
    if (blocks === null) return;
    const snd = t.snd;
    const front = snd.front;
    const last = blocks.length - 1;
    let h = this.blockHead;
    while (h < last && this.blockEnds[h]! <= front) giveCopyBlock(blocks[h++]!);
    if (h === last && front === snd.end && this.blockEnds[h]! <= front) {
      if (blocks[h] === this.fill) { this.fill = null; this.nextBlock = FIRST_COPY_BLOCK; }
      giveCopyBlock(blocks[h]!);
      h++;
    }
    if (h === blocks.length) { this.blocks = null; this.blockEnds = NO_ENDS; h = 0; }
    else if (h > 64 && 2 * h > blocks.length) { this.blocks = blocks.slice(h); this.blockEnds = this.blockEnds.slice(h); h = 0; }
    this.blockHead = h;
  }
}
