/**
 * What both ladder renderers (terminal text and SVG) draw, computed once from a neutral Trace: rows in
 * time order (segments and timer/user-call state changes), sequence numbers made relative the way
 * Wireshark shows them by default, and each side's state printed only where it changes.
 */
import type { Trace, TraceEntry, TcpStateName } from '../wire/trace.js';
import { ACK, FIN, RST, SYN, flagsToString, type TcpSegment } from '../wire/tcp-types.js';

export interface LadderOptions {
  /** Absolute sequence/acknowledgment numbers instead of relative to each side's ISN. */
  absolute?: boolean;
}

export interface SegmentRow {
  kind: 'segment';
  time: number;
  from: 'a' | 'b';
  /** "SYN+ACK", "ACK", "FIN+ACK"... */
  flags: string;
  /** The full label: flags, seq=, ack= (when ACK is set), len=, win=. */
  label: string;
  seq: number;
  /** undefined when the ACK bit is off. */
  ack: number | undefined;
  len: number;
  win: number;
  lost: boolean;
  note: string | undefined;
  /** A side's state after this segment, present only when it differs from what was last shown for that side. */
  stateA: TcpStateName | undefined;
  stateB: TcpStateName | undefined;
  /** Which kind of segment, for colour: 'syn', 'fin', 'rst', 'data', 'ack'. */
  tone: 'syn' | 'fin' | 'rst' | 'data' | 'ack';
  entry: TraceEntry;
}

export interface ChangeRow {
  kind: 'change';
  time: number;
  side: 'a' | 'b';
  from: TcpStateName;
  to: TcpStateName;
  cause: string;
}

export type LadderRow = SegmentRow | ChangeRow;

export interface LadderModel {
  /** "client 10.0.0.1:40000" */
  headerA: string;
  headerB: string;
  title: string | undefined;
  /** Each side's state before anything happened, when the trace tells it. */
  initialA: TcpStateName | undefined;
  initialB: TcpStateName | undefined;
  rows: LadderRow[];
}

export function buildLadder(trace: Trace, opts: LadderOptions = {}): LadderModel {
  const entries = trace.entries ?? [];
  const changes = [...(trace.changes ?? [])].sort((x, y) => x.time - y.time || (x.order ?? 0) - (y.order ?? 0));
  const baseA = opts.absolute ? 0 : isnOf(trace.a.isn, entries, 'a');
  const baseB = opts.absolute ? 0 : isnOf(trace.b.isn, entries, 'b');

  // Merge by time. At equal times the trace's shared `order` decides where both rows have one (a timer that
  // fired after a segment sent in the same millisecond comes after it); otherwise a state change goes first
  // (a user call such as connect() or close() precedes the segment it causes).
  const changeFirst = (c: (typeof changes)[number], e: TraceEntry): boolean =>
    c.time < e.time || (c.time === e.time && (c.order === undefined || e.order === undefined || c.order < e.order));
  const merged: Array<{ t: number; change?: (typeof changes)[number]; entry?: TraceEntry }> = [];
  let ci = 0;
  for (const e of entries) {
    while (ci < changes.length && changeFirst(changes[ci]!, e)) merged.push({ t: changes[ci]!.time, change: changes[ci++]! });
    merged.push({ t: e.time, entry: e });
  }
  while (ci < changes.length) merged.push({ t: changes[ci]!.time, change: changes[ci++]! });

  const firstEntryTime = entries.length ? entries[0]!.time : Infinity;
  const firstChange = (side: 'a' | 'b') => changes.find((c) => c.side === side);
  const fa = firstChange('a');
  const fb = firstChange('b');
  const initialA = fa && fa.time <= firstEntryTime ? fa.from : undefined;
  const initialB = fb && fb.time <= firstEntryTime ? fb.from : undefined;

  let shownA: TcpStateName | undefined = initialA;
  let shownB: TcpStateName | undefined = initialB;
  const rows: LadderRow[] = [];
  for (const m of merged) {
    if (m.change) {
      const c = m.change;
      rows.push({ kind: 'change', time: c.time, side: c.side, from: c.from, to: c.to, cause: c.cause });
      if (c.side === 'a') shownA = c.to; else shownB = c.to;
      continue;
    }
    const e = m.entry!;
    const seg = e.seg;
    const own = e.from === 'a' ? baseA : baseB;
    const peer = e.from === 'a' ? baseB : baseA;
    const seq = rel(seg.seq, own);
    const ack = seg.flags & ACK ? rel(seg.ack, peer) : undefined;
    const flags = flagsToString(seg.flags);
    const len = seg.payload.length;
    let label = `${flags} seq=${seq}`;
    if (ack !== undefined) label += ` ack=${ack}`;
    label += ` len=${len} win=${seg.window}`;
    const stateA = e.stateA !== undefined && e.stateA !== shownA ? e.stateA : undefined;
    const stateB = e.stateB !== undefined && e.stateB !== shownB ? e.stateB : undefined;
    if (e.stateA !== undefined) shownA = e.stateA;
    if (e.stateB !== undefined) shownB = e.stateB;
    rows.push({
      kind: 'segment', time: e.time, from: e.from, flags, label, seq, ack, len, win: seg.window,
      lost: e.lost === true, note: e.note, stateA, stateB, tone: toneOf(seg), entry: e,
    });
  }
  return {
    headerA: endpointHeader(trace.a),
    headerB: endpointHeader(trace.b),
    title: trace.title,
    initialA,
    initialB,
    rows,
  };
}

function endpointHeader(ep: Trace['a']): string {
  const addr = ep.addr.includes(':') ? `[${ep.addr}]` : ep.addr;
  return `${ep.label} ${addr}:${ep.port}`.trim();
}

/**
 * The number Wireshark calls relative 0 for one side: its ISN when the trace knows it, else the
 * sequence number of its first SYN, else of its first segment (a capture that missed the handshake).
 * undefined when the side sent nothing, so acks toward it are shown absolute.
 */
function isnOf(known: number | undefined, entries: TraceEntry[], side: 'a' | 'b'): number | undefined {
  if (known !== undefined) return known;
  let first: number | undefined;
  for (const e of entries) {
    if (e.from !== side) continue;
    if (e.seg.flags & SYN) return e.seg.seq;
    first ??= e.seg.seq;
  }
  return first;
}

function rel(n: number, base: number | undefined): number {
  return base === undefined ? n >>> 0 : (n - base) >>> 0;
}

function toneOf(seg: TcpSegment): SegmentRow['tone'] {
  if (seg.flags & RST) return 'rst';
  if (seg.flags & SYN) return 'syn';
  if (seg.flags & FIN) return 'fin';
  if (seg.payload.length > 0) return 'data';
  return 'ack';
}

/** Times as milliseconds with up to three decimals, trailing zeros kept so columns line up. */
export function formatTime(ms: number, decimals: number): string {
  return ms.toFixed(decimals);
}

/** Three decimals when any time has a fraction, else none. */
export function timeDecimals(rows: LadderRow[]): number {
  return rows.some((r) => !Number.isInteger(r.time)) ? 3 : 0;
}
