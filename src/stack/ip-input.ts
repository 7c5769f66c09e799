/**
 * IP input (RFC 1122 §3.2.1, RFC 8200): validate the datagram, drop martians, reassemble fragments, answer what
 * this host does not speak, then hand TCP to tcp-input.ts and ICMP to the connections it concerns (RFC 5927).
 */
import { WireError } from '../wire/errors.js';
import { addressEquals } from '../wire/address.js';
import { decodeHostPacket, decodeHostTcp, type DecodedPacket, type HostTcpHeader } from '../wire/packet.js';
import { EXT_FRAGMENT, EXT_HOP_BY_HOP, PROTO_TCP, type IpPacket } from '../wire/ip.js';
import { isFragment } from '../wire/ip-reassembly.js';
import {
  ICMP_DEST_UNREACH, ICMP_ECHO_REQUEST, ICMP_PROT_UNREACH, ICMPV6_ECHO_REQUEST,
  ICMPV6_HDR_FIELD, ICMPV6_HDR_INCOMPLETE, ICMPV6_PARAMPROB, ICMPV6_UNK_NEXTHDR, PROTO_ICMP, PROTO_ICMPV6,
  decodeIcmp, isIcmpError, quotedTcp,
} from '../wire/icmp.js';
import { seqGt } from '../wire/tcp-types.js';
import { martianSource } from './martians.js';
import { echoReply, tcpActionFor } from './icmp.js';
import { MIN_PMTU_V4, mssForPathMtu } from './ip-pmtu.js';
import { findConn, ourAddress, ourAddressAt, remoteAddressAt } from './demux.js';
import { sendIcmpError, sendIp } from './ip-output.js';
import { segmentArrives } from './tcp-input.js';
import type { StackConnection } from './connection.js';
import type { Stack } from './stack.js';

/** IP input (RFC 1122 §3.2.1): validate, drop martians, reassemble, then TCP, ICMP, or an error for anything else. */
export function ipInput(s: Stack, packet: Uint8Array, verified: boolean, now: number): void {
  // The common case, a plain whole TCP datagram, without the general decode's IP header object, address views
  // and second payload view (a third of what receiving a segment allocated); the same checks in the same order.
  const seg = decodeHostTcp(packet, !verified, hostHeader);
  if (seg !== null) {
    const h = hostHeader;
    const la = ourAddressAt(s, packet, h.srcOff + h.addrLen, h.addrLen);
    if (la === null) { s.counters.InAddrErrors++; return; }
    const ra = remoteAddressAt(s, packet, h.srcOff, h.addrLen);
    if (martianSource(ra, la, s.isOursFn) !== null) { s.counters.InMartians++; return; }
    if (!h.tcpChecksumOk && !verified) { s.stats.InErrs++; s.counters.InCsumErrors++; return; }
    s.rxCe = (h.tos & 3) === 3;
    segmentArrives(s, la, ra, seg, now);
    return;
  }
  let d: DecodedPacket;
  try {
    // TCP options as Linux parses them: a malformed option is skipped, never the segment.
    d = decodeHostPacket(packet, !verified);
  } catch (e) {
    if (e instanceof WireError) { s.stats.InErrs++; return; }
    throw e;
  }
  const ip = d.ip;
  if (!ip.checksumOk) { s.stats.InErrs++; s.counters.InHdrErrors++; return; } // IPv4 header checksum (RFC 791)
  const la = ourAddress(s, ip.dst);
  if (la === null) { s.counters.InAddrErrors++; return; }
  if (martianSource(ip.src, la, s.isOursFn) !== null) { s.counters.InMartians++; return; }
  // Anything but a plain, whole TCP datagram takes the slow path: fragments, extension headers, ICMP, others.
  if (d.tcp === null || ip.truncated || ip.mf || ip.fragOffset !== 0 || ip.extHeaders.length !== 0 || zeroLength(packet, ip)) {
    ipInputSlow(s, packet, d, la, verified, now);
    return;
  }
  if (!d.tcpChecksumOk && !verified) { s.stats.InErrs++; s.counters.InCsumErrors++; return; }
  s.rxCe = (ip.tos & 3) === 3;
  segmentArrives(s, la, ip.src, d.tcp.seg, now);
}

