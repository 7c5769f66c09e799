/**
 * Undoing a needless window reduction (recovery/undo.ts, as Linux's tcp_try_undo_*): a segment that was only
 * late is deemed lost and resent; the receiver's D-SACK (RFC 2883) or the timestamp echoed by the ACK that
 * ends recovery (RFC 3522 Eifel) shows the retransmission was not needed, and cwnd goes back to what it was.
 * Hand-built ACKs on a passive connection whose handshake measured 100 ms; MSS 1000, segment i is
 * [ISS+1+1000·i, +1000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, SYN, type TcpOptions, type TcpSegment } from '../wire/tcp-types.js';
import { IRS, ISS, PLAIN, bytes, newConn, runTimers, sackSender, seg } from './test-util.js';
import type { TcpConnection } from './connection.js';

const MSS = 1000;
const RTT = 100;
const at = (i: number): number => (ISS + 1 + i * MSS) >>> 0;

/** With timestamps the peer offers 12 bytes more, so segments still hold MSS bytes of data. */
const open = (ts: boolean): TcpConnection => sackSender(MSS, RTT, { timestamps: ts });

/** An ACK at `now` (timers due before it run first); returns what the sender sends. */
function ack(c: TcpConnection, now: number, cum: number, opts: TcpOptions = {}): TcpSegment[] {
  const out = runTimers(c, now);
  c.input(seg(ACK, IRS + 1, cum, { window: 65535, options: opts }), now);
  return out.concat(c.drainTransmit(now));
}

const tsOf = (segs: TcpSegment[], seq: number): number => segs.find((s) => s.seq === seq && s.payload.length > 0)!.options.tsVal!;

/**
 * 10 segments go out; segment 2 is late: 3..5 are SACKed, so RACK deems 2 lost and resends it (fast recovery,
 * cwnd cut). Returns the connection, cwnd before the loss, what was sent and when the retransmission went.
 */
function lateSegment(ts: boolean): { c: TcpConnection; cwndBefore: number; first: TcpSegment[]; rtx: TcpSegment[]; t: number } {
  const c = open(ts);
  c.send(bytes(10 * MSS), RTT);
  const first = c.drainTransmit(RTT);
  assert.equal(first.length, 10);
  const t = 2 * RTT;
  const echo = (i: number): TcpOptions => (ts ? { tsVal: 3, tsEcr: tsOf(first, at(i)) } : {});
  ack(c, t, at(2), echo(1));
  const cwndBefore = c.cc.cwnd;
  ack(c, t + 1, at(2), { ...echo(1), sack: [at(3), at(4)] });
  ack(c, t + 2, at(2), { ...echo(1), sack: [at(3), at(5)] });
  const rtx = ack(c, t + 3, at(2), { ...echo(1), sack: [at(3), at(6)] }).filter((s) => s.seq === at(2) && s.payload.length > 0);
  assert.equal(rtx.length, 1, 'segment 2 resent');
  assert.equal(c.inRecovery, true);
  assert.ok(c.cc.cwnd < cwndBefore, 'cwnd cut');
  return { c, cwndBefore, first, rtx, t: t + 3 };
}

test('every retransmission D-SACKed: the reduction is undone and recovery ends (Linux tcp_try_undo_dsack)', () => {
  const { c, cwndBefore, t } = lateSegment(false);
  // The original segment 2 arrives (the hole fills: ACK 6), then the retransmission: a D-SACK below the ACK.
  ack(c, t + 5, at(6));
  ack(c, t + 6, at(6), { sack: [at(2), at(3)] });
  assert.equal(c.stats.TCPDSACKUndo, 1);
  assert.equal(c.inRecovery, false);
  assert.ok(c.cc.cwnd >= cwndBefore, `cwnd ${c.cc.cwnd} back to at least ${cwndBefore}`);
});

test('the ACK ending recovery echoes the original\'s timestamp: the reduction is undone (Eifel, RFC 3522)', () => {
  const { c, cwndBefore, first, t } = lateSegment(true);
  // The late original fills the hole; the receiver echoes its TSval, older than the retransmission's.
  ack(c, t + 5, at(10), { tsVal: 4, tsEcr: tsOf(first, at(2)) });
  assert.equal(c.stats.TCPFullUndo, 1);
  assert.equal(c.inRecovery, false);
  assert.ok(c.cc.cwnd >= cwndBefore, `cwnd ${c.cc.cwnd} back to at least ${cwndBefore}`);
});

