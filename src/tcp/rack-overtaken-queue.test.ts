/**
 * A packet that takes a faster path overtakes a queue (issue 15's reordering bench: 1 % of packets on a side
 * link skip a bottleneck queue of a few ms). RACK (RFC 8985) then sees a segment delivered that was sent after
 * every segment still queued; each of those is deemed lost once RACK.rtt + reo_wnd has passed since it was sent.
 * The reordering timer is armed for the last of them (RFC 8985 RACK_detect_loss: timeout = max(remaining,
 * timeout), as Linux tcp_rack_detect_loss), so the queue that drains meanwhile is not resent segment by segment.
 * Hand-built ACKs on a passive connection whose handshake measured 100 ms (min_RTT/4 = 25 ms); MSS 1000, so
 * segment i is [ISS+1+1000·i, +1000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, type TcpSegment } from '../wire/tcp-types.js';
import { IRS, ISS, bytes, runTimers, sackSender, seg } from './test-util.js';
import type { TcpConnection } from './connection.js';

const MSS = 1000;
const RTT = 100;
const at = (i: number): number => (ISS + 1 + i * MSS) >>> 0;

const open = (): TcpConnection => sackSender(MSS, RTT);

/** An ACK at `now` (timers due before it run first); returns what the sender sends. */
function ack(c: TcpConnection, now: number, cum: number, sack?: [number, number]): TcpSegment[] {
  const out = runTimers(c, now);
  c.input(seg(ACK, IRS + 1, cum, { window: 65535, options: sack ? { sack } : {} }), now);
  return out.concat(c.drainTransmit(now));
}

const resent = (segs: TcpSegment[], below: number): TcpSegment[] => segs.filter((s) => s.payload.length > 0 && ((s.seq - below) | 0) < 0);

test('a segment overtakes a queue of 9: the queue drains within the last reordering window and nothing is resent', () => {
  const c = open();
  // Segments 0..9 leave 2 ms apart; 9 takes a faster path.
  for (let i = 0; i < 10; i++) {
    c.send(bytes(MSS), RTT + 2 * i);
    assert.equal(c.drainTransmit(RTT + 2 * i).filter((s) => s.payload.length > 0).length, 1);
  }
  const sent: TcpSegment[] = [];
  // Segment 9 arrives first, with its own RTT (100 ms): RACK.rtt = 100, RACK.xmit_ts = its send time. Segment i
  // waits until its send time + 125 ms: segment 0 until 225, segment 8 until 241.
  const t9 = RTT + 18 + RTT;
  sent.push(...ack(c, t9, at(0), [at(9), at(10)]));
  // The queue (0..8) drains behind it, 25 ms late: the first segments arrive after their own window, the last
  // ones within theirs.
  for (let i = 0; i < 9; i++) sent.push(...ack(c, 225 + 1 + 1.5 * i, at(i + 1), [at(9), at(10)]));
  sent.push(...ack(c, 240, at(10)));
  sent.push(...runTimers(c, 1000));
  assert.deepEqual(resent(sent, at(10)).map((s) => (s.seq - at(0)) / MSS), [], 'nothing resent');
  assert.equal(c.stats.RetransSegs, 0);
  assert.equal(c.inRecovery, false);
});

test('a segment that overtook a queue: what is still missing when the last window has passed is resent, without an RTO', () => {
  const c = open();
  for (let i = 0; i < 10; i++) { c.send(bytes(MSS), RTT + 2 * i); c.drainTransmit(RTT + 2 * i); }
  const sent: TcpSegment[] = [];
  sent.push(...ack(c, RTT + 18 + RTT, at(0), [at(9), at(10)]));
  // 0..5 arrive late; 6..8 were lost. Each delivery sets RACK.rtt (RFC 8985 §6.2 step 2; segment 5's: 123.5 ms),
  // so the last window ends at 12 + 123.5 + 25 ms after segment 8 left: RACK then deems 6..8 lost and resends them.
  for (let i = 0; i < 6; i++) sent.push(...ack(c, 226 + 1.5 * i, at(i + 1), [at(9), at(10)]));
  sent.push(...runTimers(c, 300));
  assert.deepEqual(resent(sent, at(9)).map((s) => (s.seq - at(0)) / MSS), [6], 'the first lost segment at the timeout (PRR: one)');
  // Each retransmission's ACK releases the next (RFC 6937 PRR-SSRB); the lost ones all go again, no RTO.
  let t = 300;
  for (let i = 7; i <= 9; i++) { t += RTT; sent.push(...ack(c, t, at(i), [at(9), at(10)])); }
  sent.push(...ack(c, t + RTT, at(10)));
  assert.deepEqual(resent(sent, at(9)).map((s) => (s.seq - at(0)) / MSS), [6, 7, 8]);
  assert.equal(c.stats.TCPTimeouts, 0);
  assert.equal(c.sndUna, at(10));
});

