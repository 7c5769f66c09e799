/**
 * The TIME-WAIT table (RFC 9293 §3.6.1, §3.10.7.4): what a connection that has closed still needs for 2·MSL
 * — the 4-tuple, SND.NXT and RCV.NXT (to re-ACK a retransmitted FIN and to judge a new SYN, RFC 6191), the
 * timestamp state (RFC 7323) and the window it advertised — kept in typed arrays, not objects: an open-addressed
 * hash table (linear probing on the stack's numeric tuple key) whose slots are columns, about 53 bytes a slot.
 * Local addresses are stored as an index into the stack's own address list, remote IPv4 addresses as one
 * 32-bit word, IPv6 ones in a side column allocated when the first IPv6 entry arrives. A queue of (slot, time)
 * pairs in time order holds the expiries: every entry lasts 2·MSL from its last (re)start, so appending keeps
 * the queue sorted; a restart appends again, and a queued time that no longer matches its slot is stale.
 *
 * Browser-clean (no Node imports).
 */
import { addressEquals } from '../wire/address.js';

const EMPTY_SLOT = 0, LIVE = 1, DELETED = 2;
const MAX_LOAD = 0.7;
const FLAG_TS_OK = 1, FLAG_V6 = 2;

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
  private used = 0; // live + deleted slots
  private cap = 0;
  private state = new Uint8Array(0);
  private keys = new Uint32Array(0);
  private ports = new Uint32Array(0); // local << 16 | remote
  private seqs = new Uint32Array(0); // [sndNxt, rcvNxt] per slot
  private tsv = new Uint32Array(0); // [tsRecent, tsOffset] per slot
  private wins = new Uint16Array(0);
  private flags = new Uint8Array(0);
  private local = new Uint8Array(0); // index into the stack's addresses
  private remote4 = new Uint32Array(0);
  private remote6: Uint8Array | null = null; // 16 bytes per slot, only once an IPv6 entry exists
  private expires = new Float64Array(0);
  private ids = new Uint32Array(0);
  private oow = new Float64Array(0); // when an out-of-window ACK was last sent (rate limit)
  // Expiry queue: slots and times, in time order, from qHead to qTail.
  private qSlot = new Int32Array(0);
  private qAt = new Float64Array(0);
  private qHead = 0;
  private qTail = 0;

  /** `locals`: the stack's own addresses; entries refer to them by index. `portUse` counts the entries' local ports. */
  constructor(private readonly locals: readonly Uint8Array[], initialSlots = 64, private readonly portUse: PortUse | null = null) {
    this.alloc(initialSlots);
  }

  private alloc(cap: number): void {
    this.cap = cap;
    this.state = new Uint8Array(cap);
    this.keys = new Uint32Array(cap);
    this.ports = new Uint32Array(cap);
    this.seqs = new Uint32Array(2 * cap);
    this.tsv = new Uint32Array(2 * cap);
    this.wins = new Uint16Array(cap);
    this.flags = new Uint8Array(cap);
    this.local = new Uint8Array(cap);
    this.remote4 = new Uint32Array(cap);
    this.remote6 = this.remote6 === null ? null : new Uint8Array(16 * cap);
    this.expires = new Float64Array(cap);
    this.ids = new Uint32Array(cap);
    this.oow = new Float64Array(cap);
    this.used = 0;
    this.size = 0;
  }

  private localIndex(la: Uint8Array): number {
    const i = this.locals.indexOf(la);
    if (i >= 0) return i;
    for (let k = 0; k < this.locals.length; k++) if (addressEquals(this.locals[k]!, la)) return k;
    return -1;
  }

  private remoteMatches(slot: number, ra: Uint8Array): boolean {
    const v6 = (this.flags[slot]! & FLAG_V6) !== 0;
    if (v6 !== (ra.length === 16)) return false;
    if (!v6) return this.remote4[slot] === (((ra[0]! << 24) | (ra[1]! << 16) | (ra[2]! << 8) | ra[3]!) >>> 0);
    const r6 = this.remote6!;
    for (let i = 0; i < 16; i++) if (r6[16 * slot + i] !== ra[i]) return false;
    return true;
  }

  /** The slot of the entry for this tuple, or -1. `key` is the stack's tupleKey of it. */
  find(key: number, la: Uint8Array, lp: number, ra: Uint8Array, rp: number): number {
    if (this.size === 0) return -1;
    const li = this.localIndex(la);
    const pp = ((lp << 16) | rp) >>> 0;
    const cap = this.cap;
    for (let i = key % cap, n = 0; n < cap; n++, i = i + 1 === cap ? 0 : i + 1) {
      const st = this.state[i]!;
      if (st === EMPTY_SLOT) return -1;
      if (st === LIVE && this.keys[i] === key && this.ports[i] === pp && this.local[i] === li && this.remoteMatches(i, ra)) return i;
    }
    return -1;
  }

  /** Adds an entry (the tuple must not be in the table) and queues its expiry; returns its slot. */
  add(key: number, la: Uint8Array, lp: number, ra: Uint8Array, rp: number, s: TimeWaitState, connId: number): number {
    if ((this.used + 1) > MAX_LOAD * this.cap) this.rehash(this.size + 1 > (MAX_LOAD / 2) * this.cap ? Math.ceil(this.cap * 1.5) : this.cap);
    let i = key % this.cap;
    while (this.state[i] === LIVE) i = i + 1 === this.cap ? 0 : i + 1;
    if (this.state[i] === EMPTY_SLOT) this.used++;
    this.size++;
    this.portUse?.inc(lp);
    this.write(i, key, this.localIndex(la), lp, ra, rp, s, connId);
    this.enqueue(i, s.expiresAt);
    return i;
  }

  private write(i: number, key: number, li: number, lp: number, ra: Uint8Array, rp: number, s: TimeWaitState, connId: number): void {
    this.state[i] = LIVE;
    this.keys[i] = key;
    this.ports[i] = ((lp << 16) | rp) >>> 0;
    this.seqs[2 * i] = s.sndNxt; this.seqs[2 * i + 1] = s.rcvNxt;
    this.tsv[2 * i] = s.tsRecent; this.tsv[2 * i + 1] = s.tsOffset;
    this.wins[i] = s.window;
    this.local[i] = li;
    let f = s.tsOk ? FLAG_TS_OK : 0;
    if (ra.length === 16) {
      f |= FLAG_V6;
      if (this.remote6 === null) this.remote6 = new Uint8Array(16 * this.cap);
      this.remote6.set(ra, 16 * i);
    } else {
      this.remote4[i] = ((ra[0]! << 24) | (ra[1]! << 16) | (ra[2]! << 8) | ra[3]!) >>> 0;
    }
    this.flags[i] = f;
    this.expires[i] = s.expiresAt;
    this.ids[i] = connId;
    this.oow[i] = -Infinity;
  }

  /** Rebuilds the table with `cap` slots (dropping deleted ones) and the expiry queue from the live entries. */
  private rehash(cap: number): void {
    const old = {
      cap: this.cap, state: this.state, keys: this.keys, ports: this.ports, seqs: this.seqs, tsv: this.tsv, wins: this.wins,
      flags: this.flags, local: this.local, remote4: this.remote4, remote6: this.remote6, expires: this.expires, ids: this.ids,
      oow: this.oow,
    };
    const oldQ = { slot: this.qSlot, at: this.qAt, head: this.qHead, tail: this.qTail };
    this.alloc(cap);
    const moved = new Int32Array(old.cap).fill(-1); // old slot -> new slot
    for (let j = 0; j < old.cap; j++) {
      if (old.state[j] !== LIVE) continue;
      let i = old.keys[j]! % cap;
      while (this.state[i] === LIVE) i = i + 1 === cap ? 0 : i + 1;
      this.state[i] = LIVE;
      this.keys[i] = old.keys[j]!; this.ports[i] = old.ports[j]!;
      this.seqs[2 * i] = old.seqs[2 * j]!; this.seqs[2 * i + 1] = old.seqs[2 * j + 1]!;
      this.tsv[2 * i] = old.tsv[2 * j]!; this.tsv[2 * i + 1] = old.tsv[2 * j + 1]!;
      this.wins[i] = old.wins[j]!; this.flags[i] = old.flags[j]!; this.local[i] = old.local[j]!;
      this.remote4[i] = old.remote4[j]!;
      if (old.remote6 !== null) this.remote6!.set(old.remote6.subarray(16 * j, 16 * j + 16), 16 * i);
      this.expires[i] = old.expires[j]!; this.ids[i] = old.ids[j]!; this.oow[i] = old.oow[j]!;
      this.used++; this.size++;
      moved[j] = i;
    }
    // Slots moved: the queue keeps its (time) order, each live entry's current expiry under its new slot; stale
    // queue slots (removed or restarted entries) are left out.
    this.qSlot = new Int32Array(Math.max(64, oldQ.slot.length));
    this.qAt = new Float64Array(this.qSlot.length);
    this.qHead = this.qTail = 0;
    for (let k = oldQ.head; k < oldQ.tail; k++) {
      const i = moved[oldQ.slot[k]!]!;
      if (i >= 0 && this.expires[i] === oldQ.at[k]) this.enqueue(i, oldQ.at[k]!);
    }
  }

  /** Forgets the entry in `slot`. */
  remove(slot: number): void {
    if (this.state[slot] !== LIVE) return;
    this.state[slot] = DELETED;
    this.size--;
    this.portUse?.dec(this.ports[slot]! >>> 16);
    if (this.size === 0) { this.state.fill(EMPTY_SLOT); this.used = 0; }
  }

  /** 2·MSL starts again (a retransmitted FIN arrived). */
  restart(slot: number, expiresAt: number): void {
    this.expires[slot] = expiresAt;
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
      if (this.state[slot] !== LIVE || this.expires[slot] !== at) continue; // stale: removed or restarted
      onExpire(slot);
      this.remove(slot);
    }
    if (this.qHead === this.qTail) this.qHead = this.qTail = 0;
  }

  /** Every live slot. */
  *slots(): Iterable<number> {
    for (let i = 0; i < this.cap; i++) if (this.state[i] === LIVE) yield i;
  }

  localAddr(slot: number): Uint8Array { return this.locals[this.local[slot]!]!; }
  /** A new array holding the remote address (entries keep no Uint8Array of their own). */
  remoteAddr(slot: number): Uint8Array {
    if (this.flags[slot]! & FLAG_V6) return this.remote6!.slice(16 * slot, 16 * slot + 16);
    const r = this.remote4[slot]!;
    return new Uint8Array([r >>> 24, (r >>> 16) & 0xff, (r >>> 8) & 0xff, r & 0xff]);
  }
  localPort(slot: number): number { return this.ports[slot]! >>> 16; }
  remotePort(slot: number): number { return this.ports[slot]! & 0xffff; }
  sndNxt(slot: number): number { return this.seqs[2 * slot]!; }
  rcvNxt(slot: number): number { return this.seqs[2 * slot + 1]!; }
  tsRecent(slot: number): number { return this.tsv[2 * slot]!; }
  tsOffset(slot: number): number { return this.tsv[2 * slot + 1]!; }
  tsOk(slot: number): boolean { return (this.flags[slot]! & FLAG_TS_OK) !== 0; }
  window(slot: number): number { return this.wins[slot]!; }
  expiresAt(slot: number): number { return this.expires[slot]!; }
  connId(slot: number): number { return this.ids[slot]!; }
  /** When the entry last answered a segment under the out-of-window rate limit (-Infinity: never). */
  lastOowAckAt(slot: number): number { return this.oow[slot]!; }
  setLastOowAckAt(slot: number, at: number): void { this.oow[slot] = at; }
}
