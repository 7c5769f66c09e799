/**
 * The conformance matrix (issue 16): every state × kind of incoming segment × position of its sequence (or
 * acknowledgment) number × personality, with the expected reply and next state. Each expectation is decided
 * by the rule of the RFC or the system's source that governs the case, and names it (`cite`).
 *
 * The personalities: `synack` = RFC 9293 with RFC 5961; `rfc793` = RFC 793's original checks (before RFC
 * 5961); `linux` = Linux 6.x (net/ipv4/tcp_input.c tcp_validate_incoming/tcp_sequence/tcp_reset_check,
 * tcp_minisocks.c tcp_timewait_state_process); `freebsd` = FreeBSD 14 with the suite's STANDARD branches
 * (sys/netinet/tcp_input.c tcp_do_segment, tcp_timewait.c tcp_twcheck).
 *
 * The decision tables below are the data: `expectSynchronized`, `expectListen`, `expectSynSent` and
 * `expectSynReceived` map a cell to its outcome in the order the governing text processes a segment.
 * `matrixCells()` spreads them over the whole space; generate.ts turns each cell into a packetdrill script.
 */
import type { Personality } from '../ast.js';

export type MatrixPersonality = Exclude<Personality, never>;
export const MATRIX_PERSONALITIES: readonly MatrixPersonality[] = ['synack', 'linux', 'freebsd', 'rfc793'];

export type MatrixState =
  | 'CLOSED' | 'LISTEN' | 'SYN-SENT' | 'SYN-RECEIVED' | 'ESTABLISHED' | 'FIN-WAIT-1' | 'FIN-WAIT-2' | 'CLOSE-WAIT'
  | 'CLOSING' | 'LAST-ACK' | 'TIME-WAIT';
export const MATRIX_STATES: readonly MatrixState[] = [
  'CLOSED', 'LISTEN', 'SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT',
];

/** Kinds of incoming segment. `data` is ACK with one byte; `FIN` is FIN+ACK; the last four are invalid combinations. */
export type SegKind = 'SYN' | 'SYN+ACK' | 'ACK' | 'data' | 'FIN' | 'RST' | 'RST+ACK' | 'SYN+FIN' | 'SYN+RST' | 'FIN-no-ACK' | 'no-flags';
export const SEG_KINDS: readonly SegKind[] = ['SYN', 'SYN+ACK', 'ACK', 'data', 'FIN', 'RST', 'RST+ACK', 'SYN+FIN', 'SYN+RST', 'FIN-no-ACK', 'no-flags'];

/** Sequence positions against the receive window, or (for ACK) acknowledgment positions against the send window. */
export type Position =
  | 'outside-left' | 'left-edge' | 'middle' | 'right-edge' | 'outside-right'
  | 'ack-old' | 'ack-duplicate' | 'ack-new' | 'ack-beyond' | 'any';
export const SEQ_POSITIONS: readonly Position[] = ['outside-left', 'left-edge', 'middle', 'right-edge', 'outside-right'];
export const ACK_POSITIONS: readonly Position[] = ['ack-old', 'ack-duplicate', 'ack-new', 'ack-beyond'];

/**
 * What the stack under test sends in reply:
 * - `ack`: an ACK <SEQ=SND.NXT><ACK=RCV.NXT> (after the segment's processing). Under FreeBSD, while our FIN is
 *   unacknowledged, it repeats the FIN (tcp_output: `F.` at SND.NXT − 1).
 * - `challenge`: an RFC 5961 challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT> (never with FIN).
 * - `rst`: <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.1/2/3, segment had ACK).
 * - `rst-ack`: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (segment had no ACK).
 * - `abort`: the RST of an aborted connection <SEQ=SND.NXT> (RFC 9293 §3.10.5; Linux and FreeBSD add ACK=RCV.NXT).
 * - `syn-ack`: <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
 */
export type Reply = 'none' | 'ack' | 'challenge' | 'rst' | 'rst-ack' | 'abort' | 'syn-ack';

export interface Outcome {
  reply: Reply;
  /** State after the segment (CLOSED: the TCB is gone). */
  next: MatrixState | 'CLOSED';
  /** The RFC section or system source that decides it. */
  cite: string;
}

export interface Cell extends Outcome {
  id: string;
  personality: MatrixPersonality;
  state: MatrixState;
  kind: SegKind;
  position: Position;
}

