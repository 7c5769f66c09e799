/**
 * `synack serve`: a synack stack on a Linux TUN device, so the kernel's own TCP (curl, nc, a browser in the
 * namespace) talks to it. Services, each on synack sockets:
 *   --http PORT     node:http, unchanged: `GET /bytes/N` returns N bytes of a fixed pseudo-random pattern
 *                   (patternBytes), `POST` (any path) answers the body's sha256 in hex, `GET /rst` aborts the
 *                   connection with RST mid-response, `GET /` says what is there.
 *   --echo PORT     echo (RFC 862), half-close aware: after the peer's FIN it keeps sending what it still has,
 *                   then sends its own FIN.
 *   --discard PORT  discard (RFC 863): reads and drops everything, FIN after the peer's FIN.
 *   --unread PORT   reads nothing and closes 100 ms after data arrives: close with unread data is an RST
 *                   (RFC 1122 §4.2.2.13), to watch on the wire.
 * Each connection is logged as one line when it ends (lifecycle-log.ts). SIGINT/SIGTERM close gracefully:
 * listeners stop, open connections get a FIN and up to 2 s to finish, then RST; a second signal aborts at once.
 *
 * Exit codes: 0 after a graceful stop; 1 the device or capture could not be set up (not root, no
 * /dev/net/tun, ...); 2 usage errors.
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { Command, Option } from 'commander';
import { Server } from '../stack/server.js';
import type { Socket } from '../stack/socket.js';
import type { Stack } from '../stack/stack.js';
import { LifecycleLogger, formatRecord, type LifecycleRecord } from './lifecycle-log.js';
import { openTunHost, describePairs, isUserFacingError, type CliIo, type TunHost } from './tun-host.js';
import { collect, intArg, parseCommand } from './args.js';
import { applySynRate, DeviceSetupError, SynRateGovernor, MAX_SYN_RATE } from '../link/tun-device.js';

export interface ServeOptions {
  tun?: string;
  addr: string[];
  peer: string[];
  mtu?: number;
  txqueuelen?: number;
  http?: number;
  echo?: number;
  discard?: number;
  unread?: number;
  pcap?: string;
  /** Lifecycle lines as text (default) or JSON lines. */
  logFormat?: 'text' | 'json';
  /** TCP receive/send buffer in bytes (default: the engine's, 1 MiB). */
  buffer?: number;
  /** Kernel TSO/checksum offloads on the device (see TunHostOptions.offload). */
  offload?: boolean;
  /** Read the device on the addon's reader thread (TunOpenOptions.readThread): for SYN floods; off by default. */
  readThread?: boolean;
  /**
   * Write the device from the addon's writer thread (TunOpenOptions.writeThread): the kernel's receive work for
   * each packet synack sends runs on another core. Off here; the CLI turns it on (--no-write-thread: off).
   */
  writeThread?: boolean;
  /**
   * The most bare SYNs per second the device's queue passes to synack (src/link/tun-device.ts applySynRate), so
   * that a SYN flood cannot crowd the established connections' packets out of it; below it the rate follows
   * what synack reads (SynRateGovernor). Default DEFAULT_SYN_RATE, applied when `tc` can (a warning otherwise);
   * 0: no limit, the kernel's default queueing.
   */
  synRate?: number;
}

/**
 * synack serve's highest SYN rate (see ServeOptions.synRate): above what synack reads on any machine, so the
 * rate is in practice what the governor finds (SynRateGovernor, nextSynRate: 0.7× when the device's queue
 * dropped packets, +10% every half second otherwise, resting at a tenth of it while nothing floods).
 */
export const DEFAULT_SYN_RATE = 1_000_000;

