/**
 * The SACK blocks of every ACK while many segments are held out of order (RFC 2018 §4): the block holding the
 * most recently received segment first, then the most recently reported ones, at most 4 (3 beside timestamps),
 * kept as Linux keeps them (a block pushed out of the four is not reported until it changes). Checked
 * against what the receiver holds, byte by byte, over random arrival orders (seeded): a receiver behind a loss
 * at 200 Mbit/s holds hundreds of segments, one stored block each, and builds these blocks for every ACK.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, type TcpSegment } from '../wire/tcp-types.js';
import type { TcpConnection } from './connection.js';
import { IRS, ISS, PLAIN, bytes, established, mulberry32, readAll, runTimers, seg } from './test-util.js';

const SND = ISS + 1;
const RCV = IRS + 1;
const SEG = 100, N = 300;

/**
 * The blocks RFC 2018 §4 asks for, as Linux keeps them (an independent model over held bytes): the list of blocks
 * most recently changed first, at most four remembered; the block an arrival touches moves to the front, merged with
 * any it now reaches; blocks RCV.NXT covers are dropped.
 */
class SackModel {
  list: Array<[number, number]> = [];
  arrive(a: number, b: number, rcvNxt: number): void {
    if (a > rcvNxt) {
      const hit = this.list.findIndex(([s, e]) => a <= e && s <= b);
      if (hit < 0) { this.list.unshift([a, b]); if (this.list.length > 4) this.list.pop(); } else {
        const [s, e] = this.list.splice(hit, 1)[0]!;
        let front: [number, number] = [Math.min(s, a), Math.max(e, b)];
        this.list = this.list.filter(([s2, e2]) => { if (s2 <= front[1] && front[0] <= e2) { front = [Math.min(front[0], s2), Math.max(front[1], e2)]; return false; } return true; });
        this.list.unshift(front);
      }
    }
  }
  afterDelivery(rcvNxt: number): void { this.list = this.list.filter(([s]) => s > rcvNxt); }
  blocks(max: number): number[] { return this.list.slice(0, max).flatMap(([s, e]) => [RCV + s, RCV + e]); }
}

/**
 * Every reported block is data the receiver holds beyond RCV.NXT. Not always a whole held range: as on Linux, a block
 * that was pushed out of the four is not merged back when a hole between it and a reported block fills.
 */
function heldBeyond(held: boolean[], rcvNxt: number, blocks: number[]): boolean {
  for (let i = 0; i < blocks.length; i += 2) {
    const s = blocks[i]! - RCV, e = blocks[i + 1]! - RCV;
    if (s <= rcvNxt || e <= s) return false;
    for (let b = s; b < e; b++) if (!held[b]) return false;
  }
  return true;
}

/** data[a, b) arrives at `now`: the receiver's last ACK, RCV.NXT after it, and the blocks the model expects (at most 4). */
function arrive(c: TcpConnection, model: SackModel, held: boolean[], data: Uint8Array, a: number, b: number, now: number): { ack: TcpSegment | undefined; rcvNxt: number; want: number[] } {
  model.arrive(a, b, c.rcvNxt - RCV);
  c.input(seg(ACK, RCV + a, SND, { payload: data.subarray(a, b) }), now);
  held.fill(true, a, b);
  // A duplicate ACK that SACK compression holds leaves when its timer fires, before the next arrival (1 ms later).
  const ack = c.drainTransmit(now).at(-1) ?? runTimers(c, now + c.config.sackCompressDelay).at(-1);
  const rcvNxt = c.rcvNxt - RCV;
  model.afterDelivery(rcvNxt);
  return { ack, rcvNxt, want: model.blocks(4) };
}