/** decodeHostTcp's output, read before anything it calls can decode another datagram. */
const hostHeader: HostTcpHeader = { addrLen: 0, srcOff: 0, tos: 0, tcpChecksumOk: false };

export function ipInputSlow(s: Stack, packet: Uint8Array, d: DecodedPacket, la: Uint8Array, verified: boolean, now: number): void {
  const ip = d.ip;
  // A length field of zero (IPv4 total length, IPv6 payload length without a jumbo option): Linux trims the
  // datagram to its header and the transport finds nothing. A buffer shorter than the length: dropped.
  if (ip.truncated || zeroLength(packet, ip)) { s.counters.InTruncatedPkts++; s.stats.InErrs++; return; }
  if (ip.version === 6) {
    // RFC 8200 §4.1: a hop-by-hop header anywhere but first is an unrecognized next header (Linux answers so).
    for (let i = 1; i < ip.extHeaders.length; i++) {
      if (ip.extHeaders[i]!.type === EXT_HOP_BY_HOP) {
        s.counters.InExtHdrErrors++;
        sendIcmpError(s, packet, ICMPV6_PARAMPROB, ICMPV6_UNK_NEXTHDR, ip.extHeaders[i - 1]!.offset, now);
        return;
      }
    }
  }
  if (isFragment(ip)) {
    if (ip.version === 6 && ip.fragOffset === 0 && ip.mf) {
      // RFC 8200 §4.5 (RFC 7112): the first fragment must hold every header up to and including the upper-layer
      // header (Linux checks its fixed part: TCP 20, UDP 8, ICMPv6 8 bytes), else parameter problem, code 3.
      const need = ip.protocol === PROTO_TCP ? 20 : ip.protocol === 17 || ip.protocol === PROTO_ICMPV6 ? 8 : 1;
      if (ip.headerLength + need > ip.totalLength) {
        s.counters.InExtHdrErrors++;
        sendIcmpError(s, packet, ICMPV6_PARAMPROB, ICMPV6_HDR_INCOMPLETE, 0, now);
        return;
      }
    }
    const whole = s.reassembler.push(packet, now, ip);
    if (whole !== null) { ipInput(s, whole, false, now); return; }
    const why = s.reassembler.lastDrop;
    if (ip.version === 6 && (why === 'bad-length' || why === 'too-long')) {
      // RFC 8200 §4.5: parameter problem pointing at the payload length (a non-last fragment not a multiple of
      // 8 bytes) or at the fragment offset (beyond 65 535).
      const fh = ip.extHeaders.find((h) => h.type === EXT_FRAGMENT)!;
      sendIcmpError(s, packet, ICMPV6_PARAMPROB, ICMPV6_HDR_FIELD, why === 'bad-length' ? 4 : fh.offset + 2, now);
    }
    return;
  }
  if (ip.protocol === PROTO_TCP) {
    if (d.tcp === null) { s.stats.InErrs++; return; }
    if (!d.tcpChecksumOk && !verified) { s.stats.InErrs++; s.counters.InCsumErrors++; return; }
    s.rxCe = (ip.tos & 3) === 3;
    segmentArrives(s, la, ip.src, d.tcp.seg, now);
    return;
  }
  if (ip.protocol === (ip.version === 4 ? PROTO_ICMP : PROTO_ICMPV6)) { icmpArrives(s, packet, ip, la, now); return; }
  if (ip.version === 6 && ip.protocol === 59) return; // No Next Header (RFC 8200 §4.7): nothing to deliver
  // RFC 1122 §3.2.2.1: protocol unreachable; RFC 8200 §4: parameter problem, unrecognized next header, pointing
  // at the Next Header field that named it.
  s.counters.InUnknownProtos++;
  if (ip.version === 4) sendIcmpError(s, packet, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0, now);
  else {
    const last = ip.extHeaders[ip.extHeaders.length - 1];
    sendIcmpError(s, packet, ICMPV6_PARAMPROB, ICMPV6_UNK_NEXTHDR, last ? last.offset : 6, now);
  }
}

