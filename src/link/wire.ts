/**
 * An in-memory wire joining two or more endpoints that exchange raw IP datagrams, with seeded,
 * deterministic impairments per direction (loss, duplication, reordering, delay, jitter, a bandwidth
 * limit with a queue, bit corruption).
 *
 * The wire never reads a clock: callers say what time it is. `send(from, packet, now)` schedules,
 * `nextDeadline()` says when something is next due and `advance(now)` delivers everything due, so the
 * same wire runs under a virtual clock (tests: jump straight to nextDeadline()) or a real timer.
 *
 * Packets in flight are referenced, not copied: a sender must not reuse a buffer it has sent
 * (synack's stacks never do). Only duplicates and corrupted packets are copies.
 */
import { Prng } from './prng.js';

/** Something attached to a Wire (Wire.attach) that receives the datagrams addressed to it. */
export interface WireEndpoint {
  /**
   * A datagram arrives. `now` is the time it arrives on the wire (its scheduled time); `meta` is what the
   * sender passed to send() with it (0 when nothing, and for a corrupted copy).
   */
  deliver(packet: Uint8Array, now: number, meta: number): void;
  /**
   * Optional: datagrams due at the same time, one after the other on the wire, to this endpoint (a NIC's receive
   * batch, a NAPI poll) in one call, in wire order; `metas[i]` is `packets[i]`'s meta. The arrays are the
   * endpoint's. Without it, or for a single datagram, deliver() is called.
   */
  deliverBatch?(packets: Uint8Array[], metas: number[], now: number): void;
  /** @internal A LazyDatagram arrives; without this method the endpoint gets its bytes through deliver(). */
  deliverLazy?(d: LazyDatagram, now: number, meta: number): void;
  /**
   * @internal A receive batch (as deliverBatch) holding LazyDatagrams too; without this method the endpoint gets
   * every datagram's bytes through deliverBatch().
   */
  deliverMixedBatch?(items: Array<Uint8Array | LazyDatagram>, metas: number[], now: number): void;
}

/**
 * @internal A datagram whose bytes are made only if someone needs them (Wire.sendLazy): between in-process
 * stacks, over a direction nobody observes, a TCP segment need not be encoded and decoded. An observer added
 * while it is in flight, or an endpoint that takes only bytes, gets bytes() as it would have been on the wire.
 */
export interface LazyDatagram {
  /** Its length on the wire in bytes (counters, batch limits). */
  readonly length: number;
  /** Its bytes, made on the first call. */
  bytes(): Uint8Array;
}

/** Impairments of one direction. Probabilities are per packet, in [0, 1]. */
export interface Impairments {
  /** Probability a packet is lost on the wire (after serialisation: it still used the bandwidth). */
  loss: number;
  /** Probability a packet is delivered twice (the copy gets its own delay/jitter sample). */
  duplicate: number;
  /** Probability a packet is held back by `reorderDelayMs` so later packets overtake it. */
  reorder: number;
  reorderDelayMs: number;
  /** One-way propagation delay, ms. */
  delayMs: number;
  /** Delay varies uniformly in [delayMs - jitterMs, delayMs + jitterMs] (clamped at 0); like netem, this can reorder. */
  jitterMs: number;
  /** Serialisation rate in bits/s; 0 = unlimited. */
  bandwidthBps: number;
  /** With a bandwidth limit: bytes that may wait for the link before new packets are tail-dropped. */
  queueBytes: number;
  /**
   * Probability one random bit of the datagram is flipped. The IPv4 header checksum and the TCP
   * checksum (which covers the pseudo-header) catch every single-bit error; in an IPv6 header the
   * traffic class, flow label and hop limit have no checksum, but a flip there changes nothing TCP uses.
   */
  corrupt: number;
  /**
   * With a bandwidth limit: probability a packet takes a second, faster route past the queue, as reordering
   * looks on real paths (load balancing, a link bundle): it arrives `overtakeDelayMs` plus the propagation delay
   * after it is sent, ahead of every packet still queued, and takes no place in the queue. Off by default; the
   * draw is made only when it is on, so other settings see the same random stream as before.
   */
  overtake?: number;
  /** Extra delay of the overtaking route, ms (its own serialisation and queue). */
  overtakeDelayMs?: number;
}

