/**
 * What makes the analyzer usable on a real capture (issue 17): Zeek-format uids, the pieces of one split
 * conversation linked, table rows in first-packet order, frame numbers and analysis marks on ladder rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeBytes } from './corpus-helpers.js';
import { Conversation, PcapBuilder } from './synth.js';
import { toTrace, uidFor } from './report.js';
import { FirstPacketOrder, tableRow } from './format.js';

test('uids have Zeek\'s format: C and 17 base62 digits (18 characters), distinct per connection and per Zeek row', () => {
  const seen = new Set<string>();
  for (let id = 0; id < 100_000; id++) {
    const u = uidFor(id);
    assert.match(u, /^C[0-9A-Za-z]{17}$/);
    seen.add(u);
  }
  for (let part = 1; part < 50; part++) for (const id of [0, 1, 99_999]) seen.add(uidFor(id, part));
  assert.equal(seen.size, 100_000 + 49 * 3);
  assert.equal(uidFor(2 ** 40), uidFor(2 ** 40), 'deterministic');
  assert.notEqual(uidFor(2 ** 40), uidFor(0));
});

test('the pieces of a SYN retry series split by Zeek\'s attempt timer share a group: the first piece\'s uid', () => {
  const pcap = new PcapBuilder();
  const c = new Conversation(pcap, '10.0.0.1:40000', '10.0.0.2:80');
  c.send('c', 'S');
  for (const dt of [1, 2, 4, 8, 16]) c.send('c', 'S', { seq: c.c.isn, dt });
  // A new attempt (new ISN) after the series is a connection of its own.
  c.send('c', 'S', { seq: 777777, dt: 40 });
  const { reports } = analyzeBytes(pcap.take());
  assert.ok(reports.length >= 3, `${reports.length} pieces`);
  const last = reports.at(-1)!;
  const pieces = reports.slice(0, -1);
  for (const r of pieces) assert.equal(r.group, pieces[0]!.uid);
  assert.equal(pieces[0]!.group, pieces[0]!.uid);
  assert.equal(last.group, last.uid, 'a new ISN starts a new conversation');
  assert.ok(tableRow(pieces[1]!).includes(`piece-of:${pieces[0]!.uid}`));
});

test('table rows follow first packets: a finished row waits for the connections that started before it', () => {
  const o = new FirstPacketOrder();
  assert.equal(o.add(1, 'b\n'), '');
  assert.equal(o.add(2, null), '');
  assert.equal(o.add(0, 'a\n'), 'a\nb\n');
  assert.equal(o.add(3, 'd\n'), 'd\n');
  assert.equal(o.size, 0);
  assert.equal(o.peak, 3);
});

test('ladder rows carry the capture frame number and the marks the ladder cannot work out (out-of-order, keep-alive)', () => {
  const pcap = new PcapBuilder();
  const c = new Conversation(pcap, '10.0.0.1:40000', '10.0.0.2:80');
  c.handshake();
  const seq = c.c.nxt;
  // The second segment overtakes the first (arrives within the handshake RTT): out-of-order.
  c.send('c', 'PA', { len: 10, seq: seq + 10, dt: 0.0001 }).send('c', 'PA', { len: 10, seq, dt: 0.0001, noAdvance: true });
  c.send('s', 'A', { ack: seq + 20 });
  c.send('c', 'A', { seq: c.c.nxt - 1, dt: 30 }); // keep-alive
  const { reports, conns } = analyzeBytes(pcap.take(), { keepTrace: true });
  const r = reports[0]!;
  assert.equal(r.out_of_order, 1);
  assert.equal(r.keep_alives, 1);
  const notes = toTrace(conns[0]!, r).entries.map((e) => e.note);
  assert.deepEqual(notes, ['frame 1', 'frame 2', 'frame 3', 'frame 4', 'frame 5; out-of-order', 'frame 6', 'frame 7; keep-alive']);
});

test('service from the first payload bytes: http, tls, ssh, dns; Zeek\'s names in the conn.log column', async () => {
  const { zeekRow } = await import('./format.js');
  const { detectService } = await import('./service.js');
  const bytes = (s: string | number[]): Uint8Array => typeof s === 'string' ? new TextEncoder().encode(s) : Uint8Array.from(s);
  const conn = (first: 'c' | 's', payload: Uint8Array, port = 12345): ReturnType<typeof analyzeBytes>['reports'][number] => {
    const pcap = new PcapBuilder();
    const c = new Conversation(pcap, '10.0.0.1:40000', `10.0.0.2:${port}`);
    c.handshake().send(first, 'PA', { len: payload.length });
    // Conversation fills payloads with 'a': write the real bytes over them.
    const file = pcap.take();
    const at = file.length - payload.length;
    file.set(payload, at);
    return analyzeBytes(file).reports[0]!;
  };
  const dnsQuery = [0, 29, 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, 101, 120, 97, 109, 112, 108, 101, 3, 99, 111, 109, 0, 0, 1, 0, 1];
  const cases: Array<['c' | 's', Uint8Array, string | null]> = [
    ['c', bytes('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'http'],
    ['s', bytes('HTTP/1.1 200 OK\r\n\r\n'), 'http'],
    ['c', bytes([0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3c]), 'tls'],
    ['s', bytes('SSH-2.0-OpenSSH_9.2\r\n'), 'ssh'],
    ['c', bytes(dnsQuery), 'dns'],
    ['c', bytes('hello there, nothing known'), null],
    ['s', bytes('GET / HTTP/1.1\r\n\r\n'), null], // a request method from the responder is not HTTP
  ];
  for (const [who, payload, service] of cases) {
    const r = conn(who, payload);
    assert.equal(r.service, service, new TextDecoder().decode(payload));
    const col = zeekRow(r, r.reason).split('\t')[7];
    assert.equal(col, service === null ? '-' : service === 'tls' ? 'ssl' : service);
  }
  // Checksums are not what decides it: the bytes are (the checksum of the rewritten segments is wrong).
  assert.equal(detectService(bytes('SSH-'), 0, 4, 4, false), 'ssh');
  assert.equal(detectService(bytes([0, 1]), 0, 2, 2, true), null);
});

test('a failed close that Zeek\'s timers cut into several rows: every piece names the first one as its group', () => {
  const pcap = new PcapBuilder();
  const c = new Conversation(pcap, '10.0.0.1:40000', '10.0.0.2:80');
  c.handshake().send('c', 'PA', { len: 10 }).send('s', 'A').send('c', 'FA');
  const finSeq = c.c.nxt - 1;
  // FIN retransmissions never acknowledged, the later ones more than Zeek's 5-minute inactivity timeout apart
  // (each such gap ends a Zeek row), then a RST.
  for (const dt of [0.2, 0.4, 0.8, 310, 320, 330]) c.send('c', 'FA', { seq: finSeq, dt });
  c.send('c', 'R', { seq: c.c.nxt, dt: 340 });
  const { reports } = analyzeBytes(pcap.take());
  assert.ok(reports.length >= 2, `Zeek's timers split it (${reports.length} rows: ${reports.map((r) => r.history).join(' | ')})`);
  for (const r of reports) assert.equal(r.group, reports[0]!.uid, `${r.history} ${r.split}`);
  assert.equal(new Set(reports.map((r) => r.uid)).size, reports.length);
});

test('table order holds at most maxHeld rows: one connection open throughout cannot make it keep every row', () => {
  const o = new FirstPacketOrder(3);
  let out = '';
  // Connection 0 stays open; 1..5 finish at once.
  for (let id = 1; id <= 4; id++) out += o.add(id, `${id}\n`);
  assert.equal(out, '1\n2\n3\n4\n', 'past 3 held rows, the waiting ones are printed in order');
  assert.equal(o.size, 0);
  out += o.add(5, '5\n');
  assert.equal(out, '1\n2\n3\n4\n5\n', 'later rows follow at once');
  out += o.add(0, '0\n');
  assert.equal(out, '1\n2\n3\n4\n5\n0\n', 'the long connection prints when it finishes, late');
  assert.equal(o.late, 1);
  assert.ok(o.peak <= 4);
});
