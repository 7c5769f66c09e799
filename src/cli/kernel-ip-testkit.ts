/**
 * A routed path for the IP-layer tests (path MTU, fragments, ECN), built INSIDE the namespace runInNetns made
 * (that namespace, "the host", holds synack's TUN device and forwards), with two more namespaces made here:
 *
 *   synack ── syn0 (TUN) ── host ──[a0 ↔ r0, MTU m1 (IPv4)]──── router ──[r1 ↔ p0, MTU m2 (IPv4)]──── peer
 *                                 └─[a1 ↔ r3, MTU m1v6 (IPv6)]──┘      └─[r2 ↔ p1, MTU m2v6 (IPv6)]──┘
 *
 * Addresses: synack 10.77.0.2 / fd77::2 (the host's end of the TUN 10.77.0.1 / fd77::1); host–router
 * 10.78.0.1–.2, fd78::1–::2; router–peer 10.79.0.1–.2 and fd79::1–::2. Both the host and the router forward,
 * so a router on the path, not synack's own link, limits the MTU (as a tunnel or PPPoE hop does; the peer's own link stays at 1500, so only ICMP can tell synack). The extra
 * namespaces are held by sleeping processes (no names under /run/netns) inside runInNetns's PID namespace, so
 * they disappear with it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { run, type RunResult } from './kernel-testkit.js';

export interface PathOptions {
  /** MTU of the host–router IPv4 link (default 1500). */
  m1?: number;
  /** MTU of the host–router IPv6 link (default 1500; at least 1280). */
  m1v6?: number;
  /** MTU of the router–peer IPv4 link (default 1500). */
  m2?: number;
  /** MTU of the router–peer IPv6 link (default 1500; at least 1280). */
  m2v6?: number;
}

/** A network namespace held by a sleeping process (nothing on the filesystem; it dies with the test's PID namespace). */
export interface Netns {
  pid: number;
  /** Runs a command in it, synchronously (setup only). */
  sync(cmd: string[]): void;
  /** Runs a shell command line in it, asynchronously (synack runs in this process), with pipefail. */
  sh(line: string, timeoutMs?: number): Promise<RunResult>;
  spawn(cmd: string[]): ChildProcess;
}

export function makeNetns(): Netns {
  const holder = spawn('unshare', ['--net', 'sleep', 'infinity'], { stdio: 'ignore' });
  const pid = holder.pid!;
  // unshare execs sleep in the same process once the namespace exists: wait until it has its own netns.
  const self = execFileSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).trim();
  for (let i = 0; i < 200; i++) {
    let ns = '';
    try { ns = execFileSync('readlink', [`/proc/${pid}/ns/net`], { encoding: 'utf8' }).trim(); } catch { /* not yet */ }
    if (ns && ns !== self) break;
    execFileSync('sleep', ['0.01']);
  }
  const enter = ['nsenter', `--net=/proc/${pid}/ns/net`, '--'];
  return {
    pid,
    sync: (cmd) => { execFileSync(enter[0]!, [...enter.slice(1), ...cmd], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 }); },
    sh: (line, timeoutMs = 60_000) => run(enter[0]!, [...enter.slice(1), 'bash', '-c', `set -o pipefail; ${line}`], { timeoutMs }),
    spawn: (cmd) => spawn(enter[0]!, [...enter.slice(1), ...cmd], { stdio: ['pipe', 'pipe', 'pipe'] }),
  };
}

export interface RoutedPath {
  router: Netns;
  peer: Netns;
}

function sh(args: string[]): void {
  execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

/** Builds the path (the TUN device syn0 must already be up with its addresses). */
export function buildRoutedPath(o: PathOptions = {}): RoutedPath {
  const router = makeNetns(), peer = makeNetns();
  const m1 = String(o.m1 ?? 1500), m1v6 = String(o.m1v6 ?? 1500), m2 = String(o.m2 ?? 1500), m2v6 = String(o.m2v6 ?? 1500);
  const inR = (...a: string[]) => router.sync(['ip', ...a]);
  const inP = (...a: string[]) => peer.sync(['ip', ...a]);
  // One link per family on each hop, so IPv4 can be narrower than IPv6 allows (RFC 8200 §5: 1280 at least).
  sh(['ip', 'link', 'add', 'a0', 'mtu', m1, 'type', 'veth', 'peer', 'name', 'r0', 'mtu', m1, 'netns', String(router.pid)]);
  sh(['ip', 'link', 'add', 'a1', 'mtu', m1v6, 'type', 'veth', 'peer', 'name', 'r3', 'mtu', m1v6, 'netns', String(router.pid)]);
  inR('link', 'add', 'r1', 'mtu', m2, 'type', 'veth', 'peer', 'name', 'p0', 'mtu', m2, 'netns', String(peer.pid));
  inR('link', 'add', 'r2', 'mtu', m2v6, 'type', 'veth', 'peer', 'name', 'p1', 'mtu', m2v6, 'netns', String(peer.pid));
  sh(['ip', 'addr', 'add', '10.78.0.1/24', 'dev', 'a0']);
  sh(['ip', 'addr', 'add', 'fd78::1/64', 'dev', 'a1', 'nodad']);
  sh(['ip', 'link', 'set', 'a0', 'up']);
  sh(['ip', 'link', 'set', 'a1', 'up']);
  inR('link', 'set', 'lo', 'up');
  inR('addr', 'add', '10.78.0.2/24', 'dev', 'r0');
  inR('addr', 'add', 'fd78::2/64', 'dev', 'r3', 'nodad');
  inR('addr', 'add', '10.79.0.1/24', 'dev', 'r1');
  inR('addr', 'add', 'fd79::1/64', 'dev', 'r2', 'nodad');
  for (const d of ['r0', 'r1', 'r2', 'r3']) inR('link', 'set', d, 'up');
  inP('link', 'set', 'lo', 'up');
  inP('addr', 'add', '10.79.0.2/24', 'dev', 'p0');
  inP('addr', 'add', 'fd79::2/64', 'dev', 'p1', 'nodad');
  for (const d of ['p0', 'p1']) inP('link', 'set', d, 'up');
  sh(['ip', 'route', 'add', '10.79.0.0/24', 'via', '10.78.0.2']);
  sh(['ip', '-6', 'route', 'add', 'fd79::/64', 'via', 'fd78::2']);
  inR('route', 'add', '10.77.0.0/24', 'via', '10.78.0.1');
  inR('-6', 'route', 'add', 'fd77::/64', 'via', 'fd78::1');
  inP('route', 'add', 'default', 'via', '10.79.0.1');
  inP('-6', 'route', 'add', 'default', 'via', 'fd79::1');
  for (const run1 of [sh, (a: string[]) => router.sync(a)]) {
    run1(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    run1(['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
  }
  return { router, peer };
}
