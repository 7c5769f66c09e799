/**
 * The packetdrill runner: plays a parsed script against ONE synack Stack on a VirtualClock
 * (../shared/docs/packetdrill-language.md §3–§8, §11). Inbound packets are built from the script, mapped to
 * live numbers and fed to stack.receive() at their times; outbound packets are captured from the stack's
 * link and matched with packetdrill's rules; system calls go through the socket-call layer (syscalls.ts);
 * blocking calls are pending operations completed by later events; timing is checked with the script's
 * tolerance. Any exception inside a run becomes a FAIL with its message, never a crash.
 */
import { VirtualClock } from '../stack/clock.js';
import { Stack } from '../stack/stack.js';
import { installSynCookies } from '../stack/syn-cookies.js';
import { parseAddress, addressEquals } from '../wire/address.js';
import { decodePacket, encodeTcpPacket } from '../wire/packet.js';
import {
  ACK, AE, CWR, ECE, FIN, PSH, RST, SYN, URG, OPT_EOL, OPT_MSS, OPT_NOP, OPT_SACK, OPT_SACK_PERMITTED,
  OPT_TIMESTAMPS, OPT_WSCALE, OPT_FASTOPEN, OPT_EXPERIMENTAL, TFO_EXP_MAGIC, type TcpSegment,
} from '../wire/tcp-types.js';
import type { TcpStateName } from '../wire/trace.js';
import type {
  CodeEvent, CodeOperand, CommandEvent, EventTime, Expr, PacketEvent, ParsedScript, Personality,
  IcmpPacketSpec, SyscallEvent, TcpOptionSpec, TcpPacketSpec,
} from './ast.js';
import { DrillParseError } from './errors.js';
import { parseScript } from './parser.js';
import { applyShell, baseProfile, type Profile } from './personality.js';
import { SocketCallError, SocketTable, type CallResult, type Outcome, type Sock } from './syscalls.js';
import { CODE_OPTION_BITS, CODE_STATE_NAMES, DrillSymbolError, ERRNOS, evalIntExpr } from './symbols.js';
import { tcpOptionBytes, tcpOptionsToWire } from './tcp-options.js';
import { icmpLinePacket, icmpTypeCode } from './icmp-lines.js';

/** A script's outcome: it passed, it failed (a mismatch, a timing error, a parse error), or synack cannot run it (never a silent pass). */
export type DrillVerdict = 'pass' | 'fail' | 'unsupported';

/** What running one script gave. */
export interface DrillResult {
  /** The script's file name (RunOptions.file). */
  script: string;
  /** pass, fail or unsupported. */
  result: DrillVerdict;
  /** Why it failed or is unsupported. */
  reason?: string;
  /** The script line the failure or unsupported construct is on. */
  line?: number;
  /** Virtual time of the failure, seconds since the script started. */
  time?: number;
  /** The personality it ran as. */
  personality: Personality;
  /** The IP family it ran in. */
  ipVersion: 'ipv4' | 'ipv6';
}

/** How to run a script. */
export interface RunOptions {
  /** The script's file name, for messages and the result. */
  file: string;
  /** The system the script is written for ('linux', 'freebsd', 'synack', 'rfc793'): configures the stack under test. */
  personality: Personality;
  /** Extra `-D NAME=VALUE` definitions (value '' = defined without a value). */
  defines?: Record<string, string>;
  /** Family for scripts that do not pin one (Linux scripts run in both). Default ipv4. */
  ipVersion?: 'ipv4' | 'ipv6';
  /** Seed for the stack's randomness (ISNs, ports); fixed so runs are reproducible. */
  seed?: number;
  /** Overrides the script's --tolerance_usecs (the command line wins over script options, §2.1). */
  toleranceUsecs?: number;
  /** Receives a trace of every event when set (--verbose). */
  log?: (line: string) => void;
}

/** A failure with the script line and virtual time attached. */
class DrillFailure extends Error {
  constructor(message: string, readonly line: number) { super(message); this.name = 'DrillFailure'; }
}
class DrillUnsupported extends Error {
  constructor(readonly construct: string, readonly line: number) { super(construct); this.name = 'DrillUnsupported'; }
}

interface Captured { bytes: Uint8Array; timeUs: number }

/** The connection the script is talking to (§4.7) and its number mappings (§6). */
interface Track {
  localPort: number;
  remotePort: number;
  /** Live local ISN (LL) and script local ISN (LS); LL is 0 until the first outbound SYN. */
  ll: number;
  ls: number;
  llKnown: boolean;
  /** Remote ISN (R), literal; known once a SYN came from the peer (or the child was created). */
  r: number;
  rKnown: boolean;
  /** Script TS val → live TS val, from matched outbound segments (§6.4). */
  tsMap: Map<number, number>;
  /** live − script offset of outbound TS vals, fixed by the first one seen. */
  tsOffset?: number;
}

interface Pending {
  ev: SyscallEvent;
  startUs: number;
  endUs: number;
  attempt: () => CallResult;
}

const LINUX_STATE_NUMBERS: Record<TcpStateName, number> = {
  'ESTABLISHED': 1, 'SYN-SENT': 2, 'SYN-RECEIVED': 3, 'FIN-WAIT-1': 4, 'FIN-WAIT-2': 5, 'TIME-WAIT': 6, 'CLOSED': 7,
  'CLOSE-WAIT': 8, 'LAST-ACK': 9, 'LISTEN': 10, 'CLOSING': 11,
};

/** Deterministic randomness (xorshift32) so that every run of a script sees the same ISNs. */
function seededRandom(seed: number): (out: Uint8Array) => void {
  let x = (seed >>> 0) || 0x9e3779b9;
  return (out) => {
    for (let i = 0; i < out.length; i++) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      out[i] = x & 0xff;
    }
  };
}

const u32 = (n: number): number => n >>> 0;
const fmtSec = (us: number): string => (us / 1e6).toFixed(6);

/**
 * Plays one parsed packetdrill script against a synack Stack on a virtual clock: inbound packets are fed to
 * the stack at their times, outbound ones matched with packetdrill's rules, system calls made through a
 * socket layer, timing checked with the script's tolerance. Use DrillRunner.execute (or runScriptText): it
 * turns every outcome, exceptions included, into a DrillResult.
 */
