/**
 * Personalities: the configuration of the stack under test that lets scripts written for another stack
 * pass unchanged (packetdrill-language.md §11). A personality is test configuration, not product
 * behaviour: it sets TcpConfig values (option layout, window scale, buffers, timers), a few stack options
 * and the socket-API quirks the syscall layer emulates (SO_RCVBUF reporting, TCP_MAXSEG).
 *
 * Shell lines are emulated here too (§11.3): defaults.sh, FreeBSD `sysctl -w` knobs (§11.4), sockstat
 * probes and `tcpdrop -s TIME_WAIT`. Anything else is UNSUPPORTED, naming the command.
 */
import { RFC793_RULES, type TcpConfig } from '../tcp/config.js';
import type { Personality, ScriptOptions } from './ast.js';

/** What the runner builds the stack from; mutable so that sysctl lines can change it before sockets exist. */
export interface Profile {
  personality: Personality;
  tcp: Partial<TcpConfig>;
  /** SYN+ACK retransmissions of a SYN-RECEIVED entry held by a listener. */
  listenSynAckRetries: number;
  syncookies: boolean;
  /** Default socket receive buffer reported by SO_RCVBUF before the handshake. */
  recvSpace: number;
  /** FreeBSD rounds the receive buffer up to a multiple of the effective MSS once the MSS is known. */
  roundRecvBufToMss: boolean;
  /** kern.ipc.maxsockbuf (FreeBSD): decides the offered window scale. */
  maxSockBuf: number;
  /** RFC 5961 knobs: false = RFC 5961 behaviour (the engine's only mode). */
  insecureRst: boolean;
  insecureSyn: boolean;
  /**
   * A connection whose socket is still open (shut down, not closed) stays a full TCB in TIME-WAIT, handled by
   * the engine's RFC 9293 §3.10.7.4 rules (FreeBSD keeps the tcpcb); false: it moves to the stack's compact
   * TIME-WAIT table at once (Linux replaces the socket with a timewait sock whatever the application did).
   */
  keepTimeWaitTcb: boolean;
  /** TCP_NOOPT and TCP_LINGER2 share option number 8: FreeBSD's meaning (NOOPT) or Linux's (LINGER2). */
  optionEight: 'noopt' | 'linger2';
  /**
   * TCP Fast Open (RFC 7413) as Linux's net.ipv4.tcp_fastopen bits: 0x1 client (sendto MSG_FASTOPEN), 0x2 server
   * (listeners with TCP_FASTOPEN), 0x400 server on every listener. Linux's default is 0x1; defaults.sh sets 0x70403.
   */
  fastOpen: number;
  /** The server's cookie key (net.ipv4.tcp_fastopen_key); defaults.sh's a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4. */
  fastOpenKey: Uint8Array;
}

/** defaults.sh's net.ipv4.tcp_fastopen_key, as the 16 bytes Linux keys SipHash with (le32 words). */
const DEFAULTS_SH_TFO_KEY = new Uint8Array([0xa1, 0xa1, 0xa1, 0xa1, 0xb2, 0xb2, 0xb2, 0xb2, 0xc3, 0xc3, 0xc3, 0xc3, 0xd4, 0xd4, 0xd4, 0xd4]);

/** Smallest shift with `65535 << s >= maxsockbuf` (FreeBSD tcp_syncache / soreserve logic), max 14. */
export function freebsdWindowShift(maxSockBuf: number): number {
  let s = 0;
  while (s < 14 && 65535 * 2 ** s < maxSockBuf) s++;
  return s;
}

/** Effective MSS for an MTU and family (§11.2): MTU − 40 (IPv4), MTU − 60 (IPv6). */
export function mssForMtu(mtu: number, ipv6: boolean): number {
  return mtu - (ipv6 ? 60 : 40);
}

/**
 * The profile a script starts with. `ipv6` picks the family-dependent MSS; the script's --mtu applies.
 * Linux without defaults.sh is the 2013 kernel the legacy scripts assume (window scale 6); defaults.sh
 * moves it to the 6.x profile (applyShell).
 */
