/**
 * Strict header validation that warns: header fields TShark/libpcap refuse, or that the formats reserve,
 * are reported in CaptureReader.warnings while the records are still read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureReader } from './capture.js';

function le32(v: number): number[] { return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]; }
function le16(v: number): number[] { return [v & 0xff, (v >>> 8) & 0xff]; }

function pcap(o: { major?: number; minor?: number; zone?: number; snap?: number } = {}): Uint8Array {
  return Uint8Array.from([
    ...le32(0xa1b2c3d4), ...le16(o.major ?? 2), ...le16(o.minor ?? 4), ...le32(o.zone ?? 0), ...le32(0), ...le32(o.snap ?? 65535), ...le32(101),
    // one 1-byte record
    ...le32(1), ...le32(0), ...le32(1), ...le32(1), 0x45,
  ]);
}

function pcapng(o: { minor?: number; idbReserved?: number } = {}): Uint8Array {
  return Uint8Array.from([
    ...le32(0x0a0d0d0a), ...le32(28), ...le32(0x1a2b3c4d), ...le16(1), ...le16(o.minor ?? 0), ...le32(0xffffffff), ...le32(0xffffffff), ...le32(28),
    ...le32(1), ...le32(20), ...le16(101), ...le16(o.idbReserved ?? 0), ...le32(65535), ...le32(20),
    // an enhanced packet block with a 1-byte packet (padded to 4)
    ...le32(6), ...le32(36), ...le32(0), ...le32(0), ...le32(0), ...le32(1), ...le32(1), 0x45, 0, 0, 0, ...le32(36),
  ]);
}

function read(bytes: Uint8Array): { records: number; warnings: string[] } {
  const r = new CaptureReader();
  r.push(bytes);
  r.end();
  let records = 0;
  while (r.next()) records++;
  return { records, warnings: [...r.warnings] };
}

test('a clean pcap or pcapng header gives no warning', () => {
  assert.deepEqual(read(pcap()), { records: 1, warnings: [] });
  assert.deepEqual(read(pcapng()), { records: 1, warnings: [] });
});

test('pcap: a version other than 2.4, reserved fields set, snapshot length 0 are warned about, and the records still read', () => {
  assert.deepEqual(read(pcap({ major: 3 })), { records: 1, warnings: ['pcap header: version 3.4 (2.4 expected; tshark refuses this file)'] });
  assert.deepEqual(read(pcap({ minor: 2 })).warnings, ['pcap header: old version 2.2 (2.4 expected)']);
  assert.deepEqual(read(pcap({ zone: 7 })).warnings, ['pcap header: reserved fields (thiszone/sigfigs) are not zero']);
  assert.deepEqual(read(pcap({ snap: 0 })).warnings, ['pcap header: snapshot length 0']);
});

test('pcapng: a section minor version other than 0 (or 2), an interface block\'s reserved field set', () => {
  assert.deepEqual(read(pcapng({ minor: 1 })), { records: 1, warnings: ['pcapng section header: version 1.1 (1.0 expected)'] });
  assert.deepEqual(read(pcapng({ minor: 2 })).warnings, []);
  assert.deepEqual(read(pcapng({ idbReserved: 5 })).warnings, ['pcapng interface description block: reserved field is not zero']);
});
