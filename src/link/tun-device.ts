/**
 * Configures a TUN device from Node with iproute2's `ip` and `tc` (execFile, no shell): addresses (IPv4 and
 * IPv6, several), MTU, txqueuelen, link up, and the SYN rate (applySynRate). Runs in the caller's network namespace, so the process that opened the
 * TUN device (and lives in the test's namespace) configures it.
 *
 * Addressing: synack's stack and the kernel are the two ends of the point-to-point link. For each pair the
 * KERNEL's address is put on the device with the pair's prefix (`ip addr replace 10.77.0.1/24 dev tun0`), so
 * the kernel routes the rest of the prefix, including the STACK's address 10.77.0.2, into the device, where
 * synack reads it. (Putting the stack's address on the device would make the kernel answer it itself.)
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { parseAddress, formatAddress } from '../wire/address.js';

export type DeviceSetupErrorCode =
  | 'EPERM' // not root / no CAP_NET_ADMIN
  | 'ENOENT' // `ip` or `tc` (iproute2) not installed
  | 'ENODEV' // no such device
  | 'EINVAL' // a bad address, prefix, MTU or txqueuelen (ours or the kernel's verdict)
  | 'EIP'; // any other failure of `ip` or `tc`, with its stderr

export class DeviceSetupError extends Error {
  readonly code: DeviceSetupErrorCode;
  /** The argv that failed, when `ip` ran. */
  readonly command: string[] | undefined;
  readonly stderr: string;
  constructor(code: DeviceSetupErrorCode, message: string, command?: string[], stderr = '') {
    super(message);
    this.name = 'DeviceSetupError';
    this.code = code;
    this.command = command;
    this.stderr = stderr;
  }
}

/** One end-to-end address pair on the link: the stack's address and the kernel's, sharing a prefix. */
export interface TunAddressPair {
  /** synack's address (e.g. 10.77.0.2): packets to it come out of the TUN device. */
  stack: string;
  /** The kernel's address on the device (e.g. 10.77.0.1). */
  kernel: string;
  /** Prefix length of the on-link subnet (e.g. 24, 64); the stack's address must be inside it. */
  prefix: number;
}

export interface TunDeviceConfig {
  name: string;
  addresses?: TunAddressPair[];
  /** 68..65535 for IPv4-only; IPv6 needs ≥ 1280 (RFC 8200 §5). */
  mtu?: number;
  txqueuelen?: number;
  /**
   * Bare SYNs per second the kernel hands the device; more wait in its queueing discipline (applySynRate).
   * Absent or 0: the device's queueing is left as the kernel made it.
   */
  synRate?: number;
  /** Bring the link up (default true). */
  up?: boolean;
  /**
   * Stop the kernel's own IPv6 chatter on the device (router solicitations) so the stack sees only the
   * traffic a test or user causes (default true). Best effort.
   */
  quietIpv6?: boolean;
}

/**
 * Parses the CLI form `--addr 10.77.0.2 --peer 10.77.0.1/24` (several of each, any order of families): each
 * stack address is paired with the next unused kernel address of the same family. Every peer must carry a
 * prefix length, and the stack's address must be inside it (it has to be on-link for the kernel to route it
 * into the device).
 */
export function pairAddresses(stackAddrs: string[], kernelPeers: string[]): TunAddressPair[] {
  const peers = kernelPeers.map((p) => {
    const slash = p.lastIndexOf('/');
    if (slash < 0) throw new DeviceSetupError('EINVAL', `peer ${JSON.stringify(p)} needs a prefix length (e.g. 10.77.0.1/24 or fd77::1/64)`);
    const addr = p.slice(0, slash);
    const prefix = Number(p.slice(slash + 1));
    return { addr, prefix, family: familyOf(addr, 'peer'), used: false };
  });
  const pairs: TunAddressPair[] = [];
  for (const s of stackAddrs) {
    if (s.includes('/')) throw new DeviceSetupError('EINVAL', `address ${JSON.stringify(s)}: give the stack's address without a prefix; the prefix goes on --peer`);
    const family = familyOf(s, 'address');
    const peer = peers.find((p) => !p.used && p.family === family);
    if (!peer) throw new DeviceSetupError('EINVAL', `address ${s} has no IPv${family} --peer to pair with`);
    peer.used = true;
    const pair = { stack: s, kernel: peer.addr, prefix: peer.prefix };
    checkPair(pair);
    pairs.push(pair);
  }
  const unused = peers.filter((p) => !p.used);
  if (unused.length) throw new DeviceSetupError('EINVAL', `peer ${unused.map((p) => `${p.addr}/${p.prefix}`).join(', ')} has no --addr of the same family`);
  return pairs;
}

