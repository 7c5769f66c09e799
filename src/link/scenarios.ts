/**
 * The seed scenarios: each one a real lifecycle between two synack stacks on an in-memory wire in virtual
 * time, driven through the stack API, recorded as a neutral Trace (for ladders) plus the raw packets (for
 * pcapng). Browser-clean except the `http` scenario, which loads node:http lazily.
 */
import { decodePacket, encodeTcpPacket } from '../wire/packet.js';
import { formatAddress, parseAddress } from '../wire/address.js';
import { ACK, EMPTY, FIN, PSH, RST, SYN, URG, type TcpSegment } from '../wire/tcp-types.js';
import type { Trace, TraceEntry, TraceStateChange, TcpStateName } from '../wire/trace.js';
import type { Stack, StackConnection } from '../stack/stack.js';
import { RFC793_RULES, type TcpConfig } from '../tcp/config.js';
import { Network } from './network.js';
import { installSynCookies } from '../stack/syn-cookies.js';
import { Prng } from './prng.js';

/** A trace entry sent toward the server by a third party (`third`: its real source), as src/view draws it on a lane of its own. */
type LaneTraceEntry = TraceEntry & { third?: string };

export interface ScenarioOptions {
  seed?: number;
  /** Loss probability on both directions (lossy-transfer defaults to 0.1; others 0). */
  loss?: number;
  /** Server port (each scenario gets its own when several run into one capture). */
  port?: number;
  /** One-way delay, ms. */
  delayMs?: number;
  /** Engine options for both stacks (timestamps, sack, windowScaling, msl ...). */
  tcp?: Partial<TcpConfig>;
}

export interface ScenarioPacket {
  time: number;
  /** 'a' = sent by the client's address, 'b' = by the server's, 'x' = a third party (flood, attacker). */
  from: 'a' | 'b' | 'x';
  bytes: Uint8Array;
  fate: string;
}

export interface ScenarioResult {
  name: string;
  title: string;
  description: string;
  trace: Trace;
  packets: ScenarioPacket[];
  /** The state sequences each side went through (for assertions and summaries). */
  clientStates: TcpStateName[];
  serverStates: TcpStateName[];
  /** Facts worth printing under the ladder (counters, transfer results). */
  notes: string[];
  client: Stack;
  server: Stack;
  /** Virtual time the scenario took, ms. */
  duration: number;
  /**
   * What the alternative would have done, drawn beside the real run (e.g. a two-way handshake, which TCP does
   * not have): hand-built from the real run's first segments and titled as hypothetical. Never run.
   */
  aside?: { title: string; trace: Trace };
}

export interface ScenarioInfo {
  name: string; title: string; description: string; nodeOnly?: boolean;
  /** One of the "why" questions (the page groups them apart from the seed lifecycles). */
  why?: boolean;
}

export const SCENARIOS: readonly ScenarioInfo[] = [
  { name: 'handshake', title: 'Three-way handshake', description: 'SYN, SYN+ACK, ACK: both ends reach ESTABLISHED (RFC 9293 §3.5, Figure 6).' },
  { name: 'four-way-close', title: 'Four-way close', description: 'The client closes first; the server ACKs the FIN, later sends its own; the client waits 2·MSL in TIME-WAIT (§3.6, Figure 12).' },
  { name: 'three-way-close', title: 'Merged FIN+ACK ("three-way") close', description: 'The server closes as soon as it sees the FIN, so its ACK rides on its FIN: FIN, FIN+ACK, ACK.' },
  { name: 'simultaneous-open', title: 'Simultaneous open', description: 'Both ends send SYN at once; each goes SYN-SENT → SYN-RECEIVED → ESTABLISHED (§3.5, Figure 8).' },
  { name: 'simultaneous-close', title: 'Simultaneous close', description: 'Both ends close at once; both pass through CLOSING to TIME-WAIT (§3.6, Figure 13).' },
  { name: 'half-close', title: 'Half-close', description: 'The client sends its request and FIN; the server keeps sending its reply afterwards, then closes.' },
  { name: 'rst-abort', title: 'Abort with RST', description: 'The client aborts an established connection: one RST, the server gets ECONNRESET.' },
  { name: 'rst-unread-data', title: 'Close with unread data → RST', description: 'The client closes while received data is unread: RFC 1122 §4.2.2.13 says send RST, not FIN.' },
  { name: 'refused', title: 'Connection refused', description: 'SYN to a port with no listener: RST+ACK (§3.10.7.1); the client gets ECONNREFUSED.' },
  { name: 'syn-flood', title: 'SYN flood vs SYN cookies', description: 'Thousands of spoofed SYNs fill the SYN queue; a real client still connects through a SYN cookie.' },
  { name: 'invalid-flags', title: 'Invalid flag combinations', description: 'SYN+FIN, SYN+RST, FIN+RST, NULL, FIN without ACK and Xmas segments are dropped and counted; the connection is unharmed.' },
  { name: 'lossy-transfer', title: 'Transfer over a lossy wire', description: '64 KiB with segments lost: retransmissions (fast retransmit and RTO) repair every hole.' },
  { name: 'http', title: 'HTTP over synack', description: 'node:http, unchanged, on synack sockets: a GET and its response.', nodeOnly: true },
  // The why questions (after http, so the seed scenarios keep their ports in a demo capture: tshark reads
  // some ports as other protocols).
  { name: 'why-three-way', why: true, title: 'Why three segments: an old duplicate SYN', description: 'An old SYN of this client, delayed in the network, reaches the server long after: it answers SYN+ACK, the client (expecting nothing) answers RST, and no half-open connection is left (RFC 9293 §3.5, Figure 9). Beside it: what a two-way handshake would have done.' },
  { name: 'why-time-wait', why: true, title: 'Why TIME-WAIT (1): the last ACK is lost', description: 'The client\'s ACK of the server\'s FIN is lost; the server retransmits its FIN; the client, still in TIME-WAIT, ACKs it again and restarts its 2·MSL timer (RFC 9293 §3.6.1). Without TIME-WAIT that FIN would draw a RST.' },
  { name: 'why-2msl', why: true, title: 'Why 2·MSL (2): an old segment, TIME-WAIT cut to zero', description: 'TIME-WAIT cut to zero: the client reconnects at once from the same port, and a data segment of the first connection, delayed in the network, arrives inside the new one and is delivered as its data (timestamps off, as in RFC 793; PAWS is the other defence).' },
  { name: 'why-2msl-kept', why: true, title: 'Why 2·MSL (2): the same old segment, TIME-WAIT kept', description: 'The same delayed segment with TIME-WAIT kept: it arrives while the four-tuple cannot have a new connection and dies there (the server answers RST, the client in TIME-WAIT ignores it, RFC 1337); the next connection gets only its own bytes.' },
  { name: 'never-closes', why: true, title: 'The server that never closes', description: 'The client closes; the server ACKs but never sends its FIN. The orphaned client leaves FIN-WAIT-2 after its timeout (60 s, Linux tcp_fin_timeout) and forgets the connection; what the server sends afterwards draws a RST.' },
  { name: 'syn-flood-no-defence', why: true, title: 'SYN flood without a defence', description: 'A continuous flood of spoofed SYNs keeps the SYN queue (backlog 16) full, SYN cookies off: the real client\'s SYNs are dropped, it retransmits, and gives up with ETIMEDOUT.' },
  { name: 'syn-flood-rate-limit', why: true, title: 'SYN flood from one source vs a per-source limit', description: 'The same flood from one address, SYN cookies off, with a per-source SYN rate limit of 1/s: the flooder\'s SYNs are dropped before they reach the SYN queue, which keeps room for the real client.' },
  { name: 'half-open', why: true, title: 'Half-open connection', description: 'The server restarts and forgets an established connection (nothing is sent: the host was down). The client, unaware, sends data; the server answers RST and the client learns ECONNRESET (RFC 9293 §3.5.2).' },
  { name: 'blind-rst-793', why: true, title: 'A blind RST under RFC 793', description: 'An attacker off the path spoofs the client and guesses a sequence number inside the server\'s window, not exactly RCV.NXT. Under RFC 793\'s rule any in-window RST resets: the connection dies, and the client learns it only from the RST its next data draws.' },
  { name: 'blind-rst-5961', why: true, title: 'The same blind RST under RFC 5961', description: 'The same guess under RFC 5961 §3: only a RST at exactly RCV.NXT resets; an in-window one draws a challenge ACK to the real client, which (not having sent any RST) ignores it. The connection survives and the data arrives.' },
];

