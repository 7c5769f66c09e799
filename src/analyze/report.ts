/**
 * The stable output schema of `synack analyze --format json` (documented in src/analyze/README.md) and the
 * conversion from a tracked Connection to it.
 */
import { formatAddress } from '../wire/address.js';
import type { Trace, TcpStateName } from '../wire/trace.js';
import type { AnomalyHit, CloseKind, Connection, HandshakeKind, Side, ZeekRowSnapshot } from './connection.js';
import { ZEEK_STATE_NAMES } from './zeek.js';
import { reasonFor } from './reason.js';
import type { Service } from './service.js';

/**
 * One TCP connection of a capture: endpoints, how it opened and closed, both sides' final RFC 9293 states,
 * Zeek's conn_state/history, Wireshark's completeness, counts and anomalies. The stable schema of
 * `synack analyze --format json` (field by field in src/analyze/README.md). Times in seconds.
 */
export interface ConnectionReport {
  type: 'connection';
  uid: string;
  /** First packet, seconds since the epoch. */
  ts: number;
  /** Last packet minus first packet, seconds. */
  duration: number;
  orig_h: string;
  orig_p: number;
  resp_h: string;
  resp_p: number;
  ip_version: 4 | 6;
  handshake: HandshakeKind;
  close: CloseKind;
  half_close_data: boolean;
  /** Final inferred RFC 9293 states (null when unknown, and for a side that sent no packet). */
  orig_state: TcpStateName | null;
  resp_state: TcpStateName | null;
  conn_state: string;
  history: string;
  /** Wireshark tcp.completeness bits: 1 SYN, 2 SYN-ACK, 4 ACK, 8 DATA, 16 FIN, 32 RST. */
  completeness: number;
  completeness_label: string;
  /** Union of the TCP flag bits (low 8) each side sent, as Suricata's tcp_flags_ts / tcp_flags_tc. */
  orig_flags: number;
  resp_flags: number;
  orig_pkts: number;
  resp_pkts: number;
  /** TCP payload bytes actually carried (sum of segment lengths, retransmissions included). */
  orig_bytes: number;
  resp_bytes: number;
  orig_ip_bytes: number;
  resp_ip_bytes: number;
  retransmissions: number;
  dup_acks: number;
  out_of_order: number;
  zero_windows: number;
  keep_alives: number;
  lost_segments: number;
  bad_checksums: number;
  first_frame: number;
  last_frame: number;
  /** Originator inferred without seeing its SYN, or roles flipped by Zeek's heuristics. */
  direction_inferred: boolean;
  /** Why the previous connection on the same 4-tuple ended, when this one reuses it; null otherwise. */
  split: string | null;
  /** Zeek's own numbers: duration up to the last productive packet, sizes from sequence numbers. */
  zeek: {
    duration: number;
    orig_bytes: number;
    resp_bytes: number;
    missed_bytes: number;
    orig_pkts: number;
    resp_pkts: number;
    orig_ip_bytes: number;
    resp_ip_bytes: number;
    orig_endpoint_state: string;
    resp_endpoint_state: string;
  };
  anomalies: AnomalyHit[];
  /**
   * Further conn.log rows Zeek writes for this connection: Zeek starts a new connection on a SYN+FIN or SYN+RST
   * that reuses the tuple, a segment synack (like the receiving stack) ignores. The fields above are the first
   * Zeek connection's; `--format zeek` prints every row. Usually empty.
   */
  zeek_splits: ZeekRowSnapshot[];
  /** Payload bytes on the originator's SYN (TCP Fast Open, or plain data on a SYN); 0 for a bare SYN. */
  syn_data: number;
  /** One line saying what happened, for a person debugging the connection (src/analyze/reason.ts). */
  reason: string;
  /**
   * The uid of the first piece of the Wireshark conversation this connection continues (Zeek's timers split a
   * SYN retry series or a long failed close into pieces TShark keeps as one stream); its own uid otherwise.
   */
  group: string;
  /** The application protocol the first payload bytes show (http, tls, ssh, dns: src/analyze/service.ts), or null. */
  service: Service | null;
}

