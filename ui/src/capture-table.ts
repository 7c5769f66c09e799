/**
 * The capture view's connection table: columns, sorting and filtering over the analyzer's reports.
 * A filter is either plain text (matched against every column) or an expression in `synack analyze
 * --filter` syntax (close == four-way and orig_pkts > 3), compiled by src/analyze/filter.ts.
 */
import { compileFilter, FilterError } from '../../src/analyze/filter.js';
import type { ConnectionReport, SummaryReport } from '../../src/analyze/report.js';

export interface Column {
  key: string;
  title: string;
  /** Value used for sorting. */
  sortValue(r: ConnectionReport): number | string;
  /** Text shown. */
  text(r: ConnectionReport): string;
  numeric?: boolean;
}

function ep(h: string, p: number): string { return h.includes(':') ? `[${h}]:${p}` : `${h}:${p}`; }

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

export function formatDuration(s: number): string {
  if (s < 1) return `${(s * 1000).toFixed(1)} ms`;
  if (s < 120) return `${s.toFixed(2)} s`;
  return `${(s / 60).toFixed(1)} min`;
}

/** Anomaly kinds of a connection with their counts, e.g. "invalid-flags×5, zero-window". */
export function anomalyText(r: ConnectionReport): string {
  const by = new Map<string, number>();
  for (const a of r.anomalies) by.set(a.kind, (by.get(a.kind) ?? 0) + Math.max(1, a.count));
  return [...by].map(([k, n]) => (n > 1 ? `${k}×${n}` : k)).join(', ');
}

export const COLUMNS: readonly Column[] = [
  { key: 'first_frame', title: '#', sortValue: (r) => r.first_frame, text: (r) => String(r.first_frame), numeric: true },
  { key: 'endpoints', title: 'Endpoints (originator → responder)', sortValue: (r) => `${r.orig_h} ${r.orig_p} ${r.resp_h} ${r.resp_p}`, text: (r) => `${ep(r.orig_h, r.orig_p)} → ${ep(r.resp_h, r.resp_p)}` },
  { key: 'handshake', title: 'Handshake', sortValue: (r) => r.handshake, text: (r) => r.handshake },
  { key: 'close', title: 'Close', sortValue: (r) => r.close, text: (r) => r.close },
  { key: 'conn_state', title: 'conn_state', sortValue: (r) => r.conn_state, text: (r) => r.conn_state },
  { key: 'history', title: 'History', sortValue: (r) => r.history, text: (r) => r.history },
  { key: 'anomalies', title: 'Anomalies', sortValue: (r) => r.anomalies.length, text: anomalyText },
  { key: 'packets', title: 'Packets', sortValue: (r) => r.orig_pkts + r.resp_pkts, text: (r) => String(r.orig_pkts + r.resp_pkts), numeric: true },
  { key: 'bytes', title: 'Bytes', sortValue: (r) => r.orig_bytes + r.resp_bytes, text: (r) => formatBytes(r.orig_bytes + r.resp_bytes), numeric: true },
  { key: 'duration', title: 'Duration', sortValue: (r) => r.duration, text: (r) => formatDuration(r.duration), numeric: true },
  // The analyzer's one-line account of what happened (src/analyze/reason.ts), as in every CLI format.
  { key: 'reason', title: 'Reason', sortValue: (r) => r.reason, text: (r) => r.reason },
];

export interface TableQuery { sortKey: string; descending: boolean; filter: string }

const EXPR = /(==|!=|<=|>=|[<>~]|&&|\|\||^\s*(host|port|not|anomalous)\b|\s(and|or)\s)/;

/** Compiles the filter box's text; returns the predicate, or an error message for a bad expression. */
export function compileTableFilter(text: string): { pred: (r: ConnectionReport) => boolean; error: string | null } {
  const t = text.trim();
  if (!t) return { pred: () => true, error: null };
  if (EXPR.test(t)) {
    try {
      return { pred: compileFilter(t), error: null };
    } catch (e) {
      if (e instanceof FilterError) return { pred: () => false, error: e.message };
      throw e;
    }
  }
  const needle = t.toLowerCase();
  return { pred: (r) => COLUMNS.some((c) => c.text(r).toLowerCase().includes(needle)) || r.uid.toLowerCase() === needle, error: null };
}

/** Filtered and sorted rows (stable: ties keep capture order). */
export function queryRows(rows: readonly ConnectionReport[], q: TableQuery): { rows: ConnectionReport[]; error: string | null } {
  const { pred, error } = compileTableFilter(q.filter);
  const col = COLUMNS.find((c) => c.key === q.sortKey) ?? COLUMNS[0]!;
  const out = rows.filter(pred);
  const dir = q.descending ? -1 : 1;
  const idx = new Map(out.map((r, i) => [r, i]));
  out.sort((x, y) => {
    const a = col.sortValue(x), b = col.sortValue(y);
    const c = typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
    return c !== 0 ? c * dir : idx.get(x)! - idx.get(y)!;
  });
  return { rows: out, error };
}

/** The summary strip: connections by close kind (most first), then anomalies and packet counts. */
export function summaryItems(s: SummaryReport): Array<{ label: string; value: number; kind: 'close' | 'anomaly' | 'count' }> {
  const out: Array<{ label: string; value: number; kind: 'close' | 'anomaly' | 'count' }> = [];
  out.push({ label: 'connections', value: s.connections, kind: 'count' });
  out.push({ label: 'packets', value: s.packets, kind: 'count' });
  for (const [k, v] of Object.entries(s.by_close).sort((x, y) => y[1] - x[1])) out.push({ label: k, value: v, kind: 'close' });
  for (const [k, v] of Object.entries(s.anomalies).sort((x, y) => y[1] - x[1])) out.push({ label: k, value: v, kind: 'anomaly' });
  if (s.malformed_packets) out.push({ label: 'malformed packets', value: s.malformed_packets, kind: 'anomaly' });
  return out;
}
