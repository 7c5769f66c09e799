/**
 * Send and receive buffers. Both avoid copies on the hot path: the send buffer hands out views of the
 * application's chunks when a segment lies within one chunk; the receive buffer queues views of arriving
 * payloads. Positions are absolute stream offsets (JS numbers, exact to 2^53), never sequence numbers,
 * so wrap-around is handled once, at the engine's boundary.
 */
import { EMPTY } from '../wire/tcp-types.js';

const STAGE_SIZE = 16384;
/**
 * Writes smaller than this are copied into staging chunks; larger ones are kept by reference until acknowledged
 * (a socket whose write completes before that must give the engine a copy: src/stack/socket.ts, stream-socket.ts).
 */
export const SMALL_WRITE = 2048;
/**
 * A store's first staging chunk (a request/response connection's: headers and a small body, one chunk, segments
 * are views) holds up to this many bytes; only those written are taken from the block (carve's `cap`).
 */
const FIRST_STAGE_SIZE = SMALL_WRITE;
/**
 * Staging chunks and span copies up to STAGE_SIZE are carved from shared blocks of this size, never reused:
 * a typed array of its own costs an off-heap allocation (~1 µs in V8, and GC work) per response of a
 * request/response connection, a view of a block a small object. A block is freed once nothing refers to
 * it (a staging chunk lives until its data is acknowledged).
 */
const CARVE_BLOCK = 65536;
let carveBlock = new Uint8Array(0);
/** carveBlock's memory, read once per block: views are made from it (reading a typed array's `buffer` is slow). */
let carveBuf: ArrayBufferLike = carveBlock.buffer;
let carveAt = 0;
/** Where the last carve from the block ends (carveAt is that, aligned): only that one may grow (stageTake). */
let carveEnd = 0;
/**
 * `n` zeroed bytes no other carve() returns (a view of a shared block when small). With `cap` (a first staging
 * chunk, `n` < STAGE_SIZE): a view of up to `cap` bytes, of which only the first `n` are taken from the block; the
 * rest stays the block's, for the next carve, unless the stage takes it first (stageTake). A response's headers are
 * staged and its small body follows them into the same chunk (Socket writes them one after the other): one piece,
 * as with a chunk of its own, in about half the memory (fewer 64 KiB blocks to allocate, zero and collect).
 */
function carve(n: number, cap = n): Uint8Array {
  if (n > STAGE_SIZE) return new Uint8Array(n);
  if (carveAt + n > carveBlock.length) { carveBlock = new Uint8Array(CARVE_BLOCK); carveBuf = carveBlock.buffer; carveAt = 0; }
  const out = new Uint8Array(carveBuf, carveAt, Math.min(carveBlock.length - carveAt, cap));
  carveEnd = carveAt + n;
  carveAt = (carveEnd + 7) & ~7;
  return out;
}
/**
 * Takes `n` more bytes of the block for the view `v` carved with a `cap`, which holds `used`: only while nothing was carved
 * after its bytes (they are then still zeroed and no other carve returned them). False: they belong to the block.
 */
function stageTake(v: Uint8Array, used: number, n: number): boolean {
  if (v.byteOffset + used !== carveEnd || v.buffer !== carveBuf) return false;
  carveEnd += n;
  carveAt = (carveEnd + 7) & ~7;
  return true;
}
/** Segments at least this long coalesce the chunks they span (SendBuffer.coalesce) rather than copy. */
const COALESCE_MIN_SEGMENT = 8192;
/** How much coalescing gathers into one block at most (it always takes at least the segment). */
const COALESCE_BLOCK = 1 << 20;
/** A chunk at least this many segments long is big: segments rarely span it, so a span is just copied. */
const BIG_CHUNK_SEGMENTS = 4;

/**
 * Shared empty lists for buffers that hold nothing: a connection allocates its buffer lists when data first
 * flows and gives them back when it has drained, so an idle connection holds no buffer memory. Frozen: a
 * missed allocation throws instead of filling the shared list.
 */
const NO_CHUNKS: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];
const NO_NUMBERS: number[] = Object.freeze([]) as unknown as number[];

