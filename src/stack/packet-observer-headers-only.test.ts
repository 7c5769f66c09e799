/**
 * A packet observer that reads only headers (Stack.observePackets with headersOnly, as synack serve's lifecycle
 * log) leaves the output path as it is without observers: segments with data are still gathered from the send
 * buffer and their TCP checksums left to a link with checksum offload. A capture (a whole-packet observer) gets
 * whole datagrams with complete checksums, as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from './stack.js';
import { VirtualClock } from './clock.js';
import type { StackConnection } from './connection.js';
import { decodePacket } from '../wire/packet.js';

const BODY = new Uint8Array(5000).map((_, i) => (i * 13) & 0xff);

/**
 * A server with a checksum-offload, scatter-gather link sends BODY to a client; returns what the link got (each
 * datagram whole: headers and payload joined) and what an observer of the given kind saw going out.
 */
function transfer(observer: 'none' | 'headers' | 'whole') {
  const clock = new VirtualClock(0);
  const seed = (v: number) => (b: Uint8Array) => b.fill(v);
  const server = new Stack({ addresses: ['10.0.0.2'], clock, random: seed(5) });
  const client = new Stack({ addresses: ['10.0.0.1'], clock, random: seed(9) });
  const toServer: Uint8Array[] = [], toClient: Uint8Array[] = [], linkGot: Uint8Array[] = [];
  client.attach((p) => { toServer.push(p.slice()); });
  const got = (p: Uint8Array) => { linkGot.push(p.slice()); toClient.push(p.slice()); };
  server.attach((p) => got(p), {
    checksumOffload: true,
    sendParts: (h, payload) => { const p = new Uint8Array(h.length + payload.length); p.set(h); p.set(payload, h.length); got(p); },
  });
  const seen: Array<{ length: number; totalLength: number }> = [];
  if (observer !== 'none') {
    server.observePackets((dir, p) => { if (dir === 'out') seen.push({ length: p.length, totalLength: (p[2]! << 8) | p[3]! }); }, { headersOnly: observer === 'headers' });
  }
  server.listen(80, {
    onConnection: (c: StackConnection) => {
      c.handler = { onEvent: () => undefined, onReadable: () => undefined, onWritable: () => undefined };
      c.tcp.send(BODY, clock.now());
      server.service(c);
    },
  });
  let received = 0;
  const c = client.connect({ host: '10.0.0.2', port: 80 });
  c.handler = { onEvent: () => undefined, onReadable: () => { received += c.tcp.read().length; client.service(c); }, onWritable: () => undefined };
  for (let step = 0; step < 1000 && received < BODY.length; step++) {
    if (toServer.length) { server.receiveBatch(toServer.splice(0)); continue; }
    // The link completed the checksums (offload): the client takes them as verified, as from a TUN device.
    if (toClient.length) { const b = toClient.splice(0); client.receiveBatch(b, { checksumVerified: b.map(() => true) }); continue; }
    clock.advanceTo(clock.nextWake());
  }
  assert.equal(received, BODY.length);
  return { linkGot, seen };
}

test('an observer of headers only sees every outgoing datagram and changes nothing the link gets (payload gathered, checksums offloaded)', () => {
  const none = transfer('none');
  const headers = transfer('headers');
  assert.deepEqual(headers.linkGot, none.linkGot, 'byte for byte what the link gets without an observer');
  assert.equal(headers.seen.length, headers.linkGot.length, 'one observation per datagram');
  const withData = headers.linkGot.filter((p) => decodePacket(p).tcp!.seg.payload.length >= 512);
  assert.ok(withData.length >= 3, 'full-sized segments were sent');
  assert.ok(withData.every((p) => !decodePacket(p).tcpChecksumOk), 'their TCP checksums are left to the link');
  assert.ok(headers.seen.some((o) => o.length < o.totalLength), 'a gathered segment is observed by its headers');
});

test('a whole-packet observer (a capture) gets whole datagrams with complete checksums, as the link does', () => {
  const whole = transfer('whole');
  assert.equal(whole.seen.length, whole.linkGot.length);
  assert.ok(whole.seen.every((o) => o.length === o.totalLength), 'whole datagrams');
  assert.ok(whole.linkGot.every((p) => decodePacket(p).tcpChecksumOk), 'complete TCP checksums');
});
