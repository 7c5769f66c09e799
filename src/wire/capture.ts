/**
 * Streaming readers for libpcap files (microsecond and nanosecond magic, either byte order) and pcapng
 * (draft-ietf-opsawg-pcapng: several sections and interfaces, EPB/SPB/OPB, per-interface if_tsresol and
 * if_tsoffset). Browser-clean: bytes in, records out.
 *
 * Memory stays constant: the reader keeps only the unread tail of the bytes pushed so far (at most one
 * partial record plus one chunk), in one buffer it reuses. A record's `data` is a view into that buffer and
 * stays valid until the next push(); copy it if you keep it longer.
 */
import { WireError } from './errors.js';

/** The two capture file formats read: libpcap ('pcap') and pcapng. */
export type CaptureFormat = 'pcap' | 'pcapng';

/** One captured packet (CaptureReader.next, readCapture). */
export interface CaptureRecord {
  /** 1-based packet number across the whole capture (all sections/interfaces), as Wireshark counts frames. */
  frame: number;
  /** Whole seconds since the Unix epoch. */
  tsSec: number;
  /** Nanoseconds within the second, 0..999 999 999. */
  tsNsec: number;
  /** LINKTYPE_* of the interface the packet was captured on. */
  linkType: number;
  /** pcapng interface id (global index across sections), 0 for pcap. */
  interfaceId: number;
  /** Captured bytes (possibly cut by the snap length). */
  data: Uint8Array;
  /** Length of the packet on the wire. */
  origLength: number;
  /** Byte offset of the record (pcap record header or pcapng block) from the start of the stream. */
  offset: number;
}

/**
 * A record read in place by `CaptureReader.nextView`: the same fields as CaptureRecord, with the captured
 * bytes at buf[start, start + length) instead of a `data` view (no allocation per record). The caller's object
 * is reused; `buf` stays valid until the next push().
 */
export interface CaptureRecordView {
  frame: number;
  tsSec: number;
  tsNsec: number;
  linkType: number;
  interfaceId: number;
  buf: Uint8Array;
  start: number;
  length: number;
  origLength: number;
  offset: number;
}

/** An interface a capture describes (pcapng IDB; a pcap file has one). */
export interface CaptureInterface {
  /** LINKTYPE_* of its packets. */
  linkType: number;
  /** Snap length: the most bytes captured per packet (0 = no limit). */
  snapLen: number;
  /** Timestamp units per second is `tsDivisor`; pcapng if_tsresol decides it (default 10^6). */
  tsDivisor: number;
  /** Whether tsDivisor is a power of ten (a power of two otherwise). */
  tsDecimal: boolean;
  /** if_tsoffset: seconds added to every timestamp. */
  tsOffset: number;
  /** if_name, when the capture gives one. */
  name?: string;
}

/** Records larger than this are treated as corruption, not as a reason to buffer gigabytes. */
const MAX_RECORD = 256 * 1024 * 1024;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

// pcapng block types (§4 of the draft).
const BT_IDB = 0x00000001;
const BT_OPB = 0x00000002;
const BT_SPB = 0x00000003;
const BT_EPB = 0x00000006;

const IF_NAME = 2;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

/** Sniff the first bytes: which format (or null when it is neither). Needs at least 4 bytes. */
export function detectCaptureFormat(head: Uint8Array): CaptureFormat | null {
  if (head.length < 4) return null;
  const be = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  const le = ((head[3]! << 24) | (head[2]! << 16) | (head[1]! << 8) | head[0]!) >>> 0;
  if (be === PCAPNG_SHB) return 'pcapng';
  if (be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS || le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS) return 'pcap';
  return null;
}

/**
 * Push/pull reader. Feed bytes with push(), pull records with next() until it returns null (needs more
 * bytes), call end() after the last chunk; next() then drains what is left and throws a WireError with code
 * 'truncated' naming the byte offset of the incomplete record if the stream stopped inside one.
 */
/** Header warnings kept per reader. */
const MAX_WARNINGS = 20;

