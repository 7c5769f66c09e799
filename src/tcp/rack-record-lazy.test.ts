/**
 * The RACK record (recovery/rack.ts) is created only when a second segment goes out while one is in flight, or when
 * a SACK, a retransmission, an RTO or recovery needs it; until then the one segment in flight is kept inline
 * (logSent). A connection whose record exists from the start (created before connect, as every connection's was
 * at its first send) must put exactly the same segments on the wire at the same times, with losses, duplicates and
 * reordering, SACK and timestamps on or off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, type Fate } from './pair.js';
import type { TcpConfig } from './config.js';
import { TcpConnection } from './connection.js';
import { bytes, mulberry32 } from './test-util.js';

interface Run { wire: string[]; times: number[]; read: [number, number]; sent: [number, number]; states: [string, string]; retrans: number; rackA: boolean }

/**
 * Request/response exchanges over a lossy wire: `a` sends a request, `b` answers once it has read it whole, then
 * the next; finally both close. `eager`: both records created before the connection opens. `small`: every
 * request and response fits one segment.
 */
function exchange(seed: number, eager: boolean, cfg: Partial<TcpConfig>, loss: number, small = false): Run {
  const rnd = mulberry32(seed);
  const sizes: Array<[number, number]> = [];
  for (let i = 0; i < 6; i++) sizes.push([1 + Math.floor(rnd() * (small || rnd() < 0.5 ? 100 : 6000)), 1 + Math.floor(rnd() * (small || rnd() < 0.5 ? 100 : 9000))]);
  const wireRnd = mulberry32(seed ^ 0x5bd1e995);
  const config: Partial<TcpConfig> = { mss: 1000, ...cfg };
  const a = new TcpConnection({ localPort: 1000, remotePort: 80, iss: seed >>> 1, config });
  const b = new TcpConnection({ localPort: 80, remotePort: 1000, iss: (seed * 7) >>> 0, config });
  if (eager) { void a.rack; void b.rack; }
  const p = new Pair(a, b, {
    delay: 5,
    fate: (): Fate => { const r = wireRnd(); return r < loss ? 'drop' : r < loss * 1.3 ? 'duplicate' : 'deliver'; },
    jitter: () => (wireRnd() < 0.2 ? wireRnd() * 8 : 0),
  });
  b.listen(0);
  a.connect(0);
  let round = 0, readA = 0, readB = 0, wantB = 0, wantA = 0, closed = false;
  p.onStep = () => {
    const now = p.now;
    readB += b.read().length;
    readA += a.read().length;
    if (a.state !== 'ESTABLISHED' || b.state !== 'ESTABLISHED' && b.state !== 'CLOSE-WAIT') return;
    if (round < sizes.length && readB === wantB && readA === wantA) {
      const [req] = sizes[round]!;
      a.send(bytes(req), now);
      wantB += req;
      round++;
    } else if (round > 0 && readB === wantB && readA < wantA + sizes[round - 1]![1] && b.sendQueued === 0 && wantA < readA + sizes[round - 1]![1]) {
      const res = sizes[round - 1]![1];
      b.send(bytes(res, 0x62), now);
      wantA += res;
    } else if (round === sizes.length && readA === wantA && readB === wantB && !closed) {
      a.shutdown(now); b.shutdown(now); closed = true;
    }
  };
  p.run((q) => q.a.state === 'CLOSED' || (q.a.state === 'TIME-WAIT' && q.b.state === 'CLOSED'), 600_000);
  return {
    wire: p.describe(), times: p.log.map((r) => r.time), read: [readA, readB], sent: [wantA, wantB], states: [a.state, b.state],
    retrans: a.stats.RetransSegs + b.stats.RetransSegs, rackA: a.rackCreated,
  };
}

const CONFIGS: Array<[string, Partial<TcpConfig>]> = [
  ['SACK and timestamps', {}],
  ['no SACK', { sack: false }],
  ['no timestamps', { timestamps: false }],
  ['neither, no delayed ACK', { sack: false, timestamps: false, delayedAck: false }],
  ['RACK off (duplicate-ACK counting)', { rack: false }],
  ['TSO segments and pacing', { tsoMaxBytes: 65536, pacing: true }],
];

for (const [name, cfg] of CONFIGS) {
  test(`a record created when first needed sends what one made at the start sends (${name}, losses, duplicates, reordering)`, () => {
    let lossy = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const loss = seed % 4 === 0 ? 0 : 0.05 + (seed % 5) * 0.03;
      const eager = exchange(seed, true, cfg, loss);
      const lazy = exchange(seed, false, cfg, loss);
      assert.deepEqual(lazy.wire, eager.wire, `seed ${seed}: segments on the wire`);
      assert.deepEqual(lazy.times, eager.times, `seed ${seed}: times on the wire`);
      assert.deepEqual([lazy.read, lazy.states, lazy.retrans], [eager.read, eager.states, eager.retrans], `seed ${seed}`);
      assert.deepEqual(lazy.read, lazy.sent, `seed ${seed}: every request and response read whole`);
      if (eager.retrans > 0) lossy++;
    }
    assert.ok(lossy >= 10, `the scenarios recover from losses (${lossy} of 40 retransmitted)`);
  });
}

test('request/response without loss keeps no record of sent segments: one segment in flight at a time', () => {
  const run = exchange(12, false, {}, 0, true);
  assert.equal(run.retrans, 0);
  assert.ok(run.read[0] > 0 && run.read[1] > 0);
  assert.deepEqual(run.read, run.sent, 'every request and response read whole');
  assert.equal(run.rackA, false, 'the client sent one segment per flight');
});

test('a lone segment in flight, lost: the tail loss probe resends it as with a record, then a second segment creates the record', () => {
  const mk = (eager: boolean): { wire: string[]; times: number[]; created: boolean[] } => {
    let dropped = false;
    const created: boolean[] = [];
    const p = new Pair({ localPort: 1, remotePort: 2, iss: 100 }, { localPort: 2, remotePort: 1, iss: 900 }, {
      delay: 10,
      // The first data segment from a is lost.
      fate: (from, seg) => (from === 'a' && seg.payload.length > 0 && !dropped ? ((dropped = true), 'drop') : 'deliver'),
    });
    if (eager) void p.a.rack;
    p.b.listen(0);
    p.a.connect(0);
    p.run((q) => q.a.state === 'ESTABLISHED' && q.b.state === 'ESTABLISHED');
    p.a.send(bytes(10), p.now);
    p.flush();
    created.push(p.a.rackCreated);
    p.run((q) => q.b.readableLength === 10);
    created.push(p.a.rackCreated);
    p.a.send(bytes(3000), p.now);
    p.run((q) => q.b.readableLength === 3010);
    created.push(p.a.rackCreated);
    return { wire: p.describe(), times: p.log.map((r) => r.time), created };
  };
  const eager = mk(true), lazy = mk(false);
  assert.deepEqual(lazy.wire, eager.wire);
  assert.deepEqual(lazy.times, eager.times);
  assert.equal(lazy.wire.filter((l) => l.startsWith('a>b') && / len=10( \[drop\])?$/.test(l)).length, 2, 'sent, lost, resent once');
  // Inline while alone; the probe (a retransmission) makes the record.
  assert.deepEqual(lazy.created, [false, true, true]);
});
