// attachStack's receive side (tun.ts TunReceiver) without a device: batches laid out as the addon reads them (one
// chunk, packets 8-byte aligned, optionally behind virtio_net_hdrs, the gaps holding an earlier read's bytes) with
// the segments of many connections interleaved. What the stack is handed are copies, and an application reading a
// connection's data sees all of a copy's memory (`chunk.buffer`): memory holding a segment with data must hold
// only its own connection's packets, and zeros, never another connection's bytes (not even a 4-tuple's earlier
// connection's, before its new SYN), and every packet arrives intact, in order, 8-byte aligned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, SYN } from '../wire/tcp-types.js';
import { seg, tcpFrom } from '../stack/ip-test-peer.js';
import { udpPacket } from './tun-testkit.js';
import { TunReceiver, type StackLike, type TunOffloadStats } from './tun.js';

const stats = (): TunOffloadStats => ({ rxGsoPackets: 0, rxGsoBytes: 0, rxChecksumSkipped: 0, rxOversize: 0, txGsoPackets: 0, txGsoBytes: 0 });

/** Packets laid out as the addon reads them: 8-byte aligned, each behind `hdr` bytes, the chunk's other bytes 0xee. */
function chunkOf(pkts: Uint8Array[], hdr: number): { chunk: ArrayBuffer; offsets: Uint32Array } {
  const chunk = new ArrayBuffer(pkts.reduce((a, p) => a + ((hdr + p.length + 7) & ~7), 0));
  const bytes = new Uint8Array(chunk).fill(0xee); // a reused chunk holds an earlier read's bytes between packets
  const offsets = new Uint32Array(2 * pkts.length);
  let o = 0;
  pkts.forEach((p, i) => {
    if (hdr > 0) bytes.fill(0, o, o + hdr); // virtio_net_hdr: no flags, gso_type NONE
    bytes.set(p, o + hdr);
    offsets[2 * i] = o;
    offsets[2 * i + 1] = hdr + p.length;
    o += (hdr + p.length + 7) & ~7;
  });
  return { chunk, offsets };
}

/** A receiver that keeps every view it is handed, as a connection's receive queue may. */
function sink(): StackLike & { got: Uint8Array[] } {
  const got: Uint8Array[] = [];
  return { got, attach: () => undefined, receive: (p) => { got.push(p); }, receiveBatch: (ps) => { got.push(...ps); } };
}

interface Sent { pkt: Uint8Array; conn: string; data: number }

/**
 * Connection c (of `n`): its own source address and port, IPv4 or IPv6 by parity, data of the value 0x10 + c
 * (0x80 + c for a second connection on the same 4-tuple); `inc` 1 marks that second one.
 */
function segment(c: number, len: number, opts: { flags?: number; inc?: number; seq?: number } = {}): Sent {
  const v = c % 2 === 0 ? 4 : 6;
  const value = (opts.inc ? 0x80 : 0x10) + c;
  const src = v === 4 ? `10.7.0.${10 + c}` : `fd07::${(10 + c).toString(16)}`;
  const pkt = tcpFrom(v, seg({ flags: opts.flags ?? ACK, srcPort: 20000 + c, dstPort: 80, seq: opts.seq ?? 1000, ack: 1, payload: new Uint8Array(len).fill(value) }), src);
  return { pkt, conn: `${c}/${opts.inc ?? 0}`, data: len > 0 ? value : -1 };
}

/** Batches of segments of `conns` connections, interleaved: runs of one connection, single segments, pure ACKs. */
function traffic(conns: number, batches: number): Sent[][] {
  const out: Sent[][] = [];
  let x = 7;
  const next = (k: number): number => { x = (x * 1103515245 + 12345) & 0x7fffffff; return x % k; };
  for (let b = 0; b < batches; b++) {
    const batch: Sent[] = [];
    for (let r = 0, n = 1 + next(40); r < n; r++) {
      const c = next(conns), run = next(4) === 0 ? 1 + next(12) : 1;
      for (let k = 0; k < run; k++) batch.push(segment(c, next(5) === 0 ? 0 : 1 + next(1460)));
    }
    out.push(batch);
  }
  return out;
}

