/**
 * Loss recovery and congestion control (issue 15): goodput of a 20 MB transfer across a lossy bottleneck,
 * synack against the kernel's TCP over the same path in the same run, and the same sweep between two
 * in-memory stacks in virtual time (deterministic figures).
 *
 * Real peers (needs root, /dev/net/tun, the addon, unshare, ip, tc, nft, curl): one process in a fresh
 * network namespace runs `synack serve` on a TUN device (offload on, as by default) and builds
 *
 *   synack ── syn0 (TUN) ── host ──a0┄r0── router ──r1┄p0── peer          (kernel-ip-testkit's routed path)
 *                                               └──r4┄p2──┘               (reordering only: a slow side link)
 *
 * The router's egress toward the receiver is the bottleneck: tbf 200 Mbit/s, burst 64 kB, 25 ms queue
 * (r1 toward the peer, r0 toward the host), and random loss with nftables on the forward hook (`numgen
 * random mod 1000 < N drop`, data packets only: length > 500). The hosts' links cut every super-packet
 * into MTU-sized packets (gso_max_segs 1) so the loss is per packet, for the kernel's segments and synack's
 * alike. Reordering: 1 % of data packets toward the peer are routed over a 3 Mbit/s side link (a few ms
 * late, tens of packets behind), no loss.
 *   kernel→kernel (reference)  curl in the peer from a node:http server on kernel sockets in the host
 *   synack→kernel              curl in the peer from synack's `GET /bytes/N` (the same path, r1)
 *   kernel→kernel (reference)  curl in the host from a node:http server in the peer (r0)
 *   kernel→synack              synack's socket downloads from that server (the same path, r0)
 * Each figure is the median goodput (MB/s, 10^6 bytes) of RUNS transfers (curl --max-time / a socket timeout
 * bounds each; at 5 % loss RUNS_HIGH_LOSS toward the host, as the RTO lottery makes single transfers scatter 4-17
 * MB/s, and the same transfers fitted for synack's time at equal RTOs: rtoAdjusted); the modes alternate within each
 * repetition, and the ratio is synack's over the kernel's measured in the same run. The machine is shared: compare
 * ratios, not absolute figures across runs.
 *
 * Knobs (environment): LOSS_BENCH_RUNS (repetitions, default 3), LOSS_BENCH_RUNS_HIGHLOSS (repetitions of
 * the transfers toward the host at 5 %, default 15), LOSS_BENCH_PER=1 (each transfer's peer-sender counters: RTOs,
 * probes, D-SACKs, reordering; printed with LOSS_BENCH_SS too), LOSS_BENCH_ONLY (one loss rate in per
 * mille, or "reorder"; skips the virtual sweep), LOSS_BENCH_NOVIRTUAL=1 (every rate, real peers only), LOSS_BENCH_SENDONLY=1 (only the transfers toward the peer: synack as the sender), LOSS_BENCH_RECVONLY=1 (only the transfers toward the host: synack as the receiver), LOSS_BENCH_CC (JSON merged into synack's TcpConfig, e.g.
 * {"congestionControl":"newreno"}), LOSS_BENCH_NOHYSTART=1 (CUBIC without HyStart), LOSS_BENCH_SS=1 (the
 * senders' median cwnd and SRTT toward the peer, sampled every 20 ms; synack's CPU use, event-loop delay and garbage
 * collection pauses during its transfers), LOSS_BENCH_HEAPPROF=1 (with LOSS_BENCH_SS: what synack's process allocates per segment during its transfers, by function), LOSS_BENCH_CPUPROF=dir (with LOSS_BENCH_SS: a V8 CPU profile of synack's process per transfer), LOSS_BENCH_WRITETHREAD=1 (serve's default, the addon's writer thread; the bench writes from the event loop), LOSS_BENCH_NOPOLL=1 (a late timer wake-up does not read the device first), LOSS_BENCH_NICE (synack's process's nice value, e.g. -10: how much of the gap is CPU scheduling), LOSS_BENCH_V8FLAGS (V8 flags set in synack's process at its start, e.g. `--trace-gc` or `--heap-growing-percent=300`; the process's output is printed), LOSS_BENCH_GCLOG (a file: with LOSS_BENCH_SS, each GC pause over 1 ms in
 * epoch seconds, to set beside a LOSS_BENCH_PCAP capture), LOSS_BENCH_KERNEL_CC (the
 * kernel's congestion control in the namespaces, default cubic, Linux's default; `bbr` is another figure),
 * LOSS_BENCH_HOPREF=1 (a kernel receiver one forwarding hop behind the host, as synack is: kernel→kernel(hop) beside
 * kernel→synack), LOSS_BENCH_PCAP (a directory: tcpdump writes the host's side of the path, a0 — every transfer, told apart by
 * port and address: 8081 kernel→kernel, 80 synack→kernel, 8080 kernel→kernel(r0) and kernel→synack — headers
 * only, one file per rate; with tshark, how the kernel and synack ACKed as receivers: receiverAcks, and how soon: ackLatency;
 * what the peer's sender waited for toward each receiver (delayed ACKs, its timers, RTOs): senderWaits;
 * and where each transfer's time went: transferPhases; and the router's r1, the bottleneck's output toward the peer, in
 * loss-N-r1.pcap: when the bottleneck idled in each transfer and whether the receiver's ACK or the sender was awaited:
 * bottleneckIdle),
 * LOSS_BENCH_READTHREAD=1 (serve reads the device on the addon's reader thread, TunOpenOptions.readThread),
 * LOSS_BENCH_SYNRATE (serve's synRate: 0, no SYN class and no HTB on the device; default serve's own),
 * LOSS_BENCH_NICE_AB (a nice value for synack's process in even repetitions, 0 in odd ones: LOSS_BENCH_NICE as an A/B within one
 * run, each repetition's four figures printed with its arm), LOSS_BENCH_CC_AB (JSON: those TcpConfig fields of synack's stack in
 * even repetitions, their earlier values in odd ones; each repetition's figures printed with its arm),
 * LOSS_BENCH_WARMUP=0 (no untimed transfer each way before the first rate. By default there is one, as the in-process
 * benches warm up: V8 still compiles, and its heap grows, during a fresh process's first ~40 MB, which the 0 % or
 * LOSS_BENCH_ONLY rate would otherwise pay (1-4 % of a transfer, helper L's phases); a server is a long-running
 * process. With 0 the figures include that cold start).
 *
 * Virtual time: two synack stacks on the in-memory wire (src/link/network.ts): 200 Mbit/s, a 25 ms queue,
 * 10 ms and 0.1 ms one-way delay, the same loss rates on the data direction, reordering two ways (1 % of packets
 * held back 4 ms; 1 % overtaking the queue on a 4 ms side route, as the real bench's side link), a 20 MB transfer;
 * synack as configured by default (CUBIC, RACK-TLP, PRR) with NewReno and duplicate-ACK counting (rack: false) as the peer.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getPriority, setPriority } from 'node:os';
import http from 'node:http';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Session } from 'node:inspector/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNetns, reportResult, netnsUnavailableReason, NETNS_ENV } from '../src/link/netns.js';
import { tunUnavailableReason } from '../src/link/tun.js';
import { Network } from '../src/link/network.js';
import { Server } from '../src/stack/server.js';
import { Socket } from '../src/stack/socket.js';
import { startServe, httpHandler } from '../src/cli/serve.js';
import { buildRoutedPath, makeNetns, type Netns } from '../src/cli/kernel-ip-testkit.js';
import type { TcpConfig } from '../src/tcp/config.js';
import type { TcpStats } from '../src/tcp/stats.js';
import { Cubic } from '../src/tcp/cc/cubic.js';
import type { BenchResult } from './results.js';

export type { BenchResult };

const SIZE = 20_000_000;
/** Loss in per mille (0, 0.5 %, 2 %, 5 %), then the reordering run. */
const LOSSES = [0, 5, 20, 50];
const RUNS = Number(process.env.LOSS_BENCH_RUNS ?? 3);
/**
 * At 5 % loss, transfers toward the host (kernel→kernel(r0), kernel→synack) are repeated more: each one's time is
 * mostly set by how many RTOs the kernel sender draws (each ~0.29 s of a ~2.5 s transfer; 0-12 per transfer), so
 * single transfers range 4-17 MB/s toward either receiver, and the median of 3 says little (two samples of the same
 * transfers' distribution give a ratio of medians between 0.55 and 1.8 in 90 % of cases; with 15, 0.74-1.36).
 * LOSS_BENCH_RUNS_HIGHLOSS overrides (never fewer than RUNS). See also rtoAdjusted.
 */
const RUNS_HIGH_LOSS = Math.max(RUNS, Number(process.env.LOSS_BENCH_RUNS_HIGHLOSS ?? 15));
const MAX_SECONDS = 60;

const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return 0;
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;
const label = (l: number | 'reorder' | 'overtake'): string => (l === 'reorder' ? 'reordering 1 %' : l === 'overtake' ? 'overtaking 1 %' : `loss ${l / 10} %`);

// ---------------------------------------------------------------------------------------------
// Virtual time: two in-memory stacks
// ---------------------------------------------------------------------------------------------

/**
 * Goodput (MB/s of virtual time) of one 20 MB transfer from `tcp`-configured sender to a default receiver, and the
 * sender's retransmissions and timeouts.
 */
async function virtualTransfer(lossPerMille: number | 'reorder' | 'overtake', tcp: Partial<TcpConfig>, seed: number, delayMs: number): Promise<{ goodput: number; rtx: number; rto: number }> {
  const net = new Network({ seed, delayMs, impairments: { bandwidthBps: 200e6, queueBytes: 625_000 + 65_536 } });
  const sender = net.addStack({ name: 'sender', addresses: ['10.0.0.2'], tcp: { sendBufferSize: 4 << 20, ...tcp } });
  const receiver = net.addStack({ name: 'receiver', addresses: ['10.0.0.1'], tcp: { recvBufferSize: 4 << 20 } });
  if (lossPerMille === 'reorder') net.impair(sender, receiver, { reorder: 0.01, reorderDelayMs: 4 });
  // The real bench's reordering: 1 % of data packets take a 3 Mbit/s side link (4 ms per packet) past the queue.
  else if (lossPerMille === 'overtake') net.impair(sender, receiver, { overtake: 0.01, overtakeDelayMs: 4 });
  else if (lossPerMille > 0) net.impair(sender, receiver, { loss: lossPerMille / 1000 });
  const chunk = Buffer.alloc(1 << 16, 0x61);
  new Server(sender, {}, (s) => {
    let left = SIZE;
    const write = (): void => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { s.once('drain', write); return; }
      }
      s.end();
    };
    write();
  }).listen(80);
  let got = 0, done = false;
  const start = net.now;
  const c = Socket.connect(receiver, { host: '10.0.0.2', port: 80 });
  c.on('data', (d: Buffer) => { got += d.length; });
  c.on('end', () => { done = true; c.end(); });
  await net.runUntil(() => done, 3_600_000);
  const seconds = (net.now - start) / 1000;
  net.close();
  return { goodput: got === SIZE ? SIZE / 1e6 / seconds : 0, rtx: sender.stats.RetransSegs, rto: sender.stats.TCPTimeouts };
}

