/**
 * IPv4 (RFC 791 §3.2) and IPv6 (RFC 8200 §4.5) fragment reassembly. Pure and browser-clean; time is passed in.
 *
 *   const r = new IpReassembler({ maxBytes: 4 << 20, maxPerSource: 1 << 20, timeoutMs: 30_000 });
 *   const whole = r.push(packetBytes, now);   // the packet itself when it is no fragment; a fresh datagram
 *                                             // when this fragment completed one; null otherwise
 *   r.expire(now);                            // also done by push(); nextExpiry() says when it is due
 *   r.counters                                // every fragment that did not end in a datagram is counted
 *
 * Rules, each as Linux applies them (net/ipv4/ip_fragment.c, net/ipv6/reassembly.c, inet_fragment.c):
 * - A fragment overlapping another one discards the whole datagram, and fragments of it that arrive later are
 *   discarded too until its timeout (RFC 5722 for IPv6; Linux does the same for IPv4 since 4.19). An exact
 *   duplicate (same offset and length) is dropped alone, as Linux does: retransmitting routers produce them.
 * - A datagram longer than 65 535 bytes (ping of death) or a last fragment contradicting an earlier one discards
 *   the datagram. Non-last fragments must carry a multiple of 8 bytes (RFC 8200 §4.5 for IPv6; IPv4 trims).
 * - ECN (RFC 3168 §5.3): CE on any fragment marks the datagram CE; ECT mixed with Not-ECT discards it.
 * - Memory: every fragment's bytes are copied (never views of the caller's buffers) and charged with a fixed
 *   overhead, so tiny fragments cannot cheat the bound. Going over `maxPerSource` evicts that source's oldest
 *   datagrams; going over `maxBytes` evicts the oldest datagrams of all. Either way the held bytes never exceed
 *   the bounds, whatever arrives.
 * - Timeout from the first fragment (Linux: 30 s for IPv4, ipfrag_time; 60 s for IPv6 as RFC 8200 says).
 */
import { decodeIp, EXT_FRAGMENT, IPV6_HEADER_LENGTH, type IpPacket } from './ip.js';
import { finishChecksum, onesComplementSum } from './checksum.js';

/** Why the last push() returned null without completing anything (null when it is merely waiting for more). */
export type ReassemblyDrop =
  | 'malformed' | 'truncated' | 'overlap' | 'duplicate' | 'too-long' | 'bad-length' | 'inconsistent-end'
  | 'ecn-mix' | 'discarded-datagram' | 'over-limit';

/** Bounds and timeouts of IP fragment reassembly (RFC 791, RFC 8200 §4.5; overlaps refused as RFC 5722 asks). */
export interface ReassemblerOptions {
  /** Bytes held by all incomplete datagrams, overheads included (default 4 MiB, Linux's ipfrag_high_thresh). */
  maxBytes?: number;
  /** Bytes held for one source address (default maxBytes / 4). */
  maxPerSource?: number;
  /** IPv4 reassembly timeout in ms (default 30 000, Linux's ipfrag_time). */
  timeoutMs?: number;
  /** IPv6 reassembly timeout in ms (default 60 000, RFC 8200 §4.5). */
  timeoutMs6?: number;
  /**
   * Called when a datagram times out after its first fragment (offset 0) arrived, with that first fragment's
   * bytes: the host may answer ICMP time exceeded, code 1 (RFC 792; RFC 8200 §4.5, ICMPv6 code 1).
   */
  onTimeout?: (firstFragment: Uint8Array, version: 4 | 6) => void;
}

