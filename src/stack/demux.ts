/**
 * The stack's tables: connections by 4-tuple, TIME-WAIT entries, listeners by port, our addresses, ephemeral
 * ports (RFC 6056 Algorithm 3), and one interned array per remote address.
 */
import { addressEquals } from '../wire/address.js';
import type { StackConnection } from './connection.js';
import type { Listener } from './listener.js';
import type { Stack } from './stack.js';

/** FNV-1a over the 4-tuple: a number key for the demux Map (no strings on the hot path). */
export function tupleKey(la: Uint8Array, lp: number, ra: Uint8Array, rp: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < ra.length; i++) h = Math.imul(h ^ ra[i]!, 0x01000193);
  h = Math.imul(h ^ (rp & 0xff), 0x01000193); h = Math.imul(h ^ (rp >>> 8), 0x01000193);
  h = Math.imul(h ^ (lp & 0xff), 0x01000193); h = Math.imul(h ^ (lp >>> 8), 0x01000193);
  for (let i = la.length - 4; i < la.length; i++) h = Math.imul(h ^ la[i]!, 0x01000193);
  return h >>> 0;
}

/** FNV-1a over an address. */
export function addrHash(a: Uint8Array): number {
  return addrHashAt(a, 0, a.length);
}

/** FNV-1a over the `len` address bytes at `off` (in a datagram: no view made to hash them). */
function addrHashAt(b: Uint8Array, off: number, len: number): number {
  let h = 0x811c9dc5;
  for (let i = off; i < off + len; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

export function addConn(s: Stack, c: StackConnection): void {
  s.conns.add(c.key, c);
  s.portUse.inc(c.localPort);
}

/*
 * removeConn keeps the connection each stack removed last (Stack.lastRemoved, for the stack's life; issue 14; as
 * src/tcp/layouts.ts keeps the engine's). V8 holds an object layout (map) only weakly once no object has it: in a
 * stack whose last connection had ended (an idle server, where V8's memory reducer runs full GCs), one such GC
 * collected StackConnection's layout and deoptimised ~30 stack functions built on it ('weak objects': the timer
 * heap, the tuple table, the listener, segment arrival, service, toTimeWait), the next lifecycles running at 0.7 of
 * steady. The newest one has the layout in use.
 */
export function removeConn(s: Stack, c: StackConnection): void {
  if (c.removed) return;
  c.removed = true;
  s.lastRemoved = c;
  s.conns.remove(c.key, c);
  s.portUse.dec(c.localPort);
  // Its timer goes with it: a closed connection is not kept alive by a deadline.
  s.heap.delete(c);
  if (c.listener) {
    c.listener.synQueue.delete(c);
    const i = c.listener.acceptQueue.indexOf(c);
    if (i >= 0) c.listener.acceptQueue.splice(i, 1);
  }
}

export function findConn(s: Stack, la: Uint8Array, lp: number, ra: Uint8Array, rp: number): StackConnection | null {
  return s.conns.find(tupleKey(la, lp, ra, rp), la, lp, ra, rp);
}

/** The TIME-WAIT table slot of this tuple, or -1. */
export function findTw(s: Stack, la: Uint8Array, lp: number, ra: Uint8Array, rp: number): number {
  return s.tw.find(tupleKey(la, lp, ra, rp), la, lp, ra, rp);
}

export function findListener(s: Stack, la: Uint8Array, port: number): Listener | null {
  const list = s.listeners.get(port);
  if (!list) return null;
  for (const l of list) if (l.addr === null || addressEquals(l.addr, la)) return l;
  return null;
}

/** The stack's own Uint8Array for one of its addresses (so state never references packet buffers). */
export function ourAddress(s: Stack, a: Uint8Array): Uint8Array | null {
  return ourAddressAt(s, a, 0, a.length);
}

/** ourAddress for the `len` address bytes at `off` in a datagram: no view made to compare them. */
export function ourAddressAt(s: Stack, b: Uint8Array, off: number, len: number): Uint8Array | null {
  for (const x of s.addresses) if (x.length === len && equalAt(x, b, off)) return x;
  return null;
}

/**
 * The stack's interned array (internAddr) for the `len` address bytes at `off` in a datagram, when it has one
 * (a peer some connection has or had), else a view of them: the address of an established connection's
 * segments costs no view per packet. Nothing is interned here, so a stranger's datagrams add no entry.
 */
export function remoteAddressAt(s: Stack, b: Uint8Array, off: number, len: number): Uint8Array {
  const known = s.addrs.get(addrHashAt(b, off, len));
  if (known !== undefined && known.length === len && equalAt(known, b, off)) return known;
  return b.subarray(off, off + len);
}

function equalAt(a: Uint8Array, b: Uint8Array, off: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[off + i]) return false;
  return true;
}

export function isOurs(s: Stack, a: Uint8Array): boolean {
  return ourAddress(s, a) !== null;
}

export function sourceFor(s: Stack, remote: Uint8Array): Uint8Array {
  for (const a of s.addresses) if (a.length === remote.length) return a;
  throw Object.assign(new Error(`ENETUNREACH: no ${remote.length === 16 ? 'IPv6' : 'IPv4'} address on this stack`), { code: 'ENETUNREACH' });
}

const portKey = new Uint8Array(34);

/** RFC 6056 Algorithm 3: a per-destination hashed offset plus a global counter, skipping tuples in use or in TIME-WAIT. */
export function ephemeralPort(s: Stack, la: Uint8Array, ra: Uint8Array, rp: number): number {
  // F(local, remote, remote port) depends on the destination only: a client connecting to the same peer again
  // and again (the usual case) reuses the last one. `la` and `ra` are the stack's own arrays (its address, the
  // interned remote), never changed, so their identity stands for their bytes.
  const memo = s.portOffsetMemo;
  let offset: number;
  if (memo.la === la && memo.ra === ra && memo.rp === rp) offset = memo.offset;
  else {
    // The hashed bytes in one scratch array (zeroed where an IPv4 address leaves room): no buffer per connect.
    const b = portKey;
    b.fill(0);
    b.set(la, 0); b.set(ra, 16); b[32] = rp >>> 8; b[33] = rp & 0xff;
    offset = s.portHash.hash(b);
    memo.la = la; memo.ra = ra; memo.rp = rp; memo.offset = offset;
  }
  const num = s.portMax - s.portMin + 1;
  for (let i = 0; i < num; i++) {
    // `| 0`: the offset is a uint32 hash, so the sum is a double; an integral double kept as it is becomes a heap
    // number, and a port that is one where every port before was a small integer changed the representation of
    // every field it reaches (the connection's, the engine's, each segment's ports): the optimised stack and
    // engine code went back to the interpreter at a connection's start, with ~1 s of recompiling (bench stack).
    const port = (s.portMin + ((offset + s.portCounter + i) % num)) | 0;
    if (s.listeners.has(port)) continue;
    // A port no connection and no TIME-WAIT entry has is free for any tuple: no lookup (the usual case for a
    // client cycling through the range). Else the tuple itself, one hash for both tables.
    let free = s.portUse.unused(port);
    if (!free) {
      const key = tupleKey(la, port, ra, rp);
      free = s.conns.find(key, la, port, ra, rp) === null && s.tw.find(key, la, port, ra, rp) === -1;
    }
    if (free) {
      s.portCounter += i + 1;
      return port;
    }
  }
  throw Object.assign(new Error('EADDRNOTAVAIL: no free ephemeral port'), { code: 'EADDRNOTAVAIL' });
}

/** A port with no listener and no connection bound to it, from a random point of the ephemeral range. */
export function freeListenPort(s: Stack): number {
  const used = new Set<number>();
  for (const c of s.conns.values()) used.add(c.localPort);
  for (const slot of s.tw.slots()) used.add(s.tw.localPort(slot));
  const num = s.portMax - s.portMin + 1;
  const start = s.randomU32() % num;
  for (let i = 0; i < num; i++) {
    const port = (s.portMin + ((start + i) % num)) | 0; // a small integer, as in ephemeralPort
    if (!s.listeners.has(port) && !used.has(port)) return port;
  }
  throw Object.assign(new Error('EADDRINUSE: no free port to listen on'), { code: 'EADDRINUSE' });
}

/**
 * One shared array per remote address for the connections to it (a copy, never a view into a packet
 * buffer): many connections from few clients hold no address copy each. Bounded: past 65 536 addresses the
 * table starts again (connections keep the arrays they have).
 */
export function internAddr(s: Stack, a: Uint8Array): Uint8Array {
  const h = addrHash(a);
  const known = s.addrs.get(h);
  if (known !== undefined && addressEquals(known, a)) return known;
  const own = a.slice();
  if (s.addrs.size >= 65_536) s.addrs.clear();
  s.addrs.set(h, own);
  return own;
}
