/**
 * Recycled connections (Analyzer option `recycle`) must be indistinguishable from fresh ones: every field of
 * Connection, its Sides, ZeekConn and its endpoints is reset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection, type PacketInfo } from './connection.js';
import { ZeekConn } from './zeek.js';
import { analyzeBytes } from './corpus-helpers.js';
import { Conversation, PcapBuilder } from './synth.js';
import { ACK, FIN, PSH, RST, SYN, makeSegment } from '../wire/tcp-types.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { shared, sharedMissing } from './corpus-helpers.js';

const A = Uint8Array.from([10, 0, 0, 1]);
const B = Uint8Array.from([10, 0, 0, 2]);

function info(frame: number, time: number, flags: number, seq: number, ack: number, len: number, window = 0): PacketInfo {
  return { frame, time, flags, seq, ack, len, window, wscale: flags & SYN ? 7 : -1, ipLen: 40 + len, seg: makeSegment({ srcPort: 1, dstPort: 2 }) };
}

test('a used, reset connection equals a fresh one, field by field', () => {
  const used = new Connection(1, Uint8Array.from([1, 2, 3, 4]), 9, Uint8Array.from([5, 6, 7, 8]), 10, new ZeekConn(true, 5), true, 'closed');
  // Drive every part of it: handshake, data with gaps, zero windows, invalid flags, FINs, RSTs, anomalies.
  const pkts: Array<[0 | 1, PacketInfo]> = [
    [0, info(1, 1, SYN, 100, 0, 0, 1000)], [1, info(2, 1.1, SYN | ACK, 900, 101, 0)], [0, info(3, 1.2, ACK, 101, 901, 0)],
    [0, info(4, 1.3, PSH | ACK, 101, 901, 50)], [1, info(5, 1.4, ACK, 901, 151, 0, 0)], [1, info(6, 1.5, ACK, 5000, 151, 10)],
    [0, info(7, 1.6, ACK, 151, 9000, 0)], [0, info(8, 1.7, SYN | FIN, 77, 0, 0)], [0, info(9, 1.8, 0, 151, 0, 0)],
    [0, info(10, 1.9, FIN | ACK, 151, 901, 0)], [1, info(11, 2, RST, 999999, 0, 0)], [1, info(12, 2.1, RST | ACK, 901, 152, 0)],
  ];
  for (const [side, p] of pkts) {
    used.zeek.packet(side === 0, { flags: p.flags, seq: p.seq, ack: p.ack, len: p.len, caplen: p.len, window: p.window, wscale: p.wscale }, p.time);
    used.add(side, p, 'note');
  }
  assert.ok(used.anomalies && used.anomalies.length > 0);
  assert.ok(used.zeek.history.length > 4);
  used.reuse(7, A, 40000, B, 80, false, 3, false, null);
  const fresh = new Connection(7, A, 40000, B, 80, new ZeekConn(false, 3), false, null);
  assert.deepStrictEqual(used, fresh);
});

test('the analyzer gives the same reports with and without recycling', () => {
  const pcap = new PcapBuilder();
  for (let i = 0; i < 300; i++) {
    const c = new Conversation(pcap, `10.0.${i >> 8}.${i & 255}:${20000 + i}`, '10.9.9.9:80', { time: 1700000000 + i * 0.05 });
    if (i % 3 === 0) c.handshake().send('c', 'PA', { len: 10 }).send('s', 'FA').send('c', 'FA').send('s', 'A');
    else if (i % 3 === 1) c.send('c', 'S').send('s', 'RA', { seq: 0, ack: c.c.isn + 1 });
    else c.handshake().send('c', 'RA');
  }
  const bytes = pcap.take();
  const plain = analyzeBytes(bytes).reports;
  const pooled = analyzeBytes(bytes, { recycle: true }).reports;
  assert.deepStrictEqual(pooled, plain);
  if (sharedMissing) return; // the corpus half below needs ../shared
  const corpus = path.join(shared, 'pcap-corpus', 'zeek', 'traces', 'pop3', 'pop3.pcap');
  const file = new Uint8Array(readFileSync(corpus));
  assert.deepStrictEqual(analyzeBytes(file, { recycle: true }).reports, analyzeBytes(file).reports);
});

test('recycling never writes into the caller\'s capture, even a Buffer read in place (Buffer#slice is a view)', () => {
  const pcap = new PcapBuilder();
  // Enough packets for the periodic sweep (every 32 768) to recycle closed connections into later ones.
  for (let i = 0; i < 6000; i++) {
    new Conversation(pcap, `10.9.${i >> 8}.${i & 255}:${5000 + i}`, `10.8.0.${(i % 5) + 1}:80`, { time: 1700000000 + i * 0.01 })
      .handshake().send('c', 'FA').send('s', 'FA').send('c', 'A');
  }
  const bytes = pcap.take();
  const asBuffer = Buffer.from(bytes);
  const fresh = analyzeBytes(bytes).reports;
  const recycled = analyzeBytes(asBuffer, { recycle: true }).reports;
  assert.ok(Buffer.from(bytes).equals(asBuffer), 'the capture bytes are unchanged');
  assert.deepStrictEqual(recycled, fresh);
  // A second pass over the same buffer sees the same capture.
  assert.deepStrictEqual(analyzeBytes(asBuffer, { recycle: true }).reports, fresh);
});