/**
 * A streaming pcap/pcapng reader: push() bytes as they come, take records with next() until null, end() at
 * end of stream. Memory stays constant (only the unread tail is kept); a record's `data` is a view valid until
 * the next push(). Malformed or truncated input throws a WireError with the byte offset.
 *
 * ```ts
 * const reader = new CaptureReader();
 * for await (const chunk of stream) {
 *   reader.push(chunk);
 *   for (let rec = reader.next(); rec !== null; rec = reader.next()) use(rec);
 * }
 * reader.end();
 * for (let rec = reader.next(); rec !== null; rec = reader.next()) use(rec);
 * ```
 */
export class CaptureReader {
  /** The bytes not yet consumed start at buf[pos]; buf is a view of `store` (or of a pushNoCopy chunk). */
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  /** The reader's own buffer, reused across pushes. */
  private store: Uint8Array = new Uint8Array(0);
  /** Stream offset of buf[0]. */
  private base = 0;
  private ended = false;
  private frame = 0;
  private fmt: CaptureFormat | null = null;
  // pcap state
  private little = true;
  private pcapNanos = false;
  private pcapLinkType = 0;
  private pcapSnapLen = 0;
  private headerDone = false;
  // pcapng state: interfaces of the current section, and a running global id base.
  private ifaces: CaptureInterface[] = [];
  private ifaceBase = 0;
  private sections = 0;
  private readonly allInterfaces: CaptureInterface[] = [];

  /**
   * Header fields a strict reader (TShark, libpcap) would refuse or that the format reserves, found while
   * reading: the records are still read (a damaged header field does not damage the packets), but never in
   * silence. At most MAX_WARNINGS are kept.
   */
  readonly warnings: string[] = [];

  get format(): CaptureFormat | null { return this.fmt; }

  private warn(msg: string): void {
    if (this.warnings.length < MAX_WARNINGS && !this.warnings.includes(msg)) this.warnings.push(msg);
  }
  /** Interfaces described so far (pcap: one pseudo-interface). */
  get interfaces(): readonly CaptureInterface[] { return this.allInterfaces; }
  /** Number of bytes consumed (records returned plus skipped blocks). */
  get bytesConsumed(): number { return this.base + this.pos; }
  get sectionCount(): number { return this.sections; }

  /**
   * Appends bytes. They are copied into the reader's own buffer, so the caller may reuse `chunk` at once
   * (read(2) into one buffer, push, repeat: no allocation per chunk once the buffer has grown). Records
   * returned earlier are invalidated: their `data` views may be overwritten.
   */
  push(chunk: Uint8Array): void {
    if (this.ended) throw new WireError('pcap', 'ended', 'push() after end()', this.base + this.buf.length);
    if (chunk.length === 0) return;
    const rest = this.buf.length - this.pos;
    const need = rest + chunk.length;
    if (this.store.length < need) {
      const grown = new Uint8Array(Math.max(need, this.store.length * 2, 1 << 16));
      grown.set(this.buf.subarray(this.pos), 0);
      this.store = grown;
    } else if (rest > 0) {
      if (this.buf.buffer === this.store.buffer && this.buf.byteOffset === this.store.byteOffset) this.store.copyWithin(0, this.pos, this.pos + rest);
      else this.store.set(this.buf.subarray(this.pos), 0);
    }
    this.store.set(chunk, rest);
    this.base += this.pos;
    this.buf = this.store.subarray(0, need);
    this.pos = 0;
  }

  /**
   * Appends bytes without copying them: records are views into `chunk`, which the caller must then leave
   * untouched (for a whole capture already in memory).
   */
  pushNoCopy(chunk: Uint8Array): void {
    if (this.buf.length - this.pos > 0) { this.push(chunk); return; }
    if (this.ended) throw new WireError('pcap', 'ended', 'push() after end()', this.base + this.buf.length);
    this.base += this.buf.length;
    this.buf = chunk;
    this.pos = 0;
  }

