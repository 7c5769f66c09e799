// Network({ offload: true }): checksum offload and GSO/GRO between in-process stacks, as Linux's loopback and veth
// have them, used only where nobody can tell (no impairment but delay, no observer on the wire).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from './network.js';
import { PcapngTap } from './pcapng-tap.js';
import { Wire, type WireEndpoint } from './wire.js';
import { decodePacket, encodeTcpPacket } from '../wire/packet.js';
import { readCapture } from '../wire/capture.js';
import { parseAddress } from '../wire/address.js';
import { ACK, makeSegment } from '../wire/tcp-types.js';
import type { Stack } from '../stack/stack.js';

const MSS = 1460;

/** `bytes` from client to server over `n`; resolves with what the server read. */
async function transfer(n: Network, server: Stack, client: Stack, bytes: Uint8Array): Promise<Uint8Array> {
  const got: Uint8Array[] = [];
  let have = 0;
  server.listen(80, {
    onConnection: (c) => {
      c.handler = { onEvent: () => undefined, onWritable: () => undefined, onReadable: () => { for (let d = c.tcp.read(); d.length > 0; d = c.tcp.read()) { got.push(d.slice()); have += d.length; } c.service(); } };
    },
  });
  const c = client.connect({ host: '10.0.0.2', port: 80 });
  let sent = 0;
  c.handler = {
    onEvent: () => undefined, onReadable: () => undefined,
    onWritable: () => { if (sent < bytes.length) { sent += c.tcp.send(bytes.subarray(sent), n.now); c.service(); } },
  };
  await n.runUntil(() => {
    if (c.state === 'ESTABLISHED' && sent < bytes.length) { sent += c.tcp.send(bytes.subarray(sent), n.now); c.service(); }
    return have === bytes.length;
  }, 60_000);
  const all = new Uint8Array(have);
  let o = 0;
  for (const g of got) { all.set(g, o); o += g.length; }
  return all;
}

function pattern(len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (i * 131 + (i >>> 9)) & 0xff;
  return b;
}

function twoStacks(opts: ConstructorParameters<typeof Network>[0]) {
  const n = new Network({ seed: 4, delayMs: 1, ...opts });
  const tcp = { mss: MSS, recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 };
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'], tcp });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'], tcp });
  return { n, server, client };
}

test('offload on a clean wire: super-segments arrive whole, the same bytes are delivered, no checksum error is counted', async () => {
  const { n, server, client } = twoStacks({ offload: true });
  const seen: Array<{ len: number; ok: boolean }> = [];
  // A packet observer on the receiver sees what arrives, with complete checksums.
  server.observePackets((dir, p) => { if (dir === 'in') seen.push({ len: p.length, ok: decodePacket(p).tcpChecksumOk }); });
  const data = pattern(2 << 20);
  const got = await transfer(n, server, client, data);
  assert.deepEqual(got, data);
  assert.ok(seen.some((s) => s.len > MSS + 40 + 60), 'some datagram larger than one MSS arrived (GRO)');
  assert.ok(seen.every((s) => s.ok), 'every TCP checksum the observer saw is complete');
  assert.equal(server.counters.InCsumErrors, 0);
  assert.equal(client.counters.InCsumErrors, 0);
  n.close();
});

test('offload on a clean wire: the receiver is told the checksum is not to be checked, and is not misled by a partial one', async () => {
  // No observer anywhere: the sender leaves only the pseudo-header sum in the field, which would fail a check.
  const { n, server, client } = twoStacks({ offload: true });
  const data = pattern(256 << 10);
  const got = await transfer(n, server, client, data);
  assert.deepEqual(got, data);
  assert.equal(server.counters.InCsumErrors, 0);
  assert.equal(server.stats.InErrs, 0);
  n.close();
});

test('offload with a wire tap: the capture holds MSS-sized segments with complete checksums', async () => {
  const { n, server, client } = twoStacks({ offload: true });
  const tap = PcapngTap.inMemory();
  tap.attachWire(n.wire);
  const data = pattern(512 << 10);
  const got = await transfer(n, server, client, data);
  assert.deepEqual(got, data);
  const capture = tap.close()!;
  let packets = 0;
  for (const rec of readCapture(capture)) {
    const d = decodePacket(rec.data);
    assert.ok(d.tcp !== null);
    assert.ok(d.tcpChecksumOk, `frame ${rec.frame}: complete TCP checksum`);
    assert.ok(d.tcp.seg.payload.length <= MSS, `frame ${rec.frame}: ${d.tcp.seg.payload.length} bytes, at most one MSS`);
    packets++;
  }
  assert.ok(packets > (512 << 10) / MSS, 'every segment was captured');
  n.close();
});

test('offload on a corrupting wire: segments leave with complete checksums, so corruption is caught and repaired', async () => {
  const { n, server, client } = twoStacks({ offload: true, impairments: { corrupt: 0.02 } });
  const data = pattern(256 << 10);
  const got = await transfer(n, server, client, data);
  assert.deepEqual(got, data);
  assert.ok(server.counters.InCsumErrors + server.stats.InErrs > 0, 'corrupted segments were dropped by the checksum');
  n.close();
});

test('without offload the wire carries only MSS-sized segments with complete checksums (the default)', async () => {
  const { n, server, client } = twoStacks({});
  const seen: Array<{ payload: number; ok: boolean }> = [];
  n.wire.observe((ev) => { const d = decodePacket(ev.bytes); seen.push({ payload: d.tcp!.seg.payload.length, ok: d.tcpChecksumOk }); });
  const data = pattern(256 << 10);
  const got = await transfer(n, server, client, data);
  assert.deepEqual(got, data);
  assert.ok(seen.every((s) => s.ok && s.payload <= MSS));
  n.close();
});

test('Wire.transparent: true only for a direction with nothing but delay and no observer; meta reaches deliver(), a corrupted copy gets 0', () => {
  const A = parseAddress('10.0.0.1');
  const B = parseAddress('10.0.0.2');
  const got: number[] = [];
  const a: WireEndpoint = { deliver() {} };
  const b: WireEndpoint = { deliver(_p, _t, meta) { got.push(meta); } };
  const wire = new Wire({ seed: 1, impairments: { delayMs: 1 } });
  wire.attach(a, A);
  wire.attach(b, B);
  const p = () => encodeTcpPacket({ src: A, dst: B }, makeSegment({ srcPort: 1, dstPort: 2, seq: 1, ack: 1, flags: ACK, window: 10, payload: new Uint8Array(8) }));
  assert.equal(wire.transparent(a, p()), true);
  wire.send(a, p(), 0, 1);
  wire.send(a, p(), 0);
  wire.advance(10);
  assert.deepEqual(got, [1, 0]);
  wire.impair(a, b, { bandwidthBps: 1e9 });
  assert.equal(wire.transparent(a, p()), false);
  wire.impair(a, b, { bandwidthBps: 0, corrupt: 1 });
  assert.equal(wire.transparent(a, p()), false);
  got.length = 0;
  wire.send(a, p(), 10, 1);
  wire.advance(20);
  assert.deepEqual(got, [0]);
  wire.impair(a, b, { corrupt: 0 });
  assert.equal(wire.transparent(a, p()), true);
  const stop = wire.observe(() => undefined);
  assert.equal(wire.transparent(a, p()), false);
  stop();
  const nowhere = encodeTcpPacket({ src: A, dst: parseAddress('10.9.9.9') }, makeSegment({ srcPort: 1, dstPort: 2, seq: 1, ack: 1, flags: ACK, window: 10 }));
  assert.equal(wire.transparent(a, nowhere), false, 'an unroutable packet is not transparent');
});
