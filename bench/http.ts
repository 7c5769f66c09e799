/**
 * Per-request speed and SYN floods against the kernel (issue 14), in a namespace this bench creates:
 *
 *   synack   `synack serve --http 8080` (startServe, offloads and the writer thread on, as the CLI runs by
 *            default) on a TUN device, 10.77.0.2, reached from this namespace's kernel (10.77.0.1/24).
 *   kernel   the same node:http handler (serve.ts httpHandler) on kernel sockets, in a second namespace behind
 *            a veth pair, 10.88.0.2 (10.88.0.1/24 here).
 *
 * Both are measured in the same run, one after the other, with the same clients from this namespace:
 *   - `ab -k -c20 -n5000` (keep-alive) and `ab -c100 -n2000` (a connection per request) on GET /bytes/1000:
 *     requests per second and the ratio synack / kernel;
 *   - a SYN flood: `hping3 -S --flood --rand-source` at the HTTP port, bounded to FLOOD_SECS and FLOOD_COUNT
 *     packets, while curl fetches /bytes/1000 in a loop (2 s timeout each): the share of fetches that succeed,
 *     curl's handshake time (time_connect) as mean, median, p90 and highest, with the fetches whose SYN was
 *     retransmitted (≥ 900 ms: one such fetch in 500 adds 2 ms to the mean; median, p90 and retransmissions for
 *     each flood variant below too),
 *     and TCP segments the target processed per second (its InSegs: synack's stack counters, the kernel's
 *     /proc/net/snmp of its namespace), with what the TUN device dropped before synack could read it. The
 *     kernel is flooded just before and just after synack (its figures are the mean of the two: the machine is
 *     shared, and its load drifts over a minute). synack
 *     is flooded twice, with its SYN-cookie fast path (the default) and without (every SYN decoded and answered
 *     by the general path): the same run's before/after, with synack's CPU time per segment processed (all its
 *     threads, user + system: the system part is mostly the TUN reads and writes), and the mean number of
 *     packets per TUN read callback; then once more against a second serve whose device is read by the addon's
 *     reader thread (`synack serve --read-thread`).
 *
 * What throttles the flood (read before comparing): hping3 → veth → the kernel's TCP runs in hping3's own
 * system call, so the kernel server throttles the flood to what it processes and nothing queues. hping3 → TUN
 * only puts the packet in the device's ring (txqueuelen packets; the driver never stops its queue, so beyond
 * that it drops, counted as the device's tx drops), a legitimate client's SYN or ACK as likely as the flood's.
 * synack serve therefore puts bare SYNs through a rate (applySynRate: an HTB class in the device's qdisc, the
 * rate kept under what synack reads by SynRateGovernor): the flood's SYNs beyond it wait in the qdisc, where
 * they still count against hping3's socket send buffer, so hping3 blocks and is slowed to the rate, as veth
 * slows it to the kernel's; everything else goes straight to the ring, which the flood no longer fills. The
 * rows below give the rate at the end of the flood and what its queue dropped.
 *
 * Needs root, the TUN addon, ab (apache2-utils), hping3 and curl; throws with the reason when one is missing.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { runInNetns, reportResult, netnsUnavailableReason, NETNS_ENV } from '../src/link/netns.js';
import { tunUnavailableReason } from '../src/link/tun.js';
import { makeNetns, type Netns } from '../src/cli/kernel-ip-testkit.js';
import { DEFAULT_SYN_RATE, SERVE_V8_FLAGS, applyServeV8Flags, httpHandler, startServe } from '../src/cli/serve.js';
import { applySynRate, synRateStats } from '../src/link/tun-device.js';
import type { BenchResult } from './results.js';

const SYNACK = '10.77.0.2';
const KERNEL = '10.88.0.2';
const PORT = 8080;
const PATH = '/bytes/1000';
const FLOOD_SECS = 10;
const FLOOD_COUNT = 5_000_000;
/**
 * HTTP_BENCH_AB_ROUNDS=N: ab rounds per server and measure (default 5; the figure is each side's best, beside the
 * median of the rounds' own ratios). On this shared machine one round's ratio swings 0.5-1.15 with the other load
 * (a round of 20 000 keep-alive requests lasts under a second): the median of 3 moved with one bad round.
 */
const AB_ROUNDS = Math.max(1, Number(process.env.HTTP_BENCH_AB_ROUNDS ?? 5) || 5);
/**
 * HTTP_BENCH_AB_ONLY=1: only the ab figures (no floods). HTTP_BENCH_PROFILE=PREFIX: V8 CPU profiles of the
 * process (synack serve runs in it) during the second round of each ab against synack, written to
 * PREFIX.keepalive.cpuprofile and PREFIX.close.cpuprofile.
 */
const AB_ONLY = process.env.HTTP_BENCH_AB_ONLY === '1';
/**
 * HTTP_BENCH_FLOOD_ONLY=1: only the SYN floods (no ab rounds; one short ab warms both servers). With
 * HTTP_BENCH_PROFILE=PREFIX the flood with the fast path and the SYN rate is profiled too, to PREFIX.flood.cpuprofile.
 */
const FLOOD_ONLY = process.env.HTTP_BENCH_FLOOD_ONLY === '1';
/**
 * HTTP_BENCH_ROUND_LOG=FILE: a JSON line per ab round appended to FILE, for each side: requests/s, and per request
 * the CPU synack's main thread ran and waited runnable for a core (schedstat), its timeslices, the writer
 * thread's and the other threads' CPU, GC pauses, the kernel server's CPU and its main thread's wait, ab's CPU,
 * and the machine's busy cores, softirq and other load over the round (probeRound); synack's TUN packets per
 * request each way, per read batch, and those written on the event loop rather than the writer thread (linkRound);
 * V8's old space in use after synack's half (oldSpaceMB); the growth of V8's old generation per request over synack's half
 * when no major GC ran in it (oldGrowthPerReq: what scavenges promoted, which brings the next major GC closer), and
 * the CPU of each thread of synack's process that ran over 0.1 µs per request (tid<N>RunUs, N the thread id less the
 * main thread's: V8's platform workers, which run parallel scavenges and concurrent marking, come first). With
 * HTTP_BENCH_KERNEL_GC=1, the kernel server's GC pauses too (kernelGcMsRound, kernelGcCount, kernelGcMajor).
 */
const ROUND_LOG = process.env.HTTP_BENCH_ROUND_LOG;
/**
 * HTTP_BENCH_SPIN=N: N processes that busy-loop through the ab rounds: a core taken by other work, on purpose (on
 * this shared machine other engineers' load takes about one core most of the time; see ROUND_LOG's otherLoadCores).
 */
const SPIN = Math.max(0, Number(process.env.HTTP_BENCH_SPIN ?? 0) || 0);
/** A round counts as quiet when the other load during each side's half was under this many cores (of 2). */
const QUIET_LOAD = 0.3;
const FETCH_IN_PROCESS = process.env.HTTP_BENCH_FETCH_IN_PROCESS === '1';
/** HTTP_BENCH_AB_SCALE=K: K times as many requests per ab run (a run of 5000 keep-alive requests lasts ~0.2 s). */
const AB_SCALE = Math.max(1, Number(process.env.HTTP_BENCH_AB_SCALE ?? 1) || 1);
const PROFILE = process.env.HTTP_BENCH_PROFILE;
/** HTTP_BENCH_HEAP_PROFILE=PREFIX: V8 sampling heap profiles (every allocation, collected or not) of the same rounds instead. */
const HEAP_PROFILE = process.env.HTTP_BENCH_HEAP_PROFILE;
/**
 * HTTP_BENCH_COMPARE_BATCHING=1: each round also runs synack with its output queue off (Stack.outputBatching):
 * the serve without the writer thread when HTTP_BENCH_COMPARE_WRITE_THREAD runs one (the queue's own effect),
 * else the main serve (with the writer thread: one hand-off to the thread per datagram).
 */
const COMPARE_BATCHING = process.env.HTTP_BENCH_COMPARE_BATCHING === '1';
/** HTTP_BENCH_COMPARE_WRITE_THREAD=1: each round also runs a second synack serve whose device is written from the event loop (no writer thread). */
const COMPARE_WRITE_THREAD = process.env.HTTP_BENCH_COMPARE_WRITE_THREAD === '1';
const SYNACK_NO_WT = '10.79.0.2';
/** HTTP_BENCH_COMPARE_SYN_RATE=1: each round also runs the synack serve with its device's SYN rate removed (what the HTB class and its filter cost each packet). */
const COMPARE_SYN_RATE = process.env.HTTP_BENCH_COMPARE_SYN_RATE === '1';

function missingTool(): string | null {
  for (const [tool, arg, pkg] of [['ab', '-V', 'apache2-utils'], ['hping3', '--version', 'hping3'], ['curl', '--version', 'curl']] as const) {
    if (spawnSync(tool, [arg]).error) return `${tool} is not installed (apt-get install ${pkg})`;
  }
  return null;
}

