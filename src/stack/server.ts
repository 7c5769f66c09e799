/**
 * The node:net-compatible `Server` (net.Server) on a synack Stack, and its options: listens through the stack,
 * wraps each accepted connection in a Socket (socket.ts), and closes once they have. Node-only (node:events).
 */
import { EventEmitter } from 'node:events';
import type { Listener, Stack, StackConnection } from './stack.js';
import { listeningAddress, releaseHold, type ProcessHold } from './socket-rules.js';
import { Socket, type SocketOptions } from './socket.js';
import { apiError, checkPort, socketError, type SocketError } from './socket-errors.js';

/** Options of `createServer()`, as `net.createServer`'s. */
export interface ServerOptions {
  allowHalfOpen?: boolean;
  /** Accepted sockets get setNoDelay(true) (default false, as in Node). */
  noDelay?: boolean;
  /** Accepted sockets get setKeepAlive(true, keepAliveInitialDelay). */
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
}

/** Options of `server.listen(options)`, as Node's. */
export interface ListenOptions {
  port?: number | string;
  host?: string;
  backlog?: number;
  signal?: AbortSignal;
}

/** A `net.Server`: 'listening', 'connection', 'close', 'error'. */
export class Server extends EventEmitter {
  private listener: Listener | null = null;
  /**
   * Accepted sockets not yet closed (socketClosed comes once per socket: acceptedBy is cleared first). A count, not
   * a Set: a set that one connection at a time fills and empties reallocates its table each time it empties.
   */
  private openSockets = 0;
  private closing = false;
  private refed = true;
  private release: ProcessHold = null;
  private readonly opts: ServerOptions;
  /** The options every accepted Socket is made with (one object for all of them). */
  private readonly socketOpts: SocketOptions;
  constructor(readonly stack: Stack, opts: ServerOptions = {}, onConnection?: (s: Socket) => void) {
    super();
    this.opts = opts;
    this.socketOpts = { allowHalfOpen: opts.allowHalfOpen ?? false, stack };
    if (onConnection) this.on('connection', onConnection);
  }

  /**
   * Start listening: `listen(port[, host][, backlog][, cb])`, `listen(options[, cb])` or `listen(cb)`.
   * Port 0 (or none) picks a free port: read it from address(). A port in use gives 'error' EADDRINUSE.
   */
  listen(port?: number | string | ListenOptions | (() => void), host?: string | number | (() => void), backlog?: number | (() => void), cb?: () => void): this {
    let o: ListenOptions;
    if (typeof port === 'function') { cb = port; o = {}; }
    else if (typeof port === 'object' && port !== null) { o = { ...port }; if (typeof host === 'function') cb = host; }
    else {
      o = { port };
      const rest = [host, backlog, cb];
      cb = undefined;
      for (const a of rest) {
        if (typeof a === 'function') { cb = a; break; }
        if (typeof a === 'string') o.host = a;
        else if (typeof a === 'number') o.backlog = a;
      }
    }
    const p = o.port === undefined ? 0 : checkPort(o.port);
    if (this.listener) throw apiError(Error, 'ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
    if (cb) this.once('listening', cb);
    try {
      this.listener = this.stack.listen(p, {
        host: o.host,
        backlog: o.backlog,
        onConnection: (c) => this.accepted(c),
      });
    } catch (e) {
      const err = e as SocketError;
      const addr = o.host ?? (this.stack.addresses[0]!.length === 16 ? '::' : '0.0.0.0');
      process.nextTick(() => this.emit('error', err.code ? socketError(err.code, 'listen', err.message.replace(/^\w+: /, ''), addr, p) : err));
      return this;
    }
    if (this.refed) this.release = this.stack.clock.hold?.() ?? null;
    // Closed from below (the stack destroyed): nothing listens any more, so nothing keeps the process alive.
    this.listener.onClosed = () => { this.listener = null; this.release = releaseHold(this.release); };
    if (o.signal) {
      const signal = o.signal;
      if (signal.aborted) this.close();
      else signal.addEventListener('abort', () => this.close(), { once: true });
    }
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  private accepted(c: StackConnection): void {
    const s = Socket.fromConnection(c, this.socketOpts);
    if (this.opts.noDelay) s.setNoDelay(true);
    if (this.opts.keepAlive) s.setKeepAlive(true, this.opts.keepAliveInitialDelay ?? 0);
    this.openSockets++;
    s.acceptedBy = this;
    this.emit('connection', s);
  }

  /** @internal An accepted socket closed (before its own 'close' listeners hear it). */
  socketClosed(): void {
    this.openSockets--;
    this.maybeClosed();
  }

  get listening(): boolean { return this.listener !== null && !this.listener.closed; }

  /** The address, family and port listened on (the unspecified address when listening on all); null when not listening. */
  address(): { address: string; family: string; port: number } | null {
    if (!this.listener) return null;
    const address = listeningAddress(this.listener);
    return { address, family: address.includes(':') ? 'IPv6' : 'IPv4', port: this.listener.port };
  }

  /** Calls `cb` with the number of open accepted sockets (synchronously; net.Server's is asynchronous). */
  getConnections(cb: (err: Error | null, n: number) => void): this { cb(null, this.openSockets); return this; }

  /** Stop accepting; 'close' once every connection has ended (like net.Server#close). */
  close(cb?: (err?: Error) => void): this {
    if (!this.listener && !this.closing) {
      if (cb) process.nextTick(() => cb(apiError(Error, 'ERR_SERVER_NOT_RUNNING', 'Server is not running.')));
      return this;
    }
    if (cb) this.once('close', cb);
    if (this.listener) { const l = this.listener; this.listener = null; l.onClosed = null; l.close(); }
    this.release = releaseHold(this.release);
    this.closing = true;
    this.maybeClosed();
    return this;
  }

  /** Keep the process alive while listening (the default). */
  ref(): this {
    this.refed = true;
    if (this.listener && this.release === null) this.release = this.stack.clock.hold?.() ?? null;
    return this;
  }
  /** Let the process exit even though the server listens. */
  unref(): this {
    this.refed = false;
    this.release = releaseHold(this.release);
    return this;
  }

  private maybeClosed(): void {
    if (this.closing && this.openSockets === 0) { this.closing = false; process.nextTick(() => this.emit('close')); }
  }
}
