/**
 * Zeek's coarse TCP endpoint model, reproduced rule for rule so that synack's `conn_state` and `history`
 * match Zeek's conn.log (../shared/docs/connection-analysis.md §1; Zeek's TCPSessionAdapter.cc and
 * TCP_Endpoint.cc are the reference). Pure logic over numbers: no I/O, no allocation per packet.
 */
import { ACK, FIN, RST, SYN } from '../wire/tcp-types.js';

// Endpoint states (§1.1), numbered as Zeek prints them.
export const Z_INACTIVE = 0;
export const Z_SYN_SENT = 1;
export const Z_SYN_ACK_SENT = 2;
export const Z_PARTIAL = 3;
export const Z_ESTABLISHED = 4;
export const Z_CLOSED = 5;
export const Z_RESET = 6;

export const ZEEK_STATE_NAMES = ['INACTIVE', 'SYN_SENT', 'SYN_ACK_SENT', 'PARTIAL', 'ESTABLISHED', 'CLOSED', 'RESET'] as const;

// History "seen" bits; the responder's live 16 bits higher (Zeek TCP_Endpoint::CheckHistory).
const HIST_SYN = 0x1;
const HIST_FIN = 0x2;
const HIST_RST = 0x4;
const HIST_FIN_RST = 0x8;
const HIST_DATA = 0x10;
const HIST_ACK = 0x20;
const HIST_MULTI = 0x40;

/** Zeek's timers (§1.4), seconds. */
export const TCP_ATTEMPT_DELAY = 5;
export const TCP_CLOSE_DELAY = 5;
export const TCP_SESSION_TIMER = 6;
export const TCP_CONNECTION_LINGER = 5;
export const TCP_SYN_TIMEOUT = 5;
export const TCP_INACTIVITY_TIMEOUT = 300;
const TOO_LARGE_SEQ_DELTA = 1048576;

/**
 * TCP ports Zeek's default scripts register as likely server ports (Analyzer::register_for_ports of the
 * analyzers loaded by `local.zeek`). Used only for the role flip of connections that do not start with a
 * pure SYN (§1.4).
 */
export const LIKELY_SERVER_PORTS: ReadonlySet<number> = new Set([
  20000, // DNP3
  21, 2811, // FTP, GridFTP
  22, // SSH
  23, // Telnet
  25, 587, // SMTP
  53, // DNS
  80, 81, 631, 1080, 3128, 8000, 8080, 8888, // HTTP
  88, 750, // Kerberos
  110, // POP3
  135, 139, 445, // DCE-RPC, SMB
  143, // IMAP
  389, 3268, // LDAP
  443, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223, // SSL/TLS
  502, // Modbus
  513, 514, // rlogin, rsh
  1883, // MQTT
  3306, // MySQL
  3389, // RDP
  5222, 5269, // XMPP
  5900, 5901, 5902, 5903, 5904, 5905, 5906, 5907, 5908, 5909, // RFB (VNC)
  6666, 6667, 6668, 6669, // IRC
  1812, 1813, // RADIUS
  5060, // SIP
  3544, // Teredo
]);

export class ZeekEndpoint {
  state = Z_INACTIVE;
  prevState = Z_INACTIVE;
  isOrig: boolean;
  startSeq = 0;
  lastSeq = 0;
  ackSeq = 0;
  /** Times last_seq / ack_seq wrapped past 2^32 (Zeek's 64-bit sequence space for > 4 GB connections). */
  lastSeqHigh = 0;
  ackSeqHigh = 0;
  histLastSyn = 0;
  histLastFin = 0;
  histLastRst = 0;
  finCnt = 0;
  rstCnt = 0;
  /** Relative sequence number just past the FIN. */
  finSeq = 0;
  didClose = false;
  rxmtCnt = 0;
  rxmtThresh = 1;
  win0Cnt = 0;
  win0Thresh = 1;
  chkCnt = 0;
  chkThresh = 1;
  gapCnt = 0;
  gapThresh = 1;
  windowScale = 0;
  window = 0;
  windowSeq = 0;
  windowAckSeq = 0;
  /** Reassembly bookkeeping for content gaps: relative seq of the next byte not yet seen in order. */
  deliveredTo = 1;
  /** Out-of-order data blocks [start, end) as relative sequence numbers (kept short). */
  blocks: number[] | null = null;
  missedBytes = 0;
  sawData = false;
  constructor(isOrig: boolean) { this.isOrig = isOrig; }

