/**
 * Fuzz-style: random but well-typed segments (random flags, seq, ack, window, options, payload, and
 * near-misses around RCV.NXT, SND.UNA, SND.NXT and the window edges), interleaved with timeouts and user
 * calls, into a connection in every state and with every option combination. The engine must never throw
 * (user calls may refuse with a TcpError), never break an invariant, make only RFC state changes, and
 * only ever emit well-formed segments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ACK, FIN, RST, SYN, type TcpOptions, type TcpSegment } from '../wire/tcp-types.js';
import type { TcpStateName } from '../wire/trace.js';
import { TcpError, type TcpConnection } from './connection.js';
import { classifyInvalidFlags } from './flags.js';
import type { TcpConfig } from './config.js';
import { ALL_STATES, LEGAL_TRANSITIONS, LOCAL_PORT, PLAIN, REMOTE_PORT, connectionInvariants, inState } from './test-util.js';

type Num = { kind: 'abs'; v: number } | { kind: 'rel'; base: 'rcvNxt' | 'sndUna' | 'sndNxt' | 'rcvEdge' | 'irs' | 'iss'; d: number };

type Step =
  | { kind: 'seg'; flags: number; seq: Num; ack: Num; window: number; urgent: number; options: TcpOptions; len: number; dt: number }
  | { kind: 'timeout' }
  | { kind: 'user'; call: 'send' | 'read' | 'shutdown' | 'close' | 'abort' | 'nodelay' | 'keepalive'; n: number };

const nearDelta = fc.oneof(
  { weight: 4, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: -3, max: 3 }) },
  { weight: 2, arbitrary: fc.integer({ min: -70_000, max: 70_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(-(2 ** 31), 2 ** 31 - 1, 65535, -65535) },
);
const num: fc.Arbitrary<Num> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abs' as const), v: fc.integer({ min: 0, max: 0xffffffff }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('rel' as const), base: fc.constantFrom('rcvNxt', 'sndUna', 'sndNxt', 'rcvEdge', 'irs', 'iss') as fc.Arbitrary<'rcvNxt'>, d: nearDelta }) },
);
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const options: fc.Arbitrary<TcpOptions> = fc.record({
  mss: fc.integer({ min: 0, max: 65535 }),
  wscale: fc.integer({ min: 0, max: 255 }),
  sackPermitted: fc.constant(true),
  sack: fc.array(u32, { maxLength: 9 }),
  tsVal: u32,
  tsEcr: u32,
}, { requiredKeys: [] });
const flagsArb = fc.oneof(
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0x1ff }) },
  { weight: 5, arbitrary: fc.constantFrom(ACK, ACK | 0x08, ACK | 0x08, FIN | ACK, RST, RST | ACK, SYN, SYN | ACK) },
);
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('seg' as const), flags: flagsArb, seq: num, ack: num, window: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 65535 })), urgent: fc.integer({ min: 0, max: 65535 }), options, len: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 })), dt: fc.integer({ min: 0, max: 2000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('timeout' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('user' as const), call: fc.constantFrom('send', 'read', 'shutdown', 'close', 'abort', 'nodelay', 'keepalive') as fc.Arbitrary<'send'>, n: fc.integer({ min: 0, max: 5000 }) }) },
);

const CONFIGS: Array<[string, Partial<TcpConfig>, TcpOptions]> = [
  ['plain', PLAIN, {}],
  ['all options', { delayedAck: true, nagle: true, keepAlive: true, keepAliveIdle: 5000, keepAliveInterval: 1000, keepAliveProbes: 2 }, { mss: 1200, wscale: 7, sackPermitted: true, tsVal: 1000, tsEcr: 0 }],
  ['BSD-like knobs', { recvBufferSize: 65700, sendBufferSize: 32768, windowShift: 6, rtoMin: 30, rtoSlop: 200, finOnAck: true, ackOfDuplicate: true, listenSynAck: 'drop', delayedAck: true, ackFinImmediately: true, receiverSws: 'bsd', abortRstAck: true, keepInit: 75_000 }, { mss: 1460, wscale: 6, sackPermitted: true, tsVal: 5, tsEcr: 0 }],
  ['Linux-like knobs', { windowShift: 6, delayedAck: true, quickAckSegments: 16, ackFinImmediately: 'if-no-data', abortRstAck: true, ackOfDuplicate: true, synLinearTimeouts: 4 }, { mss: 1460, wscale: 7, sackPermitted: true, tsVal: 5, tsEcr: 0 }],
  ['small buffers', { ...PLAIN, sack: true, timestamps: true, windowScaling: true, recvBufferSize: 3000, sendBufferSize: 2000, challengeAckLimit: 3, maxRetransmits: 3 }, { sackPermitted: true, tsVal: 0xfffffff0, wscale: 14 }],
];

function resolve(c: TcpConnection, n: Num): number {
  if (n.kind === 'abs') return n.v >>> 0;
  const base = n.base === 'rcvNxt' ? c.rcvNxt : n.base === 'sndUna' ? c.sndUna : n.base === 'sndNxt' ? c.sndNxt
    : n.base === 'rcvEdge' ? c.rcvNxt + c.rcvWnd : n.base === 'irs' ? c.irs : c.iss;
  return (base + n.d) >>> 0;
}

/** Bring a connection into `state` whose handshake carried `synOpts` (so options are negotiated). */
function start(state: TcpStateName, config: Partial<TcpConfig>, synOpts: TcpOptions): TcpConnection {
  if (Object.keys(synOpts).length === 0) return inState(state, config);
  // With peer options, walk the passive path by hand so the handshake negotiates them (inState() uses plain SYNs).
  const c = inState(state === 'CLOSED' || state === 'LISTEN' || state === 'SYN-SENT' ? state : 'LISTEN', config);
  if (state === 'CLOSED' || state === 'LISTEN' || state === 'SYN-SENT') return c;
  const mk = (flags: number, seq: number, ack: number, o: TcpOptions = {}): TcpSegment => ({ srcPort: REMOTE_PORT, dstPort: LOCAL_PORT, seq, ack, flags, window: 40000, urgent: 0, options: o, payload: new Uint8Array(0) });
  const ts = synOpts.tsVal !== undefined ? { tsVal: (synOpts.tsVal + 1) >>> 0, tsEcr: 0 } : {};
  c.input(mk(SYN, 5000, 0, synOpts), 0); c.drainTransmit(0);
  if (state === 'SYN-RECEIVED') return c;
  c.input(mk(ACK, 5001, 1001, ts), 0); c.drainTransmit(0);
  const fin = (seq: number, ack: number) => { c.input(mk(FIN | ACK, seq, ack, ts), 0); c.drainTransmit(0); };
  switch (state) {
    case 'ESTABLISHED': break;
    case 'FIN-WAIT-1': c.shutdown(0); c.drainTransmit(0); break;
    case 'FIN-WAIT-2': c.shutdown(0); c.drainTransmit(0); c.input(mk(ACK, 5001, 1002, ts), 0); break;
    case 'TIME-WAIT': c.shutdown(0); c.drainTransmit(0); fin(5001, 1002); break;
    case 'CLOSING': c.shutdown(0); c.drainTransmit(0); fin(5001, 1001); break;
    case 'CLOSE-WAIT': fin(5001, 1001); break;
    case 'LAST-ACK': fin(5001, 1001); c.shutdown(0); c.drainTransmit(0); break;
  }
  assert.equal(c.state, state, 'setup');
  c.drainEvents();
  return c;
}