export function baseProfile(personality: Personality, options: ScriptOptions, ipv6: boolean): Profile {
  switch (personality) {
    case 'freebsd': {
      const mtu = options.mtu ?? 1500;
      const mss = mssForMtu(mtu, ipv6);
      const maxSockBuf = 2097152;
      return {
        personality,
        tcp: {
          mss, optionLayout: 'freebsd', windowShift: freebsdWindowShift(maxSockBuf), pacing: false,
          // Internal RCV.WND: recvspace rounded up to a multiple of the MSS (65700 / 66240 at MTU 1500).
          recvBufferSize: roundUp(65536, mss), sendBufferSize: 32768,
          // sendspace is the send buffer from the start: FreeBSD's sendbuf_auto only grows it past that (not
          // modelled), where the engine's Linux-style autotuning would start below it (2 · 10 · MSS = 29 200).
          sendBufferAutotune: false,
          // recvspace is the window it offers (its scripts expect 65 535 advertised, 65 700 accepted): FreeBSD's
          // recvbuf_auto only grows the buffer past that (not modelled), where Linux-style autotuning would start at 64 KiB.
          recvBufferAutotune: false,
          timestamps: true, windowScaling: true, sack: true,
          rtoInitial: 1000, rtoMin: 30, rtoMax: 64_000, rtoSlop: 200, finOnAck: true, ackOfDuplicate: true, listenSynAck: 'drop',
          delayedAck: true, delayedAckTimeout: 40, ackFinImmediately: true, receiverSws: 'bsd', abortRstAck: true,
          // tcp_input's delayed ACK (DELAY_ACK) has no quick-ACK mode.
          quickAckBeyondStart: false,
          // tcp_input ACKs every out-of-order segment at once (TF_ACKNOW): no SACK compression.
          sackCompress: 0,
          synRetries: 12, synAckRetries: 3, keepInit: 75_000, tailLossProbe: false,
          // FreeBSD's default stack: NewReno with RFC 6675 SACK recovery, no RACK.
          congestionControl: 'newreno', rack: false,
          // tcp_input.c: rcv_wnd = max(sbspace, rcv_adv - rcv_nxt) (65700, not the 65535 advertised);
          // tcp_twcheck ACKs text in TIME-WAIT; tcp_reass holds text from a SYN in SYN-SENT until ESTABLISHED.
          rcvWndAccept: 'buffer', timeWaitAckData: true, synSentData: 'queue-unacked', seqCheck: 'bsd',
        },
        listenSynAckRetries: 3, syncookies: true,
        recvSpace: 65536, roundRecvBufToMss: true, maxSockBuf,
        insecureRst: false, insecureSyn: false, keepTimeWaitTcb: true, optionEight: 'noopt', fastOpen: 0, fastOpenKey: DEFAULTS_SH_TFO_KEY,
      };
    }
    case 'linux': {
      // MSS 1460 in both families: Linux runners use MTU 1520 for IPv6 (§9).
      const mss = options.mtu !== undefined ? mssForMtu(options.mtu, ipv6) : 1460;
      return {
        personality,
        tcp: {
          mss, optionLayout: 'linux', windowShift: 6, pacing: false,
          recvBufferSize: 1 << 20, sendBufferSize: 1 << 20,
          // A fixed window (the scripts' 2013 kernel, and the matrix's RCV.WND of 65 535 from RCV.NXT in every
          // state): Linux ≥ 2.6.17 autotunes (tcp_moderate_rcvbuf), offering 64 240 at first, which none of the
          // corpus's scripts checks.
          recvBufferAutotune: false,
          rtoInitial: 1000, rtoMin: 200, rtoMax: 120_000,
          delayedAck: true, delayedAckTimeout: 40, quickAckSegments: 16, ackFinImmediately: 'if-no-data', abortRstAck: true, ackOfDuplicate: true,
          synRetries: 6, synAckRetries: 5, synLossWindow: 'linux',
          // tcp_rcv_synsent_state_process discards text on a SYN in SYN-SENT; tcp_timewait_state_process ACKs
          // anything but a bare in-sequence ACK, and (net.ipv4.tcp_rfc1337 = 0) a RST at RCV.NXT ends TIME-WAIT.
          synSentData: 'discard', timeWaitAckData: true, timeWaitRst: 'close-exact', seqCheck: 'linux', finWait2RtoFloor: true,
        },
        listenSynAckRetries: 5, syncookies: true,
        recvSpace: 1 << 20, roundRecvBufToMss: false, maxSockBuf: 1 << 24,
        insecureRst: false, insecureSyn: false, keepTimeWaitTcb: false, optionEight: 'linger2', fastOpen: 0x1, fastOpenKey: DEFAULTS_SH_TFO_KEY,
      };
    }
    case 'synack':
      return {
        personality,
        // A fixed window, as the matrix's cells assume (RCV.WND 65 535 from RCV.NXT in every state).
        tcp: { optionLayout: 'linux', pacing: false, recvBufferAutotune: false },
        listenSynAckRetries: 3, syncookies: true,
        recvSpace: 1 << 20, roundRecvBufToMss: false, maxSockBuf: 1 << 24,
        insecureRst: false, insecureSyn: false, keepTimeWaitTcb: true, optionEight: 'linger2', fastOpen: 0x3, fastOpenKey: DEFAULTS_SH_TFO_KEY,
      };
    case 'rfc793':
      // synack's engine with RFC 793's original RST, SYN and ACK checks (before RFC 5961).
      return {
        personality,
        tcp: { optionLayout: 'linux', pacing: false, recvBufferAutotune: false, ...RFC793_RULES },
        listenSynAckRetries: 3, syncookies: true,
        recvSpace: 1 << 20, roundRecvBufToMss: false, maxSockBuf: 1 << 24,
        insecureRst: true, insecureSyn: true, keepTimeWaitTcb: true, optionEight: 'linger2', fastOpen: 0, fastOpenKey: DEFAULTS_SH_TFO_KEY,
      };
  }
}

