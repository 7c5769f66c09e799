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
  /** The full label: flags, seq=, ack= (when ACK is set), len=, win= (scaled, then the raw field and shift). */
  label: string;
  /** The same with the window as its value only (terminal ladders). */
  shortLabel: string;
  seq: number;
  /** undefined when the ACK bit is off. */
  ack: number | undefined;
  len: number;
  win: number;
  lost: boolean;
  note: string | undefined;
  /**
   * The window in bytes when window scaling is in effect (both SYNs carried the option, RFC 7323 §2.2): the
   * raw field shifted by the shift its sender announced. undefined when not scaled or not known (a capture
   * that missed the handshake), and on SYNs, whose window is never scaled.
   */
  winScaled: number | undefined;
  /** The sender's announced shift, with winScaled. */
  winShift: number | undefined;
  /** What the row is, beyond its flags: retransmission, duplicate ACK, invalid flags, crossing (see RowMark). */
  marks: RowMark[];
  /**
   * Index (in rows) of the segment this one crosses in flight: sent from the other side before that one
   * arrived, as in RFC 9293's figures of simultaneous open (Figure 8) and close (Figure 13). Set on the
   * later of the two; the earlier has `crossedBy`.
   */
  crosses: number | undefined;
  crossedBy: number | undefined;
  /**
   * A segment toward b from a third party (not a's address: a flood's spoofed sources, an attacker), drawn
   * on a lane of its own; consecutive ones with the same flags are one row with their count.
   */
  third: { addr: string; count: number } | undefined;
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

export interface RowMark {
  kind: 'retransmission' | 'dup-ack' | 'invalid' | 'crossing';
  /** Short text for the ladders: "retransmission", "dup ACK #2", "invalid flags", "crosses ↑". */
  text: string;
}

/**
 * A trace entry as the link layer's scenarios may tag it: `third` names the real source of a segment sent
 * toward b by neither endpoint (from stays 'a' for its direction). A plain TraceEntry has none.
 */
