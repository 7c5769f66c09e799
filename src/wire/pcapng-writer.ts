/**
 * A pcapng writer (draft-ietf-opsawg-pcapng): Section Header Block, Interface Description Blocks and
 * Enhanced Packet Blocks with comments. Browser-clean: it only produces bytes; whoever calls take()
 * decides where they go (a file in src/link, a download in the web page).
 *
 * Blocks are written little-endian; readers learn the byte order from the SHB's byte-order magic.
 */
import { WireError } from './errors.js';

/** LINKTYPE_RAW: each packet starts with an IPv4 or IPv6 header (the version nibble tells which). */
export const LINKTYPE_RAW = 101;
export const LINKTYPE_ETHERNET = 1;

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 0x00000001;
const BT_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

// Option codes (pcapng §3.5 and the per-block option tables).
const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const SHB_HARDWARE = 2;
const SHB_OS = 3;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const EPB_FLAGS = 2;

/** epb_flags direction bits (pcapng §4.3.1): bits 0-1 = 01 inbound, 10 outbound. */
export const EPB_INBOUND = 1;
/** epb_flags direction: outbound (sent by the capturing host). */
export const EPB_OUTBOUND = 2;

const utf8 = new TextEncoder();

/** An interface of a pcapng capture (PcapngWriter.addInterface). */
export interface PcapngInterfaceOptions {
  /** if_name, shown by Wireshark. */
  name?: string;
  /** Link-layer header type, default 101 (LINKTYPE_RAW). */
  linkType?: number;
  /** true: microsecond timestamps (if_tsresol 6, the pcapng default); false/absent: nanoseconds (if_tsresol 9). */
  tsResolMicro?: boolean;
  /** if_description. */
  description?: string;
  /** Maximum captured length; 0 (default) means no limit. */
  snapLen?: number;
}

interface Iface { nanos: boolean; snapLen: number }

interface Option { code: number; value: Uint8Array }

/**
 * Builds a pcapng capture (draft-ietf-opsawg-pcapng) in memory: a section header, interfaces
 * (addInterface), then Enhanced Packet Blocks (writePacket) with optional comments and direction flags.
 * Take the bytes produced so far with take(); browser-clean. PcapngTap builds on it for stacks and wires.
 */
export class PcapngWriter {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  private len = 0;
  private shbWritten = false;
  private readonly shbOptions: Option[] = [];
  private readonly ifaces: Iface[] = [];
  /** Comments given after the SHB went out: they ride on the next packet (pcapng has no free-standing comment block). */
  private pending: string[] = [];

  constructor(opts: { application?: string; os?: string; hardware?: string } = {}) {
    if (opts.hardware) this.shbOptions.push({ code: SHB_HARDWARE, value: utf8.encode(opts.hardware) });
    if (opts.os) this.shbOptions.push({ code: SHB_OS, value: utf8.encode(opts.os) });
    this.shbOptions.push({ code: SHB_USERAPPL, value: utf8.encode(opts.application ?? 'synack') });
  }

  /** Number of interfaces added so far. */
  get interfaceCount(): number { return this.ifaces.length; }