/** The connection's numbers in script space after the state's setup (generate.ts builds the same). */
export interface StateVars {
  /** RCV.NXT, SND.UNA, SND.NXT relative to the peer's and our script ISN (both 0). */
  rcvNxt: number;
  sndUna: number;
  sndNxt: number;
  /** Our FIN is sent and not acknowledged. */
  ourFinPending: boolean;
  /** The peer's FIN has been received. */
  peerFin: boolean;
}

export const STATE_VARS: Record<Exclude<MatrixState, 'CLOSED' | 'LISTEN' | 'SYN-SENT'>, StateVars> = {
  'SYN-RECEIVED': { rcvNxt: 1, sndUna: 0, sndNxt: 1, ourFinPending: false, peerFin: false },
  'ESTABLISHED': { rcvNxt: 1, sndUna: 1, sndNxt: 1, ourFinPending: false, peerFin: false },
  'FIN-WAIT-1': { rcvNxt: 1, sndUna: 1, sndNxt: 2, ourFinPending: true, peerFin: false },
  'FIN-WAIT-2': { rcvNxt: 1, sndUna: 2, sndNxt: 2, ourFinPending: false, peerFin: false },
  'CLOSE-WAIT': { rcvNxt: 2, sndUna: 1, sndNxt: 1, ourFinPending: false, peerFin: true },
  'CLOSING': { rcvNxt: 2, sndUna: 1, sndNxt: 2, ourFinPending: true, peerFin: true },
  'LAST-ACK': { rcvNxt: 2, sndUna: 1, sndNxt: 2, ourFinPending: true, peerFin: true },
  'TIME-WAIT': { rcvNxt: 2, sndUna: 2, sndNxt: 2, ourFinPending: false, peerFin: true },
};

/**
 * RCV.WND as the personality tests arriving segments against, after a handshake where the peer offered no
 * window scale: 65535 advertised; FreeBSD counts its whole receive buffer (tcp_input.c: rcv_wnd =
 * max(sbspace, rcv_adv − rcv_nxt)), recvspace 65536 rounded up to a multiple of the MSS: 45 × 1460 = 65700
 * (IPv4), 46 × 1440 = 66240 (IPv6).
 */
export function receiveWindow(p: MatrixPersonality, family: 'ipv4' | 'ipv6'): number {
  if (p === 'freebsd') return family === 'ipv4' ? 65700 : 66240;
  return 65535;
}

/** Sequence space a segment of this kind occupies (data: 1 byte; SYN and FIN count 1 each). */
export function segLen(kind: SegKind): number {
  switch (kind) {
    case 'SYN': case 'SYN+ACK': case 'data': case 'FIN': case 'FIN-no-ACK': case 'SYN+RST': return 1;
    case 'SYN+FIN': return 2;
    default: return 0;
  }
}
export function hasAck(kind: SegKind): boolean {
  return kind === 'SYN+ACK' || kind === 'ACK' || kind === 'data' || kind === 'FIN' || kind === 'RST+ACK';
}
const hasSyn = (k: SegKind): boolean => k === 'SYN' || k === 'SYN+ACK' || k === 'SYN+FIN' || k === 'SYN+RST';
const hasRst = (k: SegKind): boolean => k === 'RST' || k === 'RST+ACK' || k === 'SYN+RST';

/** Offset of the segment's sequence number from RCV.NXT for a position (window `wnd`, occupying `len`). */
export function seqOffset(pos: Position, wnd: number, len: number): number {
  switch (pos) {
    case 'outside-left': return -Math.max(len, 1);
    case 'middle': return Math.floor(wnd / 2);
    case 'right-edge': return wnd - 1;
    case 'outside-right': return wnd;
    default: return 0;
  }
}

/** Where a segment falls for the four acceptability tests of the personalities. */
function accepted(p: MatrixPersonality, kind: SegKind, pos: Position): boolean {
  const len = segLen(kind);
  switch (pos) {
    case 'left-edge': case 'middle': case 'right-edge': return true;
    case 'outside-left':
      // Linux tcp_sequence: unacceptable only if the segment ends before RCV.NXT; a segment ending at
      // RCV.NXT (a wholly duplicate one) passes (and is then answered as a duplicate).
      return p === 'linux' && len > 0;
    case 'outside-right':
      // Linux tcp_sequence: unacceptable only if it starts after RCV.NXT + RCV.WND.
      return p === 'linux';
    default: return true;
  }
}

const R9293 = 'RFC 9293 §3.10.7.4';
const LNX = 'Linux tcp_input.c';
const BSD = 'FreeBSD tcp_input.c';

