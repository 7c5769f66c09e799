/**
 * `synack/analyze`: every TCP connection in a pcap or pcapng capture — its handshake and close, both
 * endpoints' RFC 9293 states, anomalies, and Zeek's and Wireshark's fields. Streaming: memory follows the
 * connections open at once, not the capture's size.
 *
 * ```ts
 * const { connections, summary } = analyzeCapture(bytes);
 * for (const c of connections) console.log(c.orig_h, c.resp_h, c.handshake, c.close, c.conn_state);
 * ```
 * @packageDocumentation
 */
import { Analyzer, type AnalyzerOptions } from '../analyze/analyzer.js';
import type { AnomalyReport, ConnectionReport, SummaryReport } from '../analyze/report.js';
import { CaptureReader } from '../wire/capture.js';

export { Analyzer, type AnalyzerOptions, type MalformedSample } from '../analyze/analyzer.js';
export type { ConnectionReport, AnomalyReport, SummaryReport } from '../analyze/report.js';
export type { HandshakeKind, CloseKind, AnomalyHit, ZeekRowSnapshot } from '../analyze/connection.js';
export type { Service } from '../analyze/service.js';
export { jsonLine, tableHeader, tableRow, zeekHeader, zeekRow, zeekFooter, describeAnomaly } from '../analyze/format.js';

/** What analyzeCapture returns. */
export interface CaptureAnalysis {
  /** Every connection, in the order they finished. */
  connections: ConnectionReport[];
  /** Patterns across connections (scans, floods, invalid flags). */
  anomalies: AnomalyReport[];
  /** Totals, and the capture error that stopped reading, if any. */
  summary: SummaryReport;
}

/**
 * Analyses a whole capture held in memory (pcap or pcapng). For captures larger than memory, feed an
 * `Analyzer` records from a `CaptureReader` chunk by chunk instead. A malformed capture is not thrown: what
 * could be read is analysed and `summary` says what was wrong.
 */
export function analyzeCapture(bytes: Uint8Array, opts: Omit<AnalyzerOptions, 'onConnection' | 'onFinished' | 'recycle'> = {}, name = 'capture'): CaptureAnalysis {
  const connections: ConnectionReport[] = [];
  const analyzer = new Analyzer({ ...opts, onConnection: (r) => { connections.push(r); } });
  const reader = new CaptureReader();
  let error: string | null = null;
  try {
    reader.push(bytes);
    reader.end();
    for (let rec = reader.next(); rec !== null; rec = reader.next()) analyzer.packet(rec);
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  const anomalies = analyzer.finish();
  return { connections, anomalies, summary: analyzer.summary([name], error) };
}
