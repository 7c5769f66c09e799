/**
 * One TCP connection's state machine per RFC 9293 §3.10, sans-IO.
 *
 * Inputs:  input(segment, now), user calls (connect, listen, send, read, shutdown, close, abort) with now,
 *          onTimeout(now) when nextDeadline() has passed.
 * Outputs: pollTransmit(now) yields segments to send (data is generated lazily, so ACKs piggyback);
 *          pollEvent() yields state changes and notifications; nextDeadline() is the next timer.
 * There are no timers, clocks or I/O in here: time is whatever `now` (milliseconds) the caller passes.
 *
 * This file is the facade and the TCB: the fields (RFC 9293 §3.3), the user calls (§3.10.1–3.10.6), state
 * changes and events. The work is done by free functions taking the connection, one module per concern
 * (see README.md in this folder): arrive/ (SEGMENT ARRIVES per state, §3.10.7), send.ts, recovery/, cc/,
 * timers.ts, options.ts, receive-window.ts. Fields and methods those modules need carry JSDoc's internal
 * tag: they are not part of the public API (stripped from the published .d.ts).
 */
import { FIN, seqAdd, seqDiff, type TcpSegment } from '../wire/tcp-types.js';
import type { TcpStateName } from '../wire/trace.js';
import { inputClosed } from './arrive/closed.js';
import { icmpError, pathMtuReduced } from './icmp.js';
import { ecnOnInput } from './ecn.js';
import { inputListen } from './arrive/listen.js';
import { inputSynSent } from './arrive/syn-sent.js';
import { inputSynchronized } from './arrive/synchronized.js';
import { ReceiveBuffer, SendBuffer } from './buffers.js';
import type { CongestionControl } from './cc/congestion.js';
import { congestionFactory, connectionConfig, offeredShift, type TcpConfig } from './config.js';
import { classifyInvalidFlags } from './flags.js';
import { MAX_WINDOW_FIELD, initCwnd, updateSndMss } from './options.js';
import { currentWindowFree, windowField } from './receive-window.js';
import { Prr } from './recovery/prr.js';
import { Rack } from './recovery/rack.js';
import { RttEstimator } from './rtt.js';
import { abortRst, maybeStartPersist, pollTransmit as pollTransmitOf } from './send.js';
import { TcpStats } from './stats.js';
import { armRto, nextDeadline as nextDeadlineOf, onTimeout as onTimeoutOf } from './timers.js';

// Pure segment helpers live in segment.ts; they are exported from here as before (the stack imports them).
export { rstFor, segmentAcceptable } from './segment.js';

/** The engine's timers (RFC 9293 §3.8: retransmission, delayed ACK, zero-window probe, keep-alive, 2MSL, FIN-WAIT-2 timeout). */
export type TcpTimer = 'rto' | 'delayed-ack' | 'persist' | 'keepalive' | 'time-wait' | 'fin-wait-2';
/** The user calls that change a connection's state (RFC 9293 §3.10); 'cookie' is a connection created from a SYN cookie's ACK. */
export type TcpUserCall = 'connect' | 'listen' | 'shutdown' | 'close' | 'abort' | 'cookie';

/** What caused a state change: the segment that arrived, the user call, or the timer (RFC 9293 §3.10 event kinds). */
export type TcpCause =
  | { kind: 'segment'; seg: TcpSegment }
  | { kind: 'user'; call: TcpUserCall }
  | { kind: 'timer'; timer: TcpTimer };

/**
 * Why a connection failed or a user call was refused, as errno names: ECONNREFUSED (RST to our SYN),
 * ECONNRESET (RST later), ETIMEDOUT (retransmissions or keep-alive probes unanswered), EPIPE (send after
 * close), ENOTCONN / EISCONN (user call in the wrong state), ECONNABORTED (aborted locally), and the ICMP ones.
 */
export type TcpErrorCode = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT' | 'EPIPE' | 'ENOTCONN' | 'EISCONN' | 'ECONNABORTED'
  // From ICMP errors (Linux icmp_err_convert / icmpv6_err_convert; see icmp.ts):
  | 'ENETUNREACH' | 'EHOSTUNREACH' | 'ENOPROTOOPT' | 'EMSGSIZE' | 'EOPNOTSUPP' | 'EHOSTDOWN' | 'ENONET' | 'EACCES' | 'EPROTO';