for (const seed of [1, 2, 3]) {
  test(`${N} segments in a random order with many holes (seed ${seed}): every ACK's SACK blocks are the kernel's list (most recently changed first), all held data`, () => {
    const random = mulberry32(seed);
    const data = bytes(N * SEG);
    const c = established({ ...PLAIN, sack: true, dsack: false, recvBufferSize: 1 << 20 }, 0, { options: { sackPermitted: true } });
    // Arrival order: every segment once, shuffled within windows of 60 so holes open and close along the way.
    const order = Array.from({ length: N }, (_, i) => i);
    for (let w = 0; w < N; w += 60) {
      for (let i = Math.min(N, w + 60) - 1; i > w; i--) { const j = w + Math.floor(random() * (i - w + 1)); [order[i], order[j]] = [order[j]!, order[i]!]; }
    }
    const held: boolean[] = new Array<boolean>(N * SEG).fill(false);
    const model = new SackModel();
    let blocksSeen = 0;
    for (const [k, i] of order.entries()) {
      const { ack, rcvNxt, want } = arrive(c, model, held, data, i * SEG, (i + 1) * SEG, 1 + k);
      if (want.length === 0) continue; // in order, nothing held: the ACK may be delayed
      assert.ok(ack, `an ACK for out-of-order segment ${i}`);
      assert.deepEqual(ack.options.sack ?? [], want, `after segment ${i} (arrival ${k})`);
      assert.ok(heldBeyond(held, rcvNxt, want), `blocks after segment ${i} are held data`);
      blocksSeen = Math.max(blocksSeen, want.length / 2);
    }
    assert.equal(blocksSeen, 4, 'the sequence reached four reportable blocks');
    assert.deepEqual(readAll(c), data);
  });
}

test('overlapping and duplicate segments in random order (seeded): every ACK\'s SACK blocks are the kernel\'s list, all held data, and the data arrives byte-exact', () => {
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
  const model = new SackModel();
  for (const [a, b] of pieces) {
    k++;
    const { ack, rcvNxt, want } = arrive(c, model, held, data, a, b, k);
    const sack = ack?.options.sack ?? [];
    if (sack.length > 0) assert.deepEqual(sack, want, `piece ${a}-${b}`);
    assert.ok(heldBeyond(held, rcvNxt, sack), `blocks after piece ${a}-${b} are held data`);
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

test('the SACK blocks of each ACK equal Linux\'s for the same arrivals (recorded from Linux 6.18: scapy segments to a kernel listener, timestamps on)', () => {
  // Relative sequence numbers of the out-of-order segments, in arrival order, and the blocks Linux 6.18 put in the
  // ACK each one drew (3 blocks beside timestamps). The last two extend an older block: Linux moves it to the front
  // and keeps the rest in the order they were last reported, not highest first.
  const arrivals: Array<[number, number, number[]]> = [
    [700, 800, [700, 800]],
    [400, 500, [400, 500, 700, 800]],
    [100, 200, [100, 200, 400, 500, 700, 800]],
    [1000, 1100, [1000, 1100, 100, 200, 400, 500]],
    [1300, 1400, [1300, 1400, 1000, 1100, 100, 200]],
    [500, 600, [400, 600, 1300, 1400, 1000, 1100]],
    [200, 300, [100, 300, 400, 600, 1300, 1400]],
  ];
  const data = bytes(1400);
  const c = established({ sack: true, dsack: false, recvBufferSize: 1 << 20 }, 0, { options: { sackPermitted: true, tsVal: 1, tsEcr: 0 } });
  for (const [k, [a, b, linux]] of arrivals.entries()) {
    c.input(seg(ACK, RCV + a, SND, { payload: data.subarray(a, b), options: { tsVal: 10 + k, tsEcr: 0 } }), 1 + k);
    // Linux's arrivals were 50 ms apart: an ACK that SACK compression held left before the next one.
    const ack = c.drainTransmit(1 + k).at(-1) ?? runTimers(c, 1 + k + c.config.sackCompressDelay).at(-1);
    assert.ok(ack, `an ACK for ${a}-${b}`);
    assert.deepEqual((ack.options.sack ?? []).map((x) => x - RCV), linux, `after ${a}-${b}`);
  }
});
