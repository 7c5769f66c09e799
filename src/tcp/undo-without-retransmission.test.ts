/**
 * A recovery that ends before anything was retransmitted (recovery/undo.ts nothingResent): a host reads ACKs in
 * batches, so the ACK that makes RACK deem a late segment lost and the ACK that shows it arrived after all can be
 * processed before anything is sent. Nothing was resent, so no D-SACK or Eifel test will ever say the loss was
 * spurious: the window reduction is undone when recovery ends. Hand-built ACKs on a passive connection whose
 * handshake measured 100 ms; MSS 1000, so segment i is [ISS+1+1000·i, +1000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, type TcpOptions, type TcpSegment } from '../wire/tcp-types.js';
import { IRS, ISS, bytes, runTimers, sackSender, seg } from './test-util.js';

const MSS = 1000;
const RTT = 100;
const at = (i: number): number => (ISS + 1 + i * MSS) >>> 0;

for (const timestamps of [false, true]) {
  test(`segment 2 deemed lost and acknowledged in the same batch of ACKs: nothing resent, cwnd restored (timestamps ${timestamps})`, () => {
    const c = sackSender(MSS, RTT, { timestamps });
    c.send(bytes(10 * MSS), RTT);
    const first = c.drainTransmit(RTT);
    assert.equal(first.length, 10);
    const ts = (i: number): TcpOptions => (timestamps ? { tsVal: 3, tsEcr: first[i]!.options.tsVal! } : {});
    const t = 2 * RTT;
    runTimers(c, t);
    c.input(seg(ACK, IRS + 1, at(2), { window: 65535, options: ts(1) }), t);
    c.drainTransmit(t);
    const cwnd = c.cc.cwnd;
    // One read: 3..5 SACKed (DupThresh: segment 2 is lost at once), then the late segment 2 and 6..9 arrive.
    c.input(seg(ACK, IRS + 1, at(2), { window: 65535, options: { ...ts(1), sack: [at(3), at(6)] } }), t + 1);
    assert.equal(c.inRecovery, true, 'RACK deemed segment 2 lost');
    assert.ok(c.cc.cwnd < cwnd, 'and cut the window');
    c.input(seg(ACK, IRS + 1, at(10), { window: 65535, options: ts(9) }), t + 1);
    const sent: TcpSegment[] = c.drainTransmit(t + 1);
    assert.deepEqual(sent.filter((s) => ((s.seq - at(10)) | 0) < 0 && s.payload.length > 0), [], 'nothing resent');
    assert.equal(c.stats.RetransSegs, 0);
    assert.equal(c.inRecovery, false);
    assert.equal(c.cc.cwnd, cwnd, 'the reduction is undone');
    assert.equal(c.stats.TCPFullUndo, 1);
  });
}

test('a recovery that resent the lost segment, whose ACK answers the retransmission, still ends at ssthresh', () => {
  const c = sackSender(MSS, RTT, { timestamps: true });
  c.send(bytes(10 * MSS), RTT);
  const first = c.drainTransmit(RTT);
  const t = 2 * RTT;
  runTimers(c, t);
  c.input(seg(ACK, IRS + 1, at(2), { window: 65535, options: { tsVal: 3, tsEcr: first[1]!.options.tsVal! } }), t);
  c.drainTransmit(t);
  const cwnd = c.cc.cwnd;
  c.input(seg(ACK, IRS + 1, at(2), { window: 65535, options: { tsVal: 3, tsEcr: first[1]!.options.tsVal!, sack: [at(3), at(10)] } }), t + 1);
  const rtx = c.drainTransmit(t + 1).filter((s) => s.seq === at(2) && s.payload.length > 0);
  assert.equal(rtx.length, 1, 'segment 2 resent');
  c.input(seg(ACK, IRS + 1, at(10), { window: 65535, options: { tsVal: 4, tsEcr: rtx[0]!.options.tsVal! } }), t + 2 * RTT);
  c.drainTransmit(t + 2 * RTT);
  assert.equal(c.inRecovery, false);
  assert.ok(c.cc.cwnd < cwnd, `a real loss keeps its reduction (${c.cc.cwnd} < ${cwnd})`);
  assert.equal(c.stats.TCPFullUndo, 0);
});