/**
 * A segment arriving in a synchronized state (ESTABLISHED … TIME-WAIT), with ACK = SND.NXT when it carries
 * ACK (kind ACK: the acknowledgment positions, sequence at RCV.NXT).
 */
export function expectSynchronized(p: MatrixPersonality, state: Exclude<MatrixState, 'CLOSED' | 'LISTEN' | 'SYN-SENT' | 'SYN-RECEIVED'>, kind: SegKind, pos: Position): Outcome {
  const v = STATE_VARS[state];
  const stay = (reply: Reply, cite: string): Outcome => ({ reply, next: state, cite });
  const tw = state === 'TIME-WAIT';

  // --- invalid flag combinations ---
  if (kind === 'SYN+RST' || kind === 'FIN-no-ACK' || kind === 'no-flags') {
    if (p === 'synack' || p === 'rfc793') return stay('none', 'synack flags.ts: invalid combination dropped and counted (RFC 9293 has no rule for it)');
    if (p === 'linux' && tw) return stay('none', 'Linux: the TIME-WAIT table drops invalid combinations (synack stack.ts, as tcp_timewait_state_process ignores segments without ACK)');
  }
  if (kind === 'SYN+FIN' && (p === 'synack' || p === 'rfc793' || p === 'linux')) {
    return stay('none', p === 'linux' ? 'Linux: SYN+FIN is dropped (tcp_validate_incoming/tcp_rcv_state_process never process both; synack drops it as invalid)' : 'synack flags.ts: SYN+FIN dropped as invalid');
  }
  if (p === 'linux' && (kind === 'FIN-no-ACK' || kind === 'no-flags' || kind === 'SYN+RST')) {
    return stay('none', `${LNX} tcp_rcv_state_process: segments without ACK, RST or SYN are discarded; synack drops SYN+RST as invalid`);
  }
  if (p === 'freebsd' && (kind === 'FIN-no-ACK' || kind === 'no-flags')) {
    if (tw) return stay('none', 'FreeBSD tcp_twcheck: "Drop the segment if it does not contain an ACK"');
    // tcp_input.c trimming: left of the window → TF_ACKNOW; beyond it → dropafterack, except a bare segment
    // exactly at RCV.NXT + RCV.WND (todrop = 0); then "if the ACK bit is off … drop" (after the ACK if one is due).
    const outside = pos === 'outside-left' || (pos === 'outside-right' && segLen(kind) > 0);
    return stay(outside ? 'ack' : 'none', `${BSD}: a segment without ACK is dropped, an out-of-window one after an ACK`);
  }
  if (p === 'freebsd' && kind === 'SYN+RST') return stay('none', 'synack flags.ts: SYN+RST dropped as invalid (FreeBSD would take its RST first)');

  // --- TIME-WAIT under Linux: the compact table (tcp_timewait_state_process) ---
  if (p === 'linux' && tw) {
    if (hasRst(kind)) {
      if (pos === 'left-edge') return { reply: 'none', next: 'CLOSED', cite: 'Linux tcp_timewait_state_process: an in-window RST at RCV.NXT kills TIME-WAIT (tcp_rfc1337 = 0)' };
      return stay('none', 'Linux tcp_timewait_state_process: other RSTs are dropped');
    }
    if (kind === 'SYN' && (pos === 'middle' || pos === 'right-edge' || pos === 'outside-right')) {
      return { reply: 'rst-ack', next: 'CLOSED', cite: 'Linux tcp_timewait_state_process: a SYN beyond RCV.NXT may open a new incarnation (TCP_TW_SYN); no listener here: RFC 9293 §3.10.7.1 RST' };
    }
    if (kind === 'ACK') return ackCell(p, state, pos);
    return stay('ack', 'Linux tcp_timewait_state_process: anything else is ACKed (tcp_timewait_check_oow_rate_limit)');
  }

  // --- RST ---
  if (hasRst(kind)) {
    if (p === 'freebsd' && tw) return stay('none', 'FreeBSD tcp_twcheck: RST dropped in TIME-WAIT (RFC 1337)');
    if (p === 'synack' && tw) return stay('none', `${R9293} second, with RFC 1337: RST ignored in TIME-WAIT`);
    const inWindow = p === 'linux' ? accepted(p, kind, pos) : pos === 'left-edge' || pos === 'middle' || pos === 'right-edge';
    const closed = (cite: string): Outcome => ({ reply: 'none', next: 'CLOSED', cite });
    if (p === 'linux' && pos === 'outside-left' && v.peerFin && state !== 'TIME-WAIT') {
      return closed(`${LNX} tcp_reset_check: after the peer's FIN a RST at RCV.NXT − 1 resets (CLOSE-WAIT, CLOSING, LAST-ACK)`);
    }
    if (!inWindow) return stay('none', p === 'freebsd' ? `${BSD}: RST outside [last_ack_sent, last_ack_sent + rcv_wnd) dropped` : p === 'linux' ? `${LNX} tcp_validate_incoming step 1: unacceptable RST dropped` : `${R9293} first: unacceptable RST dropped`);
    if (pos === 'left-edge') {
      if (p === 'rfc793' && tw) return closed('RFC 793 p. 70: TIME-WAIT, RST → CLOSED');
      return closed(p === 'freebsd' ? `${BSD}: RST with SEG.SEQ = last_ack_sent drops the connection` : p === 'linux' ? `${LNX}: RST at RCV.NXT resets` : `${R9293} second (RFC 5961 §3.2): RST at RCV.NXT resets`);
    }
    if (p === 'rfc793') return tw ? closed('RFC 793 p. 70: TIME-WAIT, RST → CLOSED') : closed('RFC 793 p. 70: any RST in the window resets');
    return stay('challenge', p === 'freebsd' ? `${BSD}: in-window RST not at last_ack_sent: challenge ACK (RFC 5961 §3.2)` : p === 'linux' ? `${LNX} tcp_validate_incoming step 2: challenge ACK` : `${R9293} second (RFC 5961 §3.2): challenge ACK`);
  }

  // --- SYN (SYN, SYN+ACK, and FreeBSD's SYN+FIN with drop_synfin=0) ---
  if (hasSyn(kind)) {
    if (p === 'rfc793') {
      const inWin = pos === 'left-edge' || pos === 'middle' || pos === 'right-edge';
      if (inWin) return { reply: 'abort', next: 'CLOSED', cite: 'RFC 793 p. 71: a SYN in the window is an error: RST, CLOSED' };
      return stay('ack', 'RFC 793 p. 69: unacceptable segment: ACK');
    }
    if (p === 'linux' && !accepted(p, kind, pos)) return stay('challenge', `${LNX} tcp_validate_incoming step 1: unacceptable SYN → syn_challenge`);
    return stay('challenge', p === 'freebsd' ? (tw ? 'FreeBSD STANDARD (suite): SYN in TIME-WAIT draws a challenge ACK (RFC 5961 §4, RFC 9293 §3.10.7.4 fourth)' : `${BSD}: any SYN in a synchronized state: challenge ACK (RFC 5961 §4.2)`) : p === 'linux' ? `${LNX} tcp_validate_incoming step 4: challenge ACK` : `${R9293} fourth (RFC 5961 §4): challenge ACK whatever the sequence number`);
  }

  // --- first check for the rest (ACK, data, FIN) ---
  const len = segLen(kind);
  let ok = accepted(p, kind, pos);
  if (p === 'freebsd' && pos === 'outside-right' && len === 0) ok = true; // tcp_input.c: todrop = seq + tlen − (rcv_nxt + rcv_wnd) = 0
  if (p === 'freebsd' && pos === 'outside-left' && !tw) {
    // tcp_input.c: todrop > 0: a wholly duplicate segment is trimmed to nothing, ACKed (TF_ACKNOW), and its ACK processed.
    if (kind === 'ACK' || kind === 'data' || kind === 'FIN') {
      const next = ackEffect(state);
      if (next === 'CLOSED') return { reply: 'none', next, cite: `${BSD}: duplicate trimmed, its ACK of our FIN closes LAST-ACK (tcp_close) before the ACK goes out` };
      return { reply: 'ack', next, cite: `${BSD}: duplicate segment trimmed, ACKed, its ACK processed` };
    }
  }
  if (!ok) return stay('ack', p === 'linux' ? `${LNX} tcp_validate_incoming step 1: tcp_send_dupack` : `${R9293} first: unacceptable segment → ACK`);
  if (tw && kind === 'ACK' && pos === 'ack-duplicate') return stay('none', `${R9293}: a bare ACK in TIME-WAIT is dropped`);

  // --- ACK field ---
  if (kind === 'ACK') return ackCell(p, state, pos);

  // ACK = SND.NXT: acknowledges our FIN if it is pending.
  const afterAck = ackEffect(state);
  if (afterAck === 'CLOSED') return { reply: 'none', next: 'CLOSED', cite: `${R9293} fifth: LAST-ACK, our FIN acknowledged → CLOSED` };

  // --- text ---
  if (kind === 'data') {
    if (v.peerFin) {
      if (p === 'linux' && pos === 'outside-left') {
        if (state === 'CLOSING') return { reply: 'none', next: afterAck, cite: `${LNX} tcp_rcv_state_process: in CLOSING the ACK of our FIN enters TIME-WAIT and the segment is consumed before tcp_data_queue, not ACKed` };
        return { reply: 'ack', next: afterAck, cite: `${LNX} tcp_rcv_state_process: a duplicate (SEG.SEQ < RCV.NXT) goes to tcp_data_queue, which ACKs it` };
      }
      if (tw && (p === 'freebsd' || p === 'linux')) return { reply: 'ack', next: afterAck, cite: p === 'freebsd' ? 'FreeBSD tcp_twcheck: "Acknowledge the segment if it has data"' : 'Linux tcp_timewait_state_process' };
      return { reply: 'none', next: afterAck, cite: `${R9293} seventh: text after the peer's FIN is ignored` };
    }
    if (pos === 'outside-left') return { reply: 'ack', next: afterAck, cite: `${LNX} tcp_data_queue: a retransmission, ACK at once` };
    if (p === 'linux' && pos === 'outside-right') return { reply: 'ack', next: afterAck, cite: `${LNX} tcp_data_queue: beyond the window (TCP_OVERWINDOW), ACK` };
    return { reply: 'ack', next: afterAck, cite: pos === 'left-edge' ? `${R9293} seventh: text delivered, acknowledged` : `${R9293} seventh: out-of-order text queued, ACK at once (RFC 5681 §4.2)` };
  }
  // --- FIN (FIN+ACK) ---
  if (v.peerFin) {
    if (tw && p === 'freebsd') return stay('ack', 'FreeBSD tcp_twcheck: ACK');
    if (p === 'linux' && pos === 'outside-left') {
      if (state === 'CLOSING') return { reply: 'none', next: afterAck, cite: `${LNX} tcp_rcv_state_process: in CLOSING the ACK of our FIN enters TIME-WAIT and the segment is consumed, not ACKed` };
      return { reply: 'ack', next: afterAck, cite: `${LNX}: a retransmitted FIN (SEG.SEQ < RCV.NXT) is ACKed by tcp_data_queue` };
    }
    return { reply: afterAck === 'TIME-WAIT' && state === 'CLOSING' ? 'none' : 'ack', next: afterAck, cite: `${R9293} eighth: a FIN after the peer's FIN: re-ACK, remain` };
  }
  if (pos !== 'left-edge') {
    if (p === 'linux' && pos === 'outside-left') return { reply: 'ack', next: afterAck, cite: `${LNX}: duplicate FIN, dup ACK` };
    return { reply: 'ack', next: afterAck, cite: `${R9293} eighth: FIN beyond RCV.NXT held; ACK at once for the out-of-order segment` };
  }
  const finNext: MatrixState = state === 'ESTABLISHED' ? 'CLOSE-WAIT' : 'TIME-WAIT';
  return { reply: 'ack', next: finNext, cite: `${R9293} eighth: FIN at RCV.NXT: ${state} → ${finNext}, ACK` };
}

