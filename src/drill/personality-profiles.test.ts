/**
 * Personalities are configuration of the stack under test (packetdrill-language.md §11): each test pins one
 * wire-profile behaviour with a small script, and where synack's own defaults differ, shows the same script
 * failing (or behaving differently) under the synack personality.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScriptText, type DrillResult } from './runner.js';
import { applyShell, baseProfile, freebsdWindowShift, mssForMtu } from './personality.js';
import { parseScript } from './parser.js';

const run = (text: string, personality: 'synack' | 'linux' | 'freebsd'): DrillResult => runScriptText(text, { file: 'p.pkt', personality });
const pass = (r: DrillResult): void => assert.equal(r.result, 'pass', `line ${r.line}: ${r.reason}`);

const BSD_ACTIVE = `--tolerance_usecs=10000
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>
+.1 < S. 0:0(0) ack 1 win 32767 <mss 1460,sackOK,eol,eol>
+0 > . 1:1(0) ack 1 win 65535
`;

test('window scale and MSS follow the FreeBSD rules', () => {
  assert.equal(freebsdWindowShift(2097152), 6);
  assert.equal(freebsdWindowShift(73728), 1);
  assert.equal(freebsdWindowShift(4294967295), 14);
  assert.equal(mssForMtu(1500, false), 1460);
  assert.equal(mssForMtu(1500, true), 1440);
  assert.equal(mssForMtu(72, false), 32);
  const p = baseProfile('freebsd', parseScript('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n', { file: 'x', personality: 'freebsd' }).options, false);
  assert.equal(applyShell('sysctl -w kern.ipc.maxsockbuf=73728', p).kind, 'ok');
  assert.equal(p.tcp.windowShift, 1);
  // RFC 793's RST and SYN handling (insecure mode) is configuration now.
  assert.equal(applyShell('sysctl -w net.inet.tcp.insecure_rst=1', p).kind, 'ok');
  assert.equal(p.tcp.rstInWindow, 'reset');
  assert.equal(applyShell('sysctl -w net.inet.tcp.insecure_syn=1', p).kind, 'ok');
  assert.equal(p.tcp.synInWindow, 'reset');
  assert.equal(applyShell('sysctl -w net.inet.tcp.insecure_rst=0', p).kind, 'ok');
  assert.equal(p.tcp.rstInWindow, 'challenge');
  assert.equal(applyShell('sysctl -w net.inet.tcp.no_such_knob=1', p).kind, 'unsupported');
  assert.deepEqual(applyShell('sockstat -6 -P tcp -p 8080 -s | grep -c SYN_RCVD | grep 0', p), { kind: 'sockstat', family: 6, port: 8080, state: 'SYN_RCVD', expected: 0 });
});

test('FreeBSD: SYN retransmissions at 1 s then 2.2 s (rexmit_slop), TCP_KEEPINIT ends the attempt', () => {
  const script = `--tolerance_usecs=10000
--tolerance_percent=0
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, IPPROTO_TCP, TCP_KEEPINIT, [5], 4) = 0
+0...5 connect(3, ..., ...) = -1 ETIMEDOUT (Operation timed out)
+0 > S 0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>
+1.0 > S 0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 1100 ecr 0>
+2.2 > S 0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 3300 ecr 0>
`;
  pass(run(script, 'freebsd'));
  // Linux's schedule has no slop: its second retransmission is 2.0 s after the first.
  assert.equal(run(script.replace(/ <mss[^>]*>/g, ' <...>').replace(/ win 65535/g, ''), 'linux').result, 'fail');
});

test('Linux ≥ 6.5 with defaults.sh: the first SYN retransmissions are linear (1 s apart), then double', () => {
  const script = `\`../common/defaults.sh\`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
0 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 8>
1 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 8>
2 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 8>
3 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 8>
4 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 8>
5 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 8>
7 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 8>
11 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 8>
`;
  pass(run(script, 'linux'));
  // Without defaults.sh: the 2013 kernel's doubling schedule (0, 1, 3, 7 s) and window scale 6.
  const legacy = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
0 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 6>
1 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 6>
3 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 6>
7 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 6>
`;
  pass(run(legacy, 'linux'));
  assert.equal(run(script.split('\n').slice(1).join('\n'), 'linux').result, 'fail');
});

test('FreeBSD: in CLOSING the ACK of the peer FIN repeats our FIN; challenge ACKs stay plain', () => {
  const closing = BSD_ACTIVE + `+.1 shutdown(3, SHUT_WR) = 0
+0 > F. 1:1(0) ack 1 win 65535
+.1 < F. 1:1(0) ack 1 win 32767
+0 > F. 1:1(0) ack 2 win 65535
+0 %{ assert tcpi_state == TCPI_CLOSING }%
+.1 < S 1:1(0) win 32767 <mss 1460,sackOK,eol,eol>
+0 > . 2:2(0) ack 2 win 65535
+.1 < . 2:2(0) ack 2 win 32767
+0 %{ assert tcpi_state == TCPI_TIME_WAIT }%
`;
  pass(run(closing, 'freebsd'));
  // The FreeBSD peer's retransmitted FIN that acknowledges ours completes CLOSING (BSD accepts its ACK).
  pass(run(BSD_ACTIVE + `+.1 shutdown(3, SHUT_WR) = 0
+0 > F. 1:1(0) ack 1 win 65535
+.1 < F. 1:1(0) ack 1 win 32767
+0 > F. 1:1(0) ack 2 win 65535
+.1 < F. 1:1(0) ack 2 win 32767
+0 > . 2:2(0) ack 2 win 65535
+0 %{ assert tcpi_state == TCPI_TIME_WAIT }%
`, 'freebsd'));
});

test('RFC 9293 acceptability (synack): a duplicate FIN ending at RCV.NXT is re-ACKed, its ACK not processed', () => {
  pass(run(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <...>
+.1 < S. 0:0(0) ack 1 win 32767 <mss 1460>
+0 > . 1:1(0) ack 1
+.1 shutdown(3, SHUT_WR) = 0
+0 > F. 1:1(0) ack 1
+.1 < F. 1:1(0) ack 1 win 32767
+0 > . 2:2(0) ack 2
+.1 < F. 1:1(0) ack 2 win 32767
+0 > . 2:2(0) ack 2
+0 %{ assert tcpi_state == TCP_CLOSING }%
`, 'synack'));
});

test('SYN+ACK at a listener: FreeBSD drops it, Linux and synack answer RST (RFC 9293 §3.10.7.2)', () => {
  const script = (tail: string): string => `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S. 17:17(0) ack 34 win 32767
${tail}`;
  pass(run('--tolerance_usecs=75000\n' + script('+1 < S 0:0(0) win 32767 <mss 1460>\n+0 > S. 0:0(0) ack 1 win 65535 <mss 1460>\n'), 'freebsd'));
  pass(run(script('+0 > R 34:34(0) win 0\n'), 'linux'));
  pass(run(script('+0 > R 34:34(0) win 0\n'), 'synack'));
});

test('FreeBSD drop_synfin: 0 processes SYN+FIN as a SYN, 1 drops it', () => {
  const script = (v: number, tail: string): string => `--tolerance_usecs=75000
0 \`sysctl -w net.inet.tcp.drop_synfin=${v}\`
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < SF 17:17(0) win 32767 <mss 1460,sackOK,eol,eol>
${tail}`;
  pass(run(script(0, '+0 > S. 0:0(0) ack 18 win 65535 <mss 1460,sackOK,eol,eol>\n'), 'freebsd'));
  pass(run(script(1, '+1 < S 0:0(0) win 32767 <mss 1460>\n+0 > S. 0:0(0) ack 1 win 65535 <mss 1460>\n'), 'freebsd'));
});

test('TCP_NOOPT on a FreeBSD listener: the SYN-ACK carries no options and none are negotiated', () => {
  pass(run(`--tolerance_usecs=75000
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, IPPROTO_TCP, TCP_NOOPT, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 32767 <mss 1460,sackOK,eol,eol>
+0 > S. 0:0(0) ack 1 win 65535
+.1 < . 1:1(0) ack 1 win 32767
+0 accept(3, ..., ...) = 4
+0 %{ assert tcpi_options == 0 }%
`, 'freebsd'));
});

test('abort RSTs: Linux sends RST+ACK on close() with unread data; synack (RFC 9293 §3.10.5) a bare RST', () => {
  const script = (quickAck: string, rst: string): string => `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 32792 <mss 1000>
+0 > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 257
+0 accept(3, ..., ...) = 4
+0 < P. 1:101(100) ack 1 win 257
${quickAck}
+.01 close(4) = 0
+0 ${rst}
`;
  pass(run(script('+0 > . 1:1(0) ack 101', '> R. 1:1(0) ack 101 win 0'), 'linux'));
  pass(run(script('', '> R 1:1(0) win 0'), 'synack'));
  assert.equal(run(script('+0 > . 1:1(0) ack 101', '> R 1:1(0) win 0'), 'linux').result, 'fail');
});

test('Linux ACK timing: quick ACKs for the first data, a FIN with no data before it ACKed at once', () => {
  const open = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 32792 <mss 1000>
+0 > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 257
+0 accept(3, ..., ...) = 4
`;
  pass(run(open + '+.1 < P. 1:101(100) ack 1 win 257\n+0 > . 1:1(0) ack 101\n', 'linux'));
  pass(run(open + '+.1 < P. 1:101(100) ack 1 win 257\n+.04 > . 1:1(0) ack 101\n', 'synack'));
  pass(run(open + '+.1 < F. 1:1(0) ack 1 win 257\n+0 > . 1:1(0) ack 2\n', 'linux'));
  pass(run(open + '+.1 < F. 1:1(0) ack 1 win 257\n+.04 > . 1:1(0) ack 2\n', 'synack'));
});

test('FreeBSD window: all free space up to 65535 after the peer FIN (BSD silly-window rule)', () => {
  pass(run(BSD_ACTIVE + `+.1 < F. 1:1(0) ack 1 win 32767
+0 > . 1:1(0) ack 2 win 65535
`, 'freebsd'));
});
