/**
 * The symbol table a runner needs to give script WORDs a value (§2.2, §7.4 of packetdrill-language.md):
 * socket-API constants, errno names with their strerror text, and the `%{ }%` state names of §11.6.
 * Values are Linux's (the doc: "Use Linux's values for printing"), plus FreeBSD's TCP_NOOPT and
 * TCP_KEEPINIT, which Linux lacks. A script compares numbers only for F_GETFL results and errnos read
 * through SO_ERROR, so the mapping onto synack's own API goes by name.
 */
import type { TcpStateName } from '../wire/trace.js';
import type { Expr } from './ast.js';

export const SOCKET_SYMBOLS: Readonly<Record<string, number>> = {
  AF_UNSPEC: 0, AF_INET: 2, AF_INET6: 10, PF_INET: 2, PF_INET6: 10,
  SOCK_STREAM: 1, SOCK_DGRAM: 2, SOCK_RAW: 3, SOCK_SEQPACKET: 5, SOCK_NONBLOCK: 0o4000, SOCK_CLOEXEC: 0o2000000,
  IPPROTO_IP: 0, IPPROTO_TCP: 6, IPPROTO_UDP: 17, IPPROTO_IPV6: 41, IPPROTO_SCTP: 132, IPPROTO_MPTCP: 262,
  SOL_IP: 0, SOL_SOCKET: 1, SOL_TCP: 6, SOL_IPV6: 41,
  SO_DEBUG: 1, SO_REUSEADDR: 2, SO_TYPE: 3, SO_ERROR: 4, SO_DONTROUTE: 5, SO_BROADCAST: 6, SO_SNDBUF: 7, SO_RCVBUF: 8,
  SO_KEEPALIVE: 9, SO_OOBINLINE: 10, SO_PRIORITY: 12, SO_LINGER: 13, SO_REUSEPORT: 15, SO_RCVLOWAT: 18, SO_SNDLOWAT: 19,
  SO_RCVTIMEO: 20, SO_SNDTIMEO: 21, SO_ACCEPTCONN: 30, SO_SNDBUFFORCE: 32, SO_RCVBUFFORCE: 33, SO_MAX_PACING_RATE: 47,
  TCP_NODELAY: 1, TCP_MAXSEG: 2, TCP_CORK: 3, TCP_KEEPIDLE: 4, TCP_KEEPINTVL: 5, TCP_KEEPCNT: 6, TCP_SYNCNT: 7,
  TCP_LINGER2: 8, TCP_DEFER_ACCEPT: 9, TCP_WINDOW_CLAMP: 10, TCP_INFO: 11, TCP_QUICKACK: 12, TCP_CONGESTION: 13,
  TCP_MD5SIG: 14, TCP_USER_TIMEOUT: 18, TCP_FASTOPEN: 23, TCP_NOTSENT_LOWAT: 25, TCP_FASTOPEN_CONNECT: 30,
  TCP_FASTOPEN_KEY: 33, TCP_FASTOPEN_NO_COOKIE: 34,
  // FreeBSD-only socket options (netinet/tcp.h): no Linux equivalent, FreeBSD's numbers.
  TCP_NOOPT: 8, TCP_KEEPINIT: 128,
  F_GETFD: 1, F_SETFD: 2, F_GETFL: 3, F_SETFL: 4, FD_CLOEXEC: 1,
  O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_NONBLOCK: 0o4000,
  SHUT_RD: 0, SHUT_WR: 1, SHUT_RDWR: 2,
  FIONREAD: 0x541b, SIOCINQ: 0x541b, SIOCOUTQ: 0x5411, FIONBIO: 0x5421,
  MSG_OOB: 0x1, MSG_PEEK: 0x2, MSG_DONTROUTE: 0x4, MSG_TRUNC: 0x20, MSG_DONTWAIT: 0x40, MSG_EOR: 0x80,
  MSG_WAITALL: 0x100, MSG_ERRQUEUE: 0x2000, MSG_NOSIGNAL: 0x4000, MSG_MORE: 0x8000, MSG_ZEROCOPY: 0x4000000,
  MSG_FASTOPEN: 0x20000000,
  POLLIN: 0x1, POLLPRI: 0x2, POLLOUT: 0x4, POLLERR: 0x8, POLLHUP: 0x10, POLLNVAL: 0x20, POLLRDNORM: 0x40,
  POLLRDBAND: 0x80, POLLWRNORM: 0x100, POLLWRBAND: 0x200, POLLRDHUP: 0x2000,
  INADDR_ANY: 0,
};

