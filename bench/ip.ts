/**
 * IP-layer benchmarks (issue 13):
 *   reassembly   fragmented MTU-1500 datagrams through Stack.receive: TCP segments of 4 000 bytes, each cut into
 *                three fragments (1 480 + 1 480 + 1 060 bytes of data), delivered to an established connection
 *                (virtual time, one process). The peer figure is the same segments unfragmented, same run.
 *   heap         the heap held by 10 000 half-finished datagrams (first fragment of 1 480 bytes each, bounds
 *                raised so none is evicted), per datagram; and the heap with the default bounds (4 MiB in all),
 *                which a flood cannot exceed.
 *   pmtu goodput a 10 MB download across a router whose next hop has MTU 1000 (kernel forwarding, veth, path-MTU
 *                discovery by ICMP): synack serving it vs the kernel's own TCP serving it from the same host
 *                namespace, same path, same run (needs root, /dev/net/tun, the addon, python3).
 */
import { VirtualClock } from '../src/stack/clock.js';
import { Stack, type StackConnection } from '../src/stack/stack.js';
import { installIpReassembly } from '../src/stack/reassembly.js';
import { encodeTcpPacket } from '../src/wire/packet.js';
import { parseAddress } from '../src/wire/address.js';
import { ACK, EMPTY, SYN, type TcpSegment } from '../src/wire/tcp-types.js';
import { DATAGRAM_OVERHEAD, FRAGMENT_OVERHEAD, fragmentAt } from '../src/wire/ip-reassembly.js';
import { decodePacket } from '../src/wire/packet.js';
import { runInNetns, reportResult, NETNS_ENV, netnsUnavailableReason } from '../src/link/netns.js';
import { tunUnavailableReason } from '../src/link/tun.js';
import type { BenchResult } from './results.js';

const PEER = parseAddress('10.0.0.1');
const HOST = parseAddress('10.0.0.2');
const SEG = 4000;

function seg(init: Partial<TcpSegment> & { flags: number }): TcpSegment {
  return { srcPort: 40000, dstPort: 80, seq: 0, ack: 0, window: 65535, urgent: 0, options: {}, payload: EMPTY, ...init };
}

/** A stack with one established connection from the peer; returns it and the ISS. */
function established(reassembly?: { maxBytes: number; maxPerSource: number }) {
  const clock = new VirtualClock();
  const stack = new Stack({ addresses: ['10.0.0.2'], clock, random: (b) => b.fill(5), tcp: { recvBufferSize: 64 << 20, mss: 1460 }, reassembly });
  installIpReassembly(stack); // as every stack in Node has it
  let synack: TcpSegment | null = null;
  stack.attach((p) => { if (synack === null) synack = decodePacket(p).tcp!.seg; });
  let conn: StackConnection | null = null;
  stack.listen(80, { onConnection: (c) => { conn = c; } });
  stack.receive(encodeTcpPacket({ src: PEER, dst: HOST }, seg({ flags: SYN, seq: 999, options: { mss: 1460 } })));
  const iss = (synack as TcpSegment | null)!.seq;
  stack.receive(encodeTcpPacket({ src: PEER, dst: HOST }, seg({ flags: ACK, seq: 1000, ack: iss + 1 })));
  return { stack, clock, conn: conn as StackConnection | null, iss };
}

/** Datagrams/s and MB/s of TCP payload delivered through Stack.receive, fragmented or whole. */
export function throughput(fragmented: boolean, count: number): { dps: number; mbps: number } {
  const { stack, conn, iss } = established();
  if (!conn) throw new Error('no connection');
  const payload = new Uint8Array(SEG).fill(7);
  const packets: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const p = encodeTcpPacket({ src: PEER, dst: HOST, df: false, id: i & 0xffff }, seg({ flags: ACK, seq: (1000 + i * SEG) >>> 0, ack: iss + 1, payload }));
    if (fragmented) packets.push(...fragmentAt(p, [1480, 2960], 0));
    else packets.push(p);
  }
  let bytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < packets.length; i++) {
    stack.receive(packets[i]!);
    if ((i & 63) === 63) for (let b = conn.tcp.read(); b.length; b = conn.tcp.read()) bytes += b.length;
  }
  for (let b = conn.tcp.read(); b.length; b = conn.tcp.read()) bytes += b.length;
  const secs = (performance.now() - t0) / 1000;
  if (bytes !== count * SEG) throw new Error(`delivered ${bytes} of ${count * SEG} bytes`);
  return { dps: count / secs, mbps: bytes / secs / 1e6 };
}

function gc(): void { (globalThis as { gc?: () => void }).gc?.(); }

/** Heap held by `n` half-finished datagrams (bytes), with the reassembler's bounds as given. */
export function heapOfHalfFinished(n: number, bounds?: { maxBytes: number; maxPerSource: number }): { perDatagram: number; total: number; pending: number } {
  const { stack, iss } = established(bounds);
  const payload = new Uint8Array(SEG).fill(3);
  gc(); gc();
  const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  for (let i = 0; i < n; i++) {
    // Each from its own source (one source alone would meet the per-source bound first).
    const src = parseAddress(`10.${1 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}`);
    const p = encodeTcpPacket({ src, dst: HOST, df: false, id: i & 0xffff }, seg({ flags: ACK, seq: 1000, ack: iss + 1, payload }));
    stack.receive(fragmentAt(p, [1480, 2960], 0)[0]!);
  }
  gc(); gc();
  const after = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const pending = stack.reassembler.pending;
  return { perDatagram: Math.round((after - before) / Math.max(1, pending)), total: after - before, pending };
}

