/**
 * A terminal ladder diagram in the style of the textbook TCP figures (RFC 9293 §3.5, Figure 6):
 * the 'a' endpoint's state on the left, 'b's on the right, one arrow per segment between them.
 *
 *       time  client 10.0.0.1:40000                    server 10.0.0.2:80
 *          0  SYN-SENT     ─── SYN seq=0 len=0 win=65535 ───> SYN-RECEIVED
 *          1  ESTABLISHED  <─ SYN+ACK seq=0 ack=1 len=0 ... ─
 *
 * A lost segment's arrow stops short (───X). Browser-clean: it only builds a string.
 */
import type { Trace } from '../wire/trace.js';
import { buildLadder, formatTime, timeDecimals, type LadderRow, type SegmentRow } from './ladder-model.js';

export interface LadderTextOptions {
  /** ANSI colours (callers pass true only on a TTY). */
  color?: boolean;
  /** Absolute sequence numbers instead of relative to each side's ISN. */
  absolute?: boolean;
  /** Target line width (default 100); arrows grow past it when a label needs the room. */
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
  const timeW = showTime ? Math.max(4, ...model.rows.map((r) => formatTime(r.time, decimals).length)) : 0;
  const prefixW = showTime ? timeW + 2 : 0;
  const longest = Math.max(0, ...model.rows.map((r) => (r.kind === 'segment' ? r.label.length : changeText(r).length)));
  const target = opts.width !== undefined && Number.isFinite(opts.width) ? opts.width : 100;
  const W = Math.max(longest + 10, Math.floor(target) - prefixW - 2 * STATE_W - 2, 20);

  const lines: string[] = [];
  const line = (time: string, left: string, leftRaw: number, zone: string, right: string, tail = ''): void => {
    const t = showTime ? time.padStart(timeW) + '  ' : '';
    const l = left + ' '.repeat(Math.max(0, STATE_W - leftRaw));
    lines.push((t + l + ' ' + zone + ' ' + right + tail).trimEnd());
  };
  const state = (s: string | undefined): string => paint(s ?? '', ANSI.bold + ANSI.cyan);

  if (model.title) lines.push(paint(model.title, ANSI.bold));
  // Header: endpoint names above their columns.
  const hb = model.headerB;
  const head = (showTime ? 'time'.padStart(timeW) + '  ' : '') + model.headerA;
  const rightCol = prefixW + STATE_W + 1 + W + 1;
  lines.push(paint(head.padEnd(Math.max(rightCol, head.length + 2)) + hb, ANSI.bold));
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
    const zone = arrow(r, W);
    const tone = r.lost ? ANSI.red : TONE[r.tone];
    const tail = r.note !== undefined ? '  ' + paint(`[${r.note}]`, ANSI.dim) : '';
    line(time, state(r.stateA), (r.stateA ?? '').length, paint(zone, tone), state(r.stateB), tail);
  }
  return lines.join('\n') + '\n';
}

function changeText(r: Extract<LadderRow, { kind: 'change' }>): string {
  return r.side === 'a' ? `· ${r.cause}: ${r.from} → ${r.to}` : `${r.cause}: ${r.from} → ${r.to} ·`;
}

/** `n` characters of line with the label centred in it. */
function shaft(n: number, label: string): string {
  const text = ` ${label} `;
  if (text.length + 2 > n) return DASH + text + DASH.repeat(Math.max(1, n - text.length - 1));
  const left = Math.floor((n - text.length) / 2);
  return DASH.repeat(left) + text + DASH.repeat(n - text.length - left);
}

/** The arrow zone of one segment, exactly W characters. */
function arrow(r: SegmentRow, W: number): string {
  if (!r.lost) return r.from === 'a' ? shaft(W - 1, r.label) + '>' : '<' + shaft(W - 1, r.label);
  // A lost segment stops short of the receiver's timeline, ending in X where it vanished.
  const n = Math.min(W - 3, Math.max(r.label.length + 6, Math.floor(W * 0.65)));
  return r.from === 'a'
    ? shaft(n - 1, r.label) + 'X' + ' '.repeat(W - n)
    : ' '.repeat(W - n) + 'X' + shaft(n - 1, r.label);
}
