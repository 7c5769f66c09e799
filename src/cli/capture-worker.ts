/**
 * Capture reading on a second thread for `synack analyze`: a worker reads the files, splits the records
 * (src/wire/capture.ts) and reads ordinary TCP packets' fields with the analyzer's fast path
 * (src/analyze/fastpath.ts: header checks and the TCP checksum), and hands them over in batches of numbers
 * (transferred, not copied); other records travel as their bytes and are decoded on the analyzing thread as
 * before. The analysis sees the same records in the same order, so its output is the same. A damaged capture
 * stops the worker after the records before the damage, with the reader's error. This module is also the
 * worker's entry point (selected by workerData.role).
 */
import { openSync, readSync, closeSync } from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { CaptureReader, type CaptureRecordView } from '../wire/capture.js';
import { WireError, type WireLayer } from '../wire/errors.js';
import { PacketFields, parseFastAt } from '../analyze/fastpath.js';

const ROLE = 'synack-analyze-capture';
/** Records per batch. */
const BATCH = 4096;
/** 32-bit slots per record. */
const STRIDE = 21;
/** Batches the worker may have in flight before it waits for the analysis. */
const CREDITS = 4;
const READ_SIZE = 1 << 20;
// Slot 0 of a record.
const FAST = 0;
const RAW = 1;

/** One batch: records of one file, in order; `end` closes the file (with its error, if any). */
export interface RecordBatch {
  file: number;
  count: number;
  /** STRIDE 32-bit slots per record (integers, so the analyzer's fields keep their small-integer representation). */
  ints: Int32Array;
  /** Per record, the timestamp's seconds and the record's byte offset in its file (either may exceed 2^32). */
  wide: Float64Array;
  /** Per record, 16 bytes of source and 16 of destination address (fast records). */
  addrs: Uint8Array;
  /** Bytes of the raw records. */
  raw: Uint8Array;
  /** Bytes of the file read so far (progress). */
  bytesRead: number;
  end: boolean;
  error: { wire: boolean; layer: string; code: string; message: string; offset: number } | null;
  /** With `end`: the reader's header warnings for the file (CaptureReader.warnings). */
  warnings?: string[];
}

/** What the analyzing thread does with a batch's records. */
export interface RecordSink {
  /** An ordinary TCP packet already parsed (fields in `pf`, addresses in pf.srcBuf/pf.dstBuf). */
  parsed(frame: number, tsSec: number, tsNsec: number, pf: PacketFields): void;
  /** Any other record (the analyzer decodes it as usual). */
  record(v: CaptureRecordView): void;
}

/** Replays a batch into `sink`, record by record; returns the last record's frame number in its file (0: none). */
/** The first payload bytes of the record being replayed (PacketFields.payBuf; caplen bounds what is valid). */
const head = new Uint8Array(8);

export function replay(b: RecordBatch, sink: RecordSink, pf: PacketFields, v: CaptureRecordView, frameBase: number): number {
  const n = b.ints;
  // seq, ack and the original length are unsigned 32-bit.
  const u = new Uint32Array(n.buffer, n.byteOffset, n.length);
  const w = b.wide;
  pf.srcBuf = b.addrs;
  pf.dstBuf = b.addrs;
  pf.mf = false;
  for (let i = 0; i < b.count; i++) {
    const o = i * STRIDE;
    const frame = n[o + 1]! + frameBase;
    if (n[o] === FAST) {
      pf.srcPort = n[o + 4]!;
      pf.dstPort = n[o + 5]!;
      pf.seq = u[o + 6]!;
      pf.ack = u[o + 7]!;
      pf.flags = n[o + 8]!;
      pf.window = n[o + 9]!;
      pf.wscale = n[o + 10]!;
      pf.len = n[o + 11]!;
      pf.caplen = n[o + 12]!;
      pf.ipTotalLength = n[o + 13]!;
      pf.ipChecksumOk = n[o + 14] === 1;
      pf.verifiable = n[o + 15] === 1;
      pf.tcpChecksumOk = n[o + 16] === 1;
      pf.version = n[o + 17]!;
      pf.addrLen = n[o + 18]!;
      pf.srcOff = i * 32;
      pf.dstOff = i * 32 + 16;
      if (pf.caplen > 0) {
        const h0 = n[o + 19]!;
        const h1 = n[o + 20]!;
        head[0] = h0 >>> 24; head[1] = h0 >>> 16; head[2] = h0 >>> 8; head[3] = h0;
        head[4] = h1 >>> 24; head[5] = h1 >>> 16; head[6] = h1 >>> 8; head[7] = h1;
        pf.payBuf = head;
        pf.payOff = 0;
      }
      sink.parsed(frame, w[2 * i]!, n[o + 3]!, pf);
    } else {
      v.frame = frame;
      v.tsSec = w[2 * i]!;
      v.tsNsec = n[o + 3]!;
      v.linkType = n[o + 4]!;
      v.interfaceId = n[o + 5]!;
      v.origLength = u[o + 6]!;
      v.offset = w[2 * i + 1]!;
      v.buf = b.raw;
      v.start = n[o + 8]!;
      v.length = n[o + 9]!;
      sink.record(v);
    }
  }
  return b.count > 0 ? n[(b.count - 1) * STRIDE + 1]! : 0;
}

