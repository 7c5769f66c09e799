/**
 * A pcapng tap: records every packet of a wire (or of any (time, bytes, direction, comment) feed) so
 * Wireshark/tshark can open it. Either streams to a file or collects the bytes in memory.
 *
 * File errors (missing directory, a directory as path, no permission, full disk) surface as a
 * TapError naming the path and the system error code.
 */
import { PcapngWriter, EPB_INBOUND, EPB_OUTBOUND, LINKTYPE_RAW } from '../wire/pcapng-writer.js';
import type { Wire, WirePacketEvent } from './wire.js';
import type { Stack } from '../stack/stack.js';

/**
 * node:fs for file mode, found at run time (Node ≥ 20.16's process.getBuiltinModule) so that this module has no
 * static Node import and bundles for browsers, where only memory mode exists.
 */
interface FsSync {
  openSync(path: string, flags: string): number;
  writeSync(fd: number, data: Uint8Array, offset: number, length: number): number;
  closeSync(fd: number): void;
}
function nodeFs(): FsSync {
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = p?.getBuiltinModule?.('node:fs') as FsSync | undefined;
  if (!fs) throw new TapError('no-file-system', undefined, 'capture files need Node.js 20.16 or later; use PcapngTap.inMemory() here');
  return fs;
}

/**
 * A capture that could not be written: `code` is the system error (ENOENT, EISDIR, EACCES, ENOSPC ...) or the
 * tap's own ('closed', 'not-in-memory', 'no-file-system', 'write-failed'); `path` names the file.
 */
export class TapError extends Error {
  /** The system error code (ENOENT, EISDIR, EACCES, ENOSPC...) or a tap code ('closed'). */
  readonly code: string;
  /** The file the tap writes, undefined in memory mode. */
  readonly path: string | undefined;
  constructor(code: string, path: string | undefined, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TapError';
    this.code = code;
    this.path = path;
  }
}

/** A packet's direction from the capturing host's point of view (the pcapng EPB flags). */
export type TapDirection = 'inbound' | 'outbound';

/** Options of PcapngTap.toFile / PcapngTap.inMemory. */
export interface TapOptions {
  /** Written into the section header (shb_userappl). */
  application?: string;
  /** Interface name shown by Wireshark (default "synack"). */
  interfaceName?: string;
  /** Interface description (if_description). */
  interfaceDescription?: string;
  /** Link type of the recorded bytes (default LINKTYPE_RAW: bare IP datagrams). */
  linkType?: number;
  /** Added to every time given to record(): virtual time 0 becomes this epoch time (default 0 = 1970-01-01). */
  startTimeMs?: number;
  /** Section comment, e.g. what was run. */
  comment?: string;
}

/** Options of PcapngTap.attachWire. */
export interface WireTapOptions {
  /** Endpoint whose point of view gives the direction flags: packets it sends are outbound, packets to it inbound. Default 0. */
  perspective?: number;
  /** Also record packets the wire lost or tail-dropped (at the time they were sent, with a comment). Default true. */
  includeDropped?: boolean;
}

/** Bytes buffered before a write() to the file. */
const FLUSH_AT = 64 * 1024;

/**
 * Records packets as a pcapng capture Wireshark and tshark open: from a Wire (attachWire), a Stack
 * (attachStack) or by hand (record). Streams to a file (toFile, Node only) or collects in memory (inMemory).
 * File errors throw a TapError naming the path and the system error code.
 *
 * ```ts
 * const tap = PcapngTap.inMemory();
 * tap.attachStack(stack);
 * // ... traffic ...
 * const pcapng = tap.close();
 * ```
 */
export class PcapngTap {
  /** The first error hit while recording from a wire observer (those cannot throw into the wire). */
  error: TapError | undefined = undefined;
  private readonly writer: PcapngWriter;
  private readonly iface: number;
  private readonly startTimeMs: number;
  private readonly path: string | undefined;
  private fd: number | undefined;
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private closed = false;
  private packets = 0;

  private constructor(path: string | undefined, fd: number | undefined, opts: TapOptions) {
    this.path = path;
    this.fd = fd;
    this.startTimeMs = opts.startTimeMs ?? 0;
    this.writer = new PcapngWriter({ application: opts.application ?? 'synack' });
    if (opts.comment !== undefined) this.writer.comment(opts.comment);
    this.iface = this.writer.addInterface({
      name: opts.interfaceName ?? 'synack',
      linkType: opts.linkType ?? LINKTYPE_RAW,
      ...(opts.interfaceDescription !== undefined ? { description: opts.interfaceDescription } : {}),
    });
  }

  /** A tap streaming to `path` (created or truncated now, so a bad path fails here). */
  static toFile(path: string, opts: TapOptions = {}): PcapngTap {
    const fs = nodeFs();
    let fd: number;
    try {
      fd = fs.openSync(path, 'w');
    } catch (e) {
      throw fsError(e, path, 'cannot create capture file');
    }
    const tap = new PcapngTap(path, fd, opts);
    tap.pull();
    return tap;
  }

  /** A tap collecting the capture in memory; read it with bytes() or close(). */
  static inMemory(opts: TapOptions = {}): PcapngTap {
    const tap = new PcapngTap(undefined, undefined, opts);
    tap.pull();
    return tap;
  }

  /** Packets recorded so far. */
  get packetCount(): number { return this.packets; }

