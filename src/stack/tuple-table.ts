/**
 * Entries keyed by 4-tuple without string keys: an open-addressing hash table (linear probing) on the numeric
 * tuple hash (tupleKey, used as int32), over the entries kept in insertion order (which iteration follows, as a
 * Map's did: destroy() aborts connections in the order they were made). Entries sharing a hash (a collision)
 * are each in a slot of their own and told apart by their tuple.
 *
 * Not a Map: a stack adds and removes a connection per lifecycle, and a V8 Map (or Set) whose keys keep
 * changing rebuilds its table every few additions, 50-80 bytes of garbage per add and delete (measured,
 * Node 20). Here a removed entry leaves a hole that the next additions close by compacting in place, and the
 * arrays are only made again when the table grows, or shrinks after a burst.
 */
import { addressEquals } from '../wire/address.js';

export interface TupleKeyed {
  readonly localAddr: Uint8Array;
  readonly localPort: number;
  readonly remoteAddr: Uint8Array;
  readonly remotePort: number;
}

/** Entries a table starts with room for (it doubles as it fills). */
const INITIAL = 8;
/** A table emptied or nearly so with room for more than this gives its arrays back (after a burst of connections). */
const RELEASE_ABOVE = 4096;

export class TupleTable<T extends TupleKeyed> {
  /** Entries in insertion order; a removed one leaves undefined until the next compaction (makeRoom). */
  private items: Array<T | undefined> = [];
  /** Each entry's key (tupleKey as int32), by its index in `items`. */
  private keys = new Int32Array(INITIAL);
  /** Entries used in `items` (live ones and holes). */
  private end = 0;
  /** Slots of the hash table: the entry's index in `items` plus 1; 0 is empty. Twice `keys`' length: at most half full. */
  private slots = new Int32Array(2 * INITIAL);
  private mask = 2 * INITIAL - 1;
  /** Iterations (values()) running: entries are not moved meanwhile (the table grows instead of compacting). */
  private iterating = 0;
  size = 0;

  add(key: number, e: T): void {
    key |= 0;
    if (this.end === this.keys.length) this.makeRoom();
    const i = this.end++;
    this.items[i] = e;
    this.keys[i] = key;
    this.size++;
    this.place(key, i);
  }

  /** Removes `e` if present under `key`; returns whether it was. */
  remove(key: number, e: T): boolean {
    key |= 0;
    const slots = this.slots, mask = this.mask;
    let p = home(key, mask);
    for (;;) {
      const s = slots[p]!;
      if (s === 0) return false;
      if (this.items[s - 1] === e) break;
      p = (p + 1) & mask;
    }
    const i = slots[p]! - 1;
    this.items[i] = undefined;
    this.size--;
    // Backward-shift deletion: the entries after the hole that may live there move up, so every entry stays
    // reachable from its home slot without tombstones.
    let hole = p;
    for (let q = (p + 1) & mask; slots[q] !== 0; q = (q + 1) & mask) {
      const h = home(this.keys[slots[q]! - 1]!, mask);
      if (((q - h) & mask) >= ((q - hole) & mask)) { slots[hole] = slots[q]!; hole = q; }
    }
    slots[hole] = 0;
    // The newest entries are the likeliest to go first (a run of short connections): no hole at the end.
    while (this.end > 0 && this.items[this.end - 1] === undefined) this.end--;
    if (this.size === 0 && this.keys.length > RELEASE_ABOVE && this.iterating === 0) this.resize(INITIAL);
    return true;
  }

  find(key: number, la: Uint8Array, lp: number, ra: Uint8Array, rp: number): T | null {
    key |= 0;
    const slots = this.slots, mask = this.mask;
    for (let p = home(key, mask); ; p = (p + 1) & mask) {
      const s = slots[p]!;
      if (s === 0) return null;
      if (this.keys[s - 1] === key) {
        const e = this.items[s - 1]!;
        if (matches(e, la, lp, ra, rp)) return e;
      }
    }
  }

  *values(): IterableIterator<T> {
    this.iterating++;
    try {
      // Entries added meanwhile are visited too (at the end), as a Map's iteration visits them.
      for (let i = 0; i < this.end; i++) {
        const e = this.items[i];
        if (e !== undefined) yield e;
      }
    } finally {
      this.iterating--;
    }
  }

  /** `items` is full: closes its holes in place when they are at least half of it, else doubles the room. */
  private makeRoom(): void {
    const cap = this.keys.length;
    if (this.iterating === 0 && (this.end - this.size) * 2 >= cap) {
      // Shrinks as well after a burst that is gone (most of a large table's room unused).
      const want = this.size * 8 < cap && cap > RELEASE_ABOVE ? Math.max(INITIAL, pow2AtLeast(this.size * 2)) : cap;
      this.resize(want);
      return;
    }
    this.resize(cap * 2);
  }

  /** Entries compacted to the front of arrays with room for `cap` (reused when the size stays), slots rebuilt. */
  private resize(cap: number): void {
    const items = this.items, keys = this.keys;
    const sameSize = cap === keys.length;
    const newItems: Array<T | undefined> = sameSize ? items : [];
    const newKeys = sameSize ? keys : new Int32Array(cap);
    let n = 0;
    for (let i = 0; i < this.end; i++) {
      const e = items[i];
      if (e === undefined) continue;
      newItems[n] = e;
      newKeys[n] = keys[i]!;
      n++;
    }
    if (sameSize) for (let i = n; i < this.end; i++) items[i] = undefined;
    this.items = newItems;
    this.keys = newKeys;
    this.end = n;
    if (sameSize) this.slots.fill(0);
    else { this.slots = new Int32Array(2 * cap); this.mask = 2 * cap - 1; }
    for (let i = 0; i < n; i++) this.place(newKeys[i]!, i);
  }

  /** Puts entry `i` (with `key`) in the first free slot from its home. */
  private place(key: number, i: number): void {
    const slots = this.slots, mask = this.mask;
    let p = home(key, mask);
    while (slots[p] !== 0) p = (p + 1) & mask;
    slots[p] = i + 1;
  }
}

/** An entry's home slot: the tuple hash mixed again (its low bits alone would cluster for related tuples). */
function home(key: number, mask: number): number {
  const h = Math.imul(key, 0x9e3779b1);
  return (h ^ (h >>> 16)) & mask;
}

function pow2AtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function matches(e: TupleKeyed, la: Uint8Array, lp: number, ra: Uint8Array, rp: number): boolean {
  return e.localPort === lp && e.remotePort === rp && addressEquals(e.remoteAddr, ra) && addressEquals(e.localAddr, la);
}
