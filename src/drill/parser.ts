/**
 * The packetdrill script parser: text → typed AST (ast.ts) a runner can execute directly.
 *
 * Grammar: google/packetdrill parser.y (as summarised in ../shared/docs/packetdrill-language.md §2–§9),
 * plus nplab's `#ifdef` dialect (§10, preprocess.ts). Script errors throw DrillParseError with
 * file:line:column and what was expected. Constructs synack cannot run (explicit IP headers, GRE, MPLS,
 * UDP, ICMP, MD5, TCP Fast Open, AccECN options, MPTCP, non-assert Python, ...) never throw: the result
 * carries `unsupported` naming the construct (§12 item 2).
 */
import { ACK, AE, CWR, ECE, FIN, PSH, RST, SYN, URG } from '../wire/tcp-types.js';
import type {
  CodeEvent, CommandEvent, DrillEvent, EncapsulationSpec, EventTime, Expr, IcmpPacketSpec, IpInfo, PacketEvent,
  ParsedScript, Personality, ScriptOptionLine, ScriptOptions, SyscallEvent, TcpOptionSpec, TcpPacketSpec,
  UdpPacketSpec, UnsupportedConstruct, UntimedCommand,
} from './ast.js';
import { parseCodeAssertions } from './code-block.js';
import { DrillParseError, type DrillErrorCode } from './errors.js';
import { describeToken, tokenize, type Token, type TokenType } from './lexer.js';
import { personalityDefines, preprocess } from './preprocess.js';
import { tcpOptionBytes } from './tcp-options.js';

/** Options of parseScript. */
export interface ParseScriptOptions {
  /** Used in error messages and kept in the result. */
  file: string;
  /** The system the script is written for: sets its default -D definitions. */
  personality: Personality;
  /** Extra `-D NAME=VALUE` definitions (value '' = defined without a value). */
  defines?: Record<string, string>;
}

/** Words lexer.l returns as keywords: a -D definition never replaces them. */
const RESERVED = new Set([
  'sa_family', 'sin_port', 'sin_addr', 'msg_name', 'msg_iov', 'msg_flags', 'msg_control', 'cmsg_data', 'cmsg_level',
  'cmsg_type', 'ee_errno', 'ee_origin', 'ee_type', 'ee_code', 'ee_info', 'ee_data', 'scm_sec', 'scm_nsec', 'fd', 'u32',
  'u64', 'ptr', 'events', 'revents', 'onoff', 'linger', 'htons', 'ipv4', 'ipv6', 'icmp', 'udp', 'GREv0', 'gre', 'raw',
  'sum', 'off', 'key', 'seq', 'none', 'checksum', 'present', 'mpls', 'label', 'tc', 'ttl', 'inet_addr', 'inet6_addr',
  'ack', 'eol', 'ecr', 'mss', 'mtu', 'nop', 'sack', 'sackOK', 'md5', 'TS', 'FO', 'FOEXP', 'tos', 'flowlabel', 'flags',
  'Flags', 'val', 'win', 'urg', 'wscale', 'ect01', 'ect0', 'ect1', 'noecn', 'ce', 'id', 'mut', 'trun', 'ins', 'ip',
  'tcp', 'ihl', 'source_port', 'ECN', 'e0b', 'e1b', 'ceb', 'encap', 'psp', 'spi',
]);

/** The grammar's built-in functions usable inside expressions. */
const CALLS = new Set(['htons', 'htonl', 'inet_addr', 'inet6_addr', 'msg_name', 'msg_iov']);

/** System calls google/packetdrill (and nplab) know; anything else cannot run anywhere. */
const KNOWN_SYSCALLS = new Set([
  'socket', 'bind', 'listen', 'accept', 'connect', 'read', 'readv', 'recv', 'recvfrom', 'recvmsg', 'write', 'writev',
  'send', 'sendto', 'sendmsg', 'fcntl', 'ioctl', 'close', 'shutdown', 'getsockopt', 'setsockopt', 'poll', 'cap_set',
  'open', 'sendfile', 'epoll_create', 'epoll_ctl', 'epoll_wait', 'pipe', 'splice', 'psp_rx_assoc', 'psp_tx_assoc',
]);

/** Symbols that only make sense for features synack does not implement. */
const UNSUPPORTED_SYMBOLS: Array<[RegExp, string]> = [
  // TCP_FASTOPEN, TCP_FASTOPEN_CONNECT and MSG_FASTOPEN are supported (RFC 7413, syscalls.ts); setting the key or
  // dropping cookies per socket is not.
  [/^(TCP_FASTOPEN_KEY|TCP_FASTOPEN_NO_COOKIE)$/, 'TCP Fast Open'],
  [/^TCP_MD5SIG\w*$/, 'TCP-MD5 (RFC 2385)'],
  [/^(IPPROTO_MPTCP|MPTCP_\w+|SOL_MPTCP)$/, 'MPTCP'],
  [/^(IPPROTO_SCTP|SOCK_SEQPACKET|SCTP_\w+)$/, 'SCTP'],
  [/^(IPPROTO_UDP|SOCK_DGRAM|IPPROTO_UDPLITE)$/, 'UDP sockets'],
  [/^(TCP_ZEROCOPY\w*|SO_ZEROCOPY|MSG_ZEROCOPY)$/, 'zero-copy TCP'],
];

/** Internal: stop parsing, the script is UNSUPPORTED and the rest cannot be read reliably. */
class AbortUnsupported { }

/** Exact decimal seconds → integral microseconds (digits past the 6th are dropped, as packetdrill does). */
function secondsTextToUsecs(text: string): number {
  const [ip, fp = ''] = text.split('.');
  const whole = ip === '' || ip === undefined ? 0 : Number(ip);
  const frac = Number((fp + '000000').slice(0, 6));
  return whole * 1_000_000 + frac;
}

const U16 = 0xffff;
const U32 = 0xffffffff;

