// The TUN link against the real Linux kernel. Every test that touches a device runs its body in a fresh
// network namespace (runInNetns re-executes this file with a role as argv[2]); nothing runs in the root
// namespace. Skipped, with the reason, when not root, /dev/net/tun is absent or the addon is not built
// (SYNACK_REQUIRE_TUN=1 turns those skips into failures, for CI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { TunLink, TunError } from './tun.js';
import { configureTunDevice, type TunAddressPair } from './tun-device.js';
import { runInNetns, reportResult, NETNS_ENV } from './netns.js';
import { echoReplyFor, udpPacket, upperChecksumOk, tunTestSkip } from './tun-testkit.js';
import { decodeIp } from '../wire/ip.js';
import { decodePacket } from '../wire/packet.js';
import { formatAddress } from '../wire/address.js';
import { flagsToString } from '../wire/tcp-types.js';

const V4: TunAddressPair = { stack: '10.77.0.2', kernel: '10.77.0.1', prefix: 24 };
const V6: TunAddressPair = { stack: 'fd77::2', kernel: 'fd77::1', prefix: 64 };

// ---------------------------------------------------------------------------------------------------------
// Roles: what runs inside the namespace.

interface Exec { code: number | null; stdout: string; stderr: string }
function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<Exec> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ code, stdout, stderr: err && code === null ? `${stderr}${err.message}` : stderr });
    });
  });
}

/** Roles run with TUN_TEST_READ_THREAD=1 read through the addon's reader thread (TunOpenOptions.readThread). */
const READ_THREAD = process.env.TUN_TEST_READ_THREAD === '1';
function openTun(name?: string): TunLink {
  return READ_THREAD ? TunLink.open(name, { readThread: true }) : TunLink.open(name);
}

async function openConfigured(pairs: TunAddressPair[], mtu?: number): Promise<TunLink> {
  const link = openTun();
  await configureTunDevice({ name: link.name, addresses: pairs, mtu });
  return link;
}

function describe(p: Uint8Array) {
  const ip = decodeIp(p);
  return {
    version: ip.version,
    src: formatAddress(ip.src),
    dst: formatAddress(ip.dst),
    protocol: ip.protocol,
    ipChecksumOk: ip.checksumOk,
    upperChecksumOk: upperChecksumOk(p),
    type: ip.payload[0],
    length: p.length,
  };
}

/** Ping the stack's address twice: first nobody answers, then JS answers each echo request. */
async function pingRole(pair: TunAddressPair): Promise<void> {
  const link = await openConfigured([pair]);
  let answer = false;
  const requests: ReturnType<typeof describe>[] = [];
  const writes: string[] = [];
  link.onPackets((pkts) => {
    for (const p of pkts) {
      const reply = echoReplyFor(p);
      if (!reply) continue;
      requests.push(describe(p));
      if (answer) writes.push(link.write(reply));
    }
  });
  const v6 = pair.stack.includes(':');
  const unanswered = await run('ping', [...(v6 ? ['-6'] : []), '-c1', '-W1', pair.stack]);
  answer = true;
  const answered = await run('ping', [...(v6 ? ['-6'] : []), '-c1', '-W2', pair.stack]);
  const stats = link.stats;
  link.close();
  reportResult({ unanswered, answered, requests, writes, stats });
}

/** Let the kernel's TCP connect to port 80 of the stack's address; report the first TCP segment it sends. */
async function synRole(pair: TunAddressPair, mtu: number): Promise<void> {
  const link = await openConfigured([pair], mtu);
  let syn: unknown = null;
  link.onPackets((pkts) => {
    for (const p of pkts) {
      const d = decodePacket(p);
      if (!d.tcp || syn) continue;
      syn = {
        src: formatAddress(d.ip.src),
        dst: formatAddress(d.ip.dst),
        flags: flagsToString(d.tcp.seg.flags),
        dstPort: d.tcp.seg.dstPort,
        mss: d.tcp.seg.options.mss,
        tcpChecksumOk: d.tcpChecksumOk,
        ipChecksumOk: d.ip.checksumOk,
      };
    }
  });
  const v6 = pair.stack.includes(':');
  const nc = await run('nc', [v6 ? '-6' : '-4', '-z', '-w1', pair.stack, '80']);
  link.close();
  reportResult({ syn, nc });
}

