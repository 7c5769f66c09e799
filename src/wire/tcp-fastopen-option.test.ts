/** The TCP Fast Open option (RFC 7413 §4.1.1): kind 34, and the experimental kind 254 with ExID 0xF989 (RFC 6994). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTcp, encodeTcp } from './tcp.js';
import { EMPTY, SYN, type TcpOptions, type TcpSegment } from './tcp-types.js';

const SRC = new Uint8Array([192, 0, 2, 1]);
const DST = new Uint8Array([192, 0, 2, 2]);
const syn = (options: TcpOptions): TcpSegment => ({ srcPort: 1, dstPort: 2, seq: 7, ack: 0, flags: SYN, window: 65535, urgent: 0, options, payload: EMPTY });
/** The option bytes of an encoded segment. */
const optionBytes = (b: Uint8Array): number[] => [...b.subarray(20, (b[12]! >> 4) * 4)];

test('a cookie request is kind 34 length 2, padded with two NOPs (Linux tcp_options_write)', () => {
  const b = encodeTcp(syn({ mss: 1460, fastOpen: EMPTY }), SRC, DST);
  assert.deepEqual(optionBytes(b), [2, 4, 0x05, 0xb4, 34, 2, 1, 1]);
  const d = decodeTcp(b).seg.options;
  assert.equal(d.fastOpen?.length, 0);
  assert.equal(d.fastOpenExp, undefined);
});

test('an 8-byte cookie, kind 34 and experimental 254/0xF989, round-trips', () => {
  const cookie = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const b = encodeTcp(syn({ fastOpen: cookie }), SRC, DST);
  assert.deepEqual(optionBytes(b), [34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1]);
  assert.deepEqual([...decodeTcp(b).seg.options.fastOpen!], [...cookie]);
  const e = encodeTcp(syn({ fastOpen: cookie, fastOpenExp: true }), SRC, DST);
  assert.deepEqual(optionBytes(e), [254, 12, 0xf9, 0x89, 1, 2, 3, 4, 5, 6, 7, 8]);
  const d = decodeTcp(e).seg.options;
  assert.equal(d.fastOpenExp, true);
  assert.deepEqual([...d.fastOpen!], [...cookie]);
});

test('a cookie of a length RFC 7413 forbids, or another experiment, stays an unknown option', () => {
  const odd = encodeTcp(syn({ unknown: [{ kind: 34, data: new Uint8Array(3) }] }), SRC, DST);
  const d = decodeTcp(odd).seg.options;
  assert.equal(d.fastOpen, undefined);
  assert.equal(d.unknown?.[0]?.kind, 34);
  const other = encodeTcp(syn({ unknown: [{ kind: 254, data: new Uint8Array([0x12, 0x34, 9, 9]) }] }), SRC, DST);
  assert.equal(decodeTcp(other).seg.options.fastOpen, undefined);
  // Re-encoding a decoded segment with its recorded order reproduces its bytes.
  assert.deepEqual(optionBytes(encodeTcp({ ...decodeTcp(odd).seg }, SRC, DST)), optionBytes(odd));
});
