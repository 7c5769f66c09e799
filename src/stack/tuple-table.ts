/**
 * Entries keyed by 4-tuple without string keys: a Map from the numeric tuple hash to the entry (or, on the rare
 * hash collision, a small array of entries). The hash (a uint32) is used as int32 (`key | 0`): a small integer
 * key, where half of all uint32 keys would be a boxed double in the Map.
 */
import { addressEquals } from '../wire/address.js';

export interface TupleKeyed {
  readonly localAddr: Uint8Array;
  readonly localPort: number;
  readonly remoteAddr: Uint8Array;
  readonly remotePort: number;
}

export class TupleTable<T extends TupleKeyed> {
  private readonly map = new Map<number, T | T[]>();
  size = 0;
  /**
   * The entry find() returned last, until it is removed: a bulk transfer's segments all reach one connection, and
   * recent() finds it without hashing the 4-tuple or a Map lookup (as Linux's early demux keeps a socket per flow).
   */
  private last: T | null = null;

  add(key: number, e: T): void {
    key |= 0;
    const cur = this.map.get(key);
    if (cur === undefined) this.map.set(key, e);
    else if (Array.isArray(cur)) cur.push(e);
    else this.map.set(key, [cur, e]);
    this.size++;
  }

  /** Removes `e` if present under `key`; returns whether it was. */
  remove(key: number, e: T): boolean {
    if (this.last === e) this.last = null;
    key |= 0;
    const cur = this.map.get(key);
    if (cur === e) { this.map.delete(key); this.size--; return true; }
    if (!Array.isArray(cur)) return false;
    const i = cur.indexOf(e);
    if (i < 0) return false;
    cur.splice(i, 1);
    if (cur.length === 1) this.map.set(key, cur[0]!);
    this.size--;
    return true;
  }

  find(key: number, la: Uint8Array, lp: number, ra: Uint8Array, rp: number): T | null {
    const cur = this.map.get(key | 0);
    if (cur === undefined) return null;
    if (!Array.isArray(cur)) return matches(cur, la, lp, ra, rp) ? (this.last = cur) : null;
    for (const e of cur) if (matches(e, la, lp, ra, rp)) return (this.last = e);
    return null;
  }

  /** The entry find() returned last, if it is still in the table and has this 4-tuple; else null (then find()). */
  recent(la: Uint8Array, lp: number, ra: Uint8Array, rp: number): T | null {
    const e = this.last;
    return e !== null && matches(e, la, lp, ra, rp) ? e : null;
  }

  *values(): IterableIterator<T> {
    for (const v of this.map.values()) { if (Array.isArray(v)) yield* v; else yield v; }
  }
}

function matches(e: TupleKeyed, la: Uint8Array, lp: number, ra: Uint8Array, rp: number): boolean {
  return e.localPort === lp && e.remotePort === rp && addressEquals(e.remoteAddr, ra) && addressEquals(e.localAddr, la);
}