/** The kernel sends N UDP datagrams to the stack's address in one go: JS must get all, intact, in batches. */
async function udpInRole(n: number): Promise<void> {
  const link = await openConfigured([V4]);
  const got: string[] = [];
  const batchSizes: number[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  link.onPackets((pkts) => {
    batchSizes.push(pkts.length);
    for (const p of pkts) {
      const ip = decodeIp(p);
      if (ip.protocol !== 17) continue;
      got.push(new TextDecoder().decode(ip.payload.subarray(8)));
      if (got.length === n) done();
    }
  });
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, V4.kernel, () => r()));
  for (let i = 0; i < n; i++) sock.send(`datagram ${i}`, 9999, V4.stack);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((r) => (timer = setTimeout(r, 3000)))]);
  clearTimeout(timer);
  sock.close();
  const stats = link.stats;
  link.close();
  reportResult({ got, batchSizes, stats, readThread: link.readThread });
}

/**
 * readNow: what the kernel queued on the device while the event loop was blocked (spawnSync) is read at once, in
 * order, and not delivered again by the next readable event.
 */
async function readNowRole(): Promise<void> {
  const link = await openConfigured([V4]);
  const later: string[] = [];
  let first!: () => void;
  const started = new Promise<void>((r) => (first = r));
  const udp = (p: Uint8Array): string | null => { const ip = decodeIp(p); return ip.protocol === 17 ? new TextDecoder().decode(ip.payload.subarray(8)) : null; };
  link.onPackets((pkts) => { for (const p of pkts) { const d = udp(p); if (d !== null) later.push(d); } first(); });
  const emptyBefore = link.readNow().length; // nothing read yet: no receive chunk
  const send = (tag: string): void => {
    spawnSync('bash', ['-c', `for i in 0 1 2 3 4; do printf "${tag} $i" > /dev/udp/${V4.stack}/9999; done`], { timeout: 10_000 });
  };
  send('first');
  await started;
  later.length = 0;
  send('now'); // the loop is blocked meanwhile: the device holds all five
  const now = link.readNow(3).map(udp);
  const rest = link.readNow().map(udp);
  const none = link.readNow().length;
  await new Promise((r) => setTimeout(r, 200));
  const stats = link.stats;
  link.close();
  reportResult({ emptyBefore, now, rest, none, later, stats });
}

/** JS writes UDP datagrams into the device; a kernel socket must receive exactly the well-formed ones. */
async function udpOutRole(n: number): Promise<void> {
  const link = await openConfigured([V4, V6]);
  const recv: string[] = [];
  const socks = [createSocket('udp4'), createSocket('udp6')];
  await new Promise<void>((r) => socks[0]!.bind(7777, V4.kernel, () => r()));
  await new Promise<void>((r) => socks[1]!.bind(7777, V6.kernel, () => r()));
  for (const s of socks) s.on('message', (m) => recv.push(m.toString()));
  const enc = new TextEncoder();
  // Batches of 100, each awaited, so the kernel sockets' receive buffers never overflow (we test the link,
  // not socket buffer sizes).
  const until = async (count: number) => {
    for (let t = 0; t < 100 && recv.length < count; t++) await new Promise((r) => setTimeout(r, 10));
  };
  let accepted = 0;
  for (let b = 0; b < n; b += 100) {
    const pkts: Uint8Array[] = [];
    for (let i = b; i < Math.min(n, b + 100); i++) pkts.push(udpPacket(V4.stack, V4.kernel, 5555, 7777, enc.encode(`v4 ${i}`), i));
    accepted += link.writeBatch(pkts);
    await until(Math.min(n, b + 100));
  }
  const single = link.write(udpPacket(V6.stack, V6.kernel, 5555, 7777, enc.encode('v6 single')));
  // One datagram given as two parts (IP+UDP headers, payload), gathered by writev(2).
  const whole = udpPacket(V4.stack, V4.kernel, 5555, 7777, enc.encode('v4 gathered from two parts'));
  const parts = link.writeParts(whole.subarray(0, 28), whole.subarray(28));
  // Negative control: a corrupted UDP checksum must be dropped by the kernel, so the count above is ours.
  const bad = udpPacket(V4.stack, V4.kernel, 5555, 7777, enc.encode('corrupt'));
  bad[bad.length - 1]! ^= 0xff;
  link.write(bad);
  await until(n + 2);
  await new Promise((r) => setTimeout(r, 100));
  for (const s of socks) s.close();
  const stats = link.stats;
  link.close();
  reportResult({ accepted, single, parts, recv, stats });
}

