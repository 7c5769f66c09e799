/** RFC 9293 §3.10.7.2: SEGMENT ARRIVES in state LISTEN (first RST, second ACK, third SYN, fourth other). */
import { ACK, RST, SYN, seqAdd, type TcpSegment } from '../../wire/tcp-types.js';
import type { TcpConnection } from '../connection.js';
import { MAX_WINDOW_FIELD, processSynOptions } from '../options.js';
import { currentWindowFree } from '../receive-window.js';
import { rstFor } from '../segment.js';
import { armRto } from '../timers.js';
import { seventhProcessText } from './synchronized.js';

/** §3.10.7.2: LISTEN. */
export function inputListen(c: TcpConnection, seg: TcpSegment, now: number): void {
  const f = seg.flags;
  if (f & RST) { c.drop('unexpected', 'RST in LISTEN', seg, now); return; }
  if (f & ACK) {
    // "Any acknowledgment is bad if it arrives on a connection still in the LISTEN state": <SEQ=SEG.ACK><CTL=RST>.
    c.drop('ack-in-listen', 'ACK in LISTEN', seg, now);
    c.queueCtrl(rstFor(seg));
    return;
  }
  if (f & SYN) {
    c.remotePort = seg.srcPort;
    c.stats.PassiveOpens++;
    c.irs = seg.seq;
    c.rcvNxt = seqAdd(seg.seq, 1);
    c.rcvAdvRight = c.rcvNxt;
    processSynOptions(c, seg, now);
    // SND.WND from the SYN is unscaled (RFC 7323 §2.2).
    c.sndWnd = seg.window;
    c.maxSndWnd = c.sndWnd;
    c.sndWl1 = seg.seq; c.sndWl2 = seg.ack;
    c.synPending = true;
    c.sndNxt = seqAdd(c.iss, 1);
    c.setState('SYN-RECEIVED', { kind: 'segment', seg }, now);
    armRto(c, now);
    // TCP Fast Open (RFC 7413 §4.2.2): with a valid cookie the SYN's data is accepted at once and our SYN,ACK
    // acknowledges it. Otherwise data in a SYN is queued after the handshake (§3.10.7.2): we simply do not
    // ACK it; the peer resends.
    if (c.tfoAcceptData && seg.payload.length > 0) {
      // The window our SYN,ACK will offer (unscaled) is what the SYN's data may use.
      c.rcvAdvRight = seqAdd(c.rcvNxt, Math.min(MAX_WINDOW_FIELD, currentWindowFree(c)));
      seventhProcessText(c, seg, seqAdd(seg.seq, 1), seg.payload, now);
      c.delackAt = Infinity; c.ackNow = false; c.unackedSegs = 0; // the SYN,ACK carries the ACK
    }
    return;
  }
  c.drop('unexpected', 'no SYN in LISTEN', seg, now);
}
