/**
 * conn_state and history agree with Zeek's own baselines on every connection of ../shared/pcap-corpus/zeek,
 * or the trace is named below with the documented reason it differs (and what synack says instead).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { analyzeFile, sharedMissing } from './corpus-helpers.js';
import { zeekChecks, zeekDir, zeekManifest, zeekOptionsFor as optionsFor, type CorpusCheck } from './corpus.js';

const entries = sharedMissing ? [] : zeekManifest();

function assertChecks(checks: CorpusCheck[]): void {
  for (const c of checks) {
    assert.notEqual(c.result, 'disagree', `${c.trace} ${c.item}: Zeek ${c.expected}, synack ${c.actual}${c.why ? ` (documented difference: ${c.why})` : ''}`);
  }
}

test('the Zeek corpus is present', { skip: sharedMissing }, () => {
  assert.ok(entries.length >= 50, `expected the 52-trace manifest, found ${entries.length}`);
});

for (const e of entries) {
  if (!e.expected_tsv) continue;
  test(`zeek corpus ${e.id}: conn_state and history agree with Zeek`, () => {
    const checks = zeekChecks(e)!;
    assert.ok(checks.length >= 2);
    assertChecks(checks.filter((c) => c.suite === 'zeek-state'));
  });
}

/** Baselines that print endpoint records ([size=…, state=…, num_pkts=…]) instead of a conn.log. */
function endpointRecords(file: string): Array<{ size: number; state: number; pkts: number }> {
  const text = readFileSync(path.join(zeekDir, file), 'utf8');
  return [...text.matchAll(/\[size=(\d+), state=(\d+), num_pkts=(\d+)/g)].map((m) => ({
    size: Number(m[1]), state: Number(m[2]), pkts: Number(m[3]),
  }));
}

const STATE_NUM: Record<string, number> = { INACTIVE: 0, SYN_SENT: 1, SYN_ACK_SENT: 2, PARTIAL: 3, ESTABLISHED: 4, CLOSED: 5, RESET: 6 };

for (const trace of ['fin_retransmission.pcap', 'rst-inject-rae.pcap']) {
  test(`zeek corpus tcp/${trace}: endpoint states, sizes and packets as Zeek prints them`, { skip: sharedMissing }, () => {
    const e = entries.find((x) => x.id === `tcp__${trace}`)!;
    const [o, r] = endpointRecords(e.baselines[0]!.file);
    const { reports } = analyzeFile(path.join(zeekDir, e.trace), optionsFor(e));
    assert.equal(reports.length, 1);
    const z = reports[0]!.zeek;
    assert.deepEqual([STATE_NUM[z.orig_endpoint_state], z.orig_bytes, z.orig_pkts], [o!.state, o!.size, o!.pkts]);
    assert.deepEqual([STATE_NUM[z.resp_endpoint_state], z.resp_bytes, z.resp_pkts], [r!.state, r!.size, r!.pkts]);
  });
}

test('zeek corpus tcp/handshake-reorder.pcap: SYN-ACK before SYN flips to Hs^ADadFf', { skip: sharedMissing }, () => {
  const e = entries.find((x) => x.id === 'tcp__handshake-reorder.pcap')!;
  const text = readFileSync(path.join(zeekDir, e.baselines[0]!.file), 'utf8');
  const last = text.trim().split('\n').pop()!;
  const history = last.split(', ').at(-2)!;
  assert.equal(history, 'Hs^ADadFf');
  const { reports } = analyzeFile(path.join(zeekDir, e.trace), optionsFor(e));
  assert.equal(reports.length, 1);
  assert.equal(reports[0]!.history, history);
  assert.equal(reports[0]!.orig_h, '141.142.228.5');
  assert.equal(reports[0]!.orig_p, 59856);
  // synack still sees a normal handshake, captured out of order.
  assert.equal(reports[0]!.conn_state, 'SF');
});

test('zeek corpus tcp/ssh-dups.pcap: retransmission letters T/t at the 1st and 10th occurrence', { skip: sharedMissing }, () => {
  const e = entries.find((x) => x.id === 'tcp__ssh-dups.pcap')!;
  const text = readFileSync(path.join(zeekDir, e.baselines[0]!.file), 'utf8');
  const m = /REMOVE:, .*\], (\S+)/.exec(text);
  assert.ok(m);
  const { reports } = analyzeFile(path.join(zeekDir, e.trace), optionsFor(e));
  assert.equal(reports.length, 1);
  assert.equal(reports[0]!.history, m[1]);
});

// Traces whose baselines check something other than TCP state (named, with the reason):
// - tcp/qi_internet_SYNACK_curl_jsonip.pcap: Zeek's rexmit_inconsistency event (payload comparison of a
//   retransmission), not a connection state; synack reports the connection (see anomalies tests).
// - tcp/timeout-with-pings.pcap: a script suppressing Zeek's inactivity timeout; no conn.log in the baseline.

test('zeek corpus: conn.log numbers (duration, sizes from sequence numbers, missed bytes, packets, IP bytes) match', { skip: sharedMissing }, () => {
  let compared = 0;
  for (const e of entries) {
    const checks = (zeekChecks(e) ?? []).filter((c) => c.suite === 'zeek-numbers');
    assertChecks(checks);
    compared += checks.filter((c) => c.result === 'agree').length;
  }
  assert.ok(compared >= 140, `compared ${compared} rows`);
});
