/**
 * The engine's configurable segment-arrival rules (issue 16): RFC 793's original RST/SYN/ACK checks against
 * RFC 5961's, the window arriving segments are tested against (advertised or FreeBSD's whole buffer), text on
 * a SYN in SYN-SENT, TIME-WAIT's answers to text, and the per-connection FIN-WAIT-2 timeout (TCP_LINGER2).
 * ISS = 1000, IRS = 5000: SND.NXT = 1001 and RCV.NXT = 5001 once ESTABLISHED.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, RST, SYN } from '../wire/tcp-types.js';
import { RFC793_RULES } from './config.js';
import { IRS, ISS, PLAIN, bytes, established, finWait1, readAll, seg, synSent, timeWait, wire } from './test-util.js';

test('a blind RST inside the window: challenge ACK under RFC 5961, reset under RFC 793', () => {
  const secure = established(PLAIN);
  secure.input(seg(RST, IRS + 1 + 1000), 0);
  assert.deepEqual(wire(secure, 0), ['ACK seq=1001 ack=5001']);
  assert.equal(secure.state, 'ESTABLISHED');

  const old = established({ ...PLAIN, ...RFC793_RULES });
  old.input(seg(RST, IRS + 1 + 1000), 0);
  assert.equal(old.state, 'CLOSED');
  assert.equal(old.error?.code, 'ECONNRESET');
  assert.deepEqual(wire(old, 0), []);
});

test('an in-window SYN: challenge ACK under RFC 5961; RST <SEQ=SND.NXT> and CLOSED under RFC 793; out of the window an ACK either way', () => {
  const secure = established(PLAIN);
  secure.input(seg(SYN, IRS + 100), 0);
  assert.deepEqual(wire(secure, 0), ['ACK seq=1001 ack=5001']);
  assert.equal(secure.state, 'ESTABLISHED');

  const old = established({ ...PLAIN, ...RFC793_RULES });
  old.input(seg(SYN, IRS + 100), 0);
  assert.deepEqual(wire(old, 0), ['RST seq=1001']);
  assert.equal(old.state, 'CLOSED');

  const outside = established({ ...PLAIN, ...RFC793_RULES });
  outside.input(seg(SYN, IRS + 1 + 70000), 0);
  assert.deepEqual(wire(outside, 0), ['ACK seq=1001 ack=5001']);
  assert.equal(outside.state, 'ESTABLISHED');
});

test('an ACK older than SND.UNA − MAX.SND.WND: challenge ACK (RFC 5961 §5.2) or, under RFC 793, ignored and its text accepted', () => {
  const tooOld = ISS + 1 - 70000;
  const secure = established(PLAIN);
  secure.input(seg(ACK, IRS + 1, tooOld, { payload: bytes(3) }), 0);
  assert.deepEqual(wire(secure, 0), ['ACK seq=1001 ack=5001']);
  assert.equal(secure.readableLength, 0);
  const old = established({ ...PLAIN, ...RFC793_RULES });
  old.input(seg(ACK, IRS + 1, tooOld, { payload: bytes(3) }), 0);
  assert.equal(old.readableLength, 3);
});

test('RCV.WND for acceptability: the 65535 advertised, or (FreeBSD) the whole free buffer beyond it', () => {
  // FreeBSD's fixed 65700-byte buffer (an autotuned one would offer 64 KiB of it).
  const cfg = { ...PLAIN, recvBufferSize: 65700, recvBufferAutotune: false };
  // RCV.NXT + 65600 is beyond the advertised 65535 but inside the 65700-byte buffer.
  const advertised = established(cfg);
  advertised.input(seg(RST, IRS + 1 + 65600), 0);
  assert.deepEqual(wire(advertised, 0), [], 'outside the advertised window: dropped silently');
  const buffer = established({ ...cfg, rcvWndAccept: 'buffer' });
  buffer.input(seg(RST, IRS + 1 + 65600), 0);
  assert.deepEqual(wire(buffer, 0), ['ACK seq=1001 ack=5001'], 'inside the buffer window: challenge ACK');
  // The last in-window number and the first beyond it.
  const edge = established({ ...cfg, rcvWndAccept: 'buffer' });
  edge.input(seg(RST, IRS + 1 + 65699), 0);
  assert.deepEqual(wire(edge, 0), ['ACK seq=1001 ack=5001']);
  edge.input(seg(RST, IRS + 1 + 65700), 2000);
  assert.deepEqual(wire(edge, 2000), []);
  assert.equal(edge.state, 'ESTABLISHED');
});

test('text on a SYN in SYN-SENT waits for ESTABLISHED (RFC 9293 §3.10.7.3), or is discarded (Linux)', () => {
  const c = synSent(PLAIN);
  c.input(seg(SYN, IRS, 0, { payload: bytes(5, 0x68) }), 0);
  assert.equal(c.state, 'SYN-RECEIVED');
  assert.deepEqual(wire(c, 0), ['SYN+ACK seq=1000 ack=5001'], 'the SYN,ACK acknowledges the SYN only');
  assert.equal(c.readableLength, 0);
  c.input(seg(ACK, IRS + 1, ISS + 1), 10);
  assert.equal(c.state, 'ESTABLISHED');
  assert.deepEqual(wire(c, 10), ['ACK seq=1001 ack=5006']);
  assert.deepEqual(readAll(c), bytes(5, 0x68));

  const linux = synSent({ ...PLAIN, synSentData: 'discard' });
  linux.input(seg(SYN, IRS, 0, { payload: bytes(5) }), 0);
  linux.drainTransmit(0);
  linux.input(seg(ACK, IRS + 1, ISS + 1), 10);
  assert.equal(linux.state, 'ESTABLISHED');
  assert.equal(linux.readableLength, 0);
});

test('TIME-WAIT: text is ignored (RFC 9293 seventh) or ACKed (BSD tcp_twcheck, Linux); a RST is ignored (RFC 1337) or closes (RFC 793)', () => {
  const rfc = timeWait(PLAIN);
  rfc.input(seg(ACK, IRS + 2, ISS + 2, { payload: bytes(4) }), 0);
  assert.deepEqual(wire(rfc, 0), []);
  const bsd = timeWait({ ...PLAIN, timeWaitAckData: true });
  bsd.input(seg(ACK, IRS + 2, ISS + 2, { payload: bytes(4) }), 0);
  assert.deepEqual(wire(bsd, 0), ['ACK seq=1002 ack=5002']);
  bsd.input(seg(RST, IRS + 2), 1);
  assert.equal(bsd.state, 'TIME-WAIT');
  const old = timeWait({ ...PLAIN, ...RFC793_RULES });
  old.input(seg(RST, IRS + 2), 1);
  assert.equal(old.state, 'CLOSED');
});

test('TCP_LINGER2: an orphaned connection leaves FIN-WAIT-2 after its own timeout', () => {
  const c = finWait1(PLAIN);
  c.setFinWait2Timeout(2000, 0);
  c.close(0);
  c.input(seg(ACK, IRS + 1, ISS + 2), 100);
  assert.equal(c.state, 'FIN-WAIT-2');
  assert.equal(c.nextDeadline(), 2100);
  c.onTimeout(2100);
  assert.equal(c.state, 'CLOSED');

  const dflt = finWait1(PLAIN);
  dflt.close(0);
  dflt.input(seg(ACK, IRS + 1, ISS + 2), 100);
  dflt.onTimeout(2100);
  assert.equal(dflt.state, 'FIN-WAIT-2', 'the configured 60 s apply otherwise');
});
