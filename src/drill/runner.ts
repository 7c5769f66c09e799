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
import { ACK, SYN, type TcpSegment } from '../wire/tcp-types.js';
import type { TcpStateName } from '../wire/trace.js';
import type {
  CodeEvent, CodeOperand, CommandEvent, EventTime, Expr, PacketEvent, ParsedScript, Personality,
  IcmpPacketSpec, SyscallEvent, TcpPacketSpec,
} from './ast.js';
import { DrillFailure, DrillParseError, DrillUnsupported } from './errors.js';
import { parseScript } from './parser.js';
import { applyShell, baseProfile, type Profile } from './personality.js';
import { SocketCallError, SocketTable, type CallResult, type Outcome, type Sock } from './syscalls.js';
import { CODE_OPTION_BITS, CODE_STATE_NAMES, DrillSymbolError, ERRNOS, evalIntExpr } from './symbols.js';
import { tcpOptionsToWire } from './tcp-options.js';
import { icmpLinePacket, icmpTypeCode } from './icmp-lines.js';
import { describeLive, fmtSec, mergeSegments, newTrack, u32, verifyOutbound, type OutboundSegment, type ScriptTime, type Track } from './outbound.js';

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

interface Captured { bytes: Uint8Array; timeUs: number }

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
  private scriptTime(t: EventTime, inbound: boolean): ScriptTime {
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
    const tr = this.track!;
    this.log(`> ${describeLive(seg, tr)} matched against ${ev.text}`);
    const tsTicks = this.tickUs > 0 ? this.tolerance(t.start, 0) / this.tickUs : -1;
    verifyOutbound(ev, spec, seg, raw, timeUs, tr, t, { timingUs: tol, tsTicks });
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
      tr = newTrack(lp, rp);
      if (ev.direction === 'inbound') { tr.r = u32(spec.seq.start); tr.rKnown = true; }
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
      this.track = newTrack(lp, this.nextRemotePort++);
      this.track.r = u32(spec.seq.start);
      this.track.rKnown = true;
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
  private awaitOutbound(ev: PacketEvent, spec: TcpPacketSpec, t: ScriptTime, tol: number): OutboundSegment {
    // packetdrill waits for a `*` packet without limit; in virtual time an hour is as good and always ends.
    const deadline = t.any ? this.nowUs() + 3_600_000_000 : t.end + tol + 2_000_000;
    const frags: OutboundSegment[] = [];
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
    return mergeSegments(ev, spec, frags);
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
      this.track = newTrack(seg.srcPort, seg.dstPort);
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

  /** A call on the socket under test that started a new connection fixes a new tuple (§4.7). */
  private trackIfNew(fd: number, sock: Sock | undefined, before: Sock['conn']): void {
    if (sock?.conn && sock.conn !== before && fd === this.sutFd) {
      this.track = newTrack(sock.conn.localPort, sock.conn.remotePort);
      this.sutListening = false;
    }
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
            this.trackIfNew(fd, sock, before);
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
              this.trackIfNew(fd, sock, before);
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
          this.trackIfNew(fd, sock, before);
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
