/**
 * Text renderings of analyzer output: JSON lines, the human table with its summary, and Zeek's conn.log
 * TSV (header lines and field order of Zeek's conn.log: scripts/base/protocols/conn/main.zeek).
 */
import type { AnomalyReport, ConnectionReport, SummaryReport } from './report.js';
import type { ZeekRowSnapshot } from './connection.js';
import { ZEEK_SERVICE_NAMES } from './service.js';

/** One JSON line (newline-terminated) of a report: the `synack analyze --format json` output. */
export function jsonLine(obj: ConnectionReport | AnomalyReport | SummaryReport): string {
  // JSON.stringify builds a flat string; hand-concatenated lines measured slower here (cons-string
  // trees cost more in garbage collection than the serialisation saves; re-measured: no faster).
  return JSON.stringify(obj) + '\n';
}

// ---- table ----

const TABLE_COLUMNS: Array<[string, number, (r: ConnectionReport) => string]> = [
  ['#', 5, (r) => String(r.first_frame)],
  ['originator', 22, (r) => hostPort(r.orig_h, r.orig_p)],
  ['responder', 22, (r) => hostPort(r.resp_h, r.resp_p)],
  ['handshake', 17, (r) => r.handshake],
  ['close', 18, (r) => r.close],
  ['states', 25, (r) => `${r.orig_state ?? '?'}/${r.resp_state ?? '?'}`],
  ['zeek', 6, (r) => r.conn_state],
  ['history', 12, (r) => r.history],
  ['cmp', 3, (r) => String(r.completeness)],
  ['pkts', 9, (r) => `${r.orig_pkts}/${r.resp_pkts}`],
  ['bytes', 13, (r) => `${r.orig_bytes}/${r.resp_bytes}`],
  ['dur', 8, (r) => r.duration.toFixed(3)],
  ['reason [notes]', 0, (r) => { const n = notes(r); return n ? `${r.reason} [${n}]` : r.reason; }],
];

function hostPort(h: string, p: number): string {
  return h.includes(':') ? `[${h}]:${p}` : `${h}:${p}`;
}

function notes(r: ConnectionReport): string {
  const n: string[] = [];
  if (r.half_close_data) n.push('half-close-data');
  if (r.retransmissions) n.push(`retx=${r.retransmissions}`);
  if (r.dup_acks) n.push(`dupack=${r.dup_acks}`);
  if (r.out_of_order) n.push(`ooo=${r.out_of_order}`);
  if (r.zero_windows) n.push(`zwin=${r.zero_windows}`);
  if (r.keep_alives) n.push(`keepalive=${r.keep_alives}`);
  if (r.lost_segments) n.push(`lost=${r.lost_segments}`);
  if (r.bad_checksums) n.push(`badsum=${r.bad_checksums}`);
  if (r.direction_inferred) n.push('dir-inferred');
  if (r.split) n.push(`split:${r.split}`);
  // A later piece of one Wireshark conversation: the first piece's uid and first frame link them.
  if (r.group !== r.uid) n.push(`piece-of:${r.group}`);
  // Zeek would log further rows (it splits on a SYN+FIN/SYN+RST the receiver drops): their conn_state@frame.
  if (r.zeek_splits.length > 0) n.push(`zeek-rows:+${r.zeek_splits.map((z) => `${z.conn_state}@${z.first_frame}`).join(',')}`);
  for (const a of r.anomalies) n.push(`${a.detail ?? a.kind}@${a.frames.slice(0, 3).join(',')}${a.count > 3 ? '…' : ''}`);
  return n.join(' ');
}

function pad(s: string, w: number): string {
  if (w === 0) return s;
  return s.length >= w ? s + ' ' : s + ' '.repeat(w - s.length + 1);
}

/**
 * Table rows in the order of the connections' first packets (connection ids are given in that order, from 0,
 * one per connection), while the analyzer finishes connections in another order: a finished row waits until
 * every connection that started before it has finished. Memory: the rows finished after the oldest
 * connection still open (`peak` says how many were held at most), bounded by `maxHeld`: past it the waiting
 * rows are printed at once, in order, and the connections still open that started before them are printed
 * when they finish (out of order, counted in `late`), so one connection open from the first packet to the
 * last cannot make the table hold every row of the capture.
 */