/** A send buffer's storage: the chunk lists and the staging chunk, which exist only while data is held. */
class SendStore {
  // Made with the first chunk: a one-element literal has room for one, where push on an empty list reserves 17
  // (V8), three times per store. A request/response connection holds one chunk per response.
  chunks: Uint8Array[];
  lens: number[];
  starts: number[];
  head = 0; // index of first live chunk
  stage: Uint8Array | null = null; // tail chunk small writes are copied into
  stageShared = false; // the stage is a view carved with a `cap`: only the bytes written are its own (stageTake)
  nextStage = FIRST_STAGE_SIZE; // size of the next staging chunk
  cursor = 0; // chunk index cache for slice()
  // The chunk slice() last made a view of, and its memory: a view made from these directly costs about half what
  // subarray() does, most of which is reading the chunk's `buffer` (a segment per MSS of a large chunk reuses them).
  viewOf: Uint8Array | null = null;
  viewBuf: ArrayBufferLike | null = null;
  viewOff = 0;
  constructor(chunk: Uint8Array, len: number, start: number) {
    this.chunks = [chunk]; this.lens = [len]; this.starts = [start];
  }
}

/**
 * Drained one-chunk SendStores kept for the next send buffers that start (SendBuffer.consume), up to
 * SPARE_SEND_STORES: with one, a request/response exchange made a store per connection all the same (the server's
 * response starts while the client's request is still unacknowledged, so two are held at once).
 */
const spareSendStores: SendStore[] = [];
const SPARE_SEND_STORES = 4;

/**
 * Bytes from SND.UNA onward: sent-but-unacknowledged, then not-yet-sent (RFC 9293 §3.3.1 send sequence space).
 * Storage (SendStore) is allocated when data is first pushed and dropped when everything is acknowledged, so an
 * idle connection's buffer is two numbers.
 */
export class SendBuffer {
  private st: SendStore | null = null;
  /** Absolute offset of the first byte held. */
  front = 0;
  /** Absolute offset one past the last byte held. */
  end = 0;

  get length(): number { return this.end - this.front; }

  /** Nothing is allocated: no lists, no staging chunk (a new or drained buffer). */
  get idle(): boolean { return this.st === null; }

  /** How many pieces (chunks) hold the bytes: each is a list entry, and a segment that straddles two is copied. */
  get pieces(): number { return this.st === null ? 0 : this.st.chunks.length - this.st.head; }

  /** Append bytes. Large chunks are kept by reference (the engine owns them from now on); small ones are coalesced. */
  push(data: Uint8Array): void {
    const n = data.length;
    if (n === 0) return;
    const st = this.st;
    if (st === null) {
      // The first chunk: staged if small, taking from the block only what is written (carve's `cap`).
      const chunk = n < SMALL_WRITE ? carve(n, FIRST_STAGE_SIZE) : data;
      if (chunk !== data) chunk.set(data, 0);
      let fresh = spareSendStores.pop();
      if (fresh !== undefined) {
        fresh.chunks[0] = chunk; fresh.lens[0] = n; fresh.starts[0] = this.end;
        fresh.head = 0; fresh.stage = null; fresh.stageShared = false; fresh.nextStage = FIRST_STAGE_SIZE; fresh.cursor = 0;
        fresh.viewOf = null; fresh.viewBuf = null;
      } else fresh = new SendStore(chunk, n, this.end);
      this.st = fresh;
      if (chunk !== data) {
        fresh.stage = chunk; fresh.stageShared = true; fresh.nextStage = Math.min(STAGE_SIZE, 2 * FIRST_STAGE_SIZE);
        fresh.viewOf = chunk; fresh.viewBuf = carveBuf; fresh.viewOff = chunk.byteOffset; // slice()'s view cache, known here
      }
      this.end += n;
      return;
    }
    const last = st.chunks.length - 1;
    if (n < SMALL_WRITE) {
      const stage = st.stage;
      if (stage !== null && last >= st.head && st.chunks[last] === stage) {
        const used = st.lens[last]!;
        if (used + n <= stage.length && (!st.stageShared || stageTake(stage, used, n))) {
          stage.set(data, used);
          st.lens[last] = used + n;
          this.end += n;
          return;
        }
      }
      // Staging chunks start small and double up to STAGE_SIZE: a request/response connection writing a few
      // hundred bytes does not take 16 KiB per response; a stream of small writes soon coalesces into
      // full-sized ones.
      const size = Math.min(STAGE_SIZE, Math.max(st.nextStage, n));
      st.nextStage = Math.min(STAGE_SIZE, 2 * size);
      st.stage = carve(size);
      st.stageShared = false;
      st.stage.set(data, 0);
      st.chunks.push(st.stage); st.lens.push(n); st.starts.push(this.end);
      this.end += n;
      return;
    }
    // The contiguous continuation of the last piece in the same memory (a socket packs successive writes into one
    // block: src/stack/socket.ts ownBytes) extends it, as the kernel grows an skb's last page fragment
    // (skb_can_coalesce): fewer, longer pieces, which segments rarely straddle.
    if (last >= st.head) {
      const prev = st.chunks[last]!;
      // Offsets first: reading a typed array's `buffer` costs more than the rest of the test together.
      if (prev.byteOffset + st.lens[last]! === data.byteOffset && prev.buffer === data.buffer && prev !== st.stage) {
        st.chunks[last] = new Uint8Array(data.buffer, prev.byteOffset, st.lens[last]! + n);
        st.lens[last]! += n;
        this.end += n;
        return;
      }
    }
    st.chunks.push(data); st.lens.push(n); st.starts.push(this.end);
    this.end += n;
  }

