/**
 * TcpConfig.recvBufferAutotune, as Linux's dynamic right-sizing (tcp_rcv_space_adjust): the window a receiver
 * offers starts at 64 KiB and grows as the application reads, once per receiver RTT, up to recvBufferSize; a
 * reader that stops gets no growth; a fixed buffer offers all of recvBufferSize; the right edge never moves left
 * (RFC 7323 §2.4, RFC 9293 §3.8.6.2.2). Two engines on the in-memory pair (10 ms each way), in virtual time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, RST, SYN, seqGt, seqLt } from '../wire/tcp-types.js';
import type { TcpConfig } from './config.js';
import { TcpConnection } from './connection.js';
import { Pair, type Fate } from './pair.js';
import { RCV_INITIAL_WINDOW } from './receive-window.js';
import { bytes, mulberry32, readAll } from './test-util.js';

const BUF = 4 << 20;

interface Run { p: Pair; got: Uint8Array; data: Uint8Array; windows: number[]; edges: number[]; times: number[] }

/**
 * a sends `n` bytes to b; b reads after every step while `reads(now)` says so. Returns what b read and, for each
 * segment b sent after the handshake, the window it offered (scaled) and its right edge (SEG.ACK + window).
 */
function transfer(n: number, recv: Partial<TcpConfig>, opts: { reads?: (p: Pair) => boolean; fate?: (from: 'a' | 'b', s: unknown, i: number) => Fate; jitter?: (from: 'a' | 'b') => number; until?: number } = {}): Run {
  const a = new TcpConnection({ localPort: 40000, remotePort: 80, iss: 0xffff0000, config: { sendBufferSize: BUF } });
  const b = new TcpConnection({ localPort: 80, remotePort: 40000, iss: 7, config: { recvBufferSize: BUF, ...recv } });
  b.listen(0);
  const p = new Pair(a, b, { delay: 10, fate: opts.fate, jitter: opts.jitter });
  a.connect(0);
  const data = bytes(n, 3);
  let off = 0;
  const got: Uint8Array[] = [];
  let gotLen = 0;
  p.onStep = (q) => {
    if (q.a.state === 'ESTABLISHED' && off < n) off += q.a.send(data.subarray(off), q.now);
    if (opts.reads === undefined || opts.reads(q)) {
      const r = readAll(q.b);
      if (r.length) { got.push(r); gotLen += r.length; }
    }
  };
  p.run(() => gotLen >= n, opts.until ?? 120_000);
  const all = new Uint8Array(gotLen);
  let o = 0;
  for (const g of got) { all.set(g, o); o += g.length; }
  const windows: number[] = [], edges: number[] = [], times: number[] = [];
  for (const r of p.log) {
    const s = r.seg;
    if (r.from !== 'b' || (s.flags & (SYN | RST)) || !(s.flags & ACK)) continue;
    const w = s.window << b.rcvShift;
    windows.push(w);
    edges.push((s.ack + w) >>> 0);
    times.push(r.time);
  }
  return { p, got: all, data, windows, edges, times };
}

/** Index of the first edge left of an earlier one (the right edge moved left), or -1. */
function shrinkAt(edges: number[]): number {
  let right = edges[0]!;
  for (let i = 1; i < edges.length; i++) {
    if (seqLt(edges[i]!, right)) return i;
    if (seqGt(edges[i]!, right)) right = edges[i]!;
  }
  return -1;
}

test('autotuned: the window starts at 64 KiB and grows as the reader keeps up; its right edge never moves left', () => {
  // A buffer the transfer does not exhaust: at recvBufferSize itself a window that cannot round up to the
  // scale's unit truncates, as a fixed buffer does (RFC 7323 §2.4).
  const r = transfer(8 << 20, { recvBufferSize: 64 << 20 });
  assert.deepEqual(r.got, r.data);
  assert.ok(r.windows.length > 100);
  assert.ok(r.windows.slice(0, 5).every((w) => w <= RCV_INITIAL_WINDOW), `the first ACKs offer at most 64 KiB: ${r.windows.slice(0, 5)}`);
  // Growth once per receiver RTT (20 ms), after the reader has read: none in the first round trip of data.
  const firstGrowth = r.windows.findIndex((w) => w > RCV_INITIAL_WINDOW);
  assert.ok(firstGrowth > 0 && r.times[firstGrowth]! >= r.times[0]! + 20, `first grown window at ${r.times[firstGrowth]} ms`);
  const max = Math.max(...r.windows);
  assert.ok(max > 16 * RCV_INITIAL_WINDOW && max < 64 << 20, `grew with the transfer to ${max}, not to the whole buffer`);
  assert.equal(shrinkAt(r.edges), -1, `the right edge moved left at b's segment ${shrinkAt(r.edges)}`);
});