/** errno names (Linux numbers) with glibc's strerror text, as packetdrill prints them. */
export const ERRNOS: Readonly<Record<string, { value: number; message: string }>> = {
  EPERM: { value: 1, message: 'Operation not permitted' },
  ENOENT: { value: 2, message: 'No such file or directory' },
  EINTR: { value: 4, message: 'Interrupted system call' },
  EIO: { value: 5, message: 'Input/output error' },
  EBADF: { value: 9, message: 'Bad file descriptor' },
  EAGAIN: { value: 11, message: 'Resource temporarily unavailable' },
  EWOULDBLOCK: { value: 11, message: 'Resource temporarily unavailable' },
  ENOMEM: { value: 12, message: 'Cannot allocate memory' },
  EACCES: { value: 13, message: 'Permission denied' },
  EFAULT: { value: 14, message: 'Bad address' },
  EBUSY: { value: 16, message: 'Device or resource busy' },
  EEXIST: { value: 17, message: 'File exists' },
  EINVAL: { value: 22, message: 'Invalid argument' },
  ENFILE: { value: 23, message: 'Too many open files in system' },
  EMFILE: { value: 24, message: 'Too many open files' },
  ENOSPC: { value: 28, message: 'No space left on device' },
  EPIPE: { value: 32, message: 'Broken pipe' },
  ENOTSOCK: { value: 88, message: 'Socket operation on non-socket' },
  EDESTADDRREQ: { value: 89, message: 'Destination address required' },
  EMSGSIZE: { value: 90, message: 'Message too long' },
  EPROTOTYPE: { value: 91, message: 'Protocol wrong type for socket' },
  ENOPROTOOPT: { value: 92, message: 'Protocol not available' },
  EPROTONOSUPPORT: { value: 93, message: 'Protocol not supported' },
  EOPNOTSUPP: { value: 95, message: 'Operation not supported' },
  EAFNOSUPPORT: { value: 97, message: 'Address family not supported by protocol' },
  EADDRINUSE: { value: 98, message: 'Address already in use' },
  EADDRNOTAVAIL: { value: 99, message: 'Cannot assign requested address' },
  ENETDOWN: { value: 100, message: 'Network is down' },
  ENETUNREACH: { value: 101, message: 'Network is unreachable' },
  ENETRESET: { value: 102, message: 'Network dropped connection on reset' },
  ECONNABORTED: { value: 103, message: 'Software caused connection abort' },
  ECONNRESET: { value: 104, message: 'Connection reset by peer' },
  ENOBUFS: { value: 105, message: 'No buffer space available' },
  EISCONN: { value: 106, message: 'Transport endpoint is already connected' },
  ENOTCONN: { value: 107, message: 'Transport endpoint is not connected' },
  ESHUTDOWN: { value: 108, message: 'Cannot send after transport endpoint shutdown' },
  ETIMEDOUT: { value: 110, message: 'Connection timed out' },
  ECONNREFUSED: { value: 111, message: 'Connection refused' },
  EHOSTDOWN: { value: 112, message: 'Host is down' },
  EHOSTUNREACH: { value: 113, message: 'No route to host' },
  EALREADY: { value: 114, message: 'Operation already in progress' },
  EINPROGRESS: { value: 115, message: 'Operation now in progress' },
};

/**
 * State names usable in `%{ assert tcpi_state == NAME }%` (§11.6): nplab's TCPI_* names and Linux's
 * TCP_* names, mapped to RFC 9293 state names so the runner compares states, not platform numbers.
 */
export const CODE_STATE_NAMES: Readonly<Record<string, TcpStateName>> = {
  TCPI_CLOSED: 'CLOSED', TCPI_LISTEN: 'LISTEN', TCPI_SYN_SENT: 'SYN-SENT', TCPI_SYN_RECEIVED: 'SYN-RECEIVED',
  TCPI_ESTABLISHED: 'ESTABLISHED', TCPI_CLOSE_WAIT: 'CLOSE-WAIT', TCPI_FIN_WAIT_1: 'FIN-WAIT-1', TCPI_CLOSING: 'CLOSING',
  TCPI_LAST_ACK: 'LAST-ACK', TCPI_FIN_WAIT_2: 'FIN-WAIT-2', TCPI_TIME_WAIT: 'TIME-WAIT',
  TCP_ESTABLISHED: 'ESTABLISHED', TCP_SYN_SENT: 'SYN-SENT', TCP_SYN_RECV: 'SYN-RECEIVED', TCP_FIN_WAIT1: 'FIN-WAIT-1',
  TCP_FIN_WAIT2: 'FIN-WAIT-2', TCP_TIME_WAIT: 'TIME-WAIT', TCP_CLOSE: 'CLOSED', TCP_CLOSE_WAIT: 'CLOSE-WAIT',
  TCP_LAST_ACK: 'LAST-ACK', TCP_LISTEN: 'LISTEN', TCP_CLOSING: 'CLOSING',
};

/** `tcpi_options` bits (same on Linux and FreeBSD). */
export const CODE_OPTION_BITS: Readonly<Record<string, number>> = {
  TCPI_OPT_TIMESTAMPS: 1, TCPI_OPT_SACK: 2, TCPI_OPT_WSCALE: 4, TCPI_OPT_ECN: 8,
};

/** Thrown when an expression cannot be reduced to an integer; carries the script position. */
export class DrillSymbolError extends Error {
  readonly line: number;
  readonly column: number;
  constructor(message: string, at: { line: number; column: number }) {
    super(`${at.line}:${at.column}: ${message}`);
    this.name = 'DrillSymbolError';
    this.line = at.line;
    this.column = at.column;
  }
}

/**
 * Value of an integer-valued expression: an int, a known symbol or errno name, `A | B`, or `[x]`
 * (an int pointer, whose pointee is meant). `extra` (e.g. the script's -D values) is consulted first.
 */
export function evalIntExpr(e: Expr, extra: Readonly<Record<string, number>> = {}): number {
  switch (e.kind) {
    case 'int': return e.value;
    case 'symbol': {
      const v = extra[e.name] ?? SOCKET_SYMBOLS[e.name] ?? ERRNOS[e.name]?.value;
      if (v === undefined) throw new DrillSymbolError(`unknown symbol '${e.name}'`, e);
      return v;
    }
    case 'or': return e.operands.reduce((acc, o) => (acc | evalIntExpr(o, extra)) >>> 0, 0);
    case 'array':
      if (e.items.length === 1) return evalIntExpr(e.items[0]!, extra);
      throw new DrillSymbolError(`expected [N], an array of ${e.items.length} values`, e);
    default:
      throw new DrillSymbolError(`expected an integer, found ${e.kind === 'ellipsis' ? '...' : `a ${e.kind}`}`, e);
  }
}
