/**
 * A stack's sockets autotune their send buffer by default, as a Linux socket without SO_SNDBUF (tcp_sndbuf_expand;
 * Node's net never sets SO_SNDBUF): a Socket that writes 4 MiB at once has the engine hold at most
 * 2 · max(10, cwnd in segments) · MSS of it, the rest waits in the Writable until ACKs make room, and the peer
 * receives every byte in order. `sendBufferAutotune: false` keeps the fixed buffer (sendBufferSize taken at once).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import type { TcpConfig } from '../tcp/config.js';
import { Server } from './server.js';
import { Socket } from './socket.js';

const BIG = 4 << 20;

function transfer(seed: number, tcp?: Partial<TcpConfig>) {
  const n = new Network({ seed, delayMs: 1 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'], ...(tcp ? { tcp } : {}) });
  const got: Buffer[] = [];
  let ended = false;
  new Server(server, {}, (s) => { s.on('data', (d: Buffer) => got.push(d)); s.on('end', () => { ended = true; s.end(); }); }).listen(7);
  const data = Buffer.alloc(BIG);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 12)) & 0xff;
  // What the engine and the Writable hold right after the one write() call.
  const atWrite = { queued: -1, waiting: -1, mss: 0 };
  const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => {
    s.end(data);
    const t = s.conn!.tcp;
    atWrite.queued = t.sendQueued;
    atWrite.waiting = s.writableLength;
    atWrite.mss = t.sndMss;
  });
  return { n, s, got, data, atWrite, ended: () => ended };
}

test('default configuration: a 4 MiB write leaves at most 2 · max(10, cwnd) · MSS in the engine, the rest waits in the Writable, and arrives intact', async () => {
  const { n, s, got, data, atWrite, ended } = transfer(21);
  let samples = 0, over = '', maxQueued = 0, waitedWhileFull = 0;
  await n.runUntil(() => {
    const t = s.conn?.tcp;
    if (t && atWrite.queued >= 0 && t.sendQueued > 0) {
      // Read cwnd without creating the controller early (it is created on first use): none yet is the initial 10.
      const segs = t.ccCreated ? Math.ceil(t.congestionWindow / t.sndMss) : 10;
      const limit = 2 * Math.max(10, segs) * t.sndMss;
      if (t.sendQueued > limit && over === '') over = `${t.sendQueued} B queued with cwnd ${segs} segments (limit ${limit})`;
      maxQueued = Math.max(maxQueued, t.sendQueued);
      if (s.writableLength > t.sendQueued) waitedWhileFull++;
      samples++;
    }
    return ended();
  }, 120_000);
  assert.ok(Buffer.concat(got).equals(data), 'every byte, in order');
  // MSS 1460 less 12 for timestamps.
  assert.equal(atWrite.mss, 1448);
  assert.equal(atWrite.queued, 2 * 10 * 1448, 'the write hands the engine two initial windows');
  assert.equal(atWrite.waiting, BIG, 'the whole write is pending in the Writable (its callback waits for the rest)');
  assert.ok(samples > 100, `sampled along the transfer (${samples})`);
  assert.equal(over, '', 'the engine never held more than two congestion windows');
  assert.ok(maxQueued > 2 * 2 * 10 * 1448, `the limit grew with cwnd (${maxQueued} B at most)`);
  assert.ok(maxQueued < 1 << 20, 'never the whole sendBufferSize (1 MiB) at once');
  assert.ok(waitedWhileFull > 50, 'the rest waited in the Writable while the engine held its share');
  n.close();
});

test('sendBufferAutotune: false: the same write fills the whole sendBufferSize at once, and arrives intact', async () => {
  const { n, got, data, atWrite, ended } = transfer(21, { sendBufferAutotune: false });
  await n.runUntil(() => ended(), 120_000);
  assert.ok(Buffer.concat(got).equals(data), 'every byte, in order');
  assert.equal(atWrite.queued, 1 << 20, 'the default sendBufferSize, taken in one call');
  n.close();
});