  /** No more bytes will come: next() then returns the remaining records and throws a WireError ('truncated') if the stream stops mid-record. */
  end(): void { this.ended = true; }

  /** The next packet record, or null when more bytes are needed (or, after end(), when the stream is done). */
  next(): CaptureRecord | null {
    for (;;) {
      const avail = this.buf.length - this.pos;
      if (this.fmt === null) {
        if (avail < 4) return this.needMore(4, 'capture file header');
        this.fmt = detectCaptureFormat(this.buf.subarray(this.pos, this.pos + 4));
        if (this.fmt === null) {
          throw new WireError('pcap', 'not-a-capture',
            'not a pcap or pcapng capture (unknown magic number ' + hex(this.buf, this.pos, 4) + ')', this.base + this.pos);
        }
      }
      if (this.fmt === 'pcap') {
        if (!this.headerDone) {
          if (avail < 24) return this.needMore(24, 'pcap file header');
          this.readPcapHeader();
          continue;
        }
        return this.nextPcap();
      }
      const r = this.nextPcapngBlock();
      if (r === undefined) continue; // consumed a non-packet block
      return r;
    }
  }

  /**
   * @internal
   * next() into the caller's reusable `v` (CaptureRecordView): true when a record was read, false where next()
   * returns null; throws as next() does. An ordinary pcap record is read without allocating anything.
   */
  nextView(v: CaptureRecordView): boolean {
    if (this.fmt === 'pcap' && this.headerDone) {
      const p = this.pos;
      const avail = this.buf.length - p;
      if (avail >= 16) {
        const incl = this.u32(p + 8);
        if (incl <= MAX_RECORD && avail >= 16 + incl) {
          // nextPcap's record, field for field.
          const sec = this.u32(p);
          const frac = this.u32(p + 4);
          const nsec = this.pcapNanos ? frac : frac * 1000;
          v.frame = ++this.frame;
          v.tsSec = sec + Math.floor(nsec / 1e9);
          v.tsNsec = nsec % 1e9;
          v.linkType = this.pcapLinkType;
          v.interfaceId = 0;
          v.buf = this.buf;
          v.start = p + 16;
          v.length = incl;
          v.origLength = this.u32(p + 12);
          v.offset = this.base + p;
          this.pos = p + 16 + incl;
          return true;
        }
      }
    }
    const rec = this.next();
    if (rec === null) return false;
    v.frame = rec.frame;
    v.tsSec = rec.tsSec;
    v.tsNsec = rec.tsNsec;
    v.linkType = rec.linkType;
    v.interfaceId = rec.interfaceId;
    v.buf = rec.data;
    v.start = 0;
    v.length = rec.data.length;
    v.origLength = rec.origLength;
    v.offset = rec.offset;
    return true;
  }

  private needMore(n: number, what: string): null {
    if (!this.ended) return null;
    const avail = this.buf.length - this.pos;
    if (avail === 0 && (this.fmt !== null && (this.fmt === 'pcapng' ? this.sections > 0 : this.headerDone))) return null;
    if (this.fmt === null) {
      throw new WireError('pcap', 'not-a-capture',
        avail === 0 ? 'empty input: not a pcap or pcapng capture' : `only ${avail} bytes: not a pcap or pcapng capture`, 0);
    }
    throw new WireError(this.fmt ?? 'pcap', 'truncated',
      `capture truncated: ${what} at byte ${this.base + this.pos} needs ${n} bytes, only ${avail} present`, this.base + this.pos);
  }

  private u32(i: number): number {
    const b = this.buf;
    return this.little
      ? ((b[i + 3]! << 24) | (b[i + 2]! << 16) | (b[i + 1]! << 8) | b[i]!) >>> 0
      : ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
  }

  private u16(i: number): number {
    const b = this.buf;
    return this.little ? (b[i + 1]! << 8) | b[i]! : (b[i]! << 8) | b[i + 1]!;
  }

