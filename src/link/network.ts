/**
 * Stacks joined by an in-memory Wire, in virtual time (tests, demo, benchmarks) or real time.
 * In virtual time, runUntil() jumps the shared clock straight to the next wire arrival or stack timer,
 * letting the host run its callbacks between steps so stream callbacks (sockets, node:http) run in between.
 */
import { CHECKSUM_VERIFIED, Stack, type StackOptions } from '../stack/stack.js';
import { VirtualClock, RealClock, type Clock } from '../stack/clock.js';
import { Wire, objectList, type Impairments, type LazyDatagram, type WireEndpoint, type WireOptions } from './wire.js';
import { Prng } from './prng.js';
import { driveInRealTime, type WireDriver } from './real-time.js';
import { PayloadRuns, decodePacketUnverified, encodeTcpPacket, type PacketMemory } from '../wire/packet.js';
import { EMPTY, FIN, PSH, SYN, seqAdd, type TcpOptions, type TcpSegment } from '../wire/tcp-types.js';
import { findListener, ourAddress, remoteAddressAt } from '../stack/demux.js';
import { martianSource } from '../stack/martians.js';
import { segmentArrives } from '../stack/tcp-input.js';
import { flushOutput } from '../stack/ip-output.js';
import { checkSegmentFields, optionsLength } from '../wire/tcp.js';
import { PROTO_TCP } from '../wire/ip.js';
import { completeChecksum, prepareTcpOffload } from './virtio-net.js';

/** Options of `new Network()`: the wire's seed and impairments, and the clock. */
export interface NetworkOptions extends WireOptions {
  /** Virtual time (default) or the host's real clock. */
  realTime?: boolean;
  /** Default one-way delay in ms for every direction (default 5). */
  delayMs?: number;
  /**
   * Offloads between the stacks, as Linux's loopback and veth devices have them (default false). Checksum
   * offload: a TCP segment's checksum is neither computed by the sender nor verified by the receiver (the
   * kernel's CHECKSUM_PARTIAL out, CHECKSUM_UNNECESSARY in). GSO/GRO: a TSO super-segment crosses the wire whole
   * and is received as one segment; stacks get `tcp.tsoMaxBytes` (64 KiB) and `tcp.receiveOffload` unless their
   * own options set them. Only where nobody can tell: a packet whose direction is impaired beyond a fixed
   * delay, or a wire with observers, is cut into MSS-sized segments with complete checksums (what a NIC
   * would put on the wire), and a receiving stack with packet observers sees complete checksums.
   */
  offload?: boolean;
  /**
   * Checksum offload alone between the stacks (default true; implied by `offload`): a TCP segment crossing a
   * direction nobody can tell from a perfect one (no impairment but a fixed delay, no observer on the wire) is
   * neither summed by its sender nor verified by its receiver, as on Linux's loopback (CHECKSUM_PARTIAL out,
   * CHECKSUM_UNNECESSARY in). Any other packet leaves with a complete checksum (what a NIC puts on the wire), and a
   * stack with packet observers, or `onDelivered`, sees complete checksums. false: every segment is summed and
   * verified in JS.
   */
  checksumOffload?: boolean;
  /**
   * Receive batches, as a NIC's interrupt hands the kernel a burst (NAPI) and Linux's GRO merges it (default
   * false): the datagrams due at a stack at the same time, one after the other on the wire, are received as one
   * batch (Stack.receiveBatch), as a TUN read of several datagrams is, so each connection answers a batch once
   * (one ACK covering it) and its user code hears of it once. Not while `onDelivered` is set (it is called after
   * each datagram).
   */
  receiveBatch?: boolean;
}

/**
 * Segments without data are sent typed while fewer typed ones without data than this are on the wire
 * (linkSendSegment). Measured: a socket lifecycle keeps at most 2 in flight, socket bulk at MSS 1460 ~110 ACKs per
 * virtual step (~26 with receive batches); opening 4 096 connections at once (bench idle) 4 096, which as typed
 * datagrams took 1 M idle connections 25-32 s to open instead of 18-19 s (V8 promoted ~900 MB of them to the old
 * generation). Counted apart from data segments: with every datagram counted, a bulk transfer whose window grew
 * past ~500 segments (512 MiB at MSS 1460; most of a receive-batch transfer) sent its ACKs as bytes, each
 * encoded, summed and decoded again.
 */
const TYPED_MAX_IN_FLIGHT = 512;

/** Payload bytes per TSO super-segment with `offload`: what fits one IPv4 datagram with full options, in whole MSS. */
const OFFLOAD_TSO_MAX_BYTES = 65535 - 20 - 60;
/** Wire meta: the sender left the TCP checksum to the link (transparent direction, offload on). */
const META_CSUM_UNNECESSARY = 1;

/**
 * Stacks joined by one in-memory Wire, with a shared clock: virtual by default (run()/runUntil() jump to the
 * next event, so tests are fast and deterministic from the seed) or real (`realTime`). Impair any direction
 * with impair(); every stack gets its randomness from the seed.
 */
