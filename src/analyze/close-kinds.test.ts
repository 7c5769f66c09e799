/**
 * Every close and handshake variant of ../shared/docs/connection-analysis.md §5, on hand-built captures:
 * the label, Zeek's conn_state, Wireshark's completeness and both endpoints' final RFC 9293 states.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeBytes } from './corpus-helpers.js';
import { Conversation, PcapBuilder } from './synth.js';
import { toTrace, type ConnectionReport } from './report.js';

function run(script: (c: Conversation) => void, opts: { client?: string; server?: string } = {}): ConnectionReport[] {
  const pcap = new PcapBuilder();
  const conv = new Conversation(pcap, opts.client ?? '10.0.0.1:40000', opts.server ?? '10.0.0.2:80');
  script(conv);
  return analyzeBytes(pcap.take()).reports;
}

function one(script: (c: Conversation) => void, opts?: { client?: string; server?: string }): ConnectionReport {
  const reps = run(script, opts);
  assert.equal(reps.length, 1, `one connection, got ${reps.map((r) => r.history).join(' | ')}`);
  return reps[0]!;
}

function pick(r: ConnectionReport): Record<string, unknown> {
  return {
    handshake: r.handshake, close: r.close, conn_state: r.conn_state, completeness: r.completeness,
    orig_state: r.orig_state, resp_state: r.resp_state, half_close_data: r.half_close_data,
  };
}

test('four-way close: the responder ACKs the FIN on its own, sends more data, then its FIN', () => {
  const r = one((c) => {
    c.handshake().send('c', 'PA', { len: 100 }).send('s', 'A')
      .send('c', 'FA').send('s', 'A').send('s', 'PA', { len: 50 }).send('c', 'A')
      .send('s', 'FA').send('c', 'A');
  });
  assert.deepEqual(pick(r), {
    handshake: 'normal', close: 'four-way', conn_state: 'SF', completeness: 31,
    orig_state: 'TIME-WAIT', resp_state: 'CLOSED', half_close_data: true,
  });
  assert.equal(r.history, 'ShADaFdf');
  assert.equal(r.orig_bytes, 100);
  assert.equal(r.resp_bytes, 50);
});

test('three-way close: the responder\'s FIN+ACK is its first segment acknowledging the FIN', () => {
  const r = one((c) => {
    c.handshake().send('c', 'PA', { len: 10 }).send('s', 'PA', { len: 20 })
      .send('c', 'FA').send('s', 'FA').send('c', 'A');
  });
  assert.deepEqual(pick(r), {
    handshake: 'normal', close: 'three-way', conn_state: 'SF', completeness: 31,
    orig_state: 'TIME-WAIT', resp_state: 'CLOSED', half_close_data: false,
  });
  assert.equal(r.history, 'ShADdFf');
});

test('responder closes first: the originator ends in LAST-ACK → CLOSED, the responder in TIME-WAIT', () => {
  const r = one((c) => {
    c.handshake().send('c', 'PA', { len: 10 }).send('s', 'PA', { len: 20 })
      .send('s', 'FA').send('c', 'A').send('c', 'FA').send('s', 'A');
  });
  assert.equal(r.close, 'four-way');
  assert.equal(r.orig_state, 'CLOSED');
  assert.equal(r.resp_state, 'TIME-WAIT');
  assert.equal(r.conn_state, 'SF');
});

test('simultaneous close: the FINs cross, neither acknowledges the other, both pass through CLOSING', () => {
  const r = one((c) => {
    c.handshake().send('c', 'PA', { len: 10 }).send('s', 'A');
    const sNxt = c.s.nxt;
    const cNxt = c.c.nxt;
    c.send('c', 'FA', { ack: sNxt }).send('s', 'FA', { ack: cNxt }).send('c', 'A').send('s', 'A');
  });
  assert.deepEqual(pick(r), {
    handshake: 'normal', close: 'simultaneous', conn_state: 'SF', completeness: 31,
    orig_state: 'TIME-WAIT', resp_state: 'TIME-WAIT', half_close_data: false,
  });
});

test('RST abort by the originator after data: RSTO, both CLOSED at once (no TIME-WAIT)', () => {
  const r = one((c) => {
    c.handshake().send('c', 'PA', { len: 10 }).send('s', 'PA', { len: 30 }).send('c', 'RA');
  });
  assert.deepEqual(pick(r), {
    handshake: 'normal', close: 'rst-by-originator', conn_state: 'RSTO', completeness: 47,
    orig_state: 'CLOSED', resp_state: 'CLOSED', half_close_data: false,
  });
});

test('RST abort by the responder, even after the originator\'s FIN', () => {
  const r = one((c) => {
    c.handshake().send('c', 'PA', { len: 10 }).send('s', 'A').send('c', 'FA').send('s', 'RA');
  });
  assert.deepEqual(pick(r), {
    handshake: 'normal', close: 'rst-by-responder', conn_state: 'RSTR', completeness: 63,
    orig_state: 'CLOSED', resp_state: 'CLOSED', half_close_data: false,
  });
});

test('refused: SYN answered by RST+ACK; every retried SYN after a RST is a new connection (Zeek\'s rule)', () => {
  const reps = run((c) => {
    for (let i = 0; i < 3; i++) c.send('c', 'S', { seq: c.c.isn, dt: 1 }).send('s', 'RA', { seq: 0, ack: c.c.isn + 1 });
  });
  assert.equal(reps.length, 3);
  // Wireshark keeps same-ISN retries in one conversation (only the first SYN creates it): TShark gives every
  // frame that conversation's completeness, so the later pieces carry the first piece's bits on.
  assert.deepEqual(reps.map((r) => r.completeness), [37, 37, 37]);
  for (const r of reps) {
    assert.deepEqual({ ...pick(r), completeness: 0 }, {
      handshake: 'refused', close: 'refused', conn_state: 'REJ', completeness: 0,
      orig_state: 'CLOSED', resp_state: 'CLOSED', half_close_data: false,
    });
    assert.equal(r.history, 'Sr');
  }
  assert.deepEqual(reps.map((r) => r.split), [null, 'syn-after-close', 'syn-after-close']);
});

test('half-closed at the end of the capture: originator FIN → S2, responder FIN → S3', () => {
  const a = one((c) => { c.handshake().send('c', 'PA', { len: 5 }).send('c', 'FA').send('s', 'A').send('s', 'PA', { len: 9 }); });
  assert.deepEqual(pick(a), {
    handshake: 'normal', close: 'half-closed', conn_state: 'S2', completeness: 31,
    orig_state: 'FIN-WAIT-2', resp_state: 'CLOSE-WAIT', half_close_data: true,
  });
  const b = one((c) => { c.handshake().send('s', 'PA', { len: 5 }).send('s', 'FA'); });
  assert.equal(b.close, 'half-closed');
  assert.equal(b.conn_state, 'S3');
  assert.equal(b.orig_state, 'CLOSE-WAIT');
  assert.equal(b.resp_state, 'FIN-WAIT-1');
});

test('open: handshake and data, no FIN or RST → S1, both ESTABLISHED', () => {
  const r = one((c) => { c.handshake().send('c', 'PA', { len: 5 }).send('s', 'PA', { len: 7 }); });
  assert.deepEqual(pick(r), {
    handshake: 'normal', close: 'open', conn_state: 'S1', completeness: 15,
    orig_state: 'ESTABLISHED', resp_state: 'ESTABLISHED', half_close_data: false,
  });
});

test('unanswered: only SYNs (a retransmission of the same ISN adds no letter) → S0 "S", completeness 1', () => {
  const r = one((c) => { c.send('c', 'S').send('c', 'S', { seq: c.c.isn, dt: 1 }); });
  assert.deepEqual(pick(r), {
    handshake: 'unanswered', close: 'unanswered', conn_state: 'S0', completeness: 1,
    orig_state: 'SYN-SENT', resp_state: null, half_close_data: false,
  });
  assert.equal(r.history, 'S');
});

test('an unanswered SYN is dropped by Zeek\'s attempt timer after 5 s: a later SYN starts a new connection', () => {
  const reps = run((c) => { c.send('c', 'S').send('c', 'S', { seq: c.c.isn, dt: 6 }); });
  assert.equal(reps.length, 2);
  assert.equal(reps[1]!.split, 'attempt-timeout');
});

test('retried SYN: more than one SYN with the same ISN before the SYN-ACK', () => {
  const r = one((c) => {
    c.send('c', 'S').send('c', 'S', { seq: c.c.isn, dt: 1 }).send('s', 'SA').send('c', 'A').send('c', 'FA').send('s', 'FA').send('c', 'A');
  });
  assert.equal(r.handshake, 'retried-syn');
  assert.equal(r.close, 'three-way');
  assert.equal(r.history, 'ShAFf');
});

test('simultaneous open: crossing SYNs, then SYN-ACKs; both sides SYN-SENT → SYN-RECEIVED → ESTABLISHED', () => {
  const pcap = new PcapBuilder();
  const c = new Conversation(pcap, '10.0.0.1:5000', '10.0.0.2:6000');
  c.send('c', 'S').send('s', 'S');
  c.send('c', 'SA', { seq: c.c.isn }).send('s', 'SA', { seq: c.s.isn });
  c.send('c', 'A').send('s', 'A');
  const { reports, conns } = analyzeBytes(pcap.take(), { keepTrace: true });
  assert.equal(reports.length, 1);
  const r = reports[0]!;
  assert.equal(r.handshake, 'simultaneous-open');
  assert.equal(r.orig_state, 'ESTABLISHED');
  assert.equal(r.resp_state, 'ESTABLISHED');
  const trace = toTrace(conns[0]!, r);
  // States after each packet was sent and received. Nothing shows b before its SYN; that SYN carries no ACK,
  // so it left b before a's SYN arrived: b went SYN-SENT → SYN-RECEIVED too, and each SYN-ACK then
  // establishes its receiver.
  assert.deepEqual(trace.entries.map((e) => [e.stateA, e.stateB]), [
    ['SYN-SENT', undefined],
    ['SYN-RECEIVED', 'SYN-RECEIVED'],
    ['SYN-RECEIVED', 'ESTABLISHED'],
    ['ESTABLISHED', 'ESTABLISHED'],
    ['ESTABLISHED', 'ESTABLISHED'],
    ['ESTABLISHED', 'ESTABLISHED'],
  ]);
  assert.equal(r.conn_state, 'S1');
});

test('midstream: no handshake seen; Zeek\'s port heuristic makes the port-80 side the responder', () => {
  const r = one((c) => { c.send('s', 'PA', { len: 100 }).send('c', 'A').send('c', 'PA', { len: 10 }); });
  assert.equal(r.handshake, 'midstream');
  assert.equal(r.close, 'open');
  assert.equal(r.resp_p, 80);
  assert.equal(r.direction_inferred, true);
  assert.equal(r.history, '^dAD');
  assert.equal(r.conn_state, 'OTH');
});

test('FIN exchange, then a RST instead of the final ACK: still a FIN close (SF), plus the rst-after-close anomaly', () => {
  const r = one((c) => {
    c.handshake().send('c', 'PA', { len: 10 }).send('s', 'A').send('c', 'FA').send('s', 'FA').send('c', 'R');
  });
  // The responder's FIN was never acknowledged: the close is not a complete three-way one.
  assert.equal(r.close, 'three-way-no-last-ack');
  assert.equal(r.conn_state, 'SF');
  assert.deepEqual(r.anomalies.map((a) => a.kind), ['rst-after-close']);
});

test('an out-of-window RST is an anomaly, not a close', () => {
  const r = one((c) => {
    c.handshake().send('c', 'PA', { len: 10 }).send('s', 'A', { window: 1000 })
      .send('c', 'R', { seq: c.c.nxt + 5_000_000 }).send('c', 'PA', { len: 10 });
  });
  assert.equal(r.close, 'open');
  assert.deepEqual(r.anomalies.map((a) => [a.kind, a.frames]), [['out-of-window-rst', [6]]]);
});

test('IPv6 three-way close', () => {
  const r = one((c) => { c.handshake().send('c', 'FA').send('s', 'FA').send('c', 'A'); },
    { client: '[fd00::1]:40000', server: '[fd00::2]:443' });
  assert.equal(r.ip_version, 6);
  assert.equal(r.orig_h, 'fd00::1');
  assert.equal(r.close, 'three-way');
  assert.equal(r.conn_state, 'SF');
  assert.equal(r.completeness, 23);
});

test('ladder trace: endpoint a is the originator, both states after every packet, relative numbering base', () => {
  const pcap = new PcapBuilder();
  const c = new Conversation(pcap, '10.0.0.1:40000', '10.0.0.2:80');
  c.handshake().send('c', 'FA').send('s', 'FA').send('c', 'A');
  const { reports, conns } = analyzeBytes(pcap.take(), { keepTrace: true });
  const trace = toTrace(conns[0]!, reports[0]!);
  assert.equal(trace.a.addr, '10.0.0.1');
  assert.equal(trace.a.isn, 1000);
  assert.equal(trace.b.isn, 5000);
  assert.deepEqual(trace.entries.map((e) => [e.from, e.stateA, e.stateB]), [
    // Nothing shows the responder before its SYN-ACK, and the originator takes that SYN-ACK (SYN-SENT →
    // ESTABLISHED) only when its ACK shows it.
    ['a', 'SYN-SENT', undefined],
    ['b', 'SYN-SENT', 'SYN-RECEIVED'],
    ['a', 'ESTABLISHED', 'ESTABLISHED'],
    ['a', 'FIN-WAIT-1', 'CLOSE-WAIT'],
    ['b', 'TIME-WAIT', 'LAST-ACK'],
    ['a', 'TIME-WAIT', 'CLOSED'],
  ]);
  assert.deepEqual(trace.entries.map((e) => e.frame), [1, 2, 3, 4, 5, 6]);
});

test('bad TCP checksums: counted and analysed by default, dropped with the C letter in Zeek mode', () => {
  const build = (): Uint8Array => {
    const pcap = new PcapBuilder();
    const c = new Conversation(pcap, '10.0.0.1:40000', '10.0.0.2:80');
    c.send('c', 'S', { badChecksum: true }).send('s', 'SA').send('c', 'A').send('c', 'FA').send('s', 'FA').send('c', 'A');
    return pcap.take();
  };
  const counted = analyzeBytes(build()).reports[0]!;
  assert.equal(counted.bad_checksums, 1);
  assert.equal(counted.history, 'ShAFf');
  assert.equal(counted.conn_state, 'SF');
  // Zeek drops the SYN; its SYN-ACK then counts as a new connection (IsReuse: a new ISN on an unclosed tuple),
  // exactly as in ../shared/pcap-corpus/zeek/traces/chksums/localhost-bad-chksum.pcap (C / HcADF).
  const zeek = analyzeBytes(build(), { checksums: 'zeek', likelyServerPorts: new Set() }).reports;
  assert.deepEqual(zeek.map((r) => [r.history, r.conn_state]), [['C', 'OTH'], ['^hAFf', 'SF']]);
});