test('autotuned: never more than recvBufferSize', () => {
  const r = transfer(8 << 20, { recvBufferSize: 256 << 10 });
  assert.deepEqual(r.got, r.data);
  const max = Math.max(...r.windows);
  assert.ok(max <= 256 << 10 && max > 192 << 10, `largest window ${max}`);
});

test('autotuned: a reader that stops reading gets no growth: the sender is held to the first 64 KiB', () => {
  const r = transfer(1 << 20, {}, { reads: () => false, until: 10_000 });
  assert.equal(r.got.length, 0);
  const taken = r.p.b.readableLength;
  // The right edge is held, not moved left: each ACK offers at most one unit of the window scale more, rounding
  // the held edge up (as Linux's tcp_select_window ALIGNs it), never a grown window.
  const unit = 1 << r.p.b.rcvShift;
  assert.ok(taken >= RCV_INITIAL_WINDOW - 1460 && taken <= RCV_INITIAL_WINDOW + r.windows.length * unit, `${taken} bytes taken unread`);
  assert.ok(Math.max(...r.windows) <= RCV_INITIAL_WINDOW + unit, `windows offered: max ${Math.max(...r.windows)}`);
  assert.equal(r.windows.at(-1), 0, 'the window closed');
  assert.equal(shrinkAt(r.edges), -1, 'the right edge never moved left');
});

test('autotuned: a reader that stops after 100 ms gets no more growth: what it then takes unread is bounded by the window it had grown', () => {
  const STOP = 100, RTT = 20;
  const r = transfer(16 << 20, {}, { reads: (p) => p.now < STOP, until: 5_000 });
  // The reads before STOP are counted at the next arrival (within one RTT); after that nothing grows.
  const before = r.windows.filter((_, i) => r.times[i]! < STOP + RTT);
  const after = r.windows.filter((_, i) => r.times[i]! >= STOP + RTT);
  const grown = Math.max(...before);
  const unit = 1 << r.p.b.rcvShift;
  assert.ok(grown > RCV_INITIAL_WINDOW && grown < BUF / 4, `grew to ${grown} while reading`);
  assert.ok(after.length > 10 && Math.max(...after) <= grown + unit, `no window above ${grown} once reading stopped: ${Math.max(...after)}`);
  const unread = r.p.b.readableLength;
  assert.ok(unread > 0 && unread <= grown + after.length * unit, `${unread} bytes taken unread`);
  assert.equal(r.windows.at(-1), 0, 'the window closed');
  assert.equal(shrinkAt(r.edges), -1, 'the right edge never moved left');
});

test('fixed (recvBufferAutotune: false): the whole recvBufferSize is offered from the first ACK, as before', () => {
  const r = transfer(1 << 20, { recvBufferAutotune: false }, { reads: () => false, until: 10_000 });
  assert.ok(r.windows[0]! > BUF - (64 << 10), `first window ${r.windows[0]}`);
  assert.equal(r.p.b.readableLength, 1 << 20, 'everything sent was taken unread');
});

test('autotuned, seeded loss and reordering both ways: bytes intact, the window grew, its right edge never moved left', () => {
  for (const seed of [1, 2, 3]) {
    const rnd = mulberry32(seed);
    // A buffer the transfer does not exhaust, as in the first test: at recvBufferSize itself a full buffer
    // truncates the scaled window (RFC 7323 §2.4), which an ACK right after an in-order run (a quick ACK while
    // the window opens, arrive/quick-ack.ts) showed with seed 3, 120 bytes left at a 4 MiB buffer.
    const r = transfer(4 << 20, { recvBufferSize: 64 << 20 }, {
      fate: () => (rnd() < 0.02 ? 'drop' : rnd() < 0.01 ? 'duplicate' : 'deliver'),
      jitter: () => (rnd() < 0.05 ? rnd() * 8 : 0),
      until: 600_000,
    });
    assert.equal(r.got.length, r.data.length, `seed ${seed}`);
    assert.deepEqual(r.got, r.data, `seed ${seed}`);
    assert.ok(Math.max(...r.windows) > 2 * RCV_INITIAL_WINDOW, `seed ${seed}: grew to ${Math.max(...r.windows)}`);
    // Reordered and duplicated ACKs may carry older edges; the edges b offered, in the order it sent them, never recede.
    assert.equal(shrinkAt(r.edges), -1, `seed ${seed}: the right edge moved left at b's segment ${shrinkAt(r.edges)}`);
  }
});