export class Network {
  readonly wire: Wire;
  readonly clock: Clock;
  readonly stacks: Stack[] = [];
  private readonly prng: Prng;
  private readonly driver: WireDriver | null = null;
  private readonly endpoints = new Map<Stack, WireEndpoint>();
  private readonly offload: boolean;
  private readonly checksumOffload: boolean;
  private readonly receiveBatch: boolean;
  /**
   * @internal Virtual steps runUntil takes between two turns of the host's event loop at most (STEPS_PER_TURN;
   * 1: steps as immediates, runTurns). More lets only two rounds of callbacks run between most steps (tests
   * compare the two).
   */
  stepsPerTurn = STEPS_PER_TURN;
  /**
   * @internal TCP segments between this network's stacks cross as typed datagrams where checksum offload applies
   * (addStack: encoded and decoded only if someone looks); false: always as bytes. Read when a stack is added.
   */
  typedSegments = true;
  /** Called right after a stack has processed a packet the wire delivered (tracers read states here). */
  onDelivered: ((stack: Stack, packet: Uint8Array) => void) | undefined = undefined;

  constructor(opts: NetworkOptions = {}) {
    this.wire = new Wire({ seed: opts.seed ?? 1, impairments: { delayMs: opts.delayMs ?? 5, ...opts.impairments } });
    this.clock = opts.realTime ? new RealClock() : new VirtualClock();
    this.vclock = this.clock instanceof VirtualClock ? this.clock : null;
    this.prng = new Prng((opts.seed ?? 1) ^ 0x5eed);
    this.offload = opts.offload === true;
    this.checksumOffload = this.offload || opts.checksumOffload !== false;
    this.receiveBatch = opts.receiveBatch === true;
    // Real time: the wire's deliveries on their own timer, each stack's timers on the shared clock (one wake-up
    // per stack, so stacks never cancel each other's).
    if (opts.realTime) this.driver = driveInRealTime(this.wire, { now: () => this.clock.now() });
  }

  /** The clock when it is virtual (read at every step: kept, not tested with instanceof each time). */
  get virtual(): VirtualClock | null { return this.vclock; }
  private readonly vclock: VirtualClock | null;
  get now(): number { return this.clock.now(); }

