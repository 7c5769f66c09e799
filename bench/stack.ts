/**
 * Host-stack benchmarks: two stacks in one process on the in-memory wire (virtual time, as fast as the CPU
 * allows). Throughput and lifecycles go through the Node-style Socket API; Node's own `net` on 127.0.0.1 is
 * measured in the same run as the kernel's reference. Memory per idle ESTABLISHED connection and per
 * TIME-WAIT entry is measured with 100 000 of each; one million idle connections is its own run (idle.ts).
 */
import net from 'node:net';
import { Network } from '../src/link/network.js';
import { Server } from '../src/stack/server.js';
import { Socket } from '../src/stack/socket.js';
import type { Stack, StackConnection } from '../src/stack/stack.js';
import type { BenchResult } from './results.js';

const CLIENT_ADDRS = ['10.0.0.1', '10.0.1.1', '10.0.2.1', '10.0.3.1', '10.0.4.1'];

function pair(mss: number, offload = false, receiveBatch = false) {
  const n = new Network({ seed: 1, delayMs: 0.05, offload, receiveBatch });
  const tcp = { mss, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 };
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'], tcp });
  // Several client addresses: 100 000 connections need more than one address's ephemeral ports.
  const client = n.addStack({ name: 'c', addresses: CLIENT_ADDRS, tcp });
  return { n, server, client };
}

/**
 * Bytes/s through Socket streams (Gbit/s returned). `receiveBatch`: the receiving stack takes what arrives at
 * once in batches of at most 64 datagrams and 64 KiB (NAPI's poll, GRO's merge; NetworkOptions.receiveBatch).
 */
export async function socketBulk(mss: number, total: number, offload = false, receiveBatch = false): Promise<number> {
  const { n, server, client } = pair(mss, offload, receiveBatch);
  let received = 0;
  const srv = new Server(server, {}, (s) => { s.on('data', (d: Buffer) => { received += d.length; }); });
  srv.listen(9);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 9 });
  const chunk = Buffer.alloc(256 * 1024, 7);
  let written = 0;
  const t0 = performance.now();
  const pump = () => { while (written < total) { written += chunk.length; if (!s.write(chunk)) { s.once('drain', pump); return; } } s.end(); };
  s.once('connect', pump);
  await n.runUntil(() => received >= total, 10 * 3600_000);
  const secs = (performance.now() - t0) / 1000;
  n.close();
  return (received * 8) / secs / 1e9;
}

/**
 * socketBulk through the stack's own API (StackConnection handlers, no Duplex), driven by runUntil as the socket
 * figure is: the same wire, stacks and engine, 256 KiB writes and reads of up to 64 KiB, without the socket layer.
 * Between the two figures lies what sockets add to a bulk transfer.
 */
export async function stackBulk(mss: number, total: number): Promise<number> {
  const { n, server, client } = pair(mss);
  let received = 0;
  server.listen(9, {
    onConnection: (c) => {
      c.handler = {
        onEvent: () => undefined, onWritable: () => undefined,
        onReadable: () => {
          for (let d = c.tcp.read(65536); d.length > 0; d = c.tcp.read(65536)) received += d.length;
          // What a Socket's read does: an opened window may be worth an update (RFC 9293 §3.8.6.2.2).
          if (c.tcp.ackNow || c.tcp.windowUpdatePending) c.service();
        },
      };
    },
  });
  const chunk = new Uint8Array(256 * 1024).fill(7);
  let written = 0;
  const t0 = performance.now();
  const c = client.connect({ host: '10.0.0.2', port: 9 });
  const pump = (): void => {
    let any = false;
    for (let k = 1; k > 0 && written < total; written += k) { k = c.tcp.send(total - written < chunk.length ? chunk.subarray(0, total - written) : chunk, n.now); any ||= k > 0; }
    if (any) c.service();
  };
  c.handler = { onEvent: (ev) => { if (ev.type === 'established') pump(); }, onWritable: pump, onReadable: () => undefined };
  await n.runUntil(() => received >= total, 10 * 3600_000);
  const secs = (performance.now() - t0) / 1000;
  n.close();
  return (received * 8) / secs / 1e9;
}

