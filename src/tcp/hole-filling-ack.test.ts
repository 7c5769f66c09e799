/**
 * The receiver's ACKs while a hole is open (RFC 5681 §4.2, RFC 9293 §3.10.7.4; Linux tcp_data_queue's
 * inet_csk(sk)->icsk_ack.pending |= ICSK_ACK_NOW for out-of-order data and for the segment that fills a hole): an
 * out-of-order segment is ACKed at once, so is every in-order segment while data is still held beyond a hole, and
 * the one that fills the last hole, so the sender's loss detection and recovery are clocked without the
 * delayed-ACK timer. After that, in-order data is ACKed every second segment again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK } from '../wire/tcp-types.js';
import { IRS, ISS, PLAIN, bytes, established, readAll, seg, wire } from './test-util.js';

const SND = ISS + 1;
const RCV = IRS + 1;
const SEG = 500;

test('out-of-order segments, the in-order ones while a hole remains and the hole-filling one are each ACKed at once', () => {
  const c = established({ ...PLAIN, sack: true, delayedAck: true }, 0, { options: { sackPermitted: true } });
  const data = bytes(8 * SEG);
  const send = (i: number, now: number): string[] => {
    c.input(seg(ACK, RCV + i * SEG, SND, { payload: data.subarray(i * SEG, (i + 1) * SEG) }), now);
    return wire(c, now);
  };
  // Segments 0 and 1 are lost; 2, 3 and 5 arrive (4 is lost too): each draws an ACK at once, with SACK blocks.
  for (const [k, i] of [2, 3, 5].entries()) assert.equal(send(i, 10 + k).length, 1, `ACK at once for out-of-order segment ${i}`);
  // Segment 0 arrives: in order, but 1 is still missing and data is held beyond it: ACKed at once.
  assert.deepEqual(send(0, 20), [`ACK seq=1001 ack=${5001 + SEG}`], 'segment 0: one ACK, at once');
  // Segment 1 fills that hole (4 is still missing): ACKed at once, up to the held data.
  assert.deepEqual(send(1, 21), [`ACK seq=1001 ack=${5001 + 4 * SEG}`]);
  // Segment 4 fills the last hole: ACKed at once, for everything.
  assert.deepEqual(send(4, 22), [`ACK seq=1001 ack=${5001 + 6 * SEG}`]);
  // Nothing held any more: the next in-order segment waits for a second one or the delayed-ACK timer.
  assert.deepEqual(send(6, 23), []);
  assert.deepEqual(send(7, 24), [`ACK seq=1001 ack=${5001 + 8 * SEG}`]);
  assert.deepEqual(readAll(c), data);
});
