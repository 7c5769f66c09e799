import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../link/network.js';
import { decodePacket, encodeTcpPacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { ACK, FIN, PSH, RST, SYN, EMPTY, flagsToString } from '../wire/tcp-types.js';
import type { TcpConfig } from '../tcp/config.js';

async function closedFromClient(clientTcp: Partial<TcpConfig> = {}) {
  const net = new Network({ seed: 3, delayMs: 1 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'], tcp: { msl: 1000, timestamps: false } });
  const client = net.addStack({ name: 'client', addresses: ['10.0.0.1'], tcp: { msl: 1000, timestamps: false, ...clientTcp } });
  let sc: ReturnType<typeof client.connect> | null = null;
  server.listen(80, { onConnection: (c) => { sc = c; } });
  const c = client.connect({ host: '10.0.0.2', port: 80 });
  await net.runUntil(() => sc !== null && c.state === 'ESTABLISHED');
  c.tcp.shutdown(net.now); c.service();
  await net.runUntil(() => sc!.state === 'CLOSE-WAIT');
  sc!.tcp.shutdown(net.now); sc!.service();
  await net.runUntil(() => client.timeWaitCount === 1 && sc!.state === 'CLOSED');
  return { net, server, client, c };
}

test('the client end moves to the compact TIME-WAIT table; a retransmitted FIN is re-ACKed and restarts 2MSL', async () => {
  const { net, client, c } = await closedFromClient();
  assert.equal(client.connectionCount, 0);
  assert.equal(client.timeWaitCount, 1);
  const sent: string[] = [];
  client.observePackets((dir, p) => { if (dir === 'out') { const s = decodePacket(p).tcp!.seg; sent.push(`${flagsToString(s.flags)} seq=${s.seq} ack=${s.ack}`); } });
  const t0 = net.now;
  net.virtual!.advanceTo(t0 + 1500); // 1.5 s into a 2 s TIME-WAIT
  const fin = encodeTcpPacket({ src: parseAddress('10.0.0.2'), dst: parseAddress('10.0.0.1') }, { srcPort: 80, dstPort: c.localPort, seq: (c.tcp.rcvNxt - 1) >>> 0, ack: c.tcp.sndNxt, flags: FIN | ACK, window: 1000, urgent: 0, options: {}, payload: EMPTY });
  client.receive(fin);
  assert.deepEqual(sent, [`ACK seq=${c.tcp.sndNxt} ack=${c.tcp.rcvNxt}`]);
  assert.equal(client.counters.TimeWaitReAcks, 1);
  net.virtual!.advanceTo(t0 + 2100);
  assert.equal(client.timeWaitCount, 1, 'still in TIME-WAIT: the FIN restarted the timer');
  net.virtual!.advanceTo(t0 + 1500 + 2000);
  assert.equal(client.timeWaitCount, 0);
  net.close();
});

test('RST to a TIME-WAIT entry is ignored (RFC 1337)', async () => {
  const { net, client, c } = await closedFromClient();
  client.receive(encodeTcpPacket({ src: parseAddress('10.0.0.2'), dst: parseAddress('10.0.0.1') }, { srcPort: 80, dstPort: c.localPort, seq: c.tcp.rcvNxt, ack: 0, flags: RST, window: 0, urgent: 0, options: {}, payload: EMPTY }));
  assert.equal(client.timeWaitCount, 1);
  net.close();
});

test('Linux TIME-WAIT rules: anything but a bare segment at RCV.NXT is ACKed (pure ACKs rate-limited), a RST at RCV.NXT ends it', async () => {
  const { net, client, c } = await closedFromClient({ timeWaitAckData: true, timeWaitRst: 'close-exact', invalidAckRatelimit: 500 });
  const sent: string[] = [];
  client.observePackets((dir, p) => { if (dir === 'out') { const s = decodePacket(p).tcp!.seg; sent.push(`${flagsToString(s.flags)} seq=${s.seq} ack=${s.ack}`); } });
  const rcvNxt = c.tcp.rcvNxt, sndNxt = c.tcp.sndNxt;
  const seg = (flags: number, seq: number, payload: Uint8Array = EMPTY) => client.receive(encodeTcpPacket({ src: parseAddress('10.0.0.2'), dst: parseAddress('10.0.0.1') }, { srcPort: 80, dstPort: c.localPort, seq: seq >>> 0, ack: sndNxt, flags, window: 1000, urgent: 0, options: {}, payload }));
  const reAck = `ACK seq=${sndNxt} ack=${rcvNxt}`;
  seg(ACK, rcvNxt);
  assert.deepEqual(sent, [], 'a bare ACK at RCV.NXT is consumed');
  seg(ACK, rcvNxt + 100);
  assert.deepEqual(sent, [reAck], 'an acceptable bare ACK beyond RCV.NXT is answered');
  seg(ACK, rcvNxt + 200);
  assert.deepEqual(sent, [reAck], 'a second pure ACK within the rate limit is not');
  seg(ACK | PSH, rcvNxt, new Uint8Array([1]));
  assert.deepEqual(sent, [reAck, reAck], 'text is always answered');
  net.virtual!.advanceTo(net.now + 600);
  seg(ACK, rcvNxt + 300);
  assert.equal(sent.length, 3, 'the rate limit lets a pure ACK through again after 500 ms');
  seg(RST, rcvNxt + 1);
  assert.equal(client.timeWaitCount, 1, 'a RST not at RCV.NXT is dropped');
  seg(RST, rcvNxt);
  assert.equal(client.timeWaitCount, 0, 'a RST at RCV.NXT ends TIME-WAIT (tcp_rfc1337 = 0)');
  assert.equal(sent.length, 3);
  net.close();
});

test('a new SYN with a higher ISN reuses a TIME-WAIT tuple on the listening side', async () => {
  const net = new Network({ seed: 3, delayMs: 1 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'], tcp: { msl: 10_000, timestamps: false } });
  server.listen(80);
  const synack: string[] = [];
  server.attach((p) => { const s = decodePacket(p).tcp!.seg; synack.push(flagsToString(s.flags)); });
  // Drive a server-side active close into TIME-WAIT by hand: the server closes first.
  const src = parseAddress('10.0.0.1'), dst = parseAddress('10.0.0.2');
  const pkt = (flags: number, seq: number, ack: number) => encodeTcpPacket({ src, dst }, { srcPort: 5000, dstPort: 80, seq, ack, flags, window: 65535, urgent: 0, options: {}, payload: EMPTY });
  let serverIss = 0;
  server.attach((p) => { const s = decodePacket(p).tcp!.seg; synack.push(flagsToString(s.flags)); if (s.flags & SYN) serverIss = s.seq; });
  server.receive(pkt(SYN, 100, 0));
  server.receive(pkt(ACK, 101, serverIss + 1));
  const conn = [...server.allConnections()][0]!;
  conn.tcp.shutdown(net.now); conn.service();
  server.receive(pkt(ACK, 101, serverIss + 2));
  server.receive(pkt(FIN | ACK, 101, serverIss + 2));
  assert.equal(server.timeWaitCount, 1);
  synack.length = 0;
  server.receive(pkt(SYN, 500_000, 0));
  assert.equal(server.timeWaitCount, 0);
  assert.equal(server.counters.TimeWaitReused, 1);
  assert.deepEqual(synack, ['SYN+ACK']);
  net.close();
});

test('ephemeral ports never hand out a tuple still in TIME-WAIT', async () => {
  const net = new Network({ seed: 8, delayMs: 1 });
  const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'], tcp: { msl: 60_000 } });
  const client = net.addStack({ name: 'client', addresses: ['10.0.0.1'], tcp: { msl: 60_000 }, ephemeralPortRange: [40000, 40009] });
  server.listen(80, { onConnection: (c) => { c.handler = { onEvent: (e) => { if (e.type === 'eof') { c.tcp.shutdown(net.now); c.service(); } }, onReadable() {}, onWritable() {} }; } });
  const used = new Set<number>();
  for (let i = 0; i < 10; i++) {
    const c = client.connect({ host: '10.0.0.2', port: 80 });
    assert.ok(!used.has(c.localPort), `port ${c.localPort} reused while in TIME-WAIT`);
    used.add(c.localPort);
    await net.runUntil(() => c.state === 'ESTABLISHED');
    c.tcp.shutdown(net.now); c.service();
    await net.runUntil(() => client.timeWaitCount === i + 1, 10_000);
  }
  assert.throws(() => client.connect({ host: '10.0.0.2', port: 80 }), /EADDRNOTAVAIL/);
  net.close();
});
