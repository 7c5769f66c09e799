/**
 * Loss recovery on one engine fed hand-built ACKs: RTO per RFC 6298 (first sample, smoothing, clamps,
 * backoff, Karn), the retransmission limit, fast retransmit (RFC 5681 §3.2), NewReno partial ACKs
 * (RFC 6582) and SACK-based recovery (RFC 2018 / RFC 6675). ISS = 1000, IRS = 5000.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, SYN, type TcpSegment } from '../wire/tcp-types.js';
import { IRS, ISS, PLAIN, bytes, established, seg, synReceived, synSent, wire } from './test-util.js';
import type { TcpConnection } from './connection.js';

const SND = ISS + 1;
const RCV = IRS + 1;

/** ESTABLISHED through our active open, with the SYN+ACK arriving at `rttMs` (one RTT sample of that size). */
function activeEstablished(rttMs: number, config = PLAIN): TcpConnection {
  const c = synSent(config, 0);
  c.input(seg(SYN | ACK, IRS, ISS + 1), rttMs);
  c.drainTransmit(rttMs);
  c.drainEvents();
  return c;
}

/** Run timers until `until` ms, collecting [time, segment] for everything sent. */
function runTimers(c: TcpConnection, until: number): Array<[number, TcpSegment]> {
  const out: Array<[number, TcpSegment]> = [];
  for (;;) {
    const t = c.nextDeadline();
    if (t > until) break;
    c.onTimeout(t);
    for (const s of c.drainTransmit(t)) out.push([t, s]);
    if (c.state === 'CLOSED') break;
  }
  return out;
}