test('on a sub-millisecond path a queue draining behind an overtaker is not resent: the reordering timer keeps Linux\'s 2 ms slack', () => {
  // Handshake 0.2 ms. Ten segments leave together; segment 9 takes a faster path and is SACKed 0.05 ms later
  // (RACK.rtt 0.05 ms, min_RTT 0.05 ms: the window is min_RTT/4, 12.5 µs). The other nine come through the
  // bottleneck queue one every 0.06 ms, each after the deadline its predecessor's RTT sets, never 2 ms after.
  const c = sackSender(MSS, 0.2);
  c.send(bytes(10 * MSS), 1);
  assert.equal(c.drainTransmit(1).filter((s) => s.payload.length > 0).length, 10);
  const sent: TcpSegment[] = [];
  sent.push(...ack(c, 1.05, at(0), [at(9), at(10)]));
  for (let i = 0; i < 9; i++) sent.push(...ack(c, 1.3 + 0.06 * i, at(i + 1), [at(9), at(10)]));
  sent.push(...ack(c, 1.3 + 0.06 * 9, at(10)));
  sent.push(...runTimers(c, 100));
  assert.deepEqual(resent(sent, at(10)).map((s) => (s.seq - at(0)) / MSS), [], 'nothing resent');
  assert.equal(c.stats.RetransSegs, 0);
  assert.equal(c.sndUna, at(10));
});

test('a host that reads the overtakers\' SACK and the late queue\'s first ACK before it sends resends nothing: the marks are undone, as Linux does with no retransmission out', () => {
  const c = open();
  for (let i = 0; i < 10; i++) { c.send(bytes(MSS), RTT + 2 * i); c.drainTransmit(RTT + 2 * i); }
  // Segments 7–9 overtake the queue: three SACKed segments and no reordering seen yet, so the window is 0 and
  // RACK deems 0–6 lost at once (RFC 8985 §6.2 step 4). Read in one batch with the next ACK, which shows
  // segment 0 delivered by its original: nothing has been resent yet.
  const blocks: [number, number] = [at(7), at(10)];
  c.input(seg(ACK, IRS + 1, at(0), { window: 65535, options: { sack: blocks } }), 130);
  c.input(seg(ACK, IRS + 1, at(1), { window: 65535, options: { sack: blocks } }), 131);
  const sent: TcpSegment[] = c.drainTransmit(131);
  assert.equal(c.stats.TCPPartialUndo, 1, 'the reduction is undone (Linux tcp_try_undo_partial)');
  // A duplicate ACK (a window update) brings no late original and no new delivery: nothing is judged lost anew.
  sent.push(...ack(c, 131.5, at(1), blocks));
  // The rest of the queue arrives, each segment later than the last but within its predecessor's RTT.
  for (let i = 1; i < 7; i++) sent.push(...ack(c, 131 + 2 * i, at(i + 1), blocks));
  sent.push(...ack(c, 146, at(10)));
  assert.deepEqual(resent(sent, at(10)).map((s) => (s.seq - at(0)) / MSS), [], 'nothing resent');
  assert.equal(c.sndUna, at(10));
});

test('an ACK that delivers nothing new makes no new loss judgement (Linux rack.advanced): a window update in the gap is no reason to resend the queue', () => {
  const c = sackSender(MSS, 0.2);
  c.send(bytes(10 * MSS), 1);
  c.drainTransmit(1);
  const sent: TcpSegment[] = [];
  sent.push(...ack(c, 1.05, at(0), [at(9), at(10)]));
  // The same ACK again, 0.15 ms later (past every segment's deadline by RACK.rtt + reo_wnd, not by the timer's):
  // it SACKs nothing new and moves nothing.
  sent.push(...ack(c, 1.2, at(0), [at(9), at(10)]));
  for (let i = 0; i < 9; i++) sent.push(...ack(c, 1.3 + 0.06 * i, at(i + 1), [at(9), at(10)]));
  sent.push(...ack(c, 1.3 + 0.06 * 9, at(10)));
  assert.deepEqual(resent(sent, at(10)).map((s) => (s.seq - at(0)) / MSS), [], 'nothing resent');
  assert.equal(c.stats.RetransSegs, 0);
});
