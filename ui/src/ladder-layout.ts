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
const STATE_W = 12 * 7.2 + 16;

export function layoutLadder(model: LadderModel, opts: LayoutOptions = {}): LadderGeometry {
  const rowH = opts.rowH ?? 38;
  const slant = rowH * 0.55;
  const rowsIn = opts.maxRows !== undefined ? model.rows.slice(0, opts.maxRows) : model.rows;
  const decimals = timeDecimals(rowsIn);
  const timeW = Math.max(0, ...rowsIn.map((r) => formatTime(r.time, decimals).length + 3)) * CHAR_W + 8;
  const longest = Math.max(0, ...rowsIn.map((r) => (r.kind === 'segment' ? (r.note ? r.label.length + r.note.length + 3 : r.label.length) : 0)));
  const minSpan = Math.max(opts.minSpan ?? 300, longest * CHAR_W * 0.85 + 30);
  const avail = (opts.width ?? 0) - (timeW + 2 * STATE_W + 20);
  const span = Math.max(minSpan, Math.min(avail, 700));
  const xA = timeW + STATE_W + 6;
  const xB = xA + span;
  const width = xB + STATE_W + 10;
  const top = 64;
  const height = top + (rowsIn.length + 1) * rowH + slant;
  const rows: LaidRow[] = rowsIn.map((r, i) => {
    const y = top + (i + 0.5) * rowH;
    const time = `${formatTime(r.time, decimals)} ms`;
    if (r.kind === 'change') {
      return { kind: 'change', index: i, y, x: r.side === 'a' ? xA : xB, side: r.side, state: r.to, text: `${r.cause}: ${r.from} → ${r.to}`, time };
    }
    const x1 = r.from === 'a' ? xA : xB;
    const xFar = r.from === 'a' ? xB : xA;
    const f = r.lost ? 0.6 : 1;
    const x2 = r.lost ? x1 + (xFar - x1) * f : xFar;
    const y2 = r.lost ? y + slant * f : y + slant;
    const angle = (Math.atan2(slant, xFar - x1) * 180) / Math.PI;
    const arriveY = r.lost ? y : y + slant;
    const seg: LaidSegment = {
      kind: 'segment', index: i, y, x1, y1: y, x2, y2, arriveY, lost: r.lost, tone: r.lost ? 'lost' : r.tone,
      label: r.note !== undefined ? `${r.label} [${r.note}]` : r.label, angle: r.from === 'a' ? angle : angle - 180, time, from: r.from,
    };
    // A lost segment changed no state (see timeline.ts): no state labels beside it.
    if (r.stateA !== undefined && !r.lost) seg.stateA = { y: r.from === 'a' ? y : arriveY, text: r.stateA };
    if (r.stateB !== undefined && !r.lost) seg.stateB = { y: r.from === 'b' ? y : arriveY, text: r.stateB };
    return seg;
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
    `<text class="state state-${side}" x="${n(side === 'a' ? g.xA - 8 : g.xB + 8)}" y="${n(y + 4)}" text-anchor="${side === 'a' ? 'end' : 'start'}" font-weight="bold">${escXml(text)}</text>`;
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
    const mx = (r.x1 + r.x2) / 2, my = (r.y1 + r.y2) / 2;
    o.push(`<g class="row seg tone-${r.tone}${r.lost ? ' lost' : ''}" data-row="${r.index}" data-from="${r.from}">`
 + `<text class="time" x="4" y="${n(r.y + 4)}">${escXml(r.time)}</text>`
      + `<line class="arrow" x1="${n(r.x1)}" y1="${n(r.y1)}" x2="${n(r.x2)}" y2="${n(r.y2)}" stroke="${colour}" stroke-width="1.6"${r.lost ? ' stroke-dasharray="5 3"' : ` marker-end="url(#lh-${r.tone})"`}/>`
      + (r.lost ? `<text class="lost-mark" x="${n(r.x2)}" y="${n(r.y2 + 5)}" text-anchor="middle" font-size="16" font-weight="bold" fill="${colour}">×</text>` : '')
      + `<text class="label" x="${n(mx)}" y="${n(my - 5)}" text-anchor="middle" fill="${colour}" transform="rotate(${n(r.angle)} ${n(mx)} ${n(my)})">${escXml(r.label)}</text>`
      + (r.stateA ? state('a', r.stateA.y, r.stateA.text) : '')
      + (r.stateB ? state('b', r.stateB.y, r.stateB.text) : '')
      + '</g>');
  }
  o.push('</svg>');
  return o.join('');
}