  /** A stack on this network; randomness comes from the network's seed unless given. */
  addStack(opts: Omit<StackOptions, 'clock'>): Stack {
    const prng = this.prng;
    const offload = this.offload;
    const csumOffload = this.checksumOffload;
    const tcp = offload ? { tsoMaxBytes: OFFLOAD_TSO_MAX_BYTES, receiveOffload: true, ...opts.tcp } : opts.tcp;
    const stack = new Stack({ random: (out) => prng.fill(out), ...opts, tcp, clock: this.clock });
    const deliver = (packet: Uint8Array, _now: number, meta: number): void => {
      if (meta === META_CSUM_UNNECESSARY) {
        // Whoever looks at the packet sees it complete, as it would be on a wire.
        if (stack.packetObservers.length > 0 || this.onDelivered !== undefined) completeTcpChecksum(packet);
        stack.receive(packet, CHECKSUM_VERIFIED);
      } else stack.receive(packet);
      this.onDelivered?.(stack, packet);
    };
    const endpoint: WireEndpoint = { deliver };
    const memo = newAddressMemo();
    // A segment that crossed without bytes (linkSendSegment below): taken as it is, unless someone looks.
    endpoint.deliverLazy = (d: LazyDatagram, now: number, meta: number): void => {
      const t = d as TcpDatagram;
      if (this.onDelivered !== undefined || !receiveSegment(stack, memo, t.src, t.dst, t.seg!, t.tos)) deliver(t.bytes(), now, meta);
      this.release(t);
    };
    if (this.receiveBatch) {
      endpoint.deliverBatch = (packets: Uint8Array[], metas: number[], now: number): void => {
        if (this.onDelivered !== undefined) { for (let i = 0; i < packets.length; i++) deliver(packets[i]!, now, metas[i]!); return; }
        const verified: boolean[] = new Array<boolean>(packets.length);
        const observed = stack.packetObservers.length > 0;
        for (let i = 0; i < packets.length; i++) {
          verified[i] = metas[i] === META_CSUM_UNNECESSARY;
          if (verified[i] && observed) completeTcpChecksum(packets[i]!);
        }
        stack.receiveBatch(packets, { checksumVerified: verified });
      };
      endpoint.deliverMixedBatch = (items: Array<Uint8Array | LazyDatagram>, metas: number[], now: number): void => {
        if (this.onDelivered !== undefined || stack.packetObservers.length > 0) {
          endpoint.deliverBatch!(items.map((x) => x instanceof Uint8Array ? x : x.bytes()), metas, now);
          for (const x of items) if (!(x instanceof Uint8Array)) this.release(x as TcpDatagram);
          return;
        }
        stack.beginBatch();
        try {
          for (let i = 0; i < items.length; i++) {
            const x = items[i]!;
            if (x instanceof Uint8Array) stack.receive(x, metas[i] === META_CSUM_UNNECESSARY ? CHECKSUM_VERIFIED : undefined);
            else {
              const t = x as TcpDatagram;
              if (!receiveSegment(stack, memo, t.src, t.dst, t.seg!, t.tos)) stack.receive(t.bytes(), CHECKSUM_VERIFIED);
              this.release(t);
            }
          }
        } finally {
          stack.endBatch();
        }
      };
    }
    // Sent by its wire id: no lookup of the endpoint per packet.
    const id = this.wire.attach(endpoint, ...stack.addresses);
    stack.attach((packet, segmentSize) => {
      const now = this.clock.now();
      if (csumOffload) {
        // A super-segment crosses whole only with receive offload (`offload`); without it, it is cut below.
        if ((!segmentSize || offload) && this.wire.sendIfTransparent(id, packet, now, META_CSUM_UNNECESSARY)) return;
        // What a NIC puts on the wire: MSS-sized segments (below), complete checksums.
        if (!segmentSize) completeTcpChecksum(packet);
      }
      if (!segmentSize) { this.wire.send(id, packet, now); return; }
      for (const piece of segmentTcp(packet, segmentSize)) this.wire.send(id, piece, now);
    }, { checksumOffload: csumOffload });
    // The receiver keeps views of a datagram (its payload) for the application: a connection's datagrams are
    // encoded into memory of its own, never into the blocks the stack shares among everything it sends (whose
    // memory would show other connections' bytes). What no connection sends (RSTs, ICMP) carries no one's data.
    const datagrams = new PayloadRuns(16384);
    let runOwner = 0;
    const runMemory: PacketMemory = { take: (n) => datagrams.takeAligned(runOwner, n) };
    stack.linkRuns = { of: (conn) => { runOwner = conn; return runMemory; } };
    if (csumOffload && this.typedSegments) {
      // Where checksum offload leaves a segment unsummed (a direction nobody can tell from a perfect one, no
      // observer), it need not be bytes at all: the segment crosses as a typed datagram, its header never
      // encoded nor decoded, its payload copied as encoding would (the sender's buffer is not the receiver's).
      // Bytes are made only if someone looks (an observer added meanwhile) or the receiver needs them.
      // A large payload gets memory of its own (exactly its length: nothing else reachable through a received
      // chunk). Unzeroed memory (Buffer.allocUnsafeSlow) was tried and measured no better: MSS 65495, 12 alternated
      // rounds, median 0.98 of zeroed; in CPU profiles the copy into fresh unzeroed memory and the GC together took
      // more (37-42 %) than zeroed allocation and its copy (23-33 %). Small ones go into blocks of their
      // connection's own (PayloadRuns: a received chunk's memory shows no other connection's bytes), one after the
      // other, so a connection's consecutive payloads lie contiguous and its receiver reads them as one view
      // (ReceiveBuffer.read: with receive batches, MSS 1460, 128 MiB: 4 178 chunks to the application instead of
      // 92 714). Up to 64 KiB blocks, as Node's own socket reads: with 16 KiB ones, thousands of segments in flight
      // made their zeroed allocations 12.5 % of the CPU (7.8 % then); a chunk an application keeps pins its block.
      const payloads = new PayloadRuns(65536);
      let owner = 0;
      const take = (n: number): Uint8Array => n > LARGE_PAYLOAD ? new Uint8Array(n) : payloads.take(owner, n);
      stack.linkSendSegment = (src, dst, seg, tos, df, segmentSize, conn) => {
        // A TSO super-segment crosses whole only with receive offload (`offload`), as on the bytes path below;
        // without it the link cuts it (output() encodes it for that).
        if (segmentSize > 0 && !offload) return false;
        // Segments without data in a burst of hundreds on the wire (a mass open, a flood) wait as bytes: typed,
        // such a datagram is a few objects, several times the size of its bytes, and waiting with hundreds of
        // others they outlive the young generation. (A data segment's typed form is its payload and ~20 % more.)
        const bare = seg.payload.length === 0;
        if (bare && this.bareInFlight >= TYPED_MAX_IN_FLIGHT) return false;
        const to = this.wire.transparentRoute(id, dst);
        if (to < 0) return false;
        // The stack hands the segment over (the engine keeps nothing it returned from pollTransmit): it becomes
        // the receiver's in place, without a copy of its header.
        owner = conn;
        const own = receiverSegmentInPlace(seg, take);
        if (own === null) return false;
        // optionsLength throws, as encoding would, for options over 40 bytes.
        // The layouts of nearly every segment are known (no layout pass): wireOptions passes the engine's two usual
        // shapes on without `order` (timestamps alone; every SYN option, which alone has an MSS).
        const o = own.options;
        const optLen = o === NO_OPTIONS ? 0
          : o.order === undefined ? (o.mss !== undefined ? SYN_OPTIONS_LENGTH : TS_OPTIONS_LENGTH)
          : o.order === ORDER_TS ? TS_OPTIONS_LENGTH : o.order === ORDER_SYN ? SYN_OPTIONS_LENGTH : optionsLength(o);
        const len = (src.length === 4 ? 20 : 40) + 20 + optLen + own.payload.length;
        const d = this.datagram(src, dst, stack.ttl, tos, df, own, len);
        if (bare) { d.bare = true; this.bareInFlight++; }
        this.wire.sendLazy(id, to, d, this.clock.now(), META_CSUM_UNNECESSARY);
        return true;
      };
    }
    this.stacks.push(stack);
    this.endpoints.set(stack, endpoint);
    return stack;
  }

  /**
   * Delivered typed datagrams, reused for the next ones (at most MAX_SPARE_DATAGRAMS): a datagram is the wire's
   * until delivered, and nothing keeps it after (the receiver has its segment, an observer the bytes).
   */
  private readonly spareDatagrams: TcpDatagram[] = objectList<TcpDatagram>();

  private datagram(src: Uint8Array, dst: Uint8Array, ttl: number, tos: number, df: boolean, seg: TcpSegment, length: number): TcpDatagram {
    const d = this.spareDatagrams.pop();
    if (d === undefined) return new TcpDatagram(src, dst, ttl, tos, df, seg, length);
    d.src = src; d.dst = dst; d.ttl = ttl; d.tos = tos; d.df = df; d.seg = seg; d.length = length;
    return d;
  }

