/**
 * A host: one or more IPv4/IPv6 addresses, TCP connections demultiplexed by 4-tuple, listeners with a
 * bounded SYN queue and accept queue (backlog), SYN cookies, per-source SYN rate limiting, a compact
 * TIME-WAIT table, RFC 6056 ephemeral ports, RSTs for closed ports (RFC 9293 §3.10.7.1), and one timer for
 * everything. Packets come in through receive() and leave through the attached link.
 *
 * Browser-clean on purpose (no Node imports): the web page runs two of these in virtual time.
 */
import { WireError } from '../wire/errors.js';
import { addressEquals, formatAddress, parseAddress } from '../wire/address.js';
import { decodeHostPacket, encodeTcpPacket, encodeTcpPacketChecksumOffload, encodeTcpPacketHeaders, type DecodedPacket } from '../wire/packet.js';
import { EXT_FRAGMENT, EXT_HOP_BY_HOP, PROTO_TCP, type IpPacket } from '../wire/ip.js';
import { IpReassembler, fragment, isFragment, type ReassemblerOptions } from '../wire/ip-reassembly.js';
import {
  ICMP_DEST_UNREACH, ICMP_ECHO_REQUEST, ICMP_EXC_FRAGTIME, ICMP_PROT_UNREACH, ICMP_TIME_EXCEEDED, ICMPV6_ECHO_REQUEST,
  ICMPV6_EXC_FRAGTIME, ICMPV6_HDR_FIELD, ICMPV6_HDR_INCOMPLETE, ICMPV6_PARAMPROB, ICMPV6_TIME_EXCEED, ICMPV6_UNK_NEXTHDR, PROTO_ICMP, PROTO_ICMPV6,
  decodeIcmp, encodeIcmpError, isIcmpError, quotedTcp,
} from '../wire/icmp.js';
import { finishChecksum, onesComplementSum } from '../wire/checksum.js';
import { martianSource } from './martians.js';
import { echoReply, tcpActionFor } from './icmp.js';
import { IcmpRateLimiter } from './icmp-rate.js';
import { MIN_PMTU_V4, PmtuCache } from './ip-pmtu.js';
import { freebsdOptionOrder } from '../wire/tcp.js';
import { ACK, EMPTY, FIN, RST, SYN, seqAdd, seqGt, type TcpOptions, type TcpSegment } from '../wire/tcp-types.js';
import type { TcpStateName } from '../wire/trace.js';
import { TcpConnection, rstFor, segmentAcceptable, type TcpCause, type TcpEvent } from '../tcp/connection.js';
import { offeredShift, resolveConfig, type TcpConfig } from '../tcp/config.js';
import { classifyInvalidFlags } from '../tcp/flags.js';
import { IsnGenerator, type RandomSource } from '../tcp/isn.js';
import { SipHash } from '../tcp/siphash.js';
import { TcpStats } from '../tcp/stats.js';
import { RealClock, type Clock } from './clock.js';
import { COOKIE_MSS_TABLE, SynCookies } from './syn-cookies.js';
import { FastOpenCookies } from './fast-open.js';
import { TimerHeap } from './timer-heap.js';
import { TimeWaitTable } from './time-wait-table.js';
import { TupleTable } from './tuple-table.js';

/** Stack-level counters beyond the per-connection ones (Linux netstat names). */
export class StackCounters {
  SyncookiesSent = 0;
  SyncookiesRecv = 0;
  SyncookiesFailed = 0;
  ListenOverflows = 0;
  ListenDrops = 0;
  /** SYNs dropped by the per-source rate limit. */
  SynRateDrops = 0;
  /** SYN-RECEIVED entries given up after their SYN+ACK retransmissions. */
  SynRecvExpired = 0;
  InCsumErrors = 0;
  /** IPv4 datagrams with a bad header checksum. */
  InHdrErrors = 0;
  /** Packets not for one of our addresses, or not TCP. */
  InAddrErrors = 0;
  /** RSTs sent for segments to ports with no connection or listener. */
  NoPortRsts = 0;
  /** Segments to closed ports left unanswered because the stack is hardened. */
  SilentDrops = 0;
  TimeWaitEntries = 0;
  TimeWaitReused = 0;
  TimeWaitReAcks = 0;
  /** Datagrams from martian sources (RFC 1812 §5.3.7: our own address, loopback, multicast, broadcast, zero), dropped unanswered. */
  InMartians = 0;
  /** Datagrams shorter than their length field says, or with a zero length field (Linux: InTruncatedPkts). */
  InTruncatedPkts = 0;
  /** Datagrams for a protocol this host does not speak (answered with protocol unreachable / parameter problem). */
  InUnknownProtos = 0;
  /** IPv6 extension headers out of order (RFC 8200 §4.1), answered with parameter problem. */
  InExtHdrErrors = 0;
  IcmpInMsgs = 0;
  /** ICMP messages with a bad checksum or too short. */
  IcmpInErrors = 0;
  IcmpInEchos = 0;
  IcmpOutEchoReps = 0;
  /** ICMP errors sent (unreachable, parameter problem, time exceeded). */
  IcmpOutErrors = 0;
  /** ICMP errors not sent because of the rate limits. */
  IcmpOutRateLimited = 0;
  /** ICMP errors quoting no connection of ours, or whose quoted sequence number is outside SND.UNA..SND.NXT (RFC 5927 §4.1; Linux OutOfWindowIcmps). */
  OutOfWindowIcmps = 0;
  /** ICMP errors quoting a connection that acted on them (errors reported, path MTU lowered). */
  IcmpTcpErrors = 0;
  /** Path-MTU reductions applied (RFC 1191, RFC 8201). */
  PmtuUpdates = 0;
  /** ICMP messages ignored because ICMP handling is switched off (StackOptions.icmp false). */
  IcmpIgnored = 0;
}

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

/** Options of Stack.listen (exported as `StackListenOptions`). */
export interface ListenOptions {
  /** Accept-queue and SYN-queue bound (Node's default backlog is 511). */
  backlog?: number;
  /** Address to bind; all of the stack's addresses when omitted. */
  host?: string;
  /** Called for each connection that completed the handshake. */
  onConnection?: (c: StackConnection) => void;
}

/**
 * A passive open (RFC 9293 §3.10.1, LISTEN) on one port: connections in SYN-RECEIVED wait in `synQueue`, those
 * that completed the handshake go to `onConnection` or, without it, the accept queue (`accept()`). Both hold
 * at most `backlog`: with the SYN queue full, SYNs are answered with SYN cookies (StackOptions.syncookies) or
 * dropped; with the accept queue full, they are dropped.
 */
export class Listener {
  readonly synQueue = new Set<StackConnection>();
  readonly acceptQueue: StackConnection[] = [];
  closed = false;
  /** Called once when the listener closes, by close() or because the stack was destroyed. */
  onClosed: (() => void) | null = null;
  /** @internal TCP Fast Open server cookies (RFC 7413 §4.2.2, fast-open.ts): null = no TFO on this listener. */
  fastOpen: FastOpenCookies | null = null;
  constructor(
    readonly stack: Stack,
    readonly port: number,
    readonly addr: Uint8Array | null,
    public backlog: number,
    /** Called for each connection that completed the handshake; null queues them for accept(). */
    public onConnection: ((c: StackConnection) => void) | null,
  ) {}
  /** Take the next completed connection (when no onConnection callback is set). */
  accept(): StackConnection | null { return this.acceptQueue.shift() ?? null; }
  /** Stop listening (Stack.unlisten): connections not yet accepted are reset. */
  close(): void { this.stack.unlisten(this); }
}

