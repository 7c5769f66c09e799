/**
 * CUBIC (RFC 9438), Linux's HyStart delay exit and HyStart++ (RFC 9406): the controller on an ACK clock of its
 * own, then in the engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cubic } from './cc/cubic.js';
import { Pair } from './pair.js';
import { bytes } from './test-util.js';
import type { TcpConfig } from './config.js';

const MSS = 1000;

/** RFC 9438 §4.2 written out here, independently of cc/cubic.ts: W_cubic(t) = C·(t − K)³ + W_max, K = ∛(W_max·(1 − β)/C). */
function rfcWCubic(tSeconds: number, wMax: number): number {
  const C = 0.4, beta = 0.7;
  const k = Math.cbrt((wMax * (1 - beta)) / C);
  return C * (tSeconds - k) ** 3 + wMax;
}

test('CUBIC after a loss: cwnd drops to β·W_max and then follows W_cubic(t) within one segment, concave then convex', () => {
  const rtt = 100;
  const c = new Cubic(10 * MSS);
  c.onRttSample(rtt, 0, 0, 0);
  // Congestion avoidance at 100 segments, then a loss (recovery ends at ssthresh).
  c.ssthresh = 50 * MSS;
  c.cwnd = 100 * MSS;
  c.onFastRetransmit(100 * MSS, MSS);
  c.onRecoveryEnd(0, MSS);
  assert.equal(c.cwnd, 70 * MSS, 'β = 0.7');
  // An ACK clock: every RTT, one ACK per segment of the window, spread over the round trip.
  const start = 1000;
  let worst = 0;
  let crossed = false;
  let renoFriendly = false;
  // RFC 9438 §4.3: the Reno-friendly estimate, W_est(t), grows by α_cubic = 3(1 − β)/(1 + β) segments per RTT
  // until it reaches W_max, then by 1; where it is above W_cubic(t), cwnd follows it instead.
  let wEst = 70;
  for (let round = 0; round < 75; round++) {
    const n = Math.round(c.cwnd / MSS);
    for (let i = 0; i < n; i++) c.onAck(MSS, MSS, start + round * rtt + (i * rtt) / n);
    wEst += wEst >= 100 ? 1 : (3 * (1 - 0.7)) / (1 + 0.7);
    const t = ((round + 1) * rtt) / 1000;
    const w = Math.max(rfcWCubic(t, 100), wEst);
    if (wEst > rfcWCubic(t, 100) + 1) renoFriendly = true;
    worst = Math.max(worst, Math.abs(c.cwnd / MSS - w));
    if (c.cwnd / MSS > 100.5) crossed = true;
  }
  assert.ok(worst <= 1, `cwnd strayed ${worst.toFixed(2)} segments from max(W_cubic(t), W_est(t))`);
  assert.ok(crossed, 'past K the window probes beyond W_max (convex region)');
  assert.ok(renoFriendly, 'the run reached the Reno-friendly region too');
});

test('CUBIC fast convergence: a loss before W_max is regained lowers W_max to cwnd·(1 + β)/2', () => {
  const c = new Cubic(10 * MSS);
  c.ssthresh = 50 * MSS;
  c.cwnd = 100 * MSS;
  c.onFastRetransmit(0, MSS);
  c.onRecoveryEnd(0, MSS);
  c.cwnd = 80 * MSS;
  c.onFastRetransmit(0, MSS);
  assert.equal(c.wMax, (80 * (1 + 0.7)) / 2);
  assert.equal(c.ssthresh, 56 * MSS);
});

/** HyStart++ rounds by hand: per round, `samples` RTT samples of `rtt` ms, the round ending when SND.UNA passes SND.NXT of its start. */
const clocks = new WeakMap<Cubic, { nxt: number; now: number }>();
function rounds(c: Cubic, rtts: number[], samples = 8): void {
  const clock = clocks.get(c) ?? { nxt: 0, now: 0 };
  clocks.set(c, clock);
  let { nxt, now } = clock;
  for (const rtt of rtts) {
    // The round's first ACK acknowledges what was outstanding when the previous round began.
    const start = nxt, end = nxt + (c.cwnd | 0);
    for (let i = 0; i < samples; i++) {
      now += rtt / samples;
      c.onRttSample(rtt, now, Math.round(start + ((end - start) * i) / samples), end);
      c.onAck(MSS, MSS, now);
    }
    nxt = end;
  }
  clock.nxt = nxt;
  clock.now = now;
}

