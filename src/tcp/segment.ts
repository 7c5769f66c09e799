/**
 * Pure segment helpers that need no connection: the RST for a segment that finds no connection, and the
 * sequence-number acceptability test. Exported from connection.ts too (the stack's TIME-WAIT table and
 * listener use them).
 */
import { ACK, EMPTY, FIN, RST, SYN, seqAdd, seqGe, seqLe, seqLt, type TcpOptions, type TcpSegment } from '../wire/tcp-types.js';

/**
 * The options of a segment that carries none (a RST, an ACK without timestamps or SACK): one shared frozen
 * object rather than an empty one per segment (a SYN flood's RSTs, every such ACK). Frozen: nothing may add to it.
 */
export const NO_OPTIONS: TcpOptions = Object.freeze({}) as TcpOptions;

/**
 * The RST to send in reply to a segment for which no connection exists (RFC 9293 §3.10.7.1):
 * if ACK is set <SEQ=SEG.ACK><CTL=RST>, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
 * Never call it for a segment that itself has RST.
 */
export function rstFor(seg: TcpSegment): TcpSegment {
  if (seg.flags & ACK) {
    return { srcPort: seg.dstPort, dstPort: seg.srcPort, seq: seg.ack, ack: 0, flags: RST, window: 0, urgent: 0, options: NO_OPTIONS, payload: EMPTY };
  }
  const len = seg.payload.length + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0);
  return { srcPort: seg.dstPort, dstPort: seg.srcPort, seq: 0, ack: seqAdd(seg.seq, len), flags: RST | ACK, window: 0, urgent: 0, options: NO_OPTIONS, payload: EMPTY };
}

/**
 * The sequence-number acceptability test of RFC 9293 §3.10.7.4 (first check) for a segment of SEG.LEN `len`
 * at SEG.SEQ `seq`, against RCV.NXT and RCV.WND. Shared by the engine and the stack's TIME-WAIT table.
 */
export function segmentAcceptable(rcvNxt: number, wnd: number, seq: number, len: number): boolean {
  const nxt = rcvNxt;
  if (len === 0) {
    if (wnd === 0) return seq === nxt;
    return seqLe(nxt, seq) && seqLt(seq, seqAdd(nxt, wnd));
  }
  if (wnd === 0) return false;
  const last = seqAdd(seq, len - 1);
  const right = seqAdd(nxt, wnd);
  // RFC 9293's two tests (first or last octet in the window) miss a segment that starts before RCV.NXT and
  // ends past the right edge, i.e. covers the whole window — e.g. a retransmission of more than the peer
  // could take. It carries acceptable data, and BSD's trimming accepts it; so do we (it is trimmed later).
  return (seqLe(nxt, seq) && seqLt(seq, right)) || (seqLe(nxt, last) && seqLt(last, right))
    || (seqLt(seq, nxt) && seqGe(last, right));
}
