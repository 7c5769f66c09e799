/**
 * The engine's answer to arriving segments (an ACK it decided to send) leaves in a link call of its own before
 * the application's handlers run (Stack.endBatch, Stack.receive), as Linux ACKs from softirq before the reader
 * wakes; what the handlers write leaves in a second call. An ACK the engine holds (delayed ACK, RFC 9293
 * §3.8.6.3) still rides on the response: no call and no segment more. And RealClock: a deadline moved later
 * keeps the armed host timer, yet the callback never runs before the deadline; one moved earlier runs on time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from './stack.js';
import { RealClock, VirtualClock } from './clock.js';
import type { StackConnection } from './connection.js';
import type { TcpConfig } from '../tcp/config.js';
import { decodePacket } from '../wire/packet.js';
import { ACK } from '../wire/tcp-types.js';

/** A seeded source (xorshift32). */
function seeded(seed: number): (out: Uint8Array) => void {
  let x = seed >>> 0 || 1;
  return (out) => {
    for (let i = 0; i < out.length; i++) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      out[i] = x & 0xff;
    }
  };
}

type Seg = { len: number; ack: number; flags: number; port: number };

/**
 * A server stack behind a link that takes several datagrams per call (a TUN device's sendPackets), `conns`
 * established connections from a client stack, and a server application that answers every chunk it reads
 * with RESPONSE_LEN bytes from its 'readable' handler. Returns the world; `calls` are the server link's calls
 * from the moment `calls.length = 0` is set, each the segments it carried.
 */
const RESPONSE_LEN = 100;
function world(conns: number, tcp: Partial<TcpConfig> = {}) {
  const clock = new VirtualClock(1000);
  const server = new Stack({ name: 'server', addresses: ['10.0.0.2'], clock, random: seeded(42), tcp });
  const client = new Stack({ name: 'client', addresses: ['10.0.0.1'], clock, random: seeded(7) });
  const toServer: Uint8Array[] = [];
  const toClient: Uint8Array[] = [];
  const calls: Seg[][] = [];
  client.attach((p) => { toServer.push(p.slice()); });
  server.attach(() => assert.fail('whole datagrams go through sendPackets'), {
    sendPackets: (ps) => {
      calls.push(ps.map((p) => { const s = decodePacket(p).tcp!.seg; return { len: s.payload.length, ack: s.ack, flags: s.flags, port: s.dstPort }; }));
      for (const p of ps) toClient.push(p.slice());
    },
  });
  const handlerRan: number[] = []; // link calls made before each handler ran
  server.listen(80, {
    onConnection: (c: StackConnection) => {
      c.handler = {
        onEvent: () => undefined,
        onReadable: () => {
          handlerRan.push(calls.length);
          while (c.tcp.readableLength > 0) c.tcp.read();
          c.tcp.send(new Uint8Array(RESPONSE_LEN), clock.now());
          server.service(c);
        },
        onWritable: () => undefined,
      };
    },
  });
  const opened: StackConnection[] = [];
  for (let i = 0; i < conns; i++) {
    const c = client.connect({ host: '10.0.0.2', port: 80 });
    c.handler = { onEvent: () => undefined, onReadable: () => { c.tcp.read(); }, onWritable: () => undefined };
    opened.push(c);
  }
  const pump = () => {
    for (let step = 0; step < 1000 && (toServer.length || toClient.length); step++) {
      if (toServer.length) server.receiveBatch(toServer.splice(0));
      if (toClient.length) client.receiveBatch(toClient.splice(0));
    }
  };
  pump();
  for (const c of opened) assert.equal(c.tcp.state, 'ESTABLISHED');
  calls.length = 0;
  return { clock, server, client, opened, calls, toServer, toClient, handlerRan };
}

test('a receive batch: the ACK the engine decided leaves in a link call before the application handler runs, its response in a second call', () => {
  const w = world(1);
  const c = w.opened[0]!;
  // Two full-sized segments: the engine ACKs at once (at least every second full-sized segment, RFC 9293 §3.8.6.3).
  c.tcp.send(new Uint8Array(2 * c.tcp.config.mss), w.clock.now());
  w.client.service(c);
  assert.ok(w.toServer.length >= 2);
  w.server.receiveBatch(w.toServer.splice(0));
  assert.equal(w.calls.length, 2, `two link calls: ${JSON.stringify(w.calls)}`);
  const [acks, response] = w.calls as [Seg[], Seg[]];
  assert.deepEqual(acks.map((s) => s.len), [0], 'the first call: the pure ACK alone');
  assert.equal(acks[0]!.ack, c.tcp.sndNxt, 'it acknowledges both segments');
  assert.deepEqual(w.handlerRan, [1], 'the handler ran after the ACK was handed to the link');
  assert.deepEqual(response.map((s) => s.len), [RESPONSE_LEN], 'the second call: the response');
});

