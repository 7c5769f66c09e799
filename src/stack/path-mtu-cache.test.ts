import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PmtuCache, PMTU_EXPIRES_MS } from './ip-pmtu.js';
import { parseAddress } from '../wire/address.js';
import { ACK, SYN } from '../wire/tcp-types.js';
import { encodeIcmp } from '../wire/icmp.js';
import { encodeTcpPacket } from '../wire/packet.js';
import { ipHost, seg, V4 } from './ip-test-peer.js';

test('a learned path MTU is remembered per destination for 10 minutes (RFC 1191 §6.3), only ever lowered', () => {
  const c = new PmtuCache();
  const a = parseAddress('192.0.2.1'), b = parseAddress('2001:db8::1');
  c.lower(a, 1400, 0);
  c.lower(b, 1280, 0);
  assert.equal(c.get(a, 1000), 1400);
  c.lower(a, 1450, 1000); // higher: ignored
  assert.equal(c.get(a, 2000), 1400);
  c.lower(a, 1000, 3000);
  assert.equal(c.get(a, 3000), 1000);
  assert.equal(c.get(b, PMTU_EXPIRES_MS - 1), 1280);
  assert.equal(c.get(b, PMTU_EXPIRES_MS), Infinity, 'expired');
  assert.equal(c.get(a, 3000 + PMTU_EXPIRES_MS), Infinity, 'the lowering restarted its lifetime');
  assert.equal(c.get(parseAddress('192.0.2.9'), 0), Infinity);
});

test('the path-MTU cache is bounded: a flood of destinations never grows it past maxEntries', () => {
  const c = new PmtuCache(PMTU_EXPIRES_MS, 100);
  for (let i = 0; i < 10_000; i++) c.lower(parseAddress(`10.${i >> 16}.${(i >> 8) & 0xff}.${i & 0xff}`), 1000, i);
  assert.equal(c.size, 100);
  assert.equal(c.get(parseAddress('10.0.39.15'), 10_000), 1000, 'the newest are kept');
});

test('in the stack, the learned MTU expires: a connection opened 10 minutes later uses the full MSS again', () => {
  const h = ipHost();
  const peer = parseAddress(V4.peer), host = parseAddress(V4.stack);
  const open = () => {
    const c = h.stack.connect({ host: V4.peer, port: 80 });
    const syn = h.out.pop()!;
    h.stack.receive(encodeTcpPacket({ src: peer, dst: host }, seg({ flags: SYN | ACK, srcPort: 80, dstPort: c.localPort, seq: 1, ack: syn.tcp!.seq + 1, options: { mss: 1460 } })));
    h.out.length = 0;
    c.tcp.send(new Uint8Array(3000), h.clock.now()); c.service();
    return { c, sent: h.out.splice(0).filter((o) => o.tcp && o.tcp.payload.length > 0) };
  };
  const first = open();
  assert.equal(first.sent[0]!.tcp!.payload.length, 1460);
  h.stack.receive(encodeIcmp({ src: parseAddress('10.9.9.9'), dst: host, type: 3, code: 4, rest: 1200, body: first.sent[0]!.bytes.subarray(0, 28) }));
  assert.equal(h.stack.pathMtuFor(peer, h.clock.now()), 1200);
  const second = open();
  assert.equal(Math.max(...second.sent.map((o) => o.tcp!.payload.length)), 1160);
  h.clock.advanceTo(h.clock.now() + PMTU_EXPIRES_MS);
  assert.equal(h.stack.pathMtuFor(peer, h.clock.now()), 1500);
  const third = open();
  assert.equal(third.sent[0]!.tcp!.payload.length, 1460);
});
