/**
 * The per-packet fast path (fastpath.ts) reads exactly what the full decoder reads: on random and mutated
 * packets it either declines or yields the decoder's fields, and whole analyses (corpus and generated
 * captures) are identical with and without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { PacketFields, parseFast } from './fastpath.js';
import { Analyzer } from './analyzer.js';
import { analyzeBytes, analyzeFile, shared, sharedMissing } from './corpus-helpers.js';
import { Conversation, PcapBuilder } from './synth.js';
import { decapsulate } from '../wire/linktypes.js';
import { decodePacket } from '../wire/packet.js';
import { readCapture } from '../wire/capture.js';
import type { ConnectionReport } from './report.js';

/** What the analyzer takes from the full decoder, for comparison (null: the decoder gives no TCP packet). */
function viaDecoder(linkType: number, frame: Uint8Array): Record<string, unknown> | null {
  let d;
  try {
    const ip = decapsulate(linkType, frame);
    if (ip === null) return null;
    d = decodePacket(ip);
  } catch {
    return null;
  }
  if (d.tcp === null || d.ip.protocol !== 6) return null;
  const seg = d.tcp.seg;
  return {
    src: [...d.ip.src], dst: [...d.ip.dst], version: d.ip.version, ipTotalLength: d.ip.totalLength,
    ipChecksumOk: d.ip.version !== 4 || d.ip.checksumOk, mf: d.ip.mf, verifiable: !d.ip.truncated && !d.ip.mf,
    tcpChecksumOk: d.tcpChecksumOk, srcPort: seg.srcPort, dstPort: seg.dstPort, seq: seg.seq, ack: seg.ack,
    flags: seg.flags, window: seg.window, wscale: seg.options.wscale ?? -1,
    len: d.ip.mf ? seg.payload.length : d.ip.totalLength - d.ip.headerLength - d.tcp.dataOffset, caplen: seg.payload.length,
  };
}

function viaFast(pf: PacketFields): Record<string, unknown> {
  return {
    src: [...pf.srcBuf.subarray(pf.srcOff, pf.srcOff + pf.addrLen)], dst: [...pf.dstBuf.subarray(pf.dstOff, pf.dstOff + pf.addrLen)],
    version: pf.version, ipTotalLength: pf.ipTotalLength, ipChecksumOk: pf.ipChecksumOk, mf: pf.mf, verifiable: pf.verifiable,
    tcpChecksumOk: pf.tcpChecksumOk, srcPort: pf.srcPort, dstPort: pf.dstPort, seq: pf.seq, ack: pf.ack, flags: pf.flags,
    window: pf.window, wscale: pf.wscale, len: pf.len, caplen: pf.caplen,
  };
}

function samplePackets(): Uint8Array[] {
  const pcap = new PcapBuilder();
  const v4 = new Conversation(pcap, '10.0.0.1:40000', '10.0.0.2:80');
  v4.handshake().send('c', 'PA', { len: 30, options: { tsVal: 1, tsEcr: 2 } }).send('s', 'A', { options: { sack: [1, 2] } })
    .send('s', 'PA', { len: 1448 }).send('c', 'PA', { len: 333 }).send('c', 'FA').send('s', 'RA');
  const v6 = new Conversation(pcap, '[2001:db8::1]:40000', '[2001:db8::2]:443');
  v6.handshake().send('c', 'PA', { len: 7 }).send('s', 'FPA', { len: 3 });
  return [...readCapture(pcap.take())].map((r) => r.data.slice());
}