function familyOf(addr: string, what: string): 4 | 6 {
  let bytes: Uint8Array;
  try {
    bytes = parseAddress(addr);
  } catch (e) {
    throw new DeviceSetupError('EINVAL', `${what} ${JSON.stringify(addr)} is not an IP address: ${(e as Error).message}`);
  }
  return bytes.length === 4 ? 4 : 6;
}

function samePrefix(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  for (let bit = 0; bit < prefix; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((a[bit >> 3]! & m) !== (b[bit >> 3]! & m)) return false;
  }
  return true;
}

/** Validates one pair: same family, distinct, on the same prefix. */
export function checkPair(p: TunAddressPair): void {
  const fs = familyOf(p.stack, 'stack address');
  const fk = familyOf(p.kernel, 'kernel address');
  if (fs !== fk) throw new DeviceSetupError('EINVAL', `stack address ${p.stack} and kernel address ${p.kernel} are of different families`);
  const max = fs === 4 ? 32 : 128;
  if (!Number.isInteger(p.prefix) || p.prefix < 0 || p.prefix > max) {
    throw new DeviceSetupError('EINVAL', `prefix /${p.prefix} is not valid for IPv${fs} (0..${max})`);
  }
  const a = parseAddress(p.stack);
  const b = parseAddress(p.kernel);
  if (formatAddress(a) === formatAddress(b)) throw new DeviceSetupError('EINVAL', `stack and kernel address are both ${p.stack}`);
  if (p.prefix === max || !samePrefix(a, b, p.prefix)) {
    throw new DeviceSetupError('EINVAL', `stack address ${p.stack} is not inside the kernel's ${p.kernel}/${p.prefix}: the kernel would not route it into the device`);
  }
}

/** Runs `ip ARGS...` and maps failures to DeviceSetupError. */
export function runIp(args: string[]): Promise<string> {
  return runIproute2('ip', args);
}

/** Runs iproute2's `tc ARGS...` and maps failures to DeviceSetupError. */
export function runTc(args: string[]): Promise<string> {
  return runIproute2('tc', args);
}

function runIproute2(tool: 'ip' | 'tc', args: string[]): Promise<string> {
  const argv = [tool, ...args];
  return new Promise((resolve, reject) => {
    execFile(tool, args, { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const e = err as NodeJS.ErrnoException & { code?: string | number };
      if (e.code === 'ENOENT') {
        return reject(new DeviceSetupError('ENOENT', `iproute2's \`${tool}\` command was not found (install it: apt-get install iproute2)`, argv));
      }
      const msg = (stderr || e.message).trim();
      let code: DeviceSetupErrorCode = 'EIP';
      if (/Operation not permitted|Permission denied/i.test(msg)) code = 'EPERM';
      else if (/Cannot find device|does not exist|No such device/i.test(msg)) code = 'ENODEV';
      else if (/Invalid argument|invalid|Error: .*(argument|value)/i.test(msg)) code = 'EINVAL';
      const hint = code === 'EPERM' ? ' (configuring a network device needs root / CAP_NET_ADMIN)' : '';
      reject(new DeviceSetupError(code, `\`${argv.join(' ')}\` failed: ${msg}${hint}`, argv, stderr));
    });
  });
}

