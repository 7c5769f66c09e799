/**
 * Typed segments between in-process stacks (Network.typedSegments, on by default): where checksum offload leaves
 * a segment unsummed (a direction nobody can tell from a perfect one, no observer), it crosses as a typed
 * datagram, neither encoded nor decoded; its bytes are made only if someone looks. The receiver must get exactly
 * what it would have decoded, and nothing anyone can see may change: data, counters, times, captures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Network, receiverSegment } from './network.js';
import { PcapngTap } from './pcapng-tap.js';
import { Server } from '../stack/server.js';
import { Socket } from '../stack/socket.js';
import type { Stack } from '../stack/stack.js';
import { decodeHostTcp, decodePacket, encodeTcpPacket, type HostTcpHeader } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { optionsLength } from '../wire/tcp.js';
import { readCapture } from '../wire/capture.js';
import type { TcpOptions, TcpSegment } from '../wire/tcp-types.js';
import { mulberry32 } from '../tcp/test-util.js';
import { installSynCookies } from '../stack/syn-cookies.js';

// Every stack made here has SYN cookies, as every stack in Node has (the Node entry installs them): the SYN bursts
// below are answered with cookies past the backlog.
installSynCookies();

test('a segment crossing without bytes is what the receiver decodes from its datagram (4 000 seeded segments, IPv4 and IPv6)', () => {
  const random = mulberry32(14);
  const u32 = () => Math.floor(random() * 2 ** 32);
  const int = (n: number) => Math.floor(random() * n);
  let compared = 0, refused = 0, passed = 0;
  for (let i = 0; i < 4000; i++) {
    const o: TcpOptions = {};
    if (random() < 0.2) o.mss = int(65536);
    if (random() < 0.2) o.wscale = int(15);
    if (random() < 0.2) o.sackPermitted = random() < 0.8;
    if (random() < 0.7) { o.tsVal = u32(); if (random() < 0.9) o.tsEcr = u32(); }
    if (random() < 0.4) o.sack = Array.from({ length: int(9) }, u32); // 0-4 blocks, sometimes an odd edge
    const seg: TcpSegment = {
      srcPort: int(65536), dstPort: int(65536), seq: u32(), ack: u32(), flags: int(0x200), window: int(65536),
      urgent: int(65536), options: o, payload: Uint8Array.from({ length: random() < 0.5 ? 0 : int(200) }, () => int(256)),
    };
    const v6 = random() < 0.3;
    const ip = { src: parseAddress(v6 ? 'fd00::1' : '10.0.0.1'), dst: parseAddress(v6 ? 'fd00::2' : '10.0.0.2') };
    let bytes: Uint8Array | null = null;
    try { bytes = encodeTcpPacket(ip, seg); } catch { /* the header cannot carry it */ }
    const own = receiverSegment(seg, (n) => new Uint8Array(n));
    assert.ok(own !== null, 'Linux-layout options are always reproduced');
    if (bytes === null) {
      assert.throws(() => optionsLength(own.options), 'refused as encoding refuses it');
      refused++;
      continue;
    }
    const h: HostTcpHeader = { addrLen: 0, srcOff: 0, tos: 0, tcpChecksumOk: false };
    const decoded = decodeHostTcp(bytes, false, h);
    // `order` is left out where the encoder's default layout is the decoded one (nobody on the receiving side
    // reads it): encoded again, the typed segment is the same bytes on the wire.
    if (decoded !== null && own.options.order === undefined && decoded.options.order !== undefined) {
      passed++;
      assert.deepEqual(encodeTcpPacket(ip, own), bytes, `segment ${i}: the same bytes on the wire`);
      const { order: _order, ...rest } = decoded.options;
      assert.deepEqual({ ...own, options: { ...own.options } }, { ...decoded, options: rest }, `segment ${i}`);
    } else assert.deepEqual(own, decoded, `segment ${i}`);
    assert.equal((v6 ? 40 : 20) + 20 + optionsLength(own.options) + own.payload.length, bytes.length, 'its length on the wire');
    assert.notEqual(own.payload.buffer, seg.payload.buffer, 'the payload is the receiver\'s copy');
    compared++;
  }
  assert.ok(compared > 3000 && refused > 50 && passed > 100, `${compared} compared (${passed} passed on), ${refused} refused`);
  for (const o of [{ fastOpen: new Uint8Array(8) }, { unknown: [{ kind: 30, data: new Uint8Array(2) }] }, { order: [1, 1, 8], tsVal: 1, tsEcr: 2 }]) {
    assert.equal(receiverSegment({ srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: 2, window: 0, urgent: 0, options: o, payload: new Uint8Array(0) }, (n) => new Uint8Array(n)), null, 'crosses as bytes');
  }
});