test('a batch over several connections: every ACK leaves, in one call, before any handler runs', () => {
  const w = world(3);
  for (const c of w.opened) { c.tcp.send(new Uint8Array(2 * c.tcp.config.mss), w.clock.now()); w.client.service(c); }
  w.server.receiveBatch(w.toServer.splice(0));
  assert.deepEqual(w.calls.map((call) => call.map((s) => s.len)), [[0, 0, 0], [RESPONSE_LEN, RESPONSE_LEN, RESPONSE_LEN]]);
  assert.deepEqual(w.handlerRan, [1, 1, 1]);
});

test('a single datagram (receive): an ACK the engine sends at once (quick-ACK) leaves before the handler runs', () => {
  const w = world(1, { quickAckSegments: 16 });
  const c = w.opened[0]!;
  c.tcp.send(new Uint8Array(10), w.clock.now());
  w.client.service(c);
  assert.equal(w.toServer.length, 1);
  w.server.receive(w.toServer.pop()!);
  assert.deepEqual(w.calls.map((call) => call.map((s) => s.len)), [[0], [RESPONSE_LEN]]);
  assert.deepEqual(w.handlerRan, [1]);
});

test('delayed ACK: a request answered from its handler carries the ACK, in one call and one segment, batched or not', () => {
  for (const batch of [false, true]) {
    const w = world(2);
    const sent: number[] = [];
    for (const c of w.opened) { c.tcp.send(new Uint8Array(10), w.clock.now()); w.client.service(c); sent.push(c.tcp.sndNxt); }
    if (batch) w.server.receiveBatch(w.toServer.splice(0));
    else for (const p of w.toServer.splice(0)) w.server.receive(p);
    const expected = batch ? [[RESPONSE_LEN, RESPONSE_LEN]] : [[RESPONSE_LEN], [RESPONSE_LEN]];
    assert.deepEqual(w.calls.map((call) => call.map((s) => s.len)), expected, `no pure ACK, no extra call (batch ${batch})`);
    for (const s of w.calls.flat()) {
      assert.ok(s.flags & ACK);
      assert.equal(s.ack, sent[w.opened.findIndex((c) => c.localPort === s.port)], 'the response acknowledges the request');
    }
  }
});

/** Waits `ms` of host time. */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('RealClock: a deadline moved later keeps its timer but never calls back before it; one moved earlier calls back on time', async () => {
  const clock = new RealClock();
  // Moved later, several times (as a stack's retransmission deadline at each batch): one call, at or after the last.
  let calledAt = -1, calls = 0;
  const later = () => { calledAt = clock.now(); calls++; };
  const t0 = clock.now();
  clock.wakeAt(t0 + 10, later);
  clock.wakeAt(t0 + 20, later);
  clock.wakeAt(t0 + 40, later);
  await sleep(80);
  assert.equal(calls, 1);
  assert.ok(calledAt >= t0 + 40, `called at +${(calledAt - t0).toFixed(2)} ms, wanted no earlier than +40`);

  // Moved earlier: called by the earlier deadline, not the first one.
  let earlyAt = -1;
  const earlier = () => { earlyAt = clock.now(); };
  const t1 = clock.now();
  clock.wakeAt(t1 + 300, earlier);
  clock.wakeAt(t1 + 15, earlier);
  await sleep(150);
  assert.ok(earlyAt >= t1 + 15 && earlyAt < t1 + 150, `called at +${(earlyAt - t1).toFixed(2)} ms, wanted from +15 (well before +300)`);

  // Disarmed after being moved later: never called.
  let disarmed = 0;
  const gone = () => { disarmed++; };
  const t2 = clock.now();
  clock.wakeAt(t2 + 10, gone);
  clock.wakeAt(t2 + 30, gone);
  clock.wakeAt(Infinity, gone);
  await sleep(60);
  assert.equal(disarmed, 0);
  // And armed again afterwards: called once.
  clock.wakeAt(clock.now() + 5, gone);
  await sleep(40);
  assert.equal(disarmed, 1);
});

test('RealClock: moving a deadline later creates no host timer', () => {
  const clock = new RealClock();
  const made: number[] = [];
  const realSet = globalThis.setTimeout;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => { made.push(ms ?? 0); return realSet(fn, ms); }) as typeof setTimeout;
  try {
    const cb = () => undefined;
    const t = clock.now();
    for (let i = 1; i <= 100; i++) clock.wakeAt(t + 200 + i, cb);
    assert.equal(made.length, 1, 'one timer for a hundred later moves');
    clock.wakeAt(t + 50, cb);
    assert.equal(made.length, 2, 'an earlier deadline arms a new one');
    clock.wakeAt(Infinity, cb);
  } finally {
    globalThis.setTimeout = realSet;
  }
});