  /**
   * `len` bytes from absolute offset `at`: a view when contiguous in one chunk, otherwise a copy. Large
   * segments over small chunks (a 64 KiB TSO segment over the application's 64 KiB writes spans two chunks
   * almost every time) coalesce the chunks ahead into one block instead, so later segments are views again.
   */
  slice(at: number, len: number): Uint8Array {
    if (len <= 0) return EMPTY;
    const st = this.st!;
    const chunks = st.chunks, lens = st.lens, starts = st.starts;
    let i = st.cursor;
    if (i < st.head || i >= chunks.length || starts[i]! > at) i = st.head;
    while (i < chunks.length && starts[i]! + lens[i]! <= at) i++;
    st.cursor = i;
    const off = at - starts[i]!;
    if (off + len <= lens[i]!) {
      const chunk = chunks[i]!;
      if (st.viewOf !== chunk) { st.viewOf = chunk; st.viewBuf = chunk.buffer; st.viewOff = chunk.byteOffset; }
      return new Uint8Array(st.viewBuf!, st.viewOff + off, len);
    }
    // Coalesce only where spans are frequent: segments not much smaller than the chunks they cross.
    if (len >= COALESCE_MIN_SEGMENT && lens[i]! < BIG_CHUNK_SEGMENTS * len) return coalesce(st, i, off, len);
    const out = carve(len);
    let w = 0;
    let o = off;
    while (w < len) {
      const take = Math.min(lens[i]! - o, len - w);
      out.set(chunks[i]!.subarray(o, o + take), w);
      w += take; i++; o = 0;
    }
    return out;
  }

  /** Drop `n` bytes from the front (cumulatively acknowledged). */
  consume(n: number): void {
    if (n <= 0) return;
    this.front += n;
    const st = this.st;
    if (st === null) return;
    if (this.front === this.end) {
      // Drained (everything acknowledged): give the storage back. A store of one chunk (a request/response
      // connection's, one response per flight) is kept among the process's spares, its lists reused by the next
      // buffer that starts; no view handed out is affected (the chunk itself is dropped, never reused).
      this.st = null;
      if (spareSendStores.length < SPARE_SEND_STORES && st.chunks.length === 1) {
        st.chunks[0] = EMPTY; st.stage = null; st.viewOf = null; st.viewBuf = null; spareSendStores.push(st);
      }
      return;
    }
    while (st.head < st.chunks.length && st.starts[st.head]! + st.lens[st.head]! <= this.front) {
      if (st.chunks[st.head] === st.stage) st.stage = null;
      if (st.chunks[st.head] === st.viewOf) { st.viewOf = null; st.viewBuf = null; }
      st.chunks[st.head] = EMPTY;
      st.head++;
    }
    if (st.head > 64 && st.head * 2 > st.chunks.length) {
      st.chunks = st.chunks.slice(st.head); st.lens = st.lens.slice(st.head); st.starts = st.starts.slice(st.head);
      st.cursor = Math.max(0, st.cursor - st.head);
      st.head = 0;
    }
  }
}