test('a segment whose header fields the header cannot carry is refused as encoding refuses it, and left as it was', () => {
  const ip = { src: parseAddress('10.0.0.1'), dst: parseAddress('10.0.0.2') };
  const ts: TcpOptions = { tsVal: 5, tsEcr: 7 };
  const good = (): TcpSegment => ({ srcPort: 1, dstPort: 2, seq: 2 ** 32 - 1, ack: 3, flags: 0x18, window: 65535, urgent: 0, options: ts, payload: new Uint8Array([1, 2, 3]) });
  const bad: Array<[string, Partial<TcpSegment>]> = [
    ['srcPort', { srcPort: 65536 }], ['dstPort', { dstPort: -1 }], ['window', { window: 1.5 }], ['urgent', { urgent: NaN }],
    ['flags', { flags: 0x200 }], ['seq', { seq: 1.5 }], ['ack', { ack: Infinity }],
    ['payload', { payload: [1, 2, 3] as unknown as Uint8Array }], ['MSS', { options: { mss: 70000, tsVal: 5, tsEcr: 7 } }],
  ];
  for (const [what, fields] of bad) {
    const seg = { ...good(), ...fields };
    const before = { ...seg };
    let encoding: unknown = null;
    try { encodeTcpPacket(ip, seg); } catch (e) { encoding = e; }
    assert.ok(encoding instanceof Error, `${what}: encoding refuses it`);
    assert.throws(() => receiverSegment(seg, (n) => new Uint8Array(n)), { message: (encoding as Error).message }, `${what}: refused the same way`);
    assert.deepEqual(seg, before, `${what}: the segment is untouched`);
  }
  // What the header carries as it is crosses, a sequence number above 2^31 included.
  const own = receiverSegment(good(), (n) => new Uint8Array(n));
  assert.ok(own !== null && own.seq === 2 ** 32 - 1 && own.options === ts && own.payload.length === 3);
});

interface Outcome {
  data: string[];
  at: number;
  stats: unknown[];
  wire: unknown[];
  receiveCalls: number;
}

/**
 * Socket lifecycles over IPv4 and IPv6, bulk both ways, and a SYN flood's worth of connections to a listener
 * with a backlog of 4 (SYN cookies), between two stacks; what each connection read (digests), the final virtual
 * time, every counter of both stacks and of the wire, and how often Stack.receive was handed bytes.
 */