/** Applies a configuration: MTU, txqueuelen, addresses (IPv6 with nodad: usable at once), then up. */
export async function configureTunDevice(cfg: TunDeviceConfig): Promise<void> {
  const { name } = cfg;
  if (typeof name !== 'string' || !/^[^\s/]{1,15}$/.test(name)) throw new DeviceSetupError('EINVAL', `invalid device name ${JSON.stringify(name)}`);
  const pairs = cfg.addresses ?? [];
  for (const p of pairs) checkPair(p);
  const hasV6 = pairs.some((p) => p.kernel.includes(':'));
  if (cfg.mtu !== undefined) {
    if (!Number.isInteger(cfg.mtu) || cfg.mtu < 68 || cfg.mtu > 65535) throw new DeviceSetupError('EINVAL', `MTU ${cfg.mtu} is outside 68..65535`);
    if (hasV6 && cfg.mtu < 1280) throw new DeviceSetupError('EINVAL', `MTU ${cfg.mtu} is below IPv6's minimum of 1280 (RFC 8200 §5)`);
  }
  if (cfg.txqueuelen !== undefined && (!Number.isInteger(cfg.txqueuelen) || cfg.txqueuelen < 0 || cfg.txqueuelen > 0xffffffff)) {
    throw new DeviceSetupError('EINVAL', `txqueuelen ${cfg.txqueuelen} is not a non-negative 32-bit integer`);
  }
  if (cfg.synRate !== undefined) checkSynRate(cfg.synRate);
  if (hasV6 && cfg.quietIpv6 !== false) {
    // Per-namespace sysctl: /proc/sys/net reflects the network namespace of the process that opens it.
    await writeFile(`/proc/sys/net/ipv6/conf/${name}/router_solicitations`, '0').catch(() => undefined);
  }
  const link: string[] = [];
  if (cfg.mtu !== undefined) link.push('mtu', String(cfg.mtu));
  if (cfg.txqueuelen !== undefined) link.push('txqueuelen', String(cfg.txqueuelen));
  if (link.length) await runIp(['link', 'set', 'dev', name, ...link]);
  for (const p of pairs) {
    const v6 = p.kernel.includes(':');
    // replace, not add: re-running a configuration is not an error. nodad (RFC 4862 §5.4 DAD skipped): the
    // address is usable at once instead of "tentative" for ~1 s; the link has exactly two ends we control.
    await runIp([v6 ? '-6' : '-4', 'addr', 'replace', `${p.kernel}/${p.prefix}`, 'dev', name, ...(v6 ? ['nodad'] : [])]);
  }
  if (cfg.synRate) await applySynRate(name, cfg.synRate);
  if (cfg.up !== false) await runIp(['link', 'set', 'dev', name, 'up']);
}

/** Most SYNs per second applySynRate takes (far beyond what any reader takes from a TUN device). */
export const MAX_SYN_RATE = 100_000_000;
/** Bytes HTB counts for each SYN (its `mpu`): every SYN up to an Ethernet MTU costs the same, so the byte rate is a packet rate. */
const SYN_RATE_MPU = 1500;
/** SYNs the class may send at once after an idle period. */
const SYN_RATE_BURST = 100;
/** The class's FIFO holds at most this long of SYNs at the rate (and at least SYN_RATE_MIN_QUEUE): a SYN kept longer is better dropped. */
const SYN_RATE_QUEUE_MS = 20;
const SYN_RATE_MIN_QUEUE = 256;

function checkSynRate(rate: number): void {
  if (!Number.isInteger(rate) || rate < 0 || rate > MAX_SYN_RATE) throw new DeviceSetupError('EINVAL', `SYN rate ${rate} is not an integer in 0..${MAX_SYN_RATE}`);
}

/**
 * Lets at most `synsPerSecond` bare SYNs (SYN without ACK, RST or FIN) a second through the device's queue
 * toward synack; everything else goes straight through. Why: Linux's tun driver never stops its queue
 * (tun_net_xmit drops a packet when the ring of txqueuelen packets it holds for the reader is full; measured
 * on 6.18: the qdisc's backlog and requeues stay 0 while tx_dropped counts every packet the reader did not
 * take in time), so a queueing discipline in front of it never holds anything and cannot choose what is
 * dropped. Under a SYN flood faster than synack reads, the ring then drops whatever comes next: a legitimate
 * client's SYN, handshake ACK or request as likely as the flood's. With the SYNs beyond the rate held in an
 * HTB class instead, the ring only overflows if synack cannot take that many SYNs plus the rest, and the
 * established connections' packets never wait behind the flood. A packet held in a qdisc still belongs to the
 * socket that sent it (tun orphans it only when it takes it into the ring), so a local flooder blocks on its
 * socket's send buffer and is slowed to the rate, as veth slows it to the kernel's own processing; a remote
 * flood beyond the rate is dropped from the class's FIFO (its 'dropped' counter: synRateStats), where a
 * legitimate SYN has the same chance as any other, and its retransmission another.
 *
 * What tc sets up (root qdisc replaced): `htb default 0`, so unclassified packets bypass the classes through
 * HTB's direct queue, first; class 1:2 at synsPerSecond × 1500 bytes/s with `mpu 1500` (each SYN counts as 1500
 * bytes, whatever its size: a packet rate); a pfifo of SYN_RATE_QUEUE_MS worth of SYNs under it; u32 filters
 * sending IPv4 (no IP options) and IPv6 (TCP as the first next header) bare SYNs to it. A SYN with IP options
 * or IPv6 extension headers is not matched and goes straight through. Idempotent. Needs sch_htb and cls_u32.
 */
