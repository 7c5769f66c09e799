/**
 * Karn's algorithm (RFC 6298 §3) when the ACK that finally arrives after an outage carries a D-SACK for the
 * retransmission it acknowledges (RFC 2883 §4.1.3). Segments 1 and 2 arrived at once, but every ACK that said so
 * was lost; segment 0 was lost and resent on each RTO; the receiver got one resend, then another (its ACK in
 * between was lost too), and reports the second as a duplicate. The ACK acknowledges retransmitted data, so it
 * gives no RTT sample: taken from segment 1's send time it would be the whole outage (found under 20 % two-way
 * loss: a sample of 314 s, SRTT and the RTO in minutes). Linux moves SND.UNA before it tags SACK blocks, so a
 * block the ACK covers marks nothing SACKed (tcp_ack: tcp_ack_update_window, then tcp_sacktag_write_queue).
 * MSS 1000, handshake RTT 100 ms; segment i is [ISS+1+1000·i, +1000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK } from '../wire/tcp-types.js';
import { IRS, ISS, bytes, runTimers, sackSender, seg } from './test-util.js';

const MSS = 1000;
const RTT = 100;
const at = (i: number): number => (ISS + 1 + i * MSS) >>> 0;

test('an ACK after an outage that D-SACKs the retransmission it acknowledges gives no RTT sample (Karn)', () => {
  const c = sackSender(MSS, RTT);
  c.send(bytes(4 * MSS), RTT);
  assert.equal(c.drainTransmit(RTT).filter((s) => s.payload.length > 0).length, 4);
  const srtt = c.smoothedRtt;
  // Nothing comes back: a loss probe resends the last segment (3), then the RTO segment 0, again and again.
  const resent = runTimers(c, 20_000).filter((s) => s.payload.length > 0).map((s) => (s.seq - at(0)) / MSS);
  assert.equal(resent[0], 3, 'the tail loss probe');
  assert.ok(resent.length >= 4 && resent.slice(1).every((i) => i === 0), `segment 0 resent on each RTO: ${resent}`);
  assert.equal(c.sndUna, at(0));
  const now = 20_000;
  // The receiver has had 0..2 since the first resend (3 and its probe were lost); the last resend is a duplicate,
  // reported by a D-SACK.
  c.input(seg(ACK, IRS + 1, at(3), { window: 65535, options: { sack: [at(0), at(1)] } }), now);
  c.drainTransmit(now);
  assert.equal(c.sndUna, at(3), 'everything acknowledged');
  assert.equal(c.smoothedRtt, srtt, 'no RTT sample from an ACK that acknowledges retransmitted data');
});

test('an ACK that acknowledges only data sent once still gives its sample, with SACK blocks below it', () => {
  const c = sackSender(MSS, RTT);
  c.send(bytes(3 * MSS), RTT);
  c.drainTransmit(RTT);
  // Segment 1 was SACKed; the ACK for all three then arrives 150 ms after they were sent, repeating the old block.
  c.input(seg(ACK, IRS + 1, at(0), { window: 65535, options: { sack: [at(1), at(2)] } }), RTT + 120);
  c.input(seg(ACK, IRS + 1, at(3), { window: 65535, options: { sack: [at(1), at(2)] } }), RTT + 150);
  assert.equal(c.sndUna, at(3));
  assert.equal(c.stats.RetransSegs, 0);
  // Samples: 120 ms (segment 1, SACKed), then 150 ms (segment 0, the oldest newly acknowledged, sent once).
  assert.ok(c.smoothedRtt > RTT, `SRTT ${c.smoothedRtt} moved toward the samples`);
});
