/**
 * Ephemeral ports as RFC 6056 §3.3.3 (Algorithm 3) chooses them: port = min + (F(local, remote, remote port) +
 * counter) mod range, the counter moving by one per connection. F depends on the destination alone, so
 * connecting to the same peer again goes on from the next port, and every destination has its own offset,
 * whatever was connected to in between (the stack remembers the last destination's F, demux.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';

const MIN = 32768, RANGE = 60999 - 32768 + 1;

function stacks() {
  const n = new Network({ seed: 17, delayMs: 1 });
  n.addStack({ name: 'a', addresses: ['10.0.0.2'] });
  n.addStack({ name: 'b', addresses: ['10.0.0.3'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  return { n, client };
}

/** F of each connection's destination, from its port and how many connections the stack made before it. */
function offsets(dests: Array<[string, number]>): number[] {
  const { n, client } = stacks();
  const out = dests.map(([host, port], k) => (client.connect({ host, port }).localPort - MIN - k + RANGE) % RANGE);
  n.close();
  return out;
}

test('each destination keeps its own ephemeral-port offset, whatever was connected to in between (RFC 6056 Algorithm 3)', () => {
  const dests: Array<[string, number]> = [['10.0.0.2', 80], ['10.0.0.2', 80], ['10.0.0.3', 80], ['10.0.0.2', 80], ['10.0.0.2', 81], ['10.0.0.3', 80], ['10.0.0.2', 81]];
  const f = offsets(dests);
  // Every destination's offset is the one a fresh stack (same seed) finds for its first connection there.
  for (let k = 0; k < dests.length; k++) assert.equal(f[k], offsets([dests[k]!])[0], `connection ${k} to ${dests[k]!.join(':')}`);
  // Same destination, same offset: consecutive ports.
  assert.equal(f[0], f[1]); assert.equal(f[0], f[3]); assert.equal(f[2], f[5]); assert.equal(f[4], f[6]);
  // Another remote address or another remote port: another offset.
  assert.notEqual(f[0], f[2]);
  assert.notEqual(f[0], f[4]);
});
