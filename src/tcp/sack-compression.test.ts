/**
 * SACK compression (sack-compression.ts), replaying what Linux 6.18 did (scapy against a kernel listener, after its
 * quick-ACK phase, net.ipv4.tcp_comp_sack_nr 44): twelve out-of-order segments back to back behind a hole drew three
 * ACKs at once (SACK [100,200), [100,300), [100,400)) and one more 127 µs later with the latest block [100,1300);
 * the hole-filling segment drew ACK 1300 at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, type TcpSegment } from '../wire/tcp-types.js';
import type { TcpConfig } from './config.js';
import type { TcpConnection } from './connection.js';
import { IRS, ISS, PLAIN, bytes, established, runTimers, seg } from './test-util.js';

const D = IRS + 1;
const open = (config: Partial<TcpConfig> = {}): TcpConnection =>
  established({ ...PLAIN, sack: true, timestamps: true, ...config }, 0, { options: { sackPermitted: true, tsVal: 1, tsEcr: 0 }, ackOptions: { tsVal: 2, tsEcr: 1 } });
const arrive = (c: TcpConnection, off: number, now: number): TcpSegment[] => {
  c.input(seg(ACK, D + off, ISS + 1, { payload: bytes(100), options: { tsVal: 3, tsEcr: 1 } }), now);
  return c.drainTransmit(now);
};
const view = (acks: TcpSegment[]): Array<[number, number[]]> => acks.map((a) => [a.ack - D, (a.options.sack ?? []).map((x) => x - D)]);

test('a burst of out-of-order segments draws three ACKs at once and one held ACK with the latest blocks, as Linux', () => {
  const c = open();
  const now = 10;
  const atOnce: TcpSegment[] = [];
  for (let off = 100; off < 1300; off += 100) atOnce.push(...arrive(c, off, now));
  assert.deepEqual(view(atOnce), [[0, [100, 200]], [0, [100, 300]], [0, [100, 400]]]);
  // The held ACK leaves within sackCompressDelay (1 ms), reporting everything held.
  assert.ok(c.nextDeadline() <= now + 1, `compressed-SACK timer at ${c.nextDeadline()}`);
  assert.deepEqual(view(runTimers(c, now + 1)), [[0, [100, 1300]]]);
  assert.equal(c.stats.TCPAckCompressed, 9);
  // The hole-filling segment is ACKed at once.
  assert.deepEqual(view(arrive(c, 0, now + 2)), [[1300, []]]);
});

test('a hole partly filled moves RCV.NXT: its ACK and the next two duplicates leave at once again', () => {
  const c = open();
  for (let off = 200; off < 1000; off += 100) arrive(c, off, 10); // hole [0, 200): 3 ACKs, 5 held
  runTimers(c, 11);
  const fill = arrive(c, 0, 12); // RCV.NXT 100, the hole [100, 200) stays
  assert.deepEqual(view(fill), [[100, [200, 1000]]]);
  const next = [...arrive(c, 1000, 12), ...arrive(c, 1100, 12), ...arrive(c, 1200, 12)];
  assert.deepEqual(view(next), [[100, [200, 1100]], [100, [200, 1200]]]);
});

test('no more than sackCompress duplicates are held: the next one leaves at once with every block', () => {
  const c = open({ sackCompress: 2 });
  const acks: TcpSegment[] = [];
  for (let off = 100; off < 800; off += 100) acks.push(...arrive(c, off, 10));
  // Three at once, two held, the sixth sends (answering the held two), the seventh is held again.
  assert.deepEqual(view(acks), [[0, [100, 200]], [0, [100, 300]], [0, [100, 400]], [0, [100, 700]]]);
  assert.equal(c.stats.TCPAckCompressed, 2);
});

test('with sackCompress 0, or a D-SACK to report, every out-of-order segment is ACKed at once', () => {
  const c = open({ sackCompress: 0 });
  const acks: TcpSegment[] = [];
  for (let off = 100; off < 800; off += 100) acks.push(...arrive(c, off, 10));
  assert.equal(acks.length, 7);
  const d = open();
  for (let off = 100; off < 500; off += 100) arrive(d, off, 10); // the fourth is held
  const dup = arrive(d, 200, 10); // data already held: its D-SACK goes at once
  assert.equal(dup.length, 1);
  assert.deepEqual(view(dup)[0]![1].slice(0, 2), [200, 300]);
});

test('a segment arriving after the hold\'s deadline sends the held ACK itself, without waiting for a late timer', () => {
  const c = open();
  const now = 10;
  for (let off = 100; off < 600; off += 100) arrive(c, off, now); // three ACKs at once, two held
  const deadline = c.nextDeadline();
  assert.ok(deadline > now && deadline <= now + 1, `compressed-SACK timer at ${deadline}`);
  // Before the deadline an arrival is held too.
  assert.deepEqual(view(arrive(c, 600, (now + deadline) / 2)), []);
  // The host's timer has not run (late, as Node's millisecond timers are): the next arrival past the deadline
  // answers everything held, with the latest blocks, and the count of compressed ACKs is taken.
  assert.deepEqual(view(arrive(c, 700, deadline + 0.01)), [[0, [100, 800]]]);
  assert.equal(c.stats.TCPAckCompressed, 3);
  assert.equal(c.nextDeadline() > deadline + 1, true, 'no compressed-SACK timer left');
});

test('a hold the host ends late (a millisecond timer) is the last: later out-of-order segments are ACKed at once', () => {
  // The same burst and hold twice; the host runs the compressed-SACK timer at its deadline (an hrtimer, virtual
  // time) or 1.5 ms after it (Node's setTimeout counts whole milliseconds).
  const burst = (lateMs: number): { held: Array<[number, number[]]>; next: Array<[number, number[]]>; timer: number } => {
    const c = open();
    for (let off = 100; off < 600; off += 100) arrive(c, off, 10); // three ACKs at once, two held
    const deadline = c.nextDeadline();
    c.onTimeout(deadline + lateMs);
    const held = view(c.drainTransmit(deadline + lateMs));
    const t = deadline + lateMs + 0.5;
    const next: TcpSegment[] = [];
    for (let off = 600; off < 1000; off += 100) next.push(...arrive(c, off, t));
    return { held, next: view(next), timer: c.nextDeadline() - t };
  };
  const onTime = burst(0), late = burst(1.5);
  // Both answer the held duplicates with the latest blocks.
  assert.deepEqual(onTime.held, [[0, [100, 600]]]);
  assert.deepEqual(late.held, [[0, [100, 600]]]);
  // A timely hold keeps holding the next duplicates at this RCV.NXT; after a late one each leaves at once.
  assert.deepEqual(onTime.next, []);
  assert.ok(onTime.timer <= 1, 'held again, under the compressed-SACK timer');
  assert.deepEqual(late.next, [[0, [100, 700]], [0, [100, 800]], [0, [100, 900]], [0, [100, 1000]]]);
});
