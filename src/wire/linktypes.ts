/**
 * Link-layer decapsulation down to the IP datagram, for the LINKTYPE_* values of the tcpdump.org registry:
 * Ethernet (with 802.1Q / 802.1ad QinQ tags, MPLS, PPPoE sessions, Cisco FabricPath, 802.1ah PBB, VN-Tag and
 * 802.2 LLC/SNAP), raw IP (101, 228, 229 and the old DLT_RAW values 12 and 14), Linux cooked SLL (113) and
 * SLL2 (276), BSD null (0) and OpenBSD loopback (108), PPP (9, 50) and PPPoE (51), Cisco HDLC (104), 802.11
 * (105) also behind radiotap (127), Prism (119) and AVS (163) headers, IP over InfiniBand (242), FDDI (10),
 * Linux ARCnet (129), Linux NFLOG (239) and Juniper's Ethernet (178). Browser-clean.
 */
import { WireError } from './errors.js';

/** BSD loopback: a 4-byte address family, then the IP datagram. */
export const LINKTYPE_NULL = 0;
/** Ethernet II (and 802.3 with LLC/SNAP), VLAN tags and the rest decapsulated. */
export const LINKTYPE_ETHERNET = 1;
/** DLT_RAW as some BSDs number it in capture files. */
export const LINKTYPE_RAW_12 = 12;
export const LINKTYPE_RAW_14 = 14;
/** Raw IP: each packet is an IPv4 or IPv6 datagram (what synack's taps write). */
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
/** Linux cooked capture v1 (tcpdump -i any). */
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
/** Linux cooked capture v2 (newer tcpdump -i any). */
export const LINKTYPE_LINUX_SLL2 = 276;
export const LINKTYPE_PPP = 9;
export const LINKTYPE_FDDI = 10;
export const LINKTYPE_PPP_HDLC = 50;
export const LINKTYPE_PPP_ETHER = 51;
export const LINKTYPE_C_HDLC = 104;
export const LINKTYPE_IEEE802_11 = 105;
export const LINKTYPE_IEEE802_11_PRISM = 119;
export const LINKTYPE_IEEE802_11_RADIOTAP = 127;
export const LINKTYPE_ARCNET_LINUX = 129;
export const LINKTYPE_IEEE802_11_AVS = 163;
export const LINKTYPE_NFLOG = 239;
export const LINKTYPE_IPOIB = 242;
export const LINKTYPE_JUNIPER_ETHER = 178;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD = 0x9100;
const ETHERTYPE_MPLS = 0x8847;
const ETHERTYPE_MPLS_MC = 0x8848;
const ETHERTYPE_PPPOE_SESSION = 0x8864;
const ETHERTYPE_FABRICPATH = 0x8903;
const ETHERTYPE_PBB = 0x88e7;
const ETHERTYPE_VNTAG = 0x8926;
/** PPP protocol numbers (RFC 1661, IANA): IPv4 and IPv6. */
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;

/** Address-family values a BSD null/loopback header may carry for IPv4 and IPv6 (per OS). */
const AF_INET = 2;
const AF_INET6 = new Set([10, 23, 24, 28, 30]);

/** Whether decapsulate() understands this LINKTYPE_* value. */
export function isSupportedLinkType(linkType: number): boolean {
  switch (linkType) {
    case LINKTYPE_NULL: case LINKTYPE_ETHERNET: case LINKTYPE_RAW_12: case LINKTYPE_RAW_14: case LINKTYPE_RAW:
    case LINKTYPE_LOOP: case LINKTYPE_LINUX_SLL: case LINKTYPE_IPV4: case LINKTYPE_IPV6: case LINKTYPE_LINUX_SLL2:
    case LINKTYPE_PPP: case LINKTYPE_FDDI: case LINKTYPE_PPP_HDLC: case LINKTYPE_PPP_ETHER: case LINKTYPE_C_HDLC:
    case LINKTYPE_IEEE802_11: case LINKTYPE_IEEE802_11_PRISM: case LINKTYPE_IEEE802_11_RADIOTAP: case LINKTYPE_ARCNET_LINUX:
    case LINKTYPE_IEEE802_11_AVS: case LINKTYPE_NFLOG: case LINKTYPE_IPOIB: case LINKTYPE_JUNIPER_ETHER:
      return true;
    default:
      return false;
  }
}

