/**
 * Issue 16's five behaviours, each as packetdrill scripts run in both families with the personality that
 * defines them, plus RFC 793's rules (rfc793 personality, FreeBSD insecure_rst/insecure_syn) and TCP_MAXSEG.
 * Every script also has a contrasting variant that must fail, so a test cannot pass by accident.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Personality } from './ast.js';
import { runScriptText } from './runner.js';

function run(text: string, personality: Personality): string[] {
  const out: string[] = [];
  for (const ipVersion of ['ipv4', 'ipv6'] as const) {
    const r = runScriptText(text, { file: 'edge.pkt', personality, ipVersion });
    if (r.result !== 'pass') out.push(`${ipVersion}: ${r.result} at line ${r.line}: ${r.reason}`);
  }
  return out;
}
const passes = (text: string, p: Personality): void => assert.deepEqual(run(text, p), []);
const fails = (text: string, p: Personality): void => assert.notDeepEqual(run(text, p), []);

/** FreeBSD-suite style active open: the peer offers no window scale, so 65535 is advertised. */
const FREEBSD_ESTABLISHED = `--tolerance_usecs=50000
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <...>
+0.1 < S. 0:0(0) ack 1 win 32767 <mss 1460,sackOK,eol,eol>
+0 > . 1:1(0) ack 1 win 65535
`;

test('FreeBSD: RST and SYN at the right edge of its RCV.WND, which counts the whole buffer (65700 > 65535 advertised)', () => {
  // IPv4: buffer 45 × 1460 = 65700, so the last in-window number is RCV.NXT + 65699 = 65700.
  // The SYN comes 0.6 s after the RST: challenge ACKs are rate-limited per connection.
  const v4 = (seq: number, reply: string): string => `--ip_version=ipv4\n${FREEBSD_ESTABLISHED}+0.1 < R ${seq}:${seq}(0) win 32767\n${reply}+0.6 < S ${seq}:${seq}(0) win 32767 <mss 1460>\n+0 > . 1:1(0) ack 1 win 65535\n+0.1 %{ assert tcpi_state == TCPI_ESTABLISHED }%\n`;
  passes(v4(65700, '+0 > . 1:1(0) ack 1 win 65535\n'), 'freebsd');
  // One beyond: outside the window, dropped silently (the SYN still draws a challenge ACK).
  passes(v4(65701, ''), 'freebsd');
  fails(v4(65701, '+0 > . 1:1(0) ack 1 win 65535\n'), 'freebsd');
  // IPv6: 46 × 1440 = 66240.
  passes(`--ip_version=ipv6\n${FREEBSD_ESTABLISHED}+0.1 < R 66240:66240(0) win 32767\n+0 > . 1:1(0) ack 1 win 65535\n`, 'freebsd');
  // Under the synack personality the window is the 65535 advertised: the same RST is outside it.
  passes(`${FREEBSD_ESTABLISHED.replace(/ win 65535/g, '')}+0.1 < R 65700:65700(0) win 32767\n+0.1 < P. 1:2(1) ack 1 win 32767\n+0~+0.05 > . 1:1(0) ack 2\n`, 'synack');
});

test('FreeBSD: a passive open in SYN-RECEIVED is a syncache entry: RST window = the SYN,ACK\'s 65535, right edge included', () => {
  const s = `--ip_version=ipv4
--tolerance_usecs=50000
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0.1 < S 0:0(0) win 32767 <mss 1460,sackOK,eol,eol>
+0 > S. 0:0(0) ack 1 <...>
+0.1 < R 65536:65536(0) win 32767
+0 > . 1:1(0) ack 1 <...>
+0.6 < R 65537:65537(0) win 32767
+0.1 < P. 1:2(1) ack 1 win 32767
+0~+0.05 > . 1:1(0) ack 2 <...>
`;
  passes(s, 'freebsd');
  // Once synchronized the buffer-wide RCV.WND applies (see above); in SYN-RECEIVED 65537 is outside.
  fails(s.replace('+0.6 < R 65537:65537(0) win 32767', '+0.6 < R 65537:65537(0) win 32767\n+0 > . 1:1(0) ack 1 <...>'), 'freebsd');
});

