/**
 * The packetdrill runner's own tests: scripts that must pass do, and scripts that must fail (wrong ack,
 * missing packet, wrong timing, wrong errno, wrong options) fail on the right line with a message naming the
 * field, the expected and the actual value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { runScriptText, type DrillResult } from './runner.js';

const run = (text: string, personality: 'synack' | 'linux' | 'freebsd' = 'synack'): DrillResult =>
  runScriptText(text, { file: 'test.pkt', personality });

/** Lines 1–8: a passive open to ESTABLISHED with synack's profile. */
const OPEN = `0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0   bind(3, ..., ...) = 0
+0   listen(3, 1) = 0
+0   < S 0:0(0) win 65535 <mss 1000,sackOK,nop,nop,nop,wscale 7>
+0   > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 5>
+.1  < . 1:1(0) ack 1 win 512
+0   accept(3, ..., ...) = 4
`;

function expectFail(r: DrillResult, line: number, ...fragments: string[]): void {
  assert.equal(r.result, 'fail', `expected a failure, got ${r.result}: ${r.reason ?? ''}`);
  assert.equal(r.line, line, `failure on line ${r.line}: ${r.reason}`);
  for (const f of fragments) assert.ok(r.reason?.includes(f), `reason "${r.reason}" lacks "${f}"`);
}

test('a correct script passes', () => {
  const r = run(OPEN + `+.1  < P. 1:101(100) ack 1 win 512
+.04 > . 1:1(0) ack 101
+0   read(4, ..., 1000) = 100
`);
  assert.equal(r.result, 'pass', r.reason);
});

test('a wrong ack number fails with the field, expected and actual values', () => {
  const r = run(OPEN + `+.1  < P. 1:101(100) ack 1 win 512
+.04 > . 1:1(0) ack 102
`);
  expectFail(r, 10, 'tcp_ack_seq', 'expected: 102', 'actual: 101');
});

test('a wrong sequence number fails', () => {
  const r = run(OPEN + `+0 write(4, ..., 10) = 10
+0 > P. 2:12(10) ack 1
`);
  expectFail(r, 10, 'tcp_seq', 'expected: 2', 'actual: 1');
});

test('a missing packet fails with a timeout', () => {
  const r = run(OPEN + `+.1 > F. 1:1(0) ack 1
`);
  expectFail(r, 9, 'timed out waiting for packet');
});

test('a packet 40 ms late fails on timing (delayed ACK where an immediate one is scripted)', () => {
  const r = run(OPEN + `+.1  < P. 1:101(100) ack 1 win 512
+0   > . 1:1(0) ack 101
`);
  expectFail(r, 10, 'timing error', 'expected outbound packet at 0.200000', 'happened at 0.240000');
});

test('a packet too early fails on timing', () => {
  const r = run(OPEN + `+.1  < P. 1:101(100) ack 1 win 512
+.1  > . 1:1(0) ack 101
`);
  expectFail(r, 10, 'timing error', 'happened at 0.240000');
});

test('the tolerance accepts a packet within 4 ms and a time range', () => {
  assert.equal(run(OPEN + `+.1  < P. 1:101(100) ack 1 win 512
+.037 > . 1:1(0) ack 101
`).result, 'pass');
  assert.equal(run(OPEN + `+.1  < P. 1:101(100) ack 1 win 512
+.01~+.05 > . 1:1(0) ack 101
`).result, 'pass');
  assert.equal(run(OPEN + `+.1  < P. 1:101(100) ack 1 win 512
* > . 1:1(0) ack 101
`).result, 'pass');
});

test('a wrong errno fails naming both errnos', () => {
  const r = run(OPEN + `+0 fcntl(4, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 read(4, ..., 100) = -1 ECONNRESET (Connection reset by peer)
`);
  expectFail(r, 10, 'read()', 'EAGAIN', 'ECONNRESET');
});

test('a wrong return value fails', () => {
  const r = run(OPEN + `+.1  < P. 1:101(100) ack 1 win 512
+0   read(4, ..., 1000) = 99
`);
  expectFail(r, 10, 'read() returned 100', 'expected 99');
});

test('options are compared in order: a different window scale or layout fails', () => {
  const bad = OPEN.replace('nop,wscale 5>', 'nop,wscale 7>');
  expectFail(run(bad), 6, 'tcp option wscale', 'expected: 7', 'actual: 5');
  const order = OPEN.replace('<mss 1460,nop,nop,sackOK,nop,wscale 5>', '<mss 1460,sackOK,nop,nop,nop,wscale 5>');
  expectFail(run(order), 6, 'tcp option');
  const none = OPEN.replace(' <mss 1460,nop,nop,sackOK,nop,wscale 5>', '');
  expectFail(run(none), 6, 'tcp options length', 'expected: 0 bytes');
  assert.equal(run(OPEN.replace('<mss 1460,nop,nop,sackOK,nop,wscale 5>', '<...>')).result, 'pass');
});

