/**
 * A zero-delay wire driven in real time delivers what is due at the host's next turn, not through setTimeout(0):
 * Node runs that after at least 1 ms (browsers after 4 ms once nested), which made every hop between two
 * in-process real-time stacks cost a millisecond or more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Wire, type WireEndpoint } from './wire.js';
import { driveInRealTime } from './real-time.js';
import { encodeTcpPacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { makeSegment } from '../wire/tcp-types.js';

const A = parseAddress('10.0.0.1');
const B = parseAddress('10.0.0.2');
const packet = (src: Uint8Array, dst: Uint8Array, seq: number) =>
  encodeTcpPacket({ src, dst }, makeSegment({ srcPort: 1, dstPort: 2, seq }));
const seqOf = (p: Uint8Array) => new DataView(p.buffer, p.byteOffset).getUint32(24);

/** Runs the ping-pong; `browserLike`: the driver is made where the host has no setImmediate (a browser). */
async function pingPong(browserLike: boolean): Promise<void> {
  const realSetTimeout = globalThis.setTimeout;
  let timers = 0;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => { timers++; return realSetTimeout(fn, ms); }) as typeof setTimeout;
  try {
    const wire = new Wire({ impairments: { delayMs: 0 } });
    const seen: number[] = [];
    let ia = -1, ib = -1;
    const done = new Promise<void>((resolve) => {
      const a: WireEndpoint = { deliver(p) { seen.push(seqOf(p)); if (seqOf(p) >= 40) resolve(); else wire.send(ia, packet(A, B, seqOf(p) + 1), performance.now()); } };
      const b: WireEndpoint = { deliver(p) { seen.push(seqOf(p)); wire.send(ib, packet(B, A, seqOf(p) + 1), performance.now()); } };
      ia = wire.attach(a, A);
      ib = wire.attach(b, B);
    });
    const g = globalThis as { setImmediate?: unknown; clearImmediate?: unknown };
    const saved = { set: g.setImmediate, clear: g.clearImmediate };
    if (browserLike) { delete g.setImmediate; delete g.clearImmediate; }
    let driver;
    try { driver = driveInRealTime(wire); } finally { g.setImmediate = saved.set; g.clearImmediate = saved.clear; }
    wire.send(ia, packet(A, B, 1), performance.now());
    await done;
    driver.stop();
    assert.deepEqual(seen, Array.from({ length: 40 }, (_, i) => i + 1));
    assert.equal(timers, 0, `the driver armed ${timers} host timers for due packets`);
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
}

test('zero-delay wire in real time: 40 hops of a ping-pong arrive in order and the driver arms no host timer for them', () => pingPong(false));

test('zero-delay wire in real time without setImmediate (as in a browser): the same through a MessageChannel; stop() lets the process exit', () => pingPong(true));

test('zero-delay wire in real time: stop() cancels a due delivery not yet run', async () => {
  const wire = new Wire({ impairments: { delayMs: 0 } });
  let got = 0;
  const ia = wire.attach({ deliver() {} }, A);
  wire.attach({ deliver() { got++; } }, B);
  const driver = driveInRealTime(wire);
  wire.send(ia, packet(A, B, 1), performance.now());
  driver.stop();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(got, 0);
  assert.equal(wire.inFlight, 1);
});