  /** Records one packet. `timeMs` is in the feed's time base (startTimeMs is added). */
  record(timeMs: number, bytes: Uint8Array, dir?: TapDirection, comment?: string): void {
    this.checkOpen();
    const flags = dir === 'inbound' ? EPB_INBOUND : dir === 'outbound' ? EPB_OUTBOUND : undefined;
    this.writer.writePacket(this.iface, this.startTimeMs + timeMs, bytes, comment, flags);
    this.packets++;
    this.pull();
  }

  /** A comment attached to the next packet recorded (e.g. the name of a scenario starting). */
  comment(text: string): void {
    this.checkOpen();
    this.writer.comment(text);
  }

  /**
   * Records every packet of `wire`. Returns a function that stops recording. Errors while writing
   * (e.g. ENOSPC) cannot be thrown into the wire's delivery loop: recording stops, the error is kept
   * in `tap.error` and thrown by flush()/close().
   */
  attachWire(wire: Wire, opts: WireTapOptions = {}): () => void {
    const me = opts.perspective ?? 0;
    const includeDropped = opts.includeDropped ?? true;
    const stop = wire.observe((ev: WirePacketEvent) => {
      if (this.error !== undefined || this.closed) return;
      const dropped = ev.fate === 'lost' || ev.fate === 'queue-drop' || ev.fate === 'unroutable';
      if (dropped && !includeDropped) return;
      const dir: TapDirection | undefined = ev.from === me ? 'outbound' : ev.to === me ? 'inbound' : undefined;
      const comment = ev.fate === 'delivered' ? undefined : FATE_COMMENT[ev.fate];
      try {
        this.record(ev.time, ev.bytes, dir, comment);
      } catch (e) {
        this.error = e instanceof TapError ? e : new TapError('write-failed', this.path, `capture write failed: ${String(e)}`, e);
        stop();
      }
    });
    return stop;
  }

  /**
   * Records every packet `stack` sends and receives (inbound/outbound from its point of view), at the stack's
   * clock time. Returns a function that stops recording. Write errors are kept in `tap.error`, as attachWire.
   */
  attachStack(stack: Stack): () => void {
    const stop = stack.observePackets((dir, bytes, time) => {
      if (this.error !== undefined || this.closed) return;
      try {
        this.record(time, bytes, dir === 'in' ? 'inbound' : 'outbound');
      } catch (e) {
        this.error = e instanceof TapError ? e : new TapError('write-failed', this.path, `capture write failed: ${String(e)}`, e);
        stop();
      }
    });
    return stop;
  }

  /** Writes buffered bytes to the file (no-op in memory mode). */
  flush(): void {
    if (this.error !== undefined) throw this.error;
    if (this.fd === undefined) return;
    const data = concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    let off = 0;
    try {
      while (off < data.length) off += nodeFs().writeSync(this.fd, data, off, data.length - off);
    } catch (e) {
      this.error = fsError(e, this.path!, 'cannot write capture file');
      throw this.error;
    }
  }

  /** The whole capture so far (memory mode). */
  bytes(): Uint8Array {
    if (this.path !== undefined) throw new TapError('not-in-memory', this.path, `tap writes to ${this.path}; bytes() is for in-memory taps`);
    return concat(this.chunks, this.buffered);
  }

  /** Finishes the capture. File mode: flushes and closes the file. Memory mode: returns the bytes. */
  close(): Uint8Array | undefined {
    if (this.closed) return this.path === undefined ? concat(this.chunks, this.buffered) : undefined;
    this.closed = true;
    if (this.fd === undefined) return concat(this.chunks, this.buffered);
    const fd = this.fd;
    try {
      if (this.error === undefined) this.flush();
    } finally {
      this.fd = undefined;
      try { nodeFs().closeSync(fd); } catch (e) {
        // A failing close (EIO, or ENOSPC on network file systems) still means the capture may be incomplete.
        this.error ??= fsError(e, this.path!, 'cannot close capture file');
      }
    }
    if (this.error !== undefined) throw this.error;
    return undefined;
  }

  private checkOpen(): void {
    if (this.closed) throw new TapError('closed', this.path, `capture ${this.path ?? '(memory)'} is already closed`);
    if (this.error !== undefined) throw this.error;
  }

  /** Moves the writer's new bytes into the buffer; streams them out once enough have gathered. */
  private pull(): void {
    const b = this.writer.take();
    if (b.length) { this.chunks.push(b); this.buffered += b.length; }
    if (this.fd !== undefined && this.buffered >= FLUSH_AT) this.flush();
  }
}

const FATE_COMMENT: Record<Exclude<WirePacketEvent['fate'], 'delivered'>, string> = {
  lost: 'lost on the wire (never delivered)',
  'queue-drop': 'dropped: link queue full',
  unroutable: 'dropped: no endpoint owns the destination address',
  corrupted: 'delivered with one bit flipped (checksum must fail)',
  duplicate: 'duplicate delivered by the wire',
};

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) { out.set(c, off); off += c.length; }
  if (chunks.length > 1) chunks.splice(0, chunks.length, out);
  return out;
}

function fsError(e: unknown, path: string, what: string): TapError {
  const code = typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : 'EIO';
  const why: Record<string, string> = {
    ENOENT: 'the directory does not exist',
    EISDIR: 'the path is a directory',
    ENOTDIR: 'a component of the path is not a directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
  };
  return new TapError(code, path, `${what} ${path}: ${why[code] ?? (e instanceof Error ? e.message : String(e))} (${code})`, e);
}
