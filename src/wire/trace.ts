/**
 * The neutral trace: what a ladder diagram (src/view), the web page and the capture analyzer share.
 * Produced by the stack's taps (live runs) and by src/analyze (captures).
 */
import type { TcpSegment } from './tcp-types.js';

/** RFC 9293 §3.3.2 state names, spelled as the RFC spells them. */
export type TcpStateName =
  | 'CLOSED' | 'LISTEN' | 'SYN-SENT' | 'SYN-RECEIVED' | 'ESTABLISHED' | 'FIN-WAIT-1' | 'FIN-WAIT-2'
  | 'CLOSE-WAIT' | 'CLOSING' | 'LAST-ACK' | 'TIME-WAIT';

/** The eleven RFC 9293 states, in the RFC's order. */
export const TCP_STATES: readonly TcpStateName[] = [
  'CLOSED', 'LISTEN', 'SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2',
  'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT',
];

/**
 * A state's index in TCP_STATES. A switch, not a keyed load from an object of names: that load sees eleven keys
 * and goes megamorphic (V8's stub cache on every transition). Internal: the stack and the lifecycle log keep indexes.
 */
export function stateIndex(name: TcpStateName): number {
  switch (name) {
    case 'CLOSED': return 0; case 'LISTEN': return 1; case 'SYN-SENT': return 2; case 'SYN-RECEIVED': return 3;
    case 'ESTABLISHED': return 4; case 'FIN-WAIT-1': return 5; case 'FIN-WAIT-2': return 6; case 'CLOSE-WAIT': return 7;
    case 'CLOSING': return 8; case 'LAST-ACK': return 9; case 'TIME-WAIT': return 10;
  }
  return TCP_STATES.indexOf(name);
}

/** One side of a Trace (a column of the ladder diagram). */
export interface TraceEndpoint {
  /** Printable address, e.g. "10.0.0.1" or "fd00::1". */
  addr: string;
  /** TCP port. */
  port: number;
  /** Label for the column, e.g. "client" / "server". */
  label: string;
  /** Initial sequence number this endpoint used, for relative numbering (undefined if unseen). */
  isn?: number;
}

/** One segment of a Trace, with each side's state after it. */
export interface TraceEntry {
  /** Milliseconds since the trace's start (virtual or capture time). */
  time: number;
  /** Which endpoint sent the segment: 'a' (left column, usually client) or 'b' (right column). */
  from: 'a' | 'b';
  /** The segment. */
  seg: TcpSegment;
  /** Each side's state after this segment was processed (undefined where unknown). */
  stateA?: TcpStateName;
  stateB?: TcpStateName;
  /** The segment never arrived (dropped by an impairment). */
  lost?: boolean;
  /** The receiver dropped it (e.g. invalid flags, bad checksum) or it was otherwise notable. */
  note?: string;
  /** Packet number in the capture (1-based) when it came from a file. */
  frame?: number;
  /**
   * Position in one sequence shared with the changes' `order` (where the producer knows it): orders a segment
   * and a state change that share a millisecond, e.g. a timer that fired after a segment sent in the same ms.
   * A change without one goes before the segments of its millisecond.
   */
  order?: number;
}

/** A state change that is not tied to a segment arriving (timer, user call). */
export interface TraceStateChange {
  time: number;
  side: 'a' | 'b';
  from: TcpStateName;
  to: TcpStateName;
  cause: string;
  /** See TraceEntry.order. */
  order?: number;
}

/**
 * One connection's segments and state changes between two endpoints, in time order: what ladder diagrams are
 * drawn from. Produced from live runs (stack taps) and from captures (the analyzer's `keepTrace`).
 */
export interface Trace {
  a: TraceEndpoint;
  b: TraceEndpoint;
  entries: TraceEntry[];
  /** State changes caused by timers or user calls (e.g. TIME-WAIT → CLOSED after 2MSL). */
  changes?: TraceStateChange[];
  title?: string;
}