/** The state once ACK = SND.NXT has been processed (§3.10.7.4 fifth: our FIN acknowledged). */
function ackEffect(state: Exclude<MatrixState, 'CLOSED' | 'LISTEN' | 'SYN-SENT' | 'SYN-RECEIVED'>): MatrixState | 'CLOSED' {
  switch (state) {
    case 'FIN-WAIT-1': return 'FIN-WAIT-2';
    case 'CLOSING': return 'TIME-WAIT';
    case 'LAST-ACK': return 'CLOSED';
    default: return state;
  }
}

/** A pure ACK at RCV.NXT with its acknowledgment at a position relative to SND.UNA / SND.NXT (§3.10.7.4 fifth). */
function ackCell(p: MatrixPersonality, state: Exclude<MatrixState, 'CLOSED' | 'LISTEN' | 'SYN-SENT' | 'SYN-RECEIVED'>, pos: Position): Outcome {
  const stay = (reply: Reply, cite: string): Outcome => ({ reply, next: state, cite });
  if (state === 'TIME-WAIT') {
    if (p === 'linux') {
      if (pos.startsWith('ack-')) return stay('none', 'Linux tcp_timewait_state_process: a bare segment at RCV.NXT (whatever its ACK) is dropped');
      return stay('ack', 'Linux tcp_timewait_state_process: a bare ACK not at RCV.NXT is answered (tcp_timewait_check_oow_rate_limit)');
    }
    if (p === 'freebsd') return stay('ack', 'FreeBSD tcp_twcheck: not a duplicate ACK (th_seq != rcv_nxt or th_ack != snd_nxt): ACK');
    if (pos === 'ack-old' && p === 'synack') return stay('challenge', `${R9293} fifth (RFC 5961 §5.2): too old → challenge ACK`);
    return stay(pos === 'ack-beyond' ? 'ack' : 'none', `${R9293} fifth: TIME-WAIT only re-ACKs a FIN; an ACK of something not yet sent is answered with an ACK`);
  }
  switch (pos) {
    case 'ack-beyond':
      return stay('ack', p === 'freebsd' ? `${BSD}: th_ack > snd_max → dropafterack` : `${R9293} fifth: ACK of data not yet sent → ACK, drop`);
    case 'ack-old':
      if (p === 'rfc793') return stay('none', 'RFC 793 p. 72: a duplicate ACK (SEG.ACK < SND.UNA) is ignored');
      return stay('challenge', p === 'linux' ? `${LNX} tcp_ack: SEG.ACK < SND.UNA − MAX.SND.WND → tcp_send_challenge_ack` : p === 'freebsd' ? `${BSD} (14, insecure_ack=0): SEG.ACK below max(ISS+1, SND.UNA − MAX.SND.WND) → tcp_send_challenge_ack` : `${R9293} fifth (RFC 5961 §5.2): too old → challenge ACK`);
    case 'ack-duplicate':
      return stay('none', `${R9293} fifth: a duplicate ACK is ignored`);
    default: {
      const next = ackEffect(state);
      return { reply: 'none', next, cite: `${R9293} fifth: SND.UNA advances${next !== state ? `; our FIN acknowledged → ${next}` : ''}` };
    }
  }
}

