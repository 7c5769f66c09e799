/**
 * Raw IP packets for exercising a TUN device without a TCP stack: ICMP/ICMPv6 echo replies and UDP
 * datagrams, with every checksum computed here. Used by the TUN link's tests and by bench/tun.ts (the raw
 * ceiling), so they share one correct builder.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { onesComplementSum, finishChecksum, pseudoHeaderSum } from '../wire/checksum.js';
import { parseAddress } from '../wire/address.js';
import { decodeIp } from '../wire/ip.js';
import { netnsUnavailableReason } from './netns.js';
import { tunUnavailableReason } from './tun.js';

export const PROTO_ICMP = 1;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;

function put16(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 8) & 0xff;
  b[i + 1] = v & 0xff;
}

/** Fills an IPv4 header (RFC 791 §3.1, no options) at b[0..20) including its checksum. */
function ipv4Header(b: Uint8Array, src: Uint8Array, dst: Uint8Array, protocol: number, totalLength: number, id: number): void {
  b[0] = 0x45;
  b[1] = 0;
  put16(b, 2, totalLength);
  put16(b, 4, id & 0xffff);
  put16(b, 6, 0x4000); // DF: never fragmented on this link
  b[8] = 64;
  b[9] = protocol;
  put16(b, 10, 0);
  b.set(src, 12);
  b.set(dst, 16);
  put16(b, 10, finishChecksum(onesComplementSum(b, 0, 20)));
}

/** Fills an IPv6 header (RFC 8200 §3) at b[0..40). */
function ipv6Header(b: Uint8Array, src: Uint8Array, dst: Uint8Array, nextHeader: number, payloadLength: number): void {
  b[0] = 0x60;
  b[1] = 0;
  b[2] = 0;
  b[3] = 0;
  put16(b, 4, payloadLength);
  b[6] = nextHeader;
  b[7] = 64;
  b.set(src, 8);
  b.set(dst, 24);
}

/**
 * A UDP datagram (RFC 768) in IPv4 or IPv6 (by address family), with a correct UDP checksum
 * (mandatory for IPv6, RFC 8200 §8.1). `payload` may be given as a length (zero-filled).
 */
export function udpPacket(src: string | Uint8Array, dst: string | Uint8Array, srcPort: number, dstPort: number, payload: Uint8Array | number, id = 0): Uint8Array {
  const s = typeof src === 'string' ? parseAddress(src) : src;
  const d = typeof dst === 'string' ? parseAddress(dst) : dst;
  if (s.length !== d.length) throw new Error('udpPacket: source and destination are of different families');
  const plen = typeof payload === 'number' ? payload : payload.length;
  const udpLen = 8 + plen;
  const ipLen = s.length === 4 ? 20 : 40;
  if (udpLen > 0xffff || (s.length === 4 && ipLen + udpLen > 0xffff)) throw new Error(`udpPacket: ${plen} bytes of payload do not fit one datagram`);
  const b = new Uint8Array(ipLen + udpLen);
  if (s.length === 4) ipv4Header(b, s, d, PROTO_UDP, ipLen + udpLen, id);
  else ipv6Header(b, s, d, PROTO_UDP, udpLen);
  put16(b, ipLen, srcPort);
  put16(b, ipLen + 2, dstPort);
  put16(b, ipLen + 4, udpLen);
  if (typeof payload !== 'number') b.set(payload, ipLen + 8);
  let c = finishChecksum(onesComplementSum(b, ipLen, b.length, pseudoHeaderSum(s, d, PROTO_UDP, udpLen)));
  if (c === 0) c = 0xffff; // RFC 768: a computed zero is sent as all ones (zero means "no checksum")
  put16(b, ipLen + 6, c);
  return b;
}

/** The upper-layer checksum over a received IPv4/IPv6 packet verifies (ICMPv4 has no pseudo-header). */
export function upperChecksumOk(pkt: Uint8Array): boolean {
  const ip = decodeIp(pkt);
  const start = ip.headerLength;
  const end = start + ip.payload.length;
  const initial = ip.protocol === PROTO_ICMP ? 0 : pseudoHeaderSum(ip.src, ip.dst, ip.protocol, end - start);
  return finishChecksum(onesComplementSum(pkt, start, end, initial)) === 0;
}

/**
 * The echo reply the destination owes for an ICMP echo request (RFC 792) or ICMPv6 echo request (RFC 4443
 * §4.2): addresses swapped, type 0 / 129, same identifier, sequence and data; checksums recomputed.
 * Returns null when `pkt` is not an echo request.
 */
export function echoReplyFor(pkt: Uint8Array): Uint8Array | null {
  const ip = decodeIp(pkt);
  const icmp = ip.payload;
  if (icmp.length < 8) return null;
  if (ip.version === 4 && (ip.protocol !== PROTO_ICMP || icmp[0] !== 8)) return null;
  if (ip.version === 6 && (ip.protocol !== PROTO_ICMPV6 || icmp[0] !== 128)) return null;
  const hl = ip.version === 4 ? 20 : 40;
  const out = new Uint8Array(hl + icmp.length);
  out.set(icmp, hl);
  out[hl] = ip.version === 4 ? 0 : 129;
  put16(out, hl + 2, 0);
  if (ip.version === 4) {
    ipv4Header(out, ip.dst, ip.src, PROTO_ICMP, out.length, ip.id);
    put16(out, hl + 2, finishChecksum(onesComplementSum(out, hl, out.length)));
  } else {
    ipv6Header(out, ip.dst, ip.src, PROTO_ICMPV6, icmp.length);
    put16(out, hl + 2, finishChecksum(onesComplementSum(out, hl, out.length, pseudoHeaderSum(ip.dst, ip.src, PROTO_ICMPV6, icmp.length))));
  }
  return out;
}

/** A deterministic pseudo-random body (xorshift32) for transfer tests. */
export function testBody(n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Run a command, never rejecting: exit code (null if killed), stdout, stderr. */
export function runCommand(cmd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: unknown }).code as number) ?? null : 0, stdout, stderr });
    });
  });
}

/**
 * Why tests that need a TUN device in a namespace of their own cannot run here (null when they can), and the
 * `skip` option for them: the reason prefixed by `what`, or false under SYNACK_REQUIRE_TUN (CI), where a
 * missing prerequisite must fail instead.
 */
export function tunTestSkip(what = 'TUN tests need root, /dev/net/tun, unshare and the addon', tools: string[] = []): { reason: string | null; skip: string | false } {
  const reason = netnsUnavailableReason() ?? tunUnavailableReason();
  if (reason) return { reason, skip: !process.env.SYNACK_REQUIRE_TUN ? `${what}: ${reason}` : false };
  // A fresh machine may lack the kernel-side tools (Debian's minimal images have no ping): skip, saying which.
  const missing = missingTools(tools);
  return { reason: null, skip: missing.length ? `needs ${missing.join(', ')} (apt-get install iputils-ping curl netcat-openbsd)` : false };
}

/** The commands of `tools` that are not on PATH. */
export function missingTools(tools: string[]): string[] {
  return tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
}
