/**
 * What `synack serve` and `synack connect` share: a synack Stack on a freshly opened, configured TUN device
 * (the kernel is the other end of the point-to-point link), an optional pcapng capture of everything the stack
 * sends and receives, and one clear error type for whatever went wrong on the way.
 */
import { TunLink, TunError } from '../link/tun.js';
import { configureTunDevice, pairAddresses, DeviceSetupError, type TunAddressPair } from '../link/tun-device.js';
import { PcapngTap, TapError } from '../link/pcapng-tap.js';
import { Stack } from '../stack/stack.js';
import type { TcpConfig } from '../tcp/config.js';

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

export interface TunHostOptions {
  /** Device name (the kernel picks tunN when omitted). */
  tun?: string;
  /** synack's addresses (`--addr`), paired in order with the kernel's (`--peer`, with prefix). */
  addr: string[];
  peer: string[];
  mtu?: number;
  txqueuelen?: number;
  /** pcapng file receiving every packet the stack sends or receives. */
  pcap?: string;
  tcp?: Partial<TcpConfig>;
  /** Stack name in logs and capture metadata. */
  name?: string;
  /**
   * Kernel offloads on the device (TunLink.open's `offload`): the kernel hands synack TCP super-packets with
   * their checksums left undone, and segments synack's own super-segments (tcp.tsoMaxBytes defaults to
   * OFFLOAD_TSO_MAX_BYTES, tcp.receiveOffload to true). Off by default.
   */
  offload?: boolean;
  /** Read the device on the addon's reader thread (TunOpenOptions.readThread). Off by default. */
  readThread?: boolean;
  /** Write the device from the addon's writer thread (TunOpenOptions.writeThread). Off by default. */
  writeThread?: boolean;
}

/** Largest TCP payload per segment synack sends with offload on (the engine caps it to fit a 16-bit IP length). */
export const OFFLOAD_TSO_MAX_BYTES = 65535;

export interface TunHost {
  link: TunLink;
  stack: Stack;
  pairs: TunAddressPair[];
  mtu: number;
  tap: PcapngTap | null;
  /** Closes the capture (flushing it) and the device. Idempotent. */
  close(): void;
}

export const DEFAULT_MTU = 1500;
/**
 * The device's queue toward synack (the kernel's default is 500 packets). While the stack sends a burst the
 * event loop is not reading, and the kernel's ACKs (or data) would overflow a short queue and be dropped.
 */
export const DEFAULT_TXQUEUELEN = 4096;

/** The MSS we advertise: what fits the device MTU in IPv4 (RFC 9293 §3.7.1); IPv6 peers clamp to MTU − 60 themselves. */
export function mssForMtu(mtu: number): number {
  return Math.max(88, Math.min(65495, mtu - 40));
}

/** Errors a user can act on (not root, no device, bad address, unwritable capture): print the message only. */
export function isUserFacingError(e: unknown): e is Error {
  return e instanceof TunError || e instanceof DeviceSetupError || e instanceof TapError || (e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && /^E[A-Z]+$/.test((e as unknown as { code: string }).code));
}

export async function openTunHost(o: TunHostOptions): Promise<TunHost> {
  if (o.addr.length === 0) throw new DeviceSetupError('EINVAL', 'give at least one --addr (synack\'s address) and a --peer (the kernel\'s address with prefix)');
  const pairs = pairAddresses(o.addr, o.peer);
  const mtu = o.mtu ?? DEFAULT_MTU;
  // Everything checkable is checked before a device exists (configureTunDevice repeats it).
  if (pairs.some((p) => p.kernel.includes(':')) && mtu < 1280) throw new DeviceSetupError('EINVAL', `MTU ${mtu} is below IPv6's minimum of 1280 (RFC 8200 §5)`);
  const link = TunLink.open(o.tun, { offload: o.offload === true, readThread: o.readThread === true, writeThread: o.writeThread === true });
  let tap: PcapngTap | null = null;
  try {
    await configureTunDevice({ name: link.name, addresses: pairs, mtu, txqueuelen: o.txqueuelen ?? DEFAULT_TXQUEUELEN });
    const stack = new Stack({
      mtu,
      name: o.name ?? 'synack',
      addresses: pairs.map((p) => p.stack),
      tcp: { mss: mssForMtu(mtu), ...(o.offload ? { tsoMaxBytes: OFFLOAD_TSO_MAX_BYTES, receiveOffload: true } : {}), ...o.tcp },
    });
    if (o.pcap !== undefined) {
      const t = PcapngTap.toFile(o.pcap, {
        interfaceName: link.name,
        interfaceDescription: `synack stack ${pairs.map((p) => p.stack).join(', ')} on TUN ${link.name}`,
        // Stack time is performance.now()-based; anchor it to the wall clock so the capture has real dates.
        startTimeMs: Date.now() - stack.clock.now(),
        comment: `synack on ${link.name}, mtu ${mtu}${o.offload ? ', offload (TSO/GSO super-packets, checksums left to the kernel)' : ''}`,
      });
      tap = t;
      stack.observePackets((dir, packet, time) => {
        if (t.error) return;
        try {
          t.record(time, packet, dir === 'in' ? 'inbound' : 'outbound');
        } catch (e) {
          // A full disk must not break the connections: stop recording, report at close.
          if (e instanceof TapError) t.error = e;
          else throw e;
        }
      });
    }
    link.attachStack(stack);
    let closed = false;
    return {
      link, stack, pairs, mtu, tap,
      close() {
        if (closed) return;
        closed = true;
        try {
          tap?.close();
        } finally {
          link.close();
        }
      },
    };
  } catch (e) {
    try { tap?.close(); } catch { /* the original error matters more */ }
    link.close();
    throw e;
  }
}

/** "10.77.0.2 (kernel 10.77.0.1/24)" for each pair. */
export function describePairs(pairs: TunAddressPair[]): string {
  return pairs.map((p) => `${p.stack} (kernel ${p.kernel}/${p.prefix})`).join(', ');
}