const CLIENT = '10.0.0.1';
const SERVER = '10.0.0.2';

/** Records one scenario: wire events → packets and trace entries, transitions → state columns. */
class Recorder {
  readonly packets: ScenarioPacket[] = [];
  readonly entries: TraceEntry[] = [];
  readonly changes: TraceStateChange[] = [];
  stateA: TcpStateName = 'CLOSED';
  stateB: TcpStateName;
  readonly statesA: TcpStateName[] = [];
  readonly statesB: TcpStateName[] = [];
  private pending: TraceEntry | null = null;
  private readonly sendOrder = new WeakMap<Uint8Array, number>();
  private sendCounter = 0;
  private readonly entryOrder = new Map<TraceEntry, number>();
  private readonly packetOrder = new Map<ScenarioPacket, number>();
  private unroutableKept = 0;
  /** sendCounter at the last delivery or state change: a user call came after it (see track). */
  private mark = 0;
  /** When the last timer change (which has an order) happened. */
  private orderedChangeAt = -1;
  /** The server has a listener on the port (per-SYN TCBs come and go under it). */
  private listening: boolean;
  /**
   * A delivered packet is being processed by its receiver. What the receiver sends meanwhile and the wire
   * reports at once (a loss) must not settle the delivered segment's state: the stack reports the transition
   * (e.g. SYN-SENT → ESTABLISHED on a SYN+ACK) after it has sent the segment it caused (the ACK).
   */
  private delivering = false;

  /**
   * Packets in the order they were sent. The wire reports a loss at once but a delivery only on arrival,
   * so emission order would put a lost segment before one sent earlier — a capture that lies.
   */
  sortedPackets(): ScenarioPacket[] {
    return this.packets.sort((x, y) => x.time - y.time || this.packetOrder.get(x)! - this.packetOrder.get(y)!);
  }
  /** Set when the scenario is over: tearing the network down is not part of the story. */
  stopped = false;
  isnA: number | undefined;
  isnB: number | undefined;
  clientPort = 0;
  readonly clientAddr = parseAddress(CLIENT);
  readonly serverAddr = parseAddress(SERVER);

  constructor(readonly net: Network, readonly client: Stack, readonly server: Stack, readonly port: number, serverListening: boolean) {
    this.stateB = serverListening ? 'LISTEN' : 'CLOSED';
    this.listening = serverListening;
    if (serverListening) this.statesB.push('LISTEN');
    net.wire.observe((ev) => {
      this.onPacket(ev.bytes, ev.sentAt, ev.fate);
      if (ev.fate === 'delivered' || ev.fate === 'corrupted' || ev.fate === 'duplicate') { this.delivering = true; this.mark = this.sendCounter; }
    });
    net.onDelivered = () => { this.delivering = false; this.finalize(); };
    const track = (side: 'a' | 'b') => (c: { localPort: number; remotePort: number }, ev: { time: number; from: TcpStateName; to: TcpStateName; cause: { kind: string; call?: string; timer?: string } }) => {
      const ok = side === 'a' ? (this.clientPort === 0 || c.localPort === this.clientPort) && c.remotePort === this.port : c.localPort === this.port && this.clientPort !== 0 && c.remotePort === this.clientPort;
      if (!ok || this.stopped) return;
      // The listener itself is the LISTEN state; per-SYN TCBs entering LISTEN internally are not news.
      if (side === 'b' && ev.to === 'LISTEN' && (this.stateB === 'LISTEN' || this.listening)) return;
      // A passive open's SYN-RECEIVED that is reset or given up returns to LISTEN (RFC 9293 §3.10.7.3): the
      // stack drops the entry and its listener goes on listening.
      if (side === 'b' && this.listening && ev.from === 'SYN-RECEIVED' && ev.to === 'CLOSED') ev = { ...ev, to: 'LISTEN' };
      if (side === 'a') { this.stateA = ev.to; this.statesA.push(ev.to); } else { this.stateB = ev.to; this.statesB.push(ev.to); }
      if (ev.cause.kind !== 'segment') {
        // A timer's change takes a place in the packets' send order, so it follows segments sent earlier in the
        // same millisecond. A user call's change is reported after the segments the call sent; it has a place
        // only after a timer's change of the same millisecond (an application acting on it, e.g. reconnecting
        // once TIME-WAIT ended): just before its own segments. Otherwise the ladder's rule, change first, is
        // the causal order.
        const timer = ev.cause.kind === 'timer';
        const order = timer ? this.sendCounter++ : ev.time === this.orderedChangeAt ? this.mark - 0.5 : undefined;
        if (timer) this.orderedChangeAt = ev.time;
        this.changes.push({ time: ev.time, side, from: ev.from, to: ev.to, cause: ev.cause.kind === 'user' ? `${ev.cause.call}()` : `${ev.cause.timer} timer`, ...(order !== undefined ? { order } : {}) });
      }
      this.mark = this.sendCounter;
    };
    // Send order, to sort entries: the wire reports losses at send time but deliveries later.
    const order = (_d: 'in' | 'out', pkt: Uint8Array) => { if (_d === 'out' && !this.sendOrder.has(pkt)) this.sendOrder.set(pkt, this.sendCounter++); };
    client.observePackets(order);
    server.observePackets(order);
    client.observeTransitions(track('a'));
    server.observeTransitions(track('b'));
  }

