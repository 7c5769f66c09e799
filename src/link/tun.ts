/**
 * TunLink: raw IPv4/IPv6 packets to and from a Linux TUN device (IFF_TUN | IFF_NO_PI), through synack's own
 * N-API addon (native/tun.cc). Reads are event driven (libuv polls the fd; every readable event drains all
 * queued packets into one batch), writes go straight to the fd.
 *
 * The addon is loaded lazily on the first open(), so the rest of synack imports and runs on machines where it
 * could not be built (other OS, no compiler): only TunLink.open() then throws, with the build's reason.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { endianness } from 'node:os';
import { Buffer } from 'node:buffer';
import { EMPTY } from '../wire/tcp-types.js';
import { finishChecksum } from '../wire/checksum.js';
import { CHECKSUM_VERIFIED, Stack } from '../stack/stack.js';
import { batchOwesHoleAck } from '../stack/tcp-input.js';
import { answerAcceptedSyn, endSynFastPathRun, installSynFastPath, synFastPathAccepts, synFastPathOn } from '../stack/syn-fast-path.js';
import { installIpReassembly } from '../stack/reassembly.js';
import { reuseOutputBuffers } from '../stack/ip-output.js';
import {
  VIRTIO_NET_HDR_LEN, VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE,
  decodeVirtioNetHdr, encodeVirtioNetHdr, fixGsoIpLength, writeTcpOffloadHdr, type VirtioNetHdr,
} from './virtio-net.js';

/** Why a TUN operation failed. `code` is an errno name (EPERM, ENOENT, EBUSY, ...) or one of ours. */
export type TunErrorCode =
  | 'ERR_TUN_ADDON' // the native addon is not built or does not load
  | 'ERR_TUN_CLOSED' // use after close()
  | 'ERR_TUN_ARG' // bad argument (not a Uint8Array, name too long)
  | 'EPERM' // not root / no CAP_NET_ADMIN
  | 'ENOENT' // /dev/net/tun missing (no tun module, container without the device)
  | string;