/**
 * CLOSED: no connection on the port (§3.10.7.1; Linux tcp_v4_send_reset, FreeBSD tcp_dropwithreset answer the
 * same way). The sequence number does not matter: one position.
 */
export function expectClosed(_p: MatrixPersonality, kind: SegKind): Outcome {
  const C = 'CLOSED' as const;
  if (hasRst(kind)) return { reply: 'none', next: C, cite: 'RFC 9293 §3.10.7.1: an incoming segment containing a RST is discarded' };
  if (hasAck(kind)) return { reply: 'rst', next: C, cite: 'RFC 9293 §3.10.7.1: ACK set: <SEQ=SEG.ACK><CTL=RST>' };
  return { reply: 'rst-ack', next: C, cite: 'RFC 9293 §3.10.7.1: ACK off: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (SYN and FIN count)' };
}

/** LISTEN (§3.10.7.2). The sequence number does not matter: one position. */
export function expectListen(p: MatrixPersonality, kind: SegKind): Outcome {
  const L = 'LISTEN' as const;
  if (kind === 'SYN+FIN') {
    if (p === 'freebsd') return { reply: 'syn-ack', next: L, cite: 'FreeBSD drop_synfin=0 (suite baseline): processed as a SYN, the FIN ignored; the listener answers with SYN,ACK' };
    return { reply: 'none', next: L, cite: 'synack flags.ts: SYN+FIN dropped as invalid (Linux tcp_v4_rcv: th->syn && th->fin is dropped at LISTEN)' };
  }
  if (kind === 'SYN+RST' || kind === 'FIN-no-ACK' || kind === 'no-flags') return { reply: 'none', next: L, cite: 'RFC 9293 §3.10.7.2 fourth: "drop the segment"; invalid combinations dropped' };
  if (hasRst(kind)) return { reply: 'none', next: L, cite: 'RFC 9293 §3.10.7.2 first: an incoming RST is ignored' };
  if (kind === 'SYN+ACK' && p === 'freebsd') return { reply: 'none', next: L, cite: 'FreeBSD 14 syncache: a SYN,ACK at a listener is dropped' };
  if (hasAck(kind)) return { reply: 'rst', next: L, cite: 'RFC 9293 §3.10.7.2 second: any ACK in LISTEN: <SEQ=SEG.ACK><CTL=RST>' };
  if (kind === 'SYN') return { reply: 'syn-ack', next: L, cite: 'RFC 9293 §3.10.7.2 third: SYN → SYN-RECEIVED, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> (the listener stays)' };
  return { reply: 'none', next: L, cite: 'RFC 9293 §3.10.7.2 fourth' };
}

