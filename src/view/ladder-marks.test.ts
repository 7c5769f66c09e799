// Issue 18: what a ladder row says must be exactly true: scaled windows, crossing segments, retransmissions,
// duplicate ACKs, invalid flags, and a third party's segments on their own lane.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLadder, type SegmentRow } from './ladder-model.js';
import { renderLadderText } from './ladder-text.js';
import { runScenario } from '../link/scenarios.js';
import type { Trace, TraceEntry } from '../wire/trace.js';
import { ACK, FIN, PSH, SYN, URG, makeSegment } from '../wire/tcp-types.js';

const segs = (t: Trace) => buildLadder(t).rows.filter((r): r is SegmentRow => r.kind === 'segment');

function entry(time: number, from: 'a' | 'b', flags: number, seq: number, ack: number, o: { len?: number; win?: number; wscale?: number; lost?: boolean } = {}): TraceEntry {
  return {
    time, from, lost: o.lost,
    seg: makeSegment({ srcPort: from === 'a' ? 40000 : 80, dstPort: from === 'a' ? 80 : 40000, seq, ack, flags, window: o.win ?? 64, payload: new Uint8Array(o.len ?? 0), options: o.wscale !== undefined ? { wscale: o.wscale } : {} }),
  };
}
const trace = (entries: TraceEntry[]): Trace => ({ a: { addr: '10.0.0.1', port: 40000, label: 'client' }, b: { addr: '10.0.0.2', port: 80, label: 'server' }, entries });

test('window scale: after both SYNs carried the option, windows are shown scaled by their sender\'s shift (never on SYNs)', () => {
  const rows = segs(trace([
    entry(0, 'a', SYN, 100, 0, { win: 64240, wscale: 10 }),
    entry(1, 'b', SYN | ACK, 500, 101, { win: 65535, wscale: 7 }),
    entry(2, 'a', ACK, 101, 501, { win: 64 }),
    entry(3, 'b', ACK, 501, 101, { win: 512 }),
  ]));
  assert.match(rows[0]!.label, / win=64240$/);
  assert.match(rows[1]!.label, / win=65535$/);
  assert.equal(rows[2]!.label, 'ACK seq=1 ack=1 len=0 win=65536 (64×2^10)');
  assert.equal(rows[2]!.winScaled, 65536);
  assert.equal(rows[3]!.label, 'ACK seq=1 ack=1 len=0 win=65536 (512×2^7)');
  assert.equal(rows[3]!.shortLabel, 'ACK seq=1 ack=1 len=0 win=65536');
  // One SYN without the option: no scaling either way (RFC 7323 §2.2), the raw field is the window.
  const plain = segs(trace([entry(0, 'a', SYN, 100, 0, { wscale: 10 }), entry(1, 'b', SYN | ACK, 500, 101), entry(2, 'a', ACK, 101, 501, { win: 64 })]));
  assert.equal(plain[2]!.label, 'ACK seq=1 ack=1 len=0 win=64');
});

test('simultaneous open and close: the SYNs cross, the FINs cross, as in RFC 9293 Figures 8 and 13', async () => {
  const all = buildLadder((await runScenario('simultaneous-open', { seed: 1 })).trace).rows;
  const open = all.filter((r): r is SegmentRow => r.kind === 'segment');
  assert.equal(all[open[1]!.crosses!], open[0], 'the second SYN crosses the first');
  assert.equal(all[open[0]!.crossedBy!], open[1]);
  assert.ok(open[1]!.marks.some((m) => m.kind === 'crossing'));
  const close = buildLadder((await runScenario('simultaneous-close', { seed: 1 })).trace);
  const rows = close.rows;
  const fins = rows.map((r, i) => [r, i] as const).filter(([r]) => r.kind === 'segment' && r.flags.includes('FIN'));
  assert.equal(fins.length, 2);
  const [[, i1], [second]] = fins;
  assert.equal((second as SegmentRow).crosses, i1);
  // A plain handshake has nothing crossing.
  assert.ok(segs((await runScenario('handshake', { seed: 1 })).trace).every((r) => r.crosses === undefined && r.crossedBy === undefined));
});

test('a FIN sent before the other side\'s FIN arrived crosses it even a little later; one that acknowledges it does not', () => {
  const base = [entry(0, 'a', SYN, 100, 0), entry(1, 'b', SYN | ACK, 500, 101), entry(2, 'a', ACK, 101, 501)];
  const crossed = segs(trace([...base, entry(10, 'a', FIN | ACK, 101, 501), entry(10.4, 'b', FIN | ACK, 501, 101)]));
  assert.equal(crossed[4]!.crosses, 3, 'no change rows here: row indexes are segment indexes');
  const answered = segs(trace([...base, entry(10, 'a', FIN | ACK, 101, 501), entry(25, 'b', FIN | ACK, 501, 102)]));
  assert.equal(answered[4]!.crosses, undefined);
});