  /** Adds an Interface Description Block; returns its interface id for writePacket. */
  addInterface(opts: PcapngInterfaceOptions = {}): number {
    const linkType = opts.linkType ?? LINKTYPE_RAW;
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) {
      throw new WireError('pcapng', 'bad-linktype', `link type ${linkType} is not a 16-bit integer`, 0);
    }
    const snapLen = opts.snapLen ?? 0;
    if (!Number.isInteger(snapLen) || snapLen < 0 || snapLen > 0xffffffff) {
      throw new WireError('pcapng', 'bad-snaplen', `snap length ${snapLen} is not a 32-bit unsigned integer`, 0);
    }
    this.ensureShb();
    const nanos = opts.tsResolMicro !== true;
    const options: Option[] = [];
    if (opts.name !== undefined) options.push({ code: IF_NAME, value: utf8.encode(opts.name) });
    if (opts.description !== undefined) options.push({ code: IF_DESCRIPTION, value: utf8.encode(opts.description) });
    // if_tsresol: high bit 0 → negative power of ten (6 = µs, 9 = ns).
    options.push({ code: IF_TSRESOL, value: Uint8Array.of(nanos ? 9 : 6) });
    const body = 8 + optionsLength(options);
    const at = this.beginBlock(BT_IDB, body);
    this.view.setUint16(at, linkType, true);
    this.view.setUint16(at + 2, 0, true);
    this.view.setUint32(at + 4, snapLen, true);
    this.writeOptions(at + 8, options);
    this.ifaces.push({ nanos, snapLen });
    return this.ifaces.length - 1;
  }

  /**
   * Appends an Enhanced Packet Block. `timestampMs` is milliseconds since the Unix epoch (fractions
   * kept down to the interface's resolution). `flags` is the epb_flags word (e.g. EPB_INBOUND).
   */
  writePacket(iface: number, timestampMs: number, bytes: Uint8Array, comment?: string, flags?: number): void {
    const ifc = this.ifaces[iface];
    if (ifc === undefined || !Number.isInteger(iface)) {
      throw new WireError('pcapng', 'bad-interface', `interface ${iface} was never added (have ${this.ifaces.length})`, this.len);
    }
    if (!Number.isFinite(timestampMs) || timestampMs < 0) {
      throw new WireError('pcapng', 'bad-timestamp', `timestamp ${timestampMs} ms is not a finite non-negative number`, this.len);
    }
    const capLen = ifc.snapLen > 0 && bytes.length > ifc.snapLen ? ifc.snapLen : bytes.length;
    const options: Option[] = [];
    for (const c of this.pending) options.push({ code: OPT_COMMENT, value: utf8.encode(c) });
    this.pending = [];
    if (comment !== undefined) options.push({ code: OPT_COMMENT, value: utf8.encode(comment) });
    if (flags !== undefined) {
      const v = new Uint8Array(4);
      new DataView(v.buffer).setUint32(0, flags >>> 0, true);
      options.push({ code: EPB_FLAGS, value: v });
    }
    const body = 20 + pad4(capLen) + optionsLength(options);
    const at = this.beginBlock(BT_EPB, body);
    const [hi, lo] = splitTimestamp(timestampMs, ifc.nanos);
    this.view.setUint32(at, iface, true);
    this.view.setUint32(at + 4, hi, true);
    this.view.setUint32(at + 8, lo, true);
    this.view.setUint32(at + 12, capLen, true);
    this.view.setUint32(at + 16, bytes.length, true);
    this.buf.set(capLen === bytes.length ? bytes : bytes.subarray(0, capLen), at + 20);
    this.buf.fill(0, at + 20 + capLen, at + 20 + pad4(capLen));
    this.writeOptions(at + 20 + pad4(capLen), options);
  }

  /**
   * A comment naming what follows (e.g. a scenario). Before anything was produced it becomes a
   * section comment (SHB opt_comment); afterwards it is attached to the next packet written.
   */
  comment(text: string): void {
    if (!this.shbWritten) this.shbOptions.push({ code: OPT_COMMENT, value: utf8.encode(text) });
    else this.pending.push(text);
  }

  /** The bytes produced since the previous take() (the first call starts with the SHB). */
  take(): Uint8Array {
    this.ensureShb();
    const out = this.buf.slice(0, this.len);
    this.len = 0;
    return out;
  }

  private ensureShb(): void {
    if (this.shbWritten) return;
    this.shbWritten = true;
    const body = 16 + optionsLength(this.shbOptions);
    const at = this.beginBlock(BT_SHB, body);
    this.view.setUint32(at, BYTE_ORDER_MAGIC, true);
    this.view.setUint16(at + 4, 1, true); // major version
    this.view.setUint16(at + 6, 0, true); // minor version
    // Section length -1: unknown, so readers do not try to skip the section.
    this.view.setInt32(at + 8, -1, true);
    this.view.setInt32(at + 12, -1, true);
    this.writeOptions(at + 16, this.shbOptions);
  }

  /** Writes the block header and trailer; returns the offset of the block body. */
  private beginBlock(type: number, bodyLen: number): number {
    const total = 12 + bodyLen;
    this.reserve(total);
    const start = this.len;
    this.view.setUint32(start, type, true);
    this.view.setUint32(start + 4, total, true);
    this.view.setUint32(start + total - 4, total, true);
    this.len += total;
    return start + 8;
  }

  private writeOptions(at: number, options: Option[]): void {
    if (options.length === 0) return;
    for (const o of options) {
      this.view.setUint16(at, o.code, true);
      this.view.setUint16(at + 2, o.value.length, true);
      this.buf.set(o.value, at + 4);
      this.buf.fill(0, at + 4 + o.value.length, at + 4 + pad4(o.value.length));
      at += 4 + pad4(o.value.length);
    }
    this.view.setUint32(at, OPT_ENDOFOPT, true); // opt_endofopt, length 0
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

function pad4(n: number): number { return (n + 3) & ~3; }

function optionsLength(options: Option[]): number {
  if (options.length === 0) return 0;
  let n = 4; // opt_endofopt
  for (const o of options) {
    if (o.value.length > 0xffff) throw new WireError('pcapng', 'option-too-long', `option ${o.code} is ${o.value.length} bytes (max 65535)`, 0);
    n += 4 + pad4(o.value.length);
  }
  return n;
}

/** Timestamp in interface units as [high, low] 32-bit words. ns since 1970 exceeds 2^53, hence BigInt there. */
function splitTimestamp(ms: number, nanos: boolean): [number, number] {
  if (!nanos) {
    const us = Math.round(ms * 1000); // < 2^53 for any date before year 287396
    return [Math.floor(us / 0x100000000), us >>> 0];
  }
  const whole = Math.floor(ms);
  const ns = BigInt(whole) * 1000000n + BigInt(Math.round((ms - whole) * 1e6));
  return [Number(ns >> 32n) >>> 0, Number(ns & 0xffffffffn)];
}
