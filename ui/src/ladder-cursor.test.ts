// Trace → ladder layout and the cursor's state highlighting (what the page draws and lights).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCustomScenario, runSeedScenario, DEFAULT_SPEC, BROWSER_SCENARIOS } from './lab-run.js';
import { buildTimeline, initialStates, moveCursor, stateAt, statePath } from './timeline.js';
import { layoutLadder, renderLadderGeometry, type LaidSegment } from './ladder-layout.js';
import { renderStateDiagram, edgeFor, nodeFor, EDGES, NODES } from './state-diagram.js';
import { buildLadder } from '../../src/view/ladder-model.js';
import type { Trace } from '../../src/wire/trace.js';

const hdr = { a: ['client', '10.0.0.1:1'] as [string, string], b: ['server', '10.0.0.2:80'] as [string, string] };

test('four-way close: cursor states step by step, lit states going back and forth', async () => {
  const r = await runSeedScenario('four-way-close', { seed: 1, timestamps: true, sack: true, windowScaling: true });
  const t = buildTimeline(r.trace, { receiverOnly: true });
  assert.deepEqual([t.initial.a, t.initial.b], ['CLOSED', 'LISTEN']);
  const seq = t.steps.map((s) => `${s.a}/${s.b}`);
  assert.deepEqual(seq, [
    'SYN-SENT/LISTEN', // connect()
    'SYN-SENT/SYN-RECEIVED', // SYN arrives
    'ESTABLISHED/SYN-RECEIVED', // SYN+ACK arrives
    'ESTABLISHED/ESTABLISHED', // ACK arrives
    'FIN-WAIT-1/ESTABLISHED', // shutdown()
    'FIN-WAIT-1/CLOSE-WAIT', // FIN arrives
    'FIN-WAIT-2/CLOSE-WAIT', // its ACK arrives
    'FIN-WAIT-2/LAST-ACK', // server shutdown()
    'TIME-WAIT/LAST-ACK', // server FIN arrives
    'TIME-WAIT/CLOSED', // last ACK arrives
    'CLOSED/CLOSED', // 2MSL
  ]);
  const last = t.steps.length - 1;
  assert.equal(stateAt(t, last).lastA!.cause, 'time-wait timer');
  assert.deepEqual([stateAt(t, last).lastA!.from, stateAt(t, last).lastA!.to], ['TIME-WAIT', 'CLOSED']);
  // One step back: TIME-WAIT lit again, its transition was the FIN's arrival.
  const back = moveCursor(t, last, -1);
  assert.equal(stateAt(t, back).a, 'TIME-WAIT');
  assert.equal(stateAt(t, back).lastA!.cause, 'rcv FIN+ACK');
  assert.equal(stateAt(t, back).lastB!.to, 'CLOSED');
  assert.equal(moveCursor(t, last, 5), last, 'clamped at the end');
  assert.equal(moveCursor(t, 0, -5), -1, 'clamped before the first row');
  assert.equal(stateAt(t, -1), t.initial);
});

