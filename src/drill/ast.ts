/**
 * The typed AST of a packetdrill script, as produced by parseScript() (parser.ts) and executed by the
 * runner. Names follow ../shared/docs/packetdrill-language.md (§ numbers below refer to it) and
 * google/packetdrill's parser.y. Every node carries the 1-based line and column of its first token so
 * that the runner can name "the script line" in its failure messages.
 */

/**
 * The system a packetdrill script is written for, which configures the stack under test to behave as it does:
 * 'linux', 'freebsd', 'synack' (its own defaults) or 'rfc793' (RFC 793's rules, before RFC 5961).
 */
export type Personality = 'linux' | 'freebsd' | 'synack' | 'rfc793';

export interface SourcePos {
  /** 1-based line in the original script file (preprocessing keeps line numbers). */
  line: number;
  /** 1-based column (characters; a tab counts as one). */
  column: number;
}

// ---------------------------------------------------------------------------------------------------
// Timing (§3)
// ---------------------------------------------------------------------------------------------------

/**
 * When an event happens. All values are integral microseconds, converted from the script's decimal
 * seconds exactly (no binary floating-point rounding): `0.290` is 290000.
 * - absolute: seconds since the script started (`1.5`).
 * - relative: after the anchor of §3.2 (`+0.1`, `+.1`, `+ 0.00`).
 * - any: `*`, outbound packets only; never fails on timing.
 * - absolute-range (`a~b`) / relative-range (`+a~+b`): outbound packets only; both ends share the anchor.
 */
export type EventTime =
  | { kind: 'absolute'; usecs: number }
  | { kind: 'relative'; usecs: number }
  | { kind: 'any' }
  | { kind: 'absolute-range'; startUsecs: number; endUsecs: number }
  | { kind: 'relative-range'; startUsecs: number; endUsecs: number };

// ---------------------------------------------------------------------------------------------------
// Expressions (system-call arguments and results, §7.2)
// ---------------------------------------------------------------------------------------------------

/** An integer literal. `hex` keeps the written form for messages (`0x02`). */
export interface IntExpr extends SourcePos { kind: 'int'; value: number; hex: boolean; text: string }
/** A WORD used as a value: a symbolic constant (SOL_SOCKET, O_NONBLOCK, ECONNREFUSED, ...), resolved by the runner. */
export interface SymbolExpr extends SourcePos { kind: 'symbol'; name: string }
/** `"text"` (adjacent strings concatenated); `"text"...` sets `ellipsis` (packetdrill's "prefix" string). */
export interface StringExpr extends SourcePos { kind: 'string'; value: string; ellipsis: boolean }
/** `...`: "fill in a sensible value" (§7.2). */
export interface EllipsisExpr extends SourcePos { kind: 'ellipsis' }
/** `A | B | C`: bitwise OR of the operands, in written order. */
export interface OrExpr extends SourcePos { kind: 'or'; operands: Expr[] }
/** `[a, b]`: a pointer to an int (`[1]`, `[ECONNREFUSED]`) or an array (`[{fd=3, events=POLLIN}]`). */
export interface ArrayExpr extends SourcePos { kind: 'array'; items: Expr[] }
/** `{a=1, b=2}` or `{..., 10}`: a C struct; items are usually `assign` nodes (field=value). */
export interface StructExpr extends SourcePos { kind: 'struct'; items: Expr[] }
/** `htons(8080)`, `inet_addr("192.0.2.1")`, `inet6_addr("::1")`, `msg_iov(1)`: the grammar's built-in functions. */
export interface CallExpr extends SourcePos { kind: 'call'; name: string; args: Expr[] }
/** `name=value` (a struct field, e.g. `sa_family=AF_INET`); `msg_iov(1)=[...]` gives `targetArgs`. */
export interface AssignExpr extends SourcePos { kind: 'assign'; target: string; targetArgs?: Expr[]; value: Expr }

export type Expr = IntExpr | SymbolExpr | StringExpr | EllipsisExpr | OrExpr | ArrayExpr | StructExpr | CallExpr | AssignExpr;

// ---------------------------------------------------------------------------------------------------
// Packets (§4)
// ---------------------------------------------------------------------------------------------------

