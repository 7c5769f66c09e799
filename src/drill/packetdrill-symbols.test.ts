import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CODE_STATE_NAMES, DrillSymbolError, ERRNOS, SOCKET_SYMBOLS, evalIntExpr } from './symbols.js';
import { parseScript } from './parser.js';
import type { SyscallEvent } from './ast.js';
import { TCP_STATES } from '../wire/trace.js';

const call = (line: string): SyscallEvent => {
  const r = parseScript(`0 ${line}`, { file: 's.pkt', personality: 'linux' });
  return r.events[0] as SyscallEvent;
};

test('the symbols §7.4 says the corpus needs all have values', () => {
  const needed = 'SOCK_STREAM IPPROTO_TCP SOL_SOCKET SOL_TCP SO_REUSEADDR SO_ERROR SO_RCVBUF SO_KEEPALIVE TCP_MAXSEG TCP_USER_TIMEOUT TCP_KEEPIDLE TCP_KEEPINTVL TCP_KEEPCNT TCP_NOOPT TCP_KEEPINIT F_GETFL F_SETFL O_RDWR O_NONBLOCK SHUT_RD SHUT_WR SHUT_RDWR SIOCINQ'.split(' ');
  for (const n of needed) assert.equal(typeof SOCKET_SYMBOLS[n], 'number', n);
  for (const n of 'EINPROGRESS ECONNREFUSED ECONNRESET EPIPE ETIMEDOUT EAGAIN EWOULDBLOCK ENOTCONN EISCONN EALREADY EINVAL EBADF EADDRINUSE'.split(' ')) {
    assert.ok(ERRNOS[n], n);
  }
});

test('F_GETFL result 0x2 is O_RDWR; O_RDWR | O_NONBLOCK evaluates to Linux 0x802', () => {
  assert.equal(evalIntExpr(call('fcntl(3, F_GETFL) = 0x02 (flags O_RDWR)').result), SOCKET_SYMBOLS.O_RDWR);
  assert.equal(evalIntExpr(call('fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0').args[2]!), 0x802);
});

test('[ECONNREFUSED] from getsockopt(SO_ERROR) evaluates to the errno value', () => {
  assert.equal(evalIntExpr(call('getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0').args[3]!), 111);
});

test('unknown symbols and non-integers are typed errors with the script position', () => {
  assert.throws(() => evalIntExpr(call('close(NOT_A_SYMBOL) = 0').args[0]!), (e: unknown) =>
    e instanceof DrillSymbolError && e.line === 1 && e.column === 9 && /unknown symbol 'NOT_A_SYMBOL'/.test(e.message));
  assert.throws(() => evalIntExpr(call('bind(3, ..., ...) = 0').args[1]!), DrillSymbolError);
  assert.equal(evalIntExpr(call('close(FD) = 0').args[0]!, { FD: 7 }), 7);
});

test('every RFC 9293 state has a TCPI_ name and a Linux TCP_ name', () => {
  const covered = new Set(Object.values(CODE_STATE_NAMES));
  for (const s of TCP_STATES) assert.ok(covered.has(s), s);
  assert.equal(CODE_STATE_NAMES.TCP_SYN_RECV, 'SYN-RECEIVED');
  assert.equal(CODE_STATE_NAMES.TCPI_FIN_WAIT_1, 'FIN-WAIT-1');
});
