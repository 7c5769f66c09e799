import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from './network.js';
import { Server } from '../stack/server.js';
import { Socket } from '../stack/socket.js';

/**
 * Pacing (TcpConfig.pacing, as Linux's TCP internal pacing) on a long fat path with a shallow bottleneck queue:
 * 1 Gbit/s, 40 ms RTT (a 5 MB path), 64 kB of queue, TSO on (64 kB super-segments the link cuts). A 3 MB
 * transfer never leaves slow start. Unpaced, every ACK releases its share of the window back to back, twice
 * as fast as the bottleneck drains it, so the queue overflows once cwnd passes about twice the queue; paced at
 * cwnd/SRTT × 2 (TSO segments of about 1 ms), the sender stays below the bottleneck's rate until cwnd nears
 * half the path.
 */
const SIZE = 3_000_000;

async function transfer(pacing: boolean): Promise<{ got: number; queueDropped: number; ms: number }> {
  const net = new Network({ seed: 7, delayMs: 20, impairments: { bandwidthBps: 1e9, queueBytes: 64_000 } });
  const sender = net.addStack({ name: 'sender', addresses: ['10.0.0.2'], tcp: { sendBufferSize: 4 << 20, tsoMaxBytes: 65_536, pacing } });
  const receiver = net.addStack({ name: 'receiver', addresses: ['10.0.0.1'], tcp: { recvBufferSize: 4 << 20 } });
  new Server(sender, {}, (s) => { s.end(Buffer.alloc(SIZE, 0x61)); }).listen(80);
  let got = 0, done = false;
  const c = Socket.connect(receiver, { host: '10.0.0.2', port: 80 });
  c.on('data', (d: Buffer) => { got += d.length; });
  c.on('end', () => { done = true; c.end(); });
  await net.runUntil(() => done, 60_000);
  const ms = net.now;
  const queueDropped = net.wire.counters(1, 0).queueDropped + net.wire.counters(0, 1).queueDropped;
  net.close();
  return { got, queueDropped, ms };
}

test('pacing: slow start on a long path with a shallow bottleneck queue drops far fewer packets than sending windows back to back', async () => {
  const paced = await transfer(true);
  const bursty = await transfer(false);
  assert.equal(paced.got, SIZE, 'everything delivered with pacing');
  assert.equal(bursty.got, SIZE, 'everything delivered without pacing');
  assert.ok(bursty.queueDropped >= 20, `without pacing slow start overflows the queue (${bursty.queueDropped} drops)`);
  assert.ok(paced.queueDropped * 10 <= bursty.queueDropped, `paced: ${paced.queueDropped} queue drops, unpaced: ${bursty.queueDropped}`);
  assert.ok(paced.ms < bursty.ms, `paced transfer done in ${paced.ms.toFixed(0)} ms, unpaced in ${bursty.ms.toFixed(0)} ms`);
});