export async function run(): Promise<BenchResult[]> {
  const reason = netnsUnavailableReason() ?? tunUnavailableReason() ?? missingTool();
  if (reason) throw new Error(`HTTP/SYN-flood benchmark cannot run: ${reason}`);
  const res = await runInNetns(import.meta.url, ['bench'], { timeoutMs: 300_000 });
  // HTTP_BENCH_STDOUT=FILE: what the bench's process printed besides its result (V8's --trace-gc lines with
  // HTTP_BENCH_V8_FLAGS, say), else shown only when it fails.
  if (process.env.HTTP_BENCH_STDOUT) writeFileSync(process.env.HTTP_BENCH_STDOUT, res.stdout);
  if (res.code !== 0 || !Array.isArray(res.result)) {
    throw new Error(`HTTP benchmark failed (exit ${res.code}${res.timedOut ? ', timed out' : ''}):\n${res.stderr}${res.stdout}`);
  }
  return res.result as BenchResult[];
}

// ---------------------------------------------------------------------------------------------------------
// Inside the namespace.

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** SYNACK_BENCH_LOG=FILE: progress lines appended to FILE (the namespace's stderr is only shown on failure). */
const progress = (what: string) => { if (process.env.SYNACK_BENCH_LOG) appendFileSync(process.env.SYNACK_BENCH_LOG, `${new Date().toISOString()} http bench: ${what}\n`); };

/**
 * HTTP_BENCH_HANDSHAKE=N: only this measure (after the warm-up): N connections to each server, one at a time,
 * HTTP_BENCH_HANDSHAKE_PAUSE ms apart (default 200: an idle process, as between transfers; 0: back to back),
 * curl fetching PATH; from a capture of both devices, how long each server took from the SYN to its SYN,ACK
 * (median, p90) and curl's connect time. First runs (warm process, 200 ms apart): synack 0.46-0.59 ms against
 * the kernel's 0.031-0.039 (0.36 with HTTP_BENCH_WRITE_THREAD=0: the writer thread's futex wake-up is ~0.1 ms of
 * it); back to back 0.23 vs 0.019. The rest: the main thread's wake-up (~0.15 ms) and the SYN's JS path run from
 * caches another process emptied while synack slept (~0.2 ms; ~0.08 when it slept a few ms).
 * Helper Y (HTTP_BENCH_HANDSHAKE_PERF and marks in the JS, 200 ms apart, medians): SYN queued on the device ->
 * main thread running 15-60 µs (60 when woken on the other core) -> epoll returns ~20 µs later -> read ~25 µs ->
 * TunReceiver.deliver entered ~25 µs later -> the listener reached ~100-150 µs later (deliver, receive, ipInput,
 * demux) -> SYN+ACK written ~120-130 µs later (TcpConnection, input, transmit); the JS before the write is ~200
 * µs after 200 ms idle, ~150 after 20 ms, ~80 back to back, spread over every stage (no one hot spot). V8's
 * memory reducer and bytecode flushing change nothing (HTTP_BENCH_V8_FLAGS). The p90 (0.7-4 ms) are SYNs
 * whose main thread, woken at once, waits 1.5-2.5 ms for a core that other processes' threads hold (no GC of
 * serve's then): the kernel answers in softirq on curl's own core and waits for nothing.
 */
const HANDSHAKE = Math.max(0, Number(process.env.HTTP_BENCH_HANDSHAKE ?? 0) || 0);
const HANDSHAKE_PAUSE = Math.max(0, Number(process.env.HTTP_BENCH_HANDSHAKE_PAUSE ?? 200) || 0);

/** HTTP_BENCH_HANDSHAKE_PERF's tracepoints. */
const PERF_EVENTS = ['net:net_dev_start_xmit', 'net:netif_rx', 'sched:sched_waking', 'sched:sched_wakeup', 'sched:sched_switch',
  'syscalls:sys_enter_epoll_wait', 'syscalls:sys_exit_epoll_wait', 'syscalls:sys_enter_epoll_pwait', 'syscalls:sys_exit_epoll_pwait',
  'syscalls:sys_enter_read', 'syscalls:sys_exit_read',
  'irq:irq_handler_entry', 'irq_vectors:reschedule_entry', 'irq_vectors:call_function_single_entry', 'power:cpu_idle'];
/** HTTP_BENCH_HANDSHAKE's measure: SYN→SYN,ACK per server from a capture on `devs`, connections `pauseMs` apart. */
async function handshakes(n: number, pauseMs: number, devs: string[]): Promise<Record<string, { synAck: number[]; connect: number[] }>> {
  const file = `/tmp/synack-http-bench-handshake-${process.pid}.pcap`;
  const dumps = devs.map((d, i) => spawn('tcpdump', ['-i', d, '-U', '--immediate-mode', '-n', '-s', '96', '--time-stamp-precision=nano', '-w', `${file}.${i}`, `tcp port ${PORT} and tcp[13] & 2 != 0`], { stdio: ['ignore', 'ignore', 'pipe'] }));
  // Capturing once tcpdump says so (it can take over a second to start here).
  await Promise.all(dumps.map((d) => new Promise<void>((ok) => {
    let err = '';
    d.stderr!.setEncoding('utf8').on('data', (x: string) => { err += x; if (err.includes('listening on')) ok(); });
    d.once('exit', () => ok());
  })));
  const res: Record<string, { synAck: number[]; connect: number[] }> = { [SYNACK]: { synAck: [], connect: [] }, [KERNEL]: { synAck: [], connect: [] } };
  // HTTP_BENCH_HANDSHAKE_PERF=FILE: the connections under `perf record -a` of the scheduler's, epoll's, read's and
  // the devices' tracepoints, on CLOCK_MONOTONIC (process.hrtime's clock, so marks the JS takes line up), read
  // offline with `perf script -i FILE`: per SYN, curl's net_dev_start_xmit on the TUN device, the main thread's
  // wake-up and epoll return, its read(2)s, then (in the main thread's context, the SYN+ACK having been written
  // and processed at once) curl's ACK's net_dev_start_xmit. Write tracepoints are left out: perf's own writes
  // of what it records would be recorded (1.8 GB in 10 s).
  const perfFile = process.env.HTTP_BENCH_HANDSHAKE_PERF;
  const perf = perfFile ? spawn('perf', ['record', '-a', '-k', 'CLOCK_MONOTONIC', '-o', perfFile, ...PERF_EVENTS.flatMap((e) => ['-e', e])], { stdio: ['ignore', 'ignore', 'pipe'] }) : null;
  if (perf) await new Promise((r) => setTimeout(r, 1500));
  for (let i = 0; i < n; i++) {
    for (const host of [SYNACK, KERNEL]) {
      const r = await exec('curl', ['-s', '-o', '/dev/null', '-w', '%{time_connect}', `http://${host}:${PORT}${PATH}`], 10_000);
      if (r.code === 0) res[host]!.connect.push(Number(r.out) * 1e3);
      if (pauseMs > 0) await new Promise((t) => setTimeout(t, pauseMs));
    }
  }
  await new Promise((r) => setTimeout(r, 300));
  if (perf && perf.exitCode === null) { perf.kill('SIGINT'); await new Promise((r) => perf.once('exit', r)); }
  for (const d of dumps) { d.kill('SIGINT'); await new Promise((r) => d.once('exit', r)); }
  for (let i = 0; i < devs.length; i++) {
    const t = spawnSync('tshark', ['-r', `${file}.${i}`, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.flags.ack'], { encoding: 'utf8' });
    spawnSync('rm', ['-f', `${file}.${i}`]);
    const syn = new Map<string, number>();
    for (const line of t.stdout.trim().split('\n')) {
      const [ts, src, dst, sp, dp, ack] = line.split('\t');
      if (ack === '0' || ack === 'False') { syn.set(`${dst} ${sp}`, Number(ts)); continue; }
      const t0 = syn.get(`${src} ${dp}`);
      if (t0 !== undefined && res[src!] !== undefined) { res[src!]!.synAck.push((Number(ts) - t0) * 1e3); syn.delete(`${src} ${dp}`); }
    }
  }
  return res;
}

function exec(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => { clearTimeout(t); resolve({ code, out }); });
  });
}

