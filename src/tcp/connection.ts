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
import { connectionConfig, inheritConfig, newCongestionControl, offeredShift, type TcpConfig } from './config.js';
import { classifyInvalidFlags } from './flags.js';
import { MAX_WINDOW_FIELD, initCwnd, updateSndMss } from './options.js';
import { currentWindowFree, recvWindowLimit, windowField, type RecvAutotune } from './receive-window.js';
import { Prr } from './recovery/prr.js';
import { Rack, adoptInline } from './recovery/rack.js';
import { RttEstimator } from './rtt.js';
import { kept } from './layouts.js';
import { abortRst, maybeStartPersist, pollTransmit as pollTransmitOf } from './send.js';
import { TcpStats } from './stats.js';
import { armRto, onTimeout as onTimeoutOf } from './timers.js';

/** The shared empty list of a connection with no control segment pending. Frozen: a missed allocation throws. */
const NO_SEGMENTS: TcpSegment[] = Object.freeze([]) as unknown as TcpSegment[];

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

// The TCB's booleans, one bit each of TcpConnection.bits (a small integer: 29 fields would take 232 bytes).
const B_ACTIVE_OPEN = 1;
const B_SACK_OK = 2;
const B_TS_OK = 4;
const B_PEER_OFFERED_WS = 8;
const B_FIN_QUEUED = 16;
const B_FIN_SENT = 32;
const B_ORPHANED = 64;
const B_PEER_FIN_RECEIVED = 128;
const B_TFO_EXP = 256;
const B_TFO_ACCEPT_DATA = 512;
const B_ECN_OK = 1024;
const B_ECN_ECHO = 2048;
const B_ECN_CWR_PENDING = 4096;
const B_TX_ECT = 8192;
const B_RTO_RECOVERY = 16384;
const B_FORCE_RTX = 32768;
const B_IN_RECOVERY = 65536;
const B_SYN_TIMED_OUT = 131072;
const B_TLP_PENDING = 262144;
const B_TLP_OUTSTANDING = 524288;
const B_NAGLE = 1048576;
const B_KEEP_ALIVE = 2097152;
const B_ACK_NOW = 4194304;
const B_SYN_PENDING = 8388608;
const B_PROBE_PENDING = 16777216;
const B_KEEPALIVE_PENDING = 33554432;
const B_CHALLENGE_PENDING = 67108864;
const B_PINGPONG = 134217728;
const B_WINDOW_UPDATE_PENDING = 268435456;
// The FIN went alone right after the data segment kept inline, at the same clock reading (recovery/rack.ts logSent):
// the inline range [SND.UNA, SND.NXT) is two segments, split at the FIN's sequence number.
const B_INLINE_FIN_APART = 536870912;
// Slots of TcpConnection.times: the times and deadlines an active connection keeps touching, as unboxed doubles.
const T_TS_RECENT_AGE = 0;
const T_LAST_SEND_TIME = 1;
const T_RTO_AT = 2;
const T_DELACK_AT = 3;
const T_KEEPALIVE_AT = 4;
const T_TLP_AT = 5;
const T_UNACKED_SINCE = 6;
const T_LAST_DATA_RECV_AT = 7;
const T_NEXT_SEND_AT = 8;
const T_RTT_SEQ = 9;
// Our SYN's send time while it is timed (T_RTT_SEQ not -1: only the handshake is timed so, makeSyn). Once that is
// over the slot is free, and holds the send time of a FIN kept inline after the one data segment in flight
// (recovery/rack.ts logSent keeps a FIN inline only then): the FIN sent at a later clock reading than the data (a
// server's response, then its close a turn later) needs a time of its own, and a 19th slot would cost every
// connection 8 bytes.
const T_RTT_TIME = 10;
// An RTT sample taken before the congestion controller or the RACK record exists (the handshake's), for them to
// take when they are created: cc's onRttSample arguments (T_CC_RTT -1: none), RACK's min_RTT (Infinity: none).
const T_CC_RTT = 11;
const T_CC_NOW = 12;
const T_CC_ACK = 13;
const T_CC_NXT = 14;
const T_RACK_MIN_RTT = 15;
// The 2MSL deadline: here, not in ColdTcb, because the end that closes first writes it at every normal close.
const T_TIME_WAIT_AT = 16;
// The one data segment in flight while there is no RACK record (recovery/rack.ts logSent): when it was sent, -1 for
// none. A request/response connection has one segment in flight at a time and so never needs the record.
const T_INLINE_SENT_AT = 17;

// The causes of state changes made by user calls are always the same: one shared, frozen object each rather than
// a new one per change (a lifecycle makes three or four: connect or listen, shutdown).
const CAUSE_CONNECT: TcpCause = Object.freeze({ kind: 'user', call: 'connect' });
const CAUSE_LISTEN: TcpCause = Object.freeze({ kind: 'user', call: 'listen' });
const CAUSE_COOKIE: TcpCause = Object.freeze({ kind: 'user', call: 'cookie' });
const CAUSE_SHUTDOWN: TcpCause = Object.freeze({ kind: 'user', call: 'shutdown' });
/**
 * A drained event list kept for the next connection that has two events pending (emit): a lifecycle has six or
 * seven such moments (a state change and `established`, `eof` or `closed` together), each a new two-element
 * array, dropped again once polled. The spare is the process's, not a connection's: idle connections hold none.
 */
let spareEvents: TcpEvent[] | null = null;

/**
 * What a connection rarely needs (recovery, retransmission, closing, TCP Fast Open, errors, probes, challenge ACKs,
 * path MTU, per-connection settings that differ from the configuration): allocated on the first write of a value
 * other than the default, so an idle connection does not carry it. Numbers here may be fractional or infinite
 * (each such field is a boxed double), which is why they are not on the connection itself.
 */
class ColdTcb {
  rcvUp = 0;
  rcvFinSeq = -1;
  tfoSynData = 0;
  finWait2Timeout: number;
  pmtuMss = Infinity;
  ecnReductions = 0;
  sndRtx = -1;
  sndRtxEnd = 0;
  dupAcks = 0;
  retries = 0;
  synRetransmits = 0;
  sackedBytes = 0;
  highSack = 0;
  userTimeout: number;
  paceAt = Infinity;
  sackCompressAt = Infinity;
  sackCompressRcvNxt = 0;
  sackDupAcks = 0;
  sackCompressed = 0;
  /** The host ran a compressed-SACK timer late: no more holds (sack-compression.ts compressedAckDue). */
  sackHoldLate = false;
  persistAt = Infinity;
  finWait2At = Infinity;
  keepInitAt = Infinity;
  persistBackoff = 0;
  keepaliveProbes = 0;
  keepAliveIdle: number;
  challengeWindowStart = 0;
  challengeCount = 0;
  lastChallengeAt = -Infinity;
  lastOowAckAt = -Infinity;
  recover: number;
  ecnRecover: number;
  ecnSndHigh: number;
  prr: Prr | null = null;
  txSegmentSize = 0;
  tfoCookie: Uint8Array | null = null;
  tfoPeerCookie: Uint8Array | null = null;
  tfoServerCookie: Uint8Array | null = null;
  synText: TcpSegment | null = null;
  error: TcpError | null = null;
  softError: TcpErrorCode | null = null;
  constructor(config: TcpConfig, iss: number) {
    this.finWait2Timeout = config.finWait2Timeout;
    this.userTimeout = config.userTimeout;
    this.keepAliveIdle = config.keepAliveIdle;
    this.recover = iss;
    this.ecnRecover = iss;
    this.ecnSndHigh = seqAdd(iss, 1);
  }
}

