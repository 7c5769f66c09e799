/** Helpers for engine tests: hand-built segments and connections in known states with fixed ISNs. */
import { ACK, EMPTY, FIN, SYN, flagsToString, type TcpOptions, type TcpSegment } from '../wire/tcp-types.js';
import type { TcpStateName } from '../wire/trace.js';
import { TcpConnection, type TcpEvent } from './connection.js';
import type { TcpConfig } from './config.js';
import { TcpStats } from './stats.js';

export const LOCAL_PORT = 80;
export const REMOTE_PORT = 40000;
export const ISS = 1000;
export const IRS = 5000;

/** A segment from the remote peer to us. */
export function seg(flags: number, seq: number, ack = 0, opts: { window?: number; payload?: Uint8Array; options?: TcpOptions } = {}): TcpSegment {
  return {
    srcPort: REMOTE_PORT, dstPort: LOCAL_PORT, seq: seq >>> 0, ack: ack >>> 0, flags,
    window: opts.window ?? 65535, urgent: 0, options: opts.options ?? {}, payload: opts.payload ?? EMPTY,
  };
}

export function bytes(n: number, fill = 0x61): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (fill + i) & 0xff;
  return b;
}

/** Plain config: no options negotiated unless asked, no delayed ACK, so traces are easy to read. */
export const PLAIN: Partial<TcpConfig> = { timestamps: false, sack: false, windowScaling: false, delayedAck: false, nagle: false };

export function newConn(config: Partial<TcpConfig> = PLAIN, stats = new TcpStats()): TcpConnection {
  return new TcpConnection({ localPort: LOCAL_PORT, remotePort: REMOTE_PORT, iss: ISS, config, stats });
}

/**
 * A passive SACK connection whose handshake measured `rtt` ms (the SYN at 0, its ACK at `rtt`), for the
 * loss-recovery tests: the peer offers `mss` bytes of data per segment (12 more with timestamps, which take them).
 */
export function sackSender(mss: number, rtt: number, config: Partial<TcpConfig> = {}): TcpConnection {
  const ts = config.timestamps === true;
  const c = newConn({ ...PLAIN, sack: true, ...config });
  c.listen(0);
  c.input(seg(SYN, IRS, 0, { options: { mss: mss + (ts ? 12 : 0), sackPermitted: true, ...(ts ? { tsVal: 1, tsEcr: 0 } : {}) }, window: 65535 }), 0);
  const synAck = c.drainTransmit(0)[0]!;
  c.input(seg(ACK, IRS + 1, ISS + 1, { window: 65535, options: ts ? { tsVal: 2, tsEcr: synAck.options.tsVal! } : {} }), rtt);
  c.drainTransmit(rtt);
  return c;
}

/** Run every timer of `c` due up to `until`, in order; returns what was sent. */
export function runTimers(c: TcpConnection, until: number): TcpSegment[] {
  const out: TcpSegment[] = [];
  for (let t = c.nextDeadline(); t <= until; t = c.nextDeadline()) { c.onTimeout(t); out.push(...c.drainTransmit(t)); }
  return out;
}

/** A passive connection taken through LISTEN → SYN-RECEIVED → ESTABLISHED with a plain handshake. */
export function established(config: Partial<TcpConfig> = PLAIN, now = 0, peer: { options?: TcpOptions; window?: number; ackOptions?: TcpOptions } = {}): TcpConnection {
  const c = newConn(config);
  c.listen(now);
  c.input(seg(0x02, IRS, 0, { options: peer.options ?? {}, window: peer.window ?? 65535 }), now);
  c.drainTransmit(now);
  c.input(seg(ACK, IRS + 1, ISS + 1, { options: peer.ackOptions ?? {}, window: peer.window ?? 65535 }), now);
  c.drainTransmit(now);
  c.drainEvents();
  return c;
}

export function states(events: TcpEvent[]): string[] {
  return events.filter((e) => e.type === 'state').map((e) => (e as { to: string }).to);
}

/** Read everything currently readable into one array. */
export function readAll(c: TcpConnection): Uint8Array {
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) { const b = c.read(); if (b.length === 0) break; parts.push(b); n += b.length; }
  const out = new Uint8Array(n);
  let o = 0;
  for (const b of parts) { out.set(b, o); o += b.length; }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Connections in every RFC 9293 state, reached only through the engine's own transitions, and a
