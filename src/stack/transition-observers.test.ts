// Stack.observeTransitions: what an observer hears of a connection's life, including the end of its compact
// TIME-WAIT entry (2·MSL, RFC 9293 §3.10.8) unless it asked not to (timeWaitEnds: false).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import type { StackConnection } from './stack.js';

async function closeFromClient() {
  const net = new Network({ seed: 5, delayMs: 1 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'], tcp: { msl: 1000 } });
  const client = net.addStack({ name: 'client', addresses: ['10.0.0.1'], tcp: { msl: 1000 } });
  const all: string[] = [];
  const noTwEnds: string[] = [];
  const conns = new Set<unknown>();
  client.observeTransitions((c, ev) => { all.push(`${c.id} ${c.localPort}>${c.remotePort} ${ev.from}>${ev.to} ${ev.cause.kind}`); conns.add(c); });
  client.observeTransitions((c, ev) => { noTwEnds.push(`${c.id} ${c.localPort}>${c.remotePort} ${ev.from}>${ev.to} ${ev.cause.kind}`); }, { timeWaitEnds: false });
  let sc: StackConnection | null = null;
  server.listen(80, { onConnection: (c) => { sc = c; } });
  const c = client.connect({ host: '10.0.0.2', port: 80 });
  await net.runUntil(() => sc !== null && c.state === 'ESTABLISHED');
  c.tcp.shutdown(net.now); c.service();
  await net.runUntil(() => sc!.state === 'CLOSE-WAIT');
  sc!.tcp.shutdown(net.now); sc!.service(); // before the delayed ACK: its FIN acknowledges the client's
  await net.runUntil(() => client.timeWaitCount === 1);
  return { net, client, c, all, noTwEnds, conns };
}

test('transition observers hear every state of a connection, then its TIME-WAIT entry\'s end (2 MSL) unless they opted out', async () => {
  const { net, client, c, all, noTwEnds, conns } = await closeFromClient();
  const p = `${c.id} ${c.localPort}>80`;
  const life = [`${p} CLOSED>SYN-SENT user`, `${p} SYN-SENT>ESTABLISHED segment`, `${p} ESTABLISHED>FIN-WAIT-1 user`, `${p} FIN-WAIT-1>TIME-WAIT segment`];
  assert.deepEqual(all, life);
  assert.deepEqual(noTwEnds, life);
  // A live connection's transitions come with the connection itself (no copy of its addresses per transition).
  assert.deepEqual([...conns], [c]);
  net.virtual!.advanceTo(net.now + 2100);
  assert.equal(client.timeWaitCount, 0);
  assert.deepEqual(all, [...life, `${p} TIME-WAIT>CLOSED timer`], 'the compact entry\'s end, with its connection id and ports');
  assert.deepEqual(noTwEnds, life, 'timeWaitEnds: false hears no compact entry\'s end');
  net.close();
});