const SHUT_DOWN_TIME_WAIT = `${FREEBSD_ESTABLISHED}+0.1 shutdown(3, SHUT_WR) = 0
+0 > F. 1:1(0) ack 1 win 65535
+0.1 < F. 1:1(0) ack 2 win 32767
+0 > . 2:2(0) ack 2 win 65535
`;

test('TIME-WAIT of a socket shut down but not closed: a SYN anywhere draws a challenge ACK, text an ACK, and it stays', () => {
  for (const seq of [2, 100, 65701]) {
    passes(`${SHUT_DOWN_TIME_WAIT}+0.1 < S ${seq}:${seq}(0) win 32767 <mss 1460>\n+0 > . 2:2(0) ack 2 win 65535\n+0.1 \`sockstat -4 -P tcp -s | grep packetdril | grep -c TIME_WAIT | grep 1\`\n+0 close(3) = 0\n`.replace('--tolerance', '--ip_version=ipv4\n--tolerance'), 'freebsd');
  }
  passes(`${SHUT_DOWN_TIME_WAIT}+0.1 < P. 2:12(10) ack 2 win 32767\n+0 > . 2:2(0) ack 2 win 65535\n+0.1 %{ assert tcpi_state == TCPI_TIME_WAIT }%\n+0 close(3) = 0\n+0.1 < R 2:2(0) win 32767\n+0.1 %{ assert tcpi_state == TCPI_TIME_WAIT }%\n`, 'freebsd');
  // Not a new incarnation: expecting the tuple to be reused (a SYN,ACK) fails.
  fails(`${SHUT_DOWN_TIME_WAIT}+0.1 < S 100:100(0) win 32767 <mss 1460>\n+0 > S. 0:0(0) ack 101 <...>\n`, 'freebsd');
});

const SYN_SENT = `--tolerance_usecs=50000
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <...>
+0.1 < S 0:5(5) win 65535 <mss 1460>
+0 > S. 0:0(0) ack 1 <...>
+0.1 < . 1:1(0) ack 1 win 65535
`;

test('text on a SYN in SYN-SENT is queued and delivered once ESTABLISHED (RFC 9293 §3.10.7.3); Linux discards it', () => {
  const delivered = `${SYN_SENT}+0 > . 1:1(0) ack 6 <...>\n+0 read(3, ..., 100) = 5\n`;
  passes(delivered, 'synack');
  // FreeBSD delivers it without an ACK of its own (tcp_reass): the next segment we send acknowledges it.
  const quiet = `${SYN_SENT}+0 read(3, ..., 100) = 5\n+0.1 write(3, ..., 10) = 10\n+0 > P. 1:11(10) ack 6 <...>\n`;
  passes(quiet, 'freebsd');
  fails(quiet, 'synack');
  // Linux (tcp_rcv_synsent_state_process): the text is dropped; nothing to read.
  passes(`${SYN_SENT}+0.1 read(3, ..., 100) = -1 EAGAIN (Resource temporarily unavailable)\n`, 'linux');
  fails(delivered, 'linux');
  // Not before: in SYN-RECEIVED nothing is readable yet.
  passes(SYN_SENT.replace('+0.1 < . 1:1(0) ack 1 win 65535\n', '+0 read(3, ..., 100) = -1 EAGAIN (Resource temporarily unavailable)\n'), 'synack');
});

const LINGER = (setopt: string): string => `--tolerance_usecs=50000
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
${setopt}+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <...>
+0.1 < S. 0:0(0) ack 1 win 65535 <mss 1460>
+0 > . 1:1(0) ack 1 <...>
+0.1 close(3) = 0
+0 > F. 1:1(0) ack 1 <...>
+0.1 < . 1:1(0) ack 2 win 65535
`;

