/**
 * The RACK record reuses the entries of acknowledged segments for the next ones sent (recovery/rack.ts logSent,
 * logAcked), so a bulk sender does not allocate one per segment. A reused entry must carry nothing of the segment
 * it described before: a SACKed or retransmitted one's marks would hide a loss from RACK or its RTT sample.
 * Hand-built ACKs on a passive connection whose handshake measured 100 ms; MSS 1000, segment i is [ISS+1+1000·i, +1000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, type TcpSegment } from '../wire/tcp-types.js';
import { IRS, ISS, bytes, runTimers, sackSender, seg } from './test-util.js';
import type { TcpConnection } from './connection.js';

const MSS = 1000;
const RTT = 100;
const at = (i: number): number => (ISS + 1 + i * MSS) >>> 0;

function ack(c: TcpConnection, now: number, cum: number, sack?: [number, number]): TcpSegment[] {
  const out = runTimers(c, now);
  c.input(seg(ACK, IRS + 1, cum, { window: 65535, options: sack ? { sack } : {} }), now);
  return out.concat(c.drainTransmit(now));
}

const resent = (segs: TcpSegment[], below: number): number[] =>
  segs.filter((s) => s.payload.length > 0 && ((s.seq - below) | 0) < 0).map((s) => ((s.seq - ISS - 1) | 0) / MSS);

test('entries reused after a SACK carry no mark: a loss among the segments they describe is found by RACK and resent, no RTO', () => {
  const c = sackSender(MSS, RTT);
  c.send(bytes(10 * MSS), RTT);
  assert.equal(c.drainTransmit(RTT).length, 10);
  const t = 2 * RTT;
  // Segment 2 is late: 3 is SACKed, then 2 arrives (reordering, within RACK's window: nothing resent). Entries 0..4
  // are freed, 3's with its SACK marks; 5..9 are still in flight, so they are kept for reuse.
  const early = ack(c, t, at(2)).concat(ack(c, t + 1, at(2), [at(3), at(4)]), ack(c, t + 2, at(5)));
  assert.deepEqual(resent(early, at(10)), []);
  // Five more segments, 10..14, on the freed entries (the last freed first: 11 takes 3's).
  c.send(bytes(5 * MSS), t + 2);
  const fresh = c.drainTransmit(t + 2);
  assert.deepEqual(fresh.map((s) => s.seq), [10, 11, 12, 13, 14].map(at));
  // 5..10 arrive, 11 is lost, 12..14 are SACKed: RACK deems 11 lost once its reordering window passes and resends it.
  const t2 = t + RTT + 2;
  const out = ack(c, t2, at(11));
  for (let k = 12; k <= 14; k++) out.push(...ack(c, t2 + k - 11, at(11), [at(12), at(k + 1)]));
  out.push(...runTimers(c, t2 + RTT / 2));
  assert.deepEqual(resent(out, at(15)), [11], 'segment 11 resent once');
  ack(c, t2 + RTT, at(15));
  assert.equal(c.sndUna, at(15));
  assert.equal(c.stats.TCPTimeouts, 0, 'no RTO');
  assert.equal(c.stats.RetransSegs, 1);
});