/** TCP options in wire order (§4.4). */
export type TcpOptionSpec =
  | { kind: 'nop' }
  | { kind: 'eol' }
  | { kind: 'mss'; value: number }
  | { kind: 'wscale'; shift: number }
  | { kind: 'sackOK' }
  | { kind: 'sack'; blocks: Array<[left: number, right: number]> }
  | { kind: 'timestamp'; val: number; ecr: number }
  /** TCP Fast Open (RFC 7413): `FO [hex]` (kind 34) or `FOEXP [hex]` (kind 254, ExID 0xF989); no hex = cookie request. */
  | { kind: 'fastopen'; cookie: Uint8Array; exp: boolean }
  /** md5, ECN (AccECN) ...: parsed only far enough to name them; the script is UNSUPPORTED. */
  | { kind: 'unsupported'; name: string; text: string };

/** IP-level parts of a packet line (§4.5); a field is present only when written. */
export interface IpInfo {
  tos?: number;
  ecn?: 'noecn' | 'ect0' | 'ect1' | 'ce' | 'ect01';
  flowLabel?: number;
  ttl?: number;
}

/** An explicit outer header (`ipv4 A > B:`, `gre ...:`, `mpls ...:`); always UNSUPPORTED (§4.5). */
export interface EncapsulationSpec extends SourcePos {
  kind: 'ipv4' | 'ipv6' | 'gre' | 'mpls';
  src?: string;
  dst?: string;
  ip?: IpInfo;
  /** The header's source text, for messages. */
  text: string;
}

export interface TcpPacketSpec {
  protocol: 'tcp';
  /** The flag field as written, e.g. "S.", "FP.", "-", "." (`-` = no flags, §4.2). */
  flagsText: string;
  /** The control bits as src/wire/tcp-types.ts constants (FIN|SYN|RST|PSH|ACK|URG|ECE|CWR|AE). */
  flags: number;
  /** AccECN ACE value when written as a digit 0-7 (its bits are also in `flags`). */
  ace?: number;
  /** START:END(LEN) in script number space (§6); END = START + LEN is checked. */
  seq: { start: number; end: number; len: number };
  /** The ack field if `ack N` was written (the ACK flag comes only from `.`); omitted means 0. */
  ack?: number;
  /** `win N`: mandatory on inbound lines; compared only when given on outbound lines. */
  win?: number;
  /** `urg N`; omitted means 0. */
  urg?: number;
  /** `<...>` = 'unchecked' (outbound only); no `<>` at all = [] (no options). */
  options: TcpOptionSpec[] | 'unchecked';
}

export interface UdpPacketSpec { protocol: 'udp'; len: number }
export interface IcmpPacketSpec {
  protocol: 'icmp';
  type: string;
  code?: string;
  mtu?: number;
  id?: number;
  /** The echoed packet, source text (e.g. "[1:1001(1000)]"). */
  echoed?: string;
  /**
   * The quoted segment packetdrill writes before `icmp` (`< [1:1461(1460)] icmp unreachable frag_needed mtu 1000`):
   * a TCP sequence range in the stack's (outbound) script numbers, or a UDP payload length.
   */
  echoedTcp?: { start: number; end: number; len: number };
  echoedUdp?: number;
}

export interface PacketEvent extends SourcePos {
  kind: 'packet';
  /** `<` inbound (the scripted peer sends it), `>` outbound (the stack must send it). */
  direction: 'inbound' | 'outbound';
  time: EventTime;
  ip: IpInfo;
  /** `sport>dport` when pinned (§4.1). */
  ports?: { src: number; dst: number };
  encapsulation: EncapsulationSpec[];
  packet: TcpPacketSpec | UdpPacketSpec | IcmpPacketSpec;
  /** Source text of the whole event, whitespace-normalised, for messages. */
  text: string;
}

// ---------------------------------------------------------------------------------------------------
// System calls, commands, code (§7, §8)
// ---------------------------------------------------------------------------------------------------

export interface SyscallEvent extends SourcePos {
  kind: 'syscall';
  time: EventTime;
  /**
   * `T1...T2 name(...)`: a call that may block (§3.5). `endUsecs` is T2 as written; when `time` is
   * relative, T2 is measured from the same anchor as T1 (not from T1).
   */
  blocking?: { endUsecs: number };
  name: string;
  args: Expr[];
  /** The expected return value (fds from socket/accept are symbolic, §7.1). */
  result: Expr;
  /** `= -1 EINPROGRESS (...)`: the errno name, checked only when written. */
  errno?: string;
  /** The free text in parentheses after the errno or result; never compared. */
  note?: string;
  text: string;
}

