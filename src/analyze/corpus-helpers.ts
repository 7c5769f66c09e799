/**
 * Test helpers shared by the corpus tests: locate ../shared, analyze a whole file into reports.
 * (Node-only; imported by *.test.ts files, never by the analyzer itself.)
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureReader } from '../wire/capture.js';
import { Analyzer, type AnalyzerOptions } from './analyzer.js';
import type { AnomalyReport, ConnectionReport } from './report.js';
import type { Connection } from './connection.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const shared = process.env.SYNACK_SHARED ?? path.resolve(repoRoot, '../shared');
export const sharedMissing: false | string = !existsSync(shared) && '../shared not present';

export interface AnalysisResult {
  reports: ConnectionReport[];
  conns: Connection[];
  anomalies: AnomalyReport[];
  analyzer: Analyzer;
}

export function analyzeBytes(bytes: Uint8Array, opts: AnalyzerOptions = {}): AnalysisResult {
  const reports: ConnectionReport[] = [];
  const conns: Connection[] = [];
  const analyzer = new Analyzer({ ...opts, onConnection: (r, c) => { reports.push(r); conns.push(c); } });
  const rd = new CaptureReader();
  rd.pushNoCopy(bytes);
  rd.end();
  for (;;) {
    const rec = rd.next();
    if (!rec) break;
    analyzer.packet(rec);
  }
  const anomalies = analyzer.finish();
  return { reports, conns, anomalies, analyzer };
}

export function analyzeFile(file: string, opts: AnalyzerOptions = {}): AnalysisResult {
  return analyzeBytes(new Uint8Array(readFileSync(file)), opts);
}
