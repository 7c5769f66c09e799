/**
 * Known answers from real captures in ../shared/pcap-corpus: bytes written by real TCP stacks, checked against
 * TShark 4.0.17's per-stream flag sequences and Zeek's checksum verdicts. Skipped when ../shared is absent.
 * The pcap record walk here is a minimal test-only reader (classic pcap, Ethernet/VLAN), not src/link's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodePacket, encodeTcpPacket, type DecodedPacket } from './packet.js';
import { encodeTcp } from './tcp.js';
import { formatAddress } from './address.js';
import { WireError } from './errors.js';
import { SYN, FIN, RST, PSH, URG, ACK, ECE, CWR } from './tcp-types.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shared = process.env.SYNACK_SHARED ?? path.resolve(repoRoot, '../shared');
const skip = !existsSync(shared) && '../shared not present';
const zeek = (p: string): string => path.join(shared, 'pcap-corpus/zeek', p);

/** IP datagrams of a classic little/big-endian pcap with Ethernet (VLAN-tagged or not) link type. */
function ipDatagrams(file: string): Uint8Array[] {
  const d = new Uint8Array(readFileSync(file));
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const magic = dv.getUint32(0, true);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  assert.ok(le || magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1, `${file}: not a classic pcap`);
  assert.equal(dv.getUint32(20, le) & 0xffff, 1, `${file}: not Ethernet`);
  const out: Uint8Array[] = [];
  for (let off = 24; off + 16 <= d.length;) {
    const incl = dv.getUint32(off + 8, le);
    const frame = d.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    let p = 12;
    let type = (frame[p]! << 8) | frame[p + 1]!;
    while (type === 0x8100 || type === 0x88a8) { p += 4; type = (frame[p]! << 8) | frame[p + 1]!; }
    if (type === 0x0800 || type === 0x86dd) out.push(frame.subarray(p + 2));
  }
  return out;
}

/** TShark's per-packet label: flag letters (S F R P U A E C) and "/len" for payload. */
function label(p: DecodedPacket): string {
  const f = p.tcp!.seg.flags;
  let s = '';
  for (const [bit, ch] of [[SYN, 'S'], [FIN, 'F'], [RST, 'R'], [PSH, 'P'], [URG, 'U'], [ACK, 'A'], [ECE, 'E'], [CWR, 'C']] as const) if (f & bit) s += ch;
  const len = p.ip.totalLength - p.ip.headerLength - p.tcp!.dataOffset;
  return len > 0 ? `${s}/${len}` : s;
}

const endpoint = (a: Uint8Array, port: number): string => `${formatAddress(a)}:${port}`;

/** Flag sequences per stream, streams in order of first packet, A = first sender (as the TShark annotation). */
function flagSequences(packets: DecodedPacket[]): Array<{ a: string; b: string; seq: string[] }> {
  const streams = new Map<string, { a: string; b: string; seq: string[] }>();
  for (const p of packets) {
    if (!p.tcp) continue;
    const x = endpoint(p.ip.src, p.tcp.seg.srcPort);
    const y = endpoint(p.ip.dst, p.tcp.seg.dstPort);
    const key = x < y ? `${x} ${y}` : `${y} ${x}`;
    let s = streams.get(key);
    if (!s) streams.set(key, (s = { a: x, b: y, seq: [] }));
    s.seq.push(`${x === s.a ? 'A' : 'B'}:${label(p)}`);
  }
  return [...streams.values()];
}

const TRACES = [
  'tcp/qi_internet_SYNACK_curl_jsonip.pcap', 'ftp/ipv6.pcap', 'ftp/ipv4.pcap', 'tcp/handshake-reorder.pcap',
  'tcp/rst-inject-rae.pcap', 'tcp/missing-syn.pcap', 'http/get.pcap', 'tls/imap-starttls.pcap',
  'tcp-http-with-padding.pcap', 'tcp/ssh-dups.pcap', 'modbus/modbus-and-non-modbus-p502.pcap',
];

test('decoded flags and payload lengths match TShark 4.0.17 flag sequences, stream by stream', { skip }, () => {
  for (const trace of TRACES) {
    const tsv = readFileSync(zeek(`tshark/${trace.replace(/\//g, '__')}.streams.tsv`), 'utf8').split('\n')
      .filter((l) => l && !l.startsWith('#') && !l.startsWith('stream\t'))
      .map((l) => l.split('\t'));
    const ours = flagSequences(ipDatagrams(zeek(`traces/${trace}`)).map(decodePacket));
    assert.equal(ours.length, tsv.length, `${trace}: stream count`);
    tsv.forEach((row, i) => {
      const want = row[9]!.split(' ');
      const elided = want[want.length - 1] === '...';
      if (elided) want.pop();
      assert.equal(ours[i]!.a, row[1], `${trace} stream ${i}: A`);
      assert.equal(ours[i]!.b, row[2], `${trace} stream ${i}: B`);
      assert.equal(ours[i]!.seq.length, Number(row[3]), `${trace} stream ${i}: packets`);
      assert.deepEqual(elided ? ours[i]!.seq.slice(0, want.length) : ours[i]!.seq, want, `${trace} stream ${i}`);
    });
  }
});

