import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScript } from './parser.js';
import type { SyscallEvent } from './ast.js';

const START = '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n';

test('defaults follow packetdrill per personality (§9): nplab uses 5 % and IPv4', () => {
  const l = parseScript(START, { file: 'o.pkt', personality: 'linux' }).options;
  assert.equal(l.toleranceUsecs, 4000);
  assert.equal(l.tolerancePercent, 12.5);
  assert.equal(l.tcpTsTickUsecs, 0);
  assert.equal(l.ipVersion, undefined);
  assert.equal(l.bindPort, 8080);
  assert.equal(l.connectPort, 8080);
  assert.equal(l.strictSegments, false);
  const f = parseScript(START, { file: 'o.pkt', personality: 'freebsd' }).options;
  assert.equal(f.tolerancePercent, 5);
  assert.equal(f.ipVersion, 'ipv4');
  assert.equal(parseScript(START, { file: 'o.pkt', personality: 'synack' }).options.tolerancePercent, 12.5);
});

test('script option lines override the defaults and are kept as written', () => {
  const src = [
    '--ip_version=ipv6', '--tolerance_usecs=75000', '--tolerance_percent=7.5', '--tcp_ts_tick_usecs=1000', '--mtu=1280',
    '--mss=1000', '--local_ip=192.168.0.1', '--remote_ip=2001:db8::1', '--bind_port=1234', '--connect_port=4321',
    '--strict_segments', '--tcp_ts_ecr_scaled', '--non_fatal=packet,syscall', '--verbose', START,
  ].join('\n');
  const o = parseScript(src, { file: 'o.pkt', personality: 'freebsd' }).options;
  assert.equal(o.ipVersion, 'ipv6');
  assert.equal(o.toleranceUsecs, 75000);
  assert.equal(o.tolerancePercent, 7.5);
  assert.equal(o.tcpTsTickUsecs, 1000);
  assert.equal(o.mtu, 1280);
  assert.equal(o.mss, 1000);
  assert.equal(o.localIp, '192.168.0.1');
  assert.equal(o.remoteIp, '2001:db8::1');
  assert.equal(o.bindPort, 1234);
  assert.equal(o.connectPort, 4321);
  assert.equal(o.strictSegments, true);
  assert.equal(o.tcpTsEcrScaled, true);
  assert.deepEqual(o.nonFatal, ['packet', 'syscall']);
  assert.equal(o.given.length, 14);
  assert.deepEqual(o.given[0], { name: 'ip_version', value: 'ipv6', line: 1, column: 1 });
  assert.deepEqual(o.given[10], { name: 'strict_segments', line: 11, column: 1 });
});

test('--ip_version=ipv4-mapped-ipv6 is read as one value', () => {
  assert.equal(parseScript(`--ip_version=ipv4-mapped-ipv6\n${START}`, { file: 'o.pkt', personality: 'linux' }).options.ipVersion, 'ipv4-mapped-ipv6');
});

const firstArgOf = (src: string, defines?: Record<string, string>): unknown => {
  const r = parseScript(src, { file: 'd.pkt', personality: 'linux', defines });
  const c = r.events.find((e): e is SyscallEvent => e.kind === 'syscall' && e.name === 'setsockopt')!;
  return JSON.parse(JSON.stringify(c.args[3], (k, v) => (k === 'line' || k === 'column' ? undefined : v)));
};

test('--define=NAME=VALUE replaces the WORD by the value, as a number, string or symbol', () => {
  assert.deepEqual(firstArgOf(`--define=TIMEOUT=3000\n${START}+0 setsockopt(3, SOL_TCP, TCP_USER_TIMEOUT, [TIMEOUT], 4) = 0`),
    { kind: 'array', items: [{ kind: 'int', value: 3000, hex: false, text: '3000' }] });
  assert.deepEqual(firstArgOf(`--define=CC="reno"\n${START}+0 setsockopt(3, SOL_TCP, TCP_CONGESTION, CC, 4) = 0`),
    { kind: 'string', value: 'reno', ellipsis: false });
});

test('caller defines (-D) substitute too; a defined name without a value leaves the WORD alone', () => {
  assert.deepEqual(firstArgOf(`${START}+0 setsockopt(3, SOL_SOCKET, SO_RCVBUF, [BUF], 4) = 0`, { BUF: '65536' }),
    { kind: 'array', items: [{ kind: 'int', value: 65536, hex: false, text: '65536' }] });
  assert.deepEqual(firstArgOf(`${START}+0 setsockopt(3, SOL_SOCKET, SO_RCVBUF, [STANDARD], 4) = 0`),
    { kind: 'array', items: [{ kind: 'symbol', name: 'STANDARD' }] });
});

test('keywords are never replaced by a define (lexer.l returns them before word())', () => {
  const r = parseScript(`--define=ack=7\n${START}+0 > . 1:1(0) ack 1`, { file: 'd.pkt', personality: 'linux' });
  const p = r.events[1]!;
  assert.ok(p.kind === 'packet' && p.packet.protocol === 'tcp');
  assert.equal(p.packet.ack, 1);
  assert.deepEqual(r.options.defines.ack, '7');
});

test('the option value stops at the end of its line', () => {
  const o = parseScript(`--tolerance_usecs=7000 // seven ms\n${START}`, { file: 'o.pkt', personality: 'linux' }).options;
  assert.equal(o.toleranceUsecs, 7000);
});