export interface CommandEvent extends SourcePos {
  kind: 'command';
  /** Timed commands only; the init/cleanup commands live in ParsedScript.init/cleanup. */
  time: EventTime;
  /** The text between the back-quotes, unchanged (backslash escapes kept). */
  command: string;
  text: string;
}

/** One `assert LHS OP RHS [, "message"]` statement from a `%{ }%` block (§11.6). */
export interface CodeAssertion {
  line: number;
  lhs: CodeOperand;
  op: '==' | '!=' | '<' | '<=' | '>' | '>=';
  rhs: CodeOperand;
  message?: string;
  text: string;
}
/** A name (`tcpi_state`, `TCPI_ESTABLISHED`), an integer, or a bitwise OR of those. */
export type CodeOperand =
  | { kind: 'name'; name: string }
  | { kind: 'int'; value: number }
  | { kind: 'or'; operands: CodeOperand[] };

export interface CodeEvent extends SourcePos {
  kind: 'code';
  time: EventTime;
  /** The text between `%{` and `}%`, spaces and tabs trimmed at both ends as packetdrill does. */
  code: string;
  /** The block as simple assertions, or null when it is other Python (then the script is UNSUPPORTED). */
  assertions: CodeAssertion[] | null;
  text: string;
}

export type DrillEvent = PacketEvent | SyscallEvent | CommandEvent | CodeEvent;

/** An untimed back-quoted command: the init command (before the first event) or cleanup (after the last), §2.1. */
export interface UntimedCommand extends SourcePos { command: string }

// ---------------------------------------------------------------------------------------------------
// Options (§9) and the whole script
// ---------------------------------------------------------------------------------------------------

export type IpVersion = 'ipv4' | 'ipv6' | 'ipv4-mapped-ipv6';

/** One `--name[=value]` line as written. */
export interface ScriptOptionLine extends SourcePos { name: string; value?: string }

/**
 * Effective options: the script's `--option` lines applied over packetdrill's defaults for the
 * personality (§9; nplab's fork, i.e. freebsd, defaults tolerance_percent to 5).
 */
export interface ScriptOptions {
  toleranceUsecs: number;
  tolerancePercent: number;
  /** 0 = TS val not checked (§5.1). */
  tcpTsTickUsecs: number;
  tcpTsEcrScaled: boolean;
  /** Undefined when the script does not pin a family (Linux scripts run in both, §9). */
  ipVersion?: IpVersion;
  mtu?: number;
  /** `--mss` (inbound GRO segment size on Linux; no effect for synack). */
  mss?: number;
  localIp?: string;
  remoteIp?: string;
  bindPort: number;
  connectPort: number;
  strictSegments: boolean;
  /** `--non_fatal=packet,syscall`. */
  nonFatal: string[];
  /** `-D`/`--define` names in force (caller's, personality's and the script's), NAME → value ('' if none). */
  defines: Record<string, string>;
  /** The option lines exactly as the script wrote them. */
  given: ScriptOptionLine[];
}

/** Why a script cannot run on synack (§12 item 2): never a crash, never a silent pass. */
export interface UnsupportedConstruct {
  /** What synack cannot run, e.g. 'TCP-MD5 option (md5)'. */
  construct: string;
  /** Script line (1-based). */
  line: number;
  /** Column, when known. */
  column?: number;
}

/**
 * A packetdrill script parsed by parseScript, ready for DrillRunner.execute. Its syntax tree is internal; what
 * a caller reads is whether (and why) it is unsupported.
 */
export interface ParsedScript {
  /** The file name given to parseScript. */
  file: string;
  /** The personality the script runs as. */
  personality: Personality;
  /** @internal */
  options: ScriptOptions;
  /** @internal */
  init?: UntimedCommand;
  /** @internal */
  events: DrillEvent[];
  /** @internal */
  cleanup?: UntimedCommand;
  /**
   * The first unsupported construct. When set, the script is UNSUPPORTED and must not be run (the parsed
   * events may be partial); DrillRunner.execute reports it as 'unsupported'.
   */
  unsupported?: UnsupportedConstruct;
  /** Every unsupported construct found (the first is `unsupported`). */
  unsupportedAll: UnsupportedConstruct[];
}
