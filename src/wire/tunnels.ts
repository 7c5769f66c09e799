/**
 * What a tunnel packet carries, so that the TCP inside is analysed (as Zeek and Wireshark decapsulate):
 * IP-in-IP (IPv4 or IPv6 in IPv4 or IPv6: ipip, 6in4/sit, 4in6, ip6tnl; IP protocols 4 and 41), GRE (RFC
 * 2784/2890, and PPTP's enhanced GRE, RFC 2637 §4.1) with IP, Ethernet (transparent bridging, gretap), ERSPAN
 * types II and III or PPP inside, and UDP tunnels on their IANA ports: VXLAN (RFC 7348, 4789), Geneve (RFC 8926,
 * 6081), GTP-U (3GPP TS 29.281, 2152) and AYIYA (5072). Teredo stays in the analyzer (it needs its heuristics).
 *
 * Pure and browser-clean; a header cut short or a field it does not know gives null (the packet is then what
 * it looks like: GRE, UDP ...), never an exception. Every result is a view into the given bytes.
 */
export type TunnelKind = 'ipip' | 'gre' | 'erspan' | 'vxlan' | 'geneve' | 'gtp-u' | 'ayiya';

export interface TunnelPayload {
  kind: TunnelKind;
  /** 'ip': an IPv4/IPv6 datagram; 'ethernet': an Ethernet frame; 'ppp': a PPP frame (protocol field first). */
  carries: 'ip' | 'ethernet' | 'ppp';
  bytes: Uint8Array;
}

export const PROTO_IPIP = 4;
export const PROTO_IPV6_IN_IP = 41;
export const PROTO_GRE = 47;
export const PROTO_UDP = 17;

export const VXLAN_PORT = 4789;
export const GENEVE_PORT = 6081;
export const GTPU_PORT = 2152;
export const AYIYA_PORT = 5072;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_TEB = 0x6558;
const ETHERTYPE_ERSPAN_II = 0x88be;
const ETHERTYPE_ERSPAN_III = 0x22eb;
const ETHERTYPE_PPP = 0x880b;

function be16(b: Uint8Array, o: number): number { return (b[o]! << 8) | b[o + 1]!; }

function ipVersionOk(b: Uint8Array): boolean {
  if (b.length < 1) return false;
  const v = b[0]! >> 4;
  return v === 4 || v === 6;
}

function byEthertype(kind: TunnelKind, type: number, bytes: Uint8Array): TunnelPayload | null {
  if (type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6) return ipVersionOk(bytes) ? { kind, carries: 'ip', bytes } : null;
  if (type === ETHERTYPE_TEB) return bytes.length >= 14 ? { kind, carries: 'ethernet', bytes } : null;
  return null;
}

/**
 * The payload of an IP datagram with protocol `protocol` (its IP payload `p`, a whole datagram's: not a
 * fragment) when it is a tunnel this module knows; null otherwise.
 */
export function tunnelPayload(protocol: number, p: Uint8Array): TunnelPayload | null {
  switch (protocol) {
    case PROTO_IPIP: case PROTO_IPV6_IN_IP:
      return ipVersionOk(p) ? { kind: 'ipip', carries: 'ip', bytes: p } : null;
    case PROTO_GRE:
      return gre(p);
    case PROTO_UDP:
      return udp(p);
    default:
      return null;
  }
}

