/**
 * Linux tcp_try_undo_partial: a partial ACK in recovery that echoes a timestamp older than the first
 * retransmission shows the hole was filled by the original, only late. While retransmissions are still in
 * flight, nothing more is marked lost or resent for that ACK (recovery/undo.ts). A host sends what an ACK allows
 * when it services the connection, at its own clock's time, a little after the ACK's (Stack.service reads the
 * clock again): the hold must last until the next ACK, not only for the instant the ACK was processed.
 * Hand-built ACKs on a passive connection whose handshake measured 100 ms; MSS 1000, timestamps on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, type TcpOptions, type TcpSegment } from '../wire/tcp-types.js';
import { IRS, ISS, bytes, runTimers, sackSender, seg } from './test-util.js';
import type { TcpConnection } from './connection.js';

const MSS = 1000;
const RTT = 100;
const at = (i: number): number => (ISS + 1 + i * MSS) >>> 0;

const open = (): TcpConnection => sackSender(MSS, RTT, { timestamps: true, initialWindowSegments: 20 });

/** An ACK processed at `now`; what it allows is sent `lag` ms later, as a host services the connection. */
function ack(c: TcpConnection, now: number, cum: number, opts: TcpOptions, lag: number): TcpSegment[] {
  const out = runTimers(c, now);
  c.input(seg(ACK, IRS + 1, cum, { window: 65535, options: opts }), now);
  return out.concat(c.drainTransmit(now + lag));
}

const tsOf = (segs: TcpSegment[], seq: number): number => segs.find((s) => s.seq === seq && s.payload.length > 0)!.options.tsVal!;

for (const lag of [0, 0.5]) {
  test(`a queue overtaken by a later segment: the ACKs of its late originals resend nothing more (service ${lag} ms after the ACK)`, () => {
    const c = open();
    c.send(bytes(14 * MSS), RTT);
    const first = c.drainTransmit(RTT);
    const t = 2 * RTT;
    const echo = (i: number): TcpOptions => ({ tsVal: 3, tsEcr: tsOf(first, at(i)) });
    ack(c, t, at(1), echo(0), lag);
    // Segments 11..13 overtook 1..10: with three segments SACKed RACK deems 1..10 lost and resending starts.
    const rtx: TcpSegment[] = [];
    for (let k = 1; k <= 3; k++) rtx.push(...ack(c, t + k, at(1), { ...echo(0), sack: [at(11), at(11 + k)] }, lag));
    rtx.push(...runTimers(c, t + 60));
    assert.equal(c.inRecovery, true);
    assert.ok(rtx.filter((s) => s.payload.length > 0).length >= 2, `${rtx.length} resent`);
    // The queue's originals arrive one by one; each ACK echoes the original's timestamp.
    const resent: number[] = [];
    for (let i = 2; i <= 11; i++) {
      for (const s of ack(c, t + 60 + i, at(i), { ...echo(i - 1), sack: [at(11), at(14)] }, lag)) {
        if (s.payload.length > 0 && ((s.seq - at(11)) | 0) < 0) resent.push((s.seq - at(0)) / MSS);
      }
    }
    assert.deepEqual(resent, [], 'nothing resent after the first late original was acknowledged');
    assert.equal(c.stats.TCPPartialUndo, 1);
  });
}
