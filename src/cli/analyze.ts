/**
 * `synack analyze FILE... [--format table|ladder|json|zeek] [--filter EXPR]`: every TCP connection's
 * lifecycle from pcap/pcapng captures (`-` reads standard input). Streams: files are read in chunks and
 * connections printed as soon as they are finished.
 *
 * Exit codes: 0 success; 1 the capture was damaged (truncated: every connection seen so far is printed,
 * then the error with its byte offset); 2 usage errors, unreadable files, input that is not a capture.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { availableParallelism, loadavg } from 'node:os';
import { open } from 'node:fs/promises';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { CaptureReader, type CaptureRecordView } from '../wire/capture.js';
import { WireError } from '../wire/errors.js';
import { Analyzer } from '../analyze/analyzer.js';
import { toTrace } from '../analyze/report.js';
import { compileFilter, FilterError, type ConnectionPredicate } from '../analyze/filter.js';
import {
  describeAnomaly, FirstPacketOrder, jsonLine, tableHeader, tableRow, tableSummary, zeekFooter, zeekHeader, zeekRow,
} from '../analyze/format.js';
import { renderLadderText } from '../view/ladder-text.js';
import { parseCommand } from './args.js';
import { ParallelJsonLines } from './analyze-worker.js';
import { CaptureWorker, batchError, replay, type RecordSink } from './capture-worker.js';
import { PacketFields } from '../analyze/fastpath.js';

export interface AnalyzeIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

type Format = 'table' | 'ladder' | 'json' | 'zeek';

/** Inputs bigger than this get a progress bar (when stderr is a terminal); SYNACK_PROGRESS_MIN_BYTES overrides. */
const PROGRESS_THRESHOLD = 32 * 1024 * 1024;
const FLUSH_AT = 1 << 16;
/**
 * JSON output of inputs at least this big is formatted on a second thread (analyze-worker.ts), whose start-up
 * costs more than it saves on small captures. SYNACK_JSON_WORKER_MIN_BYTES overrides the size and the
 * idle-core check (tests).
 */
const JSON_WORKER_THRESHOLD = 32 * 1024 * 1024;
/** The same for reading and parsing the capture on a second thread (SYNACK_CAPTURE_WORKER_MIN_BYTES). */
const CAPTURE_WORKER_THRESHOLD = 32 * 1024 * 1024;
/**
 * Whether a core looks idle (1-minute load average below the number of cores minus one). The worker only
 * pays when it has a core of its own: on a machine whose cores are all busy it measured slower than one
 * thread (it takes time slices from the analysis).
 */
function idleCore(): boolean {
  const cores = availableParallelism();
  return cores >= 2 && loadavg()[0]! < cores - 1;
}

/** A worker thread, or null (the work stays on this thread) where the platform cannot start one. */
function startWorker<T>(start: () => T): T | null {
  try {
    return start();
  } catch {
    return null;
  }
}

/** Batches of JSON lines waiting to be written before the analysis waits (memory stays bounded). */
const JSON_MAX_BACKLOG = 32;

function isTty(s: NodeJS.WritableStream): boolean {
  return (s as NodeJS.WritableStream & { isTTY?: boolean }).isTTY === true;
}

const READ_SIZE = 1 << 20;

/**
 * A file's bytes in chunks read into one reused buffer: the capture reader copies what it needs, so no
 * megabyte-sized buffer is allocated per read (that external-memory churn would cost garbage collections).
 */
async function* fileChunks(file: string): AsyncGenerator<Buffer> {
  const fh = await open(file, 'r');
  // Two buffers: the next read runs while the current chunk is analysed (the capture reader copies what it
  // keeps), so the analysis does not wait for the disk or the thread pool.
  const bufs = [Buffer.allocUnsafe(READ_SIZE), Buffer.allocUnsafe(READ_SIZE)];
  let k = 0;
  let pending: Promise<{ bytesRead: number }> | null = fh.read(bufs[0]!, 0, READ_SIZE, null);
  try {
    for (;;) {
      const { bytesRead } = await pending;
      pending = null;
      if (bytesRead === 0) return;
      const chunk = bufs[k]!.subarray(0, bytesRead);
      k ^= 1;
      pending = fh.read(bufs[k]!, 0, READ_SIZE, null);
      yield chunk;
    }
  } finally {
    // Stopped early (a closed output): let the read in flight finish before closing the file.
    if (pending) await pending.catch(() => undefined);
    await fh.close();
  }
}

/** gzip's magic number (RFC 1952 §2.3.1). */
function isGzipHead(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** Whether a file starts with gzip's magic number. */
function isGzipFile(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && isGzipHead(head);
  } finally {
    closeSync(fd);
  }
}