describe('RTO (RFC 6298)', () => {
  test('before any sample the RTO is rtoInitial (1 s, §2.1)', () => {
    const c = synSent();
    assert.equal(c.nextDeadline(), 1000);
    assert.equal(c.retransmissionTimeout, 1000);
  });

  test('first sample R: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4·RTTVAR) (§2.2)', () => {
    const c = activeEstablished(100);
    assert.equal(c.smoothedRtt, 100);
    assert.equal(c.retransmissionTimeout, 300);
  });

  test('later samples: RTTVAR = ¾RTTVAR + ¼|SRTT−R|, SRTT = ⅞SRTT + ⅛R (§2.3)', () => {
    const c = activeEstablished(100);
    c.send(bytes(100), 100);
    c.drainTransmit(100);
    c.input(seg(ACK, RCV, SND + 100), 300); // R = 200
    assert.equal(c.smoothedRtt, 112.5);
    assert.equal(c.retransmissionTimeout, 112.5 + 4 * 62.5);
  });

  test('RTO is clamped below at rtoMin and above at rtoMax (§2.4, §2.5)', () => {
    const lo = activeEstablished(1);
    assert.equal(lo.retransmissionTimeout, 200);
    const hi = activeEstablished(400, { ...PLAIN, rtoMin: 1, rtoMax: 500, rtoInitial: 500 });
    assert.equal(hi.smoothedRtt, 400);
    assert.equal(hi.retransmissionTimeout, 500);
  });

  test('on RTO the earliest unacknowledged segment is retransmitted and the timer doubles each time (§5.4, §5.5), up to rtoMax', () => {
    const c = established({ ...PLAIN, rtoMax: 1000 });
    c.send(bytes(300), 0);
    assert.deepEqual(wire(c, 0), ['PSH+ACK seq=1001 ack=5001 len=300']);
    const sent = runTimers(c, 4000).map(([t, s]) => `${t} seq=${s.seq} len=${s.payload.length}`);
    assert.deepEqual(sent, [
      '200 seq=1001 len=300', '600 seq=1001 len=300', '1400 seq=1001 len=300', '2400 seq=1001 len=300', '3400 seq=1001 len=300',
    ]);
    assert.equal(c.stats.TCPTimeouts, 5);
  });

  test('the timer is restarted on an ACK for new data and stopped when all data is acknowledged (§5.2, §5.3)', () => {
    const c = established();
    c.send(bytes(1000), 0);
    c.drainTransmit(0);
    assert.equal(c.nextDeadline(), 200);
    c.input(seg(ACK, RCV, SND + 536), 150);
    assert.equal(c.nextDeadline(), 350);
    c.input(seg(ACK, RCV, SND + 1000), 160);
    assert.equal(c.nextDeadline(), Infinity);
  });

  test('Karn: an ACK for a retransmitted segment gives no RTT sample and the backed-off RTO is kept', () => {
    const c = activeEstablished(100); // SRTT 100, RTO 300
    c.send(bytes(100), 100);
    c.drainTransmit(100);
    const [[t, rtx]] = runTimers(c, 400) as [[number, TcpSegment]];
    assert.equal(t, 400);
    assert.equal(rtx.seq, SND);
    c.input(seg(ACK, RCV, SND + 100), 450); // ambiguous: for the original (350 ms) or the copy (50 ms)?
    assert.equal(c.smoothedRtt, 100, 'no sample taken');
    assert.equal(c.retransmissionTimeout, 600, 'backed-off RTO kept until a valid sample');
    // A segment sent after the recovery is timed normally and clears the backoff.
    c.send(bytes(100), 450);
    c.drainTransmit(450);
    c.input(seg(ACK, RCV, SND + 200), 550);
    assert.equal(c.smoothedRtt, 100);
    assert.equal(c.retransmissionTimeout, 100 + 4 * 37.5);
  });

  test('with timestamps, RTT is sampled from TSecr (RFC 7323 §4.1)', () => {
    const c = established({ ...PLAIN, timestamps: true }, 0, { options: { tsVal: 77, tsEcr: 0 }, ackOptions: { tsVal: 78, tsEcr: 0 } });
    assert.ok(c.tsOk);
    c.send(bytes(10), 1000);
    const [d] = c.drainTransmit(1000);
    assert.equal(d!.options.tsVal, 1000);
    const before = c.smoothedRtt; // from the handshake (0 ms: everything happened at t = 0)
    c.input(seg(ACK, RCV, SND + 10, { options: { tsVal: 90, tsEcr: d!.options.tsVal! } }), 1250);
    assert.equal(c.smoothedRtt, 0.875 * before + 0.125 * 250, 'sample R = now - TSecr = 250 ms');
    // TSecr disambiguates retransmissions: an ACK echoing the retransmission's TSval yields a valid sample too.
    c.send(bytes(10), 2000);
    c.drainTransmit(2000);
    const [[t, rtx]] = runTimers(c, c.nextDeadline()) as [[number, TcpSegment]];
    const srtt = c.smoothedRtt;
    c.input(seg(ACK, RCV, SND + 20, { options: { tsVal: 91, tsEcr: rtx.options.tsVal! } }), t + 40);
    assert.equal(c.smoothedRtt, 0.875 * srtt + 0.125 * 40);
  });

  test('RFC 6298 §5.7: after a SYN timeout with no RTT sample, data starts with RTO = 3 s', () => {
    const c = synSent();
    c.onTimeout(1000);
    assert.deepEqual(wire(c, 1000), ['SYN seq=1000']);
    c.input(seg(SYN | ACK, IRS, ISS + 1), 1100); // ambiguous (Karn): no sample
    c.drainTransmit(1100);
    assert.equal(c.smoothedRtt, 0);
    assert.equal(c.retransmissionTimeout, 3000);
    c.send(bytes(10), 1100);
    c.drainTransmit(1100);
    assert.equal(c.nextDeadline(), 4100);
    // The passive side likewise when its SYN+ACK timed out.
    const p = synReceived();
    p.onTimeout(1000);
    assert.deepEqual(wire(p, 1000), ['SYN+ACK seq=1000 ack=5001']);
    p.input(seg(ACK, RCV, SND), 1100);
    assert.equal(p.state, 'ESTABLISHED');
    assert.equal(p.retransmissionTimeout, 3000);
    // Without a timeout the handshake's RTT sample sets the RTO as usual.
    const d = activeEstablished(100);
    assert.equal(d.retransmissionTimeout, 300);
  });

  test('retransmission limit: after maxRetransmits the connection sends RST and fails with ETIMEDOUT', () => {
    const c = established({ ...PLAIN, maxRetransmits: 3 });
    c.send(bytes(10), 0);
    c.drainTransmit(0);
    const sent = runTimers(c, 100_000).map(([t, s]) => `${t} ${s.flags & 4 ? 'RST' : 'data'} seq=${s.seq}`);
    assert.deepEqual(sent, ['200 data seq=1001', '600 data seq=1001', '1400 data seq=1001', '3000 RST seq=1011']);
    assert.equal(c.state, 'CLOSED');
    assert.equal(c.error?.code, 'ETIMEDOUT');
    const ev = c.drainEvents();
    assert.ok(ev.some((e) => e.type === 'error' && e.code === 'ETIMEDOUT'));
    assert.equal(c.stats.TCPAbortOnTimeout, 1);
  });

  test('retries reset when an ACK makes progress: the limit counts consecutive timeouts', () => {
    const c = established({ ...PLAIN, maxRetransmits: 2 });
    c.send(bytes(1000), 0);
    c.drainTransmit(0);
    runTimers(c, 600); // two retransmissions
    c.input(seg(ACK, RCV, SND + 536), 700);
    c.drainTransmit(700);
    runTimers(c, 700 + 1500);
    assert.notEqual(c.state, 'CLOSED');
  });
});

