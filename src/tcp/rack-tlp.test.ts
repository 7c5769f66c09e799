/**
 * RACK-TLP (RFC 8985) on a sender with SACK: a segment is lost when one sent after it has been delivered and
 * its reordering window (RACK.rtt + reo_wnd) has passed — time, not three duplicate ACKs. Hand-built ACKs on
 * a passive connection whose handshake measured 100 ms; MSS 1000, so segment i is [ISS+1+1000·i, +1000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, SYN, type TcpSegment } from '../wire/tcp-types.js';
import { IRS, ISS, PLAIN, bytes, newConn, runTimers, sackSender, seg } from './test-util.js';
import type { TcpConfig } from './config.js';
import type { TcpConnection } from './connection.js';

const MSS = 1000;
const RTT = 100;
const at = (i: number): number => ISS + 1 + i * MSS;

const open = (config: Partial<TcpConfig> = {}): TcpConnection => sackSender(MSS, RTT, config);

/** Deliver an ACK at `now` (after running every timer due before it) and return what the sender sends. */
function ack(c: TcpConnection, now: number, cum: number, sack?: [number, number]): TcpSegment[] {
  const out = runTimers(c, now);
  c.input(seg(ACK, IRS + 1, cum, { window: 65535, options: sack ? { sack } : {} }), now);
  return out.concat(c.drainTransmit(now));
}


const retransmitted = (segs: TcpSegment[], below: number): TcpSegment[] => segs.filter((s) => s.payload.length > 0 && ((s.seq - below) | 0) < 0);

/**
 * Segment 2 arrives 5 ms late, after 3 and 4 (fewer than DupThresh: RACK waits min_RTT/4 = 25 ms); then, with
 * reordering seen, segment 5 arrives 12 ms late, after 6..9 (four SACKed segments): within RACK's window
 * (min_RTT/4), so again nothing is resent. Returns every segment the sender transmitted and what SND.NXT was.
 */
function reorderTwice(c: TcpConnection): { sent: TcpSegment[]; highest: number } {
  c.send(bytes(10 * MSS), RTT);
  const first = c.drainTransmit(RTT);
  assert.equal(first.length, 10);
  const sent: TcpSegment[] = [];
  const t = 2 * RTT;
  sent.push(...ack(c, t, at(2)));
  sent.push(...ack(c, t + 1, at(2), [at(3), at(4)]));
  sent.push(...ack(c, t + 2, at(2), [at(3), at(5)]));
  sent.push(...ack(c, t + 5, at(5)));
  for (let i = 6; i <= 9; i++) sent.push(...ack(c, t + 5 + i, at(5), [at(6), at(i + 1)]));
  sent.push(...ack(c, t + 17, at(10)));
  return { sent, highest: at(10) };
}

test('reordering within RACK\'s window causes no spurious retransmission (and three-dupACK counting would resend)', () => {
  const c = open();
  const { sent, highest } = reorderTwice(c);
  assert.deepEqual(retransmitted(sent, highest).map((s) => (s.seq - ISS - 1) / MSS), [], 'no retransmission');
  assert.equal(c.stats.RetransSegs, 0);
  assert.equal(c.stats.TCPFastRetrans, 0);
  assert.equal(c.rack.reorderingSeen, true);
  // The same arrivals with RACK off: four SACKed segments above SND.UNA start fast recovery (RFC 6675 §5).
  const legacy = open({ rack: false });
  const l = reorderTwice(legacy);
  assert.ok(retransmitted(l.sent, l.highest).length >= 1, 'duplicate-ACK counting resends segment 5');
  assert.equal(legacy.stats.TCPFastRetrans, 1);
});

test('a segment that stays missing past the reordering window is deemed lost and resent, without an RTO', () => {
  const c = open();
  c.send(bytes(10 * MSS), RTT);
  c.drainTransmit(RTT);
  const t = 2 * RTT;
  ack(c, t, at(2));
  ack(c, t + 1, at(2), [at(3), at(4)]); // one segment SACKed above the hole: reo_wnd = min_RTT / 4
  const out = runTimers(c, t + RTT / 4 + 5);
  const rtx = retransmitted(out, at(10));
  assert.deepEqual(rtx.map((s) => s.seq), [at(2)], 'segment 2 resent when its reordering window passed');
  assert.equal(c.stats.TCPTimeouts, 0);
});