/** Counters, named after Linux's (ReasmReqds, ReasmOKs, ReasmFails, ReasmTimeout, ReasmOverlaps) where they exist. */
export class ReassemblyCounters {
  /** Fragments received (ReasmReqds). */
  ReasmReqds = 0;
  /** Datagrams reassembled (ReasmOKs). */
  ReasmOKs = 0;
  /** Datagrams given up, for any of the reasons below (ReasmFails). */
  ReasmFails = 0;
  /** Datagrams that timed out (ReasmTimeout). */
  ReasmTimeout = 0;
  /** Datagrams discarded for overlapping fragments, RFC 5722 (ReasmOverlaps). */
  ReasmOverlaps = 0;
  /** Exact duplicate fragments dropped. */
  ReasmDuplicates = 0;
  /** Datagrams over 65 535 bytes. */
  ReasmTooLong = 0;
  /** Fragments of a bad length: empty, a non-last fragment not a multiple of 8 bytes (IPv6). */
  ReasmBadLength = 0;
  /** Datagrams whose end was contradicted (two last fragments, or data beyond the last fragment). */
  ReasmBadEnd = 0;
  /** Datagrams mixing ECT and Not-ECT fragments (RFC 3168 §5.3). */
  ReasmEcnMix = 0;
  /** Fragments of a datagram already discarded (RFC 5722: later fragments are discarded too). */
  ReasmDiscardedLate = 0;
  /** Fragments that could not be decoded or are cut short by their buffer. */
  ReasmMalformed = 0;
  /** Datagrams evicted because the total bound was reached. */
  ReasmEvictedTotal = 0;
  /** Datagrams evicted because their source's bound was reached. */
  ReasmEvictedSource = 0;
  /** Fragments refused because even an empty budget could not hold them. */
  ReasmOverLimit = 0;
}

/**
 * Bytes charged per fragment and per datagram beyond the data itself: what V8 spends on the copies' buffers and
 * views, the objects and table entries (measured with bench/ip.ts: 10 000 one-fragment datagrams from as many
 * sources hold about 2.7 KB each, 1.5 KB of it data), so the bounds hold for the real heap.
 */
export const FRAGMENT_OVERHEAD = 320;
export const DATAGRAM_OVERHEAD = 896;

interface Fragment { offset: number; end: number; data: Uint8Array }

class Datagram {
  /** Chain of datagrams sharing a hash bucket. */
  next: Datagram | null = null;
  /** Links in its version's creation-order list and in its source's list (intrusive: no Set per source). */
  newer: Datagram | null = null;
  older: Datagram | null = null;
  srcNewer: Datagram | null = null;
  srcOlder: Datagram | null = null;
  fragments: Fragment[] = [];
  /** Bytes of data received (fragments never overlap, so complete when this equals totalLength). */
  received = 0;
  /** Length of the reassembled payload, known once the last fragment (MF = 0) arrived; -1 before. */
  totalLength = -1;
  /** Header bytes of the first fragment (IPv4 header; IPv6 header + extension headers before the fragment header). */
  header: Uint8Array | null = null;
  /** IPv6: offset in `header` of the Next Header byte that announced the fragment header. */
  nextHeaderAt = 0;
  /** IPv6: the fragment header's Next Header (the upper layer). */
  upperProtocol = 0;
  /** OR of (1 << ECN codepoint) over the fragments. */
  ecnSeen = 0;
  /** Bytes charged to the budgets. */
  charged = 0;
  /** Discarded (RFC 5722): holds no data, only absorbs later fragments until it expires. */
  dead = false;
  removed = false;
  constructor(
    readonly hash: number,
    readonly version: 4 | 6,
    readonly src: Uint8Array,
    readonly dst: Uint8Array,
    readonly id: number,
    readonly protocol: number,
    readonly source: SourceTally,
    readonly expiresAt: number,
  ) {}
}

class SourceTally {
  bytes = 0;
  /** This source's datagrams, oldest first (a list through Datagram.srcNewer). */
  oldest: Datagram | null = null;
  newest: Datagram | null = null;
  constructor(readonly key: number) {}
}

/** Datagrams of one IP version in creation order (each version has one timeout, so this is expiry order too). */
class AgeList {
  oldest: Datagram | null = null;
  newest: Datagram | null = null;
  size = 0;
  add(d: Datagram): void {
    d.older = this.newest; d.newer = null;
    if (this.newest) this.newest.newer = d; else this.oldest = d;
    this.newest = d; this.size++;
  }
  delete(d: Datagram): void {
    if (d.older) d.older.newer = d.newer; else this.oldest = d.newer;
    if (d.newer) d.newer.older = d.older; else this.newest = d.older;
    d.older = d.newer = null; this.size--;
  }
}

