/**
 * One TCP connection's state machine per RFC 9293 §3.10, sans-IO.
 *
 * Inputs:  input(segment, now), user calls (connect, listen, send, read, shutdown, close, abort) with now,
 *          onTimeout(now) when nextDeadline() has passed.
 * Outputs: pollTransmit(now) yields segments to send (data is generated lazily, so ACKs piggyback);
 *          pollEvent() yields state changes and notifications; nextDeadline() is the next timer.
 * There are no timers, clocks or I/O in here: time is whatever `now` (milliseconds) the caller passes.
 */
import {
  ACK, EMPTY, FIN, PSH, RST, SYN, URG,
  seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt,
  type TcpOptions, type TcpSegment,
} from '../wire/tcp-types.js';
import type { TcpStateName } from '../wire/trace.js';
import { ReceiveBuffer, SendBuffer } from './buffers.js';
import { offeredShift, resolveConfig, type TcpConfig } from './config.js';
import type { CongestionControl } from './congestion.js';
import { classifyInvalidFlags } from './flags.js';
import { RttEstimator } from './rtt.js';
import { TcpStats } from './stats.js';

export type TcpTimer = 'rto' | 'delayed-ack' | 'persist' | 'keepalive' | 'time-wait' | 'fin-wait-2';
export type TcpUserCall = 'connect' | 'listen' | 'shutdown' | 'close' | 'abort' | 'cookie';

/** What caused a state change: the segment that arrived, the user call, or the timer (RFC 9293 §3.10 event kinds). */
export type TcpCause =
  | { kind: 'segment'; seg: TcpSegment }
  | { kind: 'user'; call: TcpUserCall }
  | { kind: 'timer'; timer: TcpTimer };

export type TcpErrorCode = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT' | 'EPIPE' | 'ENOTCONN' | 'EISCONN' | 'ECONNABORTED';

export class TcpError extends Error {
  readonly code: TcpErrorCode;
  constructor(code: TcpErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'TcpError';
    this.code = code;
  }
}

export type DropReason =
  | 'invalid-flags' | 'out-of-window' | 'paws' | 'no-ack' | 'bad-ack' | 'ack-in-listen'
  | 'rst-not-exact' | 'rst-out-of-window' | 'rst-in-time-wait' | 'syn-in-synchronized-state'
  | 'data-after-close' | 'closed' | 'unexpected';

export type TcpEvent =
  | { type: 'state'; from: TcpStateName; to: TcpStateName; cause: TcpCause; time: number }
  | { type: 'established'; time: number }
  /** The peer's FIN arrived in order: no more data will come (end of stream once the buffer is read). */
  | { type: 'eof'; time: number }
  | { type: 'error'; code: TcpErrorCode; message: string; time: number }
  /** The TCB is gone (state CLOSED after having been used). */
  | { type: 'closed'; time: number }
  /** A segment was dropped, or answered with a challenge/duplicate ACK instead of being processed. */
  | { type: 'drop'; reason: DropReason; detail: string; seg: TcpSegment; time: number };

export interface TcpConnectionOptions {
  localPort: number;
  remotePort: number;
  /** Initial send sequence number (RFC 6528; the stack computes it with IsnGenerator). */
  iss: number;
  config?: Partial<TcpConfig> | TcpConfig;
  /** Shared counters (usually one per stack). */
  stats?: TcpStats;
  /** Random offset added to our TSval clock (RFC 7323 §5.4 recommends a per-connection random offset). */
  tsOffset?: number;
}

/** Parameters recovered from a SYN cookie (RFC 4987 §3.6) to create an ESTABLISHED connection directly. */
export interface CookieParams {
  iss: number;
  irs: number;
  mss: number;
  sndShift: number | null;
  sackOk: boolean;
  tsOk: boolean;
}

const MAX_WINDOW_FIELD = 65535;
/** Linux's TCP_MIN_MSS-like floor so a hostile MSS option cannot make us send 1-byte segments. */
const MIN_MSS = 88;

export class TcpConnection {
  // --- identification ---
  readonly localPort: number;
  remotePort: number;
  readonly config: TcpConfig;
  readonly stats: TcpStats;

  /** Current state (RFC 9293 §3.3.2). */
  state: TcpStateName = 'CLOSED';
  /** True once a SYN was sent by us via connect() (active open); false for passive opens. */
  activeOpen = false;

  // --- send sequence variables (RFC 9293 §3.3.1) ---
  /** ISS: initial send sequence number. */
  iss: number;
  /** SND.UNA: oldest unacknowledged sequence number. */
  sndUna: number;
  /** SND.NXT: next sequence number to send (the highest ever sent + 1; retransmissions use sndRtx). */
  sndNxt: number;
  /** SND.WND: the peer's receive window, scaled, in bytes. */
  sndWnd = 0;
  /** SND.WL1 / SND.WL2: segment seq and ack used for the last window update. */
  sndWl1 = 0;
  sndWl2 = 0;
  /** MAX.SND.WND: largest window the peer ever offered (RFC 5961 §5.2). */
  maxSndWnd = 0;

  // --- receive sequence variables ---
  /** IRS: initial receive sequence number. */
  irs = 0;
  /** RCV.NXT: next sequence number expected. */
  rcvNxt = 0;
  /** RCV.WND as last advertised, in bytes. */
  rcvWnd = 0;
  /** RCV.UP: receive urgent pointer. */
  rcvUp = 0;
  /** Right edge we last advertised (RCV.NXT + RCV.WND then): never moved left (RFC 9293 §3.8.6.2.2). */
  private rcvAdvRight = 0;

  // --- negotiated options ---
  /** Effective send MSS: peer's MSS option (536 if absent, RFC 9293 §3.7.1) minus option overhead. */
  sndMss = 536;
  /**
   * For the segment pollTransmit() just returned: 0, or the per-segment payload size when it is a TSO
   * segment longer than one MSS (config.tsoMaxBytes) that the link must cut into pieces of this size.
   */
  txSegmentSize = 0;
  /** Shift applied to windows the peer sends us (Snd.Wind.Shift) and to windows we send (Rcv.Wind.Shift). */
  sndShift = 0;
  rcvShift = 0;
  sackOk = false;
  tsOk = false;
  /** TS.Recent and Last.ACK.sent (RFC 7323 §4.3). */
  tsRecent = 0;
  private tsRecentAge = 0;
  private lastAckSent = 0;
  private readonly tsOffset: number;
  private peerMss = 536;
  private peerOfferedWs = false;

  // --- buffers ---
  private readonly snd = new SendBuffer();
  private readonly rcv = new ReceiveBuffer();
  /** Sequence number of the first byte in the send buffer (ISS+1 at start). */
  private sndBufSeq = 0;

  // --- close bookkeeping ---
  /** The user has called shutdown/close: a FIN follows the queued data. */
  private finQueued = false;
  private finSent = false;
  private finSeq = 0;
  /** The user has fully closed (no more reads): data arriving now is answered with RST. */
  orphaned = false;
  /** The peer's FIN has been received in order. */
  peerFinReceived = false;
  /** Sequence number of an out-of-order FIN we hold. */
  private rcvFinSeq = -1;
  /** Error the connection ended with, if any. */
  error: TcpError | null = null;

  // --- retransmission and congestion ---
  private readonly rtt: RttEstimator;
  private readonly cc: CongestionControl;
  /** Next sequence to retransmit (valid while retransmitting); -1 when none. */
  private sndRtx = -1;
  /** End of the retransmission run: SND.NXT when loss was detected. */
  private sndRtxEnd = 0;
  /** The retransmission run was started by an RTO (go-back-N): everything outstanding is deemed lost. */
  private rtoRecovery = false;
  /** Send the next retransmission even if cwnd is full. */
  private forceRtx = false;
  private inRecovery = false;
  /** RFC 6582 "recover": SND.NXT when fast recovery began. */
  private recover = 0;
  private dupAcks = 0;
  /** Consecutive RTO expirations without progress. */
  private retries = 0;
  /** The retransmission timer expired during the handshake (RFC 6298 §5.7). */
  private synTimedOut = false;
  /** Our SYN or SYN+ACK retransmissions (for the initial window, RFC 5681 §3.1). */
  private synRetransmits = 0;
  /** RTT timing for Karn's algorithm when timestamps are off. */
  private rttSeq = -1;
  private rttTime = 0;
  /** SACK scoreboard: flat [left, right) seq pairs the peer reported, sorted, merged (RFC 2018, RFC 6675). */
  private scoreboard: number[] = [];
  private sackedBytes = 0;
  private highSack = 0;
  private lastSendTime = 0;

  // --- timers: absolute times in ms, Infinity when not armed ---
  private rtoAt = Infinity;
  /** Tail loss probe (RFC 8985 §7): when the probe timeout fires, whether one is due, whether one is out. */
  private tlpAt = Infinity;
  private tlpPending = false;
  private tlpOutstanding = false;
  /** Since when data (or a FIN) has been waiting for an acknowledgment without progress (user timeout). */
  private unackedSince = -1;
  /** RFC 9293 §3.10.8 user timeout in ms, 0 = off (TcpConfig.userTimeout; TCP_USER_TIMEOUT). */
  userTimeout: number;
  private delackAt = Infinity;
  private persistAt = Infinity;
  private keepaliveAt = Infinity;
  private timeWaitAt = Infinity;
  private finWait2At = Infinity;
  private persistBackoff = 0;
  private keepaliveProbes = 0;

  /** Nagle on/off for this connection (Node's setNoDelay). */
  nagle: boolean;
  /** Keep-alive for this connection (Node's setKeepAlive). */
  keepAlive: boolean;
  keepAliveIdle: number;

  // --- pending output ---
  private ackNow = false;
  /** Full-sized segments received since our last ACK (RFC 5681 §4.2: ACK at least every second one). */
  private unackedSegs = 0;
  private synPending = false;
  private probePending = false;
  private keepalivePending = false;
  private ctrl: TcpSegment[] = [];
  private challengeWindowStart = 0;
  private challengeCount = 0;
  /** The pending immediate ACK is an RFC 5961 challenge ACK (config.finOnAck leaves those plain). */
  private challengePending = false;
  /** In-order data segments ACKed at once under config.quickAckSegments. */
  private quickAcksSent = 0;
  /** Connection-establishment deadline (config.keepInit, FreeBSD TCP_KEEPINIT). */
  private keepInitAt = Infinity;

  private events: TcpEvent[] = [];
  private evHead = 0;

  constructor(opts: TcpConnectionOptions) {
    this.localPort = opts.localPort;
    this.remotePort = opts.remotePort;
    this.config = resolveConfig(opts.config);
    this.userTimeout = this.config.userTimeout;
    this.stats = opts.stats ?? new TcpStats();
    this.iss = opts.iss >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndBufSeq = seqAdd(this.iss, 1);
    this.tsOffset = (opts.tsOffset ?? 0) >>> 0;
    this.rtt = new RttEstimator(this.config.rtoInitial, this.config.rtoMin, this.config.rtoMax);
    this.cc = this.config.congestion(this.config.initialWindowSegments * 1460);
    this.nagle = this.config.nagle;
    this.keepAlive = this.config.keepAlive;
    this.keepAliveIdle = this.config.keepAliveIdle;
    this.recover = this.iss;
  }

  /** TCP_NODELAY: turn Nagle's algorithm off (true) or on. */
  setNoDelay(noDelay: boolean): void { this.nagle = !noDelay; }

