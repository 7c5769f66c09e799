/**
 * TCP connections as WHATWG streams, for browsers (and Node, Deno, workers): no Node built-ins.
 * The shape follows the Direct Sockets API (`TCPSocket`, `TCPServerSocket`): an `opened` promise that gives a
 * `ReadableStream` and a `WritableStream`, a `closed` promise, and `close()`.
 * Backpressure is TCP's own: a reader that stops pulling stops reading the engine, whose receive window closes.
 */
import type { TcpEvent } from '../tcp/connection.js';
import type { TcpConfig } from '../tcp/config.js';
import { SMALL_WRITE } from '../tcp/buffers.js';
import type { TcpStateName } from '../wire/trace.js';
import { formatAddress } from '../wire/address.js';
import type { ConnectionHandler, Listener, Stack, StackConnection } from './stack.js';
import { listeningAddress, readMayOpenWindow, releaseHold, writerMayResume, type ProcessHold } from './socket-rules.js';

/** What `opened` resolves to for a connection. */
export interface TcpSocketOpenInfo {
  /** Bytes from the peer; ends at the peer's FIN; errors with a TcpSocketError on RST or timeout. */
  readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer; close() sends FIN after the queued data (half-close); abort() sends RST. */
  writable: WritableStream<Uint8Array>;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
}

/** A failed or reset connection: `code` is the errno name (ECONNREFUSED, ECONNRESET, ETIMEDOUT ...). */
export class TcpSocketError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = 'TcpSocketError';
    this.code = code;
  }
}

/** Options of connectTcp. */
export interface ConnectTcpOptions {
  /** An IPv4 or IPv6 address literal. */
  host: string;
  port: number;
  localAddress?: string;
  localPort?: number;
  /** Nagle off (default false). */
  noDelay?: boolean;
  /** Bytes the readable stream buffers before it stops reading from TCP (default 64 KiB). */
  readHighWaterMark?: number;
  tcp?: Partial<TcpConfig>;
}

/** A TCP connection with web streams (Direct Sockets' TCPSocket shape). */
export class TcpSocket {
  /** Resolves once ESTABLISHED; rejects if the connection cannot be made. */
  readonly opened: Promise<TcpSocketOpenInfo>;
  /** Resolves when the connection is fully closed (both FINs, or after close()); rejects on reset or timeout. */
  readonly closed: Promise<void>;
  private readonly conn: StackConnection;
  private readCtl!: ReadableStreamDefaultController<Uint8Array>;
  private readonly readHwm: number;
  private eof = false;
  private done = false;
  private failure: TcpSocketError | null = null;
  private writeWaiter: { chunk: Uint8Array; resolve: () => void; reject: (e: unknown) => void } | null = null;
  private resolveOpened!: (v: TcpSocketOpenInfo) => void;
  private rejectOpened!: (e: unknown) => void;
  private resolveClosed!: () => void;
  private rejectClosed!: (e: unknown) => void;
  private info: TcpSocketOpenInfo | null = null;
  private readonly handler: ConnectionHandler;
  private release: ProcessHold;

  /** @internal Use connectTcp() or a TcpServerSocket's readable. */
  constructor(conn: StackConnection, readHighWaterMark = 65536) {
    this.conn = conn;
    this.readHwm = readHighWaterMark;
    this.opened = new Promise((res, rej) => { this.resolveOpened = res; this.rejectOpened = rej; });
    this.closed = new Promise((res, rej) => { this.resolveClosed = res; this.rejectClosed = rej; });
    // Nobody need watch `closed`: an unobserved rejection must not be reported as unhandled.
    this.closed.catch(() => {});
    this.opened.catch(() => {});
    this.handler = {
      onEvent: (ev) => this.onEvent(ev),
      onReadable: () => this.pump(),
      onWritable: () => this.resumeWrite(),
    };
    conn.handler = this.handler;
    // Like a Node socket, an open connection keeps a Node process alive (nothing to hold in a browser).
    this.release = conn.stack.clock.hold?.() ?? null;
    if (conn.state !== 'SYN-SENT' && conn.state !== 'SYN-RECEIVED' && conn.state !== 'CLOSED') this.open();
  }

  /** The connection's RFC 9293 state now. */
  get state(): TcpStateName { return this.conn.state; }

  /** Half-close our side (FIN after queued data) if the writable is still open, and release the streams. */
  async close(): Promise<void> {
    if (this.done) return;
    const now = this.conn.stack.clock.now();
    this.conn.tcp.close(now);
    this.conn.service();
  }

  /** Reset the connection (RST) at once. */
  abort(): void {
    if (this.done) return;
    this.conn.tcp.abort(this.conn.stack.clock.now());
    this.conn.service();
  }

  private unhold(): void { this.release = releaseHold(this.release); }

