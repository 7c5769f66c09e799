/**
 * Checksum offload in captures. A capture taken on the sending host (and every loopback capture on Linux) sees
 * outgoing TCP segments before the NIC or the kernel fills in their checksum: the field holds only the
 * pseudo-header sum (CHECKSUM_PARTIAL), so a strict check calls nearly every outgoing packet bad. Wireshark
 * does not validate TCP checksums by default for this reason. The page tells such a partial checksum from a
 * really corrupted one and says which it is.
 */
import { decodeIp } from '../../src/wire/ip.js';
import { pseudoHeaderSum } from '../../src/wire/checksum.js';
import type { Trace } from '../../src/wire/trace.js';

export const OFFLOADED = 'checksum offloaded';

/** True when the datagram's TCP checksum field holds just the pseudo-header sum (or zero): left for offload. */
export function partialChecksum(raw: Uint8Array): boolean {
  let ip;
  try { ip = decodeIp(raw); } catch { return false; }
  if (ip.protocol !== 6) return false;
  const hl = ip.headerLength;
  const tcpLen = Math.min(ip.totalLength, raw.length) - hl;
  if (tcpLen < 20) return false;
  const field = (raw[hl + 16]! << 8) | raw[hl + 17]!;
  let sum = pseudoHeaderSum(ip.src, ip.dst, 6, tcpLen);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  // Linux stores the folded sum; some stacks store its complement; a few leave zero.
  return field === sum || field === (~sum & 0xffff) || field === 0;
}

/**
 * The trace with "bad checksum" notes on partially-checksummed packets replaced by "checksum offloaded"
 * (`raw`: each entry's IP datagram, same index, null when not kept).
 */
export function explainOffload(trace: Trace, raw: Array<Uint8Array | null>): Trace {
  let changed = false;
  const entries = trace.entries.map((e, i) => {
    const r = raw[i];
    if (!e.note?.includes('bad checksum') || !r || !partialChecksum(r)) return e;
    changed = true;
    return { ...e, note: e.note.replace('bad checksum', OFFLOADED) };
  });
  return changed ? { ...trace, entries } : trace;
}