// ---------------------------------------------------------------------------------------------
/** Send `n` segments of the peer's default MSS (536, no MSS option) and return the segments. */
function sendSegments(c: TcpConnection, n: number, now = 0): TcpSegment[] {
  c.send(bytes(n * 536), now);
  return c.drainTransmit(now);
}

describe('initial window and fast retransmit (RFC 6928, RFC 5681 §3.2)', () => {
  test('the initial window is min(10·MSS, max(2·MSS, 14600)) in the peer\'s MSS: 10 segments of 536', () => {
    const c = established();
    const out = sendSegments(c, 30);
    assert.equal(out.length, 10);
    assert.ok(out.every((s) => s.payload.length === 536));
    assert.equal(c.congestionWindow, 5360);
  });

  test('slow start: each ACK grows cwnd (by up to 2 SMSS, RFC 3465 L=2), releasing more segments', () => {
    const c = established();
    sendSegments(c, 30);
    c.input(seg(ACK, RCV, SND + 2 * 536), 10);
    assert.equal(c.congestionWindow, 5360 + 2 * 536);
    const more = c.drainTransmit(10);
    assert.equal(more.length, 4, '2 freed by the ACK + 2 from cwnd growth');
  });

  test('three duplicate ACKs → the missing segment is retransmitted at once, ssthresh = FlightSize/2', () => {
    const c = established({ ...PLAIN, congestionControl: 'newreno' });
    sendSegments(c, 20);
    for (let i = 0; i < 2; i++) {
      c.input(seg(ACK, RCV, SND), 10 + i);
      assert.deepEqual(wire(c, 10 + i), [], 'no retransmission before the third duplicate');
    }
    c.input(seg(ACK, RCV, SND), 12);
    assert.deepEqual(wire(c, 12), ['ACK seq=1001 ack=5001 len=536']);
    assert.equal(c.stats.TCPFastRetrans, 1);
    assert.equal(c.slowStartThreshold, 2680);
    assert.equal(c.congestionWindow, 2680 + 3 * 536);
    assert.ok(c.nextDeadline() > 12, 'RTO still armed');
  });

  test('an ACK that changes the window or carries data is not a duplicate ACK', () => {
    const c = established();
    sendSegments(c, 20);
    c.input(seg(ACK, RCV, SND, { window: 60000 }), 10);
    c.input(seg(ACK, RCV, SND, { window: 60000, payload: bytes(1) }), 11);
    c.input(seg(ACK, RCV + 1, SND, { window: 60000, payload: bytes(1) }), 12);
    c.drainTransmit(12);
    assert.equal(c.stats.TCPFastRetrans, 0);
  });

  test('NewReno: a partial ACK retransmits the next hole at once and recovery continues; the full ACK ends it', () => {
    const c = established();
    sendSegments(c, 10); // seqs 1001 + k·536; segments 0 and 3 are lost
    for (let i = 0; i < 3; i++) c.input(seg(ACK, RCV, SND), 10 + i);
    assert.deepEqual(wire(c, 12), ['ACK seq=1001 ack=5001 len=536']);
    // The retransmission fills the first hole: the receiver ACKs up to the second hole (partial ACK, < recover).
    c.input(seg(ACK, RCV, SND + 3 * 536), 30);
    const out = wire(c, 30);
    assert.equal(out[0], `ACK seq=${SND + 3 * 536} ack=5001 len=536`);
    assert.equal(c.stats.TCPFastRetrans, 1, 'still the same recovery episode');
    c.input(seg(ACK, RCV, SND + 10 * 536), 50);
    assert.ok(c.congestionWindow <= c.slowStartThreshold, 'cwnd deflated to at most ssthresh (RFC 6582 §3.2 step 6)');
    assert.equal(c.bytesInFlight, newDataBytes(out), 'only the new data sent during recovery is still in flight');
  });

  test('during fast recovery without SACK, further duplicate ACKs inflate cwnd and clock out new data, not copies of segments the receiver holds', () => {
    const c = established();
    sendSegments(c, 20); // 10 in flight, 10 queued; segment 0 lost, 1..9 arrive
    const sent: number[] = [];
    for (let i = 0; i < 9; i++) {
      c.input(seg(ACK, RCV, SND), 10 + i);
      for (const s of c.drainTransmit(10 + i)) sent.push((s.seq - SND) / 536);
    }
    assert.equal(sent[0], 0, 'fast retransmit of segment 0');
    assert.ok(sent.length > 1, 'inflation released new data');
    assert.deepEqual(sent.slice(1).filter((k) => k < 10), [], `only new segments (>= 10) after the retransmission, got ${sent}`);
    assert.equal(c.stats.RetransSegs, 1);
  });

  test('after an RTO, duplicate ACKs below "recover" do not start a fast retransmit (RFC 6582 §3.2 step 2)', () => {
    const c = established();
    sendSegments(c, 10);
    runTimers(c, 200); // RTO: go-back-N from SND.UNA
    for (let i = 0; i < 4; i++) c.input(seg(ACK, RCV, SND), 210 + i);
    c.drainTransmit(214);
    assert.equal(c.stats.TCPFastRetrans, 0);
    assert.equal(c.congestionWindow, 536, 'loss window after RTO is 1 SMSS (RFC 5681 §3.1)');
  });
});

