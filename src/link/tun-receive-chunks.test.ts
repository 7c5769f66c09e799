// The addon reads packets into 1 MiB receive chunks and hands JS views of them (native/tun.cc). What a reader of
// TunLink.onPackets relies on, across many chunks and with both read paths (libuv polling, the reader thread):
// every datagram arrives whole and in order, and a view kept from an early batch still holds its packet's bytes
// after the addon has moved on to later chunks (a chunk is V8's memory, freed only with its last view, never
// refilled under a view: onPackets' doc promises views stay valid).
// With the addon's reuseChunks(true) (for a receiver that copies what it keeps, as attachStack's does), a full chunk
// is read into again once its batches were delivered: the same datagrams arrive whole and in order through a
// handful of chunks instead of a new one per MiB.
// Needs root, /dev/net/tun, unshare and the addon; skips with the reason otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { TunLink } from './tun.js';
import { configureTunDevice, type TunAddressPair } from './tun-device.js';
import { runInNetns, reportResult, NETNS_ENV } from './netns.js';
import { tunTestSkip } from './tun-testkit.js';
import { decodeIp } from '../wire/ip.js';

const V4: TunAddressPair = { stack: '10.77.0.2', kernel: '10.77.0.1', prefix: 24 };
/** 4 000 datagrams of 1 400 B: ~5.6 MiB of chunk space, five chunks and more. */
const COUNT = 4000;
const SIZE = 1400;
/** Every KEEP-th packet's view is kept, not copied. */
const KEEP = 97;

/** Datagram i: its index in the first 4 bytes, then bytes (i * 7 + k) & 0xff. */
function payload(i: number): Buffer {
  const b = Buffer.alloc(SIZE);
  b.writeUInt32BE(i, 0);
  for (let k = 4; k < SIZE; k++) b[k] = (i * 7 + k) & 0xff;
  return b;
}
function intact(p: Uint8Array, i: number): boolean {
  if (p.length !== SIZE || new DataView(p.buffer, p.byteOffset, 4).getUint32(0) !== i) return false;
  for (let k = 4; k < SIZE; k++) if (p[k] !== ((i * 7 + k) & 0xff)) return false;
  return true;
}

/** A UDP datagram's payload (a view of `p`), or null for anything else the kernel sends on the device. */
function udpPayload(p: Uint8Array): Uint8Array | null {
  const ip = decodeIp(p);
  return ip.protocol === 17 ? ip.payload.subarray(8) : null;
}
/** The index payload() wrote into a datagram, -1 when too short to hold one. */
function indexOf(data: Uint8Array): number {
  return data.length >= 4 ? new DataView(data.buffer, data.byteOffset, 4).getUint32(0) : -1;
}

/** The kernel sends the COUNT datagrams to the stack's address, in bursts the device's queue holds. */
async function sendAll(received: () => number): Promise<void> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, V4.kernel, () => r()));
  // Bursts of 100, each waited for, so the device's queue (txqueuelen) never overflows: the test is about chunks.
  for (let i = 0; i < COUNT; i += 100) {
    for (let j = i; j < i + 100; j++) sock.send(payload(j), 9999, V4.stack);
    for (let t = 0; t < 200 && received() < i + 100; t++) await new Promise((r) => setTimeout(r, 5));
  }
  sock.close();
}

interface RawTun { name: string; readThread?: boolean; start(cb: (err: Error | null, chunk?: ArrayBuffer, offsets?: Uint32Array, count?: number) => void): void; reuseChunks?(on: boolean): void; close(): void }

