/**
 * The socket-call layer packetdrill scripts drive (packetdrill-language.md §7): a file-descriptor table of
 * BSD-style sockets over synack's Stack, with Linux errno names. Each call returns an Outcome, or 'block'
 * when a blocking socket would wait; the runner turns that into a pending operation (§3.5) and retries it
 * after every change of the stack.
 */
import type { Listener, Stack, StackConnection } from '../stack/stack.js';
import { TcpError } from '../tcp/connection.js';
import type { TcpConfig } from '../tcp/config.js';
import type { Profile } from './personality.js';
import { FastOpenCookieCache, FastOpenCookies } from '../stack/fast-open.js';
import { parseAddress } from '../wire/address.js';
import { ERRNOS, SOCKET_SYMBOLS as S } from './symbols.js';
import { RST } from '../wire/tcp-types.js';

export interface Outcome {
  ret: number;
  errno?: string;
  /** getsockopt's value (int) or ioctl's output; compared with the script's `[N]`. */
  value?: number;
}

export type CallResult = Outcome | 'block';

export interface Sock {
  fd: number;
  nonblock: boolean;
  boundPort?: number;
  listener?: Listener;
  conn?: StackConnection;
  connecting: boolean;
  /** The pending error SO_ERROR returns (and clears), and read/write report once. */
  errorReported: boolean;
  shutRd: boolean;
  shutWr: boolean;
  lingerZero: boolean;
  /** Per-socket overrides applied to the connection when it is created. */
  config: Partial<TcpConfig>;
  keepAlive: boolean;
  keepIdleMs?: number;
  rcvBuf?: number;
  /** SO_SNDBUF as set (what getsockopt reports): a fixed send buffer, inherited by accepted sockets. */
  sndBuf?: number;
  /** TCP_LINGER2 in ms (negative: none), applied to the connection. */
  linger2Ms?: number;
  /** TCP_FASTOPEN's queue length on a (future) listener: > 0 turns TFO on for it. */
  fastOpenQlen?: number;
  /** TCP_FASTOPEN_CONNECT: connect() with a cached cookie defers the SYN to the first write, which it carries. */
  fastOpenConnect?: boolean;
  deferredConnect?: boolean;
  closed: boolean;
}

export class SocketCallError extends Error {
  constructor(message: string) { super(message); this.name = 'SocketCallError'; }
}

const ZEROS = new Uint8Array(1 << 16);
function zeros(n: number): Uint8Array { return n <= ZEROS.length ? ZEROS.subarray(0, n) : new Uint8Array(n); }

export interface SocketEnv {
  stack: Stack;
  profile: Profile;
  localIp: string;
  remoteIp: string;
  bindPort: number;
  connectPort: number;
}

export class SocketTable {
  readonly socks = new Map<number, Sock>();
  private nextFd = 3;
  /** TCP Fast Open (RFC 7413): the server's cookies and the client's cookie cache (src/stack/fast-open.ts). */
  private readonly tfoCookies: FastOpenCookies;
  private readonly tfoCache = new FastOpenCookieCache();
  constructor(private readonly env: SocketEnv) { this.tfoCookies = new FastOpenCookies(env.profile.fastOpenKey); }

  private now(): number { return this.env.stack.clock.now(); }

  get(fd: number): Sock | undefined {
    const s = this.socks.get(fd);
    return s && !s.closed ? s : undefined;
  }

  private newSock(): Sock {
    const fd = this.nextFd++;
    const s: Sock = { fd, nonblock: false, connecting: false, errorReported: false, shutRd: false, shutWr: false, lingerZero: false, config: {}, keepAlive: false, closed: false };
    this.socks.set(fd, s);
    return s;
  }

  socket(): Outcome { return { ret: this.newSock().fd }; }

  bind(fd: number, port: number): Outcome {
    const s = this.get(fd);
    if (!s) return err('EBADF');
    if (s.boundPort !== undefined) return err('EINVAL');
    s.boundPort = port;
    return { ret: 0 };
  }

