// The page's scenario lab, run in Node: seed scenarios and scenarios built in the form, on real synack stacks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCustomScenario, runSeedScenario, validateSpec, DEFAULT_SPEC, LabSpecError, BROWSER_SCENARIOS, type LabSpec } from './lab-run.js';
import { buildTimeline, statePath } from './timeline.js';
import { decodePacket } from '../../src/wire/packet.js';
import { flagsToString, RST, FIN } from '../../src/wire/tcp-types.js';

const spec = (o: Partial<LabSpec>): LabSpec => ({ ...DEFAULT_SPEC, ...o });
const flags = (r: { trace: { entries: Array<{ seg: { flags: number } }> } }) => r.trace.entries.map((e) => flagsToString(e.seg.flags));

test('the page offers every seed scenario except the Node-only http one', () => {
  assert.ok(BROWSER_SCENARIOS.some((s) => s.name === 'four-way-close'));
  assert.ok(!BROWSER_SCENARIOS.some((s) => s.name === 'http'));
});

test('seed four-way-close: raw datagrams match every trace entry and the client ends TIME-WAIT then CLOSED', async () => {
  const r = await runSeedScenario('four-way-close', { seed: 1, timestamps: true, sack: true, windowScaling: true });
  assert.deepEqual(flags(r), ['SYN', 'SYN+ACK', 'ACK', 'FIN+ACK', 'ACK', 'FIN+ACK', 'ACK']);
  assert.equal(r.raw.length, r.trace.entries.length);
  r.raw.forEach((b, i) => {
    assert.ok(b, `entry ${i} has its datagram`);
    assert.equal(decodePacket(b).tcp!.seg.seq, r.trace.entries[i]!.seg.seq);
  });
  const path = statePath(buildTimeline(r.trace, { receiverOnly: true }), 'a');
  assert.deepEqual(path.slice(-2), ['TIME-WAIT', 'CLOSED']);
});

test('seed scenario with timestamps, SACK and window scale off: no such option on any segment', async () => {
  const r = await runSeedScenario('handshake', { seed: 3, timestamps: false, sack: false, windowScaling: false });
  for (const e of r.trace.entries) {
    assert.equal(e.seg.options.tsVal, undefined);
    assert.equal(e.seg.options.sackPermitted, undefined);
    assert.equal(e.seg.options.wscale, undefined);
  }
  const on = await runSeedScenario('handshake', { seed: 3, timestamps: true, sack: true, windowScaling: true });
  const syn = on.trace.entries[0]!.seg.options;
  assert.ok(syn.tsVal !== undefined && syn.sackPermitted && syn.wscale !== undefined);
});

