/**
 * Node `net`-compatible sockets on a synack Stack. `Socket` is a real `stream.Duplex` that behaves
 * as `net.Socket` does (events, error codes, `ref()`/`unref()`, `destroy(err)`, `'close'` with `hadError`), so
 * node:http, https/tls, ws, undici and anything else that takes a socket runs on it unchanged. Beside it:
 * server.ts (`Server`), socket-errors.ts (Node-style errors, port checks), socket-copy-blocks.ts (the write path's
 * string scratch), copy-blocks.ts (large writes' copy blocks and their pool), socket-idle-timers.ts (setTimeout's
 * timers), socket-rules.ts (what web-stream sockets decide alike); here, the class and its read turn.
 * Node-only (the Stack underneath is browser-clean; browsers use src/stack/stream-socket.ts).
 */
import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import type { TcpEvent } from '../tcp/connection.js';
import type { TcpStateName } from '../wire/trace.js';
import type { Stack, StackConnection, ConnectionHandler } from './stack.js';
import type { TcpConfig } from '../tcp/config.js';
import { SMALL_WRITE } from '../tcp/buffers.js';
import { formatAddress } from '../wire/address.js';
import type { Server } from './server.js';
import { apiError, checkPort, isIpLiteral, socketError, type SocketError } from './socket-errors.js';
import { readMayOpenWindow, releaseHold, writerMayResume, type ProcessHold } from './socket-rules.js';
import { SCRATCH, encodeString, resetScratch } from './socket-copy-blocks.js';
import { CopyBlocks } from './copy-blocks.js';
import { idleTimersOf } from './socket-idle-timers.js';

/** Options of `new Socket()`, as `net.Socket`'s. */
export interface SocketOptions {
  /** Keep the writable side open after the peer's FIN (default false: end() is called for you, as in Node). */
  allowHalfOpen?: boolean;
  /** The stack a later `socket.connect()` uses (set for you by `createNet(stack).Socket`). */
  stack?: Stack;
}

/** Options of `connect()` / `createConnection()`, as `net.connect`'s TCP options. */
export interface SocketConnectOptions {
  port: number | string;
  /** An IPv4/IPv6 literal, or a name the `lookup` (or createNet's `hosts`) resolves. Default 'localhost'. */
  host?: string;
  localPort?: number;
  localAddress?: string;
  allowHalfOpen?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** Idle timeout in ms (as socket.setTimeout). */
  timeout?: number;
  /** Aborting it destroys the socket with an AbortError, as in Node. */
  signal?: AbortSignal;
  /** Resolves a host name to an address literal; throw or return undefined for ENOTFOUND. */
  lookup?: (host: string) => string | undefined;
  /** Per-connection engine configuration (RFC choices: RTO bounds, window, Nagle ...). */
  tcp?: Partial<TcpConfig>;
}

interface PendingWrite { chunks: Uint8Array[]; cb: (err?: Error | null) => void }

export class Socket extends Duplex implements ConnectionHandler {
  /** The stack connection once connect() or accept gave one. */
  conn: StackConnection | null = null;
  /**
   * @internal The Server that accepted this socket, told of its 'close' first (Server#close waits for them).
   * Not `server`: node:http sets that one to its own server.
   */
  acceptedBy: Server | null = null;
  /** True between connect() and 'connect', as net.Socket#connecting. */
  connecting = false;
  /** The idle timeout set by setTimeout (ms; undefined when none), as net.Socket#timeout. */
  timeout: number | undefined = undefined;
  private readonly stack: Stack | undefined;
  private established = false;
  private wantRead = false;
  private pendingWrite: PendingWrite | null = null;
  private ended = false;
  /** @internal The idle timeout's deadline (setTimeout) in its stack's IdleTimers heap; Infinity when none is armed. */
  idleAt = Infinity;
  /** @internal Where the socket sits in its stack's IdleTimers heap (HeapSlot); -1 when no timeout is armed. */
  heapIndex = -1;
  private lastActivity = 0;
  private resetOnDestroy = false;
  private _bytesRead = 0;
  private _bytesWritten = 0;
  private refed = true;
  private release: ProcessHold = null;
  private transitionEmitter: EventEmitter | null = null;
  /** RFC 9293 state transitions of this socket's connection, as they happen ('transition' events). */
  get transitions(): EventEmitter {
    // Made when first asked for: most sockets are never watched, and a connection per request pays for each object.
    return (this.transitionEmitter ??= new EventEmitter());
  }

