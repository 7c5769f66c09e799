import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScript } from './parser.js';
import { icmpLinePacket, icmpTypeCode } from './icmp-lines.js';
import { runScriptText } from './runner.js';
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

const OPEN = `0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0   bind(3, ..., ...) = 0
+0   listen(3, 1) = 0
+0   < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
+0   > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 5>
+.1  < . 1:1(0) ack 1 win 512
+0   accept(3, ..., ...) = 4
+0   write(4, ..., 2920) = 2920
+0   > . 1:1461(1460) ack 1
+0   > P. 1461:2921(1460) ack 1
`;

test('a script with an ICMP fragmentation-needed line runs: synack resends what was in flight in 960-byte segments at once', () => {
  const r = runScriptText(OPEN + `+.01 < [1:1461(1460)] icmp unreachable frag_needed mtu 1000
+0   > . 1:961(960) ack 1
+0   > . 961:1921(960) ack 1
+0   > . 1921:2881(960) ack 1
+0   > P. 2881:2921(40) ack 1
`, { file: 'pmtu.pkt', personality: 'synack' });
  assert.equal(r.result, 'pass', `${r.line}: ${r.reason}`);
});

test('the IPv6 form: packet too big, MTU 1280, gives 1220-byte segments', () => {
  const r = runScriptText(`--ip_version=ipv6\n` + OPEN + `+.01 < [1:1461(1460)] icmp packet_too_big mtu 1280
+0   > . 1:1221(1220) ack 1
+0   > . 1221:2441(1220) ack 1
+0   > P. 2441:2921(480) ack 1
`, { file: 'pmtu6.pkt', personality: 'synack' });
  assert.equal(r.result, 'pass', `${r.line}: ${r.reason}`);
});

test('an ICMP port unreachable quoting the SYN ends connect() with ECONNREFUSED (SO_ERROR), as on Linux', () => {
  const r = runScriptText(`0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0   connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0   > S 0:0(0) <...>
+.01 < [0:0(0)] icmp unreachable port_unreachable
+0   getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0
`, { file: 'refused.pkt', personality: 'linux' });
  assert.equal(r.result, 'pass', `${r.line}: ${r.reason}`);
  // The same ICMP quoting another sequence number is not ours (RFC 5927): connect() still pending.
  const r2 = runScriptText(`0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0   connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0   > S 0:0(0) <...>
+.01 < [7:7(0)] icmp unreachable port_unreachable
+0   getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
`, { file: 'refused2.pkt', personality: 'linux' });
  assert.equal(r2.result, 'pass', `${r2.line}: ${r2.reason}`);
});
