/**
 * Wireshark's tcp.completeness (../shared/docs/connection-analysis.md §2.1): synack's bits agree with
 * TShark 4.0.17's, (1) against the TShark annotation stored with the corpus and (2) live, running tshark on
 * captures synack generates (skipped when tshark is not installed; the CI image installs it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { analyzeBytes, sharedMissing } from './corpus-helpers.js';
import { oursByTuple, svManifest, svTraceCompleteness, theirsByTuple, zeekManifest, zeekTraceCompleteness, type CorpusCheck, type Stream } from './corpus.js';
import { Conversation, PcapBuilder } from './synth.js';


const zeekEntries = sharedMissing ? [] : zeekManifest();

function assertChecks(checks: CorpusCheck[]): void {
  assert.ok(checks.length > 0);
  for (const c of checks) {
    assert.notEqual(c.result, 'disagree', `completeness of ${c.item}: TShark ${c.expected}, synack ${c.actual}${c.why ? ` (${c.why})` : ''}`);
  }
}

for (const e of zeekEntries) {
  test(`completeness agrees with TShark 4.0.17 on zeek corpus ${e.id}`, () => {
    assertChecks(zeekTraceCompleteness(e));
  });
}

const svEntries = sharedMissing ? [] : svManifest();

for (const e of svEntries) {
  test(`completeness agrees with TShark 4.0.17 on suricata-verify ${e.test}`, () => {
    assertChecks(svTraceCompleteness(e));
  });
}

// ---- live tshark on synack's own captures ----

const tshark = spawnSync('tshark', ['-v'], { encoding: 'utf8' });
const noTshark: false | string = tshark.status !== 0 && 'tshark not installed (apt-get install tshark)';

function variants(): Uint8Array {
  const pcap = new PcapBuilder();
  let t = 1700000000;
  const conv = (n: number): Conversation => {
    const c = new Conversation(pcap, `10.0.0.1:${40000 + n}`, `10.0.0.2:${8000 + n}`, { time: t });
    return c;
  };
  const scripts: Array<(c: Conversation) => void> = [
    (c) => c.handshake().send('c', 'PA', { len: 10 }).send('s', 'A').send('c', 'FA').send('s', 'A').send('s', 'FA').send('c', 'A'),
    (c) => c.handshake().send('c', 'FA').send('s', 'FA').send('c', 'A'),
    (c) => c.handshake().send('c', 'PA', { len: 10 }).send('c', 'RA'),
    (c) => c.handshake().send('s', 'PA', { len: 10 }).send('s', 'RA'),
    (c) => c.send('c', 'S').send('s', 'RA', { seq: 0, ack: c.c.isn + 1 }),
    (c) => c.send('c', 'S').send('s', 'R', { seq: 0 }),
    (c) => c.send('c', 'S').send('c', 'S', { seq: c.c.isn }),
    (c) => c.handshake().send('c', 'PA', { len: 5 }).send('c', 'FA').send('s', 'A'),
    (c) => c.handshake(),
    (c) => c.send('c', 'S').send('c', 'R'),
    (c) => c.send('s', 'PA', { len: 10 }).send('c', 'A').send('c', 'F'),
    (c) => c.send('c', 'S', { len: 20 }).send('s', 'SA').send('c', 'A'),
    (c) => c.send('s', 'SA').send('c', 'A').send('c', 'PA', { len: 3 }).send('s', 'FA').send('c', 'FA').send('s', 'A'),
  ];
  scripts.forEach((s, i) => { const c = conv(i); s(c); t = c.time + 1; });
  return pcap.take();
}

test('completeness agrees with a live tshark -2 on every close variant synack generates', { skip: noTshark }, () => {
  const bytes = variants();
  const dir = mkdtempSync(path.join(tmpdir(), 'synack-tshark-'));
  const file = path.join(dir, 'variants.pcap');
  writeFileSync(file, bytes);
  const r = spawnSync('tshark', ['-r', file, '-2', '-T', 'fields', '-e', 'tcp.stream', '-e', 'ip.src', '-e', 'tcp.srcport',
    '-e', 'ip.dst', '-e', 'tcp.dstport', '-e', 'tcp.completeness'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const last = new Map<string, Stream>();
  for (const line of r.stdout.trim().split('\n')) {
    const [stream, sh, sp, dh, dp, comp] = line.split('\t');
    last.set(stream!, { a: `${sh}:${sp}`, b: `${dh}:${dp}`, completeness: Number(comp) });
  }
  const theirs = theirsByTuple([...last.values()]);
  const ours = oursByTuple(analyzeBytes(bytes).reports);
  assert.equal(theirs.size, 13);
  for (const [k, v] of theirs) assert.equal(ours.get(k), v, `completeness of ${k}`);
});