/** Datagrams packed in one buffer go out with one writeMany call; a range outside the buffer writes nothing. */
async function writeManyRole(offload: boolean, readThread = false): Promise<void> {
  const link = TunLink.open(undefined, { offload, readThread });
  await configureTunDevice({ name: link.name, addresses: [V4], mtu: 1500 });
  link.onPackets(() => undefined); // reading (with readThread: on the thread) while writeMany writes
  const recv: string[] = [];
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(7778, V4.kernel, () => r()));
  sock.on('message', (m) => recv.push(m.toString()));
  const enc = new TextEncoder();
  const pkts = Array.from({ length: 200 }, (_, i) => udpPacket(V4.stack, V4.kernel, 5555, 7778, enc.encode(`many ${i}`), i));
  const buf = new Uint8Array(pkts.reduce((n, p) => n + p.length + 3, 0));
  const offsets = new Uint32Array(2 * pkts.length);
  let o = 0;
  pkts.forEach((p, i) => { buf.set(p, o); offsets[2 * i] = o; offsets[2 * i + 1] = p.length; o += p.length + 3; }); // gaps between them
  const accepted = link.writeMany(buf, offsets, pkts.length);
  const codeOf = (f: () => unknown) => { try { f(); return 'no error'; } catch (e) { return (e as TunError).code; } };
  const before = link.stats.txPackets;
  const bad = new Uint32Array([0, pkts[0]!.length, buf.length - 10, 20]);
  const outside = codeOf(() => link.writeMany(buf, bad, 2));
  const tooMany = codeOf(() => link.writeMany(buf, offsets, pkts.length + 1));
  const writtenByBad = link.stats.txPackets - before;
  for (let t = 0; t < 100 && recv.length < pkts.length; t++) await new Promise((r) => setTimeout(r, 10));
  sock.close();
  link.close();
  const txPackets = link.stats.txPackets;
  reportResult({ accepted, recv, outside, tooMany, writtenByBad, txPackets, readThread: link.readThread });
}

/**
 * The writer thread: datagrams given to write, writeParts, writeBatch and writeMany, interleaved, reach a kernel
 * socket in the order given; close() right after the last call still writes everything queued.
 */
async function writeThreadRole(offload: boolean): Promise<void> {
  const link = TunLink.open(undefined, { offload, writeThread: true });
  await configureTunDevice({ name: link.name, addresses: [V4], mtu: 1500 });
  const recv: string[] = [];
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(7779, V4.kernel, () => r()));
  sock.on('message', (m) => recv.push(m.toString()));
  const enc = new TextEncoder();
  const pkt = (i: number) => udpPacket(V4.stack, V4.kernel, 5555, 7779, enc.encode(`in order ${i}`), i);
  const results: string[] = [];
  let i = 0;
  for (let round = 0; i < 200; round++) {
    const way = round % 4;
    if (way === 0) results.push(link.write(pkt(i++)));
    else if (way === 1) { const p = pkt(i++); results.push(link.writeParts(p.subarray(0, 28), p.subarray(28))); }
    else if (way === 2) { const ps = [pkt(i++), pkt(i++), pkt(i++)]; results.push(`${link.writeBatch(ps)}`); }
    else {
      const ps = [pkt(i++), pkt(i++)];
      const buf = new Uint8Array(ps[0]!.length + ps[1]!.length);
      buf.set(ps[0]!, 0); buf.set(ps[1]!, ps[0]!.length);
      results.push(`${link.writeMany(buf, new Uint32Array([0, ps[0]!.length, ps[0]!.length, ps[1]!.length]), 2)}`);
    }
  }
  const writeThread = link.writeThread;
  link.close();
  const stats = link.stats;
  for (let t = 0; t < 100 && recv.length < i; t++) await new Promise((r) => setTimeout(r, 10));
  sock.close();
  reportResult({ n: i, recv, results: [...new Set(results)], txPackets: stats.txPackets, txDropped: stats.txDropped, writeThread });
}

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

