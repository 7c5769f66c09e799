/**
 * Geometry of the page's interactive ladder, computed from src/view's LadderModel (the same model the
 * terminal and exported SVG ladders use): one group per row so the cursor and clicks can address rows.
 * Arrows slant down from sender to receiver; a lost segment's arrow stops short with a cross; each side's
 * state is written beside its timeline where the segment that caused it arrives.
 */
import type { LadderModel, SegmentRow } from '../../src/view/ladder-model.js';
import { formatTime, timeDecimals } from '../../src/view/ladder-model.js';

export interface LadderGeometry {
  width: number;
  height: number;
  xA: number;
  xB: number;
  top: number;
  rowH: number;
  rows: LaidRow[];
  /** Initial state labels (above the first row). */
  initialA: string | undefined;
  initialB: string | undefined;
}

export interface LaidSegment {
  kind: 'segment';
  index: number;
  y: number;
  x1: number; y1: number;
  /** Where the drawn arrow ends (short of the far timeline when lost). */
  x2: number; y2: number;
  /** Where the receiver's timeline is met (arrival), used for state labels. */
  arriveY: number;
  lost: boolean;
  tone: SegmentRow['tone'] | 'lost';
  label: string;
  /** When set, the label is squeezed to this many px (SVG textLength) so it stays on its arrow. */
  labelLength?: number;
  /** Where the label sits along the arrow (0 sender … 1 receiver; 0.5 but for crossing pairs). */
  labelAt: number;
  /** Label above the line (false: below it, for the later of two crossing arrows). */
  labelAbove: boolean;
  /** Marks under the label: "retransmission", "dup ACK #2", "invalid flags". */
  marks: string[];
  /** Set for a third party's row: where its lane is and what it says. */
  third?: { x: number; text: string };
  /** The row this one crosses (index), when it does. */
  crosses?: number;
  /** Text angle in degrees, kept left-to-right. */
  angle: number;
  time: string;
  stateA?: { y: number; text: string };
  stateB?: { y: number; text: string };
  from: 'a' | 'b';
}

export interface LaidChange {
  kind: 'change';
  index: number;
  y: number;
  x: number;
  side: 'a' | 'b';
  state: string;
  text: string;
  time: string;
}

export type LaidRow = LaidSegment | LaidChange;

export const TONE_COLOUR: Record<LaidSegment['tone'], string> = {
  syn: '#1a7f37', fin: '#0b5cad', rst: '#c62828', data: '#8a5a00', ack: '#333333', lost: '#c62828',
};

export interface LayoutOptions {
  /** Available width in px; the timelines spread to fill it (at least `minSpan` apart). */
  width?: number;
  rowH?: number;
  minSpan?: number;
  /** Draw at most this many rows (huge captured connections). */
  maxRows?: number;
}

const CHAR_W = 6.6; // 11px monospace advance, for sizing
const STATE_CHAR_W = 6.4; // the state labels' 10.5px bold monospace
const STATE_W = 12 * STATE_CHAR_W + 14;

