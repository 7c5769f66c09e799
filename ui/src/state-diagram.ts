/**
 * The RFC 9293 §3.3.2 connection state diagram (Figure 5) as SVG, with one endpoint's current state lit
 * and the transition it took last highlighted. Transitions the figure does not draw (RST and abort to
 * CLOSED, a FIN+ACK taking FIN-WAIT-1 straight to TIME-WAIT, a SYN cookie creating an ESTABLISHED TCB)
 * are drawn dashed when taken, so nothing the engine does is hidden. Pure string building (testable).
 */
import type { TcpStateName } from '../../src/wire/trace.js';
import type { Transition } from './timeline.js';

/** A box of the figure. CLOSED appears twice, as in the RFC: the start (top) and the end (bottom). */
export interface DiagramNode { id: string; state: TcpStateName; x: number; y: number }

export const NODES: readonly DiagramNode[] = [
  { id: 'CLOSED', state: 'CLOSED', x: 230, y: 26 },
  { id: 'LISTEN', state: 'LISTEN', x: 230, y: 100 },
  { id: 'SYN-RECEIVED', state: 'SYN-RECEIVED', x: 62, y: 176 },
  { id: 'SYN-SENT', state: 'SYN-SENT', x: 398, y: 176 },
  { id: 'ESTABLISHED', state: 'ESTABLISHED', x: 230, y: 252 },
  { id: 'FIN-WAIT-1', state: 'FIN-WAIT-1', x: 62, y: 330 },
  { id: 'CLOSE-WAIT', state: 'CLOSE-WAIT', x: 398, y: 330 },
  { id: 'FIN-WAIT-2', state: 'FIN-WAIT-2', x: 62, y: 412 },
  { id: 'CLOSING', state: 'CLOSING', x: 230, y: 412 },
  { id: 'LAST-ACK', state: 'LAST-ACK', x: 398, y: 412 },
  { id: 'TIME-WAIT', state: 'TIME-WAIT', x: 230, y: 490 },
  { id: 'CLOSED-END', state: 'CLOSED', x: 398, y: 490 },
];

/** `bend` curves the arc sideways; `dx`/`dy` move its label off crowded spots. */
export interface DiagramEdge { from: string; to: string; label: string; bend: number; dx?: number; dy?: number }

/** The arcs of RFC 9293 Figure 5, labelled "event / action" as the figure labels them. */
export const EDGES: readonly DiagramEdge[] = [
  { from: 'CLOSED', to: 'LISTEN', label: 'passive OPEN', bend: -28 },
  { from: 'LISTEN', to: 'CLOSED', label: 'CLOSE', bend: -28 },
  { from: 'CLOSED', to: 'SYN-SENT', label: 'active OPEN / snd SYN', bend: 14, dx: 34, dy: -22 },
  { from: 'LISTEN', to: 'SYN-RECEIVED', label: 'rcv SYN / snd SYN,ACK', bend: 0, dx: 18, dy: 10 },
  { from: 'LISTEN', to: 'SYN-SENT', label: 'SEND / snd SYN', bend: 0, dx: 10, dy: 12 },
  { from: 'SYN-SENT', to: 'SYN-RECEIVED', label: 'rcv SYN / snd SYN,ACK', bend: 0, dy: 14 },
  { from: 'SYN-RECEIVED', to: 'LISTEN', label: 'rcv RST', bend: -14, dx: -16, dy: -2 },
  { from: 'SYN-SENT', to: 'CLOSED', label: 'CLOSE', bend: 40, dx: 30, dy: 4 },
  { from: 'SYN-RECEIVED', to: 'ESTABLISHED', label: 'rcv ACK of SYN', bend: 0 },
  { from: 'SYN-SENT', to: 'ESTABLISHED', label: 'rcv SYN,ACK / snd ACK', bend: 0 },
  { from: 'SYN-RECEIVED', to: 'FIN-WAIT-1', label: 'CLOSE / snd FIN', bend: 0 },
  { from: 'ESTABLISHED', to: 'FIN-WAIT-1', label: 'CLOSE / snd FIN', bend: 0 },
  { from: 'ESTABLISHED', to: 'CLOSE-WAIT', label: 'rcv FIN / snd ACK', bend: 0 },
  { from: 'FIN-WAIT-1', to: 'FIN-WAIT-2', label: 'rcv ACK of FIN', bend: 0, dx: -8 },
  { from: 'FIN-WAIT-1', to: 'CLOSING', label: 'rcv FIN / snd ACK', bend: 0, dx: 22, dy: -2 },
  { from: 'FIN-WAIT-2', to: 'TIME-WAIT', label: 'rcv FIN / snd ACK', bend: 0, dx: -34, dy: 12 },
  { from: 'CLOSING', to: 'TIME-WAIT', label: 'rcv ACK of FIN', bend: 0, dx: 40 },
  { from: 'CLOSE-WAIT', to: 'LAST-ACK', label: 'CLOSE / snd FIN', bend: 0 },
  { from: 'LAST-ACK', to: 'CLOSED-END', label: 'rcv ACK of FIN', bend: 0 },
  { from: 'TIME-WAIT', to: 'CLOSED-END', label: 'timeout = 2MSL', bend: 0, dy: 28 },
];

