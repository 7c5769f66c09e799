/**
 * TCP options: what the SYN negotiates (MSS, window scale, SACK-permitted, timestamps; RFC 9293 §3.7.1,
 * RFC 7323, RFC 2018), the send MSS and initial window that follow from it, and the timestamp clock,
 * PAWS and TS.Recent (RFC 7323 §4–5) used on every later segment.
 */
import { RST, seqAdd, seqGe, seqGt, seqLe, seqLt, type TcpSegment } from '../wire/tcp-types.js';
import type { TcpConnection } from './connection.js';
import { reportDuplicate } from './recovery/dsack.js';
import { offeredShift } from './config.js';

/** Largest value of the 16-bit window field. */
export const MAX_WINDOW_FIELD = 65535;
/**
 * Floor for the peer's MSS option, so a hostile one cannot make us send 1-byte segments: Linux's
 * net.ipv4.tcp_min_snd_mss (48, applied in tcp_mtu_to_mss since the 2019 SACK-panic fixes); an MSS option of 0
 * is ignored by the option parser, as Linux's is.
 */
export const MIN_MSS = 48;

// --- SYN option processing ---

export function processSynOptions(c: TcpConnection, seg: TcpSegment, now: number): void {
  const o = seg.options;
  c.peerMss = o.mss !== undefined ? Math.max(MIN_MSS, o.mss) : 536;
  // TCP_NOOPT: we offered nothing, so nothing is negotiated (RFC 7323 §2.2, §3.2; RFC 2018 §2).
  const wantWs = c.cfg.windowScaling && !c.cfg.noOptions;
  c.peerOfferedWs = o.wscale !== undefined;
  if (wantWs && o.wscale !== undefined) {
    // RFC 7323 §2.3: a shift above 14 is treated as 14.
    c.sndShift = Math.min(14, o.wscale);
    if (!c.activeOpen) c.rcvShift = offeredShift(c.cfg);
  } else {
    c.sndShift = 0;
    c.rcvShift = 0;
  }
  c.sackOk = c.cfg.sack && !c.cfg.noOptions && o.sackPermitted === true;
  c.tsOk = c.cfg.timestamps && !c.cfg.noOptions && o.tsVal !== undefined;
  if (c.tsOk) { c.tsRecent = o.tsVal!; c.tsRecentAge = now || 1; }
  updateSndMss(c);
  initCwnd(c);
}

/**
 * Initial window in the negotiated MSS (RFC 6928 §2: min(10·MSS, max(2·MSS, 14600)), with 10 and 14600
 * scaled by the configured initialWindowSegments), set once the peer's MSS is known.
 */
export function initCwnd(c: TcpConnection): void {
  const mss = c.sndMss;
  const iw = c.cfg.initialWindowSegments;
  const w = Math.min(iw * mss, Math.max(2 * mss, iw * 1460));
  // Before the congestion controller exists (it is created on first use), the connection keeps the window for it.
  if (c.ccCreated) c.cc.cwnd = w; else c.initialCwnd = w;
}

export function updateSndMss(c: TcpConnection): void {
  // RFC 9293 §3.7.1: the effective send MSS excludes TCP options we send on every segment (timestamps: 12 bytes).
  // TCP_MAXSEG (config.userMss) also caps what we send (Linux rx_opt.mss_clamp).
  const cap = Math.min(c.peerMss, 65495, c.cfg.userMss > 0 ? c.cfg.userMss : 65495);
  // RFC 1191 §6.4: never more than the path MTU allows (c.pmtuMss, from ICMP; icmp.ts).
  c.sndMss = Math.max(1, Math.min(cap, c.pmtuMss) - (c.tsOk ? 12 : 0));
}

// --- MSS and segment size ---

export function sndMssCap(c: TcpConnection): number { return c.sndMss; }

/**
 * Most data the next segment may carry: the effective MSS less the SACK option it will include (RFC 9293
 * §3.7.1, RFC 6691: the sender reduces the data length by the TCP options it sends; timestamps are already
 * in sndMss). Otherwise a full segment with SACK blocks would exceed the peer's MSS, and the path MTU.
 */
export function segmentDataMax(c: TcpConnection): number {
  if (!c.sackOk || !c.rcv.hasOutOfOrder) return c.sndMss;
  const blocks = Math.min(c.rcv.sackBlockCount, c.tsOk ? 3 : 4);
  return Math.max(1, c.sndMss - (4 + 8 * blocks)); // NOP, NOP, kind, length + 8 bytes per block
}

// --- Timestamps (RFC 7323) ---

export function tsNow(c: TcpConnection, now: number): number {
  return (Math.floor(now * c.cfg.tsTicksPerMs) + c.tsOffset) >>> 0;
}

/**
 * RFC 7323 §5.3: PAWS, applied before the sequence check of §3.10.7.4. RSTs are exempt (§5.3 R1 note;
 * RFC 7323 §5.2). Returns true when the segment was rejected (dropped and answered with an ACK).
 */
export function pawsReject(c: TcpConnection, seg: TcpSegment, now: number): boolean {
  const opts = seg.options;
  if (c.tsOk && opts.tsVal !== undefined && !(seg.flags & RST) && c.tsRecentAge !== 0) {
    if (seqLt(opts.tsVal, c.tsRecent) && now - c.tsRecentAge < 24 * 86400_000) {
      c.stats.PAWSEstab++;
      c.drop('paws', `TSval ${opts.tsVal} < TS.Recent ${c.tsRecent}`, seg, now);
      // The ACK it draws D-SACKs the part below RCV.NXT (Linux tcp_send_dupack): such a segment is most often
      // an original overtaken by its own retransmission, and the D-SACK is how the sender learns that
      // retransmission was spurious (RFC 2883 §4, RFC 8985 §6.2 step 4).
      const n = seg.payload.length;
      if (n > 0 && seqLt(seg.seq, c.rcvNxt)) {
        const end = seqAdd(seg.seq, n);
        reportDuplicate(c, seg.seq, seqGt(end, c.rcvNxt) ? c.rcvNxt : end);
      }
      c.ackNow = true;
      return true;
    }
  }
  return false;
}

/** RFC 7323 §4.3: update TS.Recent when the segment covers Last.ACK.sent. */
export function updateTsRecent(c: TcpConnection, seg: TcpSegment, now: number): void {
  const opts = seg.options;
  if (c.tsOk && opts.tsVal !== undefined && seqLe(seg.seq, c.lastAckSent) && seqGe(opts.tsVal, c.tsRecent)) {
    c.tsRecent = opts.tsVal; c.tsRecentAge = now;
  }
}
