/**
 * packetdrill's inbound ICMP lines (`< [1:1461(1460)] icmp unreachable frag_needed mtu 1000`,
 * `< [1:1221(1220)] icmp packet_too_big mtu 1280`): packetdrill's type and code names, and the datagram the
 * runner injects, which quotes an IP header and the first 8 bytes of the TCP segment the stack sent (ports and
 * the live sequence number), as packetdrill's icmp_packet.c builds it.
 */
import { encodeIpHeader, IPV4_HEADER_LENGTH, IPV6_HEADER_LENGTH, PROTO_TCP } from '../wire/ip.js';
import { encodeIcmp } from '../wire/icmp.js';
import type { IcmpPacketSpec } from './ast.js';

const V4_TYPES: Record<string, [number, string[]?]> = {
  echo_reply: [0],
  unreachable: [3, ['net_unreachable', 'host_unreachable', 'protocol_unreachable', 'port_unreachable', 'frag_needed', 'source_route_failed',
    'net_unknown', 'host_unknown', 'source_host_isolated', 'net_prohibited', 'host_prohibited', 'net_unreachable_for_tos',
    'host_unreachable_for_tos', 'packet_filtered', 'precedence_violation', 'precedence_cutoff']],
  source_quench: [4], redirect: [5], echo_request: [8], time_exceeded: [11], parameter_problem: [12],
  timestamp_request: [13], timestamp_reply: [14], information_request: [15], information_reply: [16],
  address_mask_request: [17], address_mask_reply: [18],
};
// packetdrill's ICMPv6 unreachable table lists net_unreachable and no_route both as code 0.
const V6_UNREACH: Record<string, number> = { net_unreachable: 0, no_route: 0, admin_prohibited: 1, not_neighbour: 2, address_unreachable: 3, port_unreachable: 4 };
const V6_TYPES: Record<string, [number, Record<string, number>?]> = {
  unreachable: [1, V6_UNREACH], packet_too_big: [2],
  time_exceeded: [3, { exceeded_hop_limit: 0, exceeded_frag_time: 1 }],
  parameter_problem: [4, { header_field: 0, unknown_next_header: 1, unknown_option: 2 }],
  echo_request: [128], echo_reply: [129],
};

/** Type and code bytes for the names (or `type_N` / `code_N`), or a message saying what is wrong. */
export function icmpTypeCode(spec: IcmpPacketSpec, v6: boolean): { type: number; code: number } | string {
  let type: number, codes: string[] | Record<string, number> | undefined;
  const tm = /^type_(\d+)$/.exec(spec.type);
  if (tm) type = Number(tm[1]);
  else {
    const e = v6 ? V6_TYPES[spec.type] : V4_TYPES[spec.type];
    if (!e) return `bad ICMP${v6 ? 'v6' : ''} type ${spec.type}`;
    [type, codes] = e;
  }
  let code = 0;
  if (spec.code !== undefined) {
    const cm = /^code_(\d+)$/.exec(spec.code);
    if (cm) code = Number(cm[1]);
    else if (Array.isArray(codes) && codes.includes(spec.code)) code = codes.indexOf(spec.code);
    else if (codes && !Array.isArray(codes) && spec.code in codes) code = codes[spec.code]!;
    else return `bad ICMP code ${spec.code}`;
  }
  if (type > 255 || code > 255) return `ICMP type/code out of range (${type}/${code})`;
  if (spec.mtu !== undefined && !(v6 ? type === 2 && code === 0 : type === 3 && code === 4)) {
    return v6 ? 'ICMPv6 MTU is only valid for packet_too_big' : 'ICMPv4 MTU is only valid for unreachable frag_needed';
  }
  return { type, code };
}

export interface IcmpLineInit {
  /** The peer (the ICMP's source) and the stack (its destination, and the quoted segment's source). */
  remote: Uint8Array;
  local: Uint8Array;
  localPort: number;
  remotePort: number;
  /** Live sequence number of the quoted segment. */
  seq: number;
  /** Payload length of the quoted segment (for the quoted IP length). */
  len: number;
  ttl?: number;
  tos?: number;
}

/** The whole IPv4+ICMP or IPv6+ICMPv6 datagram for an inbound ICMP line. */
export function icmpLinePacket(spec: IcmpPacketSpec, tc: { type: number; code: number }, o: IcmpLineInit): Uint8Array {
  const v6 = o.local.length === 16;
  const hl = v6 ? IPV6_HEADER_LENGTH : IPV4_HEADER_LENGTH;
  // The quoted datagram: its IP header (lengths as sent: header + 20-byte TCP header + data) and 8 TCP bytes.
  const quote = new Uint8Array(hl + 8);
  encodeIpHeader({ src: o.local, dst: o.remote, protocol: PROTO_TCP, ttl: 0, df: false }, 20 + o.len, quote, 0);
  quote[hl] = o.localPort >> 8; quote[hl + 1] = o.localPort & 0xff;
  quote[hl + 2] = o.remotePort >> 8; quote[hl + 3] = o.remotePort & 0xff;
  quote[hl + 4] = o.seq >>> 24; quote[hl + 5] = o.seq >>> 16; quote[hl + 6] = o.seq >>> 8; quote[hl + 7] = o.seq;
  const rest = spec.mtu === undefined ? 0 : v6 ? spec.mtu >>> 0 : spec.mtu & 0xffff;
  return encodeIcmp({ src: o.remote, dst: o.local, type: tc.type, code: tc.code, rest, body: quote, ttl: o.ttl ?? 64, tos: o.tos ?? 0 });
}
