// attachStack's receive side (tun.ts TunReceiver) without a device: batches laid out as the addon reads them, in
// one shared chunk (optionally behind virtio_net_hdrs), against the same datagrams given to Stack.receiveBatch as
// copies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, SYN } from '../wire/tcp-types.js';
import { ipHost, seg, tcpFrom } from '../stack/ip-test-peer.js';
import { installSynFastPath } from '../stack/syn-fast-path.js';
import type { TcpConfig } from '../tcp/config.js';
import { TunReceiver, type TunOffloadStats } from './tun.js';
import { VIRTIO_NET_HDR_F_DATA_VALID } from './virtio-net.js';

const stats = (): TunOffloadStats => ({ rxGsoPackets: 0, rxGsoBytes: 0, rxChecksumSkipped: 0, rxOversize: 0, txGsoPackets: 0, txGsoBytes: 0 });

/** A host listening on 80 with a full SYN queue (every further SYN to it is a cookie) and one ESTABLISHED connection on 81. */
function host(v: 4 | 6, tcp?: Partial<TcpConfig>) {
  const h = ipHost({ mtu: 1500, ...(tcp ? { tcp } : {}) });
  installSynFastPath(h.stack);
  h.stack.listen(80, { backlog: 1 });
  h.stack.receive(tcpFrom(v, seg({ flags: SYN, srcPort: 999, options: { mss: 1460 } })));
  h.stack.listen(81);
  h.stack.receive(tcpFrom(v, seg({ flags: SYN, srcPort: 5555, dstPort: 81, seq: 100, options: { mss: 1460 } })));
  const synack = h.out.at(-1)!.tcp!;
  h.stack.receive(tcpFrom(v, seg({ flags: ACK, srcPort: 5555, dstPort: 81, seq: 101, ack: synack.seq + 1 })));
  h.clock.advanceTo(5_000.25);
  h.out.length = 0;
  return { ...h, iss: synack.seq };
}

/** `n` flood SYNs to port 80 from spoofed sources, options varied as hping3's and Linux clients'. */
function syns(v: 4 | 6, n: number, from: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => {
    const k = from + i;
    const src = v === 4 ? `10.9.${k >> 8}.${1 + (k & 0xff) % 250}` : `fd09::${(k + 1).toString(16)}`;
    return tcpFrom(v, seg({ flags: SYN, srcPort: 1024 + k, seq: k * 7919, options: k % 3 === 0 ? {} : { mss: 1460, sackPermitted: true, tsVal: k, tsEcr: 0, wscale: 7 } }), src);
  });
}

/** The datagrams laid out as the addon reads them: one chunk, each behind `hdr` bytes of virtio_net_hdr (flags set as given). */
function chunkOf(pkts: Uint8Array[], hdr: number, flags = 0): { chunk: ArrayBuffer; offsets: Uint32Array } {
  const chunk = new ArrayBuffer(pkts.reduce((a, p) => a + hdr + p.length + 3, 0)); // 3: odd gaps, as alignment would leave
  const bytes = new Uint8Array(chunk);
  const offsets = new Uint32Array(2 * pkts.length);
  let o = 0;
  pkts.forEach((p, i) => {
    if (hdr > 0) bytes[o] = flags; // gso_type NONE (0)
    bytes.set(p, o + hdr);
    offsets[2 * i] = o;
    offsets[2 * i + 1] = hdr + p.length;
    o += hdr + p.length + 3;
  });
  return { chunk, offsets };
}

for (const v of [4, 6] as const) {
  for (const hdr of [0, 10]) {
    test(`IPv${v}${hdr ? ', offload' : ''}: a read batch opening with a SYN flood is answered in place, as the stack answers copies, and what follows is delivered after it in read order, not pinned to the chunk`, () => {
      const a = host(v), b = host(v);
      const body = new Uint8Array(1000).map((_, i) => (i * 13) & 0xff);
      const batch = [
        ...syns(v, 40, 0),
        tcpFrom(v, seg({ flags: ACK, srcPort: 5555, dstPort: 81, seq: 101, ack: a.iss + 1, payload: body })),
        ...syns(v, 25, 40), // after another datagram: judged after it, by the stack, on copies
      ];
      const { chunk, offsets } = chunkOf(batch, hdr);
      const st = stats();
      new TunReceiver(a.stack, hdr, st).deliver(chunk, offsets, batch.length);
      // The same datagrams as copies: the SYNs before the first other datagram, then the rest, as two reads.
      b.stack.receiveBatch(batch.slice(0, 40).map((p) => p.slice()));
      b.stack.receiveBatch(batch.slice(40).map((p) => p.slice()));
      assert.equal(a.stack.counters.SynFastPath, 65, 'every SYN answered with a cookie by the fast path');
      assert.deepEqual(a.out.map((s) => s.bytes), b.out.map((s) => s.bytes), 'the same datagrams, in the same order');
      assert.deepEqual(a.stack.snapshot(), b.stack.snapshot());
      assert.equal(a.out.filter((s) => s.tcp!.flags === (SYN | ACK)).length, 65);
      // The data the connection holds is a copy: the chunk is the addon's, overwritten by the next read.
      new Uint8Array(chunk).fill(0xee);
      const conn = [...a.stack.allConnections()].find((c) => c.tcp.localPort === 81)!;
      const parts: number[] = [];
      for (let r = conn.tcp.read(); r.length > 0; r = conn.tcp.read()) parts.push(...r);
      assert.deepEqual(Uint8Array.from(parts), body);
      assert.equal(st.rxChecksumSkipped, 0, 'no header vouched for a checksum');
    });
  }

  test(`IPv${v}: SYNs the link vouched for (DATA_VALID) are answered in place without verifying their checksum, counted as such`, () => {
    const a = host(v), b = host(v);
    const batch = syns(v, 12, 100);
    const { chunk, offsets } = chunkOf(batch, 10, VIRTIO_NET_HDR_F_DATA_VALID);
    const st = stats();
    new TunReceiver(a.stack, 10, st).deliver(chunk, offsets, batch.length);
    b.stack.receiveBatch(batch.map((p) => p.slice()), { checksumVerified: batch.map(() => true) });
    assert.equal(st.rxChecksumSkipped, 12);
    assert.deepEqual(a.out.map((s) => s.bytes), b.out.map((s) => s.bytes));
  });
}