export function icmpArrives(s: Stack, packet: Uint8Array, ip: IpPacket, la: Uint8Array, now: number): void {
  if (!s.icmpEnabled) { s.counters.IcmpIgnored++; return; }
  let m;
  try { m = decodeIcmp(ip.payload, ip.version, ip.src, ip.dst); } catch { s.counters.IcmpInErrors++; return; }
  if (!m.checksumOk) { s.counters.IcmpInErrors++; return; }
  s.counters.IcmpInMsgs++;
  if (m.type === (ip.version === 4 ? ICMP_ECHO_REQUEST : ICMPV6_ECHO_REQUEST) && m.code === 0) {
    // RFC 1122 §3.2.2.6 / RFC 4443 §4.1: every echo request gets its reply, data unchanged (not rate-limited,
    // as Linux's icmp_ratemask leaves echo replies out).
    s.counters.IcmpInEchos++;
    s.counters.IcmpOutEchoReps++;
    sendIp(s, echoReply(m, la, ip.src, s.ttl), now);
    return;
  }
  if (!isIcmpError(ip.version, m.type)) return;
  const action = tcpActionFor(m);
  if (action === null) return;
  const q = quotedTcp(m.body);
  // The quoted segment must be one we sent: from one of our addresses, of a connection we have, with a
  // sequence number in SND.UNA..SND.NXT (RFC 5927 §4.1, as Linux checks), else it may be forged.
  const ql = q === null ? null : ourAddress(s, q.src);
  const c = q === null || ql === null ? null : findConn(s, ql, q.srcPort, q.dst, q.dstPort);
  if (q === null || c === null || !icmpSeqAcceptable(s, c, q.seq)) { s.counters.OutOfWindowIcmps++; return; }
  s.counters.IcmpTcpErrors++;
  if (action.kind === 'pmtu') {
    if (action.mtu >= s.pathMtuFor(c.remoteAddr, now)) return; // RFC 1191 §6.3: only decreases are learned
    s.pmtu.lower(c.remoteAddr, action.mtu, now);
    s.counters.PmtuUpdates++;
    // Linux's floor (min_pmtu 552): a smaller IPv4 MTU is taken as 552 and the path "locked": no more DF, so
    // routers fragment instead of the MSS shrinking to nothing (an attacker's trick).
    const locked = c.remoteAddr.length === 4 && action.mtu < MIN_PMTU_V4;
    const mss = mssForPathMtu(c.remoteAddr, Math.max(action.mtu, c.remoteAddr.length === 4 ? MIN_PMTU_V4 : 0));
    // The other connections to that destination send smaller from now on too (Linux: the route's MTU, which
    // each socket's tcp_current_mss picks up); only the quoted one resends at once (tcp_simple_retransmit).
    for (const o of s.conns.values()) {
      if (o !== c && !o.embryonic && addressEquals(o.remoteAddr, c.remoteAddr)) { o.tcp.pathMtuReduced(mss, now, false); if (locked) o.noDf = true; }
    }
    if (locked) c.noDf = true;
    if (c.embryonic) return; // Linux acts on a request's ICMP only to drop it (tcp_req_err)
    c.tcp.pathMtuReduced(mss, now);
    s.service(c);
    return;
  }
  // A listener's SYN-RECEIVED entry is dropped only for the fatal errors (Linux tcp_req_err).
  if (c.embryonic && !action.dropsRequest) return;
  c.tcp.icmpError(action.errno, now);
  s.service(c);
}

/** RFC 5927 §4.1: SND.UNA ≤ quoted SEQ ≤ SND.NXT (a SYN-RECEIVED entry: its ISS, Linux tcp_req_err). */
export function icmpSeqAcceptable(s: Stack, c: StackConnection, seq: number): boolean {
  const t = c.tcp;
  if (c.embryonic) return seq === t.iss;
  return !seqGt(t.sndUna, seq) && !seqGt(seq, t.sndNxt);
}

/** The datagram's length field is zero: IPv4 total length, or IPv6 payload length with something following. */
function zeroLength(packet: Uint8Array, ip: IpPacket): boolean {
  if (ip.version === 4) return packet[2] === 0 && packet[3] === 0;
  return packet[4] === 0 && packet[5] === 0 && packet.length > 40 && packet[6] !== 59;
}