test('ladder layout: one arrow per segment, arrows slant down toward the receiver, states at arrival', async () => {
  const r = await runSeedScenario('handshake', { seed: 2, timestamps: true, sack: true, windowScaling: true });
  const model = buildLadder(r.trace);
  const g = layoutLadder(model, { width: 900 });
  const segs = g.rows.filter((x): x is LaidSegment => x.kind === 'segment');
  assert.equal(segs.length, r.trace.entries.length);
  for (const s of segs) {
    assert.equal(s.x1, s.from === 'a' ? g.xA : g.xB);
    assert.equal(s.x2, s.from === 'a' ? g.xB : g.xA, 'delivered arrows reach the other timeline');
    assert.ok(s.y2 > s.y1, 'arrows go down in time');
  }
  // The SYN's receiver state (server SYN-RECEIVED) is written where the SYN arrives.
  const syn = segs[0]!;
  assert.equal(syn.stateB!.text, 'SYN-RECEIVED');
  assert.equal(syn.stateB!.y, syn.arriveY);
  const svg = renderLadderGeometry(g, hdr);
  assert.equal((svg.match(/<g class="row seg/g) ?? []).length, segs.length);
  assert.match(svg, />SYN\+ACK seq=0 ack=1 len=0 win=65535</);
});

test('lost segments: arrows stop short with a cross and no arrowhead', () => {
  const r = runCustomScenario({ ...DEFAULT_SPEC, seed: 5, clientBytes: 30_000, c2s: { loss: 0.25, delayMs: 10, reorder: 0 } });
  const g = layoutLadder(buildLadder(r.trace), { width: 1000 });
  const lost = g.rows.filter((x): x is LaidSegment => x.kind === 'segment' && x.lost);
  assert.ok(lost.length > 0);
  for (const s of lost) {
    assert.ok(s.x2 > g.xA && s.x2 < g.xB, 'stops between the timelines');
    assert.equal(s.tone, 'lost');
  }
  const svg = renderLadderGeometry(g, hdr);
  const lostGroups = svg.match(/<g class="row seg tone-lost lost"[^]*?<\/g>/g) ?? [];
  assert.equal(lostGroups.length, lost.length);
  for (const grp of lostGroups) {
    assert.ok(grp.includes('×'));
    assert.ok(!grp.includes('marker-end'));
  }
});

test('ladder layout: labels are escaped and huge traces are capped', () => {
  const base = runCustomScenario({ ...DEFAULT_SPEC });
  const trace: Trace = { ...base.trace, entries: base.trace.entries.map((e) => ({ ...e, note: '<b>&"' })) };
  const svg = renderLadderGeometry(layoutLadder(buildLadder(trace)), hdr);
  assert.ok(svg.includes('[&lt;b&gt;&amp;&quot;]'));
  assert.ok(!svg.includes('<b>'));
  const g = layoutLadder(buildLadder(base.trace), { maxRows: 3 });
  assert.equal(g.rows.length, 3);
});

test('initial states are inferred from the opening when the trace does not say them', async () => {
  const r = await runSeedScenario('simultaneous-open', { seed: 1, timestamps: true, sack: true, windowScaling: true });
  const t = buildTimeline(r.trace, { receiverOnly: true });
  // Simultaneous open: both active opens start CLOSED and cross SYN-SENT → SYN-RECEIVED → ESTABLISHED.
  assert.deepEqual([t.initial.a, t.initial.b], ['CLOSED', 'CLOSED']);
  for (const side of ['a', 'b'] as const) assert.deepEqual(statePath(t, side), ['CLOSED', 'SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED']);
  // Captured connection: no changes, first SYN from a answered into SYN-RECEIVED → a CLOSED, b LISTEN.
  const hs = await runSeedScenario('handshake', { seed: 1, timestamps: true, sack: true, windowScaling: true });
  const captured: Trace = { ...hs.trace, changes: [] };
  assert.deepEqual(initialStates(captured, buildLadder(captured)), { a: 'CLOSED', b: 'LISTEN' });
  const refused = await runSeedScenario('refused', { seed: 1, timestamps: true, sack: true, windowScaling: true });
  const rc: Trace = { ...refused.trace, changes: [] };
  assert.deepEqual(initialStates(rc, buildLadder(rc)), { a: 'CLOSED', b: 'CLOSED' });
});

test('state diagram: the current state is lit, the last transition highlighted on its Figure 5 arc', () => {
  const svg = renderStateDiagram({ state: 'FIN-WAIT-2', hasBeenOpen: true, last: { from: 'FIN-WAIT-1', to: 'FIN-WAIT-2', cause: 'rcv ACK', row: 4 }, title: 'client' });
  assert.equal((svg.match(/class="node lit"/g) ?? []).length, 1);
  assert.match(svg, /<g class="node lit" data-state="FIN-WAIT-2"/);
  assert.match(svg, /<g class="edge taken" data-from="FIN-WAIT-1" data-to="FIN-WAIT-2"/);
  assert.match(svg, /<g class="node prev" data-state="FIN-WAIT-1"/);
  assert.equal((svg.match(/class="edge taken/g) ?? []).length, 1);
});

test('state diagram: CLOSED is the top box before the connection opened and the bottom box after', () => {
  assert.equal(nodeFor('CLOSED', false), 'CLOSED');
  assert.equal(nodeFor('CLOSED', true), 'CLOSED-END');
  const start = renderStateDiagram({ state: 'CLOSED', hasBeenOpen: false, last: undefined, title: 'c' });
  assert.match(start, /<g class="node lit" data-state="CLOSED" data-node="CLOSED">/);
  const end = renderStateDiagram({ state: 'CLOSED', hasBeenOpen: true, last: { from: 'TIME-WAIT', to: 'CLOSED', cause: 'time-wait timer', row: 9 }, title: 'c' });
  assert.match(end, /<g class="node lit" data-state="CLOSED" data-node="CLOSED-END">/);
  assert.match(end, /<g class="edge taken" data-from="TIME-WAIT" data-to="CLOSED-END"/);
});

test('state diagram: transitions Figure 5 does not draw are shown dashed, never dropped', () => {
  const svg = renderStateDiagram({ state: 'CLOSED', hasBeenOpen: true, last: { from: 'ESTABLISHED', to: 'CLOSED', cause: 'rcv RST', row: 5 }, title: 's' });
  assert.match(svg, /<g class="edge taken off-figure" data-from="ESTABLISHED" data-to="CLOSED-END"/);
  assert.match(svg, /rcv RST \(not in Figure 5\)/);
  assert.equal(edgeFor({ from: 'ESTABLISHED', to: 'CLOSED' }), null);
});

test('every transition the seed scenarios take is on the diagram (an arc of Figure 5 or a dashed one)', async () => {
  const names = ['handshake', 'four-way-close', 'three-way-close', 'simultaneous-open', 'simultaneous-close', 'half-close', 'rst-abort', 'refused'];
  const offFigure = new Set<string>();
  for (const name of names) {
    const r = await runSeedScenario(name, { seed: 1, timestamps: true, sack: true, windowScaling: true });
    const t = buildTimeline(r.trace, { receiverOnly: true });
    for (const s of t.steps) {
      for (const tr of [s.lastA, s.lastB]) {
        if (!tr) continue;
        if (!edgeFor(tr)) offFigure.add(`${tr.from}>${tr.to}`);
        const svg = renderStateDiagram({ state: tr.to, hasBeenOpen: true, last: tr, title: name });
        assert.equal((svg.match(/class="edge taken/g) ?? []).length, 1, `${name}: ${tr.from} → ${tr.to} highlighted`);
      }
    }
  }
  // Only the RFC's own exceptions: resets/aborts to CLOSED and the merged FIN+ACK straight into TIME-WAIT.
  for (const k of offFigure) assert.match(k, />CLOSED$|^FIN-WAIT-1>TIME-WAIT$/, k);
  assert.equal(NODES.length, 12);
  assert.equal(EDGES.length, 20);
});

test('the cursor walks each side through exactly the states the engine reported, for every seed scenario', async () => {
  for (const s of BROWSER_SCENARIOS) {
    const r = await runSeedScenario(s.name, { seed: 1, timestamps: true, sack: true, windowScaling: true });
    const t = buildTimeline(r.trace, { receiverOnly: true });
    const dedup = (xs: string[]) => xs.filter((x, i) => i === 0 || xs[i - 1] !== x);
    assert.deepEqual(statePath(t, 'a'), dedup(['CLOSED', ...r.clientStates]), `${s.name}: client`);
    if (r.serverStates.length) assert.deepEqual(statePath(t, 'b'), dedup([t.initial.b ?? 'CLOSED', ...r.serverStates]), `${s.name}: server`);
  }
});

test('built scenarios too: the cursor\'s states are the engine\'s, losses and injections included', () => {
  const specs = [
    { closer: 'server' as const }, { closer: 'both' as const }, { closer: 'client-abort' as const }, { closer: 'server-abort' as const },
    { clientBytes: 30_000, serverBytes: 20_000, c2s: { loss: 0.2, delayMs: 10, reorder: 0.2 }, s2c: { loss: 0.2, delayMs: 15, reorder: 0 } },
    { invalid: ['syn-fin', 'fin-rst', 'xmas'], closer: 'client' as const, peerCloseDelayMs: 0 },
    { synFlood: 100, backlog: 4 },
  ];
  const dedup = (xs: string[]) => xs.filter((x, i) => i === 0 || xs[i - 1] !== x);
  for (const o of specs) {
    const r = runCustomScenario({ ...DEFAULT_SPEC, seed: 3, ...o });
    const t = buildTimeline(r.trace, { receiverOnly: true });
    assert.deepEqual(statePath(t, 'a'), dedup(['CLOSED', ...r.clientStates]), JSON.stringify(o));
    assert.deepEqual(statePath(t, 'b'), dedup(r.serverStates), JSON.stringify(o));
  }
});