/** A TUN operation failed: `code` says why (errno name or ERR_TUN_*), with the errno and system call when the kernel refused. */
export class TunError extends Error {
  /** Why: an errno name (EPERM, ENOENT, EBUSY ...) or ERR_TUN_ADDON / ERR_TUN_CLOSED / ERR_TUN_ARG. */
  readonly code: TunErrorCode;
  /** The errno number, when a system call failed. */
  readonly errno: number | undefined;
  /** The system call that failed (open, ioctl, write ...). */
  readonly syscall: string | undefined;
  constructor(code: TunErrorCode, message: string, opts: { errno?: number; syscall?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'TunError';
    this.code = code;
    this.errno = opts.errno;
    this.syscall = opts.syscall;
  }
}

/** What the addon reports for each write: written to the fd, queued (EAGAIN/ENOBUFS), or dropped (queue full). */
export type TunWriteResult = 'sent' | 'queued' | 'dropped';

/** Counters kept by the native addon (TunLink.stats). */
export interface TunStats {
  /** Packets read from the device, and their bytes. */
  rxPackets: number;
  rxBytes: number;
  /** Number of onPackets callbacks delivered (rxPackets / rxBatches = mean batch size). */
  rxBatches: number;
  /** Packets written to the device, and their bytes. */
  txPackets: number;
  txBytes: number;
  /** Packets waiting in the addon's queue for the fd to become writable. */
  txQueued: number;
  /** Packets that ever had to wait in that queue. */
  txQueuedTotal: number;
  /** Packets dropped because the write queue was full (or a queued write failed). */
  txDropped: number;
  /**
   * With the writer thread: packets written by the write call itself, not the thread (a call of at most 4 that
   * found nothing waiting for the thread). Absent from an addon built before it.
   */
  txDirect?: number;
  /** readNow calls (attachStack's receiver reads before an ACK that would report a hole). Absent from an addon built before it. */
  rxNowCalls?: number;
  /** Packets those calls found (also counted in rxPackets, not in rxBatches). Absent from an addon built before it. */
  rxNowPackets?: number;
}

/** Options of TunLink.open. */
export interface TunOpenOptions {
  /**
   * Linux virtio-net offloads (IFF_VNET_HDR, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6). Off by default. With it
   * the kernel sends TCP super-packets (up to 64 KiB) whose checksum it never computed, and accepts ones from
   * us that it segments itself: onPackets then also gets each packet's virtio_net_hdr, write() takes one.
   */
  offload?: boolean;
  /**
   * Read the device on a thread of the addon's instead of polling it on the event loop (off by default): the
   * kernel's queue toward the stack is drained while JavaScript handles the previous batch or is descheduled,
   * so under a flood the reads run on another core and fewer packets are dropped there. Batches are
   * delivered as without it; at most 4 (of up to 2048 packets) wait for JavaScript, beyond that the kernel's queue
   * drops.
   */
  readThread?: boolean;
  /**
   * Write to the device from a thread of the addon's (off by default): each write call copies its packets into
   * a queue the thread writes, in order. A TUN write runs the kernel's receive path for the packet (its TCP,
   * waking the reader), most of a request/response server's system time; it then runs on another core. A
   * write returns 'sent' once the packet is queued for the thread (or 'dropped' when 4096 wait), stats count
   * packets when written, and a write the kernel refuses is counted in txDropped instead of thrown. A call of at
   * most 4 packets finding nothing waiting for the thread writes them itself (stats.txDirect), in order: a lone
   * ACK or SYN+ACK does not wait ~0.1 ms for the sleeping thread to be woken.
   */
  writeThread?: boolean;
}

/** Offload counters kept in JS by attachStack() (zero without offload). */
export interface TunOffloadStats {
  /** Packets the kernel sent as GSO super-packets (gso_type ≠ NONE), and their bytes. */
  rxGsoPackets: number;
  rxGsoBytes: number;
  /** Packets accepted without checksum verification (NEEDS_CSUM or DATA_VALID). */
  rxChecksumSkipped: number;
  /** Super-packets dropped because their length does not fit a 16-bit IP length field. */
  rxOversize: number;
  /** Super-packets we handed the kernel to segment, and their bytes. */
  txGsoPackets: number;
  txGsoBytes: number;
}

interface NativeTun {
  readonly name: string;
  readonly fd: number;
  readonly stats: TunStats;
  readonly vnetHdrLen: number;
  /** Absent from an addon built before the reader thread. */
  readonly readThread?: boolean;
  /** Absent from an addon built before the writer thread. */
  readonly writeThread?: boolean;
  start(cb: (err: Error | null, chunk?: ArrayBuffer, offsets?: Uint32Array, count?: number) => void): void;
  write(pkt: Uint8Array, vnetHdr?: Uint8Array): TunWriteResult;
  writeBatch(pkts: Uint8Array[], vnetHdrs?: Array<Uint8Array | undefined>): number;
  writeParts(headers: Uint8Array, payload: Uint8Array, vnetHdr?: Uint8Array): TunWriteResult;
  /**
   * Absent from an addon built before it (then attachStack offers the stack no sendBatch). `tcpCsum`: each TCP
   * packet goes out marked NEEDS_CSUM (its checksum field holds the pseudo-header sum); an addon built before
   * it ignores the argument, so attachStack checks `tcpCsumMany` first.
   */
  writeMany?(buf: Uint8Array, offsets: Uint32Array, count: number, tcpCsum?: boolean): number;
  /** Absent from an addon built before writeMany's `tcpCsum`. */
  readonly tcpCsumMany?: boolean;
  /**
   * Absent from an addon built before it. on: a full receive chunk is read into again once every batch of it was
   * delivered (instead of a new 1 MiB buffer per MiB received: V8's mark-compacts while receiving); only for a
   * receiver that keeps no view of a chunk past its callback (attachStack's). Chunks handed out while off are never reused.
   */
  reuseChunks?(on: boolean): void;
  /**
   * Absent from an addon built before it. Reads what the device already holds, without blocking, at most `max`
   * packets, into the current receive chunk, hands them to `cb` (before returning) and returns how many (0: none,
   * cb not called; always 0 with the reader thread). No read error is reported: the next readable event does.
   */
  readNow?(cb: (chunk: ArrayBuffer, offsets: Uint32Array, count: number) => void, max: number): number;
  close(): void;
  setRef(ref: boolean): void;
}
interface NativeAddon {
  Tun: new (name?: string, opts?: { offload?: boolean; readThread?: boolean; writeThread?: boolean }) => NativeTun;
}

const ADDON_FILE = join('build', 'Release', 'synack_tun.node');

/** The package root: the nearest ancestor holding binding.gyp (works from src/ via tsx and from dist/). */
function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

let addon: NativeAddon | null = null;
let addonError: TunError | null = null;

function loadAddon(): NativeAddon {
  if (addon) return addon;
  if (addonError) throw addonError;
  const root = packageRoot();
  const file = process.env.SYNACK_TUN_ADDON ?? (root ? join(root, ADDON_FILE) : null);
  let reason: string;
  if (process.platform !== 'linux') {
    reason = `the TUN link is Linux-only (this is ${process.platform})`;
  } else if (!file || !existsSync(file)) {
    const why = root ? readBuildReason(root) : null;
    reason = `${file ?? ADDON_FILE} does not exist` + (why ? ` (build failed: ${why})` : ' (run `node scripts/build-addon.mjs`; it needs g++, make, python3 and the Node headers)');
  } else {
    try {
      addon = createRequire(import.meta.url)(file) as NativeAddon;
      return addon;
    } catch (e) {
      reason = `${file} does not load: ${(e as Error).message}`;
    }
  }
  addonError = new TunError('ERR_TUN_ADDON', `TUN addon not available: ${reason}`);
  throw addonError;
}

function readBuildReason(root: string): string | null {
  try {
    return readFileSync(join(root, 'build', 'synack-tun-build-error.txt'), 'utf8').split('\n')[0]!.trim() || null;
  } catch {
    return null;
  }
}

/** Whether TunLink.open() can work here, and if not why (for test skips and CLI messages). */
export function tunUnavailableReason(): string | null {
  if (process.platform !== 'linux') return `the TUN link is Linux-only (this is ${process.platform})`;
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing (no tun kernel module, or a container without the device)';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root (creating a TUN device needs CAP_NET_ADMIN)';
  try {
    loadAddon();
  } catch (e) {
    return (e as Error).message;
  }
  return null;
}

/** Rewrites the addon's errno errors into TunErrors that say what to do. */
function translate(e: unknown, what: string): TunError {
  if (e instanceof TunError) return e;
  const err = e as { code?: string; errno?: number; syscall?: string; message?: string };
  const code = err.code ?? 'ERR_TUN';
  let hint = '';
  if (code === 'EPERM' || code === 'EACCES') hint = ': creating a TUN device needs root (CAP_NET_ADMIN)';
  else if (code === 'ENOENT' && err.syscall === 'open') hint = ': /dev/net/tun is missing (load the tun module, or give the container the device)';
  else if (code === 'EBUSY') hint = ': the device name is already in use by another TUN/TAP device';
  else if (code === 'EBADF' || code === 'EBADFD') hint = ': the device was deleted (e.g. `ip link del`) while open; close() and open a new one';
  else if (code === 'EIO') hint = ': the device is down';
  else if (code === 'ERR_TUN_CLOSED') return new TunError(code, err.message ?? `${what}: closed`);
  else if (e instanceof TypeError) return new TunError('ERR_TUN_ARG', `${what}: ${err.message}`, { cause: e });
  return new TunError(code, `${what}: ${err.message ?? String(e)}${hint}`, { errno: err.errno, syscall: err.syscall, cause: e });
}

/**
 * What attachStack() needs of a stack (src/stack/stack.ts's Stack). The receive options say which packets'
 * checksums the kernel vouched for; the send callback's second argument is the segment size for GSO.
 */
export interface StackLike {
  /** Takes one IP datagram read from the device (Stack.receive). */
  receive(packet: Uint8Array, opts?: { checksumVerified?: boolean }): void;
  /** Takes a batch of datagrams read at once (Stack.receiveBatch); receive() is called for each when absent. */
  receiveBatch?(packets: readonly Uint8Array[], opts?: { checksumVerified?: readonly boolean[] }): void;
  /** Gives the stack the function that writes its datagrams to the device, and what the link can do (Stack.attach). */
  attach(send: (packet: Uint8Array, segmentSize?: number) => void, caps?: {
    checksumOffload?: boolean;
    sendParts?: (headers: Uint8Array, payload: Uint8Array, segmentSize: number) => void;
    sendBatch?: (buf: Uint8Array, offsets: Uint32Array, count: number) => void;
    sendPackets?: (packets: Uint8Array[]) => void;
    pollInput?: (then: () => void) => void;
  }): void;
}

/** An IPv4 (no options needed) or IPv6 (no extension header) datagram carrying TCP, with room for its header. */
function isTcp(p: Uint8Array): boolean {
  const v = p.length > 0 ? p[0]! >> 4 : 0;
  if (v === 4) return p.length >= (p[0]! & 0x0f) * 4 + 20 && p[9] === 6;
  return v === 6 && p.length >= 60 && p[6] === 6;
}

/**
 * Marks a TCP datagram that is not to be segmented for checksum offload in place, as prepareTcpOffload(p, 0,
 * payloadLength) does (the checksum field gets the folded pseudo-header sum over the whole TCP length, RFC 793
 * §3.1), without allocating: every packet synack sends takes this path. Returns csum_start (the IP header's
 * length); csum_offset is 16.
 */
/** @internal */
export function seedTcpChecksum(p: Uint8Array, payloadLength: number): number {
  const v4 = p[0]! >> 4 === 4;
  const ipLen = v4 ? (p[0]! & 0x0f) * 4 : 40;
  const tcpLen = p.length + payloadLength - ipLen;
  // The pseudo-header: source and destination addresses (contiguous in both headers), protocol, TCP length.
  let sum = 6 + (tcpLen & 0xffff) + (v4 ? 0 : tcpLen >>> 16);
  for (let i = v4 ? 12 : 8, end = v4 ? 20 : 40; i < end; i += 2) sum += (p[i]! << 8) | p[i + 1]!;
  const partial = ~finishChecksum(sum) & 0xffff;
  p[ipLen + 16] = partial >>> 8;
  p[ipLen + 17] = partial & 0xff;
  return ipLen;
}

/** Packets lying within this many bytes of the receive chunk are copied as one range. */
const SHARED_COPY_MAX = 1 << 16;
/** Copies are cut from slabs of this size (a retained packet pins at most one slab). */
const COPY_SLAB = 1 << 16;
/**
 * Connections (TCP flows) whose receive blocks are kept at once; a new one takes the oldest one's slot. Enough for
 * a keep-alive load's connections (ab -k -c20) to keep theirs: with too few, each request's segment takes memory of
 * its own (an ArrayBuffer per packet: ~0.5 µs, 5-10x the copy itself).
 */
const FLOW_SLOTS = 32;
/** Key words per slot: ports (1, first: what differs between a client's connections), IPv6 source and destination (8); IPv4 uses 3. */
const KEY_WORDS = 9;
const NO_MEMORY = new ArrayBuffer(0);

/**
 * Memory that is not zero-filled (Buffer.allocUnsafeSlow: an ArrayBuffer of its own), for copies that cover every
 * byte of it (a range of exactly its length) or that no application ever gets a view of (the shared slab): zeroing
 * 64 KiB per slab was ~1 % of synack's CPU while receiving.
 */
function uninitialized(size: number): ArrayBuffer {
  return Buffer.allocUnsafeSlow(size).buffer as ArrayBuffer;
}

/** What a received packet's copy may share memory with (classify). */
const SHARED = 0; // a TCP segment without data, ICMP: nothing an application receives points into it
const FLOW = 1; // a TCP segment with data: its connection's blocks
const OWN = 2; // anything else (fragments, UDP, extension headers, a SYN with data): memory of its own
/** Or-ed into SHARED and FLOW: the segment has SYN set (a connection, maybe a new one on an old 4-tuple, starts). */
const SYN = 4;

/**
 * Copies packets `from`..`count - 1` of a batch out of the addon's shared receive chunk (packet i is
 * bytes[offsets[2i] + skip, offsets[2i] + offsets[2i+1]), skip being the virtio_net_hdr) into out[0..], so that
 * nothing the stack keeps (a connection's receive queue, a Buffer the application holds) pins a 1 MiB chunk, and
 * so that what an application reads holds no other connection's bytes: a socket's data is a view of its segment's
 * copy, and the application sees all of that memory (`chunk.buffer`), as node:net's reads, each in memory of its
 * own, let it (a proxy may hand it on). So a TCP segment with data goes into its connection's blocks (found by
 * the addresses and ports at fixed offsets, as PayloadRuns keeps each connection's payloads in src/wire/packet.ts):
 * the first range of a connection exactly its length, then blocks doubling up to 64 KiB, zero-filled where no
 * packet was copied (the tail, the gaps between packets); the last FLOW_SLOTS connections keep theirs. Segments
 * without data (SYNs, ACKs, FINs) and ICMP, which no application gets a view of, share a 64 KiB slab (uninitialized,
 * as before); anything else gets memory of its own, exactly its length.
 * Consecutive packets of one kind (and one connection) spanning at most 64 KiB of the chunk are copied as one
 * range (headers and alignment gaps between them included: one view of the chunk and one copy per range, not per
 * packet), so a bulk transfer's batch costs what it did with one slab. Ranges start 8-byte aligned, so packets
 * keep the addon's alignment (word-wise checksums). The views handed on are plain Uint8Arrays (the stack's hot
 * paths see one array type); a range of a few bytes is copied byte by byte, without a view into the chunk.
 */
class ReceiveCopier {
  /** The slab segments without data share, used from the front. */
  #slab: ArrayBuffer = NO_MEMORY;
  #slabView: Uint8Array = EMPTY;
  #slabUsed = 0;
  /** Per slot: its connection's key (keys[s * KEY_WORDS ..], keyLens[s] words, 0: free), its block and how much is used. */
  readonly #keys = new Int32Array(FLOW_SLOTS * KEY_WORDS);
  readonly #keyLens: number[] = new Array<number>(FLOW_SLOTS).fill(0);
  readonly #mems: ArrayBuffer[] = new Array<ArrayBuffer>(FLOW_SLOTS).fill(NO_MEMORY);
  readonly #views: Uint8Array[] = new Array<Uint8Array>(FLOW_SLOTS).fill(EMPTY);
  readonly #used: number[] = new Array<number>(FLOW_SLOTS).fill(0);
  /** The size of the slot's last block (or of its first, exact, range): the next block doubles it. */
  readonly #sizes: number[] = new Array<number>(FLOW_SLOTS).fill(0);
  #last = 0;
  #victim = 0;
  #bytes: Uint8Array = EMPTY;
  #dv: DataView<ArrayBufferLike> = new DataView(NO_MEMORY);

