/**
 * IP addresses as raw bytes: 4 bytes for IPv4, 16 for IPv6 (network byte order, as on the wire).
 * Text forms: RFC 791 dotted quad; RFC 4291 §2.2 input, RFC 5952 canonical output.
 */
import { WireError } from './errors.js';

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const DEC_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

function bad(s: string, why: string): never {
  throw new WireError('address', 'bad-address', `cannot parse ${JSON.stringify(s)}: ${why}`, 0);
}

/** Parses dotted IPv4 into out[at..at+4]; strict: exactly four decimal octets, no leading zeros (as inet_pton). */
function parseIpv4Into(text: string, whole: string, out: Uint8Array, at: number): void {
  const parts = text.split('.');
  if (parts.length !== 4) bad(whole, 'IPv4 needs four dotted octets');
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!DEC_OCTET.test(p)) bad(whole, `octet ${JSON.stringify(p)} is not a decimal number without leading zeros`);
    const v = Number(p);
    if (v > 255) bad(whole, `octet ${p} exceeds 255`);
    out[at + i] = v;
  }
}

/** Parses one side of a "::" split into 16-bit groups; an embedded IPv4 tail counts as two groups (RFC 4291 §2.2 form 3). */
function parseGroups(text: string, whole: string, allowV4Tail: boolean): number[] {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (allowV4Tail && i === parts.length - 1 && p.includes('.')) {
      const v4 = new Uint8Array(4);
      parseIpv4Into(p, whole, v4, 0);
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      continue;
    }
    if (!HEX_GROUP.test(p)) bad(whole, `group ${JSON.stringify(p)} is not 1-4 hex digits`);
    groups.push(parseInt(p, 16));
  }
  return groups;
}

/** "10.0.0.1" → 4 bytes; "fd00::1", "::ffff:1.2.3.4" → 16 bytes. Zone ids ("%eth0") and brackets are rejected. */
export function parseAddress(s: string): Uint8Array {
  if (typeof s !== 'string') throw new WireError('address', 'bad-address', `expected a string, got ${typeof s}`, 0);
  if (!s.includes(':')) {
    const out = new Uint8Array(4);
    parseIpv4Into(s, s, out, 0);
    return out;
  }
  const halves = s.split('::');
  if (halves.length > 2) bad(s, '"::" may appear only once');
  let groups: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0]!, s, false);
    const tail = parseGroups(halves[1]!, s, true);
    // "::" stands for one or more zero groups (RFC 4291 §2.2), so at most 7 explicit ones.
    if (head.length + tail.length > 7) bad(s, 'too many groups around "::"');
    groups = head.concat(new Array<number>(8 - head.length - tail.length).fill(0), tail);
  } else {
    groups = parseGroups(s, s, true);
    if (groups.length !== 8) bad(s, `IPv6 needs 8 groups, got ${groups.length}`);
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i]! >> 8;
    out[2 * i + 1] = groups[i]! & 0xff;
  }
  return out;
}

function formatIpv4(a: Uint8Array, at: number): string {
  return `${a[at]}.${a[at + 1]}.${a[at + 2]}.${a[at + 3]}`;
}

/** IPv4 dotted quad; IPv6 per RFC 5952 §4 (lowercase, no leading zeros, longest run of ≥2 zero groups → "::", first on ties), IPv4-mapped in mixed form (§5). */
export function formatAddress(a: Uint8Array): string {
  if (!(a instanceof Uint8Array)) throw new WireError('address', 'bad-length', 'address must be a Uint8Array', 0);
  if (a.length === 4) return formatIpv4(a, 0);
  if (a.length !== 16) throw new WireError('address', 'bad-length', `address must be 4 or 16 bytes, got ${a.length}`, 0);
  // ::ffff:0:0/96, IPv4-mapped (RFC 4291 §2.5.5.2): RFC 5952 §5 recommends the mixed notation.
  let mapped = a[10] === 0xff && a[11] === 0xff;
  for (let i = 0; mapped && i < 10; i++) if (a[i] !== 0) mapped = false;
  if (mapped) return `::ffff:${formatIpv4(a, 12)}`;

  const groups = new Array<number>(8);
  for (let i = 0; i < 8; i++) groups[i] = (a[2 * i]! << 8) | a[2 * i + 1]!;
  let bestStart = -1;
  let bestLen = 1; // a single zero group is never compressed (RFC 5952 §4.2.2)
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** Whether two binary addresses (4 or 16 bytes) are the same address. */
export function addressEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether a binary address is IPv6 (16 bytes) rather than IPv4 (4 bytes). */
export function isIpv6(a: Uint8Array): boolean {
  return a.length === 16;
}