test('an unexpected PSH (or any other flag) fails', () => {
  const r = run(OPEN + `+0 write(4, ..., 10) = 10
+0 > . 1:11(10) ack 1
`);
  expectFail(r, 10, 'tcp flags', 'expected: .', 'actual: P.');
});

test('the window is compared only when written', () => {
  assert.equal(run(OPEN + `+0 write(4, ..., 10) = 10
+0 > P. 1:11(10) ack 1
`).result, 'pass');
  expectFail(run(OPEN + `+0 write(4, ..., 10) = 10
+0 > P. 1:11(10) ack 1 win 1
`), 10, 'tcp_window', 'expected: 1');
});

test('consecutive segments merge into one script line (§5.3), PSH only on the last', () => {
  // The peer's MSS is 1000: 5000 bytes leave as five segments.
  const r = run(OPEN + `+0 write(4, ..., 5000) = 5000
+0 > P. 1:5001(5000) ack 1
+.1 < . 1:1(0) ack 5001 win 512
`);
  assert.equal(r.result, 'pass', r.reason);
  // Overshooting the script's length fails.
  expectFail(run(OPEN + `+0 write(4, ..., 5000) = 5000
+0 > P. 1:4501(4500) ack 1
`), 10, 'tcp payload length');
});

test('a call that would block without an end time fails; a blocking call completes at its scripted time', () => {
  expectFail(run(OPEN + `+0 read(4, ..., 100) = 100
`), 9, 'would block');
  assert.equal(run(OPEN + `+0...0.1 read(4, ..., 100) = 100
+.1 < P. 1:101(100) ack 1 win 512
`).result, 'pass');
  // Returning at a different time than scripted fails.
  expectFail(run(OPEN + `+0...0.3 read(4, ..., 100) = 100
+.1 < P. 1:101(100) ack 1 win 512
`), 9, 'timing error', 'return at 0.400000', 'happened at 0.200000');
});

test('a blocking call still pending at the end of the script fails', () => {
  expectFail(run(OPEN + `+0...1 read(4, ..., 100) = 100
`), 9, 'exiting while a blocking system call is in progress');
});

