import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { analyzeCommand } from './analyze.js';
import { runCli, type CliRun } from './test-io.js';
import { Conversation, PcapBuilder } from '../analyze/synth.js';

const dir = mkdtempSync(path.join(tmpdir(), 'synack-analyze-'));

async function run(args: string[], stdinBytes?: Uint8Array, ttyStderr = false): Promise<CliRun> {
  return runCli(analyzeCommand, args, { stdin: Readable.from(stdinBytes ? [Buffer.from(stdinBytes)] : []), ttyStderr });
}

/** Three connections: a four-way close, a refused SYN, an open one with data. */
function sample(): Uint8Array {
  const pcap = new PcapBuilder();
  const a = new Conversation(pcap, '10.0.0.1:40000', '10.0.0.2:80');
  a.handshake().send('c', 'PA', { len: 100 }).send('s', 'A').send('c', 'FA').send('s', 'A').send('s', 'FA').send('c', 'A');
  const b = new Conversation(pcap, '10.0.0.1:40001', '10.0.0.2:81', { time: a.time + 0.1 });
  b.send('c', 'S').send('s', 'RA', { seq: 0, ack: b.c.isn + 1 });
  const c = new Conversation(pcap, '10.0.0.3:50000', '10.0.0.2:443', { time: b.time + 0.1 });
  c.handshake().send('c', 'PA', { len: 10 }).send('s', 'PA', { len: 20 });
  return pcap.take();
}

function file(name: string, bytes: Uint8Array): string {
  const p = path.join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

const samplePath = file('sample.pcap', sample());

test('json: one object per connection with the documented fields, anomalies, then one summary last', async () => {
  const r = await run([samplePath, '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const conns = lines.filter((l) => l.type === 'connection');
  assert.equal(conns.length, 3);
  for (const k of ['ts', 'duration', 'orig_h', 'orig_p', 'resp_h', 'resp_p', 'handshake', 'close', 'half_close_data',
    'orig_state', 'resp_state', 'conn_state', 'history', 'completeness', 'orig_pkts', 'resp_pkts', 'orig_bytes',
    'resp_bytes', 'anomalies']) {
    for (const c of conns) assert.ok(k in c, `field ${k}`);
  }
  assert.deepEqual(conns.map((c) => [c.orig_p, c.close, c.conn_state]), [[40000, 'four-way', 'SF'], [40001, 'refused', 'REJ'], [50000, 'open', 'S1']]);
  assert.equal(lines.at(-1)!.type, 'summary');
  assert.deepEqual((lines.at(-1) as { by_close: unknown }).by_close, { 'four-way': 1, refused: 1, open: 1 });
});

test('table: a row per connection and the summary by close kind', async () => {
  const r = await run([samplePath]);
  assert.equal(r.code, 0);
  const lines = r.stdout.split('\n');
  assert.match(lines[0]!, /^#\s+originator\s+responder\s+handshake\s+close/);
  assert.match(r.stdout, /10\.0\.0\.1:40000\s+10\.0\.0\.2:80\s+normal\s+four-way\s+TIME-WAIT\/CLOSED\s+SF/);
  assert.match(r.stdout, /3 connections, 16 packets/);
  assert.match(r.stdout, /close:\s+.*four-way 1/);
});

test('zeek: conn.log TSV with Zeek\'s header lines and field order', async () => {
  const r = await run([samplePath, '--format', 'zeek']);
  assert.equal(r.code, 0);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], '#separator \\x09');
  assert.equal(lines[4], '#path\tconn');
  // Zeek's columns exactly, then synack's one extra column (the reason line) after them.
  assert.equal(lines[6], '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto\tsynack_reason');
  assert.equal(lines[7]!.split('\t').length, lines[6]!.split('\t').length, '#types names every column');
  const rows = lines.filter((l) => !l.startsWith('#')).map((l) => l.split('\t'));
  assert.equal(rows.length, 3);
  assert.deepEqual(rows[0]!.slice(2, 7), ['10.0.0.1', '40000', '10.0.0.2', '80', 'tcp']);
  assert.equal(rows[0]![11], 'SF');
  assert.equal(rows[0]![15], 'ShADaFf');
  assert.equal(rows[0]![9], '100');
  assert.ok(rows.every((row) => row.length === 23), 'every row has every column');
  assert.equal(rows[0]![22], 'four-way close, client first');
  assert.match(lines.at(-1)!, /^#close\t/);
});

test('ladder: the terminal ladder of each connection with both endpoints\' states', async () => {
  const r = await run([samplePath, '--format', 'ladder', '--filter', 'close == four-way']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /10\.0\.0\.1:40000 → 10\.0\.0\.2:80/);
  for (const s of ['SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'CLOSE-WAIT', 'FIN-WAIT-2', 'LAST-ACK', 'TIME-WAIT']) {
    assert.ok(r.stdout.includes(s), s);
  }
  assert.doesNotMatch(r.stdout, /:443/);
});

test('--filter selects connections; a bad expression is a usage error', async () => {
  const r = await run([samplePath, '--format', 'json', '--filter', 'port 443 or conn_state == REJ']);
  const conns = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; orig_p?: number }).filter((l) => l.type === 'connection');
  assert.deepEqual(conns.map((c) => c.orig_p), [40001, 50000]);
  const bad = await run([samplePath, '--filter', 'close ==']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /filter: expected a value/);
});

test('- reads the capture from standard input', async () => {
  const r = await run(['-', '--format', 'json'], sample());
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim().split('\n').filter((l) => l.includes('"type":"connection"')).length, 3);
});

test('a truncated capture: every connection so far, then an error naming the byte offset; exit 1', async () => {
  const bytes = sample();
  const cut = file('cut.pcap', bytes.subarray(0, bytes.length - 30));
  const r = await run([cut, '--format', 'json']);
  assert.equal(r.code, 1);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.filter((l) => l.type === 'connection').length, 3);
  const summary = lines.at(-1)!;
  assert.match(String(summary.error), /truncated.*at byte \d+/);
  assert.match(r.stderr, /error: .*cut\.pcap: .*capture truncated: pcap record 16 at byte \d+/);
});