/** Data bytes in the described segments after the first (the retransmission): new data sent during recovery. */
function newDataBytes(lines: string[]): number {
  let n = 0;
  for (const l of lines.slice(1)) { const m = /len=(\d+)/.exec(l); if (m) n += Number(m[1]); }
  return n;
}

// ---------------------------------------------------------------------------------------------
describe('SACK-based recovery (RFC 2018, RFC 6675)', () => {
  function sackConn(): TcpConnection {
    // No tail loss probe: these tests are about the RTO and fast recovery themselves.
    const c = established({ ...PLAIN, sack: true, tailLossProbe: false }, 0, { options: { sackPermitted: true } });
    assert.ok(c.sackOk);
    return c;
  }
  const at = (k: number) => SND + k * 536;
  const sackAck = (ack: number, blocks: number[], now: number, c: TcpConnection) => c.input(seg(ACK, RCV, ack, { options: { sack: blocks } }), now);

  test('holes are retransmitted, SACKed data never is; recovery completes', () => {
    const c = sackConn();
    const first = sendSegments(c, 10);
    assert.equal(first.length, 10);
    // Segments 1 and 4 lost. Segment 0 acked; 2, 3, 5..9 arrive and are SACKed.
    sackAck(at(1), [], 10, c);
    const rtx: number[] = [];
    const collect = (now: number) => { for (const s of c.drainTransmit(now)) if (s.payload.length && ((s.seq - at(10)) | 0) < 0) rtx.push(s.seq); };
    collect(10);
    sackAck(at(1), [at(2), at(3)], 11, c); collect(11);
    sackAck(at(1), [at(2), at(4)], 12, c); collect(12);
    sackAck(at(1), [at(5), at(6), at(2), at(4)], 13, c); collect(13);
    assert.equal(c.stats.TCPFastRetrans, 1, 'loss detected by the third duplicate ACK');
    assert.equal(rtx[0], at(1), 'first hole first');
    for (let k = 7; k <= 10; k++) { sackAck(at(1), [at(5), at(k), at(2), at(4)], 10 + k, c); collect(10 + k); }
    assert.ok(rtx.includes(at(4)), `second hole retransmitted while in recovery (got ${rtx.map((s) => s - SND)})`);
    // The retransmissions arrive: everything is acknowledged.
    sackAck(at(4), [at(5), at(10)], 40, c); collect(40);
    sackAck(at(10), [], 41, c); collect(41);
    assert.deepEqual([...new Set(rtx)].sort((a, b) => a - b), [at(1), at(4)]);
    assert.equal(rtx.length, 2, 'each hole sent once, no SACKed segment resent');
    assert.equal(c.bytesInFlight, c.sendQueued > 0 ? c.bytesInFlight : 0);
  });

  test('a partial ACK stopping at a segment that was never SACKed nor resent → that segment is retransmitted at once', () => {
    const c = sackConn();
    sendSegments(c, 10); // segments 0 and 9 lost; 1..8 SACKed
    for (let k = 2; k <= 4; k++) sackAck(SND, [at(1), at(k)], 10 + k, c);
    assert.deepEqual(wire(c, 14), ['ACK seq=1001 ack=5001 len=536']);
    for (let k = 5; k <= 9; k++) sackAck(SND, [at(1), at(k)], 10 + k, c);
    assert.deepEqual(wire(c, 19).filter((l) => l.includes('len=')), [], 'segment 9 is above the highest SACK: not deemed lost yet');
    sackAck(at(9), [], 30, c);
    assert.deepEqual(wire(c, 30), [`PSH+ACK seq=${at(9)} ack=5001 len=536`]);
  });

  test('SACK blocks outside SND.UNA..SND.NXT (D-SACK, garbage) are ignored', () => {
    const c = sackConn();
    sendSegments(c, 4);
    for (let i = 0; i < 5; i++) sackAck(SND, [at(10), at(20), SND - 500, SND - 100], 10 + i, c);
    // Plain duplicate ACKs still count (3 → fast retransmit), but nothing beyond SND.NXT is believed.
    const out = wire(c, 15);
    assert.ok(out.every((l) => !l.includes('len=') || l.startsWith('ACK seq=1001')), out.join(' | '));
  });

  test('after an RTO the scoreboard is cleared and retransmission restarts from SND.UNA (RFC 6675 §5.1)', () => {
    const c = sackConn();
    sendSegments(c, 4);
    sackAck(SND, [at(1), at(2)], 10, c);
    const sent = runTimers(c, c.nextDeadline());
    assert.equal(sent[0]![1].seq, SND);
  });
});