class Parser {
  private i = 0;
  private readonly unsupported: UnsupportedConstruct[] = [];
  private readonly events: DrillEvent[] = [];
  private init?: UntimedCommand;
  private cleanup?: UntimedCommand;

  constructor(
    private toks: Token[],
    private readonly file: string,
  ) { }

  // --- token helpers --------------------------------------------------------------------------------

  private get tok(): Token { return this.toks[this.i]!; }
  /** The current token type (a method, so TypeScript does not narrow it across next()). */
  private ty(): TokenType { return this.toks[this.i]!.type; }
  private peek(n = 1): Token { return this.toks[Math.min(this.i + n, this.toks.length - 1)]!; }
  private next(): Token { const t = this.tok; if (t.type !== 'eof') this.i++; return t; }
  private isPunct(c: string, t: Token = this.tok): boolean { return t.type === 'punct' && t.text === c; }
  private isWord(w: string, t: Token = this.tok): boolean { return t.type === 'word' && t.text === w; }

  private error(code: DrillErrorCode, message: string, at: { line: number; column: number } = this.tok, expected?: string, found?: string): DrillParseError {
    return new DrillParseError({ file: this.file, line: at.line, column: at.column, code, message, expected, found });
  }
  /** "expected X, found Y" at the current token. */
  private expected(what: string): DrillParseError {
    const found = describeToken(this.tok);
    return this.error('syntax', `parse error: expected ${what}, found ${found}`, this.tok, what, found);
  }
  private expectPunct(c: string, what?: string): Token {
    if (!this.isPunct(c)) throw this.expected(what ?? `'${c}'`);
    return this.next();
  }
  private expectWord(w: string): Token {
    if (!this.isWord(w)) throw this.expected(`'${w}'`);
    return this.next();
  }
  /** An integer literal (decimal or hex) within [min, max]. */
  private expectInt(what: string, min: number, max: number): number {
    const t = this.tok;
    if (t.type !== 'int' && t.type !== 'hex') throw this.expected(what);
    this.next();
    const v = t.type === 'hex' ? parseInt(t.text.slice(2), 16) : Number(t.text);
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      throw this.error('range', `${what} out of range: ${t.text} (allowed ${min}..${max})`, t, `${what} in ${min}..${max}`, t.text);
    }
    return v;
  }

  private markUnsupported(construct: string, at: { line: number; column: number }): void {
    this.unsupported.push({ construct, line: at.line, column: at.column });
  }

  /** Normalised source text of toks[from..this.i): whitespace and comments collapse to one space. */
  private textFrom(from: number): string {
    let s = '';
    for (let k = from; k < this.i; k++) {
      const t = this.toks[k]!;
      if (k > from && t.offset > this.toks[k - 1]!.end) s += ' ';
      s += t.type === 'string' ? `"${t.value}"` : t.text;
    }
    return s;
  }

  // --- script ---------------------------------------------------------------------------------------

  parse(): void {
    const t0 = this.tok;
    if (t0.type === 'backquote') {
      this.init = { command: t0.value, line: t0.line, column: t0.column };
      this.next();
    }
    if (this.ty() === 'eof') {
      throw this.error('syntax', 'parse error: script has no events', this.tok, 'an event (e.g. "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3")', 'end of file');
    }
    while (this.ty() !== 'eof') {
      const t = this.tok;
      if (t.type === 'option') {
        throw this.error('syntax', `parse error: option --${t.value} must come before the first event`, t, 'an event', describeToken(t));
      }
      if (t.type === 'backquote') {
        // An untimed command after the events is the cleanup command; it must be the last thing.
        this.next();
        if (this.ty() !== 'eof') {
          throw this.error('syntax',
            'parse error: a `command` without a time is allowed only as the init command (before the first event) or the cleanup command (after the last event)',
            t, 'an event time before the `command`', describeToken(t));
        }
        this.cleanup = { command: t.value, line: t.line, column: t.column };
        break;
      }
      this.parseEvent();
    }
  }

  result(): { events: DrillEvent[]; init?: UntimedCommand; cleanup?: UntimedCommand; unsupported: UnsupportedConstruct[] } {
    return { events: this.events, init: this.init, cleanup: this.cleanup, unsupported: this.unsupported };
  }

  // --- events ---------------------------------------------------------------------------------------

  private parseEvent(): void {
    const start = this.i;
    const first = this.tok;
    const time = this.parseEventTime();
    const t = this.tok;
    let ev: DrillEvent;
    if (this.isPunct('<') || this.isPunct('>')) {
      ev = this.parsePacket(first, time, start);
    } else if (t.type === 'backquote') {
      this.next();
      ev = { kind: 'command', line: first.line, column: first.column, time, command: t.value, text: this.textFrom(start) } satisfies CommandEvent;
    } else if (t.type === 'code') {
      this.next();
      const assertions = parseCodeAssertions(t.value, t.line);
      if (assertions === null) this.markUnsupported('%{ }% code block beyond `assert NAME ==|!= VALUE` (Python)', t);
      ev = { kind: 'code', line: first.line, column: first.column, time, code: t.value, assertions, text: this.textFrom(start) } satisfies CodeEvent;
    } else if (t.type === 'ellipsis' || (t.type === 'word' && this.isPunct('(', this.peek()))) {
      ev = this.parseSyscall(first, time, start);
    } else {
      throw this.expected("a packet ('<' or '>'), a system call, a `command` or a %{ code }% block after the event time");
    }
    this.checkTiming(ev, first);
    this.events.push(ev);
  }

  private parseTime(): number {
    const t = this.tok;
    if (t.type !== 'int' && t.type !== 'float') throw this.expected('a time in seconds (e.g. 0, 1.5, .1)');
    if (t.text.startsWith('-')) throw this.error('semantic', `negative time ${t.text}`, t, 'a time >= 0', t.text);
    this.next();
    const us = secondsTextToUsecs(t.text);
    if (!Number.isSafeInteger(us)) throw this.error('range', `time out of range: ${t.text}`, t);
    return us;
  }

  private parseEventTime(): EventTime {
    if (this.isPunct('*')) { this.next(); return { kind: 'any' }; }
    if (this.isPunct('+')) {
      this.next();
      const a = this.parseTime();
      if (this.isPunct('~')) {
        this.next();
        this.expectPunct('+', "'+' (both ends of a relative range are relative: +a~+b)");
        const b = this.parseTime();
        return { kind: 'relative-range', startUsecs: a, endUsecs: b };
      }
      return { kind: 'relative', usecs: a };
    }
    if (this.ty() === 'int' || this.ty() === 'float') {
      const a = this.parseTime();
      if (this.isPunct('~')) {
        this.next();
        if (this.isPunct('+')) throw this.expected('an absolute end time (a~b: both ends absolute)');
        const b = this.parseTime();
        return { kind: 'absolute-range', startUsecs: a, endUsecs: b };
      }
      return { kind: 'absolute', usecs: a };
    }
    throw this.expected("an event time (e.g. 0, +0.1, *, 1~2, +0~+0.04), a `command`, or end of file");
  }

  /** §2.3 timing checks and run.c's "first event at 0" / "time goes backward" checks. */
  private checkTiming(ev: DrillEvent, at: Token): void {
    const time = ev.time;
    const outbound = ev.kind === 'packet' && ev.direction === 'outbound';
    if (time.kind === 'any' && !outbound) {
      throw this.error('semantic', 'event time * can only be used with outbound packets', at);
    }
    if ((time.kind === 'absolute-range' || time.kind === 'relative-range')) {
      if (!outbound) throw this.error('semantic', 'event time range can only be used with outbound packets', at);
      if (time.endUsecs < time.startUsecs) throw this.error('semantic', 'time range is backwards', at);
    }
    const startOf = (t: EventTime): number =>
      t.kind === 'any' ? 0 : t.kind === 'absolute' || t.kind === 'relative' ? t.usecs : t.startUsecs;
    if (ev.kind === 'syscall' && ev.blocking && ev.blocking.endUsecs < startOf(time) && time.kind !== 'any') {
      throw this.error('semantic', 'blocking system call ends before it starts (T1...T2 needs T2 >= T1)', at);
    }
    const prev = this.events[this.events.length - 1];
    if (!prev) {
      if (time.kind === 'any' || startOf(time) !== 0) {
        throw this.error('semantic', 'first event should be at time 0', at, 'time 0 (0, 0.000 or +0)');
      }
      return;
    }
    const isAbs = (t: EventTime): boolean => t.kind === 'absolute' || t.kind === 'absolute-range';
    if (isAbs(prev.time) && isAbs(time) && startOf(time) < startOf(prev.time)) {
      throw this.error('semantic', `time goes backward in script from ${startOf(prev.time)} usec to ${startOf(time)} usec`, at);
    }
  }

  // --- packets (§4) ---------------------------------------------------------------------------------

  private parsePacket(first: Token, time: EventTime, start: number): PacketEvent {
    const dirTok = this.next();
    const direction = dirTok.text === '<' ? 'inbound' : 'outbound';
    const encapsulation: EncapsulationSpec[] = [];

    // packet_prefix: explicit outer headers (never in ../packetdrill; all unsupported).
    for (;;) {
      const t = this.tok;
      if (this.isWord('ipv4') || this.isWord('ipv6')) {
        const from = this.i;
        const addrType = t.text === 'ipv4' ? 'ipv4' : 'ipv6';
        // Marked before reading on: if the header uses syntax we do not know, the script is still UNSUPPORTED.
        this.markUnsupported(`explicit ${addrType === 'ipv4' ? 'IPv4' : 'IPv6'} header`, t);
        const mark = this.unsupported[this.unsupported.length - 1]!;
        this.next();
        const ip = this.parseOptIpInfo(direction);
        if (this.ty() !== addrType) throw this.expected(`an ${addrType === 'ipv4' ? 'IPv4' : 'IPv6'} source address`);
        const src = this.next().text;
        this.expectPunct('>');
        if (this.ty() !== addrType) throw this.expected(`an ${addrType === 'ipv4' ? 'IPv4' : 'IPv6'} destination address`);
        const dst = this.next().text;
        this.expectPunct(':');
        encapsulation.push({ kind: addrType, src, dst, ip, line: t.line, column: t.column, text: this.textFrom(from) });
        mark.construct += ` (${src} > ${dst})`;
        continue;
      }
      if (this.isWord('gre') || this.isWord('GREv0') || this.isWord('mpls')) {
        const from = this.i;
        const kind = t.text === 'mpls' ? 'mpls' : 'gre';
        this.markUnsupported(kind === 'gre' ? 'GRE encapsulation' : 'MPLS encapsulation', t);
        this.next();
        this.skipUntilPunct(':', t.text);
        this.next();
        encapsulation.push({ kind, line: t.line, column: t.column, text: this.textFrom(from) });
        continue;
      }
      if (this.isWord('encap')) {
        this.markUnsupported('encapsulation (encap, e.g. PSP)', t);
        throw new AbortUnsupported();
      }
      if (this.isWord('sctp') || this.isWord('udplite')) {
        this.markUnsupported(t.text === 'sctp' ? 'SCTP packet' : 'UDP-Lite packet', t);
        throw new AbortUnsupported();
      }
      break;
    }

    // packetdrill's `DIR [START:END(LEN)] icmp ...` / `DIR [udp (N)] icmp ...`: the quoted segment comes first.
    const echoed = this.isPunct('[') && (this.peek().type === 'int' || (this.peek().type === 'word' && this.peek().text === 'udp'))
      ? this.parseIcmpEchoed() : null;
    const ip = echoed ? {} : this.parseOptIpInfo(direction);
    let packet: TcpPacketSpec | UdpPacketSpec | IcmpPacketSpec;
    let ports: { src: number; dst: number } | undefined;
    if (echoed && !this.isWord('icmp')) throw this.expected("'icmp' after the quoted segment");
    if (this.isWord('udp')) {
      const u = this.next();
      this.markUnsupported('UDP packet', u);
      ports = this.parseOptPorts();
      this.expectPunct('(', "'(' before the UDP payload length");
      const len = this.expectInt('UDP payload size', 0, U16);
      this.expectPunct(')');
      packet = { protocol: 'udp', len };
    } else if (this.isWord('icmp')) {
      packet = this.parseIcmp(direction, echoed);
    } else {
      ports = this.parseOptPorts();
      packet = this.parseTcp(direction, dirTok);
    }

    if (this.isPunct('/')) {
      // nplab's TCP-over-UDP form `…/udp(sport > dport)`.
      this.markUnsupported('UDP encapsulation (…/udp(sport > dport))', this.tok);
      throw new AbortUnsupported();
    }
    if (this.isPunct('{')) {
      const t = this.next();
      this.skipUntilPunct('}', 'packet fuzzing');
      this.next();
      this.markUnsupported('packet fuzzing ({mut ...})', t);
    }
    if (ip.ecn === 'ect01' && direction !== 'outbound') {
      throw this.error('semantic', '[ect01] can only be used with outbound packets', dirTok);
    }
    return {
      kind: 'packet', line: first.line, column: first.column, direction, time, ip, ports, encapsulation, packet,
      text: this.textFrom(start),
    };
  }

  /** Skips to the next `c` (punct) at bracket depth 0, without consuming it. */
  private skipUntilPunct(c: string, what: string): void {
    let depth = 0;
    const from = this.tok;
    for (;;) {
      const t = this.tok;
      if (t.type === 'eof') throw this.error('syntax', `parse error: unterminated ${what}: expected '${c}'`, from, `'${c}'`, 'end of file');
      if (depth === 0 && this.isPunct(c)) return;
      if (this.isPunct('(') || this.isPunct('[') || this.isPunct('{')) depth++;
      if (this.isPunct(')') || this.isPunct(']') || this.isPunct('}')) depth = Math.max(0, depth - 1);
      this.next();
    }
  }

  private parseOptPorts(): { src: number; dst: number } | undefined {
    if (this.ty() === 'int' && this.isPunct('>', this.peek())) {
      const src = this.expectInt('source port', 0, U16);
      this.next();
      const dst = this.expectInt('destination port', 0, U16);
      return { src, dst };
    }
    return undefined;
  }

  /** `(tos 0x3, flowlabel 0x1)`, `[ect0]`, `(ttl 64)`: IP fields set or checked (§4.5). */
  private parseOptIpInfo(_direction: 'inbound' | 'outbound'): IpInfo {
    const ip: IpInfo = {};
    if (!this.isPunct('(') && !this.isPunct('[')) return ip;
    const open = this.next();
    const close = open.text === '(' ? ')' : ']';
    for (;;) {
      const t = this.tok;
      if (this.isWord('tos')) { this.next(); ip.tos = this.expectInt('tos', 0, 0xff); }
      else if (this.isWord('flowlabel')) { this.next(); ip.flowLabel = this.expectInt('flowlabel', 0, 0xfffff); }
      else if (this.isWord('ttl')) { this.next(); ip.ttl = this.expectInt('ttl', 0, 0xff); }
      else if (t.type === 'word' && ['noecn', 'ect0', 'ect1', 'ce', 'ect01'].includes(t.text)) { this.next(); ip.ecn = t.text as IpInfo['ecn']; }
      else throw this.expected('an IP field: tos 0xNN, flowlabel 0xNNNNN, ttl N, noecn, ect0, ect1, ce or ect01');
      if (this.isPunct(',')) { this.next(); continue; }
      this.expectPunct(close);
      return ip;
    }
  }

  /** `[START:END(LEN)]` or `[udp (N)]` before `icmp`: the segment an ICMP error quotes. */
  private parseIcmpEchoed(): Pick<IcmpPacketSpec, 'echoedTcp' | 'echoedUdp'> {
    this.expectPunct('[');
    if (this.isWord('udp')) {
      this.next();
      this.expectPunct('(', "'(' before the UDP payload length");
      const n = this.expectInt('UDP payload size', 0, U16);
      this.expectPunct(')');
      this.expectPunct(']');
      return { echoedUdp: n };
    }
    const echoedTcp = this.parseSeqRange();
    this.expectPunct(']');
    return { echoedTcp };
  }

  /** `START:END(LEN)`, with END = START + LEN checked (a TCP line's sequence range, or the one an ICMP error quotes). */
  private parseSeqRange(): { start: number; end: number; len: number } {
    const at = this.tok;
    const start = this.expectInt('TCP start sequence number', 0, U32);
    this.expectPunct(':', "':' in START:END(LEN)");
    const end = this.expectInt('TCP end sequence number', 0, U32);
    this.expectPunct('(', "'(' in START:END(LEN)");
    const len = this.expectInt('TCP payload size', 0, U16);
    this.expectPunct(')', "')' in START:END(LEN)");
    if (end !== start + len) throw this.error('semantic', `inconsistent TCP sequence numbers and payload size: ${start}:${end}(${len}) needs END = START + LEN`, at);
    return { start, end, len };
  }

  private parseIcmp(direction: 'inbound' | 'outbound', echoed: Pick<IcmpPacketSpec, 'echoedTcp' | 'echoedUdp'> | null): IcmpPacketSpec {
    const t = this.next();
    // The runner injects inbound ICMP quoting a TCP segment; outbound ICMP and quoted UDP are not run.
    if (direction === 'outbound' || echoed?.echoedUdp !== undefined) this.markUnsupported('ICMP packet', t);
    if (this.ty() !== 'word') throw this.expected('an ICMP type (e.g. unreachable)');
    const spec: IcmpPacketSpec = { protocol: 'icmp', type: this.next().text, ...echoed };
    if (this.ty() === 'word' && !this.isWord('mtu') && !this.isWord('id')) spec.code = this.next().text;
    if (this.isWord('mtu')) { this.next(); spec.mtu = this.expectInt('ICMP mtu', 0, U16); }
    if (this.isWord('id')) { this.next(); spec.id = this.expectInt('ICMP echo id', 0, U16); }
    if (this.isPunct('[') && this.peek().type === 'int' && spec.echoedTcp === undefined) {
      // The quoted segment written after the type (an older form): the same meaning.
      const from = this.i;
      spec.echoedTcp = this.parseIcmpEchoed().echoedTcp;
      spec.echoed = this.textFrom(from);
    } else if (this.isPunct('[')) {
      const from = this.i;
      this.next();
      this.skipUntilPunct(']', 'ICMP echoed packet');
      this.next();
      spec.echoed = this.textFrom(from);
      this.markUnsupported('ICMP packet', t);
    }
    return spec;
  }

  /** `FLAGS START:END(LEN) [ack A] [win W] [urg U] [<options>|<...>]` (§4.1–§4.4). */
  private parseTcp(direction: 'inbound' | 'outbound', dirTok: Token): TcpPacketSpec {
    const flagTok = this.tok;
    let flagsText: string;
    if (this.isPunct('-')) { this.next(); flagsText = '-'; }
    else if (this.isPunct('.')) { this.next(); flagsText = '.'; }
    else if (this.ty() === 'float' && !this.tok.text.startsWith('-')) { flagsText = this.next().text; } // ack_and_ace: ".5"
    else if (this.ty() === 'word') {
      flagsText = this.next().text;
      if (this.isPunct('.')) { this.next(); flagsText += '.'; }
      else if (this.ty() === 'float' && !this.tok.text.startsWith('-')) flagsText += this.next().text;
    } else {
      throw this.expected("TCP flags (e.g. S, S., ., F., R, P., - for none)");
    }
    const { flags, ace } = this.decodeFlags(flagsText, flagTok);

    const spec: TcpPacketSpec = { protocol: 'tcp', flagsText, flags, seq: this.parseSeqRange(), options: [] };
    if (ace !== undefined) spec.ace = ace;
    if (this.isWord('ack')) { this.next(); spec.ack = this.expectInt('TCP ack sequence number', 0, U32); }
    if (this.isWord('win')) { this.next(); spec.win = this.expectInt('TCP window value', 0, U16); }
    if (this.isWord('urg')) { this.next(); spec.urg = this.expectInt('urg_ptr value', 0, U16); }
    if (this.isPunct('<')) spec.options = this.parseTcpOptions(direction);

    if (direction === 'inbound' && spec.win === undefined) {
      // packetdrill: an injected segment needs a window, there is no sensible default.
      if (this.isWord('ack') || this.isWord('win') || this.isWord('urg')) throw this.expected('TCP fields in the order ack, win, urg, <options>');
      throw this.error('semantic', "inbound TCP packet needs 'win N'", dirTok, "'win N' (mandatory on inbound packets)");
    }
    if (this.isWord('ack') || this.isWord('win') || this.isWord('urg')) {
      throw this.expected('TCP fields in the order ack, win, urg, <options>; a field may appear only once');
    }
    return spec;
  }

  private decodeFlags(text: string, at: Token): { flags: number; ace?: number } {
    if (text === '-') return { flags: 0 };
    let flags = 0;
    let ace: number | undefined;
    let ewa = false;
    for (const ch of text) {
      switch (ch) {
        case 'F': flags |= FIN; break;
        case 'S': flags |= SYN; break;
        case 'R': flags |= RST; break;
        case 'P': flags |= PSH; break;
        case '.': flags |= ACK; break;
        case 'U': flags |= URG; break;
        case 'E': flags |= ECE; ewa = true; break;
        case 'W': flags |= CWR; ewa = true; break;
        case 'A': flags |= AE; ewa = true; break;
        default:
          if (ch >= '0' && ch <= '7') {
            if (ace !== undefined) throw this.error('semantic', `TCP flags '${text}': only one ACE digit allowed`, at);
            ace = ch.charCodeAt(0) - 48;
            // ACE is the 3-bit field AE|CWR|ECE, AE most significant (RFC 9768 §3.2.2.1).
            if (ace & 1) flags |= ECE;
            if (ace & 2) flags |= CWR;
            if (ace & 4) flags |= AE;
            break;
          }
          throw this.error('semantic', `invalid TCP flag '${ch}' in '${text}'`, at, 'flag letters from . F S R P E W A U 0-7');
      }
    }
    if (ace !== undefined && ewa) throw this.error('semantic', `TCP flags '${text}': an ACE digit cannot be mixed with E, W or A`, at);
    return ace === undefined ? { flags } : { flags, ace };
  }

  private parseTcpOptions(direction: 'inbound' | 'outbound'): TcpOptionSpec[] | 'unchecked' {
    const open = this.next();
    if (this.ty() === 'ellipsis') {
      this.next();
      this.expectPunct('>', "'>' after '<...'");
      if (direction !== 'outbound') {
        throw this.error('semantic', '<...> for TCP options can only be used with outbound packets', open);
      }
      return 'unchecked';
    }
    const list: TcpOptionSpec[] = [];
    for (;;) {
      list.push(this.parseTcpOption());
      if (this.isPunct(',')) { this.next(); continue; }
      this.expectPunct('>', "',' or '>' in the TCP option list");
      break;
    }
    const sizes = list.map(tcpOptionBytes);
    if (sizes.every((s) => s !== undefined)) {
      const total = (sizes as number[]).reduce((a, b) => a + b, 0);
      if (total > 40) throw this.error('semantic', `TCP option list too long: ${total} bytes (at most 40)`, open);
      if (total % 4 !== 0) {
        throw this.error('semantic', `TCP option list is ${total} bytes, not a multiple of 4: pad it with nop or eol`, open, 'an option list whose length is a multiple of 4 bytes');
      }
    }
    return list;
  }

  private parseTcpOption(): TcpOptionSpec {
    const t = this.tok;
    if (t.type !== 'word') throw this.expected('a TCP option (nop, eol, mss N, wscale N, sackOK, sack L:R, TS val V ecr E)');
    switch (t.text) {
      case 'nop': this.next(); return { kind: 'nop' };
      case 'eol': this.next(); return { kind: 'eol' };
      case 'mss': this.next(); return { kind: 'mss', value: this.expectInt('mss value', 0, U16) };
      case 'wscale': this.next(); return { kind: 'wscale', shift: this.expectInt('window scale shift count', 0, 0xff) };
      case 'sackOK': this.next(); return { kind: 'sackOK' };
      case 'sack': {
        this.next();
        const blocks: Array<[number, number]> = [];
        do {
          const l = this.expectInt('TCP SACK left sequence number', 0, U32);
          this.expectPunct(':', "':' in the SACK block L:R");
          const r = this.expectInt('TCP SACK right sequence number', 0, U32);
          blocks.push([l, r]);
        } while (this.ty() === 'int' || this.ty() === 'hex');
        return { kind: 'sack', blocks };
      }
      case 'TS': {
        this.next();
        this.expectWord('val');
        const val = this.expectInt('ts val', 0, U32);
        this.expectWord('ecr');
        const ecr = this.expectInt('ecr val', 0, U32);
        return { kind: 'timestamp', val, ecr };
      }
      case 'FO': case 'FOEXP': {
        // The cookie is a hex string with no 0x (packetdrill: `FO abcd1234`); none = a cookie request.
        this.next();
        let hex = '';
        while (!this.isPunct(',') && !this.isPunct('>') && this.ty() !== 'eof') { hex += this.tok.text; this.next(); }
        hex = hex.replace(/^0x/i, '');
        if (!/^([0-9a-fA-F]{2})*$/.test(hex) || hex.length > 32) throw this.error('syntax', `parse error: TCP Fast Open cookie '${hex}' is not an even number of hex digits (at most 16 bytes)`, t);
        const cookie = new Uint8Array(hex.length / 2);
        for (let i = 0; i < cookie.length; i++) cookie[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
        return { kind: 'fastopen', cookie, exp: t.text === 'FOEXP' };
      }
      case 'md5': case 'ECN': case 'exp': case 'mptcp': {
        const from = this.i;
        this.next();
        while (!this.isPunct(',') && !this.isPunct('>') && this.ty() !== 'eof') this.next();
        const construct = t.text === 'md5' ? 'TCP-MD5 option (md5)'
          : t.text === 'ECN' ? 'AccECN option (ECN)' : `TCP option '${t.text}'`;
        this.markUnsupported(construct, t);
        return { kind: 'unsupported', name: t.text, text: this.textFrom(from) };
      }
      default:
        throw this.error('syntax', `parse error: unknown TCP option '${t.text}'`, t,
          'a TCP option (nop, eol, mss N, wscale N, sackOK, sack L:R, TS val V ecr E, md5, FO, FOEXP)', describeToken(t));
    }
  }

  // --- system calls (§7) ----------------------------------------------------------------------------

  private parseSyscall(first: Token, time: EventTime, start: number): SyscallEvent {
    let blocking: { endUsecs: number } | undefined;
    if (this.ty() === 'ellipsis') {
      this.next();
      if (this.isPunct('+')) throw this.expected("the end time of a blocking call without '+' (T1...T2: T2 shares T1's anchor)");
      blocking = { endUsecs: this.parseTime() };
    }
    if (this.ty() !== 'word' || !this.isPunct('(', this.peek())) throw this.expected('a system call name followed by (');
    const nameTok = this.next();
    const name = nameTok.text;
    this.expectPunct('(');
    const args: Expr[] = [];
    if (!this.isPunct(')')) {
      for (;;) {
        args.push(this.parseExpr());
        if (this.isPunct(',')) { this.next(); continue; }
        this.expectPunct(')', "',' or ')' in the argument list");
        break;
      }
    } else {
      this.next();
    }
    this.expectPunct('=', "'= RESULT' after the system call");
    const result = this.parseExpr();
    let errno: string | undefined;
    let note: string | undefined;
    // The errno name follows the result on its line (a word on a later line is a script error, not an errno).
    const resultEnd = this.toks[this.i - 1]!;
    if (this.ty() === 'word' && (this.tok.line === resultEnd.line || /^E[A-Z0-9]+$/.test(this.tok.text))) errno = this.next().text;
    if (this.isPunct('(')) note = this.parseNote();

    if (!KNOWN_SYSCALLS.has(name)) this.markUnsupported(`system call '${name}' (not a packetdrill system call)`, nameTok);
    const seen = new Set<string>();
    const visit = (e: Expr): void => {
      switch (e.kind) {
        case 'symbol':
          for (const [re, construct] of UNSUPPORTED_SYMBOLS) {
            if (re.test(e.name) && !seen.has(construct)) { seen.add(construct); this.markUnsupported(`${construct} (${e.name})`, e); }
          }
          break;
        case 'or': e.operands.forEach(visit); break;
        case 'array': case 'struct': e.items.forEach(visit); break;
        case 'call': e.args.forEach(visit); break;
        case 'assign': e.targetArgs?.forEach(visit); visit(e.value); break;
        default: break;
      }
    };
    args.forEach(visit);

    const ev: SyscallEvent = { kind: 'syscall', line: first.line, column: first.column, time, name, args, result, text: '' };
    if (blocking) ev.blocking = blocking;
    if (errno !== undefined) ev.errno = errno;
    if (note !== undefined) ev.note = note;
    ev.text = this.textFrom(start);
    return ev;
  }

  /** `(free text)`: the source between balanced parentheses. */
  private parseNote(): string {
    const open = this.next();
    let depth = 1;
    const from = this.i;
    for (;;) {
      const t = this.tok;
      if (t.type === 'eof') throw this.error('syntax', "parse error: unterminated note: expected ')'", open, "')'", 'end of file');
      if (this.isPunct('(')) depth++;
      if (this.isPunct(')') && --depth === 0) break;
      this.next();
    }
    const text = this.textFrom(from);
    this.next();
    return text;
  }

  private parseExpr(): Expr {
    const first = this.parsePrimary();
    if (!this.isPunct('|')) return first;
    const operands = [first];
    while (this.isPunct('|')) { this.next(); operands.push(this.parsePrimary()); }
    return { kind: 'or', operands, line: first.line, column: first.column };
  }

  private depth = 0;

  private parsePrimary(): Expr {
    // Bound nesting so hostile input ([[[[...) gets a script error, not a stack overflow.
    if (++this.depth > 64) throw this.error('syntax', 'parse error: expressions nested more than 64 deep', this.tok);
    try {
      return this.parsePrimaryInner();
    } finally {
      this.depth--;
    }
  }

  private parsePrimaryInner(): Expr {
    const t = this.tok;
    const pos = { line: t.line, column: t.column };
    switch (t.type) {
      case 'ellipsis': this.next(); return { kind: 'ellipsis', ...pos };
      case 'int': case 'hex': {
        this.next();
        const value = t.type === 'hex' ? parseInt(t.text.slice(2), 16) : Number(t.text);
        if (!Number.isSafeInteger(value)) throw this.error('range', `integer out of range: ${t.text}`, t);
        return { kind: 'int', value, hex: t.type === 'hex', text: t.text, ...pos };
      }
      case 'string': {
        let value = '';
        while (this.ty() === 'string') value += this.next().value;
        let ellipsis = false;
        if (this.ty() === 'ellipsis') { this.next(); ellipsis = true; }
        return { kind: 'string', value, ellipsis, ...pos };
      }
      case 'word': {
        this.next();
        let targetArgs: Expr[] | undefined;
        if (CALLS.has(t.text) && this.isPunct('(')) {
          this.next();
          const args: Expr[] = [];
          if (!this.isPunct(')')) {
            for (;;) {
              args.push(this.parseExpr());
              if (this.isPunct(',')) { this.next(); continue; }
              break;
            }
          }
          this.expectPunct(')', `')' closing ${t.text}(`);
          if (!this.isPunct('=')) return { kind: 'call', name: t.text, args, ...pos };
          targetArgs = args;
        }
        if (this.isPunct('=')) {
          this.next();
          const value = this.parseExpr();
          return targetArgs ? { kind: 'assign', target: t.text, targetArgs, value, ...pos } : { kind: 'assign', target: t.text, value, ...pos };
        }
        return { kind: 'symbol', name: t.text, ...pos };
      }
      case 'punct':
        if (t.text === '[' || t.text === '{') {
          this.next();
          const close = t.text === '[' ? ']' : '}';
          const items: Expr[] = [];
          if (!this.isPunct(close)) {
            for (;;) {
              items.push(this.parseExpr());
              if (this.isPunct(',')) { this.next(); continue; }
              break;
            }
          }
          this.expectPunct(close, `',' or '${close}'`);
          return t.text === '[' ? { kind: 'array', items, ...pos } : { kind: 'struct', items, ...pos };
        }
        break;
      default: break;
    }
    throw this.expected('an expression (a number, a SYMBOL, a "string", ..., [..] or {..})');
  }
}