  /** TCP_USER_TIMEOUT (RFC 5482): abort when data stays unacknowledged this many ms; 0 turns it off. */
  setUserTimeout(ms: number): void { this.userTimeout = Math.max(0, ms); }

  /** SO_KEEPALIVE with an idle time before the first probe. */
  setKeepAlive(enable: boolean, idleMs: number, now: number): void {
    this.keepAlive = enable;
    if (idleMs > 0) this.keepAliveIdle = idleMs;
    this.keepaliveProbes = 0;
    this.keepaliveAt = enable && this.isSynchronized() ? now + this.keepAliveIdle : Infinity;
  }

  // =====================================================================================
  // User calls (RFC 9293 §3.10.1–3.10.6)
  // =====================================================================================

  /** OPEN, active (§3.10.1): send SYN, enter SYN-SENT. */
  connect(now: number): void {
    if (this.state !== 'CLOSED' && this.state !== 'LISTEN') throw new TcpError('EISCONN', `connect in ${this.state}`);
    this.activeOpen = true;
    this.stats.ActiveOpens++;
    this.rcvShift = this.config.windowScaling ? offeredShift(this.config) : 0;
    this.synPending = true;
    this.sndNxt = seqAdd(this.iss, 1); // the SYN occupies ISS
    this.setState('SYN-SENT', { kind: 'user', call: 'connect' }, now);
    this.armRto(now);
    if (this.config.keepInit !== Infinity) this.keepInitAt = now + this.config.keepInit;
  }

  /** OPEN, passive (§3.10.1): wait in LISTEN for a SYN. */
  listen(now: number): void {
    if (this.state !== 'CLOSED') throw new TcpError('EISCONN', `listen in ${this.state}`);
    this.setState('LISTEN', { kind: 'user', call: 'listen' }, now);
  }

  /**
   * Create the connection from a validated SYN cookie (RFC 4987 §3.6): the handshake's state was encoded
   * in our ISS, so we go straight to ESTABLISHED and then process the ACK that carried the cookie.
   */
  static fromCookie(opts: TcpConnectionOptions, p: CookieParams, ack: TcpSegment, now: number): TcpConnection {
    const c = new TcpConnection({ ...opts, iss: p.iss });
    c.irs = p.irs >>> 0;
    c.rcvNxt = seqAdd(p.irs, 1);
    c.sndUna = seqAdd(p.iss, 1);
    c.sndNxt = c.sndUna;
    c.sndBufSeq = c.sndUna;
    c.peerMss = p.mss;
    c.sackOk = p.sackOk && c.config.sack;
    c.tsOk = p.tsOk && c.config.timestamps;
    if (p.sndShift !== null && c.config.windowScaling) {
      c.sndShift = p.sndShift;
      c.rcvShift = offeredShift(c.config);
    }
    c.updateSndMss();
    c.initCwnd();
    // Our cookie SYN+ACK advertised an unscaled window of up to 65535 bytes.
    c.rcvAdvRight = seqAdd(c.rcvNxt, Math.min(MAX_WINDOW_FIELD, c.currentWindowFree()));
    c.sndWnd = ack.window << c.sndShift;
    c.maxSndWnd = c.sndWnd;
    c.sndWl1 = ack.seq; c.sndWl2 = ack.ack;
    c.stats.PassiveOpens++;
    c.setState('ESTABLISHED', { kind: 'user', call: 'cookie' }, now);
    c.emit({ type: 'established', time: now });
    // tsRecentAge 0 means "no TS.Recent yet" (PAWS off), so a cookie accepted at time 0 records 1 instead.
    if (c.tsOk && ack.options.tsVal !== undefined) { c.tsRecent = ack.options.tsVal; c.tsRecentAge = now || 1; }
    // The ACK may also carry data or FIN: process the remainder normally.
    if (ack.payload.length > 0 || (ack.flags & FIN)) c.input(ack, now);
    return c;
  }

  /** SEND (§3.10.2). Accepts as many bytes as the send buffer has room for; returns that count. */
  send(data: Uint8Array, now: number): number {
    switch (this.state) {
      case 'CLOSED':
      case 'LISTEN':
        throw new TcpError(this.error ? this.error.code : 'ENOTCONN', 'connection does not exist');
      case 'FIN-WAIT-1': case 'FIN-WAIT-2': case 'CLOSING': case 'LAST-ACK': case 'TIME-WAIT':
        throw new TcpError('EPIPE', 'connection closing');
      default:
        if (this.finQueued) throw new TcpError('EPIPE', 'connection closing');
    }
    const room = this.config.sendBufferSize - this.snd.length;
    if (room <= 0) return 0;
    const take = data.length <= room ? data : data.subarray(0, room);
    this.snd.push(take);
    if (this.state === 'ESTABLISHED' || this.state === 'CLOSE-WAIT') this.maybeStartPersist(now);
    return take.length;
  }

  /** Free space in the send buffer. */
  get sendSpace(): number { return Math.max(0, this.config.sendBufferSize - this.snd.length); }
  /** Bytes queued but not yet acknowledged (sent or not). */
  get sendQueued(): number { return this.snd.length; }
  /** Bytes sent and not yet acknowledged. */
  get bytesInFlight(): number { return seqDiff(this.sndNxt, this.sndUna); }
  /** In-order bytes ready for read(). */
  get readableLength(): number { return this.rcv.length; }
  /** True when the peer has finished sending and everything has been read. */
  get readEnded(): boolean { return this.peerFinReceived && this.rcv.length === 0; }
  get congestionWindow(): number { return this.cc.cwnd; }
  get slowStartThreshold(): number { return this.cc.ssthresh; }
  get smoothedRtt(): number { return this.rtt.srtt; }
  get retransmissionTimeout(): number { return this.rtt.current(); }

  /** RECEIVE (§3.10.3): take up to `max` in-order bytes. Opens the window and may queue a window update. */
  read(max = Infinity): Uint8Array {
    const out = this.rcv.read(max);
    if (out.length > 0 && this.isSynchronized() && !this.peerFinReceived) {
      // Receiver SWS avoidance (RFC 9293 §3.8.6.2.2): send a window update only when the right edge can move
      // by min(RCV.BUFF/2, MSS) beyond what we advertised.
      const advRemaining = seqDiff(this.rcvAdvRight, this.rcvNxt);
      const grow = this.currentWindowFree() - Math.max(0, advRemaining);
      if (grow >= Math.min(this.config.recvBufferSize >>> 1, this.config.mss)) {
        // A peer that may be stalled (less than one MSS of window left) hears at once; otherwise the update
        // rides on the next segment or a delayed ACK, so a request/response exchange does not pay an extra ACK.
        if (advRemaining < this.config.mss) this.ackNow = true;
        else if (grow >= (this.config.recvBufferSize >>> 1)) this.windowUpdatePending = true;
      }
    }
    return out;
  }

  /** CLOSE as RFC 9293 §3.10.4 defines it, i.e. shutdown(SHUT_WR): send FIN after queued data, keep receiving. */
  shutdown(now: number): void {
    switch (this.state) {
      case 'CLOSED':
        throw new TcpError('ENOTCONN', 'connection does not exist');
      case 'LISTEN':
        this.toClosed({ kind: 'user', call: 'shutdown' }, now);
        return;
      case 'SYN-SENT':
        // Delete the TCB (§3.10.4).
        this.toClosed({ kind: 'user', call: 'shutdown' }, now);
        return;
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        if (this.finQueued) return;
        this.finQueued = true;
        // SYN-RECEIVED: the FIN goes after the handshake completes (§3.10.4 "queue for processing after ESTABLISHED").
        if (this.state === 'ESTABLISHED') this.setState('FIN-WAIT-1', { kind: 'user', call: 'shutdown' }, now);
        return;
      case 'CLOSE-WAIT':
        if (this.finQueued) return;
        this.finQueued = true;
        this.setState('LAST-ACK', { kind: 'user', call: 'shutdown' }, now);
        return;
      default:
        // FIN-WAIT-*, CLOSING, LAST-ACK, TIME-WAIT: "error: connection closing" — idempotent here.
        return;
    }
  }

  /**
   * close(2) semantics: the application will neither send nor read any more. With unread data this is an
   * abort with RST (RFC 1122 §4.2.2.13, RFC 9293 §3.10.4 note); otherwise a FIN, and data that arrives later
   * is answered with RST. An orphaned connection stuck in FIN-WAIT-2 is reaped after finWait2Timeout.
   */
  close(now: number): void {
    if (this.state === 'CLOSED') return;
    if (this.rcv.length > 0 || this.rcv.oooBytes > 0) {
      this.stats.TCPAbortOnClose++;
      this.abortWith(now, 'close');
      return;
    }
    this.orphaned = true;
    this.shutdown(now);
    if (this.state === 'FIN-WAIT-2') this.finWait2At = now + this.config.finWait2Timeout;
  }

  /** ABORT (§3.10.5): send RST if synchronized, flush queues, go to CLOSED. */
  abort(now: number): void {
    if (this.state === 'CLOSED') return;
    this.abortWith(now, 'abort');
  }

  private abortWith(now: number, call: TcpUserCall): void {
    const s = this.state;
    if (s === 'SYN-RECEIVED' || s === 'ESTABLISHED' || s === 'FIN-WAIT-1' || s === 'FIN-WAIT-2' || s === 'CLOSE-WAIT') {
      this.queueCtrl(this.abortRst(now));
    }
    this.toClosed({ kind: 'user', call }, now);
  }

  // =====================================================================================
  // SEGMENT ARRIVES (RFC 9293 §3.10.7)
  // =====================================================================================

  input(seg: TcpSegment, now: number): void {
    this.stats.InSegs++;
    const bad = classifyInvalidFlags(seg.flags);
    if (bad !== null) {
      this.stats.invalidFlags[bad]++;
      this.drop('invalid-flags', bad, seg, now);
      return;
    }
    switch (this.state) {
      case 'CLOSED': return this.inputClosed(seg, now);
      case 'LISTEN': return this.inputListen(seg, now);
      case 'SYN-SENT': return this.inputSynSent(seg, now);
      default: return this.inputSynchronized(seg, now);
    }
  }

  /** §3.10.7.1: CLOSED. Everything is discarded; anything but a RST is answered with a RST. */
  private inputClosed(seg: TcpSegment, now: number): void {
    this.drop('closed', 'no connection', seg, now);
    if (seg.flags & RST) return;
    this.queueCtrl(rstFor(seg));
  }

  /** §3.10.7.2: LISTEN. */
  private inputListen(seg: TcpSegment, now: number): void {
    const f = seg.flags;
    if (f & RST) { this.drop('unexpected', 'RST in LISTEN', seg, now); return; }
    if (f & ACK) {
      // "Any acknowledgment is bad if it arrives on a connection still in the LISTEN state": <SEQ=SEG.ACK><CTL=RST>.
      this.drop('ack-in-listen', 'ACK in LISTEN', seg, now);
      this.queueCtrl(rstFor(seg));
      return;
    }
    if (f & SYN) {
      this.remotePort = seg.srcPort;
      this.stats.PassiveOpens++;
      this.irs = seg.seq;
      this.rcvNxt = seqAdd(seg.seq, 1);
      this.rcvAdvRight = this.rcvNxt;
      this.processSynOptions(seg, now);
      // SND.WND from the SYN is unscaled (RFC 7323 §2.2).
      this.sndWnd = seg.window;
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seg.seq; this.sndWl2 = seg.ack;
      this.synPending = true;
      this.sndNxt = seqAdd(this.iss, 1);
      this.setState('SYN-RECEIVED', { kind: 'segment', seg }, now);
      this.armRto(now);
      // Data in a SYN is queued after the handshake (§3.10.7.2): we simply do not ACK it; the peer resends.
      return;
    }
    this.drop('unexpected', 'no SYN in LISTEN', seg, now);
  }

