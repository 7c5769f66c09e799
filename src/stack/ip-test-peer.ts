/**
 * Test helper: one Stack in virtual time and a hand-written peer that sends it raw IP datagrams (fragments,
 * ICMP, hostile headers) and sees every datagram it sends back.
 */
import { Stack, type StackOptions } from './stack.js';
import { installIpReassembly } from './reassembly.js';
import { VirtualClock } from './clock.js';
import { decodeIp, type IpPacket } from '../wire/ip.js';
import { decodePacket, encodeTcpPacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { EMPTY, type TcpOptions, type TcpSegment } from '../wire/tcp-types.js';
import { decodeIcmp, type IcmpMessage } from '../wire/icmp.js';

export const V4 = { stack: '10.0.0.2', peer: '10.0.0.1' };
export const V6 = { stack: 'fd00::2', peer: 'fd00::1' };

export interface Sent { bytes: Uint8Array; ip: IpPacket; tcp: TcpSegment | null; icmp: IcmpMessage | null }

export function ipHost(opts: Partial<StackOptions> = {}) {
  const clock = new VirtualClock();
  const stack = new Stack({ addresses: [V4.stack, V6.stack], clock, random: (b) => b.fill(7), ...opts });
  installIpReassembly(stack); // a host as in Node
  const out: Sent[] = [];
  stack.attach((p) => {
    const ip = decodeIp(p);
    let tcp: TcpSegment | null = null, icmp: IcmpMessage | null = null;
    if (ip.protocol === 6 && ip.fragOffset === 0 && !ip.mf) tcp = decodePacket(p).tcp!.seg;
    if ((ip.protocol === 1 || ip.protocol === 58) && ip.fragOffset === 0 && !ip.mf) icmp = decodeIcmp(ip.payload, ip.version, ip.src, ip.dst);
    out.push({ bytes: p, ip, tcp, icmp });
  });
  return { stack, clock, out };
}

export function seg(init: Partial<TcpSegment> & { flags: number }): TcpSegment {
  return { srcPort: 40000, dstPort: 80, seq: 1000, ack: 0, window: 65535, urgent: 0, options: {} as TcpOptions, payload: EMPTY, ...init };
}

/** A TCP datagram from the peer (`v` 4 or 6), DF clear so it may be fragmented. */
export function tcpFrom(v: 4 | 6, s: TcpSegment, from?: string): Uint8Array {
  const a = v === 4 ? V4 : V6;
  return encodeTcpPacket({ src: parseAddress(from ?? a.peer), dst: parseAddress(a.stack), df: false, id: 0x4242 }, s);
}