  /** Record a packet (from the wire's observer, or injected by the scenario). */
  onPacket(bytes: Uint8Array, sentAt: number, fate: string, note?: string, thirdParty?: string): void {
    if (!this.delivering) this.finalize();
    if (this.stopped) return;
    if (fate === 'unroutable') {
      // Replies to spoofed sources (the syn-flood's cookie SYN+ACKs) went nowhere; keep the first few in the
      // capture, matching the SYNs the scenario records.
      if (this.unroutableKept++ < 300) {
        const pk: ScenarioPacket = { time: sentAt, from: 'b', bytes, fate: 'unroutable' };
        this.packets.push(pk);
        this.packetOrder.set(pk, this.sendOrder.get(bytes) ?? this.sendCounter++);
      }
      return;
    }
    // A third party may spoof an endpoint's address: the scenario says so (`thirdParty`), the bytes cannot.
    const from = thirdParty !== undefined ? 'x' : sameAddr(bytes, this.clientAddr, true) ? 'a' : sameAddr(bytes, this.serverAddr, true) ? 'b' : 'x';
    const lost = fate === 'lost' || fate === 'queue-drop';
    if (fate !== 'duplicate') {
      const pk: ScenarioPacket = { time: sentAt, from, bytes, fate };
      this.packets.push(pk);
      this.packetOrder.set(pk, this.sendOrder.get(bytes) ?? this.sendCounter++);
    }
    if (!this.inTuple(bytes)) return;
    let seg: TcpSegment;
    try { const d = decodePacket(bytes); if (!d.tcp) return; seg = d.tcp.seg; } catch { return; }
    const side: 'a' | 'b' = from === 'b' ? 'b' : 'a';
    // A third party's SYN (the flood's spoofed sources) is not the client's: it sets no ISN and gets its own lane.
    if (seg.flags & SYN && !(seg.flags & (RST | FIN)) && from !== 'x') { if (side === 'a' && this.isnA === undefined) this.isnA = seg.seq; if (side === 'b' && this.isnB === undefined) this.isnB = seg.seq; }
    const e: LaneTraceEntry = { time: sentAt, from: side, seg, lost };
    if (from === 'x') e.third = thirdParty ?? formatAddress(decodePacket(bytes).ip.src);
    if (fate === 'duplicate') e.note = 'duplicate';
    if (fate === 'corrupted') e.note = 'corrupted: dropped by checksum';
    if (fate === 'injected') e.note = note ?? (from === 'x' ? 'spoofed sources' : invalidCombo(seg.flags) ? 'injected: dropped and counted' : 'injected');
    this.entries.push(e);
    e.order = this.sendOrder.get(bytes) ?? this.sendCounter++;
    this.entryOrder.set(e, e.order);
    if (!lost) { this.finalize(); this.pending = e; }
  }

  /** Is this packet between the client's connection and the server port? */
  private inTuple(bytes: Uint8Array): boolean {
    try {
      const d = decodePacket(bytes);
      if (!d.tcp) return false;
      const s = d.tcp.seg;
      const toServer = s.dstPort === this.port && (this.clientPort === 0 || s.srcPort === this.clientPort);
      const toClient = s.srcPort === this.port && (this.clientPort === 0 || s.dstPort === this.clientPort);
      return toServer || toClient;
    } catch { return false; }
  }

  finalize(): void {
    // Only the receiver's state is recorded on a delivered segment: the sender's own changes are on the
    // entries that reached it, or in `changes` (user calls, timers). A lost segment changes no one's state.
    if (this.pending) {
      if (this.pending.from === 'a') this.pending.stateB = this.stateB; else this.pending.stateA = this.stateA;
      this.pending = null;
    }
  }

  trace(title: string): Trace {
    this.finalize();
    this.entries.sort((x, y) => x.time - y.time || this.entryOrder.get(x)! - this.entryOrder.get(y)!);
    return {
      title,
      a: { addr: CLIENT, port: this.clientPort, label: 'client', isn: this.isnA },
      b: { addr: SERVER, port: this.port, label: 'server', isn: this.isnB },
      entries: this.entries,
      changes: this.changes,
    };
  }
}

/** The flag combinations the invalid-flags scenario injects (the stack drops and counts each). */
function invalidCombo(f: number): boolean {
  if (f & SYN) return (f & (FIN | RST)) !== 0;
  if (f & RST) return (f & FIN) !== 0;
  return !(f & ACK);
}

function sameAddr(bytes: Uint8Array, addr: Uint8Array, src: boolean): boolean {
  const v = bytes[0]! >> 4;
  const off = v === 4 ? (src ? 12 : 16) : (src ? 8 : 24);
  for (let i = 0; i < addr.length; i++) if (bytes[off + i] !== addr[i]) return false;
  return (v === 4) === (addr.length === 4);
}

interface Ctx {
  net: Network;
  client: Stack;
  server: Stack;
  rec: Recorder;
  port: number;
  notes: string[];
  opts: ScenarioOptions;
}

/** Run until `done()` or idle, stepping virtual time; `tick` runs after every step (the applications). */
async function drive(ctx: Ctx, done: () => boolean, tick: () => void = () => {}, maxTime = 600_000): Promise<void> {
  const net = ctx.net;
  const end = net.now + maxTime;
  for (let guard = 0; guard < 5_000_000; guard++) {
    tick();
    if (done()) break;
    if (!net.step()) { tick(); if (done()) break; if (!net.step()) break; }
    if (net.now > end) break;
    if ((guard & 63) === 63) await Promise.resolve();
  }
  ctx.rec.finalize();
}

/** Let everything finish: TIME-WAIT expiry included (virtual time makes 2·MSL instant). */
async function settle(ctx: Ctx): Promise<void> {
  await drive(ctx, () => false);
}

function connectClient(ctx: Ctx, localPort?: number): StackConnection {
  const c = ctx.client.connect({ host: SERVER, port: ctx.port, localPort });
  ctx.rec.clientPort = c.localPort;
  return c;
}

let acceptedConn: StackConnection | null = null;
function listen(ctx: Ctx, backlog?: number): void {
  acceptedConn = null;
  ctx.server.listen(ctx.port, { backlog, onConnection: (c) => { acceptedConn = c; } });
}

type Runner = (ctx: Ctx) => Promise<void>;

/**
 * The four-way close of RFC 9293 Figure 12: the client closes; the server application notices EOF only 100 ms
 * later, so its ACK and its FIN travel separately. `beforeServerFin` runs just before the server's FIN (with its
 * time), for scenarios that impair the path there. Returns once the server is in LAST-ACK.
 */