function deliver(batches: Sent[][], hdr: number): { sent: Sent[]; got: Uint8Array[] } {
  const s = sink();
  const r = new TunReceiver(s, hdr, stats());
  for (const b of batches) {
    const { chunk, offsets } = chunkOf(b.map((p) => p.pkt), hdr);
    r.deliver(chunk, offsets, b.length);
    new Uint8Array(chunk).fill(0xdd); // the next read overwrites the chunk
  }
  return { sent: batches.flat(), got: s.got };
}

/** Every memory holding a segment with data holds only that connection's packets (and zeros elsewhere). */
function assertIsolated(sent: Sent[], got: Uint8Array[]): void {
  assert.equal(got.length, sent.length);
  const byMemory = new Map<ArrayBufferLike, number[]>();
  got.forEach((p, i) => {
    assert.deepEqual(p, sent[i]!.pkt, `packet ${i} intact, in order`);
    assert.equal(p.byteOffset % 8, 0, `packet ${i} 8-byte aligned`);
    const list = byMemory.get(p.buffer) ?? [];
    list.push(i);
    byMemory.set(p.buffer, list);
  });
  let checked = 0;
  for (const [mem, idx] of byMemory) {
    const withData = idx.filter((i) => sent[i]!.data >= 0);
    if (withData.length === 0) continue; // no application gets a view of it
    checked++;
    const conn = sent[withData[0]!]!.conn;
    for (const i of idx) assert.equal(sent[i]!.conn, conn, `packet ${i} (connection ${sent[i]!.conn}) shares memory with connection ${conn}'s data`);
    const covered = new Uint8Array(mem.byteLength);
    for (const i of idx) covered.fill(1, got[i]!.byteOffset, got[i]!.byteOffset + got[i]!.length);
    const m = new Uint8Array(mem);
    const stray = m.findIndex((v, k) => covered[k] === 0 && v !== 0);
    assert.equal(stray, -1, `connection ${conn}'s memory holds a byte 0x${m[stray]?.toString(16)} at ${stray} that is none of its packets'`);
  }
  assert.ok(checked > 0);
}

for (const hdr of [0, 10]) {
  test(`interleaved segments of 3 connections${hdr ? ' (offload)' : ''}: memory holding a connection's data holds only its packets and zeros; all intact, in order, aligned`, () => {
    const { sent, got } = deliver(traffic(3, 60), hdr);
    assertIsolated(sent, got);
  });

  test(`segments of 50 connections, more than keep memory at once${hdr ? ' (offload)' : ''}: still none shares memory with another's data`, () => {
    const { sent, got } = deliver(traffic(50, 120), hdr);
    assertIsolated(sent, got);
  });
}

test('a new connection on a 4-tuple (after its SYN) gets memory the earlier connection\'s data is not in; a UDP datagram memory of its own', () => {
  const before = [0, 1, 2, 3].map((k) => segment(1, 300, { seq: 1000 + 300 * k }));
  const syn = segment(1, 0, { flags: SYN, inc: 1 });
  const after = [0, 1, 2, 3].map((k) => segment(1, 300, { inc: 1, seq: 5000 + 300 * k }));
  const udp: Sent = { pkt: udpPacket('10.7.0.9', '10.77.0.2', 5, 6, new Uint8Array(100).fill(0x44)), conn: 'udp', data: 0x44 };
  // One batch each, and all in one batch.
  for (const batches of [[before.slice(0, 2), before.slice(2), [syn], after.slice(0, 2), [udp], after.slice(2)], [[...before, syn, udp, ...after]]]) {
    const { sent, got } = deliver(batches, 0);
    assertIsolated(sent, got);
  }
});
