/**
 * Hostile packets never crash the analyzer: random and mutated packets on every link type are analysed,
 * counted as malformed, or skipped, and the reports stay well-formed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Analyzer } from './analyzer.js';
import { Conversation, PcapBuilder } from './synth.js';
import { readCapture } from '../wire/capture.js';
import type { ConnectionReport } from './report.js';

function validPackets(): Uint8Array[] {
  const pcap = new PcapBuilder();
  const c = new Conversation(pcap, '10.0.0.1:40000', '10.0.0.2:80');
  c.handshake().send('c', 'PA', { len: 30 }).send('s', 'PA', { len: 40 }).send('c', 'FA').send('s', 'FA').send('c', 'A');
  return [...readCapture(pcap.take())].map((r) => r.data.slice());
}

// Also PPP (9, 50, 51), FDDI (10), Cisco HDLC (104), 802.11 (105, 119, 127, 163), ARCnet (129), Juniper
// Ethernet (178), NFLOG (239), IPoIB (242).
const LINKTYPES = [0, 1, 12, 101, 108, 113, 228, 229, 276, 147, 9, 10, 50, 51, 104, 105, 119, 127, 129, 163, 178, 239, 242];

test('random and bit-flipped packets: no exception escapes, every report is well-formed', () => {
  const valid = validPackets();
  const packet = fc.oneof(
    fc.uint8Array({ maxLength: 120 }),
    fc.tuple(fc.integer({ min: 0, max: valid.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat())
      .map(([i, flips, cut]) => {
        const p = valid[i]!.slice();
        for (const [at, v] of flips) p[at % p.length] = v;
        return p.subarray(0, Math.max(1, p.length - (cut % 8)));
      }),
  );
  fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom(...LINKTYPES), packet), { maxLength: 40 }), (pkts) => {
    const reports: ConnectionReport[] = [];
    const a = new Analyzer({ onConnection: (r) => reports.push(r), recycle: true });
    let frame = 0;
    for (const [linkType, data] of pkts) {
      // Raw-IP captures get the bytes as they are; others get them behind a plausible header.
      const framed = linkType === 1 ? Uint8Array.from([...new Array(12).fill(0), 0x08, 0x00, ...data]) : data;
      a.packet({ frame: ++frame, tsSec: 1700000000 + frame, tsNsec: 0, linkType, interfaceId: 0, data: framed, origLength: framed.length, offset: 0 });
    }
    a.finish();
    const s = a.summary([], null);
    assert.equal(s.packets, pkts.length);
    // Every packet in exactly one count.
    assert.equal(s.malformed_packets + s.tcp_packets + s.non_tcp_packets + s.non_ip_packets + s.unsupported_link_packets
      + s.truncated_headers + s.fragment_only_packets + s.dropped_bad_ip_checksums, s.packets);
    for (const r of reports) {
      assert.equal(typeof r.history, 'string');
      assert.ok(r.orig_pkts + r.resp_pkts >= 1);
      assert.doesNotThrow(() => JSON.stringify(r));
    }
  }), { numRuns: 300 });
});

test('IP-in-IP nested 200 deep: the analyzer follows at most a few levels and counts the packet, never recursing further', () => {
  const valid = validPackets()[0]!;
  let pkt = valid;
  for (let i = 0; i < 200; i++) {
    const outer = new Uint8Array(20 + pkt.length);
    outer.set([0x45, 0, (outer.length >> 8) & 0xff, outer.length & 0xff, 0, 0, 0, 0, 64, 4, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
    outer.set(pkt, 20);
    pkt = outer;
  }
  const a = new Analyzer();
  a.packet({ frame: 1, tsSec: 1700000000, tsNsec: 0, linkType: 101, interfaceId: 0, data: pkt, origLength: pkt.length, offset: 0 });
  a.finish();
  const s = a.summary([], null);
  assert.equal(s.packets, 1);
  assert.equal(s.tunneled_packets, 1);
  assert.equal(s.non_tcp_packets, 1, 'the TCP 200 levels down is not reached');
});

test('mutated tunnel packets (GRE, VXLAN, Geneve, GTP-U, AYIYA, IP-in-IP around real segments) never throw; the summary adds up', () => {
  const valid = validPackets();
  const be16 = (v: number): number[] => [v >> 8, v & 0xff];
  const wrap = (inner: Uint8Array, kind: number): Uint8Array => {
    const eth = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    const headers: number[][] = [
      [0, 0, 0x08, 0x00], // GRE, IPv4
      [0x30, 0, 0x65, 0x58, 0, 0, 0, 7, 0, 0, 0, 1, ...eth], // GRE key+seq, Ethernet
      [0xc3, 0x50, 0x12, 0xb5, 0, 0, 0, 0, 0x08, 0, 0, 0, 0, 0, 42, 0, ...eth], // UDP 4789 VXLAN
      [0xc3, 0x50, 0x17, 0xc1, 0, 0, 0, 0, 0, 0, 0x08, 0x00, 0, 0, 7, 0], // UDP 6081 Geneve, IPv4
      [0x08, 0x68, 0x08, 0x68, 0, 0, 0, 0, 0x30, 0xff, ...be16(inner.length), 0, 0, 0, 9], // UDP 2152 GTP-U
      [], // IP-in-IP
    ];
    const proto = [47, 47, 17, 17, 17, 4][kind]!;
    const h = headers[kind]!;
    const total = 20 + h.length + inner.length;
    const out = new Uint8Array(total);
    out.set([0x45, 0, total >> 8, total & 0xff, 0, 0, 0, 0, 64, proto, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
    out.set(h, 20);
    out.set(inner, 20 + h.length);
    if (proto === 17) { out[24] = (total - 20) >> 8; out[25] = (total - 20) & 0xff; }
    return out;
  };
  const arb = fc.array(fc.tuple(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 0, max: 5 }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(12)), { maxLength: 30 });
  fc.assert(fc.property(arb, (pkts) => {
    const a = new Analyzer({ recycle: true, onConnection: () => undefined });
    let frame = 0;
    for (const [i, kind, writes, cut] of pkts) {
      const p = wrap(valid[i]!, kind);
      for (const [at, v] of writes) p[20 + (at % (p.length - 20))] = v;
      const data = p.subarray(0, Math.max(1, p.length - cut));
      a.packet({ frame: ++frame, tsSec: 1700000000 + frame, tsNsec: 0, linkType: 101, interfaceId: 0, data, origLength: data.length, offset: 0 });
    }
    a.finish();
    const s = a.summary([], null);
    assert.equal(s.malformed_packets + s.tcp_packets + s.non_tcp_packets + s.non_ip_packets + s.unsupported_link_packets
      + s.truncated_headers + s.fragment_only_packets + s.dropped_bad_ip_checksums, s.packets);
  }), { numRuns: 500 });
  // Unmutated, every one of them reaches the TCP inside.
  const a = new Analyzer();
  for (let kind = 0; kind <= 5; kind++) {
    a.packet({ frame: kind + 1, tsSec: 1700000000, tsNsec: 0, linkType: 101, interfaceId: 0, data: wrap(valid[0]!, kind), origLength: 0, offset: 0 });
  }
  a.finish();
  const s = a.summary([], null);
  assert.equal(s.tcp_packets, 6);
  assert.equal(s.tunneled_packets, 6);
});
