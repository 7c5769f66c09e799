// Issue 18: the page's ladder geometry and state diagrams say exactly what happened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeedScenario } from './lab-run.js';
import { buildTimeline, stateAt } from './timeline.js';
import { layoutLadder, renderLadderGeometry, type LaidSegment } from './ladder-layout.js';
import { renderStateDiagram, DIAGRAM_HEIGHT } from './state-diagram.js';
import { buildLadder } from '../../src/view/ladder-model.js';

const opts = { seed: 1, timestamps: true, sack: true, windowScaling: true };
const hdr = { a: ['client', '10.0.0.1:1'] as [string, string], b: ['server', '10.0.0.2:80'] as [string, string] };

test('state diagram: the "last:" line is below every other text (it overlapped "timeout = 2MSL")', () => {
  const svg = renderStateDiagram({ state: 'CLOSED', hasBeenOpen: true, last: { from: 'TIME-WAIT', to: 'CLOSED', cause: 'time-wait timer', row: 3 }, title: 'client' });
  const ys = [...svg.matchAll(/<text[^>]*? y="([\d.]+)"[^>]*>([^<]*)</g)].map((m) => ({ y: Number(m[1]), text: m[2]! }));
  const last = ys.find((t) => t.text.startsWith('last:'))!;
  const others = ys.filter((t) => t !== last);
  assert.ok(others.some((t) => t.text === 'timeout = 2MSL'));
  for (const t of others) assert.ok(last.y - t.y >= 12, `"${t.text}" at y=${t.y} is within 12 px of the last line at ${last.y}`);
  assert.ok(last.y <= DIAGRAM_HEIGHT - 4);
});

test('refused: the client\'s SYN-SENT → CLOSED on a received RST+ACK does not light the user CLOSE arc', async () => {
  const r = await runSeedScenario('refused', opts);
  const t = buildTimeline(r.trace, { receiverOnly: true });
  const st = stateAt(t, t.steps.length - 1);
  assert.equal(st.a, 'CLOSED');
  assert.match(st.lastA!.cause, /^rcv RST\+ACK$/);
  const svg = renderStateDiagram({ state: st.a, hasBeenOpen: true, last: st.lastA, title: 'client' });
  assert.ok(!/<g class="edge taken" data-from="SYN-SENT"[^>]*><path[^>]*\/><text[^>]*>CLOSE</.test(svg), 'the CLOSE arc is not lit');
  assert.match(svg, /class="edge taken off-figure" data-from="SYN-SENT"/);
  assert.match(svg, /rcv RST\+ACK \(not in Figure 5\)/);
  // A user close in SYN-SENT still takes the figure's CLOSE arc.
  const user = renderStateDiagram({ state: 'CLOSED', hasBeenOpen: true, last: { from: 'SYN-SENT', to: 'CLOSED', cause: 'close()', row: 1 }, title: 'client' });
  assert.match(user, /<g class="edge taken" data-from="SYN-SENT" data-to="CLOSED/);
});

test('crossing arrows: simultaneous open\'s SYNs and simultaneous close\'s FINs leave together and cross', async () => {
  for (const name of ['simultaneous-open', 'simultaneous-close']) {
    const r = await runSeedScenario(name, opts);
    const g = layoutLadder(buildTimeline(r.trace, { receiverOnly: true }).model, { width: 700 });
    const segs = g.rows.filter((x): x is LaidSegment => x.kind === 'segment');
    const later = segs.filter((s) => s.crosses !== undefined);
    assert.ok(later.length >= 1, name);
    for (const s of later) {
      const e = segs.find((x) => x.index === s.crosses)!;
      // Both leave at the same height; at the far timelines their order is swapped, so the lines cross.
      assert.equal(s.y1, e.y1, `${name}: row ${s.index} leaves with row ${e.index}`);
      assert.ok(s.y2 > e.y1 && e.y2 > s.y1, `${name}: the arrows cross`);
      assert.notEqual(s.from, e.from);
    }
    assert.match(renderLadderGeometry(g, hdr), /class="row seg [^"]*crossing/);
  }
});

