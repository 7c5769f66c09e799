/**
 * The sequence check's left edge, as Linux draws it (config.seqCheck 'linux'): tcp_sequence rejects a segment as
 * old only when it ends before rcv_wup, RCV.NXT as of the last segment sent (Last.ACK.sent), where RFC 9293
 * §3.10.7.4 tests RCV.NXT. While an ACK is delayed the two differ: a RST between them draws a challenge ACK
 * (RFC 5961 §3.2) instead of being dropped, and a segment there has its ACK processed. Linux also resets on a RST
 * at the right edge of its highest SACK block, and (≥ 6.17) drops text running past the right edge while unread
 * data is queued. Each case was checked against Linux 6.18 (src/drill/linux-scripts, and a scapy probe).
 * ISS = 1000, IRS = 5000: SND.NXT = 1001 and RCV.NXT = 5001 once ESTABLISHED.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, PSH, RST, SYN } from '../wire/tcp-types.js';
import { TcpConnection } from './connection.js';
import type { TcpConfig } from './config.js';
import { IRS, ISS, LOCAL_PORT, PLAIN, REMOTE_PORT, bytes, established, readAll, runTimers, seg, wire } from './test-util.js';

/** Delayed ACKs (40 ms) and no quick-ACK mode: the first data's ACK waits, so RCV.NXT runs ahead of Last.ACK.sent. */
const DELAYED: Partial<TcpConfig> = { ...PLAIN, delayedAck: true, delayedAckTimeout: 40 };
const LINUX: Partial<TcpConfig> = { ...DELAYED, seqCheck: 'linux' };

/** ESTABLISHED, then 100 bytes from the peer at t = 10 whose ACK is still delayed: RCV.NXT 5101, Last.ACK.sent 5001. */
function withDelayedAck(cfg: Partial<TcpConfig>): TcpConnection {
  const c = established(cfg);
  c.input(seg(ACK | PSH, IRS + 1, ISS + 1, { payload: bytes(100) }), 10);
  assert.deepEqual(wire(c, 10), [], 'the ACK of the data is delayed');
  return c;
}

test('linux: a RST at Last.ACK.sent, below RCV.NXT, draws a challenge ACK; the exact RST that answers it resets', () => {
  const c = withDelayedAck(LINUX);
  c.input(seg(RST, IRS + 1), 11);
  assert.deepEqual(wire(c, 11), ['ACK seq=1001 ack=5101'], 'challenge ACK (it carries the delayed ACK too)');
  assert.equal(c.state, 'ESTABLISHED');
  assert.equal(readAll(c).length, 100);
  c.input(seg(RST, IRS + 101), 20);
  assert.equal(c.state, 'CLOSED');
  assert.equal(c.error?.code, 'ECONNRESET');
});

test('rfc9293: the same RST ends before RCV.NXT and is dropped silently; the connection stays half-open', () => {
  const c = withDelayedAck(DELAYED);
  c.input(seg(RST, IRS + 1), 11);
  assert.deepEqual(wire(c, 11), []);
  assert.equal(c.state, 'ESTABLISHED');
  assert.equal(c.stats.RstIgnored, 1);
});

test('linux: once the ACK has gone out, a RST below the new Last.ACK.sent is outside the window: dropped silently', () => {
  const c = withDelayedAck(LINUX);
  assert.deepEqual(runTimers(c, 60).map((s) => s.ack), [IRS + 101], 'the delayed ACK at 50 ms');
  c.input(seg(RST, IRS + 1), 100);
  c.input(seg(RST, IRS + 51), 100);
  assert.deepEqual(wire(c, 100), []);
  assert.equal(c.state, 'ESTABLISHED');
  assert.equal(c.stats.RstIgnored, 2);
});

test('linux: a reordered pure ACK at Last.ACK.sent acknowledges our data; below Last.ACK.sent it is answered and ignored', () => {
  for (const ackFirst of [false, true]) {
    const c = established(LINUX);
    c.send(bytes(50), 0);
    assert.deepEqual(wire(c, 0), ['PSH+ACK seq=1001 ack=5001 len=50']);
    c.input(seg(ACK | PSH, IRS + 1, ISS + 1, { payload: bytes(100) }), 10);
    if (ackFirst) assert.equal(runTimers(c, 60).length, 1, 'the delayed ACK: Last.ACK.sent = RCV.NXT');
    const t = ackFirst ? 61 : 11;
    // Sent by the peer before its data, arriving after it.
    c.input(seg(ACK, IRS + 1, ISS + 51), t);
    if (!ackFirst) {
      assert.equal(c.sndUna, ISS + 51, 'processed: our 50 bytes are acknowledged');
      assert.deepEqual(wire(c, t), [], 'and not answered');
    } else {
      assert.equal(c.sndUna, ISS + 1, 'not processed');
      assert.deepEqual(wire(c, t), ['ACK seq=1051 ack=5101'], 'a duplicate ACK');
    }
  }
});

test('linux: a duplicate of data not yet ACKed has its ACK processed and is ACKed at once with a D-SACK', () => {
  const c = established({ ...LINUX, sack: true }, 0, { options: { sackPermitted: true } });
  c.send(bytes(50), 0);
  c.drainTransmit(0);
  c.input(seg(ACK | PSH, IRS + 1, ISS + 1, { payload: bytes(200) }), 10);
  assert.deepEqual(wire(c, 10), []);
  c.input(seg(ACK, IRS + 1, ISS + 51, { payload: bytes(100) }), 12);
  const out = c.drainTransmit(12);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.ack, IRS + 201);
  assert.deepEqual(out[0]!.options.sack, [IRS + 1, IRS + 101], 'D-SACK of the duplicate (RFC 2883)');
  assert.equal(c.sndUna, ISS + 51);
});

