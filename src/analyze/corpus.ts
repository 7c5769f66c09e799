/**
 * The analyzer's agreement with the reference tools on ../shared/pcap-corpus, as data: one `CorpusCheck` per
 * compared item (a Zeek conn.log row, a suricata-verify flow check, a TShark stream's completeness), each
 * either agreeing, a known difference with its written reason, or a disagreement. The corpus tests assert on
 * these and `npm run conformance` prints them (src/analyze/conformance.ts): one set of rules for both.
 * (Node-only, like corpus-helpers.ts: never imported by the analyzer itself.)
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { analyzeFile, shared } from './corpus-helpers.js';
import { formatAddress, parseAddress } from '../wire/address.js';
import type { TcpStateName } from '../wire/trace.js';
import type { AnalyzerOptions } from './analyzer.js';
import type { ZeekRowSnapshot } from './connection.js';
import type { ConnectionReport } from './report.js';

export const zeekDir = path.join(shared, 'pcap-corpus', 'zeek');
export const svDir = path.join(shared, 'pcap-corpus', 'suricata-verify');

export type CheckResult = 'agree' | 'known' | 'disagree';

export interface CorpusCheck {
  suite: 'zeek-state' | 'zeek-numbers' | 'suricata-verify' | 'tshark-completeness';
  /** Corpus entry (trace id or suricata-verify test name). */
  trace: string;
  /** What was compared (a 4-tuple, a field). */
  item: string;
  /** The reference tool's value and synack's. */
  expected: string;
  actual: string;
  result: CheckResult;
  /** For a known difference: why synack differs (and what it says instead). */
  why?: string;
}

function check(suite: CorpusCheck['suite'], trace: string, item: string, expected: string, actual: string,
  known?: { value: string; why: string }): CorpusCheck {
  if (known) {
    return { suite, trace, item, expected, actual, result: actual === known.value ? 'known' : 'disagree', why: known.why };
  }
  return { suite, trace, item, expected, actual, result: actual === expected ? 'agree' : 'disagree' };
}

// ---------------------------------------------------------------- Zeek

export interface ZeekEntry {
  id: string;
  trace: string;
  zeek_invocation_flags: string[];
  expected_tsv: string | null;
  tshark_tsv: string;
  baselines: Array<{ file: string; format: string }>;
  note: string;
}

/** Per-trace settings that mirror what the btest did to Zeek. */
const ZEEK_SETTINGS: Record<string, { opts?: AnalyzerOptions; why: string }> = {
  'tcp__handshake-reorder.pcap': {
    opts: { likelyServerPorts: new Set() },
    why: 'the btest (core/connection_flipped.zeek) redefines likely_server_ports = {}',
  },
  'chksums__localhost-bad-chksum.pcap': {
    opts: { likelyServerPorts: new Set() },
    why: 'zeek -b without the HTTP scripts: port 80 is not registered as a likely server port, so no flip on creation',
  },
};

/** Named differences from Zeek: the trace, the row, synack's values and why. */
export const ZEEK_DIFFERENCES: Record<string, { row: (r: ZeekRowSnapshot) => boolean; conn_state: string; history: string; why: string }> = {
  'globus-url-copy.pcap': {
    row: (r) => r.orig_p === 35391,
    conn_state: 'SF',
    history: 'ShADadfF',
    why: "Zeek's GridFTP script calls skip_further_processing() on the TLS data channel, so Zeek never sees its FIN " +
      'exchange and logs S1 ShADad; synack analyses every packet (TShark agrees: completeness 31).',
  },
};

export function zeekManifest(): ZeekEntry[] {
  return (JSON.parse(readFileSync(path.join(zeekDir, 'manifest.json'), 'utf8')) as { entries: ZeekEntry[] }).entries;
}

export function zeekOptionsFor(e: ZeekEntry): AnalyzerOptions {
  const flags = e.zeek_invocation_flags[0] ?? '';
  // Without -C Zeek validates TCP checksums and drops bad packets (§1.2); -C ignores them.
  const base: AnalyzerOptions = { checksums: /-C/.test(flags) ? 'count' : 'zeek' };
  return { ...base, ...(ZEEK_SETTINGS[e.id]?.opts ?? {}) };
}

/** Every conn.log row Zeek would write: each connection's own, then the rows of Zeek-only splits (`zeek_splits`). */
export function zeekRows(reports: ConnectionReport[]): ZeekRowSnapshot[] {
  const out: ZeekRowSnapshot[] = [];
  for (const r of reports) {
    out.push(r);
    for (const z of r.zeek_splits) out.push(z);
  }
  return out;
}

interface ExpectedRow { fields: Record<string, string> }

