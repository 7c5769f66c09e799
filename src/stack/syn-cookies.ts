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
 *
 * Installed rather than imported by the stack (installSynCookies), so that a bundle which never installs them leaves
 * them out (issue 12: the browser bundle, where a listener's peers are the page's own stacks, not a flood from the
 * Internet): a stack without them drops a SYN its full SYN queue has no room for, as with StackOptions.syncookies
 * false. The Node entry installs them for every stack, installSynFastPath and TunLink.attachStack for theirs, the
 * packetdrill runner and the demo scenarios for the stacks they make.
 */
import { ACK, EMPTY, SYN, seqAdd, type TcpOptions, type TcpSegment } from '../wire/tcp-types.js';
import { SipHash } from '../tcp/siphash.js';
import { TcpConnection } from '../tcp/connection.js';
import { offeredShift } from '../tcp/config.js';
import { StackConnection } from './connection.js';
import { addConn, internAddr, tupleKey } from './demux.js';
import { mssFor } from './ip-pmtu.js';
import { output } from './ip-output.js';
import type { Listener } from './listener.js';
import { setDefaultSynCookies, type Stack } from './stack.js';

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

  /** A SYN at listener `l`, whose SYN queue is full (listener.ts): our SYN+ACK carries the cookie, nothing is kept. */
  answerSyn(s: Stack, l: Listener, la: Uint8Array, ra: Uint8Array, syn: TcpSegment, now: number): void {
    sendCookieSynAck(s, this, l, la, ra, syn, now);
  }

  /**
   * A bare ACK at listener `l`, possibly the third segment of a cookie handshake: true when its cookie was valid
   * (the connection is made, or dropped for a full accept queue), false when not (the listener answers it).
   */
  ackArrives(s: Stack, l: Listener, la: Uint8Array, ra: Uint8Array, ack: TcpSegment, now: number): boolean {
    return cookieAckArrives(s, this, l, la, ra, ack, now);
  }
}

/**
 * Installs SYN cookies (StackOptions.syncookies) on `stack`, or, without one, on every stack made from now on. The
 * Node entry (`synack`) installs them for every stack, so in Node nothing needs calling; a browser bundle has them
 * only if the page calls this (or installSynFastPath, which answers with them).
 */
export function installSynCookies(stack?: Stack): void {
  if (stack === undefined) setDefaultSynCookies(make);
  else stack.cookies ??= make(stack.cookieKey);
}
function make(key: Uint8Array): SynCookies { return new SynCookies(key); }

function sendCookieSynAck(s: Stack, cookies: SynCookies, l: Listener, la: Uint8Array, ra: Uint8Array, syn: TcpSegment, now: number): void {
  const o = syn.options;
  const mssIdx = SynCookies.mssIndexFor(o.mss ?? 536);
  const iss = cookies.make(la, l.port, ra, syn.srcPort, syn.seq, mssIdx, now);
  const options: TcpOptions = { mss: mssFor(s, ra) };
  const tsOk = s.config.timestamps && o.tsVal !== undefined;
  const wsOk = s.config.windowScaling && o.wscale !== undefined;
  const sackOk = s.config.sack && o.sackPermitted === true;
  if (tsOk) {
    // Options survive only inside the timestamp (as on Linux).
    if (sackOk) options.sackPermitted = true;
    options.tsVal = SynCookies.encodeTs(Math.floor(now * s.config.tsTicksPerMs), wsOk ? Math.min(14, o.wscale!) : null, sackOk);
    options.tsEcr = o.tsVal;
    if (wsOk) options.wscale = offeredShift(s.config);
  }
  const synack: TcpSegment = {
    srcPort: l.port, dstPort: syn.srcPort, seq: iss, ack: seqAdd(syn.seq, 1), flags: SYN | ACK,
    window: Math.min(65535, s.config.recvBufferSize), urgent: 0, options, payload: EMPTY,
  };
  s.counters.SyncookiesSent++;
  s.stats.OutSegs++;
  output(s, la, ra, synack, now);
}

function cookieAckArrives(s: Stack, cookies: SynCookies, l: Listener, la: Uint8Array, ra: Uint8Array, seg: TcpSegment, now: number): boolean {
  const cookie = seqAdd(seg.ack, -1);
  const irs = seqAdd(seg.seq, -1);
  const mssIdx = cookies.check(la, l.port, ra, seg.srcPort, irs, cookie, now);
  if (mssIdx < 0) { s.counters.SyncookiesFailed++; return false; }
  s.counters.SyncookiesRecv++;
  if (l.acceptQueue.length >= l.backlog) { s.counters.ListenOverflows++; s.counters.ListenDrops++; return true; }
  completeCookie(s, l, la, ra, seg, cookie, irs, mssIdx, now);
  return true;
}

function completeCookie(s: Stack, l: Listener, la: Uint8Array, ra: Uint8Array, ack: TcpSegment, cookie: number, irs: number, mssIdx: number, now: number): void {
  let sndShift: number | null = null, sackOk = false, tsOk = false;
  if (ack.options.tsEcr !== undefined && ack.options.tsVal !== undefined && s.config.timestamps) {
    const d = SynCookies.decodeTs(ack.options.tsEcr);
    sndShift = d.wscale; sackOk = d.sackOk; tsOk = true;
  }
  ra = internAddr(s, ra); // not a view into the packet buffer
  const key = tupleKey(la, l.port, ra, ack.srcPort);
  const tcp = TcpConnection.fromCookie(
    { localPort: l.port, remotePort: ack.srcPort, iss: cookie, config: s.config, stats: s.stats, tsOffset: 0 },
    { iss: cookie, irs, mss: COOKIE_MSS_TABLE[mssIdx]!, sndShift, sackOk, tsOk }, ack, now,
  );
  const c = new StackConnection(s, tcp, la, l.port, ra, ack.srcPort, key);
  c.listener = l;
  c.lastTransition = { time: now, from: 'LISTEN', to: 'ESTABLISHED', cause: { kind: 'segment', seg: ack } };
  addConn(s, c);
  s.service(c);
  if (c.removed) return;
  if (l.onConnection) l.onConnection(c);
  else l.acceptQueue.push(c);
}
