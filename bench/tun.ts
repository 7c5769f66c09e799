/**
 * The TUN link's raw ceiling: how fast a minimal JS sink can read packets the kernel routes into a TUN device,
 * and how fast a minimal JS source can write packets the kernel delivers to one of its sockets, with no TCP
 * at all. synack's TCP throughput over TUN is reported as a fraction of these numbers (issue #4: goal ≥ 90 %).
 *
 * Every measurement runs in a fresh network namespace and process (runInNetns re-executes this file with a
 * role: "ceiling", "kernel-tcp", "synack"), at MTU 1500 and 65535:
 *   kernel→js  a python3 process sends MTU-sized datagrams to 10.77.0.2 as fast as it can (a connected UDP
 *              socket, one send(2) each); the JS sink counts what onPackets delivers. The device's queue drops
 *              what the sink cannot take; the sink's CPU share tells whether JS or the sender set the pace.
 *   js→kernel  JS writes MTU-sized UDP datagrams with writeBatch to a bound kernel socket; we count what the
 *              kernel's UDP layer accepted (/proc/net/snmp Udp InDatagrams + RcvbufErrors: checksum verified
 *              and demultiplexed), so packets the kernel dropped before that do not count. That socket is not
 *              read (a per-datagram reader would cost more per byte than a TCP receiver does); a second row,
 *              "read by a UDP reader", repeats the run with a python3 process recv(2)ing every datagram.
 * MB/s are 10^6 bytes of UDP payload per second (MTU − 28 per packet: within 1 % of TCP's MSS, MTU − 40).
 *
 * Needs root, /dev/net/tun, the addon, unshare, ip and python3 (apt: iproute2 util-linux python3).
 * Then synack's TCP both ways against the kernel (with and without offload), and the kernel's own TCP over `lo`
 * as a reference. Takes about a minute; each figure is the best of 4 windows of 0.5 s. Rows: `tun raw ceiling
 * <dir> MTU <n>` in MB/s (the ceiling), plus pkt/s, mean batch size, the JS sink's CPU share and the JS write
 * rate as context; `tun synack <dir> MTU <n>[ no offload]` with its ratio to the ceiling.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { TunLink, tunUnavailableReason } from '../src/link/tun.js';
import { configureTunDevice } from '../src/link/tun-device.js';
import { runInNetns, reportResult, netnsUnavailableReason, NETNS_ENV } from '../src/link/netns.js';
import { udpPacket } from '../src/link/tun-testkit.js';
import { openTunHost } from '../src/cli/tun-host.js';
import { patternBytes } from '../src/cli/serve.js';
import { Server } from '../src/stack/server.js';
import type { Socket } from '../src/stack/socket.js';

import type { BenchResult } from './results.js';

export type { BenchResult };

const STACK = '10.77.0.2';
const KERNEL = '10.77.0.1';
const MTUS = [1500, 65535];
const WARMUP_MS = 300;
// The best of several short windows: this runs on shared machines, and a ceiling is what the link can do when
// nothing else gets in the way.
const WINDOWS = 4;
const WINDOW_MS = 500;

/** Why the TUN benchmark cannot run here, or null. */
export function tunBenchUnavailableReason(): string | null {
  const r = netnsUnavailableReason() ?? tunUnavailableReason();
  if (r) return r;
  if (spawnSync('python3', ['-V']).error) return 'python3 is not installed (apt-get install python3)';
  return null;
}

/**
 * Each measurement runs in its own process and network namespace (a fresh device, a fresh V8 heap): synack's
 * figures are then what a fresh `synack serve` gets, not what is left after gigabytes of earlier runs.
 */
async function inNamespace(args: string[]): Promise<BenchResult[]> {
  const res = await runInNetns(import.meta.url, args, { timeoutMs: 120_000 });
  if (res.code !== 0 || !Array.isArray(res.result)) {
    throw new Error(`TUN benchmark step ${args.join(' ')} failed (exit ${res.code}${res.timedOut ? ', timed out' : ''}):\n${res.stderr}${res.stdout}`);
  }
  return res.result as BenchResult[];
}

