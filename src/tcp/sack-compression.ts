/**
 * SACK compression, as Linux's receiver does it (__tcp_ack_snd_check, net.ipv4.tcp_comp_sack_nr): while data is
 * held out of order, every arriving segment would draw a duplicate ACK at once (RFC 5681 §4.2). The first three
 * at one RCV.NXT do: three are what the sender's fast retransmit needs, and a RACK sender learns of the loss from
 * the first. The rest are held, up to TcpConfig.sackCompress of them, for SRTT/20 (at most sackCompressDelay,
 * 1 ms), and one ACK with the latest SACK blocks answers them all. Behind a loss at 200 Mbit/s a batch of
 * out-of-order segments arrives within microseconds, and without this each draws its own ACK.
 */
import type { TcpConnection } from './connection.js';
import { inQuickAck } from './arrive/quick-ack.js';
import { seqDiff } from '../wire/tcp-types.js';

/**
 * Out-of-order data (or a hole partly filled) just arrived and wants an immediate ACK: true when SACK
 * compression holds it instead (the compressed-SACK timer is armed; timers.ts sends it), false when it must
 * leave now. Not while a D-SACK waits (it reports a duplicate the sender should hear of at once, as
 * tcp_send_dupack does) or in quick-ACK mode (Linux tcp_in_quickack_mode).
 */
export function holdOutOfOrderAck(c: TcpConnection, now: number): boolean {
  const limit = c.cfg.sackCompress;
  if (limit <= 0 || !c.sackOk || !c.rcv.hasOutOfOrder || c.rcv.dsackRight !== -1) return false;
  if (inQuickAck(c)) return false;
  if (c.sackCompressed >= limit) return false;
  // The hold is over: an arrival after its deadline sends the held ACK itself. A host's timer may fire well after
  // the deadline (Node's setTimeout counts whole milliseconds, and SRTT/20 on a sub-millisecond path is tens of
  // µs), and waiting for it would hold the sender's SACK information 20-60 times longer than Linux's hrtimer does.
  if (c.sackCompressAt <= now) return false;
  const k = c.coldTcb();
  // This host could not keep an earlier hold (compressedAckDue): every further hold would last 10-50 times Linux's.
  if (k.sackHoldLate) return false;
  // A new RCV.NXT (a hole filled) starts a new count of duplicates sent at once.
  if (k.sackCompressRcvNxt !== c.rcvNxt) { k.sackCompressRcvNxt = c.rcvNxt; k.sackDupAcks = 0; }
  if (k.sackDupAcks < 3) { k.sackDupAcks++; return false; }
  k.sackCompressed++;
  if (k.sackCompressAt === Infinity) {
    const srtt = c.rtt.srtt;
    k.sackCompressAt = now + (srtt > 0 ? Math.min(c.cfg.sackCompressDelay, srtt / 20) : c.cfg.sackCompressDelay);
  }
  return true;
}

/**
 * Linux's slack on the compressed-ACK timer (net.ipv4.tcp_comp_sack_slack_ns, 100 µs): its hrtimer ends a hold at
 * most this long after the hold's deadline.
 */
const HOLD_SLACK_MS = 0.1;

/**
 * The compressed-SACK timer runs (timers.ts): the held ACK leaves with the latest SACK blocks (Linux
 * tcp_compressed_ack_kick). If the host ran the timer later than Linux's slack after the hold's deadline, it
 * cannot time holds, and this connection holds no more. Why: Linux holds SRTT/20 with an hrtimer (~120 µs on a
 * sub-millisecond path, where the hold merges the ACKs of a burst), but a host whose timers count whole
 * milliseconds (Node's setTimeout) holds the last duplicate of a burst 1-2 ms instead (an arrival after the
 * deadline ends a hold sooner, but the last of a burst has none behind it), and a sender whose window is a few
 * segments (at a few per cent loss) stalls for all of it: in the loss bench at 5 %, 20-45 stalls of over 0.9 ms
 * after a SACK per kernel→synack transfer, none for a kernel receiver. Without holds, the segments a receive batch
 * brings still draw one ACK (the stack answers a batch once), which is what a hold does at this time scale. A
 * virtual clock runs timers at their deadline: nothing changes there.
 */
export function compressedAckDue(c: TcpConnection, now: number): void {
  const k = c.coldTcb();
  if (now - k.sackCompressAt > HOLD_SLACK_MS) k.sackHoldLate = true;
  k.sackCompressAt = Infinity;
  c.ackNow = true;
}

/**
 * In a receive batch (the stack takes the datagrams one link read brought, then answers each connection once), an
 * ACK is due for out-of-order data or a duplicate, and the connection's next segment of the batch is about to be
 * taken: true when that ACK must leave first. Linux ACKs each such segment as it arrives (tcp_ack_snd_check) and
 * compresses the duplicates after the third (holdOutOfOrderAck); a batch arrived at once and its ACKs leave
 * together at its end, so here the ACK waits for the next segment when the next ACK tells the sender all it would:
 * - the segment starts at RCV.NXT: it fills (the start of) the hole the ACK reports. Sent, the ACK reports a hole
 *   this receiver holds, which a Linux sender (RACK, RFC 8985 §6.2, no reordering seen yet) marks lost at once and
 *   resends (a D-SACK later);
 * - the segment extends the first SACK block (the most recently changed, RFC 2018 §4): the next ACK reports that
 *   block grown and the others as they are. A segment that starts another block leaves the ACK first, which still
 *   reports the block that the new one pushes out of the three an ACK carries;
 * - anything else (a D-SACK, no SACK: the sender counts duplicate ACKs) leaves first, as Linux would send it.
 * Each ACK written to a TUN device costs the host ~10 µs: a batch of 100 segments behind a hole drew 100 ACKs,
 * ~1 ms of writing, and the retransmission filling the hole arrived meanwhile, so the later ones reported a hole
 * already filled.
 */
export function ackBeforeNextInBatch(c: TcpConnection, seq: number, len: number): boolean {
  if (!c.ackNow) return false;
  const rcv = c.rcv;
  if (rcv.dsackRight !== -1) return true;
  if (!rcv.hasOutOfOrder) return false; // not an ACK for out-of-order data: the batch's end sends it
  if (len === 0) return true;
  if (seq === c.rcvNxt) return false;
  if (!c.sackOk || rcv.sackRanges(1, front, 0) === 0) return true;
  const at = rcv.nextAbs + seqDiff(seq, c.rcvNxt);
  if (at > front[1]! || at + len < front[0]!) return true;
  c.sackCompressed++; // counted when the ACK leaves (send.ts: TCPAckCompressed)
  return false;
}

/** ackBeforeNextInBatch's first SACK block. */
const front = new Float64Array(2);