export async function applySynRate(name: string, synsPerSecond: number): Promise<void> {
  checkSynRate(synsPerSecond);
  // Whatever was there first (a re-run, or the kernel's default): `del` fails when only the default exists.
  await runTc(['qdisc', 'del', 'dev', name, 'root']).catch((e: DeviceSetupError) => { if (e.code !== 'EIP' && e.code !== 'EINVAL') throw e; });
  if (synsPerSecond === 0) return;
  const limit = String(Math.max(SYN_RATE_MIN_QUEUE, Math.ceil((synsPerSecond * SYN_RATE_QUEUE_MS) / 1000)));
  await runTc(['qdisc', 'add', 'dev', name, 'root', 'handle', '1:', 'htb', 'default', '0']);
  await runTc(['class', 'add', ...synClassArgs(name, synsPerSecond)]);
  await runTc(['qdisc', 'add', 'dev', name, 'parent', '1:2', 'handle', '2:', 'pfifo', 'limit', limit]);
  // TCP flags byte (RFC 9293 §3.1) & (ACK|RST|SYN|FIN) == SYN: at 20 + 13 in IPv4 with a 20-byte header (first
  // byte 0x45), at 40 + 13 in IPv6 with TCP as next header.
  await runTc(['filter', 'add', 'dev', name, 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32',
    'match', 'u8', '0x45', '0xff', 'at', '0', 'match', 'u8', '6', '0xff', 'at', '9', 'match', 'u8', '0x02', '0x17', 'at', '33', 'classid', '1:2']);
  await runTc(['filter', 'add', 'dev', name, 'parent', '1:', 'protocol', 'ipv6', 'prio', '2', 'u32',
    'match', 'u8', '6', '0xff', 'at', '6', 'match', 'u8', '0x02', '0x17', 'at', '53', 'classid', '1:2']);
}

/** tc's arguments after `class add|change` for the SYN class at `synsPerSecond`. */
function synClassArgs(name: string, synsPerSecond: number): string[] {
  const rate = `${synsPerSecond * SYN_RATE_MPU}bps`; // tc: bps = bytes per second
  const burst = String(SYN_RATE_BURST * SYN_RATE_MPU);
  return ['dev', name, 'parent', '1:', 'classid', '1:2', 'htb', 'rate', rate, 'ceil', rate, 'burst', burst, 'cburst', burst, 'mpu', String(SYN_RATE_MPU), 'quantum', String(SYN_RATE_MPU)];
}

/** Changes the rate of the SYN class applySynRate made (1..MAX_SYN_RATE; its FIFO's length stays). */
export async function changeSynRate(name: string, synsPerSecond: number): Promise<void> {
  checkSynRate(synsPerSecond);
  if (synsPerSecond === 0) throw new DeviceSetupError('EINVAL', 'a SYN rate of 0 is no rate: use applySynRate(name, 0) to remove it');
  await runTc(['class', 'change', ...synClassArgs(name, synsPerSecond)]);
}

/** What the device did over one interval, as SynRateGovernor sees it. */
export interface SynRateSample {
  /** Packets the device's ring dropped (its tx_dropped grew by this much): synack did not read them in time. */
  ringDrops: number;
  /** Mean packets per read callback (TunStats rxPackets / rxBatches over the interval; 0 when none). */
  readBatch: number;
  /** Packets synack read per second over the interval (what it took: under a flood, mostly the SYNs). */
  readPerSecond: number;
  /**
   * The share of the interval the reading event loop was busy (0..1; Node's eventLoopUtilization), when known:
   * the headroom synack had. Absent: the rule rises by 10 % at most.
   */
  utilization?: number;
}

