/**
 * `synack analyze --format json` on two cores: the analyzing thread packs finished connections into numbers
 * (src/analyze/packed-report.ts, no report objects) and a worker thread turns the batches into JSON lines and
 * UTF-8 bytes, handed back without a copy (transferred). When the worker falls behind (it shares the machine with
 * everything else), the analyzing thread formats the next batch itself instead of waiting; an ordered queue
 * keeps the lines in the order the connections finished. This module is also the worker's entry point
 * (selected by workerData.role).
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { formatPacked, ReportPacker, type PackedBatch } from '../analyze/packed-report.js';
import { jsonLine } from '../analyze/format.js';
import { toReport, type ConnectionFacts, type ConnectionReport } from '../analyze/report.js';
import type { Connection } from '../analyze/connection.js';

const ROLE = 'synack-analyze-json';
/** Connections per batch. */
const BATCH = 512;
/** Batches handed to the worker and not yet back, beyond which this thread formats batches itself. */
const AHEAD = 8;

/** JSON lines of finished connections, formatted partly on a worker thread, written in order through `write`. */
export class ParallelJsonLines {
  private readonly worker: Worker;
  private readonly packer = new ReportPacker(BATCH);
  /** The current batch goes to the worker (packed) or is formatted here (text). */
  private toWorker = true;
  private text = '';
  private n = 0;
  /** Output in order; null marks a batch still at the worker (replies come back in submission order). */
  private readonly queue: Array<Uint8Array | string | null> = [];
  private head = 0;
  private atWorker = 0;
  private waiters: Array<() => void> = [];
  private failure: Error | null = null;

  constructor(private readonly write: (chunk: Uint8Array | string) => void) {
    const self = import.meta.url;
    if (self.endsWith('.ts')) {
      // Running from source under tsx (tests, benchmarks): the worker must register tsx's loader itself.
      const api = import.meta.resolve('tsx/esm/api');
      this.worker = new Worker(
        `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(self)}); });`,
        { eval: true, workerData: { role: ROLE } },
      );
    } else {
      this.worker = new Worker(new URL(self), { workerData: { role: ROLE } });
    }
    this.worker.on('message', (bytes: Uint8Array) => {
      this.atWorker--;
      let i = this.head;
      while (this.queue[i] !== null) i++;
      this.queue[i] = bytes;
      this.flushQueue();
    });
    this.worker.on('error', (e: Error) => { this.failure = e; this.wake(); });
    this.worker.on('exit', (code) => {
      if (this.atWorker > 0 && this.failure === null) {
        this.failure = new Error(`the JSON worker exited (code ${code}) with ${this.atWorker} batch(es) unformatted`);
      }
      this.wake();
    });
  }

  /** Batches formatted or in formatting and not yet written. */
  get backlog(): number { return this.queue.length - this.head; }

  /** A finished connection (the analyzer's onFinished: `report` is null unless it built one). */
  add(c: Connection, facts: ConnectionFacts, report: ConnectionReport | null): void {
    if (this.n === 0) this.toWorker = this.atWorker < AHEAD && this.failure === null;
    this.n++;
    if (!this.toWorker) this.text += jsonLine(report ?? toReport(c));
    else if (report !== null) this.packer.addLine(jsonLine(report));
    else this.packer.add(c, facts);
    if (this.n >= BATCH) this.endBatch();
  }

  /** Resolves once at most `n` batches wait to be written (bounds memory when the output or the worker is slow). */
  async waitBelow(n: number): Promise<void> {
    while (this.backlog > n) {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.failure) throw this.failure;
  }

  /** Every line written (the last partial batch included). */
  async finish(): Promise<void> {
    this.endBatch();
    await this.waitBelow(0);
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private endBatch(): void {
    if (this.n === 0) return;
    this.n = 0;
    if (this.toWorker) {
      if (this.failure) throw this.failure;
      const b = this.packer.take()!;
      this.atWorker++;
      this.queue.push(null);
      this.worker.postMessage(b, [b.nums.buffer as ArrayBuffer]);
    } else {
      this.queue.push(this.text);
      this.text = '';
      this.flushQueue();
    }
  }

  private flushQueue(): void {
    const q = this.queue;
    while (this.head < q.length && q[this.head] !== null) {
      const chunk = q[this.head]!;
      q[this.head++] = '';
      this.write(chunk);
    }
    if (this.head === q.length) {
      q.length = 0;
      this.head = 0;
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

// Worker side.
if (!isMainThread && (workerData as { role?: string } | null)?.role === ROLE) {
  const encoder = new TextEncoder();
  parentPort!.on('message', (b: PackedBatch) => {
    const bytes = encoder.encode(formatPacked(b));
    parentPort!.postMessage(bytes, [bytes.buffer]);
  });
}
