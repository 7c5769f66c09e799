/**
 * Runs a lab scenario on two real synack stacks in virtual time (in the page's Web Worker, or in Node for
 * tests) and returns what the page shows: the neutral Trace, the raw packets (for pcapng and the packet
 * detail pane) and the notes. Two kinds: a seed scenario from src/link/scenarios.ts, or one the user built
 * (who closes first and when, per-direction impairments, backlog and SYN flood, invalid segments, options).
 */
import { runScenario, SCENARIOS } from '../../src/link/scenarios.js';
import { Network } from '../../src/link/network.js';
import { Prng } from '../../src/link/prng.js';
import { installSynCookies } from '../../src/stack/syn-cookies.js';
import type { Stack, StackConnection } from '../../src/stack/stack.js';
import { RFC793_RULES, type TcpConfig } from '../../src/tcp/config.js';
import { decodePacket, encodeTcpPacket } from '../../src/wire/packet.js';
import { addressEquals, parseAddress } from '../../src/wire/address.js';
import { ACK, EMPTY, FIN, PSH, RST, SYN, URG, type TcpSegment } from '../../src/wire/tcp-types.js';
import type { Trace, TraceEntry, TraceStateChange, TcpStateName } from '../../src/wire/trace.js';

export interface LabPacket {
  time: number;
  from: 'a' | 'b' | 'x';
  bytes: Uint8Array;
  fate: string;
}

/** What a run hands to the page: everything structured-clonable (no stacks, no functions). */
export interface LabRun {
  name: string;
  title: string;
  description: string;
  trace: Trace;
  /** Raw IP datagram of each trace entry (same index), for the packet detail pane; null when unknown. */
  raw: Array<Uint8Array | null>;
  packets: LabPacket[];
  notes: string[];
  clientStates: TcpStateName[];
  serverStates: TcpStateName[];
  duration: number;
  /** A hypothetical alternative drawn beside the run (see ScenarioResult.aside). */
  aside?: { title: string; trace: Trace };
  /** A packetdrill run's verdict (drill-run.ts). */
  drill?: { result: 'pass' | 'fail' | 'unsupported'; line?: number; reason?: string };
}

export interface LabOptionToggles {
  timestamps: boolean;
  sack: boolean;
  windowScaling: boolean;
  /** RFC 793's original RST/SYN/ACK rules on both stacks instead of RFC 5961's (a blind in-window RST resets). */
  rfc793?: boolean;
}

export interface SeedRunOptions extends LabOptionToggles {
  seed: number;
  loss?: number;
  delayMs?: number;
}

/** The scenarios the page can run (the `http` one needs node:http). */
export const BROWSER_SCENARIOS = SCENARIOS.filter((s) => !s.nodeOnly);

export function tcpConfigOf(t: LabOptionToggles): Partial<TcpConfig> {
  return { timestamps: t.timestamps, sack: t.sack, windowScaling: t.windowScaling, ...(t.rfc793 ? RFC793_RULES : {}) };
}

export async function runSeedScenario(name: string, o: SeedRunOptions): Promise<LabRun> {
  const info = BROWSER_SCENARIOS.find((s) => s.name === name);
  if (!info) throw new Error(`unknown scenario '${name}' for the page (known: ${BROWSER_SCENARIOS.map((s) => s.name).join(', ')})`);
  const r = await runScenario(name, { seed: o.seed, loss: o.loss, delayMs: o.delayMs, tcp: tcpConfigOf(o) });
  return {
    name: r.name, title: r.title, description: r.description, trace: r.trace, raw: matchRaw(r.trace, r.packets),
    packets: r.packets.map((p) => ({ time: p.time, from: p.from, bytes: p.bytes, fate: p.fate })),
    notes: r.notes, clientStates: r.clientStates, serverStates: r.serverStates, duration: r.duration,
    ...(r.aside ? { aside: r.aside } : {}),
  };
}

/**
 * Finds each trace entry's datagram among the recorded packets: same send time, sender and segment
 * fields (a duplicate delivery reuses its original's bytes).
 */
