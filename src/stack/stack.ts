/**
 * A host: one or more IPv4/IPv6 addresses, TCP connections demultiplexed by 4-tuple, listeners with a
 * bounded SYN queue and accept queue (backlog), SYN cookies, a compact TIME-WAIT table, RFC 6056 ephemeral
 * ports, IP-layer services (fragments, ICMP, path MTU), and one timer for everything. Packets come in through
 * receive() and leave through the attached link.
 *
 * This file holds the Stack itself: its state, the user calls (listen, connect), servicing a connection after
 * the engine ran, and the timers. The rest is split by concern (README.md of this folder): ip-input.ts →
 * tcp-input.ts → listener.ts on the way in, ip-output.ts on the way out, demux.ts for the tables.
 *
 * Browser-clean on purpose (no Node imports): the web page runs two of these in virtual time.
 */
import { addressEquals, formatAddress, parseAddress } from '../wire/address.js';
import { ReassemblyCounters, type ReassemblerOptions, type ReassemblyDrop } from '../wire/ip-reassembly.js';
import type { IpPacket } from '../wire/ip.js';
import { PacketSlab, type PacketMemory } from '../wire/packet.js';
import { FIN, type TcpSegment } from '../wire/tcp-types.js';
import type { TcpStateName } from '../wire/trace.js';
import { TcpConnection, type TcpCause, type TcpConnectionOptions, type TcpEvent } from '../tcp/connection.js';
import { resolveConfig, type TcpConfig } from '../tcp/config.js';
import { IsnGenerator, type RandomSource } from '../tcp/isn.js';
import { SipHash } from '../tcp/siphash.js';
import { TcpStats } from '../tcp/stats.js';
import { RealClock, type Clock } from './clock.js';
import type { SynCookies } from './syn-cookies.js';
import { IndexedTimerHeap, TimerHeap } from './timer-heap.js';
import { PortUse, TimeWaitTable, type TimeWaitState } from './time-wait-table.js';
import { TupleTable } from './tuple-table.js';
import { IcmpRateLimiter } from './icmp-rate.js';
import { MIN_PMTU_V4, PmtuCache, applyPathMtu, mssFor } from './ip-pmtu.js';
import { StackCounters } from './counters.js';
import { StackConnection, type StateTransition, type UserTimer } from './connection.js';
import { Listener, promote, type ListenOptions } from './listener.js';
import { SynRateLimiter } from './syn-rate.js';
import { addConn, ephemeralPort, findConn, findTw, freeListenPort, internAddr, isOurs, ourAddress, removeConn, sourceFor, tupleKey } from './demux.js';
import { ipInput } from './ip-input.js';
import type { PacketBatch } from './syn-fast-path.js';
import { OutputQueue, flushOutput, output } from './ip-output.js';

// The stack's parts, by concern (see the README of this folder): the names importers used before the split.
export { StackCounters } from './counters.js';
export { StackConnection, type ConnectionHandler, type StateTransition, type UserTimer } from './connection.js';
export { Listener, type ListenOptions } from './listener.js';
export { tupleKey } from './demux.js';

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
  /**
   * SYN cookies when the SYN queue is full (default true), once installed (installSynCookies; the Node entry installs
   * them for every stack): without them a full SYN queue drops SYNs.
   */
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
  /**
   * Bounds and timeouts of IP fragment reassembly (src/wire/ip-reassembly.ts). Reassembly is on where it is
   * installed: in Node every stack has it (the `synack` entry installs it for all, `TunLink.attachStack` for its
   * stack); a browser bundle leaves its code out (synack and kernels send TCP with DF: path-MTU discovery) unless
   * the page calls `installIpReassembly()`. Without it each fragment is dropped, counted in ReasmReqds and
   * ReasmOverLimit, as with `maxBytes: 0`, and a datagram this host originates beyond TCP (an echo reply) that
   * is longer than the path MTU leaves whole (a MessagePort or WebSocket link carries it) instead of in fragments.
   */
  reassembly?: Omit<ReassemblerOptions, 'onTimeout'>;
  /**
   * Answer SYNs to a listener whose SYN queue is full with a cookie straight from the datagram's bytes
   * (syn-fast-path.ts: the same SYN+ACK as the general path, at a fraction of the cost under a flood). Default
   * true where the fast path is installed: in Node every stack has it (the `synack` entry installs it for all,
   * `TunLink.attachStack` for its stack); a browser bundle leaves its code out (it pays off for batched device
   * reads under a flood) unless the page calls `installSynFastPath()`. false sends every datagram through the
   * general path.
   */
  synFastPath?: boolean;
}