/** GRE (RFC 2784 with RFC 2890's key and sequence number; version 1 is PPTP's enhanced GRE, RFC 2637 §4.1). */
function gre(p: Uint8Array): TunnelPayload | null {
  if (p.length < 4) return null;
  const flags = be16(p, 0);
  const version = flags & 7;
  const type = be16(p, 2);
  let o = 4;
  if (version === 0) {
    if (flags & 0x8000) o += 4; // checksum + reserved1
    if (flags & 0x2000) o += 4; // key
    if (flags & 0x1000) o += 4; // sequence number
    // Source routing (RFC 1701, deprecated by RFC 2784): not followed.
    if (flags & 0x4000) return null;
  } else if (version === 1) {
    // Enhanced GRE: key present (payload length + call id), sequence and acknowledgment optional.
    if (type !== ETHERTYPE_PPP || !(flags & 0x2000)) return null;
    o += 4;
    if (flags & 0x1000) o += 4;
    if (flags & 0x0080) o += 4;
  } else {
    return null;
  }
  if (p.length < o) return null;
  const inner = p.subarray(o);
  switch (type) {
    case ETHERTYPE_ERSPAN_II: {
      // ERSPAN type II: 8-byte header (version 1 in the top nibble), then the mirrored Ethernet frame.
      if (inner.length < 8 + 14 || inner[0]! >> 4 !== 1) return null;
      return { kind: 'erspan', carries: 'ethernet', bytes: inner.subarray(8) };
    }
    case ETHERTYPE_ERSPAN_III: {
      // ERSPAN type III: 12-byte header (version 2), plus an 8-byte platform subheader when O (bit 0) is set.
      if (inner.length < 12 || inner[0]! >> 4 !== 2) return null;
      const hl = 12 + (inner[11]! & 1 ? 8 : 0);
      if (inner.length < hl + 14) return null;
      return { kind: 'erspan', carries: 'ethernet', bytes: inner.subarray(hl) };
    }
    case ETHERTYPE_PPP:
      return inner.length >= 1 ? { kind: 'gre', carries: 'ppp', bytes: inner } : null;
    default:
      return byEthertype('gre', type, inner);
  }
}

function udp(p: Uint8Array): TunnelPayload | null {
  if (p.length < 8) return null;
  const sport = be16(p, 0);
  const dport = be16(p, 2);
  const d = p.subarray(8);
  const on = (port: number): boolean => dport === port || sport === port;
  if (on(VXLAN_PORT)) {
    // RFC 7348 §5: flags (I = 0x08 must be set), reserved, VNI(3), reserved; then an Ethernet frame.
    if (d.length < 8 + 14 || !(d[0]! & 0x08)) return null;
    return { kind: 'vxlan', carries: 'ethernet', bytes: d.subarray(8) };
  }
  if (on(GENEVE_PORT)) {
    // RFC 8926 §3.4: Ver(2) OptLen(6, 4-byte words), O C Rsvd, protocol type(2), VNI(3), reserved; options.
    if (d.length < 8 || d[0]! >> 6 !== 0) return null;
    const hl = 8 + (d[0]! & 0x3f) * 4;
    if (d.length < hl) return null;
    return byEthertype('geneve', be16(d, 2), d.subarray(hl));
  }
  if (on(GTPU_PORT)) return gtpu(d);
  if (on(AYIYA_PORT)) return ayiya(d);
  return null;
}

/** GTP-U (3GPP TS 29.281 §5): a G-PDU (message type 255) carries a user IP datagram. */
function gtpu(d: Uint8Array): TunnelPayload | null {
  if (d.length < 8) return null;
  const flags = d[0]!;
  // Version 1, protocol type 1 (GTP, not GTP').
  if (flags >> 5 !== 1 || !(flags & 0x10) || d[1] !== 0xff) return null;
  let o = 8;
  if (flags & 0x07) {
    // Sequence number(2), N-PDU number(1), next extension header type(1), then the extension headers.
    if (d.length < 12) return null;
    let next = d[11]!;
    o = 12;
    let guard = 0;
    while (next !== 0) {
      // Each extension header: length in 4-byte units (including itself), contents, next type in its last byte.
      if (d.length < o + 1 || ++guard > 16) return null;
      const len = d[o]! * 4;
      if (len === 0 || d.length < o + len) return null;
      next = d[o + len - 1]!;
      o += len;
    }
  }
  const inner = d.subarray(o);
  return ipVersionOk(inner) ? { kind: 'gtp-u', carries: 'ip', bytes: inner } : null;
}

/** AYIYA (draft-massar-v6ops-ayiya §5): identity and signature lengths in the first two bytes; op 1 forwards. */
function ayiya(d: Uint8Array): TunnelPayload | null {
  if (d.length < 8) return null;
  const idLen = 1 << (d[0]! >> 4);
  const sigLen = (d[1]! >> 4) * 4;
  const opcode = d[2]! & 0x0f;
  const next = d[3]!;
  if (opcode !== 1 || (next !== PROTO_IPIP && next !== PROTO_IPV6_IN_IP)) return null;
  const hl = 8 + idLen + sigLen;
  if (d.length < hl) return null;
  const inner = d.subarray(hl);
  return ipVersionOk(inner) ? { kind: 'ayiya', carries: 'ip', bytes: inner } : null;
}
