import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter, FilterError } from './filter.js';
import type { ConnectionReport } from './report.js';

function rep(p: Partial<ConnectionReport>): ConnectionReport {
  return {
    type: 'connection', uid: 'C1', ts: 0, duration: 1.5, orig_h: '10.0.0.1', orig_p: 40000, resp_h: '10.0.0.2', resp_p: 443,
    ip_version: 4, handshake: 'normal', close: 'four-way', half_close_data: false, orig_state: 'TIME-WAIT', resp_state: 'CLOSED',
    conn_state: 'SF', history: 'ShADadFf', completeness: 31, completeness_label: '', orig_flags: 0x1b, resp_flags: 0x1b,
    orig_pkts: 6, resp_pkts: 5, orig_bytes: 100, resp_bytes: 2000, orig_ip_bytes: 0, resp_ip_bytes: 0, retransmissions: 0,
    dup_acks: 0, out_of_order: 0, zero_windows: 0, keep_alives: 0, lost_segments: 0, bad_checksums: 0, first_frame: 1,
    last_frame: 11, direction_inferred: false, split: null,
    zeek: { duration: 1, orig_bytes: 0, resp_bytes: 0, missed_bytes: 0, orig_pkts: 0, resp_pkts: 0, orig_ip_bytes: 0, resp_ip_bytes: 0, orig_endpoint_state: 'CLOSED', resp_endpoint_state: 'CLOSED' },
    anomalies: [], zeek_splits: [], syn_data: 0, reason: 'four-way close, client first', group: 'C1', service: null,
    ...p,
  };
}

const a = rep({});
const b = rep({ orig_h: '192.0.2.9', resp_p: 80, close: 'rst-by-responder', conn_state: 'RSTR', history: 'ShADadr', orig_pkts: 2, anomalies: [{ kind: 'out-of-window-rst', frames: [3], count: 1 }] });

const sel = (expr: string): string[] => [a, b].filter(compileFilter(expr)).map((r) => r.close);

test('field comparisons with == != < <= > >= on strings and numbers', () => {
  assert.deepEqual(sel('close == rst-by-responder'), ['rst-by-responder']);
  assert.deepEqual(sel('conn_state != SF'), ['rst-by-responder']);
  assert.deepEqual(sel('orig_pkts > 3'), ['four-way']);
  assert.deepEqual(sel('orig_pkts <= 2'), ['rst-by-responder']);
  assert.deepEqual(sel('duration >= 1.5'), ['four-way', 'rst-by-responder']);
  assert.deepEqual(sel('completeness == 31'), ['four-way', 'rst-by-responder']);
});

test('host, port, ~ (substring and /regex/), anomalous, bare booleans', () => {
  assert.deepEqual(sel('host 192.0.2.9'), ['rst-by-responder']);
  assert.deepEqual(sel('port 443'), ['four-way']);
  assert.deepEqual(sel('history ~ r'), ['rst-by-responder']);
  assert.deepEqual(sel('history ~ /F.$/'), ['four-way']);
  assert.deepEqual(sel('anomalous'), ['rst-by-responder']);
  assert.deepEqual(sel('half_close_data'), []);
});

test('and/or/not, && || !, parentheses and juxtaposition as "and"', () => {
  assert.deepEqual(sel('port 80 or port 443'), ['four-way', 'rst-by-responder']);
  assert.deepEqual(sel('host 10.0.0.2 && not (close == four-way)'), ['rst-by-responder']);
  assert.deepEqual(sel('!anomalous || orig_pkts < 0'), ['four-way']);
  assert.deepEqual(sel('host 10.0.0.2 port 80'), ['rst-by-responder']);
  assert.deepEqual(sel('close == "rst-by-responder"'), ['rst-by-responder']);
});

test('bad expressions are FilterErrors naming the position', () => {
  for (const [expr, msg] of [
    ['close ==', /expected a value/], ['(close == SF', /expected '\)'/], ['nosuchfield == 1', /unknown field 'nosuchfield'/],
    ['port http', /port needs a number/], ['history ~ /(/', /bad regex/], ['close == SF )', /unexpected '\)'/], ['"abc', /unterminated/],
  ] as const) {
    assert.throws(() => compileFilter(expr), (e: unknown) => e instanceof FilterError && msg.test(e.message), expr);
  }
});