// ---------------------------------------------------------------------------------------------------
// Options (§9)
// ---------------------------------------------------------------------------------------------------

/** Options that only say how real packetdrill reaches its stack; synack's runner replaces all of them. */
const PLUMBING_OPTIONS = new Set([
  'gateway_ip', 'netmask_ip', 'speed', 'init_scripts', 'so_filename', 'so_flags', 'wire_client', 'wire_server',
  'wire_server_ip', 'wire_server_port', 'wire_client_dev', 'wire_server_dev', 'tun_dev', 'persistent_tun_dev',
  'dry_run', 'verbose', 'debug', 'send_omit_free', 'code_command', 'code_format', 'code_sockopt', 'fm_filename',
  'fm_flags', 'local_linklocal_ip', 'local_ip6', 'remote_ip6', 'v', 'ipv4_mapped_ipv6',
]);

function defaultOptions(personality: Personality, defines: Record<string, string>): ScriptOptions {
  return {
    toleranceUsecs: 4000,
    // nplab's fork defaults the percentage to 5 on FreeBSD (§3.3).
    tolerancePercent: personality === 'freebsd' ? 5 : 12.5,
    tcpTsTickUsecs: 0,
    tcpTsEcrScaled: false,
    // nplab defaults to IPv4; Linux scripts are family-neutral (the runner picks).
    ipVersion: personality === 'freebsd' ? 'ipv4' : undefined,
    bindPort: 8080,
    connectPort: 8080,
    strictSegments: false,
    nonFatal: [],
    defines,
    given: [],
  };
}