async function workload(typed: boolean, receiveBatch: boolean, offload = false): Promise<Outcome> {
  const n = new Network({ seed: 21, delayMs: 0.2, receiveBatch, offload });
  n.typedSegments = typed;
  // A fixed window: the echo server writes back each chunk it reads, and typed payloads are read as fewer, longer
  // chunks (contiguous blocks), so with an autotuned window the echoes interleaved with reads would carry other
  // window values, and a window-limited sender would cut its data otherwise.
  const tcp = { recvBufferSize: 256 << 10, sendBufferSize: 256 << 10, recvBufferAutotune: false };
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2', 'fd00::2'], tcp });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1', 'fd00::1'], tcp });
  let receiveCalls = 0;
  for (const s of [server, client]) {
    const receive = s.receive.bind(s);
    s.receive = (p, o) => { receiveCalls++; receive(p, o); };
  }
  const digests = new Map<string, ReturnType<typeof createHash>>();
  const digest = (k: string, d: Buffer) => { let h = digests.get(k); if (!h) { h = createHash('sha1'); digests.set(k, h); } h.update(d); };
  let accepted = 0;
  // Echo back whatever comes, then end when the peer ends.
  new Server(server, {}, (s) => { const k = `s${accepted++}`; s.on('data', (d: Buffer) => { digest(k, d); s.write(d); }); s.on('end', () => s.end()); }).listen(7);
  server.listen(9, { backlog: 4 }); // accepted by nobody: the queue fills, SYNs beyond it get cookies
  let closed = 0;
  const open = (host: string, k: string, size: number) => {
    const s = Socket.connect(client, { host, port: 7 });
    const out = Buffer.alloc(size);
    for (let i = 0; i < size; i++) out[i] = (i * 7 + k.length) & 0xff;
    s.on('connect', () => s.end(out));
    s.on('data', (d: Buffer) => digest(k, d));
    s.on('close', () => closed++);
  };
  for (let i = 0; i < 6; i++) open(i % 2 ? 'fd00::2' : '10.0.0.2', `c${i}`, i < 4 ? 1 + i : 300_000 + i);
  const flood = Array.from({ length: 12 }, () => client.connect({ host: '10.0.0.2', port: 9 }));
  await n.runUntil(() => closed === 6 && flood.every((c) => c.state === 'ESTABLISHED'), 60_000);
  await n.runUntil(() => false, 200_000); // TIME-WAIT ends
  const counters = (s: Stack) => ({ stats: s.stats, counters: s.counters });
  const out: Outcome = {
    data: [...digests].map(([k, h]) => `${k} ${h.digest('hex')}`).sort(),
    at: n.now,
    stats: [counters(server), counters(client)].map((x) => JSON.parse(JSON.stringify(x))),
    wire: [n.wire.counters(0, 1), n.wire.counters(1, 0)].map((x) => ({ ...x })),
    receiveCalls,
  };
  n.close();
  return out;
}

for (const receiveBatch of [false, true]) {
  test(`typed segments${receiveBatch ? ' (receive batches)' : ''}: the same data, counters and times as when every segment crosses as bytes`, async () => {
    const bytes = await workload(false, receiveBatch);
    const typed = await workload(true, receiveBatch);
    assert.equal(bytes.data.length, 12, 'six connections, both ends');
    assert.ok(bytes.receiveCalls > 400, `${bytes.receiveCalls} datagrams received as bytes`);
    // Only what the stack sends outside a connection leaves as bytes (ip-output.ts): here the cookie SYN+ACKs.
    const cookies = (bytes.stats[0] as { counters: { SyncookiesSent: number } }).counters.SyncookiesSent;
    assert.equal(typed.receiveCalls, cookies, 'every connection\'s segment crossed without bytes');
    assert.deepEqual(typed.data, bytes.data);
    assert.deepEqual(typed.stats, bytes.stats);
    assert.deepEqual(typed.wire, bytes.wire);
    assert.equal(typed.at, bytes.at);
    assert.ok(cookies >= 8, 'the flood was answered with cookies');
  });
}

test('typed segments with offload: TSO super-segments cross whole without bytes; the same data, counters and times as bytes', async () => {
  const bytes = await workload(false, false, true);
  const typed = await workload(true, false, true);
  const cookies = (bytes.stats[0] as { counters: { SyncookiesSent: number } }).counters.SyncookiesSent;
  assert.equal(typed.receiveCalls, cookies, 'super-segments too crossed without bytes');
  const wire = bytes.wire as Array<{ delivered: number; bytesDelivered: number }>;
  assert.ok(wire.some((w) => w.bytesDelivered / w.delivered > 1500), 'datagrams larger than one MSS crossed (GRO)');
  assert.deepEqual(typed.data, bytes.data);
  assert.deepEqual(typed.stats, bytes.stats);
  assert.deepEqual(typed.wire, bytes.wire);
  assert.equal(typed.at, bytes.at);
});