/**
 * The IP datagram inside a link-layer frame, as a view into `frame`; null when the frame carries something
 * other than IP (ARP, LLDP …). Throws WireError for a header cut short, and code 'unsupported-linktype' for
 * link types this module does not know.
 */
export function decapsulate(linkType: number, frame: Uint8Array): Uint8Array | null {
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      return ethernet(frame, 0);
    case LINKTYPE_RAW: case LINKTYPE_RAW_12: case LINKTYPE_RAW_14:
      return rawIp(frame);
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
      return frame;
    case LINKTYPE_LINUX_SLL: {
      // packet type(2) ARPHRD(2) address length(2) address(8) protocol(2) (tcpdump.org LINKTYPE_LINUX_SLL).
      if (frame.length < 16) throw new WireError('sll', 'truncated', 'Linux cooked header needs 16 bytes', frame.length);
      return byEthertype((frame[14]! << 8) | frame[15]!, frame, 16, 'sll');
    }
    case LINKTYPE_LINUX_SLL2: {
      // protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) address length(1) address(8).
      if (frame.length < 20) throw new WireError('sll', 'truncated', 'Linux cooked v2 header needs 20 bytes', frame.length);
      return byEthertype((frame[0]! << 8) | frame[1]!, frame, 20, 'sll');
    }
    case LINKTYPE_NULL: {
      // A 4-byte address family in the *capturing host's* byte order: accept either order.
      if (frame.length < 4) throw new WireError('null', 'truncated', 'loopback header needs 4 bytes', frame.length);
      const le = (frame[0]! | (frame[1]! << 8) | (frame[2]! << 16) | (frame[3]! << 24)) >>> 0;
      const be = ((frame[0]! << 24) | (frame[1]! << 16) | (frame[2]! << 8) | frame[3]!) >>> 0;
      const fam = le < 256 ? le : be;
      return family(fam, frame);
    }
    case LINKTYPE_LOOP: {
      if (frame.length < 4) throw new WireError('null', 'truncated', 'loopback header needs 4 bytes', frame.length);
      return family(((frame[0]! << 24) | (frame[1]! << 16) | (frame[2]! << 8) | frame[3]!) >>> 0, frame);
    }
    case LINKTYPE_PPP: case LINKTYPE_PPP_HDLC:
      return ppp(frame, 0);
    case LINKTYPE_PPP_ETHER: {
      // The PPPoE session header (RFC 2516 §4) without the Ethernet header, then PPP.
      if (frame.length < 6) throw new WireError('packet', 'truncated', 'PPPoE header cut short', frame.length);
      return ppp(frame, 6);
    }
    case LINKTYPE_C_HDLC: {
      // Cisco HDLC: address(1) control(1) then an Ethernet type.
      if (frame.length < 4) throw new WireError('packet', 'truncated', 'Cisco HDLC header needs 4 bytes', frame.length);
      return byEthertype((frame[2]! << 8) | frame[3]!, frame, 4, 'ethernet');
    }
    case LINKTYPE_IEEE802_11:
      return wifi(frame, 0);
    case LINKTYPE_IEEE802_11_RADIOTAP: {
      // Radiotap: version(1) pad(1) length(2, little-endian), then its fields; an FCS at the frame's end is
      // harmless (the IP total length bounds the datagram).
      if (frame.length < 8) throw new WireError('packet', 'truncated', 'radiotap header cut short', frame.length);
      const len = frame[2]! | (frame[3]! << 8);
      if (frame[0] !== 0 || len < 8 || frame.length < len) throw new WireError('packet', 'truncated', 'radiotap header cut short', frame.length);
      return wifi(frame, len);
    }
    case LINKTYPE_IEEE802_11_PRISM: {
      // Prism monitor header: msgcode(4) msglen(4), host byte order; then the 802.11 frame.
      if (frame.length < 8) throw new WireError('packet', 'truncated', 'Prism header cut short', frame.length);
      const le = frame[4]! | (frame[5]! << 8) | (frame[6]! << 16) | (frame[7]! << 24);
      const be = (frame[4]! << 24) | (frame[5]! << 16) | (frame[6]! << 8) | frame[7]!;
      const len = le > 0 && le <= 1024 ? le : be;
      if (len < 8 || len > frame.length) throw new WireError('packet', 'truncated', 'Prism header cut short', frame.length);
      return wifi(frame, len);
    }
    case LINKTYPE_IEEE802_11_AVS: {
      // AVS capture header: version(4) length(4), big-endian.
      if (frame.length < 8) throw new WireError('packet', 'truncated', 'AVS header cut short', frame.length);
      const len = ((frame[4]! << 24) | (frame[5]! << 16) | (frame[6]! << 8) | frame[7]!) >>> 0;
      if (len < 8 || len > frame.length) throw new WireError('packet', 'truncated', 'AVS header cut short', frame.length);
      return wifi(frame, len);
    }
    case LINKTYPE_IPOIB: {
      // As Linux captures it (and Wireshark reads it): a 40-byte pseudo-header (the InfiniBand global route
      // header, or the destination address when that is zero), then RFC 4391 §6's protocol type(2) reserved(2).
      if (frame.length < 44) throw new WireError('packet', 'truncated', 'IPoIB header needs 44 bytes', frame.length);
      return byEthertype((frame[40]! << 8) | frame[41]!, frame, 44, 'ethernet');
    }
    case LINKTYPE_FDDI: {
      // Frame control(1) destination(6) source(6), then 802.2 LLC.
      if (frame.length < 13) throw new WireError('packet', 'truncated', 'FDDI header needs 13 bytes', frame.length);
      return llc(frame, 13);
    }
    case LINKTYPE_ARCNET_LINUX: {
      // Linux ARCnet: source(1) destination(1) offset(2) protocol(1) split flag(1) sequence(2) (RFC 1201).
      if (frame.length < 8) throw new WireError('packet', 'truncated', 'ARCnet header needs 8 bytes', frame.length);
      const proto = frame[4]!;
      // ARC_P_IP (212) and ARC_P_IPV6 (196); a split packet's later fragments carry no IP header.
      if ((proto === 212 || proto === 196) && frame[5] === 0) return frame.subarray(8);
      return null;
    }
    case LINKTYPE_NFLOG:
      return nflog(frame);
    case LINKTYPE_JUNIPER_ETHER: {
      // Juniper's capture header: magic "MGC", flags (0x80: extension TLVs follow, with their total length
      // in 2 bytes; 0x02: the layer-2 header was stripped, a 4-byte protocol cookie precedes the IP packet).
      if (frame.length < 4) throw new WireError('packet', 'truncated', 'Juniper header needs 4 bytes', frame.length);
      if (frame[0] !== 0x4d || frame[1] !== 0x47 || frame[2] !== 0x43) return null;
      const flags = frame[3]!;
      let o = 4;
      if (flags & 0x80) {
        if (frame.length < 6) throw new WireError('packet', 'truncated', 'Juniper extension length cut short', frame.length);
        o = 6 + ((frame[4]! << 8) | frame[5]!);
      }
      if (flags & 0x02) {
        if (frame.length < o + 5) throw new WireError('packet', 'truncated', 'Juniper header cut short', frame.length);
        const v = frame[o + 4]! >> 4;
        return v === 4 || v === 6 ? frame.subarray(o + 4) : null;
      }
      return ethernet(frame, o);
    }
    default:
      throw new WireError('packet', 'unsupported-linktype', `link type ${linkType} is not supported`, 0);
  }
}