  constructor(opts: SocketOptions = {}) {
    // emitClose off, as net.Socket's: stream.finished() then completes on 'end' and 'finish', as for net.Socket.
    // _destroy turns it on, so the stream machinery's own tick after it emits 'close' (emit() adds hadError).
    // decodeStrings off, as net.Socket's: a string write reaches _write as it is and is encoded straight into the
    // memory the engine takes it from (encodeString), not into a Buffer of its own first; writableLength then
    // counts a string's characters, as node:net's does.
    // One options object per allowHalfOpen value, shared by every socket (Duplex keeps no reference to it).
    super((opts.allowHalfOpen ?? false) === false ? DUPLEX_OPTIONS : DUPLEX_OPTIONS_HALF_OPEN);
    // Readable's read-ahead (maybeReadMore: a nextTick after every push that calls read(0) while the buffer is under
    // its high-water mark) has nothing to fetch here: the stack pushes whatever arrives while the consumer wants
    // it (onReadable → pump), and read() calls _read when it wants more. Marked as running, it is never
    // scheduled: one nextTick less per received chunk (under Node 20 a nextTick's computed-key object costs ~0.5 µs).
    (this as unknown as { _readableState: { readingMore: boolean } })._readableState.readingMore = true;
    this.stack = opts.stack;
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
    const s = new Socket({ allowHalfOpen: opts.allowHalfOpen ?? false, stack });
    return s.connect(opts, onConnect);
  }