  /** Back to a fresh endpoint (connections are recycled). */
  reset(isOrig: boolean): void {
    this.isOrig = isOrig;
    this.state = Z_INACTIVE;
    this.prevState = Z_INACTIVE;
    this.startSeq = 0;
    this.lastSeq = 0;
    this.ackSeq = 0;
    this.lastSeqHigh = 0;
    this.ackSeqHigh = 0;
    this.histLastSyn = 0;
    this.histLastFin = 0;
    this.histLastRst = 0;
    this.finCnt = 0;
    this.rstCnt = 0;
    this.finSeq = 0;
    this.didClose = false;
    this.rxmtCnt = 0;
    this.rxmtThresh = 1;
    this.win0Cnt = 0;
    this.win0Thresh = 1;
    this.chkCnt = 0;
    this.chkThresh = 1;
    this.gapCnt = 0;
    this.gapThresh = 1;
    this.windowScale = 0;
    this.window = 0;
    this.windowSeq = 0;
    this.windowAckSeq = 0;
    this.deliveredTo = 1;
    this.blocks = null;
    this.missedBytes = 0;
    this.sawData = false;
  }

  setState(s: number): void {
    this.prevState = this.state;
    this.state = s;
  }

  initStartSeq(v: number): void { this.startSeq = v; }
  initAckSeq(v: number): void { this.ackSeq = v; this.ackSeqHigh = 0; }
  initLastSeq(v: number): void { this.lastSeq = v; this.lastSeqHigh = 0; }
  updateLastSeq(v: number): void { if (v < this.lastSeq) this.lastSeqHigh++; this.lastSeq = v; }
  updateAckSeq(v: number): void { if (v < this.ackSeq) this.ackSeqHigh++; this.ackSeq = v; }

  /** Zeek's get_relative_seq: `cur` relative to this endpoint's start, across 2^32 wraps; NaN on underflow. */
  relative(cur: number, last: number, wraps: number): number {
    const delta = (cur - last) | 0;
    if (delta < 0) {
      if (wraps && cur > last) --wraps;
    } else if (delta > 0) {
      if (cur < last) ++wraps;
    }
    if (wraps === 0) return (cur - this.startSeq) | 0;
    return wraps * 4294967296 + cur - this.startSeq;
  }

  /** Payload bytes as Zeek derives them from sequence numbers (TCP_Endpoint::Size). */
  size(peer: ZeekEndpoint): number {
    const noDataAcked = this.ackSeq === this.startSeq || this.ackSeq === ((this.startSeq + 1) >>> 0);
    if (this.prevState === Z_SYN_SENT && this.state === Z_RESET && peer.state === Z_INACTIVE && !noDataAcked) {
      return 0;
    }
    const last64 = this.lastSeqHigh * 4294967296 + this.lastSeq;
    const ack64 = this.ackSeqHigh * 4294967296 + this.ackSeq;
    let size = Math.max((last64 > ack64 ? last64 : ack64) - this.startSeq, 0);
    if (size !== 0) --size;
    if (this.finCnt > 0 && size !== 0) --size;
    return size;
  }

  isActive(): boolean { return this.state !== Z_INACTIVE && !this.didClose; }
}

export interface ZeekFlagsView {
  flags: number;
  seq: number;
  ack: number;
  /** Payload length from the IP header (snaplen-independent). */
  len: number;
  /** Payload bytes actually captured (less than `len` when the snap length cut the packet). */
  caplen: number;
  window: number;
  /** Window scale option of a SYN, -1 when absent. */
  wscale: number;
}