async function clientClosesFirst(ctx: Ctx, beforeServerFin?: (closeAt: number) => void): Promise<void> {
  listen(ctx);
  const c = connectClient(ctx);
  await drive(ctx, () => c.state === 'ESTABLISHED' && acceptedConn !== null);
  const now = () => ctx.net.now;
  c.tcp.shutdown(now()); c.service();
  let closeAt = Infinity;
  await drive(ctx, () => acceptedConn!.state === 'LAST-ACK', () => {
    const s = acceptedConn!;
    if (s.state === 'CLOSE-WAIT' && closeAt === Infinity) {
      closeAt = now() + 100;
      const at = closeAt;
      ctx.server.schedule(at, () => { beforeServerFin?.(at); s.tcp.shutdown(now()); s.service(); });
    }
  });
}

const RUNNERS: Record<string, Runner> = {
  async handshake(ctx) {
    listen(ctx);
    const c = connectClient(ctx);
    await drive(ctx, () => c.state === 'ESTABLISHED' && acceptedConn?.state === 'ESTABLISHED');
    ctx.notes.push(`client ${c.state}, server ${acceptedConn ? acceptedConn.state : 'accepted no connection (its SYN-RECEIVED entry was dropped)'}`);
  },

  async 'four-way-close'(ctx) {
    await clientClosesFirst(ctx);
    await settle(ctx);
  },

  async 'three-way-close'(ctx) {
    listen(ctx);
    const c = connectClient(ctx);
    await drive(ctx, () => c.state === 'ESTABLISHED' && acceptedConn !== null);
    c.tcp.shutdown(ctx.net.now); c.service();
    await drive(ctx, () => acceptedConn!.state === 'LAST-ACK', () => {
      const s = acceptedConn!;
      if (s.state === 'CLOSE-WAIT') { s.tcp.shutdown(ctx.net.now); s.service(); } // closes at once: FIN+ACK merged
    });
    await settle(ctx);
  },

  async 'simultaneous-open'(ctx) {
    // No listener: both sides actively open toward each other's fixed port at the same moment.
    const cport = 40001;
    const a = ctx.client.connect({ host: SERVER, port: ctx.port, localPort: cport });
    ctx.rec.clientPort = cport;
    const b = ctx.server.connect({ host: CLIENT, port: cport, localPort: ctx.port });
    await drive(ctx, () => a.state === 'ESTABLISHED' && b.state === 'ESTABLISHED');
    ctx.notes.push(`client ${a.state}, server ${b.state}`);
  },

  async 'simultaneous-close'(ctx) {
    listen(ctx);
    const c = connectClient(ctx);
    await drive(ctx, () => c.state === 'ESTABLISHED' && acceptedConn?.state === 'ESTABLISHED');
    const s = acceptedConn!;
    const now = ctx.net.now;
    c.tcp.shutdown(now); s.tcp.shutdown(now);
    c.service(); s.service();
    await settle(ctx);
  },

  async 'half-close'(ctx) {
    listen(ctx);
    const c = connectClient(ctx);
    await drive(ctx, () => c.state === 'ESTABLISHED' && acceptedConn !== null);
    const req = new TextEncoder().encode('GET /report HTTP/1.0\r\n\r\n');
    c.tcp.send(req, ctx.net.now);
    c.tcp.shutdown(ctx.net.now); // request done: half-close
    c.service();
    const reply = new Uint8Array(6000).fill(0x2e);
    let sent = 0, got = 0, closed = false;
    await drive(ctx, () => closed && c.state === 'TIME-WAIT', () => {
      const s = acceptedConn!;
      while (s.tcp.readableLength) s.tcp.read();
      // The server keeps sending after it got the client's FIN, then closes its half.
      if (s.state === 'CLOSE-WAIT' && sent < reply.length) { sent += s.tcp.send(reply.subarray(sent), ctx.net.now); s.service(); }
      if (s.state === 'CLOSE-WAIT' && sent === reply.length && !closed) { s.tcp.shutdown(ctx.net.now); s.service(); closed = true; }
      while (c.tcp.readableLength) { got += c.tcp.read().length; c.service(); }
    });
    await settle(ctx);
    ctx.notes.push(`client received ${got} bytes after its own FIN (in FIN-WAIT-2)`);
  },

  async 'rst-abort'(ctx) {
    listen(ctx);
    const c = connectClient(ctx);
    await drive(ctx, () => c.state === 'ESTABLISHED' && acceptedConn?.state === 'ESTABLISHED');
    const s = acceptedConn!;
    c.tcp.abort(ctx.net.now); c.service();
    await settle(ctx);
    ctx.notes.push(`server error: ${s.tcp.error?.code ?? 'none'}`);
  },

  async 'rst-unread-data'(ctx) {
    listen(ctx);
    const c = connectClient(ctx);
    await drive(ctx, () => c.state === 'ESTABLISHED' && acceptedConn?.state === 'ESTABLISHED');
    const s = acceptedConn!;
    s.tcp.send(new TextEncoder().encode('unsolicited data the client never reads'), ctx.net.now); s.service();
    await drive(ctx, () => c.tcp.readableLength > 0 && s.tcp.bytesInFlight === 0);
    c.tcp.close(ctx.net.now); c.service(); // close(2) with unread data
    await settle(ctx);
    ctx.notes.push(`server error: ${s.tcp.error?.code ?? 'none'}`);
  },

  async refused(ctx) {
    const c = connectClient(ctx);
    await settle(ctx);
    ctx.notes.push(`client error: ${c.tcp.error?.code ?? 'none'}; server NoPortRsts=${ctx.server.counters.NoPortRsts}`);
  },

  async 'syn-flood'(ctx) {
    const backlog = 16;
    listen(ctx, backlog);
    const prng = new Prng((ctx.opts.seed ?? 1) * 7 + 3);
    const flood = 2000;
    const sa = new Uint8Array(4);
    for (let i = 0; i < flood; i++) {
      // Spoofed sources in 198.18.0.0/15 (RFC 2544 benchmarking space); their SYN+ACKs go nowhere.
      sa[0] = 198; sa[1] = 18 + (prng.nextU32() & 1); sa[2] = prng.nextU32() & 0xff; sa[3] = prng.nextU32() & 0xff;
      const syn: TcpSegment = { srcPort: 1024 + (prng.nextU32() % 60000), dstPort: ctx.port, seq: prng.nextU32(), ack: 0, flags: SYN, window: 65535, urgent: 0, options: { mss: 1460 }, payload: EMPTY };
      const pkt = encodeTcpPacket({ src: sa, dst: ctx.rec.serverAddr }, syn);
      // The first few hundred go into the capture too, so a pcap of the demo shows the flood it survived.
      if (i < 300) ctx.rec.onPacket(pkt, ctx.net.now, 'injected');
      ctx.server.receive(pkt);
    }
    const c = connectClient(ctx);
    let got = '';
    await drive(ctx, () => got.length > 0, () => {
      if (acceptedConn && acceptedConn.tcp.readableLength) got = new TextDecoder().decode(acceptedConn.tcp.read());
      if (c.state === 'ESTABLISHED' && c.tcp.sendQueued === 0 && !got) { c.tcp.send(new TextEncoder().encode('hello through a cookie'), ctx.net.now); c.service(); }
    }, 60_000);
    const k = ctx.server.counters;
    ctx.notes.push(`${flood} spoofed SYNs; SYN queue held ${backlog}; SyncookiesSent=${k.SyncookiesSent} SyncookiesRecv=${k.SyncookiesRecv} SyncookiesFailed=${k.SyncookiesFailed}`);
    ctx.notes.push(`client ${c.state}; server read: ${JSON.stringify(got)}`);
  },

  async 'invalid-flags'(ctx) {
    listen(ctx);
    const c = connectClient(ctx);
    await drive(ctx, () => c.state === 'ESTABLISHED' && acceptedConn?.state === 'ESTABLISHED');
    const combos: Array<[string, number]> = [
      ['SYN+FIN', SYN | FIN], ['SYN+RST', SYN | RST], ['FIN+RST', FIN | RST | ACK], ['NULL', 0], ['FIN without ACK', FIN], ['Xmas', FIN | PSH | URG],
    ];
    // Inject each combination into the live connection, as if from the client, in its window, 1 ms apart.
    let injected = 0;
    combos.forEach(([, flags], i) => {
      ctx.server.schedule(ctx.net.now + 1 + i, () => {
        const seg: TcpSegment = { srcPort: c.localPort, dstPort: ctx.port, seq: c.tcp.sndNxt, ack: c.tcp.rcvNxt, flags, window: 1024, urgent: 0, options: {}, payload: EMPTY };
        const pkt = encodeTcpPacket({ src: ctx.rec.clientAddr, dst: ctx.rec.serverAddr }, seg);
        ctx.rec.onPacket(pkt, ctx.net.now, 'injected');
        ctx.server.receive(pkt);
        ctx.rec.finalize();
        injected++;
      });
    });
    await drive(ctx, () => injected === combos.length);
    const f = ctx.server.stats.invalidFlags;
    const key = ['syn-fin', 'syn-rst', 'fin-rst', 'null', 'fin-no-ack', 'xmas'] as const;
    ctx.notes.push(`dropped and counted: ${combos.map(([n], i) => `${n}=${f[key[i]!]}`).join(' ')}`);
    ctx.notes.push(`connection still ${acceptedConn!.state}`);
    c.tcp.shutdown(ctx.net.now); c.service();
    await drive(ctx, () => acceptedConn!.state === 'CLOSE-WAIT');
    acceptedConn!.tcp.shutdown(ctx.net.now); acceptedConn!.service();
    await settle(ctx);
  },

  async 'lossy-transfer'(ctx) {
    listen(ctx);
    const c = connectClient(ctx);
    const total = 64 * 1024;
    const data = new Uint8Array(total);
    for (let i = 0; i < total; i++) data[i] = (i * 31) & 0xff;
    let sent = 0, got = 0, ok = true;
    await drive(ctx, () => c.state === 'TIME-WAIT' || c.state === 'CLOSED', () => {
      if (c.state === 'ESTABLISHED' && sent < total) { sent += c.tcp.send(data.subarray(sent), ctx.net.now); if (sent === total) c.tcp.shutdown(ctx.net.now); c.service(); }
      const s = acceptedConn;
      if (s) {
        while (s.tcp.readableLength) { const b = s.tcp.read(); for (let i = 0; i < b.length; i++) if (b[i] !== data[got + i]) ok = false; got += b.length; s.service(); }
        if (s.state === 'CLOSE-WAIT') { s.tcp.shutdown(ctx.net.now); s.service(); }
      }
    });
    await settle(ctx);
    ctx.notes.push(`delivered ${got}/${total} bytes ${ok && got === total ? 'intact' : 'CORRUPTED'}; client RetransSegs=${ctx.client.stats.RetransSegs} TCPFastRetrans=${ctx.client.stats.TCPFastRetrans} TCPTimeouts=${ctx.client.stats.TCPTimeouts}`);
  },

  async 'why-three-way'(ctx) {
    listen(ctx);
    const port = 40100;
    ctx.rec.clientPort = port;
    // A SYN this client sent long ago (an earlier attempt from the same port, since abandoned), held up in the
    // network: it reaches the server now, when the client has no connection at all.
    const oldIss = new Prng((ctx.opts.seed ?? 1) * 13 + 5).nextU32();
    const syn: TcpSegment = { srcPort: port, dstPort: ctx.port, seq: oldIss, ack: 0, flags: SYN, window: 65535, urgent: 0, options: { mss: 1460 }, payload: EMPTY };
    const pkt = encodeTcpPacket({ src: ctx.rec.clientAddr, dst: ctx.rec.serverAddr }, syn);
    ctx.rec.onPacket(pkt, ctx.net.now, 'injected', 'old duplicate SYN, delayed in the network');
    ctx.server.receive(pkt);
    ctx.rec.finalize();
    // The client answers the unexpected SYN+ACK with RST (§3.10.7.1); the server drops its SYN-RECEIVED entry.
    await drive(ctx, () => false, () => {}, 500);
    const halfOpen = [...ctx.server.allConnections()].filter((x) => x.remotePort === port).length;
    ctx.notes.push(`after the RST the server holds ${halfOpen} connection(s) for the old SYN: no half-open connection`);
    // Later the client really connects, from the same port: an ordinary handshake.
    const c = connectClient(ctx, port);
    await drive(ctx, () => c.state === 'ESTABLISHED' && acceptedConn?.state === 'ESTABLISHED');
    ctx.notes.push(`the real connection: client ${c.state}, server ${acceptedConn ? acceptedConn.state : 'accepted nothing'}`);
    ctx.notes.push('with a two-way handshake (SYN, SYN+ACK) the server would have been ESTABLISHED on the old SYN at once, holding a connection nobody opened: see the ladder beside');
  },

  async 'why-time-wait'(ctx) {
    const now = () => ctx.net.now;
    await clientClosesFirst(ctx, (closeAt) => {
      // From the moment the server sends its FIN until the client's ACK of it has left, client → server loses
      // everything: exactly that one ACK.
      ctx.net.impair(ctx.client, ctx.server, { loss: 1 });
      ctx.client.schedule(closeAt + (ctx.opts.delayMs ?? 10) + 0.5, () => ctx.net.impair(ctx.client, ctx.server, { loss: 0 }));
    });
    let reAcked = -1;
    await drive(ctx, () => false, () => { if (reAcked < 0 && acceptedConn!.state === 'CLOSED') reAcked = now(); });
    const closedAt = ctx.rec.changes.find((x) => x.side === 'a' && x.to === 'CLOSED')?.time;
    ctx.notes.push(`client left TIME-WAIT at ${closedAt} ms: 2·MSL (${2 * (ctx.opts.tcp?.msl ?? 30_000)} ms) after the retransmitted FIN it re-ACKed, not after the first`);
    ctx.notes.push(`server error: ${acceptedConn!.tcp.error?.code ?? 'none'} (it closed properly thanks to the second ACK)`);
  },

  async 'why-2msl'(ctx) { await oldSegment(ctx, false); },
  async 'why-2msl-kept'(ctx) { await oldSegment(ctx, true); },

  async 'never-closes'(ctx) {
    listen(ctx);
    const c = connectClient(ctx);
    await drive(ctx, () => c.state === 'ESTABLISHED' && acceptedConn !== null);
    c.tcp.close(ctx.net.now); c.service(); // close(2): the client is done and will never read again (orphaned)
    await drive(ctx, () => c.state === 'CLOSED');
    const s = acceptedConn!;
    // Much later the server's application, which never closed, writes a reply.
    const at = ctx.net.now + 5000;
    ctx.server.schedule(at, () => { s.tcp.send(new TextEncoder().encode('late reply'), ctx.net.now); s.service(); });
    await settle(ctx);
    ctx.notes.push(`client: FIN-WAIT-2 timed out after ${(ctx.opts.tcp?.finWait2Timeout ?? 60_000) / 1000} s (orphaned: close() was called)`);
    ctx.notes.push(`server error: ${s.tcp.error?.code ?? 'none'}; client RSTs for no connection: ${ctx.client.counters.NoPortRsts}`);
  },

  async 'syn-flood-no-defence'(ctx) {
    listen(ctx, 16);
    const stopAt = ctx.net.now + 140_000;
    const flood = floodFrom(ctx, () => randomSource(ctx), 25, 50, stopAt, 'spoofed sources');
    // The real client comes while the flood is on.
    await drive(ctx, () => ctx.net.now >= 500);
    const c = connectClient(ctx);
    await drive(ctx, () => c.state === 'CLOSED' && c.tcp.error !== undefined, () => {}, 150_000);
    const k = ctx.server.counters;
    ctx.notes.push(`${flood.sent()} spoofed SYNs (the first 300 drawn) in ${(stopAt / 1000).toFixed(0)} s against backlog 16, SYN cookies off: ListenDrops=${k.ListenDrops}`);
    ctx.notes.push(`client ${c.state}, error ${c.tcp.error?.code ?? 'none'} after ${ctx.client.stats.RetransSegs} SYN retransmissions`);
  },

  async 'syn-flood-rate-limit'(ctx) {
    listen(ctx, 16);
    const flooder = new Uint8Array([198, 18, 0, 66]);
    const stopAt = ctx.net.now + 20_000;
    const flood = floodFrom(ctx, () => flooder, 25, 50, stopAt, 'one flooding source');
    await drive(ctx, () => ctx.net.now >= 2000);
    const c = connectClient(ctx);
    let got = '';
    await drive(ctx, () => got.length > 0, () => {
      if (acceptedConn && acceptedConn.tcp.readableLength) got = new TextDecoder().decode(acceptedConn.tcp.read());
      if (c.state === 'ESTABLISHED' && c.tcp.sendQueued === 0 && !got) { c.tcp.send(new TextEncoder().encode('hello past the flood'), ctx.net.now); c.service(); }
    }, 60_000);
    const k = ctx.server.counters;
    ctx.notes.push(`${flood.sent()} SYNs (the first 300 drawn) from ${formatAddress(flooder)}, SYN cookies off, 1 SYN/s per source: SynRateDrops=${k.SynRateDrops}, ListenOverflows=${k.ListenOverflows}`);
    ctx.notes.push(`client ${c.state}; server read: ${JSON.stringify(got)}`);
  },

  async 'half-open'(ctx) {
    listen(ctx);
    const c = connectClient(ctx);
    await drive(ctx, () => c.state === 'ESTABLISHED' && acceptedConn?.state === 'ESTABLISHED');
    const s = acceptedConn!;
    const crashAt = ctx.net.now + 100;
    ctx.server.schedule(crashAt, () => {
      // The server host goes down and comes back: its connections are gone and nothing reached the wire
      // meanwhile (the aborts below are what a dead host never sends).
      ctx.rec.stopped = true;
      ctx.net.impair(ctx.server, ctx.client, { loss: 1 });
      ctx.server.destroy();
      ctx.net.impair(ctx.server, ctx.client, { loss: 0 });
      ctx.rec.stopped = false;
      ctx.rec.changes.push({ time: ctx.net.now, side: 'b', from: 'ESTABLISHED', to: 'CLOSED', cause: 'host restart' });
      ctx.rec.stateB = 'CLOSED';
      ctx.rec.statesB.push('CLOSED');
      listen(ctx); // the service is back, listening; the old connection is unknown to it
    });
    const sendAt = crashAt + 1000;
    ctx.client.schedule(sendAt, () => { c.tcp.send(new TextEncoder().encode('are you there?'), ctx.net.now); c.service(); });
    await drive(ctx, () => c.state === 'CLOSED');
    await settle(ctx);
    ctx.notes.push(`server before the restart: ${s.state === 'CLOSED' ? 'ESTABLISHED (forgotten at the restart)' : s.state}`);
    ctx.notes.push(`client error: ${c.tcp.error?.code ?? 'none'}`);
  },

  async 'blind-rst-793'(ctx) { await blindRst(ctx); },
  async 'blind-rst-5961'(ctx) { await blindRst(ctx); },

  async http(ctx) {
    const [{ default: http }, { Server }, { Socket }] = await Promise.all([import('node:http'), import('../stack/server.js'), import('../stack/socket.js')]);
    const httpServer = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('hello from node:http on synack\n')); });
    const srv = new Server(ctx.server, {}, (s) => httpServer.emit('connection', s));
    srv.listen(ctx.port);
    let body = '', status = 0, done = false;
    const req = http.request({
      method: 'GET', path: '/', host: SERVER, port: ctx.port, headers: { connection: 'close' },
      createConnection: () => { const s = Socket.connect(ctx.client, { host: SERVER, port: ctx.port }); ctx.rec.clientPort = s.localPort ?? 0; return s as unknown as import('node:net').Socket; },
    }, (res) => { status = res.statusCode ?? 0; res.setEncoding('utf8'); res.on('data', (d: string) => { body += d; }); res.on('end', () => { done = true; }); });
    req.on('error', (e) => { body = String(e); done = true; });
    req.end();
    await ctx.net.runUntil(() => done, 60_000);
    await ctx.net.runUntil(() => false, 200_000);
    httpServer.close();
    srv.close();
    ctx.notes.push(`HTTP ${status}: ${JSON.stringify(body.trim())}`);
  },
};