  private readPcapHeader(): void {
    const p = this.pos;
    const b = this.buf;
    const be = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
    this.little = !(be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS);
    const magic = this.u32(p);
    this.pcapNanos = magic === PCAP_MAGIC_NS;
    // pcap file format (draft-ietf-opsawg-pcap §4): version 2.4 (libpcap also reads 2.2 and 2.3, older
    // writers' numbers), Reserved1 and Reserved2 (once thiszone and sigfigs) zero, a non-zero SnapLen.
    const major = this.u16(p + 4);
    const minor = this.u16(p + 6);
    if (major !== 2 || minor > 4) this.warn(`pcap header: version ${major}.${minor} (2.4 expected; tshark refuses this file)`);
    else if (minor !== 4) this.warn(`pcap header: old version ${major}.${minor} (2.4 expected)`);
    if (this.u32(p + 8) !== 0 || this.u32(p + 12) !== 0) this.warn('pcap header: reserved fields (thiszone/sigfigs) are not zero');
    this.pcapSnapLen = this.u32(p + 16);
    if (this.pcapSnapLen === 0) this.warn('pcap header: snapshot length 0');
    // The upper bits of the link-type word carry FCS information (pcap spec §5, LinkType and additional info).
    this.pcapLinkType = this.u32(p + 20) & 0x0fffffff;
    this.allInterfaces.push({
      linkType: this.pcapLinkType, snapLen: this.pcapSnapLen, tsDivisor: this.pcapNanos ? 1e9 : 1e6,
      tsDecimal: true, tsOffset: 0,
    });
    this.pos += 24;
    this.headerDone = true;
    this.sections = 1;
  }

  private nextPcap(): CaptureRecord | null {
    const avail = this.buf.length - this.pos;
    if (avail < 16) return this.needMore(16, 'pcap record header');
    const p = this.pos;
    const sec = this.u32(p);
    const frac = this.u32(p + 4);
    const incl = this.u32(p + 8);
    const orig = this.u32(p + 12);
    if (incl > MAX_RECORD) {
      throw new WireError('pcap', 'bad-length', `record claims ${incl} captured bytes`, this.base + p + 8);
    }
    if (avail < 16 + incl) return this.needMore(16 + incl, `pcap record ${this.frame + 1}`);
    if ((this.pcapNanos && frac >= 1e9) || (!this.pcapNanos && frac >= 1e6)) {
      // Some writers produce out-of-range fractions; fold the excess into seconds rather than refuse.
    }
    const nsec = this.pcapNanos ? frac : frac * 1000;
    const rec: CaptureRecord = {
      frame: ++this.frame,
      tsSec: sec + Math.floor(nsec / 1e9),
      tsNsec: nsec % 1e9,
      linkType: this.pcapLinkType,
      interfaceId: 0,
      data: this.buf.subarray(p + 16, p + 16 + incl),
      origLength: orig,
      offset: this.base + p,
    };
    this.pos = p + 16 + incl;
    return rec;
  }

