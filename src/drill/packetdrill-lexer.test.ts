import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenize } from './lexer.js';
import { DrillParseError } from './errors.js';

const kinds = (src: string): string[] => tokenize(src, 't.pkt').filter((t) => t.type !== 'eof').map((t) => `${t.type}:${t.text}`);

test('blocking-call times split into +, .1, ..., 0.200 (§2.2)', () => {
  assert.deepEqual(kinds('+.1...0.200 connect'), ['punct:+', 'float:.1', 'ellipsis:...', 'float:0.200', 'word:connect']);
  assert.deepEqual(kinds('0...0'), ['int:0', 'ellipsis:...', 'int:0']);
});

test('a sequence range is integers and punctuation, never an IPv6 address', () => {
  assert.deepEqual(kinds('1:1001(1000)'), ['int:1', 'punct::', 'int:1001', 'punct:(', 'int:1000', 'punct:)']);
  assert.deepEqual(kinds('sack 1:2 3:4'), ['word:sack', 'int:1', 'punct::', 'int:2', 'int:3', 'punct::', 'int:4']);
});

test('flags: the ACK dot is its own token after the letter word', () => {
  assert.deepEqual(kinds('S. F. FP. . -'), ['word:S', 'punct:.', 'word:F', 'punct:.', 'word:FP', 'punct:.', 'punct:.', 'punct:-']);
});

test('numbers: negative integers, hex, decimals without a leading digit', () => {
  assert.deepEqual(kinds('= -1 0x02 .04 -0.5'), ['punct:=', 'int:-1', 'hex:0x02', 'float:.04', 'float:-0.5']);
});

test('addresses: longest match beats a float or a word', () => {
  assert.deepEqual(kinds('192.0.2.1 > 2001:db8::1 fd3d:fa7b:d17d::1 ::ffff:192.0.2.1'),
    ['ipv4:192.0.2.1', 'punct:>', 'ipv6:2001:db8::1', 'ipv6:fd3d:fa7b:d17d::1', 'ipv6:::ffff:192.0.2.1']);
});

test('options, strings, commands and code blocks keep their inner text', () => {
  const toks = tokenize('--tolerance_usecs=7000\n"a\\"b" `sysctl -w x=1` %{ assert tcpi_state == 1 }%', 't.pkt');
  assert.equal(toks[0]!.type, 'option');
  assert.equal(toks[0]!.value, 'tolerance_usecs');
  const str = toks.find((t) => t.type === 'string')!;
  assert.equal(str.value, 'a\\"b');
  assert.equal(toks.find((t) => t.type === 'backquote')!.value, 'sysctl -w x=1');
  assert.equal(toks.find((t) => t.type === 'code')!.value, 'assert tcpi_state == 1');
});

test('comments of both kinds are skipped; positions stay exact', () => {
  const toks = tokenize('// c1\n /* c2\n c2 */ +0 close(3) // tail', 't.pkt');
  const plus = toks[0]!;
  assert.equal(plus.text, '+');
  assert.equal(plus.line, 3);
  assert.equal(plus.column, 8);
  assert.equal(toks.at(-1)!.type, 'eof');
});

test('a // comment at end of file without a newline is still a comment', () => {
  assert.deepEqual(kinds('+0 close(3) = 0 // no newline'), ['punct:+', 'int:0', 'word:close', 'punct:(', 'int:3', 'punct:)', 'punct:=', 'int:0']);
});

test('CRLF line endings are whitespace', () => {
  const toks = tokenize('0 close(3) = 0\r\n+0 close(4) = 0\r\n', 't.pkt');
  assert.equal(toks.filter((t) => t.type === 'word').length, 2);
  assert.equal(toks.find((t) => t.text === '4')!.line, 2);
});

test('unterminated string, command, code block and comment are lex errors at the opening character', () => {
  const cases: Array<[string, number, number, RegExp]> = [
    ['0 write(3, "abc', 1, 12, /unterminated string/],
    ['\n  `sysctl -w a=1', 2, 3, /unterminated `command`/],
    ['0 %{ assert x == 1', 1, 3, /unterminated %\{ code block/],
    ['0 /* never closed', 1, 3, /unterminated \/\* comment/],
  ];
  for (const [src, line, column, re] of cases) {
    assert.throws(() => tokenize(src, 'bad.pkt'), (e: unknown) => {
      assert.ok(e instanceof DrillParseError);
      assert.equal(e.code, 'lex');
      assert.equal(e.line, line, src);
      assert.equal(e.column, column, src);
      assert.match(e.message, new RegExp(`^bad\\.pkt:${line}:${column}: `));
      assert.match(e.message, re);
      return true;
    });
  }
});

test('a control character is a lex error, not a crash', () => {
  assert.throws(() => tokenize('0 close(3) = 0\n+0 \u0001', 'c.pkt'), /c\.pkt:2:4: unexpected control character 0x01/);
});