function tsvRows(file: string): ExpectedRow[] {
  const lines = readFileSync(path.join(zeekDir, file), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  const header = lines[0]!.split('\t');
  return lines.slice(1).map((l) => {
    const f = l.split('\t');
    const fields: Record<string, string> = {};
    header.forEach((h, i) => { if (f[i] !== undefined) fields[h] = f[i]!; });
    return { fields };
  });
}

/** Rows are matched by 4-tuple and order (uids are random). */
function matchRows(exp: ExpectedRow[], got: ZeekRowSnapshot[]): Array<[ExpectedRow, ZeekRowSnapshot | undefined]> {
  const used = new Set<number>();
  return exp.map((x) => {
    const f = x.fields;
    const tupleOk = (r: ZeekRowSnapshot): boolean =>
      (f['id.orig_h'] === undefined || r.orig_h === f['id.orig_h']) && (f['id.orig_p'] === undefined || String(r.orig_p) === f['id.orig_p'])
      && (f['id.resp_h'] === undefined || r.resp_h === f['id.resp_h']) && (f['id.resp_p'] === undefined || String(r.resp_p) === f['id.resp_p']);
    let i = got.findIndex((r, k) => !used.has(k) && tupleOk(r));
    if (i < 0 && exp.length === 1 && got.length === 1) i = 0;
    if (i >= 0) used.add(i);
    return [x, i >= 0 ? got[i] : undefined];
  });
}

const NUMBER_FIELDS = ['duration', 'orig_bytes', 'resp_bytes', 'missed_bytes', 'orig_pkts', 'orig_ip_bytes', 'resp_pkts', 'resp_ip_bytes'];

/**
 * One Zeek corpus trace against its conn.log baseline: the row count, conn_state and history per row
 * ('zeek-state'), and where the baseline has them Zeek's numbers ('zeek-numbers': duration to the last
 * productive packet, sizes from sequence numbers, missed bytes, packets, IP bytes). Null: no conn.log baseline.
 */
export function zeekChecks(e: ZeekEntry): CorpusCheck[] | null {
  if (!e.expected_tsv) return null;
  const { reports } = analyzeFile(path.join(zeekDir, e.trace), zeekOptionsFor(e));
  const rows = zeekRows(reports);
  const exp = tsvRows(e.expected_tsv);
  const out: CorpusCheck[] = [check('zeek-state', e.id, 'connections', String(exp.length), String(rows.length))];
  const diff = ZEEK_DIFFERENCES[e.id];
  for (const [x, r] of matchRows(exp, rows)) {
    const f = x.fields;
    const tuple = `${f['id.orig_h'] ?? '?'}:${f['id.orig_p'] ?? '?'} → ${f['id.resp_h'] ?? '?'}:${f['id.resp_p'] ?? '?'}`;
    const expected = `${f.conn_state ?? '*'} ${f.history ?? '*'}`;
    if (!r) {
      out.push(check('zeek-state', e.id, tuple, expected, 'no connection'));
      continue;
    }
    const known = diff && diff.row(r) ? diff : undefined;
    const actual = `${f.conn_state === undefined ? '*' : r.conn_state} ${f.history === undefined ? '*' : r.history}`;
    out.push(check('zeek-state', e.id, tuple, expected, actual, known && { value: `${known.conn_state} ${known.history}`, why: known.why }));
    if (f.orig_bytes !== undefined) {
      const z = r.zeek;
      const lasted = z.duration > 0;
      const mine = [lasted ? z.duration.toFixed(6) : '-', lasted ? z.orig_bytes : '-', lasted ? z.resp_bytes : '-', z.missed_bytes,
        z.orig_pkts, z.orig_ip_bytes, z.resp_pkts, z.resp_ip_bytes].map(String).join(' ');
      const theirs = NUMBER_FIELDS.map((n) => f[n] ?? '?').join(' ');
      // The documented row differs in its numbers too (synack saw packets Zeek skipped): any other value is known.
      out.push(check('zeek-numbers', e.id, tuple, theirs, mine, known && { value: mine === theirs ? '(same as Zeek)' : mine, why: known.why }));
    }
  }
  return out;
}

// ---------------------------------------------------------------- suricata-verify

export interface SvEntry {
  test: string;
  pcap: string;
  checks_in: string;
  tshark_annotation: Array<{ A: string; B: string; completeness: string }>;
}

export function svManifest(): SvEntry[] {
  return (JSON.parse(readFileSync(path.join(svDir, 'manifest.json'), 'utf8')) as { entries: SvEntry[] }).entries;
}

function flowChecks(yamlText: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  for (const block of yamlText.split(/^- filter:/m).slice(1)) {
    const kv: Record<string, string> = {};
    for (const line of block.split('\n')) {
      const m = /^\s{6}([\w.[\]]+): (.*)$/.exec(line);
      if (m) kv[m[1]!] = m[2]!.replace(/^['"]|['"]$/g, '');
    }
    if (kv.event_type === 'flow' && kv.proto === 'TCP') out.push(kv);
  }
  return out;
}

/**
 * Suricata's session state name for synack's pair of endpoint states: Suricata's `tcp.state` follows the
 * responder's side of RFC 793 (a FIN from the client puts the session in close_wait, the server's FIN then in
 * last_ack); TIME-WAIT and CLOSED both read as "closed" (Suricata closes on the final ACK, no 2MSL wait).
 */
export function suricataState(orig: TcpStateName | null, resp: TcpStateName | null): string {
  if (orig === 'SYN-SENT' && (resp === null || resp === 'LISTEN' || resp === 'SYN-RECEIVED')) return 'syn_sent';
  switch (resp) {
    case 'SYN-RECEIVED': return 'syn_recv';
    case 'ESTABLISHED': return 'established';
    case 'CLOSE-WAIT': return 'close_wait';
    case 'LAST-ACK': return 'last_ack';
    case 'FIN-WAIT-1': return 'fin_wait1';
    case 'FIN-WAIT-2': return 'fin_wait2';
    case 'CLOSING': return 'closing';
    case 'TIME-WAIT': case 'CLOSED': return 'closed';
    default: return String(resp);
  }
}

/** Named differences from Suricata: the test, synack's state and why. */
export const SURICATA_DIFFERENCES: Record<string, { state: string; why: string }> = {
  'bug-2646-01': {
    state: 'closing',
    why: "the server's FIN (frame 19) does not acknowledge the client's FIN (ack = its seq, not seq+1): the FINs " +
      'crossed, so synack puts both sides through CLOSING (connection-analysis.md §5.2 notes); Suricata follows ' +
      'capture order and calls it last_ack',
  },
};

const norm = (a: string): string => formatAddress(parseAddress(a));
const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/**
 * suricata-verify checks that concern TCP state, for every `event_type: flow` filter of a test.yaml: the
 * session `tcp.state`, the union of TCP flags per direction, the syn/fin/rst booleans. Alert, rule and
 * app-layer checks are Suricata-specific and skipped. Null: the test has no such check. Flows whose flags are
 * all 00 are ones Suricata created without tracking TCP (midstream pick-up is off by default): skipped.
 */
export function suricataChecks(e: SvEntry): CorpusCheck[] | null {
  const checks = flowChecks(readFileSync(path.join(svDir, e.checks_in), 'utf8'))
    .filter((c) => ('tcp.state' in c || 'tcp.tcp_flags_ts' in c) && !(c['tcp.tcp_flags_ts'] === '00' && c['tcp.tcp_flags_tc'] === '00'));
  if (checks.length === 0) return null;
  const { reports } = analyzeFile(path.join(svDir, e.pcap));
  const out: CorpusCheck[] = [];
  const push = (item: string, expected: string, actual: string, known?: { value: string; why: string }): void => {
    out.push(check('suricata-verify', e.test, item, expected, actual, known));
  };
  for (const c of checks) {
    const src = norm(c.src_ip!);
    const dst = norm(c.dest_ip!);
    const sp = Number(c.src_port);
    const dp = Number(c.dest_port);
    const tuple = `${src}:${sp} → ${dst}:${dp}`;
    const mine = reports.filter((r) => r.orig_h === src && r.orig_p === sp && r.resp_h === dst && r.resp_p === dp);
    if (mine.length === 0) {
      push(tuple, 'a connection', `none (have ${reports.map((r) => `${r.orig_h}:${r.orig_p}→${r.resp_h}:${r.resp_p}`).join(', ')})`);
      continue;
    }
    // Suricata keeps one flow per tuple; Zeek's timers may split late retransmissions off: compare the first
    // connection's state, the flags over all of them.
    const first = mine[0]!;
    const ts = mine.reduce((f, r) => f | r.orig_flags, 0);
    const tc = mine.reduce((f, r) => f | r.resp_flags, 0);
    const diff = SURICATA_DIFFERENCES[e.test];
    if (c['tcp.state']) push(`${tuple} tcp.state`, c['tcp.state'], suricataState(first.orig_state, first.resp_state), diff && { value: diff.state, why: diff.why });
    if (c['tcp.tcp_flags_ts']) push(`${tuple} tcp_flags_ts`, c['tcp.tcp_flags_ts'], hex2(ts));
    if (c['tcp.tcp_flags_tc']) push(`${tuple} tcp_flags_tc`, c['tcp.tcp_flags_tc'], hex2(tc));
    if (c['tcp.tcp_flags']) push(`${tuple} tcp_flags`, c['tcp.tcp_flags'], hex2(ts | tc));
    if (c['tcp.syn'] === 'true') push(`${tuple} syn`, 'true', String(((ts | tc) & 0x02) !== 0));
    if (c['tcp.fin'] === 'true') push(`${tuple} fin`, 'true', String(((ts | tc) & 0x01) !== 0));
    if (c['tcp.rst'] === 'true') push(`${tuple} rst`, 'true', String(((ts | tc) & 0x04) !== 0));
  }
  return out;
}

// ---------------------------------------------------------------- TShark completeness

export interface Stream { a: string; b: string; completeness: number }

function tupleKey(h1: string, p1: string | number, h2: string, p2: string | number): string {
  const x = `${h1}|${p1}`;
  const y = `${h2}|${p2}`;
  return x < y ? `${x}#${y}` : `${y}#${x}`;
}

function splitEndpoint(s: string): [string, string] {
  const i = s.lastIndexOf(':');
  return [s.slice(0, i), s.slice(i + 1)];
}

/** OR of completeness over synack's connections per 4-tuple (Zeek's rule may split what TShark keeps as one stream). */
export function oursByTuple(reports: ConnectionReport[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of reports) {
    const k = tupleKey(r.orig_h, r.orig_p, r.resp_h, r.resp_p);
    m.set(k, (m.get(k) ?? 0) | r.completeness);
  }
  return m;
}

export function theirsByTuple(streams: Stream[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of streams) {
    const [ah, ap] = splitEndpoint(s.a);
    const [bh, bp] = splitEndpoint(s.b);
    const k = tupleKey(ah, ap, bh, bp);
    m.set(k, (m.get(k) ?? 0) | s.completeness);
  }
  return m;
}

/** Traces where TShark's value differs for a documented reason: which bits to ignore, and why. */
export const TSHARK_IGNORE_BITS: Record<string, { mask: number; why: string }> = {
  'ftp__ipv4.pcap': { mask: 1, why: "TShark's FTP dissector creates the data connections' conversations before their SYN (30 instead of 31)" },
  'ftp__ipv6.pcap': { mask: 1, why: "TShark's FTP dissector creates the data connections' conversations before their SYN" },
  'ftp__bigtransfer.pcap': { mask: 1, why: "TShark's FTP dissector creates the data connections' conversations before their SYN" },
  'globus-url-copy.pcap': { mask: 1, why: "TShark's FTP (GridFTP) dissector creates the data connection's conversation before its SYN" },
};

function completenessChecks(trace: string, reports: ConnectionReport[], streams: Stream[]): CorpusCheck[] {
  const ours = oursByTuple(reports);
  const ignore = TSHARK_IGNORE_BITS[trace];
  const out: CorpusCheck[] = [];
  for (const [k, v] of theirsByTuple(streams)) {
    const mine = ours.get(k);
    if (mine === undefined) {
      out.push(check('tshark-completeness', trace, k, String(v), 'no connection'));
    } else if (ignore && (mine & ~ignore.mask) === (v & ~ignore.mask) && mine !== v) {
      out.push(check('tshark-completeness', trace, k, String(v), String(mine), { value: String(mine), why: ignore.why }));
    } else {
      out.push(check('tshark-completeness', trace, k, String(v), String(mine)));
    }
  }
  return out;
}

/** TShark 4.0.17's tcp.completeness stored with a Zeek corpus trace, against synack's. */
export function zeekTraceCompleteness(e: ZeekEntry): CorpusCheck[] {
  const lines = readFileSync(path.join(zeekDir, e.tshark_tsv), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  const head = lines[0]!.split('\t');
  const ia = head.indexOf('A');
  const ib = head.indexOf('B');
  const ic = head.findIndex((h) => h.startsWith('tcp.completeness'));
  const streams = lines.slice(1).map((l) => { const f = l.split('\t'); return { a: f[ia]!, b: f[ib]!, completeness: Number(f[ic]) }; });
  return completenessChecks(e.id, analyzeFile(path.join(zeekDir, e.trace)).reports, streams);
}

/** TShark 4.0.17's tcp.completeness annotated on a suricata-verify capture, against synack's. */
export function svTraceCompleteness(e: SvEntry): CorpusCheck[] {
  const streams = e.tshark_annotation.map((s) => ({ a: s.A, b: s.B, completeness: Number(s.completeness) }));
  return completenessChecks(e.test, analyzeFile(path.join(svDir, e.pcap)).reports, streams);
}

/** Every check over the whole corpus (null when ../shared/pcap-corpus is absent). */
export function allCorpusChecks(): CorpusCheck[] | null {
  if (!existsSync(zeekDir) || !existsSync(svDir)) return null;
  const out: CorpusCheck[] = [];
  for (const e of zeekManifest()) {
    out.push(...(zeekChecks(e) ?? []));
    out.push(...zeekTraceCompleteness(e));
  }
  for (const e of svManifest()) {
    out.push(...(suricataChecks(e) ?? []));
    out.push(...svTraceCompleteness(e));
  }
  return out;
}