/**
 * @internal The SYN-cookie fast path's code (syn-fast-path.ts). A stack runs it only once installed
 * (installSynFastPath), so that a bundle which never installs it leaves it out (issue 12: the browser bundle).
 */
export interface SynFastPathCode {
  /** Answers the datagram with a SYN cookie and returns true, or returns false having changed nothing. */
  answer(s: Stack, packet: Uint8Array, verified: boolean, now: number): boolean;
  /** Hands the SYN+ACKs built during a receive batch to the link. */
  flush(s: Stack): void;
}
let defaultSynFastPath: SynFastPathCode | null = null;
/** @internal Stacks made from now on get `code` (installSynFastPath() without a stack). */
export function setDefaultSynFastPath(code: SynFastPathCode | null): void { defaultSynFastPath = code; }
function synFastPath(s: Stack, packet: Uint8Array, verified: boolean, now: number): boolean {
  const code = s.synFastPathCode;
  return code !== null && code.answer(s, packet, verified, now);
}
function flushSynFastPath(s: Stack): void { s.synFastPathCode?.flush(s); }

let defaultSynCookies: ((key: Uint8Array) => SynCookies) | null = null;
/** @internal Stacks made from now on get SYN cookies from `make` (installSynCookies() without a stack). */
export function setDefaultSynCookies(make: ((key: Uint8Array) => SynCookies) | null): void { defaultSynCookies = make; }

/**
 * @internal What a stack's IP layer uses of its reassembler (src/wire/ip-reassembly.ts IpReassembler), and the
 * fragmentation of datagrams it originates beyond TCP (installed with it, reassembly.ts).
 */
export interface Reassembly {
  readonly counters: ReassemblyCounters;
  readonly lastDrop: ReassemblyDrop | null;
  readonly heldBytes: number;
  readonly pending: number;
  push(packet: Uint8Array, now: number, ip?: IpPacket): Uint8Array | null;
  nextExpiry(): number;
  expire(now: number): number;
  /** `packet` cut into fragments of at most `mtu` bytes with identification `id` (RFC 791 §3.2, RFC 8200 §4.5). */
  fragment(packet: Uint8Array, mtu: number, id: number): Uint8Array[];
}
let defaultReassembly: ((s: Stack) => Reassembly) | null = null;
/** @internal Stacks made from now on reassemble with what `make` returns (installIpReassembly() without a stack). */
export function setDefaultReassembly(make: ((s: Stack) => Reassembly) | null): void { defaultReassembly = make; }

/**
 * A stack's reassembly until one is installed (reassembly.ts): every fragment is dropped as IpReassembler drops
 * one it has no room for (maxBytes 0), so the counters tell the same story; what the host originates leaves whole.
 */
class NoReassembly implements Reassembly {
  readonly counters = new ReassemblyCounters();
  readonly lastDrop = 'over-limit';
  readonly heldBytes = 0;
  readonly pending = 0;
  push(): null { this.counters.ReasmReqds++; this.counters.ReasmOverLimit++; return null; }
  nextExpiry(): number { return Infinity; }
  expire(): number { return 0; }
  fragment(packet: Uint8Array): Uint8Array[] { return [packet]; }
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
  /**
   * The link sends several whole datagrams in one call: packet i is `buf[offsets[2i], offsets[2i] +
   * offsets[2i+1])`, for i < count. The memory is reused after the call returns (copy what is kept). Used for
   * the SYN+ACKs the SYN-cookie fast path answers a receive batch with (syn-fast-path.ts).
   */
  sendBatch?: (buf: Uint8Array, offsets: Uint32Array, count: number) => void;
  /**
   * The link sends several whole datagrams in one call, in the order given: each at most the MTU, never to be
   * segmented, checksums as for LinkSend (a link with checksumOffload completes TCP's). The stack then queues
   * what it produces during a receive batch, a timer wake-up or one turn of user code and hands it over at
   * the end (ip-output.ts, the output queue). The array is the link's once passed.
   */
  sendPackets?: (packets: Uint8Array[]) => void;
  /**
   * Read the input already waiting at the link without blocking (a TUN device's queue), hand it to the stack,
   * then call `then` (at once or soon). The stack calls it when its timer wake-up runs late (the host was
   * paused: a GC, the process not scheduled), before it runs the timers: ACKs that arrived during the pause
   * then count before RACK, the loss probe or the RTO decide to resend (RFC 8985 §6.2: loss is detected from
   * the ACKs received). Node runs expired timers before it polls the fd again, so without this a late wake-up
   * resent data already acknowledged.
   */
  pollInput?: (then: () => void) => void;
}

