/**
 * The SYN-cookie fast path: a bare SYN to a listener whose SYN queue is full is answered with a SYN cookie
 * (RFC 4987 §3.6) straight from the datagram's bytes, without decoding it into objects, allocating a
 * connection or a segment, or encoding through the general encoder. Under a SYN flood nearly every datagram
 * is such a SYN, and this is what the stack spends its time on (Linux's tcp_v4_rcv → tcp_conn_request →
 * cookie_v4_init_sequence path is short for the same reason).
 *
 * It answers exactly what the general path (ip-input.ts → tcp-input.ts → listener.ts sendCookieSynAck) would,
 * byte for byte (syn-fast-path.test.ts checks it), and only when that path would surely send a cookie: a whole,
 * unfragmented IPv4 (no IP options) or IPv6 (no extension headers) datagram to one of our addresses from a
 * non-martian source, with correct checksums, flags exactly SYN, no payload, options among MSS, window scale,
 * SACK-permitted and timestamps (each at most once, well formed), no connection or TIME-WAIT entry for the
 * tuple, a listener with SYN cookies on, its SYN queue full and its accept queue not, no per-source rate limit,
 * Linux's option layout. Anything else returns false and takes the general path, which counts and drops what
 * is malformed or hostile with the counters it always used, so the two paths never disagree on a count.
 *
 * One difference that must be: with checksum offload the general path leaves the TCP checksum to the link;
 * the fast path completes it (a 60-byte sum costs less than describing the offload), so its packets are whole.
 *
 * Output: the SYN+ACKs of a receive batch are built into one reused buffer and handed to the link at the end
 * of the batch in one call (LinkCapabilities.sendBatch; a TUN device writes them all in one crossing into the
 * addon); a link without it gets each packet as its own array at once.
 *
 * A stack runs this only once it is installed (installSynFastPath): stack.ts does not import it, so a bundle that
 * never installs it (the browser entry's) leaves it out. It pays off where reads come in batches from a device.
 */
import { finishChecksum, onesComplementSum, pseudoHeaderSum } from '../wire/checksum.js';
import { tcpChecksumRangeOk } from '../wire/tcp.js';
import { seqAdd } from '../wire/tcp-types.js';
import { offeredShift } from '../tcp/config.js';
import { SynCookies, installSynCookies } from './syn-cookies.js';
import { findConn, findListener, findTw } from './demux.js';
import { martianSource } from './martians.js';
import { mssFor } from './ip-pmtu.js';
import { flushOutput } from './ip-output.js';
import { setDefaultSynFastPath, type Stack, type SynFastPathCode } from './stack.js';

const CODE: SynFastPathCode = { answer: synFastPath, flush: flushSynFastPath };

/**
 * Installs the SYN-cookie fast path (StackOptions.synFastPath) on `stack`, or, without one, on every stack made
 * from now on. The Node entry (`synack`) installs it for every stack and `TunLink.attachStack` for its stack, so
 * in Node nothing needs calling; a browser bundle has it only if the page calls this.
 */
export function installSynFastPath(stack?: Stack): void {
  installSynCookies(stack); // what it answers with
  if (stack === undefined) setDefaultSynFastPath(CODE);
  else stack.synFastPathCode = CODE;
}

/** Whether `stack` answers SYNs on this fast path now (installed here, StackOptions.synFastPath not switched off). */
export function synFastPathOn(stack: Stack): boolean {
  return stack.synFastPath && stack.synFastPathCode === CODE;
}

/**
 * Ends a run of SYNs a link answered in place (synFastPathAccepts, answerAcceptedSyn) as Stack.receiveBatch
 * ends a batch that held only such SYNs: what waits in the output queue, then the SYN+ACKs, to the link.
 */
export function endSynFastPathRun(stack: Stack): void {
  flushOutput(stack);
  flushSynFastPath(stack);
}