test('a file that is not a capture is refused with a clear message, nothing on stdout, exit 2', async () => {
  const notcap = file('notes.txt', new TextEncoder().encode('hello, this is text\n'));
  const r = await run([notcap, '--format', 'zeek']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /notes\.txt: not a pcap or pcapng capture .*refusing/);
  const missing = await run([path.join(dir, 'nope.pcap')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope\.pcap: no such file/);
});

test('undecodable packets are counted as malformed and skipped, never fatal', async () => {
  const pcap = new PcapBuilder();
  const c = new Conversation(pcap, '10.0.0.1:40000', '10.0.0.2:80');
  c.handshake();
  pcap.add(c.time + 0.001, Uint8Array.from([0x43, 0, 0, 20])); // IPv4 with IHL 3
  pcap.add(c.time + 0.002, Uint8Array.from([0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6])); // header cut short
  pcap.add(c.time + 0.003, Uint8Array.from([0x70, 1, 2, 3])); // IP version 7
  c.time += 0.01;
  c.send('c', 'FA').send('s', 'FA').send('c', 'A');
  const r = await run([file('malformed.pcap', pcap.take()), '--format', 'json']);
  assert.equal(r.code, 0);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const summary = lines.at(-1)! as { malformed_packets: number; packets: number };
  assert.equal(summary.malformed_packets, 3);
  assert.equal(summary.packets, 9);
  const conn = lines.find((l) => l.type === 'connection')!;
  assert.equal(conn.close, 'three-way');
  assert.match(r.stderr, /3 malformed packet\(s\) skipped \(first: frame 4/);
});

test('several files are read as one capture in order', async () => {
  const r = await run([samplePath, samplePath, '--format', 'json']);
  assert.equal(r.code, 0);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { packets: number; files: string[] };
  assert.equal(summary.packets, 32);
  assert.equal(summary.files.length, 2);
});

test('usage errors exit 2', async () => {
  assert.equal((await run([])).code, 2);
  assert.equal((await run([samplePath, '--format', 'xml'])).code, 2);
});

test('a progress bar on stderr when stderr is a terminal and the input is large; never otherwise', async () => {
  process.env.SYNACK_PROGRESS_MIN_BYTES = '100';
  try {
    const tty = await run([samplePath, '--format', 'json'], undefined, true);
    assert.equal(tty.code, 0);
    assert.match(tty.stderr, /analyzing \[.*\] 100% .*16 packets/);
    const pipe = await run([samplePath, '--format', 'json']);
    assert.equal(pipe.stderr, '');
    const off = await run([samplePath, '--format', 'json', '--no-progress'], undefined, true);
    assert.doesNotMatch(off.stderr, /analyzing/);
  } finally {
    delete process.env.SYNACK_PROGRESS_MIN_BYTES;
  }
});

test('when the reader of the output goes away (EPIPE), the run stops quietly', async () => {
  const pcap = new PcapBuilder();
  for (let i = 0; i < 1500; i++) {
    new Conversation(pcap, `10.1.${i >> 8}.${i & 255}:${20000 + i}`, '10.0.0.2:80', { time: 1700000000 + i * 0.01 })
      .handshake().send('c', 'FA').send('s', 'FA').send('c', 'A');
  }
  const many = file('many.pcap', pcap.take());
  let writes = 0;
  const stdout = new Writable({
    write(_chunk, _enc, cb): void {
      writes++;
      if (writes >= 2) {
        const e = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
        cb(e);
      } else cb();
    },
  });
  const { code, stderr } = await runCli(analyzeCommand, [many, '--format', 'json'], { stdout });
  assert.equal(code, 0);
  assert.equal(stderr, '');
  assert.ok(writes >= 2 && writes < 40, `stopped writing early (${writes} writes)`);
});
