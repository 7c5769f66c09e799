import { test } from 'node:test';
import assert from 'node:assert/strict';
import { preprocess, personalityDefines } from './preprocess.js';
import { parseScript } from './parser.js';
import { DrillParseError } from './errors.js';

// The shape of the FreeBSD suite's 16 TIME-WAIT scripts (§10, §11.7).
const TIME_WAIT_SCRIPT = `--tolerance_usecs=75000
0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0.10 < SF 1:1(0)       win 32767 <mss 1460,sackOK,eol,eol>
#ifdef STANDARD
+0.00 >  . 2:2(0) ack 2 win 65535
+0.10 \`sockstat -4 -P tcp -s | grep packetdril | grep -c TIME_WAIT | grep 1\`
#endif
#ifdef FreeBSD
+0.10 <  . 1:1(0) ack 2 win 32767
+0.00 >  . 2:2(0) ack 2 win 65535
+0.00 \`tcpdrop -s TIME_WAIT\`
#endif
+0.00 close(3) = 0
`;

test('freebsd personality keeps the STANDARD branch and drops the FreeBSD one (§11.7)', () => {
  const r = parseScript(TIME_WAIT_SCRIPT, { file: 'tw.pkt', personality: 'freebsd' });
  assert.deepEqual(r.events.map((e) => e.line), [2, 3, 5, 6, 13]);
  const cmds = r.events.filter((e) => e.kind === 'command').map((e) => (e.kind === 'command' ? e.command : ''));
  assert.deepEqual(cmds, ['sockstat -4 -P tcp -s | grep packetdril | grep -c TIME_WAIT | grep 1']);
});

test('defining FreeBSD explicitly selects FreeBSD\'s own reaction instead', () => {
  const r = parseScript(TIME_WAIT_SCRIPT, { file: 'tw.pkt', personality: 'freebsd', defines: { FreeBSD: '' } });
  assert.deepEqual(r.events.map((e) => e.line), [2, 3, 5, 6, 9, 10, 11, 13]);
});

test('every personality defines STANDARD and not FreeBSD', () => {
  for (const p of ['linux', 'freebsd', 'synack'] as const) {
    const d = personalityDefines(p);
    assert.ok('STANDARD' in d, p);
    assert.ok(!('FreeBSD' in d), p);
  }
  assert.ok('Linux' in personalityDefines('linux'));
});

test('#ifndef, #else and nesting (synack extensions) keep line numbers', () => {
  const src = ['a', '#ifndef X1', 'b', '#else', 'c', '#ifdef Y1', 'd', '#endif', '#endif', 'e'].join('\n');
  assert.equal(preprocess(src, { file: 'p', defines: {} }).text, ['a', '', 'b', '', '', '', '', '', '', 'e'].join('\n'));
  assert.equal(preprocess(src, { file: 'p', defines: { X1: '' } }).text, ['a', '', '', '', 'c', '', '', '', '', 'e'].join('\n'));
  assert.equal(preprocess(src, { file: 'p', defines: { X1: '', Y1: '' } }).text, ['a', '', '', '', 'c', '', 'd', '', '', 'e'].join('\n'));
});

test('a --define=NAME line before the #ifdef turns the branch on', () => {
  const r = preprocess('--define=EXTRA\n#ifdef EXTRA\nkept\n#endif', { file: 'p', defines: {} });
  assert.equal(r.text, '--define=EXTRA\n\nkept\n');
  assert.deepEqual(r.defines, { EXTRA: '' });
});

test('directive errors carry file:line:column', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['a\n#endif', 'p.pkt:2:1', /#endif without #ifdef/],
    ['a\n  #ifdef STANDARD\nb', 'p.pkt:2:3', /unterminated #ifdef: no #endif before end of file/],
    ['#else', 'p.pkt:1:1', /#else without #ifdef/],
    ['#ifdef AB\n#else\n#else\n#endif', 'p.pkt:3:1', /second #else for the #ifdef on line 1/],
    ['#ifdef', 'p.pkt:1:1', /#ifdef needs one name/],
    ['#ifdef X\n#endif', 'p.pkt:1:1', /name 'X' is too short/],
    ['#ifdef AB CD\n#endif', 'p.pkt:1:1', /#ifdef needs one name/],
    ['#ifdef AB\n#endif junk', 'p.pkt:2:1', /unexpected text after #endif/],
  ];
  for (const [src, at, re] of cases) {
    assert.throws(() => preprocess(src, { file: 'p.pkt', defines: {} }), (e: unknown) => {
      assert.ok(e instanceof DrillParseError);
      assert.equal(e.code, 'preprocess');
      assert.ok(e.message.startsWith(`${at}: `), e.message);
      assert.match(e.message, re);
      return true;
    });
  }
});

test('a trailing comment after a directive is allowed', () => {
  assert.equal(preprocess('#ifdef STANDARD // RFC\nx\n#endif // STANDARD', { file: 'p', defines: { STANDARD: '' } }).text, '\nx\n');
});