/**
 * A pattern across packets or connections: invalid flag combinations, SYN/NULL/FIN/Xmas scans, a SYN flood,
 * RSTs outside the window or after close. Which optional fields are set depends on `kind`.
 */
export interface AnomalyReport {
  type: 'anomaly';
  kind: 'invalid-flags' | 'syn-scan' | 'null-scan' | 'fin-scan' | 'xmas-scan' | 'syn-flood' | 'out-of-window-rst' | 'rst-after-close';
  /** Packet numbers (1-based frames), at most 100 listed. */
  frames: number[];
  count: number;
  flags?: string;
  src?: string;
  dst?: string;
  dst_port?: number;
  ports?: number;
  sources?: number;
  rate?: number;
  connections?: string[];
}

/** Totals of a whole analysis: packets by kind (each counted once), connections by outcome, anomalies, errors. */
export interface SummaryReport {
  type: 'summary';
  files: string[];
  packets: number;
  tcp_packets: number;
  non_tcp_packets: number;
  non_ip_packets: number;
  malformed_packets: number;
  bad_checksums: number;
  /** IPv4 header checksums that did not verify (dropped in Zeek checksum mode, like Zeek). */
  bad_ip_checksums: number;
  /** IP fragments seen (every one goes to reassembly). */
  ip_fragments: number;
  /** Datagrams reassembled from them (each counted once, as the packet type it turned out to be). */
  reassembled_datagrams: number;
  /** Fragments that completed no datagram (held, timed out or discarded by reassembly): in no other count. */
  fragment_only_packets: number;
  /** TCP headers cut short by the snapshot length (Zeek's truncated_header): in no other count. */
  truncated_headers: number;
  /** Datagrams dropped for a bad IPv4 header checksum (`--zeek-checksums` only, as Zeek): in no other count. */
  dropped_bad_ip_checksums: number;
  unsupported_link_packets: number;
  /** Packets taken out of a tunnel (src/wire/tunnels.ts, Teredo) before analysis. */
  tunneled_packets: number;
  connections: number;
  by_close: Record<string, number>;
  by_handshake: Record<string, number>;
  by_conn_state: Record<string, number>;
  anomalies: Record<string, number>;
  first_ts: number | null;
  last_ts: number | null;
  error: string | null;
  /** Capture header fields a strict reader would refuse (read anyway), as `FILE: what`. */
  warnings: string[];
}

/**
 * The report fields the analyzer's own bookkeeping reads (summary counts, the anomaly detector). A
 * ConnectionReport has them all; the analyzer can also fill them without building a report (`onFinished`).
 */
export type ConnectionFacts = Pick<ConnectionReport, 'anomalies' | 'handshake' | 'close' | 'conn_state' | 'history'
  | 'orig_bytes' | 'resp_bytes' | 'orig_h' | 'resp_h' | 'resp_p' | 'first_frame' | 'ts'>;

/** Wireshark's label for a completeness value (§2.1). */
export function completenessLabel(v: number): string {
  switch (v) {
    case 1: return 'Incomplete, SYN_SENT';
    case 3: return 'Incomplete, CLIENT_ESTABLISHED';
    case 7: return 'Incomplete, ESTABLISHED';
    case 15: return 'Incomplete, DATA';
    case 31: case 47: case 63: return 'Complete, WITH_DATA';
    case 23: case 39: case 55: return 'Complete, NO_DATA';
    default: return `Incomplete (${v})`;
  }
}

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const B62_CODES = Array.from(B62, (ch) => ch.charCodeAt(0));

/** One round of a 32-bit integer mixer (the finaliser of MurmurHash3), for deterministic uids. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

const uidCodes = new Array<number>(18);

/** Writes `n` base62 digits of the 32-bit `x` (most significant first) at codes[at..at+n). */
function digits62(codes: number[], at: number, n: number, x: number): void {
  for (let i = at + n - 1; i >= at; i--) {
    const q = Math.floor(x / 62);
    codes[i] = B62_CODES[x - q * 62]!;
    x = q;
  }
}

