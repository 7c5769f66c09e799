/**
 * Linux's quick-ACK mode on the receiving side (arrive/quick-ack.ts, config.quickAckBeyondStart, on by default,
 * whatever config.quickAckSegments grants at the start), beyond the start of a connection: a retransmission of data already received, and a window that is still opening, make the next
 * in-order segment's ACK leave at once instead of after the 40 ms delayed-ACK timer. A sender with one segment in
 * flight (a small congestion window after losses) otherwise waits those 40 ms. ISS = 1000, IRS = 5000.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK } from '../wire/tcp-types.js';
import type { TcpConfig } from './config.js';
import type { TcpConnection } from './connection.js';
import { IRS, ISS, PLAIN, bytes, established, readAll, seg, wire } from './test-util.js';

const SND = ISS + 1;
const RCV = IRS + 1;
const MSS = 1460;

/** Feed one full segment at RCV + off at `now`, read it, and say whether an ACK left at once. */
function one(c: TcpConnection, off: number, now: number): boolean {
  c.input(seg(ACK, RCV + off, SND, { payload: bytes(MSS) }), now);
  readAll(c);
  return wire(c, now).length > 0;
}

describe('receiver quick-ACK (Linux tcp_enter_quickack_mode, tcp_grow_window)', () => {
  // A fixed buffer: only the rules under test decide, not a window that grows.
  const FIXED: Partial<TcpConfig> = { ...PLAIN, delayedAck: true, recvBufferAutotune: false };

  test('data received twice puts the receiver back in quick-ACK mode: the next lone segment is ACKed at once', () => {
    // Linux's 16 at the start; synack's default (none at the start, the rules beyond it); no quick-ACK rules at all.
    const arms: Array<[string, Partial<TcpConfig>, boolean]> = [
      ['linux', { quickAckSegments: 16 }, true],
      ['default', { quickAckSegments: 0 }, true],
      ['off', { quickAckSegments: 0, quickAckBeyondStart: false }, false],
    ];
    for (const [quick, cfg, again] of arms) {
      const c = established({ ...FIXED, ...cfg });
      let t = 0, off = 0;
      // Use up the connection's first quick ACKs, one lone segment at a time (each ACKed once the timer fires).
      for (let i = 0; i < 20; i++) { one(c, off, t); off += MSS; t += 50; wire(c, t); }
      assert.equal(one(c, off, t), false, `quick ${quick}: a lone segment waits for the delayed-ACK timer`);
      off += MSS; t += 50; wire(c, t);
      // The sender resends the last segment (its ACK was slow): a duplicate, answered at once.
      c.input(seg(ACK, RCV + off - MSS, SND, { payload: bytes(MSS) }), t);
      assert.deepEqual(wire(c, t), [`ACK seq=${SND} ack=${RCV + off}`]);
      // Linux is in quick-ACK mode again: the next lone segment's ACK leaves at once; without quick-ACK rules
      // (quickAckBeyondStart false, quickAckSegments 0) it waits for the timer as before.
      assert.equal(one(c, off, t + 1), again, `quick ${quick}: the segment after the duplicate`);
    }
  });

  test('while the autotuned window opens, every segment is ACKed at once; once it stops growing, ACKs are delayed again', () => {
    // Autotuned: the window starts at 64 KiB and grows once the reader has shown it takes more per RTT.
    const AUTO: Partial<TcpConfig> = { ...PLAIN, delayedAck: true, windowScaling: true, recvBufferAutotune: true, recvBufferSize: 1 << 20 };
    const run = (beyond: boolean): { acks: number[]; grew: number } => {
      const c = established({ ...AUTO, quickAckSegments: 0, quickAckBeyondStart: beyond }, 0, { options: { wscale: 7 } });
      // A reader that keeps up with one segment per ms for 800 ms: the window grows (64 KiB, then more each
      // receiver RTT) until it covers that rate. Count, per 50 segments, the segments whose ACK left at once.
      const acks: number[] = [];
      let off = 0, n = 0;
      for (let t = 1; t <= 800; t++) {
        if (one(c, off, t)) n++;
        off += MSS;
        if (t % 50 === 0) { acks.push(n); n = 0; }
      }
      return { acks, grew: c.rcvTune!.clamp };
    };
    const on = run(true), off = run(false);
    assert.ok(on.grew > 4 * 65536, `the window grew (${on.grew})`);
    assert.equal(off.grew, on.grew, 'the window itself is the same with or without quick-ACK rules');
    // Without the rule: every second segment is ACKed (the other waits for its pair), from the first 50 on.
    assert.deepEqual(off.acks, off.acks.map(() => 25));
    // With it: every segment is ACKed at once while the window opens...
    assert.ok(on.acks.some((x) => x === 50), `segments ACKed at once per 50: ${on.acks}`);
    // ...and once rcv_ssthresh has caught up with the window, every second one again.
    assert.deepEqual(on.acks.slice(-2), [25, 25], `segments ACKed at once per 50: ${on.acks}`);
  });
});
