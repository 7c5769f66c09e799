/**
 * `synack drill`: one line per script, the summary, --json lines, exit codes, and the personality taken
 * from an INDEX.tsv above the scripts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { drillCommand } from './drill.js';
import { runCli } from './test-io.js';

const scripts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../drill/scripts');

async function drill(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCli(drillCommand, args);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

const GOOD = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <...>
`;

test('synack drill DIR runs every *.pkt below it and exits 0 when nothing failed', async () => {
  const r = await drill([scripts, '--personality', 'synack']);
  assert.equal(r.code, 0, r.out + r.err);
  const lines = r.out.trim().split('\n');
  assert.ok(lines.slice(0, -1).every((l) => l.startsWith('PASS ')), r.out);
  assert.match(lines[lines.length - 1]!, /^\d+ passed, 0 failed, 0 unsupported$/);
});

test('a failing script prints FAIL with its line and exits 1; --json prints one object per script', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drill-'));
  writeFileSync(path.join(dir, 'good.pkt'), GOOD);
  writeFileSync(path.join(dir, 'bad.pkt'), GOOD + '+1 > F. 1:1(0) ack 1\n');
  writeFileSync(path.join(dir, 'unsup.pkt'), GOOD + '+0 `reboot`\n');
  writeFileSync(path.join(dir, 'notes.txt'), 'not a script');
  const r = await drill([dir]);
  assert.equal(r.code, 1);
  assert.match(r.out, /^FAIL .*bad\.pkt:5: live packet field tcp flags: expected: F\. vs actual: S/m);
  assert.match(r.out, /^PASS .*good\.pkt$/m);
  assert.match(r.out, /^UNSUPPORTED .*unsup\.pkt:5: shell command `reboot`$/m);
  assert.match(r.out, /^1 passed, 1 failed, 1 unsupported$/m);
  const j = await drill([dir, '--json']);
  const objs = j.out.trim().split('\n').map((l) => JSON.parse(l) as { script: string; result: string; reason?: string; line?: number });
  assert.equal(objs.length, 3);
  const bad = objs.find((o) => o.script.endsWith('bad.pkt'))!;
  assert.equal(bad.result, 'fail');
  assert.equal(bad.line, 5);
  assert.equal(objs.find((o) => o.script.endsWith('good.pkt'))!.reason, undefined);
  assert.equal(j.code, 1);
});

test('the personality comes from an INDEX.tsv above the script unless given', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drill-'));
  mkdirSync(path.join(dir, 'bsd'));
  // FreeBSD's SYN layout: mss, nop, wscale, sackOK, TS.
  writeFileSync(path.join(dir, 'bsd', 'syn.pkt'), GOOD.replace('<...>', '<mss 1460,nop,wscale 6,sackOK,TS val 1 ecr 0>'));
  writeFileSync(path.join(dir, 'INDEX.tsv'), 'path\tpersonality\nbsd/syn.pkt\tfreebsd\n');
  assert.equal((await drill([dir])).code, 0);
  const forced = await drill([dir, '--personality', 'linux']);
  assert.equal(forced.code, 1);
  assert.match(forced.out, /tcp option/);
});

test('usage errors exit 2', async () => {
  assert.equal((await drill(['/nonexistent/dir'])).code, 2);
  assert.equal((await drill([scripts, '--personality', 'windows'])).code, 2);
  const empty = mkdtempSync(path.join(tmpdir(), 'drill-'));
  assert.equal((await drill([empty])).code, 2);
});

test('--ladder draws the script\'s connection with both sides\' states; --pcap writes its packets (issue 18)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'synack-drill-pcap-'));
  const file = path.join(dir, 'out.pcapng');
  const script = path.join(scripts, 'simultaneous-close.pkt');
  const r = await drill(['--ladder', '--pcap', file, script]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^PASS /m);
  // synack passes through CLOSING (from its engine), and so does the script's side (inferred): the FINs cross.
  assert.match(r.out.replace(/\n {4}/g, ' '), /• synack: CLOSED → LISTEN → SYN-RECEIVED → ESTABLISHED → FIN-WAIT-1 → CLOSING → TIME-WAIT/);
  for (const l of r.out.split('\n')) assert.ok([...l].length <= 80, l);
  const rows = r.out.split('\n');
  assert.ok(rows.some((l) => /^ *\d+ {2}CLOSING +<─+ ACK seq=2 ack=2 /.test(l)), 'the script\'s side in CLOSING');
  assert.ok(rows.some((l) => /FIN\+ACK seq=1 ack=1 .*─> CLOSING$/.test(l)), 'synack CLOSING where the script\'s FIN arrives');
  assert.match(r.out, /crosses the FIN\+ACK/);
  const { readCapture } = await import('../wire/capture.js');
  const { readFileSync } = await import('node:fs');
  const recs = [...readCapture(new Uint8Array(readFileSync(file)))];
  assert.equal(recs.length, 7, 'SYN, SYN+ACK, ACK, FIN, FIN, ACK, ACK');
  const { decodePacket } = await import('../wire/packet.js');
  const { flagsToString } = await import('../wire/tcp-types.js');
  assert.deepEqual(recs.map((x) => flagsToString(decodePacket(x.data).tcp!.seg.flags)), ['SYN', 'SYN+ACK', 'ACK', 'FIN+ACK', 'FIN+ACK', 'ACK', 'ACK']);
  const bad = await drill(['--pcap', '/nonexistent-dir/x.pcapng', script]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /cannot write \/nonexistent-dir\/x\.pcapng/);
});
