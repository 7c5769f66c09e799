/**
 * `synack/wire`: bytes to typed packets and back — IPv4, IPv6, TCP and its options, Internet checksums,
 * pcap/pcapng reading and pcapng writing. Pure functions over Uint8Array; runs anywhere. Malformed input is a
 * `WireError` naming the layer, the problem and the byte offset — never a crash.
 * @packageDocumentation
 */
export {
  FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, seqAdd, seqDiff, seqGt, seqGe, seqLt, seqLe, segLen,
  type TcpSegment, type TcpOptions, type UnknownOption,
} from '../wire/tcp-types.js';
export { WireError, type WireLayer } from '../wire/errors.js';
export { parseAddress, formatAddress, addressEquals, isIpv6 } from '../wire/address.js';
export { onesComplementSum, finishChecksum, pseudoHeaderSum } from '../wire/checksum.js';
export { decodeIp, encodeIpHeader, type IpPacket, type IpExtHeader, type IpHeaderInit } from '../wire/ip.js';
export { decodeTcp, encodeTcp, tcpChecksumOk, type DecodedTcp } from '../wire/tcp.js';
export { decodePacket, encodeTcpPacket, type DecodedPacket } from '../wire/packet.js';
export { CaptureReader, readCapture, detectCaptureFormat, type CaptureFormat, type CaptureRecord, type CaptureInterface } from '../wire/capture.js';
export { decapsulate, isSupportedLinkType, LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_NULL } from '../wire/linktypes.js';
export { PcapngWriter, EPB_INBOUND, EPB_OUTBOUND, type PcapngInterfaceOptions } from '../wire/pcapng-writer.js';
export { TCP_STATES, type TcpStateName, type Trace, type TraceEntry, type TraceEndpoint, type TraceStateChange } from '../wire/trace.js';
