// Receive batches: the wire hands an endpoint with deliverBatch the datagrams due to it at the same time, one
// after the other, in one call (a NAPI poll of at most 64 datagrams, a GRO merge of at most 64 KiB); Network's
// receiveBatch makes a stack take them as one Stack.receiveBatch, so a connection answers a batch with one ACK.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Wire, type WireEndpoint } from './wire.js';
import { Network } from './network.js';
import { decodePacket, encodeTcpPacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { ACK, makeSegment } from '../wire/tcp-types.js';

const A = parseAddress('10.0.0.1');
const B = parseAddress('10.0.0.2');
const C = parseAddress('10.0.0.3');

function seg(dst: Uint8Array, seq: number, len = 10): Uint8Array {
  return encodeTcpPacket({ src: A, dst }, makeSegment({ srcPort: 1, dstPort: 2, seq, ack: 1, flags: ACK, window: 100, payload: new Uint8Array(len) }));
}
const seqOf = (p: Uint8Array) => decodePacket(p).tcp!.seg.seq;

test('deliverBatch: consecutive datagrams due together to one endpoint come as one batch in wire order; a lone one, another time or another endpoint break it', () => {
  const calls: Array<{ to: string; seqs: number[]; metas: number[]; t: number }> = [];
  const mk = (name: string): WireEndpoint => ({
    deliver(p, t, meta) { calls.push({ to: name, seqs: [seqOf(p)], metas: [meta], t }); },
    deliverBatch(ps, metas, t) { calls.push({ to: name, seqs: ps.map(seqOf), metas: [...metas], t }); },
  });
  const wire = new Wire({ seed: 1, impairments: { delayMs: 1 } });
  const a = wire.attach({ deliver() {} }, A);
  assert.equal(wire.attach(mk('b'), B), 1);
  wire.attach(mk('c'), C);
  wire.send(a, seg(B, 1), 0, 5);
  wire.send(a, seg(B, 2), 0);
  wire.send(a, seg(B, 3), 0, 5);
  wire.send(a, seg(C, 4), 0);
  wire.send(a, seg(B, 5), 0);
  wire.send(a, seg(B, 6), 0.5);
  wire.send(a, seg(B, 7), 0.5);
  wire.runUntilIdle();
  assert.deepEqual(calls, [
    { to: 'b', seqs: [1, 2, 3], metas: [5, 0, 5], t: 1 },
    { to: 'c', seqs: [4], metas: [0], t: 1 },
    { to: 'b', seqs: [5], metas: [0], t: 1 },
    { to: 'b', seqs: [6, 7], metas: [0, 0], t: 1.5 },
  ]);
  assert.equal(wire.counters(a, 1).delivered, 6, 'counted one by one');
});

test('deliverBatch: a batch holds at most 64 datagrams (a NAPI poll) and 64 KiB (a GRO merge); every datagram is delivered once, in order', () => {
  const batches: number[][] = [];
  const wire = new Wire({ seed: 1, impairments: { delayMs: 1 } });
  const a = wire.attach({ deliver() {} }, A);
  wire.attach({ deliver(p) { batches.push([seqOf(p)]); }, deliverBatch(ps) { batches.push(ps.map(seqOf)); } }, B);
  for (let i = 0; i < 150; i++) wire.send(a, seg(B, i, 10), 0); // small: the packet count binds
  for (let i = 150; i < 250; i++) wire.send(a, seg(B, i, 1460), 2); // full-sized: the byte count binds
  wire.runUntilIdle();
  assert.deepEqual(batches.flat(), Array.from({ length: 250 }, (_, i) => i));
  const small = batches.filter((b) => b[0]! < 150).map((b) => b.length);
  assert.deepEqual(small, [64, 64, 22]);
  const full = batches.filter((b) => b[0]! >= 150).map((b) => b.length);
  const perBatch = Math.floor(65536 / seg(B, 0, 1460).length);
  assert.ok(full.every((n) => n <= perBatch) && full[0] === perBatch, `full-sized batches of at most ${perBatch}: ${full.join(',')}`);
});

test('without deliverBatch every datagram is delivered on its own, as before', () => {
  const got: number[] = [];
  const wire = new Wire({ seed: 1, impairments: { delayMs: 1 } });
  const a = wire.attach({ deliver() {} }, A);
  wire.attach({ deliver(p) { got.push(seqOf(p)); } }, B);
  for (let i = 0; i < 5; i++) wire.send(a, seg(B, i), 0);
  wire.runUntilIdle();
  assert.deepEqual(got, [0, 1, 2, 3, 4]);
});

/** Bulk from client to server; returns the bytes read and the server's pure ACKs and data segments seen. */
async function bulk(receiveBatch: boolean, total: number) {
  const n = new Network({ seed: 3, delayMs: 0.05, receiveBatch });
  const tcp = { mss: 1460, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 };
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'], tcp });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'], tcp });
  let acks = 0, dataSegs = 0;
  const sendServer = server.link!;
  server.attach((p, s) => { if (decodePacket(p).tcp!.seg.payload.length === 0) acks++; sendServer(p, s); }, { checksumOffload: true });
  const recv = client.link!;
  client.attach((p, s) => { if (decodePacket(p).tcp!.seg.payload.length > 0) dataSegs++; recv(p, s); }, { checksumOffload: true });
  const data = new Uint8Array(total);
  for (let i = 0; i < total; i++) data[i] = (i * 7 + (i >> 11)) & 0xff;
  const got = new Uint8Array(total);
  let have = 0;
  server.listen(80, {
    onConnection: (c) => {
      c.handler = { onEvent: () => undefined, onWritable: () => undefined, onReadable: () => { for (let d = c.tcp.read(); d.length > 0; d = c.tcp.read()) { got.set(d, have); have += d.length; } c.service(); } };
    },
  });
  const c = client.connect({ host: '10.0.0.2', port: 80 });
  let sent = 0;
  const push = () => { if (c.state === 'ESTABLISHED' && sent < total) { sent += c.tcp.send(data.subarray(sent), n.now); c.service(); } };
  c.handler = { onEvent: push, onWritable: push, onReadable: () => undefined };
  await n.runUntil(() => have === total, 60_000);
  n.close();
  return { same: have === total && got.every((b, i) => b === data[i]), acks, dataSegs };
}

test('Network receiveBatch: bulk data arrives byte-equal with one ACK per batch, never fewer than one per 64 KiB; without it, one per two segments', async () => {
  const total = 8 << 20;
  const off = await bulk(false, total);
  const on = await bulk(true, total);
  assert.ok(off.same && on.same, 'every byte delivered, in order');
  // RFC 9293 §3.8.6.3 / RFC 5681 §4.2: at least every second full-sized segment is ACKed.
  assert.ok(off.acks >= off.dataSegs / 2 - 2, `per-datagram receive: ${off.acks} ACKs for ${off.dataSegs} segments`);
  // A batch is ACKed once: far fewer ACKs, but never fewer than GRO's merges (64 KiB) would draw.
  assert.ok(on.acks < on.dataSegs / 8, `batched receive: ${on.acks} ACKs for ${on.dataSegs} segments`);
  assert.ok(on.acks >= total / 65536 - 2, `at least one ACK per 64 KiB: ${on.acks}`);
});
