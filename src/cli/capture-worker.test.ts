/**
 * `synack analyze` with the capture read and parsed on a worker thread (forced with
 * SYNACK_CAPTURE_WORKER_MIN_BYTES): the same stdout, stderr and exit code as reading on the analyzing thread,
 * in every format, for unusual records (tunnels, VLAN/MPLS, non-IP, bad checksums, pcapng), several files
 * (frame numbers continue), a truncated capture and a file that is not a capture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { analyzeCommand } from './analyze.js';
import { runCli, type CliRun } from './test-io.js';
import { Conversation, PcapBuilder } from '../analyze/synth.js';
import { shared, sharedMissing } from '../analyze/corpus-helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'synack-capture-worker-'));

function capture(n: number, base: number): Uint8Array {
  const pcap = new PcapBuilder();
  for (let i = 0; i < n; i++) {
    const c = new Conversation(pcap, `10.2.${i >> 8}.${i & 255}:${30000 + i}`, `10.0.0.${1 + (i % 3)}:443`, { time: base + i * 0.01 });
    if (i % 4 === 0) c.send('c', 'S').send('s', 'RA', { seq: 0, ack: c.c.isn + 1 });
    else c.handshake().send('c', 'PA', { len: 50 + i }).send('s', 'A').send('c', 'FA').send('s', 'FA').send('c', 'A');
  }
  return pcap.take();
}

function write(name: string, bytes: Uint8Array): string {
  const p = path.join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

const first = write('first.pcap', capture(9000, 1700000000));
const second = write('second.pcap', capture(500, 1700000200));
const cut = capture(700, 1700000400);
const truncated = write('truncated.pcap', cut.subarray(0, cut.length - 11));
const notCapture = write('notes.txt', new TextEncoder().encode('not a capture at all\n'));

async function run(args: string[], worker: boolean): Promise<CliRun> {
  process.env.SYNACK_CAPTURE_WORKER_MIN_BYTES = worker ? '1' : String(2 ** 52);
  // The JSON worker stays off here so that only the reading differs.
  process.env.SYNACK_JSON_WORKER_MIN_BYTES = String(2 ** 52);
  try {
    const r = await runCli(analyzeCommand, [...args, '--no-progress']);
    // Zeek's header and footer carry the wall-clock time.
    return { ...r, stdout: r.stdout.replace(/^#(open|close)\t.*$/gm, '#$1') };
  } finally {
    delete process.env.SYNACK_CAPTURE_WORKER_MIN_BYTES;
    delete process.env.SYNACK_JSON_WORKER_MIN_BYTES;
  }
}

async function same(args: string[]): Promise<CliRun> {
  const here = await run(args, false);
  const there = await run(args, true);
  assert.deepEqual(there, here, args.join(' '));
  return here;
}

test('several files, every format: the same output; frame numbers continue across files', async () => {
  for (const format of ['json', 'zeek', 'table']) {
    const r = await same([first, second, '--format', format]);
    assert.equal(r.code, 0);
  }
  const r = await same([first, second, '--format', 'json']);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { packets: number; connections: number };
  assert.equal(summary.connections, 9500);
  assert.match(r.stdout, new RegExp(`"last_frame":${summary.packets}[,}]`));
});

test('a truncated capture and a file that is not a capture behave as without the worker', async () => {
  const t = await same([first, truncated, '--format', 'json']);
  assert.equal(t.code, 1);
  assert.match(t.stderr, /truncated\.pcap: pcap: capture truncated/);
  const n = await same([first, notCapture, '--format', 'json']);
  assert.equal(n.code, 2);
  assert.match(n.stderr, /notes\.txt: not a pcap or pcapng capture/);
});

test('unusual records (tunnels, VLAN/MPLS, non-IP, bad checksums, pcapng) give the same output', { skip: sharedMissing }, async () => {
  const traces = path.join(shared, 'pcap-corpus', 'zeek', 'traces');
  const files = ['tunnels/Teredo.pcap', 'mixed-vlan-mpls.pcap', 'wikipedia.pcap', 'cisco-fabric-path.pcap',
    'chksums/localhost-bad-chksum.pcap', 'tcp/ssh-dups.pcap', 'tcp/retransmit-timeout.pcapng', 'pppoe-over-qinq.pcap'].map((f) => path.join(traces, f)).filter((f) => existsSync(f));
  assert.ok(files.length >= 4, `corpus files found: ${files.length}`);
  for (const f of files) {
    await same([f, '--format', 'json']);
    await same([f, '--format', 'json', '--zeek-checksums']);
  }
  // All of them in one run (one worker, frame numbers across files).
  const all = await same([...files, '--format', 'json']);
  assert.equal(all.code, 0);
});
