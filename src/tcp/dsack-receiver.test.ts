/**
 * D-SACK from the receiver (RFC 2883): data that arrives a second time is reported, once, in the first SACK
 * block of the ACK it draws, so the sender learns its retransmission was not needed. Hand-built segments from a
 * peer that offered SACK; 100-byte segments, RCV.NXT starts at IRS + 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, FIN, type TcpSegment } from '../wire/tcp-types.js';
import { IRS, ISS, PLAIN, bytes, established, seg } from './test-util.js';
import type { TcpConfig } from './config.js';
import type { TcpConnection } from './connection.js';

const D = IRS + 1;
const open = (config: Partial<TcpConfig> = {}): TcpConnection =>
  established({ ...PLAIN, sack: true, ...config }, 0, { options: { sackPermitted: true } });

/** The peer sends `len` bytes at D + off; returns the ACKs we answer with. */
function data(c: TcpConnection, off: number, len: number, now = 1, flags = ACK): TcpSegment[] {
  c.input(seg(flags, D + off, ISS + 1, { payload: bytes(len) }), now);
  return c.drainTransmit(now);
}

test('a retransmission of data already acknowledged draws an immediate ACK with a D-SACK for it', () => {
  const c = open();
  data(c, 0, 100);
  data(c, 100, 100);
  const acks = data(c, 0, 100, 2); // the first segment again: a spurious retransmission
  assert.equal(acks.length, 1);
  assert.equal(acks[0]!.ack, D + 200);
  assert.deepEqual(acks[0]!.options.sack, [D, D + 100]);
  // Reported once: the next ACK carries no SACK option at all (nothing is out of order).
  assert.equal(data(c, 200, 100, 3)[0]!.options.sack, undefined);
});

test('the part of a segment below RCV.NXT is the D-SACK block; the new part is taken', () => {
  const c = open();
  data(c, 0, 100);
  const acks = data(c, 50, 100, 2);
  assert.equal(acks[0]!.ack, D + 150);
  assert.deepEqual(acks[0]!.options.sack, [D + 50, D + 100]);
});

test('a duplicate of data held beyond a hole: the D-SACK first, then the SACK block holding it (RFC 2883 §4.1.2)', () => {
  const c = open();
  data(c, 0, 100);
  data(c, 200, 100); // hole at 100..200
  data(c, 400, 100); // a second block, the most recent
  const acks = data(c, 200, 100, 2);
  assert.equal(acks[0]!.ack, D + 100);
  assert.deepEqual(acks[0]!.options.sack, [D + 200, D + 300, D + 200, D + 300, D + 400, D + 500]);
});

test('with timestamps a D-SACK leaves room for two SACK blocks (three in all)', () => {
  const c = established({ ...PLAIN, sack: true, timestamps: true }, 0, { options: { sackPermitted: true, tsVal: 1, tsEcr: 0 }, ackOptions: { tsVal: 2, tsEcr: 1 } });
  const send = (off: number): TcpSegment[] => {
    c.input(seg(ACK, D + off, ISS + 1, { payload: bytes(100), options: { tsVal: 3, tsEcr: 1 } }), 1);
    return c.drainTransmit(1);
  };
  for (const off of [0, 200, 400, 600]) send(off);
  const acks = send(400);
  assert.equal(acks[0]!.options.sack!.length, 6);
  assert.deepEqual(acks[0]!.options.sack!.slice(0, 4), [D + 400, D + 500, D + 400, D + 500]);
});

test('a duplicate FIN-carrying segment after the FIN: the data part is D-SACKed', () => {
  const c = open();
  data(c, 0, 100, 1, ACK | FIN);
  const acks = data(c, 0, 100, 2, ACK | FIN);
  assert.equal(acks[0]!.ack, D + 101);
  assert.deepEqual(acks[0]!.options.sack, [D, D + 100]);
});

test('no D-SACK without SACK, or with dsack off', () => {
  for (const config of [{ sack: false }, { dsack: false }]) {
    const c = established({ ...PLAIN, sack: true, ...config }, 0, { options: { sackPermitted: true } });
    data(c, 0, 100);
    assert.equal(data(c, 0, 100, 2)[0]!.options.sack, undefined);
  }
});

test('a new FIN on a segment whose data is old: the FIN is taken and no D-SACK follows (Linux tcp_fin resets SACK state)', () => {
  const c = open();
  data(c, 0, 100);
  const acks = data(c, 0, 100, 2, ACK | FIN);
  assert.equal(acks[0]!.ack, D + 101);
  assert.equal(acks[0]!.options.sack, undefined);
});

test('a late original that fails PAWS is D-SACKed in the ACK it draws, as Linux 6.18 answers (recorded with scapy)', () => {
  // The original of [100, 200) is overtaken by its retransmission, which fills the hole and moves TS.Recent to 400;
  // the original then arrives with TSval 200 and is dropped by PAWS (RFC 7323 §5.3). Linux 6.18 answered
  // these four segments with ACK 100; ACK 100 SACK [200, 300); ACK 300; ACK 300 SACK [100, 200) TSecr 400: the
  // dropped original's data is below RCV.NXT, so tcp_send_dupack D-SACKs it, and the sender learns the
  // retransmission was spurious.
  const c = established({ ...PLAIN, sack: true, timestamps: true }, 0, { options: { sackPermitted: true, tsVal: 10, tsEcr: 0 }, ackOptions: { tsVal: 11, tsEcr: 1 } });
  const send = (off: number, tsVal: number, now: number): TcpSegment | undefined => {
    c.input(seg(ACK, D + off, ISS + 1, { payload: bytes(100), options: { tsVal, tsEcr: 1 } }), now);
    return c.drainTransmit(now).at(-1);
  };
  const acks = [send(0, 100, 1), send(200, 300, 2), send(100, 400, 3), send(100, 200, 4)];
  assert.deepEqual(acks.map((a) => a && [a.ack - D, (a.options.sack ?? []).map((x) => x - D)]), [
    [100, []], [100, [200, 300]], [300, []], [300, [100, 200]],
  ]);
  assert.equal(acks[3]!.options.tsEcr, 400);
  assert.equal(c.stats.PAWSEstab, 1);
});
