/**
 * Options and flow control on one engine fed hand-built segments: window scaling (RFC 7323 §2),
 * timestamps and PAWS (RFC 7323 §3–5), MSS (RFC 9293 §3.7.1), delayed ACK (§3.8.6.3), Nagle (§3.7.4),
 * keep-alive (§3.8.4), zero-window probing (§3.8.6.1), the receive window's right edge (§3.8.6.2.2),
 * out-of-order reassembly and SACK blocks (RFC 2018). ISS = 1000, IRS = 5000.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, FIN, PSH, RST, SYN, type TcpSegment } from '../wire/tcp-types.js';
import { optionsLength } from '../wire/tcp.js';
import { IRS, ISS, PLAIN, bytes, established, newConn, readAll, seg, synSent, wire } from './test-util.js';
import type { TcpConnection } from './connection.js';

const SND = ISS + 1;
const RCV = IRS + 1;

function lens(out: TcpSegment[]): number[] { return out.map((s) => s.payload.length); }

// =====================================================================================
describe('window scaling (RFC 7323 §2)', () => {
  // A fixed buffer: these windows are the whole recvBufferSize (autotuning would offer 64 KiB first).
  const WS = { ...PLAIN, windowScaling: true, recvBufferAutotune: false };

  test('passive: the peer\'s SYN window is not scaled, later windows are shifted by its wscale; ours likewise', () => {
    const c = newConn(WS);
    c.listen(0);
    c.input(seg(SYN, IRS, 0, { window: 1000, options: { wscale: 2 } }), 0);
    assert.equal(c.sndWnd, 1000, 'SEG.WND of a SYN is never scaled');
    const [synack] = c.drainTransmit(0);
    assert.equal(synack!.options.wscale, 5, 'shift for a 1 MiB buffer');
    assert.equal(synack!.window, 65535, 'our SYN+ACK window is unscaled (capped at 65535)');
    c.input(seg(ACK, RCV, SND, { window: 1000 }), 1);
    assert.equal(c.sndWnd, 4000, '1000 << 2');
    c.input(seg(ACK, RCV, SND, { window: 1000, payload: bytes(10) }), 2);
    const [ack] = c.drainTransmit(2);
    assert.equal(ack!.window, ((1 << 20) - 10) >>> 5);
  });

  test('active: our SYN offers wscale; the SYN+ACK window is unscaled, the next ones are scaled', () => {
    const c = synSent(WS);
    c.input(seg(SYN | ACK, IRS, SND, { window: 1000, options: { wscale: 3 } }), 1);
    assert.equal(c.sndWnd, 1000);
    c.input(seg(ACK, RCV, SND, { window: 1000 }), 2);
    assert.equal(c.sndWnd, 8000);
    assert.equal(c.rcvShift, 5);
  });

  test('if the peer does not offer wscale, neither side scales: no wscale in our SYN+ACK, windows capped at 65535', () => {
    const c = newConn(WS);
    c.listen(0);
    c.input(seg(SYN, IRS, 0, { window: 1000 }), 0);
    const [synack] = c.drainTransmit(0);
    assert.equal(synack!.options.wscale, undefined);
    c.input(seg(ACK, RCV, SND, { window: 1000, payload: bytes(1) }), 1);
    assert.equal(c.sndWnd, 1000);
    assert.equal(c.drainTransmit(1)[0]!.window, 65535);
  });

  test('if our SYN+ACK lacks wscale, our offered shift is withdrawn too', () => {
    const c = synSent(WS);
    c.input(seg(SYN | ACK, IRS, SND, { window: 1000 }), 1);
    c.input(seg(ACK, RCV, SND, { window: 1000, payload: bytes(1) }), 2);
    assert.equal(c.sndWnd, 1000);
    assert.equal(c.rcvShift, 0);
    assert.equal(c.drainTransmit(2).at(-1)!.window, 65535);
  });

  test('a shift above 14 is treated as 14 (RFC 7323 §2.3)', () => {
    const c = newConn(WS);
    c.listen(0);
    c.input(seg(SYN, IRS, 0, { options: { wscale: 15 } }), 0);
    assert.equal(c.sndShift, 14);
    c.drainTransmit(0);
    c.input(seg(ACK, RCV, SND, { window: 2 }), 1);
    assert.equal(c.sndWnd, 2 << 14);
  });
});

// =====================================================================================
describe('timestamps and PAWS (RFC 7323)', () => {
  const TS = { ...PLAIN, timestamps: true };
  const ts = (tsVal: number, tsEcr = 0) => ({ options: { tsVal, tsEcr } });
  function tsConn(): TcpConnection {
    const c = established(TS, 0, { options: { tsVal: 100, tsEcr: 0 }, ackOptions: { tsVal: 101, tsEcr: 0 } });
    assert.ok(c.tsOk);
    return c;
  }

  test('SYN+ACK echoes the SYN\'s TSval; every segment carries TSopt with TSecr = TS.Recent', () => {
    const c = newConn(TS);
    c.listen(0);
    c.input(seg(SYN, IRS, 0, ts(100)), 7);
    const [synack] = c.drainTransmit(7);
    assert.equal(synack!.options.tsEcr, 100);
    assert.equal(synack!.options.tsVal, 7, '1 ms clock, no offset in tests');
    c.input(seg(ACK | PSH, RCV, SND, { ...ts(120, 7), payload: bytes(5) }), 9);
    const [ack] = c.drainTransmit(9);
    assert.equal(ack!.options.tsEcr, 120);
    assert.equal(ack!.options.tsVal, 9);
  });

  test('connections sending in the same tick, interleaved, each carry their own TSval and TSecr', () => {
    // Segments of one tick share an options object while the pair is the same (send.ts timestampOptions): three
    // connections with different TS.Recent, answering in turn, must never be given another's.
    const conns = [100, 200, 300].map((v) => established(TS, 0, { options: { tsVal: v, tsEcr: 0 }, ackOptions: { tsVal: v + 1, tsEcr: 0 } }));
    const acks: TcpSegment[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < conns.length; i++) {
        const c = conns[i]!;
        c.input(seg(ACK | PSH, RCV + 10 * round, SND, { ...ts(1000 * (i + 1) + round), payload: bytes(10) }), 5);
        acks.push(...c.drainTransmit(5));
      }
    }
    assert.deepEqual(acks.map((a) => [a.options.tsVal, a.options.tsEcr]), [
      [5, 1000], [5, 2000], [5, 3000], [5, 1001], [5, 2001], [5, 3001], [5, 1002], [5, 2002], [5, 3002],
    ]);
  });

  test('PAWS: a segment with TSval older than TS.Recent is dropped and answered with an ACK', () => {
    const c = tsConn();
    c.input(seg(ACK, RCV, SND, { ...ts(200), payload: bytes(10) }), 1);
    assert.deepEqual(wire(c, 1), ['ACK seq=1001 ack=5011']);
    assert.equal(c.tsRecent, 200);
    // An old duplicate of new-looking data: TSval 150 < 200.
    c.input(seg(ACK, RCV + 10, SND, { ...ts(150), payload: bytes(10) }), 2);
    const out = c.drainTransmit(2);
    assert.deepEqual(out.map((s) => [s.flags, s.ack]), [[ACK, RCV + 10]]);
    assert.equal(out[0]!.options.tsEcr, 200);
    assert.equal(c.readableLength, 10, 'the old data was not accepted');
    assert.equal(c.stats.PAWSEstab, 1);
  });

  test('PAWS compares TSvals modulo 2^32: after a wrap the small TSval is newer', () => {
    const c = established(TS, 0, { options: { tsVal: 0xfffffff0 }, ackOptions: { tsVal: 0xfffffff0 } });
    c.input(seg(ACK, RCV, SND, { ...ts(5), payload: bytes(3) }), 1);
    assert.equal(c.readableLength, 3);
    assert.equal(c.tsRecent, 5);
  });

  test('RSTs are not subject to PAWS: a RST at RCV.NXT with an old TSval still resets', () => {
    const c = tsConn();
    c.input(seg(RST, RCV, 0, ts(1)), 1);
    assert.equal(c.state, 'CLOSED');
  });

  test('TS.Recent is only updated from a segment covering Last.ACK.sent, not from one beyond a hole (§4.3)', () => {
    const c = tsConn();
    c.input(seg(ACK, RCV + 100, SND, { ...ts(500), payload: bytes(10) }), 1);
    assert.equal(c.tsRecent, 101);
    c.input(seg(ACK, RCV, SND, { ...ts(300), payload: bytes(100) }), 2);
    assert.equal(c.tsRecent, 300);
  });
});

// =====================================================================================
describe('MSS (RFC 9293 §3.7.1)', () => {
  test('no MSS option in the peer\'s SYN → 536: segments carry at most 536 bytes', () => {
    const c = established();
    assert.equal(c.sndMss, 536);
    c.send(bytes(1000), 0);
    assert.deepEqual(lens(c.drainTransmit(0)), [536, 464]);
  });

  test('peer MSS 1000 → segments of 1000; with timestamps the effective MSS is 1000 − 12', () => {
    const a = established(PLAIN, 0, { options: { mss: 1000 } });
    a.send(bytes(2500), 0);
    assert.deepEqual(lens(a.drainTransmit(0)), [1000, 1000, 500]);
    const b = established({ ...PLAIN, timestamps: true }, 0, { options: { mss: 1000, tsVal: 1 }, ackOptions: { tsVal: 1 } });
    assert.equal(b.sndMss, 988);
    b.send(bytes(2000), 0);
    assert.deepEqual(lens(b.drainTransmit(0)), [988, 988, 24]);
  });

  test('we advertise config.mss in SYN and SYN+ACK', () => {
    const c = newConn({ ...PLAIN, mss: 8960 });
    c.connect(0);
    assert.equal(c.drainTransmit(0)[0]!.options.mss, 8960);
    const l = newConn({ ...PLAIN, mss: 1220 });
    l.listen(0);
    l.input(seg(SYN, IRS), 0);
    assert.equal(l.drainTransmit(0)[0]!.options.mss, 1220);
  });

  test('data plus the options of each segment fit the peer\'s MSS, including SACK blocks sent while receiving out of order (RFC 6691)', () => {
    for (const ts of [false, true]) {
      const c = established({ ...PLAIN, sack: true, timestamps: ts }, 0, { options: { mss: 1000, sackPermitted: true, ...(ts ? { tsVal: 1 } : {}) }, ackOptions: ts ? { tsVal: 1 } : {} });
      const segs: TcpSegment[] = [];
      c.send(bytes(3000), 0);
      segs.push(...c.drainTransmit(0));
      // Holes in what we receive: our data segments now also carry SACK blocks.
      for (let k = 0; k < 4; k++) c.input(seg(ACK, RCV + 100 + 200 * k, SND, { payload: bytes(50), options: ts ? { tsVal: 2, tsEcr: 0 } : {} }), 1 + k);
      c.input(seg(ACK, RCV, SND + 3000, { options: ts ? { tsVal: 3, tsEcr: 0 } : {} }), 10);
      c.send(bytes(5000), 10);
      segs.push(...c.drainTransmit(10));
      assert.ok(segs.some((s) => s.options.sack && s.payload.length > 0), 'data segments with SACK blocks were sent');
      for (const s of segs) {
        assert.ok(s.payload.length + optionsLength(s.options) <= 1000, `ts=${ts}: ${s.payload.length} data + ${optionsLength(s.options)} options > MSS 1000`);
      }
      const short = segs.filter((s) => s.payload.length > 0 && s.payload.length + optionsLength(s.options) < 1000 - 8);
      assert.ok(short.length <= 2, 'only the tail of each burst is short: segments are otherwise full-sized');
    }
  });

  test('a hostile tiny MSS (1) is floored to Linux\'s tcp_min_snd_mss (48), so we never send 1-byte segments', () => {
    const c = established(PLAIN, 0, { options: { mss: 1 } });
    assert.equal(c.sndMss, 48);
  });
});

// =====================================================================================
describe('delayed ACK (RFC 9293 §3.8.6.3, RFC 5681 §4.2)', () => {
  const DA = { ...PLAIN, delayedAck: true };

  test('one segment → no ACK at once; the ACK goes out when the 40 ms delayed-ACK timer fires', () => {
    const c = established(DA);
    c.input(seg(ACK, RCV, SND, { payload: bytes(100) }), 10);
    assert.deepEqual(wire(c, 10), []);
    assert.equal(c.nextDeadline(), 50);
    c.onTimeout(50);
    assert.deepEqual(wire(c, 50), ['ACK seq=1001 ack=5101']);
    assert.equal(c.nextDeadline(), Infinity);
  });

  test('every second segment is ACKed at once', () => {
    const c = established(DA);
    c.input(seg(ACK, RCV, SND, { payload: bytes(536) }), 10);
    assert.deepEqual(wire(c, 10), []);
    c.input(seg(ACK, RCV + 536, SND, { payload: bytes(536) }), 11);
    assert.deepEqual(wire(c, 11), ['ACK seq=1001 ack=6073']);
  });

  test('an out-of-order segment is ACKed at once (duplicate ACK for fast retransmit)', () => {
    const c = established(DA);
    c.input(seg(ACK, RCV + 100, SND, { payload: bytes(10) }), 10);
    assert.deepEqual(wire(c, 10), ['ACK seq=1001 ack=5001']);
  });

  test('our own data piggybacks the pending ACK and cancels the timer', () => {
    const c = established(DA);
    c.input(seg(ACK, RCV, SND, { payload: bytes(100) }), 10);
    c.send(bytes(20), 20);
    assert.deepEqual(wire(c, 20), ['PSH+ACK seq=1001 ack=5101 len=20']);
    assert.notEqual(c.nextDeadline(), 50, 'no delayed ACK pending (only the RTO)');
  });

  test('Linux quick-ACK: data is ACKed at once at the start, delayed while the exchange is interactive, at once again after idle', () => {
    const c = established({ ...DA, quickAckSegments: 16 });
    // Connection start: the first request is ACKed at once (quick-ACK mode).
    c.input(seg(ACK, RCV, SND, { payload: bytes(100) }), 10);
    assert.deepEqual(wire(c, 10), ['ACK seq=1001 ack=5101']);
    // We answer within the delayed-ACK time: an interactive exchange (pingpong). The next request's ACK
    // waits to ride on our reply.
    c.send(bytes(50), 12);
    assert.deepEqual(wire(c, 12), ['PSH+ACK seq=1001 ack=5101 len=50']);
    c.input(seg(ACK, RCV + 100, SND + 50, { payload: bytes(100) }), 20);
    assert.deepEqual(wire(c, 20), [], 'held for the reply');
    c.send(bytes(50), 21);
    assert.deepEqual(wire(c, 21), ['PSH+ACK seq=1051 ack=5201 len=50']);
    // The peer ACKs the reply, then falls silent for longer than the RTO: its next data is ACKed at once again.
    c.input(seg(ACK, RCV + 200, SND + 100), 30);
    assert.deepEqual(wire(c, 30), []);
    c.input(seg(ACK, RCV + 200, SND + 100, { payload: bytes(100) }), 5000);
    assert.deepEqual(wire(c, 5000), ['ACK seq=1101 ack=5301']);
  });
});

// =====================================================================================
describe('Nagle (RFC 9293 §3.7.4) and setNoDelay', () => {
  test('with Nagle on, a small segment is held while data is unacknowledged, released by the ACK', () => {
    const c = established({ ...PLAIN, nagle: true });
    c.send(bytes(100), 0);
    assert.deepEqual(wire(c, 0), ['PSH+ACK seq=1001 ack=5001 len=100']);
    c.send(bytes(100), 1);
    assert.deepEqual(wire(c, 1), []);
    c.send(bytes(100), 2);
    assert.deepEqual(wire(c, 2), []);
    c.input(seg(ACK, RCV, SND + 100), 20);
    assert.deepEqual(wire(c, 20), ['PSH+ACK seq=1101 ack=5001 len=200'], 'coalesced');
  });

  test('with Nagle on, full-sized segments still go out with data unacknowledged', () => {
    const c = established({ ...PLAIN, nagle: true });
    c.send(bytes(10), 0);
    c.drainTransmit(0);
    c.send(bytes(536 * 2 + 5), 1);
    assert.deepEqual(lens(c.drainTransmit(1)), [536, 536]);
  });

  test('with Nagle on, the short tail of a write leaves at once when no small segment is unacknowledged (Linux tcp_minshall_check)', () => {
    const c = established({ ...PLAIN, nagle: true });
    c.send(bytes(536 * 2 + 80), 0);
    assert.deepEqual(lens(c.drainTransmit(0)), [536, 536, 80], 'full segments in flight do not hold the tail');
    // Now a small segment (the 80 bytes) is unacknowledged: the next small one waits for its ACK.
    c.send(bytes(30), 1);
    assert.deepEqual(lens(c.drainTransmit(1)), []);
    c.input(seg(ACK, RCV, SND + 536 * 2), 10);
    assert.deepEqual(lens(c.drainTransmit(10)), [], 'the full segments were ACKed, the small one not yet');
    c.input(seg(ACK, RCV, SND + 536 * 2 + 80), 20);
    assert.deepEqual(lens(c.drainTransmit(20)), [30]);
  });

  test('setNoDelay(true) turns Nagle off: small segments go at once', () => {
    const c = established({ ...PLAIN, nagle: true });
    c.setNoDelay(true);
    c.send(bytes(10), 0);
    c.send(bytes(10), 0);
    assert.deepEqual(wire(c, 0), ['PSH+ACK seq=1001 ack=5001 len=20']);
    c.send(bytes(10), 1);
    assert.deepEqual(wire(c, 1), ['PSH+ACK seq=1021 ack=5001 len=10']);
    c.setNoDelay(false);
    c.send(bytes(10), 2);
    assert.deepEqual(wire(c, 2), []);
  });

  test('shutdown() flushes a Nagle-held tail together with the FIN', () => {
    const c = established({ ...PLAIN, nagle: true });
    c.send(bytes(10), 0); c.drainTransmit(0);
    c.send(bytes(10), 1);
    c.shutdown(1);
    assert.deepEqual(wire(c, 1), ['FIN+PSH+ACK seq=1011 ack=5001 len=10']);
  });
});

// =====================================================================================
describe('keep-alive (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6)', () => {
  const KA = { ...PLAIN, keepAlive: true, keepAliveIdle: 1000, keepAliveInterval: 100, keepAliveProbes: 3 };

  test('idle → probes <SEQ=SND.NXT−1> every interval; unanswered → RST and ETIMEDOUT', () => {
    const c = established(KA);
    const sent: string[] = [];
    while (c.state !== 'CLOSED') {
      const t = c.nextDeadline();
      c.onTimeout(t);
      for (const l of wire(c, t)) sent.push(`${t} ${l}`);
    }
    assert.deepEqual(sent, ['1000 ACK seq=1000 ack=5001', '1100 ACK seq=1000 ack=5001', '1200 ACK seq=1000 ack=5001', '1300 RST seq=1001']);
    assert.equal(c.error?.code, 'ETIMEDOUT');
  });

  test('an answered probe restarts the idle period', () => {
    const c = established(KA);
    c.onTimeout(1000);
    c.drainTransmit(1000);
    c.input(seg(ACK, RCV, SND), 1010);
    assert.equal(c.nextDeadline(), 2010);
    c.onTimeout(2010);
    assert.deepEqual(wire(c, 2010), ['ACK seq=1000 ack=5001']);
    assert.equal(c.state, 'ESTABLISHED');
  });

  test('off by default; setKeepAlive(true, idle) arms it on an open connection', () => {
    const c = established();
    assert.equal(c.nextDeadline(), Infinity);
    c.setKeepAlive(true, 500, 100);
    assert.equal(c.nextDeadline(), 600);
    c.setKeepAlive(false, 0, 200);
    assert.equal(c.nextDeadline(), Infinity);
  });
});

// =====================================================================================
describe('zero-window probing (RFC 9293 §3.8.6.1)', () => {
  function zeroWindow(): TcpConnection {
    const c = established();
    c.input(seg(ACK, RCV, SND, { window: 0 }), 1);
    assert.equal(c.sndWnd, 0);
    return c;
  }

  test('data queued against a zero window → nothing sent; the persist timer sends probes with backoff', () => {
    const c = zeroWindow();
    c.send(bytes(100), 10);
    assert.deepEqual(wire(c, 10), []);
    const probes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const t = c.nextDeadline();
      c.onTimeout(t);
      for (const l of wire(c, t)) probes.push(`${t} ${l}`);
    }
    // Linux-style probe: an already-acknowledged sequence number (SND.UNA − 1), no data; it elicits an ACK
    // carrying the current window without needing buffer space at the receiver.
    assert.deepEqual(probes, ['210 ACK seq=1000 ack=5001', '610 ACK seq=1000 ack=5001', '1410 ACK seq=1000 ack=5001']);
  });

  test('a probe answered with an open window releases the data', () => {
    const c = zeroWindow();
    c.send(bytes(100), 10);
    c.onTimeout(c.nextDeadline());
    c.drainTransmit(210);
    c.input(seg(ACK, RCV, SND, { window: 1000 }), 220);
    assert.deepEqual(wire(c, 220), ['PSH+ACK seq=1001 ack=5001 len=100']);
  });

  test('the connection is never timed out while the peer keeps answering probes with a zero window', () => {
    const c = established({ ...PLAIN, maxRetransmits: 3 });
    c.input(seg(ACK, RCV, SND, { window: 0 }), 1);
    c.send(bytes(100), 1);
    let t = 0;
    for (let i = 0; i < 20; i++) {
      t = c.nextDeadline();
      c.onTimeout(t);
      c.drainTransmit(t);
      c.input(seg(ACK, RCV, SND, { window: 0 }), t + 5);
    }
    assert.equal(c.state, 'ESTABLISHED');
    assert.ok(t > 100_000, 'probes backed off to rtoMax');
  });
});

// =====================================================================================
describe('receive window (RFC 9293 §3.8.6.2.2, RFC 7323 §2.4)', () => {
  test('the advertised right edge RCV.NXT + RCV.WND never moves left, whatever arrives and is read', () => {
    const c = established({ ...PLAIN, recvBufferSize: 4000 });
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    let right = RCV + 4000;
    let next = RCV;
    for (let i = 0; i < 400; i++) {
      if (rnd(3) === 0) c.read(rnd(1500));
      else {
        const len = 1 + rnd(600);
        c.input(seg(ACK, next, SND, { payload: bytes(len) }), i);
        next = c.rcvNxt;
      }
      for (const s of c.drainTransmit(i)) {
        const edge = (s.ack + s.window) >>> 0;
        assert.ok(((edge - right) | 0) >= 0, `right edge moved left: ${edge} < ${right}`);
        right = edge;
      }
      assert.ok(c.readableLength <= 4000);
    }
  });

  test('receiver SWS avoidance: reading a little does not send a tiny window update; reading enough does', () => {
    const c = established({ ...PLAIN, recvBufferSize: 1000 });
    c.input(seg(ACK, RCV, SND, { payload: bytes(1000) }), 1);
    const [ack] = c.drainTransmit(1);
    assert.equal(ack!.window, 0);
    c.read(100);
    assert.deepEqual(wire(c, 2), []);
    c.read(400);
    const [upd] = c.drainTransmit(3);
    assert.equal(upd!.ack, RCV + 1000);
    assert.equal(upd!.window, 500);
  });
});

// =====================================================================================
describe('out-of-order reassembly and SACK blocks (RFC 2018)', () => {
  const SACKCFG = { ...PLAIN, sack: true, dsack: false, sackCompress: 0 }; // RFC 2018 alone (D-SACK: dsack-receiver.test.ts; SACK compression: sack-compression.test.ts)
  const data = bytes(800);
  const piece = (from: number, to: number) => seg(ACK, RCV + from, SND, { payload: data.subarray(from, to) });

  test('segments beyond a hole are held; SACK blocks report them, the most recent first; filling the hole delivers all in order', () => {
    const c = established(SACKCFG, 0, { options: { sackPermitted: true } });
    const sackOf = (now: number) => { const [a] = c.drainTransmit(now); assert.equal(a!.ack, c.rcvNxt); return a!.options.sack ?? []; };
    c.input(piece(100, 200), 1);
    assert.deepEqual(sackOf(1), [RCV + 100, RCV + 200]);
    c.input(piece(500, 600), 2);
    assert.deepEqual(sackOf(2), [RCV + 500, RCV + 600, RCV + 100, RCV + 200]);
    c.input(piece(300, 400), 3);
    const s3 = sackOf(3);
    assert.deepEqual(s3.slice(0, 2), [RCV + 300, RCV + 400], 'first block: the most recently received');
    assert.equal(s3.length, 6);
    c.input(piece(200, 300), 4);
    const s4 = sackOf(4);
    assert.deepEqual(s4.slice(0, 2), [RCV + 100, RCV + 400], 'merged block containing the newest segment');
    assert.deepEqual(s4.slice(2), [RCV + 500, RCV + 600]);
    c.input(piece(0, 100), 5);
    assert.equal(c.rcvNxt, RCV + 400);
    assert.deepEqual(sackOf(5), [RCV + 500, RCV + 600]);
    c.input(piece(400, 800), 6);
    const [last] = c.drainTransmit(6);
    assert.equal(last!.ack, RCV + 800);
    assert.equal(last!.options.sack, undefined);
    assert.deepEqual(readAll(c), data);
  });

  test('a duplicate of held out-of-order data → the first SACK block is the block holding it (RFC 2018 §4)', () => {
    const c = established(SACKCFG, 0, { options: { sackPermitted: true } });
    c.input(piece(500, 600), 1);
    c.input(piece(100, 200), 2);
    assert.deepEqual(c.drainTransmit(2).at(-1)!.options.sack!.slice(0, 2), [RCV + 100, RCV + 200]);
    c.input(piece(500, 550), 3);
    assert.deepEqual(c.drainTransmit(3)[0]!.options.sack, [RCV + 500, RCV + 600, RCV + 100, RCV + 200]);
  });

  test('overlapping and duplicate out-of-order segments are reassembled byte-exactly', () => {
    const c = established(SACKCFG, 0, { options: { sackPermitted: true } });
    for (const [a, b] of [[300, 500], [350, 450], [250, 320], [600, 800], [480, 650], [100, 260], [0, 120], [0, 800]] as const) {
      c.input(piece(a, b), 1);
    }
    assert.equal(c.rcvNxt, RCV + 800);
    assert.deepEqual(readAll(c), data);
  });

  test('at most 3 SACK blocks with timestamps (option space), 4 without', () => {
    const make = (ts: boolean) => established({ ...SACKCFG, timestamps: ts }, 0, { options: ts ? { sackPermitted: true, tsVal: 1 } : { sackPermitted: true }, ackOptions: ts ? { tsVal: 1 } : {} });
    for (const [ts, max] of [[true, 3], [false, 4]] as const) {
      const c = make(ts);
      let sack: number[] = [];
      for (let k = 0; k < 6; k++) {
        c.input(seg(ACK, RCV + 100 + 100 * 2 * k, SND, { payload: bytes(50), options: ts ? { tsVal: 2, tsEcr: 0 } : {} }), 1 + k);
        sack = c.drainTransmit(1 + k)[0]!.options.sack!;
      }
      assert.equal(sack.length, 2 * max, `timestamps ${ts}`);
      assert.deepEqual(sack.slice(0, 2), [RCV + 1100, RCV + 1150]);
    }
  });

  test('receive sequence space wraps: out-of-order data across 2^32 is held, SACKed and delivered modulo 2^32', () => {
    const irs = 0xffffff00;
    const c = newConn({ ...SACKCFG });
    c.listen(0);
    c.input(seg(SYN, irs, 0, { options: { sackPermitted: true } }), 0);
    c.drainTransmit(0);
    c.input(seg(ACK, irs + 1, SND), 0);
    const at = (off: number) => (irs + 1 + off) >>> 0;
    c.input(seg(ACK, at(400), SND, { payload: data.subarray(400, 800) }), 1); // beyond 2^32
    const [a1] = c.drainTransmit(1);
    assert.equal(a1!.ack, at(0));
    assert.deepEqual(a1!.options.sack, [at(400), at(800)]);
    assert.ok(at(800) < at(0), 'the block lies past the wrap');
    c.input(seg(ACK, at(0), SND, { payload: data.subarray(0, 400) }), 2);
    const [a2] = c.drainTransmit(2);
    assert.equal(a2!.ack, at(800));
    assert.equal(a2!.options.sack, undefined);
    assert.deepEqual(readAll(c), data);
  });

  test('without SACK negotiated, no SACK option is sent even with holes', () => {
    const c = established(SACKCFG);
    c.input(piece(100, 200), 1);
    assert.equal(c.drainTransmit(1)[0]!.options.sack, undefined);
  });

  test('a FIN held beyond a hole is processed once the hole fills, even if the filling segment carries no FIN', () => {
    const c = established(SACKCFG, 0, { options: { sackPermitted: true } });
    c.input(seg(ACK | FIN, RCV + 100, SND, { payload: data.subarray(100, 200) }), 1);
    assert.equal(c.state, 'ESTABLISHED');
    c.input(piece(0, 100), 2);
    assert.equal(c.state, 'CLOSE-WAIT');
    assert.equal(c.rcvNxt, RCV + 201);
  });
});
