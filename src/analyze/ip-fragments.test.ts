/**
 * IP fragments reassembled before analysis (src/wire/ip-reassembly.ts), and a summary whose counts add up to
 * the packets: a SYN in two fragments is a connection, overlapping fragments (RFC 5722) are not, and tshark
 * (which reassembles by default) sees the same TCP packets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { analyzeBytes } from './corpus-helpers.js';
import { Conversation, PcapBuilder, splitHostPort } from './synth.js';
import { encodeTcpPacket } from '../wire/packet.js';
import { fragmentAt } from '../wire/ip-reassembly.js';
import { ACK, PSH, SYN, makeSegment } from '../wire/tcp-types.js';
import { tableSummary } from './format.js';
import type { SummaryReport } from './report.js';

/** Every packet in exactly one count. */
function addsUp(s: SummaryReport): number {
  return s.tcp_packets + s.non_tcp_packets + s.non_ip_packets + s.malformed_packets + s.fragment_only_packets
    + s.truncated_headers + s.unsupported_link_packets + s.dropped_bad_ip_checksums;
}

function tcpDatagram(from: string, to: string, flags: number, seq: number, ack: number, len: number): Uint8Array {
  const [sa, sp] = splitHostPort(from);
  const [da, dp] = splitHostPort(to);
  return encodeTcpPacket({ src: sa, dst: da, df: false, id: 77 },
    makeSegment({ srcPort: sp, dstPort: dp, seq, ack, flags, window: 65535, options: { mss: 1460 }, payload: new Uint8Array(len).fill(0x42) }));
}

/** A handshake whose SYN (carrying 100 bytes, so it can be cut) arrives in fragments, then data in fragments. */
function fragmentedConnection(v6: boolean, order: (frags: Uint8Array[]) => Uint8Array[] = (f) => f): PcapBuilder {
  const pcap = new PcapBuilder();
  const c = v6 ? '[fd00::1]:40000' : '10.0.0.1:40000';
  const s = v6 ? '[fd00::2]:80' : '10.0.0.2:80';
  let t = 1700000000;
  const add = (p: Uint8Array): void => { pcap.add(t += 0.001, p); };
  for (const f of order(fragmentAt(tcpDatagram(c, s, SYN, 1000, 0, 100), [16, 48], 1))) add(f);
  add(tcpDatagram(s, c, SYN | ACK, 5000, 1101, 0));
  add(tcpDatagram(c, s, ACK, 1101, 5001, 0));
  for (const f of order(fragmentAt(tcpDatagram(c, s, ACK | PSH, 1101, 5001, 400), [128, 256], 2))) add(f);
  add(tcpDatagram(s, c, ACK, 5001, 1501, 0));
  return pcap;
}

test('a SYN in fragments is a connection: IPv4 and IPv6, in order and reversed', () => {
  for (const v6 of [false, true]) {
    for (const order of [(f: Uint8Array[]) => f, (f: Uint8Array[]) => [...f].reverse()]) {
      const { reports, analyzer } = analyzeBytes(fragmentedConnection(v6, order).take());
      assert.equal(reports.length, 1, `v6=${v6}`);
      const r = reports[0]!;
      assert.equal(r.handshake, 'normal');
      assert.equal(r.syn_data, 100);
      assert.equal(r.orig_bytes, 500);
      assert.equal(r.bad_checksums, 0);
      assert.equal(r.orig_pkts, 3);
      const s = analyzer.summary([], null);
      assert.equal(s.packets, 9);
      assert.equal(s.ip_fragments, 6);
      assert.equal(s.reassembled_datagrams, 2);
      assert.equal(s.fragment_only_packets, 4);
      assert.equal(addsUp(s), s.packets);
      assert.match(tableSummary(s, []), /9 packets \(5 TCP, 0 other IP, 0 non-IP, 0 malformed, 4 more IP fragments \(2 datagrams reassembled\); 0 bad TCP checksums\)/);
    }
  }
});

test('overlapping fragments (RFC 5722) make no datagram; the summary still adds up', () => {
  const pcap = new PcapBuilder();
  const syn = tcpDatagram('10.0.0.1:40000', '10.0.0.2:80', SYN, 1000, 0, 100);
  const [a, b, c] = fragmentAt(syn, [16, 48], 3);
  const overlap = fragmentAt(syn, [8, 48], 3)[1]!; // data 8..48 overlaps a (0..16) and b (16..48)
  for (const p of [a!, overlap, b!, c!]) pcap.add(1700000000, p);
  const { reports, analyzer } = analyzeBytes(pcap.take());
  assert.equal(reports.length, 0);
  const s = analyzer.summary([], null);
  assert.equal(s.fragment_only_packets, 4);
  assert.equal(addsUp(s), s.packets);
});

test('any mix of whole, fragmented, truncated and garbage packets: the summary\'s counts add up to the packets', () => {
  const base = fragmentedConnection(false).take();
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(40), fc.nat(255)), { maxLength: 8 }), fc.boolean(), (writes, zeek) => {
    const bytes = base.slice();
    for (const [at, v] of writes) bytes[24 + 16 + at * 7 % (bytes.length - 40)] = v;
    let s: SummaryReport;
    try {
      s = analyzeBytes(bytes, { checksums: zeek ? 'zeek' : 'count' }).analyzer.summary([], null);
    } catch {
      return; // a damaged record header: the reader's error, not the analyzer's
    }
    assert.equal(addsUp(s), s.packets, JSON.stringify(s));
  }), { numRuns: 300 });
});

const noTshark: false | string = spawnSync('tshark', ['-v']).status !== 0 && 'tshark not installed';

test('tshark (reassembling) sees the same TCP packets and completeness on the fragmented capture', { skip: noTshark }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'synack-frag-'));
  try {
    for (const v6 of [false, true]) {
      const bytes = fragmentedConnection(v6).take();
      const file = path.join(dir, `frag${v6 ? 6 : 4}.pcap`);
      writeFileSync(file, bytes);
      const t = spawnSync('tshark', ['-r', file, '-2', '-Y', 'tcp', '-T', 'fields', '-e', 'tcp.len', '-e', 'tcp.completeness'], { encoding: 'utf8' });
      assert.equal(t.status, 0, t.stderr);
      const rows = t.stdout.trim().split('\n').map((l) => l.split('\t').map(Number));
      const r = analyzeBytes(bytes).reports[0]!;
      assert.equal(rows.length, r.orig_pkts + r.resp_pkts, `v6=${v6}`);
      assert.equal(rows.reduce((n, x) => n + x[0]!, 0), r.orig_bytes + r.resp_bytes);
      assert.equal(rows.at(-1)![1], r.completeness);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Conversation helper sanity: unfragmented traffic gives no fragment counts', () => {
  const pcap = new PcapBuilder();
  new Conversation(pcap, '10.0.0.1:1', '10.0.0.2:2').handshake();
  const s = analyzeBytes(pcap.take()).analyzer.summary([], null);
  assert.equal(s.ip_fragments + s.reassembled_datagrams + s.fragment_only_packets, 0);
  assert.equal(addsUp(s), s.packets);
});
