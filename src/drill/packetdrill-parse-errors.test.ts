import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScript } from './parser.js';
import { DrillParseError } from './errors.js';

const START = '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n';

/** Each garbled script must fail with this exact file:line:column prefix and a message matching re. */
const CASES: Array<{ name: string; src: string; at: string; re: RegExp; code: DrillParseError['code'] }> = [
  { name: 'inbound packet without win', src: `${START}+0 < S 0:0(0) <mss 1460>`, at: '2:4', re: /inbound TCP packet needs 'win N'/, code: 'semantic' },
  { name: 'END != START + LEN', src: `${START}+0 < . 1:10(5) ack 1 win 100`, at: '2:8', re: /inconsistent TCP sequence numbers and payload size: 1:10\(5\)/, code: 'semantic' },
  { name: 'options not a multiple of 4 bytes', src: `${START}+0 < S 0:0(0) win 100 <mss 1460,sackOK>`, at: '2:23', re: /TCP option list is 6 bytes, not a multiple of 4/, code: 'semantic' },
  { name: 'options longer than 40 bytes', src: `${START}+0 > . 1:1(0) <sack 1:2 3:4 5:6 7:8 9:10,nop,nop>`, at: '2:15', re: /TCP option list too long: 44 bytes/, code: 'semantic' },
  { name: 'unknown TCP option', src: `${START}+0 < S 0:0(0) win 100 <mss 1460,bogus 3>`, at: '2:33', re: /unknown TCP option 'bogus'/, code: 'syntax' },
  { name: 'syscall without = RESULT', src: `${START}+0 close(3) 0`, at: '2:13', re: /expected '= RESULT' after the system call, found '0'/, code: 'syntax' },
  { name: 'wscale out of 8 bits', src: `${START}+0 < S 0:0(0) win 100 <wscale 300,nop>`, at: '2:31', re: /window scale shift count out of range: 300 \(allowed 0\.\.255\)/, code: 'range' },
  { name: 'window out of 16 bits', src: `${START}+0 < . 1:1(0) ack 1 win 70000`, at: '2:25', re: /TCP window value out of range: 70000/, code: 'range' },
  { name: 'seq out of 32 bits', src: `${START}+0 < . 4294967296:4294967296(0) win 1`, at: '2:8', re: /TCP start sequence number out of range/, code: 'range' },
  { name: '<...> on an inbound packet', src: `${START}+0 < S 0:0(0) win 100 <...>`, at: '2:23', re: /<\.\.\.> for TCP options can only be used with outbound packets/, code: 'semantic' },
  { name: 'no action after the time', src: `${START}+0 ? close(3) = 0`, at: '2:4', re: /expected a packet \('<' or '>'\), a system call, a `command` or a %\{ code \}% block after the event time, found '\?'/, code: 'syntax' },
  { name: 'no time before an event', src: `${START}close(3) = 0`, at: '2:1', re: /expected an event time .*, found 'close'/, code: 'syntax' },
  { name: 'missing ) in the argument list', src: `${START}+0 close(3 = 0`, at: '2:12', re: /expected ',' or '\)' in the argument list, found '='/, code: 'syntax' },
  { name: 'untimed command between events', src: `${START}\`sysctl -w a=1\`\n+0 close(3) = 0`, at: '2:1', re: /a `command` without a time is allowed only as the init command/, code: 'syntax' },
  { name: 'option after the first event', src: `${START}--tolerance_usecs=1000\n`, at: '2:1', re: /option --tolerance_usecs must come before the first event/, code: 'syntax' },
  { name: 'no events at all', src: '// just a comment\n`./defaults.sh`\n', at: '3:1', re: /script has no events/, code: 'syntax' },
  { name: 'invalid flag letter', src: `${START}+0 > SX 0:0(0)`, at: '2:6', re: /invalid TCP flag 'X' in 'SX'/, code: 'semantic' },
  { name: 'ACE digit mixed with E', src: `${START}+0 > SE5 0:0(0)`, at: '2:6', re: /an ACE digit cannot be mixed with E, W or A/, code: 'semantic' },
  { name: 'fields out of order', src: `${START}+0 > . 1:1(0) win 10 ack 1`, at: '2:22', re: /expected TCP fields in the order ack, win, urg, <options>/, code: 'syntax' },
  { name: 'TS without ecr', src: `${START}+0 > . 1:1(0) <nop,nop,TS val 1>`, at: '2:32', re: /expected 'ecr', found '>'/, code: 'syntax' },
  { name: '[ect01] on an inbound packet', src: `${START}+0 < [ect01] . 1:1(0) ack 1 win 1`, at: '2:4', re: /\[ect01\] can only be used with outbound packets/, code: 'semantic' },
  { name: 'unknown IP field', src: `${START}+0 < (dscp 3) . 1:1(0) ack 1 win 1`, at: '2:7', re: /expected an IP field/, code: 'syntax' },
  { name: 'unterminated note', src: `${START}+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation`, at: '2:42', re: /unterminated note/, code: 'syntax' },
  { name: 'bad tolerance value', src: `--tolerance_usecs=abc\n${START}`, at: '1:1', re: /option --tolerance_usecs: expected an integer/, code: 'option' },
  { name: 'bad ip_version', src: `--ip_version=ipv5\n${START}`, at: '1:1', re: /option --ip_version: expected ipv4, ipv6 or ipv4-mapped-ipv6/, code: 'option' },
  { name: 'missing sequence range', src: `${START}+0 > S. ack 1`, at: '2:9', re: /expected TCP start sequence number, found 'ack'/, code: 'syntax' },
  { name: 'bad expression', src: `${START}+0 write(3, <, 10) = 10`, at: '2:13', re: /expected an expression/, code: 'syntax' },
  { name: 'unterminated struct', src: `${START}+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0, 8) = 0`, at: '2:62', re: /expected ',' or '\}', found '\)'/, code: 'syntax' },
];

for (const c of CASES) {
  test(`garbled script: ${c.name} -> file:line:column and what was expected`, () => {
    assert.throws(() => parseScript(c.src, { file: 'garbled.pkt', personality: 'linux' }), (e: unknown) => {
      assert.ok(e instanceof DrillParseError, `not a DrillParseError: ${String(e)}`);
      assert.ok(e.message.startsWith(`garbled.pkt:${c.at}: `), `position: ${e.message}`);
      assert.match(e.message, c.re);
      assert.equal(e.code, c.code, e.message);
      assert.equal(`${e.line}:${e.column}`, c.at);
      assert.equal(e.file, 'garbled.pkt');
      return true;
    });
  });
}

test('syntax errors record what was expected and what was found', () => {
  try {
    parseScript(`${START}+0 close(3) 0`, { file: 'x.pkt', personality: 'linux' });
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof DrillParseError);
    assert.equal(e.expected, "'= RESULT' after the system call");
    assert.equal(e.found, "'0'");
  }
});