  /**
   * Open the connection (net.Socket#connect): `connect(options[, listener])` or `connect(port[, host][, listener])`.
   * A bad port throws RangeError ERR_SOCKET_BAD_PORT; connection failures arrive as 'error' (ECONNREFUSED,
   * ETIMEDOUT, ENOTFOUND for a name nobody resolves ...).
   */
  connect(options: SocketConnectOptions | number | string, host?: string | (() => void), listener?: () => void): this {
    const opts: SocketConnectOptions = typeof options === 'object' && options !== null ? options : { port: options };
    if (typeof host === 'function') listener = host;
    else if (typeof host === 'string') opts.host = host;
    const stack = this.stack;
    if (!stack) throw apiError(Error, 'ERR_SOCKET_NO_STACK', 'this Socket has no stack: use createNet(stack).Socket or Socket.connect(stack, ...)');
    if (this.conn || this.connecting) throw apiError(Error, 'ERR_SOCKET_CONNECTING', 'Socket is already connecting or connected');
    const port = checkPort(opts.port, 'Port', false);
    if (opts.localPort !== undefined) checkPort(opts.localPort, 'localPort');
    if (listener) this.once('connect', listener);
    if (opts.timeout) this.setTimeout(opts.timeout);
    this.connecting = true;
    if (opts.signal) {
      const signal = opts.signal;
      const onAbort = () => this.destroy(Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR', cause: signal.reason }));
      if (signal.aborted) { process.nextTick(onAbort); return this; }
      signal.addEventListener('abort', onAbort, { once: true });
      this.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    const name = opts.host ?? 'localhost';
    let address: string | undefined = name;
    if (!isIpLiteral(name)) {
      try { address = opts.lookup?.(name); } catch { address = undefined; }
      if (address === undefined && name === 'localhost') address = formatAddress(stack.addresses[0]!);
    }
    if (address === undefined) {
      process.nextTick(() => this.destroy(socketError('ENOTFOUND', 'getaddrinfo', `synack resolves only addresses and the names its hosts table gives`, name)));
      return this;
    }
    try {
      const c = stack.connect({ host: address, port, localPort: opts.localPort, localAddress: opts.localAddress, config: opts.tcp });
      this.attach(c);
      // connect() sent the SYN before anyone could listen (an OPEN leaves CLOSED, RFC 9293 §3.10.1): the
      // transition is replayed to 'state' listeners added before the connection's next event (queueReplay), in
      // the tick after they are added; no tick at all when nobody listens.
      if (c.state !== 'CLOSED') this.earlyState = c.state;
      if (opts.noDelay) this.setNoDelay(true);
      if (opts.keepAlive) this.setKeepAlive(true, opts.keepAliveInitialDelay ?? 0);
    } catch (e) {
      const err = e as SocketError;
      process.nextTick(() => this.destroy(err.code ? socketError(err.code, 'connect', err.message, address, port) : err));
    }
    return this;
  }

  private attach(c: StackConnection): void {
    this.conn = c;
    c.handler = this;
    this.lastActivity = c.stack.clock.now();
    // A timeout set before there was a connection (connect's `timeout` option) is armed now, as Node's is.
    if (this.timeout !== undefined) this.armTimer();
    if (this.refed) this.hold();
  }

  private hold(): void {
    if (this.release === null && this.conn && !this.destroyed) this.release = this.conn.stack.clock.hold?.() ?? null;
  }

  private unhold(): void { this.release = releaseHold(this.release); }

  // --- ConnectionHandler ---
  /**
   * connect()'s own transition (CLOSED → this), still to be replayed to 'state' listeners added before the
   * connection's next event; null once that event came or the replay ran.
   */
  private earlyState: TcpStateName | null = null;
  /** A replay of earlyState is queued (a 'state' listener was added). */
  private replayQueued = false;

  private queueReplay(): void {
    if (this.replayQueued) return;
    this.replayQueued = true;
    process.nextTick(replayEarlyState, this);
  }

  /** @internal The queued replay of connect()'s transition (queueReplay), or its next event came first. */
  replayEarly(): void {
    const to = this.earlyState;
    if (to === null) return;
    this.earlyState = null;
    if (this.listenerCount('state') > 0) this.emit('state', to, 'CLOSED');
  }

  /** @internal A listener for `event` is being added (on, addListener, prependListener, once: listenerAdded). */
  listenerAdding(event: string | symbol): void {
    if (event !== 'state') return;
    this.stateListened = true;
    if (this.earlyState !== null) this.queueReplay();
  }

  /** A 'state' listener was added at some point (it may have been removed since). */
  private stateListened = false;

  /** Called by the stack (ConnectionHandler), not by applications. */
  onEvent(ev: TcpEvent): void {
    // The transition connect() made comes before this one, or is no longer news.
    if (this.earlyState !== null) { if (this.replayQueued) this.replayEarly(); else this.earlyState = null; }
    if (this.destroyed && ev.type !== 'state') return;
    switch (ev.type) {
      case 'state':
        this.transitionEmitter?.emit('transition', ev);
        // Most sockets never had a 'state' listener (stateListened): no emit() nor listener count, for five or more
        // transitions per connection.
        if (this.stateListened && this.listenerCount('state') > 0) this.emit('state', ev.to, ev.from);
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
        // What arrived earlier this turn and is held for its end (onReadable) is delivered first.
        if (this.heldLength > 0) this.pump();
        const c = this.conn!;
        const syscall = this.connecting ? 'connect' : 'read';
        this.destroy(socketError(ev.code, syscall, ev.message, c.remoteAddress, c.remotePort));
        break;
      }
      case 'closed':
        // The connection is gone (or in the stack's TIME-WAIT table): no network work is pending, so unread data
        // in the stream must not keep the process alive.
        this.unhold();
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

  /** Called by the stack (ConnectionHandler), not by applications. */
  onReadable(): void {
    if (this.destroyed) return;
    // The last activity matters only to an idle timeout (setTimeout stamps it when one is set): no clock read else.
    if (this.timeout !== undefined) this.touch();
    if (!this.wantRead) return;
    // Datagrams received one by one: an arrival is pushed at once, but one at the same time as the last pushed one
    // (the same virtual step: a burst) is read from the engine as it comes (the window as before) and held, with
    // what follows it in that host turn, payloads that continue one another joined, and pushed when the turn ends
    // (readLater): a burst of segments becomes one 'data' chunk, as node:net reads what the kernel queued in one
    // read per wake-up, not a 'data' event per segment. A receive batch (the stack services its connections once,
    // at its end) is pushed at once.
    if (this.readTurn !== 0) { this.pump(true); return; }
    const stack = this.conn!.stack;
    const now = stack.clock.now();
    if (now !== this.lastReadAt || stack.batching) { this.lastReadAt = now; this.pump(); return; }
    this.readTurn = 1;
    readLater(this);
    this.pump(true);
  }

  /** @internal 1 while arrivals are held for the turn's end (readLater resets it). */
  readTurn = 0;
  /** The stack's time when an arrival was last pushed at once (onReadable). */
  private lastReadAt = -1;

  /** @internal The turn ended (readLater): what was held in it goes now. */
  turnEnded(): void {
    this.readTurn = 0;
    if (this.heldLength > 0) this.pump();
  }

  /** Called by the stack (ConnectionHandler), not by applications. */
  onWritable(): void {
    // Blocks the peer has acknowledged go back to the pool.
    if (this.copies !== null && this.conn) this.copies.release(this.conn.tcp);
    if (this.destroyed) return;
    if (this.pendingWrite) {
      if (!writerMayResume(this.conn!.tcp)) return;
      const p = this.pendingWrite;
      this.pendingWrite = null;
      this.writeChunks(p.chunks, p.cb, this.conn!.stack.clock.now());
    }
  }

  // --- Duplex ---
  /** @internal */
  override _read(): void {
    this.wantRead = true;
    if (!this.deferPump) this.pump();
  }

  /** In resumed()'s read(0): _read only notes that the consumer wants data; resumed() pushes it after. */
  private deferPump = false;

  /**
   * @internal Readable#resume (what a 'data' listener and pipe() call too), without its two nextTicks where
   * they change nothing a listener can see. Readable schedules resume_ (read(0), 'resume', flow) for the next
   * tick, and when data is already there, read(0) pushes it in Readable's sync mode, which schedules a second
   * tick (emitReadable_) although resume_'s flow emits the data. Here: when nothing is readable (the usual case,
   * a listener added on connect or accept), no received data can reach the socket before that tick (arrivals
   * come in the stack's own turns), so resume_'s work is done now; else one tick (resumeTick) does it, pushing
   * after read(0), so the data is emitted as 'data' in that tick. With 'resume' listeners or a 'readable'
   * consumer, Readable's own path.
   */
  override resume(): this {
    const st = (this as unknown as { _readableState: ReadableFlags })._readableState;
    if (st.flowing === true || st.resumeScheduled || st.readableListening || this.destroyed || this.listenerCount('resume') > 0) return super.resume();
    st.resumeScheduled = true; // so Readable#resume schedules no resume_ of its own
    super.resume();
    const c = this.conn;
    if (st.length === 0 && !this.ended && (c === null || c.tcp.readableLength === 0)) this.resumed();
    else process.nextTick(resumeTick, this);
    return this;
  }

  /** @internal Readable's resume_ (resume()): read(0), 'resume', then what arrived flows as 'data'. */
  resumed(): void {
    const st = (this as unknown as { _readableState: ReadableFlags })._readableState;
    st.resumeScheduled = false;
    if (!st.reading) {
      this.deferPump = true;
      try { this.read(0); } finally { this.deferPump = false; }
    }
    if (this.listenerCount('resume') > 0) this.emit('resume');
    // Out of read()'s sync mode: a push while flowing with nothing buffered is emitted as 'data' at once.
    this.pump();
    while (st.flowing === true && this.read() !== null) { /* flow: what was buffered before */ }
    if (st.flowing === true && !st.reading) this.read(0);
  }

  /**
   * Read but not yet pushed (pump(true)): chunks in stream order (heldChunks), then the payload views that continue
   * one another in one buffer (heldBuffer), pushed by the next pump() (the turn's end, or an event).
   */
  private heldChunks: Buffer[] | null = null;
  private heldBuffer: ArrayBufferLike | null = null;
  private heldOffset = 0;
  private heldLength = 0;

  private pushHeld(): void {
    const chunks = this.heldChunks;
    const last = Buffer.from(this.heldBuffer!, this.heldOffset, this.heldLength);
    this.heldChunks = null;
    this.heldBuffer = null;
    this.heldLength = 0;
    if (chunks !== null) for (let i = 0; i < chunks.length; i++) this.wantRead = this.push(chunks[i]);
    this.wantRead = this.push(last);
  }

  /** In pump(): a 'data' listener's writes service the connection, whose events and arrivals may call pump() again. */
  private pumping = false;
  /** pump() was called again meanwhile: 1 to hold (pump(true)), 2 to push; the running pump() goes round again. */
  private pumpAgain = 0;

  /**
   * Read what the engine has while the consumer wants it; `hold`: keep it (joined) for the next pump(). Not
   * re-entered: a call from inside a push is taken up by the running one once that push returns, so held chunks
   * and what is read after them reach the stream in order.
   */
  private pump(hold = false): void {
    if (this.pumping) { if (this.pumpAgain !== 2) this.pumpAgain = hold ? 1 : 2; return; }
    const c = this.conn;
    if (!c || this.destroyed) return;
    this.pumping = true;
    try {
      for (;;) {
        this.pumpOnce(c, hold);
        const again = this.pumpAgain;
        if (again === 0 || this.destroyed) break;
        this.pumpAgain = 0;
        hold = hold && again === 1;
      }
    } finally {
      this.pumping = false;
      this.pumpAgain = 0;
    }
  }

  private pumpOnce(c: StackConnection, hold: boolean): void {
    if (!hold && this.heldLength > 0) this.pushHeld(); // in stream order, before anything read now
    let read = false;
    while (this.wantRead) {
      const data = c.tcp.read(65536);
      if (data.length === 0) break;
      read = true;
      this._bytesRead += data.length;
      if (!hold) { this.wantRead = this.push(chunkOf(data)); continue; }
      if (this.heldLength > 0) {
        if (data.buffer === this.heldBuffer && this.heldOffset + this.heldLength === data.byteOffset && this.heldLength + data.length <= 65536) {
          this.heldLength += data.length;
          continue;
        }
        // Not a continuation (another buffer: datagrams decoded from bytes, or the next packed block): a chunk of its
        // own, still pushed at the turn's end, so the application sees the same timing whatever the memory layout.
        (this.heldChunks ??= []).push(Buffer.from(this.heldBuffer!, this.heldOffset, this.heldLength));
      }
      this.heldBuffer = data.buffer;
      this.heldOffset = data.byteOffset;
      this.heldLength = data.length;
    }
    if (read && readMayOpenWindow(c.tcp)) c.service();
    if (!hold && this.ended && c.tcp.readableLength === 0 && !this.readableEnded && this.wantRead) {
      this.push(null);
    }
  }

  /**
   * A _write/_writev begins: one clock read serves the idle timeout's activity and the engine's send, and the
   * string scratch is free again (the previous call's chunks were handed over or copied out).
   */
  private writeStarts(): number {
    const c = this.conn;
    resetScratch();
    if (c === null) return 0;
    const now = c.stack.clock.now();
    this.lastActivity = now;
    return now;
  }

  /** @internal */
  override _write(data: Buffer | string, enc: BufferEncoding | 'buffer', cb: (err?: Error | null) => void): void {
    const now = this.writeStarts();
    // Handed over in a list reused for it: writeChunks keeps no reference to the list (a pending rest is a new one).
    ONE_CHUNK[0] = typeof data === 'string' ? encodeString(data, enc) : data;
    try { this.writeChunks(ONE_CHUNK, cb, now); } finally { ONE_CHUNK[0] = EMPTY_CHUNK; }
  }

  /**
   * Corked writes (cork()/uncork(), or writes queued while one was pending) arrive together: all go into the
   * send buffer before the engine is serviced once, so they leave as full segments, not one small one each.
   * @internal
   */
  override _writev(chunks: Array<{ chunk: Buffer | string; encoding: BufferEncoding | 'buffer' }>, cb: (err?: Error | null) => void): void {
    const now = this.writeStarts();
    const list: Uint8Array[] = [];
    for (let i = 0; i < chunks.length; i++) {
      const w = chunks[i]!;
      list.push(typeof w.chunk === 'string' ? encodeString(w.chunk, w.encoding) : w.chunk);
    }
    this.writeChunks(list, cb, now);
  }

  /** The copy blocks this socket's large writes are copied into as the engine takes them; made on the first. */
  private copies: CopyBlocks | null = null;

  private writeChunks(chunks: Uint8Array[], cb: (err?: Error | null) => void, now: number): void {
    const c = this.conn;
    if (!c) { cb(socketError('ENOTCONN', 'write', 'not connected')); return; }
    const t = c.tcp;
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i]!;
      let n: number;
      try {
        // A small write the engine copies at once (src/tcp/buffers.ts stages it): handed over as it is. A large one
        // it keeps by reference until acknowledged, while node:net's callback lets the caller reuse its buffer: what
        // the engine takes now is copied (CopyBlocks#send); the rest stays the caller's, referred to by the pending
        // write (as node:net's write request refers to the buffer until the kernel takes it), copied when the engine
        // has room (onWritable). The callback waits for the last byte to be handed over.
        n = chunk.length < SMALL_WRITE ? t.send(chunk, now) : (this.copies ??= new CopyBlocks()).send(t, chunk, now);
      } catch (e) {
        c.service();
        const code = (e as { code?: string }).code ?? 'EPIPE';
        cb(socketError(code, 'write', (e as Error).message));
        return;
      }
      this._bytesWritten += n;
      if (n < chunk.length) {
        // Backpressure: the send buffer is full; resume on onWritable with what is left (the caller's memory,
        // copied as the engine takes it; its callback waits until then).
        const rest = chunks.slice(i + 1);
        rest.unshift(chunk.subarray(n));
        // Encoded strings left waiting must not stay in the scratch, which the next write reuses: copied (a
        // Buffer's slice() would be a view).
        for (let j = 0; j < rest.length; j++) if (rest[j]!.buffer === SCRATCH.buffer) rest[j] = new Uint8Array(rest[j]!);
        this.pendingWrite = { chunks: rest, cb };
        c.service();
        return;
      }
    }
    c.service();
    cb();
  }

  /** @internal */
  override _final(cb: (err?: Error | null) => void): void {
    if (this.connecting) this.once('connect', () => this.shutdownAfterWrites(cb)); // Node ends after connecting
    else this.shutdownAfterWrites(cb);
  }

  private shutdownAfterWrites(cb: (err?: Error | null) => void): void {
    const c = this.conn;
    if (!c) { cb(); return; }
    try { c.tcp.shutdown(c.stack.clock.now()); } catch { /* already closed */ }
    c.service();
    cb();
  }

  /**
   * As net.Socket: the connection is closed as close(2) closes it — a FIN after the queued data, or a RST
   * when received data was left unread (RFC 1122 §4.2.2.13), whether or not `err` is given; `err` is only
   * reported locally ('error', then 'close' with hadError true). resetAndDestroy() sends a RST.
   * @internal
   */
  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.clearTimer();
    this.pendingWrite = null;
    this.connecting = false;
    const c = this.conn;
    // A connection the stack has let go (CLOSED, or handed to its TIME-WAIT table) has nothing left to close.
    if (c && !c.removed && c.tcp.state !== 'CLOSED') {
      const now = c.stack.clock.now();
      if (this.resetOnDestroy) c.tcp.abort(now);
      else c.tcp.close(now);
      c.service();
    }
    this.unhold();
    // 'close' comes from the stream machinery in the tick cb schedules (emitCloseNT, which looks at emitClose
    // then), after its 'error' if any, as net.Socket orders them; emit() adds hadError. It was a tick of our own.
    this.closedWithError = err !== null && err !== undefined;
    const states = this as unknown as { _readableState: { emitClose: boolean }; _writableState: { emitClose: boolean } };
    states._readableState.emitClose = true;
    states._writableState.emitClose = true;
    // The handler stays attached: the connection may still pass through LAST-ACK/TIME-WAIT, reported as 'state'.
    cb(err);
  }

