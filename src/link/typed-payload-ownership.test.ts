/**
 * Who owns a typed segment's payload between in-process stacks: the sender's memory (a Socket's copy blocks, reused
 * once acknowledged; the writer's own buffer, reused once its write is done) is never the receiver's. The receiver
 * gets bytes of its own, kept by the application as long as it likes, never written again; what else is reachable
 * through a received chunk is its own stream's bytes and zeros (no other connection's data, nothing stale); an
 * observer sees the bytes that were sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network, type NetworkOptions } from './network.js';
import { PcapngTap } from './pcapng-tap.js';
import { Server } from '../stack/server.js';
import { Socket } from '../stack/socket.js';
import { readCapture } from '../wire/capture.js';
import { decodePacket } from '../wire/packet.js';
import { mulberry32 } from '../tcp/test-util.js';

/** Payloads longer than this cross in memory of their own (network.ts LARGE_PAYLOAD). */
const LARGE_PAYLOAD = 4096;

interface Run { sent: Buffer; got: Buffer[]; offsets: number[]; tapped: Array<{ seq: number; payload: Uint8Array }>; irs: number }

/**
 * 40 writes of random sizes (2 KiB-200 KiB) from one buffer the writer refills after each write's callback, to a
 * receiver that keeps every chunk it is given (views, not copies) until the end. With `tapAfter`, a wire tap is
 * added once that many bytes have arrived, with segments still in flight.
 */
async function transfer(opts: NetworkOptions, mss: number, tapAfter = -1): Promise<Run> {
  const n = new Network({ seed: 9, delayMs: 0.5, ...opts });
  const tcp = { mss, recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 };
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'], tcp });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'], tcp });
  const random = mulberry32(77);
  const sizes = Array.from({ length: 40 }, () => 2048 + Math.floor(random() * 200_000));
  const total = sizes.reduce((a, b) => a + b, 0);
  const sent = Buffer.alloc(total);
  const got: Buffer[] = [];
  const offsets: number[] = [];
  let read = 0;
  let irs = 0;
  new Server(server, {}, (s) => {
    irs = s.conn!.tcp.irs;
    s.on('data', (d: Buffer) => { got.push(d); offsets.push(read); read += d.length; });
  }).listen(7);
  const buf = Buffer.alloc(256 * 1024);
  // Random bytes: any 16 of them lie at one place in the stream, so a block's pieces can be found there (memoryPieces).
  const fill = mulberry32(5);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => {
    let i = 0, at = 0;
    const next = (): void => {
      if (i === sizes.length) { buf.fill(0xee); s.end(); return; }
      const size = sizes[i++]!;
      for (let k = 0; k < size; k++) buf[k] = (fill() * 256) | 0;
      buf.copy(sent, at, 0, size);
      at += size;
      s.write(buf.subarray(0, size), next); // the callback: the writer may reuse its buffer
    };
    next();
  });
  let tap: PcapngTap | null = null;
  await n.runUntil(() => {
    // With data on its way to the server (endpoint 0), from the client (1).
    const c = n.wire.counters(1, 0);
    if (tapAfter >= 0 && tap === null && read >= tapAfter && c.sent - c.delivered > 1) { tap = PcapngTap.inMemory(); tap.attachWire(n.wire); }
    return read === total;
  }, 600_000);
  const tapped: Run['tapped'] = [];
  const t = tap as PcapngTap | null;
  if (t !== null) {
    for (const rec of readCapture(t.close()!)) {
      const d = decodePacket(rec.data);
      assert.ok(d.tcp !== null && d.tcpChecksumOk, `frame ${rec.frame}: a whole TCP datagram with a valid checksum`);
      if (d.ip.dst[3] === 2 && d.tcp.seg.payload.length > 0) tapped.push({ seq: d.tcp.seg.seq, payload: d.tcp.seg.payload });
    }
  }
  s.destroy();
  n.close();
  return { sent, got, offsets, tapped, irs };
}

/**
 * Fails unless `mem` is stretches of the stream `sent` (each found by its first 16 bytes, or down to 4 near its end)
 * followed by zeros to its end: nothing else, nothing stale.
 */
