import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, PSH, SYN } from '../wire/tcp-types.js';
import { ipHost, seg, tcpFrom } from './ip-test-peer.js';

/** A SYN whose options area holds `opts` (padded with EOL to a multiple of 4) after what tcpFrom encodes. */
function synWithRawOptions(opts: number[], flags = SYN, seq = 1000, ack = 0, payload = new Uint8Array(0)): Uint8Array {
  const padded = [...opts];
  while (padded.length % 4) padded.push(0);
  const base = tcpFrom(4, seg({ flags, seq, ack, payload }));
  const p = new Uint8Array(base.length + padded.length);
  p.set(base.subarray(0, 40), 0);
  p.set(padded, 40);
  p.set(base.subarray(40), 40 + padded.length);
  p[32] = ((20 + padded.length) / 4) << 4;
  const total = p.length; p[2] = total >> 8; p[3] = total & 0xff;
  fixChecksums(p);
  return p;
}

function fixChecksums(p: Uint8Array): void {
  const sum = (from: number, to: number, init = 0): number => {
    let s = init;
    for (let i = from; i < to; i += 2) s += (p[i]! << 8) | (i + 1 < to ? p[i + 1]! : 0);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    return s;
  };
  p[10] = 0; p[11] = 0;
  const ih = ~sum(0, 20) & 0xffff; p[10] = ih >> 8; p[11] = ih & 0xff;
  p[36] = 0; p[37] = 0;
  const tcpLen = p.length - 20;
  const pseudo = sum(12, 20) + 6 + tcpLen;
  const tc = ~sum(20, p.length, pseudo) & 0xffff; p[36] = tc >> 8; p[37] = tc & 0xff;
}

const MALFORMED_SYNS: Array<[string, number[], number]> = [
  // [name, option bytes, the MSS synack then uses for its data segments... here: the SYN+ACK must come]
  ['MSS of length 0', [2, 0, 5, 0xb4], 0],
  ['MSS of length 3', [2, 3, 5, 1, 1, 1, 1, 1], 0],
  ['SACK-permitted of length 4', [4, 4, 0, 0, 2, 4, 5, 0xb4], 1460],
  ['an option running past the header', [2, 4, 5, 0xb4, 1, 1, 8, 10, 0, 0], 1460],
  ['an unknown option', [0xfd, 6, 1, 2, 3, 4, 2, 4, 5, 0xb4], 1460],
  ['window scale 15', [1, 3, 3, 15, 2, 4, 5, 0xb4], 1460],
  ['MSS 0', [2, 4, 0, 0], 0],
  // Absurdly small: raised to Linux's floor, net.ipv4.tcp_min_snd_mss = 48.
  ['MSS 1', [2, 4, 0, 1], 48],
];

for (const [name, opts, mss] of MALFORMED_SYNS) {
  test(`a SYN with ${name} is answered, the bad option skipped (as Linux's tcp_parse_options)`, () => {
    const h = ipHost();
    h.stack.listen(80, { onConnection: (c) => { c.tcp.send(new Uint8Array(4000), h.clock.now()); c.service(); } });
    h.stack.receive(synWithRawOptions(opts));
    assert.equal(h.out.length, 1, 'SYN+ACK');
    const synack = h.out.pop()!.tcp!;
    assert.equal(synack.flags, SYN | ACK);
    // Complete the handshake; the segments the stack then sends show the MSS it took from the SYN: without a
    // usable MSS option, RFC 9293 §3.7.1's default of 536.
    h.stack.receive(tcpFrom(4, seg({ flags: ACK, seq: 1001, ack: synack.seq + 1, window: 65535 })));
    const sizes = h.out.filter((o) => o.tcp && o.tcp.payload.length > 0).map((o) => o.tcp!.payload.length);
    assert.ok(sizes.length > 0);
    assert.equal(Math.max(...sizes), mss || 536);
    if (name === 'window scale 15') assert.equal([...h.stack.allConnections()][0]!.tcp.sndShift, 14, 'RFC 7323 §2.3: treated as 14');
  });
}

for (const [name, opts] of [['an option of length 0', [8, 0]], ['an option past the header', [1, 1, 5, 30]]] as const) {
  test(`a data segment with ${name} is accepted and its data delivered`, () => {
    const h = ipHost();
    let conn: import('./stack.js').StackConnection | null = null;
    h.stack.listen(80, { onConnection: (c) => { conn = c; } });
    h.stack.receive(tcpFrom(4, seg({ flags: SYN, options: { mss: 1460 } })));
    const iss = h.out.pop()!.tcp!.seq;
    h.stack.receive(tcpFrom(4, seg({ flags: ACK, seq: 1001, ack: iss + 1 })));
    h.stack.receive(synWithRawOptions([...opts], ACK | PSH, 1001, iss + 1, new TextEncoder().encode('hello')));
    assert.ok(conn);
    assert.equal(new TextDecoder().decode((conn as import('./stack.js').StackConnection).tcp.read()), 'hello');
  });
}