/**
 * One Zeek connection's TCP state: endpoints, history string and the role flips. The caller decides which
 * endpoint sent the packet (`fromA`: endpoint `a` is the first packet's sender) and feeds packets in order.
 */
export class ZeekConn {
  /** Endpoint of the first packet's sender. */
  readonly a: ZeekEndpoint;
  readonly b: ZeekEndpoint;
  /** Which of a/b is currently Zeek's originator. */
  origIsA = true;
  history = '';
  histSeen = 0;
  flips = 0;
  startTime = 0;
  lastTime = 0;
  /** Packet count whose timestamps Zeek took as "productive" (duration end). */
  attemptAt = -1;
  attemptChecked = false;
  deleteAt = -1;
  expireBases: number[] = [];
  isPartial = false;
  /** A responder SYN crossed the originator's (kept in one connection, unlike Zeek). */
  simultaneousOpen = false;

  constructor(flip: boolean, t: number) {
    this.a = new ZeekEndpoint(!flip);
    this.b = new ZeekEndpoint(flip);
    this.reuse(flip, t);
  }
  /** Back to a fresh connection (see Connection.reuse). */
  reuse(flip: boolean, t: number): void {
    this.a.reset(!flip);
    this.b.reset(flip);
    this.history = '';
    this.histSeen = 0;
    this.flips = 0;
    this.attemptAt = -1;
    this.attemptChecked = false;
    this.deleteAt = -1;
    this.isPartial = false;
    this.simultaneousOpen = false;
    this.expireBases.length = 0;
    this.origIsA = !flip;
    this.startTime = t;
    this.lastTime = t;
    this.expireBases.push(t + TCP_SYN_TIMEOUT);
    if (flip) {
      // A flip decided at creation is recorded like any other (Connection::FlipRoles adds '^').
      this.history = '^';
      this.flips = 1;
    }
  }


  get orig(): ZeekEndpoint { return this.origIsA ? this.a : this.b; }
  get resp(): ZeekEndpoint { return this.origIsA ? this.b : this.a; }

  private flipRoles(): void {
    this.origIsA = !this.origIsA;
    this.a.isOrig = !this.a.isOrig;
    this.b.isOrig = !this.b.isOrig;
    this.history += '^';
    this.flips++;
  }

  private addHistory(ep: ZeekEndpoint, code: string): void {
    this.history += ep.isOrig ? code : code.toLowerCase();
  }

  /** Conn::CheckHistory: records the letter the first time; true when it had been seen before. */
  private checkHistory(ep: ZeekEndpoint, mask: number, code: string): boolean {
    if (!ep.isOrig) mask <<= 16;
    if ((this.histSeen & mask) === 0) {
      this.histSeen |= mask;
      this.addHistory(ep, code);
      return false;
    }
    return true;
  }

  /** Connection::ScaledHistoryEntry: a letter at the 1st, 10th, 100th … occurrence. */
  private scaled(ep: ZeekEndpoint, code: string, which: 'rxmt' | 'win0' | 'chk' | 'gap'): void {
    switch (which) {
      case 'rxmt': if (++ep.rxmtCnt === ep.rxmtThresh) { this.addHistory(ep, code); ep.rxmtThresh *= 10; } break;
      case 'win0': if (++ep.win0Cnt === ep.win0Thresh) { this.addHistory(ep, code); ep.win0Thresh *= 10; } break;
      case 'chk': if (++ep.chkCnt === ep.chkThresh) { this.addHistory(ep, code); ep.chkThresh *= 10; } break;
      case 'gap': if (++ep.gapCnt === ep.gapThresh) { this.addHistory(ep, code); ep.gapThresh *= 10; } break;
    }
  }

  /** A packet Zeek drops for its bad checksum: only the C/c letter (§1.2). */
  badChecksum(fromA: boolean): void {
    this.scaled(fromA ? this.a : this.b, 'C', 'chk');
  }

