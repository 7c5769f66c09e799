/** What the scenario traces tell must be exactly true: states on the row that caused them, flood off the client's lane. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from './scenarios.js';
import { buildLadder } from '../view/ladder-model.js';
import { ACK, SYN } from '../wire/tcp-types.js';

test('lost handshake ACK: the client is ESTABLISHED on the SYN+ACK that made it so, before it sends the ACK that is lost', async () => {
  const r = await runScenario('handshake', { seed: 1, loss: 0.5 });
  const e = r.trace.entries;
  const firstSynAck = e.findIndex((x) => x.from === 'b' && (x.seg.flags & (SYN | ACK)) === (SYN | ACK) && !x.lost);
  const lostAck = e.findIndex((x) => x.from === 'a' && x.seg.flags === ACK && x.lost);
  assert.ok(firstSynAck >= 0 && lostAck > firstSynAck, 'this seed loses the ACK after a delivered SYN+ACK');
  assert.equal(e[firstSynAck]!.stateA, 'ESTABLISHED', 'the client entered ESTABLISHED on the first delivered SYN+ACK');
  const m = buildLadder(r.trace);
  const row = m.rows.find((x) => x.kind === 'segment' && x.entry === e[firstSynAck]);
  assert.equal(row && row.kind === 'segment' ? row.stateA : undefined, 'ESTABLISHED');
  assert.ok(!r.notes.some((n) => n.includes('undefined')), r.notes.join('; '));
});
