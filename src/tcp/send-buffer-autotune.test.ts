/**
 * TcpConfig.sendBufferAutotune, as Linux's tcp_sndbuf_expand: the send buffer holds two congestion windows of at
 * least 10 segments, growing with cwnd, never more than sendBufferSize. A writer that offers a whole response at
 * once has about two windows accepted; the rest waits for ACKs to make room. Without it, send() takes everything
 * sendBufferSize has room for. Segments on the wire are the same either way: the buffer only bounds what waits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK } from '../wire/tcp-types.js';
import { IRS, PLAIN, bytes, established, seg } from './test-util.js';

const MSS = 1000;
const BIG = 4 << 20;

function sender(autotune: boolean) {
  return established({ ...PLAIN, congestionControl: 'newreno', sendBufferSize: BIG, sendBufferAutotune: autotune }, 0, { options: { mss: MSS }, window: 65535 });
}

test('autotuned: a 4 MiB write is taken two initial windows at a time (2 · 10 · MSS); without autotuning, all of it', () => {
  assert.equal(sender(true).send(bytes(BIG), 1), 2 * 10 * MSS);
  assert.equal(sender(false).send(bytes(BIG), 1), BIG);
});

test('autotuned: before any ACK the room is two initial windows, the configured one when above 10 segments (Linux: the initial snd_cwnd), never below 10', () => {
  const withIw = (iw: number) => established({ ...PLAIN, congestionControl: 'newreno', sendBufferSize: BIG, initialWindowSegments: iw }, 0, { options: { mss: MSS }, window: 65535 });
  assert.equal(withIw(20).send(bytes(BIG), 1), 2 * 20 * MSS);
  assert.equal(withIw(60).send(bytes(BIG), 1), 2 * 60 * MSS);
  assert.equal(withIw(4).send(bytes(BIG), 1), 2 * 10 * MSS);
});

test('autotuned: the room grows with cwnd (2 · cwnd in whole segments) as ACKs come, and the segments sent are those of an untuned buffer', () => {
  const run = (autotune: boolean) => {
    const c = sender(autotune);
    let now = 10, queued = 0, offered = 0;
    const sent: string[] = [];
    const room: Array<[number, number]> = [];
    for (let round = 0; round < 12; round++) {
      // The writer tops the buffer up to what it accepts, as a socket does on 'drain'.
      while (offered < 400_000) {
        const n = c.send(bytes(Math.min(64 * 1024, 400_000 - offered)), now);
        if (n === 0) break;
        offered += n;
        queued += n;
      }
      room.push([c.congestionWindow, c.sendQueued]);
      const out = c.drainTransmit(now).filter((s) => s.payload.length > 0);
      if (out.length === 0) break;
      for (const s of out) sent.push(`${s.seq}+${s.payload.length}`);
      const last = out[out.length - 1]!;
      now += 10;
      c.input(seg(ACK, IRS + 1, (last.seq + last.payload.length) >>> 0, { window: 65535 }), now);
    }
    return { sent, room, queued };
  };
  const tuned = run(true), plain = run(false);
  // Each round, after the writer topped it up, the buffer held exactly 2 · max(10, cwnd) segments (cwnd grows by
  // slow start here, and the sender's window never falls short of it).
  for (const [cwnd, q] of tuned.room) assert.equal(q, 2 * MSS * Math.max(10, Math.ceil(cwnd / MSS)), `cwnd ${cwnd}: ${q} bytes queued`);
  assert.ok(tuned.room[tuned.room.length - 1]![1] > 4 * 10 * MSS, 'the limit grew with cwnd');
  assert.deepEqual(tuned.sent, plain.sent.slice(0, tuned.sent.length));
  assert.ok(tuned.sent.length > 50);
});

test('autotuned: never more than sendBufferSize', () => {
  const c = established({ ...PLAIN, sendBufferSize: 15 * MSS, sendBufferAutotune: true }, 0, { options: { mss: MSS }, window: 65535 });
  assert.equal(c.send(bytes(BIG), 1), 15 * MSS);
  assert.equal(c.sendSpace, 0);
});
