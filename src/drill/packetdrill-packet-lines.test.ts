import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScript } from './parser.js';
import type { PacketEvent, TcpPacketSpec } from './ast.js';
import { ACK, AE, CWR, ECE, FIN, OPT_EOL, OPT_MSS, OPT_NOP, OPT_SACK_PERMITTED, OPT_TIMESTAMPS, OPT_WSCALE, PSH, RST, SYN, URG } from '../wire/tcp-types.js';
import { tcpOptionsToWire } from './tcp-options.js';

const PRELUDE = '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n';

/** Parses one packet line after a time-0 prelude and returns its event. */
function packet(line: string): PacketEvent {
  const r = parseScript(PRELUDE + line, { file: 'p.pkt', personality: 'linux' });
  assert.equal(r.unsupported, undefined, JSON.stringify(r.unsupported));
  const ev = r.events[1];
  assert.ok(ev && ev.kind === 'packet');
  return ev;
}
const tcp = (line: string): TcpPacketSpec => {
  const p = packet(line).packet;
  assert.equal(p.protocol, 'tcp');
  return p as TcpPacketSpec;
};

test('a passive-open SYN line parses to the full expected AST', () => {
  assert.deepEqual(packet('+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>'), {
    kind: 'packet', line: 2, column: 1, direction: 'inbound', time: { kind: 'relative', usecs: 0 }, ip: {},
    ports: undefined, encapsulation: [],
    packet: {
      protocol: 'tcp', flagsText: 'S', flags: SYN, seq: { start: 0, end: 0, len: 0 }, win: 32792,
      options: [{ kind: 'mss', value: 1000 }, { kind: 'sackOK' }, { kind: 'nop' }, { kind: 'nop' }, { kind: 'nop' }, { kind: 'wscale', shift: 7 }],
    },
    text: '+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>',
  });
});

test('an outbound SYN-ACK with ack and no win leaves win undefined (not compared, §4.3)', () => {
  const p = tcp('+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>');
  assert.equal(p.flags, SYN | ACK);
  assert.equal(p.ack, 1);
  assert.equal(p.win, undefined);
  assert.equal(p.urg, undefined);
});

test('flag strings map to the wire bits; order of letters does not matter (§4.2)', () => {
  const cases: Array<[string, number]> = [
    ['S', SYN], ['S.', SYN | ACK], ['F.', FIN | ACK], ['R', RST], ['R.', RST | ACK], ['P.', PSH | ACK],
    ['FP.', FIN | PSH | ACK], ['PF.', FIN | PSH | ACK], ['.', ACK], ['-', 0], ['SF', SYN | FIN], ['U.', URG | ACK],
    ['SEW', SYN | ECE | CWR], ['SE.', SYN | ACK | ECE], ['A.', AE | ACK],
  ];
  for (const [flags, bits] of cases) {
    const p = tcp(`+0 > ${flags} 0:0(0)`);
    assert.equal(p.flags, bits, flags);
    assert.equal(p.flagsText, flags);
  }
  assert.equal(tcp('+0 < - 0:0(0) win 10').flagsText, '-');
});

test('an AccECN ACE digit sets AE/CWR/ECE as a 3-bit field', () => {
  const p = tcp('+0 > S.5 0:0(0) ack 1');
  assert.equal(p.ace, 5);
  assert.equal(p.flags, SYN | ACK | AE | ECE);
  assert.equal(tcp('+0 > P6. 1:1(0)').flags, PSH | ACK | AE | CWR);
});

test('sequence range, ack, win and urg are all kept', () => {
  const p = tcp('+0 < P. 1:1001(1000) ack 4294967295 win 65535 urg 3');
  assert.deepEqual(p.seq, { start: 1, end: 1001, len: 1000 });
  assert.equal(p.ack, 4294967295);
  assert.equal(p.win, 65535);
  assert.equal(p.urg, 3);
  assert.deepEqual(p.options, []);
});

test('an inbound SYN may carry an ack field without the ACK flag (FreeBSD suite)', () => {
  const p = tcp('+0.00 < S  0:0(0) ack 1 win 32767 <mss 1460,sackOK,eol,eol>');
  assert.equal(p.flags, SYN);
  assert.equal(p.ack, 1);
  assert.deepEqual(p.options, [{ kind: 'mss', value: 1460 }, { kind: 'sackOK' }, { kind: 'eol' }, { kind: 'eol' }]);
});

test('every TCP option kind: SACK blocks, timestamps, wscale, eol padding', () => {
  const p = tcp('+0 > . 1:1(0) ack 1 <nop,nop,sack 1:2 3:4,nop,nop,TS val 4294967295 ecr 0>');
  assert.deepEqual(p.options, [
    { kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: [[1, 2], [3, 4]] }, { kind: 'nop' }, { kind: 'nop' },
    { kind: 'timestamp', val: 4294967295, ecr: 0 },
  ]);
});

test('<...> means "options unchecked" on an outbound line', () => {
  assert.equal(tcp('* > S 0:0(0) win 65535 <...>').options, 'unchecked');
});

test('options convert to src/wire TcpOptions with the written order', () => {
  const p = tcp('+0 > S 0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>');
  assert.ok(p.options !== 'unchecked');
  assert.deepEqual(tcpOptionsToWire(p.options), {
    order: [OPT_MSS, OPT_NOP, OPT_WSCALE, OPT_SACK_PERMITTED, OPT_TIMESTAMPS], mss: 1460, wscale: 6, sackPermitted: true, tsVal: 100, tsEcr: 0,
  });
  const q = tcp('+0 > S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,eol,eol>');
  assert.ok(q.options !== 'unchecked');
  assert.deepEqual(tcpOptionsToWire(q.options).order, [OPT_MSS, OPT_SACK_PERMITTED, OPT_EOL, OPT_EOL]);
});

test('IP fields: [ect0], (tos 0x10, flowlabel 0x1), (ttl 64), [ect01] outbound', () => {
  assert.deepEqual(packet('+0 < [ect0] S 0:0(0) win 100').ip, { ecn: 'ect0' });
  assert.deepEqual(packet('+0 < (tos 0x10, flowlabel 0x12345) . 1:1(0) ack 1 win 100').ip, { tos: 0x10, flowLabel: 0x12345 });
  assert.deepEqual(packet('+0 > (ttl 64) . 1:1(0) ack 1').ip, { ttl: 64 });
  assert.deepEqual(packet('+0 > [ect01] . 1:1(0) ack 1').ip, { ecn: 'ect01' });
});

test('pinned ports sport>dport', () => {
  assert.deepEqual(packet('+0 < 1234>8080 S 0:0(0) win 100').ports, { src: 1234, dst: 8080 });
});

test('an event may span lines and carry comments between its fields', () => {
  const p = packet('+0 > P. 1:1001(1000) // data\n   ack 1 /* then */ <...>');
  assert.equal(p.line, 2);
  assert.equal(p.text, '+0 > P. 1:1001(1000) ack 1 <...>');
  const spec = p.packet as TcpPacketSpec;
  assert.equal(spec.ack, 1);
  assert.equal(spec.options, 'unchecked');
});