/** A perfect direction: no loss, duplication, reordering, delay, jitter, bandwidth limit or corruption. */
export const NO_IMPAIRMENTS: Readonly<Impairments> = Object.freeze({
  loss: 0, duplicate: 0, reorder: 0, reorderDelayMs: 0, delayMs: 0, jitterMs: 0, bandwidthBps: 0, queueBytes: Infinity, corrupt: 0, overtake: 0, overtakeDelayMs: 0,
});

/** What happened to the packets of one direction of a Wire (Wire.counters). */
export interface DirectionCounters {
  /** Packets handed to send() in this direction. */
  sent: number;
  /** Lost to the random loss rate. */
  lost: number;
  /** Tail-dropped because the bandwidth queue was full. */
  queueDropped: number;
  /** Extra copies created. */
  duplicated: number;
  /** Packets held back by the reorder impairment. */
  reordered: number;
  /** Packets that skipped the bandwidth queue (the overtake impairment). */
  overtook: number;
  /** Packets whose bit was flipped (delivered corrupted). */
  corrupted: number;
  /** Datagrams handed to the receiver (originals, corrupted ones and duplicates). */
  delivered: number;
  /** Bytes of the delivered datagrams. */
  bytesDelivered: number;
}

/**
 * What the wire did with a packet: delivered (intact), lost (loss rate), corrupted (delivered with a flipped
 * bit), duplicate (an extra copy delivered), queue-drop (bandwidth queue full), unroutable (no endpoint owns the
 * destination address).
 */
export type PacketFate = 'delivered' | 'lost' | 'corrupted' | 'duplicate' | 'queue-drop' | 'unroutable';

/** One packet's fate, for Wire.observe / onPacket (captures, loss statistics). Times in ms. */
export interface WirePacketEvent {
  /** Delivery time; for 'lost', 'queue-drop' and 'unroutable' the time it was sent. */
  time: number;
  /** When the sender handed it to the wire. */
  sentAt: number;
  /** Endpoint ids (as returned by attach); `to` is -1 when no endpoint owns the destination. */
  from: number;
  to: number;
  bytes: Uint8Array;
  fate: PacketFate;
}

/** Misuse of the wire (bad address, unknown endpoint, bad impairment value). */
export class LinkError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'LinkError';
    this.code = code;
  }
}

interface Route { hash: number; addr: Uint8Array; id: number }
/** Wire.transparentRoute's answer for one sender: the destination address array, its endpoint and the direction. */
interface LazyRoute { dst: Uint8Array; to: number; dir: Direction }

class Direction {
  readonly imp: Impairments;
  readonly prng: Prng;
  readonly counters: DirectionCounters = {
    sent: 0, lost: 0, queueDropped: 0, duplicated: 0, reordered: 0, overtook: 0, corrupted: 0, delivered: 0, bytesDelivered: 0,
  };
  /** Time the transmitter finishes the last queued packet (bandwidth limit). */
  busyUntil = -Infinity;
  /** No random impairment configured: skip the draws (the benchmark's hot path). */
  readonly clean: boolean;
  constructor(imp: Impairments, seed: number) {
    this.imp = imp;
    this.prng = new Prng(seed);
    this.clean = imp.loss === 0 && imp.duplicate === 0 && imp.reorder === 0 && imp.corrupt === 0 && imp.jitterMs === 0 && !imp.overtake;
  }
}

interface InFlight {
  time: number;
  /** Insertion order: equal times deliver first-in first-out. */
  order: number;
  sentAt: number;
  from: number;
  to: number;
  /** The datagram, or NO_BYTES when it is `lazy`. */
  bytes: Uint8Array;
  /** A datagram whose bytes are made only if needed (sendLazy), or null. */
  lazy: LazyDatagram | null;
  /** Its length in bytes. */
  len: number;
  fate: 'delivered' | 'corrupted' | 'duplicate';
  dir: Direction;
  meta: number;
}

/** Options of `new Wire()`. */
export interface WireOptions {
  /** Seed for every impairment decision (default 1). */
  seed?: number;
  /** Impairments applied to every direction without its own setting. */
  impairments?: Partial<Impairments>;
}

