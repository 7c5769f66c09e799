/**
 * `createNet(stack)`: the shape of node:net, bound to one synack stack. Every function has node:net's
 * signature, so libraries that accept a connection factory take these functions as they are:
 * `http.request({ createConnection })`, an `http.Agent`'s `createConnection`, `ws`'s `createConnection`,
 * `tls.connect({ socket })`, and undici's `connect` (its own callback convention: `undiciConnect`).
 * Node-only, like socket.ts.
 */
import type * as nodeNet from 'node:net';
import type { ClientRequestArgs } from 'node:http';
import { Socket, type SocketConnectOptions, type SocketOptions } from './socket.js';
import { Server, type ServerOptions, type ListenOptions } from './server.js';
import { checkPort } from './socket-errors.js';
import type { Stack } from './stack.js';
import { connect as tlsConnect } from 'node:tls';

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
  protocol: string;
  port: string;
  servername?: string;
  localAddress?: string | null;
}

/** undici's connect callback: `(null, socket)` or `(error, null)`. */
export type UndiciConnectCallback = (...args: [null, nodeNet.Socket] | [Error, null]) => void;

/**
 * The options createConnection takes: synack's own, node:net's TCP options, or what node:http and http.Agent
 * pass (ClientRequestArgs: `host`/`hostname`, `port`, `localAddress`, `timeout` ...). IPC paths are refused.
 */
export type ConnectOptions = SocketConnectOptions | nodeNet.NetConnectOpts | ClientRequestArgs;

/**
 * Called once connected. node:net calls a connect listener with no arguments; node:http's and http.Agent's
 * factories expect `(err, socket)`: synack passes `(null, socket)`, which serves both.
 */
export type ConnectListener = (err: Error | null, socket: nodeNet.Socket) => void;

/** node:net's functions, bound to one stack. Sockets are typed as `net.Socket`, whose API they implement. */
export interface SynackNet {
  /** The stack every socket of this object uses. */
  readonly stack: Stack;
  /** `net.Socket` bound to the stack: `new net.Socket().connect(port, host)`. */
  readonly Socket: new (opts?: SocketOptions) => Socket;
  /**
   * `net.createConnection(options[, connectListener])` / `(port[, host][, connectListener])`. Pass it as
   * node:http's or ws's `createConnection` option, or as an `http.Agent`'s `createConnection`.
   */
  createConnection(options: ConnectOptions | number | string, host?: string | ConnectListener, listener?: ConnectListener): nodeNet.Socket;
  /** Same as createConnection (net.connect). */
  connect(options: ConnectOptions | number | string, host?: string | ConnectListener, listener?: ConnectListener): nodeNet.Socket;
  /** `net.createServer([options][, connectionListener])`: listens on the stack. */
  createServer(options?: ServerOptions | ((s: Socket) => void), listener?: (s: Socket) => void): Server;
  /**
   * Feed the stack's connections on `port` to a Node server that takes sockets by its 'connection' event
   * (`http.Server`, `https.Server`, `tls.Server`, an express app's `http.createServer(app)`, the http server of
   * a `ws` WebSocketServer). Returns the synack Server (address(), close()).
   */
  serve(server: nodeNet.Server | { emit(event: 'connection', s: Socket): unknown }, port?: number | string | ListenOptions, host?: string): Server;
  /** undici's `connect` option: `new undici.Agent({ connect: net.undiciConnect })` (plain TCP; `https:` gets TLS). */
  undiciConnect(opts: UndiciConnectOptions, callback: UndiciConnectCallback): void;
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
  const createConnection = (options: ConnectOptions | number | string, host?: string | ConnectListener, listener?: ConnectListener): nodeNet.Socket => {
    let listen = listener;
    let o: Record<string, unknown>;
    if (typeof options === 'object' && options !== null) o = { ...options };
    else o = { port: options };
    if (typeof host === 'function') listen = host;
    else if (typeof host === 'string') o.host = host;
    if (o.port === undefined || o.port === null) {
      if (typeof o.path === 'string' && !('hostname' in o) && !('host' in o)) {
        throw Object.assign(new Error(`synack has no IPC sockets (path ${o.path})`), { code: 'ERR_INVALID_ARG_VALUE' });
      }
      if (typeof o.defaultPort === 'number' || typeof o.defaultPort === 'string') o.port = o.defaultPort;
    }
    // node:http passes both host and hostname (either may be empty); a name goes through the hosts table.
    const name = (typeof o.hostname === 'string' && o.hostname) || (typeof o.host === 'string' && o.host) || 'localhost';
    const full: SocketConnectOptions = {
      ...defaults,
      port: o.port as number | string,
      host: name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name,
      lookup,
    };
    for (const k of ['localAddress', 'localPort', 'timeout', 'noDelay', 'keepAlive', 'keepAliveInitialDelay', 'allowHalfOpen', 'signal', 'tcp'] as const) {
      if (o[k] !== undefined && o[k] !== null) (full as unknown as Record<string, unknown>)[k] = o[k];
    }
    const s = new BoundSocket({ allowHalfOpen: full.allowHalfOpen ?? false });
    s.connect(full, listen ? () => listen!(null, s as unknown as nodeNet.Socket) : undefined);
    return s as unknown as nodeNet.Socket;
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
      const finish = (err: Error | null, s: Socket | null) => {
        if (done) return;
        done = true;
        if (err) callback(err, null); else callback(null, s as unknown as nodeNet.Socket);
      };
      let s: Socket;
      try {
        // undici's own connector sets noDelay for plain TCP too; without it each POST waits for a delayed ACK.
        s = createConnection({ host: o.hostname, port: o.port === '' ? (o.protocol === 'https:' ? 443 : 80) : o.port, noDelay: true, ...(o.localAddress ? { localAddress: o.localAddress } : {}) }) as unknown as Socket;
      } catch (e) {
        finish(e as Error, null);
        return;
      }
      const onError = (err: Error) => finish(err, null);
      s.once('error', onError);
      s.once('connect', () => {
        s.removeListener('error', onError);
        if (o.protocol !== 'https:') { finish(null, s); return; }
        // TLS on top, as undici's connector does for https (servername for SNI).
        const t = tlsConnect({ socket: s as unknown as nodeNet.Socket, servername: o.servername ?? o.hostname, ALPNProtocols: ['http/1.1'] });
        t.once('error', onError);
        t.once('secureConnect', () => { t.removeListener('error', onError); finish(null, t as unknown as Socket); });
      });
    },
  };
}
