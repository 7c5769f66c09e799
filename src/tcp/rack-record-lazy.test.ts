/**
 * The RACK record (recovery/rack.ts) is created only when a second segment goes out while one is in flight, or when
 * a SACK, a retransmission, an RTO or recovery needs it; until then the one segment in flight is kept inline
 * (logSent), with the FIN when that went alone after it (a socket's end(data), at the same time; a server's response
 * and its close a turn of the event loop later, at a later clock reading). A connection whose record exists from the start (created before connect, as every connection's was
 * at its first send) must put exactly the same segments on the wire at the same times, with losses, duplicates and
 * reordering, SACK and timestamps on or off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, type Fate } from './pair.js';
import { FIN } from '../wire/tcp-types.js';
import type { TcpConfig } from './config.js';
import { TcpConnection } from './connection.js';
import { bytes, mulberry32 } from './test-util.js';

interface Run {
  wire: string[]; times: number[]; read: [number, number]; sent: [number, number]; states: [string, string]; retrans: number;
  answered: number; rackA: boolean; rackB: boolean;
}

/**
 * How an exchange ends. 'together': both shut down once everything is read. 'server': b's last response is followed
 * by its FIN once the response has gone out, at the same time (a server's end(response); node:net on Linux sends
 * them as two segments), and a closes when it has read it. 'both': a's last request is followed by its FIN the
 * same way, then b's last response by b's (a socket's end(data) at both ends).
 */
type Close = 'together' | 'server' | 'both';

const ROUNDS = 6;

/**
 * Request/response exchanges over a lossy wire: `a` sends a request, `b` answers once it has read it whole, `a`
 * sends the next once it has read the answer whole; finally both close (`close`). `eager`: both records created
 * before the connection opens. `small`: every request and response fits one segment.
 */
