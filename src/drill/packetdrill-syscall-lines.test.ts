import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScript } from './parser.js';
import type { Expr, SyscallEvent } from './ast.js';

function calls(src: string): SyscallEvent[] {
  const r = parseScript(src, { file: 's.pkt', personality: 'freebsd' });
  assert.equal(r.unsupported, undefined, JSON.stringify(r.unsupported));
  return r.events.filter((e): e is SyscallEvent => e.kind === 'syscall');
}
const one = (line: string): SyscallEvent => calls(`0 ${line}`)[0]!;
/** Drops positions so expected expression trees stay readable. */
function strip(e: Expr): unknown {
  return JSON.parse(JSON.stringify(e, (k, v) => (k === 'line' || k === 'column' ? undefined : v)));
}

test('socket(..., SOCK_STREAM, IPPROTO_TCP) = 3: ellipsis and symbols', () => {
  const c = one('socket(..., SOCK_STREAM, IPPROTO_TCP) = 3');
  assert.equal(c.name, 'socket');
  assert.deepEqual(c.args.map(strip), [{ kind: 'ellipsis' }, { kind: 'symbol', name: 'SOCK_STREAM' }, { kind: 'symbol', name: 'IPPROTO_TCP' }]);
  assert.deepEqual(strip(c.result), { kind: 'int', value: 3, hex: false, text: '3' });
  assert.equal(c.errno, undefined);
  assert.equal(c.blocking, undefined);
});

test('setsockopt with an int pointer [1] and getsockopt with [ECONNREFUSED], [4]', () => {
  const s = one('setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0');
  assert.deepEqual(strip(s.args[3]!), { kind: 'array', items: [{ kind: 'int', value: 1, hex: false, text: '1' }] });
  const g = one('getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0');
  assert.deepEqual(strip(g.args[3]!), { kind: 'array', items: [{ kind: 'symbol', name: 'ECONNREFUSED' }] });
});

test('bitwise OR with and without spaces', () => {
  for (const line of ['fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0', 'fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0']) {
    assert.deepEqual(strip(one(line).args[2]!), { kind: 'or', operands: [{ kind: 'symbol', name: 'O_RDWR' }, { kind: 'symbol', name: 'O_NONBLOCK' }] });
  }
});

test('errno name and its note: = -1 EINPROGRESS (Operation now in progress)', () => {
  const c = one('connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)');
  assert.equal((c.result as { value: number }).value, -1);
  assert.equal(c.errno, 'EINPROGRESS');
  assert.equal(c.note, 'Operation now in progress');
});

test('a hex result with a trailing note that is only a comment: = 0x02 (flags O_RDWR)', () => {
  const c = one('fcntl(3, F_GETFL) = 0x02 (flags O_RDWR)');
  assert.deepEqual(strip(c.result), { kind: 'int', value: 2, hex: true, text: '0x02' });
  assert.equal(c.errno, undefined);
  assert.equal(c.note, 'flags O_RDWR');
});

test('blocking call T1...T2: end time kept as written (§3.5)', () => {
  const [, c] = calls('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+.1...0.200 connect(3, ..., ...) = 0');
  assert.deepEqual(c!.time, { kind: 'relative', usecs: 100000 });
  assert.deepEqual(c!.blocking, { endUsecs: 200000 });
  const [a] = calls('0...0 accept(3, ..., ...) = 4');
  assert.deepEqual(a!.blocking, { endUsecs: 0 });
});

test('struct arguments: sockaddr, linger, pollfd array, iovec', () => {
  const b = one('bind(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")}, 16) = 0');
  assert.deepEqual(strip(b.args[1]!), {
    kind: 'struct', items: [
      { kind: 'assign', target: 'sa_family', value: { kind: 'symbol', name: 'AF_INET' } },
      { kind: 'assign', target: 'sin_port', value: { kind: 'call', name: 'htons', args: [{ kind: 'int', value: 8080, hex: false, text: '8080' }] } },
      { kind: 'assign', target: 'sin_addr', value: { kind: 'call', name: 'inet_addr', args: [{ kind: 'string', value: '192.0.2.1', ellipsis: false }] } },
    ],
  });
  const l = one('setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0');
  assert.equal((l.args[3] as { kind: string }).kind, 'struct');
  const p = one('poll([{fd=3, events=POLLIN|POLLOUT, revents=POLLOUT}], 1, 0) = 1');
  assert.deepEqual(strip(p.args[0]!), {
    kind: 'array', items: [{
      kind: 'struct', items: [
        { kind: 'assign', target: 'fd', value: { kind: 'int', value: 3, hex: false, text: '3' } },
        { kind: 'assign', target: 'events', value: { kind: 'or', operands: [{ kind: 'symbol', name: 'POLLIN' }, { kind: 'symbol', name: 'POLLOUT' }] } },
        { kind: 'assign', target: 'revents', value: { kind: 'symbol', name: 'POLLOUT' } },
      ],
    }],
  });
  const w = one('writev(3, [{..., 10}, {..., 20}], 2) = 30');
  assert.deepEqual(strip(w.args[1]!), {
    kind: 'array', items: [
      { kind: 'struct', items: [{ kind: 'ellipsis' }, { kind: 'int', value: 10, hex: false, text: '10' }] },
      { kind: 'struct', items: [{ kind: 'ellipsis' }, { kind: 'int', value: 20, hex: false, text: '20' }] },
    ],
  });
});

test('msghdr: msg_iov(1)=[...] is an assignment with target arguments', () => {
  const m = one('sendmsg(3, {msg_name(...)=..., msg_iov(1)=[{..., 100}], msg_flags=0}, 0) = 100');
  const items = (m.args[1] as { items: Expr[] }).items.map(strip) as Array<Record<string, unknown>>;
  assert.equal(items[0]!.target, 'msg_name');
  assert.deepEqual(items[0]!.targetArgs, [{ kind: 'ellipsis' }]);
  assert.equal(items[1]!.target, 'msg_iov');
  assert.deepEqual(items[1]!.targetArgs, [{ kind: 'int', value: 1, hex: false, text: '1' }]);
});

test('strings: adjacent strings concatenate; "x"... is a prefix string', () => {
  const c = one('setsockopt(3, SOL_TCP, TCP_CONGESTION, "cu" "bic", 5) = 0');
  assert.deepEqual(strip(c.args[3]!), { kind: 'string', value: 'cubic', ellipsis: false });
  const g = one('getsockopt(3, SOL_TCP, TCP_CONGESTION, "cub"..., [5]) = 0');
  assert.deepEqual(strip(g.args[3]!), { kind: 'string', value: 'cub', ellipsis: true });
});

test('calls with no arguments and symbolic results', () => {
  const c = one('epoll_create() = 3');
  assert.deepEqual(c.args, []);
  assert.deepEqual(strip(one('ioctl(3, SIOCINQ, [1000]) = 0').args[2]!), { kind: 'array', items: [{ kind: 'int', value: 1000, hex: false, text: '1000' }] });
});

test('expression positions point at the argument in the file', () => {
  const [, c] = calls('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0   setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0');
  assert.equal(c!.line, 2);
  assert.equal(c!.column, 1);
  assert.equal(c!.args[1]!.line, 2);
  assert.equal(c!.args[1]!.column, 20);
});
