/**
 * A connection as the stack holds it: the engine (src/tcp) plus its addresses, its listener, its place in the
 * timer heap, and the handler (a socket) that hears its events.
 */
import { formatAddress } from '../wire/address.js';
import type { TcpStateName } from '../wire/trace.js';
import type { TcpCause, TcpConnection, TcpEvent } from '../tcp/connection.js';
import type { Listener } from './listener.js';
import type { Stack } from './stack.js';

/** Receives a connection's notifications (the Node-style Socket implements this). */
export interface ConnectionHandler {
  /**
   * An engine event: state change, connected, peer's FIN, error (ECONNRESET ...), closed. `closed` also comes
   * when the connection enters TIME-WAIT and moves to the stack's compact table: for its owner it is done.
   */
  onEvent(ev: TcpEvent): void;
  /** In-order data is waiting (conn.tcp.readableLength > 0). */
  onReadable(): void;
  /** Send-buffer space was freed. */
  onWritable(): void;
}

let nextConnId = 1;

/** A timer armed with Stack.schedule: set `cancelled` to true to cancel it. */
export interface UserTimer {
  /** Absolute stack time to fire at, in ms on the stack's clock. */
  at: number;
  /** What runs when it fires. */
  fn: () => void;
  /** Set true to cancel the timer before it fires. */
  cancelled: boolean;
}

/** A state change of a connection and what caused it. */
export interface StateTransition {
  /** Stack time of the transition, in ms. */
  time: number;
  /** The RFC 9293 state left. */
  from: TcpStateName;
  /** The RFC 9293 state entered. */
  to: TcpStateName;
  /** What caused it: a segment that arrived, a user call, a timer. */
  cause: TcpCause;
}

/** A connection as the stack knows it: the engine plus its addresses. */
export class StackConnection {
  readonly id = nextConnId++;
  handler: ConnectionHandler | null = null;
  /** Deadline currently registered in the timer heap. */
  deadline = Infinity;
  listener: Listener | null = null;
  /** In the listener's SYN queue (not yet ESTABLISHED). */
  embryonic = false;
  removed = false;
  /**
   * Keep this connection a full TCB in TIME-WAIT, handled by the engine (RFC 9293 §3.10.7.4), instead of moving
   * it to the compact TIME-WAIT table: set by a socket layer whose socket is still open (shut down, not closed),
   * as FreeBSD keeps the tcpcb while the socket references it.
   */
  keepTimeWaitTcb = false;
  /**
   * The latest state transition, with its cause. Only the latest is kept, so an idle connection holds no
   * list of past segments (nor the packet buffers they are views into); every transition of every
   * connection goes to Stack.observeTransitions (lifecycle logs, traces).
   */
  lastTransition: StateTransition | null = null;
  /** The transitions this connection still holds: the latest one (see lastTransition). */
  get history(): readonly StateTransition[] { return this.lastTransition === null ? [] : [this.lastTransition]; }
  readonly createdAt: number;
  lastSendSpace = 0;
  constructor(
    readonly stack: Stack,
    readonly tcp: TcpConnection,
    readonly localAddr: Uint8Array,
    readonly localPort: number,
    readonly remoteAddr: Uint8Array,
    readonly remotePort: number,
    readonly key: number,
  ) {
    this.createdAt = stack.clock.now();
  }
  get state(): TcpStateName { return this.tcp.state; }
  get localAddress(): string { return formatAddress(this.localAddr); }
  get remoteAddress(): string { return formatAddress(this.remoteAddr); }
  /** The path MTU to the peer is locked below Linux's min_pmtu: segments leave without DF (RFC 1191 §5). */
  noDf = false;
  /** Run the engine's output/events/timer bookkeeping after the caller did something to tcp. */
  service(): void { this.stack.service(this); }
}