const BOX_W = 112;
const BOX_H = 26;
export const DIAGRAM_WIDTH = 460;
export const DIAGRAM_HEIGHT = 548;

/** Which CLOSED box a side in CLOSED sits in: the end once it has been anywhere else, the start before. */
export function nodeFor(state: TcpStateName, hasBeenOpen: boolean): string {
  if (state === 'CLOSED') return hasBeenOpen ? 'CLOSED-END' : 'CLOSED';
  return state;
}

/** The Figure 5 arc for a transition, or null when the figure has none (drawn dashed then). */
export function edgeFor(t: Pick<Transition, 'from' | 'to'> & { cause?: string }): DiagramEdge | null {
  const from = t.from === 'CLOSED' ? 'CLOSED' : t.from;
  const toCandidates = t.to === 'CLOSED' ? ['CLOSED-END', 'CLOSED'] : [t.to];
  for (const to of toCandidates) {
    const e = EDGES.find((x) => x.from === from && x.to === to);
    // An arc drawn for a user call (CLOSE) is not the one taken when a segment or a timer did it: SYN-SENT →
    // CLOSED on a received RST (refused) is off the figure, and lighting CLOSE would contradict the caption.
    if (e && t.cause !== undefined && e.label === 'CLOSE' && !userCall(t.cause)) return null;
    if (e) return e;
  }
  return null;
}

/** "close()", "shutdown()", "abort()", "CLOSE": causes that are the application's, not a segment's or a timer's. */
function userCall(cause: string): boolean {
  return cause.endsWith('()') || cause === 'CLOSE';
}

export interface DiagramView {
  /** The lit state (undefined: unknown, nothing lit). */
  state: TcpStateName | undefined;
  /** Whether this side has been in a state other than CLOSED before (picks the CLOSED box). */
  hasBeenOpen: boolean;
  /** Highlight this transition (the last one taken). */
  last: Transition | undefined;
  /** A caption, e.g. "client 10.0.0.1:40000". */
  title: string;
}

function node(id: string): DiagramNode { return NODES.find((n) => n.id === id)!; }

/** Point where the segment from the centre of `a` toward `b` leaves `a`'s box. */
function borderPoint(a: DiagramNode, bx: number, by: number): [number, number] {
  const dx = bx - a.x, dy = by - a.y;
  if (dx === 0 && dy === 0) return [a.x, a.y];
  const sx = (BOX_W / 2 + 3) / Math.abs(dx || 1e-9);
  const sy = (BOX_H / 2 + 3) / Math.abs(dy || 1e-9);
  const s = Math.min(sx, sy);
  return [a.x + dx * s, a.y + dy * s];
}

function edgePath(from: DiagramNode, to: DiagramNode, bend: number): { d: string; lx: number; ly: number } {
  const mx = (from.x + to.x) / 2, my = (from.y + to.y) / 2;
  const len = Math.hypot(to.x - from.x, to.y - from.y) || 1;
  // Control point pushed sideways by `bend` (perpendicular to the chord).
  const cx = mx + (-(to.y - from.y) / len) * bend * 2;
  const cy = my + ((to.x - from.x) / len) * bend * 2;
  const [x1, y1] = borderPoint(from, cx, cy);
  const [x2, y2] = borderPoint(to, cx, cy);
  const lx = 0.25 * x1 + 0.5 * cx + 0.25 * x2;
  const ly = 0.25 * y1 + 0.5 * cy + 0.25 * y2;
  return { d: `M${r(x1)},${r(y1)} Q${r(cx)},${r(cy)} ${r(x2)},${r(y2)}`, lx, ly };
}