/**
 * SYN-SENT (§3.10.7.3). Positions are the acknowledgment's: ack-old = ISS (SEG.ACK =< ISS), ack-new = ISS+1
 * (acceptable), ack-beyond = SND.NXT+1. Kinds without ACK use 'any'.
 */
export function expectSynSent(p: MatrixPersonality, kind: SegKind, pos: Position): Outcome {
  const S = 'SYN-SENT' as const;
  const bad = pos === 'ack-old' || pos === 'ack-beyond';
  if (kind === 'SYN+FIN') {
    if (p === 'freebsd') return { reply: 'syn-ack', next: 'SYN-RECEIVED', cite: 'FreeBSD drop_synfin=0: a SYN (its FIN ignored) → simultaneous open' };
    return { reply: 'none', next: S, cite: 'synack flags.ts: SYN+FIN dropped as invalid' };
  }
  if (kind === 'SYN+RST' || kind === 'FIN-no-ACK' || kind === 'no-flags') return { reply: 'none', next: S, cite: 'RFC 9293 §3.10.7.3 fifth: neither SYN nor RST: drop (invalid combinations dropped)' };
  if (hasAck(kind) && bad) {
    if (hasRst(kind)) return { reply: 'none', next: S, cite: 'RFC 9293 §3.10.7.3 first: unacceptable ACK with RST: drop' };
    return { reply: 'rst', next: S, cite: 'RFC 9293 §3.10.7.3 first: SEG.ACK =< ISS or > SND.NXT: <SEQ=SEG.ACK><CTL=RST>' };
  }
  if (kind === 'RST') return { reply: 'none', next: S, cite: 'RFC 9293 §3.10.7.3 second (RFC 5961 §3): a RST without an acceptable ACK is dropped' };
  if (kind === 'RST+ACK') return { reply: 'none', next: 'CLOSED', cite: 'RFC 9293 §3.10.7.3 second: acceptable ACK and RST: "error: connection reset", CLOSED' };
  if (kind === 'SYN') return { reply: 'syn-ack', next: 'SYN-RECEIVED', cite: 'RFC 9293 §3.10.7.3 fourth: SYN without ACK: simultaneous open, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>' };
  if (kind === 'SYN+ACK') return { reply: 'ack', next: 'ESTABLISHED', cite: 'RFC 9293 §3.10.7.3 fourth: our SYN acknowledged: ESTABLISHED, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>' };
  return { reply: 'none', next: S, cite: 'RFC 9293 §3.10.7.3 fifth: neither SYN nor RST: drop' };
}

