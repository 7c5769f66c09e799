/**
 * Tail loss probe (RFC 8985 §7): when the last segments of a flight may be lost and no ACK will come to
 * trigger fast recovery, send one probe after the probe timeout (PTO) instead of waiting for the RTO.
 * schedulePto() arms the timer, onProbeTimeout() fires it, lossProbe() builds the probe.
 */
import { ACK, EMPTY, FIN, PSH, seqAdd, seqDiff, seqGt, seqLe, seqLt, type TcpSegment } from '../../wire/tcp-types.js';
import type { TcpConnection } from '../connection.js';
import { sndMssCap } from '../options.js';
import { makeRaw, out } from '../send.js';
import { rtoTimeout } from '../timers.js';
import { logRetransmit } from './rack.js';
import { sackedUntil } from './scoreboard.js';

/**
 * RFC 8985 §7.2: after new data goes out or an ACK makes progress, arm the probe timeout: PTO = 2·SRTT (1 s
 * without an RTT sample); with one segment in flight at least 1.5·SRTT + 200 ms (the receiver may be delaying
 * its ACK; Linux's TCP_DELACK_MAX), at least 10 ms; never later than the RTO. Only with SACK, outside
 * recovery, one probe per episode (Linux's conditions).
 */
export function schedulePto(c: TcpConnection, now: number): void {
  if (!c.cfg.tailLossProbe || !c.sackOk || !c.sendsData() || c.tlpOutstanding || c.inRecovery || c.rtoRecovery
    || c.sndUna === c.sndNxt) {
    c.tlpAt = Infinity;
    return;
  }
  const srtt = c.rtt.hasSample ? c.rtt.srtt : 0;
  let pto = srtt > 0 ? 2 * srtt : 1000;
  if (srtt > 0 && seqDiff(c.sndNxt, c.sndUna) <= c.sndMss + 1) pto = Math.max(pto, 1.5 * srtt + 200);
  // Linux (tcp_schedule_loss_probe) never probes sooner than 10 ms: on a sub-millisecond path 2·SRTT is
  // shorter than the receiver's and the host's own scheduling jitter, and every probe would be spurious.
  pto = Math.max(pto, 10);
  if (c.rtoAt !== Infinity) pto = Math.min(pto, c.rtoAt - now);
  c.tlpAt = now + pto;
}

/**
 * The probe timeout fired (RFC 8985 §7.3). The probe timer stands in for the RTO (Linux arms one or the
 * other): the RTO is armed anew after it. pollTransmit() sends the probe (new data, or lossProbe()).
 */
export function onProbeTimeout(c: TcpConnection, now: number): void {
  c.tlpAt = Infinity;
  if (c.sndUna !== c.sndNxt && !c.inRecovery && !c.rtoRecovery) {
    c.tlpPending = true;
    c.tlpOutstanding = true;
    c.stats.TCPLossProbes++;
    c.rtoAt = now + rtoTimeout(c);
  }
}

/**
 * The probe when no new data can go (RFC 8985 §7.3): the last segment again — the FIN alone when it was
 * sent, else up to an MSS of the highest data — never bytes the receiver has SACKed; none when all is SACKed.
 * It draws a SACK that shows what was lost.
 */
export function lossProbe(c: TcpConnection, now: number): TcpSegment | null {
  if (c.sndUna === c.sndNxt) return null;
  const sb = c.scoreboard;
  let end = c.sndNxt;
  if (c.finSent && seqGt(c.sndNxt, c.finSeq)) {
    if (sackedUntil(c, c.finSeq) === -1) {
      logRetransmit(c, c.finSeq, seqAdd(c.finSeq, 1), now);
      c.stats.RetransSegs++;
      return out(c, makeRaw(c, c.finSeq, c.rcvNxt, ACK | FIN, EMPTY, now), now);
    }
    end = c.finSeq;
  }
  // Below any SACKed block that reaches the end, then after any SACKed block inside the probe.
  for (let moved = true; moved;) {
    moved = false;
    for (let i = 0; i < sb.length; i += 2) if (seqLt(sb[i]!, end) && seqLe(end, sb[i + 1]!)) { end = sb[i]!; moved = true; }
  }
  if (!seqGt(end, c.sndUna)) return null;
  let seq = seqDiff(end, c.sndUna) > sndMssCap(c) ? seqAdd(end, -sndMssCap(c)) : c.sndUna;
  for (let i = 0; i < sb.length; i += 2) if (seqGt(sb[i + 1]!, seq) && seqLe(sb[i + 1]!, end)) seq = sb[i + 1]!;
  const len = seqDiff(end, seq);
  const payload = c.snd.slice(c.snd.front + seqDiff(seq, c.sndBufSeq), len);
  logRetransmit(c, seq, end, now);
  c.stats.RetransSegs++;
  return out(c, makeRaw(c, seq, c.rcvNxt, ACK | PSH, payload, now), now);
}
