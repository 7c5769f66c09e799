/**
 * Labels and reasons claim only what the captured packets show (issue 17; issue 18 item 12): a close is
 * four-way/three-way/simultaneous only when its last ACK is captured, a handshake `normal` only with the
 * originator's final ACK, a side that sent nothing has no state, a SYN's data is seen, and every connection
 * gets a reason line saying what happened.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { analyzeBytes } from './corpus-helpers.js';
import { Conversation, PcapBuilder } from './synth.js';
import { toTrace, type ConnectionReport } from './report.js';
import { jsonLine, tableRow, zeekRow } from './format.js';
import { ReportPacker, formatPacked } from './packed-report.js';
import type { Analyzer } from './analyzer.js';

function analyze(script: (pcap: PcapBuilder) => void, keepTrace = false): ReturnType<typeof analyzeBytes> & { bytes: Uint8Array } {
  const pcap = new PcapBuilder();
  script(pcap);
  const bytes = pcap.take();
  return { ...analyzeBytes(bytes, { keepTrace }), bytes };
}

function one(script: (c: Conversation) => void): ConnectionReport {
  const { reports } = analyze((p) => script(new Conversation(p, '10.0.0.1:40000', '10.0.0.2:80')));
  assert.equal(reports.length, 1, reports.map((r) => r.history).join(' | '));
  return reports[0]!;
}

test('four-way close without the last ACK: four-way-no-last-ack, the closing server still in LAST-ACK', () => {
  const r = one((c) => c.handshake().send('c', 'PA', { len: 10 }).send('s', 'A').send('c', 'FA').send('s', 'A').send('s', 'FA'));
  assert.equal(r.close, 'four-way-no-last-ack');
  assert.equal(r.orig_state, 'TIME-WAIT');
  assert.equal(r.resp_state, 'LAST-ACK');
  assert.equal(r.conn_state, 'SF');
  assert.equal(r.reason, 'FINs both ways, server FIN, never acknowledged');
  // The same exchange with the last ACK captured is a four-way close.
  const full = one((c) => c.handshake().send('c', 'PA', { len: 10 }).send('s', 'A').send('c', 'FA').send('s', 'A').send('s', 'FA').send('c', 'A'));
  assert.equal(full.close, 'four-way');
  assert.equal(full.resp_state, 'CLOSED');
  assert.equal(full.reason, 'four-way close, client first');
});

test('three-way and simultaneous closes without their last ACKs say so', () => {
  const three = one((c) => c.handshake().send('c', 'FA').send('s', 'FA'));
  assert.equal(three.close, 'three-way-no-last-ack');
  assert.equal(three.resp_state, 'LAST-ACK');
  const sim = one((c) => {
    c.handshake();
    const sNxt = c.s.nxt;
    const cNxt = c.c.nxt;
    c.send('c', 'FA', { ack: sNxt }).send('s', 'FA', { ack: cNxt }).send('c', 'A');
  });
  assert.equal(sim.close, 'simultaneous-no-last-ack');
  assert.match(sim.reason, /client FIN, never acknowledged/);
  assert.doesNotMatch(sim.reason, /server FIN, never/);
});

test('300 spoofed SYNs answered by SYN-ACKs and never ACKed: no-final-ack, SYN-SENT/SYN-RECEIVED, and a syn-flood', () => {
  const { reports, anomalies } = analyze((p) => {
    for (let i = 0; i < 300; i++) {
      const c = new Conversation(p, `198.51.${i >> 8}.${i & 255}:${1024 + i}`, '10.0.0.2:80', { time: 1700000000 + i * 0.01 });
      c.send('c', 'S').send('s', 'SA');
      c.send('s', 'SA', { seq: c.s.isn, dt: 1 });
    }
  });
  assert.equal(reports.length, 300);
  for (const r of reports) {
    assert.equal(r.handshake, 'no-final-ack');
    assert.equal(r.orig_state, 'SYN-SENT');
    assert.equal(r.resp_state, 'SYN-RECEIVED');
    assert.equal(r.close, 'open');
    assert.match(r.reason, /^SYN-ACK sent 2 times never acknowledged by the client/);
  }
  const flood = anomalies.find((a) => a.kind === 'syn-flood');
  assert.ok(flood, 'the flood is still reported');
  assert.equal(flood.count, 300);
});

test('an unanswered SYN: the unseen responder has no state, in the report and in every ladder entry', () => {
  const { reports, conns } = analyze((p) => {
    const c = new Conversation(p, '10.0.0.1:40000', '10.0.0.2:80');
    c.send('c', 'S').send('c', 'S', { seq: c.c.isn, dt: 1 }).send('c', 'S', { seq: c.c.isn, dt: 2 });
  }, true);
  const r = reports[0]!;
  assert.equal(r.handshake, 'unanswered');
  assert.equal(r.resp_state, null);
  assert.equal(r.zeek.resp_endpoint_state, 'INACTIVE');
  assert.equal(r.reason, 'SYN sent 3 times over 3.0 s, no answer captured');
  assert.deepEqual(toTrace(conns[0]!, r).entries.map((e) => e.stateB), [undefined, undefined, undefined]);
});

test('a SYN carrying data: syn_data counts it, and an unanswered one is still unanswered', () => {
  const r = one((c) => c.send('c', 'S', { len: 100 }));
  assert.equal(r.syn_data, 100);
  assert.equal(r.handshake, 'unanswered');
  assert.equal(r.close, 'unanswered');
  assert.match(r.reason, /client SYN carried 100 bytes of data/);
  const answered = one((c) => c.send('c', 'S', { len: 20 }).send('s', 'SA').send('c', 'A'));
  assert.equal(answered.syn_data, 20);
  assert.equal(answered.handshake, 'normal');
  assert.equal(one((c) => c.handshake()).syn_data, 0);
});

test('the reason for a FIN retransmitted five times and then a RST, as a person would say it', () => {
  const r = one((c) => {
    c.handshake().send('c', 'PA', { len: 10 }).send('s', 'A').send('c', 'FA');
    const finSeq = c.c.nxt - 1;
    for (const dt of [1, 2, 4, 8, 16]) c.send('c', 'FA', { seq: finSeq, dt });
    c.send('c', 'R', { seq: c.c.nxt, dt: 85 - 31 - 0.005 });
  });
  assert.equal(r.close, 'rst-by-originator');
  assert.equal(r.retransmissions, 5);
  assert.equal(r.reason, 'client FIN retransmitted 5 times, never acknowledged; RST from the client after 85 s');
});

test('the reason is in every output: JSON, the table, Zeek TSV (its own column, last) and the ladder title', () => {
  const { reports, conns } = analyze((p) => new Conversation(p, '10.0.0.1:40000', '10.0.0.2:80').handshake().send('c', 'FA').send('s', 'FA'), true);
  const r = reports[0]!;
  assert.equal((JSON.parse(jsonLine(r)) as ConnectionReport).reason, r.reason);
  assert.ok(tableRow(r).includes(r.reason));
  assert.equal(zeekRow(r, r.reason).trimEnd().split('\t').at(-1), r.reason);
  assert.ok(toTrace(conns[0]!, r).title!.includes(r.reason));
});

test('packed reports (the JSON worker) carry the same reason and syn_data as toReport', () => {
  const packer = new ReportPacker(64);
  const expected: string[] = [];
  const pcap = new PcapBuilder();
  const c1 = new Conversation(pcap, '10.0.0.1:40000', '10.0.0.2:80');
  c1.handshake().send('c', 'FA').send('s', 'FA');
  const c2 = new Conversation(pcap, '10.0.0.1:40001', '10.0.0.2:80');
  c2.send('c', 'S', { len: 7 }).send('s', 'SA');
  const bytes = pcap.take();
  let analyzer: Analyzer | null = null;
  ({ analyzer } = analyzeBytes(bytes, {
    onFinished: (conn, facts, rep) => {
      if (rep === null) packer.add(conn, facts);
      else packer.addLine(jsonLine(rep));
    },
    onConnection: undefined,
  }));
  for (const r of analyzeBytes(bytes).reports) expected.push(jsonLine(r));
  assert.ok(analyzer);
  assert.equal(formatPacked(packer.take()!), expected.join(''));
});

const noTshark: false | string = spawnSync('tshark', ['-v']).status !== 0 && 'tshark not installed';

test('SYN retries split by Zeek\'s attempt timer: every piece has the completeness tshark gives the stream', { skip: noTshark }, () => {
  const { reports, bytes } = analyze((p) => {
    const c = new Conversation(p, '10.0.0.1:40000', '10.0.0.2:80');
    c.send('c', 'S');
    for (const dt of [1, 2, 4, 8]) c.send('c', 'S', { seq: c.c.isn, dt });
  });
  assert.ok(reports.length >= 2, `Zeek's 5 s attempt timer splits the retries (${reports.length} pieces)`);
  const dir = mkdtempSync(path.join(tmpdir(), 'synack-split-'));
  try {
    const file = path.join(dir, 'retries.pcap');
    writeFileSync(file, bytes);
    const out = spawnSync('tshark', ['-r', file, '-2', '-T', 'fields', '-e', 'tcp.completeness'], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const theirs = new Set(out.stdout.trim().split('\n').map(Number));
    assert.equal(theirs.size, 1, 'one TShark stream');
    for (const r of reports) assert.equal(r.completeness, [...theirs][0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no SYN-ACK captured: a one-sided capture of the client, and a server that answers a SYN with a bare ACK', () => {
  const oneSided = one((c) => c.send('c', 'S').send('c', 'A', { ack: 5001 }).send('c', 'PA', { len: 10, ack: 5001 }));
  assert.equal(oneSided.handshake, 'no-syn-ack');
  assert.equal(oneSided.resp_state, null);
  assert.match(oneSided.reason, /one-sided capture/);
  const bareAck = one((c) => c.send('c', 'S').send('s', 'A', { ack: 1001 }));
  assert.equal(bareAck.handshake, 'no-syn-ack');
  assert.match(bareAck.reason, /^the server answered the SYN without a SYN-ACK/);
});
