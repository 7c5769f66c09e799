/**
 * Data held beyond a hole waits for a retransmission, an RTT or more. Held as a view, it would keep alive the whole
 * buffer the host read it into (TUN hands the stack views of up to 64 KiB per read range), and under loss those
 * pile up outside the JS heap and bring on full garbage collections (the receiver's ACKs then stall). So the
 * receiver copies what it holds out of order (arrive/synchronized.ts): the copy pins only itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK } from '../wire/tcp-types.js';
import { IRS, ISS, PLAIN, bytes, established, readAll, seg } from './test-util.js';

const SEG = 1000;

test('segments held beyond a hole keep no reference to the buffer they arrived in', () => {
  const c = established({ ...PLAIN, sack: true, recvBufferSize: 1 << 20 }, 0, { options: { sackPermitted: true } });
  const data = bytes(40 * SEG);
  // One host read of 64 KiB holding segments 1..39 (segment 0 is lost): each payload is a view into it.
  const read = new Uint8Array(1 << 16);
  read.set(data.subarray(SEG), 0);
  for (let i = 1; i < 40; i++) c.input(seg(ACK, IRS + 1 + i * SEG, ISS + 1, { payload: read.subarray((i - 1) * SEG, i * SEG) }), i);
  c.drainTransmit(40);
  const held = c.rcv.oooData;
  assert.ok(held.length > 0, 'segments 1..39 are held');
  for (const b of held) assert.ok(b.buffer !== read.buffer && b.buffer.byteLength <= 39 * SEG, 'a held block pins only held bytes');
  // The host reuses its buffer; the retransmission of segment 0 fills the hole: the bytes delivered are the sent ones.
  read.fill(0xee);
  c.input(seg(ACK, IRS + 1, ISS + 1, { payload: data.subarray(0, SEG) }), 41);
  assert.deepEqual(readAll(c), data);
});
