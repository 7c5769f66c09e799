/**
 * One million idle ESTABLISHED connections between two in-process stacks (issue 14): how long opening them
 * takes, the process's RSS and the heap per connection end once they are up. Run on its own, never as part of
 * a plain `npm run bench` (it takes about 30 s and 2-3 GiB of memory):
 *
 *   npm run bench -- idle                       # one million (SYNACK_BENCH_IDLE_CONNS to change the count)
 *
 * The connections are opened in a child process (`node --expose-gc --max-old-space-size=8192`), so the RSS is
 * that of a fresh process holding only them; opening stops after 300 s (the child is killed after 600 s) and
 * reports what it reached.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Network } from '../src/link/network.js';
import type { BenchResult } from './results.js';

/** The JS heap plus ArrayBuffer backing stores (typed arrays' memory lies outside V8's heap), after two full GCs. */
function heapUsed(): number {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) { g(); g(); }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * `count` idle ESTABLISHED connections between two in-process stacks, opened in batches until all are up or
 * `budgetMs` has passed: how many were opened, the time, the process's RSS and the heap per connection end.
 */
export function idleConnections(count: number, budgetMs: number): { opened: number; secs: number; rssBytes: number; heapPerEnd: number } {
  const n = new Network({ seed: 1, delayMs: 0.05 });
  // Client ports are given (1024 upward on each address), not searched in the ephemeral range: a search
  // through a range that is 90 % in use costs more per connection the fuller it gets.
  const addrs = Array.from({ length: Math.ceil(count / 60_000) + 1 }, (_, i) => `10.${1 + (i >> 8)}.${i & 255}.1`);
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: addrs });
  // Accepted at once (onConnection): a listener's accept queue is an array, and taking 10^6 connections out
  // of it one by one (as closing the stacks does) costs a search each.
  server.listen(80, { backlog: count + 10, onConnection: () => undefined });
  const before = heapUsed();
  const t0 = performance.now();
  let opened = 0;
  while (opened < count && performance.now() - t0 < budgetMs) {
    const batch = Math.min(4096, count - opened);
    for (let i = 0; i < batch; i++, opened++) {
      client.connect({ host: '10.0.0.2', port: 80, localAddress: addrs[opened % addrs.length], localPort: 1024 + Math.floor(opened / addrs.length) });
    }
    while (n.step()) { /* complete the handshakes */ }
    if ((opened & 0x3ffff) < 4096) process.stderr.write(`idle connections: ${opened} after ${Math.round(performance.now() - t0)} ms\n`);
  }
  const secs = (performance.now() - t0) / 1000;
  let est = 0;
  for (const c of client.allConnections()) if (c.state === 'ESTABLISHED') est++;
  const heap = heapUsed() - before;
  const rssBytes = process.memoryUsage().rss;
  // Still in use after the measurement (the collector must not free them before it).
  if (server.connectionCount + client.connectionCount < 2 * est) throw new Error('connections went away');
  n.close();
  return { opened: est, secs, rssBytes, heapPerEnd: Math.round(heap / (2 * Math.max(1, est))) };
}

export function run(): Promise<BenchResult[]> {
  // This process's flags: --expose-gc and the heap size from `npm run bench`, tsx only where this runs under it.
  const count = Number(process.env.SYNACK_BENCH_IDLE_CONNS ?? 1_000_000);
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'idle', String(count)], { encoding: 'utf8', timeout: 600_000 });
  const m = /@@idle (.*)/.exec(r.stdout ?? '');
  if (!m) {
    // Reported, not thrown: the run's other figures stand.
    console.log(`  idle connections run failed (${r.status ?? r.signal}): ${(r.stderr ?? '').slice(-500)}`);
    return Promise.resolve([]);
  }
  const v = JSON.parse(m[1]!) as ReturnType<typeof idleConnections>;
  return Promise.resolve([
    { name: 'idle.connections', value: v.opened, unit: 'ESTABLISHED connections (both ends in process)' },
    { name: 'idle.open-time', value: Math.round(v.secs), unit: 's' },
    { name: 'idle.rss', value: Math.round(v.rssBytes / 2 ** 20), unit: 'MiB' },
    { name: 'idle.rss-per-connection', value: Math.round(v.rssBytes / Math.max(1, v.opened)), unit: 'bytes (both ends, whole process)' },
    { name: 'idle.heap-per-end', value: v.heapPerEnd, unit: 'bytes' },
  ]);
}

if (process.argv[2] === 'idle' && import.meta.url === `file://${process.argv[1]}`) {
  console.log(`@@idle ${JSON.stringify(idleConnections(Number(process.argv[3]), 300_000))}`);
}