/** CPU time (µs) of a thread (the main thread: the event loop) or, with `whole`, of a process, from /proc. */
function cpuUs(pid: number, whole = false): number {
  const f = readFileSync(whole ? `/proc/${pid}/stat` : `/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / 100; // utime + stime, in clock ticks of 10 ms
}
const mainThreadCpuUs = () => cpuUs(process.pid);

/** ab against the kernel server (process `pid`), with the CPU that process spent per request (all threads; its system time includes the kernel's TCP for it). */
async function abKernelCpu(args: string[], pid: number): Promise<{ rps: number; failed: number; complete: number; abCpuUs: number; allUs: number }> {
  const c0 = cpuUs(pid, true);
  const r = await ab(args, KERNEL);
  return { ...r, allUs: Math.round(((cpuUs(pid, true) - c0) / Math.max(1, r.complete)) * 10) / 10 };
}

/** ab against a synack serve of this process, with the CPU it cost per request (main thread, and all threads). */
async function abCpu(args: string[], host: string): Promise<{ rps: number; failed: number; complete: number; abCpuUs: number; mainUs: number; allUs: number }> {
  const m0 = mainThreadCpuUs(), c0 = process.cpuUsage();
  const r = await ab(args, host);
  const c = process.cpuUsage(c0), n = Math.max(1, r.complete);
  return { ...r, mainUs: Math.round(((mainThreadCpuUs() - m0) / n) * 10) / 10, allUs: Math.round(((c.user + c.system) / n) * 10) / 10 };
}

/** ab's requests per second (and failures), with its own CPU time (µs, user + system), or throws with its output. */
async function ab(args: string[], host: string): Promise<{ rps: number; failed: number; complete: number; abCpuUs: number }> {
  // bash runs ab and then prints its own children's CPU time (cutime, cstime: ab's, once waited for): the
  // client's share of the machine's two cores in that round.
  const r = await exec('bash', ['-c', 'ab "$@"; echo "children-cpu $(cut -d" " -f16,17 /proc/$$/stat)"', 'ab',
    '-q', '-s', '10', ...args, `http://${host}:${PORT}${PATH}`], 120_000);
  const rps = /Requests per second:\s+([\d.]+)/.exec(r.out);
  if (!rps) throw new Error(`ab ${args.join(' ')} against ${host} failed:\n${r.out}`);
  const ticks = /children-cpu (\d+) (\d+)/.exec(r.out);
  return {
    rps: Number(rps[1]),
    failed: Number(/Failed requests:\s+(\d+)/.exec(r.out)?.[1] ?? 0),
    complete: Number(/Complete requests:\s+(\d+)/.exec(r.out)?.[1] ?? 0),
    abCpuUs: ticks ? ((Number(ticks[1]) + Number(ticks[2])) * 1e6) / 100 : 0, // clock ticks of 10 ms
  };
}

/**
 * Where a round's time went (HTTP_BENCH_ROUND_LOG): per thread of synack's process and of the kernel server's,
 * the CPU it ran and the time it waited runnable for a CPU (/proc/PID/task/TID/schedstat: run ns, wait ns,
 * timeslices), V8's GC pauses in this process, and the machine's CPU (/proc/stat) — so that a slow round can be
 * told apart: synack doing more work per request, or synack waiting for a core the kernel side, ab or other
 * load had.
 */
interface ThreadTimes { run: number; wait: number; slices: number }
function threadTimes(pid: number): Map<number, ThreadTimes> {
  const m = new Map<number, ThreadTimes>();
  let tids: string[];
  try { tids = readdirSync(`/proc/${pid}/task`); } catch { return m; }
  for (const t of tids) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').trim().split(' ');
      m.set(Number(t), { run: Number(f[0]), wait: Number(f[1]), slices: Number(f[2]) });
    } catch { /* the thread ended */ }
  }
  return m;
}
/** /proc/stat's first line: jiffies busy (everything but idle and iowait), in softirq, and in all. */
function machineJiffies(): { busy: number; softirq: number; all: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const all = f.reduce((a, b) => a + b, 0);
  return { busy: all - f[3]! - f[4]!, softirq: f[6]!, all };
}
let gcMs = 0, gcCount = 0, gcMajor = 0;
/**
 * HTTP_BENCH_KERNEL_GC=1: the kernel server runs with V8's --trace-gc and its GC pauses are summed from its output
 * (kernelGc* in the round log), to set synack serve's GC beside the same node:http handler's on kernel sockets.
 */
const KERNEL_GC = process.env.HTTP_BENCH_KERNEL_GC === '1' || process.env.HTTP_BENCH_KERNEL_GC === 'nvp';
let kGcMs = 0, kGcCount = 0, kGcMajor = 0;
/** Sums the pauses of --trace-gc lines ("... Scavenge 4.1 (5.6) -> 3.6 (6.6) MB, 0.78 / 0.00 ms ..."). */
function kernelGcLines(text: string): void {
  for (const m of text.matchAll(/: (Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Compact|Mark-Compact \(reduce\))[^\n]*? MB, ([\d.]+) \/ [\d.]+ ms/g)) {
    kGcMs += Number(m[2]); kGcCount++;
    if (!m[1]!.startsWith('Scavenge')) kGcMajor++;
  }
}
/** GCs by `kind:flags` (perf_hooks constants NODE_PERFORMANCE_GC_*), over the whole run. */
const gcKinds = new Map<string, number>();
function watchGc(): void {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration; gcCount++;
      const d = (e as { detail?: { kind?: number; flags?: number } }).detail;
      if ((d?.kind ?? 1) !== 1) gcMajor++; // NODE_PERFORMANCE_GC_MINOR is 1
      const key = `${d?.kind ?? 0}:${d?.flags ?? 0}`;
      gcKinds.set(key, (gcKinds.get(key) ?? 0) + 1);
    }
  }).observe({ entryTypes: ['gc'] });
}
/**
 * A thread's context switches, voluntary (it blocked: epoll, futex) and involuntary (preempted while runnable), and
 * its migrations to another CPU, from /proc/PID/task/TID/sched (zeros when unreadable).
 */