/** True if the datagram is a fragment (IPv4 MF or offset; IPv6 with a fragment header, atomic ones too). */
export function isFragment(ip: IpPacket): boolean {
  if (ip.version === 4) return ip.mf || ip.fragOffset !== 0;
  for (const h of ip.extHeaders) if (h.type === EXT_FRAGMENT) return true;
  return false;
}

export class IpReassembler {
  readonly counters = new ReassemblyCounters();
  /** Why the last push() dropped what it was given (null when it completed, passed through or is waiting). */
  lastDrop: ReassemblyDrop | null = null;
  readonly maxBytes: number;
  readonly maxPerSource: number;
  readonly timeoutMs: number;
  readonly timeoutMs6: number;
  private readonly onTimeout: ReassemblerOptions['onTimeout'];
  private readonly buckets = new Map<number, Datagram>();
  /** Datagrams in creation order per version; each version has one timeout, so this is expiry order too. */
  private readonly order4 = new AgeList();
  private readonly order6 = new AgeList();
  private readonly sources = new Map<number, SourceTally>();
  private held = 0;

  constructor(opts: ReassemblerOptions = {}) {
    this.maxBytes = opts.maxBytes ?? 4 * 1024 * 1024;
    this.maxPerSource = Math.min(this.maxBytes, opts.maxPerSource ?? Math.floor(this.maxBytes / 4));
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.timeoutMs6 = opts.timeoutMs6 ?? 60_000;
    this.onTimeout = opts.onTimeout;
  }

  /** Bytes held now, overheads included (never above maxBytes). */
  get heldBytes(): number { return this.held; }
  /** Incomplete (or discarded, still absorbing) datagrams held now. */
  get pending(): number { return this.order4.size + this.order6.size; }
  /** Bytes held for one source address. */
  heldFor(src: Uint8Array): number { return this.sources.get(addrHash(src))?.bytes ?? 0; }

  /** When expire() next has work (Infinity when nothing is held). */
  nextExpiry(): number {
    if (this.order4.size === 0 && this.order6.size === 0) return Infinity;
    const a = this.order4.oldest?.expiresAt ?? Infinity;
    const b = this.order6.oldest?.expiresAt ?? Infinity;
    return a < b ? a : b;
  }

  /** Drops every datagram whose timeout has passed; returns how many. */
  expire(now: number): number {
    return this.expireSet(this.order4, now) + this.expireSet(this.order6, now);
  }