function applyOption(o: ScriptOptionLine, opts: ScriptOptions, file: string, unsupported: UnsupportedConstruct[]): void {
  const bad = (why: string): DrillParseError =>
    new DrillParseError({ file, line: o.line, column: o.column, code: 'option', message: `option --${o.name}: ${why}`, expected: why, found: o.value ?? '(no value)' });
  const intVal = (min: number, max: number): number => {
    if (o.value === undefined) throw bad('needs a value (--' + o.name + '=N)');
    const v = /^0x[0-9a-f]+$/i.test(o.value) ? parseInt(o.value.slice(2), 16) : /^[0-9]+$/.test(o.value) ? Number(o.value) : NaN;
    if (!Number.isSafeInteger(v) || v < min || v > max) throw bad(`expected an integer in ${min}..${max}`);
    return v;
  };
  switch (o.name) {
    case 'tolerance_usecs': opts.toleranceUsecs = intVal(0, 1e12); return;
    case 'tolerance_percent': {
      const v = o.value !== undefined && /^[0-9]*\.?[0-9]+$/.test(o.value) ? Number(o.value) : NaN;
      if (!Number.isFinite(v)) throw bad('expected a number of percent');
      opts.tolerancePercent = v;
      return;
    }
    case 'tcp_ts_tick_usecs': opts.tcpTsTickUsecs = intVal(0, 1e12); return;
    case 'tcp_ts_ecr_scaled': opts.tcpTsEcrScaled = true; return;
    case 'strict_segments': opts.strictSegments = true; return;
    case 'ip_version':
      if (o.value !== 'ipv4' && o.value !== 'ipv6' && o.value !== 'ipv4-mapped-ipv6') throw bad('expected ipv4, ipv6 or ipv4-mapped-ipv6');
      opts.ipVersion = o.value;
      return;
    case 'mtu': opts.mtu = intVal(1, 65535 + 40); return;
    case 'mss': opts.mss = intVal(1, 65535); return;
    case 'bind_port': opts.bindPort = intVal(0, 65535); return;
    case 'connect_port': opts.connectPort = intVal(0, 65535); return;
    case 'local_ip': case 'remote_ip':
      if (!o.value) throw bad('needs an address');
      if (o.name === 'local_ip') opts.localIp = o.value; else opts.remoteIp = o.value;
      return;
    case 'non_fatal':
      if (!o.value) throw bad('needs a list (packet,syscall)');
      for (const part of o.value.split(',').map((s) => s.trim())) {
        if (part !== 'packet' && part !== 'syscall') throw bad(`unknown class '${part}' (expected packet or syscall)`);
        opts.nonFatal.push(part);
      }
      return;
    case 'define': {
      const m = o.value === undefined ? null : /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(o.value);
      if (!m) throw bad('expected NAME or NAME=VALUE');
      opts.defines[m[1]!] = m[2] ?? '';
      return;
    }
    default:
      if (PLUMBING_OPTIONS.has(o.name)) return;
      unsupported.push({ construct: `option --${o.name}`, line: o.line, column: o.column });
  }
}