  copy(bytes: Uint8Array, offsets: Uint32Array, from: number, count: number, skip: number, out: Uint8Array[]): void {
    if (this.#bytes !== bytes) { this.#bytes = bytes; this.#dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength); }
    let i = from;
    while (i < count) {
      const first = offsets[2 * i]! + skip;
      let end = first + Math.max(0, offsets[2 * i + 1]! - skip);
      let kind = this.#classify(first, end - first);
      if ((kind & SYN) !== 0) {
        this.#release(first);
        kind = kind === (FLOW | SYN) ? OWN : SHARED;
      }
      if (kind === OWN) { out[i - from] = this.#exact(bytes, first, end); i++; continue; }
      let j = i + 1;
      for (; j < count; j++) {
        const s = offsets[2 * j]! + skip, e = s + Math.max(0, offsets[2 * j + 1]! - skip);
        if (s < end || e - first > SHARED_COPY_MAX) break; // not after the range (never from the addon), or too far
        const k = this.#classify(s, e - s);
        if (kind === SHARED) {
          if (k === (SHARED | SYN)) this.#release(s); // a SYN flood the fast path left: still one range
          else if (k !== SHARED) break;
        } else if (k !== FLOW || !this.#sameFlow(first, s)) break; // a SYN (with data) is copied on its own
        end = e;
      }
      const span = end - first;
      let mem: ArrayBuffer, view: Uint8Array, at: number;
      if (kind === SHARED) {
        if (span > COPY_SLAB) { mem = uninitialized(span); view = EMPTY; at = 0; } else {
          if (this.#slabUsed + span > this.#slab.byteLength) { this.#slab = uninitialized(COPY_SLAB); this.#slabView = new Uint8Array(this.#slab); this.#slabUsed = 0; }
          mem = this.#slab; view = this.#slabView; at = this.#slabUsed;
          this.#slabUsed = (at + span + 7) & ~7;
        }
      } else {
        const f = this.#slotFor(first);
        at = this.#used[f]!;
        if (at + span <= this.#mems[f]!.byteLength) { mem = this.#mems[f]!; view = this.#views[f]!; this.#used[f] = (at + span + 7) & ~7; } else {
          const size = this.#sizes[f]!;
          if (size === 0 || span > COPY_SLAB >>> 2) {
            // The connection's first range (a request allocates no block it would not fill), or a large one: memory
            // of its own, exactly its length, every byte copied (gaps zeroed below).
            mem = uninitialized(span); view = EMPTY; at = 0;
            if (size === 0) this.#sizes[f] = span;
          } else {
            // Zero-filled: the application sees the block's tail before this connection's next packets fill it.
            const next = Math.min(COPY_SLAB, (Math.max(2 * size, span) + 7) & ~7);
            mem = this.#mems[f] = new ArrayBuffer(next); view = this.#views[f] = new Uint8Array(mem); at = 0;
            this.#sizes[f] = next; this.#used[f] = (span + 7) & ~7;
          }
        }
      }
      // One packet: its own view is the copy's target; several: the block's (a range never outgrows a block).
      if (j === i + 1) {
        const whole = out[i - from] = new Uint8Array(mem, at, span);
        if (span <= 96) for (let x = 0; x < span; x++) whole[x] = bytes[first + x]!; // SYNs, ACKs: no view for a few bytes
        else whole.set(bytes.subarray(first, end));
      } else {
        if (view === EMPTY) view = new Uint8Array(mem);
        view.set(bytes.subarray(first, end), at);
        for (let k = i; k < j; k++) {
          const s = offsets[2 * k]! + skip - first, len = Math.max(0, offsets[2 * k + 1]! - skip);
          out[k - from] = new Uint8Array(mem, at + s, len);
          // What lies between two packets in the chunk (the next one's virtio_net_hdr, the alignment gap: bytes of
          // an earlier read, another connection's) is not this connection's: zeroed in its memory.
          if (kind === FLOW && k + 1 < j) for (let x = at + s + len, y = at + offsets[2 * k + 2]! + skip - first; x < y; x++) view[x] = 0;
        }
      }
      i = j;
    }
  }

  /** SHARED, FLOW or OWN (| SYN) for the packet at bytes[p, p + len). */
  #classify(p: number, len: number): number {
    const b = this.#bytes;
    if (len < 20) return OWN;
    const v = b[p]! >> 4;
    let ipLen: number, proto: number;
    if (v === 4) {
      if ((b[p + 6]! & 0x3f) !== 0 || b[p + 7] !== 0) return OWN; // a fragment (MF or an offset): reassembled data
      ipLen = (b[p]! & 0x0f) * 4; proto = b[p + 9]!;
      if (ipLen < 20) return OWN;
      if (proto === 1) return SHARED;
    } else if (v === 6 && len >= 40) {
      ipLen = 40; proto = b[p + 6]!;
      if (proto === 58) return SHARED;
    } else return OWN;
    if (proto !== 6 || len < ipLen + 20) return OWN; // extension headers, UDP, other protocols; a cut TCP header
    const dataAt = ipLen + (b[p + ipLen + 12]! >> 4) * 4;
    return (len > dataAt ? FLOW : SHARED) | ((b[p + ipLen + 13]! & 0x02) !== 0 ? SYN : 0);
  }

  /** Packets at p and q (both FLOW) are of one connection: same version, addresses and ports. */
  #sameFlow(p: number, q: number): boolean {
    const d = this.#dv, b = this.#bytes;
    if (b[p] !== b[q]) return false; // version and IPv4 header length
    if (b[p]! >> 4 === 4) {
      const h = (b[p]! & 0x0f) * 4;
      return d.getInt32(p + 12) === d.getInt32(q + 12) && d.getInt32(p + 16) === d.getInt32(q + 16) && d.getInt32(p + h) === d.getInt32(q + h);
    }
    for (let x = 8; x <= 40; x += 4) if (d.getInt32(p + x) !== d.getInt32(q + x)) return false;
    return true;
  }

  /** The slot holding the connection of the packet at p (a TCP segment), or -1. */
  #find(p: number): number {
    const d = this.#dv, b = this.#bytes, keys = this.#keys;
    const v4 = b[p]! >> 4 === 4;
    const n = v4 ? 3 : KEY_WORDS;
    const ports = d.getInt32(p + (v4 ? (b[p]! & 0x0f) * 4 : 40));
    for (let t = 0, f = this.#last; t < FLOW_SLOTS; t++, f = f + 1 === FLOW_SLOTS ? 0 : f + 1) {
      if (keys[f * KEY_WORDS] !== ports || this.#keyLens[f] !== n) continue;
      const base = f * KEY_WORDS;
      let same: boolean;
      if (v4) same = keys[base + 1] === d.getInt32(p + 12) && keys[base + 2] === d.getInt32(p + 16);
      else { same = true; for (let x = 1; x < KEY_WORDS && same; x++) same = keys[base + x] === d.getInt32(p + 4 + 4 * x); }
      if (same) return f;
    }
    return -1;
  }

  /** The slot of the packet at p's connection, taking the oldest one's when it has none (its blocks are let go). */
  #slotFor(p: number): number {
    let f = this.#find(p);
    if (f < 0) {
      f = this.#victim;
      this.#victim = (f + 1) % FLOW_SLOTS;
      const d = this.#dv, b = this.#bytes, base = f * KEY_WORDS;
      if (b[p]! >> 4 === 4) {
        this.#keys[base] = d.getInt32(p + (b[p]! & 0x0f) * 4); this.#keys[base + 1] = d.getInt32(p + 12); this.#keys[base + 2] = d.getInt32(p + 16);
        this.#keyLens[f] = 3;
      } else {
        this.#keys[base] = d.getInt32(p + 40);
        for (let x = 1; x < KEY_WORDS; x++) this.#keys[base + x] = d.getInt32(p + 4 + 4 * x);
        this.#keyLens[f] = KEY_WORDS;
      }
      this.#mems[f] = NO_MEMORY; this.#views[f] = EMPTY; this.#used[f] = 0; this.#sizes[f] = 0;
    }
    this.#last = f;
    return f;
  }

  /** A SYN: a connection on this 4-tuple starts, maybe a new one after an old one; the old one's blocks are let go. */
  #release(p: number): void {
    const f = this.#find(p);
    if (f < 0) return;
    this.#keyLens[f] = 0;
    this.#mems[f] = NO_MEMORY; this.#views[f] = EMPTY; this.#used[f] = 0; this.#sizes[f] = 0;
  }