  /**
   * One IP datagram from the link. Returns it unchanged when it is no fragment, a new buffer holding the whole
   * datagram (header of the first fragment, fragmentation fields cleared, lengths and IPv4 checksum fixed; IPv6
   * without the fragment header) when this fragment completed one, and null otherwise (lastDrop says why, when
   * it was dropped). `ip` may be passed when the caller already decoded the packet; it must describe `packet`.
   */
  push(packet: Uint8Array, now: number, ip?: IpPacket): Uint8Array | null {
    this.lastDrop = null;
    if (ip === undefined) {
      try { ip = decodeIp(packet); } catch { return this.dropFragment('malformed'); }
    }
    this.expire(now);
    if (!isFragment(ip)) return packet;
    this.counters.ReasmReqds++;
    if (ip.truncated) return this.dropFragment('truncated');

    // The fragment's data and where it sits in the reassembled payload.
    let dataStart: number, headerEnd: number, protocol: number, nextHeaderAt = 0;
    const end = packet.length < ip.totalLength ? packet.length : ip.totalLength;
    if (ip.version === 4) {
      dataStart = ip.headerLength; headerEnd = ip.headerLength; protocol = ip.protocol;
    } else {
      let fh = -1, prev = -1;
      for (const h of ip.extHeaders) { if (h.type === EXT_FRAGMENT) { fh = h.offset; break; } prev = h.offset; }
      headerEnd = fh; dataStart = fh + 8; protocol = packet[fh]!;
      nextHeaderAt = prev < 0 ? 6 : prev;
      // RFC 8200 §4.5 / RFC 6946: an atomic fragment (offset 0, M = 0) is processed on its own.
      if (ip.fragOffset === 0 && !ip.mf) {
        this.counters.ReasmOKs++;
        return buildV6(packet.subarray(0, headerEnd), nextHeaderAt, protocol, [{ offset: 0, end: end - dataStart, data: packet.subarray(dataStart, end) }], end - dataStart);
      }
    }
    const len = end - dataStart;
    const offset = ip.fragOffset;
    let fragEnd = offset + len;
    if (len <= 0) return this.dropFragment('bad-length');
    if (ip.mf && (fragEnd & 7) !== 0) {
      // RFC 8200 §4.5: a non-last fragment whose length is not a multiple of 8 is discarded (with a parameter
      // problem); Linux's IPv4 trims it to a multiple of 8 instead.
      if (ip.version === 6) return this.dropFragment('bad-length');
      fragEnd &= ~7;
      if (fragEnd <= offset) return this.dropFragment('bad-length');
    }
    const maxPayload = ip.version === 4 ? 0xffff - ip.headerLength : 0xffff - (headerEnd - IPV6_HEADER_LENGTH);
    if (fragEnd > maxPayload) return this.dropFragment('too-long'); // ping of death; RFC 8200 §4.5

    // RFC 791 keys on (src, dst, protocol, id); RFC 8200 on (src, dst, id).
    const keyProto = ip.version === 4 ? protocol : 0;
    const hash = keyHash(ip.version, ip.src, ip.dst, ip.id, keyProto);
    let d = this.find(hash, ip.version, ip.src, ip.dst, ip.id, keyProto);
    if (d === null) {
      d = this.create(hash, ip, keyProto, now);
      if (d === null) return this.dropFragment('over-limit');
    }
    if (d.dead) { this.counters.ReasmDiscardedLate++; return this.dropFragment('discarded-datagram'); }

    // The end of the datagram: set by the last fragment, never contradicted (Linux: ip_frag_queue).
    if (!ip.mf) {
      if (fragEnd < d.received || (d.totalLength >= 0 && fragEnd !== d.totalLength) || (d.fragments.length && d.fragments[d.fragments.length - 1]!.end > fragEnd)) {
        return this.kill(d, 'inconsistent-end');
      }
    } else if (d.totalLength >= 0 && fragEnd > d.totalLength) {
      return this.kill(d, 'inconsistent-end');
    }

    // Sorted, non-overlapping fragments: binary search for the first fragment starting after this one.
    const frags = d.fragments;
    let lo = 0, hi = frags.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (frags[mid]!.offset <= offset) lo = mid + 1; else hi = mid; }
    const prev = lo > 0 ? frags[lo - 1]! : null;
    const next = lo < frags.length ? frags[lo]! : null;
    if (prev !== null && prev.offset === offset && prev.end === fragEnd) {
      this.counters.ReasmDuplicates++;
      return this.dropFragment('duplicate');
    }
    if ((prev !== null && prev.end > offset) || (next !== null && next.offset < fragEnd)) return this.kill(d, 'overlap');

    // ECN codepoints (RFC 3168 §5.3): 0 Not-ECT, 1/2 ECT, 3 CE.
    d.ecnSeen |= 1 << (ip.tos & 3);
    if ((d.ecnSeen & 1) !== 0 && (d.ecnSeen & 0b1110) !== 0) return this.kill(d, 'ecn-mix');