/** Packed whole datagrams for LinkCapabilities.sendBatch: packet i is buf[offsets[2i], offsets[2i] + offsets[2i+1]). */
export class PacketBatch {
  /** Room for 1 000 of the largest SYN+ACKs (40 + 40 bytes). */
  readonly buf = new Uint8Array(80 * 1024);
  readonly offsets = new Uint32Array(2 * 1024);
  count = 0;
  used = 0;
}

// Scratch copies of the addresses of the datagram being looked at: the tables and the cookie hash take arrays,
// and a view per datagram would be an allocation per SYN. Nothing keeps them (findConn/findTw compare,
// SipHash copies, martianSource reads).
const SRC4 = new Uint8Array(4);
const SRC6 = new Uint8Array(16);

const OPT_EOL = 0, OPT_NOP = 1, OPT_MSS = 2, OPT_WSCALE = 3, OPT_SACK_PERMITTED = 4, OPT_TIMESTAMPS = 8;

/**
 * Answers `p` with a SYN cookie if it is a SYN the general path would answer so (see the file comment);
 * returns false, having changed nothing, otherwise. `verified`: the link vouched for the TCP checksum.
 */
export function synFastPath(s: Stack, p: Uint8Array, verified: boolean, now: number): boolean {
  if (!synFastPathAccepts(s, p, 0, p.length, verified)) return false;
  answerAcceptedSyn(s, now);
  return true;
}

// What synFastPathAccepts found in the SYN it accepted, for answerAcceptedSyn (module scratch: no object per
// SYN; the two run back to back, nothing runs between them but packet observers, which change nothing).
let qLa: Uint8Array = SRC4, qV6 = false, qSp = 0, qDp = 0, qSeq = 0, qMss = -1, qWs = -1, qSack = false, qTs = false, qTsVal = 0;

/**
 * Whether the datagram at `b[a, a + n)` is a SYN the fast path answers (see the file comment), changing
 * nothing but the fast path's scratch; answerAcceptedSyn then answers it. Split so that a link can show the
 * datagram to the stack's packet observers between the two, in the order Stack.receive does (observers first).
 */
export function synFastPathAccepts(s: Stack, b: Uint8Array, a: number, n: number, verified: boolean): boolean {
  if (n < 40) return false;
  const b0 = b[a]!;
  let t: number; // offset of the TCP header in the datagram
  if (b0 === 0x45) {
    // IPv4 without options, exactly as long as it says, not a fragment (MF, offset: RFC 791), carrying TCP.
    if (b[a + 9] !== 6 || b[a + 33] !== 0x02 || ((b[a + 2]! << 8) | b[a + 3]!) !== n || (b[a + 6]! & 0x3f) !== 0 || b[a + 7] !== 0) return false;
    t = 20;
  } else if (b0 >> 4 === 6) {
    // IPv6 whose next header is TCP (no extension headers), exactly as long as its payload length says.
    if (n < 60 || b[a + 6] !== 6 || b[a + 53] !== 0x02 || ((b[a + 4]! << 8) | b[a + 5]!) !== n - 40) return false;
    t = 40;
  } else return false;
  // Flags exactly SYN (no AE bit, reserved bits clear), no payload: the header is the whole segment.
  const b12 = b[a + t + 12]!;
  if ((b12 & 0x0f) !== 0 || t + (b12 >> 4) * 4 !== n || (b12 >> 4) < 5) return false;
  if (!s.syncookies || s.cookies === null || s.synRate.rate !== Infinity || s.config.optionLayout === 'freebsd') return false;
  const v6 = t === 40;
  // Our address? (the stack's own array, as ipInput's ourAddress gives it)
  const la = ourAddressAt(s, b, a + (v6 ? 24 : 16), v6 ? 16 : 4);
  if (la === null) return false;
  const th = a + t; // the TCP header in b
  const dp = (b[th + 2]! << 8) | b[th + 3]!;
  // Only a listener whose SYN queue is full answers with cookies. Asked first: outside a flood every SYN goes
  // to the general path, and the checks below would be work it redoes (a lone SYN after an idle spell runs from
  // cold caches, where every line of code and data touched costs ~0.1 us on this kind of machine).
  const l = findListener(s, la, dp);
  if (l === null || l.synQueue.size < l.backlog || l.acceptQueue.length >= l.backlog) return false;
  if (!v6 && finishChecksum(onesComplementSum(b, a, a + 20)) !== 0) return false; // IPv4 header checksum (RFC 791)
  const ra = v6 ? SRC6 : SRC4;
  for (let i = 0, o = a + (v6 ? 8 : 12); i < ra.length; i++) ra[i] = b[o + i]!;
  if (martianSource(ra, la, s.isOursFn) !== null) return false;
  if (!verified && !tcpChecksumRangeOk(b, a + t, a + n, ra, la)) return false;
  const sp = (b[th]! << 8) | b[th + 1]!;
  if (findConn(s, la, dp, ra, sp) !== null || findTw(s, la, dp, ra, sp) !== -1) return false;
  // Options: only the four a SYN cookie answer looks at, each well formed (Linux's tcp_parse_options checks),
  // at most once; anything else is the general path's to judge.
  let mss = -1, ws = -1, sack = false, ts = false, tsVal = 0;
  for (let i = th + 20, e = a + n; i < e;) {
    const kind = b[i]!;
    if (kind === OPT_EOL) break;
    if (kind === OPT_NOP) { i++; continue; }
    if (i + 1 >= e) return false;
    const len = b[i + 1]!;
    if (i + len > e) return false;
    if (kind === OPT_MSS && len === 4 && mss < 0) {
      mss = (b[i + 2]! << 8) | b[i + 3]!;
      if (mss === 0) return false;
    } else if (kind === OPT_WSCALE && len === 3 && ws < 0) ws = b[i + 2]!;
    else if (kind === OPT_SACK_PERMITTED && len === 2 && !sack) sack = true;
    else if (kind === OPT_TIMESTAMPS && len === 10 && !ts) { ts = true; tsVal = u32(b, i + 2); }
    else return false;
    i += len;
  }
  qLa = la; qV6 = v6; qSp = sp; qDp = dp; qSeq = u32(b, th + 4); qMss = mss; qWs = ws; qSack = sack; qTs = ts; qTsVal = tsVal;
  return true;
}