test('a real loss is not undone: the ACK echoes the retransmission and no D-SACK comes', () => {
  const { c, cwndBefore, rtx, t } = lateSegment(true);
  ack(c, t + RTT, at(10), { tsVal: 4, tsEcr: rtx[0]!.options.tsVal! });
  assert.equal(c.stats.TCPFullUndo + c.stats.TCPDSACKUndo, 0);
  assert.equal(c.inRecovery, false);
  assert.ok(c.cc.cwnd < cwndBefore, 'cwnd stays reduced');
  assert.equal(c.cc.cwnd, c.cc.ssthresh);
});

test('a spurious RTO: the first ACK answers data sent before the timeout; cwnd is restored and no more is resent', () => {
  const c = open(true);
  c.send(bytes(10 * MSS), RTT);
  const first = c.drainTransmit(RTT);
  const cwndBefore = c.cc.cwnd;
  // Every ACK is delayed past the RTO (1 s initial... measured: 100 ms RTT, RTO 300 ms): the timer fires.
  const rto = runTimers(c, RTT + 2000).filter((s) => s.payload.length > 0);
  assert.ok(c.stats.TCPTimeouts >= 1);
  assert.ok(rto.length >= 1 && rto.every((s) => s.seq === at(0) || s.seq === at(9)), 'the RTO (or probe) resends');
  const now = c.nextDeadline() - 1;
  // The delayed ACK for everything sent the first time arrives: it echoes the first transmission's timestamp.
  const after = ack(c, now, at(10), { tsVal: 4, tsEcr: tsOf(first, at(9)) });
  assert.equal(c.stats.TCPLossUndo, 1);
  assert.equal(c.rtoRecovery, false);
  assert.ok(c.cc.cwnd >= cwndBefore, `cwnd ${c.cc.cwnd} back to at least ${cwndBefore}`);
  assert.deepEqual(after.filter((s) => s.payload.length > 0), []);
});

/**
 * Segment 8 overtakes 1..7 (a second route): RACK deems 1..7 lost once its window passes and resends from 1.
 * Then 1..2 arrive: the ACK echoes the original's timestamp. Returns what was resent after that ACK. Without
 * `echoOriginal` segment 1 was lost: only the retransmission arrives, and the ACKs that follow acknowledge
 * nothing more (2..7 are lost too).
 */
function overtaken(echoOriginal: boolean): { c: TcpConnection; resent: number[] } {
  const c = open(true);
  c.send(bytes(10 * MSS), RTT);
  const first = c.drainTransmit(RTT);
  const t = 2 * RTT;
  ack(c, t, at(1), { tsVal: 3, tsEcr: tsOf(first, at(0)) });
  ack(c, t + 1, at(1), { tsVal: 3, tsEcr: tsOf(first, at(0)), sack: [at(8), at(9)] });
  const rtx = runTimers(c, t + 40).filter((s) => s.payload.length > 0);
  assert.equal(c.inRecovery, true);
  assert.ok(rtx.length >= 1 && rtx[0]!.seq === at(1), 'segment 1 resent');
  const tsEcr = echoOriginal ? tsOf(first, at(2)) : rtx[0]!.options.tsVal!;
  const resent: TcpSegment[] = [];
  const cum = echoOriginal ? [at(3), at(5), at(7)] : [at(2), at(2), at(2)];
  resent.push(...ack(c, t + 41, cum[0]!, { tsVal: 4, tsEcr, sack: [at(8), at(9)] }));
  resent.push(...ack(c, t + 42, cum[1]!, { tsVal: 4, tsEcr, sack: [at(8), at(10)] }));
  resent.push(...ack(c, t + 43, cum[2]!, { tsVal: 4, tsEcr, sack: [at(8), at(10)] }));
  return { c, resent: resent.filter((s) => s.payload.length > 0 && ((s.seq - at(8)) | 0) < 0).map((s) => (s.seq - at(0)) / MSS) };
}