  listen(fd: number, backlog: number): Outcome {
    const s = this.get(fd);
    if (!s) return err('EBADF');
    if (s.conn) return err('EINVAL');
    if (s.listener) { s.listener.backlog = Math.max(1, backlog); return { ret: 0 }; }
    try {
      if (s.config.noOptions !== undefined) this.env.stack.config.noOptions = s.config.noOptions;
      s.listener = this.env.stack.listen(s.boundPort ?? this.env.bindPort, { backlog: Math.max(1, backlog), host: this.env.localIp });
      this.applyFastOpen(s);
    } catch (e) {
      return err(codeOf(e) ?? 'EADDRINUSE');
    }
    return { ret: 0 };
  }

  accept(fd: number): CallResult {
    const s = this.get(fd);
    if (!s) return err('EBADF');
    if (!s.listener) return err('EINVAL');
    const c = s.listener.accept();
    if (!c) return s.nonblock ? err('EAGAIN') : 'block';
    const n = this.newSock();
    n.conn = c;
    n.boundPort = c.localPort;
    c.keepTimeWaitTcb = this.env.profile.keepTimeWaitTcb;
    if (s.linger2Ms !== undefined) c.tcp.setFinWait2Timeout(s.linger2Ms, this.now());
    // Options set on the listening socket are inherited (SO_KEEPALIVE, TCP_KEEPIDLE).
    if (s.keepAlive) { n.keepAlive = true; n.keepIdleMs = s.keepIdleMs; c.tcp.setKeepAlive(true, s.keepIdleMs ?? 0, this.now()); c.service(); }
    // SO_SNDBUF too (Linux sk_clone_lock copies sk_sndbuf and the lock; FreeBSD sonewconn the reservation).
    if (s.sndBuf !== undefined) {
      n.sndBuf = s.sndBuf;
      n.config.sendBufferSize = s.sndBuf;
      n.config.sendBufferAutotune = false;
      this.applyConfig(n);
    }
    return { ret: n.fd };
  }

  /** Starts (or, for a blocking socket, waits for) an active open. */
  connect(fd: number): CallResult {
    const s = this.get(fd);
    if (!s) return err('EBADF');
    if (s.listener) return err('EISCONN');
    if (s.conn) {
      const st = s.conn.tcp.state;
      if (s.connecting) {
        if (st === 'SYN-SENT' || st === 'SYN-RECEIVED') return s.nonblock ? err('EALREADY') : 'block';
        s.connecting = false;
        const e = this.sockError(s);
        if (e) { s.errorReported = true; return err(e); }
        return { ret: 0 };
      }
      return err('EISCONN');
    }
    if (s.deferredConnect) return err('EISCONN');
    const config: Partial<TcpConfig> = { ...s.config };
    // TCP_FASTOPEN_CONNECT (Linux tcp_fastopen_defer_connect): with a cached cookie, connect() succeeds at once
    // and the SYN waits for the first write; without one, the SYN asks for a cookie.
    let fastOpen: { cookie: Uint8Array } | undefined;
    if (s.fastOpenConnect && (this.env.profile.fastOpen & 0x1)) {
      this.learnCookies();
      const cookie = this.tfoCache.get(parseAddress(this.env.remoteIp));
      if (cookie) { s.deferredConnect = true; return { ret: 0 }; }
      fastOpen = { cookie: new Uint8Array(0) };
    }
    let c: StackConnection;
    try {
      c = this.env.stack.connect({ host: this.env.remoteIp, port: this.env.connectPort, localAddress: this.env.localIp, localPort: s.boundPort, config, fastOpen });
    } catch (e) {
      return err(codeOf(e) ?? 'EADDRNOTAVAIL');
    }
    s.conn = c;
    s.connecting = true;
    c.keepTimeWaitTcb = this.env.profile.keepTimeWaitTcb;
    if (s.linger2Ms !== undefined) c.tcp.setFinWait2Timeout(s.linger2Ms, this.now());
    if (s.keepAlive) { c.tcp.setKeepAlive(true, s.keepIdleMs ?? 0, this.now()); c.service(); }
    if (s.nonblock) return err('EINPROGRESS');
    return this.connect(fd);
  }

  /**
   * The socket's error, as the socket API reports it: the engine's error, or ECONNRESET when a RST closed
   * the connection in CLOSING or LAST-ACK (RFC 9293 deletes the TCB silently there; Linux and FreeBSD
   * still set so_error).
   */
  private sockError(s: Sock): string | undefined {
    const c = s.conn;
    if (!c || s.errorReported) return undefined;
    if (c.tcp.error) return c.tcp.error.code;
    const last = c.history[c.history.length - 1];
    if (last && last.to === 'CLOSED' && last.cause.kind === 'segment' && (last.cause.seg.flags & RST)) return 'ECONNRESET';
    return undefined;
  }

