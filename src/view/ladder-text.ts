/**
 * A terminal ladder diagram in the style of the textbook TCP figures (RFC 9293 §3.5, Figure 6):
 * the 'a' endpoint's state on the left, 'b's on the right, one arrow per segment between them.
 *
 *       ms  client 10.0.0.1:40000                            server 10.0.0.2:80
 *        0  SYN-SENT     ─── SYN seq=0 len=0 win=65535 ───> SYN-RECEIVED
 *       10  ESTABLISHED  <─ SYN+ACK seq=0 ack=1 len=0 ... ─
 *
 * A lost segment's arrow stops short (───X); retransmissions, duplicate ACKs, invalid flags and crossing
 * segments are marked in brackets after the arrow. Fits the width (default 80 columns): a label too long
 * for its arrow is written on the line above it. Browser-clean: it only builds a string.
 */
import type { Trace } from '../wire/trace.js';
import { buildLadder, formatTime, timeDecimals, type LadderRow, type SegmentRow } from './ladder-model.js';

export interface LadderTextOptions {
  /** ANSI colours (callers pass true only on a TTY). */
  color?: boolean;
  /** Absolute sequence numbers instead of relative to each side's ISN. */
  absolute?: boolean;
  /** Line width (default 80, a terminal's); a label too long for its arrow goes on the line above it. */
  width?: number;
  /** Time column in ms (default true). */
  showTime?: boolean;
}

const STATE_W = 12; // 'SYN-RECEIVED'.length, the longest RFC 9293 state name
const DASH = '─';

const ANSI = {
  reset: '\x1b[0m', bold: '\x1b[1m', dim: '\x1b[2m', red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m',
  blue: '\x1b[34m', magenta: '\x1b[35m', cyan: '\x1b[36m',
} as const;
const TONE: Record<SegmentRow['tone'], string> = { syn: ANSI.green, fin: ANSI.blue, rst: ANSI.red, data: ANSI.yellow, ack: '' };

export function renderLadderText(trace: Trace, opts: LadderTextOptions = {}): string {
  const model = buildLadder(trace, { absolute: opts.absolute === true });
  const color = opts.color === true;
  const showTime = opts.showTime !== false;
  const paint = (s: string, code: string): string => (color && code && s ? code + s + ANSI.reset : s);

  const decimals = timeDecimals(model.rows);
  const timeW = showTime ? Math.max(2, ...model.rows.map((r) => formatTime(r.time, decimals).length)) : 0;
  const prefixW = showTime ? timeW + 2 : 0;
  const target = opts.width !== undefined && Number.isFinite(opts.width) ? Math.floor(opts.width) : 80;
  // The arrow zone fills what the target width leaves; a label that does not fit goes on a line of its own.
  const W = Math.max(target - prefixW - 2 * STATE_W - 2, 20);
  const total = prefixW + 2 * STATE_W + 2 + W;

  const lines: string[] = [];
  const line = (time: string, left: string, leftRaw: number, zone: string, right: string, tail = ''): void => {
    const t = showTime ? time.padStart(timeW) + '  ' : '';
    const l = left + ' '.repeat(Math.max(0, STATE_W - leftRaw));
    lines.push((t + l + ' ' + zone + ' ' + right + tail).trimEnd());
  };
  const state = (s: string | undefined): string => paint(s ?? '', ANSI.bold + ANSI.cyan);

  if (model.title) lines.push(paint(model.title, ANSI.bold));
  // Header: the time column's unit, then the endpoints: a's over its column, b's ending at the right edge.
  const head = (showTime ? 'ms'.padStart(timeW) + '  ' : '') + model.headerA;
  const hb = model.headerB;
  lines.push(paint(head + ' '.repeat(Math.max(2, total - head.length - hb.length)) + hb, ANSI.bold));
  if (model.initialA !== undefined || model.initialB !== undefined) {
    line('', state(model.initialA), (model.initialA ?? '').length, ' '.repeat(W), state(model.initialB));
  }

  for (const r of model.rows) {
    const time = formatTime(r.time, decimals);
    if (r.kind === 'change') {
      const text = changeText(r);
      const pad = ' '.repeat(Math.max(0, W - text.length));
      if (r.side === 'a') line(time, state(r.to), r.to.length, paint(text, ANSI.magenta) + pad, '');
      else line(time, '', 0, pad + paint(text, ANSI.magenta), state(r.to));
      continue;
    }
    const tone = r.lost ? ANSI.red : TONE[r.tone];
    const label = r.shortLabel;
    const fits = label.length + 5 <= W;
    const extras = [...r.marks.map((m) => m.text), ...(r.note !== undefined && !r.marks.some((m) => m.text === r.note) ? [r.note] : [])];
    const tailText = extras.length ? `  [${extras.join('; ')}]` : '';
    const rowLen = prefixW + STATE_W + 2 + W + (r.stateB ?? '').length;
    const tailFits = rowLen + tailText.length <= total;
    // What does not fit on the arrow's line goes on lines above it, centred over the arrow zone: the label,
    // then the marks and note (wrapped to the zone).
    const above: Array<[string, string]> = [];
    if (!fits) above.push([label, tone]);
    if (tailText && !tailFits) for (const l of wrapWords(`[${extras.join('; ')}]`, W)) above.push([l, ANSI.dim]);
    for (const [text, code] of above) line('', '', 0, ' '.repeat(Math.max(0, Math.floor((W - text.length) / 2))) + paint(text, code), '');
    const zone = arrow(r, W, fits ? label : '');
    const left = r.third ? '(3rd party)' : r.stateA;
    line(time, r.third ? paint(left!, ANSI.dim) : state(left), (left ?? '').length, paint(zone, tone), state(r.stateB), tailText && tailFits ? paint(tailText, ANSI.dim) : '');
  }
  return lines.join('\n') + '\n';
}

function changeText(r: Extract<LadderRow, { kind: 'change' }>): string {
  return r.side === 'a' ? `· ${r.cause}: ${r.from} → ${r.to}` : `${r.cause}: ${r.from} → ${r.to} ·`;
}

/** `n` characters of line with the label centred in it. */
function shaft(n: number, label: string, dash: string): string {
  if (!label) return dash.repeat(Math.max(1, n));
  const text = ` ${label} `;
  if (text.length + 2 > n) return dash + text + dash.repeat(Math.max(1, n - text.length - 1));
  const left = Math.floor((n - text.length) / 2);
  return dash.repeat(left) + text + dash.repeat(n - text.length - left);
}

/** The arrow zone of one segment, exactly W characters (a third party's is dotted). */
function arrow(r: SegmentRow, W: number, label: string): string {
  const dash = r.third ? '┄' : DASH;
  if (!r.lost) return r.from === 'a' ? shaft(W - 1, label, dash) + '>' : '<' + shaft(W - 1, label, dash);
  // A lost segment stops short of the receiver's timeline, ending in X where it vanished.
  const n = Math.min(W - 3, Math.max(label.length + 6, Math.floor(W * 0.65)));
  return r.from === 'a'
    ? shaft(n - 1, label, dash) + 'X' + ' '.repeat(W - n)
    : ' '.repeat(W - n) + 'X' + shaft(n - 1, label, dash);
}

/** Lines of at most `width` characters, broken at spaces (a longer word stands alone). */
function wrapWords(text: string, width: number): string[] {
  const out: string[] = [];
  let cur = '';
  for (const w of text.split(' ')) {
    if (cur && cur.length + 1 + w.length > width) { out.push(cur); cur = w; } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) out.push(cur);
  return out;
}
