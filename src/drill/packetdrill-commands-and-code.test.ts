import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScript } from './parser.js';
import { parseCodeAssertions } from './code-block.js';
import type { CodeEvent, CommandEvent } from './ast.js';

const START = '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n';

test('an untimed command before the first event is the init command; after the last, the cleanup (§2.1)', () => {
  const r = parseScript(`// header\n\`../common/defaults.sh\`\n\n${START}+0 close(3) = 0\n\`echo cleanup\`\n`, { file: 'c.pkt', personality: 'linux' });
  assert.deepEqual(r.init, { command: '../common/defaults.sh', line: 2, column: 1 });
  assert.deepEqual(r.cleanup, { command: 'echo cleanup', line: 6, column: 1 });
  assert.equal(r.events.length, 2);
  assert.ok(r.events.every((e) => e.kind !== 'command'));
});

test('a timed command is an ordinary event with its text unchanged', () => {
  const r = parseScript(` 0.00 \`sysctl -w net.inet.tcp.rfc1323=1\`\n+0.00 \`sockstat -4 -P tcp -p 8080 -s | grep -c SYN_RCVD | grep 0\``, { file: 'c.pkt', personality: 'freebsd' });
  const cmds = r.events as CommandEvent[];
  assert.deepEqual(cmds.map((c) => [c.kind, c.line, c.column, c.command]), [
    ['command', 1, 2, 'sysctl -w net.inet.tcp.rfc1323=1'],
    ['command', 2, 1, 'sockstat -4 -P tcp -p 8080 -s | grep -c SYN_RCVD | grep 0'],
  ]);
  assert.deepEqual(cmds[0]!.time, { kind: 'absolute', usecs: 0 });
});

test('%{ assert tcpi_state == TCPI_ESTABLISHED }% keeps the text and the parsed assertion', () => {
  const r = parseScript(`${START}+0.00 %{ assert tcpi_state == TCPI_ESTABLISHED }%`, { file: 'c.pkt', personality: 'freebsd' });
  const code = r.events[1] as CodeEvent;
  assert.equal(code.kind, 'code');
  assert.equal(code.code, 'assert tcpi_state == TCPI_ESTABLISHED');
  assert.deepEqual(code.assertions, [{
    line: 2, lhs: { kind: 'name', name: 'tcpi_state' }, op: '==', rhs: { kind: 'name', name: 'TCPI_ESTABLISHED' },
    message: undefined, text: 'assert tcpi_state == TCPI_ESTABLISHED',
  }]);
  assert.equal(r.unsupported, undefined);
});

test('multi-line blocks: several asserts, messages, ints, OR of names, comments', () => {
  const code = `\nassert tcpi_state == TCP_ESTABLISHED, "not established"\n# a comment\nassert tcpi_options != TCPI_OPT_SACK | TCPI_OPT_WSCALE ; assert tcpi_snd_mss >= 0x10\n`;
  const a = parseCodeAssertions(code, 10);
  assert.ok(a);
  assert.deepEqual(a.map((x) => [x.line, x.op, x.message]), [[11, '==', 'not established'], [13, '!=', undefined], [13, '>=', undefined]]);
  assert.deepEqual(a[1]!.rhs, { kind: 'or', operands: [{ kind: 'name', name: 'TCPI_OPT_SACK' }, { kind: 'name', name: 'TCPI_OPT_WSCALE' }] });
  assert.deepEqual(a[2]!.rhs, { kind: 'int', value: 16 });
});

test('Python outside the assert subset is not parsed (null)', () => {
  for (const code of ['print(tcpi_rto)', 'assert tcpi_rto > 1000 and tcpi_rto < 2000', 'x = 1', 'assert tcpi_state ==', 'import os']) {
    assert.equal(parseCodeAssertions(code, 1), null, code);
  }
});

test('a commented-out %{ }% line is a comment (FreeBSD TIME-WAIT scripts)', () => {
  const r = parseScript(`${START}//+0.00 %{ assert tcpi_state == TCPI_TIME_WAIT }%\n+0 close(3) = 0`, { file: 'c.pkt', personality: 'freebsd' });
  assert.deepEqual(r.events.map((e) => e.kind), ['syscall', 'syscall']);
});