/** Thrown by a user call made in a state that does not allow it (RFC 9293 §3.10), e.g. send() after close(): EPIPE. */
export class TcpError extends Error {
  readonly code: TcpErrorCode;
  constructor(code: TcpErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'TcpError';
    this.code = code;
  }
}

/** Why the engine dropped a segment (or answered it with an ACK instead of processing it): RFC 9293 §3.10.7 checks, RFC 7323 PAWS, RFC 5961. */
export type DropReason =
  | 'invalid-flags' | 'out-of-window' | 'paws' | 'no-ack' | 'bad-ack' | 'ack-in-listen'
  | 'rst-not-exact' | 'rst-out-of-window' | 'rst-in-time-wait' | 'syn-in-synchronized-state'
  | 'data-after-close' | 'closed' | 'unexpected';

/**
 * What the engine reports through pollEvent(): state changes with their cause, the handshake completing,
 * the peer's FIN, an error (the connection failed), the TCB going away, and dropped segments. Times in ms.
 */
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

/** Options of `new TcpConnection()`: the ports, our ISS and the configuration. */
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

/**
 * One TCP connection as a sans-IO state machine (RFC 9293): no clock, timers or I/O. Make user calls
 * (connect/listen, send, read, shutdown, close, abort), give it arriving segments with input(seg, now), then
 * take what it wants sent with pollTransmit(now) until null, read events with pollEvent(), and call
 * onTimeout(now) at nextDeadline(). All times are ms on any monotonic clock the caller chooses. User calls in
 * the wrong state throw a TcpError.
 */
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
  /** @internal Right edge we last advertised (RCV.NXT + RCV.WND then): never moved left (RFC 9293 §3.8.6.2.2). */
  rcvAdvRight = 0;

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
  /** @internal */
  tsRecentAge = 0;
  /** @internal */
  lastAckSent = 0;
  /** @internal */
  readonly tsOffset: number;
  /** @internal */
  peerMss = 536;
  /** @internal */
  peerOfferedWs = false;

  // --- buffers ---
  /** @internal */
  readonly snd = new SendBuffer();
  /** @internal */
  readonly rcv = new ReceiveBuffer();
  /** @internal Sequence number of the first byte in the send buffer (ISS+1 at start). */
  sndBufSeq = 0;

  // --- close bookkeeping ---
  /** @internal The user has called shutdown/close: a FIN follows the queued data. */
  finQueued = false;
  /** @internal */
  finSent = false;
  /** @internal */
  finSeq = 0;
  /** The user has fully closed (no more reads): data arriving now is answered with RST. */
  orphaned = false;
  /** The peer's FIN has been received in order. */
  peerFinReceived = false;
  /** @internal Sequence number of an out-of-order FIN we hold. */
  rcvFinSeq = -1;
  // --- TCP Fast Open (RFC 7413, fast-open.ts) ---
  /** Client: the cookie our SYN presents (empty: a cookie request); null: no TFO. Set before connect(). */
  tfoCookie: Uint8Array | null = null;
  /** Use the experimental option (kind 254, ExID 0xF989) instead of kind 34. */
  tfoExp = false;
  /** @internal Client: bytes of data our first SYN carried. */
  tfoSynData = 0;
  /** Client: the cookie the server's SYN,ACK gave us (to cache for the next connection), or null. */
  tfoPeerCookie: Uint8Array | null = null;
  /** Server: the cookie our SYN,ACK carries (the client asked, or its cookie was invalid), or null. */
  tfoServerCookie: Uint8Array | null = null;
  /** Server: the SYN's cookie was valid: accept its data at once (§4.2.2). */
  tfoAcceptData = false;
  /** @internal Text/FIN that came on a SYN in SYN-SENT, held until ESTABLISHED (RFC 9293 §3.10.7.3). */
  synText: TcpSegment | null = null;
  /**
   * How long an orphaned connection may stay in FIN-WAIT-2, in ms (config.finWait2Timeout; Linux TCP_LINGER2
   * per socket). 0: an orphan reaching FIN-WAIT-2 is closed at once.
   */
  finWait2Timeout: number;
  /** Error the connection ended with, if any. */
  error: TcpError | null = null;
  /** The last ICMP error for this connection, reported instead of ETIMEDOUT if it times out (Linux sk_err_soft). */
  softError: TcpErrorCode | null = null;
  /** @internal Send MSS the path allows (ICMP fragmentation needed / packet too big); Infinity until one arrives. */
  pmtuMss = Infinity;
  /** ECN negotiated (RFC 3168 §6.1.1; ecn.ts). */
  ecnOk = false;
  /** @internal Receiver: a CE mark arrived and no CWR since: our ACKs carry ECE. */
  ecnEcho = false;
  /** @internal Sender: the next new data segment carries CWR. */
  ecnCwrPending = false;
  /** @internal Sender: no further ECE reduction until SND.UNA reaches this (once per window). */
  ecnRecover = 0;
  /** @internal Sender: end of the highest data sent ECN-capable (retransmissions below it are not ECT). */
  ecnSndHigh = 0;
  /** Congestion-window reductions made for ECE (RFC 3168 §6.1.2). */
  ecnReductions = 0;
  /** For the segment pollTransmit() just returned: send it ECN-capable, ECT(0) (RFC 3168 §6.1.2). */
  txEct = false;

  // --- retransmission and congestion ---
  /** @internal */
  readonly rtt: RttEstimator;
  /** @internal */
  readonly cc: CongestionControl;
  /** @internal Next sequence to retransmit (valid while retransmitting); -1 when none. */
  sndRtx = -1;
  /** @internal End of the retransmission run: SND.NXT when loss was detected. */
  sndRtxEnd = 0;
  /** @internal The retransmission run was started by an RTO (go-back-N): everything outstanding is deemed lost. */
  rtoRecovery = false;
  /** @internal Send the next retransmission even if cwnd is full. */
  forceRtx = false;
  /** @internal */
  inRecovery = false;
  /** @internal RFC 6582 "recover": SND.NXT when fast recovery began. */
  recover = 0;
  /** @internal */
  dupAcks = 0;
  /** @internal Consecutive RTO expirations without progress. */
  retries = 0;
  /** @internal The retransmission timer expired during the handshake (RFC 6298 §5.7). */
  synTimedOut = false;
  /** @internal Our SYN or SYN+ACK retransmissions (for the initial window, RFC 5681 §3.1). */
  synRetransmits = 0;
  /** @internal RTT timing for Karn's algorithm when timestamps are off. */
  rttSeq = -1;
  /** @internal */
  rttTime = 0;
  /** @internal SACK scoreboard: flat [left, right) seq pairs the peer reported, sorted, merged (RFC 2018, RFC 6675). */
  scoreboard: number[] = [];
  /** @internal */
  sackedBytes = 0;
  /** @internal */
  highSack = 0;
  /** @internal */
  lastSendTime = 0;
  /** @internal Sent segments and RACK state (RFC 8985, recovery/rack.ts). */
  readonly rack = new Rack();
  /** @internal Proportional Rate Reduction state (RFC 6937, recovery/prr.ts). */
  readonly prr = new Prr();
  /** @internal End of the last segment sent with less than an MSS of data (Linux snd_sml, for Nagle's Minshall variant). */
  sndSml = 0;

  // --- timers: absolute times in ms, Infinity when not armed ---
  /** @internal */
  rtoAt = Infinity;
  /** @internal Tail loss probe (RFC 8985 §7): when the probe timeout fires, whether one is due, whether one is out. */
  tlpAt = Infinity;
  /** @internal */
  tlpPending = false;
  /** @internal */
  tlpOutstanding = false;
  /** @internal Since when data (or a FIN) has been waiting for an acknowledgment without progress (user timeout). */
  unackedSince = -1;
  /** RFC 9293 §3.10.8 user timeout in ms, 0 = off (TcpConfig.userTimeout; TCP_USER_TIMEOUT). */
  userTimeout: number;
  /** @internal Pacing (send.ts): the earliest time the next new data may go, and the timer set while data waits for it. */
  nextSendAt = 0;
  /** @internal */
  paceAt = Infinity;
  /** @internal */
  delackAt = Infinity;
  /** @internal */
  persistAt = Infinity;
  /** @internal */
  keepaliveAt = Infinity;
  /** @internal */
  timeWaitAt = Infinity;
  /** @internal */
  finWait2At = Infinity;
  /** @internal */
  persistBackoff = 0;
  /** @internal */
  keepaliveProbes = 0;

  /** Nagle on/off for this connection (Node's setNoDelay). */
  nagle: boolean;
  /** Keep-alive for this connection (Node's setKeepAlive). */
  keepAlive: boolean;
  keepAliveIdle: number;

  // --- pending output ---
  /** @internal */
  ackNow = false;
  /** @internal Full-sized segments received since our last ACK (RFC 5681 §4.2: ACK at least every second one). */
  unackedSegs = 0;
  /** @internal */
  synPending = false;
  /** @internal */
  probePending = false;
  /** @internal */
  keepalivePending = false;
  /** @internal */
  ctrl: TcpSegment[] = [];
  /** @internal */
  challengeWindowStart = 0;
  /** @internal */
  challengeCount = 0;
  /** @internal When the last challenge ACK was sent (config.challengeAckIntervalMs). */
  lastChallengeAt = -Infinity;
  /** @internal The pending immediate ACK is an RFC 5961 challenge ACK (config.finOnAck leaves those plain). */
  challengePending = false;
  /** @internal In-order data segments ACKed at once under config.quickAckSegments. */
  quickAcksSent = 0;
  /** @internal When in-order data last arrived (-1: never), for quick-ACK after idle (Linux icsk_ack.lrcvtime). */
  lastDataRecvAt = -1;
  /** @internal Interactive exchange: data sent within the delayed-ACK time of data received (Linux pingpong mode). */
  pingpong = false;
  /** @internal Connection-establishment deadline (config.keepInit, FreeBSD TCP_KEEPINIT). */
  keepInitAt = Infinity;

  /** @internal */
  windowUpdatePending = false;
  /** @internal When we last answered an out-of-window pure ACK (rate limit, see invalidAckRatelimit). */
  lastOowAckAt = -Infinity;

  /** @internal */
  events: TcpEvent[] = [];
  /** @internal */
  evHead = 0;

  constructor(opts: TcpConnectionOptions) {
    this.localPort = opts.localPort;
    this.remotePort = opts.remotePort;
    this.config = connectionConfig(opts.config);
    this.userTimeout = this.config.userTimeout;
    this.finWait2Timeout = this.config.finWait2Timeout;
    this.stats = opts.stats ?? new TcpStats();
    this.iss = opts.iss >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndBufSeq = seqAdd(this.iss, 1);
    this.sndSml = this.iss;
    this.tsOffset = (opts.tsOffset ?? 0) >>> 0;
    this.rtt = new RttEstimator(this.config.rtoInitial, this.config.rtoMin, this.config.rtoMax);
    this.cc = congestionFactory(this.config)(this.config.initialWindowSegments * 1460);
    this.nagle = this.config.nagle;
    this.keepAlive = this.config.keepAlive;
    this.keepAliveIdle = this.config.keepAliveIdle;
    this.recover = this.iss;
  }

  /** TCP_NODELAY: turn Nagle's algorithm off (true) or on. */
  setNoDelay(noDelay: boolean): void { this.nagle = !noDelay; }

  /** TCP_USER_TIMEOUT (RFC 5482): abort when data stays unacknowledged this many ms; 0 turns it off. */
  setUserTimeout(ms: number): void { this.userTimeout = Math.max(0, ms); }

  /**
   * TCP_LINGER2 (Linux): the FIN-WAIT-2 timeout of this connection once orphaned, in ms; after it the TCB is
   * deleted and whatever arrives next finds no connection (RFC 9293 §3.10.7.1: RST). Negative: none at all.
   */
  setFinWait2Timeout(ms: number, now: number): void {
    this.finWait2Timeout = Math.max(0, ms);
    if (this.state === 'FIN-WAIT-2' && this.orphaned) this.finWait2At = this.finWait2Deadline(now);
  }

  /** @internal When an orphan entering FIN-WAIT-2 now is deleted (finWait2Timeout, config.finWait2RtoFloor). */
  finWait2Deadline(now: number): number {
    const t = this.finWait2Timeout;
    return now + (t > 0 && this.config.finWait2RtoFloor ? Math.max(t, 3.5 * this.rtt.current()) : t);
  }

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
    armRto(this, now);
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
    updateSndMss(c);
    initCwnd(c);
    // Our cookie SYN+ACK advertised an unscaled window of up to 65535 bytes.
    c.rcvAdvRight = seqAdd(c.rcvNxt, Math.min(MAX_WINDOW_FIELD, currentWindowFree(c)));
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
    if (this.state === 'ESTABLISHED' || this.state === 'CLOSE-WAIT') maybeStartPersist(this, now);
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
      const grow = currentWindowFree(this) - Math.max(0, advRemaining);
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
    if (this.state === 'FIN-WAIT-2') this.finWait2At = this.finWait2Deadline(now);
  }

  /** ABORT (§3.10.5): send RST if synchronized, flush queues, go to CLOSED. */
  abort(now: number): void {
    if (this.state === 'CLOSED') return;
    this.abortWith(now, 'abort');
  }

  /** @internal */
  abortWith(now: number, call: TcpUserCall): void {
    const s = this.state;
    if (s === 'SYN-RECEIVED' || s === 'ESTABLISHED' || s === 'FIN-WAIT-1' || s === 'FIN-WAIT-2' || s === 'CLOSE-WAIT') {
      this.queueCtrl(abortRst(this, now));
    }
    this.toClosed({ kind: 'user', call }, now);
  }

  // =====================================================================================
  // SEGMENT ARRIVES (RFC 9293 §3.10.7)
  // =====================================================================================

  /** A segment for this connection arrived: the per-state processing of §3.10.7 is in arrive/ (one file per case). */
  /** `ce`: the segment's IP header carried Congestion Experienced (RFC 3168 §5); the stack says so. */
  input(seg: TcpSegment, now: number, ce = false): void {
    this.stats.InSegs++;
    const bad = classifyInvalidFlags(seg.flags);
    // BSD (config.seqCheck 'bsd'): a segment without ACK still goes through the sequence check, so an
    // out-of-window one is ACKed (tcp_input.c dropafterack) before "drop it if it has no ACK".
    const bsdNoAck = (bad === 'fin-no-ack' || bad === 'null') && this.config.seqCheck === 'bsd' && this.isSynchronized() && this.state !== 'TIME-WAIT';
    // BSD: TIME-WAIT is handled (tcp_twcheck) before drop_synfin is looked at: a SYN+FIN there is a SYN.
    if (bad === 'syn-fin' && this.config.seqCheck === 'bsd' && this.state === 'TIME-WAIT') seg = { ...seg, flags: seg.flags & ~FIN };
    else if (bad !== null && !bsdNoAck) {
      this.stats.invalidFlags[bad]++;
      this.drop('invalid-flags', bad, seg, now);
      return;
    }
    if (this.config.ecn !== 'off') ecnOnInput(this, seg, ce);
    switch (this.state) {
      case 'CLOSED': return inputClosed(this, seg, now);
      case 'LISTEN': return inputListen(this, seg, now);
      case 'SYN-SENT': return inputSynSent(this, seg, now);
      default: return inputSynchronized(this, seg, now);
    }
  }

  // =====================================================================================
  // Timers
  // =====================================================================================

  /** The earliest time at which onTimeout() must be called (Infinity if none). */
  nextDeadline(): number { return nextDeadlineOf(this); }

  /** Run the timers that are due at `now` (see timers.ts). */
  onTimeout(now: number): void { onTimeoutOf(this, now); }

  // =====================================================================================
  // Output
  // =====================================================================================

  /** The next segment to transmit, or null. Call repeatedly until null after every input/user call/timeout. */
  pollTransmit(now: number): TcpSegment | null { return pollTransmitOf(this, now); }

  /** Drain all pending segments into an array (convenience for tests and simple callers). */
  drainTransmit(now: number, out: TcpSegment[] = []): TcpSegment[] {
    let seg: TcpSegment | null;
    while ((seg = this.pollTransmit(now)) !== null) out.push(seg);
    return out;
  }

  /** The next event (state change, established, eof, error, closed, drop), or null when none is pending. */
  pollEvent(): TcpEvent | null {
    if (this.evHead >= this.events.length) {
      if (this.evHead > 0) { this.events.length = 0; this.evHead = 0; }
      return null;
    }
    return this.events[this.evHead++]!;
  }

  /** Every pending event, in order (pollEvent until null). */
  drainEvents(): TcpEvent[] {
    const out: TcpEvent[] = [];
    let e: TcpEvent | null;
    while ((e = this.pollEvent()) !== null) out.push(e);
    return out;
  }

  // =====================================================================================
  // State changes and events (used by the modules: arrive/, send.ts, timers.ts ...)
  // =====================================================================================

  /** @internal Queue a control segment (RST, or a reply to a segment) ahead of everything else. */
  queueCtrl(seg: TcpSegment): void {
    this.ctrl.push(seg);
  }

  /** @internal States in which our data or FIN goes out or may be outstanding: ESTABLISHED, CLOSE-WAIT, until our FIN is acknowledged. */
  sendsData(): boolean {
    const s = this.state;
    return s === 'ESTABLISHED' || s === 'CLOSE-WAIT' || s === 'FIN-WAIT-1' || s === 'CLOSING' || s === 'LAST-ACK';
  }

  /** @internal */
  isSynchronized(): boolean {
    const s = this.state;
    return s !== 'CLOSED' && s !== 'LISTEN' && s !== 'SYN-SENT' && s !== 'SYN-RECEIVED';
  }

  /** @internal */
  enterTimeWait(cause: TcpCause, now: number): void {
    this.rtoAt = Infinity; this.tlpAt = Infinity; this.persistAt = Infinity; this.keepaliveAt = Infinity; this.finWait2At = Infinity;
    this.paceAt = Infinity;
    this.rack.timerAt = Infinity;
    this.timeWaitAt = now + 2 * this.config.msl;
    this.setState('TIME-WAIT', cause, now);
  }

  /** @internal */
  fail(code: TcpErrorCode, message: string, cause: TcpCause, now: number): void {
    this.error = new TcpError(code, message);
    this.emit({ type: 'error', code, message, time: now });
    this.toClosed(cause, now);
  }

  /** @internal */
  toClosed(cause: TcpCause, now: number): void {
    this.rtoAt = this.tlpAt = this.delackAt = this.persistAt = this.keepaliveAt = this.timeWaitAt = this.finWait2At = this.keepInitAt = this.paceAt = Infinity;
    this.rack.timerAt = Infinity;
    this.synPending = false; this.ackNow = false; this.probePending = false; this.keepalivePending = false;
    const wasUsed = this.state !== 'CLOSED';
    if (this.error !== null) this.rcv.clear();
    this.setState('CLOSED', cause, now);
    if (wasUsed) this.emit({ type: 'closed', time: now });
  }

  /** @internal */
  setState(to: TcpStateName, cause: TcpCause, now: number): void {
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

  /** @internal */
  emit(e: TcpEvent): void {
    this.events.push(e);
  }

  /** @internal */
  drop(reason: DropReason, detail: string, seg: TcpSegment, now: number): void {
    this.emit({ type: 'drop', reason, detail, seg, time: now });
  }

  /**
   * ICMP said the path carries at most `mss` bytes of TCP payload (plus headers) to the peer (RFC 1191, RFC 8201):
   * lower the send MSS and (unless `resend` is false) resend what is in flight in the new size (icmp.ts).
   */
  pathMtuReduced(mss: number, now: number, resend = true): void { pathMtuReduced(this, mss, now, resend); }

  /** An ICMP error for this connection (the stack checked it belongs here, RFC 5927): icmp.ts. */
  icmpError(code: TcpErrorCode, now: number): void { icmpError(this, code, now); }

  /** For the stack's TIME-WAIT table: the few values a compact TIME-WAIT entry needs. */
  timeWaitSnapshot(): { sndNxt: number; rcvNxt: number; tsOk: boolean; tsRecent: number; tsOffset: number; window: number; expiresAt: number } {
    return { sndNxt: this.sndNxt, rcvNxt: this.rcvNxt, tsOk: this.tsOk, tsRecent: this.tsRecent, tsOffset: this.tsOffset, window: windowField(this), expiresAt: this.timeWaitAt };
  }
}