export class DrillRunner {
  private readonly clock = new VirtualClock(0);
  private readonly stack: Stack;
  private readonly profile: Profile;
  private readonly sockets: SocketTable;
  private readonly out: Captured[] = [];
  private readonly ipv6: boolean;
  private readonly localIp: string;
  private readonly remoteIp: string;
  private readonly localAddr: Uint8Array;
  private readonly remoteAddr: Uint8Array;
  private readonly tolUs: number;
  private readonly tolPct: number;
  private readonly tickUs: number;
  /** Script fd → live fd. */
  private readonly fds = new Map<number, number>();
  /** The socket under test (live fd) and whether it is listening. */
  private sutFd: number | null = null;
  private sutListening = false;
  private track: Track | null = null;
  /** Connections addressed by pinned ports (`sport>dport`, §4.1), by "localPort:remotePort". */
  private readonly pinned = new Map<string, Track>();
  private nextRemotePort = 48000;
  private pending: Pending | null = null;
  /** Anchor for relative times (§3.2) and the previous event's script time (µs). */
  private anchorUs = 0;
  private prevScriptUs = 0;
  private prevInboundScriptUs: number | null = null;
  private line = 0;
  /** Latest state of every tuple, from the stack's transition observer (TIME-WAIT entries included). */
  private readonly tupleState = new Map<string, TcpStateName>();

  constructor(private readonly script: ParsedScript, private readonly opts: RunOptions) {
    const o = script.options;
    this.ipv6 = (o.ipVersion ?? opts.ipVersion ?? 'ipv4') === 'ipv6';
    if (o.ipVersion === 'ipv4-mapped-ipv6') throw new DrillUnsupported('--ip_version=ipv4-mapped-ipv6', 1);
    const freebsd = script.personality === 'freebsd';
    this.localIp = o.localIp ?? (this.ipv6 ? (freebsd ? 'fd3d:fa7b:d17d::1' : 'fd3d:a0b:17d6::1') : '192.168.0.1');
    this.remoteIp = o.remoteIp ?? (this.ipv6 ? '2001:db8::1' : '192.0.2.1');
    this.localAddr = parseAddress(this.localIp);
    this.remoteAddr = parseAddress(this.remoteIp);
    this.tolUs = opts.toleranceUsecs ?? o.toleranceUsecs;
    this.tolPct = o.tolerancePercent;
    this.tickUs = o.tcpTsTickUsecs;
    this.profile = baseProfile(script.personality, o, this.ipv6);
    this.stack = new Stack({
      name: 'drill', addresses: [this.localIp], clock: this.clock, random: seededRandom(opts.seed ?? 1),
      tcp: { ...this.profile.tcp }, listenSynAckRetries: this.profile.listenSynAckRetries, syncookies: this.profile.syncookies,
      synRatePerSource: Infinity, ephemeralPortRange: [40000, 47999],
    });
    installSynCookies(this.stack); // the kernels a personality stands for have them (tcp_syncookies, syncookies)
    this.stack.attach((bytes) => { this.out.push({ bytes, timeUs: this.nowUs() }); });
    this.stack.observeTransitions((c, ev) => { this.tupleState.set(`${c.localPort}:${c.remotePort}`, ev.to); });
    this.sockets = new SocketTable({ stack: this.stack, profile: this.profile, localIp: this.localIp, remoteIp: this.remoteIp, bindPort: o.bindPort, connectPort: o.connectPort });
  }

  private nowUs(): number { return Math.round(this.clock.now() * 1000); }
  private log(s: string): void { this.opts.log?.(`${fmtSec(this.nowUs())} ${s}`); }

  // ---------------------------------------------------------------------------------------------
  // Main loop
  // ---------------------------------------------------------------------------------------------