/**
 * A deterministic Zeek-format uid for connection `id` (`part` > 0: the further conn.log rows of Zeek-only
 * splits): "C" and 17 base62 digits, 18 characters as Zeek's own uids (Zeek draws them at random; synack
 * derives them from the connection number so that runs are reproducible). Three mixed 32-bit words give 6, 6
 * and 5 digits; the first word is a bijection of the id (6 base62 digits hold 32 bits), the second one of the
 * id and `part`, so distinct connections (below 2^32) and distinct rows of one connection get distinct uids.
 */
export function uidFor(id: number, part = 0): string {
  const lo = id >>> 0;
  const hi = Math.floor(id / 4294967296) >>> 0;
  const w0 = mix32(lo ^ 0x5bd1e995);
  const w1 = mix32((lo + Math.imul(part + 1, 0x9e3779b1)) ^ hi);
  const w2 = mix32(w1 ^ (part * 0x27d4eb2f) ^ 0x165667b1);
  const codes = uidCodes;
  codes[0] = 67; // 'C'
  digits62(codes, 1, 6, w0);
  digits62(codes, 7, 6, w1);
  digits62(codes, 13, 5, w2 % 916132832); // 62^5
  return String.fromCharCode(codes[0]!, codes[1]!, codes[2]!, codes[3]!, codes[4]!, codes[5]!, codes[6]!, codes[7]!, codes[8]!,
    codes[9]!, codes[10]!, codes[11]!, codes[12]!, codes[13]!, codes[14]!, codes[15]!, codes[16]!, codes[17]!);
}

/** formatAddress with the common IPv4 case inline (RFC 791 dotted quad). */
export function addressText(a: Uint8Array): string {
  return a.length === 4 ? `${a[0]!}.${a[1]!}.${a[2]!}.${a[3]!}` : formatAddress(a);
}

export function round6(x: number): number { return Math.round(x * 1e6) / 1e6; }

const NO_SPLITS: ZeekRowSnapshot[] = [];

/** Zeek's numbers for the Zeek connection currently tracked in `c` (§1.8). */
function zeekNumbers(c: Connection): ZeekRowSnapshot['zeek'] {
  const z = c.zeek;
  const o = c.zeekOrigSide;
  const r = (1 - o) as 0 | 1;
  const zo = z.orig;
  const zr = z.resp;
  return {
    duration: round6(z.lastTime - z.startTime),
    orig_bytes: zo.size(zr),
    resp_bytes: zr.size(zo),
    missed_bytes: zo.missedBytes + zr.missedBytes,
    orig_pkts: c.s[o].zeekPkts,
    resp_pkts: c.s[r].zeekPkts,
    orig_ip_bytes: c.s[o].zeekIpBytes,
    resp_ip_bytes: c.s[r].zeekIpBytes,
    orig_endpoint_state: ZEEK_STATE_NAMES[zo.state]!,
    resp_endpoint_state: ZEEK_STATE_NAMES[zr.state]!,
  };
}

/** The conn.log row of the Zeek connection currently tracked in `c` (`part`: how many Zeek rows came before). */
export function zeekRowOf(c: Connection, part: number): ZeekRowSnapshot {
  const z = c.zeek;
  const o = c.zeekOrigSide;
  const r = (1 - o) as 0 | 1;
  const uid = uidFor(c.id);
  return {
    uid: part === 0 ? uid : uidFor(c.id, part),
    ts: round6(z.startTime),
    orig_h: addressText(c.addr[o]),
    orig_p: c.port[o],
    resp_h: addressText(c.addr[r]),
    resp_p: c.port[r],
    conn_state: z.connState(),
    history: z.history,
    first_frame: part === 0 ? c.firstFrame : c.zeekFirstFrame,
    split: c.zeekSplitReason,
    zeek: zeekNumbers(c),
  };
}

/**
 * A side's final RFC 9293 state as reported: null for a side the capture never shows sending anything (Zeek's
 * INACTIVE): whether a host is even there, and in which state, no packet says.
 */