/** A PPP frame from `o`: optional HDLC address/control (FF 03), protocol field (1 or 2 bytes, RFC 1661 §2). */
export function ppp(frame: Uint8Array, o: number): Uint8Array | null {
  if (frame.length >= o + 2 && frame[o] === 0xff && frame[o + 1] === 0x03) o += 2;
  if (frame.length < o + 1) throw new WireError('packet', 'truncated', 'PPP header cut short', frame.length);
  let proto: number;
  // Protocol-field compression: an odd first byte is the whole (one-byte) field.
  if (frame[o]! & 1) { proto = frame[o]!; o += 1; } else {
    if (frame.length < o + 2) throw new WireError('packet', 'truncated', 'PPP header cut short', frame.length);
    proto = (frame[o]! << 8) | frame[o + 1]!;
    o += 2;
  }
  return proto === PPP_IPV4 || proto === PPP_IPV6 ? frame.subarray(o) : null;
}

/** An 802.11 frame from `o` (IEEE 802.11-2020 §9.2): data frames only, unprotected, then LLC/SNAP. */
function wifi(frame: Uint8Array, o: number): Uint8Array | null {
  if (frame.length < o + 24) throw new WireError('packet', 'truncated', '802.11 header cut short', frame.length);
  const fc0 = frame[o]!;
  const fc1 = frame[o + 1]!;
  const type = (fc0 >> 2) & 3;
  const subtype = fc0 >> 4;
  if (type !== 2 || subtype & 0x4) return null; // not a data frame, or a null-data subtype
  if (fc1 & 0x40) return null; // protected: encrypted payload
  let hl = 24;
  if ((fc1 & 3) === 3) hl += 6; // ToDS and FromDS: the fourth address
  if (subtype & 0x8) {
    hl += 2; // QoS control
    if (fc1 & 0x80) hl += 4; // +HTC (the Order bit on a QoS data frame)
  }
  return llc(frame, o + hl);
}

