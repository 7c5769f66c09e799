/**
 * Helpers for the tests where the Linux kernel's TCP is synack's peer over a TUN device. Everything here runs
 * INSIDE a network namespace made by runInNetns (the scripts call assertInNetns() first): curl, nc, python3,
 * tcpdump, ss only ever see the namespace's own `lo` and TUN device.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { netnsUnavailableReason } from '../link/netns.js';
import { tunUnavailableReason } from '../link/tun.js';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (never rejects): exit code, output. */
export function run(cmd: string, args: string[], opts: { timeoutMs?: number; input?: string | Buffer } = {}): Promise<RunResult & { out: Buffer }> {
  return new Promise((resolve) => {
    const p = execFile(cmd, args, { encoding: 'buffer', timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
      resolve({ code, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8'), out: stdout });
    });
    if (opts.input !== undefined) p.stdin?.end(opts.input);
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** One row of `ss -tan`: kernel socket state and endpoints. */
export interface SsRow {
  state: string;
  local: string;
  peer: string;
}

/** The kernel's TCP sockets in this namespace (`ss -tanH`), listeners included. */
export async function ssTcp(): Promise<SsRow[]> {
  const r = await run('ss', ['-tanH']);
  return r.stdout.split('\n').filter(Boolean).map((l) => {
    const f = l.trim().split(/\s+/);
    return { state: f[0]!, local: f[3]!, peer: f[4]! };
  });
}

/** tcpdump on an interface, writing a pcap; stop() waits until the file is complete. */
export async function startTcpdump(iface: string, file: string): Promise<{ stop(): Promise<string>; proc: ChildProcess }> {
  // -B: a 32 MiB capture buffer, so a busy machine does not make the capture lose packets the link carried.
  const p = spawn('tcpdump', ['-i', iface, '-n', '-U', '-s', '0', '-B', '32768', '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    p.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      if (err.includes('listening on')) resolve();
    });
    p.once('exit', (c) => reject(new Error(`tcpdump exited (${c}): ${err}`)));
    setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000).unref();
  });
  return {
    proc: p,
    /** Stops the capture; returns tcpdump's report ("N packets captured ... N packets dropped by kernel"). */
    async stop() {
      if (p.exitCode === null) {
        const done = new Promise((r) => p.once('exit', r));
        // tcpdump may lag behind on a busy machine: SIGUSR1 makes it print its counters; stop once it has
        // written everything the kernel handed it (captured == received by filter) and nothing new comes.
        let last = '';
        for (let i = 0; i < 100; i++) {
          const mark = err.length;
          p.kill('SIGUSR1');
          await sleep(50);
          const cap = /(\d+) packets? captured/.exec(err.slice(mark))?.[1];
          const rcv = /(\d+) packets? received by filter/.exec(err.slice(mark))?.[1];
          if (cap !== undefined && cap === rcv && cap === last) break;
          last = cap === rcv ? (cap ?? '') : '';
        }
        p.kill('SIGINT');
        await done;
      }
      return err;
    },
  };
}

/** `tshark -r FILE [-Y filter] -T fields -e ...`: one array of field values per packet. */
export async function tsharkFields(file: string, filter: string, fields: string[]): Promise<string[][]> {
  // Checksums are not verified by default (status "unverified"); ask for it.
  const args = ['-r', file, '-n', '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=\t', ...fields.flatMap((f) => ['-e', f])];
  if (filter) args.splice(2, 0, '-Y', filter);
  const r = await run('tshark', args, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`tshark failed (${r.code}): ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));
}

/** Why the kernel tests cannot run here, or null; `tools` must be on PATH. */
export function kernelTestSkipReason(tools: string[]): string | false {
  const r = netnsUnavailableReason() ?? tunUnavailableReason();
  if (r) return process.env.SYNACK_REQUIRE_TUN ? false : `kernel-peer tests need root, /dev/net/tun, unshare and the TUN addon: ${r}`;
  const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length && !process.env.SYNACK_REQUIRE_TUN) return `missing tools: ${missing.join(', ')} (apt-get install curl netcat-openbsd tshark tcpdump nmap hping3 python3-scapy iproute2)`;
  return false;
}

/** Spawns a synack CLI command (serve or connect) as its own process, through tsx, from this source tree. */
export function spawnCli(command: 'serve' | 'connect', args: string[]): ChildProcess {
  const mod = pathToFileURL(join(import.meta.dirname, `${command}.ts`)).href;
  const code = `const m = await import(${JSON.stringify(mod)});
process.exitCode = await m.${command}Command(process.argv.slice(1), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });`;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, '--', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Collects a child's output; resolves with its exit code. */
export function collectChild(p: ChildProcess): { stdout: () => Buffer; stderr: () => string; exit: Promise<number | null> } {
  const out: Buffer[] = [];
  let err = '';
  p.stdout?.on('data', (d: Buffer) => out.push(d));
  p.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
  return { stdout: () => Buffer.concat(out), stderr: () => err, exit };
}
