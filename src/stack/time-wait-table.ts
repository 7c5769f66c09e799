/**
 * The TIME-WAIT table (RFC 9293 §3.6.1, §3.10.7.4): what a connection that has closed still needs for 2·MSL
 * — the 4-tuple, SND.NXT and RCV.NXT (to re-ACK a retransmitted FIN and to judge a new SYN, RFC 6191), the
 * timestamp state (RFC 7323) and the window it advertised — kept in typed arrays, not objects: 52 bytes an entry
 * (nine 32-bit words side by side and two times), found through an open-addressed hash index (linear probing on the
 * stack's numeric tuple key, 8 to 16 bytes an entry). An entry (its "slot") keeps its place until removed: growing
 * the arrays copies them, growing the index re-inserts numbers only, and nothing else moves.
 * Local addresses are stored as an index into the stack's own address list, remote IPv4 addresses as one
 * 32-bit word, IPv6 ones in a side column allocated when the first IPv6 entry arrives. A queue of (entry, time)
 * pairs in time order holds the expiries: every entry lasts 2·MSL from its last (re)start, so appending keeps
 * the queue sorted; a restart appends again, and a queued time that no longer matches its slot is stale.
 *
 * Browser-clean (no Node imports).
 */
import { addressEquals } from '../wire/address.js';

const FLAG_TS_OK = 1, FLAG_V6 = 2, LIVE = 4;
/** Words per entry (TimeWaitTable.w) and where each field sits. */
const W = 9, PORTS = 1, SND = 2, RCV = 3, TSR = 4, TSO = 5, MISC = 6, R4 = 7, ID = 8;

/** An IPv4 address as the one 32-bit word an entry stores it in. */
function ipv4Word(a: Uint8Array): number { return ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0; }

/** What a TIME-WAIT entry is created from. */
export interface TimeWaitState {
  sndNxt: number; rcvNxt: number; tsOk: boolean; tsRecent: number; tsOffset: number; window: number; expiresAt: number;
}

/**
 * How many connections and TIME-WAIT entries each local port has, any address: RFC 6056's port choice takes a
 * port nobody uses without looking its tuple up in either table, as Linux's inet_hash_connect takes a port with
 * no bind bucket. One byte a port, made on first use (64 KiB); a count that reaches 255 stays there, and that port
 * is looked up tuple by tuple, as every port was before.
 */
export class PortUse {
  private n: Uint8Array | null = null;
  inc(port: number): void {
    const n = this.n ??= new Uint8Array(65536);
    if (n[port]! < 255) n[port]!++;
  }
  dec(port: number): void {
    const n = this.n;
    if (n !== null && n[port]! < 255) n[port]!--;
  }
  /** No connection and no TIME-WAIT entry has this local port. */
  unused(port: number): boolean { return this.n === null || this.n[port] === 0; }
}

export class TimeWaitTable {
  /** Live entries. */
  size = 0;
  /**
   * The hash index: open addressing with linear probing on the tuple key, a power of two long, at most half full;
   * each slot holds an entry's number + 1 (0: empty). Removal shifts the entries after it back (no tombstones),
   * and growing rebuilds only this array: entries never move, so the expiry queue refers to them as they are.
   */
  private index = new Int32Array(0);
  private mask = 0;
  /** Entries the columns have room for; numbers below `top` have been handed out, removed ones wait on `free`. */
  private cap = 0;
  private top = 0;
  private free = new Int32Array(0);
  private nFree = 0;
  /**
   * The entries' fields, W words an entry in one array (an entry's fields share a cache line or two, where a column
   * each touched a line per field): the tuple key, local << 16 | remote port, SND.NXT, RCV.NXT, TS.Recent, the
   * timestamp offset, window | flags << 16 | local address index << 24, the remote IPv4 address, the connection id.
   */
  private w = new Uint32Array(0);
  /** Per entry: when it expires, and when it last sent an out-of-window ACK (rate limit). */
  private times = new Float64Array(0);
  private remote6: Uint8Array | null = null; // 16 bytes per entry, only once an IPv6 entry exists
  // Expiry queue: entries and times, in time order, from qHead to qTail.
  private qSlot = new Int32Array(0);
  private qAt = new Float64Array(0);
  private qHead = 0;
  private qTail = 0;

  /** `locals`: the stack's own addresses; entries refer to them by index. `portUse` counts the entries' local ports. */
  constructor(private readonly locals: readonly Uint8Array[], initialSlots = 64, private readonly portUse: PortUse | null = null) {
    let n = 8;
    while (n < initialSlots) n *= 2;
    this.index = new Int32Array(n);
    this.mask = n - 1;
    this.grow(n >> 1);
  }

