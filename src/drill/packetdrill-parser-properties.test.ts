import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseScript } from './parser.js';
import { DrillParseError } from './errors.js';
import type { TcpOptionSpec } from './ast.js';
import { ACK, FIN, PSH, RST, SYN, URG } from '../wire/tcp-types.js';
import { tcpOptionBytes } from './tcp-options.js';

/** parseScript must return or throw DrillParseError: never a TypeError, RangeError or hang. */
function parsesOrScriptError(src: string): boolean {
  try {
    parseScript(src, { file: 'f.pkt', personality: 'freebsd' });
    return true;
  } catch (e) {
    if (e instanceof DrillParseError) {
      assert.match(e.message, /^f\.pkt:\d+:\d+: /);
      return true;
    }
    throw e;
  }
}

const FRAGMENTS = [
  '0', '+0', '+.1', '1.5', '*', '~', '+', '...', '<', '>', 'S', 'S.', 'F.', '.', '-', 'R', 'P.', '1:1(0)', '0:0(0)',
  '1:1001(1000)', 'ack', 'win', 'urg', '1', '65535', '-1', '0x10', '<mss 1460,sackOK,eol,eol>', '<...>', '<', 'nop', ',',
  'TS val 1 ecr 0', 'sack 1:2', 'socket(..., SOCK_STREAM, IPPROTO_TCP)', 'close(3)', '=', '(', ')', '[', ']', '{', '}',
  'EINPROGRESS', '(Operation now in progress)', '"str"', '`cmd`', '`', '"', '%{ assert tcpi_state == 1 }%', '%{', '}%',
  '//c\n', '/*', '*/', '\n', ' ', '\t', '#ifdef STANDARD\n', '#ifndef AB\n', '#else\n', '#endif\n', '--tolerance_usecs=1\n',
  '--define=X=1\n', 'udp', 'icmp', 'gre:', 'ipv4', '192.0.2.1', '::1', 'md5', 'FO', '[ect0]', '(tos 0x1)', '|', 'O_RDWR',
];

test('random fragment soup never crashes the parser (fast-check)', () => {
  fc.assert(fc.property(fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 40 }), (parts) => parsesOrScriptError(parts.join(' '))),
    { numRuns: 2000 });
});

test('arbitrary text never crashes the parser (fast-check)', () => {
  fc.assert(fc.property(fc.string({ maxLength: 200, unit: 'binary' }), parsesOrScriptError), { numRuns: 1000 });
});

const VALID = `--tolerance_usecs=75000
0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0.00 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0.00 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0.00 > S 0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>
+0.10 < S. 0:0(0) ack 1 win 32767 <mss 1460,sackOK,eol,eol>
+0.00 > . 1:1(0) ack 1 win 65535
+0.00 %{ assert tcpi_state == TCPI_ESTABLISHED }%
#ifdef STANDARD
+0.00 \`sysctl -w net.inet.tcp.drop_synfin=0\`
#endif
+0.00 close(3) = 0
`;

test('single-character mutations of a valid script give a script or a located DrillParseError (fast-check)', () => {
  const alphabet = fc.constantFrom(...'<>.:,()[]{}=+-*~`"%#/0123456789 \nSFRPackwin'.split(''));
  fc.assert(fc.property(fc.nat(VALID.length - 1), fc.oneof(alphabet, fc.constant('')), (at, ch) => {
    return parsesOrScriptError(VALID.slice(0, at) + ch + VALID.slice(at + 1));
  }), { numRuns: 3000 });
});

// Generated TCP lines: rendering then parsing gives back every field.
const optionArb: fc.Arbitrary<TcpOptionSpec> = fc.oneof(
  fc.constant<TcpOptionSpec>({ kind: 'nop' }),
  fc.constant<TcpOptionSpec>({ kind: 'eol' }),
  fc.integer({ min: 0, max: 0xffff }).map((value): TcpOptionSpec => ({ kind: 'mss', value })),
  fc.integer({ min: 0, max: 14 }).map((shift): TcpOptionSpec => ({ kind: 'wscale', shift })),
  fc.constant<TcpOptionSpec>({ kind: 'sackOK' }),
  fc.array(fc.tuple(fc.nat(0xffffffff), fc.nat(0xffffffff)), { minLength: 1, maxLength: 3 })
    .map((blocks): TcpOptionSpec => ({ kind: 'sack', blocks: blocks as Array<[number, number]> })),
  fc.tuple(fc.nat(0xffffffff), fc.nat(0xffffffff)).map(([val, ecr]): TcpOptionSpec => ({ kind: 'timestamp', val, ecr })),
);
function renderOption(o: TcpOptionSpec): string {
  switch (o.kind) {
    case 'mss': return `mss ${o.value}`;
    case 'wscale': return `wscale ${o.shift}`;
    case 'sack': return `sack ${o.blocks.map(([l, r]) => `${l}:${r}`).join(' ')}`;
    case 'timestamp': return `TS val ${o.val} ecr ${o.ecr}`;
    case 'unsupported': return o.text;
    default: return o.kind;
  }
}