// ---------------------------------------------------------------------------------------------------------
// Goodput across the MTU-1000 path (inside a namespace).

const PY_CLIENT = String.raw`
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, port))
t0 = time.time()
s.sendall(b'GET /bytes/10000000 HTTP/1.0\r\nHost: x\r\n\r\n')
n = 0
while True:
    d = s.recv(1 << 20)
    if not d: break
    n += len(d)
print(n, time.time() - t0)
`;
const PY_KERNEL_SERVER = String.raw`
import socket
body = bytes(10000000)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('10.78.0.1', 8080)); s.listen(4)
print('ready', flush=True)
while True:
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b'HTTP/1.0 200 OK\r\nContent-Length: 10000000\r\n\r\n' + body)
    c.close()
`;

if (process.env[NETNS_ENV] && process.argv[2] === 'pmtu-goodput') {
  const { startServe } = await import('../src/cli/serve.js');
  const { buildRoutedPath } = await import('../src/cli/kernel-ip-testkit.js');
  const { spawn } = await import('node:child_process');
  const quiet = { stdout: { write: () => true } as unknown as NodeJS.WritableStream, stderr: process.stderr, stdin: process.stdin };
  const h = await startServe({ tun: 'syn0', addr: ['10.77.0.2'], peer: ['10.77.0.1/24'], http: 80, offload: process.argv[3] === 'offload' }, quiet);
  const path = buildRoutedPath({ m1: Number(process.argv[4] ?? 1000) });
  const server = spawn('python3', ['-c', PY_KERNEL_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => server.stdout!.once('data', r));
  const best = async (host: string, port: number) => {
    let b = 0;
    for (let i = 0; i < 3; i++) {
      const r = await path.peer.sh(`python3 -c "${PY_CLIENT.replace(/"/g, '\\"')}" ${host} ${port}`, 60_000);
      const [n, secs] = r.stdout.trim().split(' ').map(Number) as [number, number];
      if (r.code !== 0 || !(n >= 10_000_000)) throw new Error(`download from ${host} failed: ${r.stderr}${r.stdout}`);
      b = Math.max(b, n / secs / 1e6);
    }
    return b;
  };
  const synack = await best('10.77.0.2', 80);
  const kernel = await best('10.78.0.1', 8080);
  server.kill();
  await h.stop(100);
  reportResult({ synack, kernel, pmtuUpdates: h.stack.counters.PmtuUpdates });
  process.exit(0);
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  throughput(true, 2000); throughput(false, 2000); // warm-up
  const f = throughput(true, 20_000);
  const w = throughput(false, 20_000);
  out.push({ name: 'ip reassembly datagrams/s (3 fragments)', value: Math.round(f.dps), unit: 'datagrams/s', peer: 'same segments unfragmented', peerValue: Math.round(w.dps), ratio: +(f.dps / w.dps).toFixed(2) });
  out.push({ name: 'ip reassembly goodput', value: +f.mbps.toFixed(0), unit: 'MB/s', peer: 'unfragmented', peerValue: +w.mbps.toFixed(0), ratio: +(f.mbps / w.mbps).toFixed(2) });
  const big = heapOfHalfFinished(10_000, { maxBytes: 1 << 30, maxPerSource: 1 << 30 });
  const charged = 1480 + 20 + FRAGMENT_OVERHEAD + DATAGRAM_OVERHEAD;
  out.push({ name: 'ip heap per half-finished datagram', value: big.perDatagram, unit: 'bytes', peer: `charged to the bound (10 000 held, ${(big.total / 1e6).toFixed(1)} MB)`, peerValue: charged, ratio: +(big.perDatagram / charged).toFixed(2) });
  const bounded = heapOfHalfFinished(10_000);
  out.push({ name: 'ip heap, 10 000 first fragments, default bounds', value: +(bounded.total / 1e6).toFixed(2), unit: 'MB', peer: 'the bound (4 MiB)', peerValue: +(4 * 1024 * 1024 / 1e6).toFixed(2), ratio: +(bounded.total / (4 * 1024 * 1024)).toFixed(2) });
  out.push({ name: 'ip datagrams held under the default bounds', value: bounded.pending, unit: 'of 10 000' });
  const reason = netnsUnavailableReason() ?? tunUnavailableReason();
  if (reason) {
    console.log(`  ip pmtu goodput skipped: ${reason}`);
    return out;
  }
  // The same routed path with a 1500-byte hop (no path-MTU discovery needed) separates the path's own cost
  // (two forwarding kernels, a Python reader) from what discovery and the smaller segments cost.
  for (const [mode, m1] of [['plain', 1000], ['offload', 1000], ['offload', 1500]] as const) {
    const res = await runInNetns(import.meta.url, ['pmtu-goodput', mode, String(m1)], { timeoutMs: 180_000 });
    if (res.code !== 0) throw new Error(`pmtu goodput (${mode}) failed: ${res.stderr}${res.stdout}`);
    const r = res.result as { synack: number; kernel: number };
    const name = m1 === 1000 ? `ip pmtu goodput MTU-1000 path${mode === 'plain' ? ' no offload' : ''}` : 'ip goodput same path, MTU 1500 hop';
    out.push({ name, value: +r.synack.toFixed(1), unit: 'MB/s', peer: 'kernel TCP, same path', peerValue: +r.kernel.toFixed(1), ratio: +(r.synack / r.kernel).toFixed(2) });
  }
  return out;
}