/**
 * An in-memory link joining endpoints that exchange raw IP datagrams, routed by destination address, with
 * seeded, deterministic impairments per direction (loss, duplication, reordering, delay, jitter, bandwidth
 * limit with a queue, bit corruption). It never reads a clock: send(from, packet, now) schedules,
 * nextDeadline() says when something is due (ms), advance(now) delivers it. Misuse throws a LinkError.
 */
export class Wire {
  /** Observer called for every packet's fate; set it or use observe(). */
  onPacket: ((ev: WirePacketEvent) => void) | undefined = undefined;
  /**
   * Called when a send makes the next deadline earlier (a real-time driver rearms its timer here).
   * Not called from inside advance(): the driver reads nextDeadline() after advancing anyway.
   */
  onWake: ((deadline: number) => void) | undefined = undefined;

  private readonly seed: number;
  private readonly defaults: Impairments;
  private readonly endpoints: WireEndpoint[] = [];
  private readonly ids = new Map<WireEndpoint, number>();
  private readonly routes: Route[] = [];
  /** Keyed by from * 65536 + to: numeric keys, no strings per packet. */
  private readonly dirs = new Map<number, Direction>();
  private readonly observers: Array<(ev: WirePacketEvent) => void> = [];
  private readonly heap: InFlight[] = objectList<InFlight>();
  /**
   * Packets due no earlier than the one queued before them (every packet of directions that share one fixed
   * delay, the usual case) wait in this first-in first-out queue instead of the heap: O(1) instead of
   * O(log n) with thousands in flight. The earlier of its head and the heap's top is delivered first, so
   * the delivery order is the same (time, then sending order).
   */
  // A ring: its length a power of two, doubled when full and never shrunk, so a transfer that always has packets in
  // flight neither copies the queue to compact it nor grows it again (~25 B per packet at MSS 1460 before).
  private fifo: Array<InFlight | null> = new Array<InFlight | null>(FIFO_FIRST_ROOM).fill(null);
  private fifoHead = 0;
  private fifoCount = 0;
  private order = 0;
  private delivering = false;
  /** Delivered in-flight entries, reused for the next packets (at most MAX_SPARE). */
  private readonly spare: InFlight[] = objectList<InFlight>();

  constructor(opts: WireOptions = {}) {
    this.seed = opts.seed ?? 1;
    this.defaults = checkImpairments({ ...NO_IMPAIRMENTS, ...opts.impairments });
  }

  /** Attaches an endpoint owning the given addresses (4 bytes IPv4, 16 bytes IPv6); returns its id. */
  attach(endpoint: WireEndpoint, ...addresses: Uint8Array[]): number {
    let id = this.ids.get(endpoint);
    if (id === undefined) {
      id = this.endpoints.length;
      if (id >= 65536) throw new LinkError('too-many-endpoints', 'a wire joins at most 65536 endpoints');
      this.endpoints.push(endpoint);
      this.ids.set(endpoint, id);
      this.lazyRoutes.push(undefined); // a slot per endpoint: written by index without holes
    }
    for (const a of addresses) this.addAddress(id, a);
    return id;
  }

  /** Routes datagrams for `addr` to endpoint `id`. */
  addAddress(id: number, addr: Uint8Array): void {
    if (this.endpoints[id] === undefined) throw new LinkError('no-endpoint', `no endpoint ${id} on this wire`);
    if (addr.length !== 4 && addr.length !== 16) {
      throw new LinkError('bad-address', `an address is 4 (IPv4) or 16 (IPv6) bytes, got ${addr.length}`);
    }
    const hash = hashAddress(addr, 0, addr.length);
    for (const r of this.routes) {
      if (r.hash === hash && sameBytes(r.addr, addr, 0)) {
        if (r.id === id) return;
        throw new LinkError('address-in-use', `address ${formatAddr(addr)} already belongs to endpoint ${r.id}`);
      }
    }
    this.routes.push({ hash, addr: addr.slice(), id });
  }

  /** The endpoint id of an attached endpoint (undefined if not attached). */
  idOf(endpoint: WireEndpoint): number | undefined { return this.ids.get(endpoint); }