function roundUp(n: number, m: number): number { return Math.ceil(n / m) * m; }

/** Result of emulating one shell command. */
export type ShellResult =
  | { kind: 'ok' }
  | { kind: 'fail'; message: string }
  | { kind: 'unsupported'; construct: string }
  /** Needs the live stack: the runner evaluates it. */
  | { kind: 'sockstat'; family: 4 | 6; state: 'TIME_WAIT' | 'SYN_RCVD' | string; port?: number; expected: number }
  | { kind: 'tcpdrop-time-wait' };

const DEFAULTS_SH = /^(\.\.\/)*(common\/)?defaults\.sh$|^\.\/defaults\.sh$/;
const SYSCTL = /^sysctl\s+-w\s+([\w.]+)=(\S+)$/;
const SOCKSTAT_TW = /^sockstat\s+-([46])\s+-P\s+tcp\s+-s\s*\|\s*grep\s+packetdril\s*\|\s*grep\s+-c\s+(\w+)\s*\|\s*grep\s+(\d+)$/;
const SOCKSTAT_PORT = /^sockstat\s+-([46])\s+-P\s+tcp\s+(?:-s\s+)?-p\s+(\d+)(?:\s+-s)?\s*\|\s*grep\s+-c\s+(\w+)\s*\|\s*grep\s+(\d+)$/;

/**
 * Emulates a shell command against the profile (before the stack exists it changes what the stack is built
 * from; the runner copies `tcp` changes onto the live stack config afterwards).
 */
