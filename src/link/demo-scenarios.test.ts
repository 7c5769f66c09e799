/** Every seed scenario, asserted on the wire (flag sequence) and on both sides' state sequences; the pcapng read back by tshark. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario, SCENARIOS, type ScenarioResult } from './scenarios.js';
import { flagsToString } from '../wire/tcp-types.js';
import { PcapngTap } from './pcapng-tap.js';

const flagSeq = (r: ScenarioResult) => r.trace.entries.map((e) => `${e.from === 'a' ? '>' : '<'}${flagsToString(e.seg.flags)}${e.lost ? '(lost)' : ''}`);
const hasTshark = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;

const EXPECT: Record<string, { flags?: string[]; client: string[]; server: string[] }> = {
  handshake: { flags: ['>SYN', '<SYN+ACK', '>ACK'], client: ['SYN-SENT', 'ESTABLISHED'], server: ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED'] },
  'four-way-close': {
    flags: ['>SYN', '<SYN+ACK', '>ACK', '>FIN+ACK', '<ACK', '<FIN+ACK', '>ACK'],
    client: ['SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSED'],
    server: ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED'],
  },
  'three-way-close': {
    flags: ['>SYN', '<SYN+ACK', '>ACK', '>FIN+ACK', '<FIN+ACK', '>ACK'],
    client: ['SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'TIME-WAIT', 'CLOSED'],
    server: ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED'],
  },
  'simultaneous-open': {
    flags: ['>SYN', '<SYN', '<SYN+ACK', '>SYN+ACK'],
    client: ['SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED'], server: ['SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED'],
  },
  'simultaneous-close': {
    flags: ['>SYN', '<SYN+ACK', '>ACK', '>FIN+ACK', '<FIN+ACK', '<ACK', '>ACK'],
    client: ['SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'CLOSING', 'TIME-WAIT', 'CLOSED'],
    server: ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'CLOSING', 'TIME-WAIT', 'CLOSED'],
  },
  'half-close': { client: ['SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSED'], server: ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED'] },
  'rst-abort': { flags: ['>SYN', '<SYN+ACK', '>ACK', '>RST'], client: ['SYN-SENT', 'ESTABLISHED', 'CLOSED'], server: ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSED'] },
  'rst-unread-data': { flags: ['>SYN', '<SYN+ACK', '>ACK', '<PSH+ACK', '>ACK', '>RST'], client: ['SYN-SENT', 'ESTABLISHED', 'CLOSED'], server: ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSED'] },
  refused: { flags: ['>SYN', '<RST+ACK'], client: ['SYN-SENT', 'CLOSED'], server: [] },
  'syn-flood': { client: ['SYN-SENT', 'ESTABLISHED'], server: ['LISTEN', 'ESTABLISHED'] },
  'invalid-flags': { client: ['SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'TIME-WAIT', 'CLOSED'], server: ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED'] },
  'lossy-transfer': { client: ['SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSED'], server: ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED'] },
  'why-three-way': { flags: ['>SYN', '<SYN+ACK', '>RST', '>SYN', '<SYN+ACK', '>ACK'], client: ['SYN-SENT', 'ESTABLISHED'], server: ['LISTEN', 'SYN-RECEIVED', 'LISTEN', 'SYN-RECEIVED', 'ESTABLISHED'] },
  'why-time-wait': {
    flags: ['>SYN', '<SYN+ACK', '>ACK', '>FIN+ACK', '<ACK', '<FIN+ACK', '>ACK(lost)', '<FIN+ACK', '>ACK'],
    client: ['SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSED'], server: ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED'],
  },
  'why-2msl': {
    client: ['SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'TIME-WAIT', 'CLOSED', 'SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'TIME-WAIT', 'CLOSED'],
    server: ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED'],
  },
  'why-2msl-kept': {
    client: ['SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'TIME-WAIT', 'CLOSED', 'SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSED'],
    server: ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED'],
  },
  'never-closes': { flags: ['>SYN', '<SYN+ACK', '>ACK', '>FIN+ACK', '<ACK', '<PSH+ACK', '>RST'], client: ['SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSED'], server: ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'CLOSED'] },
  'syn-flood-no-defence': { client: ['SYN-SENT', 'CLOSED'], server: ['LISTEN'] },
  'syn-flood-rate-limit': { client: ['SYN-SENT', 'ESTABLISHED'], server: ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED'] },
  'half-open': { flags: ['>SYN', '<SYN+ACK', '>ACK', '>PSH+ACK', '<RST'], client: ['SYN-SENT', 'ESTABLISHED', 'CLOSED'], server: ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSED'] },
  'blind-rst-793': { flags: ['>SYN', '<SYN+ACK', '>ACK', '>RST', '>PSH+ACK', '<RST'], client: ['SYN-SENT', 'ESTABLISHED', 'CLOSED'], server: ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSED'] },
  'blind-rst-5961': { flags: ['>SYN', '<SYN+ACK', '>ACK', '>RST', '<ACK', '>PSH+ACK', '<ACK'], client: ['SYN-SENT', 'ESTABLISHED'], server: ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED'] },
  http: { client: ['SYN-SENT', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED'], server: ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'TIME-WAIT', 'CLOSED'] },
};

test('every scenario in SCENARIOS has an expectation here', () => {
  assert.deepEqual(SCENARIOS.map((s) => s.name).sort(), Object.keys(EXPECT).sort());
});

for (const s of SCENARIOS) {
  test(`scenario ${s.name}: flags on the wire and both sides' states`, async () => {
    const r = await runScenario(s.name, { seed: 3, port: 8080 });
    const e = EXPECT[s.name]!;
    if (e.flags) assert.deepEqual(flagSeq(r), e.flags, flagSeq(r).join(' '));
    assert.deepEqual(r.clientStates, e.client);
    assert.deepEqual(r.serverStates, e.server);
  });
}

test('refused: the client gets ECONNREFUSED and the server counted the RST', async () => {
  const r = await runScenario('refused', { seed: 1 });
  assert.match(r.notes.join('\n'), /ECONNREFUSED/);
  assert.equal(r.server.counters.NoPortRsts, 1);
});

test('invalid-flags: each combination dropped and counted once, connection unharmed', async () => {
  const r = await runScenario('invalid-flags', { seed: 1 });
  assert.deepEqual(r.server.stats.invalidFlags, { 'syn-fin': 1, 'syn-rst': 1, 'fin-rst': 1, null: 1, 'fin-no-ack': 1, xmas: 1 });
  assert.match(r.notes.join('\n'), /connection still ESTABLISHED/);
});

test('syn-flood: cookies carry a real client through a full SYN queue', async () => {
  const r = await runScenario('syn-flood', { seed: 1 });
  assert.ok(r.server.counters.SyncookiesSent >= 1900);
  assert.equal(r.server.counters.SyncookiesRecv, 1);
  assert.match(r.notes.join('\n'), /hello through a cookie/);
});

test('lossy-transfer: every byte delivered intact despite 10% loss, with retransmissions', async () => {
  const r = await runScenario('lossy-transfer', { seed: 5 });
  assert.match(r.notes.join('\n'), /delivered 65536\/65536 bytes intact/);
  assert.ok(r.client.stats.RetransSegs > 0);
  assert.ok(r.trace.entries.some((e) => e.lost));
});

test('the demo pcapng of all scenarios opens in tshark with the same packets and zero malformed', { skip: !hasTshark && 'tshark not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synack-demo-'));
  const file = join(dir, 'demo.pcapng');
  const tap = PcapngTap.toFile(file, { interfaceName: 'synack0' });
  let expected = 0;
  const flags: string[] = [];
  let off = 0;
  for (const [i, s] of SCENARIOS.entries()) {
    const r = await runScenario(s.name, { seed: 2, port: 8001 + i });
    tap.comment(`scenario ${s.name}`);
    for (const p of r.packets) { tap.record(off + p.time, p.bytes, p.from === 'a' ? 'outbound' : 'inbound'); expected++; }
    for (const e of r.trace.entries) if (!e.lost) flags.push(flagsToString(e.seg.flags));
    off += r.duration + 1000;
  }
  await tap.close();
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number', '-e', '_ws.malformed', '-e', 'tcp.checksum.status', '-o', 'tcp.check_checksum:TRUE'], { encoding: 'utf8' });
  const rows = out.trim().split('\n').map((l) => l.split('\t'));
  assert.equal(rows.length, expected);
  assert.equal(rows.filter((r) => r[1]).length, 0, 'no malformed packets');
  assert.equal(rows.filter((r) => r[2] !== '1').length, 0, 'every TCP checksum verified good (status 1)');
  writeFileSync(join(dir, 'ok'), '');
});