test('TCP_LINGER2: an orphan leaves FIN-WAIT-2 after the per-socket timeout, then what arrives is answered with <SEQ=SEG.ACK><CTL=RST>', () => {
  const set = '+0 setsockopt(3, SOL_TCP, TCP_LINGER2, [2], 4) = 0\n+0 getsockopt(3, SOL_TCP, TCP_LINGER2, [2], [4]) = 0\n';
  // Within the 2 s the bare ACK is accepted silently; after them the TCB is gone.
  const script = `${LINGER(set)}+1.8 < . 1:1(0) ack 2 win 65535\n+0.4 < . 1:1(0) ack 2 win 65535\n+0 > R 2:2(0)\n`;
  passes(script, 'linux');
  // Without TCP_LINGER2 (tcp_fin_timeout, 60 s) the connection is still there at 2.3 s: no RST.
  fails(`${LINGER('+0 getsockopt(3, SOL_TCP, TCP_LINGER2, [60], [4]) = 0\n')}+1.8 < . 1:1(0) ack 2 win 65535\n+0.4 < . 1:1(0) ack 2 win 65535\n+0 > R 2:2(0)\n`, 'linux');
  passes(`${LINGER('+0 getsockopt(3, SOL_TCP, TCP_LINGER2, [60], [4]) = 0\n')}+2.2 < . 1:1(0) ack 2 win 65535\n+0.1 < P. 1:2(1) ack 2 win 65535\n+0 > R 2:2(0)\n`, 'linux');
  // Negative: no FIN-WAIT-2 at all for an orphan.
  passes(`${LINGER('+0 setsockopt(3, SOL_TCP, TCP_LINGER2, [-1], 4) = 0\n')}+0.1 < . 1:1(0) ack 2 win 65535\n+0 > R 2:2(0)\n`, 'linux');
});

const LISTENER = `--tolerance_usecs=50000
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0.1 < S 0:0(0) win 65535 <mss 1460>
+0 > S. 0:0(0) ack 1 <...>
`;

test('a connection abandoned by a closed listener: a segment with ACK gets <SEQ=SEG.ACK><CTL=RST>, no ACK bit', () => {
  for (const p of ['linux', 'freebsd', 'synack'] as const) {
    // Still in SYN-RECEIVED when the listener closes: it vanishes silently; the handshake's ACK finds nothing.
    passes(`${LISTENER}+0.1 close(3) = 0\n+0.1 < . 1:1(0) ack 1 win 65535\n+0 > R 1:1(0)\n+0.1 < P. 1:11(10) ack 1 win 65535\n+0 > R 1:1(0)\n`, p);
    fails(`${LISTENER}+0.1 close(3) = 0\n+0.1 < . 1:1(0) ack 1 win 65535\n+0 > R. 1:1(0) ack 1\n`, p);
    // Established but not accepted: reset at close (as Linux's tcp_disconnect; synack's abort RST has no ACK),
    // then the RST form for no connection.
    const abort = p === 'synack' ? 'R 1:1(0)' : 'R. 1:1(0) ack 1';
    passes(`${LISTENER}+0.1 < . 1:1(0) ack 1 win 65535\n+0.1 close(3) = 0\n+0 > ${abort}\n+0.1 < P. 1:11(10) ack 1 win 65535\n+0 > R 1:1(0)\n`, p);
  }
});