export function applyShell(command: string, p: Profile): ShellResult {
  const cmd = command.trim();
  if (DEFAULTS_SH.test(cmd)) {
    // Linux 6.x + defaults.sh (§11.3): tcp_rmem max 15 MiB → window scale 8, TS/SACK on, syn retries 5
    // plus the 4 linear timeouts of Linux ≥ 6.5, synack retries 5.
    Object.assign(p.tcp, { windowShift: 8, timestamps: true, sack: true, windowScaling: true, synRetries: 5 + 4, synLinearTimeouts: 4, synAckRetries: 5 });
    p.listenSynAckRetries = 5;
    p.syncookies = true;
    // net.ipv4.tcp_fastopen=0x70403: client and server, on every listener; the fixed key above.
    p.fastOpen = 0x70403;
    return { kind: 'ok' };
  }
  const s = SYSCTL.exec(cmd);
  if (s) return applySysctl(s[1]!, s[2]!, p);
  const tw = SOCKSTAT_TW.exec(cmd);
  if (tw) return { kind: 'sockstat', family: tw[1] === '6' ? 6 : 4, state: tw[2]!, expected: Number(tw[3]) };
  const sp = SOCKSTAT_PORT.exec(cmd);
  if (sp) return { kind: 'sockstat', family: sp[1] === '6' ? 6 : 4, port: Number(sp[2]), state: sp[3]!, expected: Number(sp[4]) };
  if (/^tcpdrop\s+-s\s+TIME_WAIT$/.test(cmd)) return { kind: 'tcpdrop-time-wait' };
  return { kind: 'unsupported', construct: `shell command \`${cmd}\`` };
}

function applySysctl(knob: string, value: string, p: Profile): ShellResult {
  const v = Number(value);
  if (!Number.isFinite(v)) return { kind: 'unsupported', construct: `sysctl ${knob}=${value}` };
  const t = p.tcp;
  const name = knob.replace(/^net\.inet\.tcp\./, '');
  switch (name) {
    case 'rfc1323': t.windowScaling = v !== 0; t.timestamps = v !== 0; return { kind: 'ok' };
    case 'sack.enable': t.sack = v !== 0; return { kind: 'ok' };
    case 'blackhole': return v === 0 ? { kind: 'ok' } : { kind: 'unsupported', construct: `sysctl ${knob}=${value}` };
    // ECN is not implemented; 2 (accept, never request) and 0 are both "never request" on the wire.
    case 'ecn.enable': return v === 0 || v === 2 ? { kind: 'ok' } : { kind: 'unsupported', construct: `sysctl ${knob}=${value} (ECN)` };
    case 'kern.ipc.maxsockbuf': p.maxSockBuf = v; t.windowShift = freebsdWindowShift(v); return { kind: 'ok' };
    case 'recvspace': p.recvSpace = v; t.recvBufferSize = roundUp(v, t.mss ?? 1460); return { kind: 'ok' };
    // A fixed send buffer of that size, as an application's SO_SNDBUF on Linux (SOCK_SNDBUF_LOCK: no autotuning).
    case 'sendspace': t.sendBufferSize = v; t.sendBufferAutotune = false; return { kind: 'ok' };
    case 'hostcache.purgenow': return { kind: 'ok' };
    // 1: RFC 793's RST and SYN handling (tcp_input.c: any in-window RST drops the connection; an in-window SYN
    // draws tcp_drop's RST); 0: RFC 5961 §3 and §4.
    case 'insecure_rst': p.insecureRst = v !== 0; t.rstInWindow = v !== 0 ? 'reset' : 'challenge'; return { kind: 'ok' };
    case 'insecure_syn': p.insecureSyn = v !== 0; t.synInWindow = v !== 0 ? 'reset' : 'challenge'; return { kind: 'ok' };
    case 'drop_synfin': t.synFin = v !== 0 ? 'drop' : 'ignore-fin'; return { kind: 'ok' };
    case 'rexmit_initial': t.rtoInitial = v; return { kind: 'ok' };
    case 'rexmit_slop': t.rtoSlop = v; return { kind: 'ok' };
    case 'rexmit_drop_options':
      return v === 0 ? { kind: 'ok' } : { kind: 'unsupported', construct: `sysctl ${knob}=${value}` };
    case 'keepinit': t.keepInit = v; return { kind: 'ok' };
    case 'syncookies': p.syncookies = v !== 0; return { kind: 'ok' };
    case 'syncookies_only': return v === 0 ? { kind: 'ok' } : { kind: 'unsupported', construct: `sysctl ${knob}=${value}` };
    case 'tolerate_missing_ts': return v === 0 ? { kind: 'ok' } : { kind: 'unsupported', construct: `sysctl ${knob}=${value}` };
    default: return { kind: 'unsupported', construct: `sysctl ${knob}` };
  }
}