  /** bytes[first, end) in memory of its own, exactly its length. */
  #exact(bytes: Uint8Array, first: number, end: number): Uint8Array {
    const span = end - first;
    const whole = new Uint8Array(uninitialized(span), 0, span);
    if (span <= 96) for (let x = 0; x < span; x++) whole[x] = bytes[first + x]!;
    else whole.set(bytes.subarray(first, end));
    return whole;
  }
}

/**
 * attachStack's receive side (@internal; exported for tests): takes each batch the addon read into its shared
 * chunk (packet i at chunk[offsets[2i], offsets[2i] + offsets[2i+1]), a virtio_net_hdr of `hdrLen` bytes first)
 * and hands it to the stack.
 *
 * A flood's SYNs are answered where they lie: while the batch starts with SYNs the stack's SYN-cookie fast path
 * takes (synFastPathAccepts), each is shown to the packet observers (a view, only when there are observers) and
 * answered from the chunk's bytes, without a copy, a view or an array slot; then the SYN+ACKs go to the link
 * and the rest of the batch, from the first other packet on, is copied and handed over as a batch of its own,
 * as if the device had been read twice. The stack sees every datagram in the order read, so a SYN after that
 * first other packet (which may have created a connection or filled the accept queue) is judged after it.
 *
 * The rest is copied (ReceiveCopier: nothing the stack keeps may pin the chunk, nor show an application another
 * connection's bytes) and handed over in an array reused from batch to batch (one per batch size, up to
 * REUSED_BATCH_MAX), with the checksum verdicts: Stack.receiveBatch reads both in order and keeps neither, so a
 * batch allocates only its packets' views and the memory they are copied to.
 */
