/**
 * Findings across connections: port scans (SYN, NULL, FIN, Xmas: one source, many destination ports),
 * SYN floods (many unfinished handshakes towards one service from many sources), plus the per-connection
 * flag and RST anomalies aggregated by kind. Memory is bounded: only suspicious packets and failed
 * handshakes are remembered, with capped sets.
 */
import { ACK, FIN, PSH, RST, SYN, URG } from '../wire/tcp-types.js';
import type { AnomalyReport, ConnectionFacts } from './report.js';

export interface AnomalyOptions {
  /** Distinct destination ports from one source to one host that make a scan (default 10). */
  scanPorts?: number;
  /** Unfinished handshakes towards one address:port that make a SYN flood (default 100). */
  floodAttempts?: number;
  /** ... from at least this many distinct sources (default 10). */
  floodSources?: number;
  /** ... at this rate or faster, per second (default 20). */
  floodRate?: number;
}

const MAX_FRAMES = 100;
const MAX_TRACKED = 100_000;

interface ScanState { ports: Set<number>; frames: number[]; count: number }
interface FloodState { sources: Set<string>; attempts: number; first: number; last: number; frames: number[] }
interface Agg { count: number; frames: number[]; flags?: string }

/** Classifies a lone probe packet: which stealth scan it belongs to, if any. */
export function scanKindOf(flags: number): 'null-scan' | 'fin-scan' | 'xmas-scan' | null {
  const f = flags & (SYN | FIN | RST | ACK | PSH | URG);
  if ((flags & 0x1ff) === 0) return 'null-scan';
  if (f & (SYN | RST | ACK)) return null;
  if ((f & (FIN | PSH | URG)) === (FIN | PSH | URG)) return 'xmas-scan';
  if (f === FIN) return 'fin-scan';
  return null;
}

export class AnomalyDetector {
  private readonly scanPorts: number;
  private readonly floodAttempts: number;
  private readonly floodSources: number;
  private readonly floodRate: number;
  private readonly scans = new Map<string, ScanState>();
  private readonly floods = new Map<string, FloodState>();
  private readonly aggregated = new Map<string, Agg>();

  constructor(opts: AnomalyOptions = {}) {
    this.scanPorts = opts.scanPorts ?? 10;
    this.floodAttempts = opts.floodAttempts ?? 100;
    this.floodSources = opts.floodSources ?? 10;
    this.floodRate = opts.floodRate ?? 20;
  }

  /** A stealth-scan probe (NULL, FIN, Xmas) seen on the wire. */
  probe(kind: 'null-scan' | 'fin-scan' | 'xmas-scan', src: string, dst: string, dstPort: number, frame: number): void {
    this.scan(`${kind}|${src}|${dst}`, dstPort, frame);
  }

  private scan(key: string, port: number, frame: number): void {
    let s = this.scans.get(key);
    if (!s) {
      if (this.scans.size >= MAX_TRACKED) return;
      s = { ports: new Set(), frames: [], count: 0 };
      this.scans.set(key, s);
    }
    s.count++;
    if (s.ports.size < 65536) s.ports.add(port);
    if (s.frames.length < MAX_FRAMES) s.frames.push(frame);
  }

  /** A finished connection: failed handshakes feed the SYN-scan and SYN-flood detectors. */
  connection(r: ConnectionFacts): void {
    for (const a of r.anomalies) {
      const key = a.kind === 'invalid-flags' ? `invalid-flags|${a.detail}` : a.kind;
      if (a.kind !== 'invalid-flags' && a.kind !== 'out-of-window-rst' && a.kind !== 'rst-after-close') continue;
      let g = this.aggregated.get(key);
      if (!g) {
        g = { count: 0, frames: [] };
        if (a.kind === 'invalid-flags' && a.detail) g.flags = a.detail;
        this.aggregated.set(key, g);
      }
      g.count += a.count;
      for (const f of a.frames) if (g.frames.length < MAX_FRAMES) g.frames.push(f);
    }
    // A SYN that never became a connection from the originator's side: unanswered, refused, or answered
    // and then abandoned (half-open, or reset by the scanner right after the SYN-ACK).
    const synOnly = r.handshake === 'unanswered' || r.handshake === 'refused'
      || (r.orig_bytes === 0 && r.resp_bytes === 0 && (r.conn_state === 'S0' || r.conn_state === 'REJ' || r.conn_state === 'RSTOS0'
        || (r.conn_state === 'RSTO' && /^Sh?R/.test(r.history)) || (r.history === 'Sh' || r.history === 'ShR')));
    if (!synOnly || r.handshake === 'midstream') return;
    this.scan(`syn-scan|${r.orig_h}|${r.resp_h}`, r.resp_p, r.first_frame);
    if (r.close !== 'refused') {
      const key = `${r.resp_h}|${r.resp_p}`;
      let f = this.floods.get(key);
      if (!f) {
        if (this.floods.size >= MAX_TRACKED) return;
        f = { sources: new Set(), attempts: 0, first: r.ts, last: r.ts, frames: [] };
        this.floods.set(key, f);
      }
      f.attempts++;
      if (f.sources.size <= 100_000) f.sources.add(r.orig_h);
      if (r.ts < f.first) f.first = r.ts;
      if (r.ts > f.last) f.last = r.ts;
      if (f.frames.length < MAX_FRAMES) f.frames.push(r.first_frame);
    }
  }

  /** Everything found, in a stable order. */
  finish(): AnomalyReport[] {
    const out: AnomalyReport[] = [];
    for (const [key, g] of [...this.aggregated].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
      const kind = key.startsWith('invalid-flags') ? 'invalid-flags' : key as AnomalyReport['kind'];
      const a: AnomalyReport = { type: 'anomaly', kind, frames: g.frames.sort((x, y) => x - y), count: g.count };
      if (g.flags) a.flags = g.flags;
      out.push(a);
    }
    for (const [key, s] of this.scans) {
      if (s.ports.size < this.scanPorts) continue;
      const [kind, src, dst] = key.split('|') as [AnomalyReport['kind'], string, string];
      out.push({ type: 'anomaly', kind, src, dst, ports: s.ports.size, count: s.count, frames: s.frames.sort((x, y) => x - y) });
    }
    for (const [key, f] of this.floods) {
      const span = Math.max(f.last - f.first, 1);
      const rate = f.attempts / span;
      if (f.attempts < this.floodAttempts || f.sources.size < this.floodSources || rate < this.floodRate) continue;
      const i = key.lastIndexOf('|');
      out.push({
        type: 'anomaly', kind: 'syn-flood', dst: key.slice(0, i), dst_port: Number(key.slice(i + 1)),
        sources: f.sources.size, count: f.attempts, rate: Math.round(rate * 10) / 10, frames: f.frames.sort((x, y) => x - y),
      });
    }
    return out;
  }
}