/**
 * One TCP connection as a sans-IO state machine (RFC 9293): no clock, timers or I/O. Make user calls
 * (connect/listen, send, read, shutdown, close, abort), give it arriving segments with input(seg, now), then
 * take what it wants sent with pollTransmit(now) until null, read events with pollEvent(), and call
 * onTimeout(now) at nextDeadline(). All times are ms on any monotonic clock the caller chooses. User calls in
 * the wrong state throw a TcpError.
 */
export class TcpConnection {
  // Layout (issue 14: an idle connection should cost little): plain fields only for object references and values
  // that stay small integers (V8 keeps those unboxed); the TCB's booleans as bits of one integer; sequence numbers
  // as int32 (a uint32 above 2^31 would be a boxed double) behind uint32 accessors; the times an active connection
  // keeps touching in one array of unboxed doubles; everything else in a ColdTcb allocated on first use. The
  // accessors keep every name of RFC 9293 §3.3 and the modules' code unchanged.

  // --- identification ---
  readonly localPort: number;
  remotePort: number;
  /**
   * @internal The configuration the engine reads: the complete one the connection was made with, shared with every
   * connection made from it (a stack's), until `config` is taken; then this connection's own. Shared objects made
   * by resolveConfig all have one shape, so every read here stays monomorphic however many stacks a process runs
   * (an object per connection inheriting from its stack's had a shape per stack: past four stacks, every
   * configuration read in the engine went megamorphic).
   */
  cfg: TcpConfig;
  /**
   * This connection's configuration. A field set here (a socket option) is this connection's own: taking it makes
   * an object that inherits every other field from the configuration the connection was made with.
   */
  get config(): TcpConfig {
    let own = this.ownCfg;
    if (own === null) own = this.ownCfg = this.cfg = inheritConfig(this.cfg);
    return own;
  }
  private ownCfg: TcpConfig | null = null;
  readonly stats: TcpStats;

  /** Current state (RFC 9293 §3.3.2). */
  state: TcpStateName = 'CLOSED';
  /** @internal The booleans (B_* bits). */
  bits = 0;
  /** @internal Times and deadlines (T_* slots): ms, Infinity for a timer not armed. */
  readonly times: number[] = [0, 0, Infinity, Infinity, Infinity, Infinity, -1, -1, 0, -1, 0, -1, 0, 0, 0, Infinity, Infinity, -1];
  /** @internal Sets or clears the B_* bit `mask`. */
  setBit(mask: number, v: boolean): void { this.bits = v ? this.bits | mask : this.bits & ~mask; }
  /**
   * @internal A segment acknowledging `ack` went out (send.ts out): no ACK, challenge ACK or window update is owed
   * and the delayed-ACK count starts again. Written in one call: this runs for every segment sent.
   */
  noteAckSent(ack: number): void {
    this._lastAckSent = ack | 0;
    this.bits &= ~(B_ACK_NOW | B_CHALLENGE_PENDING | B_WINDOW_UPDATE_PENDING);
    this.unackedSegs = 0;
    this.times[T_DELACK_AT] = Infinity;
  }
  /** @internal The rarely needed part, or null (see ColdTcb). */
  cold: ColdTcb | null = null;

  private _iss = 0;
  private _sndUna = 0;
  private _sndNxt = 0;
  private _sndWl1 = 0;
  private _sndWl2 = 0;
  private _irs = 0;
  private _rcvNxt = 0;
  private _rcvAdvRight = 0;
  private _tsRecent = 0;
  private _lastAckSent = 0;
  private _tsOffset = 0;
  private _sndBufSeq = 0;
  private _sndSml = 0;
  // On the connection, not in ColdTcb: every normal close sends a FIN and writes it, and allocating the ~40-field
  // ColdTcb at each close was ~0.5 kB per connection end (V8 heap profile of stack lifecycles).
  private _finSeq = 0;

  // --- send and receive sequence variables (RFC 9293 §3.3.1), windows, options ---
  /** SND.WND: the peer's receive window, scaled, in bytes. */
  sndWnd = 0;
  /** MAX.SND.WND: largest window the peer ever offered (RFC 5961 §5.2). */
  maxSndWnd = 0;
  /** RCV.WND as last advertised, in bytes. */
  rcvWnd = 0;
  /** Effective send MSS: peer's MSS option (536 if absent, RFC 9293 §3.7.1) minus option overhead. */
  sndMss = 536;
  /** Shift applied to windows the peer sends us (Snd.Wind.Shift) and to windows we send (Rcv.Wind.Shift). */
  get sndShift(): number { return this.shifts & 15; }
  set sndShift(v: number) { this.shifts = (this.shifts & ~15) | v; }
  get rcvShift(): number { return this.shifts >> 4; }
  set rcvShift(v: number) { this.shifts = (this.shifts & 15) | (v << 4); }
  /** @internal sndShift and rcvShift (each 0-14) in one small integer. */
  private shifts = 0;
  /** @internal */
  peerMss = 536;
  /** @internal Full-sized segments received since our last ACK (RFC 5681 §4.2: ACK at least every second one). */
  unackedSegs = 0;
  /** @internal In-order data segments ACKed at once under config.quickAckSegments. */
  quickAcksSent = 0;

  // --- buffers ---
  /** @internal */
  readonly snd = new SendBuffer();
  /** @internal */
  readonly rcv = new ReceiveBuffer();
  /** @internal Receive-buffer autotuning (receive-window.ts), made at the first full segment received; null before. */
  rcvTune: RecvAutotune | null = null;

  // --- retransmission and congestion ---
  /** @internal */
  readonly rtt: RttEstimator;
  /** @internal Allocated on first use (cc): an idle connection has none. */
  private ccObj: CongestionControl | null = null;
  /** @internal The initial window set before the controller exists (options.ts initCwnd), or 0. */
  initialCwnd = 0;
  private rackObj: Rack | null = null;
  private sb: number[] | null = null;

  // --- pending output and events ---
  /** @internal Control segments (RST, replies) ahead of everything else; a shared empty list until one is queued. */
  ctrl: TcpSegment[] = NO_SEGMENTS;
  /**
   * @internal Pending events, oldest first: null while none is pending, the event itself while one is, a list
   * while several are. Most bursts hold one or two events (a state change, its 'established' or 'closed'), and a
   * list made for each burst was ~90 B (V8 reserves 17 slots on the first push).
   */
  events: TcpEvent | TcpEvent[] | null = null;

