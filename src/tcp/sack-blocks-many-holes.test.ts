/**
 * The SACK blocks of every ACK while many segments are held out of order (RFC 2018 §4): the block holding the
 * most recently received segment first, then the highest blocks, at most 4 (3 beside timestamps). Checked
 * against what the receiver holds, byte by byte, over random arrival orders (seeded): a receiver behind a loss
 * at 200 Mbit/s holds hundreds of segments, one stored block each, and builds these blocks for every ACK.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK } from '../wire/tcp-types.js';
import { IRS, ISS, PLAIN, bytes, established, mulberry32, readAll, seg } from './test-util.js';

const SND = ISS + 1;
const RCV = IRS + 1;
const SEG = 100, N = 300;

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
    const random = mulberry32(seed);
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

test('overlapping and duplicate segments in random order (seeded): every SACK block is a whole held range and the data arrives byte-exact', () => {
  const random = mulberry32(7);
  const size = 30_000;
  const data = bytes(size).map((_, i) => i * 7);
  const c = established({ ...PLAIN, sack: true, dsack: false, recvBufferSize: 1 << 20 }, 0, { options: { sackPermitted: true } });
  const held: boolean[] = new Array<boolean>(size).fill(false);
  let k = 0;
  // Random pieces (10-400 bytes) anywhere, then the whole range again in order to close every hole.
  const pieces: Array<[number, number]> = [];
  for (let n = 0; n < 400; n++) { const a = Math.floor(random() * (size - 10)); pieces.push([a, Math.min(size, a + 10 + Math.floor(random() * 390))]); }
  for (let a = 0; a < size; a += 500) pieces.push([a, Math.min(size, a + 500)]);
  for (const [a, b] of pieces) {
    k++;
    c.input(seg(ACK, RCV + a, SND, { payload: data.subarray(a, b) }), k);
    held.fill(true, a, b);
    const acks = c.drainTransmit(k);
    const sack = acks.at(-1)?.options.sack ?? [];
    const rcvNxt = c.rcvNxt - RCV;
    for (let j = 0; j < sack.length; j += 2) {
      const s = sack[j]! - RCV, e = sack[j + 1]! - RCV;
      assert.ok(s > rcvNxt && e > s, `block ${s}-${e} beyond RCV.NXT ${rcvNxt}`);
      assert.ok(held.slice(s, e).every(Boolean) && !held[s - 1] && !held[e], `block ${s}-${e} is a whole held range (piece ${a}-${b})`);
    }
  }
  assert.equal(c.rcvNxt, RCV + size);
  assert.deepEqual(readAll(c), data);
});

test('a segment overlapping data held beyond a hole (seeded random pieces): its D-SACK block is the first held run it overlaps (RFC 2883 §4.1.2)', () => {
  const random = mulberry32(11);
  const size = 30_000;
  const data = bytes(size).map((_, i) => i * 3);
  const c = established({ ...PLAIN, sack: true, dsack: true, recvBufferSize: 1 << 20 }, 0, { options: { sackPermitted: true } });
  const held: boolean[] = new Array<boolean>(size).fill(false);
  let checked = 0;
  for (let k = 1; k <= 600; k++) {
    const a = 100 + Math.floor(random() * (size - 600)), b = a + 10 + Math.floor(random() * 390);
    const rcvNxt = c.rcvNxt - RCV;
    let h = -1;
    for (let x = Math.max(a, rcvNxt); x < b; x++) if (held[x]) { h = x; break; }
    let runEnd = h;
    while (h >= 0 && runEnd < b && held[runEnd]) runEnd++;
    c.input(seg(ACK, RCV + a, SND, { payload: data.subarray(a, b) }), k);
    held.fill(true, a, b);
    const sack = c.drainTransmit(k).at(-1)?.options.sack ?? [];
    if (h < 0 || a < rcvNxt) continue;
    assert.deepEqual(sack.slice(0, 2), [RCV + h, RCV + runEnd], `piece ${a}-${b}`);
    checked++;
  }
  assert.ok(checked > 100, `${checked} duplicates checked`);
});