/**
 * Sees every IP datagram the stack receives ('in') or sends ('out'), with the stack time in ms. Must not keep or
 * modify `packet`. One registered with `headersOnly` (Stack.observePackets) may be given only the IP and TCP
 * headers of an outgoing segment (its length fields still cover the payload), with the TCP checksum left to a
 * link with checksum offload.
 */
export type PacketObserver = (dir: 'in' | 'out', packet: Uint8Array, time: number, stack: Stack) => void;
/** Sees every connection state transition (RFC 9293 states) with its time in ms and cause. */
export type TransitionObserver = (c: { id: number; localAddr: Uint8Array; localPort: number; remoteAddr: Uint8Array; remotePort: number }, ev: { time: number; from: TcpStateName; to: TcpStateName; cause: TcpCause }) => void;

const defaultRandom: RandomSource = (out) => { globalThis.crypto.getRandomValues(out); };
/** The cause of every TIME-WAIT entry's expiry (2·MSL, RFC 9293 §3.10.8): one object for all of them. */
const TIME_WAIT_EXPIRED: TcpCause = Object.freeze({ kind: 'timer', timer: 'time-wait' });
/** The options of each actively opened connection's engine (connect): one scratch object, as listener.ts OPENING. */
const CONNECTING: TcpConnectionOptions = { localPort: 0, remotePort: 0, iss: 0, config: undefined, stats: undefined, tsOffset: 0 };

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
  /** @internal */
  readonly isn: IsnGenerator;
  /**
   * @internal SYN cookies (RFC 4987 §3.6), once installed (syn-cookies.ts installSynCookies); null: a full SYN queue
   * drops SYNs. Installed rather than imported, so that a bundle which never installs them leaves them out (issue 12).
   */
  cookies: SynCookies | null;
  /** @internal The key of this stack's SYN cookies, drawn at creation whether or not they are installed. */
  readonly cookieKey: Uint8Array;
  /** @internal */
  readonly portHash: SipHash;
  private readonly random: RandomSource;
  /** @internal */
  readonly listenSynAckRetries: number;
  /** @internal */
  readonly syncookies: boolean;
  /** @internal */
  readonly silentInvalid: boolean;
  /** @internal */
  readonly ttl: number;
  readonly mtu: number;
  /** @internal StackOptions.mtu was given: connections advertise the MSS the link's MTU allows in their family. */
  readonly mtuGiven: boolean;
  /** React to ICMP (StackOptions.icmp); may be switched at run time (tests show the black hole without it). */
  icmpEnabled: boolean;
  /** @internal IP fragment reassembly (RFC 791, RFC 8200, RFC 5722), once installed (reassembly.ts). */
  reassembler: Reassembly;
  /** @internal StackOptions.reassembly, for the reassembler installed later. */
  readonly reassemblyOptions: Omit<ReassemblerOptions, 'onTimeout'> | undefined;
  /** @internal Path MTU learned per destination (RFC 1191 §6.3, RFC 8201 §5.3). */
  readonly pmtu = new PmtuCache();
  /** @internal */
  readonly icmpRate = new IcmpRateLimiter();
  /** @internal */
  readonly isOursFn = (a: Uint8Array): boolean => ourAddress(this, a) !== null;
  /** @internal */
  readonly portMin: number;
  /** @internal */
  readonly portMax: number;
  /** @internal */
  portCounter = 0;
  /** @internal The last destination's RFC 6056 offset (demux.ts ephemeralPort): la and ra by identity, rp. */
  readonly portOffsetMemo: { la: Uint8Array | null; ra: Uint8Array | null; rp: number; offset: number } = { la: null, ra: null, rp: -1, offset: 0 };

  /** @internal */
  readonly conns = new TupleTable<StackConnection>();
  /** @internal The connection removed last (demux.ts removeConn): kept so V8 keeps StackConnection's layout. */
  lastRemoved: StackConnection | null = null;
  /** @internal TIME-WAIT entries in typed arrays, with their expiry queue (time-wait-table.ts): no object per entry. */
  readonly tw: TimeWaitTable;
  /** @internal Connections and TIME-WAIT entries per local port (time-wait-table.ts PortUse; demux.ts ephemeralPort). */
  readonly portUse = new PortUse();
  /** @internal */
  readonly listeners = new Map<number, Listener[]>();
  /** @internal */
  readonly heap = new IndexedTimerHeap<StackConnection>();
  /** @internal Per-source SYN rate limit (syn-rate.ts). */
  readonly synRate: SynRateLimiter;
  /** @internal */
  link: LinkSend | null = null;
  /** @internal */
  linkChecksumOffload = false;
  /** @internal */
  linkSendParts: LinkSendParts | null = null;
  /** @internal LinkCapabilities.sendBatch */
  linkSendBatch: ((buf: Uint8Array, offsets: Uint32Array, count: number) => void) | null = null;
  /** @internal LinkCapabilities.sendPackets */
  linkSendPackets: ((packets: Uint8Array[]) => void) | null = null;
  /**
   * Queue output for a link that takes several datagrams per call (LinkCapabilities.sendPackets; ip-output.ts);
   * default true. May be switched at run time (benchmarks and tests compare); false sends each at once.
   */
  outputBatching = true;
  /** @internal Datagrams produced and not yet handed to the link (ip-output.ts). */
  readonly outQueue = new OutputQueue();
  /** @internal Flushes the output queue at the end of a turn of user code. */
  readonly flushTask = (): void => { this.outQueue.scheduled = false; flushOutput(this); };
  /** The SYN-cookie fast path (StackOptions.synFastPath); may be switched at run time (benchmarks compare). */
  synFastPath: boolean;
  /** @internal The fast path's code, once installed (null: every datagram takes the general path). */
  synFastPathCode: SynFastPathCode | null = defaultSynFastPath;
  /** @internal The SYN+ACKs the fast path built and has not yet handed to the link (made on first use). */
  synFastOut: PacketBatch | null = null;
  /** @internal */
  readonly packetObservers: PacketObserver[] = [];
  /** @internal Outgoing segments' buffers, carved from shared blocks (one allocation per many segments). */
  readonly slab = new PacketSlab();
  private readonly transitionObservers: TransitionObserver[] = [];
  /** Per transition observer: whether it hears compact TIME-WAIT entries' ends (observeTransitions). */
  private readonly timeWaitEnds: boolean[] = [];
  private timeWaitEndObservers = 0;
  private readonly wake = () => this.onWake();
  private readonly userTimers = new TimerHeap<UserTimer>();
  private armedAt = Infinity;
  /** @internal Timers are running (onWake): output is flushed at its end. */
  inWake = false;
  /**
   * @internal A link that takes a connection's TCP segment as it is, without encoding it (Network, to another
   * in-process stack over a direction nobody can observe): returns false when it does not take it, and the
   * segment is encoded and sent as usual. Set by the link after attach(); only while no packet observer watches
   * this stack. `segmentSize` > 0: a TSO super-segment (as LinkSend's), which the link takes only if it would
   * carry it whole (receive offload on the other side), else it returns false and output() encodes it for the
   * link to cut. A segment it takes is handed over (the link may make it the receiver's in place): service()
   * passes only what pollTransmit returned, which the engine keeps no reference to. `conn`: the sending
   * connection's id (StackConnection.id), so the link keeps each connection's payload copies in memory of its own.
   */
  linkSendSegment: ((src: Uint8Array, dst: Uint8Array, seg: TcpSegment, tos: number, df: boolean, segmentSize: number, conn: number) => boolean) | null = null;
  /**
   * @internal A link whose receivers keep views of the datagrams (Network: another in-process stack's payload
   * chunks): a connection's datagrams are encoded into memory of that connection's own (PayloadRuns), so no chunk's
   * memory shows another connection's bytes; what no connection sends takes the slab. Set by the link after attach().
   */
  linkRuns: { of(conn: number): PacketMemory } | null = null;
  /** @internal LinkCapabilities.pollInput */
  linkPollInput: ((then: () => void) => void) | null = null;
  /** A late wake-up waits for the link's input (LinkCapabilities.pollInput). */
  private pollingInput = false;
  private readonly wakeAfterInput = (): void => { this.pollingInput = false; this.armedAt = Infinity; this.runTimers(); };

  constructor(opts: StackOptions) {
    this.name = opts.name ?? 'synack';
    if (!opts.addresses.length) throw new Error('a stack needs at least one address');
    this.addresses = opts.addresses.map((a) => parseAddress(a));
    this.tw = new TimeWaitTable(this.addresses, 64, this.portUse);
    this.clock = opts.clock ?? new RealClock();
    this.random = opts.random ?? defaultRandom;
    this.randomPool = opts.random === undefined ? new Uint32Array(256) : null;
    this.randomPoolAt = 256;
    this.config = resolveConfig(opts.tcp);
    this.isn = IsnGenerator.fromRandom(this.random);
    const k1 = new Uint8Array(16); this.random(k1);
    this.cookieKey = k1;
    this.cookies = defaultSynCookies === null ? null : defaultSynCookies(k1);
    const k2 = new Uint8Array(16); this.random(k2);
    this.portHash = new SipHash(k2);
    this.listenSynAckRetries = opts.listenSynAckRetries ?? 3;
    this.syncookies = opts.syncookies ?? true;
    this.synRate = new SynRateLimiter(opts.synRatePerSource ?? Infinity);
    this.silentInvalid = opts.silentOnInvalidFlags ?? false;
    this.ttl = opts.ttl ?? 64;
    this.mtu = opts.mtu ?? this.config.mss + 40;
    this.mtuGiven = opts.mtu !== undefined;
    this.icmpEnabled = opts.icmp ?? true;
    this.reassemblyOptions = opts.reassembly;
    this.reassembler = defaultReassembly !== null ? defaultReassembly(this) : new NoReassembly();
    [this.portMin, this.portMax] = opts.ephemeralPortRange ?? [32768, 60999];
    this.synFastPath = opts.synFastPath !== false;
  }

  /** Where outgoing IP datagrams go, and what that link can do (default: nothing beyond sending). */
  attach(send: LinkSend, caps?: LinkCapabilities): void {
    flushOutput(this); // to the link it was produced for
    this.link = send;
    this.linkChecksumOffload = caps?.checksumOffload === true;
    this.linkSendParts = caps?.sendParts ?? null;
    this.linkSendBatch = caps?.sendBatch ?? null;
    this.linkSendPackets = caps?.sendPackets ?? null;
    this.linkPollInput = caps?.pollInput ?? null;
    this.linkSendSegment = null; // a link that takes segments sets it after attaching
    this.linkRuns = null;
  }
  /**
   * Watch every packet sent or received (pcapng taps). Returns an unsubscribe function. `headersOnly`: the
   * observer reads only headers (see PacketObserver), so it costs the output path nothing: segments are still
   * gathered from the send buffer and checksummed by a link with offload. Without it (a capture), every
   * outgoing datagram is built whole, with complete checksums.
   */
  observePackets(fn: PacketObserver, opts?: { headersOnly?: boolean }): () => void {
    const whole = opts?.headersOnly !== true;
    this.packetObservers.push(fn);
    if (whole) this.wholePacketObservers++;
    return () => {
      const i = this.packetObservers.indexOf(fn);
      if (i < 0) return;
      this.packetObservers.splice(i, 1);
      if (whole) this.wholePacketObservers--;
    };
  }
  /** @internal Observers that need whole outgoing datagrams with complete checksums (observePackets). */
  wholePacketObservers = 0;
  /**
   * Watch every connection state transition (including TIME-WAIT → CLOSED of compact entries, unless
   * `timeWaitEnds` is false). `c` is the connection itself (for a compact entry's end, an object made for the
   * call) and `ev` the engine's own event: keep the fields you need rather than them.
   */
  observeTransitions(fn: TransitionObserver, opts?: { timeWaitEnds?: boolean }): () => void {
    const tw = opts?.timeWaitEnds !== false;
    this.transitionObservers.push(fn);
    this.timeWaitEnds.push(tw);
    if (tw) this.timeWaitEndObservers++;
    return () => {
      const i = this.transitionObservers.indexOf(fn);
      if (i < 0) return;
      if (this.timeWaitEnds[i]) this.timeWaitEndObservers--;
      this.transitionObservers.splice(i, 1);
      this.timeWaitEnds.splice(i, 1);
    };
  }

  /** Live connections (not counting compact TIME-WAIT entries). */
  get connectionCount(): number { return this.conns.size; }
  get timeWaitCount(): number { return this.tw.size; }
  get timerHeapSize(): number { return this.heap.size; }
  get rateLimiterSize(): number { return this.synRate.size; }
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
    if (port === 0) port = freeListenPort(this);
    const addr = opts.host ? parseAddress(opts.host) : null;
    if (addr && !isOurs(this, addr)) throw Object.assign(new Error(`EADDRNOTAVAIL: ${opts.host} is not an address of this stack`), { code: 'EADDRNOTAVAIL' });
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

  /** The host connect() was last given, and its interned address (a stable array, never a packet's). */
  private connectHost = '';
  private connectAddr: Uint8Array | null = null;

  /** Active open. */
  connect(opts: { host: string; port: number; localPort?: number; localAddress?: string; config?: Partial<TcpConfig>; fastOpen?: { cookie: Uint8Array; data?: Uint8Array } }): StackConnection {
    // A client connects to the same host again and again: its address parsed and interned once.
    let ra = this.connectAddr;
    if (opts.host !== this.connectHost || ra === null) {
      ra = internAddr(this, parseAddress(opts.host));
      this.connectHost = opts.host;
      this.connectAddr = ra;
    }
    // The stack's own array for the local address: a connection never holds a copy of it.
    const la = opts.localAddress ? ourAddress(this, parseAddress(opts.localAddress)) : sourceFor(this, ra);
    if (la === null) throw Object.assign(new Error(`EADDRNOTAVAIL: ${opts.localAddress}`), { code: 'EADDRNOTAVAIL' });
    if (!(opts.port > 0 && opts.port < 65536)) throw new RangeError(`invalid port ${opts.port}`);
    const now = this.clock.now();
    let lp = opts.localPort ?? 0;
    if (lp) {
      if (findConn(this, la, lp, ra, opts.port) || findTw(this, la, lp, ra, opts.port) !== -1) {
        throw Object.assign(new Error(`EADDRINUSE: ${formatAddress(la)}:${lp} -> ${opts.host}:${opts.port} is in use`), { code: 'EADDRINUSE' });
      }
    } else {
      lp = ephemeralPort(this, la, ra, opts.port);
    }
    const key = tupleKey(la, lp, ra, opts.port);
    const mss = mssFor(this, ra);
    // One scratch object for the engine's options (as listener.ts OPENING): it reads them and keeps none.
    const o = CONNECTING;
    o.localPort = lp; o.remotePort = opts.port; o.iss = this.isn.isn(la, lp, ra, opts.port, now);
    o.config = opts.config || mss !== this.config.mss ? { ...this.config, mss, ...opts.config } : this.config;
    o.stats = this.stats; o.tsOffset = this.randomU32();
    let tcp: TcpConnection;
    try { tcp = new TcpConnection(o); } finally { o.config = undefined; o.stats = undefined; } // nothing kept alive through the scratch, even when the engine refuses a bad opts.config
    const c = new StackConnection(this, tcp, la, lp, ra, opts.port, key);
    addConn(this, c);
    applyPathMtu(this, c, now);
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
    // In a batch, the time it began (beginBatch): one clock read per batch, not per datagram.
    const now = this.batching ? this.batchNow : this.clock.now();
    const verified = opts?.checksumVerified === true;
    for (let i = 0; i < this.packetObservers.length; i++) this.packetObservers[i]!('in', packet, now, this);
    if (this.synFastPath && synFastPath(this, packet, verified, now)) {
      if (!this.batching) { flushOutput(this); flushSynFastPath(this); } // a batch hands its SYN+ACKs to the link at its end
      return;
    }
    if (this.batching) { ipInput(this, packet, verified, now); return; }
    // The connection's answer leaves before its application runs (service): see endBatch.
    this.ackFirst = true;
    const was = this.receiving;
    this.receiving = true;
    try {
      ipInput(this, packet, verified, now);
    } finally {
      this.ackFirst = false;
      this.receiving = was;
    }
    this.rearm(); flushOutput(this); // a batch rearms and flushes once, at its end
  }

  /**
   * @internal A single datagram is being received (receive, or a Network's typed segment): the stack's timer is
   * rearmed once, at its end, not also by service() for the connection it reached.
   */
  receiving = false;

  /**
   * @internal A single datagram is being received (receive, outside a batch): service() hands the engine's
   * output to the link before it dispatches the connection's events (once: the flag is cleared there).
   */
  ackFirst = false;

  /** @internal The segment being delivered arrived marked Congestion Experienced (RFC 3168 §5). */
  rxCe = false;

  /** The path MTU to `dst`: what ICMP taught us (not yet expired), else the link's. */
  pathMtuFor(dst: Uint8Array, now: number): number {
    const p = this.pmtu.get(dst, now);
    return Math.min(this.mtu, dst.length === 4 ? Math.max(p, MIN_PMTU_V4) : p);
  }

  /**
   * A batch of datagrams (e.g. everything a TUN read returned). Each connection's output is generated once,
   * after the whole batch: its ACK then covers every segment of the batch (a stretch ACK, like receive
   * offload), instead of one ACK per two segments.
   */
  receiveBatch(packets: readonly Uint8Array[], opts?: { checksumVerified?: readonly boolean[] }): void {
    const v = opts?.checksumVerified;
    if (packets.length === 1) { this.receive(packets[0]!, v?.[0] ? CHECKSUM_VERIFIED : undefined); return; }
    this.beginBatch();
    try {
      // Out-of-order data is ACKed at once by tcp-input.ts; the rest once per connection, below.
      for (let i = 0; i < packets.length; i++) this.receive(packets[i]!, v?.[i] ? CHECKSUM_VERIFIED : undefined);
    } finally {
      this.endBatch();
    }
  }

  /**
   * @internal receiveBatch's start: until endBatch(), connections are serviced once, at its end. The batch was
   * read at once: its datagrams share one arrival time, read here (as segments Linux's GRO merges share their
   * skb's timestamp); a clock read per datagram was ~1.6 % of serve's time under ab.
   */
  beginBatch(): void { this.batching = true; this.batchNow = this.clock.now(); }

  /**
   * @internal receiveBatch's end: each connection the batch touched is serviced in two passes. First what its
   * engine produced in answer to the arrivals (ACKs, SACKs, window updates, retransmissions) leaves in one call to
   * the link; only then are the events dispatched, whose handlers run the application (a Socket's 'data'), and
   * what it writes leaves in a second call, if there is any. As Linux ACKs from softirq before the reader wakes:
   * the peer's round trip does not include the application's processing (RFC 9293 §3.8.6.3 asks ACKs not be
   * delayed needlessly). No segment is added: an ACK the engine did not decide to send still waits (delayed
   * ACK, RFC 9293 §3.8.6.3) and rides on the application's response.
   */
  endBatch(): void {
    try {
      flushOutput(this); // what left at once without the queue (out-of-order ACKs) before the SYN+ACKs
      flushSynFastPath(this);
      const now = this.clock.now();
      const d = this.dirty;
      for (let i = 0; i < d.length; i++) { const c = d[i]!; if (!c.removed) this.transmit(c, now); }
      flushOutput(this); // the engine's answers, before any application code runs
      for (let i = 0; i < d.length; i++) this.service(d[i]!);
    } finally {
      const d = this.dirty;
      for (let i = 0; i < d.length; i++) d[i]!.dirty = false;
      d.length = 0;
      this.batching = false;
      this.rearm();
      flushOutput(this); // the batch's output in one call to the link
    }
  }

  /** @internal A receiveBatch is running: connections are serviced once, at its end. */
  batching = false;
  /** @internal The time the running batch began (beginBatch): its datagrams' arrival time. */
  batchNow = 0;
  /** @internal */
  readonly dirty: StackConnection[] = [];

  /** @internal Configurations of passively opened connections, one per MSS (listener.ts listenConfig). */
  readonly listenConfigs = new Map<number, TcpConfig>();

  // ---------------------------------------------------------------------------------------------
  // Per-connection servicing
  // ---------------------------------------------------------------------------------------------

  /** Flush a connection's output, dispatch its events, reschedule its timer. */
  service(c: StackConnection): void {
    if (c.removed) return;
    const t = c.tcp;
    const now = this.clock.now();
    this.transmit(c, now);
    // A single datagram's answer leaves before the handlers run (receive; endBatch does the same for a batch).
    if (this.ackFirst) { this.ackFirst = false; flushOutput(this); }
    let ev: TcpEvent | null;
    let toTimeWait = false, closed = false;
    while ((ev = t.pollEvent()) !== null) {
      // The handler as it was before this event: a socket created on promotion starts after its own ESTABLISHED.
      const h = c.handler;
      if (ev.type === 'state') {
        c.lastTransition = ev; // the event itself: a TcpEvent of type 'state' is a StateTransition
        if (this.transitionObservers.length !== 0) this.emitTransition(c, ev);
        if (ev.to === 'ESTABLISHED' && c.embryonic) promote(this, c);
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
    if (closed || t.state === 'CLOSED') { removeConn(this, c); return; }
    this.heap.set(c, t.nextDeadline()); // moved only if it changed
    if (!this.inWake && !this.batching && !this.receiving) this.rearm();
  }

  /** What the connection's engine has to send, to the link (queued where the link batches: ip-output.ts). */
  private transmit(c: StackConnection, now: number): void {
    const t = c.tcp;
    let seg: TcpSegment | null;
    while ((seg = t.pollTransmit(now)) !== null) {
      const tos = t.txEct ? ECT0 : 0;
      // To a link that takes the segment itself (another in-process stack, unobserved): nothing to encode.
      // FreeBSD's option layout and packet observers need the bytes (ip-output.ts); a TSO segment too, unless
      // the link carries it whole (linkSendSegment).
      if (this.linkSendSegment !== null && this.packetObservers.length === 0 && this.outQueue.packets.length === 0
        && this.config.optionLayout !== 'freebsd' && this.linkSendSegment(c.localAddr, c.remoteAddr, seg, tos, !c.noDf, t.txSegmentSize, c.id)) continue;
      output(this, c.localAddr, c.remoteAddr, seg, now, t.txSegmentSize, tos, !c.noDf, c.id);
    }
  }

  private readonly twScratch: TimeWaitState = { sndNxt: 0, rcvNxt: 0, tsOk: false, tsRecent: 0, tsOffset: 0, window: 0, expiresAt: 0 };

  private toTimeWait(c: StackConnection, now: number): void {
    // Into one scratch object: the table copies its fields (time-wait-table.ts add) and keeps nothing.
    const s = c.tcp.timeWaitSnapshotInto(this.twScratch);
    s.expiresAt = now + 2 * this.config.msl;
    removeConn(this, c);
    this.tw.add(c.key, c.localAddr, c.localPort, c.remoteAddr, c.remotePort, s, c.id);
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

  /** @internal */
  rearm(): void {
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

  /** @internal */
  onWake(): void {
    const late = this.clock.now() - this.armedAt;
    this.armedAt = Infinity;
    // Late by more than a timer's rounding: the host was paused, and the link may hold ACKs that arrived
    // meanwhile; read them before deciding what the timers resend (LinkCapabilities.pollInput).
    if (late > LATE_WAKE_MS && this.linkPollInput !== null && !this.pollingInput) {
      this.pollingInput = true;
      this.linkPollInput(this.wakeAfterInput);
      return;
    }
    this.runTimers();
  }

  private runTimers(): void {
    const now = this.clock.now();
    this.inWake = true;
    try {
      while (this.heap.peekTime() <= now) {
        const c = this.heap.pop()!;
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
      flushOutput(this); // what the timers sent, in one call to the link
    }
    this.rearm();
  }

  // ---------------------------------------------------------------------------------------------
  // Observers
  // ---------------------------------------------------------------------------------------------

  /**
   * A live connection's transition goes to the observers as it is: the connection itself (its id, addresses and
   * ports) and the engine's own event (a 'state' TcpEvent is a StateTransition). Copies of both were four objects
   * per transition, ~700 B per connection of a connection-per-request server with a lifecycle log.
   */
  private emitTransition(c: StackConnection, ev: StateTransition): void {
    const obs = this.transitionObservers;
    for (let i = 0; i < obs.length; i++) obs[i]!(c, ev);
  }

  /**
   * @internal Observers hear that the TIME-WAIT entry in `slot` ends (before it is removed). Only those that asked
   * for these ends (observeTransitions' timeWaitEnds): an entry keeps no objects, so each end is built for them.
   */
  twClosed(slot: number, now: number, cause: TcpCause): void {
    if (this.timeWaitEndObservers === 0) return;
    const t = this.tw;
    const info = { id: t.connId(slot), localAddr: t.localAddr(slot), localPort: t.localPort(slot), remoteAddr: t.remoteAddr(slot), remotePort: t.remotePort(slot) };
    const ev = { time: now, from: 'TIME-WAIT' as const, to: 'CLOSED' as const, cause };
    const obs = this.transitionObservers;
    for (let i = 0; i < obs.length; i++) if (this.timeWaitEnds[i]) obs[i]!(info, ev);
  }
  /** @internal */
  readonly twExpired = (slot: number): void => { if (this.timeWaitEndObservers !== 0) this.twClosed(slot, this.clock.now(), TIME_WAIT_EXPIRED); };

  /** @internal Interned remote addresses (demux.ts internAddr). */
  readonly addrs = new Map<number, Uint8Array>();

  /** @internal */
  randomU32(): number {
    if (this.randomPool !== null) {
      // The system's randomness, drawn 1 KiB at a time: one getRandomValues call per connection was 4 % of
      // a connection-per-request server's time. An injected source is read 4 bytes per call, as before, so
      // seeded runs draw the same sequence.
      if (this.randomPoolAt === this.randomPool.length) { defaultRandom(new Uint8Array(this.randomPool.buffer)); this.randomPoolAt = 0; }
      return this.randomPool[this.randomPoolAt++]!;
    }
    // Into one scratch array: a buffer per call was ~400 B per connection between in-process stacks.
    const b = this.random4;
    this.random(b);
    return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  }
  private readonly random4 = new Uint8Array(4);
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
    flushOutput(this); // what is queued (RSTs) leaves now: the link may be closed right after
  }
}

/** @internal A datagram whose checksum the link vouches for (one object for every receive that says so). */
export const CHECKSUM_VERIFIED: ReceiveOptions = { checksumVerified: true };

/** A timer wake-up later than this (ms) past its deadline reads the link's input first (onWake). */
const LATE_WAKE_MS = 1;

/** ECN codepoint ECT(0) in the IP TOS / traffic class (RFC 3168 §5). */
const ECT0 = 2;

export { FIN };