/**
 * Copies chunk i from `off` and the small chunks after it (up to COALESCE_BLOCK, never the staging chunk unless
 * needed) into one new chunk that replaces them, and returns its first `len` bytes. A big chunk (many segments
 * long) that is needed to reach `len` gives only its first bytes and stays, narrowed. Each byte is copied about
 * once, and one allocation serves many segments. Views handed out before stay valid: old chunks are only
 * dropped from the list or narrowed, never written.
 */
function coalesce(st: SendStore, i: number, off: number, len: number): Uint8Array {
  const chunks = st.chunks, lens = st.lens, starts = st.starts;
  let j = i + 1; // one past the last chunk taken whole
  let total = lens[i]! - off;
  let part = 0; // bytes taken from the front of chunk j
  while (j < chunks.length) {
    const l = lens[j]!;
    const stop = l >= BIG_CHUNK_SEGMENTS * len || total + l > COALESCE_BLOCK;
    if (total >= len) {
      if (stop || chunks[j] === st.stage) break;
    } else if (stop) {
      part = len - total;
      break;
    }
    total += l;
    j++;
  }
  const block = new Uint8Array(total + part);
  let w = 0;
  for (let k = i; k < j; k++) {
    const from = k === i ? off : 0;
    block.set(chunks[k]!.subarray(from, lens[k]!), w);
    w += lens[k]! - from;
    if (chunks[k] === st.stage) st.stage = null; // its bytes moved: small writes start a new stage
  }
  if (part > 0) {
    block.set(chunks[j]!.subarray(0, part), w);
    if (chunks[j] === st.stage) st.stage = null;
    chunks[j] = chunks[j]!.subarray(part);
    lens[j]! -= part;
    starts[j]! += part;
  }
  const start = starts[i]! + off;
  // Chunk i keeps its first `off` bytes (already sent, maybe still referenced), or goes when off is 0.
  const keep = off > 0 ? 1 : 0;
  if (keep) lens[i] = off;
  chunks.splice(i + keep, j - i - keep, block);
  lens.splice(i + keep, j - i - keep, total + part);
  starts.splice(i + keep, j - i - keep, start);
  st.cursor = i + keep;
  return block.subarray(0, len);
}

/** A receive buffer's queues, which exist only while data is held (in order or out of order). */
class RecvStore {
  /** In-order views for the application in queue[qhead, qtail); the slots beyond qtail hold EMPTY (capacity kept). */
  queue: Uint8Array[] = NO_CHUNKS;
  qhead = 0;
  qtail = 0;
  oooStart: number[] = NO_NUMBERS;
  oooData: Uint8Array[] = NO_CHUNKS;
  oooBytes = 0;
  /**
   * The SACK blocks to report, most recently changed first, as [left, right) absolute offsets, at most four
   * (RFC 2018 §4; Linux's selective_acks): a block that receives data moves to the front, a new one goes in front
   * and the oldest of five is forgotten.
   */
  sacks: number[] = NO_NUMBERS;
}

/**
 * One drained store, kept for the next receive buffer that takes data in. A bulk receiver reads everything at
 * every batch, and dropping its store then (so an idle connection holds nothing) cost a store and a queue array
 * per batch: ~60 B of garbage per received segment. The spare is the process's, not a connection's: idle
 * connections still hold no buffer memory. Only a small queue is kept (a long backlog's array is let go).
 */
let spareStore: RecvStore | null = null;
const SPARE_QUEUE_MAX = 1024;

