/**
 * Link-layer decapsulation down to the IP datagram, for the LINKTYPE_* values of the tcpdump.org registry:
 * Ethernet (with 802.1Q / 802.1ad QinQ tags, MPLS, PPPoE sessions and Cisco FabricPath), raw IP
 * (101, 228, 229 and the old DLT_RAW values 12 and 14), Linux cooked SLL (113) and SLL2 (276), BSD null (0)
 * and OpenBSD loopback (108). Browser-clean.
 */
import { WireError } from './errors.js';

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
/** DLT_RAW as some BSDs number it in capture files. */
export const LINKTYPE_RAW_12 = 12;
export const LINKTYPE_RAW_14 = 14;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD = 0x9100;
const ETHERTYPE_MPLS = 0x8847;
const ETHERTYPE_MPLS_MC = 0x8848;
const ETHERTYPE_PPPOE_SESSION = 0x8864;
const ETHERTYPE_FABRICPATH = 0x8903;

/** Address-family values a BSD null/loopback header may carry for IPv4 and IPv6 (per OS). */
const AF_INET = 2;
const AF_INET6 = new Set([10, 23, 24, 28, 30]);

export function isSupportedLinkType(linkType: number): boolean {
  switch (linkType) {
    case LINKTYPE_NULL: case LINKTYPE_ETHERNET: case LINKTYPE_RAW_12: case LINKTYPE_RAW_14: case LINKTYPE_RAW:
    case LINKTYPE_LOOP: case LINKTYPE_LINUX_SLL: case LINKTYPE_IPV4: case LINKTYPE_IPV6: case LINKTYPE_LINUX_SLL2:
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
    default:
      throw new WireError('packet', 'unsupported-linktype', `link type ${linkType} is not supported`, 0);
  }
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
  if (type < 0x0600) return null; // 802.3 length field (LLC): not IP
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