/** The reader's error as the analyzing thread would have caught it. */
export function batchError(e: NonNullable<RecordBatch['error']>): Error {
  if (e.wire) return new WireError(e.layer as WireLayer, e.code, e.message, e.offset);
  return Object.assign(new Error(e.message), e.code ? { code: e.code } : {});
}

/** Main-thread side: the batches of `files`, in order, as an async iterator. */
export class CaptureWorker {
  private readonly worker: Worker;
  private readonly ready: RecordBatch[] = [];
  private wake: (() => void) | null = null;
  private failure: Error | null = null;
  private exited = false;

  constructor(files: string[]) {
    const self = import.meta.url;
    if (self.endsWith('.ts')) {
      // Running from source under tsx (tests, benchmarks): the worker must register tsx's loader itself.
      const api = import.meta.resolve('tsx/esm/api');
      this.worker = new Worker(
        `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(self)}); });`,
        { eval: true, workerData: { role: ROLE, files } },
      );
    } else {
      this.worker = new Worker(new URL(self), { workerData: { role: ROLE, files } });
    }
    this.worker.on('message', (b: RecordBatch) => { this.ready.push(b); this.poke(); });
    this.worker.on('error', (e: Error) => { this.failure = e; this.poke(); });
    this.worker.on('exit', () => { this.exited = true; this.poke(); });
  }