test('generated TCP packet lines parse back to the same fields (fast-check)', () => {
  const lineArb = fc.record({
    inbound: fc.boolean(),
    letters: fc.subarray(['F', 'S', 'R', 'P', 'U'] as const),
    ackFlag: fc.boolean(),
    start: fc.nat(0xffffffff - 0xffff),
    len: fc.nat(0xffff),
    ack: fc.option(fc.nat(0xffffffff), { nil: undefined }),
    win: fc.option(fc.nat(0xffff), { nil: undefined }),
    urg: fc.option(fc.nat(0xffff), { nil: undefined }),
    options: fc.array(optionArb, { maxLength: 5 }),
  });
  fc.assert(fc.property(lineArb, (g) => {
    const win = g.inbound ? (g.win ?? 100) : g.win;
    // Pad to a multiple of 4 bytes with nop, within the 40-byte limit, as scripts do.
    const options = [...g.options];
    let bytes = options.reduce((a, o) => a + tcpOptionBytes(o)!, 0);
    if (bytes > 40) return true;
    while (bytes % 4 !== 0) { options.push({ kind: 'nop' }); bytes++; }
    if (bytes > 40) return true;
    const flagsText = g.letters.length === 0 && !g.ackFlag ? '-' : g.letters.join('') + (g.ackFlag ? '.' : '');
    const line = `+0 ${g.inbound ? '<' : '>'} ${flagsText} ${g.start}:${g.start + g.len}(${g.len})`
      + (g.ack !== undefined ? ` ack ${g.ack}` : '') + (win !== undefined ? ` win ${win}` : '') + (g.urg !== undefined ? ` urg ${g.urg}` : '')
      + (options.length ? ` <${options.map(renderOption).join(',')}>` : '');
    const r = parseScript(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n${line}`, { file: 'g.pkt', personality: 'linux' });
    const ev = r.events[1]!;
    assert.ok(ev.kind === 'packet' && ev.packet.protocol === 'tcp', line);
    const p = ev.packet;
    const bit: Record<string, number> = { F: FIN, S: SYN, R: RST, P: PSH, U: URG };
    const flags = g.letters.reduce((a, l) => a | bit[l]!, 0) | (g.ackFlag ? ACK : 0);
    assert.equal(ev.direction, g.inbound ? 'inbound' : 'outbound');
    assert.equal(p.flags, flags, line);
    assert.deepEqual(p.seq, { start: g.start, end: g.start + g.len, len: g.len });
    assert.equal(p.ack, g.ack);
    assert.equal(p.win, win);
    assert.equal(p.urg, g.urg);
    assert.deepEqual(p.options, options);
    assert.equal(ev.text, line);
    return true;
  }), { numRuns: 1000 });
});

test('deep nesting is a script error, not a stack overflow', () => {
  const deep = `0 close(${'['.repeat(100000)}3${']'.repeat(100000)}) = 0`;
  assert.throws(() => parseScript(deep, { file: 'n.pkt', personality: 'linux' }), (e: unknown) =>
    e instanceof DrillParseError && /nested more than 64 deep/.test(e.message) && e.line === 1);
  const code = `0 %{ assert tcpi_state == ${'('.repeat(100000)}1${')'.repeat(100000)} }%`;
  const r = parseScript(code, { file: 'n.pkt', personality: 'linux' });
  assert.match(r.unsupported?.construct ?? '', /code block beyond/);
});

test('a very long script of valid lines parses in linear time', () => {
  const lines = ['0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3'];
  for (let k = 0; k < 20000; k++) lines.push('+0 < . 1:1(0) ack 1 win 100');
  const t0 = Date.now();
  const r = parseScript(lines.join('\n'), { file: 'big.pkt', personality: 'linux' });
  assert.equal(r.events.length, 20001);
  assert.ok(Date.now() - t0 < 5000);
});
