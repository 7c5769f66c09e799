/**
 * `synack analyze` on gzip-compressed captures (read streaming, from a file or standard input, as tshark reads
 * them) and on captures whose headers a strict reader refuses (read anyway, with a warning on stderr and in the
 * JSON summary: never silently).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { analyzeCommand } from './analyze.js';
import { runCli, type CliRun } from './test-io.js';
import { Conversation, PcapBuilder } from '../analyze/synth.js';

const dir = mkdtempSync(path.join(tmpdir(), 'synack-analyze-gz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function capture(n: number): Uint8Array {
  const pcap = new PcapBuilder();
  for (let i = 0; i < n; i++) {
    const c = new Conversation(pcap, `10.0.${i >> 8}.${i & 255}:${40000 + (i % 1000)}`, '10.9.9.9:80', { time: 1700000000 + i * 0.01 });
    c.handshake().send('c', 'PA', { len: 100 }).send('s', 'PA', { len: 1000 }).send('c', 'FA').send('s', 'FA').send('c', 'A');
  }
  return pcap.take();
}

function write(name: string, bytes: Uint8Array): string {
  const p = path.join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

async function run(args: string[], stdin?: Uint8Array): Promise<CliRun> {
  return runCli(analyzeCommand, args, { stdin: Readable.from(stdin ? [Buffer.from(stdin)] : []) });
}

/** JSON lines without the summary's `files` (which names the file). */
function lines(out: string): unknown[] {
  return out.trim().split('\n').map((l) => {
    const o = JSON.parse(l) as Record<string, unknown>;
    if (o.type === 'summary') delete o.files;
    return o;
  });
}

test('a gzip-compressed capture (file or stdin) gives exactly the output of the uncompressed one', async () => {
  const raw = capture(300);
  const gz = gzipSync(raw);
  assert.ok(gz.length < raw.length / 3);
  const plain = await run([write('c.pcap', raw), '--format', 'json']);
  const fromFile = await run([write('c.pcap.gz', gz), '--format', 'json']);
  const fromStdin = await run(['-', '--format', 'json'], gz);
  assert.equal(plain.code, 0);
  assert.equal(fromFile.code, 0, fromFile.stderr);
  assert.equal(fromStdin.code, 0, fromStdin.stderr);
  assert.equal(lines(plain.stdout).length, 301);
  assert.deepEqual(lines(fromFile.stdout), lines(plain.stdout));
  assert.deepEqual(lines(fromStdin.stdout), lines(plain.stdout));
});

test('a big gzip-compressed capture is read streaming even when the capture worker would be used', async () => {
  const raw = capture(3000);
  const file = write('big.pcap.gz', gzipSync(raw));
  const before = process.env.SYNACK_CAPTURE_WORKER_MIN_BYTES;
  process.env.SYNACK_CAPTURE_WORKER_MIN_BYTES = '1';
  try {
    const r = await run([file, '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = lines(r.stdout).at(-1) as { connections: number; packets: number };
    assert.equal(summary.connections, 3000);
    assert.equal(summary.packets, 3000 * 8);
  } finally {
    if (before === undefined) delete process.env.SYNACK_CAPTURE_WORKER_MIN_BYTES;
    else process.env.SYNACK_CAPTURE_WORKER_MIN_BYTES = before;
  }
});

test('a cut-short gzip file: the connections read so far, then the error (exit 1)', async () => {
  const gz = gzipSync(capture(200));
  const r = await run([write('cut.pcap.gz', gz.subarray(0, Math.floor(gz.length * 0.6))), '--format', 'json']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /gzip/);
  const out = lines(r.stdout);
  assert.ok(out.length > 10, 'connections before the damage are printed');
  assert.match(String((out.at(-1) as { error: string }).error), /gzip/);
});

const noTshark: false | string = spawnSync('tshark', ['-v']).status !== 0 && 'tshark not installed';

test('tshark reads the same gzip-compressed file: the same number of TCP conversations', { skip: noTshark }, async () => {
  const file = write('t.pcap.gz', gzipSync(capture(50)));
  const t = spawnSync('tshark', ['-r', file, '-q', '-z', 'conv,tcp'], { encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
  const theirs = t.stdout.split('\n').filter((l) => /<->/.test(l)).length;
  const r = await run([file, '--format', 'json']);
  assert.equal((lines(r.stdout).at(-1) as { connections: number }).connections, theirs);
});

test('pcap header with a wrong version and reserved fields set: analysed, with warnings on stderr and in the summary', async () => {
  const raw = capture(3);
  const bad = raw.slice();
  bad[4] = 3; // major version 3 (little-endian u16 at 4)
  bad[8] = 1; // thiszone (Reserved1) not zero
  const r = await run([write('badhdr.pcap', bad), '--format', 'json']);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /warning: .*badhdr\.pcap: pcap header: version 3\.4/);
  assert.match(r.stderr, /reserved fields/);
  const summary = lines(r.stdout).at(-1) as { connections: number; warnings: string[] };
  assert.equal(summary.connections, 3);
  assert.equal(summary.warnings.length, 2);
  // A clean header: no warning at all.
  const ok = await run([write('good.pcap', raw), '--format', 'json']);
  assert.equal(ok.stderr, '');
  assert.deepEqual((lines(ok.stdout).at(-1) as { warnings: string[] }).warnings, []);
});