test('syn flood: the spoofed SYNs leave from a lane of their own, not from the client\'s timeline', async () => {
  const r = await runSeedScenario('syn-flood', opts);
  const g = layoutLadder(buildLadder(r.trace), { width: 700 });
  const segs = g.rows.filter((x): x is LaidSegment => x.kind === 'segment');
  const flood = segs.filter((s) => s.third);
  assert.equal(flood.length, 1);
  assert.ok(flood[0]!.x1 > g.xA + 20 && flood[0]!.x1 < g.xB, 'off the client timeline');
  assert.equal(segs.filter((s) => s.from === 'a' && !s.third && s.x1 !== g.xA).length, 0);
  const svg = renderLadderGeometry(g, hdr);
  assert.match(svg, /data-from="x"/);
  assert.match(svg, />SYN seq=0 len=0 win=\d+</, 'the client\'s own SYN is relative 0');
});

test('marks on the page: retransmissions and duplicate ACKs in the lossy transfer, invalid flags in invalid-flags', async () => {
  const lossy = layoutLadder(buildLadder((await runSeedScenario('lossy-transfer', opts)).trace), { width: 900 });
  const marks = lossy.rows.flatMap((x) => (x.kind === 'segment' ? x.marks : []));
  assert.ok(marks.includes('retransmission'));
  assert.ok(marks.some((m) => /^dup ACK #\d+$/.test(m)));
  const inv = renderLadderGeometry(layoutLadder(buildLadder((await runSeedScenario('invalid-flags', opts)).trace), { width: 900 }), hdr);
  assert.equal((inv.match(/data-marks="invalid flags"/g) ?? []).length, 6);
});

test('at a narrow width (the 1024-px page leaves ~500 px) the ladder fits: state labels and arrow labels stay inside', async () => {
  const r = await runSeedScenario('lossy-transfer', opts);
  const g = layoutLadder(buildLadder(r.trace), { width: 500 });
  assert.ok(g.width <= 500, `ladder ${g.width} px wide in 500`);
  // "ESTABLISHED"/"SYN-RECEIVED" right of the server's timeline fit in what is left.
  assert.ok(g.width - g.xB >= 12 * 6.4 + 6);
  for (const s of g.rows) {
    if (s.kind !== 'segment') continue;
    const len = s.labelLength ?? s.label.length * 6.6;
    assert.ok(len <= Math.hypot(s.x2 - s.x1, s.y2 - s.y1), `label of row ${s.index} longer than its arrow`);
  }
  const wide = layoutLadder(buildLadder(r.trace), { width: 1200 });
  assert.ok(wide.rows.some((s) => s.kind === 'segment' && / \(\d+×2\^\d+\)$/.test(s.label)), 'a wide ladder shows the raw window and shift too');
});

test('a loopback capture\'s partial checksums read "checksum offloaded", a really corrupted one stays bad', async () => {
  const { encodeTcpPacket, encodeTcpPacketChecksumOffload } = await import('../../src/wire/packet.js');
  const { partialChecksum, explainOffload } = await import('./checksum-offload.js');
  const { makeSegment, SYN, ACK } = await import('../../src/wire/tcp-types.js');
  const { parseAddress } = await import('../../src/wire/address.js');
  const ip = { src: parseAddress('127.0.0.1'), dst: parseAddress('127.0.0.1') };
  const seg = makeSegment({ srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: SYN, window: 65495, payload: new Uint8Array(0) });
  const partial = encodeTcpPacketChecksumOffload(ip, seg);
  const full = encodeTcpPacket(ip, seg);
  const corrupt = full.slice();
  corrupt[corrupt.length - 19]! ^= 0x40; // a bit of the TCP header (window) flipped after the checksum
  assert.equal(partialChecksum(partial), true);
  assert.equal(partialChecksum(full), false);
  assert.equal(partialChecksum(corrupt), false);
  const data = makeSegment({ srcPort: 40000, dstPort: 80, seq: 2, ack: 1, flags: ACK, window: 512, payload: new Uint8Array([1, 2, 3]) });
  const v6 = { src: parseAddress('::1'), dst: parseAddress('::1') };
  assert.equal(partialChecksum(encodeTcpPacketChecksumOffload(v6, data)), true);
  const trace = {
    a: { addr: '127.0.0.1', port: 40000, label: 'client' }, b: { addr: '127.0.0.1', port: 80, label: 'server' },
    entries: [{ time: 0, from: 'a' as const, seg, note: 'bad checksum' }, { time: 1, from: 'a' as const, seg, note: 'bad checksum' }],
  };
  const out = explainOffload(trace, [partial, corrupt]);
  assert.deepEqual(out.entries.map((e) => e.note), ['checksum offloaded', 'bad checksum']);
});