export class TunReceiver {
  readonly #stack: StackLike;
  /** The stack, when it is a synack Stack (the SYN fast path is its). */
  readonly #host: Stack | null;
  readonly #hdrLen: number;
  readonly #st: TunOffloadStats;
  #chunk: ArrayBuffer | null = null;
  #bytes: Uint8Array = EMPTY;
  /** The arrays a batch of i packets is handed over in (Stack.receiveBatch reads them in order and keeps neither). */
  readonly #slots: Array<BatchSlot | undefined> = [];
  /** Where the packets of the next batches are copied. */
  readonly #copier = new ReceiveCopier();

  /** The device's readNow (attachStack, polling mode): what arrived while a batch was handled (#handOver). */
  readonly #readNow: ((cb: (chunk: ArrayBuffer, offsets: Uint32Array, count: number) => void, max: number) => number) | null;

  constructor(stack: StackLike, hdrLen: number, offloadStats: TunOffloadStats, readNow: ((cb: (chunk: ArrayBuffer, offsets: Uint32Array, count: number) => void, max: number) => number) | null = null) {
    this.#stack = stack;
    this.#host = stack instanceof Stack ? stack : null;
    this.#hdrLen = hdrLen;
    this.#st = offloadStats;
    this.#readNow = this.#host !== null ? readNow : null;
  }

  /** One batch from the addon (TunLink's receive callback). */
  deliver(chunk: ArrayBuffer, offsets: Uint32Array, count: number): void {
    if (this.#chunk !== chunk) { this.#chunk = chunk; this.#bytes = new Uint8Array(chunk); }
    const bytes = this.#bytes;
    const h = this.#hdrLen;
    const st = this.#st;
    let first = 0;
    const s = this.#host;
    if (s !== null && synFastPathOn(s)) {
      const obs = s.packetObservers;
      let now = -1; // read once, at the first SYN taken (the batch was read at once)
      for (; first < count; first++) {
        const off = offsets[2 * first]!, len = offsets[2 * first + 1]!;
        if (len < h + 40) break;
        let verified = false;
        if (h > 0) {
          // The virtio_net_hdr's flags and gso_type (virtio-net.ts), read in place: a super-packet is no SYN.
          if (bytes[off + 1] !== VIRTIO_NET_HDR_GSO_NONE) break;
          verified = checksumVouched(bytes[off]!);
        }
        if (!synFastPathAccepts(s, bytes, off + h, len - h, verified)) break;
        if (verified) st.rxChecksumSkipped++;
        if (now === -1) now = s.clock.now();
        if (obs.length > 0) {
          const view = new Uint8Array(chunk, off + h, len - h);
          for (let i = 0; i < obs.length; i++) obs[i]!('in', view, now, s);
        }
        answerAcceptedSyn(s, now);
      }
      if (first > 0) endSynFastPathRun(s);
      if (first === count) return;
    }
    // Copies: the addon's packets lie in one shared read buffer, which a connection's receive queue must not
    // pin. One batch in, one output pass per connection (stretch ACKs).
    const m = count - first;
    const slot = this.#host !== null && m <= REUSED_BATCH_MAX ? (this.#slots[m] ??= newSlot(m)) : newSlot(m); // another StackLike may keep them
    const own = slot.pkts;
    const n = this.#copyOut(bytes, offsets, first, count, slot);
    const stack = this.#stack;
    if (s !== null && this.#readNow !== null) this.#handOver(s, own, slot.verified, n);
    else if (h === 0) {
      if (stack.receiveBatch) stack.receiveBatch(own);
      else for (let i = 0; i < m; i++) stack.receive(own[i]!);
    } else {
      // A packet left out (an oversize super-packet): the batch's arrays are cut to size, once.
      const give = n === m ? slot : cutSlot(slot, n);
      if (stack.receiveBatch) stack.receiveBatch(give.pkts, give.opts);
      else for (let i = 0; i < n; i++) stack.receive(give.pkts[i]!, { checksumVerified: give.verified[i]! });
    }
    own.fill(EMPTY); // nothing of this batch stays reachable from here
  }

  /**
   * Copies packets `first`..`count - 1` into slot.pkts[0..] with their checksum verdicts (offload: what the
   * virtio_net_hdr vouches for; a super-packet's IP length fixed, an oversize one left out); returns how many.
   */
  #copyOut(bytes: Uint8Array, offsets: Uint32Array, first: number, count: number, slot: BatchSlot): number {
    const h = this.#hdrLen, m = count - first, own = slot.pkts;
    this.#copier.copy(bytes, offsets, first, count, h, own);
    if (h === 0) return m;
    const st = this.#st, verified = slot.verified;
    let n = 0;
    for (let k = 0; k < m; k++) {
      const off = offsets[2 * (first + k)]!;
      if (offsets[2 * (first + k) + 1]! < h) continue; // cannot happen (the kernel always writes the header)
      const p = own[k]!;
      const flags = bytes[off]!, gsoType = bytes[off + 1]!;
      if (gsoType !== VIRTIO_NET_HDR_GSO_NONE) {
        st.rxGsoPackets++;
        st.rxGsoBytes += p.length;
        if (!fixGsoIpLength(p)) { st.rxOversize++; continue; }
      }
      const ok = checksumVouched(flags);
      if (ok) st.rxChecksumSkipped++;
      own[n] = p;
      verified[n++] = ok;
    }
    return n;
  }

  /**
   * Hands a batch to a synack Stack as Stack.receiveBatch does (one output pass per connection at its end), with
   * one more step before that end: when a connection of the batch has an ACK due that would report a hole (data
   * out of order, RFC 9293 §3.10.7.4; the stack sends it at once, RFC 5681 §4.2), what the device received while
   * the batch was handled is read and taken into the batch first (at most once per batch, READ_NOW_MAX packets).
   * A segment that overtook another by a few µs on the path is read in one batch and its ACK leaves ~50-300 µs
   * later, by when the overtaken one is in the device's queue: read first, the ACK is cumulative instead of
   * reporting a hole the receiver holds, which a Linux sender (RACK, RFC 8985 §6.2, with no reordering seen yet)
   * marks lost at once and resends (a D-SACK later, and its reordering window grows).
   */
  #handOver(s: Stack, pkts: Uint8Array[], verified: boolean[], n: number): void {
    s.beginBatch();
    try {
      for (let i = 0; i < n; i++) s.receive(pkts[i]!, verified[i] ? CHECKSUM_VERIFIED : undefined);
      if (batchOwesHoleAck(s)) this.#readNow!(this.#takeNow, READ_NOW_MAX);
    } finally {
      s.endBatch();
    }
  }

