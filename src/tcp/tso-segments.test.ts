// TCP segmentation offload in the engine (config.tsoMaxBytes, txSegmentSize) and receive-offload ACKing
// (config.receiveOffload): two engines back to back in virtual time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, type Fate } from './pair.js';
import { TcpConnection } from './connection.js';
import { bytes, readAll } from './test-util.js';
import type { TcpConfig } from './config.js';
import { PSH, type TcpSegment } from '../wire/tcp-types.js';

interface Sent { seg: TcpSegment; segmentSize: number; mss: number; wndRight: number; time: number }

/** a sends n bytes to b; every data segment a sends is recorded with the txSegmentSize it came with. */
function transfer(n: number, cfgA: Partial<TcpConfig>, cfgB: Partial<TcpConfig> = {}, lose?: (i: number, seg: TcpSegment) => boolean) {
  const a = new TcpConnection({ localPort: 40000, remotePort: 80, iss: 0xfffff000, config: { recvBufferSize: 1 << 20, sendBufferSize: 1 << 22, ...cfgA } });
  const b = new TcpConnection({ localPort: 80, remotePort: 40000, iss: 300, config: { recvBufferSize: 1 << 20, ...cfgB } });
  b.listen(0);
  const sent: Sent[] = [];
  let now = 0;
  // The fate callback runs right after pollTransmit() returned the segment: a.txSegmentSize describes it.
  const fate = (from: 'a' | 'b', seg: TcpSegment, i: number): Fate => {
    if (from === 'a' && seg.payload.length > 0) {
      // SND.UNA + SND.WND when the segment left: its right edge must stay within it (RFC 9293 §3.8.6.2.1).
      sent.push({ seg, segmentSize: a.txSegmentSize, mss: a.sndMss, wndRight: (a.sndUna + a.sndWnd) >>> 0, time: now });
    }
    return lose?.(i, seg) ? 'drop' : 'deliver';
  };
  const p = new Pair(a, b, { delay: 5, fate });
  a.connect(0);
  const data = bytes(n, 11);
  let off = 0;
  const got: Uint8Array[] = [];
  p.onStep = (q) => {
    now = q.now;
    if (q.a.state === 'ESTABLISHED' && off < n) off += q.a.send(data.subarray(off), q.now);
    if (off === n && q.a.state === 'ESTABLISHED') q.a.shutdown(q.now);
    const r = readAll(q.b);
    if (r.length) got.push(r);
    if (q.b.state === 'CLOSE-WAIT') q.b.shutdown(q.now);
  };
  p.run((q) => q.a.state === 'TIME-WAIT' && q.b.state === 'CLOSED', 30 * 60_000);
  return { p, sent, data, got: Buffer.concat(got) };
}

const seqEnd = (s: TcpSegment) => (s.seq + s.payload.length) >>> 0;
const within = (end: number, right: number) => ((right - end) | 0) >= 0;

test('tsoMaxBytes: new data leaves in super-segments of whole MSS multiples, each tagged with its MSS, within the window', () => {
  const { p, sent, data, got } = transfer(4 << 20, { tsoMaxBytes: 65535 }, { receiveOffload: true });
  assert.deepEqual(got, Buffer.from(data));
  assert.equal(p.a.state, 'TIME-WAIT');
  const big = sent.filter((s) => s.seg.payload.length > s.mss);
  assert.ok(big.length > 20, `only ${big.length} super-segments`);
  for (const s of sent) {
    const len = s.seg.payload.length;
    if (len > s.mss) {
      assert.equal(s.segmentSize, s.mss, 'a super-segment carries its MSS');
      // Only the last piece of the data may be short (it carries PSH); elsewhere whole MSS multiples.
      if (!(s.seg.flags & PSH)) assert.equal(len % s.mss, 0, `super-segment of ${len} bytes, MSS ${s.mss}`);
      assert.ok(len <= 65535 - 20 - 60, `segment of ${len} bytes does not fit an IPv4 datagram`);
    } else {
      assert.equal(s.segmentSize, 0, 'an ordinary segment is not tagged');
    }
    assert.ok(within(seqEnd(s.seg), s.wndRight), 'segment beyond the offered window');
  }
  // Fewer, larger segments: 4 MiB in far fewer than 4 MiB / MSS segments.
  assert.ok(sent.length < (4 << 20) / sent[0]!.mss / 5, `${sent.length} data segments`);
});

test('tsoMaxBytes 0 (the default): no segment exceeds one MSS and none is tagged', () => {
  const { sent, data, got } = transfer(1 << 20, {});
  assert.deepEqual(got, Buffer.from(data));
  for (const s of sent) {
    assert.ok(s.seg.payload.length <= s.mss);
    assert.equal(s.segmentSize, 0);
  }
});

test('tsoMaxBytes with 3% loss: retransmissions are single MSS segments and the data still arrives intact', () => {
  const { sent, data, got, p } = transfer(2 << 20, { tsoMaxBytes: 65535 }, { receiveOffload: true }, (i) => (i * 7919) % 100 < 3);
  assert.deepEqual(got, Buffer.from(data));
  assert.ok(p.a.stats.RetransSegs > 0, 'the loss pattern caused no retransmission');
  // A retransmission starts below the highest sequence already sent; it never exceeds one MSS.
  let high = sent[0]!.seg.seq;
  for (const s of sent) {
    if (((s.seg.seq - high) | 0) < 0) assert.ok(s.seg.payload.length <= s.mss, `retransmission of ${s.seg.payload.length} bytes`);
    if (((seqEnd(s.seg) - high) | 0) > 0) high = seqEnd(s.seg);
  }
});

test('receiveOffload: a super-segment is ACKed at once; without it, it waits for the delayed-ACK timer like one segment', () => {
  const firstAckDelay = (receiveOffload: boolean) => {
    // No tail loss probe: its probe (2·SRTT = 10 ms here) would draw the ACK before the delayed-ACK timer.
    const { p } = transfer(200_000, { tsoMaxBytes: 65535, tailLossProbe: false }, { receiveOffload, delayedAck: true, delayedAckTimeout: 40 });
    const log = p.log;
    const data = log.findIndex((r) => r.from === 'a' && r.seg.payload.length > 1448);
    assert.ok(data >= 0, 'no super-segment was sent');
    const ack = log.slice(data).find((r) => r.from === 'b' && within(seqEnd(log[data]!.seg), r.seg.ack));
    assert.ok(ack, 'the super-segment was never ACKed');
    return ack.time - log[data]!.time;
  };
  assert.equal(firstAckDelay(true), 5, 'ACK sent on arrival (one-way delay 5 ms)');
  assert.ok(firstAckDelay(false) >= 5 + 40, 'without receiveOffload the ACK is delayed');
});