test('HyStart++ leaves slow start on a delay increase: Conservative Slow Start, then congestion avoidance after 5 rounds', () => {
  const c = new Cubic(10 * MSS, 'rfc9406');
  rounds(c, [50, 50, 50]);
  assert.equal(c.ssthresh, 0x7fffffff, 'constant RTT: still in slow start');
  assert.equal(c.inCss, false);
  // The queue builds: +10 ms ≥ max(4, min(16, 50/8)) ms. Conservative Slow Start grows cwnd a quarter as fast.
  rounds(c, [60]);
  assert.equal(c.inCss, true);
  const before = c.cwnd;
  rounds(c, [60]);
  assert.ok(c.cwnd - before <= (8 * MSS) / 4 + 1, 'CSS growth divided by 4');
  rounds(c, [60, 60, 60, 60]);
  assert.equal(c.inCss, false);
  assert.ok(c.ssthresh === c.cwnd || c.ssthresh < 0x7fffffff, 'slow start is over');
  assert.ok(c.cwnd >= c.ssthresh);
});

test('HyStart++: an RTT increase that goes away in CSS resumes slow start', () => {
  const c = new Cubic(10 * MSS, 'rfc9406');
  rounds(c, [50, 50, 62]);
  assert.equal(c.inCss, true);
  rounds(c, [45]);
  assert.equal(c.inCss, false);
  assert.equal(c.ssthresh, 0x7fffffff);
});

test('Linux HyStart (the default): the same delay increase ends slow start at once, ssthresh = cwnd; no CSS', () => {
  const c = new Cubic(10 * MSS);
  rounds(c, [50, 50, 50]);
  assert.equal(c.ssthresh, 0x7fffffff, 'constant RTT: still in slow start');
  rounds(c, [60]);
  assert.equal(c.inCss, false);
  assert.ok(c.ssthresh < 0x7fffffff, 'slow start is over');
  const at = c.ssthresh;
  assert.ok(c.cwnd >= at && c.cwnd <= at + MSS, 'cwnd stops at ssthresh (no further doubling)');
  // The next round grows by congestion avoidance, far less than slow start's doubling.
  const before = c.cwnd;
  rounds(c, [60]);
  assert.ok(c.cwnd - before < before / 4, `CA growth ${c.cwnd - before} in a round`);
});

/** An 8 MB transfer between two engines; the one-way delay grows by `extra` ms once 150 ms have passed. */
function bulk(extra: number, config: Partial<TcpConfig>): Pair {
  const cfg: Partial<TcpConfig> = { sendBufferSize: 8 << 20, sendBufferAutotune: false, recvBufferSize: 8 << 20, ...config };
  const p: Pair = new Pair({ localPort: 1, remotePort: 2, iss: 1, config: cfg }, { localPort: 2, remotePort: 1, iss: 9, config: cfg }, {
    delay: 20, record: false, jitter: (from): number => (from === 'a' && p.now > 150 ? extra : 0),
  });
  p.b.listen(0);
  p.a.connect(0);
  p.run((q) => q.a.state === 'ESTABLISHED');
  p.a.send(bytes(8 << 20), p.now);
  let got = 0;
  p.onStep = (q) => { for (let b = q.b.read(); b.length; b = q.b.read()) got += b.length; };
  p.run(() => got >= 8 << 20, 120_000);
  assert.equal(got, 8 << 20);
  return p;
}

test('in the engine: a growing delay ends slow start without a loss (HyStart, HyStart++); a constant one does not', () => {
  for (const hystart of ['linux', 'rfc9406'] as const) {
    const delayed = bulk(25, { hystart });
    assert.equal(delayed.a.stats.RetransSegs, 0);
    assert.ok(delayed.a.slowStartThreshold < 0x7fffffff, `${hystart}: ssthresh set`);
    const flat = bulk(0, { hystart });
    assert.equal(flat.a.slowStartThreshold, 0x7fffffff, `${hystart}: no delay increase: slow start throughout`);
  }
});

/**
 * Linux HyStart's ACK train by hand: per round, one ACK per segment of cwnd (one round trip of `rtt` ms after
 * the round's first), the ACKs `spacing` ms apart (a bottleneck's serialisation: they come back as the
 * packets left it). Returns the cwnd (segments) at which slow start ended, or -1.
 */
function trainRounds(c: Cubic, rtt: number, spacing: number, rounds: number): number {
  let now = 0, nxt = 0;
  for (let r = 0; r < rounds; r++) {
    const n = Math.round(c.cwnd / MSS);
    const start = nxt, end = nxt + n * MSS;
    for (let i = 0; i < n; i++) {
      const t = now + rtt + i * spacing;
      c.onRttSample(rtt + i * spacing * 0.01, t, start + i * MSS + 1, end);
      if (c.ssthresh < 0x7fffffff) return Math.round(c.cwnd / MSS);
      c.onAck(MSS, MSS, t);
    }
    now += rtt + n * spacing;
    nxt = end;
  }
  return -1;
}

