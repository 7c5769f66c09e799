// The capture view's logic: reading captures in chunks, keeping what was read before an error, the table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeedScenario, runCustomScenario, DEFAULT_SPEC, type LabRun } from './lab-run.js';
import { scenarioPcapng } from './export.js';
import { CaptureSession, bytesSource } from './capture-session.js';
import { queryRows, summaryItems, compileTableFilter, anomalyText, COLUMNS } from './capture-table.js';
import { readCapture } from '../../src/wire/capture.js';
import { decodePacket } from '../../src/wire/packet.js';
import { flagsToString } from '../../src/wire/tcp-types.js';
import type { ConnectionReport } from '../../src/analyze/report.js';

const on = { seed: 1, timestamps: true, sack: true, windowScaling: true };

/** Several runs in one pcapng, each on its own server port as `synack demo --pcap` does. */
function concat(runs: LabRun[]): Uint8Array {
  const parts = runs.map((r) => scenarioPcapng(r));
  // Each file is its own pcapng section: concatenated sections are a valid pcapng stream.
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

test('exported pcapng holds every packet of the run, in order, lost ones included', async () => {
  const r = runCustomScenario({ ...DEFAULT_SPEC, seed: 4, clientBytes: 20_000, c2s: { loss: 0.2, delayMs: 10, reorder: 0 } });
  const recs = [...readCapture(scenarioPcapng(r))];
  assert.equal(recs.length, r.packets.length);
  recs.forEach((rec, i) => assert.deepEqual(rec.data, r.packets[i]!.bytes));
  assert.equal(recs[0]!.linkType, 101);
});

test('a scenario pcapng read back by the page analyzer gives each scenario its close kind', async () => {
  const names = ['four-way-close', 'three-way-close', 'simultaneous-close', 'rst-abort', 'refused'];
  const runs: LabRun[] = [];
  for (const n of names) runs.push(await runSeedScenario(n, on));
  const s = new CaptureSession();
  const batches: number[] = [];
  let lastProgress = 0;
  // Several files: frame numbers continue; small chunks so records straddle chunk boundaries.
  const out = await s.run(runs.map((r, i) => bytesSource(`${names[i]}.pcapng`, scenarioPcapng(r), 97)), {
    onConnections: (rows) => batches.push(rows.length),
    onProgress: (p) => { assert.ok(p.bytes >= lastProgress); lastProgress = p.bytes; },
  }, 256);
  assert.equal(out.error, null);
  assert.deepEqual(s.reports.map((r) => r.close), ['four-way', 'three-way', 'simultaneous', 'rst-by-originator', 'refused']);
  assert.equal(batches.reduce((a, b) => a + b, 0), 5);
  assert.equal(out.summary.connections, 5);
  // Every connection can be opened as a ladder with the same segments as the run.
  const t = s.traces.get(s.reports[0]!.uid)!;
  assert.deepEqual(t.entries.map((e) => flagsToString(e.seg.flags)), runs[0]!.trace.entries.map((e) => flagsToString(e.seg.flags)));
  assert.equal(s.reports[1]!.first_frame, runs[0]!.packets.length + 1, 'frames continue across files');
  // The detail pane gets each captured segment's IP datagram, byte for byte.
  const withRaw = s.traceWithRaw(s.reports[1]!.uid)!;
  assert.deepEqual(withRaw.raw, runs[1]!.packets.map((p) => p.bytes));
  assert.equal(s.traceWithRaw('no-such-uid'), null);
});

test('a truncated capture: clear error naming the offset, connections read before it kept', async () => {
  const full = concat([await runSeedScenario('four-way-close', on), await runSeedScenario('rst-abort', on)]);
  const cut = full.subarray(0, full.length - 30);
  const s = new CaptureSession();
  const out = await s.run([bytesSource('cut.pcapng', cut)]);
  assert.match(out.error!, /^cut\.pcapng: pcapng: .*truncated.* \(at byte \d+\); connections read before it are kept$/);
  assert.equal(out.summary.error, out.error);
  assert.ok(s.reports.length >= 1);
  assert.equal(s.reports[0]!.close, 'four-way');
});

test('a file that is not a capture is refused with a clear message', async () => {
  const s = new CaptureSession();
  const out = await s.run([bytesSource('notes.txt', new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))]);
  assert.match(out.error!, /^notes\.txt: not a pcap or pcapng file \(unknown magic number 0x[0-9a-f]+\)/);
  assert.equal(out.error!.match(/not a pcap/g)!.length, 1, `said once: ${out.error}`);
  assert.equal(s.reports.length, 0);
  const empty = await new CaptureSession().run([bytesSource('empty.pcap', new Uint8Array(0))]);
  assert.equal(empty.error!.match(/not a pcap/g)?.length, 1, `said once: ${empty.error}`);
});

test('corrupt packet bytes inside a valid capture are counted as malformed, not fatal', async () => {
  const r = await runSeedScenario('handshake', on);
  const bytes = scenarioPcapng({ ...r, packets: r.packets.map((p, i) => (i === 1 ? { ...p, bytes: Uint8Array.of(0x45, 0, 0, 99, 1, 2) } : p)) });
  const s = new CaptureSession();
  const out = await s.run([bytesSource('bad-packet.pcapng', bytes)]);
  assert.equal(out.error, null);
  assert.equal(out.summary.malformed_packets, 1);
  assert.equal(out.malformed[0]!.frame, 2);
  assert.equal(s.reports.length, 1);
});

