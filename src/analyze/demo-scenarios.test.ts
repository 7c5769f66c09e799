/**
 * Captures the project makes itself: every `synack demo` scenario's packets, written as pcapng with synack's
 * own writer, analyzed back: the handshake and close kinds match what the scenario does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, SCENARIOS } from '../link/scenarios.js';
import { PcapngWriter } from '../wire/pcapng-writer.js';
import { analyzeBytes, type AnalysisResult } from './corpus-helpers.js';

async function analyzeScenario(name: string): Promise<AnalysisResult & { notes: string[] }> {
  const r = await runScenario(name);
  const w = new PcapngWriter();
  const id = w.addInterface({ name: 'demo', linkType: 101 });
  // Lost segments never reached the wire where the capture is taken.
  for (const p of r.packets) if (p.fate !== 'lost') w.writePacket(id, 1_700_000_000_000 + p.time, p.bytes);
  return { ...analyzeBytes(w.take()), notes: r.notes };
}

interface Expect { handshake: string; close: string; orig_state?: string; resp_state?: string; half_close_data?: boolean }

const EXPECT: Record<string, Expect> = {
  'handshake': { handshake: 'normal', close: 'open', orig_state: 'ESTABLISHED', resp_state: 'ESTABLISHED' },
  'four-way-close': { handshake: 'normal', close: 'four-way', orig_state: 'TIME-WAIT', resp_state: 'CLOSED' },
  'three-way-close': { handshake: 'normal', close: 'three-way', orig_state: 'TIME-WAIT', resp_state: 'CLOSED' },
  'simultaneous-open': { handshake: 'simultaneous-open', close: 'open', orig_state: 'ESTABLISHED', resp_state: 'ESTABLISHED' },
  'simultaneous-close': { handshake: 'normal', close: 'simultaneous', orig_state: 'TIME-WAIT', resp_state: 'TIME-WAIT' },
  'half-close': { handshake: 'normal', close: 'four-way', half_close_data: true },
  'rst-abort': { handshake: 'normal', close: 'rst-by-originator', orig_state: 'CLOSED', resp_state: 'CLOSED' },
  'rst-unread-data': { handshake: 'normal', close: 'rst-by-originator', orig_state: 'CLOSED', resp_state: 'CLOSED' },
  'refused': { handshake: 'refused', close: 'refused' },
  // Seed 1's draw: the server's FIN carries the ACK of the client's (the client's FIN rode on its last data).
  'lossy-transfer': { handshake: 'normal', close: 'three-way' },
  'http': { handshake: 'normal', close: 'three-way', orig_state: 'CLOSED', resp_state: 'TIME-WAIT' },
};

for (const s of SCENARIOS) {
  const exp = EXPECT[s.name];
  if (!exp) continue;
  test(`demo scenario ${s.name}: analyzed back as ${exp.handshake} / ${exp.close}`, async () => {
    const { reports } = await analyzeScenario(s.name);
    assert.equal(reports.length, 1, reports.map((r) => r.history).join(' | '));
    const r = reports[0]!;
    assert.equal(r.handshake, exp.handshake);
    assert.equal(r.close, exp.close);
    if (exp.orig_state) assert.equal(r.orig_state, exp.orig_state);
    if (exp.resp_state) assert.equal(r.resp_state, exp.resp_state);
    if (exp.half_close_data !== undefined) assert.equal(r.half_close_data, exp.half_close_data);
    if (s.name === 'lossy-transfer') assert.ok(r.retransmissions > 0, 'retransmissions seen');
  });
}

test('demo scenario invalid-flags: all six invalid combinations reported with their frames', async () => {
  const { anomalies, reports } = await analyzeScenario('invalid-flags');
  const kinds = anomalies.filter((a) => a.kind === 'invalid-flags').map((a) => a.flags).sort();
  assert.deepEqual(kinds, ['FIN+RST', 'FIN-without-ACK', 'NULL', 'SYN+FIN', 'SYN+RST', 'Xmas']);
  for (const a of anomalies) assert.ok(a.frames.length > 0);
  // The real connection survives them (the receiver drops them): one connection, a normal handshake and the
  // three-way close that follows; Zeek's rules split it on the SYN+FIN and SYN+RST, in its rows only.
  assert.equal(reports.length, 1, reports.map((r) => r.history).join(' | '));
  assert.deepEqual([reports[0]!.handshake, reports[0]!.close], ['normal', 'three-way']);
  assert.equal(reports[0]!.conn_state, 'S1');
  assert.equal(reports[0]!.zeek_splits.length, 2);
});

test('demo scenario syn-flood: the real client still connects; the recorded spoofed SYNs are half-open and flagged as a flood', async () => {
  const { reports, anomalies, notes } = await analyzeScenario('syn-flood');
  assert.match(notes.join(' '), /spoofed SYNs/);
  // The scenario records its first 300 spoofed SYNs (198.18.0.0/15) and the server's cookie SYN+ACKs to them.
  const real = reports.filter((r) => r.orig_h === '10.0.0.1');
  const spoofed = reports.filter((r) => r.orig_h.startsWith('198.18.') || r.orig_h.startsWith('198.19.'));
  assert.equal(real.length, 1);
  assert.equal(real[0]!.handshake, 'normal');
  assert.equal(real[0]!.orig_state, 'ESTABLISHED');
  assert.equal(real[0]!.resp_state, 'ESTABLISHED');
  assert.equal(spoofed.length, reports.length - 1);
  assert.ok(spoofed.length >= 100, `${spoofed.length} spoofed connections`);
  // SYN, SYN+ACK, never the ACK: Zeek history Sh, the server left in SYN-RECEIVED.
  for (const r of spoofed) {
    assert.equal(r.history, 'Sh');
    assert.equal(r.resp_state, 'SYN-RECEIVED');
  }
  const flood = anomalies.find((a) => a.kind === 'syn-flood');
  assert.ok(flood, 'syn-flood anomaly');
  assert.equal(flood.dst, '10.0.0.2');
  assert.equal(flood.dst_port, 80);
  assert.equal(flood.sources, spoofed.length);
});
