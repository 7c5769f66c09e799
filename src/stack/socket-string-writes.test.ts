/**
 * String writes: the Socket takes strings as net.Socket does (decodeStrings off) and encodes them itself, small
 * ones into a scratch shared by every socket. Whatever the path (a single write, a corked batch, a write left
 * waiting on a full send buffer while other sockets write), the peer receives exactly Buffer.from(string,
 * encoding) for every encoding net.Socket#write accepts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import { Server } from './server.js';
import { Socket } from './socket.js';
import type { Stack } from './stack.js';

const ENCODINGS = ['utf8', 'utf-8', 'latin1', 'binary', 'ascii', 'hex', 'base64', 'base64url', 'ucs2', 'utf16le'] as const;

/** Strings of every kind of unit: ASCII, Latin-1, BMP, astral pairs, a lone surrogate; odd hex, base64 with padding and whitespace. */
function samples(enc: string, size: number): string[] {
  const text = 'a\u00e9\u20ac\ud83d\ude00\ud800z';
  const grow = (unit: string) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
  if (enc === 'hex') return ['0', 'abc', 'deadBEEF', grow('0123456789abcdef'), 'zz12'];
  if (enc === 'base64' || enc === 'base64url') return ['', 'QQ==', 'QUJD\nREVG', grow('SGVsbG8gd29ybGQh'), 'a-b_c+d/'];
  // Short ASCII ones too: the scratch copies those itself (copyAscii), unless non-ASCII follows ASCII ('ab\u00e9').
  return ['', text, grow(text), grow('x'), '\ud800', 'ok', 'GET /x HTTP/1.1', 'ab\u00e9', '\u007f\u0080'];
}

function pair(sendBufferSize = 1 << 20) {
  const n = new Network({ seed: 7, delayMs: 1 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'], tcp: { sendBufferSize } });
  return { n, server, client };
}

/** A server that collects each connection's bytes until its FIN, keyed by the client's port. */
function collector(stack: Stack) {
  const got = new Map<number, Buffer[]>();
  const ended = new Set<number>();
  new Server(stack, {}, (s) => {
    const port = s.remotePort!;
    got.set(port, []);
    s.on('data', (d: Buffer) => got.get(port)!.push(Buffer.from(d)));
    s.on('end', () => { ended.add(port); s.end(); });
  }).listen(7);
  return { got: (p: number) => Buffer.concat(got.get(p) ?? []), ended };
}

for (const size of [100, 5000]) {
  test(`node:net Socket: string writes of ${size} units deliver Buffer.from(string, encoding) in every encoding, one by one and corked`, async () => {
    const { n, server, client } = pair();
    const peer = collector(server);
    const sockets: Array<{ s: Socket; want: Buffer }> = [];
    for (const enc of ENCODINGS) {
      for (const corked of [false, true]) {
        const strings = samples(enc, size);
        const want = Buffer.concat(strings.map((x) => Buffer.from(x, enc)));
        const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => {
          if (corked) s.cork();
          for (const x of strings) s.write(x, enc);
          if (corked) s.uncork();
          s.end();
        });
        sockets.push({ s, want });
      }
    }
    await n.runUntil(() => peer.ended.size === sockets.length, 60_000);
    for (const { s, want } of sockets) assert.ok(peer.got(s.localPort!).equals(want), `port ${s.localPort}: the bytes Buffer.from gives`);
    n.close();
  });
}

test('node:net Socket: a corked batch of small strings larger than the encoding scratch arrives intact', async () => {
  const { n, server, client } = pair();
  const peer = collector(server);
  // 40 strings of 1 500 bytes (500 three-byte characters): 60 000 bytes in one _writev.
  const strings = Array.from({ length: 40 }, (_, i) => String.fromCharCode(0x4e00 + i).repeat(500));
  const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => {
    s.cork();
    for (const x of strings) s.write(x);
    s.uncork();
    s.end();
  });
  await n.runUntil(() => peer.ended.size === 1, 60_000);
  assert.ok(peer.got(s.localPort!).equals(Buffer.from(strings.join(''))));
  n.close();
});

test('node:net Socket: string writes left waiting on a full send buffer keep their bytes while other sockets write strings', async () => {
  // A 4 KiB send buffer: a corked batch of 1 000-byte strings is taken in part, the rest waits for ACKs while a
  // second socket's writes encode through the same scratch.
  const { n, server, client } = pair(4096);
  const peer = collector(server);
  const mine = Array.from({ length: 12 }, (_, i) => String.fromCharCode(0x61 + i).repeat(1000));
  const theirs = Array.from({ length: 12 }, (_, i) => String.fromCharCode(0x41 + i).repeat(1000));
  let bReady = false;
  const b = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => { bReady = true; });
  await n.runUntil(() => bReady, 10_000);
  const a = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => {
    a.cork();
    for (const x of mine) a.write(x, 'latin1');
    a.uncork();
    a.end();
    // While a's rest waits on its full buffer, b's strings go through the scratch.
    for (const x of theirs) b.write(x, 'latin1');
    b.end();
  });
  await n.runUntil(() => peer.ended.size === 2, 60_000);
  assert.ok(peer.got(a.localPort!).equals(Buffer.from(mine.join(''), 'latin1')), 'the waiting socket\'s bytes');
  assert.ok(peer.got(b.localPort!).equals(Buffer.from(theirs.join(''), 'latin1')), 'the other socket\'s bytes');
  n.close();
});
