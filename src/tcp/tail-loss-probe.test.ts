/**
 * Tail loss probe (RFC 8985 §7, tailLossProbe, on by default as in Linux) and the user timeout (RFC 9293 §3.10.8, RFC 5482's
 * TCP_USER_TIMEOUT), on a passive connection whose handshake measured an RTT of 100 ms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, FIN } from '../wire/tcp-types.js';
import { IRS, ISS, bytes, sackSender, seg } from './test-util.js';
import type { TcpConfig } from './config.js';
import type { TcpConnection } from './connection.js';

const MSS = 1000;
const RTT = 100;

function open(config: Partial<TcpConfig>): { c: TcpConnection; now: number } {
  const c = sackSender(MSS, RTT, config); // SRTT = 100 ms, RTO = max(200, 100 + 4·50) = 300
  assert.equal(c.state, 'ESTABLISHED');
  return { c, now: RTT };
}

/** Segments sent when the connection's next timer fires. */
function fire(c: TcpConnection): { at: number; segs: ReturnType<TcpConnection['drainTransmit']> } {
  const at = c.nextDeadline();
  c.onTimeout(at);
  return { at, segs: c.drainTransmit(at) };
}

test('a lost tail: the probe at 2·SRTT resends the last segment (not SND.UNA), then the RTO is armed anew', () => {
  const { c, now } = open({ tailLossProbe: true });
  c.send(bytes(5 * MSS), now);
  const flight = c.drainTransmit(now);
  assert.equal(flight.length, 5);
  const probe = fire(c);
  assert.equal(probe.at - now, 2 * RTT);
  assert.equal(probe.segs.length, 1);
  assert.equal(probe.segs[0]!.seq, ISS + 1 + 4 * MSS, 'the probe carries the last segment');
  assert.equal(probe.segs[0]!.payload.length, MSS);
  assert.equal(c.stats.TCPLossProbes, 1);
  // No second probe: the RTO follows, one RTO after the probe, from SND.UNA.
  const rto = fire(c);
  assert.equal(rto.at - probe.at, 300);
  assert.equal(rto.segs[0]!.seq, ISS + 1);
  assert.equal(c.stats.TCPLossProbes, 1);
});

test('the probe draws a SACK for the tail: fast recovery repairs the holes before any RTO', () => {
  const { c, now } = open({ tailLossProbe: true });
  c.send(bytes(8 * MSS), now);
  c.drainTransmit(now);
  const probe = fire(c);
  // Segments 3..7 (of 0..7) arrived, 0..2 did not, and no ACK came back: the probe's ACK SACKs 3..8 MSS
  // (three segments and more above SND.UNA: RFC 6675's loss trigger), SND.UNA unchanged.
  const t = probe.at + RTT; // = the first RTO's time: only the probe's re-armed RTO keeps it from firing
  while (c.nextDeadline() <= t) fire(c);
  c.input(seg(ACK, IRS + 1, ISS + 1, { window: 65535, options: { sack: [ISS + 1 + 3 * MSS, ISS + 1 + 8 * MSS] } }), t);
  const out = c.drainTransmit(t);
  assert.ok(out.some((s) => s.seq === ISS + 1 && s.payload.length > 0), 'the first hole was not retransmitted on the SACK');
  assert.equal(c.stats.TCPTimeouts, 0);
});

test('one segment in flight: PTO = max(2·SRTT, 1.5·SRTT + 200 ms), never past the RTO (here the RTO, 300 ms)', () => {
  const { c, now } = open({ tailLossProbe: true });
  c.send(bytes(MSS), now);
  c.drainTransmit(now);
  const probe = fire(c);
  assert.equal(probe.at - now, 300);
  assert.equal(c.stats.TCPLossProbes, 1, 'the probe, not the RTO, fired');
  assert.equal(c.stats.TCPTimeouts, 0);
});

test('a FIN at the tail is probed alone', () => {
  const { c, now } = open({ tailLossProbe: true });
  c.send(bytes(3 * MSS), now);
  c.shutdown(now);
  const sent = c.drainTransmit(now);
  assert.ok(sent[sent.length - 1]!.flags & FIN);
  const probe = fire(c);
  assert.equal(probe.segs.length, 1);
  assert.equal(probe.segs[0]!.flags & FIN, FIN);
  assert.equal(probe.segs[0]!.payload.length, 0);
});

test('with tailLossProbe off the first retransmission is the RTO, from SND.UNA', () => {
  const { c, now } = open({ tailLossProbe: false });
  c.send(bytes(5 * MSS), now);
  c.drainTransmit(now);
  const rto = fire(c);
  assert.equal(rto.at - now, 300);
  assert.equal(rto.segs[0]!.seq, ISS + 1);
  assert.equal(c.stats.TCPLossProbes, 0);
});

test('user timeout: nothing acknowledged for 3 s → ETIMEDOUT and CLOSED; without it the RTOs go on', () => {
  for (const userTimeout of [3000, 0]) {
    const { c, now } = open({});
    c.setUserTimeout(userTimeout);
    c.send(bytes(MSS), now);
    c.drainTransmit(now);
    c.drainEvents();
    let t = now;
    while (t - now < 10_000 && c.state !== 'CLOSED') { t = c.nextDeadline(); c.onTimeout(t); c.drainTransmit(t); }
    if (userTimeout) {
      assert.equal(c.state, 'CLOSED');
      const errors = c.drainEvents().filter((e) => e.type === 'error') as Array<{ code: string }>;
      assert.equal(errors[0]?.code, 'ETIMEDOUT');
      assert.ok(t - now >= 3000 && t - now < 3000 + 2400, `aborted after ${t - now} ms`);
    } else {
      assert.equal(c.state, 'ESTABLISHED', 'aborted without a user timeout');
    }
  }
});

test('user timeout: progress restarts the clock', () => {
  const { c, now } = open({ userTimeout: 1000 });
  c.send(bytes(10 * MSS), now);
  c.drainTransmit(now);
  // An ACK of one segment every 800 ms: never 1 s without progress.
  let t = now;
  for (let i = 1; i <= 5; i++) {
    t = now + 800 * i;
    while (c.nextDeadline() <= t) { const d = c.nextDeadline(); c.onTimeout(d); c.drainTransmit(d); }
    c.input(seg(ACK, IRS + 1, ISS + 1 + i * MSS, { window: 65535 }), t);
    c.drainTransmit(t);
  }
  assert.equal(c.state, 'ESTABLISHED');
});
