/**
 * Node-style errors and argument checks of the node:net layer (socket.ts, server.ts): errors with Node's `code`,
 * `syscall`, `errno` and message form, the ERR_* errors Node throws for a misused API, port and address checks.
 * Apart from socket.ts so both classes share them and a reader finds what an error looks like in one place.
 * No Node import (NodeJS.ErrnoException is a type only).
 */
import type { TcpErrorCode } from '../tcp/connection.js';
import { parseAddress } from '../wire/address.js';

/** Node's error shape: `code`, `syscall`, `errno`-like `address`/`port`. */
export type SocketError = NodeJS.ErrnoException & { address?: string; port?: number };

/** An Error with Node's `code`, `syscall`, `address` and `port`, and Node's message form ("connect ECONNREFUSED 10.0.0.1:80"). */
export function socketError(code: TcpErrorCode | string, syscall: string, message: string, address?: string, port?: number): SocketError {
  const where = address ? ` ${address}${port !== undefined ? ':' + port : ''}` : '';
  const e = new Error(`${syscall} ${code}${where}${message ? ` (${message})` : ''}`) as SocketError;
  e.code = code;
  e.syscall = syscall;
  e.errno = ERRNO[code];
  if (address) e.address = address;
  if (port !== undefined) e.port = port;
  return e;
}

/** Linux errno values (negated, as libuv reports them) for the codes synack produces. */
const ERRNO: Record<string, number> = {
  ECONNREFUSED: -111, ECONNRESET: -104, ETIMEDOUT: -110, EPIPE: -32, ENOTCONN: -107, EISCONN: -106,
  ECONNABORTED: -103, EADDRINUSE: -98, EADDRNOTAVAIL: -99, EHOSTUNREACH: -113, ENETUNREACH: -101,
  EACCES: -13, EPROTO: -71, ENOPROTOOPT: -92, EMSGSIZE: -90, EOPNOTSUPP: -95, EHOSTDOWN: -112, ENONET: -64,
  ENOTFOUND: -3008, // libuv's UV_EAI_NONAME, as Node reports a name nobody resolves
};

/** A Node-style error for a misused API: `code` like ERR_SOCKET_BAD_PORT, thrown synchronously as Node does. */
export function apiError<T extends Error>(Ctor: new (m: string) => T, code: string, message: string): T & { code: string } {
  const e = new Ctor(message) as T & { code: string };
  e.code = code;
  return e;
}

/** Validates a port as Node's net does (a number or numeric string, 0..65535). */
export function checkPort(port: unknown, name = 'Port', allowZero = true): number {
  const n = typeof port === 'string' && port.trim() !== '' ? Number(port) : port;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65535) {
    throw apiError(RangeError, 'ERR_SOCKET_BAD_PORT', `${name} should be >= ${allowZero ? 0 : 1} and < 65536. Received ${typeof port === 'string' ? `type string ('${port}')` : `type ${typeof port} (${String(port)})`}.`);
  }
  return n;
}

/** An IPv4/IPv6 literal (connected to as it is), not a name to resolve. */
export function isIpLiteral(host: string): boolean {
  if (host === lastLiteral) return true; // a client connecting to one host again and again parses it once
  try { parseAddress(host); lastLiteral = host; return true; } catch { return false; }
}
let lastLiteral = '';
