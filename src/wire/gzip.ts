/**
 * gzip-compressed captures (.pcap.gz, .pcapng.gz) for browser-clean readers: the platform's
 * DecompressionStream (browsers, Node ≥ 18, Deno) decompresses while the chunks arrive, so a large compressed
 * capture is never held whole. The CLI uses node:zlib the same way (src/cli/analyze.ts); the page can use
 * this. Found by gzip's magic number (RFC 1952 §2.3.1), not by a file name.
 */

/** Whether these first bytes start a gzip member. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** Whether this platform can decompress gzip streams (DecompressionStream). */
export function canGunzip(): boolean {
  return typeof (globalThis as { DecompressionStream?: unknown }).DecompressionStream === 'function';
}

/**
 * The chunks of `source`, decompressed when they start with gzip's magic number, else passed through as
 * they are. Throws (from the iteration) on damaged gzip data, and a plain Error when the stream is gzip but
 * the platform has no DecompressionStream.
 */
export async function* maybeGunzip(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  let first = await it.next();
  while (!first.done && first.value.length === 0) first = await it.next();
  if (first.done) return;
  const head = first.value;
  if (!isGzip(head)) {
    yield head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  if (!canGunzip()) throw new Error('gzip-compressed capture, and this platform has no DecompressionStream to read it');
  const Ctor = (globalThis as unknown as { DecompressionStream: new (format: string) => TransformStream<Uint8Array, Uint8Array> }).DecompressionStream;
  const ds = new Ctor('gzip');
  const writer = ds.writable.getWriter();
  // Feed the compressed chunks while the decompressed ones are read (backpressure through the writer).
  const feeding = (async (): Promise<void> => {
    try {
      await writer.write(head);
      for (;;) {
        const r = await it.next();
        if (r.done) break;
        await writer.write(r.value);
      }
      await writer.close();
    } catch (e) {
      await writer.abort(e).catch(() => undefined);
    }
  })();
  const reader = ds.readable.getReader();
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      yield r.value;
    }
  } finally {
    reader.releaseLock();
    await feeding;
  }
}
