// Network's checksum offload alone (the default, without `offload`'s GSO/GRO): on a direction nobody can tell
// from a perfect one, TCP checksums are neither summed by the sender nor verified by the receiver, as on Linux's
// loopback; whoever can look (a wire tap, a stack's packet observer) sees complete ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from './network.js';
import { PcapngTap } from './pcapng-tap.js';
import { Wire } from './wire.js';
import { decodePacket, encodeTcpPacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { ACK, makeSegment } from '../wire/tcp-types.js';
import { readCapture } from '../wire/capture.js';
import type { ReceiveOptions, Stack } from '../stack/stack.js';

const MSS = 1460;

function pattern(len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (i * 131 + (i >>> 9)) & 0xff;
  return b;
}

function twoStacks(opts: ConstructorParameters<typeof Network>[0] = {}, typedSegments = true) {
  const n = new Network({ seed: 7, delayMs: 1, ...opts });
  n.typedSegments = typedSegments;
  const tcp = { mss: MSS, recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 };
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'], tcp });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'], tcp });
  return { n, server, client };
}

/** What `stack` is handed by the wire: whether each datagram's TCP checksum is complete, and whether it was vouched for. */
function watchReceive(stack: Stack): Array<{ payload: number; complete: boolean; vouched: boolean }> {
  const seen: Array<{ payload: number; complete: boolean; vouched: boolean }> = [];
  const receive = stack.receive.bind(stack);
  stack.receive = (packet: Uint8Array, opts?: ReceiveOptions) => {
    const d = decodePacket(packet);
    seen.push({ payload: d.tcp?.seg.payload.length ?? -1, complete: d.tcpChecksumOk, vouched: opts?.checksumVerified === true });
    receive(packet, opts);
  };
  return seen;
}

/** `data` from client to server and `reply` back over `n`; resolves with what each side read. */
async function exchange(n: Network, server: Stack, client: Stack, data: Uint8Array, reply: Uint8Array): Promise<{ atServer: Uint8Array; atClient: Uint8Array }> {
  const atServer: number[] = [];
  const atClient: number[] = [];
  let replied = 0;
  server.listen(80, {
    onConnection: (c) => {
      c.handler = {
        onEvent: () => undefined,
        onWritable: () => { if (replied < reply.length) { replied += c.tcp.send(reply.subarray(replied), n.now); c.service(); } },
        onReadable: () => {
          for (let d = c.tcp.read(); d.length > 0; d = c.tcp.read()) for (const b of d) atServer.push(b);
          if (replied < reply.length) replied += c.tcp.send(reply.subarray(replied), n.now);
          c.service();
        },
      };
    },
  });
  const c = client.connect({ host: '10.0.0.2', port: 80 });
  let sent = 0;
  const push = () => { if (c.state === 'ESTABLISHED' && sent < data.length) { sent += c.tcp.send(data.subarray(sent), n.now); c.service(); } };
  c.handler = {
    onEvent: push, onWritable: push,
    onReadable: () => { for (let d = c.tcp.read(); d.length > 0; d = c.tcp.read()) for (const b of d) atClient.push(b); c.service(); },
  };
  await n.runUntil(() => atServer.length === data.length && atClient.length === reply.length, 60_000);
  return { atServer: Uint8Array.from(atServer), atClient: Uint8Array.from(atClient) };
}

test('checksum offload (default): data crosses byte-equal both ways, no segment summed by its sender nor verified by its receiver', async () => {
  // Segments that cross as bytes (by default they cross as typed datagrams, never encoded: network-typed-segments).
  const { n, server, client } = twoStacks({}, false);
  const inServer = watchReceive(server);
  const inClient = watchReceive(client);
  const data = pattern(300 << 10);
  const reply = pattern(70 << 10).reverse();
  const got = await exchange(n, server, client, data, reply);
  assert.deepEqual(got.atServer, data);
  assert.deepEqual(got.atClient, reply);
  const all = [...inServer, ...inClient];
  assert.ok(all.filter((s) => s.payload > 0).length > (370 << 10) / MSS, 'every data segment was seen');
  assert.ok(all.every((s) => s.vouched), 'the receiver is told the link vouches for every checksum');
  // A complete checksum would mean the sender summed the segment for nothing (the field holds the pseudo-header sum).
  assert.ok(all.filter((s) => s.payload > 0).every((s) => !s.complete), 'no data segment was summed by its sender');
  assert.ok(all.every((s) => s.payload <= MSS), 'no GSO/GRO without `offload`');
  for (const s of [server, client]) { assert.equal(s.counters.InCsumErrors, 0); assert.equal(s.stats.InErrs, 0); }
  n.close();
});