function memoryPieces(mem: Uint8Array, sent: Buffer, what: string): void {
  let p = 0;
  while (p < mem.length) {
    let z = p;
    while (z < mem.length && mem[z] === 0) z++;
    if (z === mem.length) return; // the block's unused end
    let o = -1;
    for (let probe = Math.min(16, mem.length - p); probe >= 4 && o < 0; probe >>= 1) o = sent.indexOf(mem.subarray(p, p + probe));
    assert.ok(o >= 0, `${what}: its memory at ${p} is bytes of its stream`);
    let l = 0;
    while (p + l < mem.length && o + l < sent.length && mem[p + l] === sent[o + l]) l++;
    p += l;
  }
}

const cases: Array<[string, NetworkOptions, number]> = [
  ['MSS 1460', {}, 1460],
  ['MSS 1460, receive batches', { receiveBatch: true }, 1460],
  ['offload (64 KiB super-segments)', { offload: true }, 1460],
  ['MSS 65495', {}, 65495],
];

for (const [name, opts, mss] of cases) {
  test(`typed segments, ${name}: every chunk the receiver kept holds what was written, though every party reuses its buffers`, async () => {
    const r = await transfer(opts, mss);
    // Checked only now: a chunk that shared the sender's memory (copy blocks reused once acknowledged, the
    // writer's buffer refilled) would have changed since it was delivered.
    assert.ok(Buffer.concat(r.got).equals(r.sent), 'the bytes as written, in order');
    let own = 0, packed = 0, joined = 0;
    const pieced = new Set<ArrayBufferLike>();
    // Large payloads (> LARGE_PAYLOAD) cross in memory of their own; small ones in their connection's run blocks
    // (PayloadRuns), which at MSS 1460 without offload hold the stream without a gap.
    const gapFree = mss === 1460 && opts.offload !== true;
    for (let i = 0; i < r.got.length; i++) {
      const d = r.got[i]!;
      const start = r.offsets[i]! - d.byteOffset;
      if (d.length > mss) joined++;
      const mem = new Uint8Array(d.buffer);
      let m = 0;
      while (m < mem.length && start + m < r.sent.length && mem[m] === r.sent[start + m]) m++;
      if (gapFree) {
        // The block holds this stream's bytes from its start up to the chunk's end and beyond, then zeros not yet
        // used: nothing else, nothing stale.
        assert.ok(m >= d.byteOffset + d.length, `chunk ${i}: the stream's bytes up to its end`);
        for (let k = m; k < mem.length; k++) assert.equal(mem[k], 0, `chunk ${i}: block byte ${k} is unused (zero)`);
        packed++;
      } else if (m === mem.length) {
        // Memory that is one stretch of the stream, at the chunk's place: a large payload's own (exactly its length),
        // or a run block whose payloads followed one another in the stream.
        if (d.length > LARGE_PAYLOAD) own++;
      } else if (!pieced.has(d.buffer)) {
        // A run block (PayloadRuns): the connection's payloads of up to LARGE_PAYLOAD bytes in the order they were
        // sent, then zeros not yet used. Super-segments in memory of their own come between them, so the payloads
        // before a chunk in its block need not be the stream bytes right before it: each is the stream's bytes from
        // where it was sent. (With offload, ReceiveBuffer.read joins two such payloads into a 4 344 B chunk at
        // byteOffset 7 240 of an 11 584 B block whose first five payloads came from 0.4-0.9 MB earlier.)
        pieced.add(d.buffer);
        memoryPieces(mem, r.sent, `chunk ${i}`);
      }
    }
    if (mss > 1460 || opts.offload === true) assert.ok(own > 10, `${own} chunks in memory of their own (large payloads)`);
    else assert.ok(packed > 100, `${packed} chunks in their connection's run blocks`);
    // With receive batches the receiver reads once per batch: payloads lying one after the other come as one chunk.
    if (opts.receiveBatch === true) assert.ok(joined > 50, `${joined} chunks longer than one segment`);
  });
}

test('a wire tap added while typed super-segments are in flight sees the bytes that were written', async () => {
  const r = await transfer({ offload: true }, 1460, 1 << 20);
  assert.ok(Buffer.concat(r.got).equals(r.sent));
  assert.ok(r.tapped.length > 10, `${r.tapped.length} data packets captured`);
  let big = 0;
  for (const p of r.tapped) {
    const at = (p.seq - r.irs - 1) >>> 0;
    assert.ok(Buffer.from(p.payload).equals(r.sent.subarray(at, at + p.payload.length)), `the packet at stream offset ${at}`);
    if (p.payload.length > 1460) big++;
  }
  assert.ok(big > 0, 'super-segments in flight when the tap came were captured whole');
});