/** A spoofed source in 198.18.0.0/15 (RFC 2544 benchmarking space): its SYN+ACKs go nowhere. */
function randomSource(ctx: Ctx): Uint8Array {
  const prng = floodPrng(ctx);
  return new Uint8Array([198, 18 + (prng.nextU32() & 1), prng.nextU32() & 0xff, prng.nextU32() & 0xff]);
}
const floodPrngs = new WeakMap<Ctx, Prng>();
function floodPrng(ctx: Ctx): Prng {
  let p = floodPrngs.get(ctx);
  if (!p) { p = new Prng((ctx.opts.seed ?? 1) * 7 + 3); floodPrngs.set(ctx, p); }
  return p;
}

/** A flood: `burst` SYNs every `everyMs` from `source()` until `stopAt`; the first 300 go into the trace. */
function floodFrom(ctx: Ctx, source: () => Uint8Array, burst: number, everyMs: number, stopAt: number, note: string): { sent(): number } {
  let sent = 0;
  const prng = floodPrng(ctx);
  const fire = (): void => {
    for (let i = 0; i < burst; i++) {
      const syn: TcpSegment = { srcPort: 1024 + (prng.nextU32() % 60000), dstPort: ctx.port, seq: prng.nextU32(), ack: 0, flags: SYN, window: 65535, urgent: 0, options: { mss: 1460 }, payload: EMPTY };
      const pkt = encodeTcpPacket({ src: source(), dst: ctx.rec.serverAddr }, syn);
      if (sent < 300) ctx.rec.onPacket(pkt, ctx.net.now, 'injected', note);
      sent++;
      ctx.server.receive(pkt);
    }
    ctx.rec.finalize();
    if (ctx.net.now + everyMs < stopAt) ctx.server.schedule(ctx.net.now + everyMs, fire);
  };
  fire();
  return { sent: () => sent };
}

