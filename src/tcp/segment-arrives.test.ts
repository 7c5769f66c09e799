/**
 * RFC 9293 §3.10.7 SEGMENT ARRIVES, one group per state (as smoltcp's tests are grouped), plus the
 * RFC 5961 rules that replace parts of it. Each test reads as a packet trace: the state, the segment
 * that arrives, the segments sent in answer (flags, seq, ack) and the state reached.
 * Numbers are absolute: ISS = 1000 (so SND.NXT = 1001 once synchronized), IRS = 5000 (RCV.NXT = 5001).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, FIN, PSH, RST, SYN, URG } from '../wire/tcp-types.js';
import {
  IRS, ISS, PLAIN, bytes, closeWait, closing, established, finWait1, finWait2, inState, lastAck, newConn,
  readAll, seg, states, synReceived, synSent, timeWait, wire,
} from './test-util.js';
import { TcpConnection, type TcpEvent } from './connection.js';

const SND = ISS + 1; // SND.NXT once the SYN is acknowledged
const RCV = IRS + 1; // RCV.NXT once the peer's SYN is received

function drops(ev: TcpEvent[]): string[] {
  return ev.filter((e) => e.type === 'drop').map((e) => (e as { reason: string }).reason);
}

function errorOf(ev: TcpEvent[]): string | undefined {
  const e = ev.find((x) => x.type === 'error');
  return e && e.type === 'error' ? e.code : undefined;
}

// =====================================================================================
describe('CLOSED (§3.10.7.1)', () => {
  test('on a segment without ACK → RST+ACK <SEQ=0><ACK=SEG.SEQ+SEG.LEN>', () => {
    const c = newConn();
    c.input(seg(SYN, 7000), 0);
    assert.deepEqual(wire(c, 0), ['RST+ACK seq=0 ack=7001']);
    c.input(seg(PSH, 7000, 0, { payload: bytes(10) }), 0);
    assert.deepEqual(wire(c, 0), ['RST+ACK seq=0 ack=7010']);
    assert.equal(c.state, 'CLOSED');
  });

  test('on a segment with ACK → RST <SEQ=SEG.ACK>, no ACK bit', () => {
    const c = newConn();
    c.input(seg(ACK | PSH, 7000, 4242, { payload: bytes(5) }), 0);
    assert.deepEqual(wire(c, 0), ['RST seq=4242']);
    assert.equal(c.state, 'CLOSED');
  });

  test('on a RST → discarded, nothing sent', () => {
    const c = newConn();
    c.input(seg(RST, 7000), 0);
    c.input(seg(RST | ACK, 7000, 1), 0);
    assert.deepEqual(wire(c, 0), []);
    assert.deepEqual(drops(c.drainEvents()), ['closed', 'closed']);
  });

  test('after a connection ended, a late segment is answered with RST as for no connection', () => {
    const c = established();
    c.abort(1);
    assert.deepEqual(wire(c, 1), ['RST seq=1001']);
    c.input(seg(ACK, RCV, SND, { payload: bytes(3) }), 2);
    assert.deepEqual(wire(c, 2), ['RST seq=1001']);
  });
});

// =====================================================================================
describe('LISTEN (§3.10.7.2)', () => {
  test('on RST → ignored, stay in LISTEN', () => {
    const c = inState('LISTEN');
    c.input(seg(RST, 7000), 0);
    assert.deepEqual(wire(c, 0), []);
    assert.equal(c.state, 'LISTEN');
  });

  test('on ACK → RST <SEQ=SEG.ACK>, stay in LISTEN', () => {
    const c = inState('LISTEN');
    c.input(seg(ACK, 7000, 31337), 0);
    assert.deepEqual(wire(c, 0), ['RST seq=31337']);
    assert.equal(c.state, 'LISTEN');
    assert.deepEqual(drops(c.drainEvents()), ['ack-in-listen']);
  });

  test('on SYN → SYN-RECEIVED, send SYN+ACK <SEQ=ISS><ACK=SEG.SEQ+1>; IRS, RCV.NXT, SND.NXT set', () => {
    const c = inState('LISTEN');
    c.input(seg(SYN, IRS, 0, { window: 4000 }), 3);
    assert.equal(c.state, 'SYN-RECEIVED');
    assert.deepEqual(wire(c, 3), ['SYN+ACK seq=1000 ack=5001']);
    assert.equal(c.irs, IRS);
    assert.equal(c.rcvNxt, RCV);
    assert.equal(c.sndUna, ISS);
    assert.equal(c.sndNxt, ISS + 1);
    assert.equal(c.sndWnd, 4000);
    const ev = c.drainEvents();
    assert.deepEqual(states(ev), ['SYN-RECEIVED']);
    const st = ev.find((e) => e.type === 'state')!;
    assert.ok(st.type === 'state' && st.cause.kind === 'segment' && st.cause.seg.flags === SYN, 'cause is the SYN');
  });

  test('on SYN with data → SYN+ACK acknowledges only the SYN (the data is not yet acknowledged, the peer resends it)', () => {
    const c = inState('LISTEN');
    c.input(seg(SYN, IRS, 0, { payload: bytes(20) }), 0);
    assert.deepEqual(wire(c, 0), ['SYN+ACK seq=1000 ack=5001']);
    assert.equal(c.readableLength, 0);
  });

  test('on a segment with neither SYN, ACK nor RST → dropped, nothing sent', () => {
    const c = inState('LISTEN');
    c.input(seg(PSH, 7000, 0, { payload: bytes(4) }), 0);
    assert.deepEqual(wire(c, 0), []);
    assert.equal(c.state, 'LISTEN');
  });
});

// =====================================================================================
describe('SYN-SENT (§3.10.7.3)', () => {
  test('connect() in CLOSED → SYN-SENT, send SYN <SEQ=ISS>', () => {
    const c = newConn();
    c.connect(0);
    assert.deepEqual(wire(c, 0), ['SYN seq=1000']);
    assert.equal(c.state, 'SYN-SENT');
    assert.equal(c.sndNxt, ISS + 1);
  });

  test('on ACK with SEG.ACK =< ISS → RST <SEQ=SEG.ACK>, drop, stay', () => {
    const c = synSent();
    c.input(seg(ACK, IRS, ISS), 1);
    assert.deepEqual(wire(c, 1), ['RST seq=1000']);
    c.input(seg(ACK, IRS, ISS - 100), 1);
    assert.deepEqual(wire(c, 1), ['RST seq=900']);
    assert.equal(c.state, 'SYN-SENT');
  });

  test('on ACK with SEG.ACK > SND.NXT → RST <SEQ=SEG.ACK>, drop, stay', () => {
    const c = synSent();
    c.input(seg(SYN | ACK, IRS, ISS + 2), 1);
    assert.deepEqual(wire(c, 1), ['RST seq=1002']);
    assert.equal(c.state, 'SYN-SENT');
  });

  test('on RST+ACK with an unacceptable ACK → dropped silently (no RST in reply to a RST)', () => {
    const c = synSent();
    c.input(seg(RST | ACK, 0, ISS + 5), 1);
    assert.deepEqual(wire(c, 1), []);
    assert.equal(c.state, 'SYN-SENT');
  });

  test('on RST+ACK acknowledging our SYN → CLOSED, "connection reset" (ECONNREFUSED)', () => {
    const c = synSent();
    c.input(seg(RST | ACK, 0, ISS + 1), 1);
    assert.deepEqual(wire(c, 1), []);
    assert.equal(c.state, 'CLOSED');
    const ev = c.drainEvents();
    assert.equal(errorOf(ev), 'ECONNREFUSED');
    assert.deepEqual(states(ev), ['CLOSED']);
    assert.equal(c.stats.AttemptFails, 1);
  });

  test('on RST without ACK → dropped (RFC 5961 §3: acceptable only if it acknowledges the SYN)', () => {
    const c = synSent();
    c.input(seg(RST, 0), 1);
    assert.equal(c.state, 'SYN-SENT');
    assert.deepEqual(wire(c, 1), []);
  });

  test('on SYN+ACK acknowledging our SYN → ESTABLISHED, send ACK <SEQ=SND.NXT><ACK=RCV.NXT>', () => {
    const c = synSent();
    c.input(seg(SYN | ACK, IRS, ISS + 1, { window: 3000 }), 20);
    assert.deepEqual(wire(c, 20), ['ACK seq=1001 ack=5001']);
    assert.equal(c.state, 'ESTABLISHED');
    assert.equal(c.sndUna, ISS + 1);
    assert.equal(c.sndWnd, 3000);
    assert.equal(c.irs, IRS);
    const ev = c.drainEvents();
    assert.deepEqual(states(ev), ['ESTABLISHED']);
    assert.ok(ev.some((e) => e.type === 'established'));
  });

  test('on SYN+ACK carrying data → ESTABLISHED, the data is delivered and acknowledged', () => {
    const c = synSent();
    c.input(seg(SYN | ACK | PSH, IRS, ISS + 1, { payload: bytes(7) }), 1);
    assert.deepEqual(wire(c, 1), ['ACK seq=1001 ack=5008']);
    assert.deepEqual(readAll(c), bytes(7));
  });

  test('on SYN+ACK+FIN → dropped as an invalid combination (SYN+FIN), stay in SYN-SENT', () => {
    const c = synSent();
    c.input(seg(SYN | ACK | FIN, IRS, ISS + 1), 1);
    assert.equal(c.state, 'SYN-SENT');
    assert.deepEqual(wire(c, 1), []);
    assert.equal(c.stats.invalidFlags['syn-fin'], 1);
  });

  test('on SYN without ACK (simultaneous open) → SYN-RECEIVED, send SYN+ACK <SEQ=ISS><ACK=RCV.NXT>', () => {
    const c = synSent();
    c.input(seg(SYN, IRS), 1);
    assert.equal(c.state, 'SYN-RECEIVED');
    assert.deepEqual(wire(c, 1), ['SYN+ACK seq=1000 ack=5001']);
    // The peer's SYN+ACK then completes it: ESTABLISHED.
    c.input(seg(SYN | ACK, IRS, ISS + 1), 2);
    assert.equal(c.state, 'ESTABLISHED');
  });

  test('on a segment with neither SYN nor RST (plain ACK of our SYN) → dropped, stay', () => {
    const c = synSent();
    c.input(seg(ACK, IRS, ISS + 1), 1);
    assert.deepEqual(wire(c, 1), []);
    assert.equal(c.state, 'SYN-SENT');
  });

  test('in ESTABLISHED, a retransmitted SYN+ACK (our ACK was lost) is old: ACK again, stay ESTABLISHED', () => {
    const c = synSent();
    c.input(seg(SYN | ACK, IRS, ISS + 1), 1);
    assert.deepEqual(wire(c, 1), ['ACK seq=1001 ack=5001']);
    c.input(seg(SYN | ACK, IRS, ISS + 1), 1001);
    assert.deepEqual(wire(c, 1001), ['ACK seq=1001 ack=5001']);
    assert.equal(c.state, 'ESTABLISHED');
  });

  test('data queued by send() in SYN-SENT goes out once ESTABLISHED', () => {
    const c = synSent();
    assert.equal(c.send(bytes(100), 0), 100);
    assert.deepEqual(wire(c, 0), []);
    c.input(seg(SYN | ACK, IRS, ISS + 1), 1);
    assert.deepEqual(wire(c, 1), ['PSH+ACK seq=1001 ack=5001 len=100']);
  });
});

// =====================================================================================
describe('SYN-RECEIVED (§3.10.7.4)', () => {
  test('on ACK with SND.UNA < SEG.ACK =< SND.NXT → ESTABLISHED, nothing sent', () => {
    const c = synReceived();
    c.input(seg(ACK, RCV, ISS + 1, { window: 2000 }), 5);
    assert.equal(c.state, 'ESTABLISHED');
    assert.deepEqual(wire(c, 5), []);
    assert.equal(c.sndUna, SND);
    assert.equal(c.sndWnd, 2000);
  });

  test('on ACK with an unacceptable SEG.ACK → RST <SEQ=SEG.ACK>, stay', () => {
    const c = synReceived();
    c.input(seg(ACK, RCV, ISS), 5);
    assert.deepEqual(wire(c, 5), ['RST seq=1000']);
    assert.equal(c.state, 'SYN-RECEIVED');
  });

  test('on ACK with data → ESTABLISHED and the data is acknowledged', () => {
    const c = synReceived();
    c.input(seg(ACK | PSH, RCV, ISS + 1, { payload: bytes(10) }), 5);
    assert.equal(c.state, 'ESTABLISHED');
    assert.deepEqual(wire(c, 5), ['ACK seq=1001 ack=5011']);
    assert.deepEqual(readAll(c), bytes(10));
  });

  test('on ACK+FIN → ESTABLISHED then CLOSE-WAIT, FIN acknowledged', () => {
    const c = synReceived();
    c.input(seg(ACK | FIN, RCV, ISS + 1), 5);
    assert.deepEqual(states(c.drainEvents()), ['ESTABLISHED', 'CLOSE-WAIT']);
    assert.deepEqual(wire(c, 5), ['ACK seq=1001 ack=5002']);
  });

  test('on a segment without ACK (in window) → dropped', () => {
    const c = synReceived();
    c.input(seg(PSH, RCV, 0, { payload: bytes(3) }), 5);
    assert.deepEqual(wire(c, 5), []);
    assert.equal(c.state, 'SYN-RECEIVED');
  });

  test('on an unacceptable sequence number → ACK <SEQ=SND.NXT><ACK=RCV.NXT>, drop', () => {
    const c = synReceived();
    c.input(seg(ACK, RCV + 100_000, ISS + 1, { payload: bytes(3) }), 5);
    assert.deepEqual(wire(c, 5), ['ACK seq=1001 ack=5001']);
    assert.equal(c.state, 'SYN-RECEIVED');
  });

  test('on RST with SEG.SEQ = RCV.NXT, passive open → the embryonic connection is deleted, no error to the user', () => {
    // RFC 9293 says "return this connection to LISTEN". In synack a listener spawns one TcpConnection per SYN,
    // so the listener itself stays in LISTEN and this child TCB is deleted: the observable equivalent.
    const c = synReceived();
    c.input(seg(RST, RCV), 5);
    assert.equal(c.state, 'CLOSED');
    const ev = c.drainEvents();
    assert.equal(errorOf(ev), undefined);
    assert.deepEqual(wire(c, 5), []);
  });

  test('on RST with SEG.SEQ = RCV.NXT, active open (simultaneous) → CLOSED, ECONNREFUSED', () => {
    const c = synSent();
    c.input(seg(SYN, IRS), 1);
    c.drainTransmit(1);
    c.input(seg(RST, RCV), 2);
    assert.equal(c.state, 'CLOSED');
    assert.equal(errorOf(c.drainEvents()), 'ECONNREFUSED');
  });

  test('on RST in window but not exact → challenge ACK, stay', () => {
    const c = synReceived();
    c.input(seg(RST, RCV + 10), 5);
    assert.deepEqual(wire(c, 5), ['ACK seq=1001 ack=5001']);
    assert.equal(c.state, 'SYN-RECEIVED');
  });

  test('on a retransmitted SYN (our SYN+ACK was lost) → SYN+ACK sent again', () => {
    const c = synReceived();
    c.input(seg(SYN, IRS), 100);
    assert.deepEqual(wire(c, 100), ['SYN+ACK seq=1000 ack=5001']);
    assert.equal(c.state, 'SYN-RECEIVED');
  });

  test('RTO → SYN+ACK retransmitted with backoff; after synAckRetries the attempt is given up (CLOSED, no RST)', () => {
    const c = synReceived({ ...PLAIN, synAckRetries: 2, rtoInitial: 1000 });
    const sent: Array<[number, string]> = [];
    let now = 0;
    while (c.state !== 'CLOSED') {
      now = c.nextDeadline();
      assert.notEqual(now, Infinity);
      c.onTimeout(now);
      for (const s of wire(c, now)) sent.push([now, s]);
    }
    assert.deepEqual(sent, [[1000, 'SYN+ACK seq=1000 ack=5001'], [3000, 'SYN+ACK seq=1000 ack=5001']]);
    assert.equal(now, 7000);
    assert.equal(c.stats.AttemptFails, 1);
  });

  test('shutdown() in SYN-RECEIVED → FIN queued until ESTABLISHED, then FIN-WAIT-1 and FIN sent', () => {
    // RFC 9293 §3.10.4 allows sending the FIN at once when nothing was sent; synack always waits for the
    // handshake to complete (the "queue for processing after entering ESTABLISHED" branch), as Linux does for
    // embryonic connections: the FIN then never precedes the ACK of our SYN.
    const c = synReceived();
    c.shutdown(1);
    assert.deepEqual(wire(c, 1), []);
    assert.equal(c.state, 'SYN-RECEIVED');
    c.input(seg(ACK, RCV, ISS + 1), 2);
    assert.deepEqual(states(c.drainEvents()), ['ESTABLISHED', 'FIN-WAIT-1']);
    assert.deepEqual(wire(c, 2), ['FIN+ACK seq=1001 ack=5001']);
  });
});

// =====================================================================================
describe('ESTABLISHED (§3.10.7.4)', () => {
  test('on in-order data → delivered, ACK <SEQ=SND.NXT><ACK=RCV.NXT+len>', () => {
    const c = established();
    c.input(seg(ACK | PSH, RCV, SND, { payload: bytes(100) }), 1);
    assert.deepEqual(wire(c, 1), ['ACK seq=1001 ack=5101']);
    assert.deepEqual(readAll(c), bytes(100));
  });

  test('on a segment entirely before RCV.NXT (duplicate) → ACK, nothing delivered', () => {
    const c = established();
    c.input(seg(ACK, RCV, SND, { payload: bytes(100) }), 1);
    c.drainTransmit(1); readAll(c);
    c.input(seg(ACK, RCV, SND, { payload: bytes(100) }), 2);
    assert.deepEqual(wire(c, 2), ['ACK seq=1001 ack=5101']);
    assert.equal(c.readableLength, 0);
  });

  test('on a segment beyond the window → ACK, dropped', () => {
    const c = established();
    c.input(seg(ACK, RCV + 70_000, SND, { payload: bytes(10) }), 1);
    assert.deepEqual(wire(c, 1), ['ACK seq=1001 ack=5001']);
    assert.equal(c.stats.OutOfWindow, 1);
  });

  test('on a segment straddling RCV.NXT → only the new part is delivered', () => {
    const c = established();
    const d = bytes(20);
    c.input(seg(ACK, RCV, SND, { payload: d.subarray(0, 10) }), 1);
    c.drainTransmit(1);
    c.input(seg(ACK, RCV + 5, SND, { payload: d.subarray(5, 20) }), 2);
    assert.deepEqual(wire(c, 2), ['ACK seq=1001 ack=5021']);
    assert.deepEqual(readAll(c), d);
  });

  test('on a segment straddling the right window edge → the part inside the window is kept', () => {
    const c = established({ ...PLAIN, recvBufferSize: 1000 });
    c.input(seg(ACK, RCV, SND, { payload: bytes(1500) }), 1);
    assert.deepEqual(wire(c, 1), ['ACK seq=1001 ack=6001']);
    assert.equal(c.readableLength, 1000);
  });

  test('on an empty ACK at RCV.NXT acknowledging new data → SND.UNA advances, nothing sent', () => {
    const c = established();
    c.send(bytes(50), 0);
    assert.deepEqual(wire(c, 0), ['PSH+ACK seq=1001 ack=5001 len=50']);
    c.input(seg(ACK, RCV, SND + 50), 10);
    assert.equal(c.sndUna, SND + 50);
    assert.equal(c.bytesInFlight, 0);
    assert.equal(c.nextDeadline(), Infinity, 'RTO stopped when everything is acknowledged (RFC 6298 §5.2)');
    assert.deepEqual(wire(c, 10), []);
  });

  test('on ACK for data not yet sent (SEG.ACK > SND.NXT) → ACK, segment dropped (its data too)', () => {
    const c = established();
    c.input(seg(ACK, RCV, SND + 10, { payload: bytes(5) }), 1);
    assert.deepEqual(wire(c, 1), ['ACK seq=1001 ack=5001']);
    assert.equal(c.readableLength, 0);
    assert.equal(c.sndUna, SND);
  });

  test('on an old but acceptable ACK (SND.UNA - MAX.SND.WND =< SEG.ACK < SND.UNA) → ACK ignored, data accepted', () => {
    const c = established();
    c.send(bytes(100), 0); c.drainTransmit(0);
    c.input(seg(ACK, RCV, SND + 100), 1);
    c.input(seg(ACK | PSH, RCV, SND + 50, { payload: bytes(10) }), 2);
    assert.equal(c.sndUna, SND + 100);
    assert.deepEqual(wire(c, 2), ['ACK seq=1101 ack=5011']);
    assert.equal(c.readableLength, 10);
  });

  test('RFC 5961 §5.2: ACK older than SND.UNA - MAX.SND.WND → dropped with a challenge ACK, data not accepted', () => {
    const c = established();
    c.input(seg(ACK | PSH, RCV, SND - 70_000, { payload: bytes(10) }), 1);
    assert.deepEqual(wire(c, 1), ['ACK seq=1001 ack=5001']);
    assert.equal(c.readableLength, 0);
    assert.equal(c.stats.TCPChallengeACK, 1);
    assert.ok(drops(c.drainEvents()).includes('bad-ack'));
  });

  test('on a segment without ACK → dropped, nothing sent', () => {
    const c = established();
    c.input(seg(PSH, RCV, 0, { payload: bytes(5) }), 1);
    assert.deepEqual(wire(c, 1), []);
    assert.equal(c.readableLength, 0);
  });

  test('on FIN in order → CLOSE-WAIT, ACK of the FIN, eof event', () => {
    const c = established();
    c.input(seg(FIN | ACK, RCV, SND), 1);
    assert.deepEqual(wire(c, 1), ['ACK seq=1001 ack=5002']);
    const ev = c.drainEvents();
    assert.deepEqual(states(ev), ['CLOSE-WAIT']);
    assert.ok(ev.some((e) => e.type === 'eof'));
    assert.ok(c.readEnded);
  });

  test('on data+FIN → data delivered, CLOSE-WAIT, one ACK covering both', () => {
    const c = established();
    c.input(seg(FIN | PSH | ACK, RCV, SND, { payload: bytes(30) }), 1);
    assert.deepEqual(wire(c, 1), ['ACK seq=1001 ack=5032']);
    assert.equal(c.state, 'CLOSE-WAIT');
    assert.deepEqual(readAll(c), bytes(30));
  });

  test('on a FIN beyond a hole → held; when the hole is filled the FIN is processed → CLOSE-WAIT', () => {
    const c = established();
    const d = bytes(20);
    c.input(seg(FIN | ACK, RCV + 10, SND, { payload: d.subarray(10) }), 1);
    assert.deepEqual(wire(c, 1), ['ACK seq=1001 ack=5001']);
    assert.equal(c.state, 'ESTABLISHED');
    c.input(seg(ACK, RCV, SND, { payload: d.subarray(0, 10) }), 2);
    assert.deepEqual(wire(c, 2), ['ACK seq=1001 ack=5022']);
    assert.equal(c.state, 'CLOSE-WAIT');
    assert.deepEqual(readAll(c), d);
  });

  test('URG: RCV.UP follows the urgent pointer (§3.10.7.4 sixth), data delivered normally', () => {
    const c = established();
    const s = seg(ACK | URG | PSH, RCV, SND, { payload: bytes(10) });
    s.urgent = 5;
    c.input(s, 1);
    assert.equal(c.rcvUp, RCV + 5);
    assert.equal(c.readableLength, 10);
  });

  test('window update: SND.WND taken from a segment with newer SEG.SEQ or same SEQ and newer ACK (SND.WL1/WL2)', () => {
    const c = established();
    c.input(seg(ACK, RCV, SND, { window: 1000 }), 1);
    assert.equal(c.sndWnd, 1000);
    // Data moves SEG.SEQ forward: the window in it is newer.
    c.input(seg(ACK, RCV, SND, { window: 2000, payload: bytes(10) }), 2);
    assert.equal(c.sndWnd, 2000);
    // An old segment (SEG.SEQ < SND.WL1) must not update the window: it is a reordered duplicate.
    c.input(seg(ACK, RCV, SND, { window: 500, payload: bytes(10) }), 3);
    assert.equal(c.sndWnd, 2000);
  });

  test('RFC 9293 "special allowance": with a zero receive window, a data segment at RCV.NXT still has its ACK processed', () => {
    const c = established({ ...PLAIN, recvBufferSize: 100 });
    c.send(bytes(20), 0);
    c.drainTransmit(0);
    c.input(seg(ACK, RCV, SND, { payload: bytes(100) }), 1);
    assert.deepEqual(wire(c, 1), ['ACK seq=1021 ack=5101']);
    // Window is now 0. The peer sends more data (a probe) that also acknowledges our 20 bytes.
    c.input(seg(ACK, RCV + 100, SND + 20, { payload: bytes(1) }), 2);
    assert.equal(c.sndUna, SND + 20, 'the ACK field is processed even though the data cannot be accepted');
    assert.deepEqual(wire(c, 2), ['ACK seq=1021 ack=5101']);
    assert.equal(c.readableLength, 100);
  });

  test('with a zero receive window, a bare FIN at RCV.NXT is accepted (it needs no buffer space) → CLOSE-WAIT', () => {
    const c = established({ ...PLAIN, recvBufferSize: 100 });
    c.input(seg(ACK, RCV, SND, { payload: bytes(100) }), 1);
    c.drainTransmit(1);
    c.input(seg(FIN | ACK, RCV + 100, SND), 2);
    assert.equal(c.state, 'CLOSE-WAIT');
    assert.deepEqual(wire(c, 2), ['ACK seq=1001 ack=5102']);
  });

  test('with a zero receive window, a segment at another sequence number is unacceptable → ACK, dropped', () => {
    const c = established({ ...PLAIN, recvBufferSize: 100 });
    c.input(seg(ACK, RCV, SND, { payload: bytes(100) }), 1);
    c.drainTransmit(1);
    c.input(seg(ACK, RCV + 101, SND), 2);
    assert.deepEqual(wire(c, 2), ['ACK seq=1001 ack=5101']);
  });
});

// =====================================================================================
describe('SYN cookie: ESTABLISHED straight from CLOSED (RFC 4987 §3.6)', () => {
  const opts = { localPort: 80, remotePort: 40000, config: { ...PLAIN, sack: true, timestamps: true, windowScaling: true }, iss: 0 };
  const params = { iss: ISS, irs: IRS, mss: 1200, sndShift: 7, sackOk: true, tsOk: true };

  test('the cookie-carrying ACK creates an ESTABLISHED connection with the encoded options', () => {
    const ack = seg(ACK, RCV, SND, { window: 100, options: { tsVal: 500, tsEcr: 9 } });
    const c = TcpConnection.fromCookie(opts, params, ack, 0);
    assert.equal(c.state, 'ESTABLISHED');
    assert.equal(c.sndUna, SND);
    assert.equal(c.rcvNxt, RCV);
    assert.equal(c.sndMss, 1200 - 12);
    assert.equal(c.sndWnd, 100 << 7, 'the ACK is not a SYN: its window is scaled');
    assert.ok(c.sackOk && c.tsOk);
    const ev = c.drainEvents();
    const st = ev.find((e) => e.type === 'state')!;
    assert.ok(st.type === 'state' && st.from === 'CLOSED' && st.cause.kind === 'user' && st.cause.call === 'cookie');
    assert.deepEqual(wire(c, 0), []);
  });

  test('data on the cookie ACK is delivered and acknowledged', () => {
    const ack = seg(ACK | PSH, RCV, SND, { payload: bytes(30), options: { tsVal: 500, tsEcr: 9 } });
    const c = TcpConnection.fromCookie(opts, params, ack, 5);
    assert.deepEqual(wire(c, 5), ['ACK seq=1001 ack=5031']);
    assert.deepEqual(readAll(c), bytes(30));
  });

  test('PAWS is armed from the cookie ACK\'s TSval, even at time 0', () => {
    const c = TcpConnection.fromCookie(opts, params, seg(ACK, RCV, SND, { options: { tsVal: 500, tsEcr: 9 } }), 0);
    c.input(seg(ACK, RCV, SND, { payload: bytes(5), options: { tsVal: 400, tsEcr: 9 } }), 1);
    assert.equal(c.readableLength, 0, 'old TSval dropped');
    assert.equal(c.stats.PAWSEstab, 1);
  });
});

// =====================================================================================
describe('RST processing (RFC 5961 §3 on RFC 9293 §3.10.7.4 second)', () => {
  for (const st of ['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT'] as const) {
    test(`in ${st}, on RST with SEG.SEQ = RCV.NXT → CLOSED, ECONNRESET, nothing sent`, () => {
      const c = inState(st);
      c.input(seg(RST, c.rcvNxt), 5);
      assert.equal(c.state, 'CLOSED');
      assert.deepEqual(wire(c, 5), []);
      const ev = c.drainEvents();
      assert.equal(errorOf(ev), 'ECONNRESET');
      assert.ok(ev.some((e) => e.type === 'closed'));
    });
  }

  for (const st of ['CLOSING', 'LAST-ACK'] as const) {
    test(`in ${st}, on RST with SEG.SEQ = RCV.NXT → CLOSED (no error: the close was already under way)`, () => {
      const c = inState(st);
      c.input(seg(RST, c.rcvNxt), 5);
      assert.equal(c.state, 'CLOSED');
      assert.equal(errorOf(c.drainEvents()), undefined);
    });
  }

  for (const st of ['SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'CLOSING', 'LAST-ACK'] as const) {
    test(`in ${st}, on RST in window but not exactly RCV.NXT → challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT>, connection survives`, () => {
      const c = inState(st);
      const nxt = c.sndNxt, rnxt = c.rcvNxt;
      c.input(seg(RST, rnxt + 1), 5);
      assert.deepEqual(wire(c, 5), [`ACK seq=${nxt} ack=${rnxt}`]);
      assert.equal(c.state, st);
      assert.equal(c.stats.TCPChallengeACK, 1);
      assert.deepEqual(drops(c.drainEvents()), ['rst-not-exact']);
    });

    test(`in ${st}, on RST outside the window → dropped silently, connection survives`, () => {
      const c = inState(st);
      c.input(seg(RST, c.rcvNxt + 100_000), 5);
      c.input(seg(RST, c.rcvNxt - 1), 5);
      assert.deepEqual(wire(c, 5), []);
      assert.equal(c.state, st);
      assert.deepEqual(drops(c.drainEvents()), ['rst-out-of-window', 'rst-out-of-window']);
    });
  }

  test('the peer answers a challenge ACK with a RST at exactly RCV.NXT → then the reset is accepted', () => {
    const c = established();
    c.input(seg(RST, RCV + 3), 1);
    const [ack] = c.drainTransmit(1);
    c.input(seg(RST, ack!.ack), 2);
    assert.equal(c.state, 'CLOSED');
  });

  test('3 000 in-window RSTs in 0.38 s draw one challenge ACK; the next comes 500 ms after it (RFC 5961 §7, Linux per socket)', () => {
    const c = established();
    const sent: string[] = [];
    for (let i = 0; i < 3000; i++) { const t = 100 + (i * 380) / 3000; c.input(seg(RST, RCV + 1 + (i % 100)), t); sent.push(...wire(c, t)); }
    assert.equal(sent.length, 1);
    assert.equal(c.stats.TCPChallengeACKLimited, 2999);
    assert.equal(c.state, 'ESTABLISHED');
    c.input(seg(RST, RCV + 7), 599);
    assert.equal(wire(c, 599).length, 0);
    c.input(seg(RST, RCV + 7), 600);
    assert.equal(wire(c, 600).length, 1);
  });

  test('challenge ACKs are rate-limited to challengeAckLimit per second (RFC 5961 §7)', () => {
    const c = established({ ...PLAIN, challengeAckLimit: 2, challengeAckIntervalMs: 0 });
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) { c.input(seg(RST, RCV + 1 + i), 100 + i); sent.push(...wire(c, 100 + i)); }
    assert.equal(sent.length, 2);
    assert.equal(c.stats.TCPChallengeACK, 2);
    assert.equal(c.stats.TCPChallengeACKLimited, 3);
    // A second later the budget is back.
    c.input(seg(RST, RCV + 9), 1100);
    assert.deepEqual(wire(c, 1100), ['ACK seq=1001 ack=5001']);
    // SYNs (RFC 5961 §4) and too-old ACKs (§5) draw on the same budget.
    c.input(seg(SYN, RCV + 1), 1101);
    c.input(seg(ACK, RCV, SND - 100_000), 1102);
    assert.deepEqual(wire(c, 1102), ['ACK seq=1001 ack=5001']);
    assert.equal(c.stats.TCPChallengeACK, 4);
    assert.equal(c.state, 'ESTABLISHED');
  });
});

// =====================================================================================
describe('SYN in a synchronized state (RFC 5961 §4)', () => {
  for (const st of ['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'CLOSING', 'LAST-ACK'] as const) {
    test(`in ${st}, on SYN in window → challenge ACK, connection survives`, () => {
      const c = inState(st);
      const nxt = c.sndNxt, rnxt = c.rcvNxt;
      c.input(seg(SYN, rnxt + 5), 5);
      assert.deepEqual(wire(c, 5), [`ACK seq=${nxt} ack=${rnxt}`]);
      assert.equal(c.state, st);
      assert.equal(c.stats.TCPChallengeACK, 1);
    });
  }

  test('in ESTABLISHED, on SYN+ACK at RCV.NXT → challenge ACK, nothing else', () => {
    const c = established();
    c.input(seg(SYN | ACK, RCV, SND), 5);
    assert.deepEqual(wire(c, 5), ['ACK seq=1001 ack=5001']);
    assert.equal(c.state, 'ESTABLISHED');
  });

  test('in ESTABLISHED, on SYN outside the window → ACK (first check fails), connection survives', () => {
    const c = established();
    c.input(seg(SYN, 123), 5);
    assert.deepEqual(wire(c, 5), ['ACK seq=1001 ack=5001']);
    assert.equal(c.state, 'ESTABLISHED');
  });
});

// =====================================================================================
describe('FIN-WAIT-1 (§3.10.7.4)', () => {
  test('shutdown() in ESTABLISHED → FIN-WAIT-1, send FIN <SEQ=SND.NXT>', () => {
    const c = established();
    c.shutdown(1);
    assert.deepEqual(wire(c, 1), ['FIN+ACK seq=1001 ack=5001']);
    assert.equal(c.state, 'FIN-WAIT-1');
  });

  test('shutdown() with queued data → the FIN follows the data (rides on the last segment)', () => {
    const c = established();
    c.send(bytes(10), 1);
    c.shutdown(1);
    assert.deepEqual(wire(c, 1), ['FIN+PSH+ACK seq=1001 ack=5001 len=10']);
  });

  test('on ACK of our FIN → FIN-WAIT-2, nothing sent', () => {
    const c = finWait1();
    c.input(seg(ACK, RCV, SND + 1), 5);
    assert.equal(c.state, 'FIN-WAIT-2');
    assert.deepEqual(wire(c, 5), []);
  });

  test('on ACK that does not cover our FIN → stay in FIN-WAIT-1', () => {
    const c = established();
    c.send(bytes(10), 0); c.shutdown(0); c.drainTransmit(0);
    c.input(seg(ACK, RCV, SND + 10), 5);
    assert.equal(c.state, 'FIN-WAIT-1');
  });

  test('on FIN+ACK that acks our FIN → TIME-WAIT, send ACK', () => {
    const c = finWait1();
    c.input(seg(FIN | ACK, RCV, SND + 1), 5);
    assert.deepEqual(wire(c, 5), ['ACK seq=1002 ack=5002']);
    assert.deepEqual(states(c.drainEvents()), ['TIME-WAIT']);
  });

  test('on FIN that does not ack our FIN → CLOSING, send ACK', () => {
    const c = finWait1();
    c.input(seg(FIN | ACK, RCV, SND), 5);
    assert.deepEqual(wire(c, 5), ['ACK seq=1002 ack=5002']);
    assert.equal(c.state, 'CLOSING');
  });

  test('on data → still received (half-close) and acknowledged', () => {
    const c = finWait1();
    c.input(seg(ACK | PSH, RCV, SND, { payload: bytes(8) }), 5);
    assert.deepEqual(wire(c, 5), ['ACK seq=1002 ack=5009']);
    assert.equal(c.readableLength, 8);
  });

  test('RTO → the FIN is retransmitted <SEQ=1001>', () => {
    const c = finWait1();
    const t = c.nextDeadline();
    assert.equal(t, c.retransmissionTimeout, 'RTO armed when the FIN was sent');
    c.onTimeout(t);
    assert.deepEqual(wire(c, t), ['FIN+ACK seq=1001 ack=5001']);
    assert.equal(c.state, 'FIN-WAIT-1');
  });

  test('send() after shutdown() → EPIPE', () => {
    const c = finWait1();
    assert.throws(() => c.send(bytes(1), 1), { code: 'EPIPE' });
  });
});

// =====================================================================================
describe('FIN-WAIT-2 (§3.10.7.4)', () => {
  test('on FIN → TIME-WAIT, send ACK', () => {
    const c = finWait2();
    c.input(seg(FIN | ACK, RCV, SND + 1), 5);
    assert.deepEqual(wire(c, 5), ['ACK seq=1002 ack=5002']);
    assert.equal(c.state, 'TIME-WAIT');
  });

  test('on data → received and acknowledged (half-close)', () => {
    const c = finWait2();
    c.input(seg(ACK, RCV, SND + 1, { payload: bytes(4) }), 5);
    assert.deepEqual(wire(c, 5), ['ACK seq=1002 ack=5005']);
    assert.deepEqual(readAll(c), bytes(4));
  });

  test('on data+FIN → data delivered, TIME-WAIT, one ACK for both', () => {
    const c = finWait2();
    c.input(seg(ACK | FIN, RCV, SND + 1, { payload: bytes(4) }), 5);
    assert.deepEqual(wire(c, 5), ['ACK seq=1002 ack=5006']);
    assert.equal(c.state, 'TIME-WAIT');
  });

  test('on a pure ACK → nothing sent, no RTO armed (the retransmission queue is empty)', () => {
    const c = finWait2();
    c.input(seg(ACK, RCV, SND + 1), 5);
    assert.deepEqual(wire(c, 5), []);
    assert.equal(c.nextDeadline(), Infinity);
  });

  test('after close() (orphaned), data is answered with RST <SEQ=SND.NXT> and the connection is CLOSED', () => {
    const c = established();
    c.close(0); c.drainTransmit(0);
    c.input(seg(ACK, RCV, SND + 1), 1);
    assert.equal(c.state, 'FIN-WAIT-2');
    c.input(seg(ACK, RCV, SND + 1, { payload: bytes(3) }), 2);
    assert.deepEqual(wire(c, 2), ['RST seq=1002']);
    assert.equal(c.state, 'CLOSED');
    assert.equal(c.stats.TCPAbortOnData, 1);
  });
});

// =====================================================================================
describe('CLOSE-WAIT (§3.10.7.4)', () => {
  test('we can still send; data is acknowledged by the peer as in ESTABLISHED', () => {
    const c = closeWait();
    c.send(bytes(5), 1);
    assert.deepEqual(wire(c, 1), ['PSH+ACK seq=1001 ack=5002 len=5']);
    c.input(seg(ACK, RCV + 1, SND + 5), 2);
    assert.equal(c.sndUna, SND + 5);
  });

  test('on data (should not occur after FIN) → ignored', () => {
    const c = closeWait();
    c.input(seg(ACK, RCV + 1, SND, { payload: bytes(5) }), 2);
    assert.equal(c.readableLength, 0);
    assert.equal(c.rcvNxt, RCV + 1);
  });

  test('on a retransmitted FIN → ACK again, stay in CLOSE-WAIT', () => {
    const c = closeWait();
    c.input(seg(FIN | ACK, RCV, SND), 2);
    assert.deepEqual(wire(c, 2), ['ACK seq=1001 ack=5002']);
    assert.equal(c.state, 'CLOSE-WAIT');
  });

  test('shutdown() → LAST-ACK, send FIN <SEQ=SND.NXT><ACK=RCV.NXT>', () => {
    const c = closeWait();
    c.shutdown(3);
    assert.deepEqual(wire(c, 3), ['FIN+ACK seq=1001 ack=5002']);
    assert.equal(c.state, 'LAST-ACK');
  });
});

// =====================================================================================
describe('CLOSING (§3.10.7.4)', () => {
  test('on ACK of our FIN → TIME-WAIT, nothing sent', () => {
    const c = closing();
    c.input(seg(ACK, RCV + 1, SND + 1), 5);
    assert.equal(c.state, 'TIME-WAIT');
    assert.deepEqual(wire(c, 5), []);
  });

  test('on ACK that does not ack our FIN → ignored, stay', () => {
    const c = closing();
    c.input(seg(ACK, RCV + 1, SND), 5);
    assert.equal(c.state, 'CLOSING');
  });

  test('on a retransmitted FIN → ACK again', () => {
    const c = closing();
    c.input(seg(FIN | ACK, RCV, SND), 5);
    assert.deepEqual(wire(c, 5), ['ACK seq=1002 ack=5002']);
    assert.equal(c.state, 'CLOSING');
  });

  test('RTO → our FIN is retransmitted', () => {
    const c = closing();
    const t = c.nextDeadline();
    c.onTimeout(t);
    assert.deepEqual(wire(c, t), ['FIN+ACK seq=1001 ack=5002']);
  });
});

// =====================================================================================
describe('LAST-ACK (§3.10.7.4)', () => {
  test('on ACK of our FIN → CLOSED (TCB deleted), closed event, nothing sent', () => {
    const c = lastAck();
    c.input(seg(ACK, RCV + 1, SND + 1), 5);
    assert.equal(c.state, 'CLOSED');
    assert.deepEqual(wire(c, 5), []);
    const ev = c.drainEvents();
    assert.deepEqual(states(ev), ['CLOSED']);
    assert.ok(ev.some((e) => e.type === 'closed'));
    assert.equal(c.nextDeadline(), Infinity);
  });

  test('on ACK not covering our FIN → stay', () => {
    const c = lastAck();
    c.input(seg(ACK, RCV + 1, SND), 5);
    assert.equal(c.state, 'LAST-ACK');
  });

  test('on a retransmitted FIN (our ACK of it was lost) → ACK again, stay', () => {
    const c = lastAck();
    c.input(seg(FIN | ACK, RCV, SND), 5);
    assert.deepEqual(wire(c, 5), ['ACK seq=1002 ack=5002']);
    assert.equal(c.state, 'LAST-ACK');
  });

  test('RTO → FIN retransmitted; after maxRetransmits → RST and ETIMEDOUT', () => {
    const c = lastAck({ ...PLAIN, maxRetransmits: 2 });
    const sent: string[] = [];
    let now = 0;
    while (c.state !== 'CLOSED') { now = c.nextDeadline(); c.onTimeout(now); sent.push(...wire(c, now)); }
    assert.deepEqual(sent, ['FIN+ACK seq=1001 ack=5002', 'FIN+ACK seq=1001 ack=5002', 'RST seq=1002']);
    assert.equal(c.error?.code, 'ETIMEDOUT');
  });
});

// =====================================================================================
describe('TIME-WAIT (§3.10.7.4, §3.10.8)', () => {
  test('on a retransmitted FIN → ACK it and restart the 2·MSL timer', () => {
    const c = timeWait({ ...PLAIN, msl: 1000 }, 0);
    assert.equal(c.nextDeadline(), 2000);
    c.input(seg(FIN | ACK, RCV, SND + 1), 1500);
    assert.deepEqual(wire(c, 1500), ['ACK seq=1002 ack=5002']);
    assert.equal(c.nextDeadline(), 3500);
    assert.equal(c.state, 'TIME-WAIT');
  });

  test('TIME-WAIT timeout → CLOSED (TCB deleted) after 2·MSL, nothing sent', () => {
    const c = timeWait({ ...PLAIN, msl: 1000 }, 0);
    c.onTimeout(1999);
    assert.equal(c.state, 'TIME-WAIT');
    c.onTimeout(2000);
    assert.equal(c.state, 'CLOSED');
    assert.deepEqual(wire(c, 2000), []);
    const st = c.drainEvents().find((e) => e.type === 'state')!;
    assert.ok(st.type === 'state' && st.cause.kind === 'timer' && st.cause.timer === 'time-wait');
  });

  test('RFC 1337: RST at RCV.NXT is ignored (no TIME-WAIT assassination)', () => {
    const c = timeWait();
    c.input(seg(RST, RCV + 1), 5);
    c.input(seg(RST | ACK, RCV + 1, SND + 1), 5);
    assert.equal(c.state, 'TIME-WAIT');
    assert.deepEqual(wire(c, 5), []);
    assert.deepEqual(drops(c.drainEvents()), ['rst-in-time-wait', 'rst-in-time-wait']);
  });

  test('on SYN → ACK (RFC 5961 §4), stay in TIME-WAIT', () => {
    const c = timeWait();
    c.input(seg(SYN, RCV + 100), 5);
    assert.deepEqual(wire(c, 5), ['ACK seq=1002 ack=5002']);
    assert.equal(c.state, 'TIME-WAIT');
  });

  test('on data (should not occur) → ignored; on an old duplicate → ACK', () => {
    const c = timeWait();
    c.input(seg(ACK, RCV + 1, SND + 1, { payload: bytes(3) }), 5);
    assert.equal(c.readableLength, 0);
    assert.equal(c.rcvNxt, RCV + 1);
    c.input(seg(ACK, RCV - 10, SND + 1, { payload: bytes(3) }), 6);
    assert.deepEqual(wire(c, 6), ['ACK seq=1002 ack=5002']);
  });

  test('user calls: send → EPIPE, shutdown is a no-op, abort → CLOSED without RST', () => {
    const c = timeWait();
    assert.throws(() => c.send(bytes(1), 1), { code: 'EPIPE' });
    c.shutdown(1);
    assert.equal(c.state, 'TIME-WAIT');
    c.abort(1);
    assert.equal(c.state, 'CLOSED');
    assert.deepEqual(wire(c, 1), []);
  });
});

// =====================================================================================
describe('invalid flag combinations: dropped in every state, counted per combination', () => {
  const combos: Array<[string, number, keyof TcpConnection['stats']['invalidFlags']]> = [
    ['SYN+FIN', SYN | FIN, 'syn-fin'],
    ['SYN+FIN+ACK', SYN | FIN | ACK, 'syn-fin'],
    ['SYN+RST', SYN | RST, 'syn-rst'],
    ['FIN+RST', FIN | RST, 'fin-rst'],
    ['FIN+RST+ACK', FIN | RST | ACK, 'fin-rst'],
    ['no flags', 0, 'null'],
    ['FIN without ACK', FIN, 'fin-no-ack'],
    ['Xmas FIN+PSH+URG', FIN | PSH | URG, 'xmas'],
  ];
  for (const st of ['LISTEN', 'SYN-SENT', 'ESTABLISHED', 'TIME-WAIT'] as const) {
    for (const [name, flags, counter] of combos) {
      test(`in ${st}, ${name} → dropped, nothing sent, no state change, invalidFlags['${counter}']++`, () => {
        const c = inState(st);
        const before = { una: c.sndUna, nxt: c.sndNxt, rnxt: c.rcvNxt, dl: c.nextDeadline() };
        // Aimed where a valid segment would be accepted: exactly RCV.NXT, acknowledging SND.NXT.
        const s = seg(flags, st === 'LISTEN' || st === 'SYN-SENT' ? IRS : c.rcvNxt, c.sndNxt, { payload: bytes(5) });
        s.urgent = flags & URG ? 1 : 0;
        c.input(s, 10);
        assert.deepEqual(wire(c, 10), []);
        assert.equal(c.state, st);
        assert.deepEqual({ una: c.sndUna, nxt: c.sndNxt, rnxt: c.rcvNxt, dl: c.nextDeadline() }, before);
        assert.equal(c.readableLength, 0);
        assert.equal(c.stats.invalidFlags[counter], 1);
        const total = Object.values(c.stats.invalidFlags).reduce((a, b) => a + b, 0);
        assert.equal(total, 1, 'only this combination counted');
        assert.deepEqual(drops(c.drainEvents()), ['invalid-flags']);
      });
    }
  }

  test('the counters appear in the Linux-style snapshot', () => {
    const c = established();
    c.input(seg(SYN | FIN, RCV), 1);
    c.input(seg(FIN | PSH | URG, RCV), 1);
    c.input(seg(FIN | PSH | URG, RCV), 1);
    const snap = c.stats.snapshot();
    assert.equal(snap['TCPInvalidFlagsSynFin'], 1);
    assert.equal(snap['TCPInvalidFlagsXmas'], 2);
    assert.equal(snap['TCPInvalidFlagsNull'], 0);
  });

  test('legal combinations are not counted: FIN+PSH+URG+ACK, SYN+ACK+ECE+CWR, RST+ACK', () => {
    const c = established();
    c.input(seg(FIN | PSH | URG | ACK, RCV, SND), 1);
    assert.equal(c.state, 'CLOSE-WAIT');
    const total = Object.values(c.stats.invalidFlags).reduce((a, b) => a + b, 0);
    assert.equal(total, 0);
  });
});

// =====================================================================================
describe('user calls (§3.10.1–3.10.5)', () => {
  test('OPEN: connect() or listen() on an open connection → EISCONN', () => {
    const c = established();
    assert.throws(() => c.connect(1), { code: 'EISCONN' });
    assert.throws(() => c.listen(1), { code: 'EISCONN' });
  });

  test('OPEN: connect() in LISTEN turns the passive open into an active one (SYN sent)', () => {
    const c = inState('LISTEN');
    c.connect(1);
    assert.deepEqual(wire(c, 1), ['SYN seq=1000']);
    assert.equal(c.state, 'SYN-SENT');
  });

  // RFC 9293 §3.10.2 lets SEND in LISTEN turn the connection active when the foreign socket is known; synack's
  // LISTEN TCBs have no fixed peer (sockets API semantics), so SEND there is refused like in CLOSED.
  test('SEND in CLOSED or LISTEN → ENOTCONN; after a reset → the reset error', () => {
    assert.throws(() => newConn().send(bytes(1), 0), { code: 'ENOTCONN' });
    assert.throws(() => inState('LISTEN').send(bytes(1), 0), { code: 'ENOTCONN' });
    const c = established();
    c.input(seg(RST, RCV), 1);
    assert.throws(() => c.send(bytes(1), 2), { code: 'ECONNRESET' });
  });

  test('SEND beyond the send buffer → accepts only what fits', () => {
    const c = established({ ...PLAIN, sendBufferSize: 1000 });
    assert.equal(c.send(bytes(600), 0), 600);
    assert.equal(c.send(bytes(600), 0), 400);
    assert.equal(c.send(bytes(1), 0), 0);
  });

  test('SEND in CLOSING, LAST-ACK, FIN-WAIT-2 → EPIPE', () => {
    for (const st of ['CLOSING', 'LAST-ACK', 'FIN-WAIT-2'] as const) {
      assert.throws(() => inState(st).send(bytes(1), 0), { code: 'EPIPE' }, st);
    }
  });

  test('RECEIVE: read() returns in-order bytes; readEnded after the FIN once everything is read', () => {
    const c = established();
    c.input(seg(ACK | FIN, RCV, SND, { payload: bytes(10) }), 1);
    assert.equal(c.readEnded, false);
    assert.deepEqual(c.read(4), bytes(4));
    assert.deepEqual(c.read(), bytes(10).subarray(4));
    assert.equal(c.readEnded, true);
  });

  test('CLOSE in LISTEN or SYN-SENT → CLOSED, nothing sent', () => {
    for (const st of ['LISTEN', 'SYN-SENT'] as const) {
      const c = inState(st);
      c.shutdown(1);
      assert.equal(c.state, 'CLOSED', st);
      assert.deepEqual(wire(c, 1), []);
    }
  });

  test('CLOSE in CLOSED → ENOTCONN', () => {
    assert.throws(() => newConn().shutdown(0), { code: 'ENOTCONN' });
  });

  test('CLOSE in FIN-WAIT-1/2, CLOSING, LAST-ACK, TIME-WAIT → nothing new (already closing)', () => {
    for (const st of ['FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSING', 'LAST-ACK', 'TIME-WAIT'] as const) {
      const c = inState(st);
      c.shutdown(1);
      assert.equal(c.state, st);
      assert.deepEqual(wire(c, 1), [], st);
    }
  });

  test('close() with unread data → RST <SEQ=SND.NXT>, CLOSED (RFC 1122 §4.2.2.13)', () => {
    const c = established();
    c.input(seg(ACK, RCV, SND, { payload: bytes(5) }), 1);
    c.drainTransmit(1);
    c.close(2);
    assert.deepEqual(wire(c, 2), ['RST seq=1001']);
    assert.equal(c.state, 'CLOSED');
    assert.equal(c.stats.TCPAbortOnClose, 1);
  });

  for (const st of ['SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT'] as const) {
    test(`ABORT in ${st} → RST <SEQ=SND.NXT>, CLOSED`, () => {
      const c = inState(st);
      const nxt = c.sndNxt;
      c.abort(1);
      assert.deepEqual(wire(c, 1), [`RST seq=${nxt}`]);
      assert.equal(c.state, 'CLOSED');
      assert.equal(c.nextDeadline(), Infinity);
    });
  }

  for (const st of ['LISTEN', 'SYN-SENT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT'] as const) {
    test(`ABORT in ${st} → CLOSED, nothing sent`, () => {
      const c = inState(st);
      c.abort(1);
      assert.deepEqual(wire(c, 1), []);
      assert.equal(c.state, 'CLOSED');
    });
  }

  test('every state change event carries the user call that caused it', () => {
    const c = established();
    c.shutdown(1);
    const st = c.drainEvents().find((e) => e.type === 'state')!;
    assert.ok(st.type === 'state' && st.from === 'ESTABLISHED' && st.to === 'FIN-WAIT-1');
    assert.deepEqual(st.cause, { kind: 'user', call: 'shutdown' });
  });
});

