/**
 * TunLink marks each TCP packet it writes for checksum offload with an allocation-free seed (seedTcpChecksum):
 * the same checksum field and csum_start as prepareTcpOffload, which the kernel completes. A wrong seed would
 * not show on the local kernel (it trusts NEEDS_CSUM packets it delivers to itself), only once forwarded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seedTcpChecksum } from './tun.js';
import { prepareTcpOffload, completeChecksum } from './virtio-net.js';
import { decodePacket, encodeTcpPacketHeaders } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';

function headers(v6: boolean, payload: number, garbageChecksum: number) {
  const [src, dst] = v6 ? [parseAddress('fd77::2'), parseAddress('fd77:1::1')] : [parseAddress('10.77.0.2'), parseAddress('10.99.3.1')];
  const h = encodeTcpPacketHeaders({ src, dst }, {
    srcPort: 8080, dstPort: 51234, seq: 0xfffffff0, ack: 12345, flags: 0x18, window: 501, urgent: 0,
    options: { tsVal: 1, tsEcr: 2 }, payload: new Uint8Array(payload).map((_, i) => (i * 31 + payload) & 0xff),
  });
  const ipLen = v6 ? 40 : 20;
  h[ipLen + 16] = garbageChecksum >> 8; h[ipLen + 17] = garbageChecksum & 0xff; // whatever the stack left there
  return h;
}

for (const v6 of [false, true]) {
  test(`IPv${v6 ? 6 : 4}: the seed equals prepareTcpOffload's for whole packets and for headers with a gathered payload, and completes to a valid checksum`, () => {
    for (const payload of [0, 1, 999, 1448, 4000, 65000]) {
      for (const gathered of [false, true]) {
        const a = headers(v6, payload, 0x1234), b = headers(v6, payload, 0xbeef);
        const body = new Uint8Array(payload).map((_, i) => (i * 31 + payload) & 0xff);
        const whole = (h: Uint8Array) => { const p = new Uint8Array(h.length + payload); p.set(h); p.set(body, h.length); return p; };
        const pa = gathered ? a : whole(a), pb = gathered ? b : whole(b);
        const extra = gathered ? payload : 0;
        const ref = prepareTcpOffload(pa, 0, extra);
        const start = seedTcpChecksum(pb, extra);
        assert.equal(start, ref.csumStart, `payload ${payload}`);
        assert.deepEqual(pb, pa, `payload ${payload}${gathered ? ' gathered' : ''}: same bytes`);
        const done = gathered ? whole(pb) : pb;
        completeChecksum(done, ref);
        assert.ok(decodePacket(done).tcpChecksumOk, `payload ${payload}: completed by the kernel's rule, valid`);
      }
    }
  });
}
