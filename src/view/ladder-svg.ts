/**
 * The ladder diagram as a standalone SVG document: two vertical timelines ('a' left, 'b' right), one
 * slanted arrow per segment (sent at its row, arriving lower on the other timeline, as in the
 * textbook figures), labels along the arrows, each side's state beside its timeline where it changes,
 * lost segments as arrows stopping short with a cross. Browser-clean: it only builds a string.
 */
import type { Trace } from '../wire/trace.js';
import { buildLadder, formatTime, timeDecimals, type SegmentRow } from './ladder-model.js';

export interface LadderSvgOptions {
  absolute?: boolean;
  /** Time labels in the left margin (default true). */
  showTime?: boolean;
  /** Vertical distance between rows in px (default 40). */
  rowHeight?: number;
  /** Horizontal distance between the two timelines in px (default 440). */
  span?: number;
}

const TONE_COLOUR: Record<SegmentRow['tone'] | 'lost', string> = {
  syn: '#1a7f37', fin: '#0b5cad', rst: '#c62828', data: '#8a5a00', ack: '#333333', lost: '#c62828',
};
const CHAR_W = 7.2; // approximate advance of 12px monospace, for sizing columns

export function renderLadderSvg(trace: Trace, opts: LadderSvgOptions = {}): string {
  const model = buildLadder(trace, { absolute: opts.absolute === true });
  const showTime = opts.showTime !== false;
  const rowH = positive(opts.rowHeight, 40);
  const slant = rowH * 0.5;
  const longestLabel = Math.max(0, ...model.rows.map((r) => (r.kind === 'segment' ? r.label.length : 0)));
  const span = Math.max(positive(opts.span, 440), longestLabel * CHAR_W + 40);
  const decimals = timeDecimals(model.rows);
  const timeW = showTime ? Math.max(...model.rows.map((r) => formatTime(r.time, decimals).length + 3), 0) * CHAR_W + 10 : 0;
  const stateW = 12 * CHAR_W + 14;
  const xA = 10 + timeW + stateW;
  const xB = xA + span;
  const width = xB + stateW + 10;
  const top = 70;
  const height = top + (model.rows.length + 1) * rowH + slant;

  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${n(width)}" height="${n(height)}" viewBox="0 0 ${n(width)} ${n(height)}" font-family="ui-monospace, Menlo, Consolas, monospace" font-size="12">`);
  out.push(`<title>${esc(model.title ?? `${model.headerA} ⇄ ${model.headerB}`)}</title>`);
  out.push('<defs>');
  for (const [tone, colour] of Object.entries(TONE_COLOUR)) {
    out.push(`<marker id="head-${tone}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="${colour}"/></marker>`);
  }
  out.push('</defs>');
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  // Endpoint headers and timelines.
  out.push(`<text x="${n(xA)}" y="24" text-anchor="middle" font-weight="bold">${esc(trace.a.label)}</text>`);
  out.push(`<text x="${n(xA)}" y="40" text-anchor="middle">${esc(addrPort(trace.a))}</text>`);
  out.push(`<text x="${n(xB)}" y="24" text-anchor="middle" font-weight="bold">${esc(trace.b.label)}</text>`);
  out.push(`<text x="${n(xB)}" y="40" text-anchor="middle">${esc(addrPort(trace.b))}</text>`);
  out.push(`<line class="timeline" x1="${n(xA)}" y1="50" x2="${n(xA)}" y2="${n(height - 10)}" stroke="#888" stroke-width="2"/>`);
  out.push(`<line class="timeline" x1="${n(xB)}" y1="50" x2="${n(xB)}" y2="${n(height - 10)}" stroke="#888" stroke-width="2"/>`);
  const stateText = (side: 'a' | 'b', y: number, s: string): void => {
    const x = side === 'a' ? xA - 8 : xB + 8;
    out.push(`<text class="state state-${side}" x="${n(x)}" y="${n(y + 4)}" text-anchor="${side === 'a' ? 'end' : 'start'}" font-weight="bold" fill="#00627a">${esc(s)}</text>`);
  };
  if (model.initialA !== undefined) stateText('a', top - 8, model.initialA);
  if (model.initialB !== undefined) stateText('b', top - 8, model.initialB);

  const starts: number[] = [];
  model.rows.forEach((r, i) => {
    const y = top + (i + 0.5) * rowH;
    starts[i] = y;
    if (showTime) out.push(`<text class="time" x="10" y="${n(y + 4)}" fill="#666">${esc(formatTime(r.time, decimals))} ms</text>`);
    if (r.kind === 'change') {
      const x = r.side === 'a' ? xA : xB;
      out.push(`<circle cx="${n(x)}" cy="${n(y)}" r="3.5" fill="#8e24aa"/>`);
      stateText(r.side, y, r.to);
      const tx = r.side === 'a' ? xA + 10 : xB - 10;
      out.push(`<text class="change" x="${n(tx)}" y="${n(y + 4)}" text-anchor="${r.side === 'a' ? 'start' : 'end'}" font-style="italic" fill="#8e24aa">${esc(`${r.cause}: ${r.from} → ${r.to}`)}</text>`);
      return;
    }
    // A third party's segments leave from a lane between the timelines; the later of two crossing segments
    // leaves when the earlier one does (same millisecond) or just after, so the two lines cross.
    const x1 = r.third ? xA + span * 0.22 : r.from === 'a' ? xA : xB;
    const x2full = r.from === 'a' ? xB : xA;
    const y2full = y + slant;
    const partner = r.crosses !== undefined ? model.rows[r.crosses] : undefined;
    const y1 = partner ? starts[r.crosses!]! + (partner.time === r.time ? 0 : rowH * 0.3) : y;
    starts[i] = y1;
    // A lost segment's arrow stops 60% of the way across, where it vanished.
    const f = r.lost ? 0.6 : 1;
    const x2 = x1 + (x2full - x1) * f;
    const y2 = y1 + (y2full - y1) * f;
    const tone = r.lost ? 'lost' : r.tone;
    const colour = TONE_COLOUR[tone];
    const e = r.entry;
    const tip = [
      `${r.from === 'a' ? model.headerA + ' → ' + model.headerB : model.headerB + ' → ' + model.headerA}`,
      `${r.label}${e.frame !== undefined ? ` (frame ${e.frame})` : ''}`,
      `absolute seq=${e.seg.seq >>> 0} ack=${e.seg.ack >>> 0}`,
      ...(r.lost ? ['lost'] : []),
      ...r.marks.map((m) => m.text),
      ...(r.note !== undefined ? [r.note] : []),
    ].join('\n');
    out.push(
      `<line class="seg seg-${r.third ? 'x' : r.from}${r.lost ? ' lost' : ''}${r.crosses !== undefined ? ' crossing' : ''}" x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}" stroke="${colour}" stroke-width="1.5"` +
        `${r.lost || r.third ? ' stroke-dasharray="5 3"' : ''}${r.lost ? '' : ` marker-end="url(#head-${tone})"`}><title>${esc(tip)}</title></line>`,
    );
    if (r.third) out.push(`<text class="lane" x="${n(x1)}" y="${n(y1 - 8)}" text-anchor="middle" font-size="10" fill="#8e24aa">${esc(r.third.count > 1 ? 'third parties' : r.third.addr)}</text>`);
    if (r.lost) out.push(`<text class="lost-mark" x="${n(x2)}" y="${n(y2 + 5)}" text-anchor="middle" font-size="16" font-weight="bold" fill="${colour}">×</text>`);
    // Label along the full arrow's direction, centred on the drawn part, just above it.
    const angle = (Math.atan2(y2full - y1, x2full - x1) * 180) / Math.PI;
    const upright = r.from === 'a' ? angle : angle - 180; // keep text left-to-right
    // Crossing arrows carry their labels near their senders, the later one's below its line.
    const at = r.crosses !== undefined || r.crossedBy !== undefined ? 0.3 : 0.5;
    const mx = x1 + (x2 - x1) * at;
    const my = y1 + (y2 - y1) * at;
    const dy = r.crosses !== undefined ? 13 : -5;
    const label = r.note !== undefined && !r.marks.some((m) => m.text === r.note) ? `${r.label} [${r.note}]` : r.label;
    out.push(`<text class="label" x="${n(mx)}" y="${n(my + dy)}" text-anchor="middle" fill="${colour}" transform="rotate(${n(upright)} ${n(mx)} ${n(my)})">${esc(label)}</text>`);
    const marks = r.marks.filter((m) => m.kind !== 'crossing').map((m) => m.text);
    if (marks.length) out.push(`<text class="marks" x="${n(mx)}" y="${n(my + dy + 13)}" text-anchor="middle" font-size="10" font-style="italic" fill="#b35c00" transform="rotate(${n(upright)} ${n(mx)} ${n(my)})">${esc(marks.join(' · '))}</text>`);
    // The sender's state beside the arrow's tail, the receiver's where the arrow arrives (a lost
    // segment never arrives: then beside its own row).
    const arrive = r.lost ? y : y2full;
    if (r.stateA !== undefined) stateText('a', r.from === 'a' ? y1 : arrive, r.stateA);
    if (r.stateB !== undefined) stateText('b', r.from === 'b' ? y1 : arrive, r.stateB);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function positive(x: number | undefined, dflt: number): number {
  return x !== undefined && Number.isFinite(x) && x > 0 ? x : dflt;
}

function addrPort(ep: Trace['a']): string {
  return `${ep.addr.includes(':') ? `[${ep.addr}]` : ep.addr}:${ep.port}`;
}

/** Numbers with at most two decimals: shorter files, stable output. */
function n(x: number): string {
  return String(Math.round(x * 100) / 100);
}

/** Escapes text for XML character data and attribute values; drops characters XML 1.0 forbids. */
export function esc(s: string): string {
  return s.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, '\ufffd').replace(/[&<>"']/g, (c) => (
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'
  ));
}