  /** hadError of the coming 'close' (set by _destroy). */
  private closedWithError = false;

  /**
   * @internal EventEmitter#emit, with node:net's 'close': the stream machinery emits 'close' without arguments
   * (emitClose, in the tick after _destroy); here it carries hadError, and the server that accepted the socket
   * hears of it before the socket's own listeners. Arguments are passed on as given (no rest array per event).
   */
  override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    switch (arguments.length) {
      case 1:
        if (event === 'close') {
          const srv = this.acceptedBy;
          if (srv !== null) { this.acceptedBy = null; srv.socketClosed(); }
          return super.emit('close', this.closedWithError);
        }
        return super.emit(event);
      case 2: return super.emit(event, a);
      case 3: return super.emit(event, a, b);
      // eslint-disable-next-line prefer-rest-params
      default: return Reflect.apply(Duplex.prototype.emit, this, arguments) as boolean;
    }
  }

  // --- net.Socket API ---
  /** Close with RST (net.Socket#resetAndDestroy, Node 16.17+). */
  resetAndDestroy(): this {
    if (this.conn && this.conn.tcp.state !== 'CLOSED') this.resetOnDestroy = true;
    this.destroy();
    return this;
  }

  /** End the writable side (FIN), then destroy once everything written has been sent (net.Socket#destroySoon). */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', destroyOnFinish); // as node:net's once('finish', this.destroy): no closure per socket
  }

  /** Nagle off (true) or on (RFC 896 / RFC 1122 §4.2.3.4). */
  setNoDelay(noDelay = true): this {
    this.conn?.tcp.setNoDelay(noDelay);
    return this;
  }

  /**
   * Keep-alive probes on (RFC 1122 §4.2.3.6) after `initialDelay` ms idle (0 keeps the configured
   * `keepAliveIdle`, 2 h by default). A connection whose probes go unanswered fails with ETIMEDOUT.
   */
  setKeepAlive(enable = false, initialDelay = 0): this {
    const c = this.conn;
    if (c) { c.tcp.setKeepAlive(enable, initialDelay, c.stack.clock.now()); c.service(); }
    return this;
  }

  /** Idle timeout in the stack's clock; emits 'timeout' (the socket stays open, as in Node). 0 disables. */
  setTimeout(ms: number, cb?: () => void): this {
    if (typeof ms !== 'number' || !(ms >= 0)) throw apiError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "msecs" is out of range. It must be a non-negative finite number. Received ${String(ms)}`);
    this.timeout = ms > 0 ? ms : undefined;
    if (cb) { if (ms === 0) this.removeListener('timeout', cb); else this.once('timeout', cb); }
    if (ms > 0) {
      this.touch();
      // A deadline already due no later than the new one stays: when it comes it finds the socket active and
      // re-arms from the last activity (node:http sets the timeout again on every request; as Node's own
      // timers, no new entry each time). Disabling leaves it to come and find no timeout.
      if (this.idleAt > this.lastActivity + ms) this.armTimer();
    }
    return this;
  }

  private armTimer(): void {
    const c = this.conn;
    const ms = this.timeout;
    if (!c || !ms) return;
    idleTimersOf(c.stack).arm(this, this.lastActivity + ms);
  }

  /** @internal The idle deadline came (IdleTimers, which has disarmed it): 'timeout' if idle that long, then re-arm. */
  idleExpired(now: number): void {
    const ms = this.timeout;
    if (ms === undefined || this.destroyed) return;
    if (now - this.lastActivity >= ms) { this.emit('timeout'); this.lastActivity = now; }
    if (!this.destroyed) this.armTimer();
  }

  private clearTimer(): void {
    if (this.idleAt !== Infinity) idleTimersOf(this.conn!.stack).disarm(this);
  }

  private touch(): void {
    if (this.conn) this.lastActivity = this.conn.stack.clock.now();
  }

  /** Keep the process alive while this socket is open (the default). */
  ref(): this {
    this.refed = true;
    this.hold();
    return this;
  }
  /** Let the process exit even though this socket is open. */
  unref(): this {
    this.refed = false;
    this.unhold();
    return this;
  }

  /** The local address, family ('IPv4' | 'IPv6') and port; `{}` before the socket is connected, as in Node. */
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
  get localFamily(): string | undefined { return this.conn ? (this.conn.localAddr.length === 16 ? 'IPv6' : 'IPv4') : undefined; }
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

/** The Duplex options of every Socket (its constructor): as net.Socket's, see there; one with allowHalfOpen. */
const DUPLEX_OPTIONS = { allowHalfOpen: false, emitClose: false, autoDestroy: true, decodeStrings: false };
const DUPLEX_OPTIONS_HALF_OPEN = { ...DUPLEX_OPTIONS, allowHalfOpen: true };

/**
 * The one-chunk list a write is handed to writeChunks in (Socket#_write): writeChunks keeps no reference to the
 * list (a partial write keeps a copy of its rest), so one list serves every socket.
 */
const ONE_CHUNK: Uint8Array[] = [new Uint8Array(0)];
const EMPTY_CHUNK = ONE_CHUNK[0]!;

/**
 * A 'state' listener added before the connection's next event hears connect()'s transition (Socket#earlyState):
 * on, addListener and prependListener (once and prependOnceListener go through them) tell the socket first.
 * Patched on the prototype rather than declared, so Socket keeps Duplex's typed overloads of each.
 */
for (const name of ['on', 'addListener', 'prependListener'] as const) {
  const base = Duplex.prototype[name] as (this: Socket, event: string | symbol, listener: (...args: unknown[]) => void) => Socket;
  Object.defineProperty(Socket.prototype, name, {
    configurable: true, writable: true, enumerable: false,
    value: function listenerAdded(this: Socket, event: string | symbol, listener: (...args: unknown[]) => void): Socket {
      this.listenerAdding(event);
      return base.call(this, event, listener);
    },
  });
}

/** Sockets holding arrivals for the turn's end (Socket#onReadable), told when it ends, in one microtask. */
let readThisTurn: Socket[] = [];
let spareReadList: Socket[] = [];
const RESOLVED = Promise.resolve();
function readLater(s: Socket): void {
  if (readThisTurn.length === 0) void RESOLVED.then(endReadTurn);
  readThisTurn.push(s);
}
function endReadTurn(): void {
  const list = readThisTurn;
  readThisTurn = spareReadList;
  let i = 0;
  try {
    for (; i < list.length; i++) list[i]!.turnEnded();
  } finally {
    // A 'data' listener threw: the sockets after its own still end their turn (in the next microtask), or they
    // would hold what arrives from now on for ever.
    for (let j = i + 1; j < list.length; j++) readLater(list[j]!);
    list.length = 0;
    spareReadList = list;
  }
}

/**
 * The Buffer a read hands the application: its memory is its own either way (node:net gives each read memory of its
 * own). Up to ON_HEAP bytes, a copy in a new Buffer: V8 keeps a typed array that small in its heap, with no backing
 * store unless someone asks for its `.buffer`, and a connection's first payload is such an array (PayloadRuns gives it
 * exactly its length), so `Buffer.from(data.buffer, ...)` made V8 build it a backing store (~0.3-1 us with the GC's
 * sweep of it, two per request/response lifecycle) where the copy costs ~0.07 us. Larger: a Buffer over the engine's
 * view (ours now), no copy.
 */
function chunkOf(data: Uint8Array): Buffer {
  const n = data.length;
  if (n > ON_HEAP) return Buffer.from(data.buffer, data.byteOffset, n);
  // Buffer.alloc, not allocUnsafe: allocUnsafe carves small Buffers from a pool every Buffer of the process shares.
  const out = Buffer.alloc(n);
  out.set(data);
  return out;
}

/** V8's typed_array_max_size_in_heap (its default): typed arrays up to this many bytes live in V8's heap. */
const ON_HEAP = 64;

// nextTick callbacks taking the socket as an argument: no closure per socket.
function replayEarlyState(s: Socket): void { s.replayEarly(); }
function resumeTick(s: Socket): void { s.resumed(); }
/** destroySoon's 'finish' listener (an emitter calls its listeners with itself as `this`). */
function destroyOnFinish(this: Socket): void { this.destroy(); }

/** The public flags of a ReadableState (Node's own accessors) that Socket#resume reads and sets. */
interface ReadableFlags { flowing: boolean | null; resumeScheduled: boolean; readableListening: boolean; reading: boolean; length: number }
