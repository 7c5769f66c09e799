/**
 * RFC 9293 §3.10.7.3: SEGMENT ARRIVES in state SYN-SENT (first ACK, second RST, third security, fourth SYN:
 * ESTABLISHED, or SYN-RECEIVED for a simultaneous open; data on a SYN+ACK continues at the sixth step).
 */
import { ACK, EMPTY, FIN, RST, SYN, seqAdd, seqGt, seqLe, type TcpSegment } from '../../wire/tcp-types.js';
import type { TcpConnection } from '../connection.js';
import { MAX_WINDOW_FIELD, processSynOptions } from '../options.js';
import { currentWindowFree } from '../receive-window.js';
import { ackAdvance, makeRaw } from '../send.js';
import { armRto } from '../timers.js';
import { fastOpenSynAck } from '../fast-open.js';
import { processTextAndFin } from './synchronized.js';

/** §3.10.7.3: SYN-SENT. */
export function inputSynSent(c: TcpConnection, seg: TcpSegment, now: number): void {
  const f = seg.flags;
  let ackOk = false;
  if (f & ACK) {
    // First: SEG.ACK =< ISS or SEG.ACK > SND.NXT is unacceptable.
    if (seqLe(seg.ack, c.iss) || seqGt(seg.ack, c.sndNxt)) {
      c.drop('bad-ack', 'ACK does not acknowledge our SYN', seg, now);
      if (!(f & RST)) c.queueCtrl(makeRaw(c, seg.ack, 0, RST, EMPTY));
      return;
    }
    ackOk = seqLe(c.sndUna, seg.ack) && seqLe(seg.ack, c.sndNxt);
  }
  // Second: RST.
  if (f & RST) {
    // RFC 5961 §3.2 / RFC 9293: acceptable only if it acknowledges our SYN.
    if (ackOk) {
      c.stats.RstAccepted++;
      c.fail('ECONNREFUSED', 'connection refused', { kind: 'segment', seg }, now);
    } else {
      c.stats.RstIgnored++;
      c.drop('rst-not-exact', 'RST without acceptable ACK in SYN-SENT', seg, now);
    }
    return;
  }
  // Third: security (no IP security option is set or checked). Fifth: neither SYN nor RST: drop.
  if (!(f & SYN)) { c.drop('unexpected', 'neither SYN nor RST in SYN-SENT', seg, now); return; }
  // Fourth: SYN.
  c.irs = seg.seq;
  c.rcvNxt = seqAdd(seg.seq, 1);
  // Last.ACK.sent starts here, as Linux's rcv_wup does (tcp_rcv_synsent_state_process), before our ACK is built.
  c.lastAckSent = c.rcvNxt;
  // Our SYN advertised this much window (unscaled); data on the SYN+ACK may use it.
  c.rcvAdvRight = seqAdd(c.rcvNxt, Math.min(MAX_WINDOW_FIELD, currentWindowFree(c)));
  processSynOptions(c, seg, now);
  if (ackOk) {
    ackAdvance(c, seg.ack, now, seg);
  }
  // TCP Fast Open (RFC 7413 §4.2.1): keep the server's cookie; resend SYN data it did not acknowledge.
  if (c.tfoCookie !== null) fastOpenSynAck(c, seg);
  if (seqGt(c.sndUna, c.iss)) {
    // Our SYN is acknowledged: ESTABLISHED. Window from a SYN is never scaled (RFC 7323 §2.2).
    c.sndWnd = seg.window;
    c.maxSndWnd = c.sndWnd;
    c.sndWl1 = seg.seq; c.sndWl2 = seg.ack;
    c.synPending = false;
    c.setState('ESTABLISHED', { kind: 'segment', seg }, now);
    c.emit({ type: 'established', time: now });
    c.ackNow = true;
    // Data or FIN carried on the SYN+ACK: continue at "sixth" (§3.10.7.3).
    if (seg.payload.length > 0 || (f & FIN)) processTextAndFin(c, seg, seqAdd(seg.seq, 1), seg.payload, now);
    if (c.finQueued) c.setState('FIN-WAIT-1', { kind: 'user', call: 'shutdown' }, now);
  } else {
    // Simultaneous open (§3.10.7.3, Figure 8): SYN-RECEIVED, send SYN,ACK <SEQ=ISS><ACK=RCV.NXT>.
    c.sndWnd = seg.window;
    c.maxSndWnd = c.sndWnd;
    c.sndWl1 = seg.seq; c.sndWl2 = seg.ack;
    c.synPending = true;
    c.setState('SYN-RECEIVED', { kind: 'segment', seg }, now);
    armRto(c, now);
    // Text or FIN on the SYN: "queue them for processing after the ESTABLISHED state has been reached"
    // (deliverSynText); our SYN,ACK acknowledges the SYN only (config.synSentData; Linux discards them).
    if ((seg.payload.length > 0 || (f & FIN)) && c.cfg.synSentData !== 'discard') {
      c.synText = { ...seg, seq: seqAdd(seg.seq, 1), flags: f & ~SYN };
    }
  }
}