/**
 * Why 2·MSL, reason two (RFC 9293 §3.4.1, RFC 1337): the first connection sends 64 KiB; a copy of one of its data
 * segments is held up in the network. The client closes first (its TIME-WAIT guards the four-tuple) and connects
 * again from the same port; the copy arrives 40 ms after the close. With TIME-WAIT at zero the new connection
 * already exists and the copy's bytes, which span the new RCV.NXT, are accepted as the new stream's first bytes.
 */
async function oldSegment(ctx: Ctx, keepTimeWait: boolean): Promise<void> {
  listen(ctx);
  const port = 40200;
  const first = connectClient(ctx, port);
  const old = new Uint8Array(64 * 1024);
  const OLD = new TextEncoder().encode('OLD DATA ');
  for (let i = 0; i < old.length; i++) old[i] = OLD[i % OLD.length]!;
  const copies: Array<{ seq: number; len: number; pkt: Uint8Array }> = [];
  const unobserve = ctx.client.observePackets((dir, pkt) => {
    if (dir !== 'out') return;
    try { const d = decodePacket(pkt); if (d.tcp && d.tcp.seg.payload.length) copies.push({ seq: d.tcp.seg.seq, len: d.tcp.seg.payload.length, pkt: pkt.slice() }); } catch { /* not ours */ }
  });
  let sent = 0;
  await drive(ctx, () => first.state === 'FIN-WAIT-2' || first.state === 'TIME-WAIT' || first.state === 'CLOSED', () => {
    if (first.state === 'ESTABLISHED' && sent < old.length) { sent += first.tcp.send(old.subarray(sent), ctx.net.now); if (sent === old.length) first.tcp.shutdown(ctx.net.now); first.service(); }
    const s = acceptedConn;
    if (s) { while (s.tcp.readableLength) s.tcp.read(); if (s.state === 'CLOSE-WAIT') { s.tcp.shutdown(ctx.net.now); s.service(); } }
  });
  unobserve();
  // The recorder's state, not the connection object's: a connection in TIME-WAIT moves to the stack's compact
  // table, which reports its end as a transition.
  await drive(ctx, () => ctx.rec.stateA === 'TIME-WAIT' || ctx.rec.stateA === 'CLOSED');
  const closedAt = ctx.net.now;
  const arriveAt = closedAt + 40;
  let injected = false;
  let second: StackConnection | null = null;
  const fresh = new TextEncoder().encode('new data, second connection. '.repeat(200));
  let got = new Uint8Array(0);
  const inject = (): void => {
    // The copy that covers the new connection's RCV.NXT if there is one (with TIME-WAIT kept, any late one).
    const rcvNxt = second ? (second.tcp.iss + 1) >>> 0 : undefined;
    const pick = rcvNxt !== undefined ? copies.find((x) => ((rcvNxt - x.seq) | 0) >= 0 && ((rcvNxt - x.seq) | 0) < x.len) : copies[copies.length - 1];
    const chosen = pick ?? copies[copies.length - 1]!;
    ctx.rec.onPacket(chosen.pkt, ctx.net.now, 'injected', 'a copy from the first connection, delayed in the network');
    ctx.server.receive(chosen.pkt);
    ctx.rec.finalize();
    injected = true;
  };
  if (!keepTimeWait) {
    // TIME-WAIT is zero: the tuple is free at once and the client reconnects from the same port.
    await drive(ctx, () => ctx.rec.stateA === 'CLOSED');
    second = connectClient(ctx, port);
    ctx.server.schedule(arriveAt, inject);
  } else {
    ctx.server.schedule(arriveAt, inject);
    await drive(ctx, () => ctx.rec.stateA === 'CLOSED');
    second = connectClient(ctx, port);
  }
  let sentNew = 0;
  const s0 = acceptedConn;
  await drive(ctx, () => injected && second!.state === 'TIME-WAIT' || second!.state === 'CLOSED' && injected, () => {
    const c2 = second!;
    const s = acceptedConn !== s0 ? acceptedConn : null;
    // The client sends its new message once the old copy has had its chance to arrive.
    if (c2.state === 'ESTABLISHED' && injected && sentNew < fresh.length) { sentNew += c2.tcp.send(fresh.subarray(sentNew), ctx.net.now); if (sentNew === fresh.length) c2.tcp.shutdown(ctx.net.now); c2.service(); }
    if (s) {
      while (s.tcp.readableLength) { const b = s.tcp.read(); const n = new Uint8Array(got.length + b.length); n.set(got); n.set(b, got.length); got = n; s.service(); }
      if (s.state === 'CLOSE-WAIT') { s.tcp.shutdown(ctx.net.now); s.service(); }
    }
  });
  await settle(ctx);
  let bad = 0;
  let firstBad = -1;
  for (let i = 0; i < Math.min(got.length, fresh.length); i++) if (got[i] !== fresh[i]) { bad++; if (firstBad < 0) firstBad = i; }
  const dec = new TextDecoder();
  if (bad === 0 && got.length === fresh.length) ctx.notes.push(`the second connection's ${got.length} bytes arrived intact: the old copy never landed in it`);
  else {
    ctx.notes.push(`CORRUPTED: ${bad} of the ${fresh.length} bytes the server read on the second connection are not what its client sent, from byte ${firstBad}`);
    ctx.notes.push(`server read ${JSON.stringify(dec.decode(got.subarray(Math.max(0, firstBad), firstBad + 36)))}… where the client sent ${JSON.stringify(dec.decode(fresh.subarray(Math.max(0, firstBad), firstBad + 36)))}…`);
  }
  ctx.notes.push(keepTimeWait ? `TIME-WAIT 2·MSL = ${2 * (ctx.opts.tcp?.msl ?? 500)} ms: the copy arrived ${arriveAt - closedAt} ms after the close, inside it` : `TIME-WAIT 0 ms: the client reconnected from port ${port} at once; the copy arrived ${arriveAt - closedAt} ms after the close`);
}