test('linux: a RST at the right edge of the highest SACK block resets; without SACK it draws a challenge ACK', () => {
  const sack = established({ ...LINUX, sack: true }, 0, { options: { sackPermitted: true } });
  sack.input(seg(ACK | PSH, IRS + 101, ISS + 1, { payload: bytes(100) }), 10);
  assert.deepEqual(sack.drainTransmit(10).map((s) => s.options.sack), [[IRS + 101, IRS + 201]]);
  sack.input(seg(RST, IRS + 151), 11);
  assert.equal(sack.state, 'ESTABLISHED', 'inside the SACK block: not its edge');
  sack.input(seg(RST, IRS + 201), 700);
  assert.equal(sack.state, 'CLOSED');
  assert.equal(sack.error?.code, 'ECONNRESET');

  const plain = established(LINUX);
  plain.input(seg(ACK | PSH, IRS + 101, ISS + 1, { payload: bytes(100) }), 10);
  plain.drainTransmit(10);
  plain.input(seg(RST, IRS + 201), 11);
  assert.deepEqual(wire(plain, 11), ['ACK seq=1001 ack=5001']);
  assert.equal(plain.state, 'ESTABLISHED');

  const rfc = established({ ...DELAYED, sack: true }, 0, { options: { sackPermitted: true } });
  rfc.input(seg(ACK | PSH, IRS + 101, ISS + 1, { payload: bytes(100) }), 10);
  rfc.drainTransmit(10);
  rfc.input(seg(RST, IRS + 201), 11);
  assert.equal(rfc.state, 'ESTABLISHED', 'rfc9293: RFC 5961 §3.2 resets at RCV.NXT only');
});

test('linux: Last.ACK.sent starts at IRS + 1 on a SYN cookie connection, whatever half of the sequence space IRS is in', () => {
  for (const irs of [0x10000000, 0x90000000, 0xfffffff0]) {
    const ack = { ...seg(ACK | PSH, (irs + 1) >>> 0, ISS + 1, { payload: bytes(10) }) };
    const c = TcpConnection.fromCookie({ localPort: LOCAL_PORT, remotePort: REMOTE_PORT, iss: ISS, config: LINUX },
      { iss: ISS, irs, mss: 1460, sndShift: null, sackOk: false, tsOk: false }, ack, 0);
    assert.equal(c.state, 'ESTABLISHED');
    assert.equal(readAll(c).length, 10, `IRS ${irs.toString(16)}: the ACK's data is delivered`);
  }
});

test('linux: after an active open the SYN,ACK sets Last.ACK.sent; a RST at IRS + 1 with data pending draws a challenge ACK', () => {
  const c = new TcpConnection({ localPort: LOCAL_PORT, remotePort: REMOTE_PORT, iss: ISS, config: LINUX });
  c.connect(0);
  c.drainTransmit(0);
  c.input(seg(SYN | ACK, IRS, ISS + 1), 10);
  assert.deepEqual(wire(c, 10), ['ACK seq=1001 ack=5001']);
  c.input(seg(ACK | PSH, IRS + 1, ISS + 1, { payload: bytes(100) }), 20);
  c.input(seg(RST, IRS + 1), 21);
  assert.deepEqual(wire(c, 21), ['ACK seq=1001 ack=5101']);
  assert.equal(c.state, 'ESTABLISHED');
});

test('linux: text past the right edge is dropped whole while unread data is queued (a duplicate ACK answers it); rfc9293 trims it', () => {
  const small: Partial<TcpConfig> = { recvBufferSize: 2000, recvBufferAutotune: false };
  for (const rule of ['linux', 'rfc9293'] as const) {
    const c = established({ ...PLAIN, ...small, seqCheck: rule });
    c.input(seg(ACK | PSH, IRS + 1, ISS + 1, { payload: bytes(1000) }), 10);
    const ack = c.drainTransmit(10)[0]!;
    const wnd = ack.window;
    assert.ok(wnd > 0 && wnd < 1400, `window ${wnd}`);
    // 100 bytes more than the window offers, from RCV.NXT; the 1000 bytes are still unread.
    c.input(seg(ACK | PSH, IRS + 1001, ISS + 1, { payload: bytes(wnd + 100) }), 20);
    const out = c.drainTransmit(20);
    assert.equal(out.length, 1);
    if (rule === 'linux') {
      assert.equal(out[0]!.ack, IRS + 1001, 'dropped whole: a duplicate ACK (Linux 6.18 did the same)');
      assert.equal(c.readableLength, 1000);
    } else {
      assert.equal(out[0]!.ack, IRS + 1001 + wnd, 'trimmed to the window (RFC 9293 §3.10.7.4)');
      assert.equal(c.readableLength, 1000 + wnd);
    }
  }
  // Nothing left unread: taken (synack trims it to the window; Linux 6.18 took all of it).
  const c = established({ ...PLAIN, ...small, seqCheck: 'linux' });
  c.input(seg(ACK | PSH, IRS + 1, ISS + 1, { payload: bytes(2100) }), 10);
  const got = c.readableLength;
  assert.ok(got > 1000 && got <= 2000, `took ${got}`);
  assert.deepEqual(c.drainTransmit(10).map((s) => s.ack), [IRS + 1 + got]);
});