/** Options of `new Stack()` / `createStack()`. */
export interface StackOptions {
  /** A name for logs and captures (default 'synack'). */
  name?: string;
  /** Our addresses, IPv4 and/or IPv6 ("10.0.0.1", "fd00::1"). */
  addresses: string[];
  /** Time for timers and timestamps (ms): RealClock by default, VirtualClock for deterministic tests. */
  clock?: Clock;
  /** Randomness for ISN and cookie secrets and port offsets (RFC 6528, RFC 6056); injected for determinism. */
  random?: RandomSource;
  /** Engine configuration for every connection (RFC choices: MSS, windows, RTO bounds, Nagle ...). */
  tcp?: Partial<TcpConfig>;
  /** SYN+ACK retransmissions before a SYN-RECEIVED entry is dropped (short by default, unlike tcp.synAckRetries). */
  listenSynAckRetries?: number;
  /** SYN cookies when the SYN queue is full (default true). */
  syncookies?: boolean;
  /**
   * SYNs per second accepted from one source address (token bucket, burst the same); default Infinity (off),
   * as Linux and FreeBSD have no such limit: a busy client or proxy opening thousands of connections a second
   * must not be throttled, and a flood is answered with SYN cookies. A hardened host may set one.
   */
  synRatePerSource?: number;
  /** Do not answer invalid flag combinations to closed ports with RST (a hardened host); default false (Linux-like). */
  silentOnInvalidFlags?: boolean;
  /** IPv4 TTL / IPv6 hop limit of packets sent (default 64). */
  ttl?: number;
  /** Inclusive range of local ports for active opens (RFC 6056; default [32768, 60999], Linux's). */
  ephemeralPortRange?: [number, number];
  /**
   * The link's MTU: datagrams this host originates beyond TCP (echo replies) are fragmented to it, and
   * IPv6 connections use MTU − 60 as their MSS (IPv4 ones tcp.mss). Default tcp.mss + 40.
   */
  mtu?: number;
  /**
   * React to ICMP/ICMPv6 (default true): path-MTU discovery, errors for connections, echo replies, errors sent.
   * false makes a host that ignores ICMP entirely (the black-hole behaviour path-MTU discovery exists to avoid).
   */
  icmp?: boolean;
  /** Bounds and timeouts of IP fragment reassembly (src/wire/ip-reassembly.ts). */
  reassembly?: Omit<ReassemblerOptions, 'onTimeout'>;
}

/** How the link received a packet. */
export interface ReceiveOptions {
  /**
   * The link vouches for the TCP checksum (checksum offload: a TUN device with IFF_VNET_HDR says NEEDS_CSUM
   * for data that never left the host, or DATA_VALID), so it is not verified again. Default false.
   */
  checksumVerified?: boolean;
}

/**
 * Where outgoing datagrams go. `segmentSize` is given only for a TCP segment longer than one MSS (built when
 * TcpConfig.tsoMaxBytes allows it): the link must cut it into segmentSize-byte pieces (TSO/GSO) and complete
 * the TCP checksum, whose field may hold only the pseudo-header sum (NEEDS_CSUM semantics).
 */
export type LinkSend = (packet: Uint8Array, segmentSize?: number) => void;

/**
 * A link that gathers a datagram from two parts (writev(2), a NIC's scatter-gather list): `headers` holds the
 * IP and TCP headers, whose lengths and checksum already cover `payload`; the datagram is the two joined.
 * `payload` is a view into the connection's send buffer: the link must use it before returning (or copy it).
 * `segmentSize` as for LinkSend (0 = no segmentation).
 */
export type LinkSendParts = (headers: Uint8Array, payload: Uint8Array, segmentSize: number) => void;

/** Below this payload size a segment is encoded whole: one small copy costs less than a second part. */
const GATHER_MIN_PAYLOAD = 512;

/** What the link can do for the stack (Stack.attach). */
export interface LinkCapabilities {
  /**
   * The link completes TCP checksums itself (checksum offload, e.g. a TUN device with IFF_VNET_HDR that marks
   * every packet NEEDS_CSUM): the stack then writes only the pseudo-header sum into every TCP segment's
   * checksum field, unless a packet observer is attached (captures show complete checksums). Default false.
   */
  checksumOffload?: boolean;
  /**
   * The link gathers datagrams from parts: segments with a payload are handed over as headers + a view of the
   * payload, so the stack never copies payload bytes into a packet buffer. Not used while a packet observer is
   * attached (observers see whole packets).
   */
  sendParts?: LinkSendParts;
}

/** Sees every IP datagram the stack receives ('in') or sends ('out'), with the stack time in ms. Must not keep or modify `packet`. */
export type PacketObserver = (dir: 'in' | 'out', packet: Uint8Array, time: number, stack: Stack) => void;
/** Sees every connection state transition (RFC 9293 states) with its time in ms and cause. */
export type TransitionObserver = (c: { id: number; localAddr: Uint8Array; localPort: number; remoteAddr: Uint8Array; remotePort: number }, ev: { time: number; from: TcpStateName; to: TcpStateName; cause: TcpCause }) => void;

const defaultRandom: RandomSource = (out) => { globalThis.crypto.getRandomValues(out); };

/**
 * A host: IPv4/IPv6 addresses, TCP connections demultiplexed by 4-tuple, listeners with SYN and accept
 * queues, SYN cookies, TIME-WAIT, RFC 6056 ephemeral ports and RSTs for closed ports (RFC 9293 §3.10.7.1).
 * Packets arrive through receive() and leave through the link given to attach(). All times are ms on `clock`.
 * Use it through sockets (connectTcp/listenTcp, or createNet's node:net API) rather than directly.
 */
export class Stack {
  readonly name: string;
  readonly addresses: Uint8Array[];
  readonly clock: Clock;
  readonly config: TcpConfig;
  readonly stats = new TcpStats();
  readonly counters = new StackCounters();
  private readonly isn: IsnGenerator;
  private readonly cookies: SynCookies;
  private readonly portHash: SipHash;
  private readonly random: RandomSource;
  private readonly listenSynAckRetries: number;
  private readonly syncookies: boolean;
  private readonly synRate: number;
  private readonly silentInvalid: boolean;
  private readonly ttl: number;
  readonly mtu: number;
  /** StackOptions.mtu was given: connections advertise the MSS the link's MTU allows in their family. */
  private readonly mtuGiven: boolean;
  /** React to ICMP (StackOptions.icmp); may be switched at run time (tests show the black hole without it). */
  icmpEnabled: boolean;
  /** @internal IP fragment reassembly (RFC 791, RFC 8200, RFC 5722). */
  readonly reassembler: IpReassembler;
  /** @internal Path MTU learned per destination (RFC 1191 §6.3, RFC 8201 §5.3). */
  readonly pmtu = new PmtuCache();
  private readonly icmpRate = new IcmpRateLimiter();
  private readonly isOursFn = (a: Uint8Array): boolean => this.ourAddress(a) !== null;
  private readonly portMin: number;
  private readonly portMax: number;
  private portCounter = 0;

  private readonly conns = new TupleTable<StackConnection>();
  /** TIME-WAIT entries in typed arrays, with their expiry queue (time-wait-table.ts): no object per entry. */
  private readonly tw: TimeWaitTable;
  private readonly listeners = new Map<number, Listener[]>();
  private readonly heap = new TimerHeap<StackConnection>();
  /**
   * Per-source SYN token buckets, direct-mapped by address hash into SYN_BUCKETS slots of typed arrays: a
   * flood from random sources costs no allocation; a source whose slot another took starts with a full bucket.
   */
  private readonly synKeys = new Uint32Array(SYN_BUCKETS);
  private readonly synTokens = new Float64Array(SYN_BUCKETS);
  private readonly synAt = new Float64Array(SYN_BUCKETS);
  private readonly synUsed = new Uint8Array(SYN_BUCKETS);
  private synBucketCount = 0;
  private link: LinkSend | null = null;
  private linkChecksumOffload = false;
  private linkSendParts: LinkSendParts | null = null;
  private readonly packetObservers: PacketObserver[] = [];
  private readonly transitionObservers: TransitionObserver[] = [];
  private readonly wake = () => this.onWake();
  private readonly userTimers = new TimerHeap<UserTimer>();
  private armedAt = Infinity;
  private inWake = false;

  constructor(opts: StackOptions) {
    this.name = opts.name ?? 'synack';
    if (!opts.addresses.length) throw new Error('a stack needs at least one address');
    this.addresses = opts.addresses.map((a) => parseAddress(a));
    this.tw = new TimeWaitTable(this.addresses);
    this.clock = opts.clock ?? new RealClock();
    this.random = opts.random ?? defaultRandom;
    this.randomPool = opts.random === undefined ? new Uint32Array(256) : null;
    this.randomPoolAt = 256;
    this.config = resolveConfig(opts.tcp);
    this.isn = IsnGenerator.fromRandom(this.random);
    const k1 = new Uint8Array(16); this.random(k1);
    this.cookies = new SynCookies(k1);
    const k2 = new Uint8Array(16); this.random(k2);
    this.portHash = new SipHash(k2);
    this.listenSynAckRetries = opts.listenSynAckRetries ?? 3;
    this.syncookies = opts.syncookies ?? true;
    this.synRate = opts.synRatePerSource ?? Infinity;
    this.silentInvalid = opts.silentOnInvalidFlags ?? false;
    this.ttl = opts.ttl ?? 64;
    this.mtu = opts.mtu ?? this.config.mss + 40;
    this.mtuGiven = opts.mtu !== undefined;
    this.icmpEnabled = opts.icmp ?? true;
    this.reassembler = new IpReassembler({ ...opts.reassembly, onTimeout: (f) => this.reassemblyTimedOut(f) });
    [this.portMin, this.portMax] = opts.ephemeralPortRange ?? [32768, 60999];
  }