/** A real report (so the fixture follows the analyzer's schema) with some fields overridden. */
async function baseReport(): Promise<ConnectionReport> {
  const s = new CaptureSession();
  await s.run([bytesSource('hs', scenarioPcapng(await runSeedScenario('four-way-close', on)))]);
  return s.reports[0]!;
}

test('connection table: sort by any column (stable), filter by text or by an analyze expression', async () => {
  const base = await baseReport();
  const rep = (o: Partial<ConnectionReport>): ConnectionReport => ({ ...base, resp_p: 80, orig_p: 1000, orig_h: '10.0.0.1', resp_h: '10.0.0.2', anomalies: [], ...o });
  const rows = [
    rep({ uid: 'C1', first_frame: 1, close: 'four-way', orig_pkts: 5, resp_pkts: 5, duration: 2 }),
    rep({ uid: 'C2', first_frame: 11, close: 'refused', conn_state: 'REJ', orig_pkts: 1, resp_pkts: 1, duration: 0.01, resp_p: 8080 }),
    rep({ uid: 'C3', first_frame: 13, close: 'rst-by-responder', conn_state: 'RSTR', orig_pkts: 3, resp_pkts: 4, duration: 1, anomalies: [{ kind: 'invalid-flags', frames: [14], count: 1 }, { kind: 'invalid-flags', frames: [15], count: 1 }] }),
    rep({ uid: 'C4', first_frame: 20, close: 'four-way', orig_pkts: 5, resp_pkts: 5, duration: 0.5 }),
  ];
  const ids = (q: Parameters<typeof queryRows>[1]) => queryRows(rows, q).rows.map((r) => r.uid);
  assert.deepEqual(ids({ sortKey: 'packets', descending: true, filter: '' }), ['C1', 'C4', 'C3', 'C2']);
  assert.deepEqual(ids({ sortKey: 'duration', descending: false, filter: '' }), ['C2', 'C4', 'C3', 'C1']);
  assert.deepEqual(ids({ sortKey: 'close', descending: false, filter: '' }), ['C1', 'C4', 'C2', 'C3']);
  assert.deepEqual(ids({ sortKey: 'first_frame', descending: false, filter: 'refused' }), ['C2']);
  assert.deepEqual(ids({ sortKey: 'first_frame', descending: false, filter: ':8080' }), ['C2']);
  assert.deepEqual(ids({ sortKey: 'first_frame', descending: false, filter: 'close == four-way and duration > 1' }), ['C1']);
  assert.deepEqual(ids({ sortKey: 'first_frame', descending: false, filter: 'anomalous' }), ['C3']);
  const bad = queryRows(rows, { sortKey: 'first_frame', descending: false, filter: 'close == ' });
  assert.deepEqual(bad.rows, []);
  assert.match(bad.error!, /^filter: /);
  assert.equal(compileTableFilter('').error, null);
  assert.equal(anomalyText(rows[2]!), 'invalid-flags×2');
  assert.equal(COLUMNS.find((c) => c.key === 'endpoints')!.text(rows[1]!), '10.0.0.1:1000 → 10.0.0.2:8080');
});

test('summary strip: connections by close kind, most common first, then anomalies', async () => {
  const s = new CaptureSession();
  const runs = [await runSeedScenario('four-way-close', on), await runSeedScenario('refused', on), await runSeedScenario('invalid-flags', on)];
  const out = await s.run(runs.map((r, i) => bytesSource(`f${i}`, scenarioPcapng(r))));
  const items = summaryItems(out.summary);
  assert.deepEqual(items.slice(0, 2).map((i) => i.label), ['connections', 'packets']);
  const closes = items.filter((i) => i.kind === 'close');
  assert.equal(closes.reduce((a, b) => a + b.value, 0), out.summary.connections);
  assert.ok(closes.some((c) => c.label === 'refused' && c.value === 1));
  assert.ok(items.some((i) => i.kind === 'anomaly' && i.label === 'invalid-flags'));
  // The packets of the injected segments are really in the file.
  const injected = [...readCapture(scenarioPcapng(runs[2]!))].filter((rec) => {
    const f = decodePacket(rec.data).tcp!.seg.flags;
    return flagsToString(f) === 'SYN+FIN';
  });
  assert.equal(injected.length, 1);
});

test('a gzip-compressed capture reads like the plain one, and every row has its reason in the table', async () => {
  const { gzipSync } = await import('node:zlib');
  const plain = scenarioPcapng(await runSeedScenario('four-way-close', on));
  const a = new CaptureSession();
  const outA = await a.run([bytesSource('plain.pcapng', plain, 300)], {}, 256);
  const b = new CaptureSession();
  const outB = await b.run([bytesSource('squeezed.pcapng.gz', gzipSync(plain), 300)], {}, 256);
  assert.equal(outB.error, null);
  assert.equal(outB.summary.packets, outA.summary.packets);
  assert.deepEqual(b.reports.map((r) => [r.close, r.reason]), a.reports.map((r) => [r.close, r.reason]));
  const col = COLUMNS.find((c) => c.key === 'reason')!;
  assert.ok(col.text(b.reports[0]!).length > 0, 'the reason column shows the analyzer\'s reason');
  assert.equal(col.text(b.reports[0]!), b.reports[0]!.reason);
});
