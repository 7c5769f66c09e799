import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderLadderText } from './ladder-text.js';
import { handshakeAndClose, lossyHandshake } from './ladder.fixture.js';

const ARROW_RIGHT = /─>/;
const ARROW_LEFT = /<─/;
const ANSI_RE = /\x1b\[[0-9;]*m/;

/** Lines that carry a segment arrow, in order. */
function arrowLines(text: string): string[] {
  return text.split('\n').filter((l) => ARROW_RIGHT.test(l) || ARROW_LEFT.test(l) || /─X|X─/.test(l));
}

test('handshake + four-way close: arrows in order with relative seq/ack, direction and flags', () => {
  const text = renderLadderText(handshakeAndClose());
  const lines = arrowLines(text);
  const expected: Array<[dir: '>' | '<', label: string]> = [
    ['>', 'SYN seq=0 len=0 win=64240'],
    ['<', 'SYN+ACK seq=0 ack=1 len=0 win=65535'],
    ['>', 'ACK seq=1 ack=1 len=0 win=64240'],
    ['>', 'PSH+ACK seq=1 ack=1 len=100 win=64240'],
    ['<', 'ACK seq=1 ack=101 len=0 win=65535'],
    ['>', 'FIN+ACK seq=101 ack=1 len=0 win=64240'],
    ['<', 'ACK seq=1 ack=102 len=0 win=65535'],
    ['<', 'FIN+ACK seq=1 ack=102 len=0 win=65535'],
    ['>', 'ACK seq=102 ack=2 len=0 win=64240'],
  ];
  assert.equal(lines.length, expected.length, text);
  lines.forEach((l, i) => {
    const [dir, label] = expected[i]!;
    assert.ok(l.includes(` ${label} `), `line ${i}: ${l} should carry "${label}"`);
    if (dir === '>') assert.match(l, /─> ?/, l); else assert.match(l, /<─/, l);
    // The arrow points one way only.
    assert.ok(!(ARROW_RIGHT.test(l) && ARROW_LEFT.test(l)), l);
  });
  assert.ok(!ANSI_RE.test(text), 'no colour unless asked');
});

test('states: each side shows its new state where the segment arrives, left for a and right for b', () => {
  const text = renderLadderText(handshakeAndClose(), { showTime: false });
  const lines = text.split('\n');
  const row = (label: string) => lines.find((l) => l.includes(` ${label} `))!;
  // The SYN arrives at b: b becomes SYN-RECEIVED on that row, on the right of the arrow.
  assert.match(row('SYN seq=0 len=0 win=64240'), /─> SYN-RECEIVED$/);
  // The SYN+ACK arrives at a: a's ESTABLISHED on the left.
  assert.match(row('SYN+ACK seq=0 ack=1 len=0 win=65535'), /^ESTABLISHED +<─/);
  assert.match(row('ACK seq=1 ack=1 len=0 win=64240'), /─> ESTABLISHED$/);
  assert.match(row('FIN+ACK seq=101 ack=1 len=0 win=64240'), /─> CLOSE-WAIT$/);
  assert.match(row('ACK seq=1 ack=102 len=0 win=65535'), /^FIN-WAIT-2 +<─/);
  assert.match(row('FIN+ACK seq=1 ack=102 len=0 win=65535'), /^TIME-WAIT +<─/);
  assert.match(row('ACK seq=102 ack=2 len=0 win=64240'), /─> CLOSED$/);
  // A state is not repeated on rows where it did not change.
  assert.match(row('PSH+ACK seq=1 ack=1 len=100 win=64240'), /^ +─/);
  assert.match(row('PSH+ACK seq=1 ack=1 len=100 win=64240'), /─>$/);
  // The left column reads as the client's life, in order.
  const leftStates = lines.map((l) => /^([A-Z][A-Z0-9-]+)/.exec(l)?.[1]).filter((s) => s !== undefined);
  assert.deepEqual(leftStates, ['CLOSED', 'SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSED']);
  // The right column starts where the SYN's arrow ends (the header's server name ends at the right edge).
  const col = row('SYN seq=0 len=0 win=64240').indexOf('> SYN-RECEIVED') + 2;
  assert.ok(lines[1]!.endsWith('server 10.0.0.2:80') && lines[1]!.length === 80, lines[1]);
  const rightStates = lines.slice(2).map((l) => /^([A-Z][A-Z-]+)$/.exec(l.slice(col))?.[1]).filter((s) => s !== undefined);
  assert.deepEqual(rightStates, ['CLOSED', 'LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
});

test('timer and user-call state changes are interleaved by time with their cause', () => {
  const lines = renderLadderText(handshakeAndClose()).split('\n');
  const idx = (s: string) => lines.findIndex((l) => l.includes(s));
  assert.ok(idx('connect(): CLOSED → SYN-SENT') < idx(' SYN seq=0 '));
  assert.ok(idx('listen(): CLOSED → LISTEN') < idx(' SYN seq=0 '));
  assert.ok(idx('close(): ESTABLISHED → FIN-WAIT-1') > idx('ACK seq=1 ack=101'));
  assert.ok(idx('close(): ESTABLISHED → FIN-WAIT-1') < idx('FIN+ACK seq=101'));
  assert.ok(idx('close(): CLOSE-WAIT → LAST-ACK') < idx('FIN+ACK seq=1 ack=102'));
  const last = lines.filter((l) => l.trim() !== '').at(-1)!;
  assert.match(last, /^60021 {2}CLOSED +· 2MSL timer: TIME-WAIT → CLOSED$/);
});

test('header names both endpoints with address, port and label; title first', () => {
  const lines = renderLadderText(handshakeAndClose()).split('\n');
  assert.equal(lines[0], 'handshake + four-way close');
  assert.match(lines[1]!, /client 10\.0\.0\.1:40000 +server 10\.0\.0\.2:80$/);
  const v6 = renderLadderText(lossyHandshake()).split('\n');
  assert.match(v6[0]!, /client \[fd00::1\]:40000 +server \[fd00::2\]:80$/);
});

test('absolute numbers on request; relative numbering survives sequence wraparound', () => {
  const rel = arrowLines(renderLadderText(lossyHandshake()));
  // ISN 0xfffffff0: the ACK's seq 0xfffffff1 is relative 1, and the server's ack of it is 1 too.
  assert.ok(rel[2]!.includes('SYN+ACK seq=0 ack=1 '));
  assert.ok(rel[3]!.includes('ACK seq=1 ack=1 '));
  // Absolute numbers make labels too long for an 80-column arrow: those are written on the line above theirs.
  const abs = renderLadderText(lossyHandshake(), { absolute: true }).split('\n');
  assert.ok(abs.some((l) => l.includes(' SYN seq=4294967280 len=0')));
  const synAck = abs.findIndex((l) => l.trim() === 'SYN+ACK seq=7 ack=4294967281 len=0 win=65535');
  assert.ok(synAck > 0 && /^ *1001\.000  ESTABLISHED  <─+$/.test(abs[synAck + 1]!), abs.join('\n'));
  // A trace that states the ISNs uses them (here identical to the first SYNs).
  const withIsn = handshakeAndClose();
  withIsn.a.isn = 999;
  assert.ok(arrowLines(renderLadderText(withIsn))[0]!.includes('SYN seq=1 len=0'));
});

test('a lost segment is an arrow that stops short with X; receiver state unchanged', () => {
  const text = renderLadderText(lossyHandshake(), { showTime: false, width: 90 });
  const lines = arrowLines(text);
  const full = lines[1]!; // the retransmitted SYN, delivered
  const lostSyn = lines[0]!;
  assert.match(lostSyn, /^SYN-SENT +─+ SYN seq=0 len=0 win=64240 ─+X +LISTEN$/);
  assert.ok(!lostSyn.includes('>'));
  // It ends well before the receiver's timeline, where the delivered arrow's head is.
  assert.ok(lostSyn.indexOf('X') < full.indexOf('>') - 5, `${lostSyn}\n${full}`);
  // b → a lost: the X is at the left end, short of a's timeline.
  const lostRst = lines[4]!;
  assert.match(lostRst, /^ {13,} +X─+ RST seq=1 len=0 win=65535 ─+ CLOSED$/);
  assert.ok(!lostRst.includes('<'));
  assert.ok(lostRst.indexOf('X') > full.indexOf('─') + 5);
  // The retransmitted SYN is marked once (the trace's own note says so too), on the line above its arrow.
  const all = text.split('\n');
  assert.equal(all[all.indexOf(full) - 1]!.trim(), '[retransmission]');
});

test('colour only when asked: ANSI escapes around states and arrows, same text underneath', () => {
  const plain = renderLadderText(handshakeAndClose());
  const coloured = renderLadderText(handshakeAndClose(), { color: true });
  assert.ok(ANSI_RE.test(coloured));
  assert.equal(coloured.replace(/\x1b\[[0-9;]*m/g, ''), plain);
  assert.ok(coloured.includes('\x1b[31m') === false, 'no red: nothing lost or reset in this trace');
  const lossy = renderLadderText(lossyHandshake(), { color: true });
  assert.ok(lossy.includes('\x1b[31m'), 'lost arrows in red');
});

test('width: 80 columns by default, arrows fill the requested width, a label that does not fit goes above its arrow', () => {
  const w120 = renderLadderText(handshakeAndClose(), { width: 120 }).split('\n');
  const w80 = renderLadderText(handshakeAndClose()).split('\n');
  const synRow = (ls: string[]) => ls.find((l) => l.includes(' SYN seq=0 '))!;
  assert.equal(synRow(w120).length - synRow(w80).length, 40);
  for (const l of w80) assert.ok([...l].length <= 80, `${[...l].length}: ${l}`);
  assert.match(w80[1]!, /^ {3}ms {2}client /, 'the time column says its unit');
  // Width 20 cannot hold the labels on the arrows: each is whole, on the line above its arrow.
  const tiny = renderLadderText(handshakeAndClose(), { width: 20 }).split('\n');
  const i = tiny.findIndex((l) => l.trim() === 'PSH+ACK seq=1 ack=1 len=100 win=64240');
  assert.match(tiny[i + 1]!, /^ +3 {15}─+>$/);
});

test('an empty trace renders just the header', () => {
  const t = renderLadderText({ a: { addr: '1.2.3.4', port: 1, label: 'a' }, b: { addr: '5.6.7.8', port: 2, label: 'b' }, entries: [] });
  assert.equal(t.trim().split('\n').length, 1);
  assert.match(t, /a 1\.2\.3\.4:1 +b 5\.6\.7\.8:2/);
});

test('a nonsensical width falls back to the default instead of garbling the arrows', () => {
  assert.equal(renderLadderText(handshakeAndClose(), { width: NaN }), renderLadderText(handshakeAndClose()));
  assert.equal(renderLadderText(handshakeAndClose(), { width: Infinity }), renderLadderText(handshakeAndClose()));
});