/**
 * A blind in-window RST (RFC 5961 §3.1): the attacker knows the four-tuple (the server's port, and a client port it
 * learnt or guessed) but not the sequence numbers; it guesses one 1000 bytes into the server's window.
 */
async function blindRst(ctx: Ctx): Promise<void> {
  listen(ctx);
  const c = connectClient(ctx);
  await drive(ctx, () => c.state === 'ESTABLISHED' && acceptedConn?.state === 'ESTABLISHED');
  const s = acceptedConn!;
  const at = ctx.net.now + 50;
  ctx.server.schedule(at, () => {
    const rst: TcpSegment = { srcPort: c.localPort, dstPort: ctx.port, seq: (s.tcp.rcvNxt + 1000) >>> 0, ack: 0, flags: RST, window: 0, urgent: 0, options: {}, payload: EMPTY };
    const pkt = encodeTcpPacket({ src: ctx.rec.clientAddr, dst: ctx.rec.serverAddr }, rst);
    ctx.rec.onPacket(pkt, ctx.net.now, 'injected', 'seq = RCV.NXT+1000: in the window, not at RCV.NXT', `attacker spoofing ${CLIENT}`);
    ctx.server.receive(pkt);
    ctx.rec.finalize();
  });
  let got = '';
  ctx.client.schedule(at + 100, () => { c.tcp.send(new TextEncoder().encode('still there?'), ctx.net.now); c.service(); });
  await drive(ctx, () => got.length > 0 || c.state === 'CLOSED', () => {
    if (s.tcp.readableLength) got = new TextDecoder().decode(s.tcp.read());
  }, 10_000);
  await drive(ctx, () => false, () => {}, 1000);
  ctx.notes.push(`server after the RST: ${ctx.rec.statesB.includes('CLOSED') ? 'CLOSED (reset by the blind RST)' : s.state}; challenge ACKs sent: ${ctx.server.stats.TCPChallengeACK ?? 0}`);
  ctx.notes.push(got ? `server read ${JSON.stringify(got)}: the connection survived` : `client ${c.state}, error ${c.tcp.error?.code ?? 'none'}: its data drew a RST from a server that had forgotten the connection`);
}