  /** Where outgoing IP datagrams go, and what that link can do (default: nothing beyond sending). */
  attach(send: LinkSend, caps?: LinkCapabilities): void {
    this.link = send;
    this.linkChecksumOffload = caps?.checksumOffload === true;
    this.linkSendParts = caps?.sendParts ?? null;
  }
  /** Watch every packet sent or received (pcapng taps). Returns an unsubscribe function. */
  observePackets(fn: PacketObserver): () => void {
    this.packetObservers.push(fn);
    return () => { const i = this.packetObservers.indexOf(fn); if (i >= 0) this.packetObservers.splice(i, 1); };
  }
  /** Watch every connection state transition (including TIME-WAIT → CLOSED of compact entries). */
  observeTransitions(fn: TransitionObserver): () => void {
    this.transitionObservers.push(fn);
    return () => { const i = this.transitionObservers.indexOf(fn); if (i >= 0) this.transitionObservers.splice(i, 1); };
  }

  /** Live connections (not counting compact TIME-WAIT entries). */
  get connectionCount(): number { return this.conns.size; }
  get timeWaitCount(): number { return this.tw.size; }
  get timerHeapSize(): number { return this.heap.size; }
  get rateLimiterSize(): number { return this.synBucketCount; }
  /** The (first) listener on `port`, if any. */
  listenerFor(port: number): Listener | undefined { return this.listeners.get(port)?.[0]; }

  /** Counters as one flat object, Linux-style names. */
  snapshot(): Record<string, number> {
    const out = this.stats.snapshot();
    for (const [k, v] of Object.entries(this.counters)) out[k] = v as number;
    for (const [k, v] of Object.entries(this.reassembler.counters)) out[k] = v as number;
    out.CurrEstab = 0;
    for (const c of this.allConnections()) if (c.state === 'ESTABLISHED' || c.state === 'CLOSE-WAIT') out.CurrEstab++;
    out.TimeWaitEntries = this.tw.size;
    return out;
  }

  /** Every live connection (not the compact TIME-WAIT entries). */
  *allConnections(): Iterable<StackConnection> {
    yield* this.conns.values();
  }

  // ---------------------------------------------------------------------------------------------
  // Opening
  // ---------------------------------------------------------------------------------------------

  /** Listen on `port`; port 0 picks a free port from the ephemeral range, as bind(2) with port 0 does. */
  listen(port: number, opts: ListenOptions = {}): Listener {
    if (!(Number.isInteger(port) && port >= 0 && port < 65536)) throw new RangeError(`invalid port ${port}`);
    if (port === 0) port = this.freeListenPort();
    const addr = opts.host ? parseAddress(opts.host) : null;
    if (addr && !this.isOurs(addr)) throw Object.assign(new Error(`EADDRNOTAVAIL: ${opts.host} is not an address of this stack`), { code: 'EADDRNOTAVAIL' });
    const list = this.listeners.get(port) ?? [];
    if (list.some((l) => l.addr === null || addr === null || addressEquals(l.addr, addr))) {
      throw Object.assign(new Error(`EADDRINUSE: port ${port} already has a listener`), { code: 'EADDRINUSE' });
    }
    const l = new Listener(this, port, addr, opts.backlog ?? 511, opts.onConnection ?? null);
    list.push(l);
    this.listeners.set(port, list);
    return l;
  }

  /**
   * Close a listener: connections in its accept queue are reset, those still in SYN-RECEIVED forgotten (as
   * Linux does); established connections it already handed out are not affected. Idempotent.
   */
  unlisten(l: Listener): void {
    if (l.closed) return;
    l.closed = true;
    const list = this.listeners.get(l.port);
    if (list) {
      const i = list.indexOf(l);
      if (i >= 0) list.splice(i, 1);
      if (!list.length) this.listeners.delete(l.port);
    }
    // Connections not yet accepted are reset, as closing a listening socket does on Linux. Embryonic ones
    // (SYN-RECEIVED) vanish silently, as Linux's request socks and FreeBSD's syncache entries do: the peer's
    // ACK then finds no connection and draws <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.1).
    // The queues are emptied first: a connection's removal then finds nothing to take out of them (no search
    // per connection through a long accept queue, and no array changing under the loop).
    const embryonic = [...l.synQueue];
    const queued = l.acceptQueue.splice(0);
    l.synQueue.clear();
    for (const c of embryonic) { c.tcp.toClosed({ kind: 'user', call: 'abort' }, this.clock.now()); this.service(c); }
    for (const c of queued) { c.tcp.abort(this.clock.now()); this.service(c); }
    l.onClosed?.();
  }

  /** Active open. */
  connect(opts: { host: string; port: number; localPort?: number; localAddress?: string; config?: Partial<TcpConfig>; fastOpen?: { cookie: Uint8Array; data?: Uint8Array } }): StackConnection {
    const ra = this.internAddr(parseAddress(opts.host));
    // The stack's own array for the local address: a connection never holds a copy of it.
    const la = opts.localAddress ? this.ourAddress(parseAddress(opts.localAddress)) : this.sourceFor(ra);
    if (la === null) throw Object.assign(new Error(`EADDRNOTAVAIL: ${opts.localAddress}`), { code: 'EADDRNOTAVAIL' });
    if (!(opts.port > 0 && opts.port < 65536)) throw new RangeError(`invalid port ${opts.port}`);
    const now = this.clock.now();
    let lp = opts.localPort ?? 0;
    if (lp) {
      if (this.findConn(la, lp, ra, opts.port) || this.findTw(la, lp, ra, opts.port) !== -1) {
        throw Object.assign(new Error(`EADDRINUSE: ${formatAddress(la)}:${lp} -> ${opts.host}:${opts.port} is in use`), { code: 'EADDRINUSE' });
      }
    } else {
      lp = this.ephemeralPort(la, ra, opts.port);
    }
    const key = tupleKey(la, lp, ra, opts.port);
    const mss = this.mssFor(ra);
    const tcp = new TcpConnection({
      localPort: lp, remotePort: opts.port, iss: this.isn.isn(la, lp, ra, opts.port, now),
      config: opts.config || mss !== this.config.mss ? { ...this.config, mss, ...opts.config } : this.config, stats: this.stats, tsOffset: this.randomU32(),
    });
    const c = new StackConnection(this, tcp, la, lp, ra, opts.port, key);
    this.addConn(c);
    this.applyPathMtu(c, now);
    // TCP Fast Open (RFC 7413 §4.2.1): the SYN presents a cookie (empty: asks for one) and, with one, carries data.
    if (opts.fastOpen) tcp.tfoCookie = opts.fastOpen.cookie;
    tcp.connect(now);
    if (opts.fastOpen?.data) tcp.send(opts.fastOpen.data, now);
    this.service(c);
    return c;
  }

  // ---------------------------------------------------------------------------------------------
  // Receiving
  // ---------------------------------------------------------------------------------------------

  /** An IP datagram arrives from the link. Never throws on bad input: it is counted and dropped. */
  receive(packet: Uint8Array, opts?: ReceiveOptions): void {
    const now = this.clock.now();
    for (let i = 0; i < this.packetObservers.length; i++) this.packetObservers[i]!('in', packet, now, this);
    this.ipInput(packet, opts?.checksumVerified === true, now);
    if (!this.batching) this.rearm(); // a batch rearms once, at its end
  }

  /** IP input (RFC 1122 §3.2.1): validate, drop martians, reassemble, then TCP, ICMP, or an error for anything else. */
  private ipInput(packet: Uint8Array, verified: boolean, now: number): void {
    let d: DecodedPacket;
    try {
      // TCP options as Linux parses them: a malformed option is skipped, never the segment.
      d = decodeHostPacket(packet, !verified);
    } catch (e) {
      if (e instanceof WireError) { this.stats.InErrs++; return; }
      throw e;
    }
    const ip = d.ip;
    if (!ip.checksumOk) { this.stats.InErrs++; this.counters.InHdrErrors++; return; } // IPv4 header checksum (RFC 791)
    const la = this.ourAddress(ip.dst);
    if (la === null) { this.counters.InAddrErrors++; return; }
    if (martianSource(ip.src, la, this.isOursFn) !== null) { this.counters.InMartians++; return; }
    // Anything but a plain, whole TCP datagram takes the slow path: fragments, extension headers, ICMP, others.
    if (d.tcp === null || ip.truncated || ip.mf || ip.fragOffset !== 0 || ip.extHeaders.length !== 0 || zeroLength(packet, ip)) {
      this.ipInputSlow(packet, d, la, verified, now);
      return;
    }
    if (!d.tcpChecksumOk && !verified) { this.stats.InErrs++; this.counters.InCsumErrors++; return; }
    this.rxCe = (ip.tos & 3) === 3;
    this.segmentArrives(la, ip.src, d.tcp.seg, now);
  }
  /** The segment being delivered arrived marked Congestion Experienced (RFC 3168 §5). */
  private rxCe = false;