interface SchedCounts { vol: number; invol: number; migr: number }
function schedCounts(pid: number, tids: Iterable<number>): SchedCounts {
  const c = { vol: 0, invol: 0, migr: 0 };
  for (const tid of tids) {
    let text: string;
    try { text = readFileSync(`/proc/${pid}/task/${tid}/sched`, 'utf8'); } catch { continue; }
    const get = (k: string) => Number(new RegExp(`^${k.replace('.', '\\.')}\\s*:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? 0);
    c.vol += get('nr_voluntary_switches'); c.invol += get('nr_involuntary_switches'); c.migr += get('se.nr_migrations');
  }
  return c;
}
/** The addon's writer thread(s) of synack's process (bench() sets them once serve has started). */
let writerThreads: number[] = [];
interface ProbeSnap {
  t: number; synack: Map<number, ThreadTimes>; kernel: Map<number, ThreadTimes>; gcMs: number; gcCount: number; gcMajor: number;
  kGcMs: number; kGcCount: number; kGcMajor: number; cpu: ReturnType<typeof machineJiffies>; oldBytes: number;
  mainSched: SchedCounts; writerSched: SchedCounts; kernelSched: SchedCounts;
}
function probeSnap(kernelPid: number): ProbeSnap {
  return { t: performance.now(), synack: threadTimes(process.pid), kernel: threadTimes(kernelPid), gcMs, gcCount, gcMajor, kGcMs, kGcCount, kGcMajor, cpu: machineJiffies(), oldBytes: oldGenBytes(),
    mainSched: schedCounts(process.pid, [process.pid]), writerSched: schedCounts(process.pid, writerThreads), kernelSched: schedCounts(kernelPid, [kernelPid]) };
}
/** Switches and migrations per 1000 requests between two snapshots, as `<prefix>Vol`, `<prefix>Invol`, `<prefix>Migr`. */
function schedRound(prefix: string, a: SchedCounts, b: SchedCounts, n: number): Record<string, number> {
  const k = (x: number) => Math.round((x * 1000 / n) * 10) / 10;
  return { [`${prefix}Vol`]: k(b.vol - a.vol), [`${prefix}Invol`]: k(b.invol - a.invol), [`${prefix}Migr`]: k(b.migr - a.migr) };
}
/** Sum of run/wait/slices deltas (ns) over the threads of `b` (those in `only`, or all but `except`). */
function sumDelta(a: Map<number, ThreadTimes>, b: Map<number, ThreadTimes>, only?: Set<number>, except?: Set<number>): ThreadTimes {
  const s = { run: 0, wait: 0, slices: 0 };
  for (const [tid, y] of b) {
    if (only !== undefined && !only.has(tid)) continue;
    if (except !== undefined && except.has(tid)) continue;
    const x = a.get(tid) ?? { run: 0, wait: 0, slices: 0 };
    s.run += y.run - x.run; s.wait += y.wait - x.wait; s.slices += y.slices - x.slices;
  }
  return s;
}
/**
 * V8's old generation in use in this process (old and large-object spaces), bytes: between two probes with no major
 * GC between them, its growth is what scavenges promoted plus what was allocated there directly (large or
 * pretenured objects), which is what brings the next major GC (concurrent marking on V8's workers) closer.
 */
function oldGenBytes(): number {
  let n = 0;
  for (const x of getHeapSpaceStatistics()) if (x.space_name === 'old_space' || x.space_name === 'large_object_space') n += x.space_used_size;
  return n;
}
/** V8's old space in use in this process (synack serve's), MB: what each major GC marks. */
function oldSpaceMB(): number {
  const old = getHeapSpaceStatistics().find((x) => x.space_name === 'old_space');
  return old === undefined ? 0 : Math.round((old.space_used_size / 2 ** 20) * 10) / 10;
}
/** The TUN device's packets per request each way, and packets per read callback (batch), over a round. */
function linkRound(a: { rxPackets: number; rxBatches: number; txPackets: number; txDirect?: number }, b: typeof a, requests: number): Record<string, number> {
  const n = Math.max(1, requests), r2 = (x: number) => Math.round(x * 100) / 100;
  // txDirectPerReq: packets the write call wrote itself on the event loop (the kernel's receive work for them on
  // synack's main thread), not the writer thread.
  return { rxPktPerReq: r2((b.rxPackets - a.rxPackets) / n), txPktPerReq: r2((b.txPackets - a.txPackets) / n), rxPktPerBatch: r2((b.rxPackets - a.rxPackets) / Math.max(1, b.rxBatches - a.rxBatches)),
    txDirectPerReq: r2(((b.txDirect ?? 0) - (a.txDirect ?? 0)) / n) };
}
/** A round's figures per request (µs) and the machine's load over it (cores). `writer`: the writer thread's tids. */
function probeRound(a: ProbeSnap, b: ProbeSnap, requests: number, abCpuUs: number, kernelPid: number, writer: Set<number>): Record<string, number> {
  const n = Math.max(1, requests), us = (ns: number) => Math.round((ns / 1e3 / n) * 10) / 10;
  const main = new Set([process.pid]);
  const m = sumDelta(a.synack, b.synack, main), w = sumDelta(a.synack, b.synack, writer);
  const other = sumDelta(a.synack, b.synack, undefined, new Set([process.pid, ...writer]));
  const k = sumDelta(a.kernel, b.kernel), km = sumDelta(a.kernel, b.kernel, new Set([kernelPid]));
  const secs = (b.t - a.t) / 1000, jAll = Math.max(1, b.cpu.all - a.cpu.all);
  const cores = (j: number) => Math.round(((j / jAll) * 2) * 100) / 100; // share of the machine's 2 cores
  const oursNs = m.run + w.run + other.run + k.run + abCpuUs * 1e3;
  const busyCores = cores(b.cpu.busy - a.cpu.busy);
  return {
    secs: Math.round(secs * 1000) / 1000,
    mainRunUs: us(m.run), mainWaitUs: us(m.wait), mainSlicesPerReq: Math.round((m.slices / n) * 100) / 100,
    writerRunUs: us(w.run), writerWaitUs: us(w.wait), otherThreadsRunUs: us(other.run),
    // Each thread of synack's process that ran over 0.1 µs per request, by thread id (V8's platform workers, which
    // run the parallel scavenges and concurrent marking, are the first ids after the main thread's).
    ...Object.fromEntries([...b.synack].map(([tid, y]) => [`tid${tid - process.pid}RunUs`, us(y.run - (a.synack.get(tid)?.run ?? 0))]).filter(([, v]) => (v as number) > 0.1)),
    // Old-generation growth per request (bytes; -1 when a major GC ran in between and the figure means nothing).
    oldGrowthPerReq: b.gcMajor === a.gcMajor ? Math.round((b.oldBytes - a.oldBytes) / n) : -1,
    gcMsRound: Math.round((b.gcMs - a.gcMs) * 10) / 10, gcPerReqUs: Math.round(((b.gcMs - a.gcMs) * 1e3 / n) * 100) / 100, gcCount: b.gcCount - a.gcCount, gcMajor: b.gcMajor - a.gcMajor,
    ...(KERNEL_GC ? { kernelGcMsRound: Math.round((b.kGcMs - a.kGcMs) * 10) / 10, kernelGcCount: b.kGcCount - a.kGcCount, kernelGcMajor: b.kGcMajor - a.kGcMajor } : {}),
    // Context switches (voluntary, involuntary) and CPU migrations per 1000 requests: synack's main thread, its
    // writer thread, the kernel server's main thread (only the side measured in the round means anything).
    ...schedRound('mainSw', a.mainSched, b.mainSched, n), ...schedRound('writerSw', a.writerSched, b.writerSched, n), ...schedRound('kernelSw', a.kernelSched, b.kernelSched, n),
    kernelRunUs: us(k.run), kernelMainRunUs: us(km.run), kernelMainWaitUs: us(km.wait), abCpuUs: Math.round((abCpuUs / n) * 10) / 10,
    machineBusyCores: busyCores, softirqCores: cores(b.cpu.softirq - a.cpu.softirq),
    // What ran that was neither synack, the kernel server nor ab (other load, unattributed softirq), in cores.
    otherLoadCores: Math.round((busyCores - oursNs / 1e9 / Math.max(1e-3, secs)) * 100) / 100,
  };
}

/** The kernel server's namespace: veth k0 (here) – k1 (there), a default route back for random sources. */
function kernelNamespace(): Netns {
  const ns = makeNetns();
  const sh = (a: string[]) => execFileSync(a[0]!, a.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  sh(['ip', 'link', 'add', 'k0', 'type', 'veth', 'peer', 'name', 'k1', 'netns', String(ns.pid)]);
  sh(['ip', 'addr', 'add', '10.88.0.1/24', 'dev', 'k0']);
  sh(['ip', 'link', 'set', 'k0', 'up']);
  ns.sync(['ip', 'link', 'set', 'lo', 'up']);
  ns.sync(['ip', 'addr', 'add', `${KERNEL}/24`, 'dev', 'k1']);
  ns.sync(['ip', 'link', 'set', 'k1', 'up']);
  ns.sync(['ip', 'route', 'add', 'default', 'via', '10.88.0.1']);
  return ns;
}

/** Tcp InSegs of a namespace (/proc/net/snmp is per network namespace). */
function tcpInSegs(ns: Netns | null): number {
  const text = ns === null ? readFileSync('/proc/net/snmp', 'utf8')
    : execFileSync('nsenter', [`--net=/proc/${ns.pid}/ns/net`, '--', 'cat', '/proc/net/snmp'], { encoding: 'utf8' });
  const lines = text.split('\n').filter((l) => l.startsWith('Tcp:'));
  const keys = lines[0]!.split(/\s+/), vals = lines[1]!.split(/\s+/);
  return Number(vals[keys.indexOf('InSegs')]);
}

/**
 * curl in a loop for `ms`: how many fetches got the whole body. The loop runs in a bash child, which spawns
 * each curl, not in this process: synack serve runs in this process, and a spawn from a Node process of
 * this size blocks its event loop ~10 ms (a fifth of serve's time under the flood, V8 profile), a stall no
 * real server takes for its clients and the kernel server (its own process) never had.
 * HTTP_BENCH_FETCH_IN_PROCESS=1 spawns each curl from here, as the bench did before, for comparison.
 */
interface FetchLoopResult {
  ok: number;
  total: number;
  /** curl's time_connect (SYN sent to SYN+ACK answered) of the fetches that succeeded, ms: mean, median, p90, highest. */
  connectMs?: number;
  connectMedianMs?: number;
  connectP90Ms?: number;
  connectMaxMs?: number;
  /** Fetches whose handshake took ≥ 900 ms: a SYN (or SYN+ACK) was lost and retransmitted after the 1 s RTO (RFC 6298 §2.1). */
  connectRetransmitted?: number;
  /** The whole fetch (curl's time_total) of those that succeeded, ms, mean. */
  totalMs?: number;
}

/** The q-quantile (0..1) of sorted values (nearest rank). */
const quantile = (sorted: number[], q: number) => sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;

async function fetchLoop(host: string, ms: number): Promise<FetchLoopResult> {
  const url = `http://${host}:${PORT}${PATH}`;
  if (!FETCH_IN_PROCESS) {
    // One line per fetch (code, bytes, curl's time_connect and time_total): where a fetch's time goes under the
    // flood, as a distribution: a mean hides whether all handshakes were slower or a few waited for a
    // retransmitted SYN (1 s).
    const script = 'end=$(( ${EPOCHREALTIME/./} + $1 * 1000 )); ' +
      'while (( ${EPOCHREALTIME/./} < end )); do ' +
      'curl -s -o /dev/null --max-time 2 -w "%{http_code} %{size_download} %{time_connect} %{time_total}\\n" "$2"; ' +
      'done; echo end';
    const r = await exec('bash', ['-c', script, 'fetch-loop', String(ms), url], ms + 10_000);
    if (!/\bend\s*$/.test(r.out)) throw new Error(`fetch loop against ${host} failed: ${r.out}`);
    const lines = r.out.split('\n').map((l) => l.trim().split(' ')).filter((f) => f.length === 4);
    const good = lines.filter((f) => f[0] === '200' && f[1] === '1000');
    const c = good.map((f) => 1000 * Number(f[2])).sort((a, b) => a - b);
    const t = good.map((f) => 1000 * Number(f[3]));
    const r2 = (x: number) => Math.round(x * 100) / 100;
    const mean = (a: number[]) => a.length === 0 ? 0 : r2(a.reduce((x, y) => x + y, 0) / a.length);
    if (process.env.HTTP_BENCH_FETCH_LOG) appendFileSync(process.env.HTTP_BENCH_FETCH_LOG, `# ${host}\n${lines.map((f) => f.join(' ')).join('\n')}\n`);
    return {
      ok: good.length, total: lines.length, connectMs: mean(c), totalMs: mean(t),
      connectMedianMs: r2(quantile(c, 0.5)), connectP90Ms: r2(quantile(c, 0.9)), connectMaxMs: r2(c.at(-1) ?? 0),
      connectRetransmitted: c.filter((x) => x >= 900).length,
    };
  }
  const until = Date.now() + ms;
  let ok = 0, total = 0;
  while (Date.now() < until) {
    const r = await exec('curl', ['-s', '-o', '/dev/null', '--max-time', '2', '-w', '%{http_code} %{size_download}', url], 5000);
    total++;
    if (r.out.trim() === '200 1000') ok++;
  }
  return { ok, total };
}

/**
 * A flood of `host` with curl fetching during it. With `synClassDev` (a device with serve's SYN class), a
 * separate process samples the class's queue (`tc -s class show`, every 200 ms; a spawn from this process would
 * stall serve's event loop): the mean number of SYNs waiting in it, which a legitimate client's SYN waits behind.
 * HTTP_BENCH_FLOOD_PCAP=PREFIX: tcpdump on that device of the SYNs and SYN+ACKs to and from this namespace's
 * own address (curl's), to PREFIX.<host>.pcap: its times are when a SYN left the qdisc, curl's when it was sent.
 */
async function flood(host: string, inSegs: () => number, tunDrops: () => number, synRate?: () => number, synClassDev?: string): Promise<FetchLoopResult & { segsPerSec: number; sent: number; drops: number; cpuUsPerSeg: number; meanRate: number; hpingCpu: number; synBacklog?: number }> {
  const s0 = inSegs(), d0 = tunDrops();
  const backlogs: number[] = [];
  const tcLoop = synClassDev === undefined ? null : spawn('bash', ['-c', 'while :; do tc -s class show dev "$1" classid 1:2 | grep -o "backlog [^ ]* [0-9]*p"; sleep 0.2; done', 'syn-backlog', synClassDev], { stdio: ['ignore', 'pipe', 'ignore'] });
  tcLoop?.stdout!.setEncoding('utf8').on('data', (d: string) => { for (const m of d.matchAll(/backlog \S+ (\d+)p/g)) backlogs.push(Number(m[1])); });
  const pcap = synClassDev !== undefined && process.env.HTTP_BENCH_FLOOD_PCAP
    ? spawn('tcpdump', ['-i', synClassDev, '-U', '-n', '-s', '96', '-w', `${process.env.HTTP_BENCH_FLOOD_PCAP}.${host}.pcap`, 'host 10.77.0.1 and tcp[13] & 2 != 0'], { stdio: 'ignore' })
    : null;
  if (pcap !== null) await sleep(500);
  // The governor's rate, sampled every 100 ms: its mean over the flood (the rate at the end says little).
  let rateSum = 0, rateN = 0;
  const sampler = synRate === undefined ? null : setInterval(() => { rateSum += synRate(); rateN++; }, 100);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  // bash runs it and then prints its own children's CPU time (cutime, cstime: hping3 and timeout, once waited
  // for): whether hping3 itself was short of CPU.
  const hp = spawn('bash', ['-c', 'timeout -s INT "$@"; echo "children-cpu $(cut -d" " -f16,17 /proc/$$/stat)"', 'flood',
    String(FLOOD_SECS), 'hping3', '-q', '-S', '--flood', '--rand-source', '-c', String(FLOOD_COUNT), '-p', String(PORT), host], { stdio: ['ignore', 'pipe', 'pipe'] });
  let hout = '';
  hp.stdout!.setEncoding('utf8').on('data', (d: string) => (hout += d));
  hp.stderr!.setEncoding('utf8').on('data', (d: string) => (hout += d));
  const exited = new Promise<void>((r) => hp.once('close', () => r()));
  progress(`flood ${host} started`);
  await sleep(300); // the flood is running before the first fetch
  const fetches = await fetchLoop(host, FLOOD_SECS * 1000 - 800);
  progress(`fetches done ${JSON.stringify(fetches)}`);
  await exited;
  if (sampler !== null) clearInterval(sampler);
  tcLoop?.kill();
  pcap?.kill('SIGINT');
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const segs = inSegs() - s0;
  const sent = Number(/(\d+) packets transmitted/.exec(hout)?.[1] ?? 0);
  const ticks = /children-cpu (\d+) (\d+)/.exec(hout);
  const hpingCpu = ticks ? Math.round(((Number(ticks[1]) + Number(ticks[2])) / 100 / secs) * 100) / 100 : 0; // clock ticks of 10 ms
  return { ...fetches, segsPerSec: Math.round(segs / secs), sent, drops: tunDrops() - d0, cpuUsPerSeg: Math.round(((cpu.user + cpu.system) / Math.max(1, segs)) * 100) / 100, meanRate: Math.round(rateSum / Math.max(1, rateN)), hpingCpu,
    ...(backlogs.length > 0 ? { synBacklog: Math.round(backlogs.reduce((a, b) => a + b, 0) / backlogs.length) } : {}) };
}

/** Handshake-time rows of a flood variant (`prefix`: its label): median, p90, fetches with a retransmitted SYN. */
function handshakeRows(prefix: string, f: FetchLoopResult): BenchResult[] {
  if (f.connectMedianMs === undefined) return [];
  return [
    { name: `${prefix}: fetch handshake time, median`, value: f.connectMedianMs, unit: 'ms' },
    { name: `${prefix}: fetch handshake time, p90`, value: f.connectP90Ms!, unit: 'ms' },
    { name: `${prefix}: fetches with a retransmitted SYN`, value: f.connectRetransmitted!, unit: 'fetches' },
  ];
}

async function bench(): Promise<BenchResult[]> {
  // HTTP_BENCH_V8_FLAGS='--flag ...': V8 flags for this process (synack serve's), set before serve starts.
  // synack serve's V8 flags, as serveCommand sets them (HTTP_BENCH_SERVE_V8_FLAGS=0: V8's defaults, to compare);
  // HTTP_BENCH_KERNEL_SERVE_V8_FLAGS=1 gives the kernel server the same ones.
  if (process.env.HTTP_BENCH_SERVE_V8_FLAGS !== '0') applyServeV8Flags();
  if (process.env.HTTP_BENCH_V8_FLAGS) setFlagsFromString(process.env.HTTP_BENCH_V8_FLAGS);
  const quiet = { write: () => true } as unknown as NodeJS.WritableStream;
  // HTTP_BENCH_WRITE_THREAD=0: the measured serve writes its device from the event loop (synack serve --no-write-thread).
  const before = new Set(threadTimes(process.pid).keys());
  const serve = await startServe({ addr: [SYNACK], peer: ['10.77.0.1/24'], http: PORT, offload: true, writeThread: process.env.HTTP_BENCH_WRITE_THREAD !== '0' }, { stdout: quiet, stderr: process.stderr, stdin: process.stdin });
  // The addon's writer thread: the thread startServe started (the addon's std::thread; V8's and libuv's exist before).
  const writerTids = new Set([...threadTimes(process.pid).keys()].filter((t) => !before.has(t)));
  writerThreads = [...writerTids];
  // Where the writer thread and the event loop run, to study their placement (see the round log's switches):
  // HTTP_BENCH_WRITER_CHRT='-b 0' gives the writer thread(s) that chrt policy and priority (-b: SCHED_BATCH, whose
  // wake-ups do not preempt the running thread); HTTP_BENCH_WRITER_CPUS / HTTP_BENCH_MAIN_CPUS (taskset lists, e.g. 1)
  // pin the writer thread(s) / the event loop's thread.
  const chrt = process.env.HTTP_BENCH_WRITER_CHRT?.trim().split(/\s+/);
  for (const t of writerThreads) {
    if (chrt !== undefined && chrt.length === 2) execFileSync('chrt', [chrt[0]!, '-p', chrt[1]!, String(t)]);
    if (process.env.HTTP_BENCH_WRITER_CPUS) execFileSync('taskset', ['-p', '-c', process.env.HTTP_BENCH_WRITER_CPUS, String(t)], { stdio: 'ignore' });
  }
  if (process.env.HTTP_BENCH_MAIN_CPUS) execFileSync('taskset', ['-p', '-c', process.env.HTTP_BENCH_MAIN_CPUS, String(process.pid)], { stdio: 'ignore' });
  watchGc();
  const tun = serve.host.link.name;
  const quietIo = { stdout: quiet, stderr: process.stderr, stdin: process.stdin };
  const serveNoWt = COMPARE_WRITE_THREAD ? await startServe({ addr: [SYNACK_NO_WT], peer: ['10.79.0.1/24'], http: PORT, offload: true, writeThread: false }, quietIo) : null;
  progress(`synack serve up on ${serve.host.link.name}`);
  const ns = kernelNamespace();
  progress('kernel namespace up');
  // The kernel server runs this file as this process does: compiled JavaScript without tsx when the bench runs
  // compiled, else through tsx, so that both servers run the same handler the same way.
  const self = fileURLToPath(import.meta.url);
  const server: ChildProcess = ns.spawn([process.execPath, ...(process.env.HTTP_BENCH_KERNEL_SERVE_V8_FLAGS === '1' ? SERVE_V8_FLAGS : []), ...(KERNEL_GC ? ['--trace-gc', ...(process.env.HTTP_BENCH_KERNEL_GC === 'nvp' ? ['--trace-gc-nvp'] : [])] : []), ...(self.endsWith('.ts') ? ['--import', 'tsx'] : []), self, 'kernel-server']);
  // HTTP_BENCH_KERNEL_GC=nvp: --trace-gc-nvp instead (each pause by phase), its lines appended to HTTP_BENCH_STDOUT.kernel.
  if (KERNEL_GC) server.stdout!.setEncoding('utf8').on('data', (d: string) => { kernelGcLines(d); if (process.env.HTTP_BENCH_STDOUT) appendFileSync(`${process.env.HTTP_BENCH_STDOUT}.kernel`, d); });
  let serverErr = '';
  server.stderr!.setEncoding('utf8').on('data', (d: string) => (serverErr += d));
  const out: BenchResult[] = [];
  const pair = (name: string, unit: string, ours: number, theirs: number) => {
    out.push({ name, value: ours, unit, peer: 'same handler on kernel sockets over veth', peerValue: theirs, ratio: Math.round((ours / theirs) * 100) / 100 });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.stdout!.once('data', () => resolve());
      server.once('exit', (c) => reject(new Error(`kernel server exited (${c}): ${serverErr}`)));
    });
    progress('kernel server listening');
    // Warm both (JIT, ARP, the kernel's first connections) with both kinds of run measured below. 500 requests
    // were too few: synack's first measured keep-alive round then cost its main thread 27-32 µs per request
    // against 20-23 in the next ones (V8 still optimizing), and its ratio came out 0.82 against ~1.0 after.
    // HTTP_BENCH_WARMUP=short: the warm-up before 6c09dfd (500 keep-alive requests each), to compare the flood after it.
    for (const host of serveNoWt !== null ? [SYNACK, KERNEL, SYNACK_NO_WT] : [SYNACK, KERNEL]) {
      if (process.env.HTTP_BENCH_WARMUP === 'short') { await ab(['-k', '-c4', '-n500'], host); continue; }
      await ab(['-k', '-c20', '-n10000'], host);
      await ab(['-c100', '-n2000'], host);
    }
    if (HANDSHAKE > 0) {
      const h = await handshakes(HANDSHAKE, HANDSHAKE_PAUSE, [tun, 'k0']);
      const q = (a: number[], f: number): number => { const x = [...a].sort((m, n) => m - n); return Math.round((x[Math.min(x.length - 1, Math.floor(f * x.length))] ?? NaN) * 1000) / 1000; };
      const what = `${HANDSHAKE} connections ${HANDSHAKE_PAUSE} ms apart`;
      pair(`SYN→SYN,ACK, ${what}: median`, 'ms', q(h[SYNACK]!.synAck, 0.5), q(h[KERNEL]!.synAck, 0.5));
      pair(`SYN→SYN,ACK, ${what}: p90`, 'ms', q(h[SYNACK]!.synAck, 0.9), q(h[KERNEL]!.synAck, 0.9));
      pair(`curl connect time, ${what}: median`, 'ms', q(h[SYNACK]!.connect, 0.5), q(h[KERNEL]!.connect, 0.5));
      return out;
    }
    // The machine is shared: each figure is the best of AB_ROUNDS runs, the two servers alternating.
    // HTTP_BENCH_SPIN=N: N busy-looping processes for the ab rounds, the load of other work on a shared machine
    // made on purpose (how each side's requests per second and CPU per request react to a core taken).
    const spinners = Array.from({ length: SPIN }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
    for (const args of FLOOD_ONLY ? [] : [['-k', '-c20', `-n${5000 * AB_SCALE}`], ['-c100', `-n${2000 * AB_SCALE}`]]) {
      let k = { rps: 0, failed: 0 }, s = { rps: 0, failed: 0 }, u = { rps: 0, failed: 0 }, w = { rps: 0, failed: 0 }, v = { rps: 0, failed: 0 };
      // Each round's own ratio (synack right after the kernel): how stable the best-of ratio is on a shared machine.
      const roundRatios: number[] = [];
      // CPU per request each round: synack's whole process and its main thread, the kernel server's process
      // (its system time includes the kernel's TCP for it). Less at the mercy of the machine's other load than
      // requests per second: how much work a request costs each side, not how much CPU each side got.
      const cpuSynack: number[] = [], cpuMain: number[] = [], cpuKernel: number[] = [];
      // Each round's probes (probeRound): whether a side waited for a core, and how much other load there was.
      const probes: Array<{ ratio: number; kernel: Record<string, number>; synack: Record<string, number> }> = [];
      for (let round = 0; round < AB_ROUNDS; round++) {
        const p0 = probeSnap(server.pid!);
        const kr = await abKernelCpu(args, server.pid!);
        const p1 = probeSnap(server.pid!);
        const prof = PROFILE !== undefined && round === 1 ? await startProfile(args[0] === '-k' ? 'keepalive' : 'close')
          : HEAP_PROFILE !== undefined && round === 1 ? await startHeapProfile(args[0] === '-k' ? 'keepalive' : 'close') : null;
        const p2 = probeSnap(server.pid!), l2 = serve.host.link.stats;
        const sr = await abCpu(args, SYNACK);
        const p3 = probeSnap(server.pid!), l3 = serve.host.link.stats;
        if (prof !== null) await prof();
        const line = { measure: args.join(' '), round, kernel: { rps: kr.rps, ...probeRound(p0, p1, kr.complete, kr.abCpuUs, server.pid!, writerTids) },
          synack: { rps: sr.rps, ...probeRound(p2, p3, sr.complete, sr.abCpuUs, server.pid!, writerTids), ...linkRound(l2, l3, sr.complete), oldSpaceMB: oldSpaceMB() }, ratio: Math.round((sr.rps / Math.max(1, kr.rps)) * 1000) / 1000 };
        probes.push(line);
        if (ROUND_LOG !== undefined) appendFileSync(ROUND_LOG, JSON.stringify({ ...line, gcKinds: Object.fromEntries(gcKinds), synRateChanges: serve.synRate?.changes ?? 0 }) + '\n');
        progress(`ab ${args.join(' ')}: kernel ${kr.rps} (CPU per request ${kr.allUs} us), synack ${sr.rps} (CPU per request: main thread ${sr.mainUs} us, process ${sr.allUs} us)`);
        roundRatios.push(sr.rps / Math.max(1, kr.rps));
        cpuSynack.push(sr.allUs); cpuMain.push(sr.mainUs); cpuKernel.push(kr.allUs);
        if (kr.rps > k.rps) k = kr;
        if (sr.rps > s.rps) s = sr;
        if (COMPARE_BATCHING) {
          const [st, host] = serveNoWt !== null ? [serveNoWt.stack, SYNACK_NO_WT] : [serve.stack, SYNACK];
          st.outputBatching = false;
          const ur = await abCpu(args, host);
          st.outputBatching = true;
          progress(`ab ${args.join(' ')}: synack without the output queue ${ur.rps} (CPU per request: main thread ${ur.mainUs} us, process ${ur.allUs} us)`);
          if (ur.rps > u.rps) u = ur;
        }
        if (COMPARE_SYN_RATE) {
          // The same serve without its device's SYN rate (applySynRate(tun, 0): the kernel's default queueing, no
          // HTB class and u32 filter for each packet ab sends), then the rate back as it was.
          const rate = serve.synRate?.rate ?? DEFAULT_SYN_RATE;
          await applySynRate(tun, 0);
          const q0 = probeSnap(server.pid!), m0 = serve.host.link.stats;
          const nr = await abCpu(args, SYNACK);
          const q1 = probeSnap(server.pid!), m1 = serve.host.link.stats;
          await applySynRate(tun, rate);
          progress(`ab ${args.join(' ')}: synack without the SYN rate ${nr.rps} (CPU per request: main thread ${nr.mainUs} us, process ${nr.allUs} us)`);
          if (ROUND_LOG !== undefined) appendFileSync(ROUND_LOG, JSON.stringify({ measure: args.join(' '), round, variant: 'no SYN rate', synack: { rps: nr.rps, ...probeRound(q0, q1, nr.complete, nr.abCpuUs, server.pid!, writerTids), ...linkRound(m0, m1, nr.complete) }, ratio: Math.round((nr.rps / Math.max(1, kr.rps)) * 1000) / 1000 }) + '\n');
          if (nr.rps > v.rps) v = nr;
        }
        if (serveNoWt !== null) {
          const q0 = probeSnap(server.pid!);
          const wr = await abCpu(args, SYNACK_NO_WT);
          const q1 = probeSnap(server.pid!);
          if (ROUND_LOG !== undefined) appendFileSync(ROUND_LOG, JSON.stringify({ measure: args.join(' '), round, variant: 'no writer thread', synack: { rps: wr.rps, ...probeRound(q0, q1, wr.complete, wr.abCpuUs, server.pid!, writerTids) }, ratio: Math.round((wr.rps / Math.max(1, kr.rps)) * 1000) / 1000 }) + '\n');
          progress(`ab ${args.join(' ')}: synack without the writer thread ${wr.rps} (failed ${wr.failed}; CPU per request: main thread ${wr.mainUs} us, process ${wr.allUs} us)`);
          if (wr.rps > w.rps) w = wr;
        }
      }
      if (serveNoWt !== null) pair(`http.ab ${args.join(' ')} without the writer thread`, 'req/s', Math.round(w.rps), Math.round(k.rps));
      if (COMPARE_BATCHING) pair(`http.ab ${args.join(' ')} without the output queue`, 'req/s', Math.round(u.rps), Math.round(k.rps));
      if (COMPARE_SYN_RATE) pair(`http.ab ${args.join(' ')} without the SYN rate`, 'req/s', Math.round(v.rps), Math.round(k.rps));
      const label = `http.ab ${args.join(' ')}`;
      pair(label, 'req/s', Math.round(s.rps), Math.round(k.rps));
      const sorted = [...roundRatios].sort((a, b) => a - b), r2 = (x: number) => Math.round(x * 100) / 100;
      out.push(
        { name: `${label} ratio per round (median)`, value: r2(sorted[Math.floor((sorted.length - 1) / 2)]!), unit: 'synack/kernel' },
        { name: `${label} ratio per round (lowest)`, value: r2(sorted[0]!), unit: 'synack/kernel' },
        { name: `${label} ratio per round (highest)`, value: r2(sorted[sorted.length - 1]!), unit: 'synack/kernel' },
      );
      const median = (a: number[]) => { const x = [...a].sort((p, q) => p - q); return x[Math.floor((x.length - 1) / 2)]!; };
      out.push({ name: `${label} CPU per request (median of rounds)`, value: median(cpuSynack), unit: 'us', peer: 'the kernel server\'s process, same rounds', peerValue: median(cpuKernel), ratio: r2(median(cpuSynack) / Math.max(0.1, median(cpuKernel))) });
      out.push({ name: `${label} CPU per request, synack's main thread (median of rounds)`, value: median(cpuMain), unit: 'us' });
      // Where a slow round's time went: a side whose main thread waited for a core (schedstat) while other work
      // ran was slowed by the machine, not by its own cost per request. Other load: CPU that was neither server,
      // nor ab, in cores of the two.
      const med = (f: (p: typeof probes[number]) => number) => median(probes.map(f));
      const withRatio = (name: string, unit: string, peer: string, ours: number, theirs: number) => out.push({ name, value: ours, unit, peer, peerValue: theirs, ratio: r2(ours / Math.max(0.01, theirs)) });
      withRatio(`${label} main thread's wait for a core per request (median of rounds)`, 'us', 'the kernel server\'s main thread, same rounds', med((p) => p.synack.mainWaitUs!), med((p) => p.kernel.kernelMainWaitUs!));
      withRatio(`${label} other load on the machine (median of rounds)`, 'cores', 'during the kernel\'s rounds', med((p) => p.synack.otherLoadCores!), med((p) => p.kernel.otherLoadCores!));
      // GC pauses per round, each server in its own half (HTTP_BENCH_KERNEL_GC=1), the first round left out: it
      // still carries the warm-up's major GCs.
      const later = probes.slice(1);
      if (KERNEL_GC && later.length > 0) withRatio(`${label} GC pauses per round, rounds after the first (median)`, 'ms', 'the kernel server, same rounds', median(later.map((p) => p.synack.gcMsRound!)), median(later.map((p) => p.kernel.kernelGcMsRound!)));
      // The rounds where neither side shared the machine with more than QUIET_LOAD cores of other work.
      const quiet = probes.filter((p) => p.synack.otherLoadCores! < QUIET_LOAD && p.kernel.otherLoadCores! < QUIET_LOAD);
      out.push({ name: `${label} rounds with under ${QUIET_LOAD} cores of other load on both sides`, value: quiet.length, unit: `of ${probes.length}` });
      if (quiet.length > 0) out.push({ name: `${label} ratio per round (median), those rounds`, value: r2(median(quiet.map((p) => p.ratio))), unit: 'synack/kernel' });
      out.push({ name: `${label} failed (synack)`, value: s.failed, unit: 'requests' }, { name: `${label} failed (kernel)`, value: k.failed, unit: 'requests' });
    }
    for (const p of spinners) p.kill('SIGKILL');
    await serveNoWt?.stop(200);
    if (AB_ONLY) return out;
    // /sys shows the root namespace's devices; ip reads this namespace's. The device's transmit queue is the
    // kernel's queue toward synack: what overflows it never reached synack.
    const tunDropsOf = (dev: string) => {
      const j = JSON.parse(execFileSync('ip', ['-j', '-s', 'link', 'show', 'dev', dev], { encoding: 'utf8' })) as Array<{ stats64: { tx: { dropped: number } } }>;
      return j[0]!.stats64.tx.dropped;
    };
    const tunDrops = () => tunDropsOf(tun);
    // The kernel is flooded just before and just after synack's fast path (the machine is shared: the ratio is
    // against the mean of the two), then synack's general path.
    const k1 = await flood(KERNEL, () => tcpInSegs(ns), () => 0);
    const stack = serve.stack, stats = stack.stats, c = stack.counters, link = serve.host.link;
    const txqlen = (JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'dev', tun], { encoding: 'utf8' })) as Array<{ txqlen: number }>)[0]!.txqlen;
    const fast0 = c.SynFastPath, rx0 = link.stats, held0 = await synRateStats(tun);
    const floodProf = PROFILE !== undefined ? await startProfile('flood') : null;
    const gov = serve.synRate;
    const s = await flood(SYNACK, () => stats.InSegs, tunDrops, gov === null ? undefined : () => gov.rate, gov === null ? undefined : tun);
    if (floodProf !== null) await floodProf();
    const rx1 = link.stats, held1 = await synRateStats(tun);
    const k2 = await flood(KERNEL, () => tcpInSegs(ns), () => 0);
    const mean = (a: number, b: number) => Math.round((a + b) / 2);
    const k = { ok: k1.ok + k2.ok, total: mean(k1.total, k2.total), okShare: (k1.ok + k2.ok) / Math.max(1, k1.total + k2.total), segsPerSec: mean(k1.segsPerSec, k2.segsPerSec), sent: mean(k1.sent, k2.sent), hpingCpu: Math.round(((k1.hpingCpu + k2.hpingCpu) / 2) * 100) / 100 };
    out.push({ name: 'http.synflood kernel segments processed, before synack', value: k1.segsPerSec, unit: 'seg/s', peer: 'the kernel just after synack', peerValue: k2.segsPerSec, ratio: Math.round((k1.segsPerSec / Math.max(1, k2.segsPerSec)) * 100) / 100 });
    // The same run's before: the general path only.
    stack.synFastPath = false;
    const g = await flood(SYNACK, () => stats.InSegs, tunDrops);
    stack.synFastPath = true;
    pair('http.synflood fetches ok', '%', Math.round((s.ok / Math.max(1, s.total)) * 100), Math.round(k.okShare * 100));
    out.push({ name: 'http.synflood fetches (synack)', value: s.total, unit: 'fetches' }, { name: 'http.synflood fetches (kernel)', value: k.total, unit: 'fetches' });
    // Where a fetch's time goes (curl's means over the fetches that succeeded): the handshake, and the whole fetch.
    if (s.connectMs !== undefined && k1.connectMs !== undefined && k2.connectMs !== undefined) {
      pair('http.synflood fetch handshake time', 'ms', s.connectMs, Math.round(((k1.connectMs + k2.connectMs) / 2) * 100) / 100);
      pair('http.synflood fetch time', 'ms', s.totalMs!, Math.round(((k1.totalMs! + k2.totalMs!) / 2) * 100) / 100);
      const both = (a: number | undefined, b: number | undefined) => Math.round((((a ?? 0) + (b ?? 0)) / 2) * 100) / 100;
      pair('http.synflood fetch handshake time, median', 'ms', s.connectMedianMs!, both(k1.connectMedianMs, k2.connectMedianMs));
      pair('http.synflood fetch handshake time, p90', 'ms', s.connectP90Ms!, both(k1.connectP90Ms, k2.connectP90Ms));
      out.push({ name: 'http.synflood fetch handshake time, highest (synack)', value: s.connectMaxMs!, unit: 'ms' });
      out.push({ name: 'http.synflood fetch handshake time, highest (kernel)', value: Math.max(k1.connectMaxMs ?? 0, k2.connectMaxMs ?? 0), unit: 'ms' });
      out.push({ name: 'http.synflood fetches with a retransmitted SYN (synack)', value: s.connectRetransmitted!, unit: 'fetches' });
      out.push({ name: 'http.synflood fetches with a retransmitted SYN (kernel)', value: (k1.connectRetransmitted ?? 0) + (k2.connectRetransmitted ?? 0), unit: 'fetches' });
      if (s.synBacklog !== undefined) out.push({ name: 'http.synflood SYNs waiting in the SYN rate\'s queue (mean)', value: s.synBacklog, unit: 'packets' });
    }
    pair('http.synflood segments processed', 'seg/s', s.segsPerSec, k.segsPerSec);
    out.push({ name: 'http.synflood SYNs sent by hping3 (synack)', value: s.sent, unit: 'packets' }, { name: 'http.synflood SYNs sent by hping3 (kernel)', value: k.sent, unit: 'packets' });
    out.push({ name: 'http.synflood hping3 CPU (synack)', value: s.hpingCpu, unit: 'cores' }, { name: 'http.synflood hping3 CPU (kernel)', value: k.hpingCpu, unit: 'cores' });
    out.push({ name: 'http.synflood dropped by the TUN queue', value: s.drops, unit: 'packets' });
    out.push({ name: 'http.synflood synack SYN+ACKs by the fast path', value: c.SynFastPath - fast0, unit: 'SYN+ACKs' });
    out.push({ name: 'http.synflood synack CPU per segment', value: s.cpuUsPerSeg, unit: 'us' });
    // Packets synack wrote that its writer thread's ring (4096) had no room for: SYN+ACKs, a legitimate client's among them.
    out.push({ name: 'http.synflood synack writes dropped (writer ring full)', value: rx1.txDropped - rx0.txDropped, unit: 'packets' });
    out.push({ name: 'http.synflood synack TUN read batch', value: Math.round(((rx1.rxPackets - rx0.rxPackets) / Math.max(1, rx1.rxBatches - rx0.rxBatches)) * 10) / 10, unit: 'packets/callback' });
    out.push({ name: 'http.synflood TUN queue (txqueuelen)', value: txqlen, unit: 'packets' });
    // synack serve's SYN rate (applySynRate): SYNs beyond it wait in the device's qdisc (hping3 then blocks on
    // its socket's send buffer) or are dropped there, instead of crowding the other packets out of the ring.
    out.push({ name: 'http.synflood SYN rate of the device at the end (SynRateGovernor)', value: held1?.rate ?? 0, unit: 'SYN/s' });
    out.push({ name: 'http.synflood SYN rate of the device, mean over the flood', value: s.meanRate, unit: 'SYN/s' });
    if (held0 && held1) out.push({ name: 'http.synflood SYNs dropped by the SYN rate\'s queue', value: held1.dropped - held0.dropped, unit: 'packets' });
    out.push({ name: 'http.synflood general path: fetches ok', value: Math.round((g.ok / Math.max(1, g.total)) * 100), unit: '%' });
    out.push({ name: 'http.synflood general path: segments processed', value: g.segsPerSec, unit: 'seg/s' });
    out.push({ name: 'http.synflood general path: CPU per segment', value: g.cpuUsPerSeg, unit: 'us' });
    out.push({ name: 'http.synflood general path: dropped by the TUN queue', value: g.drops, unit: 'packets' });
    out.push(...handshakeRows('http.synflood general path', g));
    out.push({ name: 'http.synflood synack cookies sent', value: c.SyncookiesSent, unit: 'SYN+ACKs' });
    // The same run's before: the fast path again with the SYN rate removed (the kernel's default queueing).
    serve.synRate?.stop();
    await applySynRate(tun, 0);
    const u = await flood(SYNACK, () => stats.InSegs, tunDrops);
    out.push({ name: 'http.synflood without the SYN rate: fetches ok', value: Math.round((u.ok / Math.max(1, u.total)) * 100), unit: '%' });
    out.push({ name: 'http.synflood without the SYN rate: fetches', value: u.total, unit: 'fetches' });
    out.push({ name: 'http.synflood without the SYN rate: segments processed', value: u.segsPerSec, unit: 'seg/s' });
    out.push({ name: 'http.synflood without the SYN rate: dropped by the TUN queue', value: u.drops, unit: 'packets' });
    out.push({ name: 'http.synflood without the SYN rate: SYNs sent by hping3', value: u.sent, unit: 'packets' });
    out.push(...handshakeRows('http.synflood without the SYN rate', u));
    // Once more with the device read by the addon's reader thread (synack serve --read-thread): a second
    // serve, the first stopped.
    await serve.stop(200);
    const serve2 = await startServe({ addr: [SYNACK], peer: ['10.77.0.1/24'], http: PORT, offload: true, readThread: true }, { stdout: quiet, stderr: process.stderr, stdin: process.stdin });
    try {
      const st2 = serve2.stack.stats, dev2 = serve2.host.link.name;
      await exec('curl', ['-s', '-o', '/dev/null', `http://${SYNACK}:${PORT}${PATH}`], 5000); // warm
      const t = await flood(SYNACK, () => st2.InSegs, () => tunDropsOf(dev2));
      out.push({ name: 'http.synflood read thread: fetches ok', value: Math.round((t.ok / Math.max(1, t.total)) * 100), unit: '%' });
      out.push({ name: 'http.synflood read thread: segments processed', value: t.segsPerSec, unit: 'seg/s' });
      out.push({ name: 'http.synflood read thread: CPU per segment', value: t.cpuUsPerSeg, unit: 'us' });
      out.push({ name: 'http.synflood read thread: dropped by the TUN queue', value: t.drops, unit: 'packets' });
      out.push({ name: 'http.synflood read thread: SYNs sent by hping3', value: t.sent, unit: 'packets' });
      out.push(...handshakeRows('http.synflood read thread (no writer thread)', t));
    } finally {
      await serve2.stop(200);
    }
  } finally {
    server.kill('SIGKILL');
    await serve.stop(200);
  }
  return out;
}

