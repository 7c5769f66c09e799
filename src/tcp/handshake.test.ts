import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, SYN, RST } from '../wire/tcp-types.js';
import { Pair } from './pair.js';
import { TcpConnection } from './connection.js';
import { PLAIN, ISS, IRS, seg, newConn, states } from './test-util.js';

function pair(config = PLAIN) {
  const a = new TcpConnection({ localPort: 40000, remotePort: 80, iss: 100, config });
  const b = new TcpConnection({ localPort: 80, remotePort: 40000, iss: 300, config });
  b.listen(0);
  return new Pair(a, b);
}

test('three-way handshake: SYN seq=x, SYN+ACK seq=y ack=x+1, ACK seq=x+1 ack=y+1; both ESTABLISHED', () => {
  const p = pair();
  p.a.connect(0);
  p.run((q) => q.a.state === 'ESTABLISHED' && q.b.state === 'ESTABLISHED');
  const w = p.log.map((r) => [r.from, r.seg.flags, r.seg.seq, r.seg.flags & ACK ? r.seg.ack : null]);
  assert.deepEqual(w, [
    ['a', SYN, 100, null],
    ['b', SYN | ACK, 300, 101],
    ['a', ACK, 101, 301],
  ]);
  assert.deepEqual(states(p.eventsA), ['SYN-SENT', 'ESTABLISHED']);
  assert.deepEqual(states(p.eventsB), ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED']);
});

test('simultaneous open: both SYN-SENT receive SYN → SYN-RECEIVED, exchange SYN+ACK → ESTABLISHED', () => {
  const a = new TcpConnection({ localPort: 1111, remotePort: 2222, iss: 100, config: PLAIN });
  const b = new TcpConnection({ localPort: 2222, remotePort: 1111, iss: 900, config: PLAIN });
  const p = new Pair(a, b);
  a.connect(0); b.connect(0);
  p.run((q) => q.a.state === 'ESTABLISHED' && q.b.state === 'ESTABLISHED');
  assert.deepEqual(states(p.eventsA), ['SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED']);
  assert.deepEqual(states(p.eventsB), ['SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED']);
  const desc = p.describe(false);
  assert.deepEqual(desc, [
    'a>b SYN seq=100', 'b>a SYN seq=900',
    'b>a SYN+ACK seq=900 ack=101', 'a>b SYN+ACK seq=100 ack=901',
  ]);
});

test('simultaneous open with window scaling: the peer\'s SYN+ACK window is not scaled (RFC 7323 §2.2), so the first flight fits it', () => {
  // Shift 8 on both sides and a 1460-byte receive buffer: scaling the SYN+ACK's 1460 would allow 373 760 bytes.
  const config = { ...PLAIN, windowScaling: true, windowShift: 8, recvBufferSize: 1460, mss: 1460 };
  const a = new TcpConnection({ localPort: 1111, remotePort: 2222, iss: 100, config });
  const b = new TcpConnection({ localPort: 2222, remotePort: 1111, iss: 900, config });
  const p = new Pair(a, b);
  a.connect(0); b.connect(0);
  p.run((q) => q.a.state === 'ESTABLISHED' && q.b.state === 'ESTABLISHED');
  const data = new Uint8Array(4000).map((_, i) => i & 0xff);
  assert.equal(a.send(data, p.now), 4000);
  p.flush();
  // What a sent before hearing from b again: no more than the 1460 bytes b's SYN+ACK offered.
  const firstFlight = p.log.filter((r) => r.from === 'a' && r.seg.payload.length > 0).reduce((n, r) => n + r.seg.payload.length, 0);
  assert.ok(firstFlight <= 1460, `first flight ${firstFlight} bytes`);
  // Read as it arrives: everything is delivered (the overrun version stalled: b dropped a's ACKs as out of window).
  const got: number[] = [];
  p.run((q) => { for (const x of q.b.read()) got.push(x); return got.length === 4000; }, 60_000);
  assert.deepEqual(Uint8Array.from(got), data);
});

test('in SYN-SENT, RST acknowledging our SYN → CLOSED with ECONNREFUSED', () => {
  const c = newConn();
  c.connect(0);
  c.drainTransmit(0);
  c.input(seg(RST | ACK, 0, ISS + 1), 5);
  assert.equal(c.state, 'CLOSED');
  const ev = c.drainEvents();
  assert.ok(ev.some((e) => e.type === 'error' && e.code === 'ECONNREFUSED'));
});

test('in SYN-SENT, RST with an unacceptable ACK is ignored', () => {
  const c = newConn();
  c.connect(0);
  c.drainTransmit(0);
  c.input(seg(RST | ACK, 0, ISS + 50), 5);
  assert.equal(c.state, 'SYN-SENT');
});

test('in SYN-SENT, SYN+ACK with a bad ACK → RST <SEQ=SEG.ACK>, stay in SYN-SENT', () => {
  const c = newConn();
  c.connect(0);
  c.drainTransmit(0);
  c.input(seg(SYN | ACK, IRS, ISS + 77), 5);
  const out = c.drainTransmit(5);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.flags, RST);
  assert.equal(out[0]!.seq, ISS + 77);
  assert.equal(c.state, 'SYN-SENT');
});