  /** Room for `cap` entries (a copy: entries never move). */
  private grow(cap: number): void {
    this.cap = cap;
    const free = new Int32Array(cap); free.set(this.free); this.free = free;
    const w = new Uint32Array(W * cap); w.set(this.w); this.w = w;
    const times = new Float64Array(2 * cap); times.set(this.times); this.times = times;
    if (this.remote6 !== null) { const r6 = new Uint8Array(16 * cap); r6.set(this.remote6); this.remote6 = r6; }
  }

  /** Puts entry `e` (its key written) into the index. */
  private insert(e: number): void {
    const idx = this.index, mask = this.mask;
    let i = this.w[W * e]! & mask;
    while (idx[i] !== 0) i = (i + 1) & mask;
    idx[i] = e + 1;
  }

  private localIndex(la: Uint8Array): number {
    const i = this.locals.indexOf(la);
    if (i >= 0) return i;
    for (let k = 0; k < this.locals.length; k++) if (addressEquals(this.locals[k]!, la)) return k;
    return -1;
  }

  private remoteMatches(slot: number, ra: Uint8Array): boolean {
    const v6 = (this.w[W * slot + MISC]! & (FLAG_V6 << 16)) !== 0;
    if (v6 !== (ra.length === 16)) return false;
    if (!v6) return this.w[W * slot + R4] === ipv4Word(ra);
    const r6 = this.remote6!;
    for (let i = 0; i < 16; i++) if (r6[16 * slot + i] !== ra[i]) return false;
    return true;
  }

  /** The slot (entry) for this tuple, or -1. `key` is the stack's tupleKey of it. */
  find(key: number, la: Uint8Array, lp: number, ra: Uint8Array, rp: number): number {
    if (this.size === 0) return -1;
    const li = this.localIndex(la);
    const pp = ((lp << 16) | rp) >>> 0;
    const idx = this.index, mask = this.mask, w = this.w;
    for (let i = key & mask; ; i = (i + 1) & mask) {
      const v = idx[i]!;
      if (v === 0) return -1;
      const e = v - 1, o = W * e;
      if (w[o] === key && w[o + PORTS] === pp && w[o + MISC]! >>> 24 === li && this.remoteMatches(e, ra)) return e;
    }
  }

  /** Adds an entry (the tuple must not be in the table) and queues its expiry; returns its slot. */
  add(key: number, la: Uint8Array, lp: number, ra: Uint8Array, rp: number, s: TimeWaitState, connId: number): number {
    if (2 * (this.size + 1) > this.index.length) {
      // Half full: an index twice as long, rebuilt from the live entries.
      this.index = new Int32Array(2 * this.index.length);
      this.mask = this.index.length - 1;
      for (let e = 0; e < this.top; e++) if (this.live(e)) this.insert(e);
    }
    let e: number;
    if (this.nFree > 0) e = this.free[--this.nFree]!;
    else {
      if (this.top === this.cap) this.grow(2 * this.cap);
      e = this.top++;
    }
    this.size++;
    this.portUse?.inc(lp);
    this.write(e, key, this.localIndex(la), lp, ra, rp, s, connId);
    this.insert(e);
    this.enqueue(e, s.expiresAt);
    return e;
  }

  private write(i: number, key: number, li: number, lp: number, ra: Uint8Array, rp: number, s: TimeWaitState, connId: number): void {
    const w = this.w, o = W * i;
    let f = LIVE | (s.tsOk ? FLAG_TS_OK : 0);
    if (ra.length === 16) {
      f |= FLAG_V6;
      if (this.remote6 === null) this.remote6 = new Uint8Array(16 * this.cap);
      this.remote6.set(ra, 16 * i);
    } else {
      w[o + R4] = ipv4Word(ra);
    }
    w[o] = key;
    w[o + PORTS] = ((lp << 16) | rp) >>> 0;
    w[o + SND] = s.sndNxt; w[o + RCV] = s.rcvNxt;
    w[o + TSR] = s.tsRecent; w[o + TSO] = s.tsOffset;
    w[o + MISC] = ((s.window & 0xffff) | (f << 16) | (li << 24)) >>> 0;
    w[o + ID] = connId;
    this.times[2 * i] = s.expiresAt;
    this.times[2 * i + 1] = -Infinity;
  }

  /** The entry in `slot` is in the table (not removed). */
  private live(slot: number): boolean { return (this.w[W * slot + MISC]! & (LIVE << 16)) !== 0; }