/** Received data: an in-order queue for the application, plus out-of-order segments awaiting the gap (RFC 9293 §3.10.7.4 seventh; RFC 2018). */
export class ReceiveBuffer {
  /** The queues, while data is held (RecvStore); null when there is none. */
  private st: RecvStore | null = null;
  /** In-order bytes waiting for the application. */
  length = 0;
  /** Absolute offset of RCV.NXT (next in-order byte expected). */
  nextAbs = 0;
  /**
   * A duplicate to report once as the first SACK block of the next segment (D-SACK, RFC 2883 §4), in sequence
   * numbers [dsackLeft, dsackRight); dsackRight -1: none (recovery/dsack.ts sets it, send.ts makeRaw sends it).
   */
  dsackLeft = -1;
  dsackRight = -1;

  // The store's fields under their names (the store is created by the first write, dropped by release()).
  /** Out-of-order segments, sorted by start, non-overlapping, never adjacent-merged (kept as received). */
  get oooStart(): number[] { return this.st === null ? NO_NUMBERS : this.st.oooStart; }
  set oooStart(v: number[]) { this.store().oooStart = v; }
  get oooData(): Uint8Array[] { return this.st === null ? NO_CHUNKS : this.st.oooData; }
  set oooData(v: Uint8Array[]) { this.store().oooData = v; }
  get oooBytes(): number { return this.st === null ? 0 : this.st.oooBytes; }
  set oooBytes(v: number) { this.store().oooBytes = v; }
  private store(): RecvStore {
    if (this.st === null) {
      if (spareStore !== null) { this.st = spareStore; spareStore = null; } else this.st = new RecvStore();
    }
    return this.st;
  }
  /**
   * Nothing held in order or out of order any more: drop the store (the SACK list only matters while blocks are
   * held); it becomes the spare if there is none and its queue is small.
   */
  private release(): void {
    const st = this.st;
    if (st === null || st.qhead !== st.qtail || st.oooStart !== NO_NUMBERS) return;
    this.st = null;
    st.qhead = st.qtail = 0;
    st.sacks = NO_NUMBERS;
    if (spareStore === null && st.queue.length <= SPARE_QUEUE_MAX) spareStore = st;
  }

  get hasOutOfOrder(): boolean { const st = this.st; return st !== null && st.oooStart.length > 0; }

  /** Nothing is allocated: no queued data, no out-of-order blocks (a new or drained buffer). */
  get idle(): boolean { return this.st === null; }

  /** SACK blocks the next ACK can report (at most four; the sender's segments leave room for them). */
  get sackBlockCount(): number { return this.st === null ? 0 : this.st.sacks.length >> 1; }

  /**
   * Accept a segment's data at absolute offset `at` (may overlap what we have). Returns bytes that became
   * in-order (advancing nextAbs).
   */
  insert(at: number, data: Uint8Array): number {
    let n = data.length;
    if (at < this.nextAbs) {
      const skip = this.nextAbs - at;
      if (skip >= n) return 0;
      data = data.subarray(skip); at = this.nextAbs; n = data.length;
    }
    // The in-order path reads the store directly (no accessors): it runs for every data segment.
    const st = this.st;
    const ooo = st !== null && st.oooStart.length > 0;
    if (at === this.nextAbs && !ooo) {
      this.pushInOrder(data);
      return n;
    }
    if (at > this.nextAbs || ooo) {
      // Only data beyond RCV.NXT is out of order and reported: in-order data that arrives while blocks are held
      // changes no block's recency (Linux takes it on its in-order path).
      if (at > this.nextAbs) this.noteSackBlock(at, at + n);
      this.insertOoo(at, data);
      return this.drain();
    }
    return 0;
  }

  private pushInOrder(d: Uint8Array): void {
    const st = this.store();
    if (st.queue === NO_CHUNKS) st.queue = [];
    st.queue[st.qtail++] = d; // overwrites an EMPTY slot of a reused queue, else appends
    this.length += d.length;
    this.nextAbs += d.length;
  }