/** The same bulk transfer through Node's net on 127.0.0.1 (kernel TCP over loopback: GSO/GRO, no checksums). */
export async function kernelBulk(total: number): Promise<number> {
  let received = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => { done = r; });
  const srv = net.createServer((s) => { s.on('data', (d: Buffer) => { received += d.length; if (received >= total) done(); }); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const s = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  const chunk = Buffer.alloc(256 * 1024, 7);
  let written = 0;
  const t0 = performance.now();
  const pump = () => { while (written < total) { written += chunk.length; if (!s.write(chunk)) { s.once('drain', pump); return; } } s.end(); };
  s.once('connect', pump);
  await finished;
  const secs = (performance.now() - t0) / 1000;
  s.destroy();
  srv.close();
  return (received * 8) / secs / 1e9;
}

/**
 * connect, 1 byte each way, close: lifecycles per second through synack sockets. `receiveBatch`: datagrams
 * arriving together are received as one batch (NetworkOptions.receiveBatch), as a kernel's NAPI poll takes them.
 */
export async function socketLifecycles(count: number, receiveBatch = false): Promise<number> {
  return timedLifecycles(socketLifecycleLoop(receiveBatch), count);
}

/** Runs `count` lifecycles of a fresh loop to their end (runUntil) and closes its network: lifecycles per second. */
async function timedLifecycles(loop: LifecycleLoop, count: number): Promise<number> {
  const { n, done, start } = loop;
  const t0 = performance.now();
  start(count);
  await n.runUntil(() => done() >= count, 10 * 3600_000);
  const rate = done() / ((performance.now() - t0) / 1000);
  n.close();
  return rate;
}

/**
 * A lifecycle loop on one stack pair: `start(k)` opens the first of `k` more lifecycles (each opens the next when
 * it ends); `done` counts those ended, `delivered` the bytes that reached the other end, both ways (two per
 * lifecycle that completed: one that failed, e.g. a connect refused for want of an ephemeral port, also ends).
 */
interface LifecycleLoop { n: Network; server: Stack; client: Stack; done: () => number; delivered: () => number; start: (k: number) => void }

/** socketLifecycles' network, server and client loop. */
function socketLifecycleLoop(receiveBatch = false): LifecycleLoop {
  const { n, server, client } = pair(1460, false, receiveBatch);
  let delivered = 0;
  const srv = new Server(server, {}, (s) => { s.once('data', (d: Buffer) => { delivered += d.length; s.end('y'); }); });
  srv.listen(7);
  let done = 0, target = 0;
  const one = () => {
    const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => s.write('x'));
    s.on('data', (d: Buffer) => { delivered += d.length; s.end(); });
    s.on('close', () => { done++; if (done < target) one(); });
    s.on('error', () => { /* counted by not completing */ });
  };
  return { n, server, client, done: () => done, delivered: () => delivered, start: (k) => { target = done + k; one(); } };
}

/**
 * The same lifecycle through the stack's own API (StackConnection handlers, no Duplex), the network stepped
 * without yielding to the host: what the stacks, the engine and the wire cost without the socket layer.
 */
export function stackLifecycles(count: number): number {
  const { n, done, start } = stackLifecycleLoop();
  const t0 = performance.now();
  start(count);
  while (done() < count && n.step()) { /* virtual steps, no host turns */ }
  const rate = done() / ((performance.now() - t0) / 1000);
  n.close();
  return rate;
}

/**
 * stackLifecycles driven as the sockets' figure is (runUntil: a turn of the host's event loop per virtual step):
 * between the two figures lie the host turns; between this one and socketLifecycles, the socket layer alone.
 */
export async function stackLifecyclesWithTurns(count: number, socketWire = false): Promise<number> {
  return timedLifecycles(stackLifecycleLoop(socketWire), count);
}

/**
 * The stack-API lifecycle's network, servers and client loop (stackLifecycles; LifecycleLoop). `socketWire`: the server sends its byte and its FIN apart, as a Socket's end('y') does (a write, then _final's
 * shutdown, as node:net on Linux does), so the wire carries what the socket figure's does: 9 datagrams, the client
 * closing before the server's FIN, which arrives in the same step, is processed (both ends in TIME-WAIT). Without
 * it, 7: y with the FIN, and the client's FIN acknowledges the server's.
 */