  /** Forgets the entry in `slot`. */
  remove(slot: number): void {
    if (!this.live(slot)) return;
    const w = this.w;
    w[W * slot + MISC] = w[W * slot + MISC]! & ~(LIVE << 16);
    this.size--;
    this.portUse?.dec(w[W * slot + PORTS]! >>> 16);
    const idx = this.index, mask = this.mask;
    let i = w[W * slot]! & mask;
    while (idx[i] !== slot + 1) i = (i + 1) & mask;
    // Backward-shift deletion (Knuth, TAOCP 6.4, Algorithm R): each later entry of the run whose home slot does not
    // lie cyclically in (hole, its slot] moves into the hole, so every probe still reaches its entry.
    for (let j = i; ;) {
      j = (j + 1) & mask;
      const v = idx[j]!;
      if (v === 0) break;
      const home = w[W * (v - 1)]! & mask;
      if (j > i ? home <= i || home > j : home <= i && home > j) { idx[i] = v; i = j; }
    }
    idx[i] = 0;
    if (this.size === 0) { this.top = 0; this.nFree = 0; } // the index is empty again: numbers start over
    else this.free[this.nFree++] = slot;
  }

  /** 2·MSL starts again (a retransmitted FIN arrived). */
  restart(slot: number, expiresAt: number): void {
    this.times[2 * slot] = expiresAt;
    this.enqueue(slot, expiresAt);
  }

  private enqueue(slot: number, at: number): void {
    if (this.qTail === this.qSlot.length) {
      const live = this.qTail - this.qHead;
      if (this.qHead > 0 && live * 2 <= this.qSlot.length) {
        this.qSlot.copyWithin(0, this.qHead, this.qTail); this.qAt.copyWithin(0, this.qHead, this.qTail);
      } else {
        const n = Math.max(64, this.qSlot.length * 2);
        const s = new Int32Array(n), a = new Float64Array(n);
        s.set(this.qSlot.subarray(this.qHead, this.qTail)); a.set(this.qAt.subarray(this.qHead, this.qTail));
        this.qSlot = s; this.qAt = a;
      }
      this.qHead = 0; this.qTail = live;
    }
    this.qSlot[this.qTail] = slot;
    this.qAt[this.qTail++] = at;
  }

  /** When the earliest queued expiry is due (Infinity when none; a stale one is only skipped when due). */
  nextExpiry(): number {
    return this.qHead < this.qTail ? this.qAt[this.qHead]! : Infinity;
  }

  /** Removes every entry whose 2·MSL has ended by `now`, calling `onExpire(slot)` just before each removal. */
  expire(now: number, onExpire: (slot: number) => void): void {
    while (this.qHead < this.qTail && this.qAt[this.qHead]! <= now) {
      const slot = this.qSlot[this.qHead]!, at = this.qAt[this.qHead]!;
      this.qHead++;
      if (!this.live(slot) || this.times[2 * slot] !== at) continue; // stale: removed or restarted
      onExpire(slot);
      this.remove(slot);
    }
    if (this.qHead === this.qTail) this.qHead = this.qTail = 0;
  }

  /** Every live slot. */
  *slots(): Iterable<number> {
    for (let i = 0; i < this.top; i++) if (this.live(i)) yield i;
  }

  localAddr(slot: number): Uint8Array { return this.locals[this.w[W * slot + MISC]! >>> 24]!; }
  /** A new array holding the remote address (entries keep no Uint8Array of their own). */
  remoteAddr(slot: number): Uint8Array {
    if (this.w[W * slot + MISC]! & (FLAG_V6 << 16)) return this.remote6!.slice(16 * slot, 16 * slot + 16);
    const r = this.w[W * slot + R4]!;
    return new Uint8Array([r >>> 24, (r >>> 16) & 0xff, (r >>> 8) & 0xff, r & 0xff]);
  }
  localPort(slot: number): number { return this.w[W * slot + PORTS]! >>> 16; }
  remotePort(slot: number): number { return this.w[W * slot + PORTS]! & 0xffff; }
  sndNxt(slot: number): number { return this.w[W * slot + SND]!; }
  rcvNxt(slot: number): number { return this.w[W * slot + RCV]!; }
  tsRecent(slot: number): number { return this.w[W * slot + TSR]!; }
  tsOffset(slot: number): number { return this.w[W * slot + TSO]!; }
  tsOk(slot: number): boolean { return (this.w[W * slot + MISC]! & (FLAG_TS_OK << 16)) !== 0; }
  window(slot: number): number { return this.w[W * slot + MISC]! & 0xffff; }
  expiresAt(slot: number): number { return this.times[2 * slot]!; }
  connId(slot: number): number { return this.w[W * slot + ID]!; }
  /** When the entry last answered a segment under the out-of-window rate limit (-Infinity: never). */
  lastOowAckAt(slot: number): number { return this.times[2 * slot + 1]!; }
  setLastOowAckAt(slot: number, at: number): void { this.times[2 * slot + 1] = at; }
}