export interface ServeHandle {
  host: TunHost;
  stack: Stack;
  logger: LifecycleLogger;
  /** Every lifecycle record so far (also written to stdout). */
  records: LifecycleRecord[];
  /** What keeps the device's SYN rate (ServeOptions.synRate) under what synack reads; null without one. */
  synRate: SynRateGovernor | null;
  /** Graceful stop (FIN to open connections, RST after `graceMs`); resolves when the device is closed. */
  stop(graceMs?: number): Promise<void>;
  /** Resolves once stopped. */
  stopped: Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------
// The /bytes/N pattern: a fixed xorshift32 sequence with a prime period, so a reordered or shifted segment
// changes the digest of any body longer than a few bytes.

export const PATTERN_PERIOD = 65521;
const PATTERN = (() => {
  const b = Buffer.alloc(PATTERN_PERIOD + 65536); // one period plus a tail so any 64 KiB window is contiguous
  let x = 0x9e3779b9;
  for (let i = 0; i < PATTERN_PERIOD; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  b.copy(b, PATTERN_PERIOD, 0, 65536);
  return b;
})();

/** The body of `GET /bytes/N` from offset `start`, `n` bytes. */
export function patternBytes(n: number, start = 0): Buffer {
  const out = Buffer.allocUnsafe(n);
  let off = 0;
  while (off < n) {
    const p = (start + off) % PATTERN_PERIOD;
    const take = Math.min(n - off, 65536);
    PATTERN.copy(out, off, p, p + take);
    off += take;
  }
  return out;
}

/** Largest body /bytes/N serves (a typo must not stream for an hour). */
export const MAX_BYTES = 2 ** 40;

/** The `--http` service's handler (also run on kernel sockets by bench/http.ts, for the same work on both sides). */
export function httpHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '/';
  if (req.method === 'POST' || req.method === 'PUT') {
    const h = createHash('sha256');
    let n = 0;
    req.on('data', (d: Buffer) => { h.update(d); n += d.length; });
    req.on('end', () => {
      res.setHeader('content-type', 'text/plain');
      res.setHeader('x-body-length', String(n));
      res.end(h.digest('hex') + '\n');
    });
    return;
  }
  req.resume();
  const m = /^\/bytes\/(\d+)$/.exec(url);
  if (m && req.method === 'GET') {
    const n = Number(m[1]);
    if (!(n <= MAX_BYTES)) {
      res.statusCode = 400;
      return void res.end(`at most ${MAX_BYTES} bytes\n`);
    }
    res.setHeader('content-type', 'application/octet-stream');
    res.setHeader('content-length', String(n));
    let sent = 0;
    const pump = () => {
      while (sent < n) {
        const take = Math.min(n - sent, 65536);
        const p = sent % PATTERN_PERIOD;
        const more = res.write(PATTERN.subarray(p, p + take));
        sent += take;
        if (!more) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
    return;
  }
  if (url === '/rst' && req.method === 'GET') {
    // Start a response, then abort: the client sees data, then "Connection reset by peer" (curl exits 56).
    res.setHeader('content-length', '1000000');
    res.write('partial ');
    setTimeout(() => (req.socket as unknown as Socket).resetAndDestroy(), 50);
    return;
  }
  if (url === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
    res.setHeader('content-type', 'text/plain');
    return void res.end('synack serve: GET /bytes/N (N pattern bytes), POST (sha256 of the body), GET /rst (RST mid-response)\n');
  }
  res.statusCode = 404;
  res.end('not found\n');
}

/** Text written at the end of the event loop's turn (batchLines), or as soon as this much waits. */
export const LINE_BATCH_BYTES = 65536;

/**
 * The lifecycle lines of one turn of the event loop, written to `out` in one call at its end (setImmediate), or
 * once LINE_BATCH_BYTES wait; `flush` writes what waits now. The same text in the same order: under a connection
 * per request a write per line was a system call per connection to a file or terminal, with the stream's work
 * and objects (~1-2 us a line, ~0.2-0.4 joined by a hundred).
 */
export function batchLines(out: { write(text: string): unknown }): { push(line: string): void; flush(): void } {
  let text = '';
  let queued = false;
  const flush = (): void => {
    queued = false;
    if (text === '') return;
    const t = text;
    text = '';
    out.write(t);
  };
  return {
    push(line: string): void {
      text += line;
      if (text.length >= LINE_BATCH_BYTES) flush();
      else if (!queued) { queued = true; setImmediate(flush); }
    },
    flush,
  };
}

export async function startServe(o: ServeOptions, io: CliIo): Promise<ServeHandle> {
  // The send buffer grows with the congestion window, as a Linux socket's without SO_SNDBUF (tcp_sndbuf_expand):
  // a large response queued at once no longer holds the loop while ACKs wait (issue 15).
  const tcp = { sendBufferAutotune: true, ...(o.buffer ? { recvBufferSize: o.buffer, sendBufferSize: o.buffer } : {}) };
  const host = await openTunHost({ tun: o.tun, addr: o.addr, peer: o.peer, mtu: o.mtu, txqueuelen: o.txqueuelen, pcap: o.pcap, tcp, name: 'synack serve', offload: o.offload, readThread: o.readThread, writeThread: o.writeThread });
  const { stack } = host;
  const synRate = o.synRate ?? DEFAULT_SYN_RATE;
  let governor: SynRateGovernor | null = null;
  if (synRate > 0) {
    try {
      await applySynRate(host.link.name, synRate);
      // The rate is the most; the governor keeps it just under what synack reads on this machine.
      governor = new SynRateGovernor(host.link.name, {
        max: synRate,
        readStats: () => host.link.stats,
        onError: (e) => io.stderr.write(`synack serve: the SYN rate on ${host.link.name} no longer adapts: ${e.message}\n`),
      }).start();
    } catch (e) {
      if (o.synRate !== undefined || !(e instanceof DeviceSetupError)) { host.close(); throw e; }
      io.stderr.write(`synack serve: no SYN rate on ${host.link.name} (a SYN flood can crowd out connections): ${e.message}\n`);
    }
  }
  const records: LifecycleRecord[] = [];
  const json = o.logFormat === 'json';
  const lines = batchLines(io.stdout);
  const logger = new LifecycleLogger(stack, (r) => {
    records.push(r);
    if (records.length > 10_000) records.splice(0, 5_000); // bounded under floods
    lines.push((json ? JSON.stringify(r) : formatRecord(r)) + '\n');
  });
  host.link.onError((e) => io.stderr.write(`synack serve: ${e.message}\n`));

  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const track = (s: Socket) => { sockets.add(s); s.once('close', () => sockets.delete(s)); s.on('error', () => undefined); };
  const services: string[] = [];
  const listen = (port: number, what: string, allowHalfOpen: boolean, onConn: (s: Socket) => void, noDelay = false) => {
    const srv = new Server(stack, { allowHalfOpen, noDelay }, (s) => { track(s); onConn(s); });
    // stack.listen throws synchronously for EADDRINUSE; Server.listen defers it to 'error', so check first.
    if (stack.listenerFor(port)) throw Object.assign(new Error(`EADDRINUSE: --${what} port ${port} is already used by another service`), { code: 'EADDRINUSE' });
    srv.listen(port);
    servers.push(srv);
    services.push(`${what} :${port}`);
  };

  try {
    if (o.http !== undefined) {
      const httpServer = http.createServer(httpHandler);
      httpServer.on('clientError', (_e, s) => s.destroy());
      // node:http servers disable Nagle on every socket they accept (http.Server's noDelay, default true since
      // Node 18); a socket handed over by 'connection' misses that, so the listener sets it as net.Server would.
      listen(o.http, 'http', true, (s) => httpServer.emit('connection', s), (httpServer as { noDelay?: boolean }).noDelay !== false);
    }
    if (o.echo !== undefined) {
      listen(o.echo, 'echo', true, (s) => {
        // pipe() ends our side after the peer's FIN and after everything read has been written back.
        s.pipe(s);
      });
    }
    if (o.discard !== undefined) {
      listen(o.discard, 'discard', true, (s) => {
        s.on('data', () => undefined);
        s.on('end', () => s.end());
      });
    }
    if (o.unread !== undefined) {
      listen(o.unread, 'unread', true, (s) => {
        // Never read: wait for the first data in the receive buffer, then close(2) (RST, RFC 1122 §4.2.2.13).
        s.pause();
        const c = s.conn!;
        const check = setInterval(() => {
          if (c.tcp.readableLength > 0 || s.destroyed) {
            clearInterval(check);
            setTimeout(() => s.destroy(), 100);
          }
        }, 10);
      });
    }
  } catch (e) {
    logger.flush();
    lines.flush();
    governor?.stop();
    host.close();
    throw e;
  }
  io.stdout.write(`synack serve: ${host.link.name} up, mtu ${host.mtu}${host.link.offload ? ', offload' : ''}, ${describePairs(host.pairs)}; ${services.join(', ') || 'no services'}\n`);

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | null = null;
  let deadline = Infinity;
  const stop = (graceMs = 2000): Promise<void> => {
    // A second call may shorten the grace period (second Ctrl-C: abort now).
    deadline = Math.min(deadline, Date.now() + graceMs);
    if (stopping) return stopping;
    stopping = (async () => {
      governor?.stop();
      for (const s of servers) s.close();
      for (const s of sockets) s.end();
      while (Date.now() < deadline && stack.connectionCount > 0) await new Promise((r) => setTimeout(r, 20));
      for (const s of sockets) s.resetAndDestroy();
      stack.destroy();
      logger.flush();
      lines.flush(); // before 'stopped': the last lines come before what the caller prints then
      // Give the final segments (RSTs, last ACKs) a turn to be written before the device goes away.
      await new Promise((r) => setImmediate(r));
      try {
        host.close();
      } catch (e) {
        io.stderr.write(`synack serve: ${(e as Error).message}\n`);
      }
      resolveStopped();
    })();
    return stopping;
  };
  return { host, stack, logger, records, synRate: governor, stop, stopped };
}


/**
 * V8 flags `synack serve` runs with (serveCommand sets them before the device opens; bench/http.ts too, as it
 * measures serve as the CLI runs it). `--no-parallel-scavenge`: each young-generation GC runs on the event loop's
 * thread alone instead of being split across V8's worker threads. Under keep-alive HTTP a scavenge finds ~11 KB
 * still alive (of ~14 MB allocated), too little to share, while a worker that holds a share and is then
 * descheduled holds the whole pause until it runs again: with the event loop, the addon's writer thread and the
 * client on two cores, pauses of 2-45 ms instead of ~0.4. Measured (bench http, 10 runs with and 10 without,
 * alternated, loaded 2-core machine): ab -k -c20 rounds after the first, synack's scavenge pauses per round of
 * 20 000 requests median 7.1 ms (p90 10.4, highest 12.5) against 9.4 (p90 28.4, highest 60.3), the kernel
 * server's 6.7-6.9; per-run medians of the per-round ratio 1.08 (0.84-1.21) against 1.01 (0.77-1.19). Under ab
 * -c100 (~2 MB alive per scavenge) the event loop takes the work the workers did: its CPU per request 45.5 us
 * against 40.3, the other threads' 3.8 against 10.6, ratio medians 0.94 against 0.87.
 */
export const SERVE_V8_FLAGS: readonly string[] = ['--no-parallel-scavenge'];

/** Sets SERVE_V8_FLAGS in this process (V8 reads these at each collection, so they apply from the next one). */
export function applyServeV8Flags(): void {
  for (const f of SERVE_V8_FLAGS) setFlagsFromString(f);
}

export async function serveCommand(argv: string[], io: CliIo): Promise<number> {
  const program = new Command('serve')
    .description('run a synack stack on a TUN device, serving HTTP, echo and discard to the kernel')
    .option('--tun <name>', 'TUN device name (default: the kernel picks tunN)')
    .option('--addr <ip>', "synack's address (repeatable; IPv4 or IPv6)", collect, [])
    .option('--peer <ip/prefix>', "the kernel's address on the device with the prefix (repeatable)", collect, [])
    .option('--mtu <n>', 'device MTU', intArg('--mtu', 68, 65535), 1500)
    .option('--txqueuelen <n>', 'device queue length toward synack (default 4096)', intArg('--txqueuelen', 0, 0xffffffff))
    .option('--http <port>', 'HTTP server port', intArg('--http', 1, 65535))
    .option('--echo <port>', 'echo service port (RFC 862)', intArg('--echo', 1, 65535))
    .option('--discard <port>', 'discard service port (RFC 863)', intArg('--discard', 1, 65535))
    .option('--unread <port>', 'service that closes with unread data (RST)', intArg('--unread', 1, 65535))
    .option('--buffer <bytes>', 'TCP send and receive buffer size', intArg('--buffer', 4096, 1 << 30))
    .option('--pcap <file>', 'write every packet synack sends or receives to this pcapng file')
    .option('--offload', 'use the kernel\'s TSO/GSO and checksum offloads on the device (virtio-net header; the default)')
    .option('--no-offload', 'plain TUN device: every segment MTU-sized and checksummed in JS (captures then show the wire\'s segments)')
    .option('--read-thread', 'read the device on a thread of the addon: more SYNs per second under a flood, slower request/response')
    .option('--syn-rate <n>', `most bare SYNs per second the device's queue passes to synack (default ${DEFAULT_SYN_RATE}; 0: no limit). `
      + 'Under a SYN flood the rest wait in the kernel\'s qdisc (a local flooder is slowed to the rate) or are dropped there, instead of '
      + 'crowding established connections\' packets out of the device\'s queue; below it the rate follows what synack reads '
      + '(lowered when that queue drops packets, resting at a tenth while nothing floods). Needs tc with sch_htb and cls_u32 (a warning when the default cannot be applied)', intArg('--syn-rate', 0, MAX_SYN_RATE))
    .option('--write-thread', 'write the device from a thread of the addon: the kernel\'s receive work for each packet runs on another core (the default)')
    .option('--no-write-thread', 'write the device from the event loop')
    .addOption(new Option('--log-format <format>', 'lifecycle lines').choices(['text', 'json']).default('text'));
  const early = parseCommand(program, argv, io);
  if (early !== null) return early;
  const o = program.opts<ServeOptions & { logFormat: 'text' | 'json' }>();
  if (o.addr.length === 0 || o.peer.length === 0) {
    io.stderr.write("synack serve: give --addr (synack's address) and --peer (the kernel's address/prefix), e.g. --addr 10.77.0.2 --peer 10.77.0.1/24\n");
    return 2;
  }
  applyServeV8Flags();
  let h: ServeHandle;
  try {
    // Offload and the writer thread are the command's defaults (--no-offload, --no-write-thread turn them off);
    // startServe's callers choose explicitly.
    h = await startServe({ ...o, offload: o.offload !== false, writeThread: o.writeThread !== false }, io);
  } catch (e) {
    if (isUserFacingError(e)) {
      io.stderr.write(`synack serve: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      io.stderr.write(`synack serve: ${sig}: closing (again to abort)\n`);
      void h.stop();
    } else {
      void h.stop(0);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await h.stopped;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  const t = h.logger.totals;
  io.stderr.write(`synack serve: stopped; ${Object.entries(t).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'no connections'}\n`);
  return 0;
}
