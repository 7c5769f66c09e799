// The stack's side of the offload contract (Stack.attach capabilities, the send callback's segmentSize,
// receive's checksumVerified), with two stacks on an in-memory "NIC" that does what the kernel does for a TUN
// device with IFF_VNET_HDR: complete seeded checksums and cut super-segments into MSS pieces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, type LinkCapabilities } from '../stack/stack.js';
import { VirtualClock } from '../stack/clock.js';
import { decodePacket, encodeTcpPacket } from '../wire/packet.js';
import { completeChecksum, prepareTcpOffload } from './virtio-net.js';
import type { TcpConfig } from '../tcp/config.js';

/** Software GSO: an IPv4 TCP super-segment (checksum complete) cut into `mss`-byte segments, as tcp_gso_segment does. */
function segment(packet: Uint8Array, mss: number): Uint8Array[] {
  const d = decodePacket(packet);
  const seg = d.tcp!.seg;
  const out: Uint8Array[] = [];
  for (let off = 0; off < seg.payload.length; off += mss) {
    const last = off + mss >= seg.payload.length;
    // PSH and FIN only on the last piece (tcp_gso_segment clears them on the others).
    const flags = last ? seg.flags : seg.flags & ~(0x08 | 0x01);
    out.push(encodeTcpPacket({ src: d.ip.src, dst: d.ip.dst }, { ...seg, seq: (seg.seq + off) >>> 0, flags, payload: seg.payload.subarray(off, off + mss) }));
  }
  return out;
}

function run(opts: { caps?: LinkCapabilities; tcp?: Partial<TcpConfig>; observe?: boolean; gather?: boolean }) {
  const clock = new VirtualClock();
  // Seeded randomness (ISNs, timestamps offsets): the same packets every run.
  const a = new Stack({ name: 'a', addresses: ['10.0.0.1'], clock, random: (out) => out.fill(5), tcp: { recvBufferSize: 1 << 22, sendBufferSize: 1 << 22, ...opts.tcp } });
  const b = new Stack({ name: 'b', addresses: ['10.0.0.2'], clock, random: (out) => out.fill(9), tcp: { recvBufferSize: 1 << 22 } });
  const fromA: Array<{ packet: Uint8Array; segmentSize: number | undefined; checksumOk: boolean }> = [];
  const queue: Array<[Stack, Uint8Array]> = [];
  if (opts.observe) a.observePackets(() => undefined);
  const gathered = { packets: 0, payloadBytes: 0 };
  const deliver = (packet: Uint8Array, segmentSize: number | undefined): void => {
    fromA.push({ packet: packet.slice(), segmentSize, checksumOk: decodePacket(packet).tcpChecksumOk });
    // The NIC: seed (idempotent) and complete the checksum, then segment if asked to.
    const h = prepareTcpOffload(packet, segmentSize ?? 0);
    completeChecksum(packet, h);
    for (const p of segmentSize ? segment(packet, segmentSize) : [packet]) queue.push([b, p]);
  };
  // A scatter-gather NIC: joins the two parts as writev(2) would, at once (the payload is a borrowed view).
  const sendParts = (headers: Uint8Array, payload: Uint8Array, segmentSize: number): void => {
    gathered.packets++;
    gathered.payloadBytes += payload.length;
    const joined = new Uint8Array(headers.length + payload.length);
    joined.set(headers, 0);
    joined.set(payload, headers.length);
    deliver(joined, segmentSize > 0 ? segmentSize : undefined);
  };
  a.attach(deliver, opts.gather ? { ...opts.caps, sendParts } : opts.caps);
  b.attach((packet) => queue.push([a, packet]));
  const data = new Uint8Array(3 << 20);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >>> 11)) & 0xff;
  const got: Uint8Array[] = [];
  b.listen(80, { onConnection: (c) => { c.handler = { onEvent: () => undefined, onWritable: () => undefined, onReadable: () => { got.push(c.tcp.read(1 << 30)); } }; } });
  const c = a.connect({ host: '10.0.0.2', port: 80 });
  let sent = 0;
  for (let step = 0; step < 200_000; step++) {
    if (c.tcp.state === 'ESTABLISHED' && sent < data.length) { sent += c.tcp.send(data.subarray(sent), clock.now()); c.service(); }
    if (queue.length) {
      const [to, p] = queue.shift()!;
      to.receive(p);
      continue;
    }
    if (sent === data.length && got.reduce((n, g) => n + g.length, 0) === data.length) break;
    const t = clock.nextWake();
    if (t === Infinity) break;
    clock.advanceTo(t);
  }
  const all = new Uint8Array(got.reduce((n, g) => n + g.length, 0));
  let o = 0;
  for (const g of got) { all.set(g, o); o += g.length; }
  return { fromA, data, all, a, b, gathered };
}