test('every real TCP segment with a valid checksum re-encodes to its exact original bytes', { skip }, () => {
  let segments = 0;
  let datagrams = 0;
  for (const trace of TRACES) {
    for (const bytes of ipDatagrams(zeek(`traces/${trace}`))) {
      const p = decodePacket(bytes);
      // Reserved header bits (set by rst-inject-rae's injector) are reported in DecodedTcp.reserved but are not
      // part of TcpSegment, so such segments cannot be re-encoded identically.
      if (!p.tcp || !p.tcpChecksumOk || p.tcp.reserved !== 0) continue;
      const tcpBytes = bytes.subarray(p.ip.headerLength, p.ip.headerLength + p.ip.payload.length);
      assert.deepEqual(encodeTcp(p.tcp.seg, p.ip.src, p.ip.dst), tcpBytes, `${trace}: segment ${segments}`);
      segments++;
      // Whole datagrams too, where the IP header is one encodeIpHeader can produce (no options/ext headers, no fragment bits).
      const plain = p.ip.headerLength === (p.ip.version === 4 ? 20 : 40) && !p.ip.mf && p.ip.fragOffset === 0 && p.ip.checksumOk
        && (p.ip.version === 6 || (bytes[6]! & 0xbf) === 0);
      if (plain) {
        const again = encodeTcpPacket({ src: p.ip.src, dst: p.ip.dst, ttl: p.ip.ttl, tos: p.ip.tos, id: p.ip.id, df: p.ip.df, flowLabel: p.ip.flowLabel }, p.tcp.seg);
        assert.deepEqual(again, bytes.subarray(0, p.ip.totalLength), `${trace}: datagram`);
        datagrams++;
      }
    }
  }
  assert.ok(segments > 600, `only ${segments} segments checked`);
  assert.ok(datagrams > 600, `only ${datagrams} datagrams checked`);
});

test('TCP checksum verdicts agree with Zeek on localhost-bad-chksum.pcap (history "C" for 192.168.1.28)', { skip }, () => {
  // Zeek's baseline: the 192.168.1.28 side contributes no packets (all bad checksums, history C); 35.221.46.9 sends 4 good ones.
  const packets = ipDatagrams(zeek('traces/chksums/localhost-bad-chksum.pcap')).map(decodePacket);
  const from = (a: string) => packets.filter((p) => formatAddress(p.ip.src) === a);
  assert.ok(from('192.168.1.28').length > 0);
  assert.deepEqual(from('192.168.1.28').map((p) => p.tcpChecksumOk), from('192.168.1.28').map(() => false));
  assert.deepEqual(from('35.221.46.9').map((p) => p.tcpChecksumOk), [true, true, true, true]);
});

test('the SYN and SYN-ACK of a real Linux/BSD handshake decode to the options on the wire', { skip }, () => {
  const [syn, synack] = ipDatagrams(zeek('traces/tcp/qi_internet_SYNACK_curl_jsonip.pcap')).map(decodePacket);
  assert.deepEqual(syn!.tcp!.seg.options, { mss: 1460, sackPermitted: true, wscale: 0, tsVal: 3979816008, tsEcr: 0, order: [2, 1, 1, 4, 1, 3, 1, 1, 8] });
  assert.deepEqual(synack!.tcp!.seg.options, { mss: 1460, sackPermitted: true, tsVal: 614413426, tsEcr: 3979816008, wscale: 7, order: [2, 4, 8, 1, 3] });
  assert.equal(synack!.tcp!.seg.ack, (syn!.tcp!.seg.seq + 1) >>> 0);
});

test('no capture in the corpus makes the decoder throw anything but WireError', { skip }, () => {
  const files = ['tcp/syn-bad.pcap', 'tcp/retransmit-fast009.pcap', 'mixed-vlan-mpls.pcap', 'tunnels/Teredo.pcap', 'wikipedia.pcap', 'ldap/simpleauth.pcap'];
  let decoded = 0;
  for (const f of files) {
    for (const b of ipDatagrams(zeek(`traces/${f}`))) {
      try { decodePacket(b); decoded++; } catch (e) { assert.ok(e instanceof WireError, String(e)); }
    }
  }
  assert.ok(decoded > 100);
});