/**
 * `source` decompressed on the fly when it is gzip-compressed (a capture saved as .pcap.gz, as tshark reads
 * them), else passed through: streaming, so a large compressed capture is never held whole. The decompressor
 * lives here, at the file layer, so src/wire stays browser-clean.
 */
async function* maybeGunzip(source: AsyncIterable<Buffer | string>): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  let first = await it.next();
  while (!first.done && first.value.length === 0) first = await it.next();
  if (first.done) return;
  const head = typeof first.value === 'string' ? new TextEncoder().encode(first.value) : first.value;
  const rest = async function* (): AsyncGenerator<Uint8Array> {
    yield head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield typeof r.value === 'string' ? new TextEncoder().encode(r.value) : r.value;
    }
  };
  if (!isGzipHead(head)) {
    yield* rest();
    return;
  }
  const gunzip = Readable.from(rest(), { objectMode: false }).pipe(createGunzip());
  for await (const chunk of gunzip as AsyncIterable<Buffer>) yield chunk;
}

export async function analyzeCommand(argv: string[], io: AnalyzeIo): Promise<number> {
  const program = new Command('synack analyze')
    .description('every TCP connection\'s lifecycle from pcap/pcapng captures (- reads stdin)')
    .argument('<file...>', 'capture files (pcap or pcapng); - for standard input')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'ladder', 'json', 'zeek']).default('table'))
    .option('--filter <expr>', 'only connections matching EXPR, e.g. "close == rst-by-responder and port 443"')
    .option('--zeek-checksums', 'drop packets with bad TCP checksums like Zeek without -C (default: count them, analyse anyway)')
    .option('--no-progress', 'never show a progress bar');
  const early = parseCommand(program, argv, io);
  if (early !== null) return early;
  const files = program.args;
  const opts = program.opts<{ format: Format; filter?: string; zeekChecksums?: boolean; progress: boolean }>();
  const format = opts.format;
  let filter: ConnectionPredicate | null = null;
  if (opts.filter !== undefined) {
    try {
      filter = compileFilter(opts.filter);
    } catch (e) {
      if (e instanceof FilterError) { io.stderr.write(`synack analyze: ${e.message}\n`); return 2; }
      throw e;
    }
  }
  if (files.filter((f) => f === '-').length > 1) {
    io.stderr.write('synack analyze: standard input (-) can be read only once\n');
    return 2;
  }
  let totalBytes = 0;
  let anyGzip = false;
  for (const f of files) {
    if (f === '-') continue;
    try {
      const st = statSync(f);
      if (!st.isFile()) { io.stderr.write(`synack analyze: ${f}: not a regular file\n`); return 2; }
      totalBytes += st.size;
      if (isGzipFile(f)) anyGzip = true;
    } catch (e) {
      io.stderr.write(`synack analyze: ${f}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}\n`);
      return 2;
    }
  }

  let out = '';
  let mustDrain = false;
  // A reader that goes away (`synack analyze big.pcap | head`) ends the run quietly, as with other Unix tools.
  let outputClosed = false;
  let outputError: Error | null = null;
  const onOutputError = (e: NodeJS.ErrnoException): void => {
    outputClosed = true;
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') outputError = e;
  };
  io.stdout.on('error', onOutputError);
  // Headers go out with the first output, so that a refused input prints nothing on stdout.
  let headerDone = false;
  const header = (): void => {
    if (headerDone) return;
    headerDone = true;
    if (format === 'table') out = tableHeader() + out;
    if (format === 'zeek') out = zeekHeader() + out;
  };
  /** Hands pending output to stdout at once (a long-lived output string would be copied by every GC). */
  const writeOut = (): void => {
    if (out.length === 0) return;
    header();
    const chunk = out;
    out = '';
    if (outputClosed) return;
    if (!io.stdout.write(chunk)) mustDrain = true;
  };
  /** writeOut, then honour stdout's backpressure. */
  const flush = async (): Promise<void> => {
    writeOut();
    if (mustDrain && !outputClosed) {
      mustDrain = false;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          io.stdout.off('drain', done);
          io.stdout.off('error', done);
          io.stdout.off('close', done);
          resolve();
        };
        io.stdout.on('drain', done);
        io.stdout.on('error', done);
        io.stdout.on('close', done);
      });
    }
  };
  const color = isTty(io.stdout);
  let count = 0;
  // Large JSON runs: a second thread formats most of the lines (analyze-worker.ts); not with a filter, which
  // needs the report objects on this thread anyway.
  const workerMin = process.env.SYNACK_JSON_WORKER_MIN_BYTES;
  const useWorker = format === 'json' && filter === null && totalBytes > 0
    && (workerMin !== undefined ? totalBytes >= Number(workerMin) : totalBytes >= JSON_WORKER_THRESHOLD && idleCore());
  // The worker's bytes arrive between other awaits: a 'drain' may come before flush() listens for it.
  let drainHooked = false;
  const writeWorkerBytes = (chunk: Uint8Array | string): void => {
    if (outputClosed) return;
    if (!io.stdout.write(chunk)) {
      mustDrain = true;
      if (!drainHooked) {
        drainHooked = true;
        io.stdout.once('drain', () => { drainHooked = false; mustDrain = false; });
      }
    }
  };
  const lines = useWorker ? startWorker(() => new ParallelJsonLines(writeWorkerBytes)) : null;
  // Big captures from files: records read and parsed on a second thread (capture-worker.ts); standard input
  // is read here, and ladder traces need the full decoder's segments.
  const captureMin = process.env.SYNACK_CAPTURE_WORKER_MIN_BYTES;
  // (Compressed files are decompressed here, on the analyzing thread's event loop: zlib runs in the thread pool.)
  const useCaptureWorker = format !== 'ladder' && !files.includes('-') && !anyGzip && totalBytes > 0
    && (captureMin !== undefined ? totalBytes >= Number(captureMin) : totalBytes >= CAPTURE_WORKER_THRESHOLD && idleCore());
  const capture = useCaptureWorker ? startWorker(() => new CaptureWorker(files)) : null;
  const tableOrder = new FirstPacketOrder();
  try {
    return await run();
  } finally {
    await capture?.close();
    await lines?.close();
  }

  async function run(): Promise<number> {
    const analyzer = new Analyzer({
      checksums: opts.zeekChecksums ? 'zeek' : 'count',
      keepTrace: format === 'ladder',
      // The callback below uses `conn` only while it runs.
      recycle: true,
      // JSON lines formatted on the worker: no report objects on this thread.
      onFinished: lines === null ? undefined : (conn, facts, rep) => lines.add(conn, facts, rep),
      onConnection: (rep, conn) => {
        if (format === 'table') {
          // Rows in the order of first packets (FirstPacketOrder), not of finishing.
          const pass = filter === null || filter(rep);
          if (pass) count++;
          out += tableOrder.add(conn.id, pass ? tableRow(rep) : null);
          if (out.length >= FLUSH_AT) writeOut();
          return;
        }
        if (filter && !filter(rep)) return;
        count++;
        switch (format) {
          case 'json': out += jsonLine(rep); break;
          case 'zeek':
            out += zeekRow(rep, rep.reason);
            // The further rows Zeek writes when it splits on a SYN+FIN/SYN+RST synack ignores.
            for (const row of rep.zeek_splits) out += zeekRow(row);
            break;
          case 'ladder':
            out += (count > 1 ? '\n' : '') + renderLadderText(toTrace(conn, rep), { color }) + '\n';
            break;
        }
        if (out.length >= FLUSH_AT) writeOut();
      },
    });

    const threshold = Number(process.env.SYNACK_PROGRESS_MIN_BYTES ?? PROGRESS_THRESHOLD);
    const bar = opts.progress && isTty(io.stderr) && totalBytes >= threshold
      ? new cliProgress.SingleBar({
        stream: io.stderr as NodeJS.WritableStream & { isTTY: boolean } as never,
        format: 'analyzing [{bar}] {percentage}% | {value}/{total} MB | {pkts} packets',
        hideCursor: true, clearOnComplete: true,
      }, cliProgress.Presets.shades_classic)
      : null;
    bar?.start(Math.ceil(totalBytes / 1048576), 0, { pkts: 0 });
    let doneBytes = 0;

    let error: string | null = null;
    let exitCode = 0;
    let frameBase = 0;
    /** Header warnings per file (strict validation: read anyway, never silently). */
    const warnings: string[] = [];
    const pf = new PacketFields();
    const sink: RecordSink = {
      parsed: (frame, tsSec, tsNsec, fields) => analyzer.packetParsed(frame, tsSec, tsNsec, fields),
      record: (v) => analyzer.packetView(v),
    };
    // One record object for the whole run: ordinary packets are read in place.
    const rec: CaptureRecordView = {
      frame: 0, tsSec: 0, tsNsec: 0, linkType: 0, interfaceId: 0, buf: new Uint8Array(0), start: 0, length: 0, origLength: 0, offset: 0,
    };
    for (let fileIndex = 0; fileIndex < files.length; fileIndex++) {
      const file = files[fileIndex]!;
      const name = file === '-' ? '<stdin>' : file;
      let lastFrame = 0;
      try {
        if (capture !== null) {
          // Records read and parsed on the capture worker, analysed here in order.
          const before = doneBytes;
          for (;;) {
            // A turn of the event loop per batch: the JSON worker's replies and stdout's events get handled
            // (capture.next() resolves at once while the capture worker is ahead).
            await new Promise<void>((resolve) => setImmediate(resolve));
            const b = await capture.next();
            const last = replay(b, sink, pf, rec, frameBase);
            if (last > 0) lastFrame = last;
            doneBytes = before + b.bytesRead;
            bar?.update(Math.floor(doneBytes / 1048576), { pkts: analyzer.stats.packets });
            if (lines !== null && lines.backlog > JSON_MAX_BACKLOG) await lines.waitBelow(JSON_MAX_BACKLOG / 2);
            if (out.length >= FLUSH_AT || mustDrain) await flush();
            if (b.end && b.warnings) for (const w of b.warnings) warnings.push(`${name}: ${w}`);
            if (b.end && b.error) throw batchError(b.error);
            if (b.end || outputClosed) break;
          }
          frameBase += lastFrame;
          if (outputClosed) break;
          continue;
        }
        const reader = new CaptureReader();
        const input = maybeGunzip(file === '-' ? io.stdin as AsyncIterable<Buffer> : fileChunks(file));
        const drain = (): void => {
          while (reader.nextView(rec)) {
            lastFrame = rec.frame;
            if (frameBase) rec.frame += frameBase;
            analyzer.packetView(rec);
          }
        };
        for await (const bytes of input) {
          reader.push(bytes);
          drain();
          doneBytes += bytes.length;
          bar?.update(Math.floor(doneBytes / 1048576), { pkts: analyzer.stats.packets });
          if (lines !== null && lines.backlog > JSON_MAX_BACKLOG) await lines.waitBelow(JSON_MAX_BACKLOG / 2);
          if (out.length >= FLUSH_AT || mustDrain) await flush();
          if (outputClosed) break;
        }
        reader.end();
        drain();
        for (const w of reader.warnings) warnings.push(`${name}: ${w}`);
      } catch (e) {
        if (e instanceof WireError && e.code === 'not-a-capture') {
          bar?.stop();
          io.stderr.write(`synack analyze: ${name}: ${e.message.replace(/^pcap: /, '')}; refusing to analyze it\n`);
          if (out.length) await flush();
          return 2;
        }
        if ((e as NodeJS.ErrnoException | null)?.code?.startsWith?.('Z_')) {
          // zlib: a damaged or cut-short compressed file. What was read so far is reported, as for a truncated capture.
          error = `${name}: gzip: ${(e as Error).message}`;
          exitCode = 1;
        } else if ((e as NodeJS.ErrnoException | null)?.code === 'EPIPE' || outputClosed) {
          outputClosed = true; // the reader of our output went away: stop quietly
        } else if (e instanceof WireError) {
          error = `${name}: ${e.message}`;
          exitCode = 1;
        } else if (e && typeof e === 'object' && 'code' in e && typeof (e as NodeJS.ErrnoException).code === 'string') {
          error = `${name}: ${String((e as { message?: unknown }).message ?? e)}`;
          exitCode = 2;
        } else {
          throw e;
        }
      }
      frameBase += lastFrame;
      if (error || outputClosed) break;
    }
    if (!error) bar?.update(Math.ceil(totalBytes / 1048576), { pkts: analyzer.stats.packets });
    bar?.stop();

    const anomalies = analyzer.finish();
    // Every connection line goes out before the anomalies and the summary.
    await lines?.finish();
    header();
    const summary = analyzer.summary(files.map((f) => (f === '-' ? '-' : f)), error, warnings);
    switch (format) {
      case 'json':
        for (const a of anomalies) out += jsonLine(a);
        out += jsonLine(summary);
        break;
      case 'table':
        out += tableSummary(summary, anomalies);
        break;
      case 'zeek':
        out += zeekFooter();
        break;
      case 'ladder':
        if (anomalies.length) out += '\nanomalies:\n' + anomalies.map((a) => '  ' + describeAnomaly(a)).join('\n') + '\n';
        break;
    }
    await flush();
    if (analyzer.stats.malformed > 0) {
      const s = analyzer.malformedSamples[0]!;
      io.stderr.write(`synack analyze: ${analyzer.stats.malformed} malformed packet(s) skipped (first: frame ${s.frame}: ${s.message})\n`);
    }
    if (analyzer.unsupportedLinkTypes.size > 0) {
      io.stderr.write(`synack analyze: ${analyzer.stats.unsupportedLink} packet(s) on unsupported link type(s) ${[...analyzer.unsupportedLinkTypes].join(', ')} skipped\n`);
    }
    for (const w of warnings) io.stderr.write(`synack analyze: warning: ${w}\n`);
    if (error) io.stderr.write(`synack analyze: error: ${error}\n`);
    io.stdout.off('error', onOutputError);
    if (outputError) {
      io.stderr.write(`synack analyze: cannot write the output: ${(outputError as Error).message}\n`);
      return 1;
    }
    return exitCode;
  }
}
