/**
 * SYN cookies (RFC 4987 §3.6), in the style of Linux's: when the SYN queue is full the listener keeps no
 * state at all; everything it needs to finish the handshake is encoded in the ISS of its SYN+ACK, and the
 * peer's final ACK (SEG.ACK - 1) brings it back.
 *
 *   ISS = [ t : 5 bits ][ mss index : 3 bits ][ 24-bit MAC ]
 *
 * t counts 64-second periods (a cookie stays valid for up to two periods); the MAC is SipHash-2-4 over the
 * 4-tuple, the client's ISN, t and the MSS index with a per-stack secret. When both sides use timestamps,
 * the low 6 bits of our TSval carry the window-scale shift (4 bits, 15 = none) and SACK-permitted (1 bit),
 * like Linux; without timestamps those options are lost, as on Linux.
 */
import { SipHash } from '../tcp/siphash.js';

export const COOKIE_MSS_TABLE = [536, 1220, 1300, 1440, 1460, 4312, 8960, 65495] as const;
const PERIOD_MS = 64_000;

export interface CookieOptions {
  mssIndex: number;
  wscale: number | null;
  sackOk: boolean;
}

export class SynCookies {
  private readonly mac: SipHash;
  private readonly buf = new Uint8Array(16 + 16 + 4 + 4 + 2);

  constructor(secret: Uint8Array) {
    this.mac = new SipHash(secret);
  }

  /** Largest table MSS not above the peer's. */
  static mssIndexFor(mss: number): number {
    let idx = 0;
    for (let i = 0; i < COOKIE_MSS_TABLE.length; i++) if (COOKIE_MSS_TABLE[i]! <= mss) idx = i;
    return idx;
  }

  private hash(la: Uint8Array, lp: number, ra: Uint8Array, rp: number, irs: number, t: number, mssIdx: number): number {
    // The MAC's input packed to the addresses' length: 18 bytes for IPv4 (three SipHash blocks instead of six
    // for 16-byte address slots: the hash is most of a SYN cookie's cost under a flood). SipHash's final block
    // carries the length, so the IPv4 and IPv6 layouts cannot collide.
    const b = this.buf;
    let o = 0;
    for (let i = 0; i < la.length; i++) b[o++] = la[i]!;
    for (let i = 0; i < ra.length; i++) b[o++] = ra[i]!;
    b[o] = lp >>> 8; b[o + 1] = lp & 0xff; b[o + 2] = rp >>> 8; b[o + 3] = rp & 0xff;
    b[o + 4] = irs >>> 24; b[o + 5] = (irs >>> 16) & 0xff; b[o + 6] = (irs >>> 8) & 0xff; b[o + 7] = irs & 0xff;
    b[o + 8] = t; b[o + 9] = mssIdx;
    return this.mac.hash(b, 0, o + 10) & 0xffffff;
  }

  /** The ISS for our SYN+ACK. */
  make(la: Uint8Array, lp: number, ra: Uint8Array, rp: number, irs: number, mssIndex: number, nowMs: number): number {
    const t = Math.floor(nowMs / PERIOD_MS) & 0x1f;
    return ((t << 27) | ((mssIndex & 7) << 24) | this.hash(la, lp, ra, rp, irs >>> 0, t, mssIndex & 7)) >>> 0;
  }

  /** Validate the cookie in an ACK (cookie = SEG.ACK - 1, irs = SEG.SEQ - 1). Returns the MSS index or -1. */
  check(la: Uint8Array, lp: number, ra: Uint8Array, rp: number, irs: number, cookie: number, nowMs: number): number {
    const t = cookie >>> 27;
    const mssIdx = (cookie >>> 24) & 7;
    const nowT = Math.floor(nowMs / PERIOD_MS) & 0x1f;
    const age = (nowT - t) & 0x1f;
    if (age > 1) return -1; // older than two periods
    if (this.hash(la, lp, ra, rp, irs >>> 0, t, mssIdx) !== (cookie & 0xffffff)) return -1;
    return mssIdx;
  }

  /**
   * Our TSval with the options folded into its low 6 bits, never ahead of `tsNow`: one period of 64 ticks back
   * when the bits would put it there (Linux cookie_init_timestamp), or the connection's next segments, stamped
   * with the clock, would carry a smaller TSval and fail the peer's PAWS test (RFC 7323 §5.3).
   */
  static encodeTs(tsNow: number, wscale: number | null, sackOk: boolean): number {
    const ws = wscale === null ? 0xf : Math.min(14, wscale);
    const ts = ((tsNow & ~0x3f) | ws | (sackOk ? 0x10 : 0)) >>> 0;
    return (ts & 0x3f) > (tsNow & 0x3f) ? (ts - 0x40) >>> 0 : ts;
  }

  static decodeTs(tsEcr: number): { wscale: number | null; sackOk: boolean } {
    const ws = tsEcr & 0xf;
    return { wscale: ws === 0xf ? null : ws, sackOk: (tsEcr & 0x10) !== 0 };
  }
}