/** SYN-RECEIVED reached by a passive open: RST at the sequence positions, ACK at the acknowledgment positions. */
export function expectSynReceived(p: MatrixPersonality, kind: SegKind, pos: Position): Outcome {
  const S = 'SYN-RECEIVED' as const;
  if (kind === 'SYN') {
    // outside-left: SEG.SEQ = IRS, the peer's SYN again (our SYN,ACK was lost).
    return { reply: 'syn-ack', next: S, cite: 'a retransmitted SYN is answered with the SYN,ACK again (Linux tcp_check_req, FreeBSD syncache_add → syncache_respond; RFC 9293 §3.10.7.4 first: the acknowledgment due in SYN-RECEIVED is our SYN,ACK)' };
  }
  if (kind === 'data') {
    if (pos === 'left-edge') return { reply: 'ack', next: 'ESTABLISHED', cite: 'RFC 9293 §3.10.7.4 fifth then seventh: the ACK completes the handshake, the text is delivered and acknowledged' };
    return { reply: 'ack', next: 'ESTABLISHED', cite: 'RFC 9293 §3.10.7.4 fifth then seventh: ESTABLISHED; out-of-order text queued, ACK at once (RFC 5681 §4.2)' };
  }
  if (kind === 'FIN') return { reply: 'ack', next: 'CLOSE-WAIT', cite: 'RFC 9293 §3.10.7.4 fifth then eighth: ESTABLISHED, then the FIN: CLOSE-WAIT, ACK' };
  if (kind === 'ACK') {
    if (pos === 'ack-new') return { reply: 'none', next: 'ESTABLISHED', cite: 'RFC 9293 §3.10.7.4 fifth: SND.UNA < SEG.ACK =< SND.NXT: ESTABLISHED' };
    return { reply: 'rst', next: S, cite: 'RFC 9293 §3.10.7.4 fifth: unacceptable ACK in SYN-RECEIVED: <SEQ=SEG.ACK><CTL=RST>' };
  }
  // RST (no ACK)
  if (p === 'linux') {
    if (pos === 'outside-left') return { reply: 'none', next: S, cite: 'Linux tcp_check_req: RST outside the window dropped' };
    return { reply: 'none', next: 'CLOSED', cite: 'Linux tcp_check_req: any RST within [RCV.NXT, RCV.NXT + RCV.WND] (tcp_in_window) resets the request (embryonic_reset, no challenge ACK)' };
  }
  if (p === 'freebsd' && (pos === 'right-edge' || pos === 'outside-right')) {
    return { reply: 'none', next: S, cite: 'FreeBSD tcp_syncache.c syncache_chkrst: in-window means SEG.SEQ =< IRS + 1 + sc_wnd, the SYN,ACK\'s 65535 (TCP_MAXWIN), not the 65700-byte buffer: outside, dropped' };
  }
  const inWin = pos === 'left-edge' || pos === 'middle' || pos === 'right-edge';
  if (!inWin) return { reply: 'none', next: S, cite: 'RFC 9293 §3.10.7.4 first: unacceptable RST dropped' };
  if (pos === 'left-edge' || p === 'rfc793') return { reply: 'none', next: 'CLOSED', cite: p === 'rfc793' ? 'RFC 793 p. 70: in-window RST in SYN-RECEIVED from a passive OPEN: back to LISTEN' : 'RFC 9293 §3.10.7.4 second: passive open, RST at RCV.NXT: the embryonic connection is gone (LISTEN)' };
  return { reply: 'challenge', next: S, cite: p === 'freebsd' ? 'FreeBSD tcp_syncache.c syncache_chkrst: in-window RST not at RCV.NXT: challenge ACK' : 'RFC 5961 §3.2: challenge ACK' };
}