    const isFirst = offset === 0;
    const total = ip.mf ? d.totalLength : fragEnd;
    // The fragment that completes the datagram is used where it lies (the datagram is built and forgotten at
    // once); any other is copied, so no caller's buffer is kept alive and the budget counts what is held.
    const completes = total >= 0 && d.received + (fragEnd - offset) === total;
    let data: Uint8Array, header: Uint8Array | null = null;
    if (completes) {
      data = packet.subarray(dataStart, dataStart + (fragEnd - offset));
      if (isFirst) header = packet.subarray(0, headerEnd);
    } else {
      // Budget: this fragment's charge must fit its source's bound and the total bound, evicting oldest first.
      const charge = (fragEnd - offset) + FRAGMENT_OVERHEAD + (isFirst ? headerEnd : 0);
      if (!this.makeRoom(d, charge)) return this.dropFragment('over-limit');
      this.charge(d, charge);
      // One copy per fragment; the first fragment's copy also holds the header the datagram is rebuilt with.
      const copy = packet.slice(isFirst ? 0 : dataStart, dataStart + (fragEnd - offset));
      data = isFirst ? copy.subarray(dataStart) : copy;
      if (isFirst) header = copy.subarray(0, headerEnd);
    }
    frags.splice(lo, 0, { offset, end: fragEnd, data });
    d.received += fragEnd - offset;
    if (!ip.mf) d.totalLength = fragEnd;
    if (isFirst) {
      d.header = header;
      d.nextHeaderAt = nextHeaderAt;
      d.upperProtocol = protocol;
    }
    if (!completes) return null;