export function reportedState(s: Side): TcpStateName | null {
  return s.pkts > 0 ? s.rfc ?? null : null;
}

export function toReport(c: Connection): ConnectionReport {
  const o = c.origSide;
  const r = (1 - o) as 0 | 1;
  const rows = c.zeekRows;
  // Usually one Zeek connection, the live one: no row snapshot is built then.
  const main = rows === null ? null : rows[0]!;
  const uid = uidFor(c.id);
  const handshake = c.handshake();
  const close = c.close();
  return {
    type: 'connection',
    uid,
    ts: round6(c.firstTime),
    duration: round6(c.lastTime - c.firstTime),
    orig_h: addressText(c.addr[o]),
    orig_p: c.port[o],
    resp_h: addressText(c.addr[r]),
    resp_p: c.port[r],
    ip_version: c.addr[0].length === 4 ? 4 : 6,
    handshake,
    close,
    half_close_data: c.halfCloseData,
    orig_state: reportedState(c.s[o]),
    resp_state: reportedState(c.s[r]),
    conn_state: main === null ? c.zeek.connState() : main.conn_state,
    history: main === null ? c.zeek.history : main.history,
    completeness: c.completeness,
    completeness_label: completenessLabel(c.completeness),
    orig_flags: c.s[o].flagsSeen,
    resp_flags: c.s[r].flagsSeen,
    orig_pkts: c.s[o].pkts,
    resp_pkts: c.s[r].pkts,
    orig_bytes: c.s[o].payload,
    resp_bytes: c.s[r].payload,
    orig_ip_bytes: c.s[o].ipBytes,
    resp_ip_bytes: c.s[r].ipBytes,
    retransmissions: c.retransmissions,
    dup_acks: c.dupAcks,
    out_of_order: c.outOfOrder,
    zero_windows: c.zeroWindows,
    keep_alives: c.keepAlives,
    lost_segments: c.lostSegments,
    bad_checksums: c.badChecksums,
    first_frame: c.firstFrame,
    last_frame: c.lastFrame,
    direction_inferred: (main === null ? c.zeek.flips > 0 : main.history.includes('^')) || c.s[o].pureSyns === 0,
    split: c.splitReason,
    zeek: main === null ? zeekNumbers(c) : main.zeek,
    anomalies: c.anomalies ?? [],
    zeek_splits: rows === null ? NO_SPLITS : [...rows.slice(1), zeekRowOf(c, rows.length)],
    syn_data: c.s[o].synData,
    reason: reasonFor(c, handshake, close),
    group: c.groupId === c.id ? uid : uidFor(c.groupId),
    service: c.service,
  };
}

/** The neutral ladder trace of a connection (endpoint a = originator); needs the analyzer's keepTrace option. */
export function toTrace(c: Connection, rep: ConnectionReport): Trace {
  const o = c.origSide;
  const r = (1 - o) as 0 | 1;
  const entries = (c.trace ?? []).map((e) => {
    if (o === 0) return e;
    // Side 1 is the originator: swap columns so that a is always the originator.
    const swapped = { ...e, from: e.from === 'a' ? 'b' as const : 'a' as const };
    delete swapped.stateA;
    delete swapped.stateB;
    if (e.stateB) swapped.stateA = e.stateB;
    if (e.stateA) swapped.stateB = e.stateA;
    return swapped;
  });
  const trace: Trace = {
    a: { addr: rep.orig_h, port: rep.orig_p, label: 'originator' },
    b: { addr: rep.resp_h, port: rep.resp_p, label: 'responder' },
    entries,
    title: `${rep.orig_h}:${rep.orig_p} → ${rep.resp_h}:${rep.resp_p}  ${rep.handshake} / ${rep.close}  (${rep.conn_state} ${rep.history})  frames ${rep.first_frame}-${rep.last_frame}: ${rep.reason}`,
  };
  const isnO = c.s[o].relBase;
  const isnR = c.s[r].relBase;
  if (!Number.isNaN(isnO)) trace.a.isn = isnO;
  if (!Number.isNaN(isnR)) trace.b.isn = isnR;
  return trace;
}