/** A read that finds this many packets waiting means the ring holds a standing queue: synack is behind. */
export const SYN_RATE_BACKLOG_BATCH = 512;

/** The rate binds when synack read at least this share of it: the flood is held by the rate, not by its sender. */
export const SYN_RATE_BINDING = 0.8;

/**
 * The governor's rule, as a pure function: the next SYN rate from the current one and what the interval showed.
 * synack falling behind (the ring dropped packets, or reads find a standing queue) → a multiplicative decrease
 * to 0.7× the rate (0.7× what synack read in that interval when the rate was more than twice that), at least
 * `min`. Otherwise up, at most `max` and at most twice what synack read (but max / 10 is always allowed): by
 * 10 %, or, when the rate binds (synack read at least SYN_RATE_BINDING of it) and its event loop had headroom,
 * by 50 % (busy under half the time) or 25 % (under 80 %): a rate far under what synack can take climbs to it in
 * a few intervals instead of a few seconds (from max / 10 to 2.8 times that: 3 intervals at 50 %, 11 at 10 %),
 * which is most of a short flood. As TCP's congestion control probes a path, the rate settles just under what
 * synack can read on this machine at this moment (which no fixed rate can know: it depends on the CPU and on
 * what else runs), and rests at max / 10 while nothing floods.
 */
export function nextSynRate(rate: number, sample: SynRateSample, min: number, max: number): number {
  const behind = sample.ringDrops > 0 || sample.readBatch >= SYN_RATE_BACKLOG_BATCH;
  // A rate far above what was read (the first flood after a calm period at `max`) says nothing: start from
  // what was read. Otherwise from the rate: a stall within the interval (a GC, the process descheduled on a
  // busy machine) lowers what was read, not what synack can read.
  const base = rate > 2 * sample.readPerSecond ? sample.readPerSecond : rate;
  const u = sample.utilization;
  const binding = u !== undefined && sample.readPerSecond >= SYN_RATE_BINDING * rate;
  const up = !binding ? (rate * 11) / 10 : u < 0.5 ? (rate * 3) / 2 : u < 0.8 ? (rate * 5) / 4 : (rate * 11) / 10;
  // Not behind: up, but not past twice what synack reads (and at least max / 10), so that after a calm period
  // the next flood meets a rate near the traffic rather than `max`, and the ring is not overrun until the
  // first decrease.
  const next = behind ? Math.floor(0.7 * base) : Math.min(Math.ceil(up), Math.floor(Math.max(max / 10, 2 * sample.readPerSecond)));
  return Math.max(min, Math.min(max, next));
}

/** Fewer packets read than this in an interval: the governor does not read the device's drop counter. */
const SYN_RATE_QUIET_PACKETS = 100;

/** Options of SynRateGovernor. */
export interface SynRateGovernorOptions {
  /** The highest rate, and the first (the class applySynRate made at this rate). */
  max: number;
  /** The lowest rate (default max / 100, at least 1). */
  min?: number;
  /** How often it looks (default 500 ms). */
  intervalMs?: number;
  /** The device's read counters (TunLink.stats): a standing queue shows as large read batches. */
  readStats?: () => { rxPackets: number; rxBatches: number };
  /** Reports a failure of `ip`/`tc` (then it stops). */
  onError?: (e: Error) => void;
  /**
   * How busy the event loop that reads the device was since the last call (0..1), for nextSynRate's faster rise
   * when synack has headroom. Default, with readStats: this process's event loop (performance.eventLoopUtilization),
   * which is the reading loop in synack serve; null: not known (the rate rises by 10 % at most).
   */
  utilization?: (() => number) | null;
  /** @internal Injected for tests: the clock (default performance.now), the device's drop counter (deviceTxDropped), the rate change (changeSynRate). */
  now?: () => number;
  txDropped?: (name: string) => Promise<number>;
  changeRate?: (name: string, synsPerSecond: number) => Promise<void>;
}

/** The share of the time this process's event loop was busy since the previous call (Node's eventLoopUtilization). */
function loopUtilization(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const d = performance.eventLoopUtilization(last);
    last = performance.eventLoopUtilization();
    return d.utilization;
  };
}