function exchange(seed: number, eager: boolean, cfg: Partial<TcpConfig>, loss: number, small = false, close: Close = 'together'): Run {
  const rnd = mulberry32(seed);
  const sizes: Array<[number, number]> = [];
  for (let i = 0; i < ROUNDS; i++) sizes.push([1 + Math.floor(rnd() * (small || rnd() < 0.5 ? 100 : 6000)), 1 + Math.floor(rnd() * (small || rnd() < 0.5 ? 100 : 9000))]);
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
  let round = 0, answered = 0, readA = 0, readB = 0, wantB = 0, wantA = 0, closed = false;
  p.onStep = () => {
    const now = p.now;
    readB += b.read().length;
    readA += a.read().length;
    if (a.state === 'SYN-SENT') return;
    if (round < ROUNDS && answered === round && readA === wantA) {
      const req = sizes[round]![0];
      a.send(bytes(req), now);
      wantB += req;
      round++;
      if (close === 'both' && round === ROUNDS) { p.flush(); a.shutdown(now); }
    } else if (answered < round && readB === wantB) {
      const res = sizes[answered]![1];
      b.send(bytes(res, 0x62), now);
      wantA += res;
      answered++;
      if (close !== 'together' && answered === ROUNDS) { p.flush(); b.shutdown(now); }
    } else if (answered === ROUNDS && readA === wantA && readB === wantB && !closed) {
      if (close === 'together') { a.shutdown(now); b.shutdown(now); } else if (close === 'server') a.shutdown(now);
      closed = true;
    }
  };
  p.run((q) => q.a.state === 'CLOSED' || (q.a.state === 'TIME-WAIT' && q.b.state === 'CLOSED'), 600_000);
  return {
    wire: p.describe(), times: p.log.map((r) => r.time), read: [readA, readB], sent: [wantA, wantB], states: [a.state, b.state],
    retrans: a.stats.RetransSegs + b.stats.RetransSegs, answered, rackA: a.rackCreated, rackB: b.rackCreated,
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

const CLOSES: Array<[Close, string]> = [
  ['together', 'both close once all is read'],
  ['server', 'the last response followed by its FIN'],
  ['both', 'the last request and the last response each followed by a FIN'],
];

for (const [name, cfg] of CONFIGS) {
  for (const [close, how] of CLOSES) {
    test(`a record created when first needed sends what one made at the start sends (${name}, ${how}; losses, duplicates, reordering)`, () => {
      let lossy = 0, apart = 0;
      for (let seed = 1; seed <= 40; seed++) {
        const loss = seed % 4 === 0 ? 0 : 0.05 + (seed % 5) * 0.03;
        // Every third seed with requests and responses of one segment: the FIN then goes alone right after it.
        const small = seed % 3 === 0;
        const eager = exchange(seed, true, cfg, loss, small, close);
        const lazy = exchange(seed, false, cfg, loss, small, close);
        assert.deepEqual(lazy.wire, eager.wire, `seed ${seed}: segments on the wire`);
        assert.deepEqual(lazy.times, eager.times, `seed ${seed}: times on the wire`);
        assert.deepEqual([lazy.read, lazy.states, lazy.retrans], [eager.read, eager.states, eager.retrans], `seed ${seed}`);
        assert.deepEqual(lazy.read, lazy.sent, `seed ${seed}: every request and response read whole`);
        assert.equal(lazy.answered, ROUNDS, `seed ${seed}: every request answered`);
        if (eager.retrans > 0) lossy++;
        // A data segment and then, at the same time, a lone FIN from the same end (the case the inline pair covers).
        if (lazy.wire.some((l, i) => / len=\d+/.test(l) && i + 1 < lazy.wire.length && lazy.times[i + 1] === lazy.times[i]
          && lazy.wire[i + 1]!.slice(0, 3) === l.slice(0, 3) && /^... FIN\+ACK seq=\d+ ack=\d+( \[\w+\])?$/.test(lazy.wire[i + 1]!))) apart++;
      }
      assert.ok(lossy >= 10, `the scenarios recover from losses (${lossy} of 40 retransmitted)`);
      if (close !== 'together') assert.ok(apart >= 10, `data then a lone FIN at the same time (${apart} of 40)`);
    });
  }
}

for (const close of ['together', 'server', 'both'] as const) {
  test(`request/response without loss keeps no record of sent segments: one segment in flight at a time (${close})`, () => {
    const run = exchange(12, false, {}, 0, true, close);
    assert.equal(run.retrans, 0);
    assert.ok(run.read[0] > 0 && run.read[1] > 0);
    assert.deepEqual(run.read, run.sent, 'every request and response read whole');
    assert.equal(run.answered, ROUNDS);
    if (close !== 'together') {
      const fins = run.wire.filter((l) => /^b>a FIN\+ACK seq=\d+ ack=\d+$/.test(l));
      assert.equal(fins.length, 1, 'the server\'s FIN went alone');
    }
    // 'together': b's FIN leaves while its last response may still be unacknowledged (a sent its delayed ACK later).
    if (close === 'together') assert.equal(run.rackA, false, 'the client sent one segment per flight');
    else assert.deepEqual([run.rackA, run.rackB], [false, false], 'each end sent one segment per flight, or one and its FIN');
  });
}

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

/**
 * One request, its response, then the server's FIN alone, `finAfter` ms later (0: at the same time, a server's
 * end(response); more: node:http closing once the response's write completed, a later clock reading). `fate`
 * decides what happens to b's response (data) and to its lone FIN. Returns the wire, its times, and whether b built
 * the record.
 */
function responseThenFin(eager: boolean, cfg: Partial<TcpConfig>, fate: (kind: 'data' | 'fin', nth: number) => Fate | 'late', finAfter = 0): { wire: string[]; times: number[]; rackB: boolean; read: number } {
  const seen = { data: 0, fin: 0 };
  const config: Partial<TcpConfig> = { mss: 1000, ...cfg };
  const p = new Pair({ localPort: 1000, remotePort: 80, iss: 7, config }, { localPort: 80, remotePort: 1000, iss: 9000, config }, {
    // RTTs above the RTO's floor, so that each RTT sample moves the timers (and a sample missed shows on the wire).
    delay: 60,
    fate: (from, seg) => {
      if (from !== 'b' || (seg.payload.length === 0 && !(seg.flags & FIN))) return 'deliver';
      const f = fate(seg.payload.length > 0 ? 'data' : 'fin', seg.payload.length > 0 ? seen.data++ : seen.fin++);
      return f === 'late' ? 'deliver' : f;
    },
    // A FIN marked 'late' arrives 3 ms after the data sent with it: the data is acknowledged alone first.
    jitter: (from, seg) => (from === 'b' && seg.payload.length === 0 && (seg.flags & FIN) && fate('fin', -1) === 'late' ? 3 : 0),
  });
  if (eager) { void p.a.rack; void p.b.rack; }
  p.b.listen(0);
  p.a.connect(0);
  p.run((q) => q.a.state === 'ESTABLISHED' && q.b.state === 'ESTABLISHED');
  p.a.send(bytes(40), p.now);
  let read = 0, answered = false, closed = false;
  p.onStep = () => {
    read += p.a.read().length;
    if (!answered && p.b.read().length === 40) {
      answered = true;
      p.b.send(bytes(300, 0x62), p.now);
      p.flush();
      p.now += finAfter; // nothing is due before the response reaches a (60 ms)
      p.b.shutdown(p.now);
    } else if (!closed && read === 300 && p.a.state === 'CLOSE-WAIT') {
      closed = true;
      p.a.shutdown(p.now);
    }
  };
  p.run((q) => q.a.state === 'CLOSED', 600_000);
  return { wire: p.describe(), times: p.log.map((r) => r.time), rackB: p.b.rackCreated, read };
}

/** What happens to b's response and FIN; whether the record may be built (a retransmission or a SACK needs it). */
const FIN_FATES: Array<[string, (kind: 'data' | 'fin', nth: number) => Fate | 'late', boolean]> = [
  ['the lone FIN lost, the response acknowledged alone', (k, n) => (k === 'fin' && n === 0 ? 'drop' : 'deliver'), true],
  ['the response lost, its FIN delivered', (k, n) => (k === 'data' && n === 0 ? 'drop' : 'deliver'), true],
  ['both lost', (_k, n) => (n === 0 ? 'drop' : 'deliver'), true],
  ['the FIN arriving late: the response acknowledged alone first', (k) => (k === 'fin' ? 'late' : 'deliver'), false],
  ['both delivered', () => 'deliver', false],
  // The D-SACK for the copy (RFC 2883) builds the record.
  ['the response duplicated', (k, n) => (k === 'data' && n === 0 ? 'duplicate' : 'deliver'), true],
];

for (const [name, cfg] of CONFIGS) {
  test(`a response and its lone FIN kept inline, then lost or late: what a record made at the start sends (${name})`, () => {
    for (const [fateName, fate, mayBuild] of FIN_FATES) for (const finAfter of [0, 0.5, 7]) {
      const what = `${fateName}, the FIN ${finAfter} ms after the response`;
      const eager = responseThenFin(true, cfg, fate, finAfter);
      const lazy = responseThenFin(false, cfg, fate, finAfter);
      assert.deepEqual(lazy.wire, eager.wire, `${what}: segments on the wire`);
      assert.deepEqual(lazy.times, eager.times, `${what}: times on the wire`);
      assert.equal(lazy.read, 300, `${what}: the response read whole`);
      assert.ok(lazy.wire.some((l) => /^b>a FIN\+ACK seq=\d+ ack=\d+/.test(l)), `${what}: the FIN went alone`);
      if (!mayBuild) assert.equal(lazy.rackB, false, `${what}: nothing resent, no record built`);
    }
  });
}

test('the record built from a response and its lone FIN kept inline holds the entries a record made at the start holds', () => {
  // `finAfter`: ms between the response and the FIN; `dropFin`: the FIN is lost and the response acknowledged alone
  // before the record is built. The record is built (as a SACK, a timer or a retransmission would) once both left.
  const entries = (eager: boolean, finAfter: number, dropFin: boolean, tsOk: boolean): { q: unknown[]; created: boolean } => {
    const config: Partial<TcpConfig> = { mss: 1000, timestamps: tsOk };
    const p = new Pair({ localPort: 1000, remotePort: 80, iss: 7, config }, { localPort: 80, remotePort: 1000, iss: 9000, config }, {
      delay: 60,
      fate: (from, seg) => (dropFin && from === 'b' && seg.payload.length === 0 && (seg.flags & FIN) ? 'drop' : 'deliver'),
    });
    if (eager) void p.b.rack;
    p.b.listen(0);
    p.a.connect(0);
    p.run((q) => q.a.state === 'ESTABLISHED' && q.b.state === 'ESTABLISHED');
    p.a.send(bytes(40), p.now);
    p.run((q) => q.b.readableLength === 40);
    p.b.read();
    p.now += 0.25; // a clock reading that is no whole millisecond
    p.b.send(bytes(300, 0x62), p.now);
    p.flush();
    p.now += finAfter;
    p.b.shutdown(p.now);
    p.flush();
    if (dropFin) p.run((q) => q.b.bytesInFlight === 1);
    const created = p.b.rackCreated;
    const r = p.b.rack;
    return { q: r.q.slice(r.head).map((s) => ({ ...s })), created };
  };
  for (const tsOk of [true, false]) {
    for (const [finAfter, dropFin] of [[0, false], [0, true], [5, false], [5, true]] as const) {
      const eager = entries(true, finAfter, dropFin, tsOk), lazy = entries(false, finAfter, dropFin, tsOk);
      const what = `FIN ${finAfter} ms after the response${dropFin ? ', lost, the response acknowledged' : ''}, timestamps ${tsOk}`;
      assert.deepEqual(lazy.q, eager.q, what);
      assert.equal(lazy.q.length, dropFin ? 1 : 2, `${what}: entries in flight`);
      // Sent at the same time or later, both stay inline: the FIN keeps its own send time.
      assert.equal(lazy.created, false, `${what}: no record built when the FIN went`);
    }
  }
});
