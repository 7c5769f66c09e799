/**
 * The "why" scenarios (issue 18): each shows the answer to one of the seeds' why-questions on two real synack
 * stacks. Asserted on what happened (states, errors, bytes read) and on the wire pattern of its pcapng as
 * tshark reads it (skipped when tshark is absent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario, SCENARIOS, type ScenarioResult } from './scenarios.js';
import { PcapngTap } from './pcapng-tap.js';

const hasTshark = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;
const noTshark = !hasTshark && 'tshark not installed';

interface Frame { n: number; src: string; sport: number; dport: number; flags: string; seq: number; ack: number; len: number; payload: string; analysis: string }

/** The scenario's packets as a pcapng, read back by tshark: one row per frame. */
async function tsharkFrames(r: ScenarioResult): Promise<Frame[]> {
  const file = join(mkdtempSync(join(tmpdir(), 'synack-why-')), `${r.name}.pcapng`);
  const tap = PcapngTap.toFile(file, { interfaceName: 'synack0' });
  for (const p of r.packets) tap.record(p.time, p.bytes, p.from === 'a' ? 'outbound' : 'inbound');
  await tap.close();
  const fields = ['frame.number', 'ip.src', 'tcp.srcport', 'tcp.dstport', 'tcp.flags.str', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.len', 'tcp.payload', 'tcp.analysis.flags', 'tcp.analysis.retransmission'];
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=\t', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return out.trim().split('\n').map((l) => {
    const c = l.split('\t');
    // tcp.flags.str is like "·······A···F" (dots U+00B7): keep the letters.
    return { n: +c[0]!, src: c[1]!, sport: +c[2]!, dport: +c[3]!, flags: c[4]!.replace(/[^A-Z]/g, ''), seq: +c[5]!, ack: +c[6]!, len: +c[7]!, payload: c[8] ?? '', analysis: `${c[9] ?? ''} ${c[10] ? 'retransmission' : ''}` };
  });
}
const hex = (s: string) => Buffer.from(s, 'latin1').toString('hex');

test('the why scenarios are offered, marked as such', () => {
  const why = SCENARIOS.filter((s) => s.why).map((s) => s.name);
  assert.deepEqual(why, ['why-three-way', 'why-time-wait', 'why-2msl', 'why-2msl-kept', 'never-closes', 'syn-flood-no-defence', 'syn-flood-rate-limit', 'half-open', 'blind-rst-793', 'blind-rst-5961']);
});

test('a blind in-window RST: RFC 793\'s rule kills the connection, RFC 5961\'s answers a challenge ACK and the data arrives', async () => {
  const old = await runScenario('blind-rst-793', { seed: 1 });
  assert.match(old.notes.join('\n'), /server after the RST: CLOSED/);
  assert.match(old.notes.join('\n'), /error ECONNRESET/);
  const now = await runScenario('blind-rst-5961', { seed: 1 });
  assert.match(now.notes.join('\n'), /challenge ACKs sent: 1/);
  assert.match(now.notes.join('\n'), /server read "still there\?"/);
  if (!hasTshark) return;
  // On the wire: the RST from the client's address is in the window (not at RCV.NXT); under RFC 5961 the server's
  // next segment is an ACK of RCV.NXT to the real client; under RFC 793 the client's data draws a RST.
  for (const [r, rfc5961] of [[old, false], [now, true]] as const) {
    const f = await tsharkFrames(r);
    const i = f.findIndex((x) => x.flags === 'R' && x.src === '10.0.0.1');
    const rst = f[i]!;
    const lastAck = f.slice(0, i).reverse().find((x) => x.src === '10.0.0.1')!;
    assert.equal(rst.seq, (lastAck.seq + 1000) >>> 0, 'RCV.NXT + 1000');
    const next = f[i + 1]!;
    if (rfc5961) {
      assert.deepEqual([next.src, next.flags, next.ack], ['10.0.0.2', 'A', lastAck.seq], 'challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT>');
    } else {
      assert.deepEqual([next.src, next.len > 0], ['10.0.0.1', true]);
      assert.deepEqual([f[i + 2]!.src, f[i + 2]!.flags], ['10.0.0.2', 'R']);
    }
  }
});

