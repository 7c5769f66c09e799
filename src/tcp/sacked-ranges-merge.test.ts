/**
 * The record of segments in flight (recovery/rack.ts) keeps a range the receiver keeps SACKing as one entry, as
 * Linux collapses SACKed skbs (tcp_shift_skb_data): an ACK's SACK processing and RACK's walk then cost the number
 * of holes, not the number of segments SACKed so far. Before, each ACK walked every SACKed segment of the whole
 * scoreboard, and split at each block edge by walking from SND.UNA. Hand-built ACKs on a passive SACK connection;
 * MSS 1000, so segment i is [ISS+1+1000·i, +1000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, type TcpSegment } from '../wire/tcp-types.js';
import { IRS, ISS, bytes, runTimers, sackSender, seg } from './test-util.js';

const MSS = 1000;
const RTT = 10;
const N = 60;
const at = (i: number): number => (ISS + 1 + i * MSS) >>> 0;

test('a range SACKed a segment per ACK stays one entry of the record; only the holes are resent', () => {
  const c = sackSender(MSS, RTT, { initialWindowSegments: N, sendBufferAutotune: false });
  c.send(bytes(N * MSS), RTT);
  const first = c.drainTransmit(RTT).filter((s) => s.payload.length > 0);
  assert.equal(first.reduce((n, s) => n + s.payload.length, 0), N * MSS, 'the whole flight leaves at once');
  // Segments 0 and 30 are lost. Each later arrival draws an ACK whose first block is the one it extends
  // (RFC 2018 §4), the older block after it.
  const sent: TcpSegment[] = [];
  let most = 0;
  for (let k = 1; k < N; k++) {
    if (k === 30) continue;
    const now = 2 * RTT + k * 0.01;
    sent.push(...runTimers(c, now));
    const blocks = k < 30 ? [at(1), at(k + 1)] : [at(31), at(k + 1), at(1), at(30)];
    c.input(seg(ACK, IRS + 1, at(0), { window: 65535, options: { sack: blocks } }), now);
    sent.push(...c.drainTransmit(now));
    let sackedEntries = 0;
    for (let i = c.rack.head; i < c.rack.q.length; i++) if (c.rack.q[i]!.sacked) sackedEntries++;
    most = Math.max(most, sackedEntries);
  }
  // One entry per SACKed range, however many segments it covers; at the end: hole, 1–29, hole, 31–59.
  assert.ok(most <= 2, `up to ${most} SACKed entries in the record`);
  assert.equal(c.rack.q.length - c.rack.head, 4);
  assert.equal(c.sackedBytes, (N - 2) * MSS);
  // RACK deems both holes lost and they are the only data resent.
  sent.push(...runTimers(c, 2 * RTT + 1 + 2 * RTT));
  const resent = sent.filter((s) => s.payload.length > 0).map((s) => (s.seq - at(0)) / MSS);
  assert.deepEqual([...new Set(resent)].sort((a, b) => a - b), [0, 30]);
  // The holes are filled: everything is acknowledged and the record is empty.
  c.input(seg(ACK, IRS + 1, at(30), { window: 65535, options: { sack: [at(31), at(N)] } }), 5 * RTT);
  c.input(seg(ACK, IRS + 1, at(N), { window: 65535 }), 5 * RTT + 1);
  assert.equal(c.sndUna, at(N));
  assert.equal(c.rack.q.length, 0);
});