  private ipInputSlow(packet: Uint8Array, d: DecodedPacket, la: Uint8Array, verified: boolean, now: number): void {
    const ip = d.ip;
    // A length field of zero (IPv4 total length, IPv6 payload length without a jumbo option): Linux trims the
    // datagram to its header and the transport finds nothing. A buffer shorter than the length: dropped.
    if (ip.truncated || zeroLength(packet, ip)) { this.counters.InTruncatedPkts++; this.stats.InErrs++; return; }
    if (ip.version === 6) {
      // RFC 8200 §4.1: a hop-by-hop header anywhere but first is an unrecognized next header (Linux answers so).
      for (let i = 1; i < ip.extHeaders.length; i++) {
        if (ip.extHeaders[i]!.type === EXT_HOP_BY_HOP) {
          this.counters.InExtHdrErrors++;
          this.sendIcmpError(packet, ICMPV6_PARAMPROB, ICMPV6_UNK_NEXTHDR, ip.extHeaders[i - 1]!.offset, now);
          return;
        }
      }
    }
    if (isFragment(ip)) {
      if (ip.version === 6 && ip.fragOffset === 0 && ip.mf) {
        // RFC 8200 §4.5 (RFC 7112): the first fragment must hold every header up to and including the upper-layer
        // header (Linux checks its fixed part: TCP 20, UDP 8, ICMPv6 8 bytes), else parameter problem, code 3.
        const need = ip.protocol === PROTO_TCP ? 20 : ip.protocol === 17 || ip.protocol === PROTO_ICMPV6 ? 8 : 1;
        if (ip.headerLength + need > ip.totalLength) {
          this.counters.InExtHdrErrors++;
          this.sendIcmpError(packet, ICMPV6_PARAMPROB, ICMPV6_HDR_INCOMPLETE, 0, now);
          return;
        }
      }
      const whole = this.reassembler.push(packet, now, ip);
      if (whole !== null) { this.ipInput(whole, false, now); return; }
      const why = this.reassembler.lastDrop;
      if (ip.version === 6 && (why === 'bad-length' || why === 'too-long')) {
        // RFC 8200 §4.5: parameter problem pointing at the payload length (a non-last fragment not a multiple of
        // 8 bytes) or at the fragment offset (beyond 65 535).
        const fh = ip.extHeaders.find((h) => h.type === EXT_FRAGMENT)!;
        this.sendIcmpError(packet, ICMPV6_PARAMPROB, ICMPV6_HDR_FIELD, why === 'bad-length' ? 4 : fh.offset + 2, now);
      }
      return;
    }
    if (ip.protocol === PROTO_TCP) {
      if (d.tcp === null) { this.stats.InErrs++; return; }
      if (!d.tcpChecksumOk && !verified) { this.stats.InErrs++; this.counters.InCsumErrors++; return; }
      this.rxCe = (ip.tos & 3) === 3;
      this.segmentArrives(la, ip.src, d.tcp.seg, now);
      return;
    }
    if (ip.protocol === (ip.version === 4 ? PROTO_ICMP : PROTO_ICMPV6)) { this.icmpArrives(packet, ip, la, now); return; }
    if (ip.version === 6 && ip.protocol === 59) return; // No Next Header (RFC 8200 §4.7): nothing to deliver
    // RFC 1122 §3.2.2.1: protocol unreachable; RFC 8200 §4: parameter problem, unrecognized next header, pointing
    // at the Next Header field that named it.
    this.counters.InUnknownProtos++;
    if (ip.version === 4) this.sendIcmpError(packet, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0, now);
    else {
      const last = ip.extHeaders[ip.extHeaders.length - 1];
      this.sendIcmpError(packet, ICMPV6_PARAMPROB, ICMPV6_UNK_NEXTHDR, last ? last.offset : 6, now);
    }
  }

  private icmpArrives(packet: Uint8Array, ip: IpPacket, la: Uint8Array, now: number): void {
    if (!this.icmpEnabled) { this.counters.IcmpIgnored++; return; }
    let m;
    try { m = decodeIcmp(ip.payload, ip.version, ip.src, ip.dst); } catch { this.counters.IcmpInErrors++; return; }
    if (!m.checksumOk) { this.counters.IcmpInErrors++; return; }
    this.counters.IcmpInMsgs++;
    if (m.type === (ip.version === 4 ? ICMP_ECHO_REQUEST : ICMPV6_ECHO_REQUEST) && m.code === 0) {
      // RFC 1122 §3.2.2.6 / RFC 4443 §4.1: every echo request gets its reply, data unchanged (not rate-limited,
      // as Linux's icmp_ratemask leaves echo replies out).
      this.counters.IcmpInEchos++;
      this.counters.IcmpOutEchoReps++;
      this.sendIp(echoReply(m, la, ip.src, this.ttl), now);
      return;
    }
    if (!isIcmpError(ip.version, m.type)) return;
    const action = tcpActionFor(m);
    if (action === null) return;
    const q = quotedTcp(m.body);
    // The quoted segment must be one we sent: from one of our addresses, of a connection we have, with a
    // sequence number in SND.UNA..SND.NXT (RFC 5927 §4.1, as Linux checks), else it may be forged.
    const ql = q === null ? null : this.ourAddress(q.src);
    const c = q === null || ql === null ? null : this.findConn(ql, q.srcPort, q.dst, q.dstPort);
    if (q === null || c === null || !this.icmpSeqAcceptable(c, q.seq)) { this.counters.OutOfWindowIcmps++; return; }
    this.counters.IcmpTcpErrors++;
    if (action.kind === 'pmtu') {
      if (action.mtu >= this.pathMtuFor(c.remoteAddr, now)) return; // RFC 1191 §6.3: only decreases are learned
      this.pmtu.lower(c.remoteAddr, action.mtu, now);
      this.counters.PmtuUpdates++;
      // Linux's floor (min_pmtu 552): a smaller IPv4 MTU is taken as 552 and the path "locked": no more DF, so
      // routers fragment instead of the MSS shrinking to nothing (an attacker's trick).
      const locked = c.remoteAddr.length === 4 && action.mtu < MIN_PMTU_V4;
      const mss = mssForPathMtu(c.remoteAddr, Math.max(action.mtu, c.remoteAddr.length === 4 ? MIN_PMTU_V4 : 0));
      // The other connections to that destination send smaller from now on too (Linux: the route's MTU, which
      // each socket's tcp_current_mss picks up); only the quoted one resends at once (tcp_simple_retransmit).
      for (const o of this.conns.values()) {
        if (o !== c && !o.embryonic && addressEquals(o.remoteAddr, c.remoteAddr)) { o.tcp.pathMtuReduced(mss, now, false); if (locked) o.noDf = true; }
      }
      if (locked) c.noDf = true;
      if (c.embryonic) return; // Linux acts on a request's ICMP only to drop it (tcp_req_err)
      c.tcp.pathMtuReduced(mss, now);
      this.service(c);
      return;
    }
    // A listener's SYN-RECEIVED entry is dropped only for the fatal errors (Linux tcp_req_err).
    if (c.embryonic && !action.dropsRequest) return;
    c.tcp.icmpError(action.errno, now);
    this.service(c);
  }

  /** RFC 5927 §4.1: SND.UNA ≤ quoted SEQ ≤ SND.NXT (a SYN-RECEIVED entry: its ISS, Linux tcp_req_err). */
  private icmpSeqAcceptable(c: StackConnection, seq: number): boolean {
    const t = c.tcp;
    if (c.embryonic) return seq === t.iss;
    return !seqGt(t.sndUna, seq) && !seqGt(seq, t.sndNxt);
  }

  /**
   * The MSS to advertise to `remote` (RFC 9293 §3.7.1: what the link's MTU leaves after the IP and TCP headers;
   * IPv6's header is 20 bytes longer, as Linux advertises 1440 on a 1500-byte link). tcp.mss without an MTU.
   */
  private mssFor(remote: Uint8Array): number {
    if (!this.mtuGiven) return this.config.mss;
    return Math.min(this.config.mss, this.mtu - (remote.length === 16 ? 60 : 40));
  }