function r(x: number): string { return String(Math.round(x * 10) / 10); }

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'));
}

/** The diagram as an SVG element string; lit node has class "lit", highlighted edge class "taken". */
export function renderStateDiagram(v: DiagramView): string {
  const litId = v.state !== undefined ? nodeFor(v.state, v.hasBeenOpen) : null;
  const figEdge = v.last ? edgeFor(v.last) : null;
  const out: string[] = [];
  out.push(`<svg class="state-diagram" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${DIAGRAM_WIDTH} ${DIAGRAM_HEIGHT}" role="img" aria-label="${esc(`RFC 9293 state diagram, ${v.title}: ${v.state ?? 'unknown'}`)}" font-family="system-ui, sans-serif" font-size="10.5">`);
  out.push('<defs><marker id="sd-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="context-stroke"/></marker>'
    + '<marker id="sd-head-taken" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0L10,5L0,10z" fill="#d9480f"/></marker>'
    + '<marker id="sd-head-plain" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0L10,5L0,10z" fill="#8a94a6"/></marker></defs>');
  for (const e of EDGES) {
    const p = edgePath(node(e.from), node(e.to), e.bend);
    const d = p.d, lx = p.lx + (e.dx ?? 0), ly = p.ly + (e.dy ?? 0);
    const taken = figEdge === e;
    out.push(`<g class="edge${taken ? ' taken' : ''}" data-from="${e.from}" data-to="${e.to}"><path d="${d}" fill="none" stroke="${taken ? '#d9480f' : '#8a94a6'}" stroke-width="${taken ? 3 : 1.2}" marker-end="url(#${taken ? 'sd-head-taken' : 'sd-head-plain'})"/>`
      + `<text x="${r(lx)}" y="${r(ly - 3)}" text-anchor="middle" fill="${taken ? '#d9480f' : '#5b6475'}" font-weight="${taken ? 'bold' : 'normal'}" paint-order="stroke" stroke="#fff" stroke-width="3">${esc(e.label)}</text></g>`);
  }
  if (v.last && !figEdge) {
    // Off-figure transition: a dashed arc so the move is still visible.
    const fromId = nodeFor(v.last.from, false);
    const toId = nodeFor(v.last.to, true);
    const { d, lx, ly } = edgePath(node(fromId), node(toId), 36);
    out.push(`<g class="edge taken off-figure" data-from="${fromId}" data-to="${toId}"><path d="${d}" fill="none" stroke="#d9480f" stroke-width="3" stroke-dasharray="7 4" marker-end="url(#sd-head-taken)"/>`
      + `<text x="${r(lx)}" y="${r(ly - 4)}" text-anchor="middle" fill="#d9480f" font-weight="bold" paint-order="stroke" stroke="#fff" stroke-width="3">${esc(v.last.cause)} (not in Figure 5)</text></g>`);
  }
  const prevId = v.last ? nodeFor(v.last.from, false) : null;
  for (const n of NODES) {
    const lit = n.id === litId;
    const prev = n.id === prevId && !lit;
    out.push(`<g class="node${lit ? ' lit' : ''}${prev ? ' prev' : ''}" data-state="${n.state}" data-node="${n.id}">`
      + `<rect x="${r(n.x - BOX_W / 2)}" y="${r(n.y - BOX_H / 2)}" width="${BOX_W}" height="${BOX_H}" rx="6" fill="${lit ? '#0b7285' : prev ? '#fff4e6' : '#f8f9fb'}" stroke="${lit ? '#0b7285' : prev ? '#d9480f' : '#8a94a6'}" stroke-width="${lit ? 2.5 : 1.2}"/>`
      + `<text x="${n.x}" y="${n.y + 4}" text-anchor="middle" font-size="11.5" font-weight="bold" fill="${lit ? '#ffffff' : '#1d2433'}">${n.state}</text></g>`);
  }
  if (v.last) {
    out.push(`<text class="last-transition" x="8" y="${DIAGRAM_HEIGHT - 8}" font-size="12" fill="#d9480f">last: ${esc(`${v.last.from} → ${v.last.to} (${v.last.cause})`)}</text>`);
  }
  out.push('</svg>');
  return out.join('');
}