export function layoutLadder(model: LadderModel, opts: LayoutOptions = {}): LadderGeometry {
  const rowH = opts.rowH ?? 38;
  const slant = rowH * 0.55;
  const rowsIn = opts.maxRows !== undefined ? model.rows.slice(0, opts.maxRows) : model.rows;
  const decimals = timeDecimals(rowsIn);
  const timeW = Math.max(0, ...rowsIn.map((r) => formatTime(r.time, decimals).length + 3)) * CHAR_W * 0.9 + 6;
  // The timelines spread over what the page gives (a narrow page keeps them at least minSpan apart; labels
  // too long for their arrow are squeezed onto it rather than widening the ladder past the page).
  const minSpan = opts.minSpan ?? 220;
  const avail = (opts.width ?? 0) - (timeW + 2 * STATE_W + 16);
  const span = Math.max(minSpan, Math.min(avail, 760));
  const xA = timeW + STATE_W + 4;
  const xB = xA + span;
  const width = xB + STATE_W + 10;
  const top = 64;
  const height = top + (rowsIn.length + 1) * rowH + slant;
  const fit = (text: string, room: number): number | undefined => (text.length * CHAR_W > room ? room : undefined);
  const rows: LaidRow[] = [];
  rowsIn.forEach((r, i) => {
    const y = top + (i + 0.5) * rowH;
    const time = `${formatTime(r.time, decimals)} ms`;
    if (r.kind === 'change') {
      rows.push({ kind: 'change', index: i, y, x: r.side === 'a' ? xA : xB, side: r.side, state: r.to, text: `${r.cause}: ${r.from} → ${r.to}`, time });
      return;
    }
    // A third party's segments leave from a lane of their own between the timelines, not from the client's.
    const x1 = r.third ? xA + span * 0.22 : r.from === 'a' ? xA : xB;
    const xFar = r.from === 'a' ? xB : xA;
    // The later of two crossing segments leaves when the earlier one does (same millisecond) or just after.
    const partner = r.crosses !== undefined ? rows[r.crosses] : undefined;
    const y1 = partner?.kind === 'segment' ? partner.y1 + (partner.time === time ? 0 : rowH * 0.3) : y;
    const f = r.lost ? 0.6 : 1;
    const x2 = r.lost ? x1 + (xFar - x1) * f : xFar;
    const yEnd = y + slant;
    const y2 = r.lost ? y1 + (yEnd - y1) * f : yEnd;
    const angle = (Math.atan2(yEnd - y1, xFar - x1) * 180) / Math.PI;
    const arriveY = r.lost ? y : yEnd;
    const full = r.note !== undefined && !r.marks.some((m) => m.text === r.note) ? `${r.label} [${r.note}]` : r.label;
    const lineLen = Math.hypot(x2 - x1, y2 - y1) - 16;
    // The full label when it fits its arrow, else the one with the window's value only, squeezed if need be.
    const label = full.length * CHAR_W <= lineLen || r.shortLabel === r.label ? full : (r.note !== undefined ? `${r.shortLabel} [${r.note}]` : r.shortLabel);
    const crossing = r.crosses !== undefined || r.crossedBy !== undefined;
    const seg: LaidSegment = {
      kind: 'segment', index: i, y, x1, y1, x2, y2, arriveY, lost: r.lost, tone: r.lost ? 'lost' : r.tone,
      label, labelAt: crossing ? 0.3 : 0.5, labelAbove: r.crosses === undefined,
      marks: r.marks.filter((m) => m.kind !== 'crossing').map((m) => m.text),
      angle: r.from === 'a' ? angle : angle - 180, time, from: r.from,
    };
    const room = crossing ? lineLen * 0.55 : lineLen;
    const squeeze = fit(label, room);
    if (squeeze !== undefined) seg.labelLength = squeeze;
    if (r.third) seg.third = { x: x1, text: r.third.count > 1 ? 'spoofed sources' : r.third.addr };
    if (r.crosses !== undefined) seg.crosses = r.crosses;
    // A lost segment changed no state (see timeline.ts): no state labels beside it.
    if (r.stateA !== undefined && !r.lost) seg.stateA = { y: r.from === 'a' ? y1 : arriveY, text: r.stateA };
    if (r.stateB !== undefined && !r.lost) seg.stateB = { y: r.from === 'b' ? y1 : arriveY, text: r.stateB };
    rows.push(seg);
  });
  return { width, height, xA, xB, top, rowH, rows, initialA: model.initialA, initialB: model.initialB };
}

function n(x: number): string { return String(Math.round(x * 10) / 10); }

export function escXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'));
}

