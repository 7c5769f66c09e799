/**
 * Node `net`-style sockets and servers on a synack Stack. Socket is a real stream.Duplex, so node:http and
 * anything else that takes a socket-like stream runs on it unchanged. Node-only (the Stack underneath is not).
 */
import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import type { TcpEvent, TcpErrorCode } from '../tcp/connection.js';
import type { TcpStateName } from '../wire/trace.js';
import type { Listener, Stack, StackConnection, ConnectionHandler, UserTimer } from './stack.js';
import type { TcpConfig } from '../tcp/config.js';
import { formatAddress } from '../wire/address.js';

export interface SocketOptions {
  allowHalfOpen?: boolean;
}

export interface SocketConnectOptions {
  port: number;
  host: string;
  localPort?: number;
  localAddress?: string;
  allowHalfOpen?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  timeout?: number;
  tcp?: Partial<TcpConfig>;
}

/** An Error with a Node-like `code`, `syscall`, `address` and `port`. */
export function socketError(code: TcpErrorCode | string, syscall: string, message: string, address?: string, port?: number): NodeJS.ErrnoException {
  const e = new Error(`${syscall} ${code}${address ? ` ${address}${port !== undefined ? ':' + port : ''}` : ''}${message ? ` (${message})` : ''}`) as NodeJS.ErrnoException & { address?: string; port?: number };
  e.code = code;
  e.syscall = syscall;
  if (address) e.address = address;
  if (port !== undefined) e.port = port;
  return e;
}

export class Socket extends Duplex implements ConnectionHandler {
  conn: StackConnection | null = null;
  connecting = false;
  private established = false;
  private wantRead = false;
  private pendingWrite: { chunk: Uint8Array; cb: (err?: Error | null) => void } | null = null;
  private ended = false;
  private timeoutMs = 0;
  private timer: UserTimer | null = null;
  private lastActivity = 0;
  private resetOnDestroy = false;
  private _bytesRead = 0;
  private _bytesWritten = 0;
  /** RFC 9293 state transitions of this socket's connection, as they happen. */
  readonly transitions = new EventEmitter();

  constructor(opts: SocketOptions = {}) {
    super({ allowHalfOpen: opts.allowHalfOpen ?? false, emitClose: true, autoDestroy: true, decodeStrings: true });
  }

  /** Wrap an accepted connection. */
  static fromConnection(c: StackConnection, opts: SocketOptions = {}): Socket {
    const s = new Socket(opts);
    s.attach(c);
    s.established = c.state !== 'SYN-SENT' && c.state !== 'SYN-RECEIVED';
    return s;
  }

  /** Active open through `stack`; emits 'connect' when ESTABLISHED. */
  static connect(stack: Stack, opts: SocketConnectOptions, onConnect?: () => void): Socket {
    const s = new Socket({ allowHalfOpen: opts.allowHalfOpen });
    s.connecting = true;
    if (onConnect) s.once('connect', onConnect);
    if (opts.timeout) s.setTimeout(opts.timeout);
    try {
      const c = stack.connect({ host: opts.host, port: opts.port, localPort: opts.localPort, localAddress: opts.localAddress, config: opts.tcp });
      s.attach(c);
      // connect() sent the SYN before anyone could listen: replay CLOSED → SYN-SENT once listeners exist.
      const early = c.history.slice();
      process.nextTick(() => { for (const h of early) s.emit('state', h.to, h.from); });
      if (opts.noDelay) s.setNoDelay(true);
      if (opts.keepAlive) s.setKeepAlive(true, opts.keepAliveInitialDelay ?? 0);
    } catch (e) {
      process.nextTick(() => s.destroy(e as Error));
    }
    return s;
  }

  private attach(c: StackConnection): void {
    this.conn = c;
    c.handler = this;
    this.lastActivity = c.stack.clock.now();
  }