  read(fd: number, n: number): CallResult {
    const s = this.get(fd);
    if (!s) return err('EBADF');
    const c = s.conn;
    if (!c) return err('ENOTCONN');
    const t = c.tcp;
    if (t.readableLength > 0) {
      const data = t.read(n);
      c.service();
      return { ret: data.length };
    }
    const e = this.sockError(s);
    if (e) { s.errorReported = true; return err(e); }
    if (t.peerFinReceived || t.state === 'CLOSED' || s.shutRd) return { ret: 0 };
    if (t.state === 'SYN-SENT' || t.state === 'SYN-RECEIVED') return s.nonblock ? err('EAGAIN') : 'block';
    return s.nonblock ? err('EAGAIN') : 'block';
  }

  write(fd: number, n: number): CallResult {
    const s = this.get(fd);
    if (!s) return err('EBADF');
    if (s.deferredConnect && !s.conn) return this.deferredFastOpen(s, n);
    const c = s.conn;
    if (!c) return err('ENOTCONN');
    const t = c.tcp;
    const e = this.sockError(s);
    if (e) { s.errorReported = true; return err(e); }
    if (s.shutWr) return err('EPIPE');
    if (t.state === 'SYN-SENT' || t.state === 'SYN-RECEIVED') return s.nonblock ? err('EAGAIN') : 'block';
    if (t.state === 'CLOSED') return err(t.error ? 'EPIPE' : 'ENOTCONN');
    if (t.sendSpace <= 0) return s.nonblock ? err('EAGAIN') : 'block';
    let sent: number;
    try {
      sent = t.send(zeros(n), this.now());
    } catch (e) {
      if (e instanceof TcpError) return err(e.code);
      throw e;
    }
    c.service();
    return { ret: sent };
  }

  shutdown(fd: number, how: number): Outcome {
    const s = this.get(fd);
    if (!s) return err('EBADF');
    if (how !== S.SHUT_RD && how !== S.SHUT_WR && how !== S.SHUT_RDWR) return err('EINVAL');
    const c = s.conn;
    if (s.listener && !c) {
      // Linux: shutdown(SHUT_RD) of a listener stops listening; anything else is ENOTCONN.
      return err('ENOTCONN');
    }
    if (!c) return err('ENOTCONN');
    const st = c.tcp.state;
    if (st === 'CLOSED' || st === 'SYN-SENT') return err('ENOTCONN');
    if (how === S.SHUT_RD || how === S.SHUT_RDWR) s.shutRd = true;
    if (how === S.SHUT_WR || how === S.SHUT_RDWR) {
      s.shutWr = true;
      c.tcp.shutdown(this.now());
      c.service();
    }
    return { ret: 0 };
  }

  close(fd: number): Outcome {
    const s = this.get(fd);
    if (!s) return err('EBADF');
    s.closed = true;
    if (s.listener) s.listener.close();
    const c = s.conn;
    if (c && !c.removed) {
      if (s.lingerZero) c.tcp.abort(this.now());
      else c.tcp.close(this.now());
      c.service();
    }
    return { ret: 0 };
  }

  fcntl(fd: number, cmd: number, arg?: number): Outcome {
    const s = this.get(fd);
    if (!s) return err('EBADF');
    if (cmd === S.F_GETFL) return { ret: S.O_RDWR! | (s.nonblock ? S.O_NONBLOCK! : 0) };
    if (cmd === S.F_SETFL) { s.nonblock = ((arg ?? 0) & S.O_NONBLOCK!) !== 0; return { ret: 0 }; }
    throw new SocketCallError(`fcntl command ${cmd} is not supported`);
  }

  ioctl(fd: number, req: number): Outcome {
    const s = this.get(fd);
    if (!s) return err('EBADF');
    if (req === S.SIOCINQ) return { ret: 0, value: s.conn ? s.conn.tcp.readableLength : 0 };
    throw new SocketCallError(`ioctl request ${req} is not supported`);
  }

