/**
 * TCP Fast Open (RFC 7413) with the linux personality, as packetdrill scripts in both families: the client asks
 * for a cookie, caches it and sends data on its next SYN (sendto MSG_FASTOPEN); the server (defaults.sh:
 * tcp_fastopen=0x70403) hands out cookies, accepts data on a SYN with a valid cookie before the handshake
 * completes, and refuses the data of an invalid one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FastOpenCookies } from '../stack/fast-open.js';
import { parseAddress } from '../wire/address.js';
import { runScriptText } from './runner.js';

function run(text: string, family: 'ipv4' | 'ipv6'): string {
  const r = runScriptText(text, { file: 'tfo.pkt', personality: 'linux', ipVersion: family });
  return r.result === 'pass' ? 'pass' : `${r.result} at line ${r.line}: ${r.reason}`;
}

const CLIENT = `--tolerance_usecs=10000
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 sendto(3, ..., 1000, MSG_FASTOPEN, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 6,FO,nop,nop>
+.01 < S. 123:123(0) ack 1 win 14600 <mss 1460,nop,nop,sackOK,nop,wscale 6,FO abcd1234,nop,nop>
+0 > . 1:1(0) ack 1 <...>
+0 write(3, ..., 100) = 100
+0 > P. 1:101(100) ack 1 <...>
+0.1 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
+0 fcntl(4, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 sendto(4, ..., 1000, MSG_FASTOPEN, ..., ...) = 1000
+0 > S 0:1000(1000) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 6,FO abcd1234,nop,nop>
`;

test('client: a cookie request on the first SYN, then data on the SYN with the cached cookie', () => {
  for (const f of ['ipv4', 'ipv6'] as const) {
    // The server acknowledges the SYN's data: nothing left to send.
    assert.equal(run(`${CLIENT}+.01 < S. 1234:1234(0) ack 1001 win 14600 <mss 1460>\n+0 > . 1001:1001(0) ack 1 <...>\n`, f), 'pass');
    // It acknowledges only the SYN: the data goes again after the handshake.
    assert.equal(run(`${CLIENT}+.01 < S. 1234:1234(0) ack 1 win 14600 <mss 1460>\n+0 > P. 1:1001(1000) ack 1 <...>\n`, f), 'pass');
  }
  // Without a cookie the first SYN carries no data: expecting data on it fails.
  assert.notEqual(run(CLIENT.replace('= -1 EINPROGRESS (Operation now in progress)\n+0 > S 0:0(0)', '= 1000\n+0 > S 0:1000(1000)'), 'ipv4'), 'pass');
});

const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
/** The runner's addresses (packetdrill defaults for the linux personality). */
function cookie(family: 'ipv4' | 'ipv6'): string {
  const key = new Uint8Array([0xa1, 0xa1, 0xa1, 0xa1, 0xb2, 0xb2, 0xb2, 0xb2, 0xc3, 0xc3, 0xc3, 0xc3, 0xd4, 0xd4, 0xd4, 0xd4]);
  const [client, server] = family === 'ipv4' ? ['192.0.2.1', '192.168.0.1'] : ['2001:db8::1', 'fd3d:a0b:17d6::1'];
  return hex(new FastOpenCookies(key).cookieFor(parseAddress(client), parseAddress(server)));
}

const LISTENER = `--tolerance_usecs=10000
\`../common/defaults.sh\`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
`;

test('server: a cookie request is answered with the cookie; a valid cookie\'s data is accepted before the handshake; an invalid one\'s is not', () => {
  for (const f of ['ipv4', 'ipv6'] as const) {
    const c = cookie(f);
    const request = `${LISTENER}+0 < S 0:0(0) win 32792 <mss 1460,nop,nop,sackOK,nop,wscale 7,FO,nop,nop>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8,FO ${c},nop,nop>
+.01 < . 1:1(0) ack 1 win 257
+0 accept(3, ..., ...) = 4
`;
    assert.equal(run(request, f), 'pass');
    const valid = `${LISTENER}+0 < S 0:10(10) win 32792 <mss 1460,nop,nop,sackOK,nop,wscale 7,FO ${c},nop,nop>
+0 > S. 0:0(0) ack 11 <mss 1460,nop,nop,sackOK,nop,wscale 8>
+0 accept(3, ..., ...) = 4
+0 read(4, ..., 100) = 10
+.01 < . 11:11(0) ack 1 win 257
+0 write(4, ..., 20) = 20
+0 > P. 1:21(20) ack 11 <...>
`;
    assert.equal(run(valid, f), 'pass');
    const invalid = `${LISTENER}+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 < S 0:10(10) win 32792 <mss 1460,nop,nop,sackOK,nop,wscale 7,FO 0102030405060708,nop,nop>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8,FO ${c},nop,nop>
+0 accept(3, ..., ...) = -1 EAGAIN (Resource temporarily unavailable)
`;
    assert.equal(run(invalid, f), 'pass');
  }
  // Without defaults.sh Linux's tcp_fastopen is 1 (client only): the listener ignores the option.
  assert.equal(run(`${LISTENER.replace('`../common/defaults.sh`\n', '')}+0 < S 0:0(0) win 32792 <mss 1460,FO,nop,nop>\n+0 > S. 0:0(0) ack 1 <mss 1460>\n`, 'ipv4'), 'pass');
  // …unless the listener asks for it with TCP_FASTOPEN and the server bit is set (here it is not).
  assert.notEqual(run(`${LISTENER.replace('`../common/defaults.sh`\n', '')}+0 < S 0:0(0) win 32792 <mss 1460,FO,nop,nop>\n+0 > S. 0:0(0) ack 1 <mss 1460,FO ${cookie('ipv4')},nop,nop>\n`, 'ipv4'), 'pass');
});

test('client: TCP_FASTOPEN_CONNECT — connect() asks for a cookie, then with one succeeds at once and the first write sends the SYN with the data', () => {
  const s = `--tolerance_usecs=10000
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 setsockopt(3, SOL_TCP, TCP_FASTOPEN_CONNECT, [1], 4) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 6,FO,nop,nop>
+.01 < S. 123:123(0) ack 1 win 14600 <mss 1460,nop,nop,sackOK,nop,wscale 6,FO abcd1234,nop,nop>
+0 > . 1:1(0) ack 1 <...>
+0.1 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
+0 fcntl(4, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 setsockopt(4, SOL_TCP, TCP_FASTOPEN_CONNECT, [1], 4) = 0
+0 connect(4, ..., ...) = 0
+0.1 write(4, ..., 500) = 500
+0 > S 0:500(500) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 6,FO abcd1234,nop,nop>
+.01 < S. 999:999(0) ack 501 win 14600 <mss 1460>
+0 > . 501:501(0) ack 1 <...>
`;
  for (const f of ['ipv4', 'ipv6'] as const) assert.equal(run(s, f), 'pass');
  // The SYN waits for the write: expecting it at connect() time fails.
  assert.notEqual(run(s.replace('+0 connect(4, ..., ...) = 0\n', '+0 connect(4, ..., ...) = 0\n+0 > S 0:0(0) <...>\n'), 'ipv4'), 'pass');
});
