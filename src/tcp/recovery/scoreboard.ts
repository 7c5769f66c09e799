/**
 * The SACK scoreboard (RFC 2018, RFC 6675 §4): the sequence ranges above SND.UNA that the peer has reported
 * receiving, as a flat sorted, merged array of [left, right) pairs, with the SACKed byte count and the
 * highest SACKed sequence number.
 */
import { seqDiff, seqGe, seqGt, seqLe, seqLt } from '../../wire/tcp-types.js';
import type { TcpConnection } from '../connection.js';

/**
 * Merge reported SACK blocks into the scoreboard. Returns true if new bytes were SACKed. `ack`: the cumulative
 * ACK of the segment that carries them. What it acknowledges is not SACKed: Linux moves SND.UNA before it tags
 * SACK blocks (tcp_ack_update_window, then tcp_sacktag_write_queue: "acked frame is about to be dropped"). A
 * D-SACK for a retransmission that this ACK also acknowledges (RFC 2883 §4.1.3: the retransmission filled the
 * hole, then was received again) would otherwise mark it SACKed, and Karn's test (timers.ts sampleRtt, which
 * takes no sample when retransmitted data is acknowledged, RFC 6298 §3) would pass over it: the segments
 * behind it, delivered long before but whose ACKs were lost, then gave an RTT of the whole outage (minutes
 * under 20 % two-way loss, once the RTO had backed off).
 */
export function updateScoreboard(c: TcpConnection, blocks: number[], ack = c.sndUna): boolean {
  let changed = false;
  const floor = seqGt(ack, c.sndUna) && seqLe(ack, c.sndNxt) ? ack : c.sndUna;
  for (let i = 0; i + 1 < blocks.length; i += 2) {
    let l = blocks[i]!;
    const r = blocks[i + 1]!;
    // Ignore blocks outside (SND.UNA, SND.NXT] — D-SACKs and garbage (RFC 2883 / RFC 6675 §4) — or below the ACK.
    if (!seqLt(l, r) || !seqGt(r, floor) || seqGt(r, c.sndNxt)) continue;
    if (seqLt(l, floor)) l = floor;
    changed = addSackRange(c, l, r) || changed;
  }
  if (changed) recountSacked(c);
  return changed;
}

/** Insert [l, r) into the scoreboard, merging overlaps. Returns true if it added bytes. */
export function addSackRange(c: TcpConnection, l: number, r: number): boolean {
  const sb = c.scoreboard;
  // Insert [l, r) and merge overlaps; ranges are sorted by modular order from SND.UNA.
  let i = 0;
  while (i < sb.length && seqLt(sb[i + 1]!, l)) i += 2;
  if (i < sb.length && seqLe(sb[i]!, l) && seqGe(sb[i + 1]!, r)) return false;
  let nl = l, nr = r;
  let j = i;
  while (j < sb.length && seqLe(sb[j]!, nr)) {
    if (seqLt(sb[j]!, nl)) nl = sb[j]!;
    if (seqGt(sb[j + 1]!, nr)) nr = sb[j + 1]!;
    j += 2;
  }
  // Usually the block extends one range (the receiver's newest block grows by a segment or two per ACK): in place,
  // without splice's array of removed elements.
  if (j - i === 2) { sb[i] = nl; sb[i + 1] = nr; } else sb.splice(i, j - i, nl, nr);
  return true;
}

/** Drop what SND.UNA has passed (cumulatively acknowledged). */
export function pruneScoreboard(c: TcpConnection): void {
  const sb = c.scoreboard;
  if (sb.length === 0) return;
  let k = 0;
  while (k < sb.length && seqLe(sb[k + 1]!, c.sndUna)) k += 2;
  if (k > 0) sb.splice(0, k);
  if (sb.length && seqLt(sb[0]!, c.sndUna)) sb[0] = c.sndUna;
  recountSacked(c);
}

/** Recompute the SACKed byte count and the highest SACKed sequence number. */
export function recountSacked(c: TcpConnection): void {
  const sb = c.scoreboard;
  let n = 0;
  for (let i = 0; i < sb.length; i += 2) n += seqDiff(sb[i + 1]!, sb[i]!);
  c.sackedBytes = n;
  c.highSack = sb.length ? sb[sb.length - 1]! : c.sndUna;
}

/** Is seq inside a SACKed range? If so, returns the range's right edge; otherwise -1. */
export function sackedUntil(c: TcpConnection, seq: number): number {
  const sb = c.scoreboard;
  for (let i = 0; i < sb.length; i += 2) if (seqLe(sb[i]!, seq) && seqLt(seq, sb[i + 1]!)) return sb[i + 1]!;
  return -1;
}