test('checksum offload with a pcapng tap on the wire: every captured segment has a complete, valid checksum; data byte-equal', async () => {
  const { n, server, client } = twoStacks();
  const tap = PcapngTap.inMemory();
  tap.attachWire(n.wire);
  const inServer = watchReceive(server);
  const data = pattern(200 << 10);
  const reply = pattern(3000);
  const got = await exchange(n, server, client, data, reply);
  assert.deepEqual(got.atServer, data);
  assert.deepEqual(got.atClient, reply);
  let frames = 0;
  for (const rec of readCapture(tap.close()!)) {
    const d = decodePacket(rec.data);
    assert.ok(d.tcp !== null && d.tcpChecksumOk, `frame ${rec.frame}: complete TCP checksum`);
    frames++;
  }
  assert.ok(frames > (203 << 10) / MSS, 'every segment was captured');
  assert.ok(inServer.every((s) => s.complete && !s.vouched), 'an observed wire carries complete checksums, verified on arrival');
  n.close();
});

test('checksum offload with a pcapng tap on a stack: the tap sees complete checksums both ways', async () => {
  const { n, server, client } = twoStacks();
  const tap = PcapngTap.inMemory();
  tap.attachStack(server);
  const data = pattern(64 << 10);
  const reply = pattern(5000);
  const got = await exchange(n, server, client, data, reply);
  assert.deepEqual(got.atServer, data);
  assert.deepEqual(got.atClient, reply);
  let frames = 0;
  for (const rec of readCapture(tap.close()!)) {
    assert.ok(decodePacket(rec.data).tcpChecksumOk, `frame ${rec.frame}: complete TCP checksum`);
    frames++;
  }
  assert.ok(frames > (69 << 10) / MSS);
  n.close();
});

test('checksum offload on a corrupting wire: segments leave with complete checksums, corruption is caught and repaired', async () => {
  const { n, server, client } = twoStacks({ impairments: { corrupt: 0.03 } });
  const inServer = watchReceive(server);
  const data = pattern(128 << 10);
  const got = await exchange(n, server, client, data, pattern(100));
  assert.deepEqual(got.atServer, data);
  assert.ok(inServer.every((s) => !s.vouched), 'nothing is vouched for on an impaired direction');
  assert.ok(server.counters.InCsumErrors + server.stats.InErrs > 0, 'corrupted segments were dropped by the checksum');
  n.close();
});

test('checksumOffload: false: every segment crosses with a complete checksum and is verified', async () => {
  const { n, server, client } = twoStacks({ checksumOffload: false });
  const inServer = watchReceive(server);
  const data = pattern(32 << 10);
  const got = await exchange(n, server, client, data, pattern(10));
  assert.deepEqual(got.atServer, data);
  assert.ok(inServer.length > 0 && inServer.every((s) => s.complete && !s.vouched));
  n.close();
});

test('Wire.sendIfTransparent: sends with its meta exactly when transparent() holds; otherwise sends nothing and counts nothing', () => {
  const A = parseAddress('10.0.0.1');
  const B = parseAddress('10.0.0.2');
  const metas: number[] = [];
  const wire = new Wire({ seed: 1, impairments: { delayMs: 2 } });
  const a = wire.attach({ deliver() {} }, A);
  const b = wire.attach({ deliver(_p, t, meta) { metas.push(meta, t); } }, B);
  const p = () => encodeTcpPacket({ src: A, dst: B }, makeSegment({ srcPort: 1, dstPort: 2, seq: 1, ack: 1, flags: ACK, window: 10, payload: new Uint8Array(4) }));
  assert.equal(wire.sendIfTransparent(a, p(), 1, 9), true);
  wire.runUntilIdle();
  assert.deepEqual(metas, [9, 3], 'delivered after the fixed delay with its meta');
  assert.equal(wire.counters(a, b).sent, 1);
  for (const imp of [{ loss: 0.5 }, { bandwidthBps: 1e9 }, { jitterMs: 1 }]) {
    wire.impair(a, b, imp);
    assert.equal(wire.sendIfTransparent(a, p(), 5, 9), false, JSON.stringify(imp));
    wire.impair(a, b, { loss: 0, bandwidthBps: 0, jitterMs: 0 });
  }
  const stop = wire.observe(() => undefined);
  assert.equal(wire.sendIfTransparent(a, p(), 5, 9), false, 'an observed wire');
  stop();
  const nowhere = encodeTcpPacket({ src: A, dst: parseAddress('10.9.9.9') }, makeSegment({ srcPort: 1, dstPort: 2, seq: 1, ack: 1, flags: ACK, window: 10 }));
  assert.equal(wire.sendIfTransparent(a, nowhere, 5, 9), false, 'unroutable');
  assert.equal(wire.counters(a, b).sent, 1, 'refused packets are not counted');
  assert.equal(wire.inFlight, 0);
});