test('fast path: random and mutated packets are either declined or read exactly as the full decoder reads them', () => {
  const valid = samplePackets();
  const pf = new PacketFields();
  let taken = 0;
  const frame = fc.oneof(
    fc.uint8Array({ maxLength: 100 }),
    fc.tuple(fc.integer({ min: 0, max: valid.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), fc.boolean())
      .map(([i, flips, cut, doCut]) => {
        const p = valid[i]!.slice();
        for (const [at, v] of flips) p[at % p.length] = v;
        return doCut ? p.subarray(0, Math.max(1, p.length - (cut % 12))) : p;
      }),
    // Header fields the two paths must agree on: version/IHL, lengths, fragment bits, protocol, next header,
    // data offset, option bytes, set to boundary values.
    fc.tuple(fc.integer({ min: 0, max: valid.length - 1 }), fc.array(fc.tuple(
      fc.constantFrom(0, 2, 3, 4, 5, 6, 7, 9, 32, 33, 40, 41, 52, 53, 60, 61, 62),
      fc.constantFrom(0, 1, 2, 3, 4, 6, 8, 0x11, 0x20, 0x21, 0x2c, 0x40, 0x45, 0x46, 0x50, 0x60, 0x80, 0xa0, 0xf0, 0xff),
    ), { minLength: 1, maxLength: 3 })).map(([i, sets]) => {
      const p = valid[i]!.slice();
      for (const [at, v] of sets) if (at < p.length) p[at] = v;
      return p;
    }),
  );
  fc.assert(fc.property(fc.constantFrom(1, 101, 228, 229, 0, 113), frame, fc.boolean(), fc.integer({ min: 0, max: 3 }), (linkType, data, vlan, shift) => {
    const bytes = linkType === 1
      ? Uint8Array.from([...new Array(12).fill(0), ...(vlan ? [0x81, 0x00, 0, 5] : []), data[0]! >> 4 === 6 ? 0x86 : 0x08, data[0]! >> 4 === 6 ? 0xdd : 0x00, ...data])
      : data;
    // At every alignment within its buffer (the checksum reads whole words where it can).
    const framed = new Uint8Array(bytes.length + 3).subarray(shift, shift + bytes.length);
    framed.set(bytes);
    const ref = viaDecoder(linkType, framed);
    if (parseFast(linkType, framed, pf, true)) {
      taken++;
      assert.deepEqual(viaFast(pf), ref);
    }
  }), { numRuns: 3000 });
  // The property must not hold vacuously: most intact packets take the fast path.
  assert.ok(taken > 300, `fast path taken ${taken} times`);
});

function sameAnalysis(a: { reports: ConnectionReport[]; analyzer: Analyzer }, b: { reports: ConnectionReport[]; analyzer: Analyzer }, what: string): void {
  assert.deepEqual(a.reports, b.reports, what);
  assert.deepEqual(a.analyzer.summary([], null), b.analyzer.summary([], null), what);
}

test('fast path: a generated capture of every lifecycle, bad checksums and IPv6 analyses identically without it', () => {
  const pcap = new PcapBuilder();
  for (let i = 0; i < 20; i++) {
    const c = new Conversation(pcap, i % 2 ? `[2001:db8::${i}]:${40000 + i}` : `10.0.0.${i}:${40000 + i}`, i % 2 ? '[2001:db8::99]:80' : '10.0.1.1:80');
    c.handshake().send('c', 'PA', { len: 10 * i, badChecksum: i % 5 === 0 }).send('s', 'PA', { len: 5 });
    if (i % 3 === 0) c.send('c', 'RA'); else c.send('c', 'FA').send('s', 'FA').send('c', 'A');
  }
  const bytes = pcap.take();
  for (const checksums of ['count', 'zeek'] as const) {
    sameAnalysis(analyzeBytes(bytes, { checksums }), analyzeBytes(bytes, { checksums, fastPath: false }), checksums);
  }
});

test('fast path: every capture of ../shared/pcap-corpus analyses identically without it', { skip: sharedMissing }, () => {
  let files = 0;
  for (const dir of ['zeek', 'suricata-verify']) {
    const base = path.join(shared, 'pcap-corpus', dir);
    const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : /\.(pcap|pcapng|cap)$/.test(e.name) ? [path.join(d, e.name)] : []));
    for (const f of walk(base)) {
      for (const checksums of ['count', 'zeek'] as const) {
        sameAnalysis(analyzeFile(f, { checksums }), analyzeFile(f, { checksums, fastPath: false }), `${f} (${checksums})`);
      }
      files++;
    }
  }
  assert.ok(files >= 50, `${files} captures`);
});