// compact rendering of what a connection transmits ("FIN+ACK seq=1001 ack=5001") for trace-style asserts.
// With ISS = 1000 and IRS = 5000, SND.NXT starts at 1001 and RCV.NXT at 5001.
// ---------------------------------------------------------------------------------------------

/** One segment as a short line with absolute numbers: flags, seq, ack (only when ACK is set), len when > 0. */
export function describeSeg(s: TcpSegment): string {
  return `${flagsToString(s.flags)} seq=${s.seq >>> 0}${s.flags & ACK ? ` ack=${s.ack >>> 0}` : ''}${s.payload.length ? ` len=${s.payload.length}` : ''}`;
}

/** Everything the connection transmits now, described. */
export function wire(c: TcpConnection, now: number): string[] {
  return c.drainTransmit(now).map(describeSeg);
}

/** Active open: connect() has sent SYN seq=ISS. */
export function synSent(config: Partial<TcpConfig> = PLAIN, now = 0): TcpConnection {
  const c = newConn(config);
  c.connect(now);
  c.drainTransmit(now);
  c.drainEvents();
  return c;
}

/** Passive open: SYN seq=IRS arrived in LISTEN, SYN+ACK seq=ISS ack=IRS+1 sent. */
export function synReceived(config: Partial<TcpConfig> = PLAIN, now = 0): TcpConnection {
  const c = newConn(config);
  c.listen(now);
  c.input(seg(SYN, IRS), now);
  c.drainTransmit(now);
  c.drainEvents();
  return c;
}

/** ESTABLISHED, then shutdown(): FIN seq=1001 sent and not yet acknowledged. */
export function finWait1(config: Partial<TcpConfig> = PLAIN, now = 0): TcpConnection {
  const c = established(config, now);
  c.shutdown(now);
  c.drainTransmit(now);
  c.drainEvents();
  return c;
}

/** FIN-WAIT-1, then the peer ACKs our FIN (ack=1002). */
export function finWait2(config: Partial<TcpConfig> = PLAIN, now = 0): TcpConnection {
  const c = finWait1(config, now);
  c.input(seg(ACK, IRS + 1, ISS + 2), now);
  c.drainTransmit(now);
  c.drainEvents();
  return c;
}

/** FIN-WAIT-2, then the peer's FIN seq=5001 arrives: TIME-WAIT, RCV.NXT = 5002. */
export function timeWait(config: Partial<TcpConfig> = PLAIN, now = 0): TcpConnection {
  const c = finWait2(config, now);
  c.input(seg(FIN | ACK, IRS + 1, ISS + 2), now);
  c.drainTransmit(now);
  c.drainEvents();
  return c;
}

/** ESTABLISHED, then the peer's FIN seq=5001 arrives: CLOSE-WAIT, RCV.NXT = 5002. */
export function closeWait(config: Partial<TcpConfig> = PLAIN, now = 0): TcpConnection {
  const c = established(config, now);
  c.input(seg(FIN | ACK, IRS + 1, ISS + 1), now);
  c.drainTransmit(now);
  c.drainEvents();
  return c;
}

/** CLOSE-WAIT, then shutdown(): FIN seq=1001 sent, not yet acknowledged. */
export function lastAck(config: Partial<TcpConfig> = PLAIN, now = 0): TcpConnection {
  const c = closeWait(config, now);
  c.shutdown(now);
  c.drainTransmit(now);
  c.drainEvents();
  return c;
}

/** FIN-WAIT-1, then the peer's FIN arrives without acknowledging ours: CLOSING (simultaneous close). */
export function closing(config: Partial<TcpConfig> = PLAIN, now = 0): TcpConnection {
  const c = finWait1(config, now);
  c.input(seg(FIN | ACK, IRS + 1, ISS + 1), now);
  c.drainTransmit(now);
  c.drainEvents();
  return c;
}

/** A connection in the named state (CLOSED: a fresh, never-used TCB). */
export function inState(state: TcpStateName, config: Partial<TcpConfig> = PLAIN, now = 0): TcpConnection {
  switch (state) {
    case 'CLOSED': return newConn(config);
    case 'LISTEN': { const c = newConn(config); c.listen(now); c.drainEvents(); return c; }
    case 'SYN-SENT': return synSent(config, now);
    case 'SYN-RECEIVED': return synReceived(config, now);
    case 'ESTABLISHED': { const c = established(config, now); return c; }
    case 'FIN-WAIT-1': return finWait1(config, now);
    case 'FIN-WAIT-2': return finWait2(config, now);
    case 'CLOSE-WAIT': return closeWait(config, now);
    case 'CLOSING': return closing(config, now);
    case 'LAST-ACK': return lastAck(config, now);
    case 'TIME-WAIT': return timeWait(config, now);
  }
}

