import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from './stack.js';
import { VirtualClock } from './clock.js';
import { encodeTcpPacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { EMPTY, SYN } from '../wire/tcp-types.js';
import { Prng } from '../link/prng.js';

function syn(): Uint8Array {
  return encodeTcpPacket({ src: parseAddress('10.0.0.1'), dst: parseAddress('10.0.0.2') }, { srcPort: 4000, dstPort: 80, seq: 1, ack: 0, flags: SYN, window: 1000, urgent: 0, options: { mss: 1460 }, payload: EMPTY });
}

test('every single-bit corruption of a SYN is dropped and counted, never answered, never thrown', () => {
  const good = syn();
  let answered = 0;
  const s = new Stack({ addresses: ['10.0.0.2'], clock: new VirtualClock(), random: (b) => b.fill(1) });
  s.attach(() => { answered++; });
  s.listen(80);
  for (let bit = 0; bit < good.length * 8; bit++) {
    const bad = good.slice();
    bad[bit >> 3]! ^= 1 << (bit & 7);
    s.receive(bad);
  }
  // Flips in the IPv4 header fail its checksum or the address/protocol checks; flips elsewhere fail the TCP checksum.
  assert.equal(answered, 0, 'no corrupted SYN got an answer');
  const k = s.snapshot();
  assert.equal(k.InErrs + k.InAddrErrors, good.length * 8);
  s.receive(good);
  assert.equal(answered, 1, 'the intact SYN is answered');
});

test('hostile bytes: 20 000 random and truncated datagrams never throw and never create state', () => {
  const s = new Stack({ addresses: ['10.0.0.2'], clock: new VirtualClock(), random: (b) => b.fill(1) });
  s.attach(() => {});
  s.listen(80);
  const prng = new Prng(42);
  const good = syn();
  for (let i = 0; i < 20_000; i++) {
    const kind = i % 3;
    let b: Uint8Array;
    if (kind === 0) { b = new Uint8Array(prng.nextU32() % 80); prng.fill(b); }
    else if (kind === 1) b = good.subarray(0, prng.nextU32() % good.length);
    else { b = good.slice(); b[prng.nextU32() % b.length] = prng.nextU32() & 0xff; b[0] = 0x45; }
    s.receive(b);
  }
  assert.ok(s.connectionCount <= 1);
});