  /** §3.10.7.3: SYN-SENT. */
  private inputSynSent(seg: TcpSegment, now: number): void {
    const f = seg.flags;
    let ackOk = false;
    if (f & ACK) {
      // First: SEG.ACK =< ISS or SEG.ACK > SND.NXT is unacceptable.
      if (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndNxt)) {
        this.drop('bad-ack', 'ACK does not acknowledge our SYN', seg, now);
        if (!(f & RST)) this.queueCtrl(this.makeRaw(seg.ack, 0, RST, EMPTY));
        return;
      }
      ackOk = seqLe(this.sndUna, seg.ack) && seqLe(seg.ack, this.sndNxt);
    }
    if (f & RST) {
      // RFC 5961 §3.2 / RFC 9293: acceptable only if it acknowledges our SYN.
      if (ackOk) {
        this.stats.RstAccepted++;
        this.fail('ECONNREFUSED', 'connection refused', { kind: 'segment', seg }, now);
      } else {
        this.stats.RstIgnored++;
        this.drop('rst-not-exact', 'RST without acceptable ACK in SYN-SENT', seg, now);
      }
      return;
    }
    if (!(f & SYN)) { this.drop('unexpected', 'neither SYN nor RST in SYN-SENT', seg, now); return; }
    // Fourth: SYN.
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    // Our SYN advertised this much window (unscaled); data on the SYN+ACK may use it.
    this.rcvAdvRight = seqAdd(this.rcvNxt, Math.min(MAX_WINDOW_FIELD, this.currentWindowFree()));
    this.processSynOptions(seg, now);
    if (ackOk) {
      this.ackAdvance(seg.ack, now, seg);
    }
    if (seqGt(this.sndUna, this.iss)) {
      // Our SYN is acknowledged: ESTABLISHED. Window from a SYN is never scaled (RFC 7323 §2.2).
      this.sndWnd = seg.window;
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seg.seq; this.sndWl2 = seg.ack;
      this.synPending = false;
      this.setState('ESTABLISHED', { kind: 'segment', seg }, now);
      this.emit({ type: 'established', time: now });
      this.ackNow = true;
      // Data or FIN carried on the SYN+ACK: continue at "sixth" (§3.10.7.3).
      if (seg.payload.length > 0 || (f & FIN)) this.processTextAndFin(seg, seqAdd(seg.seq, 1), seg.payload, now);
      if (this.finQueued) this.setState('FIN-WAIT-1', { kind: 'user', call: 'shutdown' }, now);
    } else {
      // Simultaneous open (§3.10.7.3, Figure 8): SYN-RECEIVED, send SYN,ACK <SEQ=ISS><ACK=RCV.NXT>.
      this.sndWnd = seg.window;
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seg.seq; this.sndWl2 = seg.ack;
      this.synPending = true;
      this.setState('SYN-RECEIVED', { kind: 'segment', seg }, now);
      this.armRto(now);
    }
  }

  /** §3.10.7.4: SYN-RECEIVED and every synchronized state. */
  private inputSynchronized(seg: TcpSegment, now: number): void {
    let f = seg.flags;
    // Set when the peer's SYN+ACK of a simultaneous open completes the handshake: its window is not scaled.
    let windowUnscaled = false;
    if (this.state === 'SYN-RECEIVED' && (f & (SYN | ACK)) === (SYN | ACK) && seg.seq === this.irs) {
      // Simultaneous open (RFC 9293 Figure 8, line 6): the peer's SYN+ACK repeats its SYN, which is old;
      // only the new part, the ACK, is processed (§3.10.7.4 "straddle" rule, as BSD trims it). The window
      // field of a <SYN,ACK> is never scaled (RFC 7323 §2.2), trimmed or not.
      windowUnscaled = true;
      f &= ~SYN;
      seg = { ...seg, flags: f, seq: seqAdd(seg.seq, 1) };
    }
    const opts = seg.options;
    const s = this.state;

    // RFC 7323 §5.3: PAWS, before the sequence check. RSTs are exempt (§5.3 R1 note; RFC 7323 §5.2).
    if (this.tsOk && opts.tsVal !== undefined && !(f & RST) && this.tsRecentAge !== 0) {
      if (seqLt(opts.tsVal, this.tsRecent) && now - this.tsRecentAge < 24 * 86400_000) {
        this.stats.PAWSEstab++;
        this.drop('paws', `TSval ${opts.tsVal} < TS.Recent ${this.tsRecent}`, seg, now);
        this.ackNow = true;
        return;
      }
    }

    // BSD and Linux process the ACK of a wholly duplicate segment that ends exactly at RCV.NXT (typically a
    // retransmitted FIN that now acknowledges ours); RFC 9293's test rejects it. Only the new part, the ACK,
    // is kept ("only the new parts are processed", §3.10.7.4), and the duplicate is re-ACKed.
    // finOnAck implies it: two stacks that repeat their FIN on every ACK would otherwise answer each other's
    // duplicate FIN+ACK forever in a simultaneous close (CLOSING ↔ CLOSING), never seeing their FIN acknowledged.
    if ((this.config.ackOfDuplicate || this.config.finOnAck) && s !== 'TIME-WAIT' && (f & ACK) && !(f & (SYN | RST))) {
      const dupLen = seg.payload.length + (f & FIN ? 1 : 0);
      if (dupLen > 0 && seqAdd(seg.seq, dupLen) === this.rcvNxt) {
        this.ackNow = true;
        f &= ~FIN;
        seg = { ...seg, seq: this.rcvNxt, flags: f, payload: EMPTY };
      }
    }

    // First: sequence number check (the four acceptability cases).
    const segLen = seg.payload.length + (f & SYN ? 1 : 0) + (f & FIN ? 1 : 0);
    const rcvWnd = this.acceptWindow();
    // RFC 9293 §3.10.7.4: "If the RCV.WND is zero, no segments will be acceptable, but special allowance should be
    // made to accept valid ACKs, URGs, and RSTs." A segment at exactly RCV.NXT is therefore processed for its
    // control fields (its text is trimmed to the zero window in the seventh step); a bare FIN there is accepted
    // too, as Linux does, since it needs no buffer space (and our own sender sends FINs into a zero window).
    if (!this.acceptable(seg.seq, segLen, rcvWnd) && !(rcvWnd === 0 && seg.seq === this.rcvNxt)) {
      if (s === 'SYN-RECEIVED' && (f & SYN) && !(f & ACK) && seg.seq === this.irs) {
        // A retransmitted SYN: our SYN+ACK was lost. Resend it (as Linux does).
        this.synPending = true;
        return;
      }
      if (f & RST) {
        this.stats.RstIgnored++;
        this.drop('rst-out-of-window', 'RST outside the receive window', seg, now);
        return;
      }
      if (s === 'TIME-WAIT' && (f & FIN)) {
        // §3.10.7.4 eighth, TIME-WAIT: a retransmitted FIN; acknowledge it and restart the 2 MSL timeout.
        this.timeWaitAt = now + 2 * this.config.msl;
        this.ackNow = true;
        this.drop('out-of-window', 'retransmitted FIN in TIME-WAIT: re-ACK', seg, now);
        return;
      }
      this.stats.OutOfWindow++;
      this.drop('out-of-window', `seq ${seg.seq} len ${segLen} outside RCV.NXT ${this.rcvNxt} WND ${rcvWnd}`, seg, now);
      // A pure ACK outside the window is answered at most once per invalidAckRatelimit ms (Linux's
      // tcp_invalid_ratelimit): two ends that each see the other's ACKs as out of window would otherwise
      // ping-pong ACKs forever. Segments with data, SYN or FIN are always answered.
      if (segLen === 0 && !(f & SYN) && this.config.invalidAckRatelimit > 0 && now - this.lastOowAckAt < this.config.invalidAckRatelimit) {
        this.stats.TCPACKSkippedSeq++;
      } else {
        if (segLen === 0) this.lastOowAckAt = now;
        this.ackNow = true;
      }
      // RFC 5961 §4: a SYN in a synchronized state draws a challenge ACK whatever its sequence number.
      if (f & SYN) this.challengePending = true;
      return;
    }

    // Second: RST (RFC 5961 §3.2: only an exact RCV.NXT match resets; in-window → challenge ACK).
    if (f & RST) {
      if (s === 'TIME-WAIT') {
        // RFC 1337: ignore RST in TIME-WAIT (TIME-WAIT assassination hazards).
        this.stats.RstIgnored++;
        this.drop('rst-in-time-wait', 'RST ignored in TIME-WAIT (RFC 1337)', seg, now);
        return;
      }
      if (seg.seq !== this.rcvNxt) {
        this.stats.RstIgnored++;
        this.drop('rst-not-exact', `RST seq ${seg.seq} != RCV.NXT ${this.rcvNxt}: challenge ACK`, seg, now);
        this.challengeAck(now);
        return;
      }
      this.stats.RstAccepted++;
      const cause: TcpCause = { kind: 'segment', seg };
      if (s === 'SYN-RECEIVED') {
        if (this.activeOpen) this.fail('ECONNREFUSED', 'connection refused', cause, now);
        else this.toClosed(cause, now);
        return;
      }
      if (s === 'ESTABLISHED' || s === 'FIN-WAIT-1' || s === 'FIN-WAIT-2' || s === 'CLOSE-WAIT') {
        this.fail('ECONNRESET', 'connection reset by peer', cause, now);
        return;
      }
      // CLOSING, LAST-ACK: enter CLOSED and delete the TCB.
      this.toClosed(cause, now);
      return;
    }

    // Fourth: SYN in a synchronized state (RFC 5961 §4): challenge ACK, drop.
    if (f & SYN) {
      if (s === 'SYN-RECEIVED' && !this.activeOpen && !(f & ACK)) {
        // Passive open: RFC 9293 returns the TCB to LISTEN; a different SYN here is a new attempt. Resend SYN+ACK.
        this.synPending = true;
        return;
      }
      this.drop('syn-in-synchronized-state', 'SYN in synchronized state: challenge ACK', seg, now);
      if (s === 'TIME-WAIT') { this.ackNow = true; return; }
      this.challengeAck(now);
      return;
    }

    // Fifth: ACK.
    if (!(f & ACK)) { this.drop('no-ack', 'segment without ACK', seg, now); return; }

    // RFC 7323 §4.3: update TS.Recent when the segment covers Last.ACK.sent.
    if (this.tsOk && opts.tsVal !== undefined && seqLe(seg.seq, this.lastAckSent) && seqGe(opts.tsVal, this.tsRecent)) {
      this.tsRecent = opts.tsVal; this.tsRecentAge = now;
    }

    if (s === 'SYN-RECEIVED') {
      if (seqLt(this.sndUna, seg.ack) && seqLe(seg.ack, this.sndNxt)) {
        this.synPending = false;
        // Window from the handshake-completing ACK is scaled, unless it is the peer's SYN+ACK of a
        // simultaneous open (RFC 7323 §2.2).
        this.sndWnd = windowUnscaled ? seg.window : seg.window << this.sndShift;
        this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
        this.sndWl1 = seg.seq; this.sndWl2 = seg.ack;
        this.ackAdvance(seg.ack, now, seg);
        this.setState('ESTABLISHED', { kind: 'segment', seg }, now);
        this.emit({ type: 'established', time: now });
        if (this.finQueued) this.setState('FIN-WAIT-1', { kind: 'user', call: 'shutdown' }, now);
      } else {
        this.drop('bad-ack', 'ACK outside SND.UNA..SND.NXT in SYN-RECEIVED', seg, now);
        this.queueCtrl(this.makeRaw(seg.ack, 0, RST, EMPTY));
        return;
      }
    } else {
      // RFC 5961 §5.2: acceptable if SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT.
      if (seqGt(seg.ack, this.sndNxt)) {
        this.drop('bad-ack', `ACK ${seg.ack} for data not yet sent (SND.NXT ${this.sndNxt})`, seg, now);
        this.ackNow = true;
        return;
      }
      if (seqLt(seg.ack, seqAdd(this.sndUna, -Math.max(this.maxSndWnd, 1)))) {
        this.drop('bad-ack', `ACK ${seg.ack} too old`, seg, now);
        this.challengeAck(now);
        return;
      }
      this.processAck(seg, now);
      if (this.state === 'CLOSED') return;
    }

    // FIN-WAIT-1 / CLOSING / LAST-ACK transitions driven by our FIN being acknowledged.
    const finAcked = this.finSent && seqGt(this.sndUna, this.finSeq);
    const cause: TcpCause = { kind: 'segment', seg };
    switch (this.state) {
      case 'FIN-WAIT-1':
        // A FIN+ACK that acknowledges our FIN and carries the peer's in-order FIN goes straight to TIME-WAIT
        // (§3.10.7.4 eighth: "If our FIN has been ACKed (perhaps in this segment), then enter TIME-WAIT").
        if (finAcked && !((f & FIN) && seg.seq === this.rcvNxt && !this.orphanedDataPending(seg))) {
          this.setState('FIN-WAIT-2', cause, now);
          if (this.orphaned) this.finWait2At = now + this.config.finWait2Timeout;
        }
        break;
      case 'CLOSING':
        if (finAcked) { this.enterTimeWait(cause, now); return; }
        break;
      case 'LAST-ACK':
        if (finAcked) { this.toClosed(cause, now); return; }
        break;
      case 'TIME-WAIT':
        // Only a retransmitted FIN can legitimately arrive (handled below).
        break;
    }

    // Sixth: URG (§3.10.7.4 sixth) — we track RCV.UP only.
    if ((f & URG) && seqGt(seqAdd(seg.seq, seg.urgent), this.rcvUp)) this.rcvUp = seqAdd(seg.seq, seg.urgent);

    // Seventh and eighth: text and FIN.
    this.processTextAndFin(seg, seg.seq, seg.payload, now);
  }

  /** Seventh (segment text) and eighth (FIN) of §3.10.7.4. `seq` is the sequence number of payload[0]. */
  private processTextAndFin(seg: TcpSegment, seq: number, payload: Uint8Array, now: number): void {
    const s = this.state;
    const canReceive = s === 'ESTABLISHED' || s === 'FIN-WAIT-1' || s === 'FIN-WAIT-2' || s === 'SYN-RECEIVED';
    let dataLen = payload.length;
    if (dataLen > 0) {
      if (!canReceive || this.peerFinReceived) {
        // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: "This should not occur since a FIN has been received" — ignore.
        dataLen = 0;
      } else if (this.orphaned) {
        // The application is gone: RST the peer (RFC 1122 §4.2.2.13; Linux TCPAbortOnData).
        this.stats.TCPAbortOnData++;
        this.drop('data-after-close', 'data after close(): RST', seg, now);
        // Linux (tcp_v4_send_reset) and FreeBSD (tcp_dropwithreset) answer the segment itself: <SEQ=SEG.ACK><CTL=RST>.
        this.queueCtrl(this.config.abortRstAck ? rstFor(seg) : this.abortRst(now));
        this.toClosed({ kind: 'segment', seg }, now);
        return;
      } else {
        // Trim to the window (RFC 9293 §3.10.7.4: "segments with higher beginning sequence numbers may be held").
        const winRight = seqAdd(this.rcvNxt, this.acceptWindow());
        let data = payload;
        let dseq = seq;
        if (seqLt(dseq, this.rcvNxt)) {
          const skip = seqDiff(this.rcvNxt, dseq);
          data = skip >= data.length ? EMPTY : data.subarray(skip);
          dseq = this.rcvNxt;
        }
        const room = seqDiff(winRight, dseq);
        if (data.length > room) data = room > 0 ? data.subarray(0, room) : EMPTY;
        if (data.length > 0) {
          const at = this.rcv.nextAbs + seqDiff(dseq, this.rcvNxt);
          const inOrder = dseq === this.rcvNxt;
          const hadOoo = this.rcv.hasOutOfOrder;
          const advanced = this.rcv.insert(at, data);
          if (advanced > 0) this.rcvNxt = seqAdd(this.rcvNxt, advanced);
          if (this.rcvFinSeq !== -1 && this.rcvFinSeq === this.rcvNxt && !(seg.flags & FIN)) {
            // The FIN we held beyond a hole is now in order.
            this.acceptFin({ kind: 'segment', seg }, now);
          }
          if (!inOrder || hadOoo) {
            // Out-of-order data or a filled hole: ACK at once (RFC 5681 §4.2) so the sender gets dup ACKs / SACKs.
            this.ackNow = true;
          } else {
            // Delayed ACK (RFC 9293 §3.8.6.3): ACK at least every second segment, otherwise within the timeout.
            // With receive offload, a segment above our MSS is a coalesced super-segment (GRO/LRO): it is at
            // least two full-sized segments, so it is ACKed at once (as Linux __tcp_ack_snd_check does).
            this.unackedSegs += this.config.receiveOffload && data.length > this.config.mss ? 2 : 1;
            // Linux quick-ACK mode: the first data segments of a connection are ACKed at once.
            const quick = this.quickAcksSent < this.config.quickAckSegments;
            if (quick) this.quickAcksSent++;
            if (!this.config.delayedAck || this.unackedSegs >= 2 || quick) this.ackNow = true;
            else if (this.delackAt === Infinity) this.delackAt = now + this.config.delayedAckTimeout;
          }
        } else if (payload.length > 0) {
          this.ackNow = true; // entirely duplicate or beyond the window: re-ACK
        }
      }
    }

    // Eighth: FIN.
    if (!(seg.flags & FIN)) return;
    const finAt = seqAdd(seq, payload.length);
    if (this.peerFinReceived) {
      // Retransmitted FIN: re-ACK (TIME-WAIT also restarts 2MSL).
      if (this.state === 'TIME-WAIT') this.timeWaitAt = now + 2 * this.config.msl;
      this.ackNow = true;
      return;
    }
    if (finAt !== this.rcvNxt) {
      // FIN beyond a hole: remember it, process when the data before it has arrived.
      if (seqGt(finAt, this.rcvNxt)) this.rcvFinSeq = finAt;
      this.ackNow = true;
      return;
    }
    this.acceptFin({ kind: 'segment', seg }, now);
  }

  private acceptFin(cause: TcpCause, now: number): void {
    this.peerFinReceived = true;
    this.rcvFinSeq = -1;
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.emit({ type: 'eof', time: now });
    switch (this.state) {
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        // Like Linux (pingpong mode on FIN), the ACK of a FIN in ESTABLISHED is delayed: an application that
        // closes at once then sends FIN+ACK together, the merged "three-way" close.
        if (this.config.delayedAck && !this.ackFinNow()) { if (this.delackAt === Infinity) this.delackAt = now + this.config.delayedAckTimeout; }
        else this.ackNow = true;
        this.setState('CLOSE-WAIT', cause, now);
        break;
      case 'FIN-WAIT-1':
        this.ackNow = true;
        if (this.finSent && seqGt(this.sndUna, this.finSeq)) this.enterTimeWait(cause, now);
        else this.setState('CLOSING', cause, now);
        break;
      case 'FIN-WAIT-2':
        this.ackNow = true;
        this.finWait2At = Infinity;
        this.enterTimeWait(cause, now);
        break;
      case 'TIME-WAIT':
        this.ackNow = true;
        this.timeWaitAt = now + 2 * this.config.msl;
        break;
      default:
        this.ackNow = true;
        break;
    }
  }

  /** ACK processing for ESTABLISHED-like states (§3.10.7.4 fifth), with loss detection and congestion control. */
  private processAck(seg: TcpSegment, now: number): void {
    const ack = seg.ack;
    const opts = seg.options;
    // SACK scoreboard update first (RFC 6675 §5: the update precedes loss detection).
    let sackAdvanced = false;
    if (this.sackOk && opts.sack !== undefined) sackAdvanced = this.updateScoreboard(opts.sack);

    const oldWnd = this.sndWnd;
    if (seqGt(ack, this.sndUna)) {
      this.ackAdvance(ack, now, seg);
    } else if (ack === this.sndUna) {
      // Duplicate ACK per RFC 5681 §2: no data, no window change, outstanding data, ack == SND.UNA.
      const isDup = seg.payload.length === 0 && !(seg.flags & (SYN | FIN)) && (seg.window << this.sndShift) === oldWnd && seqGt(this.sndNxt, this.sndUna);
      if (isDup || (sackAdvanced && seqGt(this.sndNxt, this.sndUna))) this.onDupAck();
    }
    // Window update (§3.10.7.4: if SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)).
    if (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLe(this.sndWl2, ack))) {
      const wnd = seg.window << this.sndShift;
      this.sndWnd = wnd;
      if (wnd > this.maxSndWnd) this.maxSndWnd = wnd;
      this.sndWl1 = seg.seq;
      this.sndWl2 = ack;
      if (wnd > 0) { this.persistAt = Infinity; this.persistBackoff = 0; }
    }
    this.maybeStartPersist(now);
    if (this.keepAlive) { this.keepaliveAt = now + this.keepAliveIdle; this.keepaliveProbes = 0; }
  }

  /** SND.UNA advances to `ack`: free acknowledged data, sample RTT, grow cwnd / handle recovery, rearm RTO. */
  private ackAdvance(ack: number, now: number, seg: TcpSegment): void {
    const acked = seqDiff(ack, this.sndUna);
    if (acked <= 0) return;
    // Account SYN and FIN, which occupy sequence space but not buffer bytes.
    let dataAcked = acked;
    if (this.sndUna === this.iss) dataAcked--; // our SYN
    if (this.finSent && seqGt(ack, this.finSeq)) dataAcked--; // our FIN
    if (dataAcked > 0) {
      const freeable = Math.min(dataAcked, this.snd.length);
      this.snd.consume(freeable);
    }
    this.sndUna = ack;
    this.sndBufSeq = this.finSent && seqGt(ack, this.finSeq) ? this.finSeq : (seqGt(ack, this.sndBufSeq) ? ack : this.sndBufSeq);
    if (this.sndRtx !== -1 && seqLt(this.sndRtx, ack)) this.sndRtx = ack;
    this.pruneScoreboard();

    // RTT sample: timestamps (RFC 7323 §4.1) or the timed segment (Karn's algorithm, RFC 6298 §3).
    const opts = seg.options;
    if (this.tsOk && opts.tsEcr !== undefined && opts.tsEcr !== 0) {
      const rtt = (this.tsNow(now) - opts.tsEcr) >>> 0;
      if (rtt < 0x7fffffff) this.rtt.sample(rtt / this.config.tsTicksPerMs);
    } else if (this.rttSeq !== -1 && seqGt(ack, this.rttSeq)) {
      this.rtt.sample(now - this.rttTime);
      this.rttSeq = -1;
    }
    this.retries = 0;

    const mss = this.sndMssCap();
    if (this.inRecovery) {
      if (seqGe(ack, this.recover)) {
        this.inRecovery = false;
        this.dupAcks = 0;
        this.cc.onRecoveryEnd(seqDiff(this.sndNxt, this.sndUna), mss);
        if (this.sndRtx !== -1 && seqGe(ack, this.sndRtxEnd)) this.sndRtx = -1;
      } else {
        // Partial ACK (RFC 6582 §3.2 step 5): retransmit the next unacknowledged segment.
        this.cc.onPartialAck(acked, mss);
        if (!this.sackOk) {
          this.sndRtx = this.sndUna;
          this.sndRtxEnd = this.recover;
          this.forceRtx = true;
        } else if (this.sndRtx === this.sndUna) {
          // SACK recovery: sndRtx is HighRxt (RFC 6675), the next byte not yet retransmitted in this episode.
          // It only equals SND.UNA when the segment the partial ACK stops at has not been resent yet: resend it
          // now, as NewReno would. Holes already retransmitted are not resent again (a lost retransmission is
          // repaired by the RTO, RFC 6675 §5.1), so restarting the scan from SND.UNA would be spurious.
          this.forceRtx = true;
        }
      }
    } else {
      this.dupAcks = 0;
      if (this.state !== 'SYN-SENT' && this.state !== 'SYN-RECEIVED') this.cc.onAck(acked, mss, now);
      if (seqGe(ack, this.sndRtxEnd)) { this.sndRtx = -1; this.rtoRecovery = false; }
    }

    // RFC 6298 §5.2/5.3: turn off the timer when all is acked, otherwise restart it.
    if (this.sndUna === this.sndNxt) this.rtoAt = Infinity;
    else this.rtoAt = now + this.rtoTimeout();
    this.tlpOutstanding = false;
    this.unackedSince = this.sndUna === this.sndNxt ? -1 : now;
    this.schedulePto(now);
  }

  /**
   * RFC 8985 §7.2: after new data goes out or an ACK makes progress, arm the probe timeout: PTO = 2·SRTT (1 s
   * without an RTT sample); with one segment in flight at least 1.5·SRTT + 200 ms (the receiver may be delaying
   * its ACK; Linux's TCP_DELACK_MAX); never later than the RTO. Only with SACK, outside recovery, one probe per
   * episode (Linux's conditions).
   */
  private schedulePto(now: number): void {
    if (!this.config.tailLossProbe || !this.sackOk || !this.sendsData() || this.tlpOutstanding || this.inRecovery || this.rtoRecovery
      || this.sndUna === this.sndNxt) {
      this.tlpAt = Infinity;
      return;
    }
    const srtt = this.rtt.hasSample ? this.rtt.srtt : 0;
    let pto = srtt > 0 ? 2 * srtt : 1000;
    if (srtt > 0 && seqDiff(this.sndNxt, this.sndUna) <= this.sndMss + 1) pto = Math.max(pto, 1.5 * srtt + 200);
    if (this.rtoAt !== Infinity) pto = Math.min(pto, this.rtoAt - now);
    this.tlpAt = now + pto;
  }

  /**
   * The probe when no new data can go (RFC 8985 §7.3): the last segment again — the FIN alone when it was
   * sent, else up to an MSS of the highest data — never bytes the receiver has SACKed; none when all is SACKed.
   * It draws a SACK that shows what was lost.
   */
  private lossProbe(now: number): TcpSegment | null {
    if (this.sndUna === this.sndNxt) return null;
    const sb = this.scoreboard;
    let end = this.sndNxt;
    if (this.finSent && seqGt(this.sndNxt, this.finSeq)) {
      if (this.sackedUntil(this.finSeq) === -1) {
        this.stats.RetransSegs++;
        return this.out(this.makeRaw(this.finSeq, this.rcvNxt, ACK | FIN, EMPTY, now), now);
      }
      end = this.finSeq;
    }
    // Below any SACKed block that reaches the end, then after any SACKed block inside the probe.
    for (let moved = true; moved;) {
      moved = false;
      for (let i = 0; i < sb.length; i += 2) if (seqLt(sb[i]!, end) && seqLe(end, sb[i + 1]!)) { end = sb[i]!; moved = true; }
    }
    if (!seqGt(end, this.sndUna)) return null;
    let seq = seqDiff(end, this.sndUna) > this.sndMssCap() ? seqAdd(end, -this.sndMssCap()) : this.sndUna;
    for (let i = 0; i < sb.length; i += 2) if (seqGt(sb[i + 1]!, seq) && seqLe(sb[i + 1]!, end)) seq = sb[i + 1]!;
    const len = seqDiff(end, seq);
    const payload = this.snd.slice(this.snd.front + seqDiff(seq, this.sndBufSeq), len);
    this.stats.RetransSegs++;
    return this.out(this.makeRaw(seq, this.rcvNxt, ACK | PSH, payload, now), now);
  }

  private onDupAck(): void {
    this.dupAcks++;
    const mss = this.sndMssCap();
    if (this.inRecovery) {
      if (!this.sackOk) this.cc.onDupAckInRecovery(mss);
      return;
    }
    // Loss detection: 3 duplicate ACKs (RFC 5681 §3.2), or with SACK, more than 3 segments SACKed above SND.UNA (RFC 6675 §5).
    const sackTrigger = this.sackOk && this.sackedBytes >= 3 * mss;
    if (this.dupAcks >= 3 || sackTrigger) {
      // RFC 6582 §3.2 step 2: after an RTO, duplicate ACKs for data below "recover" are echoes of the
      // go-back-N retransmission, not a new loss.
      if (this.rtoRecovery && !seqGt(this.sndUna, this.recover)) return;
      this.rtoRecovery = false;
      this.inRecovery = true;
      this.tlpAt = Infinity; // recovery repairs the tail now (RFC 8985 §7.2: no probe during recovery)
      this.forceRtx = true;
      this.recover = this.sndNxt;
      this.stats.TCPFastRetrans++;
      this.cc.onFastRetransmit(this.pipe(), mss);
      this.sndRtx = this.sndUna;
      this.sndRtxEnd = this.sndNxt;
      this.rttSeq = -1;
    }
  }

  /** Merge reported SACK blocks into the scoreboard. Returns true if new bytes were SACKed. */
  private updateScoreboard(blocks: number[]): boolean {
    let changed = false;
    for (let i = 0; i + 1 < blocks.length; i += 2) {
      let l = blocks[i]!;
      const r = blocks[i + 1]!;
      // Ignore blocks outside (SND.UNA, SND.NXT] — D-SACKs and garbage (RFC 2883 / RFC 6675 §4).
      if (!seqLt(l, r) || !seqGt(r, this.sndUna) || seqGt(r, this.sndNxt)) continue;
      if (seqLt(l, this.sndUna)) l = this.sndUna;
      changed = this.addSackRange(l, r) || changed;
    }
    if (changed) this.recountSacked();
    return changed;
  }

  private addSackRange(l: number, r: number): boolean {
    const sb = this.scoreboard;
    // Insert [l, r) and merge overlaps; ranges are sorted by modular order from SND.UNA.
    let i = 0;
    while (i < sb.length && seqLt(sb[i + 1]!, l)) i += 2;
    if (i < sb.length && seqLe(sb[i]!, l) && seqGe(sb[i + 1]!, r)) return false;
    let nl = l, nr = r;
    let j = i;
    while (j < sb.length && seqLe(sb[j]!, nr)) {
      if (seqLt(sb[j]!, nl)) nl = sb[j]!;
      if (seqGt(sb[j + 1]!, nr)) nr = sb[j + 1]!;
      j += 2;
    }
    sb.splice(i, j - i, nl, nr);
    return true;
  }

  private pruneScoreboard(): void {
    const sb = this.scoreboard;
    if (sb.length === 0) return;
    let k = 0;
    while (k < sb.length && seqLe(sb[k + 1]!, this.sndUna)) k += 2;
    if (k > 0) sb.splice(0, k);
    if (sb.length && seqLt(sb[0]!, this.sndUna)) sb[0] = this.sndUna;
    this.recountSacked();
  }

  private recountSacked(): void {
    const sb = this.scoreboard;
    let n = 0;
    for (let i = 0; i < sb.length; i += 2) n += seqDiff(sb[i + 1]!, sb[i]!);
    this.sackedBytes = n;
    this.highSack = sb.length ? sb[sb.length - 1]! : this.sndUna;
  }

  /** Is seq inside a SACKed range? If so, returns the range's right edge; otherwise -1. */
  private sackedUntil(seq: number): number {
    const sb = this.scoreboard;
    for (let i = 0; i < sb.length; i += 2) if (seqLe(sb[i]!, seq) && seqLt(seq, sb[i + 1]!)) return sb[i + 1]!;
    return -1;
  }

  /**
   * Bytes in flight (RFC 6675 §4 "pipe", simplified): outstanding minus SACKed minus holes below the
   * highest SACK that are deemed lost and not yet retransmitted.
   */
  private pipe(): number {
    if (this.rtoRecovery && this.sndRtx !== -1) {
      // After an RTO all outstanding data counts as lost; in flight is only what was resent since, plus new data.
      const resent = seqDiff(this.sndRtx, this.sndUna);
      const fresh = seqDiff(this.sndNxt, this.sndRtxEnd);
      return (resent > 0 ? resent : 0) + (fresh > 0 ? fresh : 0);
    }
    let p = seqDiff(this.sndNxt, this.sndUna) - this.sackedBytes;
    if (this.sackOk && this.scoreboard.length && (this.inRecovery || this.sndRtx !== -1)) {
      const from = this.sndRtx !== -1 ? this.sndRtx : this.sndUna;
      // Un-SACKed bytes between `from` and highSack are lost-not-yet-retransmitted.
      let lost = seqDiff(this.highSack, from);
      if (lost > 0) {
        const sb = this.scoreboard;
        for (let i = 0; i < sb.length; i += 2) {
          const l = seqGt(sb[i]!, from) ? sb[i]! : from;
          if (seqLt(l, sb[i + 1]!)) lost -= seqDiff(sb[i + 1]!, l);
        }
        if (lost > 0) p -= lost;
      }
    }
    return p > 0 ? p : 0;
  }

  // =====================================================================================
  // Timers
  // =====================================================================================

  /** The earliest time at which onTimeout() must be called (Infinity if none). */
  nextDeadline(): number {
    let t = this.rtoAt;
    if (this.tlpAt < t) t = this.tlpAt;
    if (this.delackAt < t) t = this.delackAt;
    if (this.persistAt < t) t = this.persistAt;
    if (this.keepaliveAt < t) t = this.keepaliveAt;
    if (this.timeWaitAt < t) t = this.timeWaitAt;
    if (this.finWait2At < t) t = this.finWait2At;
    if (this.keepInitAt < t) t = this.keepInitAt;
    return t;
  }

  onTimeout(now: number): void {
    if (this.timeWaitAt <= now) {
      this.timeWaitAt = Infinity;
      if (this.state === 'TIME-WAIT') { this.toClosed({ kind: 'timer', timer: 'time-wait' }, now); return; }
    }
    if (this.finWait2At <= now) {
      this.finWait2At = Infinity;
      if (this.state === 'FIN-WAIT-2' && this.orphaned) {
        // Like Linux's tcp_fin_timeout: the peer never sent its FIN; reap silently.
        this.toClosed({ kind: 'timer', timer: 'fin-wait-2' }, now);
        return;
      }
    }
    if (this.keepInitAt <= now) {
      this.keepInitAt = Infinity;
      if (this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED') {
        this.stats.TCPAbortOnTimeout++;
        this.fail('ETIMEDOUT', 'connection establishment timed out (keepinit)', { kind: 'timer', timer: 'rto' }, now);
        return;
      }
    }
    if (this.tlpAt <= now && this.tlpAt <= this.rtoAt) {
      // The probe timer stands in for the RTO (Linux arms one or the other): the RTO is armed anew after it.
      this.tlpAt = Infinity;
      if (this.sndUna !== this.sndNxt && !this.inRecovery && !this.rtoRecovery) {
        this.tlpPending = true;
        this.tlpOutstanding = true;
        this.stats.TCPLossProbes++;
        this.rtoAt = now + this.rtoTimeout();
      }
    } else if (this.rtoAt <= now) {
      this.onRto(now);
    }
    if (this.state === 'CLOSED') return;
    if (this.delackAt <= now) { this.delackAt = Infinity; this.ackNow = true; }
    if (this.persistAt <= now) {
      this.persistAt = Infinity;
      if (this.sndWnd === 0 && this.snd.length > seqDiff(this.sndNxt, this.sndBufSeq) && this.isSynchronized()) {
        this.probePending = true;
        this.persistBackoff++;
        this.persistAt = now + Math.min(this.config.rtoMax, this.rtt.current() * 2 ** this.persistBackoff);
      }
    }
    if (this.keepaliveAt <= now) {
      this.keepaliveAt = Infinity;
      if (this.keepAlive && (this.state === 'ESTABLISHED' || this.state === 'CLOSE-WAIT')) {
        if (this.keepaliveProbes >= this.config.keepAliveProbes) {
          // Like Linux (tcp_keepalive_timer) and like our retransmission limit: tell a peer that may still be
          // there, behind a path that only just came back, that this connection is gone.
          this.stats.TCPAbortOnTimeout++;
          this.queueCtrl(this.abortRst(now));
          this.fail('ETIMEDOUT', 'keep-alive: peer not responding', { kind: 'timer', timer: 'keepalive' }, now);
          return;
        }
        this.keepaliveProbes++;
        this.keepalivePending = true;
        this.keepaliveAt = now + this.config.keepAliveInterval;
      }
    }
  }

  /** RFC 6298 §5.4–5.7 (retransmit the earliest unacknowledged segment, back off) and RFC 5681 §3.1 on loss. */
  private onRto(now: number): void {
    this.rtoAt = Infinity;
    this.tlpAt = Infinity;
    this.tlpPending = false;
    if (this.userTimeout > 0 && this.unackedSince >= 0 && now - this.unackedSince >= this.userTimeout && this.isSynchronized()) {
      // RFC 9293 §3.10.8 USER TIMEOUT: flush everything, tell the user, delete the TCB (Linux sends no RST).
      this.stats.TCPAbortOnTimeout++;
      this.fail('ETIMEDOUT', `nothing acknowledged for ${this.userTimeout} ms (user timeout)`, { kind: 'timer', timer: 'rto' }, now);
      return;
    }
    const s = this.state;
    this.stats.TCPTimeouts++;
    this.retries++;
    if (s === 'SYN-SENT' || s === 'SYN-RECEIVED') {
      const limit = s === 'SYN-SENT' ? this.config.synRetries : this.config.synAckRetries;
      if (this.retries > limit) {
        this.stats.TCPAbortOnTimeout++;
        if (s === 'SYN-RECEIVED' && !this.activeOpen) {
          this.toClosed({ kind: 'timer', timer: 'rto' }, now);
        } else {
          this.fail('ETIMEDOUT', s === 'SYN-SENT' ? 'no answer to SYN' : 'handshake timed out', { kind: 'timer', timer: 'rto' }, now);
        }
        return;
      }
      this.synTimedOut = true;
      this.synRetransmits++;
      // Linux ≥ 6.5 tcp_syn_linear_timeouts: the first few SYN retransmissions do not back off.
      if (s !== 'SYN-SENT' || this.retries > this.config.synLinearTimeouts) this.rtt.backOff();
      this.synPending = true;
      this.stats.RetransSegs++;
      this.rtoAt = now + this.rtoTimeout();
      return;
    }
    if (this.sndUna === this.sndNxt) return; // nothing outstanding
    if (this.retries > this.config.maxRetransmits) {
      this.stats.TCPAbortOnTimeout++;
      this.queueCtrl(this.abortRst(now));
      this.fail('ETIMEDOUT', 'retransmission limit reached', { kind: 'timer', timer: 'rto' }, now);
      return;
    }
    // RFC 5681 §3.1 eq. 4: ssthresh from FlightSize (not pipe: everything is about to be deemed lost).
    if (this.retries === 1) this.cc.onRto(seqDiff(this.sndNxt, this.sndUna), this.sndMssCap());
    else this.cc.onRto(2 * this.sndMssCap() * 2, this.sndMssCap()); // repeated RTO: keep ssthresh low
    this.inRecovery = false;
    this.rtoRecovery = true;
    this.forceRtx = true;
    this.dupAcks = 0;
    this.recover = this.sndNxt;
    this.rtt.backOff();
    this.rttSeq = -1; // Karn: no sample from retransmitted data
    // RFC 6675 §5.1 / RFC 2018 §8: after an RTO the SACK scoreboard may be reneged; clear it.
    this.scoreboard.length = 0; this.sackedBytes = 0; this.highSack = this.sndUna;
    this.sndRtx = this.sndUna;
    this.sndRtxEnd = this.sndNxt;
    this.rtoAt = now + this.rtoTimeout();
  }

  // =====================================================================================
  // Output
  // =====================================================================================

  /** The next segment to transmit, or null. Call repeatedly until null after every input/user call/timeout. */
  pollTransmit(now: number): TcpSegment | null {
    this.txSegmentSize = 0;
    if (this.ctrl.length) {
      const seg = this.ctrl.shift()!;
      this.stats.OutSegs++;
      if (seg.flags & RST) this.stats.OutRsts++;
      return seg;
    }
    const s = this.state;
    if (s === 'CLOSED' || s === 'LISTEN') return null;
    if (this.synPending) {
      this.synPending = false;
      if (s === 'SYN-SENT') return this.out(this.makeSyn(now, false), now);
      if (s === 'SYN-RECEIVED') return this.out(this.makeSyn(now, true), now);
    }
    if (s === 'SYN-SENT') return null;
    if (s === 'SYN-RECEIVED') return this.ackNow ? this.out(this.makeAck(now), now) : null;

    // Retransmission (RTO or fast recovery), limited by cwnd via pipe.
    if (this.sndRtx !== -1) {
      const seg = this.nextRetransmission(now);
      if (seg !== null) return seg;
    }
    // New data (and FIN).
    const data = this.nextNewData(now);
    if (data !== null) { this.tlpPending = false; return data; }
    if (this.tlpPending) {
      this.tlpPending = false;
      const probe = this.lossProbe(now);
      if (probe !== null) return probe;
    }
    if (this.probePending) {
      this.probePending = false;
      // Zero-window probe as Linux sends it: an old sequence number and no data elicits an ACK with the window.
      return this.out(this.makeRaw(seqAdd(this.sndUna, -1), this.rcvNxt, ACK, EMPTY, now), now);
    }
    if (this.keepalivePending) {
      this.keepalivePending = false;
      // Keep-alive probe: SEG.SEQ = SND.NXT - 1, no data (RFC 1122 §4.2.3.6).
      return this.out(this.makeRaw(seqAdd(this.sndNxt, -1), this.rcvNxt, ACK, EMPTY, now), now);
    }
    if (this.ackNow) {
      if (this.config.finOnAck && !this.challengePending && this.finSent && seqLe(this.sndUna, this.finSeq)
        && (s === 'FIN-WAIT-1' || s === 'CLOSING' || s === 'LAST-ACK')) {
        // BSD tcp_output: while our FIN is unacknowledged every ACK it sends repeats the FIN (snd_nxt is
        // wound back to it); challenge ACKs (tcp_respond) do not. A valid retransmission per RFC 9293.
        return this.out(this.makeRaw(this.finSeq, this.rcvNxt, ACK | FIN, EMPTY, now), now);
      }
      return this.out(this.makeAck(now), now);
    }
    if (this.windowUpdatePending) {
      this.windowUpdatePending = false;
      if (this.delackAt === Infinity) this.delackAt = now + this.config.delayedAckTimeout;
    }
    return null;
  }

  private windowUpdatePending = false;
  /** When we last answered an out-of-window pure ACK (rate limit, see invalidAckRatelimit). */
  private lastOowAckAt = -Infinity;

  /** Drain all pending segments into an array (convenience for tests and simple callers). */
  drainTransmit(now: number, out: TcpSegment[] = []): TcpSegment[] {
    let seg: TcpSegment | null;
    while ((seg = this.pollTransmit(now)) !== null) out.push(seg);
    return out;
  }

  pollEvent(): TcpEvent | null {
    if (this.evHead >= this.events.length) {
      if (this.evHead > 0) { this.events.length = 0; this.evHead = 0; }
      return null;
    }
    return this.events[this.evHead++]!;
  }

  drainEvents(): TcpEvent[] {
    const out: TcpEvent[] = [];
    let e: TcpEvent | null;
    while ((e = this.pollEvent()) !== null) out.push(e);
    return out;
  }

  private nextRetransmission(now: number): TcpSegment | null {
    let seq = this.sndRtx;
    // Skip SACKed ranges (RFC 6675 §5 NextSeg rule 1: first un-SACKed, lost byte).
    for (;;) {
      const until = this.sackedUntil(seq);
      if (until === -1) break;
      seq = until;
    }
    if (!seqLt(seq, this.sndRtxEnd) || !seqLt(seq, this.sndNxt)) { this.sndRtx = -1; return null; }
    const mss = this.sndMssCap();
    // After an RTO everything outstanding is deemed lost (go-back-N up to sndRtxEnd). In fast recovery only
    // data deemed lost is resent: with SACK, un-SACKed holes below the highest SACKed byte (RFC 6675 NextSeg
    // rules 1 and 3), at least the segment at SND.UNA; without SACK just that segment (RFC 6582 §3.2 steps 2
    // and 5). Data above it may merely be in flight; the (inflated) cwnd clocks out new data instead.
    let repairEnd = this.sndRtxEnd;
    if (!this.rtoRecovery) {
      let lostEnd = seqAdd(this.sndUna, mss);
      if (this.sackOk && seqGt(this.highSack, lostEnd)) lostEnd = this.highSack;
      if (seqLt(lostEnd, repairEnd)) repairEnd = lostEnd;
      // Nothing known lost here yet: keep the position (HighRxt) and wait for more SACK information.
      if (!seqLt(seq, repairEnd)) { this.sndRtx = seq; return null; }
    }
    // The first retransmission of a recovery episode, and NewReno's partial-ACK retransmission, go out
    // regardless of cwnd (RFC 5681 §3.2 step 2, RFC 6582 §3.2 step 5); the rest are clocked by cwnd - pipe.
    if (this.forceRtx) this.forceRtx = false;
    else if (this.pipe() + 1 > this.cc.cwnd) return null;
    // Segment end: up to MSS, the next SACKed range, the end of the run, and the end of data (FIN).
    let limit = seqAdd(seq, this.segmentDataMax());
    if (seqGt(limit, repairEnd)) limit = repairEnd;
    const sb = this.scoreboard;
    for (let i = 0; i < sb.length; i += 2) if (seqGt(sb[i]!, seq) && seqLt(sb[i]!, limit)) { limit = sb[i]!; break; }
    let flags = ACK;
    let dataEnd = limit;
    if (this.finSent && seqGt(limit, this.finSeq)) { dataEnd = this.finSeq; flags |= FIN; }
    const len = seqDiff(dataEnd, seq);
    const payload = len > 0 ? this.snd.slice(this.snd.front + seqDiff(seq, this.sndBufSeq), len) : EMPTY;
    if (len > 0 && dataEnd === this.dataEndSeq()) flags |= PSH;
    this.sndRtx = seqAdd(dataEnd, flags & FIN ? 1 : 0);
    if (!seqLt(this.sndRtx, this.sndRtxEnd)) this.sndRtx = -1;
    this.stats.RetransSegs++;
    if (this.rtoAt === Infinity) this.rtoAt = now + this.rtoTimeout();
    return this.out(this.makeRaw(seq, this.rcvNxt, flags, payload, now), now);
  }

  /** Sequence number just past the last byte of data queued by the user. */
  private dataEndSeq(): number { return seqAdd(this.sndBufSeq, this.snd.length); }

  private nextNewData(now: number): TcpSegment | null {
    if (!this.sendsData()) return null;
    const dataEnd = this.dataEndSeq();
    const unsent = this.finSent ? 0 : seqDiff(dataEnd, this.sndNxt);
    const wantFin = this.finQueued && !this.finSent;
    if (unsent <= 0 && !wantFin) return null;
    const mss = this.segmentDataMax();
    const flight = seqDiff(this.sndNxt, this.sndUna);
    if (unsent > 0 && this.lastSendTime !== 0 && flight === 0 && now - this.lastSendTime > this.rtt.current()) {
      // RFC 5681 §4.1: idle for more than an RTO, so cwnd goes back to the restart window before this
      // transmission is sized (a TSO segment sized by the old cwnd would burst past it).
      this.cc.onIdleRestart(this.sndMss, this.config.initialWindowSegments * this.sndMss);
    }
    // Usable window (RFC 9293 §3.8.6.2.1 / RFC 5681): min(SND.WND right edge, cwnd) minus what is in flight.
    const wndRight = seqAdd(this.sndUna, this.sndWnd);
    const byWnd = seqDiff(wndRight, this.sndNxt);
    const byCwnd = this.cc.cwnd - this.pipe();
    const usable = Math.min(byWnd, byCwnd);
    let len = Math.min(unsent, mss, usable > 0 ? usable : 0);
    // Capped so the datagram keeps a 16-bit length (IPv4 total length: 20-byte header, up to 60 of TCP header).
    const tso = Math.min(this.config.tsoMaxBytes, 65535 - 20 - 60);
    if (tso > mss && len === mss) {
      // TSO: one segment of up to tsoMaxBytes that the link cuts into MSS pieces, each as we would have sent
      // it. Only whole MSS multiples unless it ends the data, so no piece is a runt the rules below would
      // have held back (Linux tcp_mss_split_point).
      const big = Math.min(unsent, Math.floor(tso / mss) * mss, usable);
      len = big === unsent ? big : big - (big % mss);
    }
    if (unsent > 0) {
      if (len <= 0) {
        if (this.sndWnd === 0 || byWnd <= 0) this.maybeStartPersist(now);
        return null;
      }
      if (len < mss && len < unsent) {
        // Sender SWS avoidance (§3.8.6.2.1): don't send a small segment just because the window is small,
        // unless it is at least half the largest window the peer offered, or nothing is in flight.
        if (len < (this.maxSndWnd >>> 1) && flight > 0) return null;
      }
      if (len < mss && len === unsent && this.nagle && flight > 0 && !this.finQueued) {
        // Nagle (§3.7.4): hold a small segment while data is unacknowledged.
        return null;
      }
    } else {
      len = 0;
    }
    let flags = ACK;
    const seq = this.sndNxt;
    const payload = len > 0 ? this.snd.slice(this.snd.front + seqDiff(seq, this.sndBufSeq), len) : EMPTY;
    const end = seqAdd(seq, len);
    if (len > 0 && end === dataEnd) flags |= PSH;
    if (wantFin && end === dataEnd) {
      // The FIN rides on the last data segment, or goes alone once all data is sent (Linux sends it even
      // into a zero window, and so do we: it needs no buffer space at the receiver).
      flags |= FIN;
      this.finSent = true;
      this.finSeq = end;
    }
    if (len === 0 && !(flags & FIN)) return null;
    if (len > mss) {
      this.txSegmentSize = mss;
      this.stats.OutSegs += Math.ceil(len / mss) - 1; // out() counts one; the link sends this many
    }
    this.sndNxt = seqAdd(end, flags & FIN ? 1 : 0);
    if (this.rttSeq === -1 && !this.tsOk && this.sndRtx === -1) { this.rttSeq = seq; this.rttTime = now; }
    if (this.rtoAt === Infinity) this.rtoAt = now + this.rtoTimeout();
    if (flight === 0) this.unackedSince = now;
    const seg = this.out(this.makeRaw(seq, this.rcvNxt, flags, payload, now), now);
    this.schedulePto(now);
    return seg;
  }

  private maybeStartPersist(now: number): void {
    if (this.sndWnd === 0 && this.persistAt === Infinity && this.sndUna === this.sndNxt && this.snd.length > 0 && !this.finSent) {
      this.persistAt = now + this.rtt.current();
    }
  }

  // =====================================================================================
  // Segment construction
  // =====================================================================================

  private makeSyn(now: number, withAck: boolean): TcpSegment {
    const o: TcpOptions = { mss: this.config.mss };
    // Time the SYN for the first RTT sample unless it is a retransmission (Karn).
    if (this.retries === 0) { this.rttSeq = this.iss; this.rttTime = now; } else this.rttSeq = -1;
    if (withAck) {
      if (this.sackOk) o.sackPermitted = true;
      if (this.tsOk) { o.tsVal = this.tsNow(now); o.tsEcr = this.tsRecent; }
      if (this.peerOfferedWs && this.config.windowScaling) o.wscale = this.rcvShift;
    } else {
      if (this.config.sack) o.sackPermitted = true;
      if (this.config.timestamps) { o.tsVal = this.tsNow(now); o.tsEcr = 0; }
      if (this.config.windowScaling) o.wscale = this.rcvShift;
    }
    if (this.config.noOptions) { for (const k of Object.keys(o)) delete o[k as keyof TcpOptions]; }
    // The window in a SYN or SYN+ACK is never scaled (RFC 7323 §2.2).
    const wnd = Math.min(MAX_WINDOW_FIELD, this.currentWindowFree());
    this.rcvWnd = wnd;
    this.rcvAdvRight = seqAdd(this.rcvNxt, wnd);
    this.lastAckSent = this.rcvNxt;
    this.ackNow = false;
    return {
      srcPort: this.localPort, dstPort: this.remotePort, seq: this.iss, ack: withAck ? this.rcvNxt : 0,
      flags: withAck ? SYN | ACK : SYN, window: wnd, urgent: 0, options: o, payload: EMPTY,
    };
  }

  private makeAck(now: number): TcpSegment {
    return this.makeRaw(this.sndNxt, this.rcvNxt, ACK, EMPTY, now);
  }

  /** Build a segment with our current window and options. RSTs carry no options and (unless ACK) no ack. */
  private makeRaw(seq: number, ack: number, flags: number, payload: Uint8Array, now = 0): TcpSegment {
    let options: TcpOptions;
    let window = 0;
    if (flags & RST) {
      options = {};
      ack = flags & ACK ? ack : 0;
    } else {
      options = this.tsOk ? { tsVal: this.tsNow(now), tsEcr: this.tsRecent } : {};
      if (this.sackOk && this.rcv.hasOutOfOrder) {
        const ranges = this.rcv.sackRanges(this.tsOk ? 3 : 4);
        const base = this.rcv.nextAbs;
        for (let i = 0; i < ranges.length; i++) ranges[i] = seqAdd(this.rcvNxt, ranges[i]! - base);
        options.sack = ranges;
      }
      window = this.windowField();
    }
    return { srcPort: this.localPort, dstPort: this.remotePort, seq, ack, flags, window, urgent: 0, options, payload };
  }

  /** Book-keeping for every segment that goes out carrying an ACK. */
  private out(seg: TcpSegment, now: number): TcpSegment {
    this.stats.OutSegs++;
    if (seg.flags & ACK) {
      this.lastAckSent = seg.ack;
      this.ackNow = false;
      this.challengePending = false;
      this.unackedSegs = 0;
      this.delackAt = Infinity;
    }
    if (seg.payload.length > 0 || seg.flags & (SYN | FIN)) this.lastSendTime = now;
    return seg;
  }

  /**
   * The RST that aborts a synchronized connection: <SEQ=SND.NXT><CTL=RST> (RFC 9293 §3.10.5), or with
   * config.abortRstAck also ACK=RCV.NXT, as Linux and FreeBSD send it (tcp_send_active_reset).
   */
  private abortRst(now: number): TcpSegment {
    if (!this.config.abortRstAck) return this.makeRaw(this.sndNxt, 0, RST, EMPTY);
    const rst = this.makeRaw(this.sndNxt, this.rcvNxt, RST | ACK, EMPTY);
    // Linux's active reset goes through tcp_transmit_skb and so carries the timestamp option.
    if (this.tsOk) rst.options = { tsVal: this.tsNow(now), tsEcr: this.tsRecent };
    return rst;
  }

  private queueCtrl(seg: TcpSegment): void {
    this.ctrl.push(seg);
  }

  /** RFC 5961 §7: rate-limited challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. */
  private challengeAck(now: number): void {
    if (now - this.challengeWindowStart >= 1000) { this.challengeWindowStart = now; this.challengeCount = 0; }
    if (this.challengeCount >= this.config.challengeAckLimit) { this.stats.TCPChallengeACKLimited++; return; }
    this.challengeCount++;
    this.stats.TCPChallengeACK++;
    this.ackNow = true;
    this.challengePending = true;
  }

  /** Whether a FIN arriving in ESTABLISHED is ACKed at once (config.ackFinImmediately) or on the delayed-ACK timer. */
  private ackFinNow(): boolean {
    const m = this.config.ackFinImmediately;
    // 'if-no-data': Linux's quick-ACK mode still holds when no data segment has been received yet.
    return m === true || (m === 'if-no-data' && this.quickAcksSent === 0 && this.unackedSegs === 0);
  }

  /** Free receive-buffer space, i.e. the window we could offer from RCV.NXT. */
  private currentWindowFree(): number {
    return Math.max(0, this.config.recvBufferSize - this.rcv.length);
  }

  /** The window to advertise now, as the 16-bit field value; never shrinks the right edge. */
  private windowField(): number {
    let wnd = this.currentWindowFree();
    const advRemaining = seqDiff(this.rcvAdvRight, this.rcvNxt);
    // Receiver SWS avoidance: only move the right edge by a worthwhile amount (RFC 9293 §3.8.6.2.2).
    if (this.config.receiverSws === 'bsd') {
      // BSD (tcp_output): never advertise a window below min(buffer/4, MSS), otherwise offer all free space.
      if (wnd < Math.min(this.config.recvBufferSize >>> 2, this.config.mss)) wnd = 0;
    } else if (wnd - advRemaining < Math.min(this.config.recvBufferSize >>> 1, this.config.mss) && advRemaining >= 0) wnd = advRemaining;
    if (wnd < advRemaining) wnd = advRemaining; // never shrink (RFC 7323 §2.4)
    let field = wnd >>> this.rcvShift;
    if (field > MAX_WINDOW_FIELD) field = MAX_WINDOW_FIELD;
    // The shift truncates: the right edge could move left by up to 2^shift - 1. Round up instead when the
    // buffer has room for it (as Linux's tcp_select_window aligns up); otherwise keep the truncation, which
    // RFC 7323 §2.4 anticipates (a sender must cope with such a shrink) — never over-promise the buffer.
    if (this.rcvShift > 0 && field < MAX_WINDOW_FIELD && (field << this.rcvShift) < advRemaining
      && ((field + 1) << this.rcvShift) <= this.currentWindowFree()) field++;
    const adv = field << this.rcvShift;
    this.rcvWnd = adv;
    const right = seqAdd(this.rcvNxt, adv);
    if (seqGt(right, this.rcvAdvRight)) this.rcvAdvRight = right;
    return field;
  }

  /** The window used for the acceptability test: what we advertised (RFC 9293 §3.10.7.4). */
  private acceptWindow(): number {
    const adv = seqDiff(this.rcvAdvRight, this.rcvNxt);
    return adv > 0 ? adv : 0;
  }

  private acceptable(seq: number, len: number, wnd: number): boolean {
    return segmentAcceptable(this.rcvNxt, wnd, seq, len);
  }

  private processSynOptions(seg: TcpSegment, now: number): void {
    const o = seg.options;
    this.peerMss = o.mss !== undefined ? Math.max(MIN_MSS, o.mss) : 536;
    // TCP_NOOPT: we offered nothing, so nothing is negotiated (RFC 7323 §2.2, §3.2; RFC 2018 §2).
    const wantWs = this.config.windowScaling && !this.config.noOptions;
    this.peerOfferedWs = o.wscale !== undefined;
    if (wantWs && o.wscale !== undefined) {
      // RFC 7323 §2.3: a shift above 14 is treated as 14.
      this.sndShift = Math.min(14, o.wscale);
      if (!this.activeOpen) this.rcvShift = offeredShift(this.config);
    } else {
      this.sndShift = 0;
      this.rcvShift = 0;
    }
    this.sackOk = this.config.sack && !this.config.noOptions && o.sackPermitted === true;
    this.tsOk = this.config.timestamps && !this.config.noOptions && o.tsVal !== undefined;
    if (this.tsOk) { this.tsRecent = o.tsVal!; this.tsRecentAge = now || 1; }
    this.updateSndMss();
    this.initCwnd();
  }

  /**
   * Initial window in the negotiated MSS (RFC 6928 §2: min(10·MSS, max(2·MSS, 14600)), with 10 and 14600
   * scaled by the configured initialWindowSegments), set once the peer's MSS is known.
   */
  private initCwnd(): void {
    const mss = this.sndMss;
    const iw = this.config.initialWindowSegments;
    this.cc.cwnd = Math.min(iw * mss, Math.max(2 * mss, iw * 1460));
  }

  private updateSndMss(): void {
    // RFC 9293 §3.7.1: the effective send MSS excludes TCP options we send on every segment (timestamps: 12 bytes).
    const cap = Math.min(this.peerMss, 65495);
    this.sndMss = Math.max(1, cap - (this.tsOk ? 12 : 0));
  }

  private sndMssCap(): number { return this.sndMss; }

  /**
   * Most data the next segment may carry: the effective MSS less the SACK option it will include (RFC 9293
   * §3.7.1, RFC 6691: the sender reduces the data length by the TCP options it sends; timestamps are already
   * in sndMss). Otherwise a full segment with SACK blocks would exceed the peer's MSS, and the path MTU.
   */
  private segmentDataMax(): number {
    if (!this.sackOk || !this.rcv.hasOutOfOrder) return this.sndMss;
    const blocks = Math.min(this.rcv.oooRangeCount, this.tsOk ? 3 : 4);
    return Math.max(1, this.sndMss - (4 + 8 * blocks)); // NOP, NOP, kind, length + 8 bytes per block
  }

  private tsNow(now: number): number {
    return (Math.floor(now * this.config.tsTicksPerMs) + this.tsOffset) >>> 0;
  }

  /** States in which our data or FIN goes out or may be outstanding: ESTABLISHED, CLOSE-WAIT, until our FIN is acknowledged. */
  private sendsData(): boolean {
    const s = this.state;
    return s === 'ESTABLISHED' || s === 'CLOSE-WAIT' || s === 'FIN-WAIT-1' || s === 'CLOSING' || s === 'LAST-ACK';
  }

  private isSynchronized(): boolean {
    const s = this.state;
    return s !== 'CLOSED' && s !== 'LISTEN' && s !== 'SYN-SENT' && s !== 'SYN-RECEIVED';
  }

  private armRto(now: number): void {
    this.rtoAt = now + this.rtoTimeout();
  }

  /** The RTO to arm: RFC 6298 plus the configured slop once backed off or measured (FreeBSD rexmit_slop). */
  private rtoTimeout(): number {
    const t = this.rtt.current();
    if (this.config.rtoSlop === 0 || (this.rtt.backoff === 0 && !this.rtt.hasSample)) return t;
    return Math.min(this.config.rtoMax, t + this.config.rtoSlop);
  }

  private enterTimeWait(cause: TcpCause, now: number): void {
    this.rtoAt = Infinity; this.tlpAt = Infinity; this.persistAt = Infinity; this.keepaliveAt = Infinity; this.finWait2At = Infinity;
    this.timeWaitAt = now + 2 * this.config.msl;
    this.setState('TIME-WAIT', cause, now);
  }

  private fail(code: TcpErrorCode, message: string, cause: TcpCause, now: number): void {
    this.error = new TcpError(code, message);
    this.emit({ type: 'error', code, message, time: now });
    this.toClosed(cause, now);
  }

  private toClosed(cause: TcpCause, now: number): void {
    this.rtoAt = this.tlpAt = this.delackAt = this.persistAt = this.keepaliveAt = this.timeWaitAt = this.finWait2At = this.keepInitAt = Infinity;
    this.synPending = false; this.ackNow = false; this.probePending = false; this.keepalivePending = false;
    const wasUsed = this.state !== 'CLOSED';
    if (this.error !== null) this.rcv.clear();
    this.setState('CLOSED', cause, now);
    if (wasUsed) this.emit({ type: 'closed', time: now });
  }

  private setState(to: TcpStateName, cause: TcpCause, now: number): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    if (to === 'ESTABLISHED' && this.keepAlive) this.keepaliveAt = now + this.keepAliveIdle;
    if (to === 'ESTABLISHED') this.keepInitAt = Infinity; // established: the keepinit deadline no longer applies
    if (to === 'CLOSED') {
      // RFC 1213 (the MIB behind /proc/net/snmp): tcpEstabResets counts direct ESTABLISHED/CLOSE-WAIT → CLOSED
      // transitions (any cause: RST in or out, timeout), tcpAttemptFails SYN-SENT/SYN-RECEIVED → CLOSED.
      if (from === 'ESTABLISHED' || from === 'CLOSE-WAIT') this.stats.EstabResets++;
      else if (from === 'SYN-SENT' || from === 'SYN-RECEIVED') this.stats.AttemptFails++;
    }
    if (to === 'ESTABLISHED' && this.synRetransmits > (this.config.synLossWindow === 'linux' ? 1 : 0)) {
      // RFC 5681 §3.1: the SYN or SYN+ACK was lost, so the initial window is one segment.
      this.cc.cwnd = Math.min(this.cc.cwnd, this.sndMss);
    }
    if (to === 'ESTABLISHED' && this.synTimedOut && !this.rtt.hasSample && this.rtt.rto < 3000) {
      // RFC 6298 §5.7: the timer expired awaiting the ACK of a SYN and no RTT sample came from the handshake
      // (Karn), so data transmission starts with RTO = 3 s rather than the more aggressive initial 1 s (as
      // Linux's tcp_init_metrics does). With timestamps the SYN+ACK's TSecr gives a sample and this is moot.
      this.rtt.rto = Math.min(this.config.rtoMax, 3000);
      this.rtt.backoff = 0;
    }
    this.emit({ type: 'state', from, to, cause, time: now });
  }

  private emit(e: TcpEvent): void {
    this.events.push(e);
  }

  private drop(reason: DropReason, detail: string, seg: TcpSegment, now: number): void {
    this.emit({ type: 'drop', reason, detail, seg, time: now });
  }

  /** Would this segment's data trigger the orphan RST (so its FIN is never processed)? */
  private orphanedDataPending(seg: TcpSegment): boolean { return this.orphaned && seg.payload.length > 0; }

  /** For the stack's TIME-WAIT table: the few values a compact TIME-WAIT entry needs. */
  timeWaitSnapshot(): { sndNxt: number; rcvNxt: number; tsOk: boolean; tsRecent: number; tsOffset: number; window: number; expiresAt: number } {
    return { sndNxt: this.sndNxt, rcvNxt: this.rcvNxt, tsOk: this.tsOk, tsRecent: this.tsRecent, tsOffset: this.tsOffset, window: this.windowField(), expiresAt: this.timeWaitAt };
  }
}