  /** A new connection starts with the path MTU learned for its destination (RFC 1191 §6.3), if any. */
  private applyPathMtu(c: StackConnection, now: number): void {
    const p = this.pmtu.get(c.remoteAddr, now);
    if (p === Infinity) return;
    const v4 = c.remoteAddr.length === 4;
    c.tcp.pathMtuReduced(mssForPathMtu(c.remoteAddr, v4 ? Math.max(p, MIN_PMTU_V4) : p), now);
    if (v4 && p < MIN_PMTU_V4) c.noDf = true;
  }

  /** The path MTU to `dst`: what ICMP taught us (not yet expired), else the link's. */
  pathMtuFor(dst: Uint8Array, now: number): number {
    const p = this.pmtu.get(dst, now);
    return Math.min(this.mtu, dst.length === 4 ? Math.max(p, MIN_PMTU_V4) : p);
  }

  /** An ICMP error about `offending` (a datagram we received), rate-limited (RFC 1812 §4.3.2.8, RFC 4443 §2.4(f)). */
  private sendIcmpError(offending: Uint8Array, type: number, code: number, rest: number, now: number): void {
    if (!this.icmpEnabled) return;
    let ip;
    try { ip = decodeHostPacket(offending, false).ip; } catch { return; }
    // RFC 1122 §3.2.2 / RFC 4443 §2.4(e): never about an ICMP error, a non-first fragment, or a martian source.
    if (ip.fragOffset !== 0) return;
    if (ip.protocol === (ip.version === 4 ? PROTO_ICMP : PROTO_ICMPV6) && ip.payload.length > 0 && isIcmpError(ip.version, ip.payload[0]!)) return;
    const la = this.ourAddress(ip.dst);
    if (la === null || martianSource(ip.src, la, this.isOursFn) !== null) return;
    if (!this.icmpRate.allow(ip.src, now)) { this.counters.IcmpOutRateLimited++; return; }
    this.counters.IcmpOutErrors++;
    // IPv4 precedence internetwork control (TOS 0xc0), as Linux sends its errors (RFC 1812 §4.3.2.5).
    this.sendIp(encodeIcmpError(la, offending, type, code, rest, this.ttl, ip.version === 4 ? 0xc0 : 0), now);
  }

  /** RFC 792 / RFC 8200 §4.5: time exceeded (fragment reassembly) when a datagram whose first fragment came in timed out. */
  private reassemblyTimedOut(first: Uint8Array): void {
    const v6 = first[0]! >> 4 === 6;
    this.sendIcmpError(first, v6 ? ICMPV6_TIME_EXCEED : ICMP_TIME_EXCEEDED, v6 ? ICMPV6_EXC_FRAGTIME : ICMP_EXC_FRAGTIME, 0, this.clock.now());
  }

  /** A whole datagram this host originates beyond TCP (ICMP), fragmented to the path MTU if needed. */
  private sendIp(packet: Uint8Array, now: number): void {
    const dst = packet[0]! >> 4 === 4 ? packet.subarray(16, 20) : packet.subarray(24, 40);
    const mtu = this.pathMtuFor(dst, now);
    let pieces = [packet];
    if (packet.length > mtu) {
      // IPv4: the identification must tell this datagram's fragments from others' (RFC 6864 §4.1).
      if (packet[0]! >> 4 === 4) setIpv4Id(packet, this.randomU32() & 0xffff);
      pieces = fragment(packet, mtu, this.randomU32());
    }
    for (const p of pieces) {
      for (let i = 0; i < this.packetObservers.length; i++) this.packetObservers[i]!('out', p, now, this);
      this.link?.(p);
    }
  }

  /**
   * A batch of datagrams (e.g. everything a TUN read returned). Each connection's output is generated once,
   * after the whole batch: its ACK then covers every segment of the batch (a stretch ACK, like receive
   * offload), instead of one ACK per two segments.
   */
  receiveBatch(packets: readonly Uint8Array[], opts?: { checksumVerified?: readonly boolean[] }): void {
    const v = opts?.checksumVerified;
    if (packets.length === 1) { this.receive(packets[0]!, v?.[0] ? VERIFIED : undefined); return; }
    this.batching = true;
    try {
      for (let i = 0; i < packets.length; i++) this.receive(packets[i]!, v?.[i] ? VERIFIED : undefined);
    } finally {
      try {
        for (const c of this.dirty) this.service(c);
      } finally {
        this.dirty.clear();
        this.batching = false;
        this.rearm();
      }
    }
  }
  private batching = false;
  private readonly dirty = new Set<StackConnection>();

  private segmentArrives(la: Uint8Array, ra: Uint8Array, seg: TcpSegment, now: number): void {
    // The RST for no connection answers the segment as it came (FreeBSD tcp_dropwithreset counts SYN and FIN).
    const arrived = seg;
    // FreeBSD net.inet.tcp.drop_synfin=0: a SYN+FIN is processed as a SYN, its FIN ignored (config.synFin).
    if (this.config.synFin === 'ignore-fin' && (seg.flags & (SYN | FIN)) === (SYN | FIN)) seg = { ...seg, flags: seg.flags & ~FIN };
    const c = this.findConn(la, seg.dstPort, ra, seg.srcPort);
    if (c !== null) {
      c.tcp.input(seg, now, this.rxCe);
      if (this.batching) this.dirty.add(c); // serviced once at the end of the batch
      else this.service(c);
      return;
    }
    const tw = this.findTw(la, seg.dstPort, ra, seg.srcPort);
    if (tw !== -1) {
      if (this.timeWaitArrives(tw, seg, now)) return;
      // A new SYN may reuse the tuple: fall through to the listener.
    }
    const l = this.findListener(la, seg.dstPort);
    if (l !== null) { this.listenerArrives(l, la, ra, seg, now); return; }
    // No connection, no listener: RFC 9293 §3.10.7.1 (CLOSED): RST unless it is a RST.
    this.stats.InSegs++;
    const bad = classifyInvalidFlags(seg.flags);
    if (bad !== null) this.stats.invalidFlags[bad]++;
    if (seg.flags & RST) return;
    if (bad !== null && this.silentInvalid) { this.counters.SilentDrops++; return; }
    this.counters.NoPortRsts++;
    this.stats.OutRsts++;
    this.stats.OutSegs++;
    this.output(la, ra, rstFor(arrived), now);
  }

  /** Returns true if the segment was consumed by the TIME-WAIT entry. */
  private timeWaitArrives(slot: number, seg: TcpSegment, now: number): boolean {
    const tw = this.tw;
    this.stats.InSegs++;
    const f = seg.flags;
    const bad = classifyInvalidFlags(f);
    if (bad !== null) { this.stats.invalidFlags[bad]++; return true; }
    if (f & RST) {
      // config.timeWaitRst: RFC 1337 ignores every RST (the default); Linux with tcp_rfc1337 = 0 lets one at
      // exactly RCV.NXT end TIME-WAIT (tcp_timewait_state_process); RFC 793 p. 70 any acceptable one.
      const mode = this.config.timeWaitRst;
      const kill = mode === 'close-exact' ? seg.seq === tw.rcvNxt(slot)
        : mode === 'close' && segmentAcceptable(tw.rcvNxt(slot), tw.window(slot), seg.seq, 0);
      if (!kill) { this.stats.RstIgnored++; return true; }
      this.stats.RstAccepted++;
      this.twClosed(slot, now, { kind: 'segment', seg });
      tw.remove(slot);
      return true;
    }
    if ((f & SYN) && !(f & ACK)) {
      // A new incarnation (RFC 9293 §3.10.7.4 note, RFC 6191): accept if its ISN is beyond what we saw.
      if (seqGt(seg.seq, tw.rcvNxt(slot)) || (tw.tsOk(slot) && seg.options.tsVal !== undefined && seqGt(seg.options.tsVal, tw.tsRecent(slot)))) {
        this.twClosed(slot, now, { kind: 'segment', seg });
        this.tw.remove(slot);
        this.counters.TimeWaitReused++;
        return false;
      }
    }
    if (this.config.timeWaitAckData) {
      // Linux tcp_timewait_state_process: only a segment occupying no sequence space at RCV.NXT (a bare ACK,
      // whatever its SEG.ACK) is consumed; anything else, in the window or not, is ACKed, a pure ACK or a SYN
      // at most once per invalidAckRatelimit (tcp_timewait_check_oow_rate_limit: text and FINs always).
      const len = seg.payload.length + (f & SYN ? 1 : 0) + (f & FIN ? 1 : 0);
      if (len === 0 && seg.seq === tw.rcvNxt(slot)) return true;
      if ((len === 0 || (f & SYN)) && this.config.invalidAckRatelimit > 0) {
        if (now - tw.lastOowAckAt(slot) < this.config.invalidAckRatelimit) { this.stats.TCPACKSkippedSeq++; return true; }
        tw.setLastOowAckAt(slot, now);
      }
    } else if (!(f & (SYN | FIN))) {
      // RFC 9293 §3.10.7.4: an acceptable segment without SYN or FIN carries nothing for TIME-WAIT (a bare
      // ACK is simply dropped); only unacceptable segments are answered with an ACK (first check).
      if (segmentAcceptable(tw.rcvNxt(slot), tw.window(slot), seg.seq, seg.payload.length)) return true;
    }
    // Anything else (typically a retransmitted FIN): ACK it; a FIN restarts the 2MSL timer.
    if (f & FIN) {
      tw.restart(slot, now + 2 * this.config.msl);
      this.rearm();
    }
    this.counters.TimeWaitReAcks++;
    const options: TcpOptions = tw.tsOk(slot) ? { tsVal: (Math.floor(now * this.config.tsTicksPerMs) + tw.tsOffset(slot)) >>> 0, tsEcr: tw.tsRecent(slot) } : {};
    const ack: TcpSegment = { srcPort: tw.localPort(slot), dstPort: tw.remotePort(slot), seq: tw.sndNxt(slot), ack: tw.rcvNxt(slot), flags: ACK, window: tw.window(slot), urgent: 0, options, payload: EMPTY };
    this.stats.OutSegs++;
    this.output(tw.localAddr(slot), tw.remoteAddr(slot), ack, now);
    return true;
  }