function stackLifecycleLoop(socketWire = false): LifecycleLoop {
  const { n, server, client } = pair(1460);
  const x = new Uint8Array([120]), y = new Uint8Array([121]);
  let delivered = 0;
  server.listen(7, {
    onConnection: (c) => {
      c.handler = {
        onEvent: () => undefined, onWritable: () => undefined,
        onReadable: () => {
          const d = c.tcp.read(64).length;
          if (d > 0) { delivered += d; const t = n.now; c.tcp.send(y, t); if (socketWire) c.service(); c.tcp.shutdown(t); c.service(); }
        },
      };
    },
  });
  let done = 0, target = 0;
  const one = () => {
    const c = client.connect({ host: '10.0.0.2', port: 7 });
    c.handler = {
      onEvent: (ev) => {
        if (ev.type === 'established') { c.tcp.send(x, n.now); c.service(); } else if (ev.type === 'closed') { done++; if (done < target) one(); }
      },
      onWritable: () => undefined,
      onReadable: () => { const d = c.tcp.read(64).length; if (d > 0) { delivered += d; c.tcp.shutdown(n.now); c.service(); } },
    };
  };
  return { n, server, client, done: () => done, delivered: () => delivered, start: (k) => { target = done + k; one(); } };
}

/**
 * A server whose last connection has ended, and whose TIME-WAIT entries have expired, and which then runs a full
 * GC (V8's memory reducer does so in an idle process) meets its next burst with whatever of the optimised code
 * survived that GC: V8 holds an object layout only weakly once no object has it, and a GC that collects one throws
 * away the code built on it (the engine's and the stack's keep one object of each kind for this: src/tcp/layouts.ts,
 * demux.removeConn). On one stack pair kept throughout, as a server lives on, each round: `count` lifecycles (steady,
 * the code warm), IDLE_MS of virtual time with nothing to do, a full GC, then `count` more. Returns the medians of
 * both (lifecycles per second of the process's CPU time, which the machine's other load moves far less than wall
 * time): `after` the block after the GC, `steady` the one before it. `block(k)` runs k lifecycles of `loop` to
 * their end. Needs --expose-gc (`npm run bench` has it); null without.
 */
async function lifecyclesAfterIdleGc(loop: LifecycleLoop, block: (k: number) => Promise<void> | void, count: number, rounds = 3): Promise<{ after: number; steady: number } | null> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return null;
  const { n, server, client } = loop;
  const perCpuSecond = async (): Promise<number> => {
    const bytes = loop.delivered(), cpu0 = process.cpuUsage();
    await block(count);
    const cpu = cpuMicros(cpu0);
    // A lifecycle whose connect failed ends too (a Socket's 'close' after its 'error'): only one that delivered its
    // byte each way counts. With no idle time between blocks, both ends in TIME-WAIT (the socket lifecycle's
    // simultaneous close) exhaust a client address's ephemeral ports after ~28 000 lifecycles, and every connect
    // after fails with EADDRNOTAVAIL at a fraction of a lifecycle's cost.
    const completed = (loop.delivered() - bytes) / 2;
    if (completed !== count) throw new Error(`after-idle-gc: ${completed} of ${count} lifecycles delivered their bytes`);
    // Idle: the TIME-WAIT entries expire (2 MSL), so nothing is left of a connection when the GC runs.
    await n.runUntil(() => false, IDLE_MS);
    const left = server.connectionCount + client.connectionCount + server.timeWaitCount + client.timeWaitCount;
    if (left !== 0) throw new Error(`after-idle-gc: ${left} connections or TIME-WAIT entries left after ${IDLE_MS} ms idle`);
    return count / (cpu / 1e6);
  };
  // First a GC of what the figures before left, and a block to warm the code again on this pair (as the engine's
  // figure settles): the first GC is not what this figure is about.
  await perCpuSecond();
  gc();
  await perCpuSecond();
  const after: number[] = [], steady: number[] = [];
  for (let i = 0; i < rounds; i++) {
    steady.push(await perCpuSecond());
    gc();
    after.push(await perCpuSecond());
  }
  n.close();
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  return { after: median(after), steady: median(steady) };
}

/** Stack-API lifecycles (stackLifecycles: no sockets, no host turns) after an idle GC; lifecyclesAfterIdleGc. */
export async function stackLifecyclesAfterIdleGc(count: number, rounds = 3): Promise<{ after: number; steady: number } | null> {
  const loop = stackLifecycleLoop();
  return lifecyclesAfterIdleGc(loop, (k) => {
    const target = loop.done() + k;
    loop.start(k);
    while (loop.done() < target && loop.n.step()) { /* virtual steps, no host turns */ }
  }, count, rounds);
}

/** Socket lifecycles (socketLifecycles) after an idle GC; lifecyclesAfterIdleGc. */
export async function socketLifecyclesAfterIdleGc(count: number, rounds = 3): Promise<{ after: number; steady: number } | null> {
  const loop = socketLifecycleLoop();
  return lifecyclesAfterIdleGc(loop, async (k) => {
    const target = loop.done() + k;
    loop.start(k);
    await loop.n.runUntil(() => loop.done() >= target, 10 * 3600_000);
  }, count, rounds);
}