export class FirstPacketOrder {
  private readonly held = new Map<number, string | null>();
  private next = 0;
  peak = 0;
  /** Rows printed after rows of connections that started later (only once `maxHeld` was reached). */
  late = 0;

  constructor(readonly maxHeld = 50_000) {}

  /** Connection `id` finished, with its row (null: filtered out). Returns the rows now due, in order. */
  add(id: number, row: string | null): string {
    if (id < this.next) {
      // Its place was given up when the held rows reached maxHeld.
      if (row === null) return '';
      this.late++;
      return row;
    }
    this.held.set(id, row);
    if (this.held.size > this.peak) this.peak = this.held.size;
    let out = '';
    for (;;) {
      const r = this.held.get(this.next);
      if (r === undefined) break;
      this.held.delete(this.next++);
      if (r !== null) out += r;
    }
    if (this.held.size > this.maxHeld) {
      const ids = [...this.held.keys()].sort((a, b) => a - b);
      for (const k of ids) {
        const r = this.held.get(k)!;
        if (r !== null) out += r;
      }
      this.held.clear();
      this.next = ids[ids.length - 1]! + 1;
    }
    return out;
  }

  /** Rows still held (none once every connection has finished). */
  get size(): number { return this.held.size; }
}

/** The header line of the human-readable table (`--format table`). */
export function tableHeader(): string {
  return TABLE_COLUMNS.map(([h, w]) => pad(h, w)).join('').trimEnd() + '\n';
}

/** One connection as a line of the human-readable table. */
export function tableRow(r: ConnectionReport): string {
  return TABLE_COLUMNS.map(([, w, f]) => pad(f(r), w)).join('').trimEnd() + '\n';
}

export function tableSummary(s: SummaryReport, anomalies: AnomalyReport[]): string {
  const lines: string[] = [];
  lines.push('');
  // Every packet in exactly one of these counts, so they add up to the total (tested); the optional ones only
  // when non-zero. Bad TCP checksums are analysed anyway (and counted among the TCP packets).
  const parts = [`${s.tcp_packets} TCP`, `${s.non_tcp_packets} other IP`, `${s.non_ip_packets} non-IP`, `${s.malformed_packets} malformed`];
  // A reassembled datagram counts as the packet whose fragment completed it; the other fragments count here.
  if (s.fragment_only_packets) {
    parts.push(`${s.fragment_only_packets} more IP fragment${s.fragment_only_packets === 1 ? '' : 's'} (${s.reassembled_datagrams} datagram${s.reassembled_datagrams === 1 ? '' : 's'} reassembled)`);
  }
  if (s.truncated_headers) parts.push(`${s.truncated_headers} truncated TCP headers`);
  if (s.unsupported_link_packets) parts.push(`${s.unsupported_link_packets} on unsupported link types`);
  if (s.dropped_bad_ip_checksums) parts.push(`${s.dropped_bad_ip_checksums} dropped for bad IP checksums`);
  lines.push(`${s.connections} connections, ${s.packets} packets (${parts.join(', ')}; ${s.bad_checksums} bad TCP checksums)`);
  const kv = (o: Record<string, number>): string =>
    Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  lines.push(`close:     ${kv(s.by_close)}`);
  lines.push(`handshake: ${kv(s.by_handshake)}`);
  lines.push(`zeek:      ${kv(s.by_conn_state)}`);
  if (anomalies.length === 0) lines.push('anomalies: none');
  else {
    lines.push('anomalies:');
    for (const a of anomalies) lines.push('  ' + describeAnomaly(a));
  }
  if (s.error) lines.push(`error: ${s.error}`);
  return lines.join('\n') + '\n';
}