  /** True once a SYN was sent by us via connect() (active open); false for passive opens. */
  get activeOpen(): boolean { return (this.bits & B_ACTIVE_OPEN) !== 0; }
  set activeOpen(v: boolean) { this.setBit(B_ACTIVE_OPEN, v); }
  get sackOk(): boolean { return (this.bits & B_SACK_OK) !== 0; }
  set sackOk(v: boolean) { this.setBit(B_SACK_OK, v); }
  get tsOk(): boolean { return (this.bits & B_TS_OK) !== 0; }
  set tsOk(v: boolean) { this.setBit(B_TS_OK, v); }
  /** @internal */
  get peerOfferedWs(): boolean { return (this.bits & B_PEER_OFFERED_WS) !== 0; }
  /** @internal */
  set peerOfferedWs(v: boolean) { this.setBit(B_PEER_OFFERED_WS, v); }
  /** @internal The user has called shutdown/close: a FIN follows the queued data. */
  get finQueued(): boolean { return (this.bits & B_FIN_QUEUED) !== 0; }
  /** @internal */
  set finQueued(v: boolean) { this.setBit(B_FIN_QUEUED, v); }
  /** @internal */
  get finSent(): boolean { return (this.bits & B_FIN_SENT) !== 0; }
  /** @internal */
  set finSent(v: boolean) { this.setBit(B_FIN_SENT, v); }
  /** The user has fully closed (no more reads): data arriving now is answered with RST. */
  get orphaned(): boolean { return (this.bits & B_ORPHANED) !== 0; }
  set orphaned(v: boolean) { this.setBit(B_ORPHANED, v); }
  /** The peer's FIN has been received in order. */
  get peerFinReceived(): boolean { return (this.bits & B_PEER_FIN_RECEIVED) !== 0; }
  set peerFinReceived(v: boolean) { this.setBit(B_PEER_FIN_RECEIVED, v); }
  /** Use the experimental option (kind 254, ExID 0xF989) instead of kind 34. */
  get tfoExp(): boolean { return (this.bits & B_TFO_EXP) !== 0; }
  set tfoExp(v: boolean) { this.setBit(B_TFO_EXP, v); }
  /** Server: the SYN's cookie was valid: accept its data at once (§4.2.2). */
  get tfoAcceptData(): boolean { return (this.bits & B_TFO_ACCEPT_DATA) !== 0; }
  set tfoAcceptData(v: boolean) { this.setBit(B_TFO_ACCEPT_DATA, v); }
  /** ECN negotiated (RFC 3168 §6.1.1; ecn.ts). */
  get ecnOk(): boolean { return (this.bits & B_ECN_OK) !== 0; }
  set ecnOk(v: boolean) { this.setBit(B_ECN_OK, v); }
  /** @internal Receiver: a CE mark arrived and no CWR since: our ACKs carry ECE. */
  get ecnEcho(): boolean { return (this.bits & B_ECN_ECHO) !== 0; }
  /** @internal */
  set ecnEcho(v: boolean) { this.setBit(B_ECN_ECHO, v); }
  /** @internal Sender: the next new data segment carries CWR. */
  get ecnCwrPending(): boolean { return (this.bits & B_ECN_CWR_PENDING) !== 0; }
  /** @internal */
  set ecnCwrPending(v: boolean) { this.setBit(B_ECN_CWR_PENDING, v); }
  /** For the segment pollTransmit() just returned: send it ECN-capable, ECT(0) (RFC 3168 §6.1.2). */
  get txEct(): boolean { return (this.bits & B_TX_ECT) !== 0; }
  set txEct(v: boolean) { this.setBit(B_TX_ECT, v); }
  /** @internal The retransmission run was started by an RTO (go-back-N): everything outstanding is deemed lost. */
  get rtoRecovery(): boolean { return (this.bits & B_RTO_RECOVERY) !== 0; }
  /** @internal */
  set rtoRecovery(v: boolean) { this.setBit(B_RTO_RECOVERY, v); }
  /** @internal Send the next retransmission even if cwnd is full. */
  get forceRtx(): boolean { return (this.bits & B_FORCE_RTX) !== 0; }
  /** @internal */
  set forceRtx(v: boolean) { this.setBit(B_FORCE_RTX, v); }
  /** @internal */
  get inRecovery(): boolean { return (this.bits & B_IN_RECOVERY) !== 0; }
  /** @internal */
  set inRecovery(v: boolean) { this.setBit(B_IN_RECOVERY, v); }
  /** @internal The retransmission timer expired during the handshake (RFC 6298 §5.7). */
  get synTimedOut(): boolean { return (this.bits & B_SYN_TIMED_OUT) !== 0; }
  /** @internal */
  set synTimedOut(v: boolean) { this.setBit(B_SYN_TIMED_OUT, v); }
  /** @internal A tail loss probe is due (RFC 8985 §7). */
  get tlpPending(): boolean { return (this.bits & B_TLP_PENDING) !== 0; }
  /** @internal */
  set tlpPending(v: boolean) { this.setBit(B_TLP_PENDING, v); }
  /** @internal A tail loss probe is out. */
  get tlpOutstanding(): boolean { return (this.bits & B_TLP_OUTSTANDING) !== 0; }
  /** @internal */
  set tlpOutstanding(v: boolean) { this.setBit(B_TLP_OUTSTANDING, v); }
  /** Nagle on/off for this connection (Node's setNoDelay). */
  get nagle(): boolean { return (this.bits & B_NAGLE) !== 0; }
  set nagle(v: boolean) { this.setBit(B_NAGLE, v); }
  /** Keep-alive for this connection (Node's setKeepAlive). */
  get keepAlive(): boolean { return (this.bits & B_KEEP_ALIVE) !== 0; }
  set keepAlive(v: boolean) { this.setBit(B_KEEP_ALIVE, v); }
  /** @internal */
  get ackNow(): boolean { return (this.bits & B_ACK_NOW) !== 0; }
  /** @internal */
  set ackNow(v: boolean) { this.setBit(B_ACK_NOW, v); }
  /** @internal */
  get synPending(): boolean { return (this.bits & B_SYN_PENDING) !== 0; }
  /** @internal */
  set synPending(v: boolean) { this.setBit(B_SYN_PENDING, v); }
  /** @internal */
  get probePending(): boolean { return (this.bits & B_PROBE_PENDING) !== 0; }
  /** @internal */
  set probePending(v: boolean) { this.setBit(B_PROBE_PENDING, v); }
  /** @internal */
  get keepalivePending(): boolean { return (this.bits & B_KEEPALIVE_PENDING) !== 0; }
  /** @internal */
  set keepalivePending(v: boolean) { this.setBit(B_KEEPALIVE_PENDING, v); }
  /** @internal The pending immediate ACK is an RFC 5961 challenge ACK (config.finOnAck leaves those plain). */
  get challengePending(): boolean { return (this.bits & B_CHALLENGE_PENDING) !== 0; }
  /** @internal */
  set challengePending(v: boolean) { this.setBit(B_CHALLENGE_PENDING, v); }
  /** @internal Interactive exchange: data sent within the delayed-ACK time of data received (Linux pingpong mode). */
  get pingpong(): boolean { return (this.bits & B_PINGPONG) !== 0; }
  /** @internal */
  set pingpong(v: boolean) { this.setBit(B_PINGPONG, v); }
  /** @internal */
  get windowUpdatePending(): boolean { return (this.bits & B_WINDOW_UPDATE_PENDING) !== 0; }
  /** @internal */
  set windowUpdatePending(v: boolean) { this.setBit(B_WINDOW_UPDATE_PENDING, v); }