export function matchRaw(trace: Trace, packets: LabPacket[]): Array<Uint8Array | null> {
  const byKey = new Map<string, Uint8Array>();
  for (const p of packets) {
    try {
      const d = decodePacket(p.bytes);
      if (!d.tcp) continue;
      byKey.set(keyOf(p.time, p.from === 'b' ? 'b' : 'a', d.tcp.seg), p.bytes);
    } catch { /* a corrupted datagram that no longer decodes: no detail for it */ }
  }
  return trace.entries.map((e) => byKey.get(keyOf(e.time, e.from, e.seg)) ?? null);
}

function keyOf(time: number, from: 'a' | 'b', s: TcpSegment): string {
  return `${time}|${from}|${s.srcPort}|${s.dstPort}|${s.seq}|${s.ack}|${s.flags}|${s.payload.length}`;
}

// ---------------------------------------------------------------------------------------------------------
// Scenarios built in the page
// ---------------------------------------------------------------------------------------------------------

export interface DirectionSpec {
  /** Loss probability, [0, 1). */
  loss: number;
  /** One-way delay, ms. */
  delayMs: number;
  /** Probability a packet is held back (reorderDelayMs = 3 × delay) so later ones overtake it. */
  reorder: number;
}

export type Closer = 'client' | 'server' | 'both' | 'client-abort' | 'server-abort' | 'none';

export const INVALID_COMBOS: ReadonlyArray<{ key: string; label: string; flags: number }> = [
  { key: 'syn-fin', label: 'SYN+FIN', flags: SYN | FIN },
  { key: 'syn-rst', label: 'SYN+RST', flags: SYN | RST },
  { key: 'fin-rst', label: 'FIN+RST', flags: FIN | RST | ACK },
  { key: 'null', label: 'NULL (no flags)', flags: 0 },
  { key: 'fin-no-ack', label: 'FIN without ACK', flags: FIN },
  { key: 'xmas', label: 'Xmas (FIN+PSH+URG)', flags: FIN | PSH | URG },
];

export interface LabSpec extends LabOptionToggles {
  seed: number;
  /** Who closes first (or aborts with RST), or nobody. */
  closer: Closer;
  /** When the first close happens, ms after the connection is established. */
  closeAtMs: number;
  /** How long the other side's application waits after seeing EOF before it closes too (0: at once, so its FIN can carry the ACK). */
  peerCloseDelayMs: number;
  /** Bytes each side sends after the handshake. */
  clientBytes: number;
  serverBytes: number;
  c2s: DirectionSpec;
  s2c: DirectionSpec;
  /** Server listen backlog (SYN queue and accept queue bound). */
  backlog: number;
  /** Spoofed SYNs sent to the server's port before the client connects. */
  synFlood: number;
  /** Invalid flag combinations injected into the established connection (keys of INVALID_COMBOS). */
  invalid: string[];
}

export const DEFAULT_SPEC: LabSpec = {
  seed: 1, closer: 'client', closeAtMs: 50, peerCloseDelayMs: 100, clientBytes: 0, serverBytes: 0,
  c2s: { loss: 0, delayMs: 10, reorder: 0 }, s2c: { loss: 0, delayMs: 10, reorder: 0 },
  backlog: 128, synFlood: 0, invalid: [], timestamps: true, sack: true, windowScaling: true,
};

/** A bad field in a built scenario: the form shows `message` next to `field`. */
export class LabSpecError extends Error {
  constructor(readonly field: string, message: string) { super(message); this.name = 'LabSpecError'; }
}

const MAX_BYTES = 4 << 20;
const MAX_FLOOD = 20_000;

