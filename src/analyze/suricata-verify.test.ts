/**
 * suricata-verify checks that concern TCP state, translated (../shared/pcap-corpus/README.md "Using it"):
 * for every `event_type: flow` filter of a test.yaml, the connection with that 4-tuple must show
 * - Suricata's session `tcp.state`, which follows the responder's side of RFC 793 (a FIN from the client puts
 *   the session in close_wait, the server's FIN then in last_ack): synack's resp_state, with TIME-WAIT and
 *   CLOSED both read as Suricata's "closed" (Suricata closes on the final ACK, it has no 2MSL wait);
 * - the union of TCP flags per direction (`tcp.tcp_flags_ts` from the originator, `tcp_flags_tc` back);
 * - the syn/fin/rst booleans.
 * Alert, rule and app-layer checks are Suricata-specific and skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { analyzeFile, shared, sharedMissing } from './corpus-helpers.js';
import { formatAddress, parseAddress } from '../wire/address.js';
import type { ConnectionReport } from './report.js';
import type { TcpStateName } from '../wire/trace.js';

const svDir = path.join(shared, 'pcap-corpus', 'suricata-verify');

interface Entry { test: string; pcap: string; checks_in: string }

function flowChecks(yamlText: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  for (const block of yamlText.split(/^- filter:/m).slice(1)) {
    const kv: Record<string, string> = {};
    for (const line of block.split('\n')) {
      const m = /^\s{6}([\w.[\]]+): (.*)$/.exec(line);
      if (m) kv[m[1]!] = m[2]!.replace(/^['"]|['"]$/g, '');
    }
    if (kv.event_type === 'flow' && kv.proto === 'TCP') out.push(kv);
  }
  return out;
}

/** Suricata's session state name for synack's pair of endpoint states. */
function suricataState(orig: TcpStateName | null, resp: TcpStateName | null): string {
  if (orig === 'SYN-SENT' && (resp === null || resp === 'LISTEN' || resp === 'SYN-RECEIVED')) return 'syn_sent';
  switch (resp) {
    case 'SYN-RECEIVED': return 'syn_recv';
    case 'ESTABLISHED': return 'established';
    case 'CLOSE-WAIT': return 'close_wait';
    case 'LAST-ACK': return 'last_ack';
    case 'FIN-WAIT-1': return 'fin_wait1';
    case 'FIN-WAIT-2': return 'fin_wait2';
    case 'CLOSING': return 'closing';
    case 'TIME-WAIT': case 'CLOSED': return 'closed';
    default: return String(resp);
  }
}

/** Named differences: the test, synack's state and why. */
const DIFFERENCES: Record<string, { state: string; why: string }> = {
  'bug-2646-01': {
    state: 'closing',
    why: "the server's FIN (frame 19) does not acknowledge the client's FIN (ack = its seq, not seq+1): the FINs " +
      'crossed, so synack puts both sides through CLOSING (connection-analysis.md §5.2 notes); Suricata follows ' +
      'capture order and calls it last_ack',
  },
};

const norm = (a: string): string => formatAddress(parseAddress(a));
const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

const entries: Entry[] = sharedMissing ? [] : (JSON.parse(readFileSync(path.join(svDir, 'manifest.json'), 'utf8')) as { entries: Entry[] }).entries;

for (const e of entries) {
  // Flows whose flags are all 00 are ones Suricata created without tracking TCP (midstream pick-up is off
  // by default in Suricata): nothing to compare.
  const checks = flowChecks(readFileSync(path.join(svDir, e.checks_in), 'utf8'))
    .filter((c) => ('tcp.state' in c || 'tcp.tcp_flags_ts' in c) && !(c['tcp.tcp_flags_ts'] === '00' && c['tcp.tcp_flags_tc'] === '00'));
  if (checks.length === 0) continue;
  test(`suricata-verify ${e.test}: session state and per-direction flags`, () => {
    const { reports } = analyzeFile(path.join(svDir, e.pcap));
    for (const c of checks) {
      const src = norm(c.src_ip!);
      const dst = norm(c.dest_ip!);
      const sp = Number(c.src_port);
      const dp = Number(c.dest_port);
      const mine = reports.filter((r: ConnectionReport) => r.orig_h === src && r.orig_p === sp && r.resp_h === dst && r.resp_p === dp);
      assert.ok(mine.length >= 1, `no connection ${src}:${sp} → ${dst}:${dp} (have ${reports.map((r) => `${r.orig_h}:${r.orig_p}→${r.resp_h}:${r.resp_p}`).join(', ')})`);
      // Suricata keeps one flow per tuple; Zeek's timers may split late retransmissions off: compare the
      // first connection's state, the flags over all of them.
      const last = mine[0]!;
      const ts = mine.reduce((f, r) => f | r.orig_flags, 0);
      const tc = mine.reduce((f, r) => f | r.resp_flags, 0);
      const diff = DIFFERENCES[e.test];
      if (c['tcp.state']) {
        assert.equal(suricataState(last.orig_state, last.resp_state), diff ? diff.state : c['tcp.state'],
          diff ? `${e.test} (documented difference: ${diff.why})` : `tcp.state of ${src}:${sp}`);
      }
      if (c['tcp.tcp_flags_ts']) assert.equal(hex2(ts), c['tcp.tcp_flags_ts'], 'tcp_flags_ts');
      if (c['tcp.tcp_flags_tc']) assert.equal(hex2(tc), c['tcp.tcp_flags_tc'], 'tcp_flags_tc');
      if (c['tcp.tcp_flags']) assert.equal(hex2(ts | tc), c['tcp.tcp_flags'], 'tcp_flags');
      if (c['tcp.syn'] === 'true') assert.ok((ts | tc) & 0x02);
      if (c['tcp.fin'] === 'true') assert.ok((ts | tc) & 0x01);
      if (c['tcp.rst'] === 'true') assert.ok((ts | tc) & 0x04);
    }
  });
}

test('suricata-verify corpus is present', { skip: sharedMissing }, () => {
  assert.ok(entries.length >= 20);
});
