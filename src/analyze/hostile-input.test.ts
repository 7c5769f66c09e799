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