    // Complete: every byte 0..totalLength is covered exactly once.
    this.remove(d);
    this.counters.ReasmOKs++;
    const ce = (d.ecnSeen & 8) !== 0;
    const out = d.version === 4
      ? buildV4(d.header!, frags, d.totalLength)
      : buildV6(d.header!, d.nextHeaderAt, d.upperProtocol, frags, d.totalLength);
    if (ce) setCe(out);
    return out;
  }

  // ---------------------------------------------------------------------------------------------

  private dropFragment(why: ReassemblyDrop): null {
    this.lastDrop = why;
    if (why === 'malformed' || why === 'truncated') this.counters.ReasmMalformed++;
    else if (why === 'bad-length') this.counters.ReasmBadLength++;
    else if (why === 'too-long') { this.counters.ReasmTooLong++; this.counters.ReasmFails++; }
    else if (why === 'over-limit') this.counters.ReasmOverLimit++;
    return null;
  }

  /** Discard a datagram's data; it stays as a dead entry that absorbs its later fragments until it expires (RFC 5722). */
  private kill(d: Datagram, why: ReassemblyDrop): null {
    this.lastDrop = why;
    this.counters.ReasmFails++;
    if (why === 'overlap') this.counters.ReasmOverlaps++;
    else if (why === 'inconsistent-end') this.counters.ReasmBadEnd++;
    else if (why === 'ecn-mix') this.counters.ReasmEcnMix++;
    const keep = DATAGRAM_OVERHEAD;
    this.charge(d, keep - d.charged);
    d.fragments = [];
    d.header = null;
    d.dead = true;
    return null;
  }

  private find(hash: number, version: 4 | 6, src: Uint8Array, dst: Uint8Array, id: number, protocol: number): Datagram | null {
    for (let d = this.buckets.get(hash) ?? null; d !== null; d = d.next) {
      if (d.version === version && d.id === id && d.protocol === protocol && bytesEqual(d.src, src) && bytesEqual(d.dst, dst)) return d;
    }
    return null;
  }

  /** A new entry, charged DATAGRAM_OVERHEAD; null when that does not fit the bounds even after evictions. */
  private create(hash: number, ip: IpPacket, protocol: number, now: number): Datagram | null {
    const sk = addrHash(ip.src);
    let s = this.sources.get(sk);
    if (s === undefined) { s = new SourceTally(sk); this.sources.set(sk, s); }
    const addrs = new Uint8Array(ip.src.length * 2); // src and dst in one allocation
    addrs.set(ip.src, 0); addrs.set(ip.dst, ip.src.length);
    const n = ip.src.length;
    const d = new Datagram(hash, ip.version, addrs.subarray(0, n), addrs.subarray(n), ip.id, protocol, s, now + (ip.version === 4 ? this.timeoutMs : this.timeoutMs6));
    d.next = this.buckets.get(hash) ?? null;
    this.buckets.set(hash, d);
    (ip.version === 4 ? this.order4 : this.order6).add(d);
    d.srcOlder = s.newest;
    if (s.newest) s.newest.srcNewer = d; else s.oldest = d;
    s.newest = d;
    if (!this.makeRoom(d, DATAGRAM_OVERHEAD)) { this.remove(d); return null; }
    this.charge(d, DATAGRAM_OVERHEAD);
    return d;
  }

  private charge(d: Datagram, n: number): void {
    d.charged += n;
    d.source.bytes += n;
    this.held += n;
  }

  /** Evicts oldest datagrams (never `keep`) until `n` more bytes fit both bounds; false if they cannot. */
  private makeRoom(keep: Datagram, n: number): boolean {
    const s = keep.source;
    if (s.bytes + n > this.maxPerSource) {
      for (let d = s.oldest; d !== null && s.bytes + n > this.maxPerSource;) {
        const next = d.srcNewer;
        if (d !== keep) { this.evict(d); this.counters.ReasmEvictedSource++; }
        d = next;
      }
      if (s.bytes + n > this.maxPerSource) return false;
    }
    if (this.held + n > this.maxBytes) {
      this.evictOldest(this.order4, keep, n);
      this.evictOldest(this.order6, keep, n);
      if (this.held + n > this.maxBytes) return false;
    }
    return true;
  }

  private evictOldest(order: AgeList, keep: Datagram, n: number): void {
    for (let d = order.oldest; d !== null && this.held + n > this.maxBytes;) {
      const next = d.newer;
      if (d !== keep) { this.evict(d); this.counters.ReasmEvictedTotal++; }
      d = next;
    }
  }

  private evict(d: Datagram): void {
    if (!d.dead) this.counters.ReasmFails++;
    this.remove(d);
  }

  private remove(d: Datagram): void {
    if (d.removed) return;
    d.removed = true;
    let p = this.buckets.get(d.hash) ?? null;
    if (p === d) {
      if (d.next === null) this.buckets.delete(d.hash); else this.buckets.set(d.hash, d.next);
    } else {
      while (p !== null && p.next !== d) p = p.next;
      if (p !== null) p.next = d.next;
    }
    (d.version === 4 ? this.order4 : this.order6).delete(d);
    const s = d.source;
    if (d.srcOlder) d.srcOlder.srcNewer = d.srcNewer; else s.oldest = d.srcNewer;
    if (d.srcNewer) d.srcNewer.srcOlder = d.srcOlder; else s.newest = d.srcOlder;
    d.srcOlder = d.srcNewer = null;
    s.bytes -= d.charged;
    this.held -= d.charged;
    d.charged = 0;
    if (s.oldest === null) this.sources.delete(s.key);
  }

  private expireSet(order: AgeList, now: number): number {
    let n = 0;
    for (let d = order.oldest; d !== null && d.expiresAt <= now; d = order.oldest) {
      this.remove(d);
      n++;
      if (d.dead) continue; // already counted when it was discarded
      this.counters.ReasmTimeout++;
      this.counters.ReasmFails++;
      if (this.onTimeout && d.header !== null && d.fragments.length && d.fragments[0]!.offset === 0) {
        this.onTimeout(firstFragment(d), d.version);
      }
    }
    return n;
  }
}

