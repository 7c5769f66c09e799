/**
 * Retransmissions, duplicate ACKs, out-of-order segments, zero windows and keep-alives (Wireshark's
 * tcp.analysis flags, ../shared/docs/connection-analysis.md §2.2), on a hand-built connection; cross-checked
 * with a live tshark when it is installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { analyzeBytes } from './corpus-helpers.js';
import { Conversation, PcapBuilder } from './synth.js';

function capture(): Uint8Array {
  const pcap = new PcapBuilder();
  const c = new Conversation(pcap, '10.0.0.1:40000', '10.0.0.2:80');
  c.handshake(); // 1-3
  const isn = c.c.isn;
  c.send('c', 'PA', { len: 100 }); // 4: seq 1
  c.send('c', 'PA', { len: 100 }); // 5: seq 101
  c.send('s', 'A', { ack: isn + 101, window: 1000 }); // 6
  c.send('s', 'A', { ack: isn + 101, window: 1000 }); // 7: duplicate ACK 1
  c.send('s', 'A', { ack: isn + 101, window: 1000 }); // 8: duplicate ACK 2
  c.send('c', 'PA', { len: 100, seq: isn + 101, dt: 0.3 }); // 9: retransmission (RTO, long after)
  c.send('s', 'A', { window: 0 }); // 10: zero window
  c.send('c', 'A', { seq: isn + 200, dt: 1 }); // 11: keep-alive (seq = next - 1)
  c.send('s', 'A', { window: 4000, dt: 0.1 }); // 12: window opens
  c.send('c', 'PA', { len: 50, seq: isn + 251, dt: 0.2 }); // 13: leaves a hole (50 bytes not captured)
  c.send('c', 'PA', { len: 50, seq: isn + 201, dt: 0.001 }); // 14: fills it right away: out of order
  c.send('c', 'FA', { seq: isn + 301 }).send('s', 'FA').send('c', 'A');
  return pcap.take();
}

test('sequence analysis counters on a hand-built connection', () => {
  const [r] = analyzeBytes(capture()).reports;
  assert.ok(r);
  assert.deepEqual(
    { retx: r.retransmissions, dup: r.dup_acks, ooo: r.out_of_order, zwin: r.zero_windows, ka: r.keep_alives, lost: r.lost_segments },
    { retx: 1, dup: 2, ooo: 1, zwin: 1, ka: 1, lost: 1 },
  );
  // Zeek: T for the retransmitted payload, W for the zero window.
  assert.match(r.history, /T/);
  assert.match(r.history, /w/);
});

const noTshark: false | string = spawnSync('tshark', ['-v']).status !== 0 && 'tshark not installed (apt-get install tshark)';

test('the same counters as tshark -2 tcp.analysis.* flags', { skip: noTshark }, () => {
  const bytes = capture();
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'synack-seq-')), 'seq.pcap');
  writeFileSync(file, bytes);
  const fields = ['tcp.analysis.retransmission', 'tcp.analysis.duplicate_ack', 'tcp.analysis.out_of_order',
    'tcp.analysis.zero_window', 'tcp.analysis.keep_alive', 'tcp.analysis.lost_segment'];
  const out = spawnSync('tshark', ['-r', file, '-2', '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const counts = fields.map(() => 0);
  for (const line of out.stdout.trimEnd().split('\n')) line.split('\t').forEach((v, i) => { if (v !== '') counts[i]!++; });
  const [r] = analyzeBytes(bytes).reports;
  assert.deepEqual([r!.retransmissions, r!.dup_acks, r!.out_of_order, r!.zero_windows, r!.keep_alives, r!.lost_segments], counts);
});

/**
 * A resent segment 10 ms after the highest one and exactly 20 ms after the last duplicate ACK, in a connection
 * whose handshake took 20 ms, at a 2026 epoch time: TShark (intervals in whole nanoseconds) calls it
 * out-of-order, not a fast retransmission (that needs the ACK *within* 20 ms). Subtracting the two times as
 * seconds-since-1970 doubles gives 0.01999999… and made it a retransmission (found in `synack demo`'s lossy run).
 */
function exactTwentyMs(): Uint8Array {
  const pcap = new PcapBuilder();
  const c = new Conversation(pcap, '10.0.0.1:40001', '10.0.0.2:80', { time: 1767225914.436 });
  const isn = c.c.isn;
  c.send('c', 'S', { dt: 0.02 }).send('s', 'SA', { dt: 0.01 }).send('c', 'A', { dt: 0.01 }); // initial RTT 20 ms
  c.send('c', 'A', { len: 100, dt: 0.01 }); // seq 1 (the receiver will not have it)
  c.send('c', 'A', { len: 100, dt: 0 }); // seq 101
  c.send('s', 'A', { ack: isn + 1, dt: 0.01 }); // duplicates of the SYN+ACK's acknowledgment: 1,
  c.send('s', 'A', { ack: isn + 1, dt: 0 }); // 2,
  c.send('s', 'A', { ack: isn + 1, dt: 0 }); // 3 (the last ACK: 20 ms before the resend)
  c.send('c', 'A', { len: 100, dt: 0.01 }); // seq 201: the highest, 10 ms before the resend
  c.send('c', 'A', { len: 100, seq: isn + 1, dt: 0.01 }); // the resend of seq 1
  return pcap.take();
}

test('intervals are compared as TShark does, in whole units: a segment exactly 20 ms after the last duplicate ACK is out-of-order', () => {
  const [r] = analyzeBytes(exactTwentyMs()).reports;
  assert.deepEqual({ retx: r!.retransmissions, ooo: r!.out_of_order, dup: r!.dup_acks }, { retx: 0, ooo: 1, dup: 3 });
});

test('the exact-20-ms capture: the same counters as tshark', { skip: noTshark }, () => {
  const bytes = exactTwentyMs();
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'synack-seq-')), 'twenty.pcap');
  writeFileSync(file, bytes);
  const fields = ['tcp.analysis.retransmission', 'tcp.analysis.fast_retransmission', 'tcp.analysis.out_of_order', 'tcp.analysis.duplicate_ack'];
  const out = spawnSync('tshark', ['-r', file, '-2', '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const counts = fields.map(() => 0);
  for (const line of out.stdout.trimEnd().split('\n')) line.split('\t').forEach((v, i) => { if (v !== '') counts[i]!++; });
  const [r] = analyzeBytes(bytes).reports;
  assert.deepEqual([r!.retransmissions, 0, r!.out_of_order, r!.dup_acks], counts);
});
