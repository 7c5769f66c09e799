/**
 * `synack demo --pcap FILE` then `synack analyze FILE`: every scenario's connection, found by its server port
 * in the one capture, is classified as the scenario intends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { demoCommand } from './demo.js';
import { analyzeCommand } from './analyze.js';
import { runCli } from './test-io.js';
import { SCENARIOS } from '../link/scenarios.js';

async function run(fn: typeof analyzeCommand, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCli(fn, args);
  return { code: r.code, out: r.stdout, err: r.stderr };
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
  // The client's own connection: the server, its SYN queue full, answers with a SYN cookie (RFC 4987 §3.6).
  'syn-flood': { handshake: 'normal', close: 'open' },
  // SYN+FIN, SYN+RST, FIN+RST, NULL, FIN without ACK and Xmas are dropped by the receiver: they neither split
  // the connection nor decide its close (the FIN exchange afterwards does).
  'invalid-flags': { handshake: 'normal', close: 'three-way' },
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
    // The client's connections (a flood's spoofed SYNs come from other addresses).
    const mine = conns.filter((c) => (c.resp_p === port || c.orig_p === port) && c.orig_h === '10.0.0.1');
    assert.ok(mine.length >= 1, `${s.name}: no connection on port ${port}`);
    assert.equal(mine[0]!.handshake, exp.handshake, `${s.name} handshake`);
    const closes = Array.isArray(exp.close) ? exp.close : [exp.close];
    assert.ok(closes.includes(mine[0]!.close as string), `${s.name} close: ${String(mine[0]!.close)}`);
  });
  // The invalid-flags scenario is one connection for synack, with its RFC 9293 end states; Zeek's own rules
  // split it on the SYN+FIN and the SYN+RST, which shows in its conn.log rows only.
  const inv = conns.filter((c) => c.resp_p === 8000 + SCENARIOS.findIndex((s) => s.name === 'invalid-flags') + 1);
  assert.equal(inv.length, 1);
  assert.equal(inv[0]!.orig_state, 'TIME-WAIT');
  assert.equal(inv[0]!.resp_state, 'CLOSED');
  assert.equal(inv[0]!.split, null);
  assert.deepEqual((inv[0]!.zeek_splits as Array<{ history: string }>).map((z) => z.history), ['Q', 'QIFfA']);
  // Sequence analysis agrees with TShark's tcp.analysis flags on the same packets: the lossy transfer (its
  // keep-alive is real: a pure ACK with seq = SND.NXT − 1 after the server's FIN, frame 157 of the default
  // seed), and the simultaneous open, whose two SYN-ACKs TShark flags as retransmissions of the SYNs.
  if (spawnSync('tshark', ['-v']).status === 0) {
    const fields = ['tcp.analysis.retransmission', 'tcp.analysis.duplicate_ack', 'tcp.analysis.out_of_order',
      'tcp.analysis.zero_window', 'tcp.analysis.keep_alive', 'tcp.analysis.lost_segment'];
    for (const name of ['lossy-transfer', 'simultaneous-open']) {
      const port = 8000 + SCENARIOS.findIndex((s) => s.name === name) + 1;
      const ts = spawnSync('tshark', ['-r', file, '-2', '-Y', `tcp.port == ${port}`, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
      assert.equal(ts.status, 0, ts.stderr);
      const counts = fields.map(() => 0);
      for (const line of ts.stdout.trimEnd().split('\n')) line.split('\t').forEach((v, i) => { if (v !== '') counts[i]!++; });
      const c = conns.find((x) => x.resp_p === port)!;
      assert.deepEqual([c.retransmissions, c.dup_acks, c.out_of_order, c.zero_windows, c.keep_alives, c.lost_segments], counts, name);
    }
  }
  // The invalid-flags scenario's segments are all reported.
  const anomalies = lines.filter((l) => l.type === 'anomaly' && l.kind === 'invalid-flags').map((l) => l.flags).sort();
  assert.deepEqual(anomalies, ['FIN+RST', 'FIN-without-ACK', 'NULL', 'SYN+FIN', 'SYN+RST', 'Xmas']);
});
