/**
 * Path MTU per destination (RFC 1191 §6.3, RFC 8201 §5.3): what an ICMP fragmentation-needed / packet-too-big
 * taught us about a path, remembered for a while so later connections to the same destination start with it.
 * Linux keeps such an exception for net.ipv4.route.mtu_expires = 600 s; then the MTU is probed upwards again by
 * simply using the link's (RFC 1191 §6.3: "no less than 10 minutes").
 */
import { addressEquals } from '../wire/address.js';
import type { StackConnection } from './connection.js';
import type { Stack } from './stack.js';

/** Linux's floors: net.ipv4.route.min_pmtu (552); IPv6's minimum link MTU (RFC 8200 §5). */
export const MIN_PMTU_V4 = 552;
export const MIN_PMTU_V6 = 1280;
export const PMTU_EXPIRES_MS = 600_000;

interface Entry { addr: Uint8Array; mtu: number; expiresAt: number }

export class PmtuCache {
  private readonly map = new Map<number, Entry[]>();
  private count = 0;
  constructor(readonly expiresMs = PMTU_EXPIRES_MS, readonly maxEntries = 4096) {}

  get size(): number { return this.count; }

  /** The path MTU learned for `dst` and not yet expired, or Infinity. */
  get(dst: Uint8Array, now: number): number {
    if (this.count === 0) return Infinity; // nothing learned (the usual case): no hash per new connection
    const list = this.map.get(hash(dst));
    if (!list) return Infinity;
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      if (!addressEquals(e.addr, dst)) continue;
      if (e.expiresAt <= now) { list.splice(i, 1); this.count--; if (!list.length) this.map.delete(hash(dst)); return Infinity; }
      return e.mtu;
    }
    return Infinity;
  }

  /** Remember a lower MTU for `dst` (a higher one than known is ignored: RFC 1191 §6.3, only decreases are learned). */
  lower(dst: Uint8Array, mtu: number, now: number): void {
    const h = hash(dst);
    let list = this.map.get(h);
    if (list) {
      for (const e of list) {
        if (!addressEquals(e.addr, dst)) continue;
        if (e.expiresAt <= now || mtu < e.mtu) { e.mtu = mtu; e.expiresAt = now + this.expiresMs; }
        return;
      }
    }
    if (this.count >= this.maxEntries) this.evictOne(now);
    if (!list) { list = []; this.map.set(h, list); }
    list.push({ addr: dst.slice(), mtu, expiresAt: now + this.expiresMs });
    this.count++;
  }

  /** Bounded: drop an expired entry if there is one, else the oldest bucket's first (Map keeps insertion order). */
  private evictOne(now: number): void {
    for (const [h, list] of this.map) {
      const i = list.findIndex((e) => e.expiresAt <= now);
      if (i >= 0) { list.splice(i, 1); this.count--; if (!list.length) this.map.delete(h); return; }
    }
    const [h, list] = this.map.entries().next().value as [number, Entry[]];
    list.shift(); this.count--;
    if (!list.length) this.map.delete(h);
  }
}

function hash(a: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a[i]!, 0x01000193);
  return h >>> 0;
}

/**
 * The MSS to advertise to `remote` (RFC 9293 §3.7.1: what the link's MTU leaves after the IP and TCP headers;
 * IPv6's header is 20 bytes longer, as Linux advertises 1440 on a 1500-byte link). tcp.mss without an MTU.
 */
export function mssFor(s: Stack, remote: Uint8Array): number {
  if (!s.mtuGiven) return s.config.mss;
  return Math.min(s.config.mss, s.mtu - (remote.length === 16 ? 60 : 40));
}

/** A new connection starts with the path MTU learned for its destination (RFC 1191 §6.3), if any. */
export function applyPathMtu(s: Stack, c: StackConnection, now: number): void {
  const p = s.pmtu.get(c.remoteAddr, now);
  if (p === Infinity) return;
  const v4 = c.remoteAddr.length === 4;
  c.tcp.pathMtuReduced(mssForPathMtu(c.remoteAddr, v4 ? Math.max(p, MIN_PMTU_V4) : p), now);
  if (v4 && p < MIN_PMTU_V4) c.noDf = true;
}

/** MSS for a path MTU: less the IP and TCP headers (Linux tcp_mtu_to_mss; options are taken off per segment). */
export function mssForPathMtu(remote: Uint8Array, mtu: number): number {
  return mtu - (remote.length === 16 ? 40 : 20) - 20;
}