  /** ISS: initial send sequence number. */
  get iss(): number { return this._iss >>> 0; }
  set iss(v: number) { this._iss = v | 0; }
  /** SND.UNA: oldest unacknowledged sequence number. */
  get sndUna(): number { return this._sndUna >>> 0; }
  set sndUna(v: number) { this._sndUna = v | 0; }
  /** SND.NXT: next sequence number to send (the highest ever sent + 1; retransmissions use sndRtx). */
  get sndNxt(): number { return this._sndNxt >>> 0; }
  set sndNxt(v: number) { this._sndNxt = v | 0; }
  /** SND.WL1 / SND.WL2: segment seq and ack used for the last window update. */
  get sndWl1(): number { return this._sndWl1 >>> 0; }
  set sndWl1(v: number) { this._sndWl1 = v | 0; }
  get sndWl2(): number { return this._sndWl2 >>> 0; }
  set sndWl2(v: number) { this._sndWl2 = v | 0; }
  /** IRS: initial receive sequence number. */
  get irs(): number { return this._irs >>> 0; }
  set irs(v: number) { this._irs = v | 0; }
  /** RCV.NXT: next sequence number expected. */
  get rcvNxt(): number { return this._rcvNxt >>> 0; }
  set rcvNxt(v: number) { this._rcvNxt = v | 0; }
  /** @internal Right edge we last advertised (RCV.NXT + RCV.WND then): never moved left (RFC 9293 §3.8.6.2.2). */
  get rcvAdvRight(): number { return this._rcvAdvRight >>> 0; }
  /** @internal */
  set rcvAdvRight(v: number) { this._rcvAdvRight = v | 0; }
  /** TS.Recent (RFC 7323 §4.3). */
  get tsRecent(): number { return this._tsRecent >>> 0; }
  set tsRecent(v: number) { this._tsRecent = v | 0; }
  /** @internal Last.ACK.sent (RFC 7323 §4.3). */
  get lastAckSent(): number { return this._lastAckSent >>> 0; }
  /** @internal */
  set lastAckSent(v: number) { this._lastAckSent = v | 0; }
  /** @internal Random offset of our TSval clock (RFC 7323 §5.4). */
  get tsOffset(): number { return this._tsOffset >>> 0; }
  /** @internal Sequence number of the first byte in the send buffer (ISS+1 at start). */
  get sndBufSeq(): number { return this._sndBufSeq >>> 0; }
  /** @internal */
  set sndBufSeq(v: number) { this._sndBufSeq = v | 0; }
  /** @internal RFC 6582 "recover": SND.NXT when fast recovery began. */
  get recover(): number { return this.cold === null ? this.iss : this.cold.recover; }
  /** @internal */
  set recover(v: number) { if (this.cold !== null) this.cold.recover = v; else if (v !== this.iss) this.coldTcb().recover = v; }
  /** @internal End of the last segment sent with less than an MSS of data (Linux snd_sml, for Nagle's Minshall variant). */
  get sndSml(): number { return this._sndSml >>> 0; }
  /** @internal */
  set sndSml(v: number) { this._sndSml = v | 0; }
  /** @internal Sender: no further ECE reduction until SND.UNA reaches this (once per window). */
  get ecnRecover(): number { return this.cold === null ? this.iss : this.cold.ecnRecover; }
  /** @internal */
  set ecnRecover(v: number) { if (this.cold !== null) this.cold.ecnRecover = v; else if (v !== this.iss) this.coldTcb().ecnRecover = v; }
  /** @internal Sender: end of the highest data sent ECN-capable (retransmissions below it are not ECT). */
  get ecnSndHigh(): number { return this.cold === null ? seqAdd(this.iss, 1) : this.cold.ecnSndHigh; }
  /** @internal */
  set ecnSndHigh(v: number) { if (this.cold !== null) this.cold.ecnSndHigh = v; else if (v !== seqAdd(this.iss, 1)) this.coldTcb().ecnSndHigh = v; }

  /** @internal When TS.Recent was recorded (0: none yet, PAWS off). */
  get tsRecentAge(): number { return this.times[T_TS_RECENT_AGE]!; }
  /** @internal */
  set tsRecentAge(v: number) { this.times[T_TS_RECENT_AGE] = v; }
  /** @internal */
  get lastSendTime(): number { return this.times[T_LAST_SEND_TIME]!; }
  /** @internal */
  set lastSendTime(v: number) { this.times[T_LAST_SEND_TIME] = v; }
  /** @internal Retransmission timer (absolute ms; Infinity when not armed, as every timer here). */
  get rtoAt(): number { return this.times[T_RTO_AT]!; }
  /** @internal */
  set rtoAt(v: number) { this.times[T_RTO_AT] = v; }
  /** @internal */
  get delackAt(): number { return this.times[T_DELACK_AT]!; }
  /** @internal */
  set delackAt(v: number) { this.times[T_DELACK_AT] = v; }
  /** @internal */
  get keepaliveAt(): number { return this.times[T_KEEPALIVE_AT]!; }
  /** @internal */
  set keepaliveAt(v: number) { this.times[T_KEEPALIVE_AT] = v; }
  /** @internal Tail loss probe (RFC 8985 §7): when the probe timeout fires. */
  get tlpAt(): number { return this.times[T_TLP_AT]!; }
  /** @internal */
  set tlpAt(v: number) { this.times[T_TLP_AT] = v; }
  /** @internal Since when data (or a FIN) has been waiting for an acknowledgment without progress (user timeout). */
  get unackedSince(): number { return this.times[T_UNACKED_SINCE]!; }
  /** @internal */
  set unackedSince(v: number) { this.times[T_UNACKED_SINCE] = v; }
  /** @internal When in-order data last arrived (-1: never), for quick-ACK after idle (Linux icsk_ack.lrcvtime). */
  get lastDataRecvAt(): number { return this.times[T_LAST_DATA_RECV_AT]!; }
  /** @internal */
  set lastDataRecvAt(v: number) { this.times[T_LAST_DATA_RECV_AT] = v; }
  /** @internal Pacing (send.ts): the earliest time the next new data may go. */
  get nextSendAt(): number { return this.times[T_NEXT_SEND_AT]!; }
  /** @internal */
  set nextSendAt(v: number) { this.times[T_NEXT_SEND_AT] = v; }
  /** @internal RTT timing for Karn's algorithm when timestamps are off. */
  get rttSeq(): number { return this.times[T_RTT_SEQ]!; }
  /** @internal */
  set rttSeq(v: number) { this.times[T_RTT_SEQ] = v; }
  /** @internal */
  get rttTime(): number { return this.times[T_RTT_TIME]!; }
  /** @internal */
  set rttTime(v: number) { this.times[T_RTT_TIME] = v; }
  /**
   * @internal When the FIN kept inline after the data segment (inlineFinApart) was sent. Shares rttTime's slot:
   * recovery/rack.ts logSent keeps a FIN inline only while rttSeq is -1 (the SYN no longer timed).
   */
  get inlineFinSentAt(): number { return this.times[T_RTT_TIME]!; }
  /** @internal */
  set inlineFinSentAt(v: number) { this.times[T_RTT_TIME] = v; }

