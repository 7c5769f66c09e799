/**
 * The output queue (ip-output.ts): to a link that takes several datagrams per call (LinkCapabilities.sendPackets),
 * what a receive batch, a timer wake-up or a turn of user code produces leaves in one call at its end, in the
 * order produced: the same datagrams, byte for byte and in the same order, as a link that takes them one by one
 * receives, and a pcapng tap records the same capture either way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from './stack.js';
import { VirtualClock } from './clock.js';
import type { StackConnection } from './connection.js';
import { PcapngTap } from '../link/pcapng-tap.js';
import { decodePacket } from '../wire/packet.js';
import { reuseOutputBuffers } from './ip-output.js';

/** A seeded source (xorshift32): both worlds draw the same ISNs, ports and secrets. */
function seeded(seed: number): (out: Uint8Array) => void {
  let x = seed >>> 0 || 1;
  return (out) => {
    for (let i = 0; i < out.length; i++) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      out[i] = x & 0xff;
    }
  };
}

const REQUEST = new TextEncoder().encode('GET /bytes/3000 HTTP/1.1\r\n\r\n');
const RESPONSE = new Uint8Array(3000).map((_, i) => (i * 7) & 0xff);

/**
 * A client stack opens `conns` connections to a server stack; each request is answered with 3000 bytes (three
 * segments at MSS 1460), then both sides close. Everything one side sent is delivered to the other as one
 * receive batch; timers run when nothing is in flight. `batching`: the server's link takes whole batches.
 * Returns what the server's link got (bytes, in order), the sizes of its calls, and the server's capture.
 */
function world(batching: boolean, conns = 6, reuse = false) {
  const clock = new VirtualClock(1000);
  const server = new Stack({ name: 'server', addresses: ['10.0.0.2'], clock, random: seeded(42) });
  const client = new Stack({ name: 'client', addresses: ['10.0.0.1'], clock, random: seeded(7) });
  const toServer: Uint8Array[] = [];
  const toClient: Uint8Array[] = [];
  const serverSent: Uint8Array[] = [];
  const calls: number[] = [];
  client.attach((p) => { toServer.push(p.slice()); });
  const one = (p: Uint8Array) => { serverSent.push(p.slice()); toClient.push(p.slice()); calls.push(1); };
  if (batching) {
    server.attach(() => assert.fail('whole datagrams go through sendPackets'), {
      sendPackets: (ps) => { calls.push(ps.length); for (const p of ps) { serverSent.push(p.slice()); toClient.push(p.slice()); } },
    });
  } else server.attach(one);
  if (reuse) reuseOutputBuffers(server);
  const tap = PcapngTap.inMemory();
  tap.attachStack(server);
  server.listen(80, {
    onConnection: (c: StackConnection) => {
      c.handler = {
        onEvent: () => undefined,
        onReadable: () => {
          c.tcp.read();
          c.tcp.send(RESPONSE, clock.now());
          c.tcp.close(clock.now());
          server.service(c);
        },
        onWritable: () => undefined,
      };
    },
  });
  const opened: StackConnection[] = [];
  for (let i = 0; i < conns; i++) {
    const c = client.connect({ host: '10.0.0.2', port: 80 });
    c.handler = {
      onEvent: (ev) => {
        if (ev.type === 'established') { c.tcp.send(REQUEST, clock.now()); client.service(c); }
        if (ev.type === 'eof') { c.tcp.close(clock.now()); client.service(c); }
      },
      onReadable: () => { c.tcp.read(); },
      onWritable: () => undefined,
    };
    opened.push(c);
  }
  for (let step = 0; step < 10_000; step++) {
    if (toServer.length) { server.receiveBatch(toServer.splice(0)); continue; }
    if (toClient.length) { client.receiveBatch(toClient.splice(0)); continue; }
    const next = clock.nextWake();
    if (next === Infinity || next > 200_000) break;
    clock.advanceTo(next);
  }
  return { serverSent, calls, capture: tap.bytes(), server, client, opened };
}

test('a receive batch hands the datagrams it produced to a batching link in one call, byte for byte and in the order of the unbatched path', () => {
  const on = world(true);
  const off = world(false);
  // The exchange completed: every response delivered, every connection closed.
  const data = on.serverSent.map((p) => decodePacket(p).tcp!.seg.payload.length).reduce((a, b) => a + b, 0);
  assert.equal(data, 6 * RESPONSE.length);
  assert.equal(on.server.connectionCount, 0);
  assert.equal(off.serverSent.length, on.serverSent.length);
  assert.deepEqual(on.serverSent, off.serverSent, 'the same datagrams in the same order');
  assert.ok(off.calls.every((n) => n === 1));
  assert.ok(on.calls.length < on.serverSent.length / 2, `fewer link calls than packets: ${on.calls.length} calls for ${on.serverSent.length} packets`);
  assert.ok(Math.max(...on.calls) >= 6 * 3, `a batch of six requests leaves as one call of their responses: ${on.calls.join(' ')}`);
});

test('with reused output buffers (a link that copies what it is handed), the link gets the same datagrams, also when a batch outgrows the buffer', () => {
  // 40 requests in one receive batch: their 120 000 bytes of responses outgrow the reused 64 KiB, so the queue is
  // handed over early, and the buffer reused, in the middle of the batch.
  for (const conns of [6, 40]) {
    const reused = world(true, conns, true);
    const off = world(false, conns);
    const data = reused.serverSent.map((p) => decodePacket(p).tcp!.seg.payload.length).reduce((a, b) => a + b, 0);
    assert.equal(data, conns * RESPONSE.length);
    assert.equal(reused.server.connectionCount, 0);
    assert.deepEqual(reused.serverSent, off.serverSent, `the same datagrams in the same order (${conns} connections)`);
    if (conns === 40) assert.ok(reused.calls.length > world(true, conns).calls.length, `an early hand-over when the buffer is full: ${reused.calls.join(' ')}`);
  }
});