  /** TCPSessionAdapter::IsReuse: does this SYN (from `fromA`) start a new connection on the tuple? */
  isReuse(fromA: boolean, p: ZeekFlagsView, t: number): { reuse: boolean; weird?: string } {
    if (!(p.flags & SYN)) return { reuse: false };
    const orig = this.orig;
    const resp = this.resp;
    let connOrig = orig;
    if (p.flags & ACK) {
      if (orig.state !== Z_INACTIVE) return { reuse: false };
      connOrig = resp;
    }
    if (!this.isClosed()) {
      // synack's one deliberate departure from Zeek's IsReuse: a pure SYN from the responder while the
      // originator's SYN is unanswered is a simultaneous open (RFC 9293 §3.5, Figure 8), not a new connection.
      // Zeek splits it (weird SYN_seq_jump); `simultaneousOpen` records the case.
      const sender = fromA ? this.a : this.b;
      if (!(p.flags & ACK) && sender === resp && orig.state === Z_SYN_SENT && resp.state === Z_INACTIVE) {
        this.simultaneousOpen = true;
        return { reuse: false };
      }
      if (p.seq === connOrig.startSeq) return { reuse: false };
      if (!(p.flags & ACK) && connOrig.state === Z_SYN_ACK_SENT && resp.state === Z_INACTIVE && p.seq === resp.startSeq) {
        return { reuse: false }; // SYN/SYN-ACK captured in reverse order
      }
      return { reuse: true, weird: connOrig.state === Z_SYN_SENT ? 'SYN_seq_jump' : 'active_connection_reuse' };
    }
    if ((orig.isActive() || resp.isActive()) && orig.state !== Z_RESET && resp.state !== Z_RESET) {
      return { reuse: true, weird: 'active_connection_reuse' };
    }
    if (t - this.lastTime < TCP_CONNECTION_LINGER && orig.state !== Z_RESET && resp.state !== Z_RESET) {
      return { reuse: true, weird: 'premature_connection_reuse' };
    }
    return { reuse: true };
  }

  /** Zeek's IsClosed: either side has closed (FIN) or reset. */
  isClosed(): boolean {
    const o = this.orig;
    const r = this.resp;
    return o.didClose || r.didClose || o.state === Z_CLOSED || r.state === Z_CLOSED || o.state === Z_RESET || r.state === Z_RESET;
  }

  /**
   * Whether one of Zeek's timers would have removed the connection by time `t` (checked lazily, before the
   * next packet of the tuple or at a sweep). Returns the reason or null.
   */
  expiredBy(t: number): string | null {
    // Fast path (every packet goes through here): no timer can have fired yet.
    if (t < this.lastTime + TCP_CONNECTION_LINGER && (this.attemptAt < 0 || this.attemptChecked || t < this.attemptAt)
      && (this.deleteAt < 0 || t < this.deleteAt)) return null;
    const o = this.orig;
    const r = this.resp;
    if (this.attemptAt >= 0 && !this.attemptChecked && t >= this.attemptAt) {
      this.attemptChecked = true;
      if ((o.state === Z_SYN_SENT || o.state === Z_SYN_ACK_SENT) && r.state === Z_INACTIVE) return 'attempt-timeout';
    }
    if (this.deleteAt >= 0 && t >= this.deleteAt) return 'closed';
    if (t - this.lastTime >= TCP_INACTIVITY_TIMEOUT - 1e-6) return 'inactivity';
    // ExpireTimer chains (tcp_SYN_timeout at creation, tcp_session_timer after a partial close), period 6 s.
    const threshold = this.lastTime + TCP_CONNECTION_LINGER;
    if (t > threshold) {
      let removable = false;
      if (o.didClose || r.didClose) {
        removable = (o.didClose && r.didClose) || o.state === Z_RESET || r.state === Z_RESET || o.state === Z_INACTIVE || r.state === Z_INACTIVE;
      } else if (o.state === Z_INACTIVE && r.state === Z_INACTIVE) {
        removable = true;
      }
      if (removable) {
        for (const base of this.expireBases) {
          let tf = base;
          if (tf <= threshold) tf = base + Math.ceil((threshold - base) / TCP_SESSION_TIMER + 1e-9) * TCP_SESSION_TIMER;
          if (tf <= threshold) tf += TCP_SESSION_TIMER;
          if (tf <= t) return 'expired';
        }
      }
    }
    return null;
  }