  /** Typed datagrams without data on the wire (sent, not yet released): TYPED_MAX_IN_FLIGHT. */
  private bareInFlight = 0;

  private release(d: TcpDatagram): void {
    if (d.bare) { d.bare = false; this.bareInFlight--; }
    d.seg = null; d.made = null;
    if (this.spareDatagrams.length < MAX_SPARE_DATAGRAMS) this.spareDatagrams.push(d);
  }

  /** Impair the direction from one stack to another. */
  impair(from: Stack, to: Stack, imp: Partial<Impairments>): void {
    this.wire.impair(this.endpoints.get(from)!, this.endpoints.get(to)!, imp);
  }

  /** Next virtual time something happens. */
  nextTime(): number {
    const v = this.virtual;
    if (!v) return Infinity;
    return Math.min(v.nextWake(), this.wire.nextDeadline());
  }

  /** One virtual step: advance to the next event and process it. Returns false if nothing is pending. */
  step(): boolean {
    const v = this.virtual;
    if (!v) throw new Error('step() needs a virtual-time network');
    return this.stepBy(v, Infinity);
  }

  /**
   * Run virtual time until `done()` holds, nothing is pending, or `maxTime` virtual ms pass.
   * Whatever a step made the host do (stream and socket callbacks, promise chains of any depth, setImmediate)
   * finishes before virtual time moves on, as if the host had a whole turn of its event loop between steps; in
   * Node the loop's timers and I/O get their turn every 16 steps at most (no step waited for them before either:
   * a real timer fires a millisecond later at the soonest); browsers have a whole turn per step.
   */
  async runUntil(done: () => boolean = () => false, maxTime = 600_000): Promise<void> {
    const v = this.virtual;
    if (!v) throw new Error('runUntil() needs a virtual-time network');
    const end = v.now() + maxTime;
    if (this.stepsPerTurn <= 1 && hostSetImmediate !== null) return this.runTurns(v, done, end);
    let idleSpins = 0;
    const perTurn = this.stepsPerTurn;
    let sinceTurn = perTurn;
    for (;;) {
      if (++sinceTurn >= perTurn || hostTurnPending()) { sinceTurn = 0; await yieldToEventLoop(); }
      else { sinceTurn++; await yieldToCallbacks(); }
      if (done()) return;
      if (!this.stepBy(v, end)) {
        // Nothing scheduled: give callbacks (whole event-loop turns) a few chances to produce work before
        // concluding we are idle.
        if (++idleSpins > 3) return;
        sinceTurn = perTurn;
        continue;
      }
      idleSpins = 0;
    }
  }

  /** step(), if something is due by `end`: the clock to the next wire arrival or stack timer, and what is due then. */
  private stepBy(v: VirtualClock, end: number): boolean {
    const t = this.nextTime();
    if (t === Infinity || t > end) return false;
    v.advanceTo(t);
    this.wire.advance(t);
    return true;
  }

  /**
   * runUntil with what a step made the host do finished before the next step, as setImmediate callbacks that each
   * take one step, queued TURN_BATCH at a time: Node runs them in one check phase of its event loop and drains the
   * nextTick queue and the microtasks (promise chains of any depth) between each two, as it would between two
   * turns. An immediate the host queued meanwhile (a step's callbacks did: hostImmediates) goes first: the rest of
   * the batch does nothing and the next step is queued after it, as with a whole turn per step. Timers and I/O have
   * the loop every TURN_BATCH steps at most, which no step waited for before either (a real timer fires a
   * millisecond later at the soonest). What this saves is the loop iteration per step (libuv's poll, Node's
   * immediate bookkeeping): about 0.6 µs each, six per socket lifecycle.
   */
  private runTurns(v: VirtualClock, done: () => boolean, end: number): Promise<void> {
    const si = hostSetImmediate!;
    return new Promise<void>((resolve, reject) => {
      let idleSpins = 0;
      /** Our immediates queued and not yet run; `skip` of them (the rest of a batch given up) do nothing. */
      let queued = 0, skip = 0;
      /**
       * Of those, the ref'ed ones: the first of each queue() call keeps the loop alive, the rest are unref'ed (Node
       * still runs them in their check phase), so hostImmediates lists only these beside the host's own and its
       * cost does not grow with the batch.
       */
      let refed = 0;
      const queue = (n: number): void => {
        queued += n;
        refed++;
        si(turnRefed);
        for (let i = 1; i < n; i++) unrefImmediate(si(turn));
      };
      const turnRefed = (): void => { refed--; turn(); };
      const turn = (): void => {
        queued--;
        if (skip > 0) { skip--; return; }
        try {
          if (done()) { skip = queued; resolve(); return; }
          if (!this.stepBy(v, end)) {
            // Nothing scheduled: a few more whole turns for callbacks to produce work before concluding we are idle.
            skip = queued;
            if (++idleSpins > 3) resolve(); else queue(1);
            return;
          }
          idleSpins = 0;
          if (queued === 0) queue(TURN_BATCH);
          else if (hostImmediates() > refed) { skip = queued; queue(1); }
        } catch (e) {
          skip = queued;
          reject(e as Error);
        }
      };
      queue(1);
    });
  }

  /** Destroy every stack (connections aborted) and stop the real-time driver. */
  close(): void {
    for (const s of this.stacks) s.destroy();
    this.driver?.stop();
  }
}