export function validateSpec(s: LabSpec): void {
  const num = (field: string, v: number, lo: number, hi: number, int = false): void => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (int && !Number.isInteger(v))) {
      throw new LabSpecError(field, `${field} must be ${int ? 'an integer' : 'a number'} in [${lo}, ${hi}], got ${v}`);
    }
  };
  num('seed', s.seed, 0, 2 ** 31, true);
  if (!['client', 'server', 'both', 'client-abort', 'server-abort', 'none'].includes(s.closer)) throw new LabSpecError('closer', `unknown closer '${s.closer}'`);
  num('closeAtMs', s.closeAtMs, 0, 60_000);
  num('peerCloseDelayMs', s.peerCloseDelayMs, 0, 60_000);
  num('clientBytes', s.clientBytes, 0, MAX_BYTES, true);
  num('serverBytes', s.serverBytes, 0, MAX_BYTES, true);
  for (const [d, v] of [['c2s', s.c2s], ['s2c', s.s2c]] as const) {
    num(`${d}.loss`, v.loss, 0, 0.9);
    num(`${d}.delayMs`, v.delayMs, 0, 10_000);
    num(`${d}.reorder`, v.reorder, 0, 1);
  }
  num('backlog', s.backlog, 1, 65_535, true);
  num('synFlood', s.synFlood, 0, MAX_FLOOD, true);
  for (const k of s.invalid) if (!INVALID_COMBOS.some((c) => c.key === k)) throw new LabSpecError('invalid', `unknown invalid segment '${k}'`);
}

const CLIENT = '10.0.0.1';
const SERVER = '10.0.0.2';
const PORT = 80;

/** Records the client↔server connection: packets, trace entries (with each side's state once the receiver has processed them), timer/user transitions. */
class LabRecorder {
  readonly packets: LabPacket[] = [];
  readonly entries: TraceEntry[] = [];
  readonly raw: Array<Uint8Array | null> = [];
  readonly changes: TraceStateChange[] = [];
  readonly statesA: TcpStateName[] = [];
  readonly statesB: TcpStateName[] = ['LISTEN'];
  stateA: TcpStateName = 'CLOSED';
  stateB: TcpStateName = 'LISTEN';
  clientPort = 0;
  isnA: number | undefined;
  isnB: number | undefined;
  stopped = false;
  private pending: TraceEntry | null = null;
  /**
   * A delivered packet is being processed: a loss the wire reports meanwhile (the receiver's reply) must not
   * settle its states, since the stack reports the transition it caused after sending that reply.
   */
  private delivering = false;
  readonly ca = parseAddress(CLIENT);
  readonly sa = parseAddress(SERVER);

  constructor(net: Network, client: Stack, server: Stack) {
    net.wire.observe((ev) => {
      this.onPacket(ev.bytes, ev.sentAt, ev.fate);
      if (ev.fate === 'delivered' || ev.fate === 'corrupted' || ev.fate === 'duplicate') this.delivering = true;
    });
    net.onDelivered = () => { this.delivering = false; this.finalize(); };
    const track = (side: 'a' | 'b') => (c: { localAddr: Uint8Array; localPort: number; remoteAddr: Uint8Array; remotePort: number },
      ev: { time: number; from: TcpStateName; to: TcpStateName; cause: { kind: string; call?: string; timer?: string } }) => {
      if (this.stopped) return;
      // connect() reports CLOSED → SYN-SENT before the caller learns its ephemeral port.
      const mine = side === 'a'
        ? (this.clientPort === 0 || c.localPort === this.clientPort) && c.remotePort === PORT && addressEquals(c.remoteAddr, this.sa)
        : this.clientPort !== 0 && c.localPort === PORT && c.remotePort === this.clientPort && addressEquals(c.remoteAddr, this.ca);
      if (!mine) return;
      if (side === 'b' && ev.to === 'LISTEN' && this.stateB === 'LISTEN') return; // the per-SYN TCB starting in LISTEN
      if (side === 'a') { this.stateA = ev.to; this.statesA.push(ev.to); } else { this.stateB = ev.to; this.statesB.push(ev.to); }
      if (ev.cause.kind !== 'segment') {
        this.changes.push({ time: ev.time, side, from: ev.from, to: ev.to, cause: ev.cause.kind === 'user' ? `${ev.cause.call}()` : `${ev.cause.timer} timer` });
      }
    };
    client.observeTransitions(track('a'));
    server.observeTransitions(track('b'));
  }

