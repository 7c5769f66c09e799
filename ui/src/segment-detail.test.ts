// The packet detail pane: header fields/options of real segments and the RFC 9293 rule the receiver applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCustomScenario, runSeedScenario, DEFAULT_SPEC } from './lab-run.js';
import { ruleFor, segmentFields } from './segment-detail.js';
import { buildTimeline, stateAt } from './timeline.js';
import { ACK, FIN, PSH, RST, SYN, URG, makeSegment } from '../../src/wire/tcp-types.js';
import type { LabRun } from './lab-run.js';

const on = { seed: 1, timestamps: true, sack: true, windowScaling: true };

function field(run: LabRun, i: number, section: string, name: string): string | undefined {
  const secs = segmentFields(run.trace, run.trace.entries[i]!, run.raw[i] ?? null);
  return secs.find((s) => s.title.startsWith(section))?.fields.find(([k]) => k.trim() === name)?.[1];
}

/** The rule for trace entry i, with the receiver's states from the cursor model, as the page computes it. */
function ruleAt(run: LabRun, i: number) {
  const t = buildTimeline(run.trace, { receiverOnly: true });
  const e = t.trace.entries[i]!;
  const row = t.model.rows.findIndex((r) => r.kind === 'segment' && r.entry === e);
  const recv = e.from === 'a' ? 'b' : 'a';
  return ruleFor(e.seg, stateAt(t, row - 1)[recv], stateAt(t, row)[recv], { lost: e.lost, note: e.note });
}

test('SYN detail: IPv4 header with a correct checksum, every TCP field and the SYN options', async () => {
  const r = await runSeedScenario('handshake', on);
  assert.equal(field(r, 0, 'Internet Protocol', 'Header checksum')?.endsWith('[correct]'), true);
  assert.equal(field(r, 0, 'Internet Protocol', 'Source address'), '10.0.0.1');
  assert.equal(field(r, 0, 'Internet Protocol', 'Time to live'), '64');
  assert.equal(field(r, 0, 'Transmission Control Protocol', 'Destination port'), '80');
  assert.match(field(r, 0, 'Transmission Control Protocol', 'Sequence number')!, /^0 \(relative; raw \d+\)$/);
  assert.equal(field(r, 0, 'Transmission Control Protocol', 'Syn (SYN)'), 'Set');
  assert.equal(field(r, 0, 'Transmission Control Protocol', 'Acknowledgment (ACK)'), 'Not set');
  assert.match(field(r, 0, 'Transmission Control Protocol', 'Header length (data offset)')!, /^(\d+) bytes/);
  assert.equal(field(r, 0, 'Options', 'Maximum segment size (kind 2)'), '1460 bytes');
  assert.match(field(r, 0, 'Options', 'Window scale (kind 3)')!, /^shift \d+/);
  assert.equal(field(r, 0, 'Options', 'SACK permitted (kind 4)'), 'yes');
  assert.match(field(r, 0, 'Options', 'Timestamps (kind 8)')!, /^TSval \d+, TSecr 0$/);
  // The SYN+ACK acknowledges relative 1.
  assert.match(field(r, 1, 'Transmission Control Protocol', 'Acknowledgment number')!, /^1 \(relative/);
});

test('without timestamps and SACK the options pane shows only what was on the wire', async () => {
  const r = await runSeedScenario('handshake', { ...on, timestamps: false, sack: false, windowScaling: false });
  assert.equal(field(r, 0, 'Options', 'Timestamps (kind 8)'), undefined);
  assert.equal(field(r, 0, 'Options', 'SACK permitted (kind 4)'), undefined);
  assert.equal(field(r, 2, 'Options', '(none)'), 'no options');
});

test('rules applied along a four-way close, with RFC 9293 section numbers', async () => {
  const r = await runSeedScenario('four-way-close', on);
  const rules = r.trace.entries.map((_, i) => ruleAt(r, i));
  assert.deepEqual(rules.map((x) => x.section), ['3.10.7.2', '3.10.7.3', '3.10.7.4', '3.10.7.4', '3.10.7.4', '3.10.7.4', '3.10.7.4']);
  assert.match(rules[0]!.title, /^LISTEN: a SYN/);
  assert.ok(rules[0]!.steps.some((s) => s.includes('SYN-RECEIVED')));
  assert.match(rules[1]!.title, /^SYN-SENT: SYN,ACK completes/);
  assert.match(rules[2]!.title, /^SYN-RECEIVED: ACK processed → ESTABLISHED/);
  assert.match(rules[3]!.title, /^ESTABLISHED: FIN processed → CLOSE-WAIT/);
  assert.ok(rules[3]!.steps.some((s) => s.startsWith('Eighth')));
  assert.match(rules[4]!.title, /^FIN-WAIT-1: ACK processed → FIN-WAIT-2/);
  assert.match(rules[5]!.title, /^FIN-WAIT-2: FIN processed → TIME-WAIT/);
  assert.match(rules[6]!.title, /^LAST-ACK: ACK processed → CLOSED/);
});

test('rules for refused, reset, lost and invalid segments', async () => {
  const refused = await runSeedScenario('refused', on);
  assert.equal(ruleAt(refused, 0).section, '3.10.7.1');
  assert.match(ruleAt(refused, 1).title, /^SYN-SENT: a reset refuses/);
  const abort = await runSeedScenario('rst-abort', on);
  const rst = abort.trace.entries.findIndex((e) => e.seg.flags & RST);
  assert.match(ruleAt(abort, rst).title, /^ESTABLISHED: an exact RST resets the connection/);
  const lossy = runCustomScenario({ ...DEFAULT_SPEC, seed: 5, clientBytes: 30_000, c2s: { loss: 0.25, delayMs: 10, reorder: 0 } });
  const lost = lossy.trace.entries.findIndex((e) => e.lost);
  assert.equal(ruleAt(lossy, lost).section, '3.8.1');
  const inv = runCustomScenario({ ...DEFAULT_SPEC, invalid: ['syn-fin'] });
  const bad = inv.trace.entries.findIndex((e) => e.note?.startsWith('injected'));
  assert.match(ruleAt(inv, bad).title, /^Invalid control bits \(SYN\+FIN\): dropped/);
});

test('ruleFor covers every receiver state without throwing', () => {
  const states = ['CLOSED', 'LISTEN', 'SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT', undefined] as const;
  const flagSets = [SYN, SYN | ACK, ACK, FIN | ACK, RST, RST | ACK, PSH | ACK, 0, FIN | PSH | URG, SYN | FIN];
  for (const st of states) {
    for (const f of flagSets) {
      const seg = makeSegment({ srcPort: 1, dstPort: 2, flags: f, payload: f & PSH ? new Uint8Array(3) : undefined });
      const rule = ruleFor(seg, st, st);
      assert.match(rule.section, /^3\.(1|8\.1|10\.7(\.[1-4])?)$/, `${st} ${f}`);
      assert.ok(rule.steps.length > 0 && rule.title.length > 0);
    }
  }
});
