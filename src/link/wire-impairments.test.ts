import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Wire, LinkError, type WireEndpoint, type Impairments, type WirePacketEvent } from './wire.js';
import { encodeTcpPacket } from '../wire/packet.js';
import { decodePacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { WireError } from '../wire/errors.js';
import { makeSegment, ACK } from '../wire/tcp-types.js';

const A4 = parseAddress('10.0.0.1');
const B4 = parseAddress('10.0.0.2');
const A6 = parseAddress('fd00::1');
const B6 = parseAddress('fd00::2');

/** Packet i from A to B (IPv4 or IPv6): the index rides in the sequence number and a 4-byte payload. */
function pkt(i: number, v6 = false, payloadLen = 4): Uint8Array {
  const payload = new Uint8Array(payloadLen);
  new DataView(payload.buffer).setUint32(0, i);
  return encodeTcpPacket(v6 ? { src: A6, dst: B6 } : { src: A4, dst: B4 },
    makeSegment({ srcPort: 1234, dstPort: 80, seq: i, ack: 1, flags: ACK, window: 1000, payload }));
}
function indexOf(p: Uint8Array): number {
  const d = decodePacket(p);
  return d.tcp!.seg.seq;
}

class Recorder implements WireEndpoint {
  got: Array<{ bytes: Uint8Array; time: number }> = [];
  deliver(packet: Uint8Array, now: number): void { this.got.push({ bytes: packet, time: now }); }
}

function pair(imp: Partial<Impairments> = {}, seed = 42) {
  const wire = new Wire({ seed, impairments: imp });
  const a = new Recorder();
  const b = new Recorder();
  const ia = wire.attach(a, A4, A6);
  const ib = wire.attach(b, B4, B6);
  return { wire, a, b, ia, ib };
}

/** Sends n packets A→B, one every `gap` ms of virtual time, and runs the wire dry. */
function run(w: ReturnType<typeof pair>, n: number, gap = 1, size = 4): Uint8Array[] {
  const sent: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const t = i * gap;
    w.wire.advance(t);
    const p = pkt(i, false, size);
    sent.push(p);
    w.wire.send(w.ia, p, t);
  }
  w.wire.runUntilIdle();
  return sent;
}

test('routes by IPv4 and IPv6 destination address; unknown destinations are reported unroutable', () => {
  const w = pair();
  const events: WirePacketEvent[] = [];
  w.wire.onPacket = (e) => events.push(e);
  const p4 = pkt(1);
  const p6 = pkt(2, true);
  const back = encodeTcpPacket({ src: B4, dst: A4 }, makeSegment({ srcPort: 80, dstPort: 1234, seq: 9, flags: ACK }));
  const stray = encodeTcpPacket({ src: A4, dst: parseAddress('10.0.0.99') }, makeSegment({ srcPort: 1, dstPort: 2 }));
  w.wire.send(w.ia, p4, 0);
  w.wire.send(w.ia, p6, 0);
  w.wire.send(w.ib, back, 0);
  w.wire.send(w.ia, stray, 0);
  w.wire.send(w.ia, new Uint8Array([0x45, 0]), 0); // too short to hold a destination
  assert.equal(w.wire.advance(0), 3);
  assert.deepEqual(w.b.got.map((g) => g.bytes), [p4, p6]);
  assert.equal(w.b.got[0]!.bytes, p4, 'delivered by reference, not copied');
  assert.deepEqual(w.a.got.map((g) => g.bytes), [back]);
  assert.deepEqual(events.map((e) => [e.fate, e.from, e.to]), [
    ['unroutable', w.ia, -1], ['unroutable', w.ia, -1],
    ['delivered', w.ia, w.ib], ['delivered', w.ia, w.ib], ['delivered', w.ib, w.ia],
  ]);
  assert.equal(w.wire.counters(w.ia, w.ib).delivered, 2);
  assert.equal(w.wire.counters(w.ib, w.ia).delivered, 1);
});

test('attach rejects bad addresses and an address owned by another endpoint', () => {
  const w = pair();
  assert.throws(() => w.wire.attach(new Recorder(), new Uint8Array(5)), (e) => e instanceof LinkError && e.code === 'bad-address');
  assert.throws(() => w.wire.attach(new Recorder(), B4), (e) => e instanceof LinkError && e.code === 'address-in-use');
  assert.throws(() => w.wire.send(17, pkt(0), 0), (e) => e instanceof LinkError && e.code === 'no-endpoint');
  assert.throws(() => new Wire({ impairments: { loss: 1.5 } }), (e) => e instanceof LinkError && e.code === 'bad-impairment');
  assert.throws(() => new Wire({ impairments: { delayMs: -1 } }), (e) => e instanceof LinkError && e.code === 'bad-impairment');
});

