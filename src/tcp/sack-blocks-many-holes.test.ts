/**
 * The SACK blocks of every ACK while many segments are held out of order (RFC 2018 §4): the block holding the
 * most recently received segment first, then the highest blocks, at most 4 (3 beside timestamps). Checked
 * against what the receiver holds, byte by byte, over random arrival orders (seeded): a receiver behind a loss
 * at 200 Mbit/s holds hundreds of segments, one stored block each, and builds these blocks for every ACK.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK } from '../wire/tcp-types.js';
import { IRS, ISS, PLAIN, bytes, established, readAll, seg } from './test-util.js';

const SND = ISS + 1;
const RCV = IRS + 1;
const SEG = 100, N = 300;

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The blocks RFC 2018 §4 asks for, from the held bytes: the one holding `latest` first, then the highest. */
function expected(held: boolean[], rcvNxt: number, latest: number, max: number): number[] {
  const ranges: Array<[number, number]> = [];
  for (let i = rcvNxt; i < held.length;) {
    if (!held[i]) { i++; continue; }
    const s = i;
    while (i < held.length && held[i]) i++;
    ranges.push([s, i]);
  }
  const out: number[] = [];
  const first = ranges.find(([s, e]) => s <= latest && latest < e);
  if (first) out.push(RCV + first[0], RCV + first[1]);
  for (let k = ranges.length - 1; k >= 0 && out.length < 2 * max; k--) if (ranges[k] !== first) out.push(RCV + ranges[k]![0], RCV + ranges[k]![1]);
  return out;
}

for (const seed of [1, 2, 3]) {
  test(`${N} segments in a random order with many holes (seed ${seed}): every ACK's SACK blocks are those the held data gives`, () => {
    const random = rng(seed);
    const data = bytes(N * SEG);
    const c = established({ ...PLAIN, sack: true, dsack: false, recvBufferSize: 1 << 20 }, 0, { options: { sackPermitted: true } });
    // Arrival order: every segment once, shuffled within windows of 60 so holes open and close along the way.
    const order = Array.from({ length: N }, (_, i) => i);
    for (let w = 0; w < N; w += 60) {
      for (let i = Math.min(N, w + 60) - 1; i > w; i--) { const j = w + Math.floor(random() * (i - w + 1)); [order[i], order[j]] = [order[j]!, order[i]!]; }
    }
    const held: boolean[] = new Array<boolean>(N * SEG).fill(false);
    let blocksSeen = 0;
    for (const [k, i] of order.entries()) {
      c.input(seg(ACK, RCV + i * SEG, SND, { payload: data.subarray(i * SEG, (i + 1) * SEG) }), 1 + k);
      held.fill(true, i * SEG, (i + 1) * SEG);
      const acks = c.drainTransmit(1 + k);
      const rcvNxt = c.rcvNxt - RCV;
      const want = expected(held, rcvNxt, i * SEG, 4);
      if (want.length === 0) continue; // in order, nothing held: the ACK may be delayed
      const ack = acks.at(-1);
      assert.ok(ack, `an ACK for out-of-order segment ${i}`);
      assert.deepEqual(ack.options.sack ?? [], want, `after segment ${i} (arrival ${k})`);
      blocksSeen = Math.max(blocksSeen, want.length / 2);
    }
    assert.equal(blocksSeen, 4, 'the sequence reached four reportable blocks');
    assert.deepEqual(readAll(c), data);
  });
}