export interface LaneTraceEntry extends TraceEntry {
  third?: string;
}

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
  const base = { a: opts.absolute ? 0 : isnOf(trace.a.isn, entries, 'a'), b: opts.absolute ? 0 : isnOf(trace.b.isn, entries, 'b') };
  /** The sequence number of each side's current SYN: a SYN with another one starts a new incarnation. */
  const synSeq = { a: undefined as number | undefined, b: undefined as number | undefined };
  /** Where each side's current SYN was (row count then). */
  const synRow = { a: -1, b: -1 };

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
  /** The window scale option of each side's SYN in this incarnation: null before its SYN is seen. */
  const synScale = { a: null as number | undefined | null, b: null as number | undefined | null };
  // Per sender: the highest sequence number sent so far (end of SYN/data/FIN), the last pure ACK's ack and window.
  const sent = { a: undefined as number | undefined, b: undefined as number | undefined };
  const lastAck = { a: undefined as undefined | { ack: number; win: number; n: number }, b: undefined as undefined | { ack: number; win: number; n: number } };
  const synAckSent = { a: false, b: false };
  let lastSeg: SegmentRow | undefined;
  /** Rows that carried sequence space their sender had not sent before. */
  const fresh = new Set<SegmentRow>();
  for (const m of merged) {
    if (m.change) {
      const c = m.change;
      rows.push({ kind: 'change', time: c.time, side: c.side, from: c.from, to: c.to, cause: c.cause });
      if (c.side === 'a') shownA = c.to; else shownB = c.to;
      continue;
    }
    const e = m.entry! as LaneTraceEntry;
    const seg = e.seg;
    const flags = flagsToString(seg.flags);
    const len = seg.payload.length;
    if (e.third !== undefined) {
      // A third party's segments: one row per run of the same flags, off both endpoints' numbering.
      const prev = rows[rows.length - 1];
      if (prev?.kind === 'segment' && prev.third && prev.flags === flags) { prev.third.count++; prev.label = prev.shortLabel = thirdLabel(prev); if (e.stateB !== undefined) shownB = e.stateB; continue; }
      const row: SegmentRow = {
        kind: 'segment', time: e.time, from: 'a', flags, label: '', shortLabel: '', seq: seg.seq >>> 0, ack: seg.flags & ACK ? seg.ack >>> 0 : undefined, len, win: seg.window,
        lost: e.lost === true, note: e.note, stateA: undefined, stateB: e.stateB !== undefined && e.stateB !== shownB ? e.stateB : undefined, tone: toneOf(seg), entry: e,
        winScaled: undefined, winShift: undefined, marks: [], crosses: undefined, crossedBy: undefined, third: { addr: e.third, count: 1 },
      };
      row.label = row.shortLabel = thirdLabel(row);
      if (e.stateB !== undefined) shownB = e.stateB;
      rows.push(row);
      continue;
    }
    if (seg.flags & SYN && !(seg.flags & RST)) {
      // A new incarnation of the four-tuple (a SYN with a new ISN): numbering restarts at 0 as Wireshark's
      // does for a new stream, and what this side sent before is history.
      const prevSyn = synSeq[e.from];
      if (prevSyn !== undefined && prevSyn !== seg.seq && !opts.absolute) {
        base[e.from] = seg.seq;
        sent[e.from] = undefined;
        lastAck[e.from] = undefined;
        synAckSent[e.from] = false;
      }
      if (synSeq[e.from] !== seg.seq) {
        synScale[e.from] = seg.options.wscale;
        // The other side's SYN belongs to this incarnation only if it came after this side's previous SYN.
        const other = e.from === 'a' ? 'b' : 'a';
        if (prevSyn !== undefined && synRow[other] < synRow[e.from]) synScale[other] = null;
        synRow[e.from] = rows.length;
      }
      synSeq[e.from] = seg.seq;
    }
    const own = base[e.from];
    const peer = base[e.from === 'a' ? 'b' : 'a'];
    const seq = opts.absolute ? seg.seq >>> 0 : rel(seg.seq, own);
    const ack = seg.flags & ACK ? (opts.absolute ? seg.ack >>> 0 : rel(seg.ack, peer)) : undefined;
    // RFC 7323 §2.2: scaling is in effect once both SYNs carried the option; never applied to a SYN's window.
    const sa = synScale.a, sb = synScale.b;
    const shift = seg.flags & SYN || sa === null || sb === null || sa === undefined || sb === undefined ? undefined : Math.min(synScale[e.from]!, 14);
    const winScaled = shift !== undefined ? seg.window * 2 ** shift : undefined;
    let label = `${flags} seq=${seq}`;
    if (ack !== undefined) label += ` ack=${ack}`;
    label += ` len=${len} win=${winScaled !== undefined ? winScaled : seg.window}`;
    const shortLabel = label;
    if (shift) label += ` (${seg.window}×2^${shift})`;
    const marks: RowMark[] = [];
    const invalid = invalidFlags(seg.flags);
    if (invalid) marks.push({ kind: 'invalid', text: 'invalid flags' });
    // Retransmission, as Wireshark's tcp.analysis.retransmission: it carries sequence space (data, SYN or FIN)
    // that starts before the highest this sender had already sent.
    const segLen = len + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0);
    const hi = sent[e.from];
    // (A simultaneous open's first SYN+ACK repeats its SYN's sequence number by design, RFC 9293 Figure 8: not one.)
    const firstSynAck = (seg.flags & (SYN | ACK)) === (SYN | ACK) && !synAckSent[e.from];
    if ((seg.flags & (SYN | ACK)) === (SYN | ACK)) synAckSent[e.from] = true;
    // (Not one either: sequence space before this incarnation's ISN, a segment of an earlier connection.)
    const earlier = own !== undefined && !opts.absolute && seqLt(seg.seq, own);
    if (segLen > 0 && !invalid && !firstSynAck && !earlier && hi !== undefined && seqLt(seg.seq, hi)) marks.push({ kind: 'retransmission', text: 'retransmission' });
    const advances = segLen > 0 && !invalid && !earlier && (hi === undefined || seqLt(hi, (seg.seq + segLen) >>> 0));
    if (segLen > 0 && !invalid && !earlier && (hi === undefined || seqLt(hi, (seg.seq + segLen) >>> 0))) sent[e.from] = (seg.seq + segLen) >>> 0;
    // Duplicate ACK (Wireshark's tcp.analysis.duplicate_ack): a pure ACK repeating the last ack and window
    // while the other side has sent data beyond it.
    const pure = segLen === 0 && (seg.flags & (ACK | RST | SYN | FIN)) === ACK;
    const other = e.from === 'a' ? 'b' : 'a';
    const la = lastAck[e.from];
    if (pure) {
      const hiPeer = sent[other];
      if (la && la.ack === seg.ack && la.win === seg.window && hiPeer !== undefined && seqLt(seg.ack, hiPeer)) {
        la.n++;
        marks.push({ kind: 'dup-ack', text: `dup ACK #${la.n}` });
      } else lastAck[e.from] = { ack: seg.ack, win: seg.window, n: 0 };
    } else if (seg.flags & ACK) lastAck[e.from] = { ack: seg.ack, win: seg.window, n: 0 };
    const stateA = e.stateA !== undefined && e.stateA !== shownA ? e.stateA : undefined;
    const stateB = e.stateB !== undefined && e.stateB !== shownB ? e.stateB : undefined;
    if (e.stateA !== undefined) shownA = e.stateA;
    if (e.stateB !== undefined) shownB = e.stateB;
    const row: SegmentRow = {
      kind: 'segment', time: e.time, from: e.from, flags, label, shortLabel, seq, ack, len, win: seg.window,
      lost: e.lost === true, note: e.note, stateA, stateB, tone: toneOf(seg), entry: e,
      winScaled, winShift: shift, marks, crosses: undefined, crossedBy: undefined, third: undefined,
    };
    if (advances) fresh.add(row);
    if (lastSeg && crossing(lastSeg, row, fresh.has(lastSeg))) {
      row.crosses = rows.indexOf(lastSeg);
      lastSeg.crossedBy = rows.length;
      marks.push({ kind: 'crossing', text: `crosses the ${lastSeg.flags} ↑` });
    }
    rows.push(row);
    lastSeg = row;
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