/** Idle virtual time between blocks of lifecyclesAfterIdleGc: beyond 2 MSL (60 s), so every TIME-WAIT entry expires. */
const IDLE_MS = 65_000;

/** The same lifecycle through Node's net on 127.0.0.1: the kernel's figure. */
export async function kernelLifecycles(count: number): Promise<number> {
  const srv = net.createServer((s) => { s.once('data', () => s.end('y')); s.on('error', () => {}); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('x'));
      s.on('data', () => s.end());
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
  }
  const rate = count / ((performance.now() - t0) / 1000);
  srv.close();
  return rate;
}

/**
 * Bytes the JS heap holds plus ArrayBuffer backing stores (typed arrays' memory lies outside V8's heap: the
 * TIME-WAIT table's columns, buffers), after two full GCs.
 */
function heapUsed(): number {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) { g(); g(); }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Heap bytes per idle ESTABLISHED connection (both ends counted separately: per connection end). */
export function memoryPerConnection(count: number): { established: number; timeWait: number } {
  const { n, server, client } = pair(1460);
  // Accepted at once (onConnection): a listener's accept queue is an array, and taking 100 000 connections out
  // of it one by one (as closing the stacks does) costs a search each.
  server.listen(80, { backlog: count + 10, onConnection: () => undefined });
  const before = heapUsed();
  const conns: StackConnection[] = [];
  for (let i = 0; i < count; i++) {
    conns.push(client.connect({ host: '10.0.0.2', port: 80, localAddress: CLIENT_ADDRS[i % CLIENT_ADDRS.length] }));
    if ((i & 1023) === 1023) while (n.step()) { /* complete handshakes */ }
  }
  while (n.step()) { /* complete handshakes */ }
  const est = conns.filter((c) => c.state === 'ESTABLISHED').length;
  const afterOpen = heapUsed();
  const perEstablished = (afterOpen - before) / (2 * est); // two endpoints per connection
  // Close them all from the client: client ends go to the compact TIME-WAIT table, server ends go away.
  const t = n.now;
  for (const c of conns) { c.tcp.shutdown(t); c.service(); }
  let serverConns: StackConnection[] = [...server.allConnections()];
  for (let k = 0; k < 50 && (server.connectionCount > 0 || client.connectionCount > 0); k++) {
    n.step();
    for (const c of serverConns) if (c.state === 'CLOSE-WAIT') { c.tcp.shutdown(n.now); c.service(); }
    serverConns = serverConns.filter((c) => c.state !== 'CLOSED');
  }
  while (client.connectionCount > 0 && n.step()) { /* finish */ }
  conns.length = 0; serverConns = [];
  const tw = client.timeWaitCount;
  const afterTw = heapUsed();
  const perTw = (afterTw - before) / Math.max(1, tw);
  n.close();
  void (server as Stack);
  return { established: Math.round(perEstablished), timeWait: Math.round(perTw) };
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  // Lifecycles first, in a process that has not yet run the bulk transfers: after the bulk mix below, node's own
  // process.nextTick spent ~0.3-0.5 us building each tick object against ~0.05-0.1 fresh, six ticks per lifecycle,
  // synack's and node:net's alike. Cause (2026-12, %DebugPrint of nextTick's feedback): V8 keeps the maps of Node's
  // tick literal (task_queues.js) only while a tick object is alive; a socket bulk transfer queues almost none (6 per
  // 256 MiB), so its full GCs drop them, and after ~6-8 such GCs the literal's later stores go megamorphic for good
  // (reproducible in plain Node: GCs with no tick alive, then ticks). A library fix would need
  // async_hooks.executionAsyncResource(), which switches every native callback of the process to a JS trampoline:
  // not done. Measured: synack's CPU per lifecycle +18-35 % after the bulk mix, node:net's +6-17 %; the bulk figures'
  // CPU per MiB does not rise when they run after the lifecycles (7 alternations, within noise).
  // Lifecycles are measured once their cost has settled (LIFECYCLE_WARMUP): before, each figure is mostly V8
  // compiling the code and growing the heap, for synack and for node:net alike.
  for (let i = 0; i < LIFECYCLE_WARMUP; i += 2000) await socketLifecycles(2000);
  let cpu0 = process.cpuUsage();
  const ours = await socketLifecycles(5000);
  const oursCpu = cpuMicros(cpu0) / 5000;
  for (let i = 0; i < KERNEL_LIFECYCLE_WARMUP; i += 1000) await kernelLifecycles(1000);
  cpu0 = process.cpuUsage();
  const kernel = await kernelLifecycles(2000);
  const kernelCpu = cpuMicros(cpu0) / 2000;
  out.push({ name: 'stack.socket.lifecycles', value: Math.round(ours), unit: 'lifecycles/s', peer: 'node net on 127.0.0.1 (kernel TCP)', peerValue: Math.round(kernel), ratio: r2(ours / kernel) });
  // The same two runs in CPU time (user + system, all of the process's threads): on a loaded machine the rates above
  // follow the scheduler as much as the code, CPU time much less. Lower is better; ratio ours / node's. node:net's
  // figure holds its JS, libuv and the syscalls' kernel work in its context; loopback's softirq work done elsewhere
  // is not counted, so the ratio is a bound on synack's advantage, not the wall-clock one.
  out.push({ name: 'stack.socket.lifecycles.cpu', value: r2(oursCpu), unit: 'us CPU per lifecycle', peer: 'node net on 127.0.0.1 (its process CPU)', peerValue: r2(kernelCpu), ratio: r2(oursCpu / kernelCpu) });
  // Datagrams arriving together received as one batch: the server's data and FIN reach the client's user code
  // together, as the kernel's do, so it closes second (no simultaneous close: 8 datagrams, not 9).
  for (let i = 0; i < LIFECYCLE_WARMUP; i += 2000) await socketLifecycles(2000, true);
  const batched = await socketLifecycles(5000, true);
  out.push({ name: 'stack.socket.lifecycles.batch', value: Math.round(batched), unit: 'lifecycles/s', peer: 'node net on 127.0.0.1 (kernel TCP)', peerValue: Math.round(kernel), ratio: r2(batched / kernel) });
  // Where the socket figure goes: the same lifecycles without sockets or host turns (ratio: sockets / this).
  for (let i = 0; i < LIFECYCLE_WARMUP; i += 2000) stackLifecycles(2000);
  const bare = stackLifecycles(5000);
  out.push({ name: 'stack.lifecycles.no-socket', value: Math.round(bare), unit: 'lifecycles/s', peer: 'stack.socket.lifecycles (Duplex sockets, runUntil)', peerValue: Math.round(ours), ratio: r2(bare / ours) });
  // The same without sockets but with runUntil's host turns, as the socket figure has them: what the socket layer
  // alone costs (ratio: this / sockets) apart from the turns (no-socket / this).
  for (let i = 0; i < LIFECYCLE_WARMUP; i += 2000) await stackLifecyclesWithTurns(2000);
  const turns = await stackLifecyclesWithTurns(5000);
  out.push({ name: 'stack.lifecycles.no-socket.turns', value: Math.round(turns), unit: 'lifecycles/s', peer: 'stack.socket.lifecycles (Duplex sockets, runUntil)', peerValue: Math.round(ours), ratio: r2(turns / ours) });
  // The same with the socket figure's wire (9 datagrams, not 7: the server's byte and FIN apart, a simultaneous
  // close): between this and the socket figure lies the socket layer alone; between this and the one above, the
  // two datagrams more.
  for (let i = 0; i < LIFECYCLE_WARMUP; i += 2000) await stackLifecyclesWithTurns(2000, true);
  const turnsWire = await stackLifecyclesWithTurns(5000, true);
  out.push({ name: 'stack.lifecycles.no-socket.turns.socket-wire', value: Math.round(turnsWire), unit: 'lifecycles/s', peer: 'stack.socket.lifecycles (Duplex sockets, runUntil)', peerValue: Math.round(ours), ratio: r2(turnsWire / ours) });
  // Lifecycles right after a full GC with no connection alive (an idle server), against the block before it on the
  // same stacks: near 1 when the GC kept the layouts the optimised code is built on (lifecyclesAfterIdleGc).
  const idleStack = await stackLifecyclesAfterIdleGc(30_000);
  if (idleStack !== null) {
    out.push({ name: 'stack.lifecycles.after-idle-gc', value: Math.round(idleStack.after), unit: 'lifecycles/CPU s', peer: 'the 30 000 before the GC (same stacks)', peerValue: Math.round(idleStack.steady), ratio: r2(idleStack.after / idleStack.steady) });
  }
  const idleSocket = await socketLifecyclesAfterIdleGc(5000);
  if (idleSocket !== null) {
    out.push({ name: 'stack.socket.lifecycles.after-idle-gc', value: Math.round(idleSocket.after), unit: 'lifecycles/CPU s', peer: 'the 5 000 before the GC (same stacks)', peerValue: Math.round(idleSocket.steady), ratio: r2(idleSocket.after / idleSocket.steady) });
  }
  await warm(() => socketBulk(1460, 16 << 20));
  // Every datagram received on its own (checksum offload on the in-process link, as every Network has it).
  const sockBulk = await socketBulk(1460, 256 << 20);
  out.push({ name: 'stack.socket.bulk.mss1460', value: r2(sockBulk), unit: 'Gbit/s' });
  // Where the socket figure goes: the same transfer without sockets (ratio: this / sockets; near 1, the cost per
  // segment is the stacks', the wire's and the engine's).
  await warm(() => stackBulk(1460, 16 << 20));
  const bareBulk = await stackBulk(1460, 256 << 20);
  out.push({ name: 'stack.bulk.mss1460.no-socket', value: r2(bareBulk), unit: 'Gbit/s', peer: 'stack.socket.bulk.mss1460 (Duplex sockets, runUntil)', peerValue: r2(sockBulk), ratio: r2(bareBulk / sockBulk) });
  // Received in NAPI/GRO-sized batches (<= 64 datagrams, <= 64 KiB): one ACK per batch, as Linux's GRO gives.
  await warm(() => socketBulk(1460, 16 << 20, false, true));
  out.push({ name: 'stack.socket.bulk.mss1460.batch', value: r2(await socketBulk(1460, 256 << 20, false, true)), unit: 'Gbit/s' });
  await warm(() => socketBulk(65495, 16 << 20));
  out.push({ name: 'stack.socket.bulk.mss65495', value: r2(await socketBulk(65495, 1024 << 20)), unit: 'Gbit/s' });
  // Network({ offload: true }): checksum offload and GSO/GRO between the two stacks, as Linux's loopback has
  // them: 64 KiB super-segments cross whole and are neither checksummed nor verified; against Node's net over
  // the kernel's loopback, which does the same.
  await warm(() => socketBulk(1460, 16 << 20, true));
  const off = await socketBulk(1460, 1024 << 20, true);
  await kernelBulk(64 << 20);
  const kb = await kernelBulk(1024 << 20);
  out.push({ name: 'stack.socket.bulk.mss1460.offload', value: r2(off), unit: 'Gbit/s', peer: 'node net on 127.0.0.1 (kernel TCP, loopback GSO/GRO)', peerValue: r2(kb), ratio: r2(off / kb) });
  const m = memoryPerConnection(100_000);
  // Heap plus ArrayBuffer backing stores since 2026-12-07 (tenth session): before, heapUsed alone left out the
  // TIME-WAIT table's typed-array columns and read 5-8 B per TIME-WAIT entry; counted, ~120 B.
  out.push({ name: 'stack.heap.per-established', value: m.established, unit: 'bytes' });
  out.push({ name: 'stack.heap.per-time-wait', value: m.timeWait, unit: 'bytes' });
  return out;
}