  /**
   * Process one packet (after the checksum test). `fromA` says which endpoint sent it; returns whether the
   * sender is (now) Zeek's originator.
   */
  packet(fromA: boolean, p: ZeekFlagsView, t: number): boolean {
    const flags = p.flags;
    const len = p.len;
    const bitsSet = (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0) + (flags & RST ? 1 : 0);

    // zeek/zeek PR #2191: a connection that so far is only a SYN-ACK ("H") flips on the next ACK or data.
    if (bitsSet === 0 && (len > 0 || flags & ACK) && this.history === 'H') {
      const synAcker = this.orig;
      this.origIsA = !this.origIsA;
      this.a.isOrig = !this.a.isOrig;
      this.b.isOrig = !this.b.isOrig;
      this.flips++;
      this.history = '^h';
      this.histSeen = ((this.histSeen & 0xffff) << 16) | (this.histSeen >>> 16);
      // PR #2552: the SYN-ACK's sender counts as established, so the missing SYN does not leave it partial.
      if (synAcker.state === Z_SYN_ACK_SENT) synAcker.setState(Z_ESTABLISHED);
      this.isPartial = false;
    }

    const endpoint = fromA ? this.a : this.b;
    const peer = fromA ? this.b : this.a;
    let isOrig = endpoint.isOrig;

    const segLen = len + (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0) - (flags & RST ? len : 0);
    const seqOnePast = (p.seq + segLen) >>> 0;

    // init_endpoint
    switch (endpoint.state) {
      case Z_INACTIVE:
        if (flags & SYN) {
          endpoint.initAckSeq(p.seq);
          endpoint.initStartSeq(p.seq);
          endpoint.initLastSeq(seqOnePast);
        } else {
          endpoint.initAckSeq((p.seq - 1) >>> 0);
          endpoint.initStartSeq((p.seq - 1) >>> 0);
          endpoint.initLastSeq(p.seq);
        }
        break;
      case Z_SYN_SENT:
      case Z_SYN_ACK_SENT:
        if (flags & SYN && p.seq !== endpoint.startSeq) {
          endpoint.initStartSeq(p.seq);
          endpoint.initAckSeq(p.seq);
          endpoint.initLastSeq(seqOnePast);
        }
        break;
      case Z_ESTABLISHED:
      case Z_PARTIAL:
        if (flags & SYN) {
          endpoint.initStartSeq(p.seq);
          endpoint.initAckSeq(p.seq);
          endpoint.initLastSeq(seqOnePast);
        }
        break;
      case Z_RESET:
        if (flags & SYN && endpoint.prevState === Z_INACTIVE) {
          endpoint.initStartSeq(p.seq);
          endpoint.initAckSeq(p.seq);
          endpoint.initLastSeq(seqOnePast);
        }
        break;
    }

    const relSeqRaw = endpoint.relative(p.seq, endpoint.lastSeq, endpoint.lastSeqHigh);
    const seqUnderflow = relSeqRaw < 0;
    const relSeq = relSeqRaw;

    // update_history
    if (bitsSet > 1) {
      if (flags & FIN && flags & RST) this.checkHistory(endpoint, HIST_FIN_RST, 'I');
      else this.checkHistory(endpoint, HIST_MULTI, 'Q');
    } else if (bitsSet === 1) {
      if (flags & SYN) {
        const code = flags & ACK ? 'H' : 'S';
        if (this.checkHistory(endpoint, HIST_SYN, code) && relSeq !== endpoint.histLastSyn) this.addHistory(endpoint, code);
        endpoint.histLastSyn = relSeq;
      }
      if (flags & FIN) {
        if (this.checkHistory(endpoint, HIST_FIN, 'F') && relSeq + len !== endpoint.histLastFin) this.addHistory(endpoint, 'F');
        endpoint.histLastFin = relSeq + len;
      }
      if (flags & RST) {
        if (this.checkHistory(endpoint, HIST_RST, 'R') && relSeq !== endpoint.histLastRst) this.addHistory(endpoint, 'R');
        endpoint.histLastRst = relSeq;
      }
    } else if (len) {
      this.checkHistory(endpoint, HIST_DATA, 'D');
    } else if (flags & ACK) {
      this.checkHistory(endpoint, HIST_ACK, 'A');
    }

    // update_window: zero windows are interesting unless on/after a RST or after the peer's FIN.
    const window = p.window * 2 ** endpoint.windowScale;
    if (window === 0 && !(flags & RST) && peer.state !== Z_CLOSED && endpoint.state !== Z_RESET) {
      this.scaled(endpoint, 'W', 'win0');
    }

    if (!this.orig.didClose || !this.resp.didClose) this.lastTime = t;

    if (flags & SYN) {
      // init_window
      if (p.wscale < 0) {
        endpoint.windowScale = 0;
        if (flags & ACK) peer.windowScale = 0;
      } else {
        endpoint.windowScale = Math.min(p.wscale, 14);
      }
    }
    if (flags & FIN) {
      ++endpoint.finCnt;
      endpoint.finSeq = relSeq + segLen;
    }
    if (flags & RST) ++endpoint.rstCnt;

    let relAck = 0;
    if (flags & ACK) {
      if (peer.state === Z_INACTIVE) {
        // init_peer: number the peer as though its SYN had been seen.
        relAck = 1;
        peer.initStartSeq((p.ack - 1) >>> 0);
        peer.initAckSeq((p.ack - 1) >>> 0);
        peer.initLastSeq((p.ack - 1) >>> 0);
      } else {
        relAck = peer.relative(p.ack, peer.ackSeq, peer.ackSeqHigh);
        if (relAck < 0) {
          relAck = 0; // TCP_ack_underflow_or_misorder
        } else if (!(flags & RST)) {
          // update_ack_seq (acks in RSTs are not trusted)
          const deltaAck = (p.ack - peer.ackSeq) | 0;
          if (!(p.ack === 0 && deltaAck > TOO_LARGE_SEQ_DELTA) && deltaAck > 0) peer.updateAckSeq(p.ack);
        }
      }
    }

    // update_last_seq
    const deltaLast = (seqOnePast - endpoint.lastSeq) | 0;
    if ((flags & (SYN | RST)) && (deltaLast > TOO_LARGE_SEQ_DELTA || deltaLast < -TOO_LARGE_SEQ_DELTA)) {
      // untrusted jump
    } else if (flags & FIN && endpoint.lastSeq === ((endpoint.startSeq + 1) >>> 0)) {
      endpoint.updateLastSeq(seqOnePast);
    } else if (endpoint.state === Z_RESET) {
      // don't trust sequence numbers after a reset
    } else if (deltaLast > 0) {
      endpoint.updateLastSeq(seqOnePast);
    } else if (len > 0) {
      this.scaled(endpoint, 'T', 'rxmt');
    }

    const doClose = this.updateStateMachine(endpoint, peer, p, isOrig, t);
    isOrig = endpoint.isOrig; // a SYN/SYN-ACK reversal flips the roles

    // Content gaps: the peer acknowledges bytes of ours that were never seen (reassembler AckReceived).
    if (flags & ACK && !(flags & RST)) this.ackReceived(peer, relAck);
    // Data delivered to the reassembler (no RST payload, not before the numbering start). A payload the snap
    // length cut is not delivered at all (Zeek: weird truncated_tcp_payload), so acks for it reveal gaps.
    if (len > 0 && !(flags & RST) && !seqUnderflow && p.caplen >= len) {
      const dataSeq = flags & SYN ? relSeq + 1 : relSeq;
      this.dataSent(endpoint, dataSeq, dataSeq + len);
    }

    if (doClose) this.connectionClosed(endpoint, peer);
    return isOrig;
  }

