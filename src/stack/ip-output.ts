/**
 * What leaves the host: TCP segments encoded (with checksum offload, TSO and scatter-gather when the link has
 * them) and datagrams beyond TCP (ICMP errors, rate-limited; echo replies), fragmented to the path MTU.
 *
 * The output queue: to a link that sends several datagrams per call (LinkCapabilities.sendPackets, a TUN
 * device: one crossing into its addon instead of one per packet), the whole datagrams produced while a receive
 * batch, a timer wake-up or one turn of user code runs are queued, in the order produced, and handed over in
 * one call at its end (flushOutput). Anything that goes to the link another way (a TSO super-segment, a large
 * gathered segment, ICMP) flushes the queue first, so the order on the wire is the order produced, and a
 * packet observer sees every packet when it is produced, as without the queue.
 */
import { PacketSlab, decodeHostPacket, encodeTcpPacketHeaders, encodeTcpPacketIn } from '../wire/packet.js';
import {
  ICMP_EXC_FRAGTIME, ICMP_TIME_EXCEEDED, ICMPV6_EXC_FRAGTIME, ICMPV6_TIME_EXCEED, PROTO_ICMP, PROTO_ICMPV6,
  encodeIcmpError, isIcmpError,
} from '../wire/icmp.js';
import { finishChecksum, onesComplementSum } from '../wire/checksum.js';
import { freebsdOptionOrder } from '../wire/tcp.js';
import { EMPTY, type TcpOptions, type TcpSegment } from '../wire/tcp-types.js';
import type { IpHeaderInit } from '../wire/ip.js';
import { martianSource } from './martians.js';
import { ourAddress } from './demux.js';
import type { Stack } from './stack.js';

/** Below this payload size a segment is encoded whole: one small copy costs less than a second part. */
const GATHER_MIN_PAYLOAD = 512;
/**
 * Segments up to this payload size (and never a TSO super-segment) are encoded whole and queued when the
 * link takes several datagrams per call: copying up to a full Ethernet-sized segment costs less than a
 * crossing into the link of its own.
 */
const QUEUE_MAX_PAYLOAD = 2048;
/** At most this many datagrams are held before they are handed over (bounds what a queue pins). */
const QUEUE_MAX_PACKETS = 256;

/** Room kept for the IP and TCP headers of a queued segment (IPv6's 40 bytes and TCP's 60, rounded up). */
const HEADERS_MAX = 128;
/** Bytes of a reused output buffer (reuseOutputBuffers): ~50 responses of 1 KB before an early hand-over. */
const REUSED_BYTES = 1 << 16;

/**
 * The output queue's own bytes (reuseOutputBuffers): datagrams are encoded one after the other into one buffer,
 * which is used again from its start once they are handed over. take() returns zeroed bytes, as PacketSlab's.
 */
