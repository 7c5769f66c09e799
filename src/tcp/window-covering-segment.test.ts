/** Regressions found by the lifecycle property soak (simultaneous open, tiny buffers, window scale 6). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, FIN, PSH } from '../wire/tcp-types.js';
import { established, seg, bytes, IRS, ISS, PLAIN } from './test-util.js';

test('in ESTABLISHED, a retransmission that starts before RCV.NXT and ends past the window is accepted and trimmed (not answered as out of window)', () => {
  const c = established({ ...PLAIN, recvBufferSize: 1000 });
  // The peer resends 3000 bytes from IRS+1; we have a 1000-byte window: the first 1000 are taken.
  c.input(seg(ACK | PSH, IRS + 1, ISS + 1, { payload: bytes(3000) }), 1);
  assert.equal(c.readableLength, 1000);
  c.read();
  c.drainTransmit(1); // ACK 1000 bytes and advertise the reopened 1000-byte window
  // Again from the start, covering [RCV.NXT, right edge) entirely: RFC 9293's two tests both fail here.
  c.input(seg(ACK | PSH | FIN, IRS + 1, ISS + 1, { payload: bytes(3000) }), 2);
  assert.equal(c.readableLength, 1000, 'the part inside the window was accepted');
  const out = c.drainTransmit(2);
  assert.equal(out.at(-1)!.ack, IRS + 1 + 2000);
});

test('out-of-window pure ACKs are answered at most once per invalidAckRatelimit (no ACK war); data segments always', () => {
  const c = established({ ...PLAIN, invalidAckRatelimit: 500 });
  const far = IRS + 1 + 10_000_000;
  c.input(seg(ACK, far, ISS + 1), 10);
  assert.equal(c.drainTransmit(10).length, 1, 'first one answered');
  c.input(seg(ACK, far, ISS + 1), 20);
  assert.equal(c.drainTransmit(20).length, 0, 'second within 500 ms skipped');
  assert.equal(c.stats.TCPACKSkippedSeq, 1);
  c.input(seg(ACK, far, ISS + 1, { payload: bytes(10) }), 30);
  assert.equal(c.drainTransmit(30).length, 1, 'a segment with data is always answered');
  c.input(seg(ACK, far, ISS + 1), 600);
  assert.equal(c.drainTransmit(600).length, 1, 'answered again after the interval');
});