/**
 * Two segments cross in flight when the later one, from the other side, was sent before the earlier one
 * arrived: sent in the same millisecond, or carrying SYN or FIN without acknowledging the other's SYN or FIN
 * (its sender had not received it yet). A lost earlier segment arrives nowhere and is crossed by nothing.
 */
function crossing(x: SegmentRow, y: SegmentRow, xFresh: boolean): boolean {
  if (x.from === y.from || x.third || y.third || x.lost) return false;
  const xs = x.entry.seg;
  const xEnd = (xs.seq + xs.payload.length + (xs.flags & SYN ? 1 : 0) + (xs.flags & FIN ? 1 : 0)) >>> 0;
  const acksX = (y.entry.seg.flags & ACK) !== 0 && !seqLt(y.entry.seg.ack, xEnd);
  // y acknowledges what x was first to carry: an answer to x, not a crossing (even in the same millisecond,
  // e.g. a SYN handed straight to the receiver). When x only repeats space sent before (a simultaneous open's
  // SYN+ACK), y's ACK of it proves nothing.
  if (acksX && xFresh) return false;
  // Only SYNs and FINs are drawn crossing (the textbook's simultaneous open and close): in the same
  // millisecond, or when y does not acknowledge x. (Data and ACKs are in flight both ways all the time.)
  const ctl = (r: SegmentRow) => (r.entry.seg.flags & (SYN | FIN)) !== 0 && !(r.entry.seg.flags & RST);
  return ctl(x) && ctl(y) && (x.time === y.time || !acksX);
}

/** a < b in sequence space (RFC 9293 §3.4: modulo 2^32). */
function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/**
 * Flag combinations no conforming TCP sends (each dropped and counted by synack; firewalls and IDSs flag
 * them): SYN with FIN or RST, FIN with RST, no flags at all, FIN (or URG/PSH) without ACK outside a SYN or RST.
 */
export function invalidFlags(f: number): boolean {
  if (f & SYN) return (f & (FIN | RST)) !== 0;
  if (f & RST) return (f & FIN) !== 0;
  return !(f & ACK);
}

function thirdLabel(r: SegmentRow): string {
  const t = r.third!;
  return t.count > 1 ? `${t.count}× ${r.flags} from ${t.addr}, …` : `${r.flags} from ${t.addr}`;
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
    if (e.from !== side || (e as LaneTraceEntry).third !== undefined) continue;
    if (e.seg.flags & SYN) return e.seg.seq;
    first ??= e.seg.seq;
  }
  return first;
}

function rel(n: number, base: number | undefined): number {
  if (base === undefined) return n >>> 0;
  const d = (n - base) >>> 0;
  // Just before the ISN (a segment of an earlier incarnation) reads as negative, not as ~4 billion.
  return d >= 0xff000000 ? d - 0x100000000 : d;
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