  /** A packet record, null when more bytes are needed, undefined when a non-packet block was consumed. */
  private nextPcapngBlock(): CaptureRecord | null | undefined {
    const avail = this.buf.length - this.pos;
    if (avail < 12) return this.needMore(12, 'pcapng block header');
    const p = this.pos;
    const b = this.buf;
    const rawType = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
    if (rawType === PCAPNG_SHB) {
      // A new section: byte order from its magic, interfaces restart (§4.1).
      const bom = ((b[p + 8]! << 24) | (b[p + 9]! << 16) | (b[p + 10]! << 8) | b[p + 11]!) >>> 0;
      if (bom === BYTE_ORDER_MAGIC) this.little = false;
      else if (bom === 0x4d3c2b1a) this.little = true;
      else throw new WireError('pcapng', 'bad-magic', 'section header block with an unknown byte-order magic', this.base + p + 8);
    } else if (this.sections === 0) {
      throw new WireError('pcapng', 'no-section', 'pcapng stream does not start with a section header block', this.base + p);
    }
    const type = this.u32(p);
    const len = this.u32(p + 4);
    if (len < 12 || len % 4 !== 0 || len > MAX_RECORD) {
      throw new WireError('pcapng', 'bad-length', `block of type 0x${type.toString(16)} has invalid length ${len}`, this.base + p + 4);
    }
    if (avail < len) return this.needMore(len, `pcapng block (type 0x${type.toString(16)})`);
    if (this.u32(p + len - 4) !== len) {
      throw new WireError('pcapng', 'bad-length', `block length ${len} does not match its trailing copy`, this.base + p + len - 4);
    }
    const body = p + 8;
    const bodyEnd = p + len - 4;
    this.pos = p + len;
    switch (type) {
      case PCAPNG_SHB: {
        if (len < 28) throw new WireError('pcapng', 'bad-length', 'section header block shorter than 28 bytes', this.base + p + 4);
        const major = this.u16(body + 4);
        if (major !== 1) throw new WireError('pcapng', 'bad-version', `unsupported pcapng major version ${major}`, this.base + body + 4);
        // pcapng §4.1: version 1.0 (1.2 was written by some early tools and means the same).
        const minor = this.u16(body + 6);
        if (minor !== 0 && minor !== 2) this.warn(`pcapng section header: version 1.${minor} (1.0 expected)`);
        this.ifaceBase = this.allInterfaces.length;
        this.ifaces = [];
        this.sections++;
        return undefined;
      }
      case BT_IDB: {
        if (bodyEnd - body < 8) throw new WireError('pcapng', 'bad-length', 'interface description block too short', this.base + p + 4);
        const iface: CaptureInterface = {
          linkType: this.u16(body), snapLen: this.u32(body + 4), tsDivisor: 1e6, tsDecimal: true, tsOffset: 0,
        };
        // pcapng §4.2: the two bytes after LinkType are reserved and must be zero.
        if (this.u16(body + 2) !== 0) this.warn('pcapng interface description block: reserved field is not zero');
        this.readIdbOptions(iface, body + 8, bodyEnd);
        this.ifaces.push(iface);
        this.allInterfaces.push(iface);
        return undefined;
      }
      case BT_EPB: {
        if (bodyEnd - body < 20) throw new WireError('pcapng', 'bad-length', 'enhanced packet block too short', this.base + p + 4);
        const ifId = this.u32(body);
        const cap = this.u32(body + 12);
        if (body + 20 + cap > bodyEnd) {
          throw new WireError('pcapng', 'bad-length', `captured length ${cap} overruns its block`, this.base + body + 12);
        }
        return this.packet(p, ifId, this.u32(body + 4), this.u32(body + 8), body + 20, cap, this.u32(body + 16));
      }
      case BT_OPB: {
        if (bodyEnd - body < 20) throw new WireError('pcapng', 'bad-length', 'packet block too short', this.base + p + 4);
        const ifId = this.u16(body);
        const cap = this.u32(body + 12);
        if (body + 20 + cap > bodyEnd) {
          throw new WireError('pcapng', 'bad-length', `captured length ${cap} overruns its block`, this.base + body + 12);
        }
        return this.packet(p, ifId, this.u32(body + 4), this.u32(body + 8), body + 20, cap, this.u32(body + 16));
      }
      case BT_SPB: {
        if (bodyEnd - body < 4) throw new WireError('pcapng', 'bad-length', 'simple packet block too short', this.base + p + 4);
        const iface = this.ifaces[0];
        if (!iface) throw new WireError('pcapng', 'no-interface', 'simple packet block before any interface description', this.base + p);
        const orig = this.u32(body);
        // §4.4: captured length = min(original length, snaplen, what the block holds).
        let cap = Math.min(orig, bodyEnd - body - 4);
        if (iface.snapLen > 0) cap = Math.min(cap, iface.snapLen);
        const rec: CaptureRecord = {
          frame: ++this.frame, tsSec: 0, tsNsec: 0, linkType: iface.linkType, interfaceId: this.ifaceBase,
          data: this.buf.subarray(body + 4, body + 4 + cap), origLength: orig, offset: this.base + p,
        };
        return rec;
      }
      default:
        return undefined; // NRB, ISB, DSB, custom blocks: nothing the analyzer needs.
    }
  }