  /** Runs the script; throws on the first failure (execute() turns that into a result). */
  run(): void {
    if (this.script.init) this.shell(this.script.init.command, this.script.init.line);
    const events = this.script.events;
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      this.line = ev.line;
      this.checkPending();
      switch (ev.kind) {
        case 'packet': this.packetEvent(ev); break;
        case 'syscall': this.syscallEvent(ev); break;
        case 'command': this.timedAction(ev, () => this.shell(ev.command, ev.line)); break;
        case 'code': this.timedAction(ev, () => this.code(ev)); break;
      }
      this.prevInboundScriptUs = ev.kind === 'packet' && ev.direction === 'inbound' ? this.prevScriptUs : null;
    }
    this.checkPending();
    if (this.pending) {
      // Give the blocked call until its end time (plus tolerance) to return.
      const p = this.pending;
      this.line = p.ev.line;
      this.advanceTo(p.endUs + this.tolerance(p.endUs, p.startUs));
      if (this.pending) throw new DrillFailure(`exiting while a blocking system call is in progress: ${p.ev.name}() has not returned`, p.ev.line);
    }
    if (this.script.cleanup) this.shell(this.script.cleanup.command, this.script.cleanup.line);
  }

  /** Script time of an event (µs), anchored per §3.2. */
  private scriptTime(t: EventTime, inbound: boolean): { start: number; end: number; any: boolean } {
    const base = inbound && this.prevInboundScriptUs !== null ? this.prevInboundScriptUs : this.anchorUs;
    switch (t.kind) {
      case 'absolute': return { start: t.usecs, end: t.usecs, any: false };
      case 'relative': return { start: base + t.usecs, end: base + t.usecs, any: false };
      case 'any': return { start: this.anchorUs, end: Infinity, any: true };
      case 'absolute-range': return { start: t.startUsecs, end: t.endUsecs, any: false };
      case 'relative-range': return { start: base + t.startUsecs, end: base + t.endUsecs, any: false };
    }
  }

  /** Tolerance for an event expected at `expected` whose predecessor was at `prev` (§3.3). */
  private tolerance(expected: number, prev: number): number {
    return Math.max(this.tolUs, (this.tolPct / 100) * Math.max(0, expected - prev));
  }

  /** Runs the clock (and the stack's timers) forward to `us`, one wake-up at a time. */
  private advanceTo(us: number): void {
    for (let guard = 0; guard < 100_000; guard++) {
      const w = this.clock.nextWake();
      if (!(w * 1000 <= us)) break;
      this.clock.advanceTo(Math.max(w, this.clock.now()));
      this.checkPending();
    }
    if (us / 1000 > this.clock.now()) this.clock.advanceTo(us / 1000);
    this.checkPending();
  }

  private timedAction(ev: CommandEvent | CodeEvent, fn: () => void): void {
    const t = this.scriptTime(ev.time, false);
    this.advanceTo(t.start);
    fn();
    this.prevScriptUs = t.start;
    this.anchorUs = this.nowUs();
  }

  // ---------------------------------------------------------------------------------------------
  // Packets
  // ---------------------------------------------------------------------------------------------

  private packetEvent(ev: PacketEvent): void {
    if (ev.packet.protocol === 'icmp' && ev.direction === 'inbound' && ev.packet.echoedUdp === undefined && !ev.encapsulation.length) {
      const t = this.scriptTime(ev.time, true);
      this.advanceTo(t.start);
      this.injectIcmp(ev, ev.packet);
      this.prevScriptUs = t.start;
      this.anchorUs = this.nowUs();
      return;
    }
    if (ev.packet.protocol !== 'tcp') throw new DrillUnsupported(`${ev.packet.protocol.toUpperCase()} packets`, ev.line);
    if (ev.encapsulation.length) throw new DrillUnsupported(`explicit ${ev.encapsulation[0]!.kind} header`, ev.line);
    const spec = ev.packet;
    this.selectPinned(ev, spec);
    if (ev.direction === 'inbound') {
      const t = this.scriptTime(ev.time, true);
      this.advanceTo(t.start);
      this.inject(ev, spec);
      this.prevScriptUs = t.start;
      this.anchorUs = this.nowUs();
      return;
    }
    const t = this.scriptTime(ev.time, false);
    const tol = this.tolerance(t.start, this.prevScriptUs);
    const { seg, timeUs, raw } = this.awaitOutbound(ev, spec, t, tol);
    this.verifyOutbound(ev, spec, seg, raw, timeUs, t);
    this.prevScriptUs = t.any ? timeUs : t.start;
    this.anchorUs = timeUs;
  }

  /**
   * Pinned ports (`sport>dport`) select the connection explicitly, so one script can drive several
   * connections (e.g. SYN cookies once the SYN queue is full). Each tuple keeps its own number mappings.
   */
  private selectPinned(ev: PacketEvent, spec: TcpPacketSpec): void {
    if (!ev.ports) return;
    const [lp, rp] = ev.direction === 'inbound' ? [ev.ports.dst, ev.ports.src] : [ev.ports.src, ev.ports.dst];
    const key = `${lp}:${rp}`;
    let tr = this.pinned.get(key);
    if (!tr) {
      const inbound = ev.direction === 'inbound';
      tr = { localPort: lp, remotePort: rp, ll: 0, ls: 0, llKnown: false, r: inbound ? u32(spec.seq.start) : 0, rKnown: inbound, tsMap: new Map() };
      this.pinned.set(key, tr);
    }
    this.track = tr;
    this.sutListening = false;
  }

  /** Ensures there is a tracked connection for an inbound line (§4.7) and returns it. */
  private trackForInbound(spec: TcpPacketSpec): Track {
    if (this.track === null || this.sutListening) {
      const sut = this.sutFd !== null ? this.sockets.get(this.sutFd) : undefined;
      const lp = sut?.listener?.port ?? sut?.boundPort ?? this.script.options.bindPort;
      this.track = { localPort: lp, remotePort: this.nextRemotePort++, ll: 0, ls: 0, llKnown: false, r: u32(spec.seq.start), rKnown: true, tsMap: new Map() };
      this.sutListening = false;
    }
    return this.track;
  }

  private inject(ev: PacketEvent, spec: TcpPacketSpec): void {
    if (spec.options !== 'unchecked') {
      const bad = spec.options.find((o) => o.kind === 'unsupported');
      if (bad && bad.kind === 'unsupported') throw new DrillUnsupported(`TCP option ${bad.name}`, ev.line);
    }
    const tr = this.trackForInbound(spec);
    const isSyn = (spec.flags & SYN) !== 0;
    if (isSyn && !tr.rKnown) {
      // The first inbound SYN (the SYN-ACK of an active open) fixes the remote ISN (§6.2).
      tr.r = u32(spec.seq.start);
      tr.rKnown = true;
    }
    const seq = isSyn ? u32(spec.seq.start) : u32(spec.seq.start + tr.r);
    const ackOff = isSyn ? tr.ll - tr.ls : tr.ll;
    const hasAck = (spec.flags & ACK) !== 0;
    const ack = hasAck ? u32((spec.ack ?? 0) + ackOff) : u32(spec.ack ?? 0);
    const list = spec.options === 'unchecked' ? [] : spec.options;
    const options = tcpOptionsToWire(list);
    if (options.sack && hasAck) options.sack = options.sack.map((e) => u32(e + ackOff));
    if (options.tsEcr !== undefined && hasAck) {
      const live = tr.tsMap.get(u32(options.tsEcr));
      if (live === undefined) {
        if (options.tsEcr !== 0 || tr.tsMap.size > 0) {
          throw new DrillFailure(`unable to infer live TS ecr for script TS ecr ${options.tsEcr}: no outbound segment had that TS val`, ev.line);
        }
      } else options.tsEcr = live;
    }
    const seg: TcpSegment = {
      srcPort: tr.remotePort, dstPort: tr.localPort, seq, ack, flags: spec.flags, window: spec.win ?? 0,
      urgent: spec.urg ?? 0, options, payload: new Uint8Array(spec.seq.len),
    };
    const bytes = encodeTcpPacket({ src: this.remoteAddr, dst: this.localAddr, ttl: ev.ip.ttl ?? 64, tos: ev.ip.tos, flowLabel: ev.ip.flowLabel }, seg);
    this.log(`< ${ev.text}`);
    this.stack.receive(bytes);
    this.checkPending();
  }

  /** An inbound ICMP line: an error quoting the tracked connection's segment at the given outbound script sequence. */
  private injectIcmp(ev: PacketEvent, spec: IcmpPacketSpec): void {
    const tc = icmpTypeCode(spec, this.ipv6);
    if (typeof tc === 'string') throw new DrillFailure(tc, ev.line);
    const tr = this.track;
    if (tr === null) throw new DrillFailure('ICMP line before any connection: nothing for it to quote', ev.line);
    const q = spec.echoedTcp ?? { start: 0, end: 0, len: 0 };
    const bytes = icmpLinePacket(spec, tc, {
      remote: this.remoteAddr, local: this.localAddr, localPort: tr.localPort, remotePort: tr.remotePort,
      seq: u32(q.start + tr.ll), len: q.len, ttl: ev.ip.ttl, tos: ev.ip.tos,
    });
    this.log(`< ${ev.text}`);
    this.stack.receive(bytes);
    this.checkPending();
  }

  /** Waits for the stack to send the segment(s) an outbound line describes; merges per §5.3. */
  private awaitOutbound(ev: PacketEvent, spec: TcpPacketSpec, t: { start: number; end: number; any: boolean }, tol: number): { seg: TcpSegment; timeUs: number; raw: Uint8Array } {
    // packetdrill waits for a `*` packet without limit; in virtual time an hour is as good and always ends.
    const deadline = t.any ? this.nowUs() + 3_600_000_000 : t.end + tol + 2_000_000;
    const frags: Array<{ seg: TcpSegment; timeUs: number; raw: Uint8Array }> = [];
    let total = 0;
    for (let guard = 0; guard < 1_000_000; guard++) {
      const c = this.out.shift();
      if (c) {
        const d = decodePacket(c.bytes);
        if (!d.tcp) continue;
        const seg = d.tcp.seg;
        if (!this.onTrack(d.ip.src, d.ip.dst, seg)) { this.log(`(ignored outbound on another tuple: ${seg.srcPort}>${seg.dstPort})`); continue; }
        const raw = c.bytes.subarray(d.ip.headerLength + 20, d.ip.headerLength + d.tcp.dataOffset);
        if (frags.length === 0) this.learnTuple(seg);
        frags.push({ seg, timeUs: c.timeUs, raw });
        total += seg.payload.length;
        // A segment that appears too early fails at once (§3.4).
        if (!t.any && c.timeUs < t.start - tol) break;
        if (total >= spec.seq.len || this.script.options.strictSegments) break;
        continue;
      }
      const w = this.clock.nextWake();
      if (w === Infinity || w * 1000 > deadline) {
        if (frags.length > 0) break;
        throw new DrillFailure(`timed out waiting for packet: expected ${ev.text}`, ev.line);
      }
      this.clock.advanceTo(Math.max(w, this.clock.now()));
      this.checkPending();
    }
    if (frags.length === 0) throw new DrillFailure(`timed out waiting for packet: expected ${ev.text}`, ev.line);
    return this.merge(ev, spec, frags);
  }

  private onTrack(src: Uint8Array, dst: Uint8Array, seg: TcpSegment): boolean {
    if (!addressEquals(src, this.localAddr) || !addressEquals(dst, this.remoteAddr)) return false;
    const tr = this.track;
    if (tr === null) return true;
    return seg.srcPort === tr.localPort && seg.dstPort === tr.remotePort;
  }

  /** An active open's first SYN, or a segment on an untracked socket, fixes the tuple. */
  private learnTuple(seg: TcpSegment): void {
    if (this.track === null) {
      this.track = { localPort: seg.srcPort, remotePort: seg.dstPort, ll: 0, ls: 0, llKnown: false, r: 0, rKnown: false, tsMap: new Map() };
    }
  }

  private merge(ev: PacketEvent, spec: TcpPacketSpec, frags: Array<{ seg: TcpSegment; timeUs: number; raw: Uint8Array }>): { seg: TcpSegment; timeUs: number; raw: Uint8Array } {
    if (frags.length === 1) return frags[0]!;
    const first = frags[0]!.seg;
    const last = frags[frags.length - 1]!;
    const MUST_AGREE = SYN | RST | ACK | URG | ECE | AE;
    let payloadLen = 0;
    for (let i = 0; i < frags.length; i++) {
      const f = frags[i]!.seg;
      if (i > 0) {
        const p = frags[i - 1]!.seg;
        const why =
          f.seq !== u32(p.seq + p.payload.length) ? 'sequence number does not continue the previous segment'
            : (f.flags & MUST_AGREE) !== (p.flags & MUST_AGREE) ? 'flags differ'
              : f.ack !== p.ack ? 'ack differs' : f.window !== p.window ? 'window differs'
                : f.urgent !== p.urgent ? 'urgent pointer differs'
                  : frags[i]!.raw.length !== frags[i - 1]!.raw.length ? 'data offset differs'
                    : i < frags.length - 1 && f.payload.length !== p.payload.length ? 'segment sizes differ' : null;
        if (why) {
          throw new DrillFailure(`live packet payload: expected ${spec.seq.len} bytes in one script line, but the stack sent ${frags.length} segments that cannot be merged (${why}) at ${fmtSec(frags[i]!.timeUs)}`, ev.line);
        }
      }
      payloadLen += f.payload.length;
    }
    const payload = new Uint8Array(payloadLen);
    let off = 0;
    for (const f of frags) { payload.set(f.seg.payload, off); off += f.seg.payload.length; }
    const seg: TcpSegment = { ...last.seg, seq: first.seq, flags: (last.seg.flags & ~CWR) | (first.flags & CWR), payload };
    return { seg, timeUs: last.timeUs, raw: last.raw };
  }

  private verifyOutbound(ev: PacketEvent, spec: TcpPacketSpec, seg: TcpSegment, raw: Uint8Array, timeUs: number, t: { start: number; end: number; any: boolean }): void {
    const tr = this.track!;
    const isSyn = (seg.flags & SYN) !== 0;
    if (isSyn && !tr.llKnown) { tr.ll = seg.seq; tr.ls = u32(spec.seq.start); tr.llKnown = true; }
    const fail = (field: string, expected: string, actual: string): never => {
      throw new DrillFailure(`live packet field ${field}: expected: ${expected} vs actual: ${actual} (script: ${ev.text}; live: ${describeLive(seg, tr)} at ${fmtSec(timeUs)})`, ev.line);
    };
    this.log(`> ${describeLive(seg, tr)} matched against ${ev.text}`);
    // Flags: every bit, so an unexpected PSH fails (§5.1).
    const FLAG_MASK = FIN | SYN | RST | PSH | ACK | URG | ECE | CWR | AE;
    if ((seg.flags & FLAG_MASK) !== (spec.flags & FLAG_MASK)) fail('tcp flags', flagText(spec.flags), flagText(seg.flags));
    const scriptSeq = isSyn ? u32(seg.seq - tr.ll + tr.ls) : u32(seg.seq - tr.ll);
    // A RST for a segment without ACK carries SEQ=0 (RFC 9293 §3.10.7.1), not a number of the tracked
    // connection: a script's `R. 0:0(0)` matches it literally.
    const literalZeroRst = (seg.flags & RST) !== 0 && seg.seq === 0 && spec.seq.start === 0;
    if (scriptSeq !== u32(spec.seq.start) && !literalZeroRst) fail('tcp_seq', String(u32(spec.seq.start)), String(scriptSeq));
    if (seg.payload.length !== spec.seq.len) fail('tcp payload length', `${spec.seq.len} bytes`, `${seg.payload.length} bytes`);
    for (let i = 0; i < seg.payload.length; i++) if (seg.payload[i] !== 0) fail('tcp payload', 'zero bytes', `byte ${i} = ${seg.payload[i]}`);
    const hasAck = (seg.flags & ACK) !== 0;
    const ackOff = hasAck && !isSyn ? tr.r : 0;
    const scriptAck = u32(seg.ack - ackOff);
    if (scriptAck !== u32(spec.ack ?? 0)) fail('tcp_ack_seq', String(u32(spec.ack ?? 0)), String(scriptAck));
    if (spec.win !== undefined && seg.window !== spec.win) fail('tcp_window', String(spec.win), String(seg.window));
    if (seg.urgent !== (spec.urg ?? 0)) fail('tcp_urg_ptr', String(spec.urg ?? 0), String(seg.urgent));
    if (ev.ip.tos !== undefined || ev.ip.ecn !== undefined || ev.ip.ttl !== undefined || ev.ip.flowLabel !== undefined) {
      throw new DrillUnsupported('IP-level checks on outbound packets (tos/ecn/ttl/flowlabel)', ev.line);
    }
    if (spec.options !== 'unchecked') this.verifyOptions(ev, spec.options, raw, seg, tr, fail, t);
    else if (seg.options.tsVal !== undefined && tr.tsOffset === undefined) { /* nothing to rebase against */ }
    // Timing (§3.3).
    if (!t.any) {
      const tol = this.tolerance(t.start, this.prevScriptUs);
      if (timeUs < t.start - tol || timeUs > t.end + tol) {
        const when = t.start === t.end ? `${fmtSec(t.start)}` : `${fmtSec(t.start)}~${fmtSec(t.end)}`;
        throw new DrillFailure(`timing error: expected outbound packet at ${when} sec but happened at ${fmtSec(timeUs)} sec; tolerance ${fmtSec(tol)} sec (script: ${ev.text})`, ev.line);
      }
    }
  }

  private verifyOptions(ev: PacketEvent, want: TcpOptionSpec[], raw: Uint8Array, seg: TcpSegment, tr: Track, fail: (f: string, e: string, a: string) => never, t: { start: number }): void {
    const live = rawOptions(raw);
    const wantText = want.map(optText).join(',');
    const liveText = live.map((o) => o.text).join(',');
    const bytes = (l: TcpOptionSpec[]): number => l.reduce((n, o) => n + (tcpOptionBytes(o) ?? 1), 0);
    if (bytes(want) !== raw.length) fail('tcp options length', `${bytes(want)} bytes <${wantText}>`, `${raw.length} bytes <${liveText}>`);
    let k = 0;
    for (const w of want) {
      const l = live[k++];
      if (!l) fail('tcp option', `<${wantText}>`, `<${liveText}>`);
      const kind = w.kind === 'fastopen' ? (w.exp ? OPT_EXPERIMENTAL : OPT_FASTOPEN)
        : { nop: OPT_NOP, eol: OPT_EOL, mss: OPT_MSS, wscale: OPT_WSCALE, sackOK: OPT_SACK_PERMITTED, sack: OPT_SACK, timestamp: OPT_TIMESTAMPS, unsupported: -1 }[w.kind];
      if (l!.kind !== kind) fail('tcp option', `<${wantText}>`, `<${liveText}>`);
      switch (w.kind) {
        case 'mss': if (l!.value !== w.value) fail('tcp option mss', String(w.value), String(l!.value)); break;
        case 'wscale': if (l!.value !== w.shift) fail('tcp option wscale', String(w.shift), String(l!.value)); break;
        case 'sack': {
          const off = (seg.flags & SYN) ? 0 : tr.r;
          const got = (l!.blocks ?? []).map((e) => u32(e - off));
          const exp = w.blocks.flat().map(u32);
          if (got.join(',') !== exp.join(',')) fail('tcp option sack', blocksText(exp), blocksText(got));
          break;
        }
        case 'timestamp': {
          const liveVal = l!.tsVal!;
          if (tr.tsOffset === undefined) tr.tsOffset = u32(liveVal - w.val);
          tr.tsMap.set(u32(w.val), liveVal);
          if (this.tickUs > 0) {
            const rebased = u32(liveVal - tr.tsOffset);
            const tol = this.tolerance(t.start, 0) / this.tickUs;
            const diff = ((rebased - u32(w.val)) | 0);
            if (Math.abs(diff) > tol) fail('tcp option TS val', String(w.val), `${rebased} (tolerance ${tol.toFixed(1)} ticks)`);
          }
          break;
        }
        case 'fastopen': {
          const got = hex(l!.cookie ?? new Uint8Array(0));
          if (got !== hex(w.cookie)) fail('tcp option FO cookie', hex(w.cookie) || '(request)', got || '(request)');
          break;
        }
        case 'unsupported': throw new DrillUnsupported(`TCP option ${w.name}`, ev.line);
        default: break;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // System calls
  // ---------------------------------------------------------------------------------------------

  private syscallEvent(ev: SyscallEvent): void {
    const t = this.scriptTime(ev.time, false);
    const startUs = t.start;
    const endUs = ev.blocking ? (ev.time.kind === 'relative' ? this.anchorUs + ev.blocking.endUsecs : ev.blocking.endUsecs) : startUs;
    if (this.pending) {
      // Only one blocking call at a time (§3.5): wait for the first to return.
      const p = this.pending;
      this.advanceTo(Math.max(startUs, p.endUs + this.tolerance(p.endUs, p.startUs)));
      if (this.pending) throw new DrillFailure(`blocking system call ${ev.name}() while another blocking system call (${p.ev.name}() on line ${p.ev.line}) is still in progress`, ev.line);
    }
    this.advanceTo(startUs);
    const attempt = this.prepareCall(ev);
    const r = attempt();
    this.log(`${ev.text} -> ${r === 'block' ? 'blocks' : `${r.ret}${r.errno ? ' ' + r.errno : ''}`}`);
    this.prevScriptUs = startUs;
    this.anchorUs = this.nowUs();
    if (r === 'block') {
      if (!ev.blocking) throw new DrillFailure(`${ev.name}() would block, and the script gives no end time (write it as T1...T2 ${ev.name}(...))`, ev.line);
      this.pending = { ev, startUs, endUs, attempt };
      return;
    }
    this.checkResult(ev, r);
    if (ev.blocking) this.checkReturnTime(ev, startUs, endUs, this.nowUs());
    else if (ev.name === 'close' || ev.name === 'shutdown' || ev.name === 'write' || ev.name === 'send') this.checkPending();
  }

  /** Completes the pending blocking call if the stack has resolved it. */
  private checkPending(): void {
    const p = this.pending;
    if (!p) return;
    const r = p.attempt();
    if (r === 'block') return;
    this.pending = null;
    const saved = this.line;
    this.line = p.ev.line;
    this.log(`${p.ev.text} returned ${r.ret}${r.errno ? ' ' + r.errno : ''}`);
    this.checkResult(p.ev, r);
    this.checkReturnTime(p.ev, p.startUs, p.endUs, this.nowUs());
    this.line = saved;
  }

  private checkReturnTime(ev: SyscallEvent, startUs: number, endUs: number, actual: number): void {
    const tol = this.tolerance(endUs, startUs);
    if (Math.abs(actual - endUs) > tol) {
      throw new DrillFailure(`timing error: expected system call ${ev.name}() to return at ${fmtSec(endUs)} sec but happened at ${fmtSec(actual)} sec; tolerance ${fmtSec(tol)} sec`, ev.line);
    }
  }

  private int(e: Expr | undefined, ev: SyscallEvent, what: string): number {
    if (e === undefined) throw new DrillFailure(`${ev.name}(): missing ${what} argument`, ev.line);
    try {
      return evalIntExpr(e, this.defines());
    } catch (x) {
      if (x instanceof DrillSymbolError) throw new DrillFailure(`${ev.name}() ${what}: ${x.message}`, ev.line);
      throw x;
    }
  }

  private definesCache: Record<string, number> | null = null;
  private defines(): Record<string, number> {
    if (this.definesCache) return this.definesCache;
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.script.options.defines)) if (v !== '' && Number.isFinite(Number(v))) out[k] = Number(v);
    return (this.definesCache = out);
  }

  private fd(e: Expr | undefined, ev: SyscallEvent): number {
    const n = this.int(e, ev, 'fd');
    return this.fds.get(n) ?? n;
  }

  /** Turns a script call into an attempt function (retried while it blocks). */
  private prepareCall(ev: SyscallEvent): () => CallResult {
    const a = ev.args;
    const S = this.sockets;
    switch (ev.name) {
      case 'socket': {
        const type = this.int(a[1], ev, 'type');
        if ((type & 0xf) !== 1) throw new DrillUnsupported('non-SOCK_STREAM sockets', ev.line);
        return () => {
          const r = S.socket();
          const sock = S.get(r.ret)!;
          if (type & 0o4000) sock.nonblock = true;
          return r;
        };
      }
      case 'bind': {
        const fd = this.fd(a[0], ev);
        const port = this.sockaddrPort(a[1], ev) ?? this.script.options.bindPort;
        return () => S.bind(fd, port);
      }
      case 'listen': {
        const fd = this.fd(a[0], ev);
        const backlog = this.int(a[1], ev, 'backlog');
        return () => {
          const r = S.listen(fd, backlog);
          if (r.ret === 0 && fd === this.sutFd) this.sutListening = true;
          return r;
        };
      }
      case 'accept': {
        const fd = this.fd(a[0], ev);
        return () => S.accept(fd);
      }
      case 'connect': {
        const fd = this.fd(a[0], ev);
        if (this.sockaddrPort(a[1], ev) !== undefined) throw new DrillUnsupported('connect() to an explicit address', ev.line);
        let started = false;
        return () => {
          const sock = S.get(fd);
          if (!started) {
            started = true;
            const before = sock?.conn;
            const r = S.connect(fd);
            // Only a connect() that started a new attempt fixes a new tuple (§4.7).
            if (sock?.conn && sock.conn !== before && fd === this.sutFd) {
              this.track = { localPort: sock.conn.localPort, remotePort: sock.conn.remotePort, ll: 0, ls: 0, llKnown: false, r: 0, rKnown: false, tsMap: new Map() };
              this.sutListening = false;
            }
            return r;
          }
          return S.connect(fd);
        };
      }
      case 'read': case 'recv': case 'recvfrom': {
        const fd = this.fd(a[0], ev);
        const n = this.int(a[2], ev, 'length');
        if (ev.name !== 'read') { const flags = this.int(a[3], ev, 'flags'); if (flags !== 0) throw new DrillUnsupported(`${ev.name}() flags ${flags}`, ev.line); }
        return () => S.read(fd, n);
      }
      case 'write': case 'send': case 'sendto': {
        const fd = this.fd(a[0], ev);
        const n = this.int(a[2], ev, 'length');
        if (ev.name !== 'write') {
          const flags = this.int(a[3], ev, 'flags');
          // MSG_FASTOPEN (RFC 7413): connect with the data on the SYN (syscalls.ts sendtoFastOpen).
          if (ev.name === 'sendto' && flags === 0x20000000) {
            let started = false;
            return () => {
              if (started) return S.write(fd, n);
              started = true;
              const sock = S.get(fd);
              const before = sock?.conn;
              const r = S.sendtoFastOpen(fd, n);
              if (sock?.conn && sock.conn !== before && fd === this.sutFd) {
                this.track = { localPort: sock.conn.localPort, remotePort: sock.conn.remotePort, ll: 0, ls: 0, llKnown: false, r: 0, rKnown: false, tsMap: new Map() };
                this.sutListening = false;
              }
              return r;
            };
          }
          if (flags !== 0) throw new DrillUnsupported(`${ev.name}() flags ${flags}`, ev.line);
        }
        return () => {
          // The first write after a TCP_FASTOPEN_CONNECT connect() opens the connection: a new tuple (§4.7).
          const sock = S.get(fd);
          const before = sock?.conn;
          const r = S.write(fd, n);
          if (sock?.conn && sock.conn !== before && fd === this.sutFd) {
            this.track = { localPort: sock.conn.localPort, remotePort: sock.conn.remotePort, ll: 0, ls: 0, llKnown: false, r: 0, rKnown: false, tsMap: new Map() };
            this.sutListening = false;
          }
          return r;
        };
      }
      case 'shutdown': { const fd = this.fd(a[0], ev); const how = this.int(a[1], ev, 'how'); return () => S.shutdown(fd, how); }
      case 'close': { const fd = this.fd(a[0], ev); return () => S.close(fd); }
      case 'fcntl': {
        const fd = this.fd(a[0], ev);
        const cmd = this.int(a[1], ev, 'cmd');
        const arg = a[2] ? this.int(a[2], ev, 'arg') : undefined;
        return () => S.fcntl(fd, cmd, arg);
      }
      case 'ioctl': {
        const fd = this.fd(a[0], ev);
        const req = this.int(a[1], ev, 'request');
        return () => S.ioctl(fd, req);
      }
      case 'getsockopt': {
        const fd = this.fd(a[0], ev);
        const level = this.int(a[1], ev, 'level');
        const name = this.int(a[2], ev, 'option');
        return () => S.getsockopt(fd, level, name);
      }
      case 'setsockopt': {
        const fd = this.fd(a[0], ev);
        const level = this.int(a[1], ev, 'level');
        const name = this.int(a[2], ev, 'option');
        const v = a[3];
        if (v?.kind === 'struct') {
          const f = structFields(v);
          const linger = { onoff: this.int(f.onoff, ev, 'onoff'), linger: this.int(f.linger, ev, 'linger') };
          return () => S.setsockopt(fd, level, name, 0, linger);
        }
        if (v?.kind === 'string') throw new DrillUnsupported(`setsockopt() with a string value ("${v.value}")`, ev.line);
        const value = this.int(v, ev, 'value');
        return () => S.setsockopt(fd, level, name, value);
      }
      default:
        throw new DrillUnsupported(`system call ${ev.name}()`, ev.line);
    }
  }

  private sockaddrPort(e: Expr | undefined, ev: SyscallEvent): number | undefined {
    if (e === undefined || e.kind === 'ellipsis') return undefined;
    if (e.kind !== 'struct') throw new DrillUnsupported(`socket address written as ${e.kind}`, ev.line);
    const f = structFields(e);
    const port = f.sin_port ?? f.sin6_port;
    if (port?.kind === 'call' && port.name === 'htons' && port.args[0]) return this.int(port.args[0], ev, 'port');
    throw new DrillUnsupported('socket address without sin_port=htons(N)', ev.line);
  }

  private checkResult(ev: SyscallEvent, r: Outcome): void {
    const expected = this.int(ev.result, ev, 'result');
    const got = `${r.ret}${r.errno ? ` ${r.errno} (${ERRNOS[r.errno]?.message ?? r.errno})` : ''}`;
    const want = `${expected}${ev.errno ? ` ${ev.errno}` : ''}`;
    const symbolic = (ev.name === 'socket' || ev.name === 'accept') && expected >= 0 && r.ret >= 0;
    if (symbolic) {
      this.fds.set(expected, r.ret);
      // socket() and accept() switch the socket under test (§4.7).
      this.sutFd = r.ret;
      if (ev.name === 'socket') { this.track = null; this.sutListening = false; }
    } else if (r.ret !== expected) {
      throw new DrillFailure(`${ev.name}() returned ${got}; expected ${want} (script: ${ev.text})`, ev.line);
    }
    if (ev.errno && r.errno !== ev.errno && !(isEagain(ev.errno) && isEagain(r.errno))) {
      throw new DrillFailure(`${ev.name}() returned ${got}; expected errno ${ev.errno} (script: ${ev.text})`, ev.line);
    }
    // getsockopt/ioctl output values: [N] is compared when written.
    const outArg = ev.name === 'getsockopt' ? ev.args[3] : ev.name === 'ioctl' ? ev.args[2] : undefined;
    if (outArg && outArg.kind === 'array' && r.value !== undefined) {
      const want2 = this.int(outArg, ev, 'value');
      if (want2 !== r.value) {
        const name = errnoName(r.value);
        throw new DrillFailure(`${ev.name}() value: expected ${want2} but got ${r.value}${ev.name === 'getsockopt' && name ? ` (${name})` : ''} (script: ${ev.text})`, ev.line);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Shell and code
  // ---------------------------------------------------------------------------------------------

  private shell(command: string, line: number): void {
    const r = applyShell(command, this.profile);
    this.log(`\`${command}\` -> ${r.kind}`);
    switch (r.kind) {
      case 'ok':
        // Knobs change the stack's configuration; connections created from now on see them.
        Object.assign(this.stack.config, this.profile.tcp);
        return;
      case 'unsupported': throw new DrillUnsupported(r.construct, line);
      case 'fail': throw new DrillFailure(r.message, line);
      case 'tcpdrop-time-wait': {
        this.stack.dropTimeWait();
        // TIME-WAIT connections kept as full TCBs (their socket is still open): deleted silently too.
        for (const s of this.sockets.socks.values()) {
          const c = s.conn;
          if (c && !c.removed && c.tcp.state === 'TIME-WAIT') { c.tcp.toClosed({ kind: 'user', call: 'abort' }, this.clock.now()); c.service(); }
        }
        return;
      }
      case 'sockstat': {
        if ((r.family === 6) !== this.ipv6) {
          if (r.expected !== 0) throw new DrillFailure(`\`${command}\`: no IPv${r.family} connections exist in this run, expected ${r.expected}`, line);
          return;
        }
        const want: TcpStateName | undefined = r.state === 'TIME_WAIT' ? 'TIME-WAIT' : r.state === 'SYN_RCVD' ? 'SYN-RECEIVED' : r.state === 'ESTABLISHED' ? 'ESTABLISHED' : undefined;
        if (!want) throw new DrillUnsupported(`sockstat state ${r.state}`, line);
        let n = 0;
        for (const c of this.stack.allConnections()) if (c.state === want && (r.port === undefined || c.localPort === r.port)) n++;
        if (want === 'TIME-WAIT') n += this.stack.timeWaitCount;
        if (n !== r.expected) throw new DrillFailure(`error executing \`${command}\`: ${n} connections in ${r.state}, expected ${r.expected}`, line);
        return;
      }
    }
  }

  private sutState(): TcpStateName {
    // Once an inbound line created a child (or a connect fixed the tuple), that connection is the socket
    // under test (§4.7), accepted or not, open or already closed by the application.
    if (this.track && !this.sutListening) {
      const st = this.tupleState.get(`${this.track.localPort}:${this.track.remotePort}`);
      if (st) return st;
    }
    if (this.sutFd === null) return 'CLOSED';
    const s: Sock | undefined = this.sockets.socks.get(this.sutFd);
    if (!s || s.closed) {
      if (s?.conn) return this.tupleState.get(`${s.conn.localPort}:${s.conn.remotePort}`) ?? 'CLOSED';
      return 'CLOSED';
    }
    if (s.listener) return 'LISTEN';
    if (s.conn) return this.tupleState.get(`${s.conn.localPort}:${s.conn.remotePort}`) ?? s.conn.tcp.state;
    return 'CLOSED';
  }

  private code(ev: CodeEvent): void {
    if (ev.assertions === null) throw new DrillUnsupported('Python in %{ }% beyond `assert tcpi_state/tcpi_options == ...`', ev.line);
    for (const a of ev.assertions) {
      const val = (o: CodeOperand): number => {
        if (o.kind === 'int') return o.value;
        if (o.kind === 'or') return o.operands.reduce((n, x) => n | val(x), 0);
        if (o.name === 'tcpi_state') return LINUX_STATE_NUMBERS[this.sutState()];
        if (o.name === 'tcpi_options') return this.tcpiOptions();
        const st = CODE_STATE_NAMES[o.name];
        if (st) return LINUX_STATE_NUMBERS[st];
        const bit = CODE_OPTION_BITS[o.name];
        if (bit !== undefined) return bit;
        throw new DrillUnsupported(`%{ }% name ${o.name}`, a.line);
      };
      const l = val(a.lhs), r = val(a.rhs);
      const ok = a.op === '==' ? l === r : a.op === '!=' ? l !== r : a.op === '<' ? l < r : a.op === '<=' ? l <= r : a.op === '>' ? l > r : l >= r;
      if (!ok) {
        const stateName = Object.entries(LINUX_STATE_NUMBERS).find(([, v]) => v === l)?.[0];
        const lhsText = a.lhs.kind === 'name' && a.lhs.name === 'tcpi_state' ? `tcpi_state is ${stateName}` : `lhs is ${l}`;
        throw new DrillFailure(`assertion failed: ${a.text} (${lhsText})${a.message ? `: ${a.message}` : ''}`, a.line);
      }
    }
  }

  private tcpiOptions(): number {
    const s = this.sutFd !== null ? this.sockets.socks.get(this.sutFd) : undefined;
    const t = s?.conn?.tcp;
    if (!t) return 0;
    return (t.tsOk ? 1 : 0) | (t.sackOk ? 2 : 0) | (t.sndShift > 0 || t.rcvShift > 0 ? 4 : 0);
  }

  /** Run and turn every outcome (including exceptions) into a result. */
  static execute(script: ParsedScript, opts: RunOptions): DrillResult {
    const ipVersion: 'ipv4' | 'ipv6' = (script.options.ipVersion === 'ipv6' || (script.options.ipVersion === undefined && opts.ipVersion === 'ipv6')) ? 'ipv6' : 'ipv4';
    const base = { script: opts.file, personality: script.personality, ipVersion };
    if (script.unsupported) {
      return { ...base, result: 'unsupported', reason: script.unsupported.construct, line: script.unsupported.line };
    }
    let runner: DrillRunner | null = null;
    try {
      runner = new DrillRunner(script, opts);
      runner.run();
      return { ...base, result: 'pass' };
    } catch (e) {
      const time = runner ? runner.nowUs() / 1e6 : 0;
      if (e instanceof DrillUnsupported) return { ...base, result: 'unsupported', reason: e.construct, line: e.line };
      if (e instanceof DrillFailure) return { ...base, result: 'fail', reason: e.message, line: e.line, time };
      if (e instanceof SocketCallError) return { ...base, result: 'unsupported', reason: e.message, line: runner?.line };
      const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      return { ...base, result: 'fail', reason: `internal error: ${msg}`, line: runner?.line, time };
    }
  }
}

/** Parses and runs one script's text. Parse errors are FAILs with file:line:column. */
export function runScriptText(text: string, opts: RunOptions): DrillResult {
  let script: ParsedScript;
  try {
    script = parseScript(text, { file: opts.file, personality: opts.personality, defines: opts.defines });
  } catch (e) {
    const base = { script: opts.file, personality: opts.personality, ipVersion: opts.ipVersion ?? 'ipv4' as const };
    if (e instanceof DrillParseError) return { ...base, result: 'fail', reason: e.message, line: e.line };
    return { ...base, result: 'fail', reason: `internal error: ${e instanceof Error ? e.message : String(e)}` };
  }
  return DrillRunner.execute(script, opts);
}

// -------------------------------------------------------------------------------------------------
// Helpers
// -------------------------------------------------------------------------------------------------

function isEagain(e: string | undefined): boolean { return e === 'EAGAIN' || e === 'EWOULDBLOCK'; }

function errnoName(v: number): string | undefined {
  if (v === 0) return undefined;
  return Object.entries(ERRNOS).find(([, x]) => x.value === v)?.[0];
}

function structFields(e: Expr): Record<string, Expr> {
  const out: Record<string, Expr> = {};
  if (e.kind === 'struct') for (const it of e.items) if (it.kind === 'assign') out[it.target] = it.value;
  return out;
}

function flagText(f: number): string {
  let s = '';
  if (f & SYN) s += 'S';
  if (f & FIN) s += 'F';
  if (f & RST) s += 'R';
  if (f & PSH) s += 'P';
  if (f & URG) s += 'U';
  if (f & ECE) s += 'E';
  if (f & CWR) s += 'W';
  if (f & AE) s += 'A';
  if (f & ACK) s += '.';
  return s === '' ? '-' : s;
}

function blocksText(b: number[]): string {
  const out: string[] = [];
  for (let i = 0; i + 1 < b.length; i += 2) out.push(`${b[i]}:${b[i + 1]}`);
  return out.join(' ');
}

function optText(o: TcpOptionSpec): string {
  switch (o.kind) {
    case 'nop': case 'eol': case 'sackOK': return o.kind;
    case 'mss': return `mss ${o.value}`;
    case 'wscale': return `wscale ${o.shift}`;
    case 'sack': return `sack ${o.blocks.map(([l, r]) => `${l}:${r}`).join(' ')}`;
    case 'timestamp': return `TS val ${o.val} ecr ${o.ecr}`;
    case 'fastopen': return `${o.exp ? 'FOEXP' : 'FO'}${o.cookie.length ? ` ${hex(o.cookie)}` : ''}`;
    case 'unsupported': return o.text;
  }
}

interface RawOption { kind: number; text: string; value?: number; blocks?: number[]; tsVal?: number; tsEcr?: number; cookie?: Uint8Array }

function hex(b: Uint8Array): string { return [...b].map((x) => x.toString(16).padStart(2, '0')).join(''); }

/** The option bytes as a list, EOL padding included (one entry per zero byte after an EOL). */
function rawOptions(b: Uint8Array): RawOption[] {
  const out: RawOption[] = [];
  const rd32 = (i: number): number => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
  let i = 0;
  while (i < b.length) {
    const kind = b[i]!;
    if (kind === OPT_EOL) { out.push({ kind, text: 'eol' }); i++; continue; }
    if (kind === OPT_NOP) { out.push({ kind, text: 'nop' }); i++; continue; }
    const len = b[i + 1] ?? 0;
    if (len < 2 || i + len > b.length) { out.push({ kind: -2, text: `malformed option kind ${kind}` }); break; }
    switch (kind) {
      case OPT_MSS: { const v = (b[i + 2]! << 8) | b[i + 3]!; out.push({ kind, text: `mss ${v}`, value: v }); break; }
      case OPT_WSCALE: out.push({ kind, text: `wscale ${b[i + 2]}`, value: b[i + 2]! }); break;
      case OPT_SACK_PERMITTED: out.push({ kind, text: 'sackOK' }); break;
      case OPT_SACK: {
        const blocks: number[] = [];
        for (let j = i + 2; j + 8 <= i + len; j += 8) blocks.push(rd32(j), rd32(j + 4));
        out.push({ kind, text: `sack ${blocksText(blocks)}`, blocks });
        break;
      }
      case OPT_TIMESTAMPS: { const v = rd32(i + 2), e = rd32(i + 6); out.push({ kind, text: `TS val ${v} ecr ${e}`, tsVal: v, tsEcr: e }); break; }
      case OPT_FASTOPEN: { const c = b.subarray(i + 2, i + len); out.push({ kind, text: `FO${c.length ? ` ${hex(c)}` : ''}`, cookie: c }); break; }
      case OPT_EXPERIMENTAL: {
        if (len >= 4 && ((b[i + 2]! << 8) | b[i + 3]!) === TFO_EXP_MAGIC) { const c = b.subarray(i + 4, i + len); out.push({ kind, text: `FOEXP${c.length ? ` ${hex(c)}` : ''}`, cookie: c }); break; }
        out.push({ kind, text: `option ${kind} len ${len}` });
        break;
      }
      default: out.push({ kind, text: `option ${kind} len ${len}` });
    }
    i += len;
  }
  return out;
}

function describeLive(seg: TcpSegment, tr: Track): string {
  const isSyn = (seg.flags & SYN) !== 0;
  const seq = isSyn ? u32(seg.seq - tr.ll + tr.ls) : u32(seg.seq - tr.ll);
  const ack = seg.flags & ACK ? u32(seg.ack - (isSyn ? 0 : tr.r)) : seg.ack;
  let s = `${flagText(seg.flags)} ${seq}:${u32(seq + seg.payload.length)}(${seg.payload.length})`;
  if (seg.flags & ACK || seg.ack !== 0) s += ` ack ${ack}`;
  s += ` win ${seg.window}`;
  return s;
}