  /** The next batch (the caller stops after the last file's `end`), and a credit back to the worker for it. */
  async next(): Promise<RecordBatch> {
    for (;;) {
      const b = this.ready.shift();
      if (b !== undefined) {
        this.worker.postMessage('credit');
        return b;
      }
      if (this.failure) throw this.failure;
      if (this.exited) throw new Error('the capture worker stopped before the end of its input');
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}

// Worker side.
if (!isMainThread && (workerData as { role?: string } | null)?.role === ROLE) {
  const port = parentPort!;
  let credits = CREDITS;
  let waiting: (() => void) | null = null;
  port.on('message', () => {
    credits++;
    const w = waiting;
    waiting = null;
    w?.();
  });
  const files = (workerData as { files: string[] }).files;
  const pf = new PacketFields();
  const v: CaptureRecordView = {
    frame: 0, tsSec: 0, tsNsec: 0, linkType: 0, interfaceId: 0, buf: new Uint8Array(0), start: 0, length: 0, origLength: 0, offset: 0,
  };
  let nums = new Int32Array(BATCH * STRIDE);
  let u32 = new Uint32Array(nums.buffer);
  let wide = new Float64Array(BATCH * 2);
  let addrs = new Uint8Array(BATCH * 32);
  let raw = new Uint8Array(1 << 16);
  let rawLen = 0;
  let count = 0;
  let bytesRead = 0;

  const send = async (file: number, end: boolean, error: RecordBatch['error'], warnings?: string[]): Promise<void> => {
    while (credits === 0) await new Promise<void>((resolve) => { waiting = resolve; });
    credits--;
    const b: RecordBatch = { file, count, ints: nums, wide, addrs, raw: raw.subarray(0, rawLen), bytesRead, end, error };
    if (warnings !== undefined && warnings.length > 0) b.warnings = warnings;
    port.postMessage(b, [nums.buffer, wide.buffer, addrs.buffer, raw.buffer]);
    nums = new Int32Array(BATCH * STRIDE);
    u32 = new Uint32Array(nums.buffer);
    wide = new Float64Array(BATCH * 2);
    addrs = new Uint8Array(BATCH * 32);
    raw = new Uint8Array(1 << 16);
    rawLen = 0;
    count = 0;
  };

  /** The current record into the batch: its parsed fields, or its bytes. */
  const take = (): void => {
    const o = count * STRIDE;
    nums[o + 1] = v.frame;
    wide[2 * count] = v.tsSec;
    nums[o + 3] = v.tsNsec;
    if (parseFastAt(v.linkType, v.buf, v.start, v.start + v.length, pf, true)) {
      nums[o] = FAST;
      nums[o + 4] = pf.srcPort;
      nums[o + 5] = pf.dstPort;
      u32[o + 6] = pf.seq;
      u32[o + 7] = pf.ack;
      nums[o + 8] = pf.flags;
      nums[o + 9] = pf.window;
      nums[o + 10] = pf.wscale;
      nums[o + 11] = pf.len;
      nums[o + 12] = pf.caplen;
      nums[o + 13] = pf.ipTotalLength;
      nums[o + 14] = pf.ipChecksumOk ? 1 : 0;
      nums[o + 15] = pf.verifiable ? 1 : 0;
      nums[o + 16] = pf.tcpChecksumOk ? 1 : 0;
      nums[o + 17] = pf.version;
      nums[o + 18] = pf.addrLen;
      // The payload's first 8 bytes (zero-padded): all service detection looks at.
      if (pf.caplen > 0) {
        let h0 = 0;
        let h1 = 0;
        const p = pf.payBuf;
        const at = pf.payOff;
        const k = pf.caplen < 8 ? pf.caplen : 8;
        for (let i = 0; i < k; i++) {
          if (i < 4) h0 |= p[at + i]! << (24 - 8 * i);
          else h1 |= p[at + i]! << (56 - 8 * i);
        }
        nums[o + 19] = h0;
        nums[o + 20] = h1;
      }
      const a = count * 32;
      for (let i = 0; i < pf.addrLen; i++) {
        addrs[a + i] = pf.srcBuf[pf.srcOff + i]!;
        addrs[a + 16 + i] = pf.dstBuf[pf.dstOff + i]!;
      }
    } else {
      nums[o] = RAW;
      nums[o + 4] = v.linkType;
      nums[o + 5] = v.interfaceId;
      u32[o + 6] = v.origLength;
      wide[2 * count + 1] = v.offset;
      if (rawLen + v.length > raw.length) {
        const grown = new Uint8Array(Math.max(raw.length * 2, rawLen + v.length));
        grown.set(raw.subarray(0, rawLen));
        raw = grown;
      }
      raw.set(v.buf.subarray(v.start, v.start + v.length), rawLen);
      nums[o + 8] = rawLen;
      nums[o + 9] = v.length;
      rawLen += v.length;
    }
    count++;
  };

  const errorOf = (e: unknown): NonNullable<RecordBatch['error']> => {
    if (e instanceof WireError) {
      // The reader's own message, without the layer prefix and offset suffix WireError adds.
      const prefix = `${e.layer}: `;
      const suffix = ` (at byte ${e.offset})`;
      const inner = e.message.startsWith(prefix) && e.message.endsWith(suffix) ? e.message.slice(prefix.length, -suffix.length) : e.message;
      return { wire: true, layer: e.layer, code: e.code, message: inner, offset: e.offset };
    }
    const x = e as { code?: unknown; message?: unknown };
    return { wire: false, layer: '', code: typeof x?.code === 'string' ? x.code : '', message: String(x?.message ?? e), offset: 0 };
  };

  const run = async (): Promise<void> => {
    const chunk = Buffer.allocUnsafe(READ_SIZE);
    for (let file = 0; file < files.length; file++) {
      const reader = new CaptureReader();
      bytesRead = 0;
      let error: RecordBatch['error'] = null;
      let fd = -1;
      try {
        fd = openSync(files[file]!, 'r');
        for (;;) {
          const got = readSync(fd, chunk, 0, READ_SIZE, null);
          if (got === 0) break;
          bytesRead += got;
          reader.push(chunk.subarray(0, got));
          while (reader.nextView(v)) {
            take();
            // The batch's address and raw bytes are copies: the reader's buffer may move on the next push.
            if (count === BATCH) await send(file, false, null);
          }
        }
        reader.end();
        while (reader.nextView(v)) {
          take();
          if (count === BATCH) await send(file, false, null);
        }
      } catch (e) {
        error = errorOf(e);
      } finally {
        if (fd >= 0) closeSync(fd);
      }
      await send(file, true, error, reader.warnings);
      if (error) break;
    }
  };
  void run().then(() => port.close());
}