  private dataSent(ep: ZeekEndpoint, start: number, end: number): void {
    ep.sawData = true;
    if (start <= ep.deliveredTo) {
      if (end > ep.deliveredTo) ep.deliveredTo = end;
      // absorb buffered blocks now contiguous
      const blocks = ep.blocks;
      let changed = true;
      while (changed && blocks !== null && blocks.length) {
        changed = false;
        for (let i = 0; i < blocks.length; i += 2) {
          if (blocks[i]! <= ep.deliveredTo) {
            if (blocks[i + 1]! > ep.deliveredTo) ep.deliveredTo = blocks[i + 1]!;
            blocks.splice(i, 2);
            changed = true;
            break;
          }
        }
      }
    } else {
      if (ep.blocks === null) ep.blocks = [];
      // Out-of-order data waits here (bounded) until the hole fills or an ACK reveals a gap.
      if (ep.blocks.length < 64) ep.blocks.push(start, end);
    }
  }

  /** Reassembler AckReceived/TrimToSeq: an ack beyond the in-order data reveals a content gap. */
  private ackReceived(ep: ZeekEndpoint, relAck: number): void {
    let seq = relAck;
    // The FIN occupies a sequence number but is no content.
    if (ep.finCnt > 0 && seq >= ep.finSeq) seq = ep.finSeq - 1;
    if (seq <= ep.deliveredTo) return;
    // Bytes below `seq` never seen: buffered blocks fill part of the hole.
    let missing = 0;
    let cur = ep.deliveredTo;
    const blocks: Array<[number, number]> = [];
    const held = ep.blocks ?? [];
    for (let i = 0; i < held.length; i += 2) blocks.push([held[i]!, held[i + 1]!]);
    blocks.sort((x, y) => x[0] - y[0]);
    const keep: number[] = [];
    for (const [s, e] of blocks) {
      if (s >= seq) { keep.push(s, e); continue; }
      if (s > cur) missing += s - cur;
      if (e > cur) cur = e;
      if (e > seq) keep.push(seq, e);
    }
    if (seq > cur) missing += seq - cur;
    ep.blocks = keep;
    ep.deliveredTo = Math.max(seq, cur);
    if (missing > 0) {
      ep.missedBytes += missing;
      this.scaled(ep, 'G', 'gap');
    }
  }