  /** RCV.UP: receive urgent pointer. */
  /**
   * For the segment pollTransmit() just returned: 0, or the per-segment payload size when it is a TSO
   * segment longer than one MSS (config.tsoMaxBytes) that the link must cut into pieces of this size.
   */
  get txSegmentSize(): number { return this.cold === null ? 0 : this.cold.txSegmentSize; }
  set txSegmentSize(v: number) { if (this.cold !== null) this.cold.txSegmentSize = v; else if (v !== 0) this.coldTcb().txSegmentSize = v; }
  get rcvUp(): number { return this.cold === null ? 0 : this.cold.rcvUp; }
  set rcvUp(v: number) { if (this.cold !== null) this.cold.rcvUp = v; else if (v !== 0) this.coldTcb().rcvUp = v; }
  /** @internal */
  get finSeq(): number { return this._finSeq >>> 0; }
  /** @internal */
  set finSeq(v: number) { this._finSeq = v | 0; }
  /** @internal Sequence number of an out-of-order FIN we hold. */
  get rcvFinSeq(): number { return this.cold === null ? -1 : this.cold.rcvFinSeq; }
  /** @internal */
  set rcvFinSeq(v: number) { if (this.cold !== null) this.cold.rcvFinSeq = v; else if (v !== -1) this.coldTcb().rcvFinSeq = v; }
  /** @internal Client: bytes of data our first SYN carried. */
  get tfoSynData(): number { return this.cold === null ? 0 : this.cold.tfoSynData; }
  /** @internal */
  set tfoSynData(v: number) { if (this.cold !== null) this.cold.tfoSynData = v; else if (v !== 0) this.coldTcb().tfoSynData = v; }
  /**
   * How long an orphaned connection may stay in FIN-WAIT-2, in ms (config.finWait2Timeout until set; Linux TCP_LINGER2
   * per socket). 0: an orphan reaching FIN-WAIT-2 is closed at once.
   */
  get finWait2Timeout(): number { return this.cold === null ? this.cfg.finWait2Timeout : this.cold.finWait2Timeout; }
  set finWait2Timeout(v: number) { if (this.cold !== null) this.cold.finWait2Timeout = v; else if (v !== this.cfg.finWait2Timeout) this.coldTcb().finWait2Timeout = v; }
  /** @internal Send MSS the path allows (ICMP fragmentation needed / packet too big); Infinity until one arrives. */
  get pmtuMss(): number { return this.cold === null ? Infinity : this.cold.pmtuMss; }
  /** @internal */
  set pmtuMss(v: number) { if (this.cold !== null) this.cold.pmtuMss = v; else if (v !== Infinity) this.coldTcb().pmtuMss = v; }
  /** Congestion-window reductions made for ECE (RFC 3168 §6.1.2). */
  get ecnReductions(): number { return this.cold === null ? 0 : this.cold.ecnReductions; }
  set ecnReductions(v: number) { if (this.cold !== null) this.cold.ecnReductions = v; else if (v !== 0) this.coldTcb().ecnReductions = v; }
  /** @internal Next sequence to retransmit (valid while retransmitting); -1 when none. */
  get sndRtx(): number { return this.cold === null ? -1 : this.cold.sndRtx; }
  /** @internal */
  set sndRtx(v: number) { if (this.cold !== null) this.cold.sndRtx = v; else if (v !== -1) this.coldTcb().sndRtx = v; }
  /** @internal End of the retransmission run: SND.NXT when loss was detected. */
  get sndRtxEnd(): number { return this.cold === null ? 0 : this.cold.sndRtxEnd; }
  /** @internal */
  set sndRtxEnd(v: number) { if (this.cold !== null) this.cold.sndRtxEnd = v; else if (v !== 0) this.coldTcb().sndRtxEnd = v; }
  /** @internal */
  get dupAcks(): number { return this.cold === null ? 0 : this.cold.dupAcks; }
  /** @internal */
  set dupAcks(v: number) { if (this.cold !== null) this.cold.dupAcks = v; else if (v !== 0) this.coldTcb().dupAcks = v; }
  /** @internal Consecutive RTO expirations without progress. */
  get retries(): number { return this.cold === null ? 0 : this.cold.retries; }
  /** @internal */
  set retries(v: number) { if (this.cold !== null) this.cold.retries = v; else if (v !== 0) this.coldTcb().retries = v; }
  /** @internal Our SYN or SYN+ACK retransmissions (for the initial window, RFC 5681 §3.1). */
  get synRetransmits(): number { return this.cold === null ? 0 : this.cold.synRetransmits; }
  /** @internal */
  set synRetransmits(v: number) { if (this.cold !== null) this.cold.synRetransmits = v; else if (v !== 0) this.coldTcb().synRetransmits = v; }
  /** @internal */
  get sackedBytes(): number { return this.cold === null ? 0 : this.cold.sackedBytes; }
  /** @internal */
  set sackedBytes(v: number) { if (this.cold !== null) this.cold.sackedBytes = v; else if (v !== 0) this.coldTcb().sackedBytes = v; }
  /** @internal */
  get highSack(): number { return this.cold === null ? 0 : this.cold.highSack; }
  /** @internal */
  set highSack(v: number) { if (this.cold !== null) this.cold.highSack = v; else if (v !== 0) this.coldTcb().highSack = v; }
  /** RFC 9293 §3.10.8 user timeout in ms, 0 = off (TcpConfig.userTimeout until set; TCP_USER_TIMEOUT). */
  get userTimeout(): number { return this.cold === null ? this.cfg.userTimeout : this.cold.userTimeout; }
  set userTimeout(v: number) { if (this.cold !== null) this.cold.userTimeout = v; else if (v !== this.cfg.userTimeout) this.coldTcb().userTimeout = v; }
  /** @internal The pacing timer, set while data waits for nextSendAt. */
  get paceAt(): number { return this.cold === null ? Infinity : this.cold.paceAt; }
  /** @internal */
  set paceAt(v: number) { if (this.cold !== null) this.cold.paceAt = v; else if (v !== Infinity) this.coldTcb().paceAt = v; }
  /** @internal The compressed-SACK timer (sack-compression.ts), set while a duplicate ACK is held. */
  get sackCompressAt(): number { return this.cold === null ? Infinity : this.cold.sackCompressAt; }
  /** @internal */
  set sackCompressAt(v: number) { if (this.cold !== null) this.cold.sackCompressAt = v; else if (v !== Infinity) this.coldTcb().sackCompressAt = v; }
  /** @internal Duplicate ACKs held by SACK compression since the last ACK sent. */
  get sackCompressed(): number { return this.cold === null ? 0 : this.cold.sackCompressed; }
  /** @internal */
  set sackCompressed(v: number) { if (this.cold !== null) this.cold.sackCompressed = v; else if (v !== 0) this.coldTcb().sackCompressed = v; }
  /** @internal */
  get persistAt(): number { return this.cold === null ? Infinity : this.cold.persistAt; }
  /** @internal */
  set persistAt(v: number) { if (this.cold !== null) this.cold.persistAt = v; else if (v !== Infinity) this.coldTcb().persistAt = v; }
  /** @internal */
  get timeWaitAt(): number { return this.times[T_TIME_WAIT_AT]!; }
  /** @internal */
  set timeWaitAt(v: number) { this.times[T_TIME_WAIT_AT] = v; }
  /** @internal */
  get finWait2At(): number { return this.cold === null ? Infinity : this.cold.finWait2At; }
  /** @internal */
  set finWait2At(v: number) { if (this.cold !== null) this.cold.finWait2At = v; else if (v !== Infinity) this.coldTcb().finWait2At = v; }
  /** @internal Connection-establishment deadline (config.keepInit, FreeBSD TCP_KEEPINIT). */
  get keepInitAt(): number { return this.cold === null ? Infinity : this.cold.keepInitAt; }
  /** @internal */
  set keepInitAt(v: number) { if (this.cold !== null) this.cold.keepInitAt = v; else if (v !== Infinity) this.coldTcb().keepInitAt = v; }
  /** @internal */
  get persistBackoff(): number { return this.cold === null ? 0 : this.cold.persistBackoff; }
  /** @internal */
  set persistBackoff(v: number) { if (this.cold !== null) this.cold.persistBackoff = v; else if (v !== 0) this.coldTcb().persistBackoff = v; }
  /** @internal */
  get keepaliveProbes(): number { return this.cold === null ? 0 : this.cold.keepaliveProbes; }
  /** @internal */
  set keepaliveProbes(v: number) { if (this.cold !== null) this.cold.keepaliveProbes = v; else if (v !== 0) this.coldTcb().keepaliveProbes = v; }
  /** Keep-alive idle time in ms (config.keepAliveIdle until set). */
  get keepAliveIdle(): number { return this.cold === null ? this.cfg.keepAliveIdle : this.cold.keepAliveIdle; }
  set keepAliveIdle(v: number) { if (this.cold !== null) this.cold.keepAliveIdle = v; else if (v !== this.cfg.keepAliveIdle) this.coldTcb().keepAliveIdle = v; }
  /** @internal */
  get challengeWindowStart(): number { return this.cold === null ? 0 : this.cold.challengeWindowStart; }
  /** @internal */
  set challengeWindowStart(v: number) { if (this.cold !== null) this.cold.challengeWindowStart = v; else if (v !== 0) this.coldTcb().challengeWindowStart = v; }
  /** @internal */
  get challengeCount(): number { return this.cold === null ? 0 : this.cold.challengeCount; }
  /** @internal */
  set challengeCount(v: number) { if (this.cold !== null) this.cold.challengeCount = v; else if (v !== 0) this.coldTcb().challengeCount = v; }
  /** @internal When the last challenge ACK was sent (config.challengeAckIntervalMs). */
  get lastChallengeAt(): number { return this.cold === null ? -Infinity : this.cold.lastChallengeAt; }
  /** @internal */
  set lastChallengeAt(v: number) { if (this.cold !== null) this.cold.lastChallengeAt = v; else if (v !== -Infinity) this.coldTcb().lastChallengeAt = v; }
  /** @internal When we last answered an out-of-window pure ACK (rate limit, see invalidAckRatelimit). */
  get lastOowAckAt(): number { return this.cold === null ? -Infinity : this.cold.lastOowAckAt; }
  /** @internal */
  set lastOowAckAt(v: number) { if (this.cold !== null) this.cold.lastOowAckAt = v; else if (v !== -Infinity) this.coldTcb().lastOowAckAt = v; }
  /** Client: the cookie our SYN presents (empty: a cookie request); null: no TFO. Set before connect(). */
  get tfoCookie(): Uint8Array | null { return this.cold === null ? null : this.cold.tfoCookie; }
  set tfoCookie(v: Uint8Array | null) { if (this.cold !== null) this.cold.tfoCookie = v; else if (v !== null) this.coldTcb().tfoCookie = v; }
  /** Client: the cookie the server's SYN,ACK gave us (to cache for the next connection), or null. */
  get tfoPeerCookie(): Uint8Array | null { return this.cold === null ? null : this.cold.tfoPeerCookie; }
  set tfoPeerCookie(v: Uint8Array | null) { if (this.cold !== null) this.cold.tfoPeerCookie = v; else if (v !== null) this.coldTcb().tfoPeerCookie = v; }
  /** Server: the cookie our SYN,ACK carries (the client asked, or its cookie was invalid), or null. */
  get tfoServerCookie(): Uint8Array | null { return this.cold === null ? null : this.cold.tfoServerCookie; }
  set tfoServerCookie(v: Uint8Array | null) { if (this.cold !== null) this.cold.tfoServerCookie = v; else if (v !== null) this.coldTcb().tfoServerCookie = v; }
  /** @internal Text/FIN that came on a SYN in SYN-SENT, held until ESTABLISHED (RFC 9293 §3.10.7.3). */
  get synText(): TcpSegment | null { return this.cold === null ? null : this.cold.synText; }
  /** @internal */
  set synText(v: TcpSegment | null) { if (this.cold !== null) this.cold.synText = v; else if (v !== null) this.coldTcb().synText = v; }
  /** Error the connection ended with, if any. */
  get error(): TcpError | null { return this.cold === null ? null : this.cold.error; }
  set error(v: TcpError | null) { if (this.cold !== null) this.cold.error = v; else if (v !== null) this.coldTcb().error = v; }
  /** The last ICMP error for this connection, reported instead of ETIMEDOUT if it times out (Linux sk_err_soft). */
  get softError(): TcpErrorCode | null { return this.cold === null ? null : this.cold.softError; }
  set softError(v: TcpErrorCode | null) { if (this.cold !== null) this.cold.softError = v; else if (v !== null) this.coldTcb().softError = v; }

