// The TUN link with the kernel's offloads (IFF_VNET_HDR, TSO4/TSO6, checksum): the kernel's curl GETs and
// POSTs 10 MB through a synack stack that receives the kernel's GSO super-packets and sends its own for the
// kernel to segment. Runs inside a fresh network namespace; skipped like the other TUN tests when not root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TunLink } from './tun.js';
import { configureTunDevice } from './tun-device.js';
import { runInNetns, reportResult, NETNS_ENV } from './netns.js';
import { Stack } from '../stack/stack.js';
import { Server } from '../stack/server.js';
import { Socket } from '../stack/socket.js';
import { decodePacket, encodeTcpPacketChecksumOffload } from '../wire/packet.js';
import { udpPacket, testBody, sha256Hex, runCommand, tunTestSkip } from './tun-testkit.js';
import { VIRTIO_NET_HDR_F_NEEDS_CSUM } from './virtio-net.js';
import { finishChecksum, pseudoHeaderSum } from '../wire/checksum.js';
import { parseAddress } from '../wire/address.js';

const SIZE = 10 * 1000 * 1000;
const MTU = 1500;

const body = testBody;
const sha = sha256Hex;
const run = (cmd: string, args: string[]) => runCommand(cmd, args, 30_000);

/** Kernel-wide TCP counters of this namespace (/proc/net/snmp). */
function tcpSnmp(): Record<string, number> {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Tcp:'));
  const keys = lines[0]!.split(/\s+/);
  const vals = lines[1]!.split(/\s+/);
  const out: Record<string, number> = {};
  keys.forEach((k, i) => (out[k] = Number(vals[i])));
  return out;
}

const role = process.env[NETNS_ENV] ? process.argv[2] : undefined;