  private updateStateMachine(endpoint: ZeekEndpoint, peer: ZeekEndpoint, p: ZeekFlagsView, isOrig: boolean, t: number): boolean {
    const flags = p.flags;
    let doClose = false;
    switch (endpoint.state) {
      case Z_INACTIVE: {
        if (flags & SYN) {
          if (isOrig) {
            endpoint.setState(flags & ACK ? Z_SYN_ACK_SENT : Z_SYN_SENT);
            this.attemptAt = t + TCP_ATTEMPT_DELAY;
            this.attemptChecked = false;
          } else {
            if (flags & ACK) {
              // bad_SYN_ack weird only
            } else if (peer.state === Z_SYN_ACK_SENT && p.seq === endpoint.startSeq) {
              // SYN/SYN-ACK reversal: flip and establish.
              this.isPartial = false;
              this.flipRoles();
              peer.setState(Z_ESTABLISHED);
            }
            if (peer.state === Z_SYN_SENT) peer.setState(Z_ESTABLISHED);
            endpoint.setState(Z_ESTABLISHED);
          }
        }
        if (flags & FIN) {
          endpoint.setState(Z_CLOSED);
          doClose = true;
        }
        if (flags & RST) {
          endpoint.setState(Z_RESET);
          doClose = true;
        }
        if (endpoint.state === Z_INACTIVE) {
          if (!isOrig && p.len === 0 && this.orig.state === Z_SYN_SENT) {
            // some stacks ACK a SYN before answering it: not a partial connection
          } else if (flags & ACK && peer.state === Z_ESTABLISHED) {
            endpoint.setState(Z_ESTABLISHED);
            this.isPartial = false;
          } else {
            endpoint.setState(Z_PARTIAL);
          }
        }
        break;
      }
      case Z_SYN_SENT:
      case Z_SYN_ACK_SENT: {
        if (flags & FIN) {
          endpoint.setState(Z_CLOSED);
          doClose = true;
        }
        if (flags & RST) {
          endpoint.setState(Z_RESET);
          doClose = true;
        }
        break;
      }
      case Z_ESTABLISHED:
      case Z_PARTIAL: {
        if (flags & SYN && endpoint.state === Z_PARTIAL && peer.state === Z_INACTIVE && !(flags & ACK)) {
          endpoint.setState(Z_SYN_SENT);
        }
        if (flags & FIN && !(flags & RST)) {
          endpoint.setState(Z_CLOSED);
          // The peer sent FIN then RST: that was a normal termination after all.
          if (peer.state === Z_RESET && peer.prevState === Z_CLOSED) peer.setState(Z_CLOSED);
          doClose = true;
        }
        if (flags & RST) {
          endpoint.setState(Z_RESET);
          doClose = true;
        }
        break;
      }
      case Z_CLOSED: {
        if (flags & RST && peer.state !== Z_CLOSED) {
          endpoint.setState(Z_RESET);
          if (!endpoint.didClose) doClose = true;
          // ResetTimer: the connection goes tcp_reset_delay after this.
          this.deleteAt = this.deleteAt < 0 ? t + TCP_CLOSE_DELAY : Math.min(this.deleteAt, t + TCP_CLOSE_DELAY);
        }
        break;
      }
      case Z_RESET:
        break;
    }
    return doClose;
  }