async function lifecycleRole(): Promise<void> {
  const before = fdCount();
  const names = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const l = openTun();
    names.add(l.name);
    l.onPackets(() => undefined);
    l.close();
    l.close(); // idempotent
  }
  // Give libuv a turn to run the poll handles' close callbacks.
  await new Promise((r) => setImmediate(r));
  const after = fdCount();
  const links = JSON.parse((await run('ip', ['-j', 'link', 'show'])).stdout) as Array<{ ifname: string }>;

  const named = openTun('synack7');
  let busy: unknown = null;
  try {
    TunLink.open('synack7').close();
  } catch (e) {
    busy = { name: (e as Error).name, code: (e as TunError).code, message: (e as Error).message };
  }
  named.close();
  let afterClose: unknown = null;
  try {
    named.write(new Uint8Array(20));
  } catch (e) {
    afterClose = { name: (e as Error).name, code: (e as TunError).code };
  }

  // close() from inside the packet callback, then nothing more is delivered.
  const l2 = await openConfigured([V4]);
  let calls = 0;
  l2.onPackets(() => {
    calls++;
    l2.close();
  });
  const sock = createSocket('udp4');
  for (let i = 0; i < 5; i++) sock.send('x', 9, V4.stack);
  await new Promise((r) => setTimeout(r, 200));
  sock.close();
  reportResult({ before, after, distinctNames: names.size, linksAfter: links.map((l) => l.ifname), namedName: named.name, busy, afterClose, callsAfterCloseInCallback: calls });
}

async function noDeviceRole(): Promise<void> {
  // Hide /dev/net/tun in this private mount namespace: the error must say what is missing.
  const m = spawnSync('mount', ['-t', 'tmpfs', 'none', '/dev/net']);
  if (m.status !== 0) throw new Error(`mount failed: ${m.stderr}`);
  try {
    TunLink.open();
    reportResult({ error: null });
  } catch (e) {
    reportResult({ error: { name: (e as Error).name, code: (e as TunError).code, message: (e as Error).message } });
  }
}

async function unprivilegedRole(): Promise<void> {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), 'unprivileged-inner'], { encoding: 'utf8', env: process.env });
  if (r.status !== 0) throw new Error(`unprivileged child failed: ${r.stderr}`);
  process.stdout.write(r.stdout);
}

async function unprivilegedInnerRole(): Promise<void> {
  let open: unknown = null;
  try {
    TunLink.open().close();
  } catch (e) {
    open = { name: (e as Error).name, code: (e as TunError).code, message: (e as Error).message };
  }
  let setup: unknown = null;
  try {
    await configureTunDevice({ name: 'lo', mtu: 1500 });
  } catch (e) {
    setup = { name: (e as Error).name, code: (e as { code: string }).code, message: (e as Error).message };
  }
  reportResult({ uid: process.getuid!(), open, setup });
}


/** What the kernel says to bad writes, and what a device deleted under an open link does. */
async function writeErrorsRole(): Promise<void> {
  const codeOf = (fn: () => unknown): string => {
    try {
      return `returned ${String(fn())}`;
    } catch (e) {
      return e instanceof TunError ? e.code : `non-TunError ${String(e)}`;
    }
  };
  const udp = udpPacket(V4.stack, V4.kernel, 5555, 7777, 4);
  const link = openTun();
  const whileDown = codeOf(() => link.write(udp));
  await configureTunDevice({ name: link.name, addresses: [V4] });
  const up = codeOf(() => link.write(udp));
  const notIp = codeOf(() => link.write(new Uint8Array(20))); // version nibble 0: neither IPv4 nor IPv6
  const empty = codeOf(() => link.write(new Uint8Array(0)));
  const notBytes = codeOf(() => link.write([1, 2, 3] as unknown as Uint8Array));
  const badBatch = codeOf(() => link.writeBatch([udp, 'x' as unknown as Uint8Array]));
  const badParts = codeOf(() => link.writeParts(udp, 'x' as unknown as Uint8Array));

  // Delete the device under the open link: exactly one error, then writes fail with EBADFD; close still works.
  const errors: string[] = [];
  link.onError((e) => errors.push(`${e.code}: ${e.message}`));
  link.onPackets(() => undefined);
  await run('ip', ['link', 'del', link.name]);
  await new Promise((r) => setTimeout(r, 300));
  const afterDelete = codeOf(() => link.write(udp));
  link.close();
  reportResult({ whileDown, up, notIp, empty, notBytes, badBatch, badParts, errors, afterDelete });
}