test('a blocking connect returns when the handshake completes', () => {
  const r = run(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0...0.1 connect(3, ..., ...) = 0
+0 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 5>
+.1 < S. 0:0(0) ack 1 win 65535 <mss 1460>
+0 > . 1:1(0) ack 1
`);
  assert.equal(r.result, 'pass', r.reason);
});

test('a tcpi_state assertion fails with the actual state', () => {
  expectFail(run(OPEN + `+0 %{ assert tcpi_state == TCP_CLOSE_WAIT }%
`), 9, 'assertion failed', 'ESTABLISHED');
});

test('timestamps: inbound ecr is mapped to the live TS val of the matched outbound segment (§6.4)', () => {
  const script = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 5000 ecr 100,nop,wscale 5>
+.1 < . 1:1(0) ack 1 win 512 <nop,nop,TS val 200 ecr 5000>
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 10) = 10
+0 > P. 1:11(10) ack 1 <nop,nop,TS val 5100 ecr 200>
`;
  assert.equal(run(script).result, 'pass');
  // An ecr that no outbound segment carried cannot be mapped.
  expectFail(run(script.replace('ecr 5000>', 'ecr 4999>')), 7, 'unable to infer live TS ecr');
});

test('with --tcp_ts_tick_usecs the TS clock is checked: 1 tick per ms', () => {
  const script = `--tcp_ts_tick_usecs=1000
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 5000 ecr 100,nop,wscale 5>
+.1 < . 1:1(0) ack 1 win 512 <nop,nop,TS val 200 ecr 5000>
+0 accept(3, ..., ...) = 4
+1 write(4, ..., 10) = 10
+0 > P. 1:11(10) ack 1 <nop,nop,TS val 6100 ecr 200>
`;
  assert.equal(run(script).result, 'pass', run(script).reason);
  expectFail(run(script.replace('TS val 6100', 'TS val 5600')), 11, 'TS val', 'expected: 5600');
});

test('unsupported constructs are UNSUPPORTED, naming the construct, never a pass', () => {
  const r1 = run(OPEN + '+0 `rm -rf /tmp/x`\n');
  assert.equal(r1.result, 'unsupported');
  assert.match(r1.reason!, /shell command `rm -rf \/tmp\/x`/);
  const r2 = run(OPEN + '+0 epoll_create(1) = 5\n');
  assert.equal(r2.result, 'unsupported');
  assert.match(r2.reason!, /epoll_create/);
  const r3 = run(OPEN + '+0 > S. 0:0(0) ack 1 <mss 1460,md5 0x1234567890abcdef1234567890abcdef,eol,eol>\n');
  assert.equal(r3.result, 'unsupported');
});

test('a script error is a FAIL with file:line:column', () => {
  const r = run('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < S 0:10(5) win 1\n');
  assert.equal(r.result, 'fail');
  assert.match(r.reason!, /test\.pkt:2:\d+/);
});

test('relative times anchor on the actual time of the previous outbound packet (§3.2)', () => {
  // The delayed ACK is scripted 10 ms early (+.03; tolerance 10 ms). The next inbound line's +0 is measured
  // from the ACK's actual time (0.24), so the second delayed ACK leaves at 0.28, 10 ms before the absolute
  // 0.29 scripted: a pass. Anchoring on script times instead would put it at 0.27, 20 ms off.
  const script = '--tolerance_usecs=10000\n--tolerance_percent=0\n' + OPEN + `+.1  < P. 1:101(100) ack 1 win 512
+.03 > . 1:1(0) ack 101
+0   < P. 101:201(100) ack 1 win 512
0.29 > . 1:1(0) ack 201
`;
  assert.equal(run(script).result, 'pass', run(script).reason);
  expectFail(run(script.replace('0.29 >', '0.30 >')), 14, 'timing error', 'happened at 0.280000');
});

test('the FreeBSD profile: option layout, window and SO_RCVBUF rounding', () => {
  const r = run(`--tolerance_usecs=75000
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 getsockopt(3, SOL_SOCKET, SO_RCVBUF, [65536], [4]) = 0
+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>
+.1 < S. 0:0(0) ack 1 win 32767 <mss 1460,sackOK,eol,eol>
+0 > . 1:1(0) ack 1 win 65535
+0 getsockopt(3, SOL_SOCKET, SO_RCVBUF, [65700], [4]) = 0
`, 'freebsd');
  assert.equal(r.result, 'pass', r.reason);
});

test('SO_SNDBUF: Linux doubles the value (at least SOCK_MIN_SNDBUF), fixes the buffer (no autotuning), accepted sockets inherit it; an autotuned buffer is not reported; FreeBSD reports sendspace', () => {
  // The passive open (OPEN) with SO_SNDBUF set on the listener before bind.
  const open = OPEN.replace('+0   bind', `+0   setsockopt(3, SOL_SOCKET, SO_SNDBUF, [1000], 4) = 0
+0   getsockopt(3, SOL_SOCKET, SO_SNDBUF, [4608], [4]) = 0
+0   bind`);
  const r = run(open + `+0   getsockopt(4, SOL_SOCKET, SO_SNDBUF, [4608], [4]) = 0
+0   write(4, ..., 30000) = 4608
+0   > . 1:1001(1000) ack 1
+0   > . 1001:2001(1000) ack 1
+0   > . 2001:3001(1000) ack 1
+0   > . 3001:4001(1000) ack 1
+0   > P. 4001:4609(608) ack 1
+.1  < . 1:1(0) ack 4609 win 512
+0   setsockopt(4, SOL_SOCKET, SO_SNDBUF, [3000], 4) = 0
+0   getsockopt(4, SOL_SOCKET, SO_SNDBUF, [6000], [4]) = 0
+0   write(4, ..., 30000) = 6000
`);
  assert.equal(r.result, 'pass', r.reason);
  const auto = run('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 getsockopt(3, SOL_SOCKET, SO_SNDBUF, [16384], [4]) = 0\n', 'linux');
  assert.equal(auto.result, 'unsupported');
  assert.match(auto.reason ?? '', /autotuned/);
  const bsd = run('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 getsockopt(3, SOL_SOCKET, SO_SNDBUF, [32768], [4]) = 0\n', 'freebsd');
  assert.equal(bsd.result, 'pass', bsd.reason);
});

test('mangled scripts never crash the runner: every outcome is PASS, FAIL or UNSUPPORTED with a reason', () => {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'scripts');
  const texts = readdirSync(dir).filter((f) => f.endsWith('.pkt')).map((f) => readFileSync(path.join(dir, f), 'utf8'));
  const edit = fc.record({ at: fc.nat(), op: fc.integer({ min: 0, max: 3 }), n: fc.nat(70000), from: fc.nat() });
  fc.assert(fc.property(fc.nat(), fc.array(edit, { minLength: 1, maxLength: 4 }), (which, edits) => {
    const lines = texts[which % texts.length]!.split('\n');
    for (const e of edits) {
      const i = e.at % lines.length;
      if (e.op === 0) lines.splice(i, 1);
      else if (e.op === 1) lines.splice(i, 0, lines[e.from % lines.length]!);
      else if (e.op === 2) lines[i] = lines[i]!.replace(/\d+/, String(e.n));
      else lines[i] = lines[i]!.replace(/^\+?[0-9.]+/, `+${(e.n % 3000) / 1000}`);
    }
    const r = run(lines.join('\n'));
    assert.ok(['pass', 'fail', 'unsupported'].includes(r.result));
    if (r.result !== 'pass') assert.ok(r.reason && !r.reason.startsWith('internal error'), r.reason);
  }), { numRuns: 300 });
});