  onPacket(bytes: Uint8Array, sentAt: number, fate: string): void {
    if (!this.delivering) this.finalize();
    if (this.stopped || fate === 'unroutable') return;
    let seg: TcpSegment;
    let src: Uint8Array, dst: Uint8Array;
    try {
      const d = decodePacket(bytes);
      if (!d.tcp) return;
      seg = d.tcp.seg; src = d.ip.src; dst = d.ip.dst;
    } catch { return; }
    const fromA = addressEquals(src, this.ca) && addressEquals(dst, this.sa) && seg.srcPort === this.clientPort && seg.dstPort === PORT;
    const fromB = addressEquals(src, this.sa) && addressEquals(dst, this.ca) && seg.srcPort === PORT && seg.dstPort === this.clientPort;
    const from = fromA ? 'a' : fromB ? 'b' : 'x';
    if (fate !== 'duplicate') this.packets.push({ time: sentAt, from, bytes, fate });
    if (from === 'x') return;
    if (seg.flags & SYN && !(seg.flags & (RST | FIN))) {
      if (from === 'a') this.isnA ??= seg.seq; else this.isnB ??= seg.seq;
    }
    const lost = fate === 'lost' || fate === 'queue-drop';
    const e: TraceEntry = { time: sentAt, from, seg, lost };
    if (fate === 'duplicate') e.note = 'duplicate';
    if (fate === 'corrupted') e.note = 'corrupted: dropped by checksum';
    if (fate === 'injected') e.note = 'injected: dropped and counted';
    this.entries.push(e);
    this.raw.push(bytes);
    if (lost) { e.stateA = this.stateA; e.stateB = this.stateB; } else { this.finalize(); this.pending = e; }
  }

  finalize(): void {
    if (this.pending) { this.pending.stateA = this.stateA; this.pending.stateB = this.stateB; this.pending = null; }
  }

  trace(title: string): { trace: Trace; raw: Array<Uint8Array | null> } {
    this.finalize();
    // Entries are recorded when the wire reports them (losses at send time, deliveries at arrival): order by send time, stably.
    const idx = this.entries.map((_, i) => i).sort((x, y) => this.entries[x]!.time - this.entries[y]!.time || x - y);
    return {
      trace: {
        title,
        a: { addr: CLIENT, port: this.clientPort, label: 'client', isn: this.isnA },
        b: { addr: SERVER, port: PORT, label: 'server', isn: this.isnB },
        entries: idx.map((i) => this.entries[i]!),
        changes: this.changes,
      },
      raw: idx.map((i) => this.raw[i]!),
    };
  }
}

function describeSpec(s: LabSpec): string {
  const parts: string[] = [];
  const who = { client: 'the client closes first', server: 'the server closes first', both: 'both close at once', 'client-abort': 'the client aborts (RST)', 'server-abort': 'the server aborts (RST)', none: 'nobody closes' }[s.closer];
  parts.push(`${who} ${s.closer === 'none' ? '' : `${s.closeAtMs} ms after the handshake`}`.trim());
  if (s.clientBytes || s.serverBytes) parts.push(`client sends ${s.clientBytes} B, server ${s.serverBytes} B`);
  const dir = (n: string, d: DirectionSpec) => `${n}: delay ${d.delayMs} ms${d.loss ? `, loss ${d.loss}` : ''}${d.reorder ? `, reorder ${d.reorder}` : ''}`;
  parts.push(dir('client→server', s.c2s), dir('server→client', s.s2c));
  if (s.synFlood) parts.push(`${s.synFlood} spoofed SYNs, backlog ${s.backlog}`);
  if (s.invalid.length) parts.push(`injected: ${s.invalid.join(', ')}`);
  parts.push(`options: ${[s.timestamps && 'TS', s.sack && 'SACK', s.windowScaling && 'WS'].filter(Boolean).join(' ') || 'none'}`);
  if (s.rfc793) parts.push('RFC 793 rules (no RFC 5961)');
  return parts.join('; ');
}

