/**
 * Open connections by 4-tuple without a string key per packet: a numeric hash of the two endpoints (the
 * same in both directions) maps to the connection, or to a short array when hashes collide.
 */
import type { Connection } from './connection.js';

/** Per-endpoint hash: FNV-1a over the address bytes and the port. */
export function endpointHash(addr: Uint8Array, port: number): number {
  return endpointHashAt(addr, 0, addr.length, port);
}

/** endpointHash of the address in buf[off..off+len) (read in place from a packet). */
export function endpointHashAt(buf: Uint8Array, off: number, len: number, port: number): number {
  let h = 0x811c9dc5;
  if (len === 4) {
    // IPv4, unrolled (the common case): the same FNV-1a steps as the loop.
    h = Math.imul(h ^ buf[off]!, 0x01000193);
    h = Math.imul(h ^ buf[off + 1]!, 0x01000193);
    h = Math.imul(h ^ buf[off + 2]!, 0x01000193);
    h = Math.imul(h ^ buf[off + 3]!, 0x01000193);
  } else {
    for (let i = off; i < off + len; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  }
  h = Math.imul(h ^ (port & 0xff), 0x01000193);
  h = Math.imul(h ^ (port >>> 8), 0x01000193);
  return h >>> 0;
}

/** Symmetric in its two endpoints, kept in V8's small-integer range so Map lookups stay fast. */
export function flowKey(h1: number, h2: number): number {
  return ((Math.imul((h1 + h2) | 0, 0x9e3779b1) ^ Math.imul(h1, h2)) >>> 2);
}

function sameEndpoint(a: Uint8Array, ap: number, b: Uint8Array, bp: number): boolean {
  if (ap !== bp || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameEndpointAt(a: Uint8Array, ap: number, buf: Uint8Array, off: number, len: number, port: number): boolean {
  if (ap !== port || a.length !== len) return false;
  for (let i = 0; i < len; i++) if (a[i] !== buf[off + i]) return false;
  return true;
}

export class FlowTable {
  // A lone connection is stored as itself: no array per connection for the garbage collector to copy.
  private readonly map = new Map<number, Connection | Connection[]>();
  /** After find(): which side of the found connection sent the packet (0 = its first packet's sender). */
  side: 0 | 1 = 0;

  private static match(c: Connection, src: Uint8Array, sp: number, dst: Uint8Array, dp: number): -1 | 0 | 1 {
    if (sameEndpoint(c.addr[0], c.port[0], src, sp) && sameEndpoint(c.addr[1], c.port[1], dst, dp)) return 0;
    if (sameEndpoint(c.addr[1], c.port[1], src, sp) && sameEndpoint(c.addr[0], c.port[0], dst, dp)) return 1;
    return -1;
  }

  find(key: number, src: Uint8Array, sp: number, dst: Uint8Array, dp: number): Connection | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    if (!Array.isArray(e)) {
      const m = FlowTable.match(e, src, sp, dst, dp);
      if (m === -1) return undefined;
      this.side = m;
      return e;
    }
    for (const c of e) {
      const m = FlowTable.match(c, src, sp, dst, dp);
      if (m !== -1) { this.side = m; return c; }
    }
    return undefined;
  }

  /** find() with the addresses read in place: src at sb[so..so+len), dst at db[do..do+len). */
  findAt(key: number, sb: Uint8Array, so: number, sp: number, db: Uint8Array, dof: number, dp: number, len: number): Connection | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    if (!Array.isArray(e)) return this.matchAt(e, sb, so, sp, db, dof, dp, len) ? e : undefined;
    for (const c of e) if (this.matchAt(c, sb, so, sp, db, dof, dp, len)) return c;
    return undefined;
  }

  private matchAt(c: Connection, sb: Uint8Array, so: number, sp: number, db: Uint8Array, dof: number, dp: number, len: number): boolean {
    const a = c.addr;
    if (sameEndpointAt(a[0], c.port[0], sb, so, len, sp) && sameEndpointAt(a[1], c.port[1], db, dof, len, dp)) { this.side = 0; return true; }
    if (sameEndpointAt(a[1], c.port[1], sb, so, len, sp) && sameEndpointAt(a[0], c.port[0], db, dof, len, dp)) { this.side = 1; return true; }
    return false;
  }

  add(key: number, c: Connection): void {
    const e = this.map.get(key);
    if (e === undefined) this.map.set(key, c);
    else if (Array.isArray(e)) e.push(c);
    else this.map.set(key, [e, c]);
  }

  remove(key: number, c: Connection): void {
    const e = this.map.get(key);
    if (e === c) { this.map.delete(key); return; }
    if (!Array.isArray(e)) return;
    const i = e.indexOf(c);
    if (i >= 0) e.splice(i, 1);
    if (e.length === 1) this.map.set(key, e[0]!);
    else if (e.length === 0) this.map.delete(key);
  }

  /** Removes and returns every connection for which `done` is true. */
  removeWhere(done: (c: Connection) => boolean): Connection[] {
    const out: Connection[] = [];
    const map = this.map;
    map.forEach((e, key) => {
      if (!Array.isArray(e)) {
        if (done(e)) { out.push(e); map.delete(key); }
        return;
      }
      for (let i = e.length - 1; i >= 0; i--) if (done(e[i]!)) { out.push(e[i]!); e.splice(i, 1); }
      if (e.length === 1) map.set(key, e[0]!);
      else if (e.length === 0) map.delete(key);
    });
    return out;
  }

  /** Every connection, emptying the table. */
  drain(): Connection[] {
    const out: Connection[] = [];
    for (const e of this.map.values()) {
      if (Array.isArray(e)) out.push(...e);
      else out.push(e);
    }
    this.map.clear();
    return out;
  }
}
