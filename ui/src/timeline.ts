/**
 * The ladder's cursor: for every row of the ladder (segments and timer/user-call state changes), each
 * side's state after it and the transition each side took last. Stepping the page is moving an index
 * through this list; the ladder, the state machines and the detail pane all read from it.
 */
import { buildLadder, type LadderModel, type LadderOptions } from '../../src/view/ladder-model.js';
import { ACK, SYN, flagsToString } from '../../src/wire/tcp-types.js';
import type { Trace, TcpStateName } from '../../src/wire/trace.js';

export interface Transition {
  from: TcpStateName;
  to: TcpStateName;
  /** "rcv SYN+ACK", "shutdown()", "time-wait timer"... */
  cause: string;
  /** Row index where it happened. */
  row: number;
}

export interface StepState {
  /** State of each side after this row (undefined while unknown, e.g. a capture that starts mid-connection). */
  a: TcpStateName | undefined;
  b: TcpStateName | undefined;
  /** The transition each side took most recently, at or before this row. */
  lastA: Transition | undefined;
  lastB: Transition | undefined;
  /** True when this row itself changed that side's state. */
  changedA: boolean;
  changedB: boolean;
}

export interface Timeline {
  /** The trace the rows were built from (see TimelineOptions.receiverOnly); its entries are the rows' entries. */
  trace: Trace;
  model: LadderModel;
  /** Each side's state before the first row. */
  initial: StepState;
  /** One per model row. */
  steps: StepState[];
}

/**
 * Each side's state before anything happened: what the trace says, else inferred from the opening: the
 * side that sends the first SYN was CLOSED (an active open); a side that answers a SYN into SYN-RECEIVED
 * was in LISTEN (a passive open).
 */
export function initialStates(trace: Trace, model: LadderModel): { a: TcpStateName | undefined; b: TcpStateName | undefined } {
  let a = model.initialA;
  let b = model.initialB;
  const first = trace.entries[0];
  if (first && first.seg.flags & SYN && !(first.seg.flags & ACK)) {
    const sender = first.from;
    const receiverAfter = sender === 'a' ? first.stateB : first.stateA;
    const senderKnown = sender === 'a' ? a : b;
    if (senderKnown === undefined) { if (sender === 'a') a = 'CLOSED'; else b = 'CLOSED'; }
    if (receiverAfter === 'SYN-RECEIVED' || receiverAfter === 'LISTEN' || (receiverAfter === undefined && first.lost)) {
      if (sender === 'a') b ??= 'LISTEN'; else a ??= 'LISTEN';
    } else if (receiverAfter === 'CLOSED') {
      if (sender === 'a') b ??= 'CLOSED'; else a ??= 'CLOSED';
    }
  }
  return { a, b };
}

export interface TimelineOptions extends LadderOptions {
  /**
   * Take from each delivered segment only its receiver's state (and nothing from lost ones). Right for runs
   * recorded from the engine, where every sender-side change (connect(), shutdown(), timers) is its own
   * change row; the sender's state recorded on a segment is then just the state at delivery time, which can
   * belong to a later row. Not for captures: there the sender's state is inferred from what it sends.
   */
  receiverOnly?: boolean;
}

/** The trace with sender states (and lost segments' states) removed: see TimelineOptions.receiverOnly. */
export function receiverStates(trace: Trace): Trace {
  return {
    ...trace,
    entries: trace.entries.map((e) => {
      const c = { ...e };
      if (e.lost || e.from === 'a') delete c.stateA;
      if (e.lost || e.from === 'b') delete c.stateB;
      return c;
    }),
  };
}

export function buildTimeline(input: Trace, opts: TimelineOptions = {}): Timeline {
  const trace = opts.receiverOnly ? receiverStates(input) : input;
  const model = buildLadder(trace, opts);
  const init = initialStates(trace, model);
  const initial: StepState = { a: init.a, b: init.b, lastA: undefined, lastB: undefined, changedA: false, changedB: false };
  const steps: StepState[] = [];
  let cur = initial;
  model.rows.forEach((r, i) => {
    let a = cur.a, b = cur.b, lastA = cur.lastA, lastB = cur.lastB, changedA = false, changedB = false;
    if (r.kind === 'change') {
      const t: Transition = { from: r.from, to: r.to, cause: r.cause, row: i };
      if (r.side === 'a') { a = r.to; lastA = t; changedA = true; } else { b = r.to; lastB = t; changedB = true; }
    } else {
      const e = r.entry;
      // A lost segment changes nobody's state: the receiver never saw it, and sending changes no state. (Its
      // recorded states are those at send time, which can predate a user call drawn just above it.)
      if (e.lost) { cur = { a, b, lastA, lastB, changedA, changedB }; steps.push(cur); return; }
      const verb = (side: 'a' | 'b') => (side === e.from ? `snd ${flagsToString(e.seg.flags)}` : `rcv ${flagsToString(e.seg.flags)}`);
      if (e.stateA !== undefined && e.stateA !== a) {
        if (a !== undefined) lastA = { from: a, to: e.stateA, cause: verb('a'), row: i };
        a = e.stateA; changedA = true;
      }
      if (e.stateB !== undefined && e.stateB !== b) {
        if (b !== undefined) lastB = { from: b, to: e.stateB, cause: verb('b'), row: i };
        b = e.stateB; changedB = true;
      }
    }
    cur = { a, b, lastA, lastB, changedA, changedB };
    steps.push(cur);
  });
  return { trace, model, initial, steps };
}

/** State at cursor position `i` (-1 = before the first row). */
export function stateAt(t: Timeline, i: number): StepState {
  if (i < 0 || t.steps.length === 0) return t.initial;
  return t.steps[Math.min(i, t.steps.length - 1)]!;
}

/** Clamp a cursor move to [-1, rows-1]. */
export function moveCursor(t: Timeline, i: number, delta: number): number {
  return Math.max(-1, Math.min(t.steps.length - 1, i + delta));
}

/** Every state a side passes through, in order, without repeats (for summaries and tests). */
export function statePath(t: Timeline, side: 'a' | 'b'): TcpStateName[] {
  const out: TcpStateName[] = [];
  const push = (s: TcpStateName | undefined) => { if (s !== undefined && out[out.length - 1] !== s) out.push(s); };
  push(side === 'a' ? t.initial.a : t.initial.b);
  for (const s of t.steps) push(side === 'a' ? s.a : s.b);
  return out;
}
