/**
 * Test helper: runs a Node script inside a fresh, private network namespace, so TUN devices, addresses and
 * routes a test creates never touch the root namespace (which has a real default route).
 *
 * How: `unshare --net --pid --fork --kill-child --mount-proc -- node [--import tsx] --import netns.ts SCRIPT`.
 * The namespace is anonymous and exists only as long as a process lives in it. The private PID namespace
 * makes the script PID 1 of it, so when the script ends (or is killed on timeout) the kernel kills every
 * process it left behind (ping, nc -l, ...) and the network namespace with its devices disappears: cleanup
 * cannot be forgotten. Before the script runs, this module (loaded with --import) checks that the namespace
 * is fresh (only `lo`) and brings `lo` up.
 *
 * The TUN device must be opened by the script itself (a process inside the namespace): a device belongs to
 * the namespace of the process that creates it.
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const RESULT_MARK = '@@synack-netns-result ';
const BOOT_ENV = 'SYNACK_NETNS_BOOT';
/** Set in the script's environment: the tag of the namespace it runs in. */
export const NETNS_ENV = 'SYNACK_NETNS';

export interface NetnsRun {
  /** Exit code of the script (null when killed). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** What the script passed to reportResult(), when it did. */
  result: unknown;
  timedOut: boolean;
}

export interface NetnsOptions {
  /** Kill the whole namespace after this long (default 60 s). */
  timeoutMs?: number;
  /** Extra environment for the script. */
  env?: Record<string, string>;
  /** Written to the script's stdin, which is then closed. */
  input?: string | Uint8Array;
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

const UNSHARE_ARGS = ['--net', '--pid', '--fork', '--kill-child', '--mount-proc'];

let unavailable: string | null | undefined;

/**
 * Why runInNetns cannot work here (for test skips), or null when it can: Linux, root, `unshare` and `ip`
 * present, and creating a namespace actually succeeds (containers may forbid it).
 */
export function netnsUnavailableReason(): string | null {
  if (unavailable !== undefined) return unavailable;
  unavailable = probe();
  return unavailable;
}

function probe(): string | null {
  if (process.platform !== 'linux') return `network namespaces are Linux-only (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root (creating a network namespace needs CAP_SYS_ADMIN)';
  const ip = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (ip.error) return "iproute2's `ip` is not installed (apt-get install iproute2)";
  const r = spawnSync('unshare', [...UNSHARE_ARGS, '--', 'ip', 'link', 'show'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return `\`unshare\` (util-linux) cannot run: ${r.error.message}`;
  if (r.status !== 0) return `\`unshare ${UNSHARE_ARGS.join(' ')}\` fails here: ${(r.stderr || '').trim()}`;
  return null;
}

/**
 * Runs `script` (a .ts file through tsx, or a .js/.mjs file; a path or file: URL) with `args` inside a fresh
 * network namespace and resolves when it ends, with its output. Never rejects for the script's own failure:
 * look at `code`; rejects only when the namespace could not be created at all.
 */
export function runInNetns(script: string | URL, args: string[] = [], opts: NetnsOptions = {}): Promise<NetnsRun> {
  const file = script instanceof URL || script.startsWith('file:') ? fileURLToPath(script) : script;
  const tag = `synack-${randomBytes(4).toString('hex')}`;
  const nodeArgs: string[] = [];
  if (/\.[cm]?ts$/.test(file)) nodeArgs.push('--import', 'tsx');
  nodeArgs.push('--import', import.meta.url, file, ...args);
  const child = spawn('unshare', [...UNSHARE_ARGS, '--', process.execPath, ...nodeArgs], {
    cwd: packageRoot(),
    env: childEnv({ ...process.env, ...opts.env, [BOOT_ENV]: '1', [NETNS_ENV]: tag }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => undefined); // the script may exit without reading its input
  child.stdin.end(opts.input ?? '');
  let timedOut = false;
  // SIGKILL: the script is PID 1 of its PID namespace, which ignores signals it has no handler for; killing
  // unshare (--kill-child) kills the script, and with it everything in the namespace.
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start unshare: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let result: unknown;
      const keep: string[] = [];
      for (const line of stdout.split('\n')) {
        if (line.startsWith(RESULT_MARK)) result = JSON.parse(line.slice(RESULT_MARK.length));
        else keep.push(line);
      }
      resolve({ code, signal, stdout: keep.join('\n'), stderr, result, timedOut });
    });
  });
}

/**
 * Like runInNetns, for a snippet of TypeScript/ESM instead of a file. The snippet is written under
 * node_modules/.cache/synack-netns/ (so bare imports resolve through the package's node_modules), run, and
 * deleted. Relative imports cannot work from there: import the package's own modules by absolute URL.
 */
export async function runCodeInNetns(code: string, args: string[] = [], opts: NetnsOptions = {}): Promise<NetnsRun> {
  const dir = join(packageRoot(), 'node_modules', '.cache', 'synack-netns');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `snippet-${process.pid}-${randomBytes(4).toString('hex')}.mts`);
  writeFileSync(file, code);
  try {
    return await runInNetns(file, args, opts);
  } finally {
    rmSync(file, { force: true });
  }
}

/** The script is a plain program, not a child of `node --test` (which would make node:test report over stdout). */
function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/** In the script: hands a JSON-serialisable value back to runInNetns's `result`. */
export function reportResult(value: unknown): void {
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(value)}\n`);
}

/** In the script: throws unless it runs inside a namespace made by runInNetns. */
export function assertInNetns(): string {
  const tag = process.env[NETNS_ENV];
  if (!tag || process.pid !== 1) throw new Error('not running inside a synack test network namespace (use runInNetns)');
  return tag;
}

/** Runs in the script's process before the script: refuse anything but a fresh namespace, then bring lo up. */
function boot(): void {
  delete process.env[BOOT_ENV]; // only once, even if the script imports this module again
  const links = JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as Array<{ ifname: string }>;
  const names = links.map((l) => l.ifname);
  if (names.length !== 1 || names[0] !== 'lo') {
    process.stderr.write(`synack netns: refusing to run: this is not a fresh network namespace (links: ${names.join(', ')})\n`);
    process.exit(97);
  }
  execFileSync('ip', ['link', 'set', 'dev', 'lo', 'up']);
}

if (process.env[BOOT_ENV] === '1' && process.pid === 1) boot();