  /** @internal The cold part, allocated now if it was not. */
  coldTcb(): ColdTcb { return this.cold ?? (this.cold = kept.cold = new ColdTcb(this.cfg, this.iss)); }

  /** @internal The congestion controller (cc/), created on first use with the initial window options.ts set. */
  get cc(): CongestionControl {
    if (this.ccObj === null) {
      const cc = this.ccObj = kept.cc = newCongestionControl(this.cfg, this.cfg.initialWindowSegments * 1460);
      if (this.initialCwnd > 0) cc.cwnd = this.initialCwnd;
      const t = this.times;
      if (t[T_CC_RTT]! >= 0) { cc.onRttSample?.(t[T_CC_RTT]!, t[T_CC_NOW]!, t[T_CC_ACK]!, t[T_CC_NXT]!); t[T_CC_RTT] = -1; }
    }
    return this.ccObj;
  }
  /**
   * @internal An RTT sample for the congestion controller (its optional onRttSample) and RACK's min_RTT
   * (RFC 8985 §6.2), kept for them if they do not exist yet: the handshake's sample creates neither. The
   * controller then sees the same calls in the same order as if it had existed from the start.
   */
  rttSampleToCcAndRack(rtt: number, now: number, ack: number, sndNxt: number): void {
    if (this.rackObj !== null) { if (rtt > 0 && rtt < this.rackObj.minRtt) this.rackObj.minRtt = rtt; }
    else if (rtt > 0 && rtt < this.times[T_RACK_MIN_RTT]!) this.times[T_RACK_MIN_RTT] = rtt;
    if (this.ccObj === null && this.times[T_CC_RTT]! < 0) {
      const t = this.times;
      t[T_CC_RTT] = rtt; t[T_CC_NOW] = now; t[T_CC_ACK] = ack; t[T_CC_NXT] = sndNxt;
      return;
    }
    this.cc.onRttSample?.(rtt, now, ack, sndNxt);
  }
  /** @internal Whether the congestion controller exists yet. */
  get ccCreated(): boolean { return this.ccObj !== null; }
  /**
   * @internal Sent segments and RACK state (RFC 8985, recovery/rack.ts), created on first use: when a second
   * segment goes out while one is in flight, or loss recovery, a SACK or a timer needs the record.
   */
  get rack(): Rack { return this.rackObj ?? this.createRack(this.sndNxt); }
  /**
   * @internal Creates the RACK record; the segment kept inline (inlineSentAt), if any, becomes its first entry,
   * [SND.UNA, `inlineEnd`) (two, split at the FIN's sequence number, when the FIN went alone after it). What the
   * record would have learnt from earlier segments, all acknowledged, changes nothing it decides later
   * (recovery/rack.ts logSent); its min_RTT is replayed.
   */
  createRack(inlineEnd: number): Rack {
    const r = this.rackObj = kept.rack = new Rack();
    if (this.times[T_RACK_MIN_RTT]! < Infinity) r.minRtt = this.times[T_RACK_MIN_RTT]!;
    const sentAt = this.times[T_INLINE_SENT_AT]!;
    if (sentAt >= 0) {
      this.times[T_INLINE_SENT_AT] = -1;
      const finApart = (this.bits & B_INLINE_FIN_APART) !== 0;
      this.bits &= ~B_INLINE_FIN_APART;
      adoptInline(this, r, this.sndUna, inlineEnd, sentAt, finApart ? this.inlineFinSentAt : -1);
    }
    return r;
  }
  /** @internal When the one data segment in flight without a RACK record was sent (recovery/rack.ts logSent), or -1. */
  get inlineSentAt(): number { return this.times[T_INLINE_SENT_AT]!; }
  /** @internal */
  set inlineSentAt(v: number) { this.times[T_INLINE_SENT_AT] = v; }
  /** @internal The FIN, sent alone at inlineFinSentAt, follows the inline data segment (recovery/rack.ts logSent). */
  get inlineFinApart(): boolean { return (this.bits & B_INLINE_FIN_APART) !== 0; }
  /** @internal */
  set inlineFinApart(v: boolean) { this.setBit(B_INLINE_FIN_APART, v); }
  /**
   * @internal SACK scoreboard: flat [left, right) seq pairs the peer reported, sorted, merged (RFC 2018, RFC 6675);
   * created on first use.
   */
  get scoreboard(): number[] { return this.sb ??= []; }
  /** @internal */
  set scoreboard(v: number[]) { this.sb = v; }
  /** @internal Whether the scoreboard exists yet (while it does not, it is empty). */
  get scoreboardCreated(): boolean { return this.sb !== null; }
  /** @internal Whether the RACK record exists yet. */
  get rackCreated(): boolean { return this.rackObj !== null; }
  /** @internal The RACK reordering timer without creating the record (Infinity when there is none). */
  get rackTimerAt(): number { return this.rackObj === null ? Infinity : this.rackObj.timerAt; }
  /** @internal Bytes RACK deems lost, without creating the record. */
  get rackLostBytes(): number { return this.rackObj === null ? 0 : this.rackObj.lostBytes; }
  /** @internal Proportional Rate Reduction state (RFC 6937, recovery/prr.ts), created on first use. */
  get prr(): Prr { const cold = this.coldTcb(); return cold.prr ?? (cold.prr = kept.prr = new Prr()); }