test('a partial ACK answering the original (Linux tcp_try_undo_partial): loss marks and the reduction are undone, nothing more is resent', () => {
  const { c, resent } = overtaken(true);
  assert.equal(c.stats.TCPPartialUndo, 1);
  assert.equal(c.inRecovery, false);
  assert.deepEqual(resent, [], 'segments 3..7 were on their way: not resent');
  // The same arrivals, but the ACK echoes the retransmission: the hole was a loss, and RACK's marks stand.
  const real = overtaken(false);
  assert.equal(real.c.stats.TCPPartialUndo, 0);
  assert.ok(real.resent.length >= 2, `resent ${real.resent.join(',')}`);
});

test('recoveries undone as reordering keep RACK\'s widened reordering window (only real losses count toward shrinking it)', () => {
  const c = open(true);
  let base = 0; // segment index of this round's first segment
  const seq = (i: number): number => at(base + i);
  for (let round = 0; round < 20; round++) {
    const t0 = 2000 * (round + 1);
    c.send(bytes(10 * MSS), t0);
    const sent = c.drainTransmit(t0);
    const t = t0 + RTT;
    const echo = (i: number): TcpOptions => ({ tsVal: 3, tsEcr: tsOf(sent, seq(i)) });
    ack(c, t, seq(2), echo(1));
    // In the first round the receiver reports segment 0 twice (a D-SACK): the reordering window widens.
    if (round === 0) ack(c, t, seq(2), { ...echo(1), sack: [seq(0), seq(1)] });
    ack(c, t + 1, seq(2), { ...echo(1), sack: [seq(3), seq(4)] });
    ack(c, t + 2, seq(2), { ...echo(1), sack: [seq(3), seq(5)] });
    ack(c, t + 3, seq(2), { ...echo(1), sack: [seq(3), seq(6)] });
    runTimers(c, t + 150); // reo_wnd is at most SRTT: segment 2 is deemed lost and resent, before any RTO
    // Segment 2 was only late: the hole fills with the original, whose timestamp the ACK echoes.
    ack(c, t + 151, seq(10), echo(2));
    base += 10;
  }
  assert.ok(c.stats.TCPFullUndo >= 17, `${c.stats.TCPFullUndo} undone`);
  assert.ok(c.rack.reoWndMult > 1, `reo_wnd_mult ${c.rack.reoWndMult}: not shrunk back by recoveries that were reordering`);
});

test('a cumulative ACK that a late original earned does not time RACK from the retransmission (RFC 8985 §6.2 step 2)', () => {
  const c = newConn({ ...PLAIN, sack: true, timestamps: true, initialWindowSegments: 20 });
  c.listen(0);
  c.input(seg(SYN, IRS, 0, { options: { mss: MSS + 12, sackPermitted: true, tsVal: 1, tsEcr: 0 }, window: 65535 }), 0);
  const synAck = c.drainTransmit(0)[0]!;
  c.input(seg(ACK, IRS + 1, ISS + 1, { window: 65535, options: { tsVal: 2, tsEcr: synAck.options.tsVal! } }), RTT);
  c.send(bytes(20 * MSS), RTT);
  const first = c.drainTransmit(RTT);
  assert.equal(first.length, 20);
  const t = 2 * RTT;
  ack(c, t, at(2), { tsVal: 3, tsEcr: tsOf(first, at(1)) });
  ack(c, t + 1, at(2), { tsVal: 3, tsEcr: tsOf(first, at(1)), sack: [at(3), at(4)] }); // 2 is late
  const rtx = runTimers(c, t + 30).filter((s) => s.payload.length > 0);
  assert.deepEqual(rtx.map((s) => s.seq), [at(2)], 'segment 2 deemed lost and resent');
  // 105 ms after the retransmission (more than the minimum RTT) the original arrives and fills the hole; 4..19,
  // sent before the retransmission, are still on their way. Then a duplicate ACK.
  const tr = t + 30; // the retransmission went out before this
  const later = ack(c, tr + 105, at(4), { tsVal: 4, tsEcr: tsOf(first, at(2)) })
    .concat(ack(c, tr + 106, at(4), { tsVal: 4, tsEcr: tsOf(first, at(2)) }));
  assert.deepEqual(later.filter((s) => s.payload.length > 0 && ((s.seq - at(4)) | 0) >= 0 && ((s.seq - at(20)) | 0) < 0).map((s) => (s.seq - at(0)) / MSS), [],
    'segments sent before the retransmission are not deemed lost');
});