/** An anomaly in one line of English, with its first frames (e.g. "SYN scan from 10.0.0.9: 1000 ports ..."). */
export function describeAnomaly(a: AnomalyReport): string {
  const frames = a.frames.slice(0, 8).join(',') + (a.count > 8 ? ',…' : '');
  switch (a.kind) {
    case 'invalid-flags': return `invalid flags ${a.flags}: ${a.count} packet(s), frames ${frames}`;
    case 'syn-scan': case 'null-scan': case 'fin-scan': case 'xmas-scan':
      return `${a.kind}: ${a.src} → ${a.dst}, ${a.ports} ports, ${a.count} probes, frames ${frames}`;
    case 'syn-flood':
      return `syn-flood: ${a.dst}:${a.dst_port}, ${a.count} unfinished handshakes from ${a.sources} sources (${a.rate}/s), frames ${frames}`;
    default: return `${a.kind}: ${a.count} packet(s), frames ${frames}`;
  }
}

// ---- Zeek conn.log ----

const ZEEK_FIELDS = ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'service', 'duration',
  'orig_bytes', 'resp_bytes', 'conn_state', 'local_orig', 'local_resp', 'missed_bytes', 'history', 'orig_pkts',
  'orig_ip_bytes', 'resp_pkts', 'resp_ip_bytes', 'tunnel_parents', 'ip_proto',
  // synack's one extra column, after all of Zeek's (a log extension as Zeek scripts add them: readers such as
  // zeek-cut select columns by the #fields names, so Zeek's own columns keep their names, order and values).
  'synack_reason'];
const ZEEK_TYPES = ['time', 'string', 'addr', 'port', 'addr', 'port', 'enum', 'string', 'interval', 'count', 'count',
  'string', 'bool', 'bool', 'count', 'string', 'count', 'count', 'count', 'count', 'set[string]', 'count', 'string'];

function zeekTime(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}-${p(d.getUTCHours())}-${p(d.getUTCMinutes())}-${p(d.getUTCSeconds())}`;
}

/** The header lines of a Zeek conn.log (TSV), `#open` at `now`; then zeekRow per connection and zeekFooter. */
export function zeekHeader(now = new Date()): string {
  return [
    '#separator \\x09',
    '#set_separator\t,',
    '#empty_field\t(empty)',
    '#unset_field\t-',
    '#path\tconn',
    `#open\t${zeekTime(now)}`,
    '#fields\t' + ZEEK_FIELDS.join('\t'),
    '#types\t' + ZEEK_TYPES.join('\t'),
  ].join('\n') + '\n';
}

/** Zeek's TSV escaping of a string value (tabs and non-printable bytes as \xHH; empty as `(empty)`). */
function zeekString(s: string): string {
  if (s === '') return '(empty)';
  return s.replace(/[^\x20-\x7e]|\\/g, (ch) => Array.from(new TextEncoder().encode(ch), (b) => '\\x' + b.toString(16).padStart(2, '0')).join(''));
}

/** One conn.log line: a connection's (first) Zeek row, or one of its `zeek_splits` (no reason of its own: `-`). */
export function zeekRow(r: ZeekRowSnapshot | ConnectionReport, reason?: string): string {
  const service = 'service' in r && r.service !== null ? ZEEK_SERVICE_NAMES[r.service] : '-';
  const z = r.zeek;
  // Zeek sets duration and the byte counts only for a connection that lasted (conn.log shows '-' otherwise).
  const unsetIfNone = (v: string): string => (z.duration > 0 ? v : '-');
  return [
    r.ts.toFixed(6), r.uid, r.orig_h, String(r.orig_p), r.resp_h, String(r.resp_p), 'tcp', service,
    unsetIfNone(z.duration.toFixed(6)), unsetIfNone(String(z.orig_bytes)), unsetIfNone(String(z.resp_bytes)),
    r.conn_state, '-', '-', String(z.missed_bytes), r.history, String(z.orig_pkts), String(z.orig_ip_bytes),
    String(z.resp_pkts), String(z.resp_ip_bytes), '-', '6', reason === undefined ? '-' : zeekString(reason),
  ].join('\t') + '\n';
}

/** The closing line of a Zeek conn.log (`#close` at `now`). */
export function zeekFooter(now = new Date()): string {
  return `#close\t${zeekTime(now)}\n`;
}