  private listenerArrives(l: Listener, la: Uint8Array, ra: Uint8Array, seg: TcpSegment, now: number): void {
    const f = seg.flags;
    this.stats.InSegs++;
    const bad = classifyInvalidFlags(f);
    if (bad !== null) { this.stats.invalidFlags[bad]++; return; } // Linux discards these in LISTEN
    if (f & RST) return;
    if (f & ACK) {
      if (!(f & SYN) && this.syncookies) {
        // Possibly the third segment of a cookie handshake.
        const cookie = seqAdd(seg.ack, -1);
        const irs = seqAdd(seg.seq, -1);
        const mssIdx = this.cookies.check(la, l.port, ra, seg.srcPort, irs, cookie, now);
        if (mssIdx >= 0) {
          this.counters.SyncookiesRecv++;
          if (l.acceptQueue.length >= l.backlog) { this.counters.ListenOverflows++; this.counters.ListenDrops++; return; }
          this.completeCookie(l, la, ra, seg, cookie, irs, mssIdx, now);
          return;
        }
        this.counters.SyncookiesFailed++;
      }
      // FreeBSD 14 drops a SYN+ACK at a listener silently (config.listenSynAck 'drop').
      if ((f & SYN) && this.config.listenSynAck === 'drop') return;
      // LISTEN + ACK: <SEQ=SEG.ACK><CTL=RST> (§3.10.7.2).
      this.stats.OutRsts++; this.stats.OutSegs++;
      this.output(la, ra, rstFor(seg), now);
      return;
    }
    if (!(f & SYN)) return;
    // Per-source SYN rate limit.
    if (!this.synAllowed(ra, now)) { this.counters.SynRateDrops++; this.counters.ListenDrops++; return; }
    if (l.acceptQueue.length >= l.backlog) {
      // Accept queue full: drop the SYN (Linux: ListenOverflows).
      this.counters.ListenOverflows++; this.counters.ListenDrops++;
      return;
    }
    if (l.synQueue.size >= l.backlog) {
      if (!this.syncookies) { this.counters.ListenDrops++; return; }
      this.sendCookieSynAck(l, la, ra, seg, now);
      return;
    }
    // Our own copy: `ra` is a view into the packet buffer, which must not be kept alive by a connection.
    ra = this.internAddr(ra);
    const key = tupleKey(la, l.port, ra, seg.srcPort);
    const tcp = new TcpConnection({
      localPort: l.port, remotePort: seg.srcPort, iss: this.isn.isn(la, l.port, ra, seg.srcPort, now),
      config: this.listenConfig(this.mssFor(ra)), stats: this.stats, tsOffset: this.randomU32(),
    });
    const c = new StackConnection(this, tcp, la, l.port, ra, seg.srcPort, key);
    c.listener = l;
    c.embryonic = true;
    l.synQueue.add(c);
    this.addConn(c);
    tcp.listen(now);
    this.applyPathMtu(c, now);
    // TCP Fast Open (RFC 7413 §4.2.2): a valid cookie's SYN data is taken at once and the connection can be
    // accepted before the handshake completes; otherwise our SYN,ACK carries the client's cookie.
    const tfo = l.fastOpen !== null && seg.options.fastOpen !== undefined && l.fastOpen.onSyn(tcp, seg, ra, la);
    tcp.input(seg, now);
    if (tfo && c.embryonic && tcp.state === 'SYN-RECEIVED') this.promote(c);
    this.service(c);
  }

  /** The configuration of passively opened connections with this MSS: one object shared by all of them. */
  private listenConfig(mss: number): TcpConfig {
    let cfg = this.listenConfigs.get(mss);
    if (cfg === undefined) {
      cfg = resolveConfig({ ...this.config, mss, synAckRetries: this.listenSynAckRetries });
      this.listenConfigs.set(mss, cfg);
    }
    return cfg;
  }
  private readonly listenConfigs = new Map<number, TcpConfig>();

  private sendCookieSynAck(l: Listener, la: Uint8Array, ra: Uint8Array, syn: TcpSegment, now: number): void {
    const o = syn.options;
    const mssIdx = SynCookies.mssIndexFor(o.mss ?? 536);
    const iss = this.cookies.make(la, l.port, ra, syn.srcPort, syn.seq, mssIdx, now);
    const options: TcpOptions = { mss: this.mssFor(ra) };
    const tsOk = this.config.timestamps && o.tsVal !== undefined;
    const wsOk = this.config.windowScaling && o.wscale !== undefined;
    const sackOk = this.config.sack && o.sackPermitted === true;
    if (tsOk) {
      // Options survive only inside the timestamp (as on Linux).
      if (sackOk) options.sackPermitted = true;
      options.tsVal = SynCookies.encodeTs(Math.floor(now * this.config.tsTicksPerMs), wsOk ? Math.min(14, o.wscale!) : null, sackOk);
      options.tsEcr = o.tsVal;
      if (wsOk) options.wscale = offeredShift(this.config);
    }
    const synack: TcpSegment = {
      srcPort: l.port, dstPort: syn.srcPort, seq: iss, ack: seqAdd(syn.seq, 1), flags: SYN | ACK,
      window: Math.min(65535, this.config.recvBufferSize), urgent: 0, options, payload: EMPTY,
    };
    this.counters.SyncookiesSent++;
    this.stats.OutSegs++;
    this.output(la, ra, synack, now);
  }

  private completeCookie(l: Listener, la: Uint8Array, ra: Uint8Array, ack: TcpSegment, cookie: number, irs: number, mssIdx: number, now: number): void {
    let sndShift: number | null = null, sackOk = false, tsOk = false;
    if (ack.options.tsEcr !== undefined && ack.options.tsVal !== undefined && this.config.timestamps) {
      const d = SynCookies.decodeTs(ack.options.tsEcr);
      sndShift = d.wscale; sackOk = d.sackOk; tsOk = true;
    }
    ra = this.internAddr(ra); // not a view into the packet buffer
    const key = tupleKey(la, l.port, ra, ack.srcPort);
    const tcp = TcpConnection.fromCookie(
      { localPort: l.port, remotePort: ack.srcPort, iss: cookie, config: this.config, stats: this.stats, tsOffset: 0 },
      { iss: cookie, irs, mss: COOKIE_MSS_TABLE[mssIdx]!, sndShift, sackOk, tsOk }, ack, now,
    );
    const c = new StackConnection(this, tcp, la, l.port, ra, ack.srcPort, key);
    c.listener = l;
    c.lastTransition = { time: now, from: 'LISTEN', to: 'ESTABLISHED', cause: { kind: 'segment', seg: ack } };
    this.addConn(c);
    this.service(c);
    if (c.removed) return;
    if (l.onConnection) l.onConnection(c);
    else l.acceptQueue.push(c);
  }

  // ---------------------------------------------------------------------------------------------
  // Per-connection servicing
  // ---------------------------------------------------------------------------------------------