  getsockopt(fd: number, level: number, name: number): Outcome {
    const s = this.get(fd);
    if (!s) return err('EBADF');
    if (level === S.SOL_SOCKET && name === S.SO_ERROR) {
      const e = this.sockError(s);
      if (e) { s.errorReported = true; return { ret: 0, value: errnoValue(e) }; }
      return { ret: 0, value: 0 };
    }
    if (level === S.SOL_SOCKET && name === S.SO_RCVBUF) return { ret: 0, value: this.rcvBuf(s) };
    if (level === S.SOL_SOCKET && name === S.SO_SNDBUF) {
      if (s.sndBuf !== undefined) return { ret: 0, value: s.sndBuf };
      // A fixed buffer (FreeBSD's sendspace) is its size; an autotuned one (Linux's sk_sndbuf after
      // tcp_sndbuf_expand) counts skb truesize, which the engine does not model: not reported rather than guessed.
      const cfg = s.conn ? s.conn.tcp.config : { ...this.env.stack.config, ...s.config };
      if (!cfg.sendBufferAutotune) return { ret: 0, value: cfg.sendBufferSize };
      throw new SocketCallError('getsockopt SO_SNDBUF of an autotuned send buffer is not supported (set it with setsockopt first)');
    }
    if (level === S.SOL_SOCKET && name === S.SO_KEEPALIVE) return { ret: 0, value: s.keepAlive ? 1 : 0 };
    if ((level === S.SOL_TCP || level === S.IPPROTO_TCP) && name === S.TCP_MAXSEG) {
      const t = s.conn?.tcp;
      // Linux reports the effective send MSS (peer MSS minus 12 with timestamps), or before the handshake
      // the value set with TCP_MAXSEG, else the default.
      return { ret: 0, value: t && t.state !== 'SYN-SENT' && t.state !== 'CLOSED' ? t.sndMss : (s.config.userMss ?? 536) };
    }
    if ((level === S.SOL_TCP || level === S.IPPROTO_TCP) && name === S.TCP_LINGER2 && this.env.profile.optionEight === 'linger2') {
      // Linux: seconds, or the system's tcp_fin_timeout when unset; -1 when FIN-WAIT-2 is not lingered in.
      const ms = s.conn ? s.conn.tcp.finWait2Timeout : s.linger2Ms ?? this.env.stack.config.finWait2Timeout;
      return { ret: 0, value: s.linger2Ms !== undefined && s.linger2Ms < 0 ? -1 : Math.floor(ms / 1000) };
    }
    throw new SocketCallError(`getsockopt level ${level} option ${name} is not supported`);
  }

  private rcvBuf(s: Sock): number {
    if (s.rcvBuf !== undefined) return s.rcvBuf;
    const p = this.env.profile;
    const t = s.conn?.tcp;
    if (p.roundRecvBufToMss && t && t.state !== 'SYN-SENT' && t.state !== 'CLOSED') {
      // FreeBSD: the receive buffer is rounded up to a multiple of the effective MSS once it is known.
      const mss = Math.min(t.config.mss, t.sndMss + (t.tsOk ? 12 : 0));
      return Math.ceil(p.recvSpace / mss) * mss;
    }
    return p.recvSpace;
  }