test('why three segments: the old duplicate SYN is answered SYN+ACK, the client resets it, and no half-open connection stays', async () => {
  const r = await runScenario('why-three-way', { seed: 1 });
  assert.match(r.notes.join('\n'), /holds 0 connection\(s\) for the old SYN/);
  assert.deepEqual(r.serverStates.slice(0, 3), ['LISTEN', 'SYN-RECEIVED', 'LISTEN']);
  // Beside it: the hypothetical two-way handshake leaves the server ESTABLISHED on the old SYN.
  assert.match(r.aside!.title, /^Hypothetical/);
  assert.equal(r.aside!.trace.entries[0]!.stateB, 'ESTABLISHED');
  assert.equal(r.aside!.trace.entries[0]!.seg.seq, r.trace.entries[0]!.seg.seq);
});

test('why three segments, on the wire (tshark): SYN, SYN+ACK acking it, RST at the SYN+ACK\'s ack, then a new handshake', { skip: noTshark }, async () => {
  const f = await tsharkFrames(await runScenario('why-three-way', { seed: 1 }));
  const [oldSyn, synAck, rst, syn2, synAck2, ack] = f;
  assert.deepEqual(f.map((x) => x.flags), ['S', 'AS', 'R', 'S', 'AS', 'A']);
  assert.equal(synAck!.ack, (oldSyn!.seq + 1) >>> 0);
  assert.equal(rst!.seq, synAck!.ack, 'RST carries SEQ = the SYN+ACK\'s ACK (RFC 9293 §3.10.7.1)');
  assert.notEqual(syn2!.seq, oldSyn!.seq);
  assert.equal(synAck2!.ack, (syn2!.seq + 1) >>> 0);
  assert.equal(ack!.ack, (synAck2!.seq + 1) >>> 0);
});

test('why TIME-WAIT: the lost last ACK, the server\'s FIN again, re-ACKed, and the 2·MSL timer restarted', async () => {
  const r = await runScenario('why-time-wait', { seed: 1 });
  const lost = r.trace.entries.find((e) => e.lost)!;
  const fins = r.trace.entries.filter((e) => e.from === 'b' && e.seg.flags & 1);
  assert.equal(fins.length, 2);
  assert.ok(fins[1]!.time > lost.time);
  const closed = r.trace.changes!.find((c) => c.side === 'a' && c.to === 'CLOSED')!;
  assert.equal(closed.time, fins[1]!.time + 10 + 60_000, 'TIME-WAIT ends 2·MSL after the retransmitted FIN arrived');
  assert.match(r.notes.join('\n'), /server error: none/);
});

test('why TIME-WAIT, on the wire (tshark): the server\'s FIN twice (tshark flags the second a retransmission), the client\'s ACK twice', { skip: noTshark }, async () => {
  const f = await tsharkFrames(await runScenario('why-time-wait', { seed: 1 }));
  const serverFins = f.filter((x) => x.sport === 8000 || (x.src === '10.0.0.2' && x.flags.includes('F')));
  const fins = serverFins.filter((x) => x.flags.includes('F'));
  assert.equal(fins.length, 2);
  assert.equal(fins[0]!.seq, fins[1]!.seq);
  assert.match(fins[1]!.analysis, /retransmission/);
  const acksOfFin = f.filter((x) => x.src === '10.0.0.1' && x.flags === 'A' && x.ack === ((fins[0]!.seq + 1) >>> 0));
  assert.equal(acksOfFin.length, 2, 'the lost ACK is in the capture (it left the client) and the second one too');
});