/** The interactive ladder as an SVG string: `<g class="row" data-row="i">` per row. */
export function renderLadderGeometry(g: LadderGeometry, headers: { a: [string, string]; b: [string, string] }): string {
  const o: string[] = [];
  o.push(`<svg class="ladder" xmlns="http://www.w3.org/2000/svg" width="${n(g.width)}" height="${n(g.height)}" viewBox="0 0 ${n(g.width)} ${n(g.height)}" font-family="ui-monospace, SFMono-Regular, Menlo, Consolas, monospace" font-size="11">`);
  o.push('<defs>');
  for (const [tone, colour] of Object.entries(TONE_COLOUR)) o.push(`<marker id="lh-${tone}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="${colour}"/></marker>`);
  o.push('</defs>');
  o.push(`<text class="hdr" x="${n(g.xA)}" y="20" text-anchor="middle" font-weight="bold" font-size="13">${escXml(headers.a[0])}</text>`);
  o.push(`<text class="hdr" x="${n(g.xA)}" y="36" text-anchor="middle">${escXml(headers.a[1])}</text>`);
  o.push(`<text class="hdr" x="${n(g.xB)}" y="20" text-anchor="middle" font-weight="bold" font-size="13">${escXml(headers.b[0])}</text>`);
  o.push(`<text class="hdr" x="${n(g.xB)}" y="36" text-anchor="middle">${escXml(headers.b[1])}</text>`);
  o.push(`<line class="timeline" x1="${n(g.xA)}" y1="44" x2="${n(g.xA)}" y2="${n(g.height - 6)}" stroke="#9aa3b2" stroke-width="2"/>`);
  o.push(`<line class="timeline" x1="${n(g.xB)}" y1="44" x2="${n(g.xB)}" y2="${n(g.height - 6)}" stroke="#9aa3b2" stroke-width="2"/>`);
  const state = (side: 'a' | 'b', y: number, text: string) =>
    `<text class="state state-${side}" x="${n(side === 'a' ? g.xA - 6 : g.xB + 6)}" y="${n(y + 4)}" text-anchor="${side === 'a' ? 'end' : 'start'}" font-weight="bold" font-size="10.5">${escXml(text)}</text>`;
  if (g.initialA) o.push(state('a', g.top - 10, g.initialA));
  if (g.initialB) o.push(state('b', g.top - 10, g.initialB));
  // Row bands first, under every arrow: a highlighted row must not hide the previous arrow's head.
  o.push('<g class="bands">');
  for (const r of g.rows) o.push(`<rect class="band" data-row="${r.index}" x="0" y="${n(r.y - g.rowH / 2)}" width="${n(g.width)}" height="${g.rowH}"/>`);
  o.push('</g>');
  for (const r of g.rows) {
    if (r.kind === 'change') {
      const tx = r.side === 'a' ? r.x + 10 : r.x - 10;
      o.push(`<g class="row change" data-row="${r.index}" data-side="${r.side}" data-state="${escXml(r.state)}">`
        + `<text class="time" x="4" y="${n(r.y + 4)}">${escXml(r.time)}</text>`
        + `<circle cx="${n(r.x)}" cy="${n(r.y)}" r="4" fill="#8e24aa"/>`
        + state(r.side, r.y, r.state)
        + `<text class="change-text" x="${n(tx)}" y="${n(r.y + 4)}" text-anchor="${r.side === 'a' ? 'start' : 'end'}" font-style="italic" fill="#8e24aa">${escXml(r.text)}</text></g>`);
      continue;
    }
    const colour = TONE_COLOUR[r.tone];
    // The label's anchor: along the arrow at labelAt, above the line (or below it for the later of two crossing arrows).
    const mx = r.x1 + (r.x2 - r.x1) * (r.lost ? Math.min(0.5, r.labelAt / 0.6) : r.labelAt);
    const my = r.y1 + (r.y2 - r.y1) * (r.lost ? Math.min(0.5, r.labelAt / 0.6) : r.labelAt);
    const dy = r.labelAbove ? -5 : 12;
    const squeeze = r.labelLength !== undefined ? ` textLength="${n(r.labelLength)}" lengthAdjust="spacingAndGlyphs"` : '';
    const third = r.third
      ? `<line class="lane" x1="${n(r.third.x)}" y1="${n(r.y1 - 10)}" x2="${n(r.third.x)}" y2="${n(r.y1 + 10)}" stroke="#8e24aa" stroke-width="3"/>`
        + `<text class="lane-label" x="${n(r.third.x)}" y="${n(r.y1 - 13)}" text-anchor="middle" font-size="10" fill="#8e24aa">${escXml(r.third.text)}</text>`
      : '';
    o.push(`<g class="row seg tone-${r.tone}${r.lost ? ' lost' : ''}${r.third ? ' third' : ''}${r.crosses !== undefined ? ' crossing' : ''}${r.marks.length ? ` marked` : ''}" data-row="${r.index}" data-from="${r.third ? 'x' : r.from}"${r.marks.length ? ` data-marks="${escXml(r.marks.join('; '))}"` : ''}>`
      + `<text class="time" x="4" y="${n(r.y + 4)}">${escXml(r.time)}</text>`
      + third
      + `<line class="arrow" x1="${n(r.x1)}" y1="${n(r.y1)}" x2="${n(r.x2)}" y2="${n(r.y2)}" stroke="${colour}" stroke-width="1.6"${r.lost || r.third ? ' stroke-dasharray="5 3"' : ''}${r.lost ? '' : ` marker-end="url(#lh-${r.tone})"`}/>`
      + (r.lost ? `<text class="lost-mark" x="${n(r.x2)}" y="${n(r.y2 + 5)}" text-anchor="middle" font-size="16" font-weight="bold" fill="${colour}">×</text>` : '')
      + `<text class="label" x="${n(mx)}" y="${n(my + dy)}" text-anchor="middle" fill="${colour}"${squeeze} transform="rotate(${n(r.angle)} ${n(mx)} ${n(my)})">${escXml(r.label)}</text>`
      + (r.marks.length ? `<text class="marks" x="${n(mx)}" y="${n(my + (r.labelAbove ? 12 : 24))}" text-anchor="middle" font-size="10" font-style="italic" fill="#b35c00" transform="rotate(${n(r.angle)} ${n(mx)} ${n(my)})">${escXml(r.marks.join(' · '))}</text>` : '')
      + (r.stateA ? state('a', r.stateA.y, r.stateA.text) : '')
      + (r.stateB ? state('b', r.stateB.y, r.stateB.text) : '')
      + '</g>');
  }
  o.push('</svg>');
  return o.join('');
}