  /** Flush a connection's output, dispatch its events, reschedule its timer. */
  service(c: StackConnection): void {
    if (c.removed) return;
    const t = c.tcp;
    const now = this.clock.now();
    let seg: TcpSegment | null;
    while ((seg = t.pollTransmit(now)) !== null) this.output(c.localAddr, c.remoteAddr, seg, now, t.txSegmentSize, t.txEct ? ECT0 : 0, !c.noDf);
    let ev: TcpEvent | null;
    let toTimeWait = false, closed = false;
    while ((ev = t.pollEvent()) !== null) {
      // The handler as it was before this event: a socket created on promotion starts after its own ESTABLISHED.
      const h = c.handler;
      if (ev.type === 'state') {
        c.lastTransition = ev; // the event itself: a TcpEvent of type 'state' is a StateTransition
        this.emitTransition(c, ev.time, ev.from, ev.to, ev.cause);
        if (ev.to === 'ESTABLISHED' && c.embryonic) this.promote(c);
        if (ev.to === 'TIME-WAIT') toTimeWait = true;
      } else if (ev.type === 'closed') {
        closed = true;
      } else if (ev.type === 'error' && c.embryonic && c.listener) {
        c.listener.synQueue.delete(c);
      }
      if (ev.type === 'state' && ev.to === 'CLOSED' && c.embryonic) {
        if (ev.cause.kind === 'timer') this.counters.SynRecvExpired++;
      }
      h?.onEvent(ev);
    }
    if (c.removed) return;
    if (t.readableLength > 0 && c.handler) c.handler.onReadable();
    const space = t.sendSpace;
    if (space > c.lastSendSpace && c.handler) { c.lastSendSpace = space; c.handler.onWritable(); } else c.lastSendSpace = space;
    if (toTimeWait && t.state === 'TIME-WAIT' && !c.keepTimeWaitTcb) { this.toTimeWait(c, now); return; }
    if (closed || t.state === 'CLOSED') { this.removeConn(c); return; }
    const d = t.nextDeadline();
    if (d !== c.deadline) {
      c.deadline = d;
      this.heap.push(d, c);
      if (this.heap.size > 4 * this.conns.size + 1024) this.heap.compact((at, x) => !x.removed && x.deadline === at);
    }
    if (!this.inWake && !this.batching) this.rearm();
  }

  private promote(c: StackConnection): void {
    const l = c.listener;
    c.embryonic = false;
    if (!l) return;
    l.synQueue.delete(c);
    if (l.closed) return;
    if (l.onConnection) l.onConnection(c);
    else l.acceptQueue.push(c);
  }

  private toTimeWait(c: StackConnection, now: number): void {
    const s = c.tcp.timeWaitSnapshot();
    this.removeConn(c);
    this.tw.add(c.key, c.localAddr, c.localPort, c.remoteAddr, c.remotePort, { ...s, expiresAt: now + 2 * this.config.msl }, c.id);
    // For its owner the connection is done (both FINs are through); the compact table reports nothing more to it.
    c.handler?.onEvent({ type: 'closed', time: now });
    this.rearm();
  }

  // ---------------------------------------------------------------------------------------------
  // Timers
  // ---------------------------------------------------------------------------------------------

  /** Run `fn` at absolute stack time `at` (used for socket idle timeouts; works with virtual clocks). */
  schedule(at: number, fn: () => void): UserTimer {
    const t: UserTimer = { at, fn, cancelled: false };
    this.userTimers.push(at, t);
    if (!this.inWake) this.rearm();
    return t;
  }

  private rearm(): void {
    let t = this.heap.peekTime();
    if (this.userTimers.peekTime() < t) t = this.userTimers.peekTime();
    const tw = this.tw.nextExpiry();
    if (tw < t) t = tw;
    const r = this.reassembler.nextExpiry(); // incomplete datagrams time out (and release their memory)
    if (r < t) t = r;
    if (t !== this.armedAt) {
      this.armedAt = t;
      this.clock.wakeAt(t, this.wake);
    }
  }

  private onWake(): void {
    this.armedAt = Infinity;
    const now = this.clock.now();
    this.inWake = true;
    try {
      while (this.heap.peekTime() <= now) {
        const at = this.heap.peekTime();
        const c = this.heap.pop()!;
        if (c.removed || c.deadline !== at) continue; // stale entry
        c.deadline = Infinity;
        c.tcp.onTimeout(now);
        this.service(c);
      }
      while (this.userTimers.peekTime() <= now) {
        const u = this.userTimers.pop()!;
        if (!u.cancelled) u.fn();
      }
      // TIME-WAIT expiry, in time order (the table skips stale queue slots).
      this.tw.expire(now, this.twExpired);
      this.reassembler.expire(now);
    } finally {
      this.inWake = false;
    }
    this.rearm();
  }

  // ---------------------------------------------------------------------------------------------
  // Output
  // ---------------------------------------------------------------------------------------------

  /** `segmentSize` > 0: the segment is longer than one MSS and the link must cut it (see LinkSend). */
  /** `tos`: the IP TOS / traffic class, here only ECN's ECT(0) for ECN-capable data (RFC 3168 §6.1.2). */
  private output(la: Uint8Array, ra: Uint8Array, seg: TcpSegment, now: number, segmentSize = 0, tos = 0, df = true): void {
    // FreeBSD's option layout (tcp_addoptions) when configured; the encoder's default is Linux's.
    if (this.config.optionLayout === 'freebsd' && seg.options.order === undefined && hasOptions(seg.options)) {
      seg = { ...seg, options: { ...seg.options, order: freebsdOptionOrder(seg.options) } };
    }
    // A TSO segment goes to a link that segments it and so completes checksums (LinkSend), as does every segment
    // to a link with checksum offload: summing up to 64 KiB here would be wasted, unless an observer (a pcap
    // tap) is to see the packet as it will be on the wire.
    const ip = { src: la, dst: ra, ttl: this.ttl, tos, df };
    const observed = this.packetObservers.length > 0;
    const partial = (segmentSize > 0 || this.linkChecksumOffload) && !observed;
    if (this.linkSendParts !== null && !observed && seg.payload.length >= GATHER_MIN_PAYLOAD) {
      this.linkSendParts(encodeTcpPacketHeaders(ip, seg, partial ? 'pseudo-header' : 'full'), seg.payload, segmentSize);
      return;
    }
    const packet = partial ? encodeTcpPacketChecksumOffload(ip, seg) : encodeTcpPacket(ip, seg);
    for (let i = 0; i < this.packetObservers.length; i++) this.packetObservers[i]!('out', packet, now, this);
    // Only a TSO segment passes the second argument: links written for one argument see no change.
    if (segmentSize > 0) this.link?.(packet, segmentSize);
    else this.link?.(packet);
  }

  private emitTransition(c: { id?: number; connId?: number; localAddr: Uint8Array; localPort: number; remoteAddr: Uint8Array; remotePort: number }, time: number, from: TcpStateName, to: TcpStateName, cause: TcpCause): void {
    if (!this.transitionObservers.length) return;
    const info = { id: (c as { id?: number }).id ?? (c as { connId: number }).connId, localAddr: c.localAddr, localPort: c.localPort, remoteAddr: c.remoteAddr, remotePort: c.remotePort };
    for (const fn of this.transitionObservers) fn(info, { time, from, to, cause });
  }

  // ---------------------------------------------------------------------------------------------
  // Tables
  // ---------------------------------------------------------------------------------------------

  private addConn(c: StackConnection): void {
    this.conns.add(c.key, c);
  }

  private removeConn(c: StackConnection): void {
    if (c.removed) return;
    c.removed = true;
    this.conns.remove(c.key, c);
    // Stale timer entries would keep closed connections alive until their deadlines: compact when they dominate.
    if (this.heap.size > 2 * this.conns.size + 1024) this.heap.compact((at, x) => !x.removed && x.deadline === at);
    if (c.listener) {
      c.listener.synQueue.delete(c);
      const i = c.listener.acceptQueue.indexOf(c);
      if (i >= 0) c.listener.acceptQueue.splice(i, 1);
    }
  }

  private findConn(la: Uint8Array, lp: number, ra: Uint8Array, rp: number): StackConnection | null {
    return this.conns.find(tupleKey(la, lp, ra, rp), la, lp, ra, rp);
  }

  /** The TIME-WAIT table slot of this tuple, or -1. */
  private findTw(la: Uint8Array, lp: number, ra: Uint8Array, rp: number): number {
    return this.tw.find(tupleKey(la, lp, ra, rp), la, lp, ra, rp);
  }