  /** TCPSessionAdapter::ConnectionClosed (the timer side of it). */
  private connectionClosed(endpoint: ZeekEndpoint, peer: ZeekEndpoint): void {
    if (endpoint.didClose) return;
    endpoint.didClose = true;
    const complete = endpoint.state === Z_RESET || peer.didClose || peer.state === Z_INACTIVE;
    if (complete) {
      // Timers are cancelled and the connection deleted tcp_close_delay after its last time.
      this.attemptAt = -1;
      this.expireBases.length = 0;
      this.deleteAt = this.lastTime + TCP_CLOSE_DELAY;
    } else if (endpoint.prevState !== Z_INACTIVE) {
      this.expireBases.push(this.lastTime + TCP_SESSION_TIMER);
    }
  }

  /** conn_state by Zeek's algorithm (§1.5). */
  connState(): string {
    const os = this.orig.state;
    const rs = this.resp.state;
    const origInactive = os === Z_INACTIVE || os === Z_PARTIAL;
    const respInactive = rs === Z_INACTIVE || rs === Z_PARTIAL;
    if (rs === Z_RESET) {
      if (os === Z_SYN_SENT || os === Z_SYN_ACK_SENT
        || (os === Z_RESET && this.orig.size(this.resp) === 0 && this.resp.size(this.orig) === 0)) return 'REJ';
      if (origInactive) return 'RSTRH';
      return 'RSTR';
    }
    if (os === Z_RESET) {
      if (respInactive) return /^\^?S[^HAFGIQ]*R.*$/.test(this.history) ? 'RSTOS0' : 'OTH';
      return 'RSTO';
    }
    if (os === Z_CLOSED && rs === Z_CLOSED) return 'SF';
    if (os === Z_CLOSED) return respInactive ? 'SH' : 'S2';
    if (rs === Z_CLOSED) return origInactive ? 'SHR' : 'S3';
    if (os === Z_SYN_SENT && rs === Z_INACTIVE) return 'S0';
    if (os === Z_ESTABLISHED && rs === Z_ESTABLISHED) return 'S1';
    return 'OTH';
  }
}

/** Zeek's role decision for a connection created by a packet that is not a pure SYN (TCPAnalyzer::WantConnection). */
export function zeekFlipOnCreate(flags: number, srcPort: number, dstPort: number, likely: ReadonlySet<number> = LIKELY_SERVER_PORTS): boolean {
  if (flags & SYN && !(flags & ACK)) return false;
  if (!likely.has(srcPort)) return false;
  if (likely.has(dstPort)) return !(flags & SYN) && srcPort < dstPort;
  return true;
}

