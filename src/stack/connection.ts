/**
 * A connection as the stack holds it: the engine (src/tcp) plus its addresses, its listener, its place in the
 * timer heap, and the handler (a socket) that hears its events.
 */
import { formatAddress } from '../wire/address.js';
import { makeSegment } from '../wire/tcp-types.js';
import { TCP_STATES, stateIndex, type TcpStateName } from '../wire/trace.js';
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
const EMBRYONIC = 1, REMOVED = 2, KEEP_TW_TCB = 4, NO_DF = 8, NO_FROM = 15 << 4, DIRTY = 1 << 12;

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
  /** @internal Its place in the stack's timer heap (IndexedTimerHeap), -1 while no timer is armed. */
  heapIndex = -1;
  /** Deadline currently registered in the timer heap (Infinity: none); kept there, not on the connection. */
  get deadline(): number { return this.stack.heap.deadlineOf(this); }
  listener: Listener | null = null;
  /**
   * @internal embryonic, removed, keepTimeWaitTcb, noDf as bits, and the latest transition's from and to states
   * (TCP_STATES indexes, bits 4-7 and 8-11; from 15: no transition yet): one small integer instead of six fields.
   */
  flagBits = NO_FROM;
  /** In the listener's SYN queue (not yet ESTABLISHED). */
  get embryonic(): boolean { return (this.flagBits & EMBRYONIC) !== 0; }
  set embryonic(v: boolean) { this.flagBits = v ? this.flagBits | EMBRYONIC : this.flagBits & ~EMBRYONIC; }
  /** @internal In the stack's dirty list (the running receive batch touched it: Stack.dirty). */
  get dirty(): boolean { return (this.flagBits & DIRTY) !== 0; }
  /** @internal */
  set dirty(v: boolean) { this.flagBits = v ? this.flagBits | DIRTY : this.flagBits & ~DIRTY; }
  get removed(): boolean { return (this.flagBits & REMOVED) !== 0; }
  set removed(v: boolean) { this.flagBits = v ? this.flagBits | REMOVED : this.flagBits & ~REMOVED; }
  /**
   * Keep this connection a full TCB in TIME-WAIT, handled by the engine (RFC 9293 §3.10.7.4), instead of moving
   * it to the compact TIME-WAIT table: set by a socket layer whose socket is still open (shut down, not closed),
   * as FreeBSD keeps the tcpcb while the socket references it.
   */
  get keepTimeWaitTcb(): boolean { return (this.flagBits & KEEP_TW_TCB) !== 0; }
  set keepTimeWaitTcb(v: boolean) { this.flagBits = v ? this.flagBits | KEEP_TW_TCB : this.flagBits & ~KEEP_TW_TCB; }
  /** The path MTU to the peer is locked below Linux's min_pmtu: segments leave without DF (RFC 1191 §5). */
  get noDf(): boolean { return (this.flagBits & NO_DF) !== 0; }
  set noDf(v: boolean) { this.flagBits = v ? this.flagBits | NO_DF : this.flagBits & ~NO_DF; }

  // The latest transition, kept as a few fields rather than the event object: the event's cause holds the
  // segment that caused it, whose payload is a view into the whole received packet buffer (with its options
  // object), about 600 bytes an idle connection would otherwise hold. A segment cause keeps its header fields.
  private ltTime = 0;
  /** A user or timer cause as given; null for a segment cause (its header is in ltSeq, ltAck, ltHdr). */
  private ltCause: TcpCause | null = null;
  // seq and ack as int32 (`| 0`): small integers, never boxed as doubles; flags and window in one (flags | window << 9).
  private ltSeq = 0;
  private ltAck = 0;
  private ltHdr = 0;
  /**
   * The latest state transition, with its cause. Only the latest is kept, so an idle connection holds no
   * list of past segments (nor the packet buffers they are views into); every transition of every
   * connection goes to Stack.observeTransitions (lifecycle logs, traces). A segment cause comes back as its
   * header (ports, sequence and acknowledgment numbers, flags, window), without options or payload.
   */
  get lastTransition(): StateTransition | null {
    const from = (this.flagBits >> 4) & 15;
    if (from === 15) return null;
    const cause: TcpCause = this.ltCause ?? {
      kind: 'segment',
      seg: makeSegment({ srcPort: this.remotePort, dstPort: this.localPort, seq: this.ltSeq, ack: this.ltAck, flags: this.ltHdr & 0x1ff, window: this.ltHdr >>> 9 }),
    };
    return { time: this.ltTime, from: TCP_STATES[from]!, to: TCP_STATES[(this.flagBits >> 8) & 15]!, cause };
  }
  set lastTransition(t: StateTransition | null) {
    if (t === null) { this.flagBits = (this.flagBits & (15 | DIRTY)) | NO_FROM; this.ltCause = null; return; }
    this.ltTime = t.time;
    this.flagBits = (this.flagBits & (15 | DIRTY)) | (stateIndex(t.from) << 4) | (stateIndex(t.to) << 8);
    const cause = t.cause;
    if (cause.kind === 'segment') {
      const seg = cause.seg;
      this.ltCause = null;
      this.ltSeq = seg.seq | 0; this.ltAck = seg.ack | 0; this.ltHdr = (seg.flags & 0x1ff) | ((seg.window & 0xffff) << 9);
    } else {
      this.ltCause = cause;
    }
  }
  /** The transitions this connection still holds: the latest one (see lastTransition). */
  get history(): readonly StateTransition[] { const t = this.lastTransition; return t === null ? [] : [t]; }
  readonly createdAt: number;
  lastSendSpace = 0;
  /** The stack's 4-tuple key (tupleKey), as int32 so it is never a boxed double; `key` gives it back as uint32. */
  private readonly key32: number;
  /**
   * `localPort` and `remotePort` are the engine's (the same ports: not kept twice); `key` is the stack's
   * tupleKey of the 4-tuple.
   */
  constructor(
    readonly stack: Stack,
    readonly tcp: TcpConnection,
    readonly localAddr: Uint8Array,
    localPort: number,
    readonly remoteAddr: Uint8Array,
    remotePort: number,
    key: number,
  ) {
    if (tcp.localPort !== localPort || tcp.remotePort !== remotePort) throw new RangeError('StackConnection: ports differ from the engine\'s');
    this.key32 = key | 0;
    this.createdAt = stack.clock.now();
  }
  get localPort(): number { return this.tcp.localPort; }
  get remotePort(): number { return this.tcp.remotePort; }
  /** The stack's 4-tuple key (tupleKey). */
  get key(): number { return this.key32 >>> 0; }
  get state(): TcpStateName { return this.tcp.state; }
  get localAddress(): string { return formatAddress(this.localAddr); }
  get remoteAddress(): string { return formatAddress(this.remoteAddr); }
  /** Run the engine's output/events/timer bookkeeping after the caller did something to tcp. */
  service(): void { this.stack.service(this); }
}
