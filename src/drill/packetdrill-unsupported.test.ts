import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScript } from './parser.js';

const START = '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n';
const END = '\n+0 close(3) = 0\n';

/** Each construct must give UNSUPPORTED naming it, at the right line, without throwing. */
const CASES: Array<{ name: string; src: string; construct: RegExp; line: number; column?: number }> = [
  { name: 'TCP-MD5 option', src: `${START}+0 < S 0:0(0) win 100 <md5 000102030405060708090a0b0c0d0e0f,nop,nop>${END}`, construct: /^TCP-MD5 option \(md5\)$/, line: 2, column: 24 },
  { name: 'AccECN option', src: `${START}+0 > . 1:1(0) ack 1 <ECN e0b 1 ceb 0 e1b 0,nop>${END}`, construct: /^AccECN option \(ECN\)$/, line: 2 },
  { name: 'UDP packet', src: `${START}+0 < udp (1000)${END}`, construct: /^UDP packet$/, line: 2, column: 6 },
  { name: 'outbound ICMP packet', src: `${START}+0 > icmp unreachable port_unreachable${END}`, construct: /^ICMP packet$/, line: 2 },
  { name: 'ICMP quoting UDP', src: `${START}+0 < [udp (10)] icmp unreachable port_unreachable${END}`, construct: /^ICMP packet$/, line: 2 },
  { name: 'GRE encapsulation', src: `${START}+0 < gre: S 0:0(0) win 100${END}`, construct: /^GRE encapsulation$/, line: 2 },
  { name: 'GRE with a header expression', src: `${START}+0 < GREv0 flags [key present], sum 0 off 0 key=5 seq 0: S 0:0(0) win 100${END}`, construct: /^GRE encapsulation$/, line: 2 },
  { name: 'MPLS encapsulation', src: `${START}+0 < mpls (label 123, tc 1, [S], ttl 255): S 0:0(0) win 100${END}`, construct: /^MPLS encapsulation$/, line: 2 },
  { name: 'explicit IPv4 header', src: `${START}+0 < ipv4 192.0.2.1 > 192.168.0.1: S 0:0(0) win 100${END}`, construct: /^explicit IPv4 header \(192\.0\.2\.1 > 192\.168\.0\.1\)$/, line: 2 },
  { name: 'explicit IPv6 header', src: `${START}+0 < ipv6 2001:db8::1 > fd3d::1: S 0:0(0) win 100${END}`, construct: /^explicit IPv6 header \(2001:db8::1 > fd3d::1\)$/, line: 2 },
  { name: 'PSP encapsulation', src: `${START}+0 < encap psp spi 5 (some future syntax): S 0:0(0)${END}`, construct: /^encapsulation \(encap, e\.g\. PSP\)$/, line: 2 },
  { name: "nplab's TCP over UDP", src: `${START}+0 < S 0:0(0) win 100/udp(1234 > 9899)${END}`, construct: /^UDP encapsulation/, line: 2 },
  { name: 'SCTP packet', src: `${START}+0 < sctp: INIT[flgs=0, tag=1]${END}`, construct: /^SCTP packet$/, line: 2 },
  { name: 'Fast Open key socket option', src: `${START}+0 setsockopt(3, SOL_TCP, TCP_FASTOPEN_KEY, [1], 4) = 0${END}`, construct: /^TCP Fast Open \(TCP_FASTOPEN_KEY\)$/, line: 2 },
  { name: 'MD5 socket option', src: `${START}+0 setsockopt(3, SOL_TCP, TCP_MD5SIG, {...}, 216) = 0${END}`, construct: /^TCP-MD5 \(RFC 2385\) \(TCP_MD5SIG\)$/, line: 2 },
  { name: 'MPTCP socket', src: `0 socket(..., SOCK_STREAM, IPPROTO_MPTCP) = 3${END}`, construct: /^MPTCP \(IPPROTO_MPTCP\)$/, line: 1 },
  { name: 'UDP socket', src: `0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3${END}`, construct: /^UDP sockets \(SOCK_DGRAM\)$/, line: 1 },
  { name: 'Python beyond assert', src: `${START}+0 %{ print(tcpi_rto) }%${END}`, construct: /^%\{ \}% code block beyond/, line: 2 },
  { name: 'a system call packetdrill does not know', src: `${START}+0 frobnicate(3) = 0${END}`, construct: /^system call 'frobnicate'/, line: 2 },
  { name: 'an unknown option', src: `--fancy_new_feature=1\n${START}${END}`, construct: /^option --fancy_new_feature$/, line: 1 },
  { name: 'packet fuzzing', src: `${START}+0 < S 0:0(0) win 100 {mut tcp mss}${END}`, construct: /^packet fuzzing/, line: 2 },
];

