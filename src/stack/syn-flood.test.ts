import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import { Prng } from '../link/prng.js';
import { encodeTcpPacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { EMPTY, SYN } from '../wire/tcp-types.js';
import type { Stack } from './stack.js';
import { installSynFastPath } from './syn-fast-path.js';
import { installSynCookies } from './syn-cookies.js';

// Every stack made here has SYN cookies, as every stack in Node has (the Node entry installs them).
installSynCookies();

test('100 000 spoofed SYNs while a real client connects: the client succeeds through a cookie, state stays bounded', async () => {
  const net = new Network({ seed: 9, delayMs: 1 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'] });
  const client = net.addStack({ name: 'client', addresses: ['10.0.0.1'] });
  const backlog = 64;
  let accepted = 0;
  let payload = '';
  server.listen(80, { backlog, onConnection: (c) => { accepted++; c.handler = { onEvent() {}, onWritable() {}, onReadable() { payload += new TextDecoder().decode(c.tcp.read()); c.service(); } }; } });
  const prng = new Prng(77);
  const dst = parseAddress('10.0.0.2');
  const src = new Uint8Array(4);
  let maxConns = 0, maxHeap = 0;
  let conn: ReturnType<typeof client.connect> | null = null;
  for (let i = 0; i < 100_000; i++) {
    src[0] = 100 + (prng.nextU32() % 100); src[1] = prng.nextU32() & 0xff; src[2] = prng.nextU32() & 0xff; src[3] = 1 + (prng.nextU32() % 254);
    server.receive(encodeTcpPacket({ src, dst }, { srcPort: 1024 + (prng.nextU32() % 60000), dstPort: 80, seq: prng.nextU32(), ack: 0, flags: SYN, window: 65535, urgent: 0, options: { mss: 1460, sackPermitted: true, tsVal: prng.nextU32(), tsEcr: 0, wscale: 7 }, payload: EMPTY }));
    if (i === 50_000) {
      conn = client.connect({ host: '10.0.0.2', port: 80 });
    }
    if ((i & 255) === 0) { net.step(); maxConns = Math.max(maxConns, server.connectionCount); maxHeap = Math.max(maxHeap, server.timerHeapSize); }
  }
  await net.runUntil(() => conn!.state === 'ESTABLISHED' && accepted > 0, 60_000);
  assert.equal(conn!.state, 'ESTABLISHED');
  conn!.tcp.send(new TextEncoder().encode('still here'), net.now); conn!.service();
  await net.runUntil(() => payload === 'still here', 60_000);
  assert.equal(payload, 'still here');
  const k = server.counters;
  assert.ok(k.SyncookiesSent > 90_000, `cookies sent: ${k.SyncookiesSent}`);
  assert.equal(k.SyncookiesRecv, 1);
  // The stack's own accounting: SYN-RECEIVED entries never exceed the backlog, the limiter table is capped.
  assert.ok(maxConns <= backlog + 2, `max connections ${maxConns}`);
  assert.ok(server.rateLimiterSize <= 8192);
  assert.ok(maxHeap <= 4 * backlog + 1100, `timer heap ${maxHeap}`);
  // The spoofed entries are given up after the (short) SYN+ACK retransmission limit.
  await net.runUntil(() => server.connectionCount <= 1, 120_000);
  assert.ok(server.connectionCount <= 1, `left: ${server.connectionCount}`);
  assert.ok(k.SynRecvExpired >= backlog - 1);
  net.close();
});

test('SYNs from one source beyond the configured rate are dropped and counted', () => {
  const net = new Network({ seed: 1 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'], synRatePerSource: 10 });
  server.listen(80, { backlog: 1000 });
  const src = parseAddress('10.9.9.9'), dst = parseAddress('10.0.0.2');
  for (let i = 0; i < 50; i++) {
    server.receive(encodeTcpPacket({ src, dst }, { srcPort: 2000 + i, dstPort: 80, seq: i * 1000, ack: 0, flags: SYN, window: 1000, urgent: 0, options: {}, payload: EMPTY }));
  }
  assert.equal(server.counters.SynRateDrops, 40);
  assert.equal(server.connectionCount, 10);
  net.close();
});

test('without SYN cookies a full SYN queue drops SYNs (ListenDrops)', () => {
  const net = new Network({ seed: 1 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'], syncookies: false });
  server.listen(80, { backlog: 4 });
  const dst = parseAddress('10.0.0.2');
  for (let i = 0; i < 10; i++) {
    server.receive(encodeTcpPacket({ src: parseAddress(`10.1.0.${i + 1}`), dst }, { srcPort: 3000, dstPort: 80, seq: 1, ack: 0, flags: SYN, window: 1000, urgent: 0, options: {}, payload: EMPTY }));
  }
  assert.equal(server.connectionCount, 4);
  assert.equal(server.counters.ListenDrops, 6);
  assert.equal(server.counters.SyncookiesSent, 0);
  net.close();
});

test('during a SYN flood in virtual time every legitimate client completes its handshake and exchange', async () => {
  const net = new Network({ seed: 21, delayMs: 2 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'] });
  // The server's link takes batches of whole packets, as a TUN device does (the SYN-cookie fast path's output).
  const send = server.link!;
  let batches = 0;
  server.attach(send, { sendBatch: (buf, offsets, count) => { batches++; for (let i = 0; i < count; i++) send(buf.slice(offsets[2 * i]!, offsets[2 * i]! + offsets[2 * i + 1]!)); } });
  installSynFastPath(server); // as TunLink.attachStack does
  const CLIENTS = 24;
  const clients = Array.from({ length: CLIENTS }, (_, i) => net.addStack({ name: `client${i}`, addresses: [`10.0.${1 + (i >> 4)}.${1 + (i & 15)}`] }));
  const backlog = 128;
  const echoed = new Map<number, string>();
  server.listen(80, {
    backlog,
    onConnection: (c) => {
      c.handler = { onEvent() {}, onWritable() {}, onReadable() { const d = c.tcp.read(); if (d.length) { c.tcp.send(d, net.now); c.service(); } } };
    },
  });
  const prng = new Prng(4242);
  const dst = parseAddress('10.0.0.2');
  const src = new Uint8Array(4);
  const conns: Array<ReturnType<Stack['connect']>> = [];
  // 200 000 spoofed SYNs over 4 virtual seconds (50 000/s, far beyond the backlog), arriving in batches as a
  // TUN read returns them, half with no options (hping3's), the clients starting one after another while it runs.
  const FLOOD = 200_000, PER_MS = 50;
  const batch: Uint8Array[] = [];
  for (let i = 0; i < FLOOD; i++) {
    src[0] = 100 + (prng.nextU32() % 100); src[1] = prng.nextU32() & 0xff; src[2] = prng.nextU32() & 0xff; src[3] = 1 + (prng.nextU32() % 254);
    const options = i & 1 ? { mss: 1460, sackPermitted: true, tsVal: prng.nextU32(), tsEcr: 0, wscale: 7 } : {};
    batch.push(encodeTcpPacket({ src, dst }, { srcPort: 1024 + (prng.nextU32() % 60000), dstPort: 80, seq: prng.nextU32(), ack: 0, flags: SYN, window: 65535, urgent: 0, options, payload: EMPTY }));
    if (i % PER_MS === PER_MS - 1) {
      server.receiveBatch(batch.splice(0));
      await net.runUntil(() => false, net.now + 1); // one virtual millisecond
    }
    if (i % Math.floor(FLOOD / CLIENTS) === 1000 && conns.length < CLIENTS) {
      const k = conns.length;
      const c = clients[k]!.connect({ host: '10.0.0.2', port: 80 });
      let got = '';
      c.handler = {
        onEvent(ev) { if (ev.type === 'established') { c.tcp.send(new TextEncoder().encode(`client ${k}`), net.now); c.service(); } },
        onWritable() {},
        onReadable() { got += new TextDecoder().decode(c.tcp.read()); echoed.set(k, got); c.service(); },
      };
      conns.push(c);
    }
  }
  await net.runUntil(() => echoed.size === CLIENTS && [...echoed].every(([k, v]) => v === `client ${k}`), net.now + 30_000);
  assert.equal(conns.length, CLIENTS);
  for (const [k, c] of conns.entries()) {
    assert.equal(c.state, 'ESTABLISHED', `client ${k}`);
    assert.equal(echoed.get(k), `client ${k}`, `client ${k} exchanged data`);
  }
  const k = server.counters;
  assert.ok(k.SyncookiesSent > FLOOD / 2, `the flood was answered with cookies: ${k.SyncookiesSent}`);
  assert.ok(k.SynFastPath > FLOOD / 2, `by the fast path: ${k.SynFastPath}`);
  assert.ok(batches < FLOOD / PER_MS + 1000, `in batches: ${batches} link calls for ${k.SynFastPath} SYN+ACKs`);
  // Clients whose SYN found the queue full were answered with a cookie too (as Linux answers every SYN then),
  // and their ACK brought it back.
  assert.ok(k.SyncookiesRecv > 0 && k.SyncookiesFailed === 0, `cookies returned ${k.SyncookiesRecv}, failed ${k.SyncookiesFailed}`);
  net.close();
});

test('a SYN-cookie connection\'s first data passes the client\'s PAWS check: the cookie TSval is never ahead of the clock', async () => {
  // The cookie folds the client's options into the low 6 bits of our TSval (RFC 7323 allows any TSval clock);
  // Linux then takes 64 ticks off when that puts the TSval ahead of its clock (cookie_init_timestamp), or the
  // connection's next segments, stamped with the clock, would carry a smaller TSval than the SYN+ACK and fail
  // the client's PAWS test (RFC 7323 §5.3): their data resent only after a retransmission timeout.
  const net = new Network({ seed: 5, delayMs: 1 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'] });
  const CLIENTS = 64; // one per 1 ms tick: every value of the clock's low 6 bits
  const clients = Array.from({ length: CLIENTS }, (_, i) => net.addStack({ name: `client${i}`, addresses: [`10.0.1.${1 + i}`] }));
  server.listen(80, {
    backlog: 1,
    onConnection: (c) => { c.handler = { onEvent() {}, onWritable() {}, onReadable() {} }; c.tcp.send(new TextEncoder().encode('hello'), net.now); c.service(); },
  });
  // Keep the SYN queue full with a spoofed SYN that is never completed, so every client gets a cookie.
  const spoof = (i: number) => server.receive(encodeTcpPacket({ src: parseAddress(`192.0.2.${1 + (i % 200)}`), dst: parseAddress('10.0.0.2') }, { srcPort: 1000 + i, dstPort: 80, seq: i, ack: 0, flags: SYN, window: 65535, urgent: 0, options: {}, payload: EMPTY }));
  const got = new Map<number, number>(); // client -> ms from connect to the server's data
  for (let k = 0; k < CLIENTS; k++) {
    spoof(k);
    const t0 = net.now;
    const c = clients[k]!.connect({ host: '10.0.0.2', port: 80 });
    c.handler = { onEvent() {}, onWritable() {}, onReadable() { if (new TextDecoder().decode(c.tcp.read()) === 'hello') got.set(k, net.now - t0); c.service(); } };
    await net.runUntil(() => false, net.now + 1);
  }
  await net.runUntil(() => got.size === CLIENTS, net.now + 10_000);
  assert.ok(server.counters.SyncookiesRecv >= CLIENTS - 1, `cookies returned: ${server.counters.SyncookiesRecv}`);
  const late = [...got].filter(([, ms]) => ms > 100);
  assert.deepEqual(late, [], 'clients whose data waited for a retransmission [client, ms]');
  net.close();
});