/** The host's setImmediate (Node), or null (browsers): runUntil's turns (Network#runTurns). */
const hostSetImmediate: ((cb: () => void) => unknown) | null = (() => {
  const g = globalThis as { setImmediate?: (cb: () => void) => unknown };
  return typeof g.setImmediate === 'function' ? g.setImmediate.bind(globalThis) : null;
})();

/** Lets the loop end with this immediate still queued (Node's Immediate#unref; a no-op where there is none). */
function unrefImmediate(h: unknown): void { (h as { unref?: () => unknown }).unref?.(); }

/**
 * Let the host run its pending callbacks (stream I/O, promises) before the next virtual step: setImmediate in
 * Node; elsewhere a MessageChannel message, which browsers run as a task without setTimeout's 4 ms clamp.
 */
export const yieldToEventLoop: () => Promise<void> = (() => {
  const g = globalThis as { setImmediate?: (cb: () => void) => unknown };
  if (typeof g.setImmediate === 'function') {
    const si = g.setImmediate;
    return () => new Promise<void>((r) => { si(r); });
  }
  if (typeof MessageChannel === 'function') {
    const queue: Array<() => void> = [];
    const ch = new MessageChannel();
    ch.port1.onmessage = () => { queue.shift()?.(); };
    return () => new Promise<void>((r) => { queue.push(r); ch.port2.postMessage(0); });
  }
  return () => new Promise<void>((r) => { setTimeout(r, 0); });
})();

/**
 * Virtual steps runUntil takes between two turns of the host's event loop (yieldToEventLoop) at most; between
 * the others it lets only callbacks run (yieldToCallbacks: two rounds of nextTick and promise callbacks, and a
 * turn whenever a setImmediate is queued, hostTurnPending). 1 is the default, and in Node takes the steps as
 * immediates (runTurns), between which Node drains every callback however deep the chain: more than 1, a chain
 * of callbacks deeper than two rounds (user code awaiting stream I/O awaiting a promise ...) can see the next
 * virtual step before it finishes, so virtual time would pass while the host is still reacting. Measured (socket
 * lifecycles in process, paired runs, against a whole turn per step): 32 saved about 8 % of CPU and nothing
 * visible in wall time, which did not pay for that.
 */
const STEPS_PER_TURN = 1;

type Process = { nextTick(cb: () => void): void; getActiveResourcesInfo?(): string[] };
const hostProcess = (globalThis as { process?: Process }).process;
const nextTick = typeof hostProcess?.nextTick === 'function' ? hostProcess.nextTick.bind(hostProcess) : null;
const resourcesInfo = typeof hostProcess?.getActiveResourcesInfo === 'function' ? hostProcess.getActiveResourcesInfo.bind(hostProcess) : null;

/**
 * Let the host run the callbacks a step queued, without a turn of the event loop: two rounds of Node's
 * nextTick queue, each followed by the microtasks it queued (a promise continuation that queues a nextTick, as
 * stream code does, runs too). Where there is no nextTick (browsers) this is yieldToEventLoop.
 */
function yieldToCallbacks(): Promise<void> {
  if (nextTick === null) return yieldToEventLoop();
  return new Promise<void>(startRounds);
}

// The rounds as module functions (no closures per step): every yield takes the same path, so they finish in
// the order they started and each resumes the oldest waiting resolver (several networks may be running).
// A queue whose slots are reused (head and tail reset when it empties; the array is never shrunk).
const waiting: Array<(() => void) | null> = [];
let waitingHead = 0;
let waitingTail = 0;
function startRounds(resolve: () => void): void { waiting[waitingTail++] = resolve; nextTick!(firstRound); }
function firstRound(): void { queueMicrotask(secondRound); }
function secondRound(): void { nextTick!(lastRound); }
function lastRound(): void {
  const r = waiting[waitingHead]!;
  waiting[waitingHead++] = null;
  if (waitingHead === waitingTail) { waitingHead = 0; waitingTail = 0; }
  r();
}

/**
 * True when the host has setImmediate callbacks queued (Node lists them last in getActiveResourcesInfo). Asked
 * right after a step, before its callbacks run, as when every step was a turn: an immediate the step queued ran
 * before the next step (it preceded runUntil's own), one its nextTick or promise callbacks queued ran after it
 * (it followed), and still does. Unknown (no Node): true.
 */
function hostTurnPending(): boolean {
  if (nextTick === null) return true;
  if (resourcesInfo === null) return false;
  const r = resourcesInfo();
  return r.length > 0 && r[r.length - 1] === 'Immediate';
}

/**
 * The host's pending setImmediate callbacks (Node lists one 'Immediate' per ref'ed one, last in
 * getActiveResourcesInfo; unref'ed ones are not seen), or Infinity where that cannot be known (runTurns then
 * takes a whole turn per step). Its cost is a string per ref'ed handle, request, timer and immediate: runTurns
 * keeps all but one of its own unref'ed, which took a call from ~110 to ~55 ns.
 */
function hostImmediates(): number {
  if (resourcesInfo === null) return Infinity;
  const r = resourcesInfo();
  let n = 0;
  for (let i = r.length - 1; i >= 0 && r[i] === 'Immediate'; i--) n++;
  return n;
}

