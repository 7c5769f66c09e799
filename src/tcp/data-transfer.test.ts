import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, type Fate } from './pair.js';
import { TcpConnection } from './connection.js';
import { bytes, readAll } from './test-util.js';
import type { TcpConfig } from './config.js';

function transfer(n: number, config: Partial<TcpConfig>, fate?: (from: 'a' | 'b', seg: { payload: Uint8Array }, i: number) => Fate, delay = 10) {
  const a = new TcpConnection({ localPort: 40000, remotePort: 80, iss: 0xfffff000, config });
  const b = new TcpConnection({ localPort: 80, remotePort: 40000, iss: 300, config });
  b.listen(0);
  const p = new Pair(a, b, { delay, fate, record: true });
  a.connect(0);
  const data = bytes(n, 7);
  let off = 0;
  const got: Uint8Array[] = [];
  let gotLen = 0;
  p.onStep = (q) => {
    if (q.a.state === 'ESTABLISHED' && off < n) off += q.a.send(data.subarray(off), q.now);
    if (off === n && q.a.state === 'ESTABLISHED') q.a.shutdown(q.now);
    const r = readAll(q.b);
    if (r.length) { got.push(r); gotLen += r.length; }
    if (q.b.state === 'CLOSE-WAIT') q.b.shutdown(q.now);
  };
  p.run((q) => q.a.state === 'TIME-WAIT' && q.b.state === 'CLOSED', 30 * 60_000);
  const all = new Uint8Array(gotLen);
  let o = 0;
  for (const g of got) { all.set(g, o); o += g.length; }
  return { p, data, got: all };
}

test('1 MB transfer with all options on, across sequence-number wrap: bytes delivered in order, both sides close', () => {
  const { p, data, got } = transfer(1 << 20, {});
  assert.equal(got.length, data.length);
  assert.deepEqual(got, data);
  assert.equal(p.a.state, 'TIME-WAIT');
  assert.equal(p.b.state, 'CLOSED');
});

test('1 MB with 5% loss (SACK on): retransmissions repair every hole', () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const { p, data, got } = transfer(1 << 20, {}, () => (rnd() < 0.05 ? 'drop' : 'deliver'));
  assert.deepEqual(got, data);
  assert.ok(p.a.stats.RetransSegs > 0);
});

test('1 MB with 5% loss, no SACK, no timestamps (NewReno): bytes delivered', () => {
  let seed = 999;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const { data, got } = transfer(1 << 20, { sack: false, timestamps: false }, () => (rnd() < 0.05 ? 'drop' : 'deliver'));
  assert.deepEqual(got, data);
});

test('small receive buffer: flow control stalls the sender at a zero window, the persist timer recovers', () => {
  const a = new TcpConnection({ localPort: 1, remotePort: 2, iss: 1, config: { sendBufferAutotune: false } });
  const b = new TcpConnection({ localPort: 2, remotePort: 1, iss: 2, config: { recvBufferSize: 8192 } });
  b.listen(0);
  const p = new Pair(a, b);
  a.connect(0);
  p.run((q) => q.a.state === 'ESTABLISHED' && q.b.state === 'ESTABLISHED');
  a.send(bytes(50_000), p.now);
  p.run((q) => q.a.bytesInFlight === 0 && q.b.readableLength === 8192, p.now + 10_000);
  assert.equal(b.readableLength, 8192);
  assert.equal(a.sndWnd, 0, 'peer advertised a zero window');
  // The application reads late; the window update or a persist probe must restart the flow.
  let total = 0;
  p.onStep = (q) => { total += readAll(q.b).length; };
  p.run(() => total >= 50_000, p.now + 120_000);
  assert.equal(total, 50_000);
});