export async function virtualSweep(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  // RTT 20 ms (a WAN path: goodput is loss-limited, ~MSS/RTT·1.2/√p), and 0.2 ms (like the TUN path).
  for (const delayMs of [10, 0.1]) {
    for (const l of [...LOSSES, 'reorder' as const, 'overtake' as const]) {
      const seed = 1 + (l === 'reorder' ? 99 : l === 'overtake' ? 199 : l);
      const o = await virtualTransfer(l, {}, seed, delayMs);
      const n = await virtualTransfer(l, { congestionControl: 'newreno', rack: false }, seed, delayMs);
      const ours = o.goodput, old = n.goodput;
      process.stderr.write(`loss.virtual rtt ${2 * delayMs} ms ${label(l)}: retransmitted ${o.rtx} (RTOs ${o.rto}), newreno+dupack ${n.rtx} (RTOs ${n.rto})\n`);
      out.push({
        name: `loss.virtual rtt ${2 * delayMs} ms ${label(l)}`, value: round(ours), unit: 'MB/s',
        peer: 'synack newreno+dupack', peerValue: round(old), ratio: old > 0 ? round(ours / old) : 0,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Real peers in namespaces
// ---------------------------------------------------------------------------------------------

/** Why the real-peer part cannot run here, or null. */
export function lossBenchUnavailableReason(): string | null {
  const r = netnsUnavailableReason() ?? tunUnavailableReason();
  if (r) return r;
  for (const t of ['tc', 'nft', 'curl']) if (spawnSync(t, ['--version']).error) return `${t} is not installed`;
  return null;
}

/** The peer's kernel HTTP server (node:http on kernel sockets): GET /bytes/N. */
const PEER_SERVER = `
const http = require('http');
const chunk = Buffer.alloc(1 << 16, 0x61);
http.createServer((req, res) => {
  let left = Number(req.url.split('/').pop()) || 0;
  res.setHeader('content-length', left);
  const write = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length); left -= n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { res.once('drain', write); return; }
    }
    res.end();
  };
  write();
}).listen(8080, '10.79.0.2', () => process.stdout.write('ready\\n'));
`;

/** The kernel's TCP counters in this namespace (/proc/net/snmp Tcp:, /proc/net/netstat TcpExt:), by name. */
function kernelCounters(): Record<string, number> {
  return parseCounters(spawnSync('cat', ['/proc/net/snmp', '/proc/net/netstat'], { encoding: 'utf8' }).stdout ?? '');
}

/** The Tcp: and TcpExt: name/value line pairs of /proc/net/snmp and /proc/net/netstat. */
function parseCounters(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const prefix of ['Tcp:', 'TcpExt:']) {
    const lines = text.split('\n').filter((l) => l.startsWith(prefix));
    if (lines.length < 2) continue;
    const names = lines[0]!.split(' ').slice(1), values = lines[1]!.split(' ').slice(1);
    names.forEach((n, i) => { out[n] = Number(values[i]); });
  }
  return out;
}

/** What a kernel sender's counters say about its recovery. */
/** What the peer kernel's counters say about its receiving (toward the peer): segments it dropped. */
const KERNEL_RECEIVER = ['PAWSEstab', 'TCPOFOQueue', 'TCPOFODrop', 'TCPRcvQDrop', 'PruneCalled', 'OfoPruned', 'RcvPruned', 'TCPDSACKOldSent', 'TCPDSACKOfoSent'];
const KERNEL_SENDER = ['OutSegs', 'RetransSegs', 'TCPSackRecovery', 'TCPTimeouts', 'TCPLossProbes', 'TCPLossProbeRecovery', 'TCPDSACKRecv', 'TCPDSACKUndo', 'TCPSpuriousRTOs', 'TCPSACKReneging', 'TCPSackShiftFallback'];

/** The D-SACK and undo counters (recovery/undo.ts), for the per-rate summary. */
const undoCounts = (st: TcpStats): { dsackRecv: number; dsackSent: number; dsackUndo: number; fullUndo: number; partialUndo: number; lossUndo: number } => ({
  dsackRecv: st.TCPDSACKRecv, dsackSent: st.TCPDSACKOldSent, dsackUndo: st.TCPDSACKUndo, fullUndo: st.TCPFullUndo, partialUndo: st.TCPPartialUndo, lossUndo: st.TCPLossUndo,
});

/**
 * The receiver's share of a transfer's time with the sender's RTOs taken out: a least-squares fit over the transfers
 * of both receivers, time = a + b·(synack is the receiver) + c·(RTOs the kernel sender drew in that transfer). RTOs
 * are the lottery that sets most of a transfer's time at 5 % loss (c = 0.21-0.36 s each), about as likely toward either
 * receiver (5.8 toward the kernel, 5.3 toward synack per transfer over 89 transfers each in five runs), so b, synack's
 * added time per transfer at equal RTOs, is far steadier than the medians' ratio (its standard error with 30
 * transfers each ~0.08 s, ~3 %). Returns b, its standard error, c, and the kernel receiver's mean time; null when it
 * cannot be fitted.
 */
export function rtoAdjusted(kernel: Array<{ s: number; rtos: number }>, synack: Array<{ s: number; rtos: number }>): { b: number; se: number; c: number; kernelMean: number } | null {
  const rows = [...kernel.map((k) => [1, 0, k.rtos, k.s]), ...synack.map((k) => [1, 1, k.rtos, k.s])].filter((r) => Number.isFinite(r[3]!) && r[3]! > 0);
  const n = rows.length;
  if (n < 5 || kernel.length === 0 || synack.length === 0) return null;
  // Normal equations (XᵀX)β = Xᵀy, 3 × 3, solved by Cramer's rule; (XᵀX)⁻¹ gives the standard errors.
  const m = [[0, 0, 0], [0, 0, 0], [0, 0, 0]], v = [0, 0, 0];
  for (const r of rows) for (let i = 0; i < 3; i++) { v[i]! += r[i]! * r[3]!; for (let j = 0; j < 3; j++) m[i]![j]! += r[i]! * r[j]!; }
  const det3 = (a: number[][]): number => a[0]![0]! * (a[1]![1]! * a[2]![2]! - a[1]![2]! * a[2]![1]!) - a[0]![1]! * (a[1]![0]! * a[2]![2]! - a[1]![2]! * a[2]![0]!) + a[0]![2]! * (a[1]![0]! * a[2]![1]! - a[1]![1]! * a[2]![0]!);
  const d = det3(m);
  if (Math.abs(d) < 1e-9) return null;
  const beta = [0, 1, 2].map((k) => det3(m.map((row, i) => row.map((x, j) => (j === k ? v[i]! : x)))) / d);
  let rss = 0;
  for (const r of rows) { const e = r[3]! - (beta[0]! + beta[1]! * r[1]! + beta[2]! * r[2]!); rss += e * e; }
  // (XᵀX)⁻¹[1][1]: the cofactor of element (1,1) over the determinant.
  const inv11 = (m[0]![0]! * m[2]![2]! - m[0]![2]! * m[2]![0]!) / d;
  const se = Math.sqrt(Math.max(0, rss / Math.max(1, n - 3)) * inv11);
  const ks = rows.filter((r) => r[1] === 0).map((r) => r[3]!);
  return { b: beta[1]!, se, c: beta[2]!, kernelMean: ks.reduce((a, x) => a + x, 0) / Math.max(1, ks.length) };
}

/**
 * LOSS_BENCH_PCAP, with tshark: how each receiver ACKed, from the capture on a0, per transfer toward the host (port
 * 8080: the kernel in the host, 10.78.0.1, or synack, 10.77.0.2): ACKs that advanced, duplicate ACKs carrying SACK
 * blocks, and how long after each SACK-carrying ACK the next ACK left (µs): behind a hole the sender learns what
 * arrived only from these (a Linux receiver holds them SRTT/20 + 100 µs at most; sack-compression.ts). Medians over
 * the transfers of each receiver.
 */
function receiverAcks(file: string): string[] {
  const r = spawnSync('tshark', ['-r', file, '-Y', 'tcp.dstport == 8080 && tcp.len == 0', '-T', 'fields', '-E', 'separator=|',
    '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'tcp.ack_raw', '-e', 'tcp.options.sack.count'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error || r.status !== 0) return [`receivers' ACKs: tshark unavailable (${r.error?.message ?? r.stderr})`];
  const flows = new Map<string, { src: string; t: number[]; ack: number[]; sack: boolean[] }>();
  for (const line of r.stdout.split('\n')) {
    const [t, src, port, ack, sc] = line.split('|');
    if (!t || !src) continue;
    const f = flows.get(`${src}:${port}`) ?? { src, t: [], ack: [], sack: [] };
    f.t.push(Number(t)); f.ack.push(Number(ack)); f.sack.push(sc !== '' && sc !== undefined && sc !== '0');
    flows.set(`${src}:${port}`, f);
  }
  const by: Record<string, { adv: number[]; sackDup: number[]; p75: number[]; p90: number[]; over: number[] }> = {};
  for (const f of flows.values()) {
    if (f.t.length < 1000) continue; // the request's connection, not a transfer
    const who = f.src === '10.77.0.2' ? 'synack' : 'kernel';
    let adv = 0, sackDup = 0;
    const gaps: number[] = [];
    for (let i = 1; i < f.t.length; i++) {
      if (f.ack[i] !== f.ack[i - 1]) adv++; else if (f.sack[i]) sackDup++;
      if (f.sack[i - 1]) gaps.push((f.t[i]! - f.t[i - 1]!) * 1e6);
    }
    gaps.sort((a, b) => a - b);
    const b = (by[who] ??= { adv: [], sackDup: [], p75: [], p90: [], over: [] });
    b.adv.push(adv); b.sackDup.push(sackDup);
    b.p75.push(gaps[Math.floor(0.75 * (gaps.length - 1))] ?? 0); b.p90.push(gaps[Math.floor(0.9 * (gaps.length - 1))] ?? 0);
    b.over.push(gaps.filter((g) => g > 900).length);
  }
  return Object.entries(by).map(([who, b]) => `${who} receiving (${b.adv.length} transfers, medians): ${median(b.adv)} ACKs advancing, ${median(b.sackDup)} duplicate ACKs with SACK; the next ACK after a SACK-carrying one p75 ${round(median(b.p75), 0)} µs, p90 ${round(median(b.p90), 0)} µs, ${median(b.over)} over 900 µs`);
}

/**
 * LOSS_BENCH_PCAP, with tshark: how soon each receiver ACKed (µs, on a0, the host's side of the path: data from the
 * peer passes it on its way to the receiver and the ACK on its way back; for synack that includes the host's
 * forwarding into and out of the TUN device, a few µs, as it does for the hop reference). Per transfer toward the host
 * (port 8080): "trigger", for each ACK that advanced, the time since the last data segment that passed before it
 * (the receiver's reaction); "cover", for each data segment that extended the sequence space, the time until the first
 * ACK covering it (what a stretch ACK adds for the segments before the last; segments waiting behind a hole, over
 * 2 ms, are left out). Medians over the transfers of each receiver of their median and p90; `label` names a
 * receiver by its address.
 */
export function ackLatency(file: string, label: (src: string) => string): string[] {
  const r = spawnSync('tshark', ['-r', file, '-Y', 'tcp.port == 8080', '-T', 'fields', '-E', 'separator=|',
    '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.seq_raw', '-e', 'tcp.len', '-e', 'tcp.ack_raw'], { encoding: 'utf8', maxBuffer: 1 << 29 });
  if (r.error || r.status !== 0) return [`ACK latency: tshark unavailable (${r.error?.message ?? r.stderr})`];
  interface Flow { who: string; dt: number[]; dend: number[]; at: number[]; ack: number[]; seq0: number }
  const flows = new Map<string, Flow>();
  for (const line of r.stdout.split('\n')) {
    const [t, src, dst, sp, dp, seq, len, ack] = line.split('|');
    if (!t || !src) continue;
    const toHost = sp === '8080';
    const key = toHost ? `${dst}:${dp}` : `${src}:${sp}`;
    let f = flows.get(key);
    if (!f) { f = { who: label(toHost ? dst! : src), dt: [], dend: [], at: [], ack: [], seq0: -1 }; flows.set(key, f); }
    if (toHost && Number(len) > 0) {
      if (f.seq0 < 0) f.seq0 = Number(seq);
      f.dt.push(Number(t)); f.dend.push((Number(seq) - f.seq0 + Number(len)) >>> 0);
    } else if (!toHost && f.seq0 >= 0) { f.at.push(Number(t)); f.ack.push((Number(ack) - f.seq0) >>> 0); }
  }
  const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(p * (s.length - 1))] ?? 0; };
  const by = new Map<string, { trig50: number[]; trig90: number[]; cov50: number[]; cov90: number[]; acksPerSeg: number[] }>();
  for (const f of flows.values()) {
    if (f.dt.length < 1000) continue;
    const trig: number[] = [], cov: number[] = [];
    let d = 0, lastAck = -1, advancing = 0;
    for (let i = 0; i < f.at.length; i++) {
      while (d < f.dt.length && f.dt[d]! <= f.at[i]!) d++;
      if (d > 0 && f.ack[i]! > lastAck && lastAck >= 0) { trig.push((f.at[i]! - f.dt[d - 1]!) * 1e6); advancing++; }
      if (f.ack[i]! > lastAck) lastAck = f.ack[i]!;
    }
    let a = 0, high = 0;
    for (let j = 0; j < f.dt.length; j++) {
      if (f.dend[j]! <= high) continue; // a retransmission or a segment below the highest: not new
      high = f.dend[j]!;
      while (a < f.at.length && (f.at[a]! < f.dt[j]! || f.ack[a]! < f.dend[j]!)) a++;
      if (a >= f.at.length) break;
      const us = (f.at[a]! - f.dt[j]!) * 1e6;
      if (us <= 2000) cov.push(us);
      // the next segment's covering ACK is at or after this one: keep `a`
    }
    const b = by.get(f.who) ?? { trig50: [], trig90: [], cov50: [], cov90: [], acksPerSeg: [] };
    b.trig50.push(pct(trig, 0.5)); b.trig90.push(pct(trig, 0.9)); b.cov50.push(pct(cov, 0.5)); b.cov90.push(pct(cov, 0.9));
    b.acksPerSeg.push(advancing / f.dt.length);
    by.set(f.who, b);
  }
  return [...by].map(([who, b]) => `${who} receiving (${b.trig50.length} transfers, medians): ACK after the last data segment median ${round(median(b.trig50), 0)} µs, p90 ${round(median(b.trig90), 0)} µs; a new segment covered by an ACK after median ${round(median(b.cov50), 0)} µs, p90 ${round(median(b.cov90), 0)} µs; ${round(median(b.acksPerSeg))} advancing ACKs per data segment`);
}

/**
 * LOSS_BENCH_PCAP, with tshark: what the sender of each transfer toward the host (port 8080) waited for, from the
 * capture on a0: every pause of at least 5 ms between two of its data segments, by what ended it — the receiver's ACK
 * of the last segment, sent 5 ms or more after that segment arrived (a delayed ACK: a sender with one segment in
 * flight waits the receiver's 40 ms timer, unless the receiver is in quick-ACK mode), or the sender itself (its
 * timers: a tail loss probe or RACK's reordering timer under 100 ms, an RTO from 100 ms). Per receiver: the count and
 * the milliseconds of each kind, per transfer. At 5 % loss the kernel sender's cwnd is ~2 segments and a transfer's
 * time is mostly set by how many RTOs it draws (~0.2 s each), the same lottery toward either receiver.
 */
export function senderWaits(file: string, label: (client: string) => string): string[] {
  const r = spawnSync('tshark', ['-r', file, '-Y', 'tcp.port == 8080', '-T', 'fields', '-E', 'separator=|',
    '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.seq_raw', '-e', 'tcp.len', '-e', 'tcp.ack_raw'], { encoding: 'utf8', maxBuffer: 1 << 29 });
  if (r.error || r.status !== 0) return [`sender waits: tshark unavailable (${r.error?.message ?? r.stderr})`];
  interface Flow { who: string; segs: number; lastT: number; lastEnd: number; ackT: number; ackV: number; delack: number[]; timer: number[]; rto: number[] }
  const flows = new Map<string, Flow>();
  for (const line of r.stdout.split('\n')) {
    const [t, src, dst, sp, dp, seq, len, ack] = line.split('|');
    if (!t || !src) continue;
    const toHost = sp === '8080', time = Number(t);
    const key = toHost ? `${dst}:${dp}` : `${src}:${sp}`;
    let f = flows.get(key);
    if (!f) { f = { who: label(toHost ? dst! : src), segs: 0, lastT: -1, lastEnd: 0, ackT: -1, ackV: 0, delack: [], timer: [], rto: [] }; flows.set(key, f); }
    if (toHost && Number(len) > 0) {
      f.segs++;
      if (f.lastT >= 0 && time - f.lastT >= 0.005) {
        // The first ACK after the last segment: did it end the pause, late, covering that segment?
        if (f.ackT >= 0 && f.ackT - f.lastT >= 0.005 && ((f.ackV - f.lastEnd) | 0) >= 0) f.delack.push((f.ackT - f.lastT) * 1e3);
        else if (time - f.lastT < 0.1) f.timer.push((time - f.lastT) * 1e3);
        else f.rto.push((time - f.lastT) * 1e3);
      }
      f.lastT = time; f.lastEnd = (Number(seq) + Number(len)) | 0; f.ackT = -1;
    } else if (!toHost && f.lastT >= 0 && f.ackT < 0) { f.ackT = time; f.ackV = Number(ack) | 0; }
  }
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const by = new Map<string, string[]>();
  for (const f of flows.values()) {
    if (f.segs < 1000) continue;
    const l = by.get(f.who) ?? [];
    l.push(`${f.delack.length}/${round(sum(f.delack), 0)} · ${f.timer.length}/${round(sum(f.timer), 0)} · ${f.rto.length}/${round(sum(f.rto), 0)}`);
    by.set(f.who, l);
  }
  return [...by].map(([who, l]) => `${who}: the sender's pauses per transfer, count/ms — waiting for a delayed ACK · its own timers (TLP, RACK) · RTOs: ${l.join('; ')}`);
}

/** A transfer toward the host (port 8080) by its client's address: synack, the kernel one hop behind, or the kernel in the host. */
function towardHost(client: string): string {
  return client === '10.77.0.2' ? 'kernel→synack' : client === '10.76.0.2' ? 'kernel→kernel(hop)' : 'kernel→kernel(r0)';
}

/**
 * LOSS_BENCH_PCAP, with tshark: the receiver's ACK stalls toward the host (port 8080), from the capture on a0. A
 * receiver owes an ACK once two data segments arrived since its last segment (RFC 9293 §3.8.6.3 / RFC 5681 §4.2:
 * at least every second full-sized segment, at once for out-of-order data); a stall is the time from the second
 * such segment to the receiver's next segment, when it is 1.8 ms or more (~4 RTTs of this path). A kernel receiver
 * ACKs in softirq; synack ACKs when its event loop runs, so its stalls are where its process did not run: helper G's
 * CPU profiles (LOSS_BENCH_CPUPROF) beside this found 82-92 % of their time in gaps between the profiler's samples
 * (the main thread waiting for a CPU), 1-2 % in GC; a perf sched_switch trace: 71 % runnable off CPU (other processes
 * and synack's own V8 worker threads on both cores), 23 % running, 6 % asleep. With LOSS_BENCH_NICE_AB=-15 (two runs,
 * 10 + 10 transfers) they fell ~5x and the equal-RTO ratio was 1.00 and 1.02 against 0.86 and 0.88 at nice 0; on a quiet
 * machine there are next to none (medians 0-2 per transfer, ratio 0.99). Per transfer, in order (with LOSS_BENCH_NICE_AB or
 * LOSS_BENCH_CC_AB, even ones are the first arm): count/ms of stalls and their share of the transfer's time outside
 * the sender's pauses of 100 ms or more (RTOs); then medians per receiver.
 */
export function ackStalls(file: string, label: (client: string) => string): string[] {
  const r = spawnSync('tshark', ['-r', file, '-Y', 'tcp.port == 8080', '-T', 'fields', '-E', 'separator=|',
    '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.len'], { encoding: 'utf8', maxBuffer: 1 << 29 });
  if (r.error || r.status !== 0) return [`ACK stalls: tshark unavailable (${r.error?.message ?? r.stderr})`];
  interface Flow { who: string; segs: number; t0: number; t1: number; lastData: number; rto: number; pending: number; due: number; stalls: number; ms: number }
  const flows = new Map<string, Flow>();
  for (const line of r.stdout.split('\n')) {
    const [t, src, dst, sp, dp, len] = line.split('|');
    if (!t || !src) continue;
    const toHost = sp === '8080', time = Number(t);
    const key = toHost ? `${dst}:${dp}` : `${src}:${sp}`;
    let f = flows.get(key);
    if (!f) { f = { who: label(toHost ? dst! : src), segs: 0, t0: time, t1: time, lastData: -1, rto: 0, pending: 0, due: -1, stalls: 0, ms: 0 }; flows.set(key, f); }
    f.t1 = time;
    if (toHost && Number(len) > 0) {
      f.segs++;
      if (f.lastData >= 0 && time - f.lastData >= 0.1) f.rto += time - f.lastData;
      f.lastData = time;
      if (++f.pending === 2) f.due = time;
    } else if (!toHost) {
      if (f.due >= 0 && time - f.due >= 0.0018) { f.stalls++; f.ms += (time - f.due) * 1e3; }
      f.pending = 0; f.due = -1;
    }
  }
  const by = new Map<string, { n: number[]; ms: number[]; share: number[]; each: string[] }>();
  for (const f of flows.values()) {
    if (f.segs < 1000) continue;
    const b = by.get(f.who) ?? { n: [], ms: [], share: [], each: [] };
    const share = f.ms / Math.max(1, (f.t1 - f.t0 - f.rto) * 1e3);
    b.n.push(f.stalls); b.ms.push(f.ms); b.share.push(share);
    b.each.push(`${f.stalls}/${round(f.ms, 0)} ${round(100 * share, 0)}%`);
    by.set(f.who, b);
  }
  return [...by].map(([who, b]) => `${who}: receiver ACK stalls ≥ 1.8 ms per transfer, count/ms and share of the time outside RTOs: ${b.each.join('; ')} (medians ${median(b.n)}/${round(median(b.ms), 0)} ms, ${round(100 * median(b.share), 1)} %)`);
}

/**
 * LOSS_BENCH_PCAP, with tshark: where each transfer's time went, as seen on a0 (ms; medians per mode): the SYN to
 * the SYN,ACK (the server's handshake: for synack behind its TUN device, for the kernel in the host or the peer),
 * the request to the first byte of the response, the first byte to the ACK of 1 MB (slow start), 1 MB to 19 MB
 * acknowledged (the body's steady rate), 19 MB to the ACK of the last byte, and that ACK to the last FIN: what is a
 * fixed cost per transfer (handshake, first response, slow start, close) and what is rate.
 */
export function transferPhases(file: string): string[] {
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'tcp.srcport', '-e', 'tcp.dstport',
    '-e', 'tcp.flags.syn', '-e', 'tcp.flags.fin', '-e', 'tcp.seq_raw', '-e', 'tcp.len', '-e', 'tcp.ack_raw'], { encoding: 'utf8', maxBuffer: 1 << 29 });
  if (r.error || r.status !== 0) return [`phases: tshark unavailable (${r.error?.message ?? r.stderr})`];
  const servers = new Set(['80', '8080', '8081']);
  interface Flow { who: string; t0: number; synAck: number; req: number; first: number; seq0: number; end: number; acks: Array<[number, number]>; fin: number }
  const flows = new Map<string, Flow>();
  for (const line of r.stdout.split('\n')) {
    const [t, src, dst, sp, dp, syn, fin, seq, len, ack] = line.split('|');
    if (!t || !src || !sp || !dp) continue;
    const fromServer = servers.has(sp);
    const key = fromServer ? `${dst}:${dp}-${sp}` : `${src}:${sp}-${dp}`;
    const time = Number(t), n = Number(len);
    let f = flows.get(key);
    if (!f) {
      const port = fromServer ? sp : dp, client = fromServer ? dst! : src;
      const who = port === '80' ? 'synack→kernel' : port === '8081' ? 'kernel→kernel' : towardHost(client);
      f = { who, t0: time, synAck: NaN, req: NaN, first: NaN, seq0: -1, end: 0, acks: [], fin: NaN };
      flows.set(key, f);
    }
    const isSyn = syn === '1' || syn === 'True', isFin = fin === '1' || fin === 'True';
    if (fromServer) {
      if (isSyn) f.synAck = time;
      if (n > 0) {
        if (f.seq0 < 0) { f.seq0 = Number(seq); f.first = time; }
        f.end = Math.max(f.end, (Number(seq) - f.seq0 + n) >>> 0);
      }
    } else {
      if (n > 0 && Number.isNaN(f.req)) f.req = time;
      if (f.seq0 >= 0) f.acks.push([time, (Number(ack) - f.seq0) >>> 0]);
    }
    if (isFin) f.fin = time;
  }
  const by = new Map<string, number[][]>();
  for (const f of flows.values()) {
    if (f.end < 1e6) continue;
    const acked = (b: number): number => f.acks.find(([, a]) => a >= b)?.[0] ?? NaN;
    const m1 = acked(1e6), m19 = acked(19e6), all = acked(f.end);
    const ph = [f.synAck - f.t0, f.first - f.req, m1 - f.first, m19 - m1, all - m19, f.fin - all].map((x) => x * 1e3);
    by.set(f.who, [...(by.get(f.who) ?? []), ph]);
  }
  return [...by].map(([who, rows]) => {
    const col = (i: number): number => round(median(rows.map((x) => x[i]!)), 2);
    return `${who} (${rows.length} transfers, medians, ms): SYN→SYN,ACK ${col(0)}, request→first byte ${col(1)}, first byte→1 MB acknowledged ${col(2)}, 1→19 MB ${col(3)} (${round(18 / (col(3) / 1000), 2)} MB/s), 19 MB→last byte acknowledged ${col(4)}, →last FIN ${col(5)}`;
  });
}

/**
 * LOSS_BENCH_PCAP, with tshark: when the bottleneck idled, and why (issue 15: at a link-limited rate a transfer loses
 * only while tbf has nothing to send). `file` is a capture at the bottleneck's output (r1 for the transfers toward the
 * peer, taken in the router; a0 for those toward the host: r0's output one veth further), which also sees the
 * receiver's ACKs going back. For each data transfer (server port in `ports`; `label` names it by port and client):
 * - excess: its first to last data packet minus the time the link needs for them at 200 Mbit/s (IP bytes): what
 *   the transfer lost to idling beyond what tbf's 64 kB burst made up afterwards;
 * - idle gaps: a departure more than two packet times after the previous one ended (tbf's queue ran empty). Each is
 *   split at the first ACK seen after the previous departure: before it, the receiver had not ACKed (its ACK delay
 *   plus the path; a receiver pausing shows here), after it, the sender had not yet sent (its reaction to the ACK plus
 *   the path: a sender that is slow to answer, or cwnd/application/pacing-limited shows here). With the flight (data
 *   out minus ACKed, segments) and the receiver's advertised window at the gap's start: a flight within an MSS of
 *   the window is receive-window limited.
 * Per mode: medians over transfers of the excess, of the idle time in gaps, of their two parts, and the gaps over 1 ms.
 */
export function bottleneckIdle(file: string, ports: string[], label: (port: string, client: string) => string): string[] {
  const r = spawnSync('tshark', ['-r', file, '-Y', ports.map((p) => `tcp.port == ${p}`).join(' || '), '-T', 'fields', '-E', 'separator=|',
    '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.seq_raw', '-e', 'tcp.len',
    '-e', 'tcp.ack_raw', '-e', 'tcp.window_size', '-e', 'ip.len'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error || r.status !== 0) return [`bottleneck idle: tshark unavailable (${r.error?.message ?? r.stderr})`];
  const RATE = 200e6 / 8;
  interface Flow { who: string; seq0: number; dt: number[]; dend: number[]; dlen: number[]; at: number[]; ack: number[]; win: number[] }
  const flows = new Map<string, Flow>();
  for (const line of r.stdout.split('\n')) {
    const [t, src, dst, sp, dp, seq, len, ack, win, ipLen] = line.split('|');
    if (!t || !sp || !dp) continue;
    const fromServer = ports.includes(sp);
    const key = fromServer ? `${dst}:${dp}-${sp}` : `${src}:${sp}-${dp}`;
    let f = flows.get(key);
    if (!f) { f = { who: label(fromServer ? sp : dp, fromServer ? dst! : src!), seq0: -1, dt: [], dend: [], dlen: [], at: [], ack: [], win: [] }; flows.set(key, f); }
    if (fromServer && Number(len) > 0) {
      if (f.seq0 < 0) f.seq0 = Number(seq);
      f.dt.push(Number(t)); f.dend.push((Number(seq) - f.seq0 + Number(len)) >>> 0); f.dlen.push(Number(ipLen));
    } else if (!fromServer && f.seq0 >= 0) { f.at.push(Number(t)); f.ack.push((Number(ack) - f.seq0) >>> 0); f.win.push(Number(win)); }
  }
  const by = new Map<string, { excess: number[]; idle: number[]; ackWait: number[]; senderWait: number[]; over1: number[]; rwnd: number[]; flight: number[] }>();
  for (const f of flows.values()) {
    if (f.dt.length < 1000) continue;
    let wire = 0;
    for (const n of f.dlen) wire += n / RATE;
    const excess = f.dt[f.dt.length - 1]! - f.dt[0]! - wire + f.dlen[0]! / RATE;
    let idle = 0, ackWait = 0, senderWait = 0, over1 = 0, rwnd = 0, high = 0, acked = 0, a = 0;
    const flights: number[] = [];
    for (let i = 1; i < f.dt.length; i++) {
      high = Math.max(high, f.dend[i - 1]!);
      while (a < f.at.length && f.at[a]! <= f.dt[i - 1]!) { acked = Math.max(acked, f.ack[a]!); a++; }
      const gap = f.dt[i]! - f.dt[i - 1]! - f.dlen[i]! / RATE;
      if (gap <= 2 * 1500 / RATE) continue;
      idle += gap;
      if (gap > 1e-3) over1++;
      // The first ACK after the last departure splits the gap: the receiver's part, then the sender's.
      const firstAck = a < f.at.length && f.at[a]! < f.dt[i]! ? f.at[a]! : f.dt[i]!;
      const receiverPart = Math.min(gap, firstAck - f.dt[i - 1]!);
      ackWait += receiverPart; senderWait += gap - receiverPart;
      const flight = high - acked;
      flights.push(flight / 1448);
      if (a > 0 && flight + 1448 > f.win[a - 1]!) rwnd += gap;
    }
    const b = by.get(f.who) ?? { excess: [], idle: [], ackWait: [], senderWait: [], over1: [], rwnd: [], flight: [] };
    b.excess.push(excess * 1e3); b.idle.push(idle * 1e3); b.ackWait.push(ackWait * 1e3); b.senderWait.push(senderWait * 1e3); b.over1.push(over1);
    b.rwnd.push(rwnd * 1e3); b.flight.push(median(flights));
    by.set(f.who, b);
  }
  return [...by].map(([who, b]) => `${who} (${b.excess.length} transfers, medians): ${round(median(b.excess), 1)} ms beyond the link's time; idle gaps ${round(median(b.idle), 1)} ms (${median(b.over1)} over 1 ms): waiting for the receiver's ACK ${round(median(b.ackWait), 1)} ms, then for the sender ${round(median(b.senderWait), 1)} ms; receive-window limited ${round(median(b.rwnd), 1)} ms; flight at a gap's start ${round(median(b.flight), 1)} segments (per transfer: excess ${b.excess.map((x) => round(x, 1)).join('/')} ms)`);
}

async function realRole(): Promise<void> {
  // LOSS_BENCH_V8FLAGS: V8 flags for synack's process, set at start (e.g. --trace-gc: each collection and its reason,
  // printed with the results).
  if (process.env.LOSS_BENCH_V8FLAGS) setFlagsFromString(process.env.LOSS_BENCH_V8FLAGS);
  // LOSS_BENCH_NICE=n: synack's process runs at nice n (e.g. -10), set before serve starts its threads (they inherit
  // it): how much of the gap is the scheduler. A kernel receiver ACKs from softirq, ahead of every process.
  if (process.env.LOSS_BENCH_NICE) { setPriority(Number(process.env.LOSS_BENCH_NICE)); process.stderr.write(`synack's process runs at nice ${getPriority()}\n`); }
  const quiet = { stdout: { write: () => true } as unknown as NodeJS.WritableStream, stderr: process.stderr, stdin: process.stdin };
  const h = await startServe({ tun: 'syn0', addr: ['10.77.0.2'], peer: ['10.77.0.1/24'], http: 80, offload: true, buffer: 4 << 20, logFormat: 'json', writeThread: process.env.LOSS_BENCH_WRITETHREAD === '1', readThread: process.env.LOSS_BENCH_READTHREAD === '1', synRate: process.env.LOSS_BENCH_SYNRATE === undefined ? undefined : Number(process.env.LOSS_BENCH_SYNRATE) }, quiet);
  if (process.env.LOSS_BENCH_CC) Object.assign(h.stack.config, JSON.parse(process.env.LOSS_BENCH_CC) as Partial<TcpConfig>);
  if (process.env.LOSS_BENCH_NOHYSTART) (h.stack.config as TcpConfig).congestion = (iw) => new Cubic(iw, false);
  // LOSS_BENCH_NOPOLL=1: a late timer wake-up runs the timers before the device's waiting input is read, as
  // before LinkCapabilities.pollInput (the comparison for stale retransmissions).
  if (process.env.LOSS_BENCH_NOPOLL) h.stack.linkPollInput = null;
  const path = buildRoutedPath();
  const { router, peer } = path;
  // LOSS_BENCH_HOPREF=1: a third receiver, the kernel one forwarding hop further than the host (a namespace behind
  // the veth h2 ↔ k0, 10.76.0.2), as synack is behind its TUN device: the host routes its packets as it routes
  // synack's. Its transfers from the peer's server (kernel→kernel(hop)) are measured in each repetition beside the
  // others, to tell what the extra hop costs a kernel receiver from what synack itself costs.
  const hop = process.env.LOSS_BENCH_HOPREF === '1' ? makeNetns() : null;
  if (hop) {
    spawnSync('ip', ['link', 'add', 'h2', 'type', 'veth', 'peer', 'name', 'k0', 'netns', String(hop.pid)]);
    spawnSync('bash', ['-c', 'ip addr add 10.76.0.1/24 dev h2 && ip link set h2 up']);
    hop.sync(['bash', '-c', 'ip link set lo up && ip addr add 10.76.0.2/24 dev k0 && ip link set k0 up && ip route add default via 10.76.0.1']);
    router.sync(['ip', 'route', 'add', '10.76.0.0/24', 'via', '10.78.0.1']);
  }
  const host = (line: string): void => { const r = spawnSync('bash', ['-c', line]); if (r.status !== 0) throw new Error(`${line}: ${r.stderr}`); };
  const inR = (line: string): void => router.sync(['bash', '-c', line]);
  const inP = (line: string): void => peer.sync(['bash', '-c', line]);
  // The kernel's congestion control: Linux's default, CUBIC, unless asked (this machine's own default may
  // differ: a host set to BBR barely reacts to random loss, which is not what the comparison is about). Set on
  // the senders' routes (congctl): a namespace may not change its default to one the host does not allow.
  const kernelCc = process.env.LOSS_BENCH_KERNEL_CC ?? 'cubic';
  host(`ip route change 10.79.0.0/24 via 10.78.0.2 congctl ${kernelCc}`);
  inP(`ip route change default via 10.79.0.1 congctl ${kernelCc}`);
  // Per-packet loss: every super-packet is cut to MTU size where it leaves a host (kernel TSO and synack's).
  host('ip link set dev a0 gso_max_segs 1 gso_max_size 1600');
  inP('ip link set dev p0 gso_max_segs 1 gso_max_size 1600');
  // The bottleneck, both directions.
  for (const d of ['r0', 'r1']) inR(`tc qdisc add dev ${d} root tbf rate 200mbit burst 64kb latency 25ms`);
  // The reordering side link r4 ↔ p2 and policy routing for marked packets.
  inR(`ip link add r4 type veth peer name p2 netns ${peer.pid} && ip addr add 10.80.0.1/24 dev r4 && ip link set r4 up`);
  inP('ip addr add 10.80.0.2/24 dev p2 && ip link set p2 up && sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.p2.rp_filter=0');
  inR('tc qdisc add dev r4 root tbf rate 3mbit burst 3kb latency 200ms');
  inR('ip rule add fwmark 1 lookup 100 && ip route add 10.79.0.2/32 dev r4 table 100');
  inR('nft add table inet lb && nft add chain inet lb lossy "{ type filter hook forward priority 0; }" && nft add chain inet lb steer "{ type filter hook prerouting priority -150; }"');
  const setPath = (l: number | 'reorder'): void => {
    inR('nft flush chain inet lb lossy && nft flush chain inet lb steer');
    inR('nft add rule inet lb lossy meta length gt 1600 counter');
    if (l === 'reorder') inR('nft add rule inet lb steer iifname r0 meta length gt 500 numgen random mod 1000 lt 10 meta mark set 1');
    else if (l > 0) for (const d of ['r0', 'r1']) inR(`nft add rule inet lb lossy oifname ${d} meta length gt 500 numgen random mod 1000 lt ${l} counter drop`);
  };

  // Kernel servers: node:http on kernel sockets in the host (toward the peer) and in the peer (toward the host).
  const hostServer = http.createServer(httpHandler);
  await new Promise<void>((r) => hostServer.listen(8081, '10.78.0.1', r));
  const peerServer = peer.spawn([process.execPath, '-e', PEER_SERVER]);
  await new Promise<void>((resolve, reject) => {
    peerServer.stdout!.once('data', () => resolve());
    peerServer.once('exit', (c) => reject(new Error(`peer server exited ${c}`)));
  });

  // LOSS_BENCH_SS=1: every 20 ms of a transfer toward the peer, the sender's cwnd (segments) and smoothed RTT
  // (ms): the kernel's from `ss -tin` in this namespace, synack's from its engine. Medians per rate.
  const samples: Record<'kernel' | 'synack', { cwnd: number[]; rtt: number[] }> = { kernel: { cwnd: [], rtt: [] }, synack: { cwnd: [], rtt: [] } };
  let kernelSampling = false;
  const sampleOnce = (who: 'kernel' | 'synack'): void => {
    if (who === 'synack') {
      for (const c of h.stack.allConnections()) {
        if (c.tcp.localPort !== 80 || c.tcp.state !== 'ESTABLISHED') continue;
        samples.synack.cwnd.push(c.tcp.congestionWindow / 1448);
        samples.synack.rtt.push(c.tcp.smoothedRtt);
      }
      return;
    }
    // Asynchronously: this process also serves the kernel→kernel reference (port 8081), and a synchronous spawn
    // every 20 ms stalled that server's writes (its goodput fell by up to a third, flattering synack's ratio).
    if (kernelSampling) return;
    kernelSampling = true;
    execFile('ss', ['-tin', 'state', 'established', '( sport = :8081 )'], { encoding: 'utf8' }, (_err, out) => {
      kernelSampling = false;
      const cw = /cwnd:(\d+)/.exec(out ?? ''), rt = /\brtt:([\d.]+)/.exec(out ?? '');
      if (cw && rt) { samples.kernel.cwnd.push(Number(cw[1])); samples.kernel.rtt.push(Number(rt[1])); }
    });
  };
  /** CPU time of this process (synack's stack) per second of synack's transfers: near 1, it is CPU-bound. */
  const cpu = { used: 0, wall: 0, waited: 0, others: 0 };
  // How long synack's main thread was runnable but waiting for a CPU, and how much CPU its other threads (the TUN
  // reader, V8's and libuv's workers) used, in ms (/proc/self/task/*/schedstat: run and run-queue wait, ns): on this
  // 2-core machine the peer's sender and the forwarding take a core, and a userspace receiver that waits ACKs
  // nothing (a kernel receiver ACKs from softirq).
  // Per thread too (run and wait, ms, by thread id; the threads are unnamed: the busiest, by id, are V8's platform
  // workers — concurrent marking, sweeping, compiling — started with the process), and the main thread's context
  // switches: involuntary (preempted: another task took its CPU) and voluntary (it slept in epoll for input or a
  // timer; each wake-up then waits for a CPU, as a kernel receiver in softirq never does).
  const perThread = new Map<number, { run: number; wait: number }>();
  let preempted = 0, slept = 0;
  const threadTimes = (): { mainWait: number; othersRun: number; tids: Map<number, { run: number; wait: number }>; nonvol: number; vol: number } => {
    let mainWait = 0, othersRun = 0, nonvol = 0, vol = 0;
    const tids = new Map<number, { run: number; wait: number }>();
    try {
      for (const tid of readdirSync('/proc/self/task')) {
        const [run, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
        tids.set(Number(tid), { run: run! / 1e6, wait: wait! / 1e6 });
        if (Number(tid) === process.pid) {
          mainWait = wait! / 1e6;
          const status = readFileSync(`/proc/self/task/${tid}/status`, 'utf8');
          nonvol = Number(/nonvoluntary_ctxt_switches:\s*(\d+)/.exec(status)?.[1] ?? 0);
          vol = Number(/\nvoluntary_ctxt_switches:\s*(\d+)/.exec(status)?.[1] ?? 0);
        } else othersRun += run! / 1e6;
      }
    } catch { /* no schedstat: zeros */ }
    return { mainWait, othersRun, tids, nonvol, vol };
  };
  // And how long synack's event loop was blocked (it ACKs and sends only when it runs): the largest delays, and
  // garbage collection pauses over 2 ms.
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const gc = { n: 0, ms: 0, max: 0, all: 0, allMs: 0 };
  const gcLog = process.env.LOSS_BENCH_GCLOG;
  const gcObs = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      gc.all++; gc.allMs += e.duration;
      if (e.duration > 2) { gc.n++; gc.ms += e.duration; gc.max = Math.max(gc.max, e.duration); }
      // LOSS_BENCH_GCLOG=file: every pause over 1 ms (epoch seconds, ms, V8's kind: 1 minor, 4 major, 8 incremental
      // marking, 16 weak callbacks), to set beside a capture's timestamps; then its flags (perf_hooks.constants: 4
      // forced, 32 external memory, 64 scheduled by the allocation limit) and the heap's used, external and ArrayBuffer
      // bytes (MB) after it.
      if (gcLog && e.duration > 1) {
        const dt = (e as unknown as { detail?: { kind?: number; flags?: number } }).detail;
        const m = process.memoryUsage();
        appendFileSync(gcLog, `${((performance.timeOrigin + e.startTime) / 1000).toFixed(6)} ${e.duration.toFixed(2)} ${dt?.kind ?? 0} ${dt?.flags ?? 0} ${(m.heapUsed / 1e6).toFixed(1)} ${(m.external / 1e6).toFixed(1)} ${(m.arrayBuffers / 1e6).toFixed(1)}\n`);
      }
    }
  });
  // LOSS_BENCH_HEAPPROF=1 (with LOSS_BENCH_SS): what synack's process allocates during its transfers, by function,
  // per segment it received or sent (V8's sampling heap profiler, counting objects scavenges collected).
  const heapProf = process.env.LOSS_BENCH_HEAPPROF ? new Session() : null;
  const allocs = new Map<string, number>();
  let allocSegs = 0;
  if (heapProf) { heapProf.connect(); await heapProf.post('HeapProfiler.enable'); }
  // LOSS_BENCH_CPUPROF=dir (with LOSS_BENCH_SS): a V8 CPU profile of synack's process during each of its transfers.
  const cpuProfDir = process.env.LOSS_BENCH_CPUPROF;
  const cpuProf = cpuProfDir ? new Session() : null;
  let cpuProfN = 0;
  if (cpuProf) { cpuProf.connect(); await cpuProf.post('Profiler.enable'); await cpuProf.post('Profiler.setSamplingInterval', { interval: 100 } as never); }
  interface ProfNode { callFrame: { functionName: string; url: string }; selfSize: number; children: ProfNode[] }
  const sampled = async (who: 'kernel' | 'synack', f: () => Promise<number>): Promise<number> => {
    if (!process.env.LOSS_BENCH_SS) return f();
    const t = setInterval(() => sampleOnce(who), 20);
    const c0 = process.cpuUsage(), w0 = performance.now(), q0 = threadTimes();
    const s0 = h.stack.stats.InSegs + h.stack.stats.OutSegs;
    if (who === 'synack') { loop.enable(); gcObs.observe({ entryTypes: ['gc'] }); }
    if (who === 'synack' && cpuProf) await cpuProf.post('Profiler.start');
    if (who === 'synack' && heapProf) await heapProf.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
    try { return await f(); } finally {
      clearInterval(t);
      if (who === 'synack') {
        loop.disable(); gcObs.disconnect();
        const d = process.cpuUsage(c0); cpu.used += (d.user + d.system) / 1000; cpu.wall += performance.now() - w0;
        const q1 = threadTimes(); cpu.waited += q1.mainWait - q0.mainWait; cpu.others += q1.othersRun - q0.othersRun;
        preempted += q1.nonvol - q0.nonvol; slept += q1.vol - q0.vol;
        for (const [tid, t] of q1.tids) {
          const t0 = q0.tids.get(tid) ?? { run: 0, wait: 0 }, acc = perThread.get(tid) ?? { run: 0, wait: 0 };
          acc.run += t.run - t0.run; acc.wait += t.wait - t0.wait; perThread.set(tid, acc);
        }
        if (cpuProf) {
          const { profile } = await cpuProf.post('Profiler.stop') as unknown as { profile: unknown };
          // The profile's times are V8's monotonic clock (µs, CLOCK_MONOTONIC as process.hrtime): with the epoch at one
          // instant beside it, its samples can be set beside a LOSS_BENCH_PCAP capture's timestamps.
          const epochMinusMonoUs = (performance.timeOrigin + performance.now()) * 1000 - Number(process.hrtime.bigint() / 1000n);
          writeFileSync(join(cpuProfDir!, `synack-${++cpuProfN}.cpuprofile`), JSON.stringify({ ...(profile as object), epochMinusMonoUs }));
        }
        if (heapProf) {
          const { profile } = await heapProf.post('HeapProfiler.stopSampling') as unknown as { profile: { head: ProfNode } };
          // A built-in (no script: subarray, push …) is named with its caller.
          const walk = (n: ProfNode, caller: string): void => {
            const name = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(src|bench|node_modules)\//, '$1/')}`;
            const k = n.callFrame.url ? name : `${name}<- ${caller}`;
            if (n.selfSize) allocs.set(k, (allocs.get(k) ?? 0) + n.selfSize);
            for (const ch of n.children) walk(ch, n.callFrame.url ? name : caller);
          };
          walk(profile.head, '');
          allocSegs += h.stack.stats.InSegs + h.stack.stats.OutSegs - s0;
        }
      }
    }
  };
  const peerCounters = async (): Promise<Record<string, number>> => parseCounters((await peer.sh('cat /proc/net/snmp /proc/net/netstat')).stdout);
  const addDelta = (acc: Record<string, number>, a: Record<string, number>, b: Record<string, number>): void => {
    for (const n of KERNEL_SENDER) acc[n] = (acc[n] ?? 0) + (b[n] ?? 0) - (a[n] ?? 0);
  };
  const curl = async (ns: Netns | null, url: string): Promise<number> => {
    const line = `curl -sS --max-time ${MAX_SECONDS} -o /dev/null -w '%{size_download} %{time_total}' ${url}`;
    const r = ns ? await ns.sh(line, (MAX_SECONDS + 10) * 1000) : spawnSync('bash', ['-c', line], { encoding: 'utf8', timeout: (MAX_SECONDS + 10) * 1000 });
    const [bytes, secs] = String(r.stdout).trim().split(' ').map(Number);
    return bytes === SIZE ? SIZE / 1e6 / secs! : 0;
  };
  // synack downloads from the peer's kernel server over its own socket.
  // LOSS_BENCH_SS=1: the peer kernel sending toward the host (port 8080, to the kernel or to synack): the largest
  // share of its busy time it was limited by the receiver's window (tcp_info tcpi_rwnd_limited, `ss -ti`
  // rwnd_limited), sampled every 50 ms in the peer's namespace; one figure per transfer.
  const rwnd: Record<'kernel' | 'synack', number[]> = { kernel: [], synack: [] };
  let rwndSamples = 0;
  // And its cwnd (segments) and smoothed RTT (ms) in each sample, toward each receiver: a later ACK is a longer RTT to it.
  const peerSs: Record<'kernel' | 'synack', { cwnd: number[]; rtt: number[] }> = { kernel: { cwnd: [], rtt: [] }, synack: { cwnd: [], rtt: [] } };
  const peerSampled = async (who: 'kernel' | 'synack', f: () => Promise<number>): Promise<number> => {
    if (!process.env.LOSS_BENCH_SS) return f();
    // One sampling loop in the peer for the whole transfer, read from a pipe: spawning `ss` from this process every
    // 50 ms took 4-10 % of synack's busy time while it received (V8 CPU profile: spawn, normalizeSpawnArguments).
    let worst = 0;
    const loop = peer.spawn(['bash', '-c', "while :; do ss -tin state established '( sport = :8080 )'; sleep 0.05; done"]);
    loop.stdout!.setEncoding('utf8').on('data', (d: string) => {
      rwndSamples += d.split('busy:').length - 1;
      for (const m of d.matchAll(/rwnd_limited:\d+ms\(([\d.]+)%\)/g)) worst = Math.max(worst, Number(m[1]));
      for (const m of d.matchAll(/\brtt:([\d.]+)\/[\d.]+ .*?cwnd:(\d+)/g)) { peerSs[who].rtt.push(Number(m[1])); peerSs[who].cwnd.push(Number(m[2])); }
      // The last sample's recovery fields (cumulative for the connection): what the sender saw of this receiver.
      const blocks = d.split(/\n(?=\S)/).filter((b) => b.includes('busy:'));
      if (blocks.length) lastSs = blocks[blocks.length - 1]!;
    });
    let lastSs = '';
    // The receiver's side (LOSS_BENCH_SS): the kernel receiver's rcv_rtt (its DRS period, ms), rcv_space (what it
    // read in the last period) and rcv_ssthresh (the window's cap), from `ss -ti` in this namespace every 50 ms;
    // synack's from its engine (RecvAutotune's rtt, space, and clamp: the window it may offer). Linux grows the buffer once per rcv_rtt to
    // twice what was read in it, and the window follows at two segments per segment, each ACKed at once.
    const rcv = { rtt: [] as number[], space: [] as number[], ssthresh: [] as number[] };
    const hostLoop = who === 'kernel' ? spawn('bash', ['-c', "while :; do ss -tin state established '( dport = :8080 )'; sleep 0.05; done"]) : null;
    hostLoop?.stdout!.setEncoding('utf8').on('data', (d: string) => {
      for (const m of d.matchAll(/\brcv_rtt:([\d.]+) rcv_space:(\d+) rcv_ssthresh:(\d+)/g)) {
        rcv.rtt.push(Number(m[1])); rcv.space.push(Number(m[2])); rcv.ssthresh.push(Number(m[3]));
      }
    });
    const ownRcv = who === 'synack' ? setInterval(() => {
      for (const c of h.stack.allConnections()) {
        const t = c.tcp.rcvTune;
        if (c.tcp.remotePort !== 8080 || t === null) continue;
        rcv.rtt.push(t.rtt); rcv.space.push(t.space); rcv.ssthresh.push(t.clamp);
      }
    }, 50) : null;
    try { return await f(); } finally {
      // The kernel's transfer ran in a synchronous spawn (curl in this namespace): let the sampler's output in.
      if (hostLoop) { await new Promise((r) => setTimeout(r, 100)); hostLoop.kill(); }
      if (ownRcv) clearInterval(ownRcv);
      if (rcv.rtt.length) {
        const q = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))] ?? 0;
        const mb = (xs: number[]): string => `${round(q(xs, 0.5) / 1e6, 2)}/${round(q(xs, 1) / 1e6, 2)}`;
        process.stderr.write(`${who === 'kernel' ? 'kernel→kernel(r0)' : 'kernel→synack'} receiver, median/max of ${rcv.rtt.length} samples: rcv_rtt ${round(q(rcv.rtt, 0.5), 2)}/${round(q(rcv.rtt, 1), 2)} ms, rcv_space ${mb(rcv.space)} MB, rcv_ssthresh ${mb(rcv.ssthresh)} MB\n`);
      }
      loop.kill(); rwnd[who].push(worst);
      // LOSS_BENCH_SS: per transfer, the kernel sender's tcp_info near its end (retrans, lost, backoff, reordering, D-SACK
      // duplicates, rwnd_limited) and its counters (RTOs, recoveries, probes ...): how it saw this receiver.
      const pick = (re: RegExp): string => re.exec(lastSs)?.[0] ?? '';
      const fields = [/retrans:\S+/, /\blost:\d+/, /backoff:\d+/, /reordering:\d+/, /reord_seen:\d+/, /dsack_dups:\d+/, /\bsacked:\d+/, /rwnd_limited:\S+/, /\bcwnd:\d+/, /ssthresh:\d+/, /\brto:\d+/].map(pick).filter(Boolean).join(' ');
      peerLast[who] = fields;
    }
  };
  const peerLast: Record<'kernel' | 'synack', string> = { kernel: '', synack: '' };
  // Timed as curl times the kernel's transfers (time_total): from the start to the last byte of the body, not to the
  // connection's close (our FIN and the server's ACK of it, a further round trip curl does not wait for).
  const synackGet = (): Promise<number> => new Promise((resolve) => {
    const t0 = performance.now();
    let got = 0, header = -1, done = 0;
    const s = Socket.connect(h.stack, { host: '10.79.0.2', port: 8080 });
    const parts: Buffer[] = [];
    const timer = setTimeout(() => { s.destroy(); resolve(0); }, MAX_SECONDS * 1000);
    s.on('connect', () => s.write(`GET /bytes/${SIZE} HTTP/1.1\r\nHost: peer\r\nConnection: close\r\n\r\n`));
    s.on('data', (d: Buffer) => {
      if (header < 0) { parts.push(d); const b = Buffer.concat(parts); const i = b.indexOf('\r\n\r\n'); if (i >= 0) { header = i + 4; got = b.length - header; } } else got += d.length;
      if (got === SIZE && done === 0) done = performance.now();
    });
    s.on('error', () => undefined);
    s.on('close', () => { clearTimeout(timer); resolve(got === SIZE ? SIZE / 1e6 / ((done - t0) / 1000) : 0); });
  });

  if (process.env.LOSS_BENCH_WARMUP !== '0') {
    // One untimed transfer each way: the JIT and the heap of a fresh process (see the header).
    setPath(0);
    await curl(peer, `http://10.77.0.2/bytes/${SIZE}`);
    await synackGet();
  }

  const out: BenchResult[] = [];
  const only = process.env.LOSS_BENCH_ONLY;
  const ccAbB = process.env.LOSS_BENCH_CC_AB ? JSON.parse(process.env.LOSS_BENCH_CC_AB) as Record<string, unknown> : null;
  const ccAb = ccAbB ? { b: ccAbB, a: Object.fromEntries(Object.keys(ccAbB).map((k) => [k, (h.stack.config as unknown as Record<string, unknown>)[k]])) } : null;
  // LOSS_BENCH_SENDONLY=1: only the transfers toward the peer (kernel→kernel, synack→kernel): synack as the sender.
  const sendOnly = process.env.LOSS_BENCH_SENDONLY === '1';
  // LOSS_BENCH_RECVONLY=1: only the transfers toward the host (kernel→kernel(r0), kernel→synack): synack as the receiver.
  const recvOnly = process.env.LOSS_BENCH_RECVONLY === '1';
  for (const l of [...LOSSES, 'reorder' as const]) {
    if (only !== undefined && String(l) !== only) continue;
    setPath(l);
    const kk1: number[] = [], sk: number[] = [], kk2: number[] = [], ks: number[] = [], kh: number[] = [];
    // Per transfer toward the host: its time (s) and the RTOs the peer's kernel sender drew in it (rtoAdjusted).
    const recvK: Array<{ s: number; rtos: number }> = [], recvS: Array<{ s: number; rtos: number }> = [];
    const runs = l === 50 && !sendOnly ? RUNS_HIGH_LOSS : RUNS;
    // What synack read from its device during its downloads: packets, read batches (one callback each; a batch's
    // segments are answered by one ACK pass), GSO super-packets among them.
    const rxReads = { packets: 0, batches: 0, gso: 0, nowCalls: 0, nowPackets: 0 };
    // The peer's kernel as the sender toward the host: its counters while sending to the kernel and to synack.
    const peerToKernel: Record<string, number> = {}, peerToSynack: Record<string, number> = {};
    // The peer's kernel as the receiver of the transfers toward it: from the kernel and from synack.
    const peerFromKernel: Record<string, number> = {}, peerFromSynack: Record<string, number> = {};
    const addRx = (acc: Record<string, number>, a: Record<string, number>, b: Record<string, number>): void => {
      for (const n of KERNEL_RECEIVER) acc[n] = (acc[n] ?? 0) + (b[n] ?? 0) - (a[n] ?? 0);
    };
    const st = h.stack.stats;
    const kBefore = kernelCounters();
    const pcapDir = process.env.LOSS_BENCH_PCAP;
    const dump = pcapDir ? spawn('tcpdump', ['-i', 'a0', '-s', '100', '-w', `${pcapDir}/loss-${l}.pcap`, 'tcp port 8080 or tcp port 8081 or tcp port 80'], { stdio: 'ignore' }) : null;
    // And the bottleneck's output toward the peer (r1, after tbf; the loss is made before it, on the forward hook).
    const dumpR1 = pcapDir ? router.spawn(['tcpdump', '-i', 'r1', '-s', '100', '-w', `${pcapDir}/loss-${l}-r1.pcap`, 'tcp port 8081 or tcp port 80']) : null;
    if (dump) await new Promise((r) => setTimeout(r, 1000));
    const before = { rtx: st.RetransSegs, rto: st.TCPTimeouts, tlp: st.TCPLossProbes, fr: st.TCPFastRetrans, out: st.OutSegs, ...undoCounts(st) };
    for (let i = 0; i < runs; i++) {
      // LOSS_BENCH_NICE_AB=n: synack's process at nice n in even repetitions and 0 in odd ones (an A/B within one run).
      const niceArm = process.env.LOSS_BENCH_NICE_AB ? (i % 2 === 0 ? Number(process.env.LOSS_BENCH_NICE_AB) : 0) : null;
      if (niceArm !== null) setPriority(niceArm);
      // LOSS_BENCH_CC_AB=json: those TcpConfig fields in even repetitions, their values before in odd ones (an A/B of
      // an engine setting within one run, each repetition's figures printed with its arm).
      const ccArm = ccAb ? (i % 2 === 0 ? 'B' : 'A') : null;
      if (ccAb) Object.assign(h.stack.config, i % 2 === 0 ? ccAb.b : ccAb.a);
      // The repetitions beyond RUNS (RUNS_HIGH_LOSS) are toward the host only.
      const towardPeer = (!recvOnly || l === 'reorder') && i < RUNS;
      if (towardPeer) {
        const r0 = await peerCounters();
        kk1.push(await sampled('kernel', () => curl(peer, `http://10.78.0.1:8081/bytes/${SIZE}`)));
        const r1 = await peerCounters();
        sk.push(await sampled('synack', () => curl(peer, `http://10.77.0.2/bytes/${SIZE}`)));
        addRx(peerFromKernel, r0, r1);
        addRx(peerFromSynack, r1, await peerCounters());
      }
      if (l === 'reorder' || sendOnly) continue; // the side link is toward the peer only
      let k0 = await peerCounters();
      const kPrev = k0;
      kk2.push(await peerSampled('kernel', () => curl(null, `http://10.79.0.2:8080/bytes/${SIZE}`)));
      let k1 = await peerCounters();
      addDelta(peerToKernel, k0, k1);
      k0 = k1;
      const rx0 = h.host.link.stats, gso0 = h.host.link.offloadStats.rxGsoPackets;
      ks.push(await peerSampled('synack', () => sampled('synack', synackGet)));
      const rx1 = h.host.link.stats;
      // An A/B arm's repetition, its four figures (those toward the peer only in the first RUNS repetitions).
      const armLine = (arm: string): string => `${label(l)}: ${arm}: synack→kernel ${towardPeer ? sk[sk.length - 1]?.toFixed(2) : '-'} kernel→kernel ${towardPeer ? kk1[kk1.length - 1]?.toFixed(2) : '-'} kernel→synack ${ks[ks.length - 1]!.toFixed(2)} kernel→kernel(r0) ${kk2[kk2.length - 1]!.toFixed(2)}\n`;
      if (ccArm !== null) process.stderr.write(armLine(`arm ${ccArm}`));
      if (niceArm !== null) process.stderr.write(armLine(`nice ${niceArm}`));
      rxReads.packets += rx1.rxPackets - rx0.rxPackets; rxReads.batches += rx1.rxBatches - rx0.rxBatches;
      rxReads.gso += h.host.link.offloadStats.rxGsoPackets - gso0;
      rxReads.nowCalls += (rx1.rxNowCalls ?? 0) - (rx0.rxNowCalls ?? 0); rxReads.nowPackets += (rx1.rxNowPackets ?? 0) - (rx0.rxNowPackets ?? 0);
      const kToK = k0;
      k1 = await peerCounters();
      addDelta(peerToSynack, k0, k1);
      const secs = (g: number): number => (g > 0 ? SIZE / 1e6 / g : NaN);
      recvK.push({ s: secs(kk2[kk2.length - 1]!), rtos: (kToK.TCPTimeouts ?? 0) - (kPrev.TCPTimeouts ?? 0) });
      recvS.push({ s: secs(ks[ks.length - 1]!), rtos: (k1.TCPTimeouts ?? 0) - (kToK.TCPTimeouts ?? 0) });
      // LOSS_BENCH_PER=1 (or LOSS_BENCH_SS): each transfer's peer-sender counters, without SS's samplers' load.
      if (process.env.LOSS_BENCH_SS || process.env.LOSS_BENCH_PER) {
        const one = (a: Record<string, number>, b: Record<string, number>): string => ['RetransSegs', 'TCPSackRecovery', 'TCPTimeouts', 'TCPLossProbes', 'TCPLossProbeRecovery', 'TCPDSACKRecv', 'TCPDSACKUndo', 'TCPSpuriousRTOs', 'TCPSACKReorder', 'TCPTSReorder', 'TCPLostRetransmit', 'TCPSackFailures', 'TCPLossFailures', 'TCPFastRetrans', 'TCPSlowStartRetrans', 'TCPSpuriousRtxHostQueues'].map((n) => `${n} ${(b[n] ?? 0) - (a[n] ?? 0)}`).join(', ');
        process.stderr.write(`${label(l)}: #${i} kernel→kernel(r0) ${kk2[kk2.length - 1]!.toFixed(2)} MB/s: ${one(kPrev, kToK)}; end tcp_info ${peerLast.kernel}\n`);
        process.stderr.write(`${label(l)}: #${i} kernel→synack ${ks[ks.length - 1]!.toFixed(2)} MB/s: ${one(kToK, k1)}; end tcp_info ${peerLast.synack}\n`);
      }
      if (hop) {
        const h0 = await peerCounters();
        kh.push(await curl(hop, `http://10.79.0.2:8080/bytes/${SIZE}`));
        // LOSS_BENCH_PER: the hop receiver's transfer as the peer sender saw it (reordering, D-SACKs: is it the hop?).
        if (process.env.LOSS_BENCH_PER) {
          const h1 = await peerCounters();
          process.stderr.write(`${label(l)}: #${i} kernel→kernel(hop) ${kh[kh.length - 1]!.toFixed(2)} MB/s: ${['TCPTimeouts', 'TCPLossProbes', 'TCPDSACKRecv', 'TCPSACKReorder', 'TCPTSReorder'].map((n) => `${n} ${(h1[n] ?? 0) - (h0[n] ?? 0)}`).join(', ')}\n`);
        }
      }
    }
    if (dump) { dump.kill('SIGINT'); await new Promise((r) => dump.once('exit', r)); }
    if (dumpR1) { dumpR1.kill('SIGINT'); await new Promise((r) => dumpR1.once('exit', r)); }
    if (pcapDir) for (const line of receiverAcks(`${pcapDir}/loss-${l}.pcap`)) process.stderr.write(`${label(l)}: ${line}\n`);
    if (pcapDir) {
      const who = (src: string): string => (src === '10.77.0.2' ? 'synack' : src === '10.76.0.2' ? 'kernel(hop)' : 'kernel');
      for (const line of ackLatency(`${pcapDir}/loss-${l}.pcap`, who)) process.stderr.write(`${label(l)}: ${line}\n`);
      for (const line of transferPhases(`${pcapDir}/loss-${l}.pcap`)) process.stderr.write(`${label(l)}: ${line}\n`);
      if (l !== 'reorder' && !sendOnly) {
        for (const line of senderWaits(`${pcapDir}/loss-${l}.pcap`, towardHost)) process.stderr.write(`${label(l)}: ${line}\n`);
        for (const line of ackStalls(`${pcapDir}/loss-${l}.pcap`, towardHost)) process.stderr.write(`${label(l)}: ${line}\n`);
      }
      const mode = (port: string, client: string): string => (port === '80' ? 'synack→kernel' : port === '8081' ? 'kernel→kernel' : towardHost(client));
      for (const line of [...bottleneckIdle(`${pcapDir}/loss-${l}-r1.pcap`, ['80', '8081'], mode), ...bottleneckIdle(`${pcapDir}/loss-${l}.pcap`, ['8080'], mode)]) process.stderr.write(`${label(l)}: bottleneck idle, ${line}\n`);
    }
    const row = (name: string, ours: number[], ref: number[]): BenchResult => {
      const o = median(ours), k = median(ref);
      return { name, value: round(o), unit: 'MB/s', peer: `kernel ${kernelCc}`, peerValue: round(k), ratio: k > 0 ? round(o / k, 3) : 0 };
    };
    if (sk.length) out.push(row(`loss.real synack->kernel ${label(l)}`, sk, kk1));
    if (l !== 'reorder' && !sendOnly) out.push(row(`loss.real kernel->synack ${label(l)}`, ks, kk2));
    const tun = h.host.link.stats;
    // What the path did: tbf queue drops (r1, r0), then the nftables counters (super-packets seen, drops on r0, r1).
    const counts = (await router.sh('tc -s qdisc show dev r1 | grep -o "dropped [0-9]*"; tc -s qdisc show dev r0 | grep -o "dropped [0-9]*"; nft list chain inet lb lossy | grep -o "packets [0-9]*"')).stdout.replace(/\n/g, ' ');
    // The kernel's side of the TUN device: packets toward synack it dropped because synack did not read them in
    // time (its queue, txqueuelen, was full): receive-side losses the path did not make (cumulative).
    const syn0 = /TX:[^\n]*\n\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/.exec(spawnSync('ip', ['-s', 'link', 'show', 'dev', 'syn0'], { encoding: 'utf8' }).stdout ?? '');
    if (rxReads.batches > 0) process.stderr.write(`${label(l)}: synack receiving read ${rxReads.packets} packets in ${rxReads.batches} batches (${round(rxReads.packets / rxReads.batches)} per batch), ${rxReads.gso} of them GSO super-packets; before an ACK that would report a hole it read the device again ${rxReads.nowCalls} times and found ${rxReads.nowPackets} packets\n`);
    process.stderr.write(`${label(l)}: TUN tx dropped ${tun.txDropped}, queued ${tun.txQueuedTotal}; kernel→TUN dropped ${syn0 ? syn0[4] : '?'}; router: ${counts}\n`);
    const u = undoCounts(st);
    // The host's kernel is the sender of the kernel→kernel reference toward the peer (and only a receiver otherwise).
    const kAfter = kernelCounters();
    const kd = (n: string): number => (kAfter[n] ?? 0) - (kBefore[n] ?? 0);
    for (const [who, d] of [['kernel', peerFromKernel], ['synack', peerFromSynack]] as const) {
      process.stderr.write(`${label(l)}: kernel (peer) receiving from ${who}: ${KERNEL_RECEIVER.map((n) => `${n} ${d[n] ?? 0}`).join(', ')}\n`);
    }
    for (const [who, d] of [['kernel', peerToKernel], ['synack', peerToSynack]] as const) {
      if (l === 'reorder') break;
      process.stderr.write(`${label(l)}: kernel (peer) sending to ${who}: ${KERNEL_SENDER.map((n) => `${n} ${d[n] ?? 0}`).join(', ')}\n`);
    }
    if (process.env.LOSS_BENCH_SS) {
      for (const who of ['kernel', 'synack'] as const) {
        const m = samples[who];
        process.stderr.write(`${label(l)}: ${who} sending: median cwnd ${round(median(m.cwnd), 1)} segments, median SRTT ${round(median(m.rtt), 2)} ms (${m.cwnd.length} samples)\n`);
        m.cwnd.length = 0; m.rtt.length = 0;
      }
      if (l !== 'reorder') process.stderr.write(`${label(l)}: the peer kernel sending toward the host was receive-window limited at most ${rwnd.kernel.map((x) => `${x}%`).join(', ')} of the time toward the kernel, ${rwnd.synack.map((x) => `${x}%`).join(', ')} toward synack (${rwndSamples} samples of its tcp_info)\n`);
      if (l !== 'reorder') process.stderr.write(`${label(l)}: the peer kernel sending toward the host: median cwnd ${round(median(peerSs.kernel.cwnd), 1)} segments, SRTT ${round(median(peerSs.kernel.rtt), 3)} ms toward the kernel; ${round(median(peerSs.synack.cwnd), 1)} segments, ${round(median(peerSs.synack.rtt), 3)} ms toward synack\n`);
      for (const w of ['kernel', 'synack'] as const) { peerSs[w].cwnd.length = 0; peerSs[w].rtt.length = 0; }
      rwnd.kernel.length = 0; rwnd.synack.length = 0; rwndSamples = 0;
      process.stderr.write(`${label(l)}: synack's process used ${round(cpu.wall > 0 ? cpu.used / cpu.wall : 0)} CPU seconds per second of its transfers, its main thread waited ${round(cpu.wall > 0 ? 1000 * cpu.waited / cpu.wall : 0, 1)} ms per second for a CPU, its other threads ran ${round(cpu.wall > 0 ? 1000 * cpu.others / cpu.wall : 0, 1)} ms per second; event-loop delay p99 ${round(loop.percentile(99) / 1e6)} ms, max ${round(loop.max / 1e6)} ms; GC pauses over 2 ms: ${gc.n}, ${round(gc.ms)} ms in all, longest ${round(gc.max)} ms; every GC pause: ${gc.all}, ${round(gc.allMs)} ms\n`);
      const perS = (x: number): number => round(cpu.wall > 0 ? 1000 * x / cpu.wall : 0, 1);
      const busiest = [...perThread].sort((a, b) => b[1].run - a[1].run).slice(0, 6);
      process.stderr.write(`${label(l)}: synack's threads, ms per second of its transfers (run/wait): ${busiest.map(([tid, t]) => `${tid === process.pid ? 'main' : tid} ${perS(t.run)}/${perS(t.wait)}`).join(', ')}; the main thread was preempted ${round(perS(preempted) / 1000, 2)} thousand times per second and slept (waited for input or a timer) ${round(perS(slept) / 1000, 2)} thousand times per second, and waited for a CPU ${slept + preempted > 0 ? round(1000 * (perThread.get(process.pid)?.wait ?? 0) / (slept + preempted), 0) : 0} µs per switch\n`);
      perThread.clear(); preempted = 0; slept = 0;
      cpu.used = 0; cpu.wall = 0; cpu.waited = 0; cpu.others = 0; loop.reset(); gc.n = 0; gc.ms = 0; gc.max = 0; gc.all = 0; gc.allMs = 0;
      if (heapProf && allocSegs > 0) {
        const total = [...allocs.values()].reduce((a, b) => a + b, 0);
        process.stderr.write(`${label(l)}: synack's process allocated ${round(total / allocSegs, 0)} B per segment (${allocSegs} segments in and out); largest:\n`);
        for (const [k, v] of [...allocs].sort((a, b) => b[1] - a[1]).slice(0, 20)) process.stderr.write(`  ${round(v / allocSegs, 1)} B/segment ${k}\n`);
        allocs.clear(); allocSegs = 0;
      }
    }
    process.stderr.write(`${label(l)}: kernel (host) segments ${kd('OutSegs')}, retransmitted ${kd('RetransSegs')}, recoveries ${kd('TCPSackRecovery')}, RTOs ${kd('TCPTimeouts')}, probes ${kd('TCPLossProbes')}, D-SACKs received ${kd('TCPDSACKRecv')}, undone (D-SACK/full/partial/RTO) ${kd('TCPDSACKUndo')}/${kd('TCPFullUndo')}/${kd('TCPPartialUndo')}/${kd('TCPLossUndo')}\n`);
    process.stderr.write(`${label(l)}: synack segments ${st.OutSegs - before.out}, retransmitted ${st.RetransSegs - before.rtx}, recoveries ${st.TCPFastRetrans - before.fr}, RTOs ${st.TCPTimeouts - before.rto}, probes ${st.TCPLossProbes - before.tlp}, D-SACKs received ${u.dsackRecv - before.dsackRecv} sent ${u.dsackSent - before.dsackSent}, undone (D-SACK/full/partial/RTO) ${u.dsackUndo - before.dsackUndo}/${u.fullUndo - before.fullUndo}/${u.partialUndo - before.partialUndo}/${u.lossUndo - before.lossUndo}\n`);
    process.stderr.write(`${label(l)}: kernel→kernel ${kk1.map((x) => x.toFixed(2))} synack→kernel ${sk.map((x) => x.toFixed(2))} kernel→kernel(r0) ${kk2.map((x) => x.toFixed(2))} kernel→synack ${ks.map((x) => x.toFixed(2))}${hop ? ` kernel→kernel(hop) ${kh.map((x) => x.toFixed(1))}` : ''}\n`);
    const adj = l !== 'reorder' && !sendOnly ? rtoAdjusted(recvK, recvS) : null;
    if (adj !== null) {
      const mean = (xs: Array<{ rtos: number }>): number => xs.reduce((a, x) => a + x.rtos, 0) / Math.max(1, xs.length);
      process.stderr.write(`${label(l)}: kernel→synack at equal RTOs (least squares over ${recvK.length} + ${recvS.length} transfers; ${round(adj.c, 2)} s per RTO, RTOs per transfer ${round(mean(recvK), 2)} toward the kernel, ${round(mean(recvS), 2)} toward synack): synack's time ${adj.b >= 0 ? '+' : ''}${round(adj.b * 1000, 0)} ± ${round(adj.se * 1000, 0)} ms per transfer, ratio ${round(adj.kernelMean / (adj.kernelMean + adj.b), 3)} ± ${round(adj.kernelMean * adj.se / (adj.kernelMean + adj.b) ** 2, 3)}\n`);
    }
    if (hop && kh.length) process.stderr.write(`${label(l)}: kernel→kernel(hop) median ${round(median(kh))} MB/s: ÷ kernel→kernel(r0) ${round(median(kh) / median(kk2))}; kernel→synack ÷ kernel→kernel(hop) ${round(median(ks) / median(kh))}\n`);
  }
  peerServer.kill();
  hostServer.close();
  await h.stop(500);
  reportResult(out);
  process.exit(0);
}

export async function run(): Promise<BenchResult[]> {
  const out = process.env.LOSS_BENCH_ONLY === undefined && !process.env.LOSS_BENCH_NOVIRTUAL ? await virtualSweep() : [];
  const reason = lossBenchUnavailableReason();
  if (reason) {
    console.log(`  loss.real skipped: ${reason}`);
    return out;
  }
  const res = await runInNetns(import.meta.url, ['real'], { timeoutMs: 3_000_000, env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('LOSS_BENCH_'))) as Record<string, string> });
  if (res.code !== 0 || !Array.isArray(res.result)) {
    throw new Error(`loss benchmark with real peers failed (exit ${res.code}${res.timedOut ? ', timed out' : ''}):\n${res.stderr}${res.stdout}`);
  }
  process.stderr.write(res.stderr);
  if (process.env.LOSS_BENCH_V8FLAGS) process.stderr.write(res.stdout);
  return [...out, ...(res.result as BenchResult[])];
}

if (process.env[NETNS_ENV] && process.argv[2] === 'real') await realRole();
