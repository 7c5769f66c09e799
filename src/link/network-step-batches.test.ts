/**
 * Network.runUntil takes several virtual steps per iteration of Node's event loop (runTurns: steps queued as a
 * batch of immediates), yet whatever a step made the host do still finishes before the next step, as with a whole
 * turn per step: nextTick callbacks and promise chains of any depth, and setImmediate callbacks (the rest of the
 * batch gives way to them). Observed as virtual time: none passes between a handler and the work it started.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Network } from './network.js';
import { Server } from '../stack/server.js';
import { Socket } from '../stack/socket.js';
import type { Stack } from '../stack/stack.js';

/**
 * `total` client lifecycles toward 10.0.0.2:7, `parallel` at a time: connect, send a byte, end on the answer.
 * Returns how many have closed.
 */
function clients(client: Stack, total: number, parallel: number): () => number {
  let done = 0, started = 0;
  const one = (): void => {
    started++;
    const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => s.write('x'));
    s.on('data', () => s.end());
    s.on('close', () => { done++; if (started < total) one(); });
  };
  for (let i = 0; i < parallel; i++) one();
  return () => done;
}

/** 40 clients, 10 at a time, each sends a byte; the server answers from `answer` (deferred work of some kind). */
async function exchange(answer: (reply: () => void) => void): Promise<{ lags: number[]; done: number }> {
  const n = new Network({ seed: 9, delayMs: 0.05 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  const lags: number[] = [];
  new Server(server, {}, (s) => {
    s.once('data', () => {
      const at = n.now;
      answer(() => { lags.push(n.now - at); s.end('y'); });
    });
  }).listen(7);
  const done = clients(client, 40, 10);
  await n.runUntil(() => done() >= 40, 60_000);
  n.close();
  return { lags, done: done() };
}

test('a setImmediate queued by a handler runs before the next virtual step', async () => {
  const r = await exchange((reply) => { setImmediate(reply); });
  assert.equal(r.done, 40);
  assert.equal(r.lags.length, 40);
  assert.deepEqual(r.lags.filter((x) => x !== 0), []);
});

test('a promise chain 50 deep, with nextTicks between, finishes before the next virtual step', async () => {
  const r = await exchange((reply) => {
    void (async () => {
      for (let i = 0; i < 50; i++) {
        await Promise.resolve();
        await new Promise<void>((res) => process.nextTick(res));
      }
      reply();
    })();
  });
  assert.equal(r.done, 40);
  assert.deepEqual(r.lags.filter((x) => x !== 0), []);
});

/** The reference: a whole turn of the event loop (one setImmediate) before every step, as runUntil took before. */
async function turnPerStep(n: Network, done: () => boolean): Promise<void> {
  for (let idle = 0; ;) {
    await new Promise<void>((r) => setImmediate(r));
    if (done()) return;
    if (n.step()) idle = 0;
    else if (++idle > 3) return;
  }
}

/**
 * 60 lifecycles, 12 at a time, the server answering in one of five ways by connection: at once, from a
 * setImmediate, from a setImmediate queued by a promise continuation, from a setImmediate queued by another, after
 * a promise chain with nextTicks. Every packet the wire delivered, with its time.
 */
async function mixed(drive: (n: Network, done: () => boolean) => Promise<void>): Promise<string[]> {
  const n = new Network({ seed: 11, delayMs: 0.05 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  const trace: string[] = [];
  n.wire.observe((ev) => { trace.push(`${ev.time.toFixed(4)} ${ev.from}>${ev.to} ${createHash('sha1').update(ev.bytes).digest('hex').slice(0, 12)}`); });
  let k = 0;
  new Server(server, {}, (s) => {
    const kind = k++ % 5;
    s.once('data', () => {
      const reply = (): void => { s.end('y'); };
      if (kind === 0) reply();
      else if (kind === 1) setImmediate(reply);
      else if (kind === 2) void Promise.resolve().then(() => setImmediate(reply));
      else if (kind === 3) setImmediate(() => setImmediate(reply));
      else void (async () => { for (let i = 0; i < 5; i++) { await Promise.resolve(); await new Promise<void>((r) => process.nextTick(r)); } reply(); })();
    });
  }).listen(7);
  const done = clients(client, 60, 12);
  await drive(n, () => done() >= 60);
  assert.equal(done(), 60);
  n.close();
  return trace;
}

test('steps in batches put the same packets on the wire at the same times as a whole event-loop turn per step', async () => {
  const reference = await mixed(turnPerStep);
  const batched = await mixed((n, done) => n.runUntil(done, 60_000));
  assert.ok(reference.length >= 60 * 6, `${reference.length} packets`);
  assert.deepEqual(batched, reference);
});