/** Answers the SYN synFastPathAccepts just accepted with a SYN cookie, as the general path would. */
export function answerAcceptedSyn(s: Stack, now: number): void {
  const la = qLa, v6 = qV6, ra = v6 ? SRC6 : SRC4, sp = qSp, dp = qDp, seq = qSeq, mss = qMss, ws = qWs, sack = qSack, ts = qTs, tsVal = qTsVal;
  // What listenerArrives and sendCookieSynAck do for this SYN, without the objects.
  s.stats.InSegs++;
  const iss = s.cookies!.make(la, dp, ra, sp, seq, SynCookies.mssIndexFor(mss < 0 ? 536 : mss), now);
  const cfg = s.config;
  const tsOk = cfg.timestamps && ts;
  const wsOk = cfg.windowScaling && ws >= 0;
  const sackOk = cfg.sack && sack;
  const optLen = tsOk ? (wsOk ? 20 : 16) : 4;
  const ipLen = v6 ? 40 : 20;
  const len = ipLen + 20 + optLen;
  const toBatch = s.linkSendBatch !== null;
  const batch = toBatch ? (s.synFastOut ??= new PacketBatch()) : null;
  if (batch !== null && batch.used + len > batch.buf.length) flushSynFastPath(s);
  const out = batch !== null ? batch.buf : new Uint8Array(len);
  const o = batch !== null ? batch.used : 0;
  // IP header: as encodeIpHeader writes it for output() (TOS 0, ID 0, DF, no flow label).
  if (v6) {
    out[o] = 0x60; out[o + 1] = 0; out[o + 2] = 0; out[o + 3] = 0;
    out[o + 4] = (20 + optLen) >> 8; out[o + 5] = 20 + optLen; out[o + 6] = 6; out[o + 7] = s.ttl;
    out.set(la, o + 8); out.set(ra, o + 24);
  } else {
    out[o] = 0x45; out[o + 1] = 0; out[o + 2] = len >> 8; out[o + 3] = len;
    out[o + 4] = 0; out[o + 5] = 0; out[o + 6] = 0x40; out[o + 7] = 0;
    out[o + 8] = s.ttl; out[o + 9] = 6; out[o + 10] = 0; out[o + 11] = 0;
    out.set(la, o + 12); out.set(ra, o + 16);
    const ck = finishChecksum(onesComplementSum(out, o, o + 20));
    out[o + 10] = ck >> 8; out[o + 11] = ck;
  }
  // TCP header: <SEQ=cookie><ACK=SEG.SEQ+1><CTL=SYN,ACK> (RFC 9293 §3.10.7.2), options in Linux's layout.
  const h = o + ipLen;
  out[h] = dp >> 8; out[h + 1] = dp; out[h + 2] = sp >> 8; out[h + 3] = sp;
  w32(out, h + 4, iss);
  w32(out, h + 8, seqAdd(seq, 1));
  out[h + 12] = ((20 + optLen) >> 2) << 4; out[h + 13] = 0x12;
  const win = Math.min(65535, cfg.recvBufferSize);
  out[h + 14] = win >> 8; out[h + 15] = win;
  out[h + 16] = 0; out[h + 17] = 0; out[h + 18] = 0; out[h + 19] = 0;
  const ourMss = mssFor(s, ra);
  out[h + 20] = OPT_MSS; out[h + 21] = 4; out[h + 22] = ourMss >> 8; out[h + 23] = ourMss;
  if (tsOk) {
    // Options survive only inside the timestamp (SynCookies.encodeTs), as on Linux.
    if (sackOk) { out[h + 24] = OPT_SACK_PERMITTED; out[h + 25] = 2; } else { out[h + 24] = OPT_NOP; out[h + 25] = OPT_NOP; }
    out[h + 26] = OPT_TIMESTAMPS; out[h + 27] = 10;
    w32(out, h + 28, SynCookies.encodeTs(Math.floor(now * cfg.tsTicksPerMs), wsOk ? Math.min(14, ws) : null, sackOk));
    w32(out, h + 32, tsVal);
    if (wsOk) { out[h + 36] = OPT_NOP; out[h + 37] = OPT_WSCALE; out[h + 38] = 3; out[h + 39] = offeredShift(cfg); }
  }
  const tcpLen = 20 + optLen;
  const ck = finishChecksum(onesComplementSum(out, h, h + tcpLen, pseudoHeaderSum(la, ra, 6, tcpLen)));
  out[h + 16] = ck >> 8; out[h + 17] = ck;
  s.counters.SyncookiesSent++;
  s.counters.SynFastPath++;
  s.stats.OutSegs++;
  const obs = s.packetObservers;
  if (obs.length > 0) { const pkt = out.subarray(o, o + len); for (let i = 0; i < obs.length; i++) obs[i]!('out', pkt, now, s); }
  if (batch === null) { s.link?.(out); return; }
  batch.offsets[2 * batch.count] = o;
  batch.offsets[2 * batch.count + 1] = len;
  batch.count++;
  batch.used = o + len;
  if (batch.count * 2 === batch.offsets.length) flushSynFastPath(s);
}

/** Hands the SYN+ACKs built so far to the link in one call (LinkCapabilities.sendBatch). */
export function flushSynFastPath(s: Stack): void {
  const b = s.synFastOut;
  if (b === null || b.count === 0) return;
  const n = b.count;
  b.count = 0;
  b.used = 0;
  s.linkSendBatch?.(b.buf, b.offsets, n);
}

function ourAddressAt(s: Stack, p: Uint8Array, at: number, len: number): Uint8Array | null {
  const list = s.addresses;
  outer: for (let k = 0; k < list.length; k++) {
    const a = list[k]!;
    if (a.length !== len) continue;
    for (let i = 0; i < len; i++) if (a[i] !== p[at + i]) continue outer;
    return a;
  }
  return null;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function w32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24; b[o + 1] = v >>> 16; b[o + 2] = v >>> 8; b[o + 3] = v;
}