/**
 * Starts V8's sampling heap profiler in this process, counting objects the GC has already collected too (what a
 * request allocates, not what survives); the function returned stops it and writes HTTP_BENCH_HEAP_PROFILE.<what>.heapprofile.
 */
async function startHeapProfile(what: string): Promise<() => Promise<void>> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  // HTTP_BENCH_HEAP_OLD=1: only what outlived the young generation (objects a scavenge promoted, collected by a
  // major GC or still alive): what makes the old generation grow and the concurrent marking run. It also counts
  // what the young generation still holds when the profile stops (up to one young generation: ~12 MB of a
  // keep-alive round's profile, where scavenges promote ~15 B per request), so it says most for ab -c100.
  const old = process.env.HTTP_BENCH_HEAP_OLD === '1';
  await session.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: !old } as never);
  return async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(`${HEAP_PROFILE!}.${what}.heapprofile`, JSON.stringify(profile));
    session.disconnect();
  };
}

/** Starts the V8 profiler in this process; the function returned stops it and writes HTTP_BENCH_PROFILE.<what>.cpuprofile. */
async function startProfile(what: string): Promise<() => Promise<void>> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  // 100 µs samples (V8's default is 1 ms): a round of keep-alive requests lasts about a second.
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(`${PROFILE!}.${what}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  };
}

function kernelServer(): void {
  const srv = http.createServer(httpHandler);
  srv.on('clientError', (_e, s) => s.destroy());
  srv.listen({ port: PORT, host: KERNEL, backlog: 511 }, () => process.stdout.write('listening\n'));
}

const role = process.env[NETNS_ENV] ? process.argv[2] : undefined;
if (role === 'bench') {
  reportResult(await bench());
  // The kernel namespace's holder process keeps the event loop alive; the PID namespace ends with us.
  process.exit(0);
}
else if (role === 'kernel-server') kernelServer();