test('reused output buffers: the datagrams of the next turn are encoded into the bytes the last hand-over used', async () => {
  const server = world(true, 0).server;
  reuseOutputBuffers(server);
  const calls: Array<{ buffer: ArrayBufferLike; offsets: number[]; ports: number[] }> = [];
  server.attach(() => assert.fail('whole datagrams go through sendPackets'), {
    // The link copies (decodes) what it is handed before it returns, as a TUN device's addon does.
    sendPackets: (ps) => { calls.push({ buffer: ps[0]!.buffer, offsets: ps.map((p) => p.byteOffset), ports: ps.map((p) => decodePacket(p.slice()).tcp!.seg.dstPort) }); },
  });
  for (const ports of [[443, 444], [445, 446, 447]]) {
    for (const port of ports) server.connect({ host: '10.0.0.9', port }); // user code: handed over at the end of the turn
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(calls.map((c) => c.ports), [[443, 444], [445, 446, 447]]);
  assert.equal(calls[1]!.buffer, calls[0]!.buffer, 'one buffer for both turns');
  assert.deepEqual(calls[1]!.offsets.slice(0, 2), calls[0]!.offsets, 'the second turn starts where the first did');
  server.destroy();
});

test('a pcapng tap records the same packets, in the same order and at the same times, with the output queue on or off', () => {
  const on = world(true);
  const off = world(false);
  assert.ok(on.capture.length > 1000);
  assert.deepEqual(on.capture, off.capture);
});

test('writes made by user code outside a receive batch leave together, at the end of the turn', async () => {
  const { server, clock } = (() => {
    const w = world(true, 0);
    return { server: w.server, clock: (w.server.clock as VirtualClock) };
  })();
  // Two connections opened by the server itself (active opens from user code): their SYNs wait for the turn's end.
  const calls: Uint8Array[][] = [];
  server.attach(() => assert.fail('whole datagrams go through sendPackets'), { sendPackets: (ps) => { calls.push(ps); } });
  server.connect({ host: '10.0.0.9', port: 443 });
  server.connect({ host: '10.0.0.9', port: 443 });
  assert.equal(calls.length, 0, 'nothing handed over during the turn');
  await new Promise((r) => setImmediate(r));
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]!.map((p) => decodePacket(p).tcp!.seg.flags), [0x02, 0x02]);
  // Switched off at run time: each datagram goes to the link at once, in a call of its own.
  server.outputBatching = false;
  const sent: Uint8Array[] = [];
  server.attach((p) => { sent.push(p); }, { sendPackets: () => assert.fail('the queue is off') });
  clock.advanceTo(clock.now() + 1500); // both SYNs are retransmitted (initial RTO 1 s)
  assert.equal(sent.length, 2);
});

test('a datagram that bypasses the queue (an ICMP echo reply) leaves after what was queued before it, as without the queue', () => {
  const run = (batching: boolean) => {
    const s = new Stack({ addresses: ['10.0.0.2'], clock: new VirtualClock(), random: seeded(3) });
    const order: string[] = [];
    const name = (p: Uint8Array) => (p[9] === 1 ? `icmp ${p.length}` : `tcp ${p.length}`);
    s.attach((p) => { order.push(`single ${name(p)}`); }, batching ? { sendPackets: (ps) => { order.push(`batch ${ps.map(name).join(', ')}`); } } : {});
    s.connect({ host: '10.0.0.9', port: 80 }); // queued until the end of this turn
    s.receive(echoRequest()); // its reply goes to the link at once
    return order;
  };
  const on = run(true), off = run(false);
  assert.deepEqual(on, ['batch tcp 60', 'single icmp 28']);
  assert.deepEqual(off, ['single tcp 60', 'single icmp 28']);
});

/** An ICMP echo request to the stack (10.0.0.9 → 10.0.0.2), no payload. */
function echoRequest(): Uint8Array {
  const p = new Uint8Array(28);
  p.set([0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 10, 0, 0, 9, 10, 0, 0, 2]);
  p.set([8, 0, 0, 0, 0x12, 0x34, 0, 1], 20);
  const ck = (b: Uint8Array, from: number, to: number) => {
    let sum = 0;
    for (let i = from; i < to; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    return ~sum & 0xffff;
  };
  const h = ck(p, 0, 20); p[10] = h >> 8; p[11] = h & 0xff;
  const i = ck(p, 20, 28); p[22] = i >> 8; p[23] = i & 0xff;
  return p;
}

test('destroy() hands what is queued to the link before it returns (the link may be closed right after)', () => {
  const w = world(true, 0);
  const server = w.server;
  const got: number[] = [];
  server.attach(() => assert.fail('whole datagrams go through sendPackets'), { sendPackets: (ps) => { for (const p of ps) got.push(decodePacket(p).tcp!.seg.flags); } });
  server.connect({ host: '10.0.0.9', port: 443 });
  server.connect({ host: '10.0.0.9', port: 443 });
  assert.deepEqual(got, [], 'queued until the end of the turn');
  server.destroy(); // aborts in SYN-SENT: no RST (RFC 9293 §3.10.5)
  assert.deepEqual(got, [0x02, 0x02], 'both SYNs handed over by destroy()');
});