  setsockopt(fd: number, level: number, name: number, value: number, linger?: { onoff: number; linger: number }): Outcome {
    const s = this.get(fd);
    if (!s) return err('EBADF');
    const tcpLevel = level === S.SOL_TCP || level === S.IPPROTO_TCP;
    if (level === S.SOL_SOCKET) {
      switch (name) {
        case S.SO_REUSEADDR: case S.SO_REUSEPORT: return { ret: 0 };
        case S.SO_SNDBUF: {
          // Linux (sock_setsockopt): min(value, wmem_max) doubled for bookkeeping overhead, at least
          // SOCK_MIN_SNDBUF, and no more autotuning (SOCK_SNDBUF_LOCK); FreeBSD (sbreserve): the value, SB_AUTOSIZE
          // cleared. The engine's buffer counts payload bytes.
          const size = this.env.profile.personality === 'freebsd' ? value >>> 0 : Math.max(2 * Math.min(value >>> 0, LINUX_WMEM_MAX), LINUX_SOCK_MIN_SNDBUF);
          s.sndBuf = size;
          s.config.sendBufferSize = size;
          s.config.sendBufferAutotune = false;
          return this.applyConfig(s);
        }
        case S.SO_KEEPALIVE:
          s.keepAlive = value !== 0;
          if (s.conn) { s.conn.tcp.setKeepAlive(s.keepAlive, s.keepIdleMs ?? 0, this.now()); s.conn.service(); }
          return { ret: 0 };
        case S.SO_LINGER:
          if (!linger) throw new SocketCallError('SO_LINGER needs {onoff=..., linger=...}');
          s.lingerZero = linger.onoff !== 0 && linger.linger === 0;
          if (linger.onoff !== 0 && linger.linger !== 0) throw new SocketCallError('SO_LINGER with a non-zero linger time is not supported');
          return { ret: 0 };
      }
    } else if (tcpLevel) {
      switch (name) {
        case S.TCP_NODELAY:
          if (s.conn) s.conn.tcp.setNoDelay(value !== 0); else s.config.nagle = value === 0;
          return { ret: 0 };
        case S.TCP_LINGER2: case S.TCP_NOOPT:
          if (this.env.profile.optionEight === 'linger2') return this.setLinger2(s, value);
          s.config.noOptions = value !== 0;
          // A listener's children are built from the stack's configuration: the runner's stack has one listener.
          if (s.listener) this.env.stack.config.noOptions = s.config.noOptions;
          return { ret: 0 };
        case S.TCP_KEEPINIT: s.config.keepInit = value * 1000; return { ret: 0 };
        case S.TCP_KEEPIDLE:
          s.keepIdleMs = value * 1000;
          if (s.conn && s.keepAlive) { s.conn.tcp.setKeepAlive(true, s.keepIdleMs, this.now()); s.conn.service(); }
          return { ret: 0 };
        case S.TCP_USER_TIMEOUT:
          // Milliseconds (Linux); on the socket's connection now, inherited by one made later.
          s.config.userTimeout = value;
          if (s.conn) s.conn.tcp.setUserTimeout(value);
          return { ret: 0 };
        case S.TCP_FASTOPEN_CONNECT: s.fastOpenConnect = value !== 0; return { ret: 0 };
        case S.TCP_FASTOPEN:
          // Linux: the listener's TFO queue length; TFO needs the server bit of tcp_fastopen too (applyFastOpen).
          s.fastOpenQlen = value;
          this.applyFastOpen(s);
          return { ret: 0 };
        case S.TCP_MAXSEG:
          // Linux (do_tcp_setsockopt): 0 clears it; otherwise 88..65535 (TCP_MIN_MSS..MAX_TCP_WINDOW), else EINVAL.
          if (value !== 0 && (value < 88 || value > 65535)) return err('EINVAL');
          s.config.userMss = value;
          if (s.listener) this.env.stack.config.userMss = value;
          return this.applyConfig(s);
        case S.TCP_QUICKACK: {
          // Linux do_tcp_setsockopt: 0 enters pingpong mode (in-order data is ACKed on the delayed-ACK timer, not
          // in quick-ACK mode); 1 leaves it and sends an ACK that is owed now. A connection's own state: a
          // listener's children start without it (inet_csk_clone_lock clears icsk_ack).
          const t = s.conn?.tcp;
          if (t) {
            t.pingpong = value === 0;
            if (value !== 0 && t.delackAt !== Infinity) { t.ackNow = true; s.conn!.service(); }
          }
          return { ret: 0 };
        }
        case S.TCP_KEEPINTVL: s.config.keepAliveInterval = value * 1000; return this.applyConfig(s);
        case S.TCP_KEEPCNT: s.config.keepAliveProbes = value; return this.applyConfig(s);
      }
    }
    throw new SocketCallError(`setsockopt level ${level} option ${name} is not supported`);
  }

  /**
   * TCP_LINGER2 (Linux do_tcp_setsockopt): seconds an orphaned connection stays in FIN-WAIT-2 (0: the system's
   * tcp_fin_timeout; negative: none, the orphan is closed on reaching FIN-WAIT-2). After it the TCB is gone, and
   * the next segment is answered as for no connection (RFC 9293 §3.10.7.1).
   */
  private setLinger2(s: Sock, value: number): Outcome {
    s.linger2Ms = value < 0 ? -1 : value === 0 ? this.env.stack.config.finWait2Timeout : value * 1000;
    if (s.conn) s.conn.tcp.setFinWait2Timeout(s.linger2Ms, this.now());
    return { ret: 0 };
  }

