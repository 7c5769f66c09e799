/**
 * A receive batch (Stack.receiveBatch: everything one TUN read returned) arrived at one time: the stack reads its
 * clock once for the batch, and every datagram of it is stamped with that time (what packet observers and
 * captures see, and the time TCP acts on), as segments Linux's GRO merges share one receive timestamp.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from './stack.js';
import type { Clock } from './clock.js';
import { encodeTcpPacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { EMPTY, SYN } from '../wire/tcp-types.js';

/** A clock that moves on by `step` ms each time it is read, as a real one does while the host works. */
class MovingClock implements Clock {
  private t = 100;
  constructor(private readonly step: number) {}
  now(): number { const t = this.t; this.t += this.step; return t; }
  wakeAt(): void {} // no timer is due within these tests
}

function host() {
  const clock = new MovingClock(0.25);
  const s = new Stack({ addresses: ['10.0.0.2'], clock, random: (b) => b.fill(3) });
  let sent = 0;
  s.attach(() => { sent++; });
  const seen: number[] = [];
  s.observePackets((dir, _p, at) => { if (dir === 'in') seen.push(at); }, { headersOnly: true });
  const syn = (port: number) => encodeTcpPacket({ src: parseAddress('10.0.0.1'), dst: parseAddress('10.0.0.2') },
    { srcPort: 5555, dstPort: port, seq: 1000, ack: 0, flags: SYN, window: 100, urgent: 0, options: {}, payload: EMPTY });
  return { s, clock, seen, syn, sent: () => sent };
}

test('the datagrams of one receive batch share one arrival time', () => {
  const { s, seen, syn, sent } = host();
  s.receiveBatch([syn(1), syn(2), syn(3), syn(4), syn(5)]);
  assert.equal(seen.length, 5);
  assert.deepEqual(seen, Array(5).fill(seen[0]), 'every datagram of the batch at the batch\'s time');
  assert.equal(sent(), 5, 'each SYN to a closed port answered (RFC 9293 §3.10.7.1)');
  // The next batch is a later read.
  s.receiveBatch([syn(6), syn(7)]);
  assert.equal(seen.length, 7);
  assert.ok(seen[5]! > seen[0]!);
  assert.equal(seen[5], seen[6]);
});

test('datagrams received one by one each get the time of their own arrival', () => {
  const { s, seen, syn } = host();
  s.receive(syn(1));
  s.receive(syn(2));
  assert.equal(seen.length, 2);
  assert.ok(seen[1]! > seen[0]!);
});