/**
 * Steps runTurns queues as immediates at once: one iteration of the host's event loop per this many steps at most.
 * An iteration costs ~0.5 µs (libuv's phases, a poll without waiting, Node's immediate bookkeeping), an immediate
 * ~60 ns: 16 against 8 saved ~3 % of the CPU of a stack-API lifecycle (6 steps) driven by runUntil; 32 and 64 no
 * more, within noise, while timers and I/O would wait twice and four times as many steps.
 */
const TURN_BATCH = 16;

/**
 * A TCP datagram between two stacks of a Network that is not encoded unless someone needs its bytes (a
 * LazyDatagram): the sender's addresses, its IP fields and the receiver's copy of the segment. bytes() is the
 * datagram as the sender would have put it on a wire: IPv4 identification 0, complete checksums.
 */
class TcpDatagram implements LazyDatagram {
  /** @internal Its bytes, once made. */
  made: Uint8Array | null = null;
  /** @internal A segment without data, counted in Network#bareInFlight until released. */
  bare = false;
  // Written again when the network reuses it (Network#datagram); `seg` null while it is spare.
  constructor(
    public src: Uint8Array, public dst: Uint8Array, public ttl: number, public tos: number, public df: boolean,
    public seg: TcpSegment | null, public length: number,
  ) {}
  bytes(): Uint8Array {
    return this.made ??= encodeTcpPacket({ src: this.src, dst: this.dst, ttl: this.ttl, tos: this.tos, df: this.df }, this.seg!);
  }
}

/**
 * Payloads longer than this get memory of their own (exactly their length); shorter ones go into their connection's
 * payload blocks (PayloadRuns, whose own limit, a quarter block, is higher).
 */
const LARGE_PAYLOAD = 4096;

/** Delivered typed datagrams a network keeps for reuse: a burst's worth, as the wire's in-flight entries. */
const MAX_SPARE_DATAGRAMS = 1024;

/**
 * The segment a receiver decodes from the datagram carrying `seg` (decodeHostTcp after encodeTcpPacket), made
 * without the bytes: header fields as the header carries them, options as wireOptions gives them, the payload
 * copied into `take(n)`. null when the options are not reproduced (the segment must cross as bytes). Throws what
 * encoding throws for fields the header cannot carry (options over 40 bytes: optionsLength of the result).
 */
export function receiverSegment(seg: TcpSegment, take: (n: number) => Uint8Array): TcpSegment | null {
  const copy: TcpSegment = {
    srcPort: seg.srcPort, dstPort: seg.dstPort, seq: seg.seq, ack: seg.ack, flags: seg.flags, window: seg.window,
    urgent: seg.urgent, options: seg.options, payload: seg.payload,
  };
  return receiverSegmentInPlace(copy, take);
}

/**
 * receiverSegment without a copy of the header: `seg` itself becomes what the receiver decodes (sequence numbers
 * as uint32, options as wireOptions gives them, the payload copied into `take(n)`), for a sender that hands the
 * segment over and keeps no reference to it (Stack.linkSendSegment). null, with `seg` untouched, when the options
 * are not reproduced; throws, with `seg` untouched, what checkSegmentFields throws (options over 40 bytes: the
 * caller's optionsLength of the result, as in receiverSegment).
 */
export function receiverSegmentInPlace(seg: TcpSegment, take: (n: number) => Uint8Array): TcpSegment | null {
  const options = wireOptions(seg.options);
  if (options === null) return null;
  // Sequence numbers as uint32: compared once, written below only when they differ (a uint32 above 2^31 written
  // again would be a new heap number).
  const seq = seg.seq >>> 0, ack = seg.ack >>> 0;
  const seqAsIs = seq === seg.seq, ackAsIs = ack === seg.ack;
  // What nearly every segment an engine sends is (header fields the header carries as they are, options wireOptions
  // passed on as they came, their values checked there) is told by a few masks; anything else is checked as encoding
  // checks it, which throws for what the header cannot carry. The full check for every segment was ~2 % of a bulk
  // transfer's instructions.
  if (!(seqAsIs && ackAsIs && options === seg.options && headerFieldsFit(seg))) checkSegmentFields(seg);
  const n = seg.payload.length;
  if (n > 0) { const payload = take(n); payload.set(seg.payload); seg.payload = payload; } else if (seg.payload !== EMPTY) seg.payload = EMPTY;
  if (!seqAsIs) seg.seq = seq;
  if (!ackAsIs) seg.ack = ack;
  seg.options = options;
  return seg;
}

/**
 * The 16-bit fields, the flags and the payload as checkSegmentFields accepts them (an integer in the field's range is
 * one its mask leaves as it is; NaN, fractions and anything out of range are not), told without its calls. The options
 * are the caller's to vouch for.
 */
function headerFieldsFit(seg: TcpSegment): boolean {
  const { srcPort, dstPort, window, urgent, flags } = seg;
  return (srcPort & 0xffff) === srcPort && (dstPort & 0xffff) === dstPort && (window & 0xffff) === window
    && (urgent & 0xffff) === urgent && (flags & 0x1ff) === flags && seg.payload instanceof Uint8Array;
}

/**
 * A TCP segment from another stack of the network that never became bytes (Stack.linkSendSegment on the sender's
 * side): received as the stack's ipInput receives its datagram (its checks after decoding, then tcp-input), without
 * decoding it. `src` and `dst` are the sender's addresses (stable arrays, never a packet buffer); `seg` is the
 * receiver's own (receiverSegment). Returns false, having done nothing, when the datagram's bytes are needed: a
 * packet observer watches the stack, or a bare SYN may be the SYN-cookie fast path's (its listener's SYN queue is
 * full); the network then hands over the bytes instead. Here rather than in the stack: only a Network uses it, and
 * a browser bundle of the stack alone leaves it out (issue 12).
 */
