/**
 * Engine-only benchmarks: two TcpConnections back to back in one process, virtual time advancing as fast as
 * the CPU allows (no serialisation, no checksums: this measures the state machine and buffers).
 */
import { TcpConnection } from '../src/tcp/connection.js';
import { resolveConfig } from '../src/tcp/config.js';
import { TcpStats } from '../src/tcp/stats.js';
import type { TcpSegment } from '../src/wire/tcp-types.js';
import type { BenchResult } from './results.js';

/** Bulk transfer of `total` bytes a→b; returns wall-clock bits per second. */
export function bulk(mss: number, total: number): number {
  const cfg = { mss, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20, rtoMin: 200 };
  const a = new TcpConnection({ localPort: 1, remotePort: 2, iss: 1, config: cfg });
  const b = new TcpConnection({ localPort: 2, remotePort: 1, iss: 2, config: cfg });
  b.listen(0);
  a.connect(0);
  const chunk = new Uint8Array(256 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff;
  let now = 0;
  const qa: TcpSegment[] = []; // in flight to a
  const qb: TcpSegment[] = []; // in flight to b
  let sent = 0, received = 0;
  const t0 = performance.now();
  let seg: TcpSegment | null;
  let rounds = 0;
  while (received < total) {
    if (a.state === 'ESTABLISHED' && sent < total) {
      while (sent < total) { const n = a.send(sent + chunk.length <= total ? chunk : chunk.subarray(0, total - sent), now); if (n === 0) break; sent += n; }
    }
    while ((seg = a.pollTransmit(now)) !== null) qb.push(seg);
    for (let i = 0; i < qb.length; i++) b.input(qb[i]!, now);
    qb.length = 0;
    for (;;) { const r = b.read(); if (r.length === 0) break; received += r.length; }
    while ((seg = b.pollTransmit(now)) !== null) qa.push(seg);
    for (let i = 0; i < qa.length; i++) a.input(qa[i]!, now);
    qa.length = 0;
    while (a.pollEvent() !== null) { /* drain */ }
    while (b.pollEvent() !== null) { /* drain */ }
    now += 0.05; // 50 µs one round trip in virtual time
    const d = Math.min(a.nextDeadline(), b.nextDeadline());
    if (d <= now) { a.onTimeout(now); b.onTimeout(now); }
    if (++rounds > 50_000_000) throw new Error('bulk benchmark did not converge');
  }
  const secs = (performance.now() - t0) / 1000;
  return (total * 8) / secs;
}

/**
 * bulk() delivers a whole flight before the receiver answers, so it sends one ACK per flight (~2 000 segments
 * with 4 MiB windows) and the sender's ACK path is nearly absent. Here each segment is delivered on its own and
 * each side answers at once, as two stacks on a wire do: the receiver ACKs every second segment (RFC 9293
 * §3.8.6.3; no delayed-ACK timer needed), each ACK frees room for new data. `window`: both buffers (bytes).
 * Returns wall-clock bits per second.
 */
export function bulkAckClocked(mss: number, total: number, window = 4 << 20): number {
  const cfg = resolveConfig({ mss, recvBufferSize: window, sendBufferSize: window, rtoMin: 200 });
  const stats = new TcpStats();
  const a = new TcpConnection({ localPort: 1, remotePort: 2, iss: 0x9e3779b9, config: cfg, stats });
  const b = new TcpConnection({ localPort: 2, remotePort: 1, iss: 0x7f4a7c15, config: cfg, stats });
  b.listen(0);
  a.connect(0);
  const chunk = new Uint8Array(256 * 1024).fill(7);
  // Two rings of segments in flight (to b, to a): each step takes the oldest of one, as a FIFO wire would.
  const cap = 1 << 16, mask = cap - 1;
  const qb: (TcpSegment | null)[] = new Array<TcpSegment | null>(cap).fill(null), qa = qb.slice();
  let hb = 0, tb = 0, ha = 0, ta = 0;
  let now = 0, sent = 0, received = 0, steps = 0;
  let seg: TcpSegment | null;
  const t0 = performance.now();
  while (received < total) {
    while (sent < total && a.state === 'ESTABLISHED') {
      const n = a.send(sent + chunk.length <= total ? chunk : chunk.subarray(0, total - sent), now);
      if (n === 0) break;
      sent += n;
    }
    while ((seg = a.pollTransmit(now)) !== null) qb[tb++ & mask] = seg;
    while (a.pollEvent() !== null) { /* drain */ }
    if (hb !== tb) { const s = qb[hb & mask]!; qb[hb++ & mask] = null; b.input(s, now); }
    for (;;) { const r = b.read(65536); if (r.length === 0) break; received += r.length; }
    while ((seg = b.pollTransmit(now)) !== null) qa[ta++ & mask] = seg;
    while (b.pollEvent() !== null) { /* drain */ }
    if (ha !== ta) { const s = qa[ha & mask]!; qa[ha++ & mask] = null; a.input(s, now); }
    if (tb - hb > cap - 1024 || ta - ha > cap - 1024) throw new Error('bulkAckClocked: ring overflow');
    now += 0.001; // 1 µs a step in virtual time
    const d = Math.min(a.nextDeadline(), b.nextDeadline());
    if (d <= now) { a.onTimeout(now); b.onTimeout(now); }
    if (++steps > 200_000_000) throw new Error('bulkAckClocked did not converge');
  }
  return (total * 8) / ((performance.now() - t0) / 1000);
}

/**
 * One complete configuration for every connection of every lifecycles() run, as a stack passes its own for its
 * whole life (a partial one would be merged with the defaults per connection: a bench artefact, not what the engine
 * costs). Made once: a configuration made by resolveConfig once its caller is optimised has another layout than
 * one made before (V8 lowers the object spread differently), and a new one per run sent the engine's code built
 * for the last one back to the interpreter ('wrong map') in every run after the first few.
 */
const LIFECYCLE_CFG = resolveConfig({ delayedAck: false });
/** One set of counters for all, as a stack shares its own (without one, each connection makes its ~60 counters). */
const LIFECYCLE_STATS = new TcpStats();

/** Full lifecycles per second: handshake, 1 byte each way, close (four-way), until both CLOSED/TIME-WAIT. */
export function lifecycles(count: number): number {
  const one = new Uint8Array([1]);
  const cfg = LIFECYCLE_CFG, stats = LIFECYCLE_STATS;
  const t0 = performance.now();
  const qa: TcpSegment[] = [], qb: TcpSegment[] = [];
  for (let i = 0; i < count; i++) {
    const a = new TcpConnection({ localPort: 1000 + (i & 0xffff), remotePort: 80, iss: i * 7919, config: cfg, stats });
    const b = new TcpConnection({ localPort: 80, remotePort: 1000 + (i & 0xffff), iss: i * 104729, config: cfg, stats });
    b.listen(0);
    a.connect(0);
    let now = 0;
    let sentA = false, sentB = false, closedA = false, closedB = false;
    let seg: TcpSegment | null;
    for (let r = 0; r < 100; r++) {
      // Counted, not emptied with `length = 0` (a runtime call each time: ~3 % of this loop's CPU was the harness's).
      let nb = 0, na = 0;
      while ((seg = a.pollTransmit(now)) !== null) qb[nb++] = seg;
      for (let k = 0; k < nb; k++) b.input(qb[k]!, now);
      while ((seg = b.pollTransmit(now)) !== null) qa[na++] = seg;
      for (let k = 0; k < na; k++) a.input(qa[k]!, now);
      while (a.pollEvent() !== null) { /* drain */ }
      while (b.pollEvent() !== null) { /* drain */ }
      if (a.state === 'ESTABLISHED' && !sentA) { a.send(one, now); sentA = true; }
      if (b.state === 'ESTABLISHED' && !sentB) { b.send(one, now); sentB = true; }
      if (sentA && sentB && a.readableLength && !closedA) { a.read(); a.shutdown(now); closedA = true; }
      if (b.readableLength) b.read();
      if (b.state === 'CLOSE-WAIT' && !closedB) { b.shutdown(now); closedB = true; }
      if (a.state === 'TIME-WAIT' && b.state === 'CLOSED') break;
      now += 0.1;
    }
    if (a.state !== 'TIME-WAIT' || b.state !== 'CLOSED') throw new Error(`lifecycle ${i} ended in ${a.state}/${b.state}`);
  }
  return count / ((performance.now() - t0) / 1000);
}

/**
 * A server whose last connection has closed and which then runs a full GC (V8's memory reducer does so in an idle
 * process) meets its next burst with whatever of the engine's optimised code survived that GC. Each round: `count`
 * lifecycles (steady, the code warm), then a full GC with no connection alive, then `count` more. Returns the
 * medians of both (lifecycles per second of the process's CPU time, which the machine's other load moves far less
 * than wall time): `after` the first `count` after the GC, `steady` the block before it. Needs --expose-gc
 * (`npm run bench` has it); null without.
 */
export function lifecyclesAfterIdleGc(count: number, rounds = 3): { after: number; steady: number } | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return null;
  const perCpuSecond = (): number => {
    const c0 = process.cpuUsage();
    lifecycles(count);
    const c = process.cpuUsage(c0);
    return count / ((c.user + c.system) / 1e6);
  };
  // First the heap earlier runs left (the bulk figures' gigabytes) is collected and the code warmed again: the
  // first full GC after them also slows the scavenges that follow it, which is not what this figure is about.
  gc();
  lifecycles(count);
  const after: number[] = [], steady: number[] = [];
  for (let i = 0; i < rounds; i++) {
    steady.push(perCpuSecond());
    gc();
    after.push(perCpuSecond());
  }
  const median = (xs: number[]): number => xs.sort((x, y) => x - y)[xs.length >> 1]!;
  return { after: median(after), steady: median(steady) };
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  bulk(1460, 32 << 20); // warm-up
  const g1460 = bulk(1460, 512 << 20) / 1e9;
  out.push({ name: 'engine.bulk.mss1460', value: round(g1460), unit: 'Gbit/s' });
  // Per-segment delivery, an ACK every second segment (what a stack's connection sees): the ACK path counts.
  for (let i = 0; i < 3; i++) bulkAckClocked(1460, 64 << 20); // warm-up (the window opens anew each run)
  out.push({ name: 'engine.bulk.mss1460.ack-clocked', value: round(bulkAckClocked(1460, 512 << 20) / 1e9), unit: 'Gbit/s' });
  const g65495 = bulk(65495, 2048 * 2 ** 20) / 1e9;
  out.push({ name: 'engine.bulk.mss65495', value: round(g65495), unit: 'Gbit/s' });
  lifecycles(5000);
  out.push({ name: 'engine.lifecycles', value: Math.round(lifecycles(50_000)), unit: 'lifecycles/s' });
  const idle = lifecyclesAfterIdleGc(30_000);
  if (idle !== null) {
    out.push({
      name: 'engine.lifecycles.after-idle-gc', value: Math.round(idle.after), unit: 'lifecycles/CPU s',
      peer: 'the 30 000 before the GC', peerValue: Math.round(idle.steady), ratio: round(idle.after / idle.steady),
    });
  }
  return out;
}

function round(x: number): number { return Math.round(x * 100) / 100; }
