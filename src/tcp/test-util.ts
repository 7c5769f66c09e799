/** Helpers for engine tests: hand-built segments and connections in known states with fixed ISNs. */
import { ACK, EMPTY, type TcpOptions, type TcpSegment } from '../wire/tcp-types.js';
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

/** A passive connection taken through LISTEN → SYN-RECEIVED → ESTABLISHED with a plain handshake. */
export function established(config: Partial<TcpConfig> = PLAIN, now = 0): TcpConnection {
  const c = newConn(config);
  c.listen(now);
  c.input(seg(0x02, IRS, 0), now);
  c.drainTransmit(now);
  c.input(seg(ACK, IRS + 1, ISS + 1), now);
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