  /**
   * Linux (tcp_fastopen_queue_check, TFO_SERVER_*): a listener does TFO when the server bit (0x2) is set and it
   * has a TCP_FASTOPEN queue length, or 0x400 turns it on for every listener.
   */
  private applyFastOpen(s: Sock): void {
    const f = this.env.profile.fastOpen;
    if (s.listener && (f & 0x2) && ((s.fastOpenQlen ?? 0) > 0 || (f & 0x400))) s.listener.fastOpen = this.tfoCookies;
  }

  /** Cookies servers gave our connections' SYN,ACKs, remembered for the next connection (RFC 7413 §4.1.3). */
  private learnCookies(): void {
    for (const s of this.socks.values()) {
      const c = s.conn?.tcp.tfoPeerCookie;
      if (c) { this.tfoCache.set(s.conn!.remoteAddr, c); s.conn!.tcp.tfoPeerCookie = null; }
    }
  }

  /**
   * sendto(MSG_FASTOPEN) on an unconnected socket (Linux tcp_sendmsg_fastopen): connect with a SYN that carries
   * the cached cookie and the data (the call returns the bytes the SYN took), or asks for a cookie (the data
   * waits for the handshake: EINPROGRESS on a non-blocking socket). Client TFO off: EOPNOTSUPP.
   */
  sendtoFastOpen(fd: number, n: number): CallResult {
    const s = this.get(fd);
    if (!s) return err('EBADF');
    if (s.conn) return this.write(fd, n);
    if (!(this.env.profile.fastOpen & 0x1)) return err('EOPNOTSUPP');
    this.learnCookies();
    const cookie = this.tfoCache.get(parseAddress(this.env.remoteIp)) ?? new Uint8Array(0);
    let c: StackConnection;
    try {
      c = this.env.stack.connect({
        host: this.env.remoteIp, port: this.env.connectPort, localAddress: this.env.localIp, localPort: s.boundPort,
        config: { ...s.config }, fastOpen: { cookie, data: cookie.length > 0 ? zeros(n) : undefined },
      });
    } catch (e) {
      return err(codeOf(e) ?? 'EADDRNOTAVAIL');
    }
    s.conn = c;
    s.connecting = true;
    c.keepTimeWaitTcb = this.env.profile.keepTimeWaitTcb;
    if (cookie.length > 0) return { ret: c.tcp.tfoSynData > 0 ? n : 0 };
    if (s.nonblock) return err('EINPROGRESS');
    return 'block';
  }

  /** The first write after a TCP_FASTOPEN_CONNECT connect(): the SYN carries the cookie and the data. */
  private deferredFastOpen(s: Sock, n: number): CallResult {
    const cookie = this.tfoCache.get(parseAddress(this.env.remoteIp)) ?? new Uint8Array(0);
    let c: StackConnection;
    try {
      c = this.env.stack.connect({
        host: this.env.remoteIp, port: this.env.connectPort, localAddress: this.env.localIp, localPort: s.boundPort,
        config: { ...s.config }, fastOpen: { cookie, data: zeros(n) },
      });
    } catch (e) {
      return err(codeOf(e) ?? 'EADDRNOTAVAIL');
    }
    s.conn = c;
    s.connecting = false;
    c.keepTimeWaitTcb = this.env.profile.keepTimeWaitTcb;
    return { ret: n };
  }

  /** Per-socket engine settings that only exist in TcpConfig: not changeable once the connection exists. */
  private applyConfig(s: Sock): Outcome {
    // Each connection owns a copy of its configuration (resolveConfig), so changing it affects only this one.
    if (s.conn) Object.assign(s.conn.tcp.config, s.config);
    return { ret: 0 };
  }
}

/** Linux's net.core.wmem_max default and SOCK_MIN_SNDBUF on 64-bit (2 · (2048 + sizeof(struct sk_buff) aligned)). */
const LINUX_WMEM_MAX = 212992;
const LINUX_SOCK_MIN_SNDBUF = 4608;

function err(errno: string): Outcome { return { ret: -1, errno }; }

function codeOf(e: unknown): string | undefined {
  if (e instanceof TcpError) return e.code;
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** Linux's number for an errno name (what SO_ERROR returns), -1 if unknown. */
export function errnoValue(name: string): number { return ERRNOS[name]?.value ?? -1; }
