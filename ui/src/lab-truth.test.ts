// Issue 18: what the page draws for built scenarios must be exactly true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCustomScenario, DEFAULT_SPEC } from './lab-run.js';
import { buildTimeline } from './timeline.js';
import { ACK, SYN } from '../../src/wire/tcp-types.js';

test('built, client→server loss 0.3: when the handshake ACK is lost the client is already ESTABLISHED on the SYN+ACK before it', () => {
  let checked = 0;
  for (let seed = 1; seed <= 40 && checked < 3; seed++) {
    const r = runCustomScenario({ ...DEFAULT_SPEC, seed, c2s: { loss: 0.3, delayMs: 10, reorder: 0 } });
    const e = r.trace.entries;
    const synAck = e.findIndex((x) => x.from === 'b' && x.seg.flags === (SYN | ACK) && !x.lost);
    if (synAck < 0 || !(e[synAck + 1]?.from === 'a' && e[synAck + 1]!.seg.flags === ACK && e[synAck + 1]!.lost)) continue;
    checked++;
    const t = buildTimeline(r.trace, { receiverOnly: true });
    const row = t.model.rows.findIndex((x) => x.kind === 'segment' && x.entry.seg === e[synAck]!.seg);
    assert.equal(t.steps[row]!.a, 'ESTABLISHED', `seed ${seed}: client state after the first delivered SYN+ACK`);
  }
  assert.ok(checked > 0, 'some seed loses the handshake ACK');
});