class ReusedSlab extends PacketSlab {
  readonly #mem = new Uint8Array(REUSED_BYTES);
  #at = 0;
  constructor() { super(8); }
  /** Whether `n` more bytes fit before the next reset(). */
  room(n: number): boolean { return this.#at + n <= REUSED_BYTES; }
  override take(n: number): Uint8Array {
    if (this.#at + n > REUSED_BYTES) return new Uint8Array(n); // output() hands the queue over first; never expected
    const out = this.#mem.subarray(this.#at, this.#at + n);
    out.fill(0);
    this.#at = (this.#at + n + 7) & ~7;
    return out;
  }
  reset(): void { this.#at = 0; }
}

/** The datagrams not yet handed to the link (Stack.outQueue); see the file comment. */
export class OutputQueue {
  packets: Uint8Array[] = [];
  /** A microtask will flush the queue (output from user code, outside a receive batch or timer wake-up). */
  scheduled = false;
  /** Where queued datagrams are encoded when the link copies them as it takes them (reuseOutputBuffers). */
  reused: ReusedSlab | null = null;
}

/**
 * For a link whose sendPackets has copied (or written) every datagram when it returns, as a TUN device's addon
 * does (into its writer thread's ring, or by write(2)): the output queue's datagrams are then encoded into one
 * buffer reused from hand-over to hand-over, instead of blocks of the stack's PacketSlab that each turn leaves to
 * the garbage collector (a 16 KiB ArrayBuffer every ~13 responses of 1 KB). Nothing else may keep them: packet
 * observers must not (PacketObserver). Undone when the queue is next handed to a link without sendPackets.
 */
export function reuseOutputBuffers(s: Stack): void {
  s.outQueue.reused ??= new ReusedSlab();
}

/** Whether output goes through the queue: a link that takes several datagrams per call, and the queue on. */
function queueing(s: Stack): boolean {
  return s.linkSendPackets !== null && s.outputBatching;
}

/** Puts a whole datagram (at most the MTU, no segmentation) on the queue, to leave at the end of this turn. */
function enqueue(s: Stack, packet: Uint8Array): void {
  const q = s.outQueue;
  q.packets.push(packet);
  if (q.packets.length >= QUEUE_MAX_PACKETS) { flushOutput(s); return; }
  // A receive batch and a timer wake-up flush at their end; anything else (a socket write from user code) at
  // the end of this turn: a microtask runs before the event loop polls again, so no packet waits for I/O,
  // and every write made in this turn (callbacks, nextTicks, promise reactions) leaves in the same call.
  if (!q.scheduled && !s.batching && !s.inWake) {
    q.scheduled = true;
    queueMicrotask(s.flushTask);
  }
}

/** Hands the queued datagrams to the link in one call (in order), or one by one to a link that no longer batches. */
export function flushOutput(s: Stack): void {
  const q = s.outQueue;
  const n = q.packets.length;
  if (n === 0) return;
  const packets = q.packets;
  const reused = q.reused;
  if (reused !== null && s.linkSendPackets !== null) {
    // The link copies them: the array and the bytes serve the next turn (reuseOutputBuffers). Emptied first, so a
    // link that throws leaves nothing queued, as below.
    q.packets = [];
    try {
      s.linkSendPackets(packets);
    } finally {
      // (Unless the link's error handler queued more meanwhile: those stay, in the buffer's bytes after theirs.)
      if (q.packets.length === 0) { packets.length = 0; q.packets = packets; reused.reset(); }
    }
    return;
  }
  q.packets = [];
  q.reused = null; // a link without sendPackets: nothing says it copies
  if (s.linkSendPackets !== null) { s.linkSendPackets(packets); return; }
  for (let i = 0; i < n; i++) s.link?.(packets[i]!);
}

/** `segmentSize` > 0: the segment is longer than one MSS and the link must cut it (see LinkSend). */
/** `tos`: the IP TOS / traffic class, here only ECN's ECT(0) for ECN-capable data (RFC 3168 §6.1.2). */
/**
 * `conn`: the sending connection's id (StackConnection.id; 0 for what no connection sends): to a link that keeps
 * each connection's datagrams in memory of its own (Stack.linkRuns), its datagram is encoded there.
 */
export function output(s: Stack, la: Uint8Array, ra: Uint8Array, seg: TcpSegment, now: number, segmentSize = 0, tos = 0, df = true, conn = 0): void {
  // FreeBSD's option layout (tcp_addoptions) when configured; the encoder's default is Linux's.
  if (s.config.optionLayout === 'freebsd' && seg.options.order === undefined && hasOptions(seg.options)) {
    seg = { ...seg, options: { ...seg.options, order: freebsdOptionOrder(seg.options) } };
  }
  // A TSO segment goes to a link that segments it and so completes checksums (LinkSend), as does every segment
  // to a link with checksum offload: summing up to 64 KiB here would be wasted, unless an observer (a pcap
  // tap) is to see the packet as it will be on the wire. Observers of headers only (synack serve's lifecycle
  // log) change nothing here.
  const observed = s.wholePacketObservers > 0;
  const partial = (segmentSize > 0 || s.linkChecksumOffload) && !observed;
  const queue = segmentSize === 0 && seg.payload.length <= QUEUE_MAX_PAYLOAD && queueing(s);
  if (!queue && s.outQueue.packets.length > 0) flushOutput(s); // what is queued leaves first
  if (!queue && s.linkSendParts !== null && !observed && seg.payload.length >= GATHER_MIN_PAYLOAD) {
    const headers = encodeTcpPacketHeaders(ipHeader(la, ra, s.ttl, tos, df), seg, partial ? 'pseudo-header' : 'full');
    for (let i = 0; i < s.packetObservers.length; i++) s.packetObservers[i]!('out', headers, now, s); // headers only
    s.linkSendParts(headers, seg.payload, segmentSize);
    return;
  }
  // Queued into the reused buffer when there is one, handing over what it holds first when it is full.
  const reused = queue ? s.outQueue.reused : null;
  if (reused !== null && !reused.room(seg.payload.length + HEADERS_MAX)) flushOutput(s);
  const runs = s.linkRuns;
  const memory = reused ?? (runs !== null && conn !== 0 ? runs.of(conn) : s.slab);
  const packet = encodeTcpPacketIn(memory, ipHeader(la, ra, s.ttl, tos, df), seg, partial ? 'pseudo-header' : 'full');
  for (let i = 0; i < s.packetObservers.length; i++) s.packetObservers[i]!('out', packet, now, s);
  if (queue) { enqueue(s, packet); return; }
  // Only a TSO segment passes the second argument: links written for one argument see no change.
  if (segmentSize > 0) s.link?.(packet, segmentSize);
  else s.link?.(packet);
}

/**
 * The IP header of the segment output() encodes next: one object rewritten per segment instead of one made
 * per segment (the encoder reads it and keeps nothing). Filled right before the encode, after any flush of
 * the queue, whose link may deliver into another stack of this process that outputs in turn.
 */
const scratchIp = { src: EMPTY, dst: EMPTY, ttl: 64, tos: 0, df: true };
function ipHeader(src: Uint8Array, dst: Uint8Array, ttl: number, tos: number, df: boolean): IpHeaderInit {
  const ip = scratchIp;
  ip.src = src; ip.dst = dst; ip.ttl = ttl; ip.tos = tos; ip.df = df;
  return ip;
}

/** A whole datagram this host originates beyond TCP (ICMP), fragmented to the path MTU if needed. */
export function sendIp(s: Stack, packet: Uint8Array, now: number): void {
  const dst = packet[0]! >> 4 === 4 ? packet.subarray(16, 20) : packet.subarray(24, 40);
  const mtu = s.pathMtuFor(dst, now);
  let pieces = [packet];
  if (packet.length > mtu) {
    // IPv4: the identification must tell this datagram's fragments from others' (RFC 6864 §4.1).
    if (packet[0]! >> 4 === 4) setIpv4Id(packet, s.randomU32() & 0xffff);
    pieces = s.reassembler.fragment(packet, mtu, s.randomU32()); // whole without reassembly installed (browsers)
  }
  flushOutput(s); // after what the stack produced before it
  for (const p of pieces) {
    for (let i = 0; i < s.packetObservers.length; i++) s.packetObservers[i]!('out', p, now, s);
    s.link?.(p);
  }
}

/** An ICMP error about `offending` (a datagram we received), rate-limited (RFC 1812 §4.3.2.8, RFC 4443 §2.4(f)). */
export function sendIcmpError(s: Stack, offending: Uint8Array, type: number, code: number, rest: number, now: number): void {
  if (!s.icmpEnabled) return;
  let ip;
  try { ip = decodeHostPacket(offending, false).ip; } catch { return; }
  // RFC 1122 §3.2.2 / RFC 4443 §2.4(e): never about an ICMP error, a non-first fragment, or a martian source.
  if (ip.fragOffset !== 0) return;
  if (ip.protocol === (ip.version === 4 ? PROTO_ICMP : PROTO_ICMPV6) && ip.payload.length > 0 && isIcmpError(ip.version, ip.payload[0]!)) return;
  const la = ourAddress(s, ip.dst);
  if (la === null || martianSource(ip.src, la, s.isOursFn) !== null) return;
  if (!s.icmpRate.allow(ip.src, now)) { s.counters.IcmpOutRateLimited++; return; }
  s.counters.IcmpOutErrors++;
  // IPv4 precedence internetwork control (TOS 0xc0), as Linux sends its errors (RFC 1812 §4.3.2.5).
  sendIp(s, encodeIcmpError(la, offending, type, code, rest, s.ttl, ip.version === 4 ? 0xc0 : 0), now);
}

/** RFC 792 / RFC 8200 §4.5: time exceeded (fragment reassembly) when a datagram whose first fragment came in timed out. */
export function reassemblyTimedOut(s: Stack, first: Uint8Array): void {
  const v6 = first[0]! >> 4 === 6;
  sendIcmpError(s, first, v6 ? ICMPV6_TIME_EXCEED : ICMP_TIME_EXCEEDED, v6 ? ICMPV6_EXC_FRAGTIME : ICMP_EXC_FRAGTIME, 0, s.clock.now());
}

function hasOptions(o: TcpOptions): boolean {
  return o.mss !== undefined || o.wscale !== undefined || o.sackPermitted === true || o.tsVal !== undefined || (o.sack !== undefined && o.sack.length > 0) || (o.unknown !== undefined && o.unknown.length > 0);
}

function setIpv4Id(p: Uint8Array, id: number): void {
  p[4] = id >> 8; p[5] = id & 0xff;
  p[10] = 0; p[11] = 0;
  const ck = finishChecksum(onesComplementSum(p, 0, (p[0]! & 0x0f) * 4));
  p[10] = ck >> 8; p[11] = ck & 0xff;
}