test('packet observers see each SYN answered in place before its SYN+ACK, as Stack.receive shows them', () => {
  const a = host(4), b = host(4);
  const seen: Array<[string, Uint8Array]> = [], seenB: Array<[string, Uint8Array]> = [];
  a.stack.observePackets((dir, p) => { seen.push([dir, p.slice()]); });
  b.stack.observePackets((dir, p) => { seenB.push([dir, p.slice()]); });
  const batch = syns(4, 30, 7);
  const { chunk, offsets } = chunkOf(batch, 0);
  new TunReceiver(a.stack, 0, stats()).deliver(chunk, offsets, batch.length);
  b.stack.receiveBatch(batch.map((p) => p.slice()));
  assert.equal(seen.length, 60);
  assert.deepEqual(seen.map(([d]) => d), seenB.map(([d]) => d), 'in, out, in, out ... on both');
  assert.deepEqual(seen, seenB);
});

test('a stack without the fast path (switched off) gets the whole batch as copies, the same answers through the general path', () => {
  const a = host(4), b = host(4);
  a.stack.synFastPath = false;
  b.stack.synFastPath = false;
  const batch = syns(4, 20, 3);
  const { chunk, offsets } = chunkOf(batch, 0);
  new TunReceiver(a.stack, 0, stats()).deliver(chunk, offsets, batch.length);
  b.stack.receiveBatch(batch.map((p) => p.slice()));
  assert.equal(a.stack.counters.SynFastPath, 0);
  assert.equal(a.out.length, 20);
  assert.deepEqual(a.out.map((s) => s.bytes), b.out.map((s) => s.bytes));
});

test('batches of every size reuse their arrays, and copies share slabs, without mixing or overwriting packets of an earlier batch', () => {
  const a = host(4);
  const got: number[] = [];
  const r = new TunReceiver({ receive: () => assert.fail('batches go to receiveBatch'), receiveBatch: (pkts) => { got.push(pkts.length); for (const p of pkts) a.stack.receive(p); }, attach: () => undefined }, 0, stats());
  // A StackLike that is not a synack Stack: fresh arrays (it may keep them); the sizes still match the batches.
  for (const n of [5, 1, 5, 3, 300]) {
    const { chunk, offsets } = chunkOf(syns(4, n, 500 + n), 0);
    r.deliver(chunk, offsets, n);
  }
  assert.deepEqual(got, [5, 1, 5, 3, 300]);
  // Held unread until the end: a fixed window (an autotuned one offers 64 KiB to a reader that has read nothing).
  const s = host(4, { recvBufferAutotune: false });
  let j = 0; // segments so far: segment j carries L bytes of value j
  const L = 1000; // more than one 64 KiB copy slab in all, held unread until the end
  const t = new TunReceiver(s.stack, 0, stats());
  for (const n of [7, 2, 7, 7, 1, 30, 30]) {
    const data = Array.from({ length: n }, (_, i) => tcpFrom(4, seg({ flags: ACK, srcPort: 5555, dstPort: 81, seq: 101 + (j + i) * L, ack: s.iss + 1, payload: new Uint8Array(L).fill(j + i) })));
    const { chunk, offsets } = chunkOf(data, 0);
    t.deliver(chunk, offsets, n);
    new Uint8Array(chunk).fill(0xee);
    j += n;
  }
  const conn = [...s.stack.allConnections()].find((c) => c.tcp.localPort === 81)!;
  const parts: number[] = [];
  for (let r = conn.tcp.read(); r.length > 0; r = conn.tcp.read()) parts.push(...r);
  const bytes = Uint8Array.from(parts);
  assert.equal(bytes.length, L * j);
  assert.deepEqual(bytes, new Uint8Array(L * j).map((_, i) => Math.floor(i / L)), 'every segment delivered once, in order, intact');
});