export const ALL_STATES: readonly TcpStateName[] = [
  'CLOSED', 'LISTEN', 'SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2',
  'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT',
];

/** Every state change RFC 9293 §3.3.2 (Figure 6) and §3.10 allow, as "FROM>TO". */
export const LEGAL_TRANSITIONS: ReadonlySet<string> = new Set([
  'CLOSED>LISTEN', 'CLOSED>SYN-SENT', 'CLOSED>ESTABLISHED' /* SYN cookie */,
  'LISTEN>SYN-RECEIVED', 'LISTEN>SYN-SENT', 'LISTEN>CLOSED',
  'SYN-SENT>SYN-RECEIVED', 'SYN-SENT>ESTABLISHED', 'SYN-SENT>CLOSED',
  'SYN-RECEIVED>ESTABLISHED', 'SYN-RECEIVED>CLOSED', 'SYN-RECEIVED>LISTEN',
  'ESTABLISHED>FIN-WAIT-1', 'ESTABLISHED>CLOSE-WAIT', 'ESTABLISHED>CLOSED',
  'FIN-WAIT-1>FIN-WAIT-2', 'FIN-WAIT-1>CLOSING', 'FIN-WAIT-1>TIME-WAIT', 'FIN-WAIT-1>CLOSED',
  'FIN-WAIT-2>TIME-WAIT', 'FIN-WAIT-2>CLOSED',
  'CLOSE-WAIT>LAST-ACK', 'CLOSE-WAIT>CLOSED',
  'CLOSING>TIME-WAIT', 'CLOSING>CLOSED',
  'LAST-ACK>CLOSED',
  'TIME-WAIT>CLOSED',
]);

/**
 * Invariants of one connection that must hold after every input, user call and timeout. Returns the
 * violations (empty when all hold) so callers can report them with context.
 */
export function connectionInvariants(c: TcpConnection): string[] {
  const bad: string[] = [];
  const lt = (a: number, b: number) => ((a - b) | 0) < 0;
  if (lt(c.sndNxt, c.sndUna)) bad.push(`SND.NXT ${c.sndNxt} < SND.UNA ${c.sndUna}`);
  if (lt(c.sndUna, c.iss)) bad.push(`SND.UNA ${c.sndUna} < ISS ${c.iss}`);
  if (c.bytesInFlight < 0 || c.bytesInFlight > c.sendQueued + 2) bad.push(`in flight ${c.bytesInFlight} > queued ${c.sendQueued} + SYN + FIN`);
  if (c.readableLength > c.config.recvBufferSize) bad.push(`readable ${c.readableLength} > buffer ${c.config.recvBufferSize}`);
  if (c.sendQueued > c.config.sendBufferSize) bad.push(`send queue ${c.sendQueued} > buffer ${c.config.sendBufferSize}`);
  if (c.rcvWnd < 0 || c.rcvWnd > c.config.recvBufferSize + (1 << c.rcvShift)) bad.push(`RCV.WND ${c.rcvWnd} outside buffer ${c.config.recvBufferSize}`);
  if (c.sndWnd < 0 || c.sndWnd > 65535 * 2 ** 14) bad.push(`SND.WND ${c.sndWnd} out of range`);
  if (c.congestionWindow <= 0 || !Number.isFinite(c.congestionWindow)) bad.push(`cwnd ${c.congestionWindow}`);
  if (!(c.retransmissionTimeout >= c.config.rtoMin && c.retransmissionTimeout <= c.config.rtoMax)) bad.push(`RTO ${c.retransmissionTimeout} outside [rtoMin, rtoMax]`);
  if (c.state === 'CLOSED' && c.nextDeadline() !== Infinity) bad.push('CLOSED with a timer armed');
  if (c.state === 'LISTEN' && c.nextDeadline() !== Infinity) bad.push('LISTEN with a timer armed');
  const d = c.nextDeadline();
  if (Number.isNaN(d)) bad.push('deadline NaN');
  return bad;
}

/** A small seeded generator of floats in [0, 1) (mulberry32), for tests that draw orders and sizes from a seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
