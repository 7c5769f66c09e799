/**
 * A stack's sockets autotune their receive buffer by default, as a Linux socket without SO_RCVBUF (dynamic
 * right-sizing, tcp_rcv_space_adjust; Node's net never sets SO_RCVBUF): a Socket that reads as data comes offers
 * 64 KiB at first and a window that grows with what it reads, up to recvBufferSize, and gets every byte in order.
 * `recvBufferAutotune: false` offers the whole recvBufferSize from the start. Windows as seen on the wire.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import type { TcpConfig } from '../tcp/config.js';
import { ACK, SYN } from '../wire/tcp-types.js';
import { decodePacket } from '../wire/packet.js';
import { Server } from './server.js';
import { Socket } from './socket.js';

const SIZE = 8 << 20;
const BUF = 16 << 20;

async function transfer(tcp: Partial<TcpConfig>) {
  const n = new Network({ seed: 5, delayMs: 5 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'], tcp: { recvBufferSize: BUF, ...tcp } });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  // The windows the receiving stack offers, scaled by the shift its SYN+ACK announced.
  let shift = 0;
  const windows: number[] = [];
  server.observePackets((dir, p) => {
    if (dir !== 'out') return;
    const seg = decodePacket(p).tcp!.seg;
    if (seg.flags & SYN) { shift = seg.options.wscale ?? 0; return; }
    if (seg.flags & ACK) windows.push(seg.window << shift);
  }, { headersOnly: true });
  const got: Buffer[] = [];
  let ended = false;
  new Server(server, {}, (s) => { s.on('data', (d: Buffer) => got.push(d)); s.on('end', () => { ended = true; s.end(); }); }).listen(7);
  const data = Buffer.alloc(SIZE);
  for (let i = 0; i < data.length; i++) data[i] = (i * 13 + (i >> 11)) & 0xff;
  const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => { s.end(data); });
  await n.runUntil(() => ended, 120_000);
  n.close();
  return { got: Buffer.concat(got), data, windows };
}

test('default configuration: the reading socket offers 64 KiB first, then a window that grows with what it reads, and gets every byte', async () => {
  const r = await transfer({});
  assert.ok(r.got.equals(r.data), 'every byte, in order');
  assert.ok(r.windows.length > 100);
  assert.ok(r.windows[0]! <= 64 << 10, `first window ${r.windows[0]}`);
  const max = Math.max(...r.windows);
  assert.ok(max > 4 * (64 << 10), `the window grew with the transfer: at most ${max}`);
  assert.ok(max < BUF, `not the whole recvBufferSize (${max} of ${BUF})`);
});

test('recvBufferAutotune: false: the whole recvBufferSize is offered from the first ACK, and every byte arrives', async () => {
  const r = await transfer({ recvBufferAutotune: false });
  assert.ok(r.got.equals(r.data), 'every byte, in order');
  assert.ok(r.windows[0]! > BUF - (256 << 10), `first window ${r.windows[0]}`);
});
