/**
 * synack's own packetdrill scripts for the linux personality (src/drill/linux-scripts/*.pkt): behaviours no public
 * script covers, each written from what a Linux 6.18 kernel did with the same segments (sent by scapy to a
 * listening socket in a network namespace). Today: the sequence check's left edge, rcv_wup (Last.ACK.sent) rather
 * than RCV.NXT, for RSTs, pure ACKs and duplicate data; the RST at the highest SACK block's right edge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScriptText } from './runner.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'linux-scripts');
const scripts = readdirSync(dir).filter((f) => f.endsWith('.pkt')).sort();

test('the linux script directory holds the RST-acceptability scenarios', () => {
  for (const name of ['rst-at-rcv-wup', 'rst-inside-rcv-wup', 'rst-below-rcv-wup', 'ack-in-rcv-wup', 'ack-below-rcv-wup',
    'rst-at-sack-right-edge', 'rst-at-right-edge-no-sack']) assert.ok(scripts.includes(`${name}.pkt`), `${name}.pkt is missing`);
});

for (const f of scripts) {
  test(`linux script ${f} passes in IPv4 and IPv6`, () => {
    for (const ipVersion of ['ipv4', 'ipv6'] as const) {
      const r = runScriptText(readFileSync(path.join(dir, f), 'utf8'), { file: f, personality: 'linux', ipVersion });
      assert.equal(r.result, 'pass', `${ipVersion}: ${r.result} at line ${r.line}: ${r.reason}`);
    }
  });
}
