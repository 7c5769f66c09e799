/**
 * A batch of packets read at once (a TUN read, Stack.receiveBatch) is serviced once at its end: in-order data
 * gets one ACK for the batch. Out-of-order data and duplicates are ACKed at once (RFC 5681 §4.2), as Linux does:
 * every duplicate carries its D-SACK, and the first three duplicate ACKs at one RCV.NXT leave at once, the rest
 * held by SACK compression for one ACK with the latest blocks (src/tcp/sack-compression.ts). One ACK at the end
 * of the batch could list only three SACK blocks and one D-SACK, and a sender never told of the other blocks
 * resends data the receiver already holds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from './stack.js';
import { VirtualClock } from './clock.js';
import { decodePacket, encodeTcpPacket } from '../wire/packet.js';
import type { TcpOptions, TcpSegment } from '../wire/tcp-types.js';

const PEER = new Uint8Array([10, 0, 0, 1]);
const US = new Uint8Array([10, 0, 0, 2]);
const MSS = 1000;

function packet(seq: number, ack: number, flags: number, payload: Uint8Array, options: TcpOptions = {}): Uint8Array {
  return encodeTcpPacket({ src: PEER, dst: US }, { srcPort: 5000, dstPort: 80, seq, ack, flags, window: 65535, urgent: 0, options, payload });
}

/** A passive connection with SACK (no timestamps: four SACK blocks fit), ESTABLISHED; returns the stack and what it sent. */
function established(): { s: Stack; out: TcpSegment[]; iss: number; clock: VirtualClock } {
  const clock = new VirtualClock();
  const s = new Stack({ addresses: ['10.0.0.2'], clock, random: (b) => b.fill(7), tcp: { timestamps: false } });
  const out: TcpSegment[] = [];
  s.attach((p) => { out.push(decodePacket(p).tcp!.seg); });
  s.listen(80);
  s.receive(packet(1000, 0, 0x02, new Uint8Array(0), { mss: MSS, sackPermitted: true }));
  const synAck = out.pop()!;
  assert.equal(synAck.flags, 0x12);
  s.receive(packet(1001, synAck.seq + 1, 0x10, new Uint8Array(0)));
  out.length = 0;
  return { s, out, iss: synAck.seq, clock };
}

const data = (n: number): Uint8Array => new Uint8Array(n).fill(0x61);

test('a batch of out-of-order segments: three ACKed at once, the rest in one held ACK, every one reported in a SACK block', () => {
  const { s, out, iss, clock } = established();
  // Segment 0 is missing; 1, 3, 5, 7 and 9 arrive in one batch, each beyond a hole: five separate blocks.
  const at = (i: number): number => 1001 + i * MSS;
  s.receiveBatch([1, 3, 5, 7, 9].map((i) => packet(at(i), iss + 1, 0x10, data(MSS))));
  const dupAcks = (): TcpSegment[] => out.filter((x) => x.payload.length === 0 && x.ack === 1001);
  assert.equal(dupAcks().length, 3, 'three duplicate ACKs at once');
  clock.advanceTo(clock.now() + 1); // SACK compression's delay (at most 1 ms)
  const acks = dupAcks();
  assert.equal(acks.length, 4, 'and one for the two held');
  const reported = new Set<number>();
  for (const a of acks) for (let k = 0; k < (a.options.sack ?? []).length; k += 2) reported.add(a.options.sack![k]!);
  assert.deepEqual([...reported].sort((x, y) => x - y), [1, 3, 5, 7, 9].map(at), 'every block reported');
});

test('a batch of in-order segments still gets a single ACK', () => {
  const { s, out, iss } = established();
  s.receiveBatch([0, 1, 2, 3].map((i) => packet(1001 + i * MSS, iss + 1, 0x10, data(MSS))));
  const acks = out.filter((x) => x.payload.length === 0);
  assert.equal(acks.length, 1);
  assert.equal(acks[0]!.ack, 1001 + 4 * MSS);
});

test('duplicates in one batch: each is reported by its own D-SACK', () => {
  const { s, out, iss } = established();
  s.receiveBatch([0, 1, 2, 3].map((i) => packet(1001 + i * MSS, iss + 1, 0x10, data(MSS))));
  out.length = 0;
  // Segments 0 and 2 arrive again (spurious retransmissions), in one batch.
  s.receiveBatch([0, 2].map((i) => packet(1001 + i * MSS, iss + 1, 0x10, data(MSS))));
  const dsacks = out.map((x) => x.options.sack?.[0]).filter((l) => l !== undefined);
  assert.deepEqual(dsacks, [1001, 1001 + 2 * MSS]);
});