/** Lexes a -D value into the token(s) that replace a WORD (packetdrill's word() in lexer.l). */
function substituteDefines(toks: Token[], from: number, defines: Record<string, string>, file: string): Token[] {
  const names = Object.keys(defines).filter((k) => defines[k] !== '');
  if (names.length === 0) return toks;
  const out = toks.slice(0, from);
  for (let k = from; k < toks.length; k++) {
    const t = toks[k]!;
    if (t.type === 'word' && !RESERVED.has(t.text) && Object.prototype.hasOwnProperty.call(defines, t.text) && defines[t.text] !== '') {
      let repl: Token[];
      try {
        repl = tokenize(defines[t.text]!, file).filter((x) => x.type !== 'eof');
      } catch (e) {
        const why = e instanceof DrillParseError ? e.detail : String(e);
        throw new DrillParseError({ file, line: t.line, column: t.column, code: 'lex', message: `definition ${t.text}=${defines[t.text]} cannot be read: ${why}` });
      }
      for (const r of repl) out.push({ ...r, line: t.line, column: t.column, offset: t.offset, end: t.end });
      continue;
    }
    out.push(t);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------------

/**
 * Parses a packetdrill script. Throws DrillParseError for script errors (file:line:column, expected vs
 * found). Returns `unsupported` (and possibly partial `events`) for constructs synack cannot run.
 */
export function parseScript(text: string, opts: ParseScriptOptions): ParsedScript {
  const file = opts.file;
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const pre = preprocess(src, { file, defines: { ...personalityDefines(opts.personality), ...(opts.defines ?? {}) } });
  let toks = tokenize(pre.text, file);

  // Leading `--name[=value]` lines. The value is the rest of the line's tokens, as written.
  const given: ScriptOptionLine[] = [];
  let i = 0;
  while (toks[i]!.type === 'option') {
    const t = toks[i]!;
    i++;
    const o: ScriptOptionLine = { name: t.value, line: t.line, column: t.column };
    if (toks[i]!.type === 'punct' && toks[i]!.text === '=' && toks[i]!.offset === t.end) {
      i++;
      const first = toks[i]!;
      if (first.type === 'eof' || first.line !== t.line || first.offset !== toks[i - 1]!.end) {
        throw new DrillParseError({ file, line: t.line, column: t.column, code: 'option', message: `option --${t.value}: expected a value after '='`, expected: 'a value', found: describeToken(first) });
      }
      let last = first;
      while (toks[i]!.type !== 'eof' && toks[i]!.line === t.line) { last = toks[i]!; i++; }
      o.value = pre.text.slice(first.offset, last.end);
      if (o.value.startsWith('"') && o.value.endsWith('"') && o.value.length >= 2) o.value = o.value.slice(1, -1);
    }
    given.push(o);
  }

  const unsupported: UnsupportedConstruct[] = [];
  const options = defaultOptions(opts.personality, { ...pre.defines });
  options.given = given;
  for (const o of given) applyOption(o, options, file, unsupported);

  toks = substituteDefines(toks, i, options.defines, file);
  const parser = new Parser(toks.slice(i), file);
  try {
    parser.parse();
  } catch (e) {
    // After an unsupported construct the rest may use syntax synack does not know: report UNSUPPORTED.
    if (!(e instanceof AbortUnsupported) && !(e instanceof DrillParseError && (unsupported.length > 0 || parser.result().unsupported.length > 0))) throw e;
  }
  const r = parser.result();
  const all = [...unsupported, ...r.unsupported].sort((a, b) => a.line - b.line || (a.column ?? 0) - (b.column ?? 0));
  const out: ParsedScript = { file, personality: opts.personality, options, events: r.events, unsupportedAll: all };
  if (r.init) out.init = r.init;
  if (r.cleanup) out.cleanup = r.cleanup;
  if (all.length > 0) out.unsupported = all[0];
  return out;
}
