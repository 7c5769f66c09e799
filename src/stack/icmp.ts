/**
 * What a host does with ICMP and ICMPv6 messages, as Linux's tcp_v4_err / tcp_v6_err and icmp_echo do it:
 * which error ends a connection attempt with which errno, which is a path-MTU signal, which are ignored; and
 * the replies (echo) and errors (protocol/port unreachable, parameter problem, reassembly time exceeded) a host
 * sends. Pure: the stack applies the decisions to its connections.
 */
import {
  ICMP_DEST_UNREACH, ICMP_ECHO_REPLY, ICMP_FRAG_NEEDED, ICMP_HOST_UNREACH, ICMP_NET_UNREACH, ICMP_PARAMETER_PROBLEM,
  ICMP_TIME_EXCEEDED, ICMPV6_DEST_UNREACH, ICMPV6_ECHO_REPLY, ICMPV6_PARAMPROB, ICMPV6_PKT_TOOBIG, ICMPV6_TIME_EXCEED,
  encodeIcmp, type IcmpMessage,
} from '../wire/icmp.js';
import { MIN_PMTU_V6 } from './ip-pmtu.js';

/** errno values an ICMP error can give a connection (Linux's icmp_err_convert, icmpv6_err_convert). */
export type IcmpErrno = 'ENETUNREACH' | 'EHOSTUNREACH' | 'ENOPROTOOPT' | 'ECONNREFUSED' | 'EMSGSIZE' | 'EOPNOTSUPP' | 'EHOSTDOWN' | 'ENONET' | 'EACCES' | 'EPROTO';

/** ICMPv4 destination-unreachable codes 0..15 → errno (Linux net/ipv4/icmp.c icmp_err_convert). */
const V4_UNREACH: readonly IcmpErrno[] = [
  'ENETUNREACH', 'EHOSTUNREACH', 'ENOPROTOOPT', 'ECONNREFUSED', 'EMSGSIZE', 'EOPNOTSUPP', 'ENETUNREACH', 'EHOSTDOWN',
  'ENONET', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTUNREACH', 'EHOSTUNREACH', 'EHOSTUNREACH', 'EHOSTUNREACH',
];
/** ICMPv6 destination-unreachable codes 0..6 → errno (Linux net/ipv6/icmp.c tab_unreach). */
const V6_UNREACH: readonly IcmpErrno[] = ['ENETUNREACH', 'EACCES', 'EHOSTUNREACH', 'EHOSTUNREACH', 'ECONNREFUSED', 'EACCES', 'EACCES'];

export type TcpIcmpAction =
  /** Path MTU discovery (RFC 1191, RFC 8201): the path to the quoted destination carries at most `mtu` bytes. */
  | { kind: 'pmtu'; mtu: number }
  /**
   * An error for the quoted connection: ends a connection attempt (SYN-SENT), else kept as its soft error
   * (Linux sk_err_soft, reported if it later times out). `dropsRequest`: a SYN-RECEIVED entry of a listener
   * is dropped (Linux tcp_req_err's abort).
   */
  | { kind: 'error'; errno: IcmpErrno; dropsRequest: boolean };

/**
 * What an ICMP error means for the TCP connection it quotes, or null when TCP ignores it (source quench,
 * redirect, unknown types and codes; an ICMPv6 packet-too-big below 1280, as Linux ignores it).
 */
export function tcpActionFor(m: IcmpMessage): TcpIcmpAction | null {
  if (m.version === 4) {
    switch (m.type) {
      case ICMP_DEST_UNREACH:
        if (m.code === ICMP_FRAG_NEEDED) {
          // RFC 1191 §4: next-hop MTU in the low 16 bits; 0 from pre-1191 routers. The stack takes anything below
          // Linux's min_pmtu (552) as 552 and stops setting DF on that path (a locked path MTU).
          return { kind: 'pmtu', mtu: m.rest & 0xffff };
        }
        if (m.code >= V4_UNREACH.length) return null;
        return { kind: 'error', errno: V4_UNREACH[m.code]!, dropsRequest: m.code === ICMP_NET_UNREACH || m.code === ICMP_HOST_UNREACH };
      case ICMP_TIME_EXCEEDED: return { kind: 'error', errno: 'EHOSTUNREACH', dropsRequest: true };
      case ICMP_PARAMETER_PROBLEM: return { kind: 'error', errno: 'EPROTO', dropsRequest: true };
      default: return null;
    }
  }
  switch (m.type) {
    case ICMPV6_PKT_TOOBIG:
      // RFC 8201 §4: a packet-too-big below the IPv6 minimum MTU is not acted on (Linux ignores it for TCP).
      return m.rest < MIN_PMTU_V6 ? null : { kind: 'pmtu', mtu: Math.min(m.rest, 0xffff) };
    case ICMPV6_DEST_UNREACH: {
      const errno = m.code < V6_UNREACH.length ? V6_UNREACH[m.code]! : 'EPROTO';
      return { kind: 'error', errno, dropsRequest: errno === 'EACCES' || errno === 'ECONNREFUSED' || errno === 'EPROTO' };
    }
    case ICMPV6_TIME_EXCEED: return { kind: 'error', errno: 'EHOSTUNREACH', dropsRequest: false };
    case ICMPV6_PARAMPROB: return { kind: 'error', errno: 'EPROTO', dropsRequest: true };
    default: return null;
  }
}

/** The echo reply to an echo request `m` that came from `src` to our address `la` (RFC 792; RFC 4443 §4.2). */
export function echoReply(m: IcmpMessage, la: Uint8Array, src: Uint8Array, ttl: number): Uint8Array {
  return encodeIcmp({ src: la, dst: src, type: m.version === 4 ? ICMP_ECHO_REPLY : ICMPV6_ECHO_REPLY, code: 0, rest: m.rest, body: m.body, ttl });
}