for (const c of CASES) {
  test(`UNSUPPORTED, not a crash: ${c.name}`, () => {
    const r = parseScript(c.src, { file: 'u.pkt', personality: 'linux' });
    assert.ok(r.unsupported, 'no unsupported construct reported');
    assert.match(r.unsupported.construct, c.construct);
    assert.equal(r.unsupported.line, c.line);
    if (c.column !== undefined) assert.equal(r.unsupported.column, c.column);
    assert.equal(r.unsupportedAll[0], r.unsupported);
  });
}

test('parsing continues past an unsupported option: the whole script is still read', () => {
  const r = parseScript(`${START}+0 < S 0:0(0) win 100 <md5 00ff,nop,nop>\n+0 > S. 0:0(0) ack 1 <...>${END}`, { file: 'u.pkt', personality: 'linux' });
  assert.equal(r.events.length, 4);
  const syn = r.events[1]!;
  assert.ok(syn.kind === 'packet' && syn.packet.protocol === 'tcp');
  assert.deepEqual(syn.packet.options, [{ kind: 'unsupported', name: 'md5', text: 'md5 00ff' }, { kind: 'nop' }, { kind: 'nop' }]);
});

test('several unsupported constructs are all listed, first one first', () => {
  const r = parseScript(`${START}+0 < udp (10)\n+0 setsockopt(3, SOL_TCP, TCP_FASTOPEN_NO_COOKIE, [1], 4) = 0${END}`, { file: 'u.pkt', personality: 'linux' });
  assert.deepEqual(r.unsupportedAll.map((u) => [u.line, u.construct]), [[2, 'UDP packet'], [3, 'TCP Fast Open (TCP_FASTOPEN_NO_COOKIE)']]);
});

test('an abort keeps the events read so far and never reports them as a pass', () => {
  const r = parseScript(`${START}+0 < encap psp spi 1: S 0:0(0) win 1${END}`, { file: 'u.pkt', personality: 'linux' });
  assert.equal(r.events.length, 1);
  assert.ok(r.unsupported);
});

test('a syntax error after an unsupported construct still yields UNSUPPORTED (unknown syntax may follow)', () => {
  const r = parseScript(`${START}+0 < udp (10)\n+0 < S 0:0(0) <mss 1460> this is not packetdrill`, { file: 'u.pkt', personality: 'linux' });
  assert.equal(r.unsupported?.construct, 'UDP packet');
});

test('TCP Fast Open options parse: FO with or without a cookie, FOEXP', () => {
  const r = parseScript(`${START}+0 < S 0:0(0) win 100 <mss 1460,FO abcd1234,nop,nop>\n+0 > S. 0:0(0) ack 1 <FO,nop,nop>\n+0 < S 0:0(0) win 100 <FOEXP 0102030405060708>${END}`, { file: 'u.pkt', personality: 'linux' });
  assert.equal(r.unsupported, undefined);
  const opts = r.events.slice(1, 4).map((e) => (e.kind === 'packet' && e.packet.protocol === 'tcp' ? e.packet.options : null));
  assert.deepEqual(opts[0]?.[1], { kind: 'fastopen', cookie: new Uint8Array([0xab, 0xcd, 0x12, 0x34]), exp: false });
  assert.deepEqual(opts[1]?.[0], { kind: 'fastopen', cookie: new Uint8Array(0), exp: false });
  assert.deepEqual(opts[2]?.[0], { kind: 'fastopen', cookie: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), exp: true });
});

test('supported Linux-only symbols do not trigger UNSUPPORTED', () => {
  const r = parseScript(`${START}+0 setsockopt(3, SOL_TCP, TCP_USER_TIMEOUT, [3000], 4) = 0\n+0 ioctl(3, SIOCINQ, [0]) = 0${END}`, { file: 'u.pkt', personality: 'linux' });
  assert.equal(r.unsupported, undefined);
  assert.deepEqual(r.unsupportedAll, []);
});

test('an explicit header in syntax synack does not know is still UNSUPPORTED, not a parse error', () => {
  const r = parseScript(`${START}+0 < ipv4 (ttl 3) 192.0.2.1 > 2001:db8::1: S 0:0(0) win 1${END}`, { file: 'u.pkt', personality: 'linux' });
  assert.equal(r.unsupported?.construct, 'explicit IPv4 header');
});