  /** readNow's packets: copied as a batch's, then taken into the running batch. */
  readonly #takeNow = (chunk: ArrayBuffer, offsets: Uint32Array, count: number): void => {
    if (this.#chunk !== chunk) { this.#chunk = chunk; this.#bytes = new Uint8Array(chunk); }
    const slot = newSlot(count); // the running batch's slot is still the caller's
    const n = this.#copyOut(this.#bytes, offsets, 0, count, slot);
    const s = this.#host!;
    for (let i = 0; i < n; i++) s.receive(slot.pkts[i]!, slot.verified[i] ? CHECKSUM_VERIFIED : undefined);
  };
}

/** Packets readNow takes into a batch at most (a bound: a flood arriving meanwhile cannot keep the batch open). */
const READ_NOW_MAX = 64;

/** A virtio_net_hdr's flags say the kernel vouches for the TCP checksum (left for us to fill, or already checked). */
function checksumVouched(flags: number): boolean {
  return (flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)) !== 0;
}

/** Batches of up to this many packets are handed to the stack in arrays reused from batch to batch (one per size). */
const REUSED_BATCH_MAX = 256;

interface BatchSlot {
  readonly pkts: Uint8Array[];
  readonly verified: boolean[];
  readonly opts: { checksumVerified: readonly boolean[] };
}

/** The first `n` packets and verdicts of `slot`, in arrays of their own. */
function cutSlot(slot: BatchSlot, n: number): BatchSlot {
  const verified = slot.verified.slice(0, n);
  return { pkts: slot.pkts.slice(0, n), verified, opts: { checksumVerified: verified } };
}

function newSlot(size: number): BatchSlot {
  const verified = new Array<boolean>(size).fill(false);
  return { pkts: new Array<Uint8Array>(size).fill(EMPTY), verified, opts: { checksumVerified: verified } };
}

/**
 * Writes a list of whole datagrams (the stack's output queue) as runs of consecutive packets that lie in one
 * ArrayBuffer (the stack's PacketSlab blocks: most turns' packets share one), one writeMany call per run: the
 * addon reads an offsets array instead of an array of views, and with offload builds each TCP packet's
 * NEEDS_CSUM header itself. Each TCP packet's checksum field is seeded with its pseudo-header sum first
 * (seedTcpChecksum), as an observer needing whole packets leaves a complete checksum there.
 */
class RunWriter {
  readonly #tun: NativeTun;
  readonly #offload: boolean;
  #offsets = new Uint32Array(128);
  /** The last block's whole-buffer view (one per block, not one per call). */
  #buf: ArrayBufferLike | null = null;
  #view: Uint8Array = EMPTY;

  constructor(tun: NativeTun, offload: boolean) {
    this.#tun = tun;
    this.#offload = offload;
  }