/** The addon itself (as attachStack drives it): reuseChunks(true), each packet copied out of the chunk as it comes. */
async function reuseRole(): Promise<void> {
  const { Tun } = createRequire(import.meta.url)(fileURLToPath(new URL('../../build/Release/synack_tun.node', import.meta.url))) as { Tun: new (name?: string, opts?: { readThread?: boolean }) => RawTun };
  const tun = new Tun(undefined, { readThread: process.env.TUN_TEST_READ_THREAD === '1' });
  await configureTunDevice({ name: tun.name, addresses: [V4] });
  const order: number[] = [];
  let damaged = 0;
  const chunks = new Set<ArrayBuffer>();
  tun.reuseChunks!(true);
  tun.start((err, chunk, offsets, count) => {
    if (err) throw err;
    chunks.add(chunk!);
    for (let k = 0; k < count!; k++) {
      const data = udpPayload(new Uint8Array(chunk!, offsets![2 * k]!, offsets![2 * k + 1]!).slice());
      if (data === null) continue;
      const i = indexOf(data);
      order.push(i);
      if (!intact(data, i)) damaged++;
    }
  });
  await sendAll(() => order.length);
  const readThread = tun.readThread === true;
  tun.close();
  reportResult({ order, damaged, chunks: chunks.size, readThread });
}

async function receiveRole(): Promise<void> {
  const link = process.env.TUN_TEST_READ_THREAD === '1' ? TunLink.open(undefined, { readThread: true }) : TunLink.open();
  await configureTunDevice({ name: link.name, addresses: [V4] });
  const order: number[] = [];
  let damaged = 0;
  const kept: Array<[number, Uint8Array]> = [];
  const chunks = new Set<ArrayBufferLike>();
  link.onPackets((pkts) => {
    for (const p of pkts) {
      const data = udpPayload(p);
      if (data === null) continue;
      const i = indexOf(data);
      order.push(i);
      if (!intact(data, i)) damaged++;
      chunks.add(data.buffer);
      if (i % KEEP === 0) kept.push([i, data]); // the view itself, as a reader that does not slice() would keep it
    }
  });
  await sendAll(() => order.length);
  const keptIntact = kept.filter(([i, v]) => intact(v, i)).length;
  link.close();
  reportResult({ order, damaged, kept: kept.length, keptIntact, chunks: chunks.size, readThread: link.readThread });
}

if (process.env[NETNS_ENV]) {
  if (process.argv[2] === 'receive') await receiveRole();
  if (process.argv[2] === 'reuse') await reuseRole();
} else {
  const { skip } = tunTestSkip();
  for (const thread of [false, true]) {
    test(`${COUNT} datagrams across several receive chunks arrive whole and in order, and views kept from early batches keep their bytes${thread ? ' (reader thread)' : ''}`, { skip }, async () => {
      const res = await runInNetns(import.meta.url, ['receive'], { timeoutMs: 60_000, env: thread ? { TUN_TEST_READ_THREAD: '1' } : {} });
      assert.equal(res.code, 0, `role failed (timedOut=${res.timedOut}):\n${res.stderr}\n${res.stdout}`);
      const r = res.result as { order: number[]; damaged: number; kept: number; keptIntact: number; chunks: number; readThread: boolean };
      assert.equal(r.readThread, thread);
      assert.deepEqual(r.order, Array.from({ length: COUNT }, (_, i) => i));
      assert.equal(r.damaged, 0);
      assert.ok(r.chunks >= 5, `expected the datagrams to span several receive chunks, saw ${r.chunks}`);
      assert.equal(r.keptIntact, r.kept, `${r.kept - r.keptIntact} of ${r.kept} kept views were overwritten by later reads`);
    });

    test(`with reuseChunks, the same ${COUNT} datagrams arrive whole and in order through ${thread ? 'at most 4 chunks (reader thread)' : 'one chunk (polled)'}`, { skip }, async () => {
      const res = await runInNetns(import.meta.url, ['reuse'], { timeoutMs: 60_000, env: thread ? { TUN_TEST_READ_THREAD: '1' } : {} });
      assert.equal(res.code, 0, `role failed (timedOut=${res.timedOut}):\n${res.stderr}\n${res.stdout}`);
      const r = res.result as { order: number[]; damaged: number; chunks: number; readThread: boolean };
      assert.equal(r.readThread, thread);
      assert.deepEqual(r.order, Array.from({ length: COUNT }, (_, i) => i));
      assert.equal(r.damaged, 0);
      assert.ok(r.chunks <= (thread ? 4 : 1), `expected the chunks to be read into again, saw ${r.chunks} different ones`);
    });
  }
}
