/** Messages between the page and its Web Worker (everything structured-clonable). */
import type { LabRun, LabSpec, SeedRunOptions } from './lab-run.js';
import type { AnomalyReport, ConnectionReport, SummaryReport } from '../../src/analyze/report.js';
import type { Trace } from '../../src/wire/trace.js';
import type { CaptureProgress } from './capture-session.js';
import type { Personality } from '../../src/drill/ast.js';

export type ToWorker =
  | { type: 'seed'; id: number; name: string; opts: SeedRunOptions }
  | { type: 'custom'; id: number; spec: LabSpec }
  /** Files to analyze as one capture: Blobs (dropped/picked) or URLs (files given to `synack ui`). */
  | { type: 'analyze'; id: number; files: Array<{ name: string; blob?: Blob; url?: string; size?: number }> }
  | { type: 'trace'; id: number; uid: string }
  /** A packetdrill script to run against synack in virtual time. */
  | { type: 'drill'; id: number; text: string; file: string; personality: Personality };

export type FromWorker =
  | { type: 'run'; id: number; run: LabRun }
  | { type: 'progress'; id: number; progress: CaptureProgress }
  | { type: 'connections'; id: number; rows: ConnectionReport[] }
  | { type: 'analyzed'; id: number; summary: SummaryReport; anomalies: AnomalyReport[]; error: string | null; malformed: Array<{ frame: number; offset: number; message: string }>; droppedTraces: number; ms: number }
  | { type: 'trace'; id: number; uid: string; trace: Trace | null; raw: Array<Uint8Array | null> }
  | { type: 'error'; id: number; message: string; field?: string };