test('delay: each packet arrives delayMs after it was sent, in order; nextDeadline tracks the head', () => {
  const w = pair({ delayMs: 25 });
  w.wire.send(w.ia, pkt(0), 0);
  w.wire.send(w.ia, pkt(1), 5);
  assert.equal(w.wire.nextDeadline(), 25);
  assert.equal(w.wire.advance(24.9), 0);
  assert.equal(w.wire.advance(25), 1);
  assert.equal(w.wire.nextDeadline(), 30);
  w.wire.advance(100);
  assert.equal(w.wire.nextDeadline(), Infinity);
  assert.deepEqual(w.b.got.map((g) => [indexOf(g.bytes), g.time]), [[0, 25], [1, 30]]);
});

test('loss 0.2 loses 17–23% of 5000 packets', () => {
  const w = pair({ loss: 0.2 });
  run(w, 5000);
  const c = w.wire.counters(w.ia, w.ib);
  assert.equal(c.sent, 5000);
  assert.ok(c.lost >= 850 && c.lost <= 1150, `lost ${c.lost}`);
  assert.equal(c.delivered, 5000 - c.lost);
  assert.equal(w.b.got.length, c.delivered);
});

test('duplication 0.1 delivers 8–12% extra byte-identical copies (copies, not the same buffer)', () => {
  const w = pair({ duplicate: 0.1 });
  const sent = run(w, 5000);
  const c = w.wire.counters(w.ia, w.ib);
  assert.ok(c.duplicated >= 400 && c.duplicated <= 600, `duplicated ${c.duplicated}`);
  assert.equal(w.b.got.length, 5000 + c.duplicated);
  const seen = new Map<number, Uint8Array[]>();
  for (const g of w.b.got) {
    const i = indexOf(g.bytes);
    seen.set(i, [...(seen.get(i) ?? []), g.bytes]);
  }
  let dups = 0;
  for (const [i, copies] of seen) {
    if (copies.length === 2) {
      dups++;
      assert.deepEqual(copies[1], sent[i]);
      assert.notEqual(copies[1], sent[i], 'duplicate is a copy');
    } else assert.equal(copies.length, 1);
  }
  assert.equal(dups, c.duplicated);
});

test('reorder 0.1 with extra delay: held-back packets arrive after later ones', () => {
  const w = pair({ reorder: 0.1, reorderDelayMs: 3.5 });
  run(w, 5000);
  const c = w.wire.counters(w.ia, w.ib);
  assert.ok(c.reordered >= 400 && c.reordered <= 600, `reordered ${c.reordered}`);
  const order = w.b.got.map((g) => indexOf(g.bytes));
  assert.equal(order.length, 5000);
  assert.deepEqual([...order].sort((x, y) => x - y), order.map((_, i) => i), 'every packet exactly once');
  // A held-back packet i arrives at i + 3.5, after packets i+1..i+3: count packets that arrive after a higher index.
  let late = 0;
  let max = -1;
  for (const i of order) { if (i < max) late++; else max = i; }
  assert.ok(late >= c.reordered * 0.9 && late <= c.reordered, `late ${late} vs reordered ${c.reordered}`);
});

test('delay 50 ± jitter 10: arrival delays stay within [40, 60] and average about 50', () => {
  const w = pair({ delayMs: 50, jitterMs: 10 });
  const sentAt = new Map<number, number>();
  for (let i = 0; i < 3000; i++) { w.wire.send(w.ia, pkt(i), i * 100); sentAt.set(i, i * 100); }
  w.wire.runUntilIdle();
  const delays = w.b.got.map((g) => g.time - sentAt.get(indexOf(g.bytes))!);
  assert.equal(delays.length, 3000);
  assert.ok(delays.every((d) => d >= 40 && d <= 60));
  const mean = delays.reduce((s, d) => s + d, 0) / delays.length;
  assert.ok(Math.abs(mean - 50) < 0.5, `mean ${mean}`);
  assert.ok(delays.some((d) => d < 42) && delays.some((d) => d > 58), 'jitter spans the range');
});

test('bandwidth: 1 Mbit/s serialises 1250-byte packets 10 ms apart, queue overflow tail-drops', () => {
  const w = pair({ bandwidthBps: 1_000_000, delayMs: 5, queueBytes: 1250 * 3 });
  const payload = 1250 - 40; // IPv4 + TCP headers = 40 bytes
  for (let i = 0; i < 6; i++) w.wire.send(w.ia, pkt(i, false, payload), 0);
  const c = w.wire.counters(w.ia, w.ib);
  // Packet 0 starts at once; 1..3 wait (≤ 3750 bytes queued ahead); 4 would wait behind 4 packets = 5000 bytes.
  assert.equal(c.queueDropped, 2);
  w.wire.runUntilIdle();
  assert.deepEqual(w.b.got.map((g) => [indexOf(g.bytes), g.time]), [[0, 15], [1, 25], [2, 35], [3, 45]]);
  // Once the link drained, a new packet goes out immediately.
  w.wire.send(w.ia, pkt(9, false, payload), 100);
  w.wire.runUntilIdle();
  assert.equal(w.b.got.at(-1)!.time, 115);
});