/** An unref()'d link lets the process end by itself; a throwing packet handler surfaces as uncaught. */
async function loopRole(): Promise<void> {
  const link = await openConfigured([V4]);
  const uncaught: string[] = [];
  process.on('uncaughtException', (e) => {
    uncaught.push(e.message);
    if (uncaught.length === 1) {
      link.unref();
      reportResult({ uncaught });
    }
  });
  link.onPackets(() => {
    throw new Error('handler bug');
  });
  const sock = createSocket('udp4');
  sock.send('x', 9, V4.stack, () => sock.close());
  // Nothing else keeps the loop alive: once unref()'d, the open, polling link must not either.
}

const roles: Record<string, () => Promise<void>> = {
  loop: loopRole,
  'write-errors': writeErrorsRole,
  ping4: () => pingRole(V4),
  ping6: () => pingRole(V6),
  syn4: () => synRole(V4, 1500),
  syn4jumbo: () => synRole(V4, 9000),
  syn6: () => synRole(V6, 1500),
  'udp-in': () => udpInRole(300),
  'udp-out': () => udpOutRole(300),
  'read-now': readNowRole,
  'write-many': () => writeManyRole(false),
  'write-many-offload': () => writeManyRole(true),
  'write-many-thread': () => writeManyRole(true, true),
  'write-thread': () => writeThreadRole(false),
  'write-thread-offload': () => writeThreadRole(true),
  lifecycle: lifecycleRole,
  'no-device': noDeviceRole,
  unprivileged: unprivilegedRole,
  'unprivileged-inner': unprivilegedInnerRole,
};

// ---------------------------------------------------------------------------------------------------------
// Tests: run each role in its own namespace and judge what it saw.

