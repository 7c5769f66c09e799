/**
 * Cross-connection findings on synthetic captures (no public capture has trusted expected output for these:
 * ../shared/pcap-corpus/README.md "Known gaps").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeBytes } from './corpus-helpers.js';
import { Conversation, PcapBuilder } from './synth.js';
import { scanKindOf } from './anomalies.js';
import { FIN, PSH, SYN, URG, ACK, RST } from '../wire/tcp-types.js';

test('invalid flag combinations are reported with their packet numbers, per combination', () => {
  const pcap = new PcapBuilder();
  const c = new Conversation(pcap, '10.0.0.1:40000', '10.0.0.2:80');
  c.handshake(); // frames 1-3
  c.send('c', 'SF'); // 4: SYN+FIN
  c.send('c', 'SR'); // 5: SYN+RST
  c.send('c', 'FR'); // 6: FIN+RST
  c.send('c', 0); // 7: NULL
  c.send('c', 'F'); // 8: FIN without ACK
  c.send('c', 'FPU'); // 9: Xmas
  const { reports, anomalies } = analyzeBytes(pcap.take());
  const inv = anomalies.filter((a) => a.kind === 'invalid-flags').map((a) => [a.flags, a.frames]);
  assert.deepEqual(inv.sort(), [
    ['FIN+RST', [6]], ['FIN-without-ACK', [8]], ['NULL', [7]], ['SYN+FIN', [4]], ['SYN+RST', [5]], ['Xmas', [9]],
  ]);
  // The receiver drops every one of them (RFC 9293 §3.10.7), so synack keeps one connection: still open, both
  // endpoints ESTABLISHED, no split; the anomalies carry the packet numbers.
  assert.equal(reports.length, 1);
  const r = reports[0]!;
  assert.deepEqual([r.handshake, r.close, r.orig_state, r.resp_state, r.split], ['normal', 'open', 'ESTABLISHED', 'ESTABLISHED', null]);
  assert.deepEqual(r.anomalies.map((a) => [a.detail, a.frames]), [
    ['SYN+FIN', [4]], ['SYN+RST', [5]], ['FIN+RST', [6]], ['NULL', [7]], ['FIN-without-ACK', [8]], ['Xmas', [9]],
  ]);
  // Zeek's own rules still split the tuple, in its rows only: the SYN+FIN carries a new ISN on an open tuple,
  // the SYN+RST is a SYN after that connection's FIN. Zeek's letters: Q for SYN+FIN/SYN+RST, I for FIN+RST,
  // F for FIN and Xmas, nothing for NULL (§1.7).
  assert.deepEqual([r.conn_state, r.history], ['S1', 'ShA']);
  assert.deepEqual(r.zeek_splits.map((z) => [z.history, z.split, z.first_frame]), [
    ['Q', 'active-connection-reuse', 4],
    ['QIFF', 'premature-connection-reuse', 5],
  ]);
});

test('invalid flag combinations change no endpoint state: a FIN+RST, a FIN without ACK and a NULL do not close', () => {
  const pcap = new PcapBuilder();
  const c = new Conversation(pcap, '10.0.0.1:40000', '10.0.0.2:80');
  c.handshake().send('c', 'PA', { len: 10 }).send('s', 'A');
  c.send('s', 'FR', { noAdvance: true }); // 6: FIN+RST from the responder: would be rst-by-responder
  c.send('c', 'F', { noAdvance: true }); // 7: FIN without ACK: would be a half-close
  c.send('s', 0, { noAdvance: true }); // 8: NULL
  c.send('c', 'FA').send('s', 'FA').send('c', 'A'); // the real close
  const { reports } = analyzeBytes(pcap.take());
  assert.equal(reports.length, 1);
  const r = reports[0]!;
  assert.deepEqual([r.handshake, r.close, r.orig_state, r.resp_state], ['normal', 'three-way', 'TIME-WAIT', 'CLOSED']);
  assert.deepEqual(r.anomalies.map((a) => [a.detail, a.frames]), [['FIN+RST', [6]], ['FIN-without-ACK', [7]], ['NULL', [8]]]);
  // Zeek, processing them, sees the FIN+RST as a reset (history I and r).
  assert.match(r.history, /i/);
  assert.deepEqual(r.zeek_splits, []);
  // Only invalid packets: no endpoint state can be inferred at all.
  const p2 = new PcapBuilder();
  new Conversation(p2, '10.0.0.1:40001', '10.0.0.2:81').send('c', 0).send('c', 'FPU');
  const only = analyzeBytes(p2.take()).reports;
  assert.equal(only.length, 1);
  assert.deepEqual([only[0]!.orig_state, only[0]!.resp_state, only[0]!.close], [null, null, 'open']);
});

test('the scan-probe classifier: NULL, FIN-only and Xmas without ACK; nothing else', () => {
  assert.equal(scanKindOf(0), 'null-scan');
  assert.equal(scanKindOf(FIN), 'fin-scan');
  assert.equal(scanKindOf(FIN | PSH | URG), 'xmas-scan');
  assert.equal(scanKindOf(FIN | ACK), null);
  assert.equal(scanKindOf(SYN), null);
  assert.equal(scanKindOf(RST), null);
});

function scan(flags: string, ports: number, answer: 'rst' | 'synack' | 'none'): Uint8Array {
  const pcap = new PcapBuilder();
  for (let p = 0; p < ports; p++) {
    const c = new Conversation(pcap, '192.0.2.66:55555', `10.0.0.5:${1000 + p}`, { time: 1700000000 + p * 0.01 });
    c.send('c', flags);
    if (answer === 'rst') c.send('s', 'RA', { seq: 0, ack: c.c.isn + 1 });
    if (answer === 'synack') c.send('s', 'SA').send('c', 'R');
  }
  return pcap.take();
}

test('SYN scan: one source, SYNs to many ports of one host, refused or half-open', () => {
  for (const answer of ['rst', 'synack', 'none'] as const) {
    const { anomalies } = analyzeBytes(scan('S', 25, answer));
    const s = anomalies.filter((a) => a.kind === 'syn-scan');
    assert.equal(s.length, 1, `answer ${answer}`);
    assert.equal(s[0]!.src, '192.0.2.66');
    assert.equal(s[0]!.dst, '10.0.0.5');
    assert.equal(s[0]!.ports, 25);
    assert.equal(s[0]!.frames[0], 1);
  }
});

test('NULL, FIN and Xmas scans are recognised; a few probes are not a scan', () => {
  for (const [flags, kind] of [['0', 'null-scan'], ['F', 'fin-scan'], ['FPU', 'xmas-scan']] as const) {
    const { anomalies } = analyzeBytes(scan(flags, 15, 'rst'));
    const s = anomalies.filter((a) => a.kind === kind);
    assert.equal(s.length, 1, kind);
    assert.equal(s[0]!.ports, 15);
    assert.equal(s[0]!.count, 15);
  }
  const few = analyzeBytes(scan('S', 4, 'rst')).anomalies;
  assert.equal(few.filter((a) => a.kind === 'syn-scan').length, 0);
});

test('SYN flood: many unanswered SYNs to one service from many sources, fast', () => {
  const pcap = new PcapBuilder();
  for (let i = 0; i < 400; i++) {
    const src = `198.51.100.${1 + (i % 200)}:${10000 + i}`;
    const c = new Conversation(pcap, src, '10.0.0.9:443', { time: 1700000000 + i * 0.002 });
    c.send('c', 'S');
  }
  // legitimate traffic to the same service in between
  const ok = new Conversation(pcap, '10.1.1.1:40000', '10.0.0.9:443', { time: 1700000000.5 });
  ok.handshake().send('c', 'FA').send('s', 'FA').send('c', 'A');
  const { anomalies } = analyzeBytes(pcap.take());
  const f = anomalies.filter((a) => a.kind === 'syn-flood');
  assert.equal(f.length, 1);
  assert.equal(f[0]!.dst, '10.0.0.9');
  assert.equal(f[0]!.dst_port, 443);
  assert.equal(f[0]!.count, 400);
  assert.equal(f[0]!.sources, 200);
  assert.ok(f[0]!.rate! >= 400);
});

test('the same number of failed SYNs spread over an hour is not a flood', () => {
  const pcap = new PcapBuilder();
  for (let i = 0; i < 150; i++) {
    new Conversation(pcap, `198.51.100.${1 + (i % 50)}:${10000 + i}`, '10.0.0.9:443', { time: 1700000000 + i * 30 }).send('c', 'S');
  }
  assert.equal(analyzeBytes(pcap.take()).anomalies.filter((a) => a.kind === 'syn-flood').length, 0);
});

test('IPv4 fragments are reassembled: the datagram is analysed once, at the fragment that completed it, and flagged', async () => {
  const { encodeTcpPacket } = await import('../wire/packet.js');
  const { onesComplementSum, finishChecksum } = await import('../wire/checksum.js');
  const { makeSegment, ACK: A, PSH: P } = await import('../wire/tcp-types.js');
  const pcap = new PcapBuilder();
  const c = new Conversation(pcap, '10.0.0.1:40000', '10.0.0.2:80');
  c.handshake();
  const whole = encodeTcpPacket({ src: c.c.addr, dst: c.s.addr, df: false },
    makeSegment({ srcPort: 40000, dstPort: 80, seq: c.c.nxt, ack: c.s.nxt, flags: A | P, window: 1000, payload: new Uint8Array(64) }));
  const fix = (p: Uint8Array): Uint8Array => { p[10] = 0; p[11] = 0; const s = finishChecksum(onesComplementSum(p, 0, 20)); p[10] = s >> 8; p[11] = s & 0xff; return p; };
  // first fragment: IP header + 40 bytes (TCP header + 20 payload bytes), MF set
  const f1 = whole.slice(0, 60);
  f1[2] = 0; f1[3] = 60; f1[6] = 0x20; f1[7] = 0;
  // second fragment: the remaining 44 bytes at offset 40 (5 × 8)
  const f2 = new Uint8Array(20 + 44);
  f2.set(whole.subarray(0, 20));
  f2.set(whole.subarray(60), 20);
  f2[2] = 0; f2[3] = 64; f2[6] = 0; f2[7] = 5;
  pcap.add(c.time + 0.001, fix(f1));
  pcap.add(c.time + 0.002, fix(f2));
  const { reports, analyzer } = analyzeBytes(pcap.take());
  assert.equal(analyzer.stats.fragments, 2);
  assert.equal(analyzer.stats.reassembled, 1);
  assert.equal(reports.length, 1);
  assert.deepEqual(reports[0]!.anomalies.map((a) => [a.kind, a.frames]), [['ip-fragment', [5]]]);
  assert.equal(reports[0]!.orig_pkts, 3);
  assert.equal(reports[0]!.orig_bytes, 64, 'the whole payload, from both fragments');
  assert.equal(reports[0]!.bad_checksums, 0, 'the reassembled segment\'s checksum verifies');
});