test('why 2·MSL: with TIME-WAIT at zero the old segment\'s bytes become the new connection\'s; kept, they never do', async () => {
  const cut = await runScenario('why-2msl', { seed: 1 });
  assert.match(cut.notes.join('\n'), /CORRUPTED: \d+ of the \d+ bytes/);
  assert.match(cut.notes.join('\n'), /server read "[^"]*OLD DATA[^"]*"… where the client sent "new data/);
  const kept = await runScenario('why-2msl-kept', { seed: 1 });
  assert.match(kept.notes.join('\n'), /arrived intact: the old copy never landed in it/);
});

test('why 2·MSL, on the wire (tshark): the old copy arrives after the new SYN and the server ACKs past it; kept, it draws a RST', { skip: noTshark }, async () => {
  const f = await tsharkFrames(await runScenario('why-2msl', { seed: 1 }));
  const syns = f.filter((x) => x.flags === 'S');
  assert.equal(syns.length, 2);
  const old = f.find((x) => x.n > syns[1]!.n && x.payload.startsWith(hex('OLD DATA').slice(0, 4)) && x.src === '10.0.0.1')
    ?? f.find((x) => x.n > syns[1]!.n && Buffer.from(x.payload, 'hex').toString('latin1').includes('OLD'));
  assert.ok(old, 'an OLD DATA segment after the second SYN');
  const nextServerAck = f.find((x) => x.n > old.n && x.src === '10.0.0.2' && x.flags.includes('A'))!;
  assert.ok(((nextServerAck.ack - old.seq) | 0) > 0 && ((nextServerAck.ack - (old.seq + old.len)) | 0) >= 0, 'the server acknowledged the old bytes as new data');
  const k = await tsharkFrames(await runScenario('why-2msl-kept', { seed: 1 }));
  const ksyns = k.filter((x) => x.flags === 'S');
  const kold = k.find((x) => x.n > 1 && x.n < ksyns[1]!.n && Buffer.from(x.payload, 'hex').toString('latin1').includes('OLD') && k.some((y) => y.n < x.n && y.flags.includes('F') && y.src === '10.0.0.2'))!;
  assert.ok(kold, 'the copy arrives between the close and the second SYN');
  assert.equal(k.find((x) => x.n > kold.n)!.flags, 'R', 'answered by RST');
});

test('the server that never closes: FIN-WAIT-2 times out, the late data draws a RST and the server gets ECONNRESET', async () => {
  const r = await runScenario('never-closes', { seed: 1 });
  const t = r.trace.changes!.find((c) => c.cause === 'fin-wait-2 timer')!;
  const ackOfFin = r.trace.entries.find((e) => e.from === 'b' && e.seg.flags === 16)!;
  assert.equal(t.time - (ackOfFin.time + 10), 60_000);
  assert.match(r.notes.join('\n'), /server error: ECONNRESET/);
});

test('never closes, on the wire (tshark): a FIN from the client only, then data from the server answered by RST', { skip: noTshark }, async () => {
  const f = await tsharkFrames(await runScenario('never-closes', { seed: 1 }));
  assert.equal(f.filter((x) => x.flags.includes('F')).map((x) => x.src).join(), '10.0.0.1');
  const last = f.slice(-2);
  assert.equal(last[0]!.src, '10.0.0.2');
  assert.ok(last[0]!.len > 0);
  assert.equal(last[1]!.flags, 'R');
  assert.equal(last[1]!.seq, last[0]!.ack);
});

test('SYN flood without a defence: the real client times out; with a per-source rate limit it is served', async () => {
  const none = await runScenario('syn-flood-no-defence', { seed: 1 });
  assert.match(none.notes.join('\n'), /client CLOSED, error ETIMEDOUT/);
  assert.ok(none.server.counters.ListenDrops > 1000);
  const limited = await runScenario('syn-flood-rate-limit', { seed: 1 });
  assert.match(limited.notes.join('\n'), /server read: "hello past the flood"/);
  assert.ok(limited.server.counters.SynRateDrops > 900);
  // The cookies variant is the seed syn-flood scenario.
  assert.match((await runScenario('syn-flood', { seed: 1 })).notes.join('\n'), /hello through a cookie/);
});

test('SYN floods, on the wire (tshark): no SYN+ACK ever reaches the real client without a defence; with the rate limit it does', { skip: noTshark }, async () => {
  const none = await tsharkFrames(await runScenario('syn-flood-no-defence', { seed: 1 }));
  const client = none.filter((x) => x.src === '10.0.0.1');
  assert.equal(client.length, 7, 'the SYN and its six retransmissions');
  assert.ok(client.every((x) => x.flags === 'S'));
  assert.equal(none.filter((x) => x.dport === client[0]!.sport).length, 0, 'nothing back to the client');
  const lim = await tsharkFrames(await runScenario('syn-flood-rate-limit', { seed: 1 }));
  const c = lim.find((x) => x.src === '10.0.0.1')!;
  assert.ok(lim.some((x) => x.dport === c.sport && x.flags === 'AS'), 'SYN+ACK to the real client');
  const toFlooder = lim.filter((x) => x.src === '10.0.0.2' && x.dport !== c.sport && x.flags === 'AS').length;
  const fromFlooder = lim.filter((x) => x.src === '198.18.0.66').length;
  assert.ok(toFlooder < fromFlooder / 10, `${toFlooder} SYN+ACKs for ${fromFlooder} flood SYNs in the capture`);
});

test('half-open: after the server restarts, the client\'s next segment draws a RST (tshark: SEQ of the RST = its ACK)', async () => {
  const r = await runScenario('half-open', { seed: 1 });
  assert.match(r.notes.join('\n'), /client error: ECONNRESET/);
  if (!hasTshark) return;
  const f = await tsharkFrames(r);
  const [data, rst] = f.slice(-2);
  assert.equal(data!.src, '10.0.0.1');
  assert.ok(data!.len > 0);
  assert.equal(rst!.flags, 'R');
  assert.equal(rst!.seq, data!.ack);
});