/** 802.2 LLC at `o`: SNAP (AA AA 03, OUI, Ethernet type) carrying IP; anything else is not IP. */
function llc(frame: Uint8Array, o: number): Uint8Array | null {
  if (frame.length < o + 3) throw new WireError('packet', 'truncated', 'LLC header cut short', frame.length);
  if (frame[o] !== 0xaa || frame[o + 1] !== 0xaa || frame[o + 2] !== 0x03) return null;
  if (frame.length < o + 8) throw new WireError('packet', 'truncated', 'SNAP header cut short', frame.length);
  return byEthertype((frame[o + 6]! << 8) | frame[o + 7]!, frame, o + 8, 'ethernet');
}

/**
 * Linux NFLOG (tcpdump.org LINKTYPE_NFLOG): family(1) version(1) resource id(2), then TLVs whose length and
 * type are in the capturing host's byte order (little-endian here, big-endian tried when that does not fit),
 * each padded to 4 bytes; type 9 (NFULA_PAYLOAD) holds the IP datagram.
 */
function nflog(frame: Uint8Array): Uint8Array | null {
  if (frame.length < 4) throw new WireError('packet', 'truncated', 'NFLOG header needs 4 bytes', frame.length);
  const fam = frame[0]!;
  if (fam !== AF_INET && fam !== 10) return null;
  for (const little of [true, false]) {
    let o = 4;
    let ok = true;
    while (o + 4 <= frame.length) {
      const len = little ? frame[o]! | (frame[o + 1]! << 8) : (frame[o]! << 8) | frame[o + 1]!;
      const type = (little ? frame[o + 2]! | (frame[o + 3]! << 8) : (frame[o + 2]! << 8) | frame[o + 3]!) & 0x7fff;
      if (len < 4 || o + len > frame.length) { ok = false; break; }
      if (type === 9) return frame.subarray(o + 4, o + len);
      o += (len + 3) & ~3;
    }
    if (ok) return null;
  }
  throw new WireError('packet', 'truncated', 'NFLOG TLV cut short', frame.length);
}

function family(fam: number, frame: Uint8Array): Uint8Array | null {
  if (fam === AF_INET || AF_INET6.has(fam)) return frame.subarray(4);
  return null;
}

