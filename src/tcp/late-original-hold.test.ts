/**
 * A partial ACK in recovery that acknowledges a segment RACK deemed lost, delivered by its first transmission
 * (recovery/rack.ts ackLateOriginal): the segments deemed lost with it were as likely only late, so that ACK
 * resends nothing more (recovery/undo.ts undoOnPartialAck). Linux tells this from the ACK's timestamp echo alone
 * (tcp_try_undo_partial: older than the episode's first retransmission); without timestamps, or when the echoed
 * segment went out after that retransmission, only the per-segment evidence can. Hand-built ACKs on a passive
 * connection whose handshake measured 100 ms; MSS 1000, so segment i is [ISS+1+1000·i, +1000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, type TcpOptions, type TcpSegment } from '../wire/tcp-types.js';
import { IRS, ISS, bytes, runTimers, sackSender, seg } from './test-util.js';
import type { TcpConnection } from './connection.js';

const MSS = 1000;
const RTT = 100;
const at = (i: number): number => (ISS + 1 + i * MSS) >>> 0;

function ack(c: TcpConnection, now: number, cum: number, opts: TcpOptions = {}): TcpSegment[] {
  const out = runTimers(c, now);
  c.input(seg(ACK, IRS + 1, cum, { window: 65535, options: opts }), now);
  return out.concat(c.drainTransmit(now));
}

const resentBelow = (segs: TcpSegment[], end: number): number[] =>
  segs.filter((s) => s.payload.length > 0 && ((s.seq - end) | 0) < 0).map((s) => (s.seq - at(0)) / MSS);

/**
 * Segment 8 overtakes 1..7 (a second route): RACK deems 1..7 lost once its window passes; what the first of
 * its ACKs allows is resent (segment 1 first). The retransmission of 1 fills the hole, so the receiver echoes its
 * timestamp from then on (RFC 7323 §4.3: TS.Recent never goes back), and the episode's Eifel test cannot tell
 * that what follows are late originals. `late`: 2..7 then arrive as first sent (three ACKs); else they were lost
 * and the ACKs acknowledge nothing more.
 */
function overtakenQueue(late: boolean): { c: TcpConnection; resent: number[]; first: number[] } {
  const c = sackSender(MSS, RTT, { timestamps: true });
  c.send(bytes(10 * MSS), RTT);
  const sent = c.drainTransmit(RTT);
  const ts = (i: number): number => sent.find((s) => s.seq === at(i))!.options.tsVal!;
  const t = 2 * RTT;
  ack(c, t, at(1), { tsVal: 3, tsEcr: ts(0) });
  ack(c, t + 1, at(1), { tsVal: 3, tsEcr: ts(0), sack: [at(8), at(10)] });
  const rtx = runTimers(c, t + 40).filter((s) => s.payload.length > 0);
  assert.equal(c.inRecovery, true);
  assert.equal(rtx[0]?.seq, at(1), 'segment 1 resent');
  const first = resentBelow(rtx, at(8));
  const tsEcr = rtx[0]!.options.tsVal!;
  const resent: TcpSegment[] = [];
  const cum = late ? [at(3), at(5), at(7)] : [at(2), at(2), at(2)];
  cum.forEach((a, k) => resent.push(...ack(c, t + 41 + k, a, { tsVal: 4, tsEcr, sack: [at(8), at(10)] })));
  return { c, resent: resentBelow(resent, at(8)), first };
}

test('segments deemed lost, then acknowledged as first sent after a retransmission filled the hole: nothing more is resent', () => {
  const { c, resent, first } = overtakenQueue(true);
  assert.deepEqual(first, [1], 'only segment 1 was resent before');
  assert.deepEqual(resent, [], 'segments 3..7 were late, not lost');
  assert.equal(c.stats.RetransSegs, 1);
});

test('when only the retransmission arrives, the other marks stand and are resent', () => {
  const { resent } = overtakenQueue(false);
  assert.ok(resent.length >= 2, `resent ${resent.join(',')}`);
});
