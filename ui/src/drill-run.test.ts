// packetdrill in the page (issue 18), run in Node: the traced run the worker hands to the viewer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDrill, SAMPLE_SCRIPT } from './drill-run.js';
import { buildTimeline, statePath } from './timeline.js';
import { scenarioPcapng } from './export.js';
import { readCapture } from '../../src/wire/capture.js';

test('the sample script (the seeds\' way to CLOSING) passes; both sides pass through CLOSING on the cursor', () => {
  const r = runDrill(SAMPLE_SCRIPT, 'closing.pkt', 'synack');
  assert.equal(r.drill!.result, 'pass', r.notes.join('\n'));
  assert.match(r.notes[0]!, /^PASS/);
  const t = buildTimeline(r.trace, {});
  assert.deepEqual(statePath(t, 'b'), ['CLOSED', 'LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'CLOSING', 'TIME-WAIT']);
  assert.deepEqual(statePath(t, 'a').slice(-4), ['ESTABLISHED', 'FIN-WAIT-1', 'CLOSING', 'TIME-WAIT']);
  assert.equal(r.raw.length, r.trace.entries.length);
  const recs = [...readCapture(scenarioPcapng(r))];
  assert.equal(recs.length, r.packets.length);
});

test('a failing script: FAIL with its line number, the line itself and the virtual time', () => {
  const broken = SAMPLE_SCRIPT.replace('+0   > . 2:2(0) ack 2', '+0   > . 2:2(0) ack 3');
  const r = runDrill(broken, 'broken.pkt', 'synack');
  assert.equal(r.drill!.result, 'fail');
  const line = broken.split('\n').findIndex((l) => l.includes('ack 3')) + 1;
  assert.equal(r.drill!.line, line);
  assert.match(r.notes[0]!, new RegExp(`^FAIL at line ${line} \\(virtual time 0\\.110000 s\\): `));
  assert.match(r.notes[1]!, /^line \d+: \+0 +> \. 2:2\(0\) ack 3$/);
  // The ladder still shows what happened up to the failure.
  assert.ok(r.trace.entries.length >= 5);
});

test('personality matters: the same script written for synack fails as linux (its SYN+ACK options differ)', () => {
  const r = runDrill(SAMPLE_SCRIPT, 'closing.pkt', 'linux');
  assert.equal(r.drill!.result, 'fail');
  assert.throws(() => runDrill(SAMPLE_SCRIPT, 'x.pkt', 'bsd' as never), /unknown personality 'bsd'/);
});
