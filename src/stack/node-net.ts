/**
 * `createNet(stack)`: the shape of node:net, bound to one synack stack. Every function has node:net's
 * signature, so libraries that accept a connection factory take these functions as they are:
 * `http.request({ createConnection })`, an `http.Agent`'s `createConnection`, `ws`'s `createConnection`,
 * `tls.connect({ socket })`, and undici's `connect` (its own callback convention: `undiciConnect`).
 * Node-only, like socket.ts.
 */
import type { Server as NodeServer } from 'node:net';
import { Socket, Server, checkPort, type SocketConnectOptions, type ServerOptions, type SocketOptions, type ListenOptions } from './socket.js';
import type { Stack } from './stack.js';

/** Options of createNet. */
export interface NetOptions {
  /**
   * Host names and their addresses (synack has no DNS): `{ 'api.test': '10.0.0.1' }`. 'localhost' means the
   * stack's first address unless listed here.
   */
  hosts?: Record<string, string>;
  /** Defaults for every connection this object opens (e.g. `{ noDelay: true }`). */
  connectDefaults?: Partial<Omit<SocketConnectOptions, 'port' | 'host'>>;
}

/** What undici passes to a `connect` function. */
export interface UndiciConnectOptions {
  hostname: string;
  host?: string;
  protocol?: string;
  port: string | number;
  servername?: string | null;
  localAddress?: string | null;
}

/** node:net's functions, bound to one stack. */
export interface SynackNet {
  /** The stack every socket of this object uses. */
  readonly stack: Stack;
  /** `net.Socket` bound to the stack: `new net.Socket().connect(port, host)`. */
  readonly Socket: new (opts?: SocketOptions) => Socket;
  /** `net.createConnection(options[, connectListener])` / `(port[, host][, connectListener])`. */
  createConnection(options: SocketConnectOptions | number | string, host?: string | ((...args: unknown[]) => void), listener?: (...args: unknown[]) => void): Socket;
  /** Same as createConnection (net.connect). */
  connect(options: SocketConnectOptions | number | string, host?: string | ((...args: unknown[]) => void), listener?: (...args: unknown[]) => void): Socket;
  /** `net.createServer([options][, connectionListener])`: listens on the stack. */
  createServer(options?: ServerOptions | ((s: Socket) => void), listener?: (s: Socket) => void): Server;
  /**
   * Feed the stack's connections on `port` to a Node server that takes sockets by its 'connection' event
   * (`http.Server`, `https.Server`, `tls.Server`, an express app's `http.createServer(app)`, a `ws` server's
   * http server). Returns the synack Server (address(), close()).
   */
  serve(server: NodeServer | { emit(event: 'connection', s: Socket): unknown }, port?: number | string | ListenOptions, host?: string): Server;
  /** undici's `connect` option: `new undici.Agent({ connect: net.undiciConnect })`. */
  undiciConnect(opts: UndiciConnectOptions, callback: (err: Error | null, socket: Socket | null) => void): void;
}

/**
 * node:net bound to `stack`.
 *
 * ```ts
 * const net = createNet(stack);
 * http.get({ host: '10.0.0.1', port: 80, path: '/', createConnection: net.createConnection }, (res) => res.resume());
 * ```
 */
export function createNet(stack: Stack, opts: NetOptions = {}): SynackNet {
  const hosts = opts.hosts ?? {};
  const lookup = (name: string): string | undefined => hosts[name];
  const defaults = opts.connectDefaults ?? {};
  class BoundSocket extends Socket {
    constructor(o: SocketOptions = {}) { super({ ...o, stack }); }
  }
  const createConnection = (options: SocketConnectOptions | number | string, host?: string | ((...args: unknown[]) => void), listener?: (...args: unknown[]) => void): Socket => {
    const o: SocketConnectOptions = typeof options === 'object' && options !== null ? { ...options } : { port: options };
    if (typeof host === 'function') listener = host;
    else if (typeof host === 'string') o.host = host;
    const full: SocketConnectOptions = { ...defaults, lookup, ...o };
    // node:http passes a host that may be '' or undefined and a hostname; Node's connect prefers host.
    const ho = options as { hostname?: string };
    if (!full.host && typeof ho === 'object' && ho.hostname) full.host = ho.hostname;
    const s = new BoundSocket({ allowHalfOpen: full.allowHalfOpen ?? false });
    return s.connect(full, listener ? () => listener!() : undefined);
  };
  return {
    stack,
    Socket: BoundSocket,
    createConnection,
    connect: createConnection,
    createServer(options?: ServerOptions | ((s: Socket) => void), listener?: (s: Socket) => void): Server {
      if (typeof options === 'function') { listener = options; options = {}; }
      return new Server(stack, options ?? {}, listener);
    },
    serve(server, port = 0, host) {
      // net.Server applies its noDelay option (http.Server: true by default) when it accepts a socket; sockets
      // emitted as 'connection' skip that step, so it is applied here.
      const noDelay = (server as { noDelay?: unknown }).noDelay === true;
      const s = new Server(stack, { noDelay }, (sock) => { server.emit('connection', sock); });
      if (typeof port === 'object') s.listen(port);
      else s.listen({ port: checkPort(port), ...(host !== undefined ? { host } : {}) });
      return s;
    },
    undiciConnect(o, callback) {
      let done = false;
      const finish = (err: Error | null, s: Socket | null) => { if (!done) { done = true; callback(err, s); } };
      let s: Socket;
      try {
        // undici's own connector sets noDelay for plain TCP too; without it each POST waits for a delayed ACK.
        s = createConnection({ host: o.hostname, port: o.port === '' || o.port === undefined ? (o.protocol === 'https:' ? 443 : 80) : o.port, noDelay: true, ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
      } catch (e) {
        finish(e as Error, null);
        return;
      }
      const onError = (err: Error) => finish(err, null);
      s.once('error', onError);
      s.once('connect', () => { s.removeListener('error', onError); finish(null, s); });
    },
  };
}