test('Linux HyStart: slow start ends once a round\'s ACK train outlasts half the minimum RTT (cwnd ≥ 16), before any delay increase', () => {
  // 1 ms RTT, ACKs 0.05 ms apart (a 1000-B packet at 160 Mbit/s): the train of a 16-segment round lasts 0.75 ms.
  // The cushion (four 64 KiB aggregates at the pacing rate 2·cwnd/RTT) is capped at 1 ms: threshold (1 + 1)/2.
  const c = new Cubic(10 * MSS);
  const at = trainRounds(c, 1, 0.05, 10);
  assert.ok(at >= 16 && at <= 64, `slow start ended at ${at} segments (a 1 ms train needs 20 ACKs at 0.05 ms)`);
  assert.equal(c.ssthresh, c.cwnd, 'ssthresh = cwnd, as the delay test sets it');
  // ACKs that come back together (no bottleneck yet) are no train: slow start goes on.
  const burst = new Cubic(10 * MSS);
  assert.equal(trainRounds(burst, 1, 0, 6), -1);
  // ACKs more than 2 ms apart are no train either (hystart_ack_delta_us).
  const sparse = new Cubic(10 * MSS);
  assert.equal(trainRounds(sparse, 1, 2.5, 3), -1);
  // HyStart++ (RFC 9406) has no ACK-train test.
  const rfc = new Cubic(10 * MSS, 'rfc9406');
  assert.equal(trainRounds(rfc, 1, 0.05, 6), -1);
});

test('Linux HyStart: no ACK-train exit below 16 segments (hystart_low_window)', () => {
  const c = new Cubic(4 * MSS);
  // 1.5 ms between ACKs: 4 segments already make a 4.5 ms train, far beyond (RTT + cushion)/2; the floor holds it.
  // A round is the ACKs up to SND.NXT at its start: segments [0, 12), then the next ones.
  let now = 0;
  for (let i = 0; i < 11; i++) {
    now += 1.5;
    c.onRttSample(1, now, i * MSS + 1, 12 * MSS);
    c.onAck(MSS, MSS, now);
  }
  assert.equal(c.ssthresh, 0x7fffffff, `cwnd ${c.cwnd / MSS} segments: below the floor`);
  // Like Linux, a train only counts from the start of a round in which cwnd had reached the floor.
  for (let i = 11; i < 20; i++) {
    now += 1.5;
    c.onRttSample(1, now, i * MSS + 1, 64 * MSS);
    c.onAck(MSS, MSS, now);
  }
  assert.ok(c.ssthresh < 0x7fffffff, `past 16 segments the train ends slow start (cwnd ${c.cwnd / MSS})`);
});

test('in the engine: on a 0.2 ms path with a 200 Mbit/s bottleneck, slow start ends by the ACK train before the queue reaches the 4 ms the delay test needs', () => {
  /**
   * One 4 MB transfer from a to b through a FIFO bottleneck of 200 Mbit/s (queue unlimited): the largest queueing
   * delay a segment met while a was in slow start (including HyStart++'s conservative rounds).
   */
  const run = (hystart: 'linux' | 'rfc9406'): { queue: number; ssthresh: number; rtx: number } => {
    const cfg: Partial<TcpConfig> = { sendBufferSize: 8 << 20, sendBufferAutotune: false, recvBufferSize: 8 << 20, hystart };
    let busyUntil = 0, queue = 0;
    const p: Pair = new Pair({ localPort: 1, remotePort: 2, iss: 1, config: cfg }, { localPort: 2, remotePort: 1, iss: 9, config: cfg }, {
      delay: 0.1, record: false,
      jitter: (from, seg): number => {
        if (from !== 'a') return 0;
        const start = Math.max(busyUntil, p.now);
        busyUntil = start + ((seg.payload.length + 52) * 8) / 200e3; // ms at 200 Mbit/s
        if (p.a.slowStartThreshold === 0x7fffffff || p.a.congestionWindow < p.a.slowStartThreshold) queue = Math.max(queue, start - p.now);
        return busyUntil - p.now;
      },
    });
    p.b.listen(0);
    p.a.connect(0);
    p.run((q) => q.a.state === 'ESTABLISHED');
    p.a.send(bytes(4 << 20), p.now);
    let got = 0;
    p.onStep = (q) => { for (let b = q.b.read(); b.length; b = q.b.read()) got += b.length; };
    p.run(() => got >= 4 << 20, 60_000);
    assert.equal(got, 4 << 20);
    return { queue, ssthresh: p.a.slowStartThreshold, rtx: p.a.stats.RetransSegs };
  };
  const linux = run('linux');
  assert.equal(linux.rtx, 0);
  assert.ok(linux.ssthresh < 0x7fffffff, 'slow start ended without a loss');
  // The pipe (~5 kB) is full long before 16 segments; the train ends slow start there, with a 16-segment burst queued.
  assert.ok(linux.queue < 2, `largest queueing delay in slow start ${linux.queue.toFixed(2)} ms`);
  // The delay test alone (HyStart++ has no train) lets the queue grow past 4 ms first.
  const delayOnly = run('rfc9406');
  assert.ok(delayOnly.queue >= 4, `delay test alone: largest queueing delay in slow start ${delayOnly.queue.toFixed(2)} ms`);
});
