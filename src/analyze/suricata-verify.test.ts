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
import { sharedMissing } from './corpus-helpers.js';
import { suricataChecks, svManifest } from './corpus.js';

const entries = sharedMissing ? [] : svManifest();

for (const e of entries) {
  const checks = suricataChecks(e);
  if (checks === null) continue;
  test(`suricata-verify ${e.test}: session state and per-direction flags`, () => {
    for (const c of checks) {
      assert.notEqual(c.result, 'disagree', `${c.item}: Suricata ${c.expected}, synack ${c.actual}${c.why ? ` (documented difference: ${c.why})` : ''}`);
    }
  });
}

test('suricata-verify corpus is present', { skip: sharedMissing }, () => {
  assert.ok(entries.length >= 20);
});