function receiveSegment(s: Stack, memo: AddressMemo, src: Uint8Array, dst: Uint8Array, seg: TcpSegment, tos: number): boolean {
  if (s.packetObservers.length > 0) return false;
  if (src !== memo.src || dst !== memo.dst) {
    // A new pair of addresses: what the stack's IP input finds for them (our address, the peer's interned array
    // or a view of the sender's, martian or not) depends on their bytes and the stack's fixed addresses alone.
    const la = ourAddress(s, dst);
    memo.src = src; memo.dst = dst; memo.la = la;
    memo.ra = la === null ? null : remoteAddressAt(s, src, 0, src.length);
    memo.martian = la !== null && martianSource(memo.ra!, la, s.isOursFn) !== null;
  }
  const la = memo.la;
  if (seg.flags === SYN && s.synFastPath && s.synFastPathCode !== null && la !== null) {
    const l = findListener(s, la, seg.dstPort);
    if (l !== null && l.synQueue.size >= l.backlog) return false;
  }
  const now = s.clock.now();
  if (la === null) s.counters.InAddrErrors++;
  else if (memo.martian) s.counters.InMartians++;
  else {
    s.rxCe = (tos & 3) === 3;
    if (s.batching) segmentArrives(s, la, memo.ra!, seg, now);
    else {
      // Rearmed once, below (Stack.receiving), as Stack.receive does.
      const was = s.receiving;
      s.receiving = true;
      try { segmentArrives(s, la, memo.ra!, seg, now); } finally { s.receiving = was; }
    }
  }
  if (!s.batching) { s.rearm(); flushOutput(s); } // a batch rearms and flushes once, at its end
  return true;
}

/**
 * A receiving stack's last sender and destination address arrays (by identity: a sender's addresses are its
 * stack's own arrays, never changed) and what IP input made of them: our address, the peer's, martian or not.
 */
interface AddressMemo { src: Uint8Array | null; dst: Uint8Array | null; la: Uint8Array | null; ra: Uint8Array | null; martian: boolean }
function newAddressMemo(): AddressMemo { return { src: null, dst: null, la: null, ra: null, martian: false }; }

const NOP = 1, MSS = 2, WSCALE = 3, SACK_PERMITTED = 4, SACK = 5, TIMESTAMPS = 8;
// Frozen at load, marked pure: a bundle that leaves the network out (the browser core) leaves them out too.
/** The options of a segment without any, as the host decoder shares them (frozen). */
const NO_OPTIONS: TcpOptions = /* @__PURE__ */ Object.freeze({}) as TcpOptions;
/** The common layouts (Linux's), shared and frozen as the host decoder shares them. */
const ORDER_TS = /* @__PURE__ */ Object.freeze([NOP, NOP, TIMESTAMPS]) as number[];
const ORDER_TS_SACK = /* @__PURE__ */ Object.freeze([NOP, NOP, TIMESTAMPS, NOP, NOP, SACK]) as number[];
const ORDER_SACK = /* @__PURE__ */ Object.freeze([NOP, NOP, SACK]) as number[];
/** ORDER_TS's length on the wire: NOP, NOP, timestamps (RFC 7323 §3: kind 8, length 10). */
const TS_OPTIONS_LENGTH = 12;
/** ORDER_SYN's length on the wire: MSS 4, SACK-permitted 2, timestamps 10, NOP, window scale 3. */
const SYN_OPTIONS_LENGTH = 20;
/** A SYN with every option: MSS, SACK-permitted, timestamps, NOP, window scale (Linux's layout). */
const ORDER_SYN = /* @__PURE__ */ Object.freeze([MSS, SACK_PERMITTED, TIMESTAMPS, NOP, WSCALE]) as number[];

/**
 * The options as the receiver would decode them from the sender's bytes (Linux's layout, what ip-output
 * encodes without an `order`): the same keys in the same order, values as the header carries them, the layout
 * as `order`; but timestamps alone, or every SYN option, with values the header carries as they are, are `o`
 * itself, without `order` (nobody on the receiving side reads it; encoded, they are the same bytes). null for
 * what this does not reproduce (TCP Fast Open, unknown options, a given layout): those segments cross as bytes.
 */