function checkOutput(c: TcpConnection, out: TcpSegment[], where: string): void {
  for (const s of out) {
    assert.equal(s.srcPort, c.localPort, where);
    assert.ok(Number.isInteger(s.seq) && s.seq >= 0 && s.seq <= 0xffffffff, `${where}: seq ${s.seq}`);
    assert.ok(Number.isInteger(s.ack) && s.ack >= 0 && s.ack <= 0xffffffff, `${where}: ack ${s.ack}`);
    assert.ok(Number.isInteger(s.window) && s.window >= 0 && s.window <= 65535, `${where}: window ${s.window}`);
    assert.equal(classifyInvalidFlags(s.flags), null, `${where}: we sent an invalid flag combination ${s.flags}`);
    if (s.flags & RST) assert.equal(s.payload.length, 0, `${where}: RST with data`);
    if (s.payload.length > 0) assert.ok(s.payload.length <= c.sndMss, `${where}: ${s.payload.length} bytes > MSS ${c.sndMss}`);
    if (s.options.sack) {
      assert.ok(s.options.sack.length % 2 === 0 && s.options.sack.length <= 8, `${where}: SACK blocks ${s.options.sack}`);
      for (let i = 0; i < s.options.sack.length; i += 2) assert.ok(((s.options.sack[i + 1]! - s.options.sack[i]!) | 0) > 0, `${where}: empty SACK block`);
    }
  }
}