test('corruption flips exactly one bit, in a copy, and checksums catch every flip (IPv4)', () => {
  const w = pair({ corrupt: 1 });
  const sent = run(w, 2000, 1, 64);
  assert.equal(w.wire.counters(w.ia, w.ib).corrupted, 2000);
  const bitsHit = new Set<number>();
  assert.equal(w.b.got.length, sent.length);
  for (const [i, g] of w.b.got.entries()) {
    const orig = sent[i]!; // no reordering configured: delivery order is send order
    assert.notEqual(g.bytes, orig);
    let diffBits = 0;
    for (let k = 0; k < orig.length; k++) {
      const x = orig[k]! ^ g.bytes[k]!;
      for (let m = x; m; m &= m - 1) diffBits++;
      if (x) bitsHit.add(k);
    }
    assert.equal(diffBits, 1);
    assert.ok(corruptionDetected(g.bytes), `flip not detected in packet ${i}`);
  }
  assert.ok(bitsHit.size > 50, 'flips land all over the datagram');
});

function corruptionDetected(p: Uint8Array): boolean {
  try {
    const d = decodePacket(p);
    return !d.ip.checksumOk || d.tcp === null || !d.tcpChecksumOk || d.ip.truncated;
  } catch (e) {
    if (e instanceof WireError) return true;
    throw e;
  }
}

test('same seed gives the same fates; another seed differs; directions are independent', () => {
  const imp = { loss: 0.1, duplicate: 0.05, reorder: 0.05, reorderDelayMs: 2, jitterMs: 1, delayMs: 1, corrupt: 0.02 };
  const fates = (seed: number, reverseTraffic: boolean): string => {
    const w = pair(imp, seed);
    const ev: string[] = [];
    w.wire.observe((e) => { if (e.from === w.ia) ev.push(`${e.fate}:${e.sentAt}@${e.time.toFixed(6)}:${e.bytes.join('.')}`); });
    for (let i = 0; i < 1000; i++) {
      w.wire.advance(i);
      w.wire.send(w.ia, pkt(i), i);
      if (reverseTraffic) w.wire.send(w.ib, encodeTcpPacket({ src: B4, dst: A4 }, makeSegment({ srcPort: 80, dstPort: 1234, seq: i })), i);
    }
    w.wire.runUntilIdle();
    return ev.join(',');
  };
  const one = fates(7, false);
  assert.equal(fates(7, false), one);
  assert.notEqual(fates(8, false), one);
  assert.equal(fates(7, true), one, 'traffic B→A does not change the fates A→B sees');
});
test('per-direction impairments: loss only A→B, B→A clean', () => {
  const w = pair();
  w.wire.impair(w.ia, w.ib, { loss: 1 });
  w.wire.send(w.ia, pkt(0), 0);
  w.wire.send(w.ib, encodeTcpPacket({ src: B4, dst: A4 }, makeSegment({ srcPort: 80, dstPort: 1234 })), 0);
  w.wire.runUntilIdle();
  assert.equal(w.b.got.length, 0);
  assert.equal(w.a.got.length, 1);
  assert.equal(w.wire.counters(w.ia, w.ib).lost, 1);
  assert.equal(w.wire.counters(w.ib, w.ia).lost, 0);
});

test('an endpoint may answer from inside deliver(); zero-delay replies arrive in the same advance', () => {
  const wire = new Wire();
  const a = new Recorder();
  const echo: WireEndpoint = {
    deliver(p, now) {
      const d = decodePacket(p);
      wire.send(echo, encodeTcpPacket({ src: B4, dst: A4 }, makeSegment({ srcPort: 80, dstPort: 1234, seq: d.tcp!.seg.seq + 1 })), now);
    },
  };
  wire.attach(a, A4);
  wire.attach(echo, B4);
  wire.send(a, pkt(41), 3);
  assert.equal(wire.advance(3), 2);
  assert.deepEqual(a.got.map((g) => [indexOf(g.bytes), g.time]), [[42, 3]]);
});

test('a non-finite time is a LinkError, not a corrupted schedule', () => {
  const w = pair();
  assert.throws(() => w.wire.send(w.ia, pkt(0), NaN), (e) => e instanceof LinkError && e.code === 'bad-time');
  assert.equal(w.wire.nextDeadline(), Infinity);
});