  // --- ConnectionHandler ---
  onEvent(ev: TcpEvent): void {
    if (this.destroyed && ev.type !== 'state') return;
    switch (ev.type) {
      case 'state':
        this.transitions.emit('transition', ev);
        this.emit('state', ev.to, ev.from);
        break;
      case 'established':
        this.established = true;
        if (this.connecting) {
          this.connecting = false;
          this.emit('connect');
          this.emit('ready');
        }
        break;
      case 'eof':
        this.ended = true;
        this.pump();
        break;
      case 'error': {
        const c = this.conn!;
        const syscall = ev.code === 'ECONNREFUSED' || (ev.code === 'ETIMEDOUT' && this.connecting) ? 'connect' : 'read';
        this.destroy(socketError(ev.code, syscall, ev.message, c.remoteAddress, c.remotePort));
        break;
      }
      case 'closed':
        if (!this.destroyed) {
          // The connection is gone (both FINs done or a timer reaped it); finish the stream.
          if (!this.ended) { this.ended = true; this.pump(); }
          // Received data may still wait in the readable buffer (a paused consumer, e.g. a slow stdout):
          // destroying now would drop it. Once it is read to the end, autoDestroy closes the stream.
          if (this.readableEnded) this.destroy();
        }
        break;
    }
  }

  onReadable(): void {
    if (this.destroyed) return;
    this.touch();
    if (this.wantRead) this.pump();
  }

  onWritable(): void {
    if (this.destroyed) return;
    if (this.pendingWrite) {
      const p = this.pendingWrite;
      this.pendingWrite = null;
      this.writeChunk(p.chunk, p.cb);
    }
  }

  // --- Duplex ---
  override _read(): void {
    this.wantRead = true;
    this.pump();
  }

  private pump(): void {
    const c = this.conn;
    if (!c || this.destroyed) return;
    while (this.wantRead) {
      const data = c.tcp.read(65536);
      if (data.length === 0) break;
      this._bytesRead += data.length;
      // The engine's payload views are ours now; Buffer.from(view.buffer, ...) shares memory without a copy.
      this.wantRead = this.push(Buffer.from(data.buffer, data.byteOffset, data.length));
    }
    // Reading may have opened the window: let the stack send the window update.
    c.service();
    if (this.ended && c.tcp.readableLength === 0 && !this.readableEnded && this.wantRead) {
      this.push(null);
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.touch();
    this.writeChunk(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length), cb);
  }

  private writeChunk(chunk: Uint8Array, cb: (err?: Error | null) => void): void {
    const c = this.conn;
    if (!c) { cb(socketError('ENOTCONN', 'write', 'not connected')); return; }
    let n: number;
    try {
      n = c.tcp.send(chunk, c.stack.clock.now());
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'EPIPE';
      cb(socketError(code, 'write', (e as Error).message));
      return;
    }
    this._bytesWritten += n;
    c.service();
    if (n === chunk.length) cb();
    else this.pendingWrite = { chunk: chunk.subarray(n), cb }; // backpressure: resume on onWritable
  }

  override _final(cb: (err?: Error | null) => void): void {
    const c = this.conn;
    if (!c) { cb(); return; }
    const finish = () => {
      try { c.tcp.shutdown(c.stack.clock.now()); } catch { /* already closed */ }
      c.service();
      cb();
    };
    if (this.connecting) this.once('connect', finish); // Node ends after connecting
    else finish();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.clearTimer();
    const c = this.conn;
    if (c && c.tcp.state !== 'CLOSED') {
      const now = c.stack.clock.now();
      if (this.resetOnDestroy || err) c.tcp.abort(now);
      else c.tcp.close(now); // FIN after queued data, or RST if unread data remains (RFC 1122 §4.2.2.13)
      c.service();
    }
    // The handler stays attached: the connection may still pass through LAST-ACK/TIME-WAIT, reported as 'state'.
    cb(err);
  }

  // --- net.Socket API ---
  /** Close with RST (Node 16.17+). */
  resetAndDestroy(): this {
    this.resetOnDestroy = true;
    this.destroy();
    return this;
  }

  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  setNoDelay(noDelay = true): this {
    this.conn?.tcp.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    const c = this.conn;
    if (c) { c.tcp.setKeepAlive(enable, initialDelay, c.stack.clock.now()); c.service(); }
    return this;
  }

  /** Idle timeout in the stack's clock; emits 'timeout' (the socket stays open, as in Node). */
  setTimeout(ms: number, cb?: () => void): this {
    this.timeoutMs = ms;
    if (cb) { if (ms === 0) this.removeListener('timeout', cb); else this.once('timeout', cb); }
    this.clearTimer();
    if (ms > 0) this.armTimer();
    return this;
  }