/**
 * The RST to send in reply to a segment for which no connection exists (RFC 9293 §3.10.7.1):
 * if ACK is set <SEQ=SEG.ACK><CTL=RST>, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
 * Never call it for a segment that itself has RST.
 */
export function rstFor(seg: TcpSegment): TcpSegment {
  if (seg.flags & ACK) {
    return { srcPort: seg.dstPort, dstPort: seg.srcPort, seq: seg.ack, ack: 0, flags: RST, window: 0, urgent: 0, options: {}, payload: EMPTY };
  }
  const len = seg.payload.length + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0);
  return { srcPort: seg.dstPort, dstPort: seg.srcPort, seq: 0, ack: seqAdd(seg.seq, len), flags: RST | ACK, window: 0, urgent: 0, options: {}, payload: EMPTY };
}

/**
 * The sequence-number acceptability test of RFC 9293 §3.10.7.4 (first check) for a segment of SEG.LEN `len`
 * at SEG.SEQ `seq`, against RCV.NXT and RCV.WND. Shared by the engine and the stack's TIME-WAIT table.
 */
export function segmentAcceptable(rcvNxt: number, wnd: number, seq: number, len: number): boolean {
  const nxt = rcvNxt;
  if (len === 0) {
    if (wnd === 0) return seq === nxt;
    return seqLe(nxt, seq) && seqLt(seq, seqAdd(nxt, wnd));
  }
  if (wnd === 0) return false;
  const last = seqAdd(seq, len - 1);
  const right = seqAdd(nxt, wnd);
  // RFC 9293's two tests (first or last octet in the window) miss a segment that starts before RCV.NXT and
  // ends past the right edge, i.e. covers the whole window — e.g. a retransmission of more than the peer
  // could take. It carries acceptable data, and BSD's trimming accepts it; so do we (it is trimmed later).
  return (seqLe(nxt, seq) && seqLt(seq, right)) || (seqLe(nxt, last) && seqLt(last, right))
    || (seqLt(seq, nxt) && seqGe(last, right));
}