  /**
   * Sets the impairments of one direction (from → to); unspecified fields keep the wire defaults.
   * Counters carry over; the direction's random stream restarts from its seed.
   */
  impair(from: WireEndpoint | number, to: WireEndpoint | number, imp: Partial<Impairments>): void {
    const f = this.resolve(from);
    const t = this.resolve(to);
    const key = f * 65536 + t;
    const old = this.dirs.get(key);
    const dir = new Direction(checkImpairments({ ...this.defaults, ...imp }), this.dirSeed(f, t));
    if (old) { Object.assign(dir.counters, old.counters); dir.busyUntil = old.busyUntil; }
    this.dirs.set(key, dir);
    this.lazyRoutes.fill(undefined); // transparentRoute's kept directions may hold the one replaced
  }

  /** Counters of one direction (a live object). */
  counters(from: WireEndpoint | number, to: WireEndpoint | number): DirectionCounters {
    return this.direction(this.resolve(from), this.resolve(to)).counters;
  }

  /** Adds an observer; returns a function that removes it. */
  observe(fn: (ev: WirePacketEvent) => void): () => void {
    this.observers.push(fn);
    return () => {
      const i = this.observers.indexOf(fn);
      if (i >= 0) this.observers.splice(i, 1);
    };
  }

  /** Packets scheduled but not yet delivered. */
  get inFlight(): number { return this.heap.length + this.fifoCount; }

  /**
   * True when a datagram from `from` shaped like `packet` would reach its endpoint unchanged and unseen: its
   * direction applies no impairment but a fixed delay (no loss, duplication, reordering, jitter, corruption
   * or bandwidth limit) and nobody observes the wire. Offloads are then invisible on it (Network's `offload`).
   */
  transparent(from: WireEndpoint | number, packet: Uint8Array): boolean {
    const to = this.unseenRoute(packet);
    return to >= 0 && isTransparent(this.direction(this.resolve(from), to));
  }

  /** The endpoint `packet` is routed to when nobody observes the wire; -1 when someone does or it is unroutable. */
  private unseenRoute(packet: Uint8Array): number {
    return this.onPacket !== undefined || this.observers.length !== 0 ? -1 : this.routeOf(packet);
  }

  /**
   * Sends `packet` with `meta` and returns true when transparent(from, packet) holds; otherwise does nothing and
   * returns false (the caller sends it as it must look on a wire someone can see). One route lookup for both.
   */
  sendIfTransparent(from: WireEndpoint | number, packet: Uint8Array, now: number, meta: number): boolean {
    const to = this.unseenRoute(packet);
    if (to < 0) return false;
    const f = this.resolve(from);
    const dir = this.direction(f, to);
    if (!isTransparent(dir)) return false;
    if (!Number.isFinite(now)) throw new LinkError('bad-time', `send() needs a finite time in ms, got ${now}`);
    dir.counters.sent++;
    this.schedule(this.flight(now + dir.imp.delayMs, now, f, to, packet, null, 'delivered', dir, meta));
    return true;
  }

  /**
   * @internal The endpoint a datagram from `from` to address `dst` reaches when the direction is transparent
   * (transparent()) and nobody observes the wire, else -1: where sendLazy may send.
   */
  transparentRoute(from: number, dst: Uint8Array): number {
    if (this.onPacket !== undefined || this.observers.length !== 0) return -1;
    // Each sender's last answer is kept by the address array's identity: a sender's addresses are its stack's own
    // arrays, never changed, and an address never moves to another endpoint (addAddress); impair() forgets them.
    const k = this.lazyRoutes[from];
    let r: LazyRoute;
    if (k !== undefined && k.dst === dst) r = k;
    else {
      const to = this.routeOfAddress(dst, 0, dst.length);
      if (to < 0) return -1;
      r = { dst, to, dir: this.direction(from, to) };
      this.lazyRoutes[from] = r;
    }
    return isTransparent(r.dir) ? r.to : -1;
  }

  /** transparentRoute's last answer per sender (endpoint id): its destination array, endpoint and direction. */
  private readonly lazyRoutes: Array<LazyRoute | undefined> = [];