  private armTimer(): void {
    const c = this.conn;
    if (!c || this.timeoutMs <= 0) return;
    this.timer = c.stack.schedule(this.lastActivity + this.timeoutMs, () => {
      this.timer = null;
      const now = c.stack.clock.now();
      if (now - this.lastActivity >= this.timeoutMs) { this.emit('timeout'); this.lastActivity = now; }
      if (!this.destroyed) this.armTimer();
    });
  }

  private clearTimer(): void {
    if (this.timer) { this.timer.cancelled = true; this.timer = null; }
  }

  private touch(): void {
    if (this.conn) this.lastActivity = this.conn.stack.clock.now();
  }

  ref(): this { return this; }
  unref(): this { return this; }

  address(): { address: string; family: string; port: number } | Record<string, never> {
    const c = this.conn;
    if (!c) return {};
    return { address: c.localAddress, family: c.localAddr.length === 16 ? 'IPv6' : 'IPv4', port: c.localPort };
  }
  get remoteAddress(): string | undefined { return this.conn?.remoteAddress; }
  get remotePort(): number | undefined { return this.conn?.remotePort; }
  get remoteFamily(): string | undefined { return this.conn ? (this.conn.remoteAddr.length === 16 ? 'IPv6' : 'IPv4') : undefined; }
  get localAddress(): string | undefined { return this.conn?.localAddress; }
  get localPort(): number | undefined { return this.conn?.localPort; }
  get bytesRead(): number { return this._bytesRead; }
  get bytesWritten(): number { return this._bytesWritten; }
  get pending(): boolean { return !this.established; }
  get readyState(): string {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }
  /** The connection's current RFC 9293 state. */
  get tcpState(): TcpStateName { return this.conn?.state ?? 'CLOSED'; }
}

export interface ServerOptions {
  allowHalfOpen?: boolean;
  noDelay?: boolean;
}

/** A `net.Server` look-alike: 'listening', 'connection', 'close', 'error'. */
export class Server extends EventEmitter {
  private listener: Listener | null = null;
  private readonly sockets = new Set<Socket>();
  private closing = false;
  constructor(readonly stack: Stack, private readonly opts: ServerOptions = {}, onConnection?: (s: Socket) => void) {
    super();
    if (onConnection) this.on('connection', onConnection);
  }

  listen(port: number, host?: string | (() => void), backlog?: number | (() => void), cb?: () => void): this {
    if (typeof host === 'function') { cb = host; host = undefined; }
    if (typeof backlog === 'function') { cb = backlog; backlog = undefined; }
    if (cb) this.once('listening', cb);
    try {
      this.listener = this.stack.listen(port, {
        host: host as string | undefined,
        backlog: backlog as number | undefined,
        onConnection: (c) => {
          const s = Socket.fromConnection(c, { allowHalfOpen: this.opts.allowHalfOpen });
          if (this.opts.noDelay) s.setNoDelay(true);
          this.sockets.add(s);
          s.once('close', () => { this.sockets.delete(s); this.maybeClosed(); });
          this.emit('connection', s);
        },
      });
    } catch (e) {
      process.nextTick(() => this.emit('error', e));
      return this;
    }
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  get listening(): boolean { return this.listener !== null && !this.listener.closed; }

  address(): { address: string; family: string; port: number } | null {
    if (!this.listener) return null;
    const a = this.listener.addr ?? this.stack.addresses[0]!;
    return { address: this.listener.addr ? formatAddress(a) : a.length === 16 ? '::' : '0.0.0.0', family: a.length === 16 ? 'IPv6' : 'IPv4', port: this.listener.port };
  }

  getConnections(cb: (err: Error | null, n: number) => void): void { cb(null, this.sockets.size); }

  /** Stop accepting; 'close' once every connection has ended (like net.Server#close). */
  close(cb?: (err?: Error) => void): this {
    if (cb) this.once('close', cb);
    if (this.listener) { this.listener.close(); this.listener = null; }
    this.closing = true;
    this.maybeClosed();
    return this;
  }

  private maybeClosed(): void {
    if (this.closing && this.sockets.size === 0) { this.closing = false; process.nextTick(() => this.emit('close')); }
  }
}