  constructor(opts: TcpConnectionOptions) {
    this.localPort = opts.localPort;
    this.remotePort = opts.remotePort;
    this.cfg = connectionConfig(opts.config);
    this.stats = opts.stats ?? new TcpStats();
    this.iss = opts.iss >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndBufSeq = seqAdd(this.iss, 1);
    this.sndSml = this.iss;
    this._tsOffset = (opts.tsOffset ?? 0) | 0;
    this.rtt = new RttEstimator(this.cfg.rtoInitial, this.cfg.rtoMin, this.cfg.rtoMax);
    this.nagle = this.cfg.nagle;
    this.keepAlive = this.cfg.keepAlive;
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
    return now + (t > 0 && this.cfg.finWait2RtoFloor ? Math.max(t, 3.5 * this.rtt.current()) : t);
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
    this.rcvShift = this.cfg.windowScaling ? offeredShift(this.cfg) : 0;
    this.synPending = true;
    this.sndNxt = seqAdd(this.iss, 1); // the SYN occupies ISS
    this.setState('SYN-SENT', CAUSE_CONNECT, now);
    armRto(this, now);
    if (this.cfg.keepInit !== Infinity) this.keepInitAt = now + this.cfg.keepInit;
  }

  /** OPEN, passive (§3.10.1): wait in LISTEN for a SYN. */
  listen(now: number): void {
    if (this.state !== 'CLOSED') throw new TcpError('EISCONN', `listen in ${this.state}`);
    this.setState('LISTEN', CAUSE_LISTEN, now);
  }

  /**
   * Create the connection from a validated SYN cookie (RFC 4987 §3.6): the handshake's state was encoded
   * in our ISS, so we go straight to ESTABLISHED and then process the ACK that carried the cookie.
   */
  static fromCookie(opts: TcpConnectionOptions, p: CookieParams, ack: TcpSegment, now: number): TcpConnection {
    const c = new TcpConnection({ ...opts, iss: p.iss });
    c.irs = p.irs >>> 0;
    c.rcvNxt = seqAdd(p.irs, 1);
    c.lastAckSent = c.rcvNxt; // our cookie SYN+ACK acknowledged IRS + 1 (Linux tcp_create_openreq_child: rcv_wup)
    c.sndUna = seqAdd(p.iss, 1);
    c.sndNxt = c.sndUna;
    c.sndBufSeq = c.sndUna;
    c.peerMss = p.mss;
    c.sackOk = p.sackOk && c.cfg.sack;
    c.tsOk = p.tsOk && c.cfg.timestamps;
    if (p.sndShift !== null && c.cfg.windowScaling) {
      c.sndShift = p.sndShift;
      c.rcvShift = offeredShift(c.cfg);
    }
    updateSndMss(c);
    initCwnd(c);
    // Our cookie SYN+ACK advertised an unscaled window of up to 65535 bytes.
    c.rcvAdvRight = seqAdd(c.rcvNxt, Math.min(MAX_WINDOW_FIELD, currentWindowFree(c)));
    c.sndWnd = ack.window << c.sndShift;
    c.maxSndWnd = c.sndWnd;
    c.sndWl1 = ack.seq; c.sndWl2 = ack.ack;
    c.stats.PassiveOpens++;
    c.setState('ESTABLISHED', CAUSE_COOKIE, now);
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
    const room = this.sendBufferLimit - this.snd.length;
    if (room <= 0) return 0;
    const take = data.length <= room ? data : data.subarray(0, room);
    this.snd.push(take);
    if (this.state === 'ESTABLISHED' || this.state === 'CLOSE-WAIT') maybeStartPersist(this, now);
    return take.length;
  }

