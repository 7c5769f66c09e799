import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { connectionJson, jsonLine } from './format.js';
import { analyzeFile, shared, sharedMissing } from './corpus-helpers.js';
import type { ConnectionReport } from './report.js';

test('the hand-written connection JSON is exactly JSON.stringify of the report, on every corpus connection', { skip: sharedMissing }, () => {
  const dir = path.join(shared, 'pcap-corpus', 'zeek');
  const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { entries: Array<{ trace: string }> };
  let n = 0;
  for (const e of m.entries) {
    for (const r of analyzeFile(path.join(dir, e.trace)).reports) {
      assert.equal(connectionJson(r), JSON.stringify(r), e.trace);
      n++;
    }
  }
  assert.ok(n > 150);
});

test('strings that need escaping and non-finite numbers are handled like JSON.stringify', { skip: sharedMissing }, () => {
  const r = analyzeFile(path.join(shared, 'pcap-corpus', 'zeek', 'traces', 'http', 'get.pcap')).reports[0]!;
  const odd: ConnectionReport = { ...r, history: 'a"b\\c\n\u00e9', split: 'x\ty', duration: NaN, orig_state: null };
  assert.equal(connectionJson(odd), JSON.stringify(odd));
  assert.equal(jsonLine(odd), JSON.stringify(odd) + '\n');
});