function runFuzz(state: TcpStateName, cfgIdx: number, steps: Step[]): void {
  const [, config, synOpts] = CONFIGS[cfgIdx]!;
  const c = start(state, config, synOpts);
  let now = 1;
  const where = (i: number) => `${state}/${CONFIGS[cfgIdx]![0]} step ${i} (${c.state})`;
  for (let i = 0; i < steps.length; i++) {
    const st = steps[i]!;
    if (st.kind === 'seg') {
      now += st.dt;
      const payload = new Uint8Array(st.len);
      for (let k = 0; k < st.len; k++) payload[k] = (k * 31 + i) & 0xff;
      const seg: TcpSegment = {
        srcPort: REMOTE_PORT, dstPort: LOCAL_PORT, seq: resolve(c, st.seq), ack: resolve(c, st.ack), flags: st.flags,
        window: st.window, urgent: st.urgent, options: st.options, payload,
      };
      c.input(seg, now);
    } else if (st.kind === 'timeout') {
      const d = c.nextDeadline();
      if (d !== Infinity) { now = Math.max(now, d); c.onTimeout(now); }
    } else {
      try {
        switch (st.call) {
          case 'send': c.send(new Uint8Array(st.n), now); break;
          case 'read': c.read(st.n); break;
          case 'shutdown': c.shutdown(now); break;
          case 'close': c.close(now); break;
          case 'abort': c.abort(now); break;
          case 'nodelay': c.setNoDelay(st.n % 2 === 0); break;
          case 'keepalive': c.setKeepAlive(st.n % 2 === 0, st.n, now); break;
        }
      } catch (e) {
        assert.ok(e instanceof TcpError, `${where(i)}: user call ${st.call} threw ${String(e)}`);
      }
    }
    checkOutput(c, c.drainTransmit(now), where(i));
    assert.deepEqual(connectionInvariants(c), [], where(i));
    for (const e of c.drainEvents()) {
      if (e.type === 'state') assert.ok(LEGAL_TRANSITIONS.has(`${e.from}>${e.to}`), `${where(i)}: illegal ${e.from} → ${e.to}`);
    }
    // After onTimeout(now) every timer that was due has been handled: none may be left at or before now.
    if (st.kind === 'timeout') assert.ok(c.nextDeadline() > now, `${where(i)}: a timer left at ${c.nextDeadline()} <= ${now} after onTimeout`);
  }
}

for (const state of ALL_STATES) {
  test(`fuzz: random and near-miss segments into ${state} never throw nor break an invariant`, () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: CONFIGS.length - 1 }), fc.array(step, { minLength: 1, maxLength: 25 }), (cfg, steps) => {
      runFuzz(state, cfg, steps);
    }), { numRuns: 400, includeErrorInReport: true });
  });
}

test('fuzz: hostile options — MSS 0, wscale 255, odd-length SACK lists, TSecr from the future — are survivable', () => {
  const c = start('LISTEN', PLAIN, {});
  const mk = (flags: number, seq: number, ack: number, o: TcpOptions, len = 0): TcpSegment => ({ srcPort: REMOTE_PORT, dstPort: LOCAL_PORT, seq, ack, flags, window: 65535, urgent: 0, options: o, payload: new Uint8Array(len) });
  const all = { sack: true, timestamps: true, windowScaling: true } as const;
  const d = start('LISTEN', { ...PLAIN, ...all }, {});
  for (const conn of [c, d]) {
    conn.input(mk(SYN, 5000, 0, { mss: 0, wscale: 255, sackPermitted: true, tsVal: 7, tsEcr: 0xffffffff }), 1);
    conn.drainTransmit(1);
    conn.input(mk(ACK, 5001, 1001, { sack: [1, 2, 3], tsVal: 8, tsEcr: 0xffffffff }), 2);
    conn.send(new Uint8Array(5000), 3);
    const out = conn.drainTransmit(3);
    assert.ok(out.length > 0);
    checkOutput(conn, out, 'hostile');
    conn.input(mk(ACK, 5001, 1001, { sack: [1001, 999_999, 7], tsVal: 9, tsEcr: 0xfffffff0 }), 4);
    conn.drainTransmit(4);
    assert.deepEqual(connectionInvariants(conn), []);
    assert.equal(conn.state, 'ESTABLISHED');
  }
});
