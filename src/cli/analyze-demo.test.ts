/**
 * `synack demo --pcap FILE` then `synack analyze FILE`: every scenario's connection, found by its server port
 * in the one capture, is classified as the scenario intends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { demoCommand } from './demo.js';
import { analyzeCommand } from './analyze.js';
import { SCENARIOS } from '../link/scenarios.js';

async function run(fn: typeof analyzeCommand, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => { out += d.toString(); });
  stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const code = await fn(args, { stdout, stderr, stdin: Readable.from([]) });
  return { code, out, err };
}

const EXPECT: Record<string, { handshake: string; close: string | string[] }> = {
  'handshake': { handshake: 'normal', close: 'open' },
  'four-way-close': { handshake: 'normal', close: 'four-way' },
  'three-way-close': { handshake: 'normal', close: 'three-way' },
  'simultaneous-open': { handshake: 'simultaneous-open', close: 'open' },
  'simultaneous-close': { handshake: 'normal', close: 'simultaneous' },
  'half-close': { handshake: 'normal', close: 'four-way' },
  'rst-abort': { handshake: 'normal', close: 'rst-by-originator' },
  'rst-unread-data': { handshake: 'normal', close: 'rst-by-originator' },
  'refused': { handshake: 'refused', close: 'refused' },
  // Which FIN close a lossy run ends with depends on which segments the seed loses.
  'lossy-transfer': { handshake: 'normal', close: ['three-way', 'four-way'] },
  'http': { handshake: 'normal', close: 'three-way' },
};

test('every synack demo scenario\'s pcapng, analyzed back, has the scenario\'s handshake and close kind', { timeout: 600_000 }, async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'synack-demo-')), 'demo.pcapng');
  const demo = await run(demoCommand, ['--pcap', file, '--no-color']);
  assert.equal(demo.code, 0, demo.err);
  const r = await run(analyzeCommand, [file, '--format', 'json']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const conns = lines.filter((l) => l.type === 'connection');
  SCENARIOS.forEach((s, i) => {
    const exp = EXPECT[s.name];
    if (!exp) return;
    const port = 8000 + i + 1;
    const mine = conns.filter((c) => c.resp_p === port || c.orig_p === port);
    assert.ok(mine.length >= 1, `${s.name}: no connection on port ${port}`);
    assert.equal(mine[0]!.handshake, exp.handshake, `${s.name} handshake`);
    const closes = Array.isArray(exp.close) ? exp.close : [exp.close];
    assert.ok(closes.includes(mine[0]!.close as string), `${s.name} close: ${String(mine[0]!.close)}`);
  });
  // The invalid-flags scenario's segments are all reported.
  const anomalies = lines.filter((l) => l.type === 'anomaly' && l.kind === 'invalid-flags').map((l) => l.flags).sort();
  assert.deepEqual(anomalies, ['FIN+RST', 'FIN-without-ACK', 'NULL', 'SYN+FIN', 'SYN+RST', 'Xmas']);
});
