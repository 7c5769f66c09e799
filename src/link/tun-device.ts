/**
 * Configures a TUN device from Node with iproute2's `ip` (execFile, no shell): addresses (IPv4 and IPv6,
 * several), MTU, txqueuelen, link up. Runs in the caller's network namespace, so the process that opened the
 * TUN device (and lives in the test's namespace) configures it.
 *
 * Addressing: synack's stack and the kernel are the two ends of the point-to-point link. For each pair the
 * KERNEL's address is put on the device with the pair's prefix (`ip addr replace 10.77.0.1/24 dev tun0`), so
 * the kernel routes the rest of the prefix, including the STACK's address 10.77.0.2, into the device, where
 * synack reads it. (Putting the stack's address on the device would make the kernel answer it itself.)
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { parseAddress, formatAddress } from '../wire/address.js';

export type DeviceSetupErrorCode =
  | 'EPERM' // not root / no CAP_NET_ADMIN
  | 'ENOENT' // `ip` (iproute2) not installed
  | 'ENODEV' // no such device
  | 'EINVAL' // a bad address, prefix, MTU or txqueuelen (ours or the kernel's verdict)
  | 'EIP'; // any other failure of `ip`, with its stderr

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
  const argv = ['ip', ...args];
  return new Promise((resolve, reject) => {
    execFile('ip', args, { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const e = err as NodeJS.ErrnoException & { code?: string | number };
      if (e.code === 'ENOENT') {
        return reject(new DeviceSetupError('ENOENT', "iproute2's `ip` command was not found (install it: apt-get install iproute2)", argv));
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
  if (cfg.up !== false) await runIp(['link', 'set', 'dev', name, 'up']);
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