if (role === 'curl') {
  const link = TunLink.open(undefined, { offload: true });
  await configureTunDevice({
    name: link.name,
    addresses: [{ stack: '10.77.0.2', kernel: '10.77.0.1', prefix: 24 }, { stack: 'fd77::2', kernel: 'fd77::1', prefix: 64 }],
    mtu: MTU,
    txqueuelen: 4096,
  });
  const stack = new Stack({
    addresses: ['10.77.0.2', 'fd77::2'],
    tcp: { mss: MTU - 40, tsoMaxBytes: 65535, receiveOffload: true, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 },
  });
  // What crossed the link, as the stack saw it: inbound super-packets (longer than the MTU) and their
  // IP lengths; outbound ones and whether their IP length matches the bytes (what a pcap would record).
  const seen = { inBig: 0, inMax: 0, inIpLenBad: 0, outBig: 0, outMax: 0, outIpLenBad: 0, outPayload: 0 };
  stack.observePackets((dir, p) => {
    const d = decodePacket(p);
    const ipLen = d.ip.version === 4 ? d.ip.totalLength : d.ip.payload.length + 40;
    if (dir === 'in') {
      if (p.length > MTU) seen.inBig++;
      seen.inMax = Math.max(seen.inMax, p.length);
      if (ipLen !== p.length) seen.inIpLenBad++;
    } else {
      if (p.length > MTU) seen.outBig++;
      seen.outMax = Math.max(seen.outMax, p.length);
      if (ipLen !== p.length || d.ip.truncated) seen.outIpLenBad++;
      seen.outPayload += d.tcp?.seg.payload.length ?? 0;
    }
  });
  link.attachStack(stack);
  const big = body(SIZE);
  const httpServer = http.createServer((req, res) => {
    const h = createHash('sha256');
    req.on('data', (d: Buffer) => h.update(d));
    req.on('end', () => {
      if (req.method === 'POST') return void res.end(h.digest('hex'));
      const n = Number(/^\/bytes\/(\d+)$/.exec(req.url ?? '')?.[1] ?? 0);
      res.setHeader('content-length', n);
      res.end(big.subarray(0, n));
    });
  });
  new Server(stack, {}, (s) => httpServer.emit('connection', s)).listen(80);
  const dir = mkdtempSync(join(tmpdir(), 'synack-tun-offload-'));
  const upload = join(dir, 'up');
  writeFileSync(upload, big);
  const out: Record<string, unknown> = {};
  const snmp0 = tcpSnmp();
  const tx0 = link.stats.txPackets;
  for (const [name, url] of [['v4', 'http://10.77.0.2'], ['v6', 'http://[fd77::2]']] as const) {
    const file = join(dir, name);
    const get = await run('curl', ['-sS', '-g', '-o', file, `${url}/bytes/${big.length}`]);
    const post = await run('curl', ['-sS', '-g', '--data-binary', `@${upload}`, `${url}/upload`]);
    out[name] = { getCode: get.code, getErr: get.stderr, gotSha: get.code === 0 ? sha(readFileSync(file)) : null, postCode: post.code, postErr: post.stderr, postReply: post.stdout };
  }
  const snmp1 = tcpSnmp();
  out.expectedSha = sha(big);
  out.seen = seen;
  out.offload = link.offloadStats;
  out.txPackets = link.stats.txPackets - tx0;
  out.kernelInSegs = snmp1.InSegs! - snmp0.InSegs!;
  out.kernelInErrs = snmp1.InErrs! - snmp0.InErrs! + (snmp1.InCsumErrors! - snmp0.InCsumErrors!);
  out.stackCsumErrors = stack.counters.InCsumErrors;
  out.stackRetrans = stack.stats.RetransSegs;
  out.writeErrors = link.writeErrors;
  out.ss = (await run('ss', ['-tanH'])).stdout.trim().split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0]);
  rmSync(dir, { recursive: true, force: true });
  reportResult(out);
  link.close();
  process.exit(0); // the stack's TIME-WAIT timers would keep the loop alive for 2 MSL
} else if (role === 'forward') {
  // Proof that the kernel segments what we send: synack A (offload, TSO) sends 10 MB to synack B on a second,
  // plain TUN device, with the kernel forwarding between them. Device B has no TSO, so the kernel must cut
  // A's super-packets into MTU-sized segments (software GSO) and finish their checksums; B verifies every
  // checksum itself and checks the bytes.
  const a = TunLink.open(undefined, { offload: true });
  const b = TunLink.open();
  await configureTunDevice({ name: a.name, addresses: [{ stack: '10.77.0.2', kernel: '10.77.0.1', prefix: 26 }, { stack: 'fd77::a:2', kernel: 'fd77::a:1', prefix: 112 }], mtu: MTU, txqueuelen: 4096 });
  await configureTunDevice({ name: b.name, addresses: [{ stack: '10.77.0.66', kernel: '10.77.0.65', prefix: 26 }, { stack: 'fd77::b:2', kernel: 'fd77::b:1', prefix: 112 }], mtu: MTU, txqueuelen: 4096 });
  // Per-namespace sysctls (this is a fresh namespace made by runInNetns).
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
  writeFileSync('/proc/sys/net/ipv6/conf/all/forwarding', '1');
  // MSS MTU − 60 for both families: an IPv6 MSS of MTU − 40 would make forwarded segments too big for B's link.
  const stackA = new Stack({ name: 'A', addresses: ['10.77.0.2', 'fd77::a:2'], tcp: { mss: MTU - 60, tsoMaxBytes: 65535, receiveOffload: true, sendBufferSize: 4 << 20 } });
  const stackB = new Stack({ name: 'B', addresses: ['10.77.0.66', 'fd77::b:2'], tcp: { mss: MTU - 60, recvBufferSize: 4 << 20 } });
  const seenB = { packets: 0, maxLen: 0, dataSegs: 0 };
  stackB.observePackets((dir, p) => {
    if (dir !== 'in') return;
    seenB.packets++;
    seenB.maxLen = Math.max(seenB.maxLen, p.length);
    if ((decodePacket(p).tcp?.seg.payload.length ?? 0) > 0) seenB.dataSegs++;
  });
  a.attachStack(stackA);
  b.attachStack(stackB);
  const big = body(SIZE);
  const digests: string[] = [];
  new Server(stackB, {}, (s) => {
    const h = createHash('sha256');
    s.on('data', (d: Buffer) => h.update(d));
    s.on('end', () => { digests.push(h.digest('hex')); s.end(); });
  }).listen(9);
  const out: Record<string, unknown> = { expectedSha: sha(big) };
  for (const [fam, host] of [['v4', '10.77.0.66'], ['v6', 'fd77::b:2']] as const) {
    const before = digests.length;
    const err = await new Promise<string | null>((resolve) => {
      const s = Socket.connect(stackA, { host, port: 9 }, () => { s.end(big); });
      s.on('error', (e) => resolve(e.message));
      s.on('close', () => resolve(null));
      s.resume();
      setTimeout(() => resolve('timed out'), 30_000).unref();
    });
    out[fam] = { err, sha: digests[before] ?? null };
  }
  out.a = a.offloadStats;
  out.b = seenB;
  out.bCsumErrors = stackB.counters.InCsumErrors;
  reportResult(out);
  a.close();
  b.close();
  process.exit(0);
} else if (role === 'args') {
  // Misuse of the offload write API gets typed errors, not crashes.
  const plain = TunLink.open();
  const off = TunLink.open(undefined, { offload: true });
  const errs: string[] = [];
  for (const f of [
    () => plain.write(new Uint8Array(20), { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 }),
    () => off.write(new Uint8Array(20), { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 70000, csumStart: 0, csumOffset: 0 }),
  ]) {
    try {
      f();
      errs.push('no error');
    } catch (e) {
      errs.push(`${(e as Error).name} ${(e as { code?: string }).code}`);
    }
  }
  // writeBatch with per-packet headers: the kernel honours each. UDP to a port nobody binds: the kernel's UDP
  // layer verifies the checksum (InCsumErrors when bad) before it looks for the port (NoPorts).
  await configureTunDevice({ name: off.name, addresses: [{ stack: '10.77.0.2', kernel: '10.77.0.1', prefix: 24 }], mtu: MTU });
  const udp = () => readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:')).map((l) => l.split(/\s+/));
  const counters = () => { const [k, v] = udp(); return Object.fromEntries(k!.map((x, i) => [x, Number(v![i])])) as Record<string, number>; };
  const good = udpPacket('10.77.0.2', '10.77.0.1', 5000, 9999, 100);
  const bad = udpPacket('10.77.0.2', '10.77.0.1', 5000, 9999, 100);
  bad[26] ^= 0x55; // UDP checksum
  // Seeded for NEEDS_CSUM: only the pseudo-header sum, completed by "hardware" (or trusted on local delivery).
  const seeded = udpPacket('10.77.0.2', '10.77.0.1', 5000, 9999, 100);
  const seed = ~finishChecksum(pseudoHeaderSum(parseAddress('10.77.0.2'), parseAddress('10.77.0.1'), 17, 108)) & 0xffff;
  seeded[26] = seed >>> 8; seeded[27] = seed & 0xff;
  const c0 = counters();
  const accepted = off.writeBatch([good, bad, seeded], [undefined, undefined, { flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 20, csumOffset: 6 }]);
  await new Promise((r) => setTimeout(r, 200));
  const c1 = counters();
  reportResult({ errs, plainOffload: plain.offload, offOffload: off.offload, accepted, noPorts: c1.NoPorts! - c0.NoPorts!, csumErrors: c1.InCsumErrors! - c0.InCsumErrors! });
  plain.close();
  off.close();
} else if (role === 'many-csum') {
  // writeMany(..., tcpCsum): TCP SYNs to a port nobody listens on, their checksum fields holding only the
  // pseudo-header sum. Marked NEEDS_CSUM they pass the kernel's checksum test and are answered with RSTs (OutRsts);
  // behind a zero header (tcpCsum off) the same bytes fail it (InCsumErrors). A UDP datagram among them, complete,
  // goes out behind a zero header either way (NoPorts).
  const off = TunLink.open(undefined, { offload: true, writeThread: process.argv[3] === 'thread' });
  await configureTunDevice({ name: off.name, addresses: [{ stack: '10.77.0.2', kernel: '10.77.0.1', prefix: 24 }], mtu: MTU });
  off.onPackets(() => undefined);
  const syn = (port: number) => encodeTcpPacketChecksumOffload({ src: parseAddress('10.77.0.2'), dst: parseAddress('10.77.0.1'), ttl: 64 },
    { srcPort: 40000 + port, dstPort: port, seq: 1000 * port, ack: 0, flags: 0x02, window: 65535, urgent: 0, options: { mss: 1460 }, payload: new Uint8Array(0) });
  const pkts = [syn(9001), syn(9002), udpPacket('10.77.0.2', '10.77.0.1', 5000, 9999, 100), syn(9003)];
  const buf = new Uint8Array(4096);
  const offsets = new Uint32Array(2 * pkts.length);
  let at = 0;
  pkts.forEach((p, i) => { buf.set(p, at); offsets[2 * i] = at; offsets[2 * i + 1] = p.length; at += (p.length + 7) & ~7; });
  const udp = () => { const l = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((x) => x.startsWith('Udp:')).map((x) => x.split(/\s+/)); return Number(l[1]![l[0]!.indexOf('NoPorts')]); };
  const out: Record<string, unknown> = {};
  for (const tcpCsum of [true, false]) {
    const t0 = tcpSnmp(), u0 = udp();
    const accepted = off.writeMany(buf, offsets, pkts.length, tcpCsum);
    await new Promise((r) => setTimeout(r, 200));
    const t1 = tcpSnmp();
    out[String(tcpCsum)] = { accepted, rsts: t1.OutRsts! - t0.OutRsts!, csumErrors: t1.InCsumErrors! - t0.InCsumErrors!, udpNoPorts: udp() - u0 };
  }
  reportResult(out);
  off.close();
} else if (role === undefined) {
  const { skip } = tunTestSkip(undefined, ['curl']);

  test('writeMany with tcpCsum: TCP datagrams holding the pseudo-header sum go out marked NEEDS_CSUM (the kernel answers them), anything else behind a zero header (event loop and writer thread)', { skip }, async () => {
    for (const how of ['loop', 'thread']) {
      const res = await runInNetns(import.meta.url, ['many-csum', how], { timeoutMs: 30_000 });
      assert.equal(res.code, 0, res.stderr + res.stdout);
      assert.deepEqual(res.result, {
        true: { accepted: 4, rsts: 3, csumErrors: 0, udpNoPorts: 1 },
        false: { accepted: 4, rsts: 0, csumErrors: 3, udpNoPorts: 1 },
      }, how);
    }
  });

  test('with offload, the kernel\'s curl GETs and POSTs 10 MB through GSO super-packets both ways (IPv4 and IPv6)', { skip }, async () => {
    const which = await run('curl', ['--version']);
    if (which.code !== 0) return void assert.fail('curl is not installed (apt-get install curl)');
    const res = await runInNetns(import.meta.url, ['curl'], { timeoutMs: 120_000 });
    assert.equal(res.code, 0, res.stderr + res.stdout);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const r = res.result as any;
    for (const fam of ['v4', 'v6']) {
      assert.equal(r[fam].getCode, 0, `${fam} GET: curl ${r[fam].getCode} ${r[fam].getErr}`);
      assert.equal(r[fam].gotSha, r.expectedSha, `${fam} GET body differs`);
      assert.equal(r[fam].postCode, 0, `${fam} POST: curl ${r[fam].postCode} ${r[fam].postErr}`);
      assert.equal(r[fam].postReply, r.expectedSha, `${fam} POST body digest differs`);
    }
    // The kernel sent super-packets (POST bodies): longer than the MTU, flagged GSO, checksums left undone.
    assert.ok(r.offload.rxGsoPackets > 20, `kernel GSO packets: ${JSON.stringify(r.offload)}`);
    assert.ok(r.seen.inBig >= r.offload.rxGsoPackets, JSON.stringify(r.seen));
    assert.ok(r.seen.inMax > 8 * MTU, `largest packet from the kernel: ${r.seen.inMax}`);
    assert.equal(r.seen.inIpLenBad, 0, 'a received datagram\'s IP length differs from its size');
    assert.ok(r.offload.rxChecksumSkipped > 0);
    assert.equal(r.stackCsumErrors, 0);
    // synack sent super-packets (GET bodies) with correct IP lengths, and the kernel took each as several
    // segments: its TCP counted more segments in than we wrote packets, and no checksum error.
    assert.ok(r.offload.txGsoPackets > 20, `our GSO packets: ${JSON.stringify(r.offload)}`);
    assert.equal(r.seen.outBig, r.offload.txGsoPackets);
    assert.ok(r.seen.outMax > 8 * MTU, `largest packet we sent: ${r.seen.outMax}`);
    assert.equal(r.seen.outIpLenBad, 0);
    assert.ok(r.seen.outPayload >= 2 * 10_000_000);
    assert.equal(r.kernelInErrs, 0, 'the kernel counted TCP input or checksum errors');
    assert.equal(r.writeErrors, 0);
    for (const state of r.ss) assert.ok(state === 'TIME-WAIT' || state === 'CLOSED', `kernel socket left in ${state}`);
  });

  test('with offload, the kernel segments our super-packets: forwarded to a plain TUN device they arrive as MTU-sized segments with valid checksums (IPv4 and IPv6)', { skip }, async () => {
    const res = await runInNetns(import.meta.url, ['forward'], { timeoutMs: 120_000 });
    assert.equal(res.code, 0, res.stderr + res.stdout);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const r = res.result as any;
    for (const fam of ['v4', 'v6']) {
      assert.equal(r[fam].err, null, `${fam}: ${r[fam].err}`);
      assert.equal(r[fam].sha, r.expectedSha, `${fam}: B received different bytes`);
    }
    assert.ok(r.a.txGsoPackets > 20, `A sent ${r.a.txGsoPackets} super-packets`);
    assert.ok(r.b.maxLen <= MTU, `B received a ${r.b.maxLen}-byte packet on a ${MTU}-byte link`);
    // 2 × 10 MB in segments of at most MTU − 72 bytes (MSS MTU − 60, less 12 of timestamps): the kernel made them.
    assert.ok(r.b.dataSegs >= (2 * SIZE) / (MTU - 72), `B received only ${r.b.dataSegs} data segments`);
    assert.equal(r.bCsumErrors, 0, 'segments the kernel made had bad checksums');
  });

  test('offload writes: writeBatch honours each packet\'s virtio_net_hdr (NEEDS_CSUM vs none); misuse is a TunError ERR_TUN_ARG', { skip }, async () => {
    const res = await runInNetns(import.meta.url, ['args'], { timeoutMs: 30_000 });
    assert.equal(res.code, 0, res.stderr + res.stdout);
    assert.deepEqual(res.result, {
      errs: ['TunError ERR_TUN_ARG', 'TunError ERR_TUN_ARG'], plainOffload: false, offOffload: true,
      // good (zero header) and seeded (NEEDS_CSUM) reach UDP's port lookup; bad (zero header) fails its checksum.
      accepted: 3, noPorts: 2, csumErrors: 1,
    });
  });
}