test('built: the server closes first, so the server walks the active-close path', () => {
  const r = runCustomScenario(spec({ closer: 'server', peerCloseDelayMs: 100 }));
  const t = buildTimeline(r.trace, { receiverOnly: true });
  assert.deepEqual(statePath(t, 'b'), ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSED']);
  assert.deepEqual(statePath(t, 'a'), ['CLOSED', 'SYN-SENT', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
  const fins = r.trace.entries.filter((e) => e.seg.flags & FIN).map((e) => e.from);
  assert.deepEqual(fins, ['b', 'a']);
});

test('built: peer closes at once, so its FIN carries the ACK (three segments close)', () => {
  const r = runCustomScenario(spec({ closer: 'client', peerCloseDelayMs: 0 }));
  const f = flags(r);
  const firstFin = f.indexOf('FIN+ACK');
  assert.deepEqual(f.slice(firstFin), ['FIN+ACK', 'FIN+ACK', 'ACK']);
});

test('built: both close at once pass through CLOSING', () => {
  const r = runCustomScenario(spec({ closer: 'both' }));
  const t = buildTimeline(r.trace, { receiverOnly: true });
  assert.ok(statePath(t, 'a').includes('CLOSING'));
  assert.ok(statePath(t, 'b').includes('CLOSING'));
});

test('built: a client abort sends one RST and the server ends CLOSED', () => {
  const r = runCustomScenario(spec({ closer: 'client-abort' }));
  const rsts = r.trace.entries.filter((e) => e.seg.flags & RST);
  assert.equal(rsts.length, 1);
  assert.equal(rsts[0]!.from, 'a');
  assert.equal(rsts[0]!.stateB, 'CLOSED');
  assert.ok(r.notes.some((n) => n.includes('server error ECONNRESET')), r.notes.join('\n'));
});

test('built: loss on client→server only loses client segments, and the data still arrives intact', () => {
  const r = runCustomScenario(spec({ seed: 5, clientBytes: 40_000, c2s: { loss: 0.2, delayMs: 10, reorder: 0 } }));
  const lost = r.trace.entries.filter((e) => e.lost);
  assert.ok(lost.length > 0, 'some segments were lost');
  assert.ok(lost.every((e) => e.from === 'a'));
  assert.ok(r.notes.includes('server received 40000/40000 bytes'), r.notes.join('\n'));
});

test('built: per-direction delay shows in arrival times', () => {
  const r = runCustomScenario(spec({ c2s: { loss: 0, delayMs: 30, reorder: 0 }, s2c: { loss: 0, delayMs: 5, reorder: 0 } }));
  // SYN sent at 0 arrives at 30; SYN+ACK leaves then and arrives 5 ms later, when the client ACKs.
  const [syn, synack, ack] = r.trace.entries;
  assert.equal(syn!.time, 0);
  assert.equal(synack!.time, 30);
  assert.equal(ack!.time, 35);
});

test('built: a SYN flood against a small backlog is survived with SYN cookies', () => {
  const r = runCustomScenario(spec({ synFlood: 200, backlog: 8 }));
  const note = r.notes.find((n) => n.startsWith('200 spoofed SYNs'));
  assert.ok(note, r.notes.join('\n'));
  const recv = Number(/SyncookiesRecv=(\d+)/.exec(note)![1]);
  assert.ok(recv >= 1, note);
  assert.ok(statePath(buildTimeline(r.trace, { receiverOnly: true }), 'a').includes('ESTABLISHED'));
});

test('built: injected invalid segments are in the ladder, dropped and counted, connection unharmed', () => {
  const r = runCustomScenario(spec({ invalid: ['syn-fin', 'xmas', 'null'] }));
  const injected = r.trace.entries.filter((e) => e.note?.startsWith('injected'));
  assert.deepEqual(injected.map((e) => flagsToString(e.seg.flags)), ['SYN+FIN', 'FIN+PSH+URG', '<none>']);
  for (const e of injected) assert.equal(e.stateB, 'ESTABLISHED');
  assert.ok(r.notes.includes('invalid segments dropped and counted: syn-fin=1 xmas=1 null=1'), r.notes.join('\n'));
});

test('built: the same seed gives the same run', () => {
  const s = spec({ seed: 9, clientBytes: 5000, c2s: { loss: 0.1, delayMs: 8, reorder: 0.2 } });
  const a = runCustomScenario(s), b = runCustomScenario(s);
  assert.deepEqual(a.trace.entries.map((e) => [e.time, e.from, e.seg.seq, e.seg.flags, e.lost]), b.trace.entries.map((e) => [e.time, e.from, e.seg.seq, e.seg.flags, e.lost]));
});

test('a bad built scenario gets a LabSpecError naming the field', () => {
  assert.throws(() => validateSpec(spec({ c2s: { loss: 1.5, delayMs: 10, reorder: 0 } })), (e: unknown) => e instanceof LabSpecError && e.field === 'c2s.loss');
  assert.throws(() => validateSpec(spec({ backlog: 0 })), (e: unknown) => e instanceof LabSpecError && e.field === 'backlog');
  assert.throws(() => validateSpec(spec({ seed: Number.NaN })), (e: unknown) => e instanceof LabSpecError && e.field === 'seed');
  assert.throws(() => validateSpec(spec({ invalid: ['bogus'] })), (e: unknown) => e instanceof LabSpecError && e.field === 'invalid');
  assert.throws(() => runCustomScenario(spec({ closer: 'nobody' as never })), LabSpecError);
});

test('the "RFC 793 rules" toggle: the same blind in-window RST that draws a challenge ACK under RFC 5961 kills the connection', async () => {
  const base = { seed: 1, timestamps: true, sack: true, windowScaling: true };
  const modern = await runSeedScenario('blind-rst-5961', base);
  const old = await runSeedScenario('blind-rst-5961', { ...base, rfc793: true });
  assert.match(modern.notes.join('\n'), /the connection survived/);
  assert.doesNotMatch(modern.notes.join('\n'), /reset by the blind RST/);
  assert.match(old.notes.join('\n'), /CLOSED \(reset by the blind RST\)/);
  assert.match(old.notes.join('\n'), /challenge ACKs sent: 0/);
});
