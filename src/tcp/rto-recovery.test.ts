/**
 * After a retransmission timeout (RFC 6298 §5), only what the peer has not SACKed is resent (Linux
 * tcp_enter_loss, RFC 8985 §6.3); a second timeout in a row forgets the scoreboard in case the receiver reneged
 * (RFC 2018 §8). Hand-built ACKs on a passive connection whose handshake measured 100 ms; MSS 1000, segment i is
 * [ISS+1+1000·i, +1000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, type TcpSegment } from '../wire/tcp-types.js';
import { IRS, ISS, bytes, sackSender, seg } from './test-util.js';
import type { TcpConnection } from './connection.js';

const MSS = 1000;
const RTT = 100;
const at = (i: number): number => (ISS + 1 + i * MSS) >>> 0;
const index = (s: TcpSegment): number => ((s.seq - at(0)) | 0) / MSS;

const open = (): TcpConnection => sackSender(MSS, RTT, { initialWindowSegments: 20 });

function ack(c: TcpConnection, now: number, cum: number, sack?: [number, number]): TcpSegment[] {
  c.input(seg(ACK, IRS + 1, cum, { window: 65535, options: sack ? { sack } : {} }), now);
  return c.drainTransmit(now);
}

/** Fire the next timer; returns its time and what went out. */
function nextTimer(c: TcpConnection): { t: number; out: TcpSegment[] } {
  const t = c.nextDeadline();
  c.onTimeout(t);
  return { t, out: c.drainTransmit(t) };
}

/**
 * The receiver: which of segments 0..n-1 it holds. Its ACK: the first missing segment, and SACK blocks for the
 * runs above it, at most three (with timestamps there is room for three, RFC 2018 §3), the highest first.
 */
function receiverAck(has: boolean[]): { cum: number; sack: number[] } {
  let cum = 0;
  while (cum < has.length && has[cum]) cum++;
  const runs: number[] = [];
  for (let i = cum; i < has.length; i++) {
    if (!has[i]) continue;
    let j = i;
    while (j < has.length && has[j]) j++;
    runs.unshift(at(i), at(j));
    i = j;
  }
  return { cum: at(cum), sack: runs.slice(0, 6) };
}

/**
 * Fourteen segments; 2, 4, 6, 8 and 10 are lost and so are their fast retransmissions; the rest arrive and are
 * SACKed in five ranges. The RTO fires; each retransmission after it arrives and is acknowledged, the ACK
 * reporting only the three highest ranges. Returns the segments resent after the RTO, by index.
 */
function lossThenRto(): { c: TcpConnection; resent: number[] } {
  const c = open();
  c.send(bytes(14 * MSS), RTT);
  assert.equal(c.drainTransmit(RTT).length, 14);
  const has = Array.from({ length: 14 }, (_, i) => i < 2 || (i % 2 === 1 && i < 10) || i > 10);
  // The SACKs arrive one range at a time, so all five ranges are known before the timeout.
  for (let k = 3; k <= 13; k += 2) {
    const sack: number[] = [];
    for (let r = k; r >= 3; r -= 2) sack.push(at(r), at(r === 11 ? 14 : r + 1));
    ack(c, 2 * RTT + k, at(2), sack.slice(0, 8) as [number, number]);
  }
  assert.equal(c.sackedBytes, 7 * MSS);
  let rto = nextTimer(c);
  for (let n = 0; c.stats.TCPTimeouts === 0; n++) { assert.ok(n < 50, 'an RTO fires'); rto = nextTimer(c); }
  const resent: number[] = rto.out.filter((s) => s.payload.length > 0).map(index);
  for (let t = rto.t + RTT, n = 0; c.sndUna !== at(14); t += 1, n++) {
    assert.ok(n < 30, `recovery ends (resent ${resent.join(',')})`);
    for (const i of resent) has[i] = true;
    const a = receiverAck(has);
    resent.push(...ack(c, t, a.cum, a.sack.length ? a.sack as [number, number] : undefined).filter((s) => s.payload.length > 0).map(index));
  }
  return { c, resent };
}

test('after an RTO only the data the peer has not SACKed is resent (no go-back-N over SACKed segments)', () => {
  const { c, resent } = lossThenRto();
  assert.deepEqual(resent, [2, 4, 6, 8, 10]);
  assert.equal(c.sndUna, at(14));
  assert.equal(c.stats.TCPTimeouts, 1);
});

test('a second RTO in a row forgets the scoreboard (the receiver may have reneged) and resends from SND.UNA', () => {
  const c = open();
  c.send(bytes(10 * MSS), RTT);
  c.drainTransmit(RTT);
  ack(c, 2 * RTT, at(2), [at(4), at(10)]);
  for (let n = 0; c.stats.TCPTimeouts < 2; n++) { assert.ok(n < 50, 'two RTOs fire'); nextTimer(c); }
  assert.equal(c.sackedBytes, 0, 'scoreboard forgotten');
  // The peer did renege: it acknowledges 2..3, then each segment as it arrives again.
  const resent: number[] = [];
  let t = c.nextDeadline() - 1;
  for (let i = 3; i <= 10 && c.sndUna !== at(10); i++) { // (bounded: the test fails below if SND.UNA stops short)
    t += 1;
    resent.push(...ack(c, t, at(i)).filter((s) => s.payload.length > 0).map(index));
  }
  assert.ok(resent.includes(4) && resent.includes(9), `4..9 resent: ${resent.join(',')}`);
  assert.equal(c.sndUna, at(10));
});