test('RFC 793 rules: a blind in-window RST resets and an in-window SYN draws a RST (rfc793, FreeBSD insecure mode)', () => {
  const established = FREEBSD_ESTABLISHED.replace(/ win 65535/g, '');
  const blindRst = `${established}+0.1 < R 1000:1000(0) win 32767\n+0.1 %{ assert tcpi_state == TCPI_CLOSED }%\n`;
  passes(blindRst, 'rfc793');
  fails(blindRst, 'synack');
  passes(`${established}+0.1 < R 1000:1000(0) win 32767\n+0 > . 1:1(0) ack 1\n+0.1 %{ assert tcpi_state == TCPI_ESTABLISHED }%\n`, 'synack');
  passes(`${established}+0.1 < S 1000:1000(0) win 32767 <mss 1460>\n+0 > R 1:1(0)\n+0.1 %{ assert tcpi_state == TCPI_CLOSED }%\n`, 'rfc793');
  // FreeBSD's sysctls switch the same rules (tcp_drop answers the SYN with RST,ACK).
  const insecure = (knob: string, body: string): string => `--ip_version=ipv4\n${FREEBSD_ESTABLISHED.replace('0 socket', `0 \`sysctl -w net.inet.tcp.${knob}=1\`\n+0 socket`)}${body}`;
  passes(insecure('insecure_rst', '+0.1 < R 1000:1000(0) win 32767\n+0.1 %{ assert tcpi_state == TCPI_CLOSED }%\n+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0\n'), 'freebsd');
  passes(insecure('insecure_syn', '+0.1 < S 1000:1000(0) win 32767 <mss 1460>\n+0 > R. 1:1(0) ack 1 win 0\n+0.1 %{ assert tcpi_state == TCPI_CLOSED }%\n'), 'freebsd');
  fails(`--ip_version=ipv4\n${FREEBSD_ESTABLISHED}+0.1 < R 1000:1000(0) win 32767\n+0.1 %{ assert tcpi_state == TCPI_CLOSED }%\n`, 'freebsd');
});

test('TCP_MAXSEG caps the MSS advertised in the SYN and the send MSS; getsockopt reports it before the handshake', () => {
  const s = `--tolerance_usecs=50000
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 setsockopt(3, SOL_TCP, TCP_MAXSEG, [1000], 4) = 0
+0 getsockopt(3, SOL_TCP, TCP_MAXSEG, [1000], [4]) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <mss 1000,sackOK,TS val 0 ecr 0,nop,wscale 6>
+0.1 < S. 0:0(0) ack 1 win 65535 <mss 1460>
+0 > . 1:1(0) ack 1
+0 getsockopt(3, SOL_TCP, TCP_MAXSEG, [1000], [4]) = 0
+0 write(3, ..., 3000) = 3000
+0 > P. 1:3001(3000) ack 1
`;
  passes(s, 'linux');
  fails(s.replace('[1000], 4)', '[1200], 4)').replace('[1000], [4]) = 0\n+0 connect', '[1200], [4]) = 0\n+0 connect'), 'linux');
  assert.equal(runScriptText(s.replace('[1000], 4)', '[10], 4) = -1 EINVAL (Invalid argument)\n+0 setsockopt(3, SOL_TCP, TCP_MAXSEG, [1000], 4)'), { file: 'x', personality: 'linux' }).result, 'pass');
});

test('TCP_LINGER2 under Linux lasts at least 3.5 RTO (tcp_fin_time): with a 500 ms RTT, 1 s becomes more than 4 s', () => {
  const slow = LINGER('+0 setsockopt(3, SOL_TCP, TCP_LINGER2, [1], 4) = 0\n')
    .replace('+0.1 < S. 0:0(0) ack 1', '+0.5 < S. 0:0(0) ack 1').replace('+0.1 < . 1:1(0) ack 2', '+0.5 < . 1:1(0) ack 2');
  // FIN-WAIT-2 from 1.1 s: a bare ACK 2 s later is still accepted silently, one 6 s later finds no connection.
  const script = `${slow}+2 < . 1:1(0) ack 2 win 65535\n+4 < . 1:1(0) ack 2 win 65535\n+0 > R 2:2(0)\n`;
  passes(script, 'linux');
  // Without the floor (the synack personality) the connection is gone after 1 s: the first ACK draws the RST.
  fails(script, 'synack');
});