function rawIp(frame: Uint8Array): Uint8Array {
  if (frame.length < 1) throw new WireError('packet', 'truncated', 'empty raw IP frame', 0);
  const v = frame[0]! >> 4;
  // A raw-IP link carries nothing but IP: another version nibble is a damaged packet.
  if (v !== 4 && v !== 6) throw new WireError('packet', 'bad-version', `IP version ${v} on a raw IP link`, 0);
  return frame;
}

function ethernet(frame: Uint8Array, start: number): Uint8Array | null {
  if (frame.length < start + 14) throw new WireError('ethernet', 'truncated', 'Ethernet header needs 14 bytes', frame.length);
  let type = (frame[start + 12]! << 8) | frame[start + 13]!;
  let o = start + 14;
  // 802.1Q and 802.1ad tags, any depth (QinQ): TCI(2) + inner type(2).
  while (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD) {
    if (frame.length < o + 4) throw new WireError('ethernet', 'truncated', 'VLAN tag cut short', frame.length);
    type = (frame[o + 2]! << 8) | frame[o + 3]!;
    o += 4;
  }
  if (type === ETHERTYPE_FABRICPATH) {
    // Cisco FabricPath: outer MACs + 0x8903 + FTag/TTL(2), then a complete inner Ethernet frame.
    if (frame.length < o + 2) throw new WireError('ethernet', 'truncated', 'FabricPath tag cut short', frame.length);
    return ethernet(frame, o + 2);
  }
  if (type < 0x0600) {
    // An 802.3 length field: 802.2 LLC follows; only SNAP carries IP.
    return frame.length >= o + 3 && frame[o] === 0xaa ? llc(frame, o) : null;
  }
  return byEthertype(type, frame, o, 'ethernet');
}

function byEthertype(type: number, frame: Uint8Array, o: number, layer: 'ethernet' | 'sll'): Uint8Array | null {
  switch (type) {
    case ETHERTYPE_IPV4:
    case ETHERTYPE_IPV6:
      return frame.subarray(o);
    case ETHERTYPE_VLAN: case ETHERTYPE_QINQ: case ETHERTYPE_QINQ_OLD: {
      if (frame.length < o + 4) throw new WireError(layer, 'truncated', 'VLAN tag cut short', frame.length);
      return byEthertype((frame[o + 2]! << 8) | frame[o + 3]!, frame, o + 4, layer);
    }
    case ETHERTYPE_MPLS:
    case ETHERTYPE_MPLS_MC: {
      // RFC 3032 label stack entries until the bottom-of-stack bit; the payload's version nibble tells IPv4/IPv6.
      for (;;) {
        if (frame.length < o + 4) throw new WireError(layer, 'truncated', 'MPLS label stack cut short', frame.length);
        const bos = frame[o + 2]! & 1;
        o += 4;
        if (bos) break;
      }
      if (frame.length <= o) throw new WireError(layer, 'truncated', 'MPLS payload missing', frame.length);
      const v = frame[o]! >> 4;
      return v === 4 || v === 6 ? frame.subarray(o) : null;
    }
    case ETHERTYPE_PBB: {
      // 802.1ah provider backbone bridging: I-TAG(4), then the customer's whole Ethernet frame.
      if (frame.length < o + 4) throw new WireError(layer, 'truncated', 'PBB I-TAG cut short', frame.length);
      return ethernet(frame, o + 4);
    }
    case ETHERTYPE_VNTAG: {
      // Cisco VN-Tag: tag(4) then the Ethernet type.
      if (frame.length < o + 6) throw new WireError(layer, 'truncated', 'VN-Tag cut short', frame.length);
      return byEthertype((frame[o + 4]! << 8) | frame[o + 5]!, frame, o + 6, layer);
    }
    case ETHERTYPE_PPPOE_SESSION: {
      // RFC 2516 §4: ver/type(1) code(1) session(2) length(2), then the PPP protocol field (RFC 1661).
      if (frame.length < o + 8) throw new WireError(layer, 'truncated', 'PPPoE header cut short', frame.length);
      const proto = (frame[o + 6]! << 8) | frame[o + 7]!;
      if (proto === 0x0021 || proto === 0x0057) return frame.subarray(o + 8);
      return null;
    }
    default:
      return null;
  }
}