  /** @internal Sends a LazyDatagram from `from` to `to`, which transparentRoute(from, ...) gave. */
  sendLazy(from: number, to: number, d: LazyDatagram, now: number, meta: number): void {
    if (!Number.isFinite(now)) throw new LinkError('bad-time', `send() needs a finite time in ms, got ${now}`);
    const r = this.lazyRoutes[from];
    const dir = r !== undefined && r.to === to ? r.dir : this.direction(from, to);
    dir.counters.sent++;
    this.schedule(this.flight(now + dir.imp.delayMs, now, from, to, NO_BYTES, d, 'delivered', dir, meta));
  }

  /**
   * Hands a datagram to the wire at time `now` (ms). `meta` is passed to the receiver's deliver() with it
   * (a corrupted copy gets 0): what the sender vouches for, e.g. a checksum it left to the receiver's side.
   */
  send(from: WireEndpoint | number, packet: Uint8Array, now: number, meta = 0): void {
    const f = this.resolve(from);
    if (!Number.isFinite(now)) throw new LinkError('bad-time', `send() needs a finite time in ms, got ${now}`);
    const to = this.routeOf(packet);
    if (to < 0) {
      this.emit(now, now, f, -1, packet, 'unroutable');
      return;
    }
    const dir = this.direction(f, to);
    const imp = dir.imp;
    const rng = dir.prng;
    const c = dir.counters;
    c.sent++;
    // Serialisation (bandwidth limit): the transmitter sends one packet at a time, others queue.
    let onWire = now;
    // Overtaking (drawn first, and only when configured): the packet bypasses the queue on another route.
    if (imp.overtake && imp.bandwidthBps > 0 && rng.next() < imp.overtake) {
      c.overtook++;
      onWire = now + (imp.overtakeDelayMs ?? 0);
    } else if (imp.bandwidthBps > 0) {
      const start = dir.busyUntil > now ? dir.busyUntil : now;
      const queued = ((start - now) * imp.bandwidthBps) / 8000; // bytes still waiting ahead of us
      if (queued > imp.queueBytes) {
        c.queueDropped++;
        this.emit(now, now, f, to, packet, 'queue-drop');
        return;
      }
      dir.busyUntil = start + (packet.length * 8000) / imp.bandwidthBps;
      onWire = dir.busyUntil;
    }
    if (dir.clean) {
      this.schedule(this.flight(onWire + imp.delayMs, now, f, to, packet, null, 'delivered', dir, meta));
      return;
    }
    // Every decision draws from the direction's own stream, in a fixed order, whatever the outcome,
    // so one packet's fate does not shift the random numbers later packets see.
    const rLoss = rng.next();
    const rCorrupt = rng.next();
    const rReorder = rng.next();
    const rDup = rng.next();
    const rJitter = rng.next();
    const rBit = rng.next();
    const rDupJitter = rng.next();
    if (rLoss < imp.loss) {
      c.lost++;
      this.emit(now, now, f, to, packet, 'lost');
      return;
    }
    let bytes = packet;
    let fate: InFlight['fate'] = 'delivered';
    if (rCorrupt < imp.corrupt && packet.length > 0) {
      bytes = packet.slice();
      const bit = Math.floor(rBit * packet.length * 8);
      bytes[bit >>> 3] ^= 0x80 >>> (bit & 7);
      fate = 'corrupted';
      c.corrupted++;
    }
    let arrive = onWire + jitter(imp, rJitter);
    if (rReorder < imp.reorder) {
      arrive += imp.reorderDelayMs;
      c.reordered++;
    }
    this.schedule(this.flight(arrive, now, f, to, bytes, null, fate, dir, fate === 'corrupted' ? 0 : meta));
    if (rDup < imp.duplicate) {
      c.duplicated++;
      this.schedule(this.flight(onWire + jitter(imp, rDupJitter), now, f, to, bytes.slice(), null, 'duplicate', dir, fate === 'corrupted' ? 0 : meta));
    }
  }

  /** Time the next packet is due; Infinity when nothing is in flight. */
  nextDeadline(): number {
    const next = this.peek();
    return next === null ? Infinity : next.time;
  }