/** Every cell of the matrix. */
export function matrixCells(): Cell[] {
  const out: Cell[] = [];
  const add = (p: MatrixPersonality, state: MatrixState, kind: SegKind, position: Position, o: Outcome): void => {
    out.push({ id: `${p}/${state}/${kind}/${position}`, personality: p, state, kind, position, ...o });
  };
  for (const p of MATRIX_PERSONALITIES) {
    for (const kind of SEG_KINDS) add(p, 'CLOSED', kind, 'any', expectClosed(p, kind));
    for (const kind of SEG_KINDS) add(p, 'LISTEN', kind, 'any', expectListen(p, kind));
    for (const kind of SEG_KINDS) {
      if (hasAck(kind)) for (const pos of ['ack-old', 'ack-new', 'ack-beyond'] as const) add(p, 'SYN-SENT', kind, pos, expectSynSent(p, kind, pos));
      else add(p, 'SYN-SENT', kind, 'any', expectSynSent(p, kind, 'any'));
    }
    for (const pos of SEQ_POSITIONS) add(p, 'SYN-RECEIVED', 'RST', pos, expectSynReceived(p, 'RST', pos));
    for (const pos of ['ack-duplicate', 'ack-new', 'ack-beyond'] as const) add(p, 'SYN-RECEIVED', 'ACK', pos, expectSynReceived(p, 'ACK', pos));
    add(p, 'SYN-RECEIVED', 'SYN', 'outside-left', expectSynReceived(p, 'SYN', 'outside-left'));
    for (const pos of ['left-edge', 'middle'] as const) add(p, 'SYN-RECEIVED', 'data', pos, expectSynReceived(p, 'data', pos));
    add(p, 'SYN-RECEIVED', 'FIN', 'left-edge', expectSynReceived(p, 'FIN', 'left-edge'));
    for (const state of ['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT'] as const) {
      const v = STATE_VARS[state];
      for (const kind of SEG_KINDS) {
        if (kind === 'ACK') {
          for (const pos of ACK_POSITIONS) {
            if (pos === 'ack-new' && v.sndUna === v.sndNxt) continue; // nothing outstanding to acknowledge
            add(p, state, kind, pos, expectSynchronized(p, state, kind, pos));
          }
        }
        for (const pos of SEQ_POSITIONS) {
          if (kind === 'ACK' && pos === 'left-edge') continue; // = ack-duplicate / ack-new at RCV.NXT
          add(p, state, kind, pos, expectSynchronized(p, state, kind, pos));
        }
      }
    }
  }
  return out;
}

/**
 * Cells where synack's stack under that personality does not (yet) do what the system does, with why. The
 * matrix test requires every other cell to pass and these to fail, so the list cannot go stale.
 */
export const KNOWN_GAPS: Readonly<Record<string, string>> = {
};