/** The first fragment as it arrived (approximately: header + the data at offset 0), for ICMP time exceeded. */
function firstFragment(d: Datagram): Uint8Array {
  const h = d.header!;
  const f = d.fragments[0]!;
  const out = new Uint8Array(h.length + (d.version === 6 ? 8 : 0) + f.data.length);
  out.set(h, 0);
  if (d.version === 4) {
    out.set(f.data, h.length);
    const total = out.length;
    out[2] = total >> 8; out[3] = total;
    out[6] = (out[6]! & 0x40) | 0x20; out[7] = 0; // MF, offset 0
    setIpv4Checksum(out, h.length);
  } else {
    out.set(f.data, h.length + 8);
    out[d.nextHeaderAt] = EXT_FRAGMENT;
    const fh = h.length;
    out[fh] = d.upperProtocol; out[fh + 1] = 0; out[fh + 2] = 0; out[fh + 3] = 1;
    out[fh + 4] = d.id >>> 24; out[fh + 5] = d.id >>> 16; out[fh + 6] = d.id >>> 8; out[fh + 7] = d.id;
    const pl = out.length - IPV6_HEADER_LENGTH;
    out[4] = pl >> 8; out[5] = pl;
  }
  return out;
}

function buildV4(header: Uint8Array, frags: Fragment[], payloadLength: number): Uint8Array {
  const hl = header.length;
  const out = new Uint8Array(hl + payloadLength);
  out.set(header, 0);
  for (const f of frags) out.set(f.data, hl + f.offset);
  const total = hl + payloadLength;
  out[2] = total >> 8; out[3] = total;
  out[6] &= 0x40; out[7] = 0; // keep DF, clear MF and the offset
  setIpv4Checksum(out, hl);
  return out;
}

function buildV6(unfragmentable: Uint8Array, nextHeaderAt: number, protocol: number, frags: Fragment[], payloadLength: number): Uint8Array {
  const hl = unfragmentable.length;
  const out = new Uint8Array(hl + payloadLength);
  out.set(unfragmentable, 0);
  for (const f of frags) out.set(f.data, hl + f.offset);
  out[nextHeaderAt] = protocol; // the header that announced the fragment header now announces the upper layer
  const pl = out.length - IPV6_HEADER_LENGTH;
  out[4] = pl >> 8; out[5] = pl;
  return out;
}

function setIpv4Checksum(out: Uint8Array, hl: number): void {
  out[10] = 0; out[11] = 0;
  const ck = finishChecksum(onesComplementSum(out, 0, hl));
  out[10] = ck >> 8; out[11] = ck;
}

/** Sets ECN CE in a whole datagram (and fixes the IPv4 header checksum). */
function setCe(out: Uint8Array): void {
  if (out[0]! >> 4 === 4) { out[1] |= 3; setIpv4Checksum(out, (out[0]! & 0x0f) * 4); }
  else out[1] |= 0x30; // traffic class straddles bytes 0 and 1: its low 2 bits are bits 4-5 of byte 1
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function addrHash(a: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a[i]!, 0x01000193);
  return h >>> 0;
}

/** FNV-1a over the reassembly key: RFC 791 (src, dst, protocol, id); RFC 8200 (src, dst, id). */
function keyHash(version: number, src: Uint8Array, dst: Uint8Array, id: number, protocol: number): number {
  let h = 0x811c9dc5 ^ version;
  for (let i = 0; i < src.length; i++) h = Math.imul(h ^ src[i]!, 0x01000193);
  for (let i = 0; i < dst.length; i++) h = Math.imul(h ^ dst[i]!, 0x01000193);
  h = Math.imul(h ^ (id & 0xff), 0x01000193); h = Math.imul(h ^ ((id >>> 8) & 0xff), 0x01000193);
  h = Math.imul(h ^ ((id >>> 16) & 0xff), 0x01000193); h = Math.imul(h ^ (id >>> 24), 0x01000193);
  h = Math.imul(h ^ protocol, 0x01000193);
  return h >>> 0;
}

// -------------------------------------------------------------------------------------------------
// Fragmentation (the other direction): for datagrams the host must send larger than the path MTU, e.g. an echo
// reply to a large ping (TCP never needs it: its segments carry DF and fit the MSS).
// -------------------------------------------------------------------------------------------------