for (const where of ['wire', 'stack'] as const) {
  test(`a tap on the ${where} added while typed segments are in flight sees them as bytes, with complete checksums; data intact`, async () => {
    const n = new Network({ seed: 5, delayMs: 1 });
    const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
    const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
    const got: Buffer[] = [];
    let read = 0;
    new Server(server, {}, (s) => { s.on('data', (d: Buffer) => { got.push(d); read += d.length; }); }).listen(7);
    const data = Buffer.alloc(200_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => s.end(data));
    // Data segments on their way to the server, as typed datagrams.
    await n.runUntil(() => read > 20_000 && n.wire.counters(1, 0).sent - n.wire.counters(1, 0).delivered > 4, 10_000);
    const readAtTap = read;
    const tap = PcapngTap.inMemory();
    if (where === 'wire') tap.attachWire(n.wire); else tap.attachStack(server);
    await n.runUntil(() => read === data.length, 10_000);
    assert.deepEqual(Buffer.concat(got), data);
    let toServer = 0;
    for (const rec of readCapture(tap.close()!)) {
      const d = decodePacket(rec.data);
      assert.ok(d.tcp !== null && d.tcpChecksumOk, `frame ${rec.frame}: a whole TCP datagram with a valid checksum`);
      if (d.ip.dst[3] === 2) toServer += d.tcp.seg.payload.length;
    }
    // Everything the server read after the tap came, the segments then in flight included, passed the tap.
    assert.equal(toServer, data.length - readAtTap);
    n.close();
  });
}

/** 800 connections opened at one instant: how many datagrams arrived as bytes, every counter, the final time. */
async function massOpen(typed: boolean): Promise<{ established: number; receiveCalls: number; stats: unknown; at: number }> {
  const n = new Network({ seed: 3, delayMs: 0.05 });
  n.typedSegments = typed;
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  let receiveCalls = 0;
  for (const s of [server, client]) {
    const receive = s.receive.bind(s);
    s.receive = (p, o) => { receiveCalls++; receive(p, o); };
  }
  server.listen(80, { backlog: 1000, onConnection: () => undefined });
  const conns = Array.from({ length: 800 }, () => client.connect({ host: '10.0.0.2', port: 80 }));
  await n.runUntil(() => n.wire.inFlight === 0, 10_000);
  const out = {
    established: conns.filter((c) => c.state === 'ESTABLISHED').length,
    receiveCalls,
    stats: JSON.parse(JSON.stringify([server.stats, server.counters, client.stats, client.counters, n.wire.counters(0, 1), n.wire.counters(1, 0)])),
    at: n.now,
  };
  n.close();
  return out;
}

test('a burst of segments without data (800 SYNs at once) crosses as bytes beyond 512 such on the wire: the same outcome', async () => {
  const bytes = await massOpen(false);
  const typed = await massOpen(true);
  assert.equal(bytes.established, 800);
  assert.equal(bytes.receiveCalls, 3 * 800, 'SYN, SYN+ACK, ACK');
  assert.equal(typed.established, 800);
  assert.ok(typed.receiveCalls >= 3 * (800 - 512) && typed.receiveCalls < 3 * 800, `${typed.receiveCalls} datagrams as bytes: those beyond 512 in flight`);
  assert.deepEqual(typed.stats, bytes.stats);
  assert.equal(typed.at, bytes.at);
});

test('a bulk transfer with more than 512 data segments on the wire still sends its ACKs typed: no datagram crosses as bytes', async () => {
  const n = new Network({ seed: 1, delayMs: 0.05, receiveBatch: true });
  const tcp = { mss: 1460, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 };
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'], tcp });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'], tcp });
  let receiveCalls = 0;
  for (const s of [server, client]) {
    const receive = s.receive.bind(s);
    s.receive = (p, o) => { receiveCalls++; receive(p, o); };
  }
  const total = 24 << 20;
  let received = 0, maxInFlight = 0;
  new Server(server, {}, (s) => { s.on('data', (d: Buffer) => { received += d.length; }); }).listen(9);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 9 }, () => s.end(Buffer.alloc(total, 3)));
  await n.runUntil(() => { maxInFlight = Math.max(maxInFlight, n.wire.inFlight); return received === total; }, 600_000);
  assert.ok(maxInFlight > 1024, `${maxInFlight} datagrams on the wire at once`);
  assert.ok(n.wire.counters(0, 1).delivered > 100, 'ACKs crossed');
  assert.equal(receiveCalls, 0, 'every segment, ACKs included, crossed without bytes');
  n.close();
});