  private insertOoo(at: number, data: Uint8Array): void {
    if (this.oooStart === NO_NUMBERS) { this.oooStart = []; this.oooData = []; }
    // Trim against existing blocks so stored blocks never overlap.
    let end = at + data.length;
    const starts = this.oooStart;
    const datas = this.oooData;
    // Find insertion index: first block with start >= at (binary search: hundreds of blocks are held behind a
    // loss at 200 Mbit/s, and every out-of-order segment comes here).
    let i = 0, hi = starts.length;
    while (i < hi) { const mid = (i + hi) >> 1; if (starts[mid]! < at) i = mid + 1; else hi = mid; }
    // Overlap with previous block?
    if (i > 0) {
      const pEnd = starts[i - 1]! + datas[i - 1]!.length;
      if (pEnd >= end) return;
      if (pEnd > at) { data = data.subarray(pEnd - at); at = pEnd; }
    }
    // Remove/trim following blocks covered by this one.
    while (i < starts.length && starts[i]! < end) {
      const bEnd = starts[i]! + datas[i]!.length;
      if (bEnd <= end) {
        this.oooBytes -= datas[i]!.length;
        starts.splice(i, 1); datas.splice(i, 1);
      } else {
        // Keep the existing block, clip ours.
        data = data.subarray(0, starts[i]! - at);
        end = at + data.length;
        break;
      }
    }
    // Entirely a duplicate of held data (its block still became the most recent one: noteSackBlock).
    if (data.length === 0) return;
    // Beyond every held block (the common case while a hole is open): push, no splice's result array.
    if (i === starts.length) { starts.push(at); datas.push(data); } else { starts.splice(i, 0, at); datas.splice(i, 0, data); }
    this.oooBytes += data.length;
  }

  /**
   * Out-of-order data [at, end) arrived (new or duplicate): the block it extends or touches moves to the front and
   * swallows any other block it now reaches; otherwise a new block goes in front and the fifth is forgotten. RFC 2018
   * §4 asks for the block holding the segment that triggered the ACK first, then the most recently reported ones;
   * this is how Linux keeps that order (tcp_sack_new_ofo_skb, tcp_sack_maybe_coalesce), so the blocks an ACK
   * carries are the kernel's, and a block pushed out of the four is not reported again until it changes.
   */
  private noteSackBlock(at: number, end: number): void {
    const st = this.store();
    if (st.sacks === NO_NUMBERS) st.sacks = [];
    const s = st.sacks;
    for (let i = 0; i < s.length; i += 2) {
      if (at <= s[i + 1]! && s[i]! <= end) {
        const left = Math.min(at, s[i]!), right = Math.max(end, s[i + 1]!);
        for (let j = i; j > 0; j -= 2) { s[j] = s[j - 2]!; s[j + 1] = s[j - 1]!; }
        s[0] = left; s[1] = right;
        for (let j = 2; j < s.length;) {
          if (s[j]! <= s[1]! && s[0]! <= s[j + 1]!) {
            s[0] = Math.min(s[0]!, s[j]!); s[1] = Math.max(s[1]!, s[j + 1]!);
            s.splice(j, 2);
          } else j += 2;
        }
        return;
      }
    }
    if (s.length >= 8) s.length = 6;
    s.unshift(at, end);
  }

  /** Move blocks that now start at nextAbs into the in-order queue. */
  private drain(): number {
    let moved = 0;
    while (this.oooStart.length > 0 && this.oooStart[0]! <= this.nextAbs) {
      const s = this.oooStart.shift()!;
      let d = this.oooData.shift()!;
      this.oooBytes -= d.length;
      if (s < this.nextAbs) d = d.subarray(Math.min(d.length, this.nextAbs - s));
      if (d.length) { this.pushInOrder(d); moved += d.length; }
    }
    if (moved > 0 && this.st !== null) {
      // Blocks RCV.NXT now covers are no longer reported (Linux tcp_sack_remove).
      const s = this.st.sacks;
      for (let j = 0; j < s.length;) { if (s[j]! <= this.nextAbs) s.splice(j, 2); else j += 2; }
    }
    if (this.oooStart.length === 0 && this.oooStart !== NO_NUMBERS) {
      this.oooStart = NO_NUMBERS; this.oooData = NO_CHUNKS;
      if (this.st !== null) this.st.sacks = NO_NUMBERS;
      this.release();
    }
    return moved;
  }