/**
 * Lifecycles run before synack's are measured: in one process, each run of 2 000 cost 400, 210, 160, 85, 75, 70,
 * then 45 µs of CPU per lifecycle (2026-12, a loaded 2-core machine); measured after 500, as before, the figure
 * was mostly warm-up.
 */
const LIFECYCLE_WARMUP = 14_000;
/** The same for node:net on 127.0.0.1: 250, 130, 120, then about 80 µs per lifecycle for runs of 1 000. */
const KERNEL_LIFECYCLE_WARMUP = 5_000;

/**
 * Two warm-up transfers before a measured bulk run, not one: V8 records type feedback for a function only after it
 * has run a few times, so paths the first connection ran once (its handshake) have none, and the second connection
 * of a kind deoptimised ~35-40 stack and engine functions (its first 4 MiB at 10-14 us per segment against 1.2-1.5
 * steady, ~1 s of background compiling); from the third on, none (2026-12, --trace-deopt). With one warm-up the
 * measured run was that second connection.
 */
async function warm(transfer: () => Promise<number>): Promise<void> { await transfer(); await transfer(); }

function r2(x: number): number { return Math.round(x * 100) / 100; }

/** CPU time (user + system, µs) the process used since `since` (process.cpuUsage()). */
function cpuMicros(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