/**
 * Keeps the SYN class's rate (applySynRate) just under what synack reads: every interval it reads the device's
 * drop counter (deviceTxDropped) and read batches, and changes the class's rate with `tc` by nextSynRate.
 * Costs a read of /proc/self/net/dev per interval while traffic flows (none while the device is quiet), and a `tc`
 * process when it changes the rate.
 * The timer does not keep the process alive.
 */
export class SynRateGovernor {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  #rate: number;
  #changes = 0;
  #timer: NodeJS.Timeout | null = null;
  #busy = false;
  #lastDrops = -1;
  #lastRead = { rxPackets: 0, rxBatches: 0, at: 0 };
  #stopped = false;
  #based = false;
  readonly #opts: SynRateGovernorOptions;
  readonly #now: () => number;
  readonly #utilization: (() => number) | null;

  constructor(name: string, opts: SynRateGovernorOptions) {
    checkSynRate(opts.max);
    this.name = name;
    this.max = opts.max;
    this.min = Math.max(1, Math.min(opts.max, opts.min ?? Math.floor(opts.max / 100)));
    this.#rate = opts.max;
    this.#opts = opts;
    this.#now = opts.now ?? (() => performance.now());
    this.#utilization = opts.utilization !== undefined ? opts.utilization : opts.readStats ? loopUtilization() : null;
  }

  /** The class's rate now, SYNs per second. */
  get rate(): number {
    return this.#rate;
  }

  /** How many times it changed the rate. */
  get changes(): number {
    return this.#changes;
  }