/** Per-scenario engine and stack settings (client and server may differ). */
const SETUP: Record<string, { client?: Partial<TcpConfig>; server?: Partial<TcpConfig>; serverStack?: { syncookies?: boolean; synRatePerSource?: number } }> = {
  'why-2msl': { client: { msl: 0, timestamps: false }, server: { msl: 500, timestamps: false } },
  'why-2msl-kept': { client: { msl: 500, timestamps: false }, server: { msl: 500, timestamps: false } },
  'syn-flood-no-defence': { serverStack: { syncookies: false } },
  'blind-rst-793': { server: RFC793_RULES },
  'syn-flood-rate-limit': { serverStack: { syncookies: false, synRatePerSource: 1 } },
};

export async function runScenario(name: string, opts: ScenarioOptions = {}): Promise<ScenarioResult> {
  const info = SCENARIOS.find((s) => s.name === name);
  const runner = RUNNERS[name];
  if (!info || !runner) throw new Error(`unknown scenario '${name}' (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  const loss = opts.loss ?? (name === 'lossy-transfer' ? 0.1 : 0);
  const net = new Network({ seed: opts.seed ?? 1, delayMs: opts.delayMs ?? 10, impairments: loss ? { loss } : {} });
  const tcp: Partial<TcpConfig> = { msl: 30_000, ...opts.tcp };
  const setup = SETUP[name] ?? {};
  const server = net.addStack({ name: 'server', addresses: [SERVER], tcp: { ...tcp, ...setup.server }, ...setup.serverStack });
  const client = net.addStack({ name: 'client', addresses: [CLIENT], tcp: { ...tcp, ...setup.client } });
  installSynCookies(server); // the server is a host as in Node (the syn-flood scenarios show its defence)
  const port = opts.port ?? 80;
  const listens = name !== 'refused' && name !== 'simultaneous-open';
  const rec = new Recorder(net, client, server, port, listens);
  const ctx: Ctx = { net, client, server, rec, port, notes: [], opts };
  const t0 = net.now;
  await runner(ctx);
  rec.finalize();
  rec.stopped = true;
  const result: ScenarioResult = {
    name, title: info.title, description: info.description, trace: rec.trace(info.title), packets: rec.sortedPackets(),
    clientStates: rec.statesA, serverStates: rec.statesB, notes: ctx.notes, client, server, duration: net.now - t0,
  };
  if (name === 'why-three-way') result.aside = twoWayAside(result.trace);
  net.close();
  return result;
}

export { formatAddress };

/**
 * The hypothetical two-way handshake beside why-three-way: the same old SYN, answered SYN+ACK, and the server
 * already ESTABLISHED (in a two-way handshake the SYN+ACK completes it). Built from the real run's first two
 * segments; the client never learns of it, so the server holds a connection nobody opened.
 */
function twoWayAside(real: Trace): { title: string; trace: Trace } {
  const [syn, synAck] = real.entries;
  const entries: TraceEntry[] = [];
  if (syn) entries.push({ time: syn.time, from: 'a', seg: syn.seg, stateB: 'ESTABLISHED', note: 'old duplicate SYN' });
  if (synAck) entries.push({ time: synAck.time, from: 'b', seg: synAck.seg, stateA: 'CLOSED', note: 'nobody expects it: ignored' });
  return {
    title: 'Hypothetical: a two-way handshake (TCP has none; not run)',
    trace: {
      title: 'If a SYN+ACK completed the handshake',
      a: real.a, b: real.b, entries,
      changes: [{ time: 0, side: 'b', from: 'CLOSED', to: 'LISTEN', cause: 'listen()' }],
    },
  };
}