  /** Observers hear that the TIME-WAIT entry in `slot` ends (before it is removed). */
  private twClosed(slot: number, now: number, cause: TcpCause): void {
    if (!this.transitionObservers.length) return;
    const t = this.tw;
    this.emitTransition({ connId: t.connId(slot), localAddr: t.localAddr(slot), localPort: t.localPort(slot), remoteAddr: t.remoteAddr(slot), remotePort: t.remotePort(slot) }, now, 'TIME-WAIT', 'CLOSED', cause);
  }
  private readonly twExpired = (slot: number): void => this.twClosed(slot, this.clock.now(), { kind: 'timer', timer: 'time-wait' });

  private findListener(la: Uint8Array, port: number): Listener | null {
    const list = this.listeners.get(port);
    if (!list) return null;
    for (const l of list) if (l.addr === null || addressEquals(l.addr, la)) return l;
    return null;
  }

  /** The stack's own Uint8Array for one of its addresses (so state never references packet buffers). */
  private ourAddress(a: Uint8Array): Uint8Array | null {
    for (const x of this.addresses) if (addressEquals(x, a)) return x;
    return null;
  }

  private isOurs(a: Uint8Array): boolean {
    return this.ourAddress(a) !== null;
  }

  private sourceFor(remote: Uint8Array): Uint8Array {
    for (const a of this.addresses) if (a.length === remote.length) return a;
    throw Object.assign(new Error(`ENETUNREACH: no ${remote.length === 16 ? 'IPv6' : 'IPv4'} address on this stack`), { code: 'ENETUNREACH' });
  }

  /** RFC 6056 Algorithm 3: a per-destination hashed offset plus a global counter, skipping tuples in use or in TIME-WAIT. */
  private ephemeralPort(la: Uint8Array, ra: Uint8Array, rp: number): number {
    const b = new Uint8Array(34);
    b.set(la, 0); b.set(ra, 16); b[32] = rp >>> 8; b[33] = rp & 0xff;
    const offset = this.portHash.hash(b);
    const num = this.portMax - this.portMin + 1;
    for (let i = 0; i < num; i++) {
      const port = this.portMin + ((offset + this.portCounter + i) % num);
      if (this.listeners.has(port)) continue;
      if (this.findConn(la, port, ra, rp) === null && this.findTw(la, port, ra, rp) === -1) {
        this.portCounter += i + 1;
        return port;
      }
    }
    throw Object.assign(new Error('EADDRNOTAVAIL: no free ephemeral port'), { code: 'EADDRNOTAVAIL' });
  }

  /** A port with no listener and no connection bound to it, from a random point of the ephemeral range. */
  private freeListenPort(): number {
    const used = new Set<number>();
    for (const c of this.conns.values()) used.add(c.localPort);
    for (const slot of this.tw.slots()) used.add(this.tw.localPort(slot));
    const num = this.portMax - this.portMin + 1;
    const start = this.randomU32() % num;
    for (let i = 0; i < num; i++) {
      const port = this.portMin + ((start + i) % num);
      if (!this.listeners.has(port) && !used.has(port)) return port;
    }
    throw Object.assign(new Error('EADDRINUSE: no free port to listen on'), { code: 'EADDRINUSE' });
  }

  private synAllowed(ra: Uint8Array, now: number): boolean {
    if (this.synRate === Infinity) return true;
    const k = addrHash(ra);
    const i = k & (SYN_BUCKETS - 1);
    if (this.synUsed[i] === 0 || this.synKeys[i] !== k) {
      if (this.synUsed[i] === 0) { this.synUsed[i] = 1; this.synBucketCount++; }
      this.synKeys[i] = k; this.synTokens[i] = this.synRate; this.synAt[i] = now;
    }
    const tokens = Math.min(this.synRate, this.synTokens[i]! + ((now - this.synAt[i]!) / 1000) * this.synRate);
    this.synAt[i] = now;
    if (tokens < 1) { this.synTokens[i] = tokens; return false; }
    this.synTokens[i] = tokens - 1;
    return true;
  }

  /**
   * One shared array per remote address for the connections to it (a copy, never a view into a packet
   * buffer): many connections from few clients hold no address copy each. Bounded: past 65 536 addresses the
   * table starts again (connections keep the arrays they have).
   */
  private internAddr(a: Uint8Array): Uint8Array {
    const h = addrHash(a);
    const known = this.addrs.get(h);
    if (known !== undefined && addressEquals(known, a)) return known;
    const own = a.slice();
    if (this.addrs.size >= 65_536) this.addrs.clear();
    this.addrs.set(h, own);
    return own;
  }
  private readonly addrs = new Map<number, Uint8Array>();

  private randomU32(): number {
    if (this.randomPool !== null) {
      // The system's randomness, drawn 1 KiB at a time: one getRandomValues call per connection was 4 % of
      // a connection-per-request server's time. An injected source is read 4 bytes per call, as before, so
      // seeded runs draw the same sequence.
      if (this.randomPoolAt === this.randomPool.length) { defaultRandom(new Uint8Array(this.randomPool.buffer)); this.randomPoolAt = 0; }
      return this.randomPool[this.randomPoolAt++]!;
    }
    const b = new Uint8Array(4);
    this.random(b);
    return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  }
  private readonly randomPool: Uint32Array | null;
  private randomPoolAt = 0;

  /** Forget every TIME-WAIT entry without sending anything (FreeBSD `tcpdrop -s TIME_WAIT`); returns how many. */
  dropTimeWait(): number {
    const now = this.clock.now();
    let n = 0;
    for (const slot of [...this.tw.slots()]) {
      this.twClosed(slot, now, { kind: 'user', call: 'abort' });
      this.tw.remove(slot);
      n++;
    }
    this.rearm();
    return n;
  }

  /** Abort every connection and forget every timer. */
  destroy(): void {
    const now = this.clock.now();
    // Listeners first: their queued connections are reset with empty queues (see unlisten).
    for (const l of [...this.listeners.values()].flat()) this.unlisten(l);
    for (const c of [...this.allConnections()]) { c.tcp.abort(now); this.service(c); }
    this.clock.wakeAt(Infinity, this.wake);
    this.armedAt = Infinity;
  }
}

const VERIFIED: ReceiveOptions = { checksumVerified: true };
/** Slots of the per-source SYN rate limiter (a power of two). */
const SYN_BUCKETS = 8192;

/** FNV-1a over the 4-tuple: a number key for the demux Map (no strings on the hot path). */
export function tupleKey(la: Uint8Array, lp: number, ra: Uint8Array, rp: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < ra.length; i++) h = Math.imul(h ^ ra[i]!, 0x01000193);
  h = Math.imul(h ^ (rp & 0xff), 0x01000193); h = Math.imul(h ^ (rp >>> 8), 0x01000193);
  h = Math.imul(h ^ (lp & 0xff), 0x01000193); h = Math.imul(h ^ (lp >>> 8), 0x01000193);
  for (let i = la.length - 4; i < la.length; i++) h = Math.imul(h ^ la[i]!, 0x01000193);
  return h >>> 0;
}

function hasOptions(o: TcpOptions): boolean {
  return o.mss !== undefined || o.wscale !== undefined || o.sackPermitted === true || o.tsVal !== undefined || (o.sack !== undefined && o.sack.length > 0) || (o.unknown !== undefined && o.unknown.length > 0);
}

/** MSS for a path MTU: less the IP and TCP headers (Linux tcp_mtu_to_mss; options are taken off per segment). */
function mssForPathMtu(remote: Uint8Array, mtu: number): number {
  return mtu - (remote.length === 16 ? 40 : 20) - 20;
}

/** ECN codepoint ECT(0) in the IP TOS / traffic class (RFC 3168 §5). */
const ECT0 = 2;

function setIpv4Id(p: Uint8Array, id: number): void {
  p[4] = id >> 8; p[5] = id & 0xff;
  p[10] = 0; p[11] = 0;
  const ck = finishChecksum(onesComplementSum(p, 0, (p[0]! & 0x0f) * 4));
  p[10] = ck >> 8; p[11] = ck & 0xff;
}

/** The datagram's length field is zero: IPv4 total length, or IPv6 payload length with something following. */
function zeroLength(packet: Uint8Array, ip: IpPacket): boolean {
  if (ip.version === 4) return packet[2] === 0 && packet[3] === 0;
  return packet[4] === 0 && packet[5] === 0 && packet.length > 40 && packet[6] !== 59;
}

function addrHash(a: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a[i]!, 0x01000193);
  return h >>> 0;
}

export { FIN };