  /**
   * Delivers every packet due at or before `now`, in time order. Endpoints may send from inside
   * deliver(); what they send that is due by `now` is delivered in the same call. Returns the number
   * of packets delivered.
   */
  advance(now: number): number {
    if (this.delivering) return 0; // re-entrant call from an endpoint: the outer loop delivers
    this.delivering = true;
    let n = 0;
    try {
      for (let p = this.peek(); p !== null && p.time <= now; p = this.peek()) {
        this.taken(p);
        n++;
        // What delivery needs, read out: the entry is reused (spare) before the endpoint sends anything.
        const time = p.time, to = p.to, packet = p.bytes, lazy = p.lazy, meta = p.meta;
        let bytes = p.len;
        this.spareEntry(p);
        const ep = this.endpoints[to]!;
        let q: InFlight | null;
        if (ep.deliverBatch === undefined || (q = this.peek()) === null || q.time !== time || q.to !== to) {
          deliverOne(ep, packet, lazy, time, meta);
          continue;
        }
        // The packets due now for the same endpoint, one after the other: one batch, in wire order, as large as
        // a NAPI poll (BATCH_MAX_PACKETS) and GRO's merge (BATCH_MAX_BYTES) allow.
        const items: Array<Uint8Array | LazyDatagram> = [lazy ?? packet];
        const metas = [meta];
        let lazies = lazy !== null;
        do {
          if (items.length === BATCH_MAX_PACKETS || bytes + q.len > BATCH_MAX_BYTES) break;
          this.taken(q);
          n++;
          items.push(q.lazy ?? q.bytes);
          if (q.lazy !== null) lazies = true;
          metas.push(q.meta);
          bytes += q.len;
          this.spareEntry(q);
        } while ((q = this.peek()) !== null && q.time === time && q.to === to);
        if (items.length === 1) deliverOne(ep, packet, lazy, time, meta);
        else if (!lazies) ep.deliverBatch(items as Uint8Array[], metas, time);
        else if (ep.deliverMixedBatch !== undefined) ep.deliverMixedBatch(items, metas, time);
        else ep.deliverBatch(items.map((x) => x instanceof Uint8Array ? x : x.bytes()), metas, time);
      }
    } finally {
      this.delivering = false;
    }
    return n;
  }

  /** Virtual-time helper: delivers until nothing is in flight or `limit` ms is reached; returns the final time. */
  runUntilIdle(limit = Infinity): number {
    let t = -Infinity;
    for (let p = this.peek(); p !== null && p.time <= limit; p = this.peek()) {
      t = p.time;
      this.advance(t);
    }
    return t;
  }

  private resolve(e: WireEndpoint | number): number {
    const id = typeof e === 'number' ? e : this.ids.get(e);
    if (id === undefined || this.endpoints[id] === undefined) throw new LinkError('no-endpoint', `endpoint ${typeof e === 'number' ? e : '(object)'} is not attached to this wire`);
    return id;
  }

  private direction(f: number, t: number): Direction {
    const key = f * 65536 + t;
    let d = this.dirs.get(key);
    if (d === undefined) {
      d = new Direction(this.defaults, this.dirSeed(f, t));
      this.dirs.set(key, d);
    }
    return d;
  }

  /** Each direction has its own stream, so traffic one way never changes the fates the other way sees. */
  private dirSeed(f: number, t: number): number {
    return (Math.imul(this.seed | 0, 0x9e3779b1) ^ Math.imul(f + 1, 0x85ebca6b) ^ Math.imul(t + 1, 0xc2b2ae35)) >>> 0;
  }

  /** Endpoint id owning the packet's IP destination, -1 if none (or not an IP datagram). */
  private routeOf(p: Uint8Array): number {
    if (p.length < 1) return -1;
    const v = p[0]! >>> 4;
    let off: number;
    let len: number;
    if (v === 4) { off = 16; len = 4; } else if (v === 6) { off = 24; len = 16; } else return -1;
    if (p.length < off + len) return -1;
    return this.routeOfAddress(p, off, len);
  }