  /** Free space in the send buffer. */
  get sendSpace(): number { return Math.max(0, this.sendBufferLimit - this.snd.length); }
  /**
   * What the send buffer may hold now: sendBufferSize, or with sendBufferAutotune two congestion windows of at
   * least 10 segments (Linux tcp_sndbuf_expand: 2 · max(TCP_INIT_CWND, cwnd) segments), at most sendBufferSize.
   */
  get sendBufferLimit(): number {
    const max = this.cfg.sendBufferSize;
    if (!this.cfg.sendBufferAutotune) return max;
    // Before the controller exists, its window is the initial one (Linux: the initial snd_cwnd, route initcwnd).
    const mss = this.sndMss;
    const cwnd = this.ccObj !== null ? this.ccObj.cwnd : this.initialCwnd > 0 ? this.initialCwnd : this.cfg.initialWindowSegments * mss;
    // 2 · max(10, ⌈cwnd / mss⌉) · mss, without the division while cwnd is within 10 segments (the stack asks after every
    // segment, and a request/response connection stays there).
    const floor = 10 * mss;
    return Math.min(max, 2 * (cwnd <= floor ? floor : Math.ceil(cwnd / mss) * mss));
  }
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
      const buff = recvWindowLimit(this);
      const grow = Math.max(0, buff - this.rcv.length) - Math.max(0, advRemaining);
      if (grow >= Math.min(buff >>> 1, this.cfg.mss)) {
        // A peer that may be stalled (less than one MSS of window left) hears at once; otherwise the update
        // rides on the next segment or a delayed ACK, so a request/response exchange does not pay an extra ACK.
        if (advRemaining < this.cfg.mss) this.ackNow = true;
        // An autotuned window (about two RTTs' worth) left at half or less, and this read at least doubles it:
        // at once, as Linux's tcp_cleanup_rbuf, or a sender working through a burst the reader took late waits.
        else if (this.rcvTune !== null && 2 * advRemaining <= buff && grow >= advRemaining) this.ackNow = true;
        else if (grow >= (buff >>> 1)) this.windowUpdatePending = true;
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
        this.toClosed(CAUSE_SHUTDOWN, now);
        return;
      case 'SYN-SENT':
        // Delete the TCB (§3.10.4).
        this.toClosed(CAUSE_SHUTDOWN, now);
        return;
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        if (this.finQueued) return;
        this.finQueued = true;
        // SYN-RECEIVED: the FIN goes after the handshake completes (§3.10.4 "queue for processing after ESTABLISHED").
        if (this.state === 'ESTABLISHED') this.setState('FIN-WAIT-1', CAUSE_SHUTDOWN, now);
        return;
      case 'CLOSE-WAIT':
        if (this.finQueued) return;
        this.finQueued = true;
        this.setState('LAST-ACK', CAUSE_SHUTDOWN, now);
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
    const bsdNoAck = (bad === 'fin-no-ack' || bad === 'null') && this.cfg.seqCheck === 'bsd' && this.isSynchronized() && this.state !== 'TIME-WAIT';
    // BSD: TIME-WAIT is handled (tcp_twcheck) before drop_synfin is looked at: a SYN+FIN there is a SYN.
    if (bad === 'syn-fin' && this.cfg.seqCheck === 'bsd' && this.state === 'TIME-WAIT') seg = { ...seg, flags: seg.flags & ~FIN };
    else if (bad !== null && !bsdNoAck) {
      this.stats.invalidFlags[bad]++;
      this.drop('invalid-flags', bad, seg, now);
      return;
    }
    if (this.cfg.ecn !== 'off') ecnOnInput(this, seg, ce);
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
  nextDeadline(): number {
    // Every timer's deadline (timers.ts onTimeout runs them), read straight off the layout: the host asks after
    // every segment, and the cold part's five exist only once it does.
    const x = this.times;
    let t = x[T_RTO_AT]!;
    if (x[T_TLP_AT]! < t) t = x[T_TLP_AT]!;
    if (x[T_DELACK_AT]! < t) t = x[T_DELACK_AT]!;
    if (x[T_KEEPALIVE_AT]! < t) t = x[T_KEEPALIVE_AT]!;
    if (x[T_TIME_WAIT_AT]! < t) t = x[T_TIME_WAIT_AT]!;
    if (this.rackObj !== null && this.rackObj.timerAt < t) t = this.rackObj.timerAt;
    const cold = this.cold;
    if (cold !== null) {
      if (cold.persistAt < t) t = cold.persistAt;
      if (cold.finWait2At < t) t = cold.finWait2At;
      if (cold.keepInitAt < t) t = cold.keepInitAt;
      if (cold.paceAt < t) t = cold.paceAt;
      if (cold.sackCompressAt < t) t = cold.sackCompressAt;
    }
    return t;
  }

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
    const events = this.events;
    if (events === null) return null;
    if (!Array.isArray(events)) { this.events = null; return events; }
    const e = events.shift()!;
    // Drained: let the list go (an idle connection holds no event list), as the spare if there is none.
    if (events.length === 0) { this.events = null; if (spareEvents === null) spareEvents = events; }
    return e;
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
    if (this.ctrl === NO_SEGMENTS) this.ctrl = [];
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
    this.paceAt = Infinity; this.sackCompressAt = Infinity;
    if (this.rackObj !== null) this.rackObj.timerAt = Infinity;
    this.timeWaitAt = now + 2 * this.cfg.msl;
    this.setState('TIME-WAIT', cause, now);
    kept.connection = this; // layouts.ts
  }

  /** @internal */
  fail(code: TcpErrorCode, message: string, cause: TcpCause, now: number): void {
    this.error = new TcpError(code, message);
    this.emit({ type: 'error', code, message, time: now });
    this.toClosed(cause, now);
  }

  /** @internal */
  toClosed(cause: TcpCause, now: number): void {
    this.rtoAt = this.tlpAt = this.delackAt = this.persistAt = this.keepaliveAt = this.timeWaitAt = this.finWait2At = this.keepInitAt = this.paceAt = this.sackCompressAt = Infinity;
    if (this.rackObj !== null) this.rackObj.timerAt = Infinity;
    this.synPending = false; this.ackNow = false; this.probePending = false; this.keepalivePending = false;
    const wasUsed = this.state !== 'CLOSED';
    if (this.error !== null) this.rcv.clear();
    this.setState('CLOSED', cause, now);
    if (wasUsed) this.emit({ type: 'closed', time: now });
    kept.connection = this; // layouts.ts
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
    if (to === 'ESTABLISHED' && this.synRetransmits > (this.cfg.synLossWindow === 'linux' ? 1 : 0)) {
      // RFC 5681 §3.1: the SYN or SYN+ACK was lost, so the initial window is one segment.
      this.cc.cwnd = Math.min(this.cc.cwnd, this.sndMss);
    }
    if (to === 'ESTABLISHED' && this.synTimedOut && !this.rtt.hasSample && this.rtt.rto < 3000) {
      // RFC 6298 §5.7: the timer expired awaiting the ACK of a SYN and no RTT sample came from the handshake
      // (Karn), so data transmission starts with RTO = 3 s rather than the more aggressive initial 1 s (as
      // Linux's tcp_init_metrics does). With timestamps the SYN+ACK's TSecr gives a sample and this is moot.
      this.rtt.rto = Math.min(this.cfg.rtoMax, 3000);
      this.rtt.backoff = 0;
    }
    this.emit({ type: 'state', from, to, cause, time: now });
  }

  /** @internal */
  emit(e: TcpEvent): void {
    const events = this.events;
    if (events === null) this.events = e;
    else if (Array.isArray(events)) events.push(e);
    else if (spareEvents !== null) { const list = spareEvents; spareEvents = null; list.push(events, e); this.events = list; }
    else this.events = [events, e];
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
    return this.timeWaitSnapshotInto({ sndNxt: 0, rcvNxt: 0, tsOk: false, tsRecent: 0, tsOffset: 0, window: 0, expiresAt: 0 });
  }

  /** @internal timeWaitSnapshot written into `out` (the stack's one scratch object: no object per connection). */
  timeWaitSnapshotInto<T extends { sndNxt: number; rcvNxt: number; tsOk: boolean; tsRecent: number; tsOffset: number; window: number; expiresAt: number }>(out: T): T {
    out.sndNxt = this.sndNxt; out.rcvNxt = this.rcvNxt; out.tsOk = this.tsOk; out.tsRecent = this.tsRecent;
    out.tsOffset = this.tsOffset; out.window = windowField(this); out.expiresAt = this.timeWaitAt;
    return out;
  }
}