/**
 * Cuts an IPv4 or IPv6 datagram into fragments whose data start at `cuts` (offsets into the fragmentable
 * payload, multiples of 8, increasing, inside it). IPv4 fragments after the first carry a 20-byte header
 * without options (RFC 791 copies only options with the copied flag; synack sends none), and keep the
 * datagram's identification. IPv6 fragments carry the unfragmentable part (the header, hop-by-hop and routing
 * headers, RFC 8200 §4.5) and a fragment header with identification `id`. A cut list may be empty: IPv6 then yields one atomic fragment, IPv4 the datagram unchanged.
 */
export function fragmentAt(packet: Uint8Array, cuts: readonly number[], id: number): Uint8Array[] {
  const ip = decodeIp(packet);
  const out: Uint8Array[] = [];
  if (ip.version === 4) {
    if (cuts.length === 0) return [packet];
    const hl = ip.headerLength;
    const payload = packet.subarray(hl, ip.totalLength);
    const bounds = [0, ...cuts, payload.length];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const a = bounds[i]!, b = bounds[i + 1]!;
      const h = i === 0 ? packet.subarray(0, hl) : packet.subarray(0, 20);
      const f = new Uint8Array(h.length + (b - a));
      f.set(h, 0);
      if (i > 0) f[0] = 0x45;
      f.set(payload.subarray(a, b), h.length);
      f[2] = f.length >> 8; f[3] = f.length;
      const base = ip.fragOffset + a;
      const mf = i + 2 < bounds.length || ip.mf;
      f[6] = (mf ? 0x20 : 0) | ((base / 8) >> 8); f[7] = base / 8;
      setIpv4Checksum(f, h.length);
      out.push(f);
    }
    return out;
  }
  // Unfragmentable part: the IPv6 header and any hop-by-hop / routing headers before the rest (RFC 8200 §4.5).
  let unfrag = IPV6_HEADER_LENGTH, nextAt = 6;
  for (const h of ip.extHeaders) {
    if (h.type !== 0 && h.type !== 43) break;
    nextAt = h.offset; unfrag = h.offset + h.length;
  }
  const proto = packet[nextAt]!;
  const payload = packet.subarray(unfrag, ip.totalLength);
  const bounds = [0, ...cuts, payload.length];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const a = bounds[i]!, b = bounds[i + 1]!;
    const f = new Uint8Array(unfrag + 8 + (b - a));
    f.set(packet.subarray(0, unfrag), 0);
    f[nextAt] = EXT_FRAGMENT;
    const mf = i + 2 < bounds.length;
    f[unfrag] = proto; f[unfrag + 1] = 0;
    f[unfrag + 2] = a >> 8; f[unfrag + 3] = (a & 0xf8) | (mf ? 1 : 0);
    f[unfrag + 4] = id >>> 24; f[unfrag + 5] = id >>> 16; f[unfrag + 6] = id >>> 8; f[unfrag + 7] = id;
    f.set(payload.subarray(a, b), unfrag + 8);
    const pl = f.length - IPV6_HEADER_LENGTH;
    f[4] = pl >> 8; f[5] = pl;
    out.push(f);
  }
  return out;
}

/** Cuts a datagram into fragments of at most `mtu` bytes (largest multiple-of-8 data per fragment); see fragmentAt. */
export function fragment(packet: Uint8Array, mtu: number, id: number): Uint8Array[] {
  const ip = decodeIp(packet);
  if (ip.totalLength <= mtu) return [packet];
  let unfrag: number, extra: number;
  if (ip.version === 4) { unfrag = ip.headerLength; extra = 0; } else {
    unfrag = IPV6_HEADER_LENGTH;
    for (const h of ip.extHeaders) { if (h.type !== 0 && h.type !== 43) break; unfrag = h.offset + h.length; }
    extra = 8;
  }
  const step = Math.floor((mtu - unfrag - extra) / 8) * 8;
  if (step <= 0) throw new RangeError(`MTU ${mtu} leaves no room for fragment data`);
  const cuts: number[] = [];
  for (let a = step; a < ip.totalLength - unfrag; a += step) cuts.push(a);
  return fragmentAt(packet, cuts, id);
}