  /** Endpoint id owning the `len`-byte address at p[off], -1 if none. */
  private routeOfAddress(p: Uint8Array, off: number, len: number): number {
    const hash = hashAddress(p, off, len);
    const routes = this.routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      if (r.hash === hash && r.addr.length === len && sameBytes(r.addr, p, off)) return r.id;
    }
    return -1;
  }

  private emit(time: number, sentAt: number, from: number, to: number, bytes: Uint8Array, fate: PacketFate): void {
    if (this.onPacket === undefined && this.observers.length === 0) return;
    const ev: WirePacketEvent = { time, sentAt, from, to, bytes, fate };
    this.onPacket?.(ev);
    for (const o of this.observers) o(ev);
  }

  /** The packet due next (earliest time, then sending order), or null. */
  private peek(): InFlight | null {
    const f = this.fifoCount > 0 ? this.fifo[this.fifoHead]! : null;
    const h = this.heap.length > 0 ? this.heap[0]! : null;
    if (f === null) return h;
    return h !== null && before(h, f) ? h : f;
  }

  /** Removes `p`, which peek() returned, counted and observed as delivered. */
  private taken(p: InFlight): void {
    this.take(p);
    const c = p.dir.counters;
    c.delivered++;
    c.bytesDelivered += p.len;
    // A lazy datagram becomes bytes only for an observer (one added while it was in flight).
    if (this.onPacket !== undefined || this.observers.length !== 0) this.emit(p.time, p.sentAt, p.from, p.to, p.lazy !== null ? p.lazy.bytes() : p.bytes, p.fate);
  }

  /** Removes `p`, which peek() returned. */
  private take(p: InFlight): void {
    if (this.fifoCount > 0 && this.fifo[this.fifoHead] === p) {
      this.fifo[this.fifoHead] = null; // let the packet go
      this.fifoHead = (this.fifoHead + 1) & (this.fifo.length - 1);
      if (--this.fifoCount === 0) {
        this.fifoHead = 0;
        // Emptied after a burst larger than a transfer's flight (a mass open): its room is not kept.
        if (this.fifo.length > FIFO_KEPT_ROOM) this.fifo = new Array<InFlight | null>(FIFO_FIRST_ROOM).fill(null);
      }
      return;
    }
    this.pop();
  }

  /** An in-flight entry, a delivered one reused when there is one (no object per packet). */
  private flight(time: number, sentAt: number, from: number, to: number, bytes: Uint8Array, lazy: LazyDatagram | null, fate: InFlight['fate'], dir: Direction, meta: number): InFlight {
    const len = lazy !== null ? lazy.length : bytes.length;
    const e = this.spare.pop();
    if (e === undefined) return { time, order: 0, sentAt, from, to, bytes, lazy, len, fate, dir, meta };
    e.time = time; e.sentAt = sentAt; e.from = from; e.to = to; e.bytes = bytes; e.lazy = lazy; e.len = len; e.fate = fate; e.dir = dir; e.meta = meta;
    return e;
  }

  /** A delivered entry kept for reuse (flight), without its packet. */
  private spareEntry(e: InFlight): void {
    e.bytes = NO_BYTES;
    e.lazy = null;
    if (this.spare.length < MAX_SPARE) this.spare.push(e);
  }

  /** The fifo with twice the room, its packets in order from the front. */
  private growFifo(): Array<InFlight | null> {
    const old = this.fifo, n = old.length;
    const f = new Array<InFlight | null>(2 * n).fill(null);
    for (let i = 0; i < n; i++) f[i] = old[(this.fifoHead + i) & (n - 1)]!;
    this.fifo = f;
    this.fifoHead = 0;
    return f;
  }

  private schedule(p: InFlight): void {
    p.order = this.order++;
    let f = this.fifo;
    const n = this.fifoCount;
    if (n === 0 || f[(this.fifoHead + n - 1) & (f.length - 1)]!.time <= p.time) {
      if (n === f.length) f = this.growFifo();
      f[(this.fifoHead + n) & (f.length - 1)] = p;
      this.fifoCount = n + 1;
      if (!this.delivering && this.onWake !== undefined && this.peek() === p) this.onWake(p.time);
      return;
    }
    // Binary min-heap on (time, order) for the rest.
    const h = this.heap;
    let i = h.length;
    h.push(p);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(p, h[parent]!)) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = p;
    if (i === 0 && !this.delivering && this.onWake !== undefined && this.peek() === p) this.onWake(p.time);
  }

  private pop(): InFlight {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const m = r < h.length && before(h[r]!, h[l]!) ? r : l;
        if (!before(h[m]!, last)) break;
        h[i] = h[m]!;
        i = m;
      }
      h[i] = last;
    }
    return top;
  }
}