export async function run(): Promise<BenchResult[]> {
  const reason = tunBenchUnavailableReason();
  if (reason) throw new Error(`TUN raw-ceiling benchmark cannot run: ${reason}`);
  const out: BenchResult[] = [];
  for (const mtu of MTUS) {
    out.push(...(await inNamespace(['ceiling', String(mtu)])));
    const kernelTcp = (await inNamespace(['kernel-tcp', String(mtu)]))[0]!;
    out.push(kernelTcp);
    // synack's TCP against the kernel on the same kind of link, as a fraction of the raw ceiling measured just
    // now: as `synack serve`/`connect` run by default (the kernel's offloads: TSO/GSO super-packets both ways,
    // no checksums in JS), then on a plain device (--no-offload: every segment MTU-sized, checksummed in JS).
    // The ceiling is per-packet work at this MTU, which offload lets synack go beyond.
    for (const [dir, ceilingDir, offload] of [
      ['kernel->synack', 'kernel->js', true], ['synack->kernel', 'js->kernel', true],
      ['kernel->synack', 'kernel->js', false], ['synack->kernel', 'js->kernel', false],
    ] as const) {
      const rows = await inNamespace(['synack', String(mtu), dir, offload ? 'offload' : 'plain']);
      const ceiling = out.find((r) => r.name === `tun raw ceiling ${ceilingDir} MTU ${mtu}`)!;
      const main = rows[0]!;
      main.peer = ceiling.name;
      main.peerValue = ceiling.value;
      main.ratio = Math.round((main.value / ceiling.value) * 1000) / 1000;
      out.push(...rows);
      if (offload) {
        // The same figure against the kernel's own TCP at both ends (no TUN, no JS).
        out.push({
          name: `${main.name} vs kernel TCP`, value: main.value, unit: main.unit,
          peer: kernelTcp.name, peerValue: kernelTcp.value, ratio: Math.round((main.value / kernelTcp.value) * 1000) / 1000,
        });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Inside the namespace.

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Udp counters of this namespace (/proc/net/snmp is per network namespace). */
function udpCounters(): Record<string, number> {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const keys = lines[0]!.split(/\s+/);
  const vals = lines[1]!.split(/\s+/);
  const out: Record<string, number> = {};
  keys.forEach((k, i) => (out[k] = Number(vals[i])));
  return out;
}

/** Datagrams the kernel's UDP layer took in: checksum verified, demultiplexed to a socket (queued or not). */
function udpAccepted(): number {
  const c = udpCounters();
  return c.InDatagrams! + c.RcvbufErrors!;
}

function python(code: string, args: string[]): ChildProcess {
  const p = spawn('python3', ['-c', code, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  p.stderr!.setEncoding('utf8').on('data', (d: string) => process.stderr.write(`python3: ${d}`));
  return p;
}

// A connected UDP socket sending one datagram per send(2): the cheapest sender without sendmmsg.
const SENDER = `import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], 9))
b = bytes(int(sys.argv[2]))
send = s.send
while True:
    send(b)
`;
// A bound socket nobody reads: the kernel still receives, checksums and demultiplexes every datagram
// (counted as InDatagrams or RcvbufErrors), without a per-datagram reader competing for the CPU; a TCP
// receiver reads large chunks and costs far less per packet than a UDP reader would.
const SINK = `import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print("bound", flush=True)
if sys.argv[3] == "read":
    buf = bytearray(65536)
    r = s.recv_into
    while True:
        r(buf)
time.sleep(3600)
`;

interface Window {
  secs: number;
  d: Record<string, number>;
}

/** Samples counters every WINDOW_MS, WINDOWS times; returns the window where `key` grew fastest. */
async function bestWindow(snapshot: () => Record<string, number>, key: string): Promise<Window> {
  let best: Window | null = null;
  let prev = snapshot();
  let t = process.hrtime.bigint();
  for (let i = 0; i < WINDOWS; i++) {
    await sleep(WINDOW_MS);
    const now = snapshot();
    const t2 = process.hrtime.bigint();
    const w: Window = { secs: Number(t2 - t) / 1e9, d: {} };
    for (const k of Object.keys(now)) w.d[k] = now[k]! - prev[k]!;
    if (!best || w.d[key]! / w.secs > best.d[key]! / best.secs) best = w;
    prev = now;
    t = t2;
  }
  return best!;
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await done;
}

async function kernelToJs(link: TunLink, mtu: number): Promise<BenchResult[]> {
  const payload = mtu - 28;
  let packets = 0;
  let bytes = 0;
  let batches = 0;
  link.onPackets((pkts) => {
    batches++;
    packets += pkts.length;
    for (const p of pkts) bytes += p.length;
  });
  const sender = python(SENDER, [STACK, String(payload)]);
  await sleep(WARMUP_MS);
  const cpuMicros = () => {
    const c = process.cpuUsage();
    return c.user + c.system;
  };
  const w = await bestWindow(() => ({ packets, bytes, batches, cpu: cpuMicros() }), 'packets');
  const { secs } = w;
  const { packets: dp, bytes: db, batches: dn, cpu } = w.d as { packets: number; bytes: number; batches: number; cpu: number };
  await stop(sender);
  link.onPackets(() => undefined);
  if (dp === 0) throw new Error(`kernel→js at MTU ${mtu}: no packet reached the JS sink`);
  if (db !== dp * mtu) throw new Error(`kernel→js at MTU ${mtu}: expected ${mtu}-byte packets, got ${db / dp} on average`);
  return [
    { name: `tun raw ceiling kernel->js MTU ${mtu}`, value: round((dp * payload) / secs / 1e6), unit: 'MB/s' },
    { name: `tun raw ceiling kernel->js MTU ${mtu} packets`, value: Math.round(dp / secs), unit: 'pkt/s' },
    { name: `tun raw ceiling kernel->js MTU ${mtu} batch size`, value: round(dp / Math.max(1, dn)), unit: 'pkt/batch' },
    // Well below 100 %: the sink was waiting for the kernel's sender, so the figure is what the kernel can
    // push through the device on this machine rather than what JS could take.
    { name: `tun raw ceiling kernel->js MTU ${mtu} JS CPU`, value: round((cpu / 1e6 / secs) * 100), unit: '%' },
  ];
}

/**
 * `read`: a python3 process also reads every datagram (one recv(2) each), so the figure is what reaches a
 * user process; it competes with JS for the CPU and costs more per byte than a TCP reader would.
 */
async function jsToKernel(link: TunLink, mtu: number, read: boolean): Promise<BenchResult[]> {
  const payload = mtu - 28;
  const sink = python(SINK, [KERNEL, '9000', read ? 'read' : 'idle']);
  await new Promise<void>((resolve, reject) => {
    sink.stdout?.once('data', () => resolve());
    sink.once('exit', (c) => reject(new Error(`UDP sink exited (${c}) before binding`)));
    setTimeout(resolve, 2000).unref();
  });
  // 64 distinct datagrams (IP ids differ), written again and again: the JS side does what a stack's transmit
  // path does last (hand finished packets to the link) and nothing else.
  const batch: Uint8Array[] = [];
  for (let i = 0; i < 64; i++) batch.push(udpPacket(STACK, KERNEL, 5555, 9000, payload, i));
  let running = true;
  let written = 0;
  const pump = async () => {
    while (running) {
      // Write for ~2 ms, then yield so timers (and the measurement) run.
      const until = performance.now() + 2;
      while (performance.now() < until) written += link.writeBatch(batch);
      await new Promise((r) => setImmediate(r));
    }
  };
  const pumping = pump();
  await sleep(WARMUP_MS);
  const w = await bestWindow(() => ({ accepted: read ? udpCounters().InDatagrams! : udpAccepted(), written }), 'accepted');
  const { secs } = w;
  const { accepted, written: wrote } = w.d as { accepted: number; written: number };
  running = false;
  await pumping;
  await stop(sink);
  if (accepted === 0) throw new Error(`js→kernel at MTU ${mtu}: the kernel's UDP layer accepted no datagram`);
  if (read) {
    return [{ name: `tun raw js->kernel MTU ${mtu} read by a UDP reader`, value: round((accepted * payload) / secs / 1e6), unit: 'MB/s' }];
  }
  return [
    { name: `tun raw ceiling js->kernel MTU ${mtu}`, value: round((accepted * payload) / secs / 1e6), unit: 'MB/s' },
    { name: `tun raw ceiling js->kernel MTU ${mtu} packets`, value: Math.round(accepted / secs), unit: 'pkt/s' },
    // Written but not accepted: dropped before UDP (e.g. the backlog queue), only if this exceeds the above.
    { name: `tun raw ceiling js->kernel MTU ${mtu} written`, value: round((wrote * payload) / secs / 1e6), unit: 'MB/s' },
  ];
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

// ---------------------------------------------------------------------------------------------------------
// synack's TCP over the same device: the kernel's TCP as the peer (a python3 process doing sendall/recv_into
// with 1 MiB buffers, the cheapest kernel-side endpoint), synack's stack with its Node-style sockets.

const TCP_SENDER = `import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
b = bytes(1 << 20)
while True:
    s.sendall(b)
`;
const TCP_READER = `import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
buf = bytearray(1 << 20)
r = s.recv_into
while r(buf):
    pass
`;

/** TCP buffers for the bulk runs: enough for the bandwidth-delay product of a local link at either MTU. */
const SYNACK_BUFFER = 4 << 20;

/**
 * kernel→synack: the kernel sends into synack's discard service (bytes read by the application);
 * synack→kernel: synack's source service writes, the kernel reads (bytes the kernel acknowledged).
 */
async function synackTcp(mtu: number, dir: 'kernel->synack' | 'synack->kernel', offload = false): Promise<BenchResult[]> {
  const host = await openTunHost({
    addr: [STACK], peer: [`${KERNEL}/24`], mtu, txqueuelen: 10000, offload,
    tcp: { recvBufferSize: SYNACK_BUFFER, sendBufferSize: SYNACK_BUFFER },
  });
  const { stack } = host;
  let received = 0;
  let sock: Socket | null = null;
  const chunk = patternBytes(1 << 16);
  const srv = new Server(stack, { allowHalfOpen: true }, (s) => {
    sock = s;
    s.on('error', () => undefined);
    if (dir === 'kernel->synack') {
      s.on('data', (d: Buffer) => { received += d.length; });
    } else {
      const pump = () => {
        while (s.writable && s.write(chunk));
        if (s.writable) s.once('drain', pump);
      };
      pump();
    }
  });
  srv.listen(9);
  const peer = python(dir === 'kernel->synack' ? TCP_SENDER : TCP_READER, [STACK, '9']);
  // Bytes acknowledged, counted across SND.UNA's 2^32 wrap (a few seconds at these rates): sampled every
  // window, far more often than 4 GiB passes.
  let ackedTotal = 0;
  let lastUna: number | null = null;
  const acked = () => {
    const c = (sock as Socket | null)?.conn;
    if (!c) return 0;
    const una = c.tcp.sndUna;
    ackedTotal += lastUna === null ? (una - c.tcp.iss - 1) >>> 0 : (una - lastUna) >>> 0;
    lastUna = una;
    return ackedTotal;
  };
  const cpuMicros = () => {
    const c = process.cpuUsage();
    return c.user + c.system;
  };
  await sleep(WARMUP_MS);
  const w = await bestWindow(() => ({ bytes: dir === 'kernel->synack' ? received : acked(), cpu: cpuMicros(), retrans: stack.stats.RetransSegs }), 'bytes');
  await stop(peer);
  stack.destroy();
  host.close();
  if (w.d.bytes === 0) throw new Error(`synack ${dir} at MTU ${mtu}${offload ? ' with offload' : ''}: no data moved`);
  const sfx = offload ? '' : ' no offload';
  const rows: BenchResult[] = [
    { name: `tun synack ${dir} MTU ${mtu}${sfx}`, value: round(w.d.bytes! / w.secs / 1e6), unit: 'MB/s' },
    { name: `tun synack ${dir} MTU ${mtu}${sfx} JS CPU`, value: round((w.d.cpu! / 1e6 / w.secs) * 100), unit: '%' },
    { name: `tun synack ${dir} MTU ${mtu}${sfx} retransmitted segments`, value: w.d.retrans!, unit: 'segments' },
  ];
  if (offload) {
    // Whether the offloads were used at all: super-packets each way over the whole run.
    const o = host.link.offloadStats;
    rows.push({ name: `tun synack ${dir} MTU ${mtu}${sfx} GSO packets kernel->synack`, value: o.rxGsoPackets, unit: 'packets' });
    rows.push({ name: `tun synack ${dir} MTU ${mtu}${sfx} GSO packets synack->kernel`, value: o.txGsoPackets, unit: 'packets' });
  }
  return rows;
}

// The kernel's own TCP at both ends (a python3 sender and reader over `lo`, its MTU set to the TUN device's):
// the fastest TCP this machine can do, with every offload, no TUN device and no JS. A reference for what any
// TCP endpoint can reach here, not a ceiling of the TUN link.
const LOOPBACK_PAIR = `import socket, threading, time, sys
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]
def sender():
    s = socket.create_connection(("127.0.0.1", port))
    b = bytes(1 << 20)
    while True:
        s.sendall(b)
threading.Thread(target=sender, daemon=True).start()
c, _ = srv.accept()
buf = bytearray(1 << 20)
r = c.recv_into
best = 0.0
for w in range(int(sys.argv[1]) + 1):
    n = 0
    t0 = time.time()
    while time.time() - t0 < float(sys.argv[2]):
        n += r(buf)
    if w > 0:
        best = max(best, n / (time.time() - t0))
print(best, flush=True)
`;

async function kernelTcpLoopback(mtu: number): Promise<BenchResult> {
  spawnSync('ip', ['link', 'set', 'lo', 'mtu', String(Math.min(mtu, 65536))]);
  const p = spawnSync('python3', ['-c', LOOPBACK_PAIR, String(WINDOWS), String(WINDOW_MS / 1000)], { encoding: 'utf8', timeout: 30_000 });
  spawnSync('ip', ['link', 'set', 'lo', 'mtu', '65536']);
  const bps = Number(p.stdout.trim());
  if (!(bps > 0)) throw new Error(`kernel TCP over lo at MTU ${mtu} failed: ${p.stderr}`);
  return { name: `tun reference kernel TCP over lo MTU ${mtu}`, value: round(bps / 1e6), unit: 'MB/s' };
}

/** The raw ceilings at one MTU (inside a fresh namespace). */
async function ceilings(mtu: number): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const link = TunLink.open();
  // A long transmit queue so the kernel→js sender is limited by the sink, not by early drops.
  await configureTunDevice({ name: link.name, addresses: [{ stack: STACK, kernel: KERNEL, prefix: 24 }], mtu, txqueuelen: 10000 });
  out.push(...(await kernelToJs(link, mtu)));
  out.push(...(await jsToKernel(link, mtu, false)));
  out.push(...(await jsToKernel(link, mtu, true)));
  link.close();
  return out;
}

const role = process.env[NETNS_ENV] ? process.argv[2] : undefined;
if (role === 'ceiling') {
  reportResult(await ceilings(Number(process.argv[3])));
} else if (role === 'kernel-tcp') {
  reportResult([await kernelTcpLoopback(Number(process.argv[3]))]);
} else if (role === 'synack') {
  const dir = process.argv[4] === 'synack->kernel' ? 'synack->kernel' : 'kernel->synack';
  reportResult(await synackTcp(Number(process.argv[3]), dir, process.argv[5] === 'offload'));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  // `node --import tsx bench/tun.ts`: print the results.
  for (const r of await run()) console.log(`${r.name.padEnd(48)} ${String(r.value).padStart(10)} ${r.unit}`);
}
