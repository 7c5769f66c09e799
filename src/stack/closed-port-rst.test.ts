import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from './stack.js';
import { VirtualClock } from './clock.js';
import { decodePacket, encodeTcpPacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { ACK, EMPTY, FIN, PSH, RST, SYN, URG, type TcpSegment } from '../wire/tcp-types.js';

function host(opts: { silentOnInvalidFlags?: boolean } = {}) {
  const out: TcpSegment[] = [];
  const s = new Stack({ addresses: ['10.0.0.2'], clock: new VirtualClock(), random: (b) => b.fill(3), ...opts });
  s.attach((p) => out.push(decodePacket(p).tcp!.seg));
  const send = (flags: number, seq = 1000, ack = 0, port = 9) => s.receive(encodeTcpPacket({ src: parseAddress('10.0.0.1'), dst: parseAddress('10.0.0.2') }, { srcPort: 5555, dstPort: port, seq, ack, flags, window: 100, urgent: 0, options: {}, payload: EMPTY }));
  return { s, out, send };
}

test('SYN to a closed port → RST+ACK <SEQ=0><ACK=SEG.SEQ+1> (RFC 9293 §3.10.7.1)', () => {
  const { out, send } = host();
  send(SYN, 1000);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.flags, RST | ACK);
  assert.equal(out[0]!.seq, 0);
  assert.equal(out[0]!.ack, 1001);
});

test('ACK to a closed port → RST <SEQ=SEG.ACK>', () => {
  const { out, send } = host();
  send(ACK, 1000, 777);
  assert.deepEqual([out[0]!.flags, out[0]!.seq], [RST, 777]);
});

test('never a RST in reply to a RST', () => {
  const { out, send } = host();
  send(RST, 1000); send(RST | ACK, 1000, 5);
  assert.equal(out.length, 0);
});

test('NULL, FIN and Xmas probes to a closed port are answered with RST (as Linux; nmap reads "closed") and counted', () => {
  const { s, out, send } = host();
  send(0); send(FIN); send(FIN | PSH | URG);
  assert.equal(out.length, 3);
  assert.ok(out.every((o) => o.flags & RST));
  assert.equal(s.stats.invalidFlags.null, 1);
  assert.equal(s.stats.invalidFlags['fin-no-ack'], 1);
  assert.equal(s.stats.invalidFlags.xmas, 1);
});

test('a hardened stack stays silent toward invalid flag combinations but still RSTs a SYN', () => {
  const { s, out, send } = host({ silentOnInvalidFlags: true });
  send(0); send(FIN); send(FIN | PSH | URG); send(SYN | FIN);
  assert.equal(out.length, 0);
  assert.equal(s.counters.SilentDrops, 4);
  send(SYN);
  assert.equal(out.length, 1);
});

test('to an open port: SYN → SYN+ACK; NULL/FIN/Xmas/SYN+FIN → no answer, counted', () => {
  const { s, out, send } = host();
  s.listen(9);
  send(0); send(FIN); send(FIN | PSH | URG); send(SYN | FIN);
  assert.equal(out.length, 0);
  send(SYN);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.flags, SYN | ACK);
  assert.equal(s.stats.invalidFlags['syn-fin'], 1);
});