test('checksumOffload capability: with no observer, every segment leaves with the pseudo-header seed only; the NIC completes it and the bytes arrive', () => {
  const { fromA, data, all, b } = run({ caps: { checksumOffload: true } });
  assert.deepEqual(all, data);
  assert.ok(fromA.length > 100);
  assert.ok(fromA.every((x) => !x.checksumOk), 'a segment carried a complete checksum');
  assert.ok(fromA.every((x) => x.segmentSize === undefined), 'no TSO configured, yet a segment size was passed');
  assert.equal(b.counters.InCsumErrors, 0);
});

test('checksumOffload capability with a packet observer (a pcap tap): segments leave with complete checksums', () => {
  const { fromA, data, all } = run({ caps: { checksumOffload: true }, observe: true });
  assert.deepEqual(all, data);
  assert.ok(fromA.every((x) => x.checksumOk));
});

test('no capabilities (the default): complete checksums, one MSS per segment, no segment size passed', () => {
  const { fromA, data, all } = run({});
  assert.deepEqual(all, data);
  assert.ok(fromA.every((x) => x.checksumOk && x.segmentSize === undefined));
  assert.ok(fromA.every((x) => decodePacket(x.packet).tcp!.seg.payload.length <= 1460));
});

test('tsoMaxBytes: super-segments carry their MSS as segmentSize and a seeded checksum; after GSO the receiver gets every byte', () => {
  const { fromA, data, all, b } = run({ tcp: { tsoMaxBytes: 65535 } });
  assert.deepEqual(all, data);
  const big = fromA.filter((x) => x.segmentSize !== undefined);
  assert.ok(big.length > 10, `${big.length} super-segments`);
  for (const x of big) {
    const len = decodePacket(x.packet).tcp!.seg.payload.length;
    assert.ok(len > x.segmentSize! && len <= 65535 - 20 - 60);
    assert.equal(x.checksumOk, false, 'a TSO segment is seeded, not summed');
  }
  // Without the capability, ordinary segments still carry complete checksums.
  assert.ok(fromA.filter((x) => x.segmentSize === undefined).every((x) => x.checksumOk));
  assert.equal(b.counters.InCsumErrors, 0);
});

test('receive with checksumVerified: a packet with a wrong TCP checksum is accepted; without it, it is counted and dropped', () => {
  const clock = new VirtualClock();
  const s = new Stack({ addresses: ['10.0.0.2'], clock, random: (b) => b.fill(7) });
  const out: Uint8Array[] = [];
  s.attach((p) => out.push(p));
  s.listen(80);
  const syn = encodeTcpPacket({ src: new Uint8Array([10, 0, 0, 1]), dst: new Uint8Array([10, 0, 0, 2]) }, { srcPort: 5000, dstPort: 80, seq: 1, ack: 0, flags: 0x02, window: 65535, urgent: 0, options: { mss: 1460 }, payload: new Uint8Array(0) });
  syn[36] ^= 0xff; // TCP checksum (20-byte IP header + 16)
  s.receive(syn);
  assert.equal(s.counters.InCsumErrors, 1);
  assert.equal(out.length, 0);
  s.receive(syn, { checksumVerified: true });
  assert.equal(out.length, 1, 'the SYN was answered');
  assert.equal(decodePacket(out[0]!).tcp!.seg.flags, 0x12);
  s.receiveBatch([syn, syn], { checksumVerified: [false, true] });
  assert.equal(s.counters.InCsumErrors, 2, 'only the unverified copy is checked');
  s.destroy();
});

test('sendParts capability: segments with data leave as headers + payload view, joined they are the same valid packets', () => {
  const { fromA, data, all, b, gathered } = run({ gather: true });
  assert.deepEqual(all, data);
  // Every data segment went through the gather path; only the handshake and pure ACKs were encoded whole.
  assert.ok(gathered.packets > 2000, `${gathered.packets} gathered packets`);
  assert.ok(gathered.payloadBytes >= data.length, 'some data was not gathered');
  assert.ok(fromA.every((x) => x.checksumOk), 'a gathered packet without offload carries a wrong checksum');
  assert.equal(b.counters.InCsumErrors, 0);
});

test('sendParts with checksum offload and TSO: gathered super-segments are seeded and cut by the NIC; every byte arrives', () => {
  const { fromA, data, all, b, gathered } = run({ gather: true, caps: { checksumOffload: true }, tcp: { tsoMaxBytes: 65535 } });
  assert.deepEqual(all, data);
  assert.ok(gathered.packets > 10);
  assert.ok(fromA.filter((x) => x.segmentSize !== undefined).length > 10);
  assert.ok(fromA.every((x) => !x.checksumOk), 'checksums were summed in JS despite offload');
  assert.equal(b.counters.InCsumErrors, 0);
});

test('sendParts is not used while a packet observer is attached: the observer and the link see whole packets', () => {
  const { data, all, gathered, fromA } = run({ gather: true, observe: true });
  assert.deepEqual(all, data);
  assert.equal(gathered.packets, 0);
  assert.ok(fromA.every((x) => x.checksumOk));
});