  start(): this {
    if (this.#timer !== null) return this;
    this.#stopped = false;
    this.#baseline();
    this.#timer = setInterval(() => void this.sample(), this.#opts.intervalMs ?? 500);
    this.#timer.unref();
    return this;
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#stopped = true;
  }

  /** The read counters (and the loop's busy share) from now on, for the first interval. */
  #baseline(): void {
    this.#based = true;
    if (this.#opts.readStats) { const r = this.#opts.readStats(); this.#lastRead = { rxPackets: r.rxPackets, rxBatches: r.rxBatches, at: this.#now() }; }
    this.#utilization?.();
  }

  /**
   * One look (what the timer runs every interval): the interval's counters, nextSynRate, and the class's rate
   * changed when the rule says so. @internal Called by tests with an injected clock and counters; the first call
   * without start() only takes the baseline.
   */
  async sample(): Promise<void> {
    if (this.#busy || this.#stopped) return;
    if (!this.#based) { this.#baseline(); return; }
    this.#busy = true;
    try {
      // Without read counters the rule falls back to 0.7× the rate.
      let readBatch = 0, readPerSecond = Infinity, packets = Infinity;
      const utilization = this.#utilization?.();
      if (this.#opts.readStats) {
        const r = this.#opts.readStats(), at = this.#now();
        packets = r.rxPackets - this.#lastRead.rxPackets;
        const batches = r.rxBatches - this.#lastRead.rxBatches;
        if (batches > 0) readBatch = packets / batches;
        readPerSecond = at > this.#lastRead.at ? (packets * 1000) / (at - this.#lastRead.at) : Infinity;
        this.#lastRead = { rxPackets: r.rxPackets, rxBatches: r.rxBatches, at };
      }
      // A quiet device (synack read next to nothing, so it was not behind) needs no reading of its drops.
      let ringDrops = 0;
      if (packets >= SYN_RATE_QUIET_PACKETS || this.#lastDrops < 0) {
        const drops = await (this.#opts.txDropped ?? deviceTxDropped)(this.name);
        ringDrops = this.#lastDrops < 0 ? 0 : drops - this.#lastDrops;
        this.#lastDrops = drops;
      }
      const next = nextSynRate(this.#rate, { ringDrops, readBatch, readPerSecond, utilization }, this.min, this.max);
      if (next !== this.#rate && !this.#stopped) {
        await (this.#opts.changeRate ?? changeSynRate)(this.name, next);
        this.#rate = next;
        this.#changes++;
      }
    } catch (e) {
      this.stop();
      this.#opts.onError?.(e as Error);
    } finally {
      this.#busy = false;
    }
  }
}

/**
 * The device's tx_dropped: packets its queue toward the reader (the TUN ring) dropped. Read from
 * /proc/self/net/dev, which shows the devices of the reading process's network namespace (its tx "drop" column
 * is the device's tx_dropped), so the governor's every-500-ms question costs a file read, not an `ip` process;
 * `ip -s link` where /proc cannot say (no procfs, or the device not listed).
 */
export async function deviceTxDropped(name: string): Promise<number> {
  const fromProc = await readFile('/proc/self/net/dev', 'utf8').then((t) => procNetDevTxDropped(t, name), () => null);
  if (fromProc !== null) return fromProc;
  return deviceTxDroppedByIp(name);
}

/** tx_dropped of `name` in the text of /proc/net/dev (after the name: 8 receive columns, then tx bytes, packets, errs, drop); null when absent. */
export function procNetDevTxDropped(text: string, name: string): number | null {
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() !== name) continue;
    const cols = line.slice(colon + 1).trim().split(/\s+/);
    const v = cols.length >= 12 ? Number(cols[11]) : NaN;
    return Number.isFinite(v) ? v : null;
  }
  return null;
}

/** tx_dropped as `ip -j -s link show dev NAME` reports it. */
export async function deviceTxDroppedByIp(name: string): Promise<number> {
  const out = await runIp(['-j', '-s', 'link', 'show', 'dev', name]);
  try {
    const j = JSON.parse(out) as Array<{ stats64?: { tx?: { dropped?: number } } }>;
    return j[0]?.stats64?.tx?.dropped ?? 0;
  } catch {
    throw new DeviceSetupError('EIP', `cannot parse \`ip -j -s link show dev ${name}\` output`, undefined, out);
  }
}

/** The SYN class's counters (tc -s class): SYNs it passed, dropped (FIFO full), held now, and its rate; null without one. */
export interface SynRateStats {
  /** SYNs per second the class passes. */
  rate: number;
  /** SYNs it handed on toward synack. */
  sent: number;
  /** SYNs dropped because its FIFO was full. */
  dropped: number;
  /** SYNs waiting in it now. */
  backlog: number;
}

export async function synRateStats(name: string): Promise<SynRateStats | null> {
  // Text, not -j: tc prints no JSON for HTB classes in iproute2 6.x.
  const out = await runTc(['-s', 'class', 'show', 'dev', name, 'classid', '1:2']);
  if (!/^class htb 1:2 /m.test(out)) return null;
  const rate = /\brate (\d+(?:\.\d+)?)([KMGT]?)bit\b/.exec(out);
  const sent = /Sent \d+ bytes (\d+) pkt \(dropped (\d+)/.exec(out);
  const backlog = /backlog \d+[KMG]?b (\d+)p/.exec(out);
  if (!rate || !sent || !backlog) throw new DeviceSetupError('EIP', `cannot parse \`tc -s class show dev ${name}\` output`, undefined, out);
  const bits = Number(rate[1]) * (({ '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12 } as Record<string, number>)[rate[2]!] ?? 1);
  return { rate: Math.round(bits / 8 / SYN_RATE_MPU), sent: Number(sent[1]), dropped: Number(sent[2]), backlog: Number(backlog[1]) };
}

export interface TunDeviceInfo {
  name: string;
  mtu: number;
  txqueuelen: number;
  up: boolean;
  /** Addresses the kernel holds on the device, as "addr/prefix". */
  addresses: string[];
}

/** What the kernel says about a device (`ip -j addr show dev NAME`). */
export async function describeDevice(name: string): Promise<TunDeviceInfo> {
  const out = await runIp(['-j', '-d', 'addr', 'show', 'dev', name]);
  let parsed: Array<{ ifname: string; mtu: number; txqlen: number; flags: string[]; addr_info?: Array<{ local: string; prefixlen: number }> }>;
  try {
    parsed = JSON.parse(out);
  } catch {
    throw new DeviceSetupError('EIP', `cannot parse \`ip -j addr show dev ${name}\` output`, undefined, out);
  }
  const d = parsed[0];
  if (!d) throw new DeviceSetupError('ENODEV', `no device ${name}`);
  return {
    name: d.ifname,
    mtu: d.mtu,
    txqueuelen: d.txqlen,
    up: d.flags.includes('UP'),
    addresses: (d.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`),
  };
}