/**
 * A receive batch (WireEndpoint.deliverBatch) holds at most this many datagrams: Linux's NAPI poll weight
 * (NAPI_POLL_WEIGHT, net.core.dev_weight: 64), what a driver hands the stack per poll.
 */
const BATCH_MAX_PACKETS = 64;
/** Delivered in-flight entries a wire keeps for reuse: a burst's worth. */
const MAX_SPARE = 1024;
/** The fifo's first room (a power of two): a lifecycle's packets, a bulk transfer's grow it once or twice. */
const FIFO_FIRST_ROOM = 64;
/**
 * The most room the fifo keeps once empty (slots): a bulk transfer's flight (~2 900 packets at MSS 1460 with 4 MiB
 * windows) keeps its room between bursts; the room a burst of 100 000 connections opening or closing took is given
 * back (bench stack's heap per TIME-WAIT entry counts it).
 */
const FIFO_KEPT_ROOM = 16384;
const NO_BYTES = new Uint8Array(0);
/**
 * ... and at most this many bytes: what GRO merges into one super-packet (GRO_LEGACY_MAX_SIZE, 64 KiB), which
 * the receiving TCP answers with one ACK; so a batch is never answered with fewer ACKs than Linux sends.
 */
const BATCH_MAX_BYTES = 65536;

/** One datagram to `ep`: its bytes, or a lazy one as it is when the endpoint takes those. */
function deliverOne(ep: WireEndpoint, packet: Uint8Array, lazy: LazyDatagram | null, time: number, meta: number): void {
  if (lazy === null) ep.deliver(packet, time, meta);
  else if (ep.deliverLazy !== undefined) ep.deliverLazy(lazy, time, meta);
  else ep.deliver(lazy.bytes(), time, meta);
}

function before(a: InFlight, b: InFlight): boolean {
  return a.time < b.time || (a.time === b.time && a.order < b.order);
}

/** A direction that applies nothing but a fixed delay: no loss, duplication, reordering, jitter, corruption or bandwidth limit. */
function isTransparent(dir: Direction): boolean {
  return dir.clean && dir.imp.bandwidthBps === 0;
}

function jitter(imp: Impairments, r: number): number {
  if (imp.jitterMs <= 0) return imp.delayMs;
  const d = imp.delayMs + (2 * r - 1) * imp.jitterMs;
  return d > 0 ? d : 0;
}

/** FNV-1a over the address bytes: cheap, and equal addresses always collide (bytes are compared after). */
function hashAddress(b: Uint8Array, off: number, len: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ b[off + i]!, 0x01000193);
  return h >>> 0;
}

function sameBytes(addr: Uint8Array, b: Uint8Array, off: number): boolean {
  for (let i = 0; i < addr.length; i++) if (addr[i] !== b[off + i]) return false;
  return true;
}

function formatAddr(a: Uint8Array): string {
  if (a.length === 4) return a.join('.');
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((a[i]! << 8) | a[i + 1]!).toString(16));
  return parts.join(':');
}

function checkImpairments(imp: Impairments): Impairments {
  for (const k of ['loss', 'duplicate', 'reorder', 'corrupt', 'overtake'] as const) {
    const v = imp[k] ?? 0;
    if (!(v >= 0 && v <= 1)) throw new LinkError('bad-impairment', `${k} must be a probability in [0, 1], got ${v}`);
  }
  for (const k of ['reorderDelayMs', 'delayMs', 'jitterMs', 'bandwidthBps', 'overtakeDelayMs'] as const) {
    const v = imp[k] ?? 0;
    if (!(v >= 0 && Number.isFinite(v))) throw new LinkError('bad-impairment', `${k} must be a finite number >= 0, got ${v}`);
  }
  if (!(imp.queueBytes >= 0)) throw new LinkError('bad-impairment', `queueBytes must be >= 0, got ${imp.queueBytes}`);
  return imp;
}

/**
 * @internal An empty array already of the element kind a list of objects ends up with (V8's PACKED_ELEMENTS): `[]` starts as
 * small integers and changes kind with its first object, and code optimised on an earlier instance's lists (a
 * network before this one) went back to the interpreter at that first push, recompiling the delivery path.
 */
export function objectList<T>(): T[] {
  const a: unknown[] = [null];
  a.pop();
  return a as T[];
}
