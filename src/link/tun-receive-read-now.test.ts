// attachStack's receiver (tun.ts TunReceiver) with a device that holds more packets than its read returned (a
// readNow standing in for the addon's): a batch that leaves an ACK reporting a hole reads what the device holds
// first, so a segment that was overtaken by microseconds on the path is taken into the batch and the ACK is
// cumulative instead of reporting a hole the receiver already holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, SYN } from '../wire/tcp-types.js';
import { ipHost, seg, tcpFrom } from '../stack/ip-test-peer.js';
import { TunReceiver, type TunOffloadStats } from './tun.js';

const stats = (): TunOffloadStats => ({ rxGsoPackets: 0, rxGsoBytes: 0, rxChecksumSkipped: 0, rxOversize: 0, txGsoPackets: 0, txGsoBytes: 0 });
const MSS = 1000;

/** A host with one ESTABLISHED connection (SACK permitted, window scaling, no timestamps) from the peer's port 5555 to 81. */
function host() {
  const h = ipHost({ mtu: 1500, tcp: { timestamps: false } });
  h.stack.listen(81);
  h.stack.receive(tcpFrom(4, seg({ flags: SYN, srcPort: 5555, dstPort: 81, seq: 100, options: { mss: MSS, sackPermitted: true, wscale: 7 } })));
  const synack = h.out.at(-1)!.tcp!;
  h.stack.receive(tcpFrom(4, seg({ flags: ACK, srcPort: 5555, dstPort: 81, seq: 101, ack: synack.seq + 1 })));
  h.out.length = 0;
  return { ...h, iss: synack.seq };
}

/** Data segment `i` of the peer's stream (segment 0 starts at 101). */
const data = (iss: number, i: number): Uint8Array =>
  tcpFrom(4, seg({ flags: ACK, srcPort: 5555, dstPort: 81, seq: 101 + i * MSS, ack: iss + 1, payload: new Uint8Array(MSS).fill(0x61 + i) }));

/** The datagrams laid out as the addon reads them: one chunk, 8-byte aligned. */
function chunkOf(pkts: Uint8Array[]): { chunk: ArrayBuffer; offsets: Uint32Array } {
  const chunk = new ArrayBuffer(pkts.reduce((a, p) => a + ((p.length + 7) & ~7), 0));
  const offsets = new Uint32Array(2 * pkts.length);
  let o = 0;
  pkts.forEach((p, i) => { new Uint8Array(chunk).set(p, o); offsets[2 * i] = o; offsets[2 * i + 1] = p.length; o += (p.length + 7) & ~7; });
  return { chunk, offsets };
}

/** A readNow over a queue of datagrams the device "holds": each call hands over at most `max` of them. */
function device(queue: Uint8Array[]) {
  const calls: number[] = [];
  const readNow = (cb: (chunk: ArrayBuffer, offsets: Uint32Array, count: number) => void, max: number): number => {
    calls.push(max);
    const take = queue.splice(0, max);
    if (take.length === 0) return 0;
    const { chunk, offsets } = chunkOf(take);
    cb(chunk, offsets, take.length);
    return take.length;
  };
  return { calls, readNow };
}

const acks = (out: ReturnType<typeof host>['out']) => out.map((o) => o.tcp!).filter((t) => t.payload.length === 0);

test('a batch ending out of order reads what the device holds first: the overtaken segment fills the hole and the one ACK is cumulative', () => {
  const h = host();
  const dev = device([data(h.iss, 0)]);
  const { chunk, offsets } = chunkOf([data(h.iss, 1)]);
  new TunReceiver(h.stack, 0, stats(), dev.readNow).deliver(chunk, offsets, 1);
  assert.equal(dev.calls.length, 1);
  const a = acks(h.out);
  assert.equal(a.length, 1, 'one ACK');
  assert.equal(a[0]!.ack, 101 + 2 * MSS, 'both segments acknowledged');
  assert.equal(a[0]!.options.sack, undefined, 'no hole reported');
});

test('with nothing more in the device the ACK reports the hole, as without reading', () => {
  for (const readNow of [device([]).readNow, null]) {
    const h = host();
    const { chunk, offsets } = chunkOf([data(h.iss, 1)]);
    new TunReceiver(h.stack, 0, stats(), readNow).deliver(chunk, offsets, 1);
    const a = acks(h.out);
    assert.equal(a.length, 1);
    assert.equal(a[0]!.ack, 101);
    assert.deepEqual(a[0]!.options.sack, [101 + MSS, 101 + 2 * MSS]);
  }
});

test('in-order data does not read the device again; one read per batch at most, of a bounded number of packets', () => {
  const h = host();
  const inOrder = device([data(h.iss, 5)]);
  let b = chunkOf([data(h.iss, 0), data(h.iss, 1)]);
  new TunReceiver(h.stack, 0, stats(), inOrder.readNow).deliver(b.chunk, b.offsets, 2);
  assert.deepEqual(inOrder.calls, []);
  assert.equal(acks(h.out).at(-1)!.ack, 101 + 2 * MSS);
  // The device holds more out-of-order segments than one read takes: the rest wait for the next readable event.
  h.out.length = 0;
  // 100-byte segments from segment 4 on (all within the window).
  const small = (k: number): Uint8Array => tcpFrom(4, seg({ flags: ACK, srcPort: 5555, dstPort: 81, seq: 101 + 4 * MSS + k * 100, ack: h.iss + 1, payload: new Uint8Array(100) }));
  const many = Array.from({ length: 100 }, (_, k) => small(k));
  const dev = device(many);
  b = chunkOf([data(h.iss, 3)]);
  new TunReceiver(h.stack, 0, stats(), dev.readNow).deliver(b.chunk, b.offsets, 1);
  assert.equal(dev.calls.length, 1);
  assert.ok(dev.calls[0]! <= 64, `at most 64 packets, asked ${dev.calls[0]}`);
  assert.equal(many.length, 100 - dev.calls[0]!, 'the rest stay in the device');
  const last = acks(h.out).at(-1)!;
  assert.equal(last.ack, 101 + 2 * MSS, 'the hole at segment 2 is still open');
  assert.deepEqual(last.options.sack?.slice(0, 2), [101 + 3 * MSS, 101 + 4 * MSS + dev.calls[0]! * 100], 'everything read is reported');
});