  write(pkts: Uint8Array[]): void {
    const n = pkts.length;
    if (this.#offsets.length < 2 * n) this.#offsets = new Uint32Array(2 * n);
    const o = this.#offsets;
    let i = 0;
    while (i < n) {
      const buf = pkts[i]!.buffer;
      let k = 0;
      for (; i < n; i++, k++) {
        const p = pkts[i]!;
        if (p.buffer !== buf) break;
        if (this.#offload && isTcp(p)) seedTcpChecksum(p, 0);
        o[2 * k] = p.byteOffset;
        o[2 * k + 1] = p.length;
      }
      if (this.#buf !== buf) { this.#buf = buf; this.#view = new Uint8Array(buf); }
      this.#tun.writeMany!(this.#view, o, k, this.#offload);
    }
  }
}

/**
 * A Linux TUN device as a link for a synack stack: the kernel routes IP packets to the device, TunLink reads
 * them in batches and hands them to the stack, and writes back what the stack sends. open() it, then
 * attachStack(stack), or use onPackets()/write() yourself. Needs CAP_NET_ADMIN and the native addon (built at
 * install); errors are TunErrors.
 */
export class TunLink {
  /** The interface name, as the kernel chose it when none was asked for (tun0, tun1, ...). */
  readonly name: string;
  readonly #tun: NativeTun;
  #packets: ((pkts: Uint8Array[], hdrs?: VirtioNetHdr[]) => void) | null = null;
  /** virtio_net_hdr bytes before every packet (0 = no offload). */
  readonly #hdrLen: number;
  readonly #offloadStats: TunOffloadStats = { rxGsoPackets: 0, rxGsoBytes: 0, rxChecksumSkipped: 0, rxOversize: 0, txGsoPackets: 0, txGsoBytes: 0 };
  #error: ((err: TunError) => void) | null = null;
  #closed = false;
  #writeErrors = 0;

  private constructor(tun: NativeTun) {
    this.#tun = tun;
    this.name = tun.name;
    this.#hdrLen = tun.vnetHdrLen ?? 0;
  }

  /**
   * Creates (or attaches to a persistent) TUN device. Throws TunError: ERR_TUN_ADDON (addon not built, with
   * the reason), EPERM (not root), ENOENT (/dev/net/tun missing), EBUSY (name taken), ERR_TUN_ARG.
   */
  static open(name?: string, opts: TunOpenOptions = {}): TunLink {
    if (name !== undefined && (typeof name !== 'string' || name.length === 0 || name.length > 15 || /[\s/]/.test(name))) {
      throw new TunError('ERR_TUN_ARG', `invalid TUN device name ${JSON.stringify(name)}: 1 to 15 bytes, no spaces or '/'`);
    }
    // virtio_net_hdr fields are in host byte order (legacy virtio); the codec reads little-endian.
    if (opts.offload && endianness() !== 'LE') throw new TunError('ERR_TUN_ARG', 'TUN offload is only supported on little-endian hosts');
    const { Tun } = loadAddon();
    let tun: NativeTun;
    try {
      tun = opts.offload || opts.readThread || opts.writeThread ? new Tun(name, { offload: opts.offload === true, readThread: opts.readThread === true, writeThread: opts.writeThread === true }) : new Tun(name);
    } catch (e) {
      throw translate(e, `cannot open TUN device${name ? ` '${name}'` : ''}`);
    }
    if (opts.writeThread && tun.writeThread !== true) {
      tun.close();
      throw new TunError('ERR_TUN_ADDON', 'the TUN addon predates the writer thread (rebuild it: node scripts/build-addon.mjs)');
    }
    if (opts.offload && tun.vnetHdrLen !== VIRTIO_NET_HDR_LEN) {
      tun.close();
      throw new TunError('ERR_TUN_ADDON', 'the TUN addon does not support offload (rebuild it: node scripts/build-addon.mjs)');
    }
    try {
      return new TunLink(tun);
    } catch (e) {
      throw translate(e, `cannot open TUN device${name ? ` '${name}'` : ''}`);
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Counters kept by the addon. */
  get stats(): TunStats {
    return this.#tun.stats;
  }

  /** Whether the device is read by the addon's reader thread (opened with { readThread: true }). */
  get readThread(): boolean {
    return this.#tun.readThread === true;
  }

  /** Whether the device is written by the addon's writer thread (opened with { writeThread: true }). */
  get writeThread(): boolean {
    return this.#tun.writeThread === true;
  }

  /** Whether the device was opened with { offload: true }. */
  get offload(): boolean {
    return this.#hdrLen > 0;
  }

  /** GSO/checksum-offload counters of attachStack() (all zero without offload). */
  get offloadStats(): TunOffloadStats {
    return { ...this.#offloadStats };
  }

  /**
   * Delivers every packet the kernel routes to the device, in batches: all packets that were queued when the fd
   * became readable (at most 1024 per call). The arrays are views into a shared 1 MiB receive chunk; they stay
   * valid, but `slice()` a packet you keep for long so the chunk can be freed. Starts polling (which keeps the
   * event loop alive until close() or unref()); calling it again replaces the callback.
   * With offload, `hdrs[i]` is packet i's virtio_net_hdr (the packet view starts after it); without, hdrs is
   * undefined.
   */
  onPackets(cb: (pkts: Uint8Array[], hdrs?: VirtioNetHdr[]) => void): void {
    if (this.#closed) throw new TunError('ERR_TUN_CLOSED', `TUN device '${this.name}' is closed`);
    this.#packets = cb;
    // onPackets' views stay valid after the callback (the caller may keep them): its chunks are never read into again.
    this.#tun.reuseChunks?.(false);
    this.#start((chunk, offsets, count) => {
      const pkts = new Array<Uint8Array>(count);
      const h = this.#hdrLen;
      if (h === 0) {
        for (let i = 0; i < count; i++) pkts[i] = new Uint8Array(chunk, offsets[2 * i]!, offsets[2 * i + 1]!);
        this.#packets?.(pkts);
        return;
      }
      const hdrs = new Array<VirtioNetHdr>(count);
      let n = 0;
      for (let i = 0; i < count; i++) {
        const off = offsets[2 * i]!;
        const len = offsets[2 * i + 1]!;
        if (len < h) continue; // cannot happen (the kernel always writes the header); never index past it
        const whole = new Uint8Array(chunk, off, len);
        hdrs[n] = decodeVirtioNetHdr(whole, 0);
        pkts[n++] = whole.subarray(h);
      }
      pkts.length = n;
      hdrs.length = n;
      this.#packets?.(pkts, hdrs);
    });
  }

  /**
   * Reads what the device holds now, without blocking and without waiting for the next readable event: at most
   * `max` packets, as views like onPackets' (with offload, after their virtio_net_hdr). Only while polling, once
   * onPackets() started reading (else, with the reader thread, or an addon built before it: none). attachStack's
   * receiver reads so itself before an ACK that would report a hole (TunReceiver).
   */
  readNow(max = 64): Uint8Array[] {
    if (this.#closed) throw new TunError('ERR_TUN_CLOSED', `TUN device '${this.name}' is closed`);
    const out: Uint8Array[] = [];
    const h = this.#hdrLen;
    this.#tun.readNow?.((chunk, offsets, count) => {
      for (let i = 0; i < count; i++) {
        const len = offsets[2 * i + 1]!;
        if (len >= h) out.push(new Uint8Array(chunk, offsets[2 * i]! + h, len - h));
      }
    }, max);
    return out;
  }

  /** Starts polling (or replaces the callback): `cb` gets each batch as the addon delivers it; errors go to onError. */
  #start(cb: (chunk: ArrayBuffer, offsets: Uint32Array, count: number) => void): void {
    if (this.#closed) throw new TunError('ERR_TUN_CLOSED', `TUN device '${this.name}' is closed`);
    this.#tun.start((err, chunk, offsets, count) => {
      if (err) {
        const te = translate(err, `TUN device '${this.name}'`);
        if (this.#error) this.#error(te);
        else throw te; // like an 'error' event without a listener
        return;
      }
      cb(chunk!, offsets!, count!);
    });
  }

  /** Read errors (e.g. the device was deleted under us). Without a handler they are thrown as uncaught. */
  onError(cb: (err: TunError) => void): void {
    this.#error = cb;
  }

  /**
   * Writes one whole IP datagram to the kernel. Returns 'sent', or 'queued' when the fd said EAGAIN/ENOBUFS
   * (flushed when it is writable again), or 'dropped' when that queue (4096 packets) is full: as with a
   * full NIC ring, TCP recovers by retransmission. Throws TunError for anything else (EINVAL: the kernel
   * rejected the bytes; EIO: device down; ERR_TUN_CLOSED).
   */
  write(pkt: Uint8Array, vnetHdr?: VirtioNetHdr): TunWriteResult {
    try {
      if (vnetHdr !== undefined) return this.#tun.write(pkt, this.#encodeHdr(vnetHdr));
      return this.#tun.write(pkt);
    } catch (e) {
      throw translate(e, `write to TUN device '${this.name}'`);
    }
  }

  #encodeHdr(h: VirtioNetHdr): Uint8Array {
    if (this.#hdrLen === 0) throw new TunError('ERR_TUN_ARG', `TUN device '${this.name}' was opened without offload: it takes no virtio_net_hdr`);
    try {
      return encodeVirtioNetHdr(h);
    } catch (e) {
      throw new TunError('ERR_TUN_ARG', (e as Error).message, { cause: e });
    }
  }

  /**
   * Writes one datagram given as two parts, `headers` then `payload`, gathered by writev(2) so the payload is
   * never copied in JS (the kernel copies it once, as it does any write). Same results and errors as write().
   */
  writeParts(headers: Uint8Array, payload: Uint8Array, vnetHdr?: VirtioNetHdr): TunWriteResult {
    try {
      if (vnetHdr !== undefined) return this.#tun.writeParts(headers, payload, this.#encodeHdr(vnetHdr));
      return this.#tun.writeParts(headers, payload);
    } catch (e) {
      throw translate(e, `write to TUN device '${this.name}'`);
    }
  }

  /** Writes several datagrams with one call into the addon; returns how many were sent or queued. */
  writeBatch(pkts: Uint8Array[], vnetHdrs?: Array<VirtioNetHdr | undefined>): number {
    try {
      if (vnetHdrs !== undefined) return this.#tun.writeBatch(pkts, vnetHdrs.map((h) => (h === undefined ? undefined : this.#encodeHdr(h))));
      return this.#tun.writeBatch(pkts);
    } catch (e) {
      throw translate(e, `write to TUN device '${this.name}'`);
    }
  }

  /**
   * Writes `count` whole datagrams packed in one buffer, packet i being `buf[offsets[2i], offsets[2i] +
   * offsets[2i+1])`, with one call into the addon (a write(2) each: a TUN device takes one packet per write);
   * with offload each goes out behind a zero virtio_net_hdr, so they must be complete (checksums included).
   * Returns how many were sent or queued. Every range is checked first: a bad one throws ERR_TUN_ARG and
   * nothing is written. The memory may be reused as soon as this returns.
   * `tcpCsum` (offload devices): each IPv4 or IPv6 TCP datagram goes out marked NEEDS_CSUM instead, its checksum
   * field holding the pseudo-header sum (seedTcpChecksum; the kernel completes it); anything else as without.
   */
  writeMany(buf: Uint8Array, offsets: Uint32Array, count: number, tcpCsum = false): number {
    if (this.#tun.writeMany === undefined) throw new TunError('ERR_TUN_ADDON', 'the TUN addon predates writeMany (rebuild it: node scripts/build-addon.mjs)');
    if (tcpCsum && this.#tun.tcpCsumMany !== true) throw new TunError('ERR_TUN_ADDON', 'the TUN addon predates writeMany\'s tcpCsum (rebuild it: node scripts/build-addon.mjs)');
    try {
      return this.#tun.writeMany(buf, offsets, count, tcpCsum);
    } catch (e) {
      throw translate(e, `write to TUN device '${this.name}'`);
    }
  }

  /**
   * Joins a host stack to the device: every packet read is handed to `stack.receive`, everything the stack
   * sends is written here. A write the kernel refuses (EIO while the device is down, EINVAL) must not throw
   * into the stack's transmit path: it is counted in `writeErrors`, passed to the onError handler when there
   * is one, and the packet is lost, as on a failing NIC (TCP retransmits).
   *
   * With offload: the stack is told the link does checksum offload, and every TCP packet it sends goes out
   * marked NEEDS_CSUM (the kernel completes the checksum, or never needs it for local delivery); one sent with
   * a segment size (the send callback's second argument, given for TCP segments longer than one MSS when
   * TcpConfig.tsoMaxBytes is set) goes out as a GSO super-packet for the kernel to cut into that size. Received
   * packets whose header says NEEDS_CSUM or DATA_VALID (the kernel never computed, or already verified, the
   * checksum) are given to the stack with `checksumVerified`, the rest are verified as usual.
   *
   * A synack Stack gets the SYN-cookie fast path (StackOptions.synFastPath; a device's reads come in batches,
   * which is where it pays off) and IP fragment reassembly (the kernel may send fragments).
   */
  attachStack(stack: StackLike): void {
    // Every write call below has copied (or written) its packets when it returns: the stack may reuse the bytes.
    if (stack instanceof Stack) { installSynFastPath(stack); installIpReassembly(stack); reuseOutputBuffers(stack); }
    // The receiver below copies what the stack keeps and packet observers must not keep what they see, so a chunk
    // can be read into again once delivered: no 1 MiB buffer per MiB received for V8 to collect (issue 15).
    this.#tun.reuseChunks?.(true);
    const offload = this.#hdrLen > 0;
    const st = this.#offloadStats;
    const failed = (e: unknown): void => {
      this.#writeErrors++;
      const te = translate(e, `write to TUN device '${this.name}'`);
      this.#error?.(te);
    };
    // virtio_net_hdrs marking a TCP packet NEEDS_CSUM, one per csum_start, shared (the addon only reads them).
    const csumHdrs = new Map<number, Uint8Array>();
    const csumHdr = (csumStart: number): Uint8Array => {
      let b = csumHdrs.get(csumStart);
      if (b === undefined) {
        b = encodeVirtioNetHdr({ flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: VIRTIO_NET_HDR_GSO_NONE, hdrLen: 0, gsoSize: 0, csumStart, csumOffset: 16 });
        csumHdrs.set(csumStart, b);
      }
      return b;
    };
    // The virtio_net_hdr of a segment sent with a segment size, rewritten for each (the addon reads it during the
    // call, and copies it with a packet it queues).
    const gsoHdr = new Uint8Array(VIRTIO_NET_HDR_LEN);
    // One path for whole packets (an empty payload) and gathered ones: segments with data come as headers + a
    // view of the send buffer, joined by writev(2), so no payload is copied in JS (the view is used before
    // this returns; a queued write is copied by the addon).
    const send = (headers: Uint8Array, payload: Uint8Array, segmentSize: number): void => {
      try {
        // The stack only sends TCP; anything else (never expected) goes out as is, with a zero header.
        if (!offload || !isTcp(headers)) { this.#tun.writeParts(headers, payload); return; }
        if (segmentSize === 0) { this.#tun.writeParts(headers, payload, csumHdr(seedTcpChecksum(headers, payload.length))); return; }
        if (writeTcpOffloadHdr(headers, segmentSize, payload.length, gsoHdr)) { st.txGsoPackets++; st.txGsoBytes += headers.length + payload.length; }
        this.#tun.writeParts(headers, payload, gsoHdr);
      } catch (e) {
        failed(e);
      }
    };
    // Many whole packets in one crossing into the addon (the SYN+ACKs the stack's SYN-cookie fast path built
    // during a receive batch); an addon built before writeMany offers no such capability.
    const sendBatch = this.#tun.writeMany === undefined ? undefined : (buf: Uint8Array, offsets: Uint32Array, count: number): void => {
      try {
        this.#tun.writeMany!(buf, offsets, count);
      } catch (e) {
        failed(e);
      }
    };
    // The output queue's packets lie in a few blocks of the stack's packet slab: handed over as runs of one
    // block each (writeMany), the addon builds their virtio_net_hdrs itself.
    const many = this.#tun.writeMany !== undefined && (!offload || this.#tun.tcpCsumMany === true) ? new RunWriter(this.#tun, offload) : null;
    // The stack's output queue (whole datagrams of at most the MTU, in order): one crossing into the addon per
    // receive batch or turn instead of one per packet. With offload each TCP packet is marked NEEDS_CSUM, as
    // send() marks it.
    const packets = (pkts: Uint8Array[]): void => {
      try {
        if (many !== null) { many.write(pkts); return; }
        if (!offload) { this.#tun.writeBatch(pkts); return; }
        const hdrs = new Array<Uint8Array | undefined>(pkts.length);
        for (let i = 0; i < pkts.length; i++) {
          const p = pkts[i]!;
          hdrs[i] = isTcp(p) ? csumHdr(seedTcpChecksum(p, 0)) : undefined;
        }
        this.#tun.writeBatch(pkts, hdrs);
      } catch (e) {
        failed(e); // the rest of the batch is lost with it, as on a failing NIC (TCP retransmits)
      }
    };
    // A late timer wake-up reads what waits first (LinkCapabilities.pollInput): libuv runs expired timers
    // before it polls the fd again, but runs the poll phase (this device's readable event, or the reader
    // thread's hand-off) before the check phase's setImmediate callbacks (libuv >= 1.45, Node 20).
    const pollInput = (then: () => void): void => { setImmediate(then); };
    stack.attach((packet, segmentSize) => send(packet, EMPTY, segmentSize ?? 0), { checksumOffload: offload, sendParts: send, sendBatch, sendPackets: packets, pollInput });
    const tun = this.#tun;
    const receiver = new TunReceiver(stack, this.#hdrLen, st, tun.readNow === undefined || tun.readThread === true ? null : (cb, max) => tun.readNow!(cb, max));
    this.#packets = null;
    this.#start((chunk, offsets, count) => { receiver.deliver(chunk, offsets, count); });
  }

  /** Writes from attachStack() that the kernel refused. */
  get writeErrors(): number {
    return this.#writeErrors;
  }

  /** Whether a polling device keeps the process alive (default true, like a socket). */
  ref(): this {
    this.#tun.setRef(true);
    return this;
  }
  /** Let the process exit even while the device is polled. */
  unref(): this {
    this.#tun.setRef(false);
    return this;
  }

  /** Stops polling and closes the fd; the kernel then deletes the (non-persistent) device. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#packets = null;
    try {
      this.#tun.close();
    } catch (e) {
      throw translate(e, `close TUN device '${this.name}'`);
    }
  }
}
