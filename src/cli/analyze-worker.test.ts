/**
 * `synack analyze --format json` with the JSON lines formatted on a worker thread (forced here with
 * SYNACK_JSON_WORKER_MIN_BYTES): the same stdout, stderr and exit code as formatting on the analyzing
 * thread, including a truncated capture, a slow reader (backpressure) and a reader that goes away.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { analyzeCommand } from './analyze.js';
import { runCli, type CliRun } from './test-io.js';
import { Conversation, PcapBuilder } from '../analyze/synth.js';

const dir = mkdtempSync(path.join(tmpdir(), 'synack-analyze-worker-'));

/** 3 000 connections (IPv4 and IPv6, several lifecycles): a few batches of JSON lines. */
function capture(): Uint8Array {
  const pcap = new PcapBuilder();
  for (let i = 0; i < 3000; i++) {
    const client = i % 3 === 0 ? `[2001:db8::${(i + 1).toString(16)}]:${20000 + i}` : `10.1.${i >> 8}.${i & 255}:${20000 + i}`;
    const server = i % 3 === 0 ? '[2001:db8::ffff]:443' : '10.0.0.2:80';
    const c = new Conversation(pcap, client, server, { time: 1700000000 + i * 0.01 });
    if (i % 5 === 0) c.send('c', 'S').send('s', 'RA', { seq: 0, ack: c.c.isn + 1 });
    else if (i % 7 === 0) c.handshake().send('c', 'PA', { len: 20 }).send('s', 'RA');
    else c.handshake().send('c', 'PA', { len: 100 }).send('s', 'A').send('c', 'FA').send('s', 'FA').send('c', 'A');
  }
  return pcap.take();
}

const whole = capture();
const full = path.join(dir, 'many.pcap');
writeFileSync(full, whole);
const truncated = path.join(dir, 'truncated.pcap');
writeFileSync(truncated, whole.subarray(0, whole.length - 30));

async function run(args: string[], worker: boolean, stdout: Writable = new PassThrough()): Promise<CliRun> {
  if (worker) process.env.SYNACK_JSON_WORKER_MIN_BYTES = '1';
  else process.env.SYNACK_JSON_WORKER_MIN_BYTES = String(2 ** 52);
  try {
    return await runCli(analyzeCommand, args, { stdout });
  } finally {
    delete process.env.SYNACK_JSON_WORKER_MIN_BYTES;
  }
}

test('the worker gives the same JSON lines, in the same order, as the analyzing thread', async () => {
  const here = await run([full, '--format', 'json'], false);
  const there = await run([full, '--format', 'json'], true);
  assert.equal(here.code, 0);
  assert.equal(here.stdout.split('\n').length, 3000 + 2, 'every connection and the summary');
  assert.deepEqual(there, here);
});

test('a truncated capture: every connection so far, then the error, exit 1, with the worker too', async () => {
  const here = await run([truncated, '--format', 'json'], false);
  const there = await run([truncated, '--format', 'json'], true);
  assert.equal(here.code, 1);
  assert.match(here.stderr, /capture truncated/);
  assert.match(here.stdout.trim().split('\n').at(-1)!, /"error":".*capture truncated/);
  assert.deepEqual(there, here);
});

test('a slow reader: the worker output waits for drain and arrives whole and in order', async () => {
  const want = await run([full, '--format', 'json'], false);
  // A 1 KB buffer that empties asynchronously: write() returns false at once, 'drain' comes later.
  const slow = new PassThrough({ highWaterMark: 1024 });
  const got = await run([full, '--format', 'json', full], true, slow);
  const twice = await run([full, '--format', 'json', full], false);
  assert.equal(got.code, 0);
  assert.equal(got.stdout, twice.stdout);
  assert.ok(got.stdout.startsWith(want.stdout.split('\n')[0]!));
});

test('a reader that goes away (EPIPE) stops the run quietly and ends the worker', async () => {
  let writes = 0;
  const stdout = new Writable({
    write(_chunk, _enc, cb): void {
      writes++;
      if (writes >= 2) cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      else cb();
    },
  });
  const r = await run([full, '--format', 'json'], true, stdout);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, '');
  assert.ok(writes >= 2, `wrote before the reader left (${writes} writes)`);
});
