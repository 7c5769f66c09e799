/**
 * Passive open (RFC 9293 §3.10.1, §3.10.7.2): listeners, their SYN queue and accept queue (backlog), SYN cookies
 * when the SYN queue is full, the per-source SYN rate limit, and the promotion of a connection that completed
 * its handshake to the accept queue or the listener's callback.
 */
import { ACK, RST, SYN, type TcpSegment } from '../wire/tcp-types.js';
import { TcpConnection, rstFor, type TcpConnectionOptions } from '../tcp/connection.js';
import { resolveConfig, type TcpConfig } from '../tcp/config.js';
import { classifyInvalidFlags } from '../tcp/flags.js';
import { StackConnection } from './connection.js';
import type { FastOpenCookies } from './fast-open.js';
import { addConn, internAddr, tupleKey } from './demux.js';
import { applyPathMtu, mssFor } from './ip-pmtu.js';
import { output } from './ip-output.js';
import type { Stack } from './stack.js';

/** Options of Stack.listen (exported as `StackListenOptions`). */
export interface ListenOptions {
  /** Accept-queue and SYN-queue bound (Node's default backlog is 511). */
  backlog?: number;
  /** Address to bind; all of the stack's addresses when omitted. */
  host?: string;
  /** Called for each connection that completed the handshake. */
  onConnection?: (c: StackConnection) => void;
}

/**
 * A passive open (RFC 9293 §3.10.1, LISTEN) on one port: connections in SYN-RECEIVED wait in `synQueue`, those
 * that completed the handshake go to `onConnection` or, without it, the accept queue (`accept()`). Both hold
 * at most `backlog`: with the SYN queue full, SYNs are answered with SYN cookies (StackOptions.syncookies) or
 * dropped; with the accept queue full, they are dropped.
 */
export class Listener {
  readonly synQueue = new Set<StackConnection>();
  readonly acceptQueue: StackConnection[] = [];
  closed = false;
  /** Called once when the listener closes, by close() or because the stack was destroyed. */
  onClosed: (() => void) | null = null;
  /** @internal TCP Fast Open server cookies (RFC 7413 §4.2.2, fast-open.ts): null = no TFO on this listener. */
  fastOpen: FastOpenCookies | null = null;
  constructor(
    readonly stack: Stack,
    readonly port: number,
    readonly addr: Uint8Array | null,
    public backlog: number,
    /** Called for each connection that completed the handshake; null queues them for accept(). */
    public onConnection: ((c: StackConnection) => void) | null,
  ) {}
  /** Take the next completed connection (when no onConnection callback is set). */
  accept(): StackConnection | null { return this.acceptQueue.shift() ?? null; }
  /** Stop listening (Stack.unlisten): connections not yet accepted are reset. */
  close(): void { this.stack.unlisten(this); }
}

// ---------------------------------------------------------------------------------------------
// SEGMENT ARRIVES at a listener (RFC 9293 §3.10.7.2)
// ---------------------------------------------------------------------------------------------

export function listenerArrives(s: Stack, l: Listener, la: Uint8Array, ra: Uint8Array, seg: TcpSegment, now: number): void {
  const f = seg.flags;
  s.stats.InSegs++;
  const bad = classifyInvalidFlags(f);
  if (bad !== null) { s.stats.invalidFlags[bad]++; return; } // Linux discards these in LISTEN
  if (f & RST) return;
  if (f & ACK) {
    // Possibly the third segment of a cookie handshake (SYN cookies, once installed: syn-cookies.ts).
    if (!(f & SYN) && s.syncookies && s.cookies !== null && s.cookies.ackArrives(s, l, la, ra, seg, now)) return;
    // FreeBSD 14 drops a SYN+ACK at a listener silently (config.listenSynAck 'drop').
    if ((f & SYN) && s.config.listenSynAck === 'drop') return;
    // LISTEN + ACK: <SEQ=SEG.ACK><CTL=RST> (§3.10.7.2).
    s.stats.OutRsts++; s.stats.OutSegs++;
    output(s, la, ra, rstFor(seg), now);
    return;
  }
  if (!(f & SYN)) return;
  // Per-source SYN rate limit.
  if (!s.synRate.allow(ra, now)) { s.counters.SynRateDrops++; s.counters.ListenDrops++; return; }
  if (l.acceptQueue.length >= l.backlog) {
    // Accept queue full: drop the SYN (Linux: ListenOverflows).
    s.counters.ListenOverflows++; s.counters.ListenDrops++;
    return;
  }
  if (l.synQueue.size >= l.backlog) {
    // Without SYN cookies (off, or not installed: syn-cookies.ts) the SYN is dropped, as Linux's tcp_syncookies 0.
    if (!s.syncookies || s.cookies === null) { s.counters.TCPReqQFullDrop++; s.counters.ListenDrops++; return; }
    s.cookies.answerSyn(s, l, la, ra, seg, now);
    return;
  }
  // Our own copy: `ra` is a view into the packet buffer, which must not be kept alive by a connection.
  ra = internAddr(s, ra);
  const key = tupleKey(la, l.port, ra, seg.srcPort);
  const o = OPENING;
  o.localPort = l.port; o.remotePort = seg.srcPort; o.iss = s.isn.isn(la, l.port, ra, seg.srcPort, now);
  o.config = listenConfig(s, mssFor(s, ra)); o.stats = s.stats; o.tsOffset = s.randomU32();
  let tcp: TcpConnection;
  try { tcp = new TcpConnection(o); } finally { o.config = undefined; o.stats = undefined; } // nothing kept alive through the scratch, even when the engine refuses its configuration
  const c = new StackConnection(s, tcp, la, l.port, ra, seg.srcPort, key);
  c.listener = l;
  c.embryonic = true;
  l.synQueue.add(c);
  addConn(s, c);
  tcp.listen(now);
  applyPathMtu(s, c, now);
  // TCP Fast Open (RFC 7413 §4.2.2): a valid cookie's SYN data is taken at once and the connection can be
  // accepted before the handshake completes; otherwise our SYN,ACK carries the client's cookie.
  const tfo = l.fastOpen !== null && seg.options.fastOpen !== undefined && l.fastOpen.onSyn(tcp, seg, ra, la);
  tcp.input(seg, now);
  if (tfo && c.embryonic && tcp.state === 'SYN-RECEIVED') promote(s, c);
  s.service(c);
}

/**
 * The options of each passively opened connection's engine, one scratch object: TcpConnection reads them and keeps
 * none, and an object per SYN was ~70 bytes of garbage per connection.
 */
const OPENING: TcpConnectionOptions = { localPort: 0, remotePort: 0, iss: 0, config: undefined, stats: undefined, tsOffset: 0 };

/** The configuration of passively opened connections with this MSS: one object shared by all of them. */
export function listenConfig(s: Stack, mss: number): TcpConfig {
  let cfg = s.listenConfigs.get(mss);
  if (cfg === undefined) {
    cfg = resolveConfig({ ...s.config, mss, synAckRetries: s.listenSynAckRetries });
    s.listenConfigs.set(mss, cfg);
  }
  return cfg;
}

export function promote(s: Stack, c: StackConnection): void {
  const l = c.listener;
  c.embryonic = false;
  if (!l) return;
  l.synQueue.delete(c);
  if (l.closed) return;
  if (l.onConnection) l.onConnection(c);
  else l.acceptQueue.push(c);
}
