/** gzip-compressed captures read through DecompressionStream (browser-clean), chunk by chunk. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { canGunzip, isGzip, maybeGunzip } from './gzip.js';
import { CaptureReader } from './capture.js';
import { PcapngWriter } from './pcapng-writer.js';

async function* chunks(b: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let o = 0; o < b.length; o += size) yield b.subarray(o, o + size);
}

async function records(source: AsyncIterable<Uint8Array>): Promise<number> {
  const r = new CaptureReader();
  let n = 0;
  for await (const c of source) {
    r.push(c);
    while (r.next()) n++;
  }
  r.end();
  while (r.next()) n++;
  return n;
}

function capture(): Uint8Array {
  const w = new PcapngWriter();
  const iface = w.addInterface();
  for (let i = 0; i < 800; i++) w.writePacket(iface, 1700000000000 + i, new Uint8Array(60 + (i % 300)).fill(i & 0xff));
  return w.take();
}

test('a gzip-compressed capture read in small chunks gives every record; an uncompressed one passes through', { skip: !canGunzip() && 'no DecompressionStream' }, async () => {
  const raw = capture();
  const gz = gzipSync(raw);
  assert.ok(isGzip(gz) && !isGzip(raw));
  assert.equal(await records(maybeGunzip(chunks(gz, 1000))), 800);
  assert.equal(await records(maybeGunzip(chunks(raw, 777))), 800);
});

test('damaged gzip data raises an error from the iteration, after what could be read', { skip: !canGunzip() && 'no DecompressionStream' }, async () => {
  const gz = gzipSync(capture());
  const cut = gz.subarray(0, Math.floor(gz.length / 2));
  await assert.rejects(async () => { for await (const c of maybeGunzip(chunks(cut, 500))) void c; });
});
