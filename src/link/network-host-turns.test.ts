/**
 * Network.runUntil gives the host a whole event-loop turn per virtual step by default (stepsPerTurn 1). With
 * stepsPerTurn 32 it lets only callbacks (nextTick, promises) run between most steps, with a turn every 32 or
 * whenever a setImmediate is queued. For these workloads what reaches the wire must be the same either way:
 * same packets, same times.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { Network } from './network.js';
import { Server } from '../stack/server.js';
import { Socket } from '../stack/socket.js';

/** Every packet the wire delivered: time, direction and a digest of its bytes. */
function record(n: Network): string[] {
  const out: string[] = [];
  n.wire.observe((ev) => { out.push(`${ev.time.toFixed(4)} ${ev.from}>${ev.to} ${ev.fate} ${createHash('sha1').update(ev.bytes).digest('hex').slice(0, 12)}`); });
  return out;
}

/** 30 clients open at the same virtual instant, then 30 more one after another: connect, a byte each way, close. */
async function lifecycles(stepsPerTurn?: number): Promise<{ trace: string[]; done: number; at: number }> {
  const n = new Network({ seed: 3, delayMs: 0.05 });
  if (stepsPerTurn !== undefined) n.stepsPerTurn = stepsPerTurn;
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  const trace = record(n);
  // The server answers from a setImmediate queued by a promise continuation (after the step's callbacks).
  new Server(server, {}, (s) => { s.once('data', () => { void Promise.resolve().then(() => setImmediate(() => s.end('y'))); }); }).listen(7);
  let done = 0;
  const one = (chain: boolean) => {
    const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => s.write('x'));
    s.on('data', () => s.end());
    s.on('close', () => { done++; if (chain && done < 60) one(true); });
  };
  for (let i = 0; i < 30; i++) one(i === 29);
  await n.runUntil(() => done >= 60, 60_000);
  const at = n.now;
  n.close();
  return { trace, done, at };
}

test('60 socket lifecycles (30 opened in the same virtual instant) put the same packets on the wire at the same times with a host turn per step or per 32 steps', async () => {
  const everyStep = await lifecycles(1);
  const batched = await lifecycles(32);
  assert.equal(everyStep.done, 60);
  assert.equal(batched.done, 60);
  assert.ok(everyStep.trace.length >= 60 * 6, `${everyStep.trace.length} packets`);
  assert.deepEqual(batched.trace, everyStep.trace);
  assert.equal(batched.at, everyStep.at);
});

/**
 * node:http keep-alive over synack: handlers that await promises and setImmediate before answering, and a
 * client that sends the next request from a setImmediate.
 */
async function httpExchange(stepsPerTurn?: number): Promise<{ trace: string[]; bodies: string[] }> {
  const n = new Network({ seed: 5, delayMs: 1 });
  if (stepsPerTurn !== undefined) n.stepsPerTurn = stepsPerTurn;
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  const trace = record(n);
  const httpServer = http.createServer(async (req, res) => {
    for await (const _ of req) { /* drain */ }
    await Promise.resolve();
    await new Promise<void>((r) => setImmediate(r));
    res.sendDate = false; // the Date header comes from the real clock: the two runs may straddle a second
    res.setHeader('content-type', 'text/plain');
    res.write(`hello ${req.url}`);
    await Promise.resolve();
    res.end(' '.repeat(3000));
  });
  new Server(server, {}, (s) => httpServer.emit('connection', s)).listen(80);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  (agent as unknown as { createConnection: () => unknown }).createConnection = () => Socket.connect(client, { host: '10.0.0.2', port: 80 });
  const bodies: string[] = [];
  let pending = 8;
  const get = (i: number) => {
    http.get({ host: '10.0.0.2', port: 80, path: `/${i}`, agent }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { b += d; });
      res.on('end', () => { bodies.push(b.trim()); pending--; if (pending > 0) setImmediate(() => get(i + 1)); });
    });
  };
  get(0);
  await n.runUntil(() => pending === 0, 60_000);
  agent.destroy();
  await n.runUntil(() => false, 1000);
  n.close();
  return { trace, bodies };
}

test('node:http keep-alive with handlers awaiting promises and setImmediate: the same packets at the same times with a host turn per step or per 32 steps', async () => {
  const everyStep = await httpExchange(1);
  const batched = await httpExchange(32);
  assert.deepEqual(everyStep.bodies, Array.from({ length: 8 }, (_, i) => `hello /${i}`));
  assert.deepEqual(batched.bodies, everyStep.bodies);
  assert.deepEqual(batched.trace, everyStep.trace);
});
