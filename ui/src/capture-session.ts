/**
 * Reads one or more capture files chunk by chunk through src/wire's CaptureReader into src/analyze's
 * streaming Analyzer, the way `synack analyze` does, and keeps each connection's ladder trace so the page
 * can open it. A structural error (truncated file, broken block) stops reading that file but keeps every
 * connection read so far, with the error reported; a file that is not a capture at all is refused.
 */
import { explainOffload } from './checksum-offload.js';
import { CaptureReader } from '../../src/wire/capture.js';
import { maybeGunzip } from '../../src/wire/gzip.js';
import { decapsulate, isSupportedLinkType } from '../../src/wire/linktypes.js';
import { WireError } from '../../src/wire/errors.js';
import { Analyzer } from '../../src/analyze/analyzer.js';
import { toTrace, type AnomalyReport, type ConnectionReport, type SummaryReport } from '../../src/analyze/report.js';
import type { Trace } from '../../src/wire/trace.js';

export interface CaptureSource {
  name: string;
  size: number;
  /** Yields the file's bytes in order. */
  chunks(): AsyncIterable<Uint8Array>;
}

export interface CaptureProgress { bytes: number; total: number; packets: number; connections: number; file: string }

export interface CaptureOutcome {
  summary: SummaryReport;
  anomalies: AnomalyReport[];
  /** A clear message when reading stopped early (connections read so far are kept). */
  error: string | null;
  malformed: Array<{ frame: number; offset: number; message: string }>;
}

/** Trace entries kept in total; past this, connections are still listed but cannot be opened as ladders. */
export const MAX_TRACE_ENTRIES = 3_000_000;
/** IP datagram bytes kept for the packet detail pane; past this, segments show their TCP fields only. */
export const MAX_RAW_BYTES = 192 << 20;

export class CaptureSession {
  readonly traces = new Map<string, Trace>();
  readonly reports: ConnectionReport[] = [];
  /** Each frame's IP datagram (a copy), by frame number, for the detail pane. */
  private readonly rawByFrame = new Map<number, Uint8Array>();
  private rawBytes = 0;
  private keptEntries = 0;
  droppedTraces = 0;

  /** A connection's ladder trace and, per entry, its IP datagram (null when not kept). */
  traceWithRaw(uid: string): { trace: Trace; raw: Array<Uint8Array | null> } | null {
    const trace = this.traces.get(uid);
    if (!trace) return null;
    const raw = trace.entries.map((e) => (e.frame !== undefined ? this.rawByFrame.get(e.frame) ?? null : null));
    // A partial checksum left for offload is not corruption: say so, as Wireshark flags nothing by default.
    return { trace: explainOffload(trace, raw), raw };
  }

  private keepRaw(frame: number, linkType: number, data: Uint8Array): void {
    if (this.rawBytes >= MAX_RAW_BYTES || !isSupportedLinkType(linkType)) return;
    let ip: Uint8Array | null;
    try { ip = decapsulate(linkType, data); } catch { return; } // the analyzer counts it as malformed
    if (!ip) return;
    const copy = ip.slice();
    this.rawByFrame.set(frame, copy);
    this.rawBytes += copy.length;
  }

  /**
   * Analyze the sources in order as one capture (frame numbers continue across files). `onConnections`
   * gets finished connections in batches; `onProgress` at most every `progressEvery` bytes.
   */
  async run(sources: CaptureSource[], cb: { onConnections?: (rows: ConnectionReport[]) => void; onProgress?: (p: CaptureProgress) => void } = {}, progressEvery = 1 << 20): Promise<CaptureOutcome> {
    let batch: ConnectionReport[] = [];
    const analyzer = new Analyzer({
      keepTrace: true,
      onConnection: (rep, conn) => {
        this.reports.push(rep);
        batch.push(rep);
        const n = conn.trace?.length ?? 0;
        if (this.keptEntries + n <= MAX_TRACE_ENTRIES) {
          this.traces.set(rep.uid, toTrace(conn, rep));
          this.keptEntries += n;
        } else this.droppedTraces++;
      },
    });
    const total = sources.reduce((s, x) => s + x.size, 0);
    let done = 0;
    let sinceProgress = 0;
    let error: string | null = null;
    let frameBase = 0;
    const flushBatch = () => { if (batch.length) { cb.onConnections?.(batch); batch = []; } };
    const progress = (file: string) => cb.onProgress?.({ bytes: done, total, packets: analyzer.stats.packets, connections: analyzer.stats.connections, file });
    for (const src of sources) {
      const reader = new CaptureReader();
      let lastFrame = 0;
      const drain = (): void => {
        for (;;) {
          const rec = reader.next();
          if (rec === null) break;
          lastFrame = rec.frame;
          if (frameBase) rec.frame += frameBase;
          this.keepRaw(rec.frame, rec.linkType, rec.data);
          analyzer.packet(rec);
        }
      };
      try {
        // gzip-compressed captures (.pcap.gz) are decompressed while they stream in, as the CLI reads them.
        for await (const chunk of maybeGunzip(src.chunks())) {
          reader.push(chunk);
          drain();
          done = Math.min(total, done + chunk.length); // decompressed bytes may outnumber the file's
          sinceProgress += chunk.length;
          if (sinceProgress >= progressEvery) { sinceProgress = 0; flushBatch(); progress(src.name); }
        }
        reader.end();
        drain();
      } catch (e) {
        if (e instanceof WireError && e.code === 'not-a-capture') {
          // The reader's message already says "not a pcap or pcapng capture": keep only its detail.
          const detail = e.message.replace(/^pcap(ng)?: /, '').replace(/not a pcap or pcapng capture\s*/, '').replace(/^\((.*)\)$/, '$1').replace(/:\s*$/, '').trim();
          error = `${src.name}: not a pcap or pcapng file${detail ? ` (${detail})` : ''}`;
        } else if (e instanceof WireError) {
          error = `${src.name}: ${e.message}; connections read before it are kept`; // the message names the byte offset
        } else {
          error = `${src.name}: ${e instanceof Error ? e.message : String(e)}`;
        }
      }
      frameBase += lastFrame;
      if (error) break;
    }
    const anomalies = analyzer.finish();
    flushBatch();
    progress(sources[sources.length - 1]?.name ?? '');
    return { summary: analyzer.summary(sources.map((s) => s.name), error), anomalies, error, malformed: analyzer.malformedSamples.slice() };
  }
}

/** A source over bytes already in memory (tests, files fetched whole). */
export function bytesSource(name: string, bytes: Uint8Array, chunkSize = 1 << 20): CaptureSource {
  return {
    name, size: bytes.length,
    async *chunks() { for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.subarray(i, Math.min(bytes.length, i + chunkSize)); },
  };
}

/** A source over a browser Blob/File, read slice by slice (so a large file never sits in memory whole). */
export function blobSource(name: string, blob: Blob, chunkSize = 4 << 20): CaptureSource {
  return {
    name, size: blob.size,
    async *chunks() {
      for (let i = 0; i < blob.size; i += chunkSize) yield new Uint8Array(await blob.slice(i, Math.min(blob.size, i + chunkSize)).arrayBuffer());
    },
  };
}