const role = process.env[NETNS_ENV] ? process.argv[2] : undefined;
if (role !== undefined) {
  const fn = roles[role];
  if (!fn) throw new Error(`unknown role ${role}`);
  await fn();
} else {
  const { reason, skip } = tunTestSkip();
  if (reason && process.env.SYNACK_REQUIRE_TUN) test('TUN tests are required (SYNACK_REQUIRE_TUN) but cannot run', () => assert.fail(reason));

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function inNetns(r: string, env?: Record<string, string>): Promise<any> {
    const res = await runInNetns(import.meta.url, [r], { timeoutMs: 30_000, env });
    assert.equal(res.code, 0, `role ${r} failed (timedOut=${res.timedOut}):\n${res.stderr}\n${res.stdout}`);
    assert.ok(res.result !== undefined, `role ${r} reported nothing:\n${res.stdout}`);
    return res.result;
  }

  const pingSkip = skip || tunTestSkip(undefined, ['ping']).skip;
  const ncSkip = skip || tunTestSkip(undefined, ['nc']).skip;
  test('ping from the kernel reaches JS as an ICMP echo request; only JS\'s echo reply makes ping succeed (IPv4)', { skip: pingSkip }, async () => {
    const r = await inNetns('ping4');
    assert.notEqual(r.unanswered.code, 0, 'ping must fail while nobody answers');
    assert.equal(r.answered.code, 0, `ping failed with our reply: ${r.answered.stdout}${r.answered.stderr}`);
    assert.match(r.answered.stdout, /1 received/);
    assert.equal(r.requests.length, 2);
    for (const q of r.requests) {
      assert.deepEqual({ ...q, length: 0 }, { version: 4, src: '10.77.0.1', dst: '10.77.0.2', protocol: 1, ipChecksumOk: true, upperChecksumOk: true, type: 8, length: 0 });
    }
    assert.deepEqual(r.writes, ['sent']);
  });

  test('ping -6 reaches JS as an ICMPv6 echo request and JS\'s reply makes it succeed (fd77::1 → fd77::2)', { skip: pingSkip }, async () => {
    const r = await inNetns('ping6');
    assert.notEqual(r.unanswered.code, 0);
    assert.equal(r.answered.code, 0, `ping -6 failed with our reply: ${r.answered.stdout}${r.answered.stderr}`);
    assert.equal(r.requests.length, 2);
    for (const q of r.requests) {
      assert.deepEqual({ ...q, length: 0 }, { version: 6, src: 'fd77::1', dst: 'fd77::2', protocol: 58, ipChecksumOk: true, upperChecksumOk: true, type: 128, length: 0 });
    }
  });

  test('a kernel TCP connect arrives as a SYN to port 80 with MSS = MTU − 40 (1500 and 9000)', { skip: ncSkip }, async () => {
    for (const [r, mss] of [['syn4', 1460], ['syn4jumbo', 8960]] as const) {
      const { syn, nc } = await inNetns(r);
      assert.notEqual(nc.code, 0, 'nc -z must fail: nobody answers the SYN');
      assert.deepEqual(syn, { src: '10.77.0.1', dst: '10.77.0.2', flags: 'SYN', dstPort: 80, mss, tcpChecksumOk: true, ipChecksumOk: true });
    }
  });

  test('a kernel TCP connect over IPv6 arrives as a SYN with MSS = MTU − 60', { skip: ncSkip }, async () => {
    const { syn } = await inNetns('syn6');
    assert.deepEqual(syn, { src: 'fd77::1', dst: 'fd77::2', flags: 'SYN', dstPort: 80, mss: 1440, tcpChecksumOk: true, ipChecksumOk: true });
  });

  test('writeMany: 200 datagrams packed in one buffer reach a kernel socket from one call (plain and offload devices); a bad range writes nothing', { skip }, async () => {
    for (const r of ['write-many', 'write-many-offload', 'write-many-thread']) {
      const res = await inNetns(r);
      assert.equal(res.accepted, 200, r);
      assert.deepEqual(res.recv, Array.from({ length: 200 }, (_, i) => `many ${i}`), r);
      assert.equal(res.outside, 'ERR_TUN_ARG', `${r}: a packet outside the buffer`);
      assert.equal(res.tooMany, 'ERR_TUN_ARG', `${r}: more packets than offsets`);
      assert.equal(res.writtenByBad, 0, `${r}: a rejected call wrote nothing`);
      assert.equal(res.txPackets, 200, `${r}: counted as written`);
      assert.equal(res.readThread, r.endsWith('thread'), `${r}: written by the reader thread, or by the call`);
    }
  });

  test('writer thread: datagrams from write, writeParts, writeBatch and writeMany, interleaved, reach a kernel socket in the order given; close() writes what is queued (plain and offload devices)', { skip }, async () => {
    for (const r of ['write-thread', 'write-thread-offload']) {
      const res = await inNetns(r);
      assert.equal(res.writeThread, true, r);
      assert.deepEqual(res.recv, Array.from({ length: res.n }, (_, i) => `in order ${i}`), r);
      assert.equal(res.txPackets, res.n, `${r}: every datagram written before close() returned`);
      assert.equal(res.txDropped, 0, r);
      assert.deepEqual(res.results.sort(), ['2', '3', 'sent'], `${r}: every call accepted all its datagrams`);
    }
  });

  // The reading tests, with libuv polling the fd (the default) and with the addon's reader thread.

  test('readNow: packets the kernel queued while the loop was blocked are read at once, at most the number asked, in order, and never delivered again', { skip }, async () => {
    const r = await inNetns('read-now');
    assert.equal(r.emptyBefore, 0);
    assert.deepEqual(r.now, ['now 0', 'now 1', 'now 2']);
    assert.deepEqual(r.rest, ['now 3', 'now 4']);
    assert.equal(r.none, 0);
    assert.deepEqual(r.later, [], 'read once');
    assert.equal(r.stats.rxNowPackets, 5);
    assert.ok(r.stats.rxNowCalls >= 3);
  });

  for (const thread of [false, true]) {
    const env = thread ? { TUN_TEST_READ_THREAD: '1' } : undefined;
    const tag = thread ? ' (reader thread)' : '';
    test(`300 datagrams sent at once by the kernel all reach JS, in order, in a few batches${tag}`, { skip }, async () => {
      const r = await inNetns('udp-in', env);
      assert.equal(r.readThread, thread, 'read by the reader thread, or polled');
    assert.deepEqual(r.got, Array.from({ length: 300 }, (_, i) => `datagram ${i}`));
      assert.ok(r.batchSizes.length < 30, `expected batched delivery, got batches ${JSON.stringify(r.batchSizes)}`);
      assert.equal(r.stats.rxBatches, r.batchSizes.length);
    });

    test(`UDP datagrams written by JS reach kernel sockets (IPv4 batch and IPv6); a bad checksum is dropped${tag}`, { skip }, async () => {
      const r = await inNetns('udp-out', env);
      assert.equal(r.accepted, 300);
      assert.equal(r.single, 'sent');
      const v4 = r.recv.filter((m: string) => /^v4 \d+$/.test(m));
      assert.deepEqual(v4, Array.from({ length: 300 }, (_, i) => `v4 ${i}`));
      assert.ok(r.recv.includes('v6 single'));
      assert.equal(r.parts, 'sent');
      assert.ok(r.recv.includes('v4 gathered from two parts'), 'the datagram written with writeParts did not arrive whole');
      assert.ok(!r.recv.includes('corrupt'), 'the kernel accepted a datagram with a corrupted checksum: checksums are not being checked');
      assert.equal(r.stats.txPackets, 303);
    });

    test(`open/close 100 times leaks no fd and no device; names, EBUSY, use after close, close inside the callback${tag}`, { skip }, async () => {
      const r = await inNetns('lifecycle', env);
      assert.equal(r.after, r.before, 'file descriptors leaked');
      assert.deepEqual(r.linksAfter, ['lo'], 'devices outlived close()');
      assert.ok(r.distinctNames >= 1);
      assert.equal(r.namedName, 'synack7');
      assert.equal(r.busy?.name, 'TunError');
      assert.equal(r.busy?.code, 'EBUSY');
      assert.deepEqual(r.afterClose, { name: 'TunError', code: 'ERR_TUN_CLOSED' });
      assert.equal(r.callsAfterCloseInCallback, 1);
    });


    test(`bad writes get the kernel\'s verdict as TunError (EIO while down, EINVAL for non-IP); a deleted device reports once${tag}`, { skip }, async () => {
      const r = await inNetns('write-errors', env);
      assert.equal(r.whileDown, 'EIO');
      assert.equal(r.up, 'returned sent');
      assert.equal(r.notIp, 'EINVAL');
      assert.equal(r.empty, 'EINVAL');
      assert.equal(r.notBytes, 'ERR_TUN_ARG');
      assert.equal(r.badBatch, 'ERR_TUN_ARG');
      assert.equal(r.badParts, 'ERR_TUN_ARG');
      assert.equal(r.errors.length, 1, `expected one error, got ${JSON.stringify(r.errors)}`);
      assert.match(r.errors[0], /deleted/);
      assert.equal(r.afterDelete, 'EBADFD');
    });


    test(`a throwing onPackets handler surfaces as an uncaught exception; unref() lets the process exit with the link open${tag}`, { skip }, async () => {
      const res = await runInNetns(import.meta.url, ['loop'], { timeoutMs: 10_000, env });
      assert.equal(res.timedOut, false, 'the unref()\'d link kept the process alive');
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(res.result, { uncaught: ['handler bug'] });
    });
  }

  test('a missing /dev/net/tun gives TunError ENOENT naming the device file', { skip }, async () => {
    const { error } = await inNetns('no-device');
    assert.equal(error?.name, 'TunError');
    assert.equal(error?.code, 'ENOENT');
    assert.match(error.message, /\/dev\/net\/tun/);
  });

  test('without root: TunError EPERM/EACCES from open and DeviceSetupError EPERM from device setup', { skip }, async () => {
    const r = await inNetns('unprivileged');
    assert.equal(r.uid, 65534);
    assert.equal(r.open?.name, 'TunError');
    // EACCES when /dev/net/tun is mode 0600, EPERM from TUNSETIFF when it is 0666.
    assert.ok(['EPERM', 'EACCES'].includes(r.open?.code), `code ${r.open?.code}`);
    assert.match(r.open.message, /root|CAP_NET_ADMIN/);
    assert.equal(r.setup?.name, 'DeviceSetupError');
    assert.equal(r.setup?.code, 'EPERM');
  });
}

if (role === undefined) {
  test('without the addon, TunLink.open throws TunError ERR_TUN_ADDON saying why, and importing tun.ts still works', () => {
    const code = `import('${new URL('./tun.ts', import.meta.url).href}').then((m) => {
      try { m.TunLink.open(); console.log('opened'); } catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }
    })`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      encoding: 'utf8',
      env: { ...process.env, SYNACK_TUN_ADDON: '/nonexistent/synack_tun.node' },
    });
    assert.equal(r.status, 0, r.stderr);
    const e = JSON.parse(r.stdout.trim());
    assert.equal(e.name, 'TunError');
    assert.equal(e.code, 'ERR_TUN_ADDON');
    assert.match(e.message, /\/nonexistent\/synack_tun\.node does not exist/);
  });

  test('TunLink.open rejects bad device names with ERR_TUN_ARG before touching the kernel', () => {
    for (const name of ['', 'x'.repeat(16), 'a b', 'a/b']) {
      assert.throws(() => TunLink.open(name), (e: unknown) => e instanceof TunError && e.code === 'ERR_TUN_ARG');
    }
  });
}
