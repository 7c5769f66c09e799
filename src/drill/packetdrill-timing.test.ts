import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScript } from './parser.js';
import { DrillParseError } from './errors.js';
import type { EventTime } from './ast.js';

const times = (src: string): EventTime[] => parseScript(src, { file: 't.pkt', personality: 'linux' }).events.map((e) => e.time);
const START = '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n';

test('absolute, relative, spaced relative and leading-dot times (§3.1)', () => {
  assert.deepEqual(times(`${START}1.5 close(3) = 0\n+0.1 close(3) = 0\n+ 0.00 close(3) = 0\n+.04 close(3) = 0\n+1 close(3) = 0`), [
    { kind: 'absolute', usecs: 0 },
    { kind: 'absolute', usecs: 1_500_000 },
    { kind: 'relative', usecs: 100_000 },
    { kind: 'relative', usecs: 0 },
    { kind: 'relative', usecs: 40_000 },
    { kind: 'relative', usecs: 1_000_000 },
  ]);
});

test('decimal seconds convert to microseconds exactly (no binary rounding)', () => {
  // 0.29 * 1e6 is 289999.99999999994 in binary floating point.
  assert.deepEqual(times(`${START}0.29 close(3) = 0\n+0.000001 close(3) = 0\n+1.0000019 close(3) = 0`).slice(1), [
    { kind: 'absolute', usecs: 290_000 }, { kind: 'relative', usecs: 1 }, { kind: 'relative', usecs: 1_000_001 },
  ]);
});

test('* and ranges on outbound packets (§3.1)', () => {
  assert.deepEqual(times(`${START}* > S 0:0(0) <...>\n+0~+.04 > . 1:1(0) ack 1\n+4 ~ +6 > . 1:1(0) ack 1\n7.0~8.5 > R 1:1(0)`).slice(1), [
    { kind: 'any' },
    { kind: 'relative-range', startUsecs: 0, endUsecs: 40_000 },
    { kind: 'relative-range', startUsecs: 4_000_000, endUsecs: 6_000_000 },
    { kind: 'absolute-range', startUsecs: 7_000_000, endUsecs: 8_500_000 },
  ]);
});

function scriptError(src: string): DrillParseError {
  try {
    parseScript(src, { file: 'bad.pkt', personality: 'linux' });
  } catch (e) {
    assert.ok(e instanceof DrillParseError, String(e));
    return e;
  }
  assert.fail('expected a DrillParseError');
}

test('timing script errors name the line and column of the event time', () => {
  const cases: Array<[string, number, number, RegExp]> = [
    [`${START}* close(3) = 0`, 2, 1, /event time \* can only be used with outbound packets/],
    [`${START}+0~+1 < . 1:1(0) ack 1 win 100`, 2, 1, /event time range can only be used with outbound packets/],
    [`${START}+0~+1 close(3) = 0`, 2, 1, /event time range can only be used with outbound packets/],
    [`${START}  +2~+1 > . 1:1(0)`, 2, 3, /time range is backwards/],
    [`${START}2 close(3) = 0\n1 close(3) = 0`, 3, 1, /time goes backward in script from 2000000 usec to 1000000 usec/],
    ['+1 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3', 1, 1, /first event should be at time 0/],
    [`${START}+0.2...0.1 accept(3, ..., ...) = 4`, 2, 1, /blocking system call ends before it starts/],
    [`${START}+-1 close(3) = 0`, 2, 2, /negative time -1/],
    [`${START}+1~2 > . 1:1(0)`, 2, 4, /expected '\+' \(both ends of a relative range are relative/],
    [`${START}+0...+1 accept(3, ..., ...) = 4`, 2, 6, /end time of a blocking call without '\+'/],
  ];
  for (const [src, line, column, re] of cases) {
    const e = scriptError(src);
    assert.match(e.message, re, src);
    assert.equal(e.line, line, src);
    assert.equal(e.column, column, src);
    assert.ok(e.message.startsWith(`bad.pkt:${line}:${column}: `), e.message);
  }
});

test('relative after absolute may go "backward": only consecutive absolute times are checked (run.c)', () => {
  assert.doesNotThrow(() => times(`${START}2 close(3) = 0\n+0 close(3) = 0\n1 close(3) = 0`));
});
