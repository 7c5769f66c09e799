/** The stack's own counters, beside the engine's TcpStats (Linux netstat / nstat names). */

/** Stack-level counters beyond the per-connection ones (Linux netstat names). */
export class StackCounters {
  SyncookiesSent = 0;
  SyncookiesRecv = 0;
  SyncookiesFailed = 0;
  /** Of SyncookiesSent, the SYNs answered by the SYN-cookie fast path (syn-fast-path.ts). */
  SynFastPath = 0;
  /** SYNs dropped because the SYN queue was full and SYN cookies are off (Linux TCPReqQFullDrop; also ListenDrops). */
  TCPReqQFullDrop = 0;
  ListenOverflows = 0;
  ListenDrops = 0;
  /** SYNs dropped by the per-source rate limit. */
  SynRateDrops = 0;
  /** SYN-RECEIVED entries given up after their SYN+ACK retransmissions. */
  SynRecvExpired = 0;
  InCsumErrors = 0;
  /** IPv4 datagrams with a bad header checksum. */
  InHdrErrors = 0;
  /** Packets not for one of our addresses, or not TCP. */
  InAddrErrors = 0;
  /** RSTs sent for segments to ports with no connection or listener. */
  NoPortRsts = 0;
  /** Segments to closed ports left unanswered because the stack is hardened. */
  SilentDrops = 0;
  TimeWaitEntries = 0;
  TimeWaitReused = 0;
  TimeWaitReAcks = 0;
  /** Datagrams from martian sources (RFC 1812 §5.3.7: our own address, loopback, multicast, broadcast, zero), dropped unanswered. */
  InMartians = 0;
  /** Datagrams shorter than their length field says, or with a zero length field (Linux: InTruncatedPkts). */
  InTruncatedPkts = 0;
  /** Datagrams for a protocol this host does not speak (answered with protocol unreachable / parameter problem). */
  InUnknownProtos = 0;
  /** IPv6 extension headers out of order (RFC 8200 §4.1), answered with parameter problem. */
  InExtHdrErrors = 0;
  IcmpInMsgs = 0;
  /** ICMP messages with a bad checksum or too short. */
  IcmpInErrors = 0;
  IcmpInEchos = 0;
  IcmpOutEchoReps = 0;
  /** ICMP errors sent (unreachable, parameter problem, time exceeded). */
  IcmpOutErrors = 0;
  /** ICMP errors not sent because of the rate limits. */
  IcmpOutRateLimited = 0;
  /** ICMP errors quoting no connection of ours, or whose quoted sequence number is outside SND.UNA..SND.NXT (RFC 5927 §4.1; Linux OutOfWindowIcmps). */
  OutOfWindowIcmps = 0;
  /** ICMP errors quoting a connection that acted on them (errors reported, path MTU lowered). */
  IcmpTcpErrors = 0;
  /** Path-MTU reductions applied (RFC 1191, RFC 8201). */
  PmtuUpdates = 0;
  /** ICMP messages ignored because ICMP handling is switched off (StackOptions.icmp false). */
  IcmpIgnored = 0;
}
