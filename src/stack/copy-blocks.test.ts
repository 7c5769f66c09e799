/** Copy blocks (copy-blocks.ts): what the engine takes of a large write is the writer's no more, and a block goes back to the pool only when every byte of it is acknowledged. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import { CopyBlocks, FIRST_COPY_BLOCK, MAX_COPY_BLOCK, giveCopyBlock, takeCopyBlock } from './copy-blocks.js';
import type { StackConnection } from './stack.js';

/**
 * Every size class's newest spare blocks (the pool hands out the last given first) are taken, overwritten and
 * given back: what a block released too early still had to send or retransmit would reach the peer overwritten.
 */
function scribble(): void {
  for (let size = FIRST_COPY_BLOCK; size <= MAX_COPY_BLOCK; size *= 2) {
    const taken = [takeCopyBlock(size), takeCopyBlock(size)];
    for (const b of taken) new Uint8Array(b).fill(0xee);
    for (const b of taken.reverse()) giveCopyBlock(b);
  }
}

test('large writes through copy blocks reach the peer intact under loss while the writer reuses its buffer and released blocks are overwritten at once', async () => {
  const net = new Network({ seed: 11, delayMs: 5, impairments: { loss: 0.02 } });
  const server = net.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = net.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  const TOTAL = 1 << 20, WRITE = 100_000;
  const want = new Uint8Array(TOTAL).map((_, i) => (i * 31 + (i >> 9)) & 0xff);
  const parts: Uint8Array[] = [];
  let got = 0;
  server.listen(9, {
    onConnection: (c) => {
      c.handler = {
        onEvent() {},
        onReadable() {
          for (let d = c.tcp.read(65536); d.length > 0; d = c.tcp.read(65536)) { parts.push(d.slice()); got += d.length; }
          c.service();
        },
        onWritable() {},
      };
    },
  });
  const c: StackConnection = client.connect({ host: '10.0.0.2', port: 9 });
  const blocks = new CopyBlocks();
  const writer = want.slice();
  let off = 0;
  const pump = (): void => {
    while (off < TOTAL) {
      const n = blocks.send(c.tcp, writer.subarray(off, Math.min(off + WRITE, TOTAL)), client.clock.now());
      // Handed over: the writer may reuse that part of its buffer at once.
      writer.fill(0xaa, off, off + n);
      off += n;
      if (n === 0) break;
    }
    c.service();
  };
  c.handler = {
    onEvent(ev) { if (ev.type === 'established') pump(); },
    onReadable() {},
    onWritable() { blocks.release(c.tcp); scribble(); pump(); },
  };
  await net.runUntil(() => got >= TOTAL, 600_000);
  assert.equal(got, TOTAL);
  assert.ok(c.tcp.stats.RetransSegs > 0, 'some segments were retransmitted (read again from the blocks)');
  const all = new Uint8Array(TOTAL);
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  assert.ok(all.every((b, i) => b === want[i]), 'every byte the peer received is the byte written');
  net.close();
});