/** Runs a scenario built in the page. Throws LabSpecError for a bad spec. */
export function runCustomScenario(spec: LabSpec): LabRun {
  validateSpec(spec);
  const net = new Network({ seed: spec.seed, delayMs: 10 });
  const tcp: Partial<TcpConfig> = { msl: 30_000, ...tcpConfigOf(spec) };
  const server = net.addStack({ name: 'server', addresses: [SERVER], tcp });
  const client = net.addStack({ name: 'client', addresses: [CLIENT], tcp });
  installSynCookies(server); // a host as in Node: a SYN flood past the backlog is answered with cookies
  const imp = (d: DirectionSpec) => ({ loss: d.loss, delayMs: d.delayMs, reorder: d.reorder, reorderDelayMs: Math.max(1, d.delayMs * 3) });
  net.impair(client, server, imp(spec.c2s));
  net.impair(server, client, imp(spec.s2c));
  const rec = new LabRecorder(net, client, server);
  const notes: string[] = [];
  let accepted: StackConnection | null = null;
  server.listen(PORT, { backlog: spec.backlog, onConnection: (c) => { accepted = c; } });

  if (spec.synFlood > 0) {
    // Spoofed sources in 198.18.0.0/15 (RFC 2544 benchmarking space): their SYN+ACKs go nowhere.
    const prng = new Prng(spec.seed * 7 + 3);
    const src = new Uint8Array(4);
    for (let i = 0; i < spec.synFlood; i++) {
      src[0] = 198; src[1] = 18 + (prng.nextU32() & 1); src[2] = prng.nextU32() & 0xff; src[3] = prng.nextU32() & 0xff;
      const syn: TcpSegment = { srcPort: 1024 + (prng.nextU32() % 60000), dstPort: PORT, seq: prng.nextU32(), ack: 0, flags: SYN, window: 65535, urgent: 0, options: { mss: 1460 }, payload: EMPTY };
      server.receive(encodeTcpPacket({ src, dst: rec.sa }, syn));
    }
  }

  const c = client.connect({ host: SERVER, port: PORT });
  rec.clientPort = c.localPort;
  const t0 = net.now;
  const cData = pattern(spec.clientBytes, 7);
  const sData = pattern(spec.serverBytes, 13);
  let cSent = 0, sSent = 0, cGot = 0, sGot = 0, cOk = true, sOk = true;
  let estAt = -1;
  let firstClosed = false;
  let peerCloseAt = Infinity;
  let peerClosed = false;
  let injected = 0;
  const closerIsClient = spec.closer === 'client' || spec.closer === 'client-abort';

  const tick = (): void => {
    const s = accepted as StackConnection | null;
    const now = net.now;
    if (estAt < 0 && c.state === 'ESTABLISHED' && s !== null) {
      estAt = now;
      spec.invalid.forEach((key, i) => {
        const combo = INVALID_COMBOS.find((x) => x.key === key)!;
        server.schedule(now + 1 + i, () => {
          // As if from the client, in its window: only the flags are wrong.
          const seg: TcpSegment = { srcPort: c.localPort, dstPort: PORT, seq: c.tcp.sndNxt, ack: c.tcp.rcvNxt, flags: combo.flags, window: 1024, urgent: 0, options: {}, payload: EMPTY };
          const pkt = encodeTcpPacket({ src: rec.ca, dst: rec.sa }, seg);
          rec.onPacket(pkt, net.now, 'injected');
          server.receive(pkt);
          rec.finalize();
          injected++;
        });
      });
    }
    if (estAt < 0 || s === null) return;
    // Applications: send what they have, read everything that arrives.
    if (cSent < cData.length && canSend(c.state)) { const n = c.tcp.send(cData.subarray(cSent), now); if (n) { cSent += n; c.service(); } }
    if (sSent < sData.length && canSend(s.state)) { const n = s.tcp.send(sData.subarray(sSent), now); if (n) { sSent += n; s.service(); } }
    while (s.tcp.readableLength) { const b = s.tcp.read(); for (let i = 0; i < b.length; i++) if (b[i] !== cData[sGot + i]) sOk = false; sGot += b.length; s.service(); }
    while (c.tcp.readableLength) { const b = c.tcp.read(); for (let i = 0; i < b.length; i++) if (b[i] !== sData[cGot + i]) cOk = false; cGot += b.length; c.service(); }
    const allSent = cSent === cData.length && sSent === sData.length;
    const injectedAll = injected === spec.invalid.length;
    if (!firstClosed && spec.closer !== 'none' && allSent && injectedAll && now >= estAt + spec.closeAtMs) {
      firstClosed = true;
      if (spec.closer === 'client-abort') { c.tcp.abort(now); c.service(); }
      else if (spec.closer === 'server-abort') { s.tcp.abort(now); s.service(); }
      else if (spec.closer === 'both') { c.tcp.shutdown(now); s.tcp.shutdown(now); c.service(); s.service(); peerClosed = true; }
      else { const me = closerIsClient ? c : s; me.tcp.shutdown(now); me.service(); }
    }
    if (firstClosed && !peerClosed && (spec.closer === 'client' || spec.closer === 'server')) {
      const peer = spec.closer === 'client' ? s : c;
      if (peer.state === 'CLOSE-WAIT' && peerCloseAt === Infinity) peerCloseAt = now + spec.peerCloseDelayMs;
      if (peer.state === 'CLOSE-WAIT' && now >= peerCloseAt) { peer.tcp.shutdown(now); peer.service(); peerClosed = true; }
    }
  };
  // Wake the applications at the moments they act (virtual time jumps straight to the next event otherwise).
  const wakeAt = (t: number) => { if (Number.isFinite(t) && t > net.now) server.schedule(t, () => {}); };

  const end = net.now + 600_000;
  let lastClose = -1, lastPeer = Infinity;
  for (let guard = 0; guard < 2_000_000; guard++) {
    tick();
    if (estAt >= 0 && !firstClosed && lastClose < 0) { lastClose = estAt + spec.closeAtMs; wakeAt(lastClose); }
    if (peerCloseAt !== lastPeer) { lastPeer = peerCloseAt; wakeAt(peerCloseAt); }
    if (!net.step()) { tick(); if (!net.step()) break; }
    if (net.now > end) { notes.push('stopped after 600 s of virtual time'); break; }
  }
  rec.finalize();
  rec.stopped = true;
  if (spec.synFlood) {
    const k = server.counters;
    notes.push(`${spec.synFlood} spoofed SYNs against backlog ${spec.backlog}: SyncookiesSent=${k.SyncookiesSent} SyncookiesRecv=${k.SyncookiesRecv} SyncookiesFailed=${k.SyncookiesFailed}`);
  }
  if (spec.invalid.length) {
    const f = server.stats.invalidFlags as Record<string, number>;
    notes.push(`invalid segments dropped and counted: ${spec.invalid.map((k) => `${k}=${f[k] ?? 0}`).join(' ')}`);
  }
  if (spec.clientBytes) notes.push(`server received ${sGot}/${spec.clientBytes} bytes${sOk ? '' : ' CORRUPTED'}`);
  if (spec.serverBytes) notes.push(`client received ${cGot}/${spec.serverBytes} bytes${cOk ? '' : ' CORRUPTED'}`);
  const cs = client.stats;
  const ss = server.stats;
  if (cs.RetransSegs || ss.RetransSegs) notes.push(`retransmitted segments: client ${cs.RetransSegs}, server ${ss.RetransSegs}`);
  notes.push(`final states: client ${rec.stateA}, server ${rec.stateB}${c.tcp.error ? `; client error ${c.tcp.error.code}` : ''}${(accepted as StackConnection | null)?.tcp.error ? `; server error ${(accepted as unknown as StackConnection).tcp.error!.code}` : ''}`);
  const title = 'Built scenario';
  const { trace, raw } = rec.trace(title);
  const run: LabRun = {
    name: 'custom', title, description: describeSpec(spec), trace, raw, packets: rec.packets, notes,
    clientStates: rec.statesA, serverStates: rec.statesB, duration: net.now - t0,
  };
  net.close();
  return run;
}

function canSend(s: TcpStateName): boolean { return s === 'ESTABLISHED' || s === 'CLOSE-WAIT'; }

function pattern(n: number, k: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * k + (i >>> 8)) & 0xff;
  return b;
}