test('in LISTEN, an ACK → RST <SEQ=SEG.ACK>; a RST is ignored', () => {
  const c = newConn();
  c.listen(0);
  c.input(seg(ACK, 7, 4242), 1);
  const out = c.drainTransmit(1);
  assert.equal(out[0]!.flags, RST);
  assert.equal(out[0]!.seq, 4242);
  c.input(seg(RST, 7), 2);
  assert.deepEqual(c.drainTransmit(2), []);
  assert.equal(c.state, 'LISTEN');
});

test('SYN retransmitted with backoff, then ETIMEDOUT after synRetries', () => {
  const c = newConn({ ...PLAIN, synRetries: 3, rtoInitial: 1000 });
  c.connect(0);
  const times: number[] = [];
  let now = 0;
  for (let i = 0; i < 10 && c.state !== 'CLOSED'; i++) {
    for (const s of c.drainTransmit(now)) if (s.flags & SYN) times.push(now);
    const d = c.nextDeadline();
    if (d === Infinity) break;
    now = d;
    c.onTimeout(now);
  }
  assert.deepEqual(times, [0, 1000, 3000, 7000]);
  assert.equal(c.state, 'CLOSED');
  assert.equal(c.error?.code, 'ETIMEDOUT');
});

test('in SYN-RECEIVED, a retransmitted SYN makes us resend SYN+ACK', () => {
  const c = newConn();
  c.listen(0);
  c.input(seg(SYN, IRS), 0);
  assert.equal(c.drainTransmit(0)[0]!.flags, SYN | ACK);
  c.input(seg(SYN, IRS), 100);
  const out = c.drainTransmit(100);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.flags, SYN | ACK);
  assert.equal(out[0]!.ack, IRS + 1);
});

test('in SYN-RECEIVED, an ACK outside SND.UNA..SND.NXT → RST <SEQ=SEG.ACK>', () => {
  const c = newConn();
  c.listen(0);
  c.input(seg(SYN, IRS), 0);
  c.drainTransmit(0);
  c.input(seg(ACK, IRS + 1, ISS + 9), 1);
  const out = c.drainTransmit(1);
  assert.equal(out[0]!.flags, RST);
  assert.equal(out[0]!.seq, ISS + 9);
  assert.equal(c.state, 'SYN-RECEIVED');
});

test('options negotiated: MSS, window scale, SACK-permitted and timestamps in SYN and SYN+ACK', () => {
  const cfg = { recvBufferSize: 1 << 20 };
  const a = new TcpConnection({ localPort: 40000, remotePort: 80, iss: 100, config: cfg });
  const b = new TcpConnection({ localPort: 80, remotePort: 40000, iss: 300, config: cfg });
  b.listen(0);
  const p = new Pair(a, b);
  a.connect(0);
  p.run((q) => q.a.state === 'ESTABLISHED' && q.b.state === 'ESTABLISHED');
  const syn = p.log[0]!.seg.options;
  assert.equal(syn.mss, 1460);
  assert.equal(syn.wscale, 5);
  assert.equal(syn.sackPermitted, true);
  assert.ok(syn.tsVal !== undefined);
  const synack = p.log[1]!.seg.options;
  assert.equal(synack.wscale, 5);
  assert.equal(synack.tsEcr, syn.tsVal);
  assert.ok(a.sackOk && a.tsOk && b.sackOk && b.tsOk);
  assert.equal(a.sndShift, 5);
  assert.equal(a.sndMss, 1460 - 12);
});