  private readIdbOptions(iface: CaptureInterface, start: number, end: number): void {
    let o = start;
    while (o + 4 <= end) {
      const code = this.u16(o);
      const olen = this.u16(o + 2);
      const v = o + 4;
      if (code === 0) break;
      if (v + olen > end) throw new WireError('pcapng', 'bad-option', `interface option ${code} overruns its block`, this.base + o);
      if (code === IF_TSRESOL && olen >= 1) {
        const r = this.buf[v]!;
        const n = r & 0x7f;
        // MSB clear: 10^-n seconds; set: 2^-n seconds (§4.2, if_tsresol).
        iface.tsDecimal = (r & 0x80) === 0;
        iface.tsDivisor = iface.tsDecimal ? 10 ** n : 2 ** n;
        if (!Number.isFinite(iface.tsDivisor) || iface.tsDivisor <= 0 || n > 30) {
          throw new WireError('pcapng', 'bad-option', `if_tsresol ${r} out of range`, this.base + v);
        }
      } else if (code === IF_TSOFFSET && olen >= 8) {
        const hi = this.u32(v + (this.little ? 4 : 0));
        const lo = this.u32(v + (this.little ? 0 : 4));
        iface.tsOffset = (hi | 0) * 4294967296 + lo;
      } else if (code === IF_NAME) {
        iface.name = new TextDecoder().decode(this.buf.subarray(v, v + olen));
      }
      o = v + ((olen + 3) & ~3);
    }
  }

  private packet(p: number, ifId: number, hi: number, lo: number, dataAt: number, cap: number, orig: number): CaptureRecord {
    const iface = this.ifaces[ifId];
    if (!iface) {
      throw new WireError('pcapng', 'no-interface', `packet refers to interface ${ifId}, which the section has not described`, this.base + p + 8);
    }
    const [sec, nsec] = splitTimestamp(hi, lo, iface.tsDivisor);
    return {
      frame: ++this.frame,
      tsSec: sec + iface.tsOffset,
      tsNsec: nsec,
      linkType: iface.linkType,
      interfaceId: this.ifaceBase + ifId,
      data: this.buf.subarray(dataAt, dataAt + cap),
      origLength: orig,
      offset: this.base + p,
    };
  }
}

/** (hi·2³² + lo) / divisor → [seconds, nanoseconds], exact even when the 64-bit count exceeds 2⁵³. */
function splitTimestamp(hi: number, lo: number, divisor: number): [number, number] {
  if (hi < 0x200000) {
    const v = hi * 4294967296 + lo; // < 2^53: exact in a double
    const sec = Math.floor(v / divisor);
    const rem = v - sec * divisor;
    return [sec, Math.round((rem * 1e9) / divisor)];
  }
  const v = (BigInt(hi) << 32n) | BigInt(lo);
  if (Number.isInteger(divisor)) {
    const d = BigInt(divisor);
    const sec = v / d;
    const rem = v - sec * d;
    return [Number(sec), Number((rem * 1000000000n) / d)];
  }
  const s = Number(v) / divisor;
  const sec = Math.floor(s);
  return [sec, Math.round((s - sec) * 1e9)];
}

function hex(b: Uint8Array, at: number, n: number): string {
  let s = '0x';
  for (let i = 0; i < n && at + i < b.length; i++) s += b[at + i]!.toString(16).padStart(2, '0');
  return s;
}

/** Convenience: every record of a whole capture held in memory. Throws like CaptureReader. */
export function* readCapture(bytes: Uint8Array): Generator<CaptureRecord> {
  const r = new CaptureReader();
  r.pushNoCopy(bytes);
  r.end();
  for (;;) {
    const rec = r.next();
    if (rec === null) return;
    yield rec;
  }
}
