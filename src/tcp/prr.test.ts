/**
 * Proportional Rate Reduction (RFC 6937) during fast recovery, on the RFC's first example: a full window of
 * 20 segments, one lost, NewReno's ssthresh (half the flight), one ACK for each segment delivered. PRR spreads
 * the reduction over the recovery round trip — the fast retransmit, then one segment for every two ACKs —
 * where RFC 6675 would send nothing for half an RTT and then a burst. Then the RFC's PRR-SSRB case: after
 * heavy losses pipe is below ssthresh and each ACK releases what it delivered plus one segment (slow start).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, type TcpSegment } from '../wire/tcp-types.js';
import { IRS, ISS, bytes, sackSender, seg } from './test-util.js';
import type { TcpConnection } from './connection.js';

const MSS = 1000;
const RTT = 100;
const at = (i: number): number => ISS + 1 + i * MSS;

/** A SACK sender with NewReno (β = 1/2 as in RFC 6937's examples) and a 20-segment window in flight. */
function fullWindow(): { c: TcpConnection; flight: TcpSegment[] } {
  const c = sackSender(MSS, RTT, { congestionControl: 'newreno', initialWindowSegments: 20, sendBufferAutotune: false });
  c.send(bytes(60 * MSS), RTT);
  const flight = c.drainTransmit(RTT);
  assert.equal(flight.length, 20);
  return { c, flight };
}

function sackAck(c: TcpConnection, now: number, cum: number, blocks: number[]): TcpSegment[] {
  c.input(seg(ACK, IRS + 1, cum, { window: 65535, options: { sack: blocks } }), now);
  return c.drainTransmit(now).filter((s) => s.payload.length > 0);
}

/**
 * RFC 6937 §3's pseudo-code in whole segments, as a reference: for each ACK in recovery that delivers one
 * segment, the number of segments it lets the sender transmit. `pipe` is the pipe after the ACK was processed.
 */
function prrReference(ssthresh: number, recoverFs: number): (pipe: number) => number {
  let delivered = 0, out = 0;
  return (pipe) => {
    delivered += 1;
    let sndcnt = pipe > ssthresh
      ? Math.ceil((delivered * ssthresh) / recoverFs) - out
      : Math.min(ssthresh - pipe, Math.max(delivered - out, 1) + 1);
    if (out === 0 && sndcnt <= 0) sndcnt = 1;
    sndcnt = Math.max(0, sndcnt);
    out += sndcnt;
    return sndcnt;
  };
}

test('PRR, RFC 6937 example 1: one loss in 20 segments — the retransmission, then one segment per two ACKs, ending at ssthresh', () => {
  const { c } = fullWindow();
  // Segment 0 is lost; 1..19 arrive, each answered by an ACK that SACKs everything received so far.
  const sentPerAck: number[] = [];
  const expected: number[] = [];
  let reference: ((pipe: number) => number) | null = null;
  let pipe = 0;
  for (let i = 1; i <= 19; i++) {
    const before = c.inRecovery;
    const flightBefore = (c.sndNxt - c.sndUna) / MSS;
    const out = sackAck(c, 2 * RTT + i, at(0), [at(1), at(i + 1)]);
    sentPerAck.push(out.length);
    if (!before && c.inRecovery) {
      // Recovery starts: RecoverFS = FlightSize, ssthresh = FlightSize / 2 (NewReno), pipe = outstanding − SACKed − lost.
      reference = prrReference(flightBefore / 2, flightBefore);
      pipe = flightBefore - i - 1;
    } else if (reference) {
      pipe -= 1; // this ACK SACKed one more segment
    }
    if (reference) { const n = reference(pipe); expected.push(n); pipe += n; } else expected.push(out.length);
  }
  // Before recovery (ACKs 1, 2) each SACK lowers pipe by one segment: a new segment each (RFC 6675 pipe).
  // ACK 3 (three segments SACKed: RACK's reo_wnd is then 0) starts recovery with ssthresh = FlightSize/2.
  assert.equal(c.slowStartThreshold, 11 * MSS);
  assert.deepEqual(sentPerAck, expected);
  assert.deepEqual(sentPerAck.slice(0, 6), [1, 1, 1, 0, 1, 0], 'the retransmission on ACK 3, then one segment per two ACKs');
  assert.ok(sentPerAck.every((n) => n <= 1), 'never a burst');
  assert.equal(c.stats.RetransSegs, 1, 'only the lost segment was resent');
  // At the end of the round pipe has come down to ssthresh.
  const enginePipe = (c.sndNxt - c.sndUna) - c.sackedBytes - c.rack.lostBytes;
  assert.equal(enginePipe, pipe * MSS);
  assert.equal(enginePipe, c.slowStartThreshold);
});

test('PRR-SSRB, RFC 6937 example 2: after a burst of losses pipe is below ssthresh and each ACK sends what it delivered plus one segment', () => {
  const { c } = fullWindow();
  // Segments 0..13 are lost; 14..19 arrive. The third SACK starts recovery; by then pipe (20 − 3 SACKed − 14
  // lost) is far below ssthresh (10 segments).
  const sent: number[] = [];
  for (let i = 14; i <= 19; i++) sent.push(sackAck(c, 2 * RTT + i, at(0), [at(14), at(i + 1)]).length);
  assert.ok(c.inRecovery);
  const firstInRecovery = sent.findIndex((_, k) => k >= 2);
  // From the ACK that starts recovery on: sndcnt = MIN(ssthresh − pipe, MAX(prr_delivered − prr_out, DeliveredData) + MSS),
  // i.e. two segments per ACK that delivers one.
  assert.deepEqual(sent.slice(firstInRecovery + 1), [2, 2, 2]);
  assert.ok((c.sndNxt - c.sndUna) - c.sackedBytes - c.rack.lostBytes <= c.slowStartThreshold);
});