  /** The first held out-of-order range overlapping [at, end) (absolute offsets), as [from, to), or null. */
  oooOverlap(at: number, end: number): [number, number] | null {
    const starts = this.oooStart, datas = this.oooData;
    // From the first block ending after `at` (blocks are sorted and disjoint, so their ends are too): the blocks
    // before it cannot overlap, and an out-of-order segment usually lies beyond them all.
    let lo = 0, hi = starts.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (starts[mid]! + datas[mid]!.length <= at) lo = mid + 1; else hi = mid; }
    for (let i = lo; i < starts.length && starts[i]! < end; i++) {
      const from = Math.max(at, starts[i]!), to = Math.min(end, starts[i]! + datas[i]!.length);
      if (from < to) {
        // Extend over adjacent held blocks the segment also covers (blocks are kept as received, unmerged).
        let t = to;
        for (let j = i + 1; j < starts.length && starts[j] === starts[j - 1]! + datas[j - 1]!.length && t === starts[j] && t < end; j++) {
          t = Math.min(end, starts[j]! + datas[j]!.length);
        }
        return [from, t];
      }
    }
    return null;
  }

  /**
   * The SACK blocks for the next ACK in absolute offsets, at most `max`, written to `out` from index `at` (returns
   * how many edges, twice the blocks): the most recently changed first (noteSackBlock). Built for every ACK while
   * a hole is open, so it only copies the list.
   */
  sackRanges(max: number, out: Float64Array, at: number): number {
    if (this.st === null || max <= 0) return 0;
    const s = this.st.sacks;
    const k = Math.min(s.length, 2 * max);
    for (let i = 0; i < k; i++) out[at + i] = s[i]!;
    return k;
  }

  /** Take up to `max` in-order bytes (a view when possible). */
  read(max = Infinity): Uint8Array {
    if (this.length === 0) return EMPTY;
    const st = this.st!;
    let head = st.queue[st.qhead]!;
    // Payloads that lie one after the other in one buffer (a link that packs a connection's segments contiguously:
    // Network's typed segments) are taken as one view: the application gets one chunk instead of one per segment.
    // Only memory the queued views already cover, in stream order, so the view shows exactly those bytes.
    if (st.qhead + 1 < st.qtail && head.length < max) head = this.joinAdjacent(st, head, max);
    if (head.length <= max) {
      st.queue[st.qhead] = EMPTY;
      st.qhead++;
      this.length -= head.length;
      // Everything read: give the store back (an idle connection holds no buffer memory).
      if (this.length === 0) { st.qhead = st.qtail = 0; this.release(); return head; }
      if (st.qhead > 256 && st.qhead * 2 > st.qtail) { st.queue = st.queue.slice(st.qhead, st.qtail); st.qtail -= st.qhead; st.qhead = 0; }
      return head;
    }
    const part = head.subarray(0, max);
    st.queue[st.qhead] = head.subarray(max);
    this.length -= max;
    return part;
  }

  /**
   * `head` and the queued views right after it that continue it in the same buffer (each starting where the one
   * before ends), up to `max` bytes, as one view in the head's slot; `head` itself when the next does not continue it.
   */
  private joinAdjacent(st: RecvStore, head: Uint8Array, max: number): Uint8Array {
    const buf = head.buffer;
    let end = head.byteOffset + head.length;
    let i = st.qhead + 1;
    for (; i < st.qtail; i++) {
      const d = st.queue[i]!;
      if (d.buffer !== buf || d.byteOffset !== end || end + d.length - head.byteOffset > max) break;
      end += d.length;
    }
    if (i === st.qhead + 1) return head;
    // The run's last slot takes the joined view and becomes the head; the slots before it are read (EMPTY).
    for (let k = st.qhead; k < i - 1; k++) st.queue[k] = EMPTY;
    const joined = new Uint8Array(buf, head.byteOffset, end - head.byteOffset);
    st.qhead = i - 1;
    st.queue[st.qhead] = joined;
    return joined;
  }

  /** Discard everything (connection reset). */
  clear(): void {
    this.st = null; this.length = 0;
    this.dsackRight = -1;
  }
}