  private open(): void {
    if (this.info) return;
    const c = this.conn;
    const readable = new ReadableStream<Uint8Array>({
      start: (ctl) => { this.readCtl = ctl; },
      pull: () => { this.pump(); },
      cancel: () => {
        // The reader gave up: a close(2) with unread data resets, as Linux does (RFC 1122 §4.2.2.13).
        void this.close();
      },
    }, { highWaterMark: this.readHwm, size: (chunk) => chunk.byteLength });
    const writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: () => {
        if (this.done) return;
        c.tcp.shutdown(c.stack.clock.now());
        c.service();
      },
      abort: () => this.abort(),
    });
    this.info = { readable, writable, remoteAddress: formatAddress(c.remoteAddr), remotePort: c.remotePort, localAddress: formatAddress(c.localAddr), localPort: c.localPort };
    this.resolveOpened(this.info);
    this.pump();
  }

  private write(chunk: Uint8Array): Promise<void> | void {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('TcpSocket: write a Uint8Array');
    if (this.failure) throw this.failure;
    const c = this.conn;
    let n: number;
    // The engine keeps large writes by reference until they are acknowledged (src/tcp/buffers.ts SMALL_WRITE);
    // the write resolves before that, once its last byte is taken, and the writer may then reuse its buffer: the
    // engine gets a copy of what it takes now (about two congestion windows when autotuned), the rest waits
    // uncopied in the writer's buffer until there is room (resumeWrite), not a copy of a whole large write.
    // (A copy made from a view: a Node Buffer's slice() would be a view itself.)
    const take = chunk.length < SMALL_WRITE ? chunk : new Uint8Array(chunk.subarray(0, c.tcp.sendSpace));
    try { n = c.tcp.send(take, c.stack.clock.now()); } catch (e) {
      throw new TcpSocketError((e as { code?: string }).code ?? 'EPIPE', (e as Error).message);
    }
    c.service();
    if (n === chunk.length) return;
    // The send buffer is full: the stream's own queue holds further writes until this one is taken whole.
    return new Promise((resolve, reject) => { this.writeWaiter = { chunk: chunk.subarray(n), resolve, reject }; });
  }

  private resumeWrite(): void {
    const w = this.writeWaiter;
    if (!w) return;
    if (!writerMayResume(this.conn.tcp)) return;
    this.writeWaiter = null;
    try {
      const r = this.write(w.chunk);
      if (r) r.then(w.resolve, w.reject); else w.resolve();
    } catch (e) { w.reject(e); }
  }

  private pump(): void {
    if (!this.info || this.done && !this.eof) return;
    const c = this.conn;
    const ctl = this.readCtl;
    let moved = false;
    while ((ctl.desiredSize ?? 0) > 0) {
      const data = c.tcp.read(Math.max(1, ctl.desiredSize!));
      if (data.length === 0) break;
      ctl.enqueue(data);
      moved = true;
    }
    if (moved && readMayOpenWindow(c.tcp)) c.service();
    if (this.eof && c.tcp.readableLength === 0) {
      this.eof = false;
      try { ctl.close(); } catch { /* already closed */ }
    }
  }

  private onEvent(ev: TcpEvent): void {
    switch (ev.type) {
      case 'established': this.open(); break;
      case 'eof': this.eof = true; this.pump(); break;
      case 'error': {
        const err = new TcpSocketError(ev.code, ev.message);
        this.failure = err;
        if (!this.info) this.rejectOpened(err);
        else {
          try { this.readCtl.error(err); } catch { /* closed already */ }
          this.writeWaiter?.reject(err);
          this.writeWaiter = null;
        }
        this.done = true;
        this.unhold();
        this.rejectClosed(err);
        break;
      }
      case 'closed':
        if (this.done) break;
        this.done = true;
        this.unhold();
        if (!this.info) this.rejectOpened(new TcpSocketError('ECONNABORTED', 'closed before it was established'));
        this.pump();
        this.resolveClosed();
        break;
    }
  }
}

/** Open a TCP connection from `stack` (Direct Sockets' `new TCPSocket(host, port)`). */
export function connectTcp(stack: Stack, opts: ConnectTcpOptions): TcpSocket {
  const c = stack.connect({ host: opts.host, port: opts.port, localAddress: opts.localAddress, localPort: opts.localPort, config: opts.tcp });
  if (opts.noDelay) c.tcp.setNoDelay(true);
  return new TcpSocket(c, opts.readHighWaterMark);
}

/** Options of listenTcp. */
export interface ListenTcpOptions {
  /** 0 or omitted: a free port (read it from opened's localPort). */
  port?: number;
  /** Address to bind; every address of the stack when omitted. */
  host?: string;
  backlog?: number;
  noDelay?: boolean;
  readHighWaterMark?: number;
}

/** What a listening socket's `opened` resolves to. */
export interface TcpServerSocketOpenInfo {
  /** Every accepted connection, in order. */
  readable: ReadableStream<TcpSocket>;
  localAddress: string;
  localPort: number;
}

/** A listening socket (Direct Sockets' TCPServerSocket shape). */
export class TcpServerSocket {
  readonly opened: Promise<TcpServerSocketOpenInfo>;
  /** Resolves once close() has stopped the listener. */
  readonly closed: Promise<void>;
  private readonly listener: Listener;
  private resolveClosed!: () => void;
  private ctl!: ReadableStreamDefaultController<TcpSocket>;

  /** @internal Use listenTcp(). */
  constructor(stack: Stack, opts: ListenTcpOptions) {
    this.closed = new Promise((res) => { this.resolveClosed = res; });
    const readable = new ReadableStream<TcpSocket>({
      start: (ctl) => { this.ctl = ctl; },
      cancel: () => this.close(),
    });
    this.listener = stack.listen(opts.port ?? 0, {
      host: opts.host,
      backlog: opts.backlog,
      onConnection: (c) => {
        if (opts.noDelay) c.tcp.setNoDelay(true);
        this.ctl.enqueue(new TcpSocket(c, opts.readHighWaterMark));
      },
    });
    this.opened = Promise.resolve({ readable, localAddress: listeningAddress(this.listener), localPort: this.listener.port });
  }

  /** Stop listening; connections already accepted stay open. */
  async close(): Promise<void> {
    if (this.listener.closed) return;
    this.listener.close();
    try { this.ctl.close(); } catch { /* cancelled */ }
    this.resolveClosed();
  }
}

/** Listen for TCP connections on `stack`. Throws EADDRINUSE (error.code) when the port has a listener. */
export function listenTcp(stack: Stack, opts: ListenTcpOptions = {}): TcpServerSocket {
  return new TcpServerSocket(stack, opts);
}