test('a lost retransmission is detected by RACK and resent again before any RTO', () => {
  const c = open();
  c.send(bytes(30 * MSS), RTT);
  c.drainTransmit(RTT);
  const t = 2 * RTT;
  ack(c, t, at(2));
  ack(c, t + 3, at(2), [at(3), at(4)]);
  ack(c, t + 4, at(2), [at(3), at(5)]);
  const rtx = ack(c, t + 5, at(2), [at(3), at(6)]); // three SACKed: segment 2 is lost at once
  assert.deepEqual(retransmitted(rtx, at(10)).map((s) => s.seq), [at(2)]);
  // More SACKs: PRR releases new data, sent after the retransmission.
  const fresh = ack(c, t + 6, at(2), [at(3), at(7)]).concat(ack(c, t + 7, at(2), [at(3), at(8)]));
  const newer = fresh.filter((s) => s.payload.length > 0 && ((s.seq - at(10)) | 0) >= 0);
  assert.ok(newer.length > 0, 'new data went out after the retransmission');
  // The retransmission is lost; the new data sent after it is SACKed one RTT later: segment 2 is lost again.
  const n = newer[0]!;
  const again = ack(c, t + 6 + RTT, at(2), [at(3), at(10)]);
  const more = again.concat(ack(c, t + 6 + RTT + 1, at(2), [n.seq, (n.seq + n.payload.length) >>> 0]), runTimers(c, t + 6 + RTT + RTT / 4 + 2));
  assert.deepEqual(retransmitted(more, at(10)).map((s) => s.seq), [at(2)], 'segment 2 sent a third time');
  assert.equal(c.stats.TCPTimeouts, 0, 'no RTO');
});

test('a tail loss is repaired by one probe and fast recovery: no RTO', () => {
  const c = open();
  c.send(bytes(10 * MSS), RTT);
  c.drainTransmit(RTT);
  // Segments 0..7 arrive; 8 and 9, the tail, are lost. Nothing else would make an ACK come back.
  const t = 2 * RTT;
  ack(c, t, at(8));
  const probeAt = c.nextDeadline();
  c.onTimeout(probeAt);
  const probe = c.drainTransmit(probeAt);
  assert.deepEqual(probe.map((s) => s.seq), [at(9)], 'the probe resends the last segment');
  assert.equal(c.stats.TCPLossProbes, 1);
  // The probe arrives: the receiver SACKs segment 9. RACK: segment 8 was sent before it, so once its
  // reordering window passes, it is lost and resent.
  const after = ack(c, probeAt + RTT, at(8), [at(9), at(10)]).concat(runTimers(c, probeAt + RTT + RTT / 4 + 2));
  assert.deepEqual(after.filter((s) => s.payload.length > 0).map((s) => s.seq), [at(8)]);
  ack(c, probeAt + 2 * RTT + 30, at(10));
  assert.equal(c.stats.TCPLossProbes, 1, 'one probe');
  assert.equal(c.stats.TCPTimeouts, 0, 'no RTO');
  assert.equal(c.sndUna, at(10));
  assert.equal(c.inRecovery, false);
});

test('on a sub-millisecond path the probe waits at least 10 ms (Linux), not 2·SRTT', () => {
  const c = newConn({ ...PLAIN, sack: true });
  c.listen(0);
  c.input(seg(SYN, IRS, 0, { options: { mss: MSS, sackPermitted: true }, window: 65535 }), 0);
  c.drainTransmit(0);
  c.input(seg(ACK, IRS + 1, ISS + 1, { window: 65535 }), 0.3); // SRTT 0.3 ms
  c.send(bytes(5 * MSS), 1);
  c.drainTransmit(1);
  assert.equal(c.nextDeadline() - 1, 10);
});

test('a D-SACK widens the reordering window (RFC 8985 §6.2 step 4): a segment 40 ms late is then not resent', () => {
  const run = (dsack: boolean): TcpSegment[] => {
    const c = open();
    c.send(bytes(10 * MSS), RTT);
    c.drainTransmit(RTT);
    const t = 2 * RTT;
    const out = ack(c, t, at(2)); // min_RTT 100 ms: reo_wnd 25 ms
    // The receiver got segment 0 twice (say, a retransmission the network had only delayed): D-SACK below SND.UNA.
    if (dsack) out.push(...ack(c, t + 1, at(2), [at(0), at(1)]));
    out.push(...ack(c, t + 2, at(2), [at(3), at(4)])); // segment 2 is late
    out.push(...ack(c, t + 40, at(4))); // ... and arrives 40 ms later
    return retransmitted(out, at(10));
  };
  assert.deepEqual(run(false).map((s) => s.seq), [at(2)], 'reo_wnd 25 ms: resent');
  assert.deepEqual(run(true), [], 'reo_wnd 50 ms after the D-SACK: not resent');
});
