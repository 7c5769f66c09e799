/**
 * Service detection (service.ts) against the `service` column of Zeek's own conn.log baselines in
 * ../shared/pcap-corpus/zeek (http, ssl, ssh, dns): every TCP row agrees, except where Zeek's answer depends on
 * something synack deliberately does not do, each named here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { analyzeFile, sharedMissing } from './corpus-helpers.js';
import { zeekDir, zeekManifest } from './corpus.js';
import { ZEEK_SERVICE_NAMES } from './service.js';

const DETECTED = ['http', 'ssl', 'ssh', 'dns'];

/** Why Zeek's service differs for a row, or null when it must agree. */
function knownDifference(trace: string, flags: string[], zeekServices: string[], connState: string): string | null {
  if (zeekServices[0] !== undefined && !DETECTED.includes(zeekServices[0]) && zeekServices.includes('ssl')) {
    return 'STARTTLS: the connection starts in a cleartext protocol synack does not detect; Zeek adds ssl after the upgrade, synack looks at the first bytes only';
  }
  if (/half-duplex/.test(trace)) return "one-sided capture: Zeek's SSH analyzer confirms the protocol only with both directions; the banner shows SSH";
  if (connState === 'OTH') return 'midstream: Zeek attaches no protocol analyzer to a connection whose start it did not see';
  if (flags.some((f) => f.trim() === '-b')) return 'the baseline ran zeek -b: no protocol scripts loaded, so no service';
  return null;
}

test('service agrees with Zeek\'s conn.log on the corpus baselines (known differences named)', { skip: sharedMissing }, () => {
  let agree = 0;
  let known = 0;
  const disagreements: string[] = [];
  for (const e of zeekManifest()) {
    for (const b of e.baselines) {
      const file = path.join(zeekDir, b.file);
      if (!b.file.endsWith('conn.log') || !existsSync(file)) continue;
      const lines = readFileSync(file, 'utf8').split('\n');
      const fieldsLine = lines.find((l) => l.startsWith('#fields'));
      if (!fieldsLine?.includes('\tservice')) continue;
      const head = fieldsLine.split('\t').slice(1);
      const { reports } = analyzeFile(path.join(zeekDir, e.trace));
      for (const l of lines) {
        if (!l || l.startsWith('#')) continue;
        const x = l.split('\t');
        const get = (k: string): string => x[head.indexOf(k)] ?? '';
        if (get('proto') !== 'tcp') continue;
        const r = reports.find((c) => c.orig_h === get('id.orig_h') && String(c.orig_p) === get('id.orig_p')
          && c.resp_h === get('id.resp_h') && String(c.resp_p) === get('id.resp_p'));
        if (!r) continue;
        const theirs = get('service') === '-' ? [] : get('service').split(',');
        const relevant = theirs.filter((s) => DETECTED.includes(s));
        const mine = r.service === null ? null : ZEEK_SERVICE_NAMES[r.service];
        const same = relevant.length === 0 ? mine === null : mine !== null && relevant.includes(mine);
        if (same) { agree++; continue; }
        if (knownDifference(e.id, e.zeek_invocation_flags, theirs, get('conn_state')) !== null) { known++; continue; }
        disagreements.push(`${e.id} ${get('id.orig_h')}:${get('id.orig_p')} → ${get('id.resp_h')}:${get('id.resp_p')}: Zeek ${get('service')}, synack ${mine ?? '-'}`);
      }
    }
  }
  assert.deepEqual(disagreements, []);
  assert.ok(agree >= 80, `${agree} rows agree (${known} known differences)`);
});
