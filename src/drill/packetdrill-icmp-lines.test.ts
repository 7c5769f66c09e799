import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScript } from './parser.js';
import { icmpLinePacket, icmpTypeCode } from './icmp-lines.js';
import { decodeIp } from '../wire/ip.js';
import { decodeIcmp, quotedTcp } from '../wire/icmp.js';
import { parseAddress } from '../wire/address.js';
import type { IcmpPacketSpec } from './ast.js';

function icmpLine(line: string): IcmpPacketSpec {
  const r = parseScript(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n${line}\n`, { file: 'i.pkt', personality: 'linux' });
  assert.equal(r.unsupported, undefined, r.unsupported?.construct);
  const ev = r.events[1]!;
  assert.ok(ev.kind === 'packet' && ev.packet.protocol === 'icmp');
  return ev.packet as IcmpPacketSpec;
}

test('packetdrill ICMP lines parse: the quoted segment before `icmp`, type, code, mtu', () => {
  assert.deepEqual(icmpLine('+0 < [1:1461(1460)] icmp unreachable frag_needed mtu 1000'),
    { protocol: 'icmp', type: 'unreachable', code: 'frag_needed', mtu: 1000, echoedTcp: { start: 1, end: 1461, len: 1460 } });
  assert.deepEqual(icmpLine('+0 < icmp unreachable port_unreachable'), { protocol: 'icmp', type: 'unreachable', code: 'port_unreachable' });
  assert.deepEqual(icmpLine('+0 < [1:1221(1220)] icmp packet_too_big mtu 1280'),
    { protocol: 'icmp', type: 'packet_too_big', mtu: 1280, echoedTcp: { start: 1, end: 1221, len: 1220 } });
  assert.throws(() => parseScript('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < [1:5(3)] icmp unreachable\n', { file: 'i.pkt', personality: 'linux' }), /END = START \+ LEN/);
});

test('ICMP type and code names map to the bytes packetdrill sends, per family', () => {
  const spec = (type: string, code?: string, mtu?: number): IcmpPacketSpec => ({ protocol: 'icmp', type, ...(code ? { code } : {}), ...(mtu ? { mtu } : {}) });
  assert.deepEqual(icmpTypeCode(spec('unreachable', 'frag_needed', 1000), false), { type: 3, code: 4 });
  assert.deepEqual(icmpTypeCode(spec('unreachable', 'port_unreachable'), false), { type: 3, code: 3 });
  assert.deepEqual(icmpTypeCode(spec('time_exceeded'), false), { type: 11, code: 0 });
  assert.deepEqual(icmpTypeCode(spec('unreachable', 'port_unreachable'), true), { type: 1, code: 4 });
  assert.deepEqual(icmpTypeCode(spec('packet_too_big', undefined, 1280), true), { type: 2, code: 0 });
  assert.deepEqual(icmpTypeCode(spec('type_42', 'code_7'), false), { type: 42, code: 7 });
  assert.match(icmpTypeCode(spec('unreachable', 'bogus'), false) as string, /bad ICMP code/);
  assert.match(icmpTypeCode(spec('time_exceeded', undefined, 1000), false) as string, /MTU is only valid/);
});

test('the injected datagram quotes the stack\'s segment: addresses, ports, live sequence number; checksum valid', () => {
  for (const [local, remote] of [['192.168.0.1', '192.0.2.1'], ['fd3d:a0b:17d6::1', '2001:db8::1']] as const) {
    const v6 = local.includes(':');
    const spec: IcmpPacketSpec = { protocol: 'icmp', type: v6 ? 'packet_too_big' : 'unreachable', ...(v6 ? {} : { code: 'frag_needed' }), mtu: v6 ? 1280 : 1000 };
    const tc = icmpTypeCode(spec, v6);
    assert.ok(typeof tc !== 'string');
    const p = icmpLinePacket(spec, tc, { remote: parseAddress(remote), local: parseAddress(local), localPort: 8080, remotePort: 48000, seq: 0xdeadbeef, len: 1460 });
    const ip = decodeIp(p);
    const m = decodeIcmp(ip.payload, ip.version, ip.src, ip.dst);
    assert.equal(m.checksumOk, true);
    assert.equal(m.rest, v6 ? 1280 : 1000);
    const q = quotedTcp(m.body)!;
    assert.deepEqual([q.srcPort, q.dstPort, q.seq], [8080, 48000, 0xdeadbeef]);
    assert.deepEqual([...q.src], [...parseAddress(local)]);
  }
});