export function wireOptions(o: TcpOptions): TcpOptions | null {
  if (o === passedOn || o === passedOnBefore) return o;
  if (o.order !== undefined || o.fastOpen !== undefined || o.unknown !== undefined) return null;
  const ts = o.tsVal !== undefined;
  const sack = o.sack !== undefined && o.sack.length >= 2 ? o.sack : null;
  const syn = o.mss !== undefined || o.wscale !== undefined || o.sackPermitted === true;
  // The engine's two usual shapes (timestamps alone: nearly every segment of a connection; every SYN option),
  // their values already what the header carries, are passed on as they are, without the `order` the decoder
  // adds: on the receiving side only a stack reads them (an observer makes the segment bytes, and those are the
  // same, the layout being the encoder's default), and nothing under a stack reads `order` of a received
  // segment (src/tcp never does; ip-output reads the sender's own). Saves an object per segment.
  if (ts && o.sack === undefined && o.fastOpenExp === undefined && isUint32(o.tsVal!) && o.tsEcr !== undefined && isUint32(o.tsEcr)) {
    if (!syn && o.sackPermitted === undefined) { passedOnBefore = passedOn; passedOn = o; return o; }
    if (o.sackPermitted === true && o.mss !== undefined && o.mss === (o.mss & 0xffff) && o.wscale !== undefined && o.wscale === (o.wscale & 0xff)) return o;
  }
  if (!syn) {
    if (sack === null) return ts ? { order: ORDER_TS, tsVal: o.tsVal! >>> 0, tsEcr: (o.tsEcr ?? 0) >>> 0 } : NO_OPTIONS;
    const edges = sackEdges(sack);
    return ts ? { order: ORDER_TS_SACK, tsVal: o.tsVal! >>> 0, tsEcr: (o.tsEcr ?? 0) >>> 0, sack: edges } : { order: ORDER_SACK, sack: edges };
  }
  if (ts && sack === null && o.mss !== undefined && o.sackPermitted === true && o.wscale !== undefined) {
    // Every SYN option (the usual SYN and SYN+ACK): one literal with the shared layout, the keys in the order the
    // general path below adds them.
    return { order: ORDER_SYN, mss: o.mss & 0xffff, sackPermitted: true, tsVal: o.tsVal! >>> 0, tsEcr: (o.tsEcr ?? 0) >>> 0, wscale: o.wscale & 0xff };
  }
  // Linux's layout: MSS; SACK-permitted with timestamps, or NOP NOP before either alone; NOP, window scale;
  // NOP NOP, SACK blocks (src/wire/tcp.ts layoutOptions).
  const order: number[] = [];
  const out: TcpOptions = { order };
  if (o.mss !== undefined) { order.push(MSS); out.mss = o.mss & 0xffff; }
  if (ts) {
    if (o.sackPermitted === true) { order.push(SACK_PERMITTED); out.sackPermitted = true; } else order.push(NOP, NOP);
    order.push(TIMESTAMPS);
    out.tsVal = o.tsVal! >>> 0; out.tsEcr = (o.tsEcr ?? 0) >>> 0;
  } else if (o.sackPermitted === true) { order.push(NOP, NOP, SACK_PERMITTED); out.sackPermitted = true; }
  if (o.wscale !== undefined) { order.push(NOP, WSCALE); out.wscale = o.wscale & 0xff; }
  if (sack !== null) { order.push(NOP, NOP, SACK); out.sack = sackEdges(sack); }
  return out;
}

/**
 * The last two timestamps-only options wireOptions passed on as they are. Options are never written once built, and
 * the engine shares one object among the segments a connection sends in one clock tick (src/tcp/send.ts
 * timestampOptions): the same object passes again without its numbers read (a timestamp above 2^31 read through a
 * polymorphic load was a new heap number). Two: a connection's data and its peer's ACKs alternate on one network.
 */
let passedOn: TcpOptions | null = null;
let passedOnBefore: TcpOptions | null = null;

/**
 * Whether `v` is what a 32-bit header field carries as it is. Compared as doubles: `v === v >>> 0` compared a uint32
 * with the field's value through the generic strict equality, which boxed every uint32 above 2^31 (two heap numbers
 * per segment of a connection whose timestamps are there, ~70 B of garbage per segment).
 */
function isUint32(v: number): boolean {
  return v >= 0 && v <= 0xffffffff && Math.floor(v) === v;
}

/** SACK edges as they come off the wire: whole blocks only (an odd last edge is not sent), uint32. */
function sackEdges(sack: number[]): number[] {
  const n = sack.length & ~1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(sack[i]! >>> 0);
  return out;
}

/**
 * Completes the TCP checksum of a whole IPv4/IPv6 datagram whose checksum field holds the pseudo-header sum
 * (or is already complete: it is seeded again first), as a NIC with checksum offload does. Anything but TCP
 * is left alone.
 */
function completeTcpChecksum(packet: Uint8Array): void {
  const v = packet.length >= 20 ? packet[0]! >> 4 : 0;
  if (!((v === 4 && packet[9] === PROTO_TCP) || (v === 6 && packet.length >= 60 && packet[6] === PROTO_TCP))) return;
  completeChecksum(packet, prepareTcpOffload(packet, 0));
}

/**
 * TCP segmentation offload as a NIC does it (TcpConfig.tsoMaxBytes): a super-segment cut into segmentSize-byte
 * pieces with consecutive sequence numbers, PSH and FIN on the last only, checksums completed.
 */
export function segmentTcp(packet: Uint8Array, segmentSize: number): Uint8Array[] {
  const d = decodePacketUnverified(packet);
  if (d.tcp === null) return [packet];
  const { ip } = d;
  const seg = d.tcp.seg;
  const out: Uint8Array[] = [];
  for (let off = 0; off < seg.payload.length; off += segmentSize) {
    const last = off + segmentSize >= seg.payload.length;
    out.push(encodeTcpPacket({ src: ip.src, dst: ip.dst, ttl: ip.ttl, tos: ip.tos, id: ip.version === 4 ? (ip.id + out.length) & 0xffff : 0, df: ip.df }, {
      ...seg, seq: seqAdd(seg.seq, off), flags: last ? seg.flags : seg.flags & ~(PSH | FIN),
      payload: seg.payload.subarray(off, Math.min(seg.payload.length, off + segmentSize)),
    }));
  }
  return out;
}