test('retransmissions, duplicate ACKs and invalid flags are marked', async () => {
  const rows = segs(trace([
    entry(0, 'a', SYN, 100, 0), entry(1, 'b', SYN | ACK, 500, 101), entry(2, 'a', ACK, 101, 501),
    entry(3, 'a', PSH | ACK, 101, 501, { len: 100 }), entry(4, 'a', PSH | ACK, 201, 501, { len: 100 }), entry(5, 'a', PSH | ACK, 301, 501, { len: 100 }),
    entry(6, 'b', ACK, 501, 201), entry(7, 'b', ACK, 501, 201), entry(8, 'b', ACK, 501, 201),
    entry(9, 'a', PSH | ACK, 201, 501, { len: 100 }),
    entry(10, 'a', FIN | PSH | URG, 401, 0),
  ]));
  const marks = rows.map((r) => r.marks.map((m) => m.text).join(','));
  assert.deepEqual(marks, ['', '', '', '', '', '', '', 'dup ACK #1', 'dup ACK #2', 'retransmission', 'invalid flags']);
  // The lossy transfer scenario: every retransmitted segment is marked, and only those.
  const lossy = segs((await runScenario('lossy-transfer', { seed: 1 })).trace);
  const re = lossy.filter((r) => r.marks.some((m) => m.kind === 'retransmission'));
  assert.ok(re.length > 0);
  // An earlier segment from the same side covered its first sequence number (a FIN resent alone first rode on data).
  const covers = (x: SegmentRow, seq: number): boolean => {
    const s = x.entry.seg, end = s.seq + s.payload.length + ((s.flags & FIN) ? 1 : 0);
    return ((seq - s.seq) | 0) >= 0 && ((end - seq) | 0) > 0;
  };
  for (const r of re) {
    const earlier = lossy.filter((x) => x.from === r.from && x.time < r.time && (x.entry.seg.seq === r.entry.seg.seq || covers(x, r.entry.seg.seq)));
    assert.ok(earlier.length > 0, `${r.label} at ${r.time} repeats an earlier segment`);
  }
  const text = renderLadderText((await runScenario('invalid-flags', { seed: 1 })).trace);
  assert.equal(text.split('\n').filter((l) => l.includes('invalid flags')).length, 6, text);
});

test('syn flood: the spoofed SYNs are one row on a third lane, not the client\'s, and the client\'s own SYN is seq=0', async () => {
  const r = await runScenario('syn-flood', { seed: 1 });
  const rows = segs(r.trace);
  const third = rows.filter((x) => x.third);
  assert.equal(third.length, 1);
  assert.equal(third[0]!.third!.count, 300);
  assert.match(third[0]!.third!.addr, /^198\.1[89]\./);
  const clientSyn = rows.find((x) => !x.third && x.from === 'a' && x.flags === 'SYN')!;
  assert.equal(clientSyn.seq, 0);
  assert.match(clientSyn.label, /^SYN seq=0 /);
  const text = renderLadderText(r.trace);
  assert.match(text, /\(3rd party\) +┄+ 300× SYN from 198\.1[89]\.\d+\.\d+, … ┄+> LISTEN/);
});

test('every line of every demo ladder fits 80 columns', async () => {
  for (const name of ['handshake', 'four-way-close', 'simultaneous-close', 'lossy-transfer', 'syn-flood', 'invalid-flags']) {
    const text = renderLadderText((await runScenario(name, { seed: 1 })).trace);
    for (const l of text.split('\n')) assert.ok([...l].length <= 80, `${name}: ${[...l].length}: ${l}`);
  }
  void FIN;
  void ACK;
});

test('a new incarnation of the four-tuple restarts relative numbering and the window scale; an older segment reads negative', async () => {
  const r = await runScenario('why-three-way', { seed: 1 });
  const rows = segs(r.trace);
  const syns = rows.filter((x) => x.flags === 'SYN');
  assert.deepEqual(syns.map((x) => x.seq), [0, 0], 'the old SYN and the real one are each seq=0 of their own incarnation');
  const lastAck = rows[rows.length - 1]!;
  assert.equal(lastAck.flags, 'ACK');
  assert.ok(lastAck.winScaled !== undefined, 'the real handshake negotiated window scaling (the old SYN did not)');
  const cut = segs((await runScenario('why-2msl', { seed: 1 })).trace);
  const copy = cut.find((x) => x.note?.startsWith('a copy from the first connection'))!;
  assert.ok(copy.seq < 0, `the old copy sits before the new ISN: seq=${copy.seq}`);
  assert.ok(!copy.marks.some((m) => m.kind === 'retransmission'), 'not a retransmission of the new connection');
  // Nor does it make the new connection's own first data look retransmitted.
  const after = cut.slice(cut.indexOf(copy) + 1).filter((x) => x.from === 'a' && x.len > 0);
  assert.ok(after.length > 0 && after.every((x) => x.marks.length === 0), after.map((x) => `${x.label} ${x.marks.map((m) => m.text)}`).join('\n'));
});

test('the exported SVG tells the same: crossing FINs leave together, the flood has its lane, marks are written', async () => {
  const { renderLadderSvg } = await import('./ladder-svg.js');
  const close = renderLadderSvg((await runScenario('simultaneous-close', { seed: 1 })).trace);
  const fins = [...close.matchAll(/<line class="seg seg-([ab])[^"]*" x1="[\d.]+" y1="([\d.]+)"[^>]*stroke="#0b5cad"/g)].map((m) => [m[1], Number(m[2])] as const);
  assert.equal(fins.length, 2);
  assert.notEqual(fins[0]![0], fins[1]![0]);
  assert.equal(fins[0]![1], fins[1]![1], 'both FINs leave at the same height');
  assert.match(close, /class="seg seg-[ab] crossing"/);
  const flood = renderLadderSvg((await runScenario('syn-flood', { seed: 1 })).trace);
  assert.equal((flood.match(/class="seg seg-x"/g) ?? []).length, 1);
  assert.match(flood, /class="lane"[^>]*>third parties</);
  const lossy = renderLadderSvg((await runScenario('lossy-transfer', { seed: 1 })).trace);
  assert.match(lossy, /class="marks"[^>]*>[^<]*retransmission/);
  assert.match(lossy, /class="marks"[^>]*>[^<]*dup ACK #\d/);
});
