import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SYN } from '../wire/tcp-types.js';
import { fragmentAt } from '../wire/ip-reassembly.js';
import { decodeIp } from '../wire/ip.js';
import { parseAddress } from '../wire/address.js';
import { encodeIcmp, ICMP_ECHO_REQUEST } from '../wire/icmp.js';
import { Stack } from './stack.js';
import { VirtualClock } from './clock.js';
import { installIpReassembly } from './reassembly.js';
import { seg, tcpFrom, V4, V6 } from './ip-test-peer.js';

/** A listening stack without reassembly installed (a browser bundle's), and what it sends. */
function bare() {
  const stack = new Stack({ addresses: [V4.stack, V6.stack], clock: new VirtualClock(), random: (b) => b.fill(7) });
  const out: Uint8Array[] = [];
  stack.attach((p) => { out.push(p); });
  stack.listen(80);
  return { stack, out };
}

for (const v of [4, 6] as const) {
  test(`IPv${v}: without reassembly installed a fragmented SYN is dropped, each fragment counted as over the limit; installed, it is answered`, () => {
    const h = bare();
    // 40 bytes of TCP: the first fragment holds the whole header (RFC 7112), the second the rest of the options.
    const syn = tcpFrom(v, seg({ flags: SYN, options: { mss: 1460, sackPermitted: true, tsVal: 1, tsEcr: 0, wscale: 7 } }));
    const pieces = fragmentAt(syn, [24], 5);
    for (const f of pieces) h.stack.receive(f.slice());
    assert.equal(h.out.length, 0);
    assert.equal(h.stack.connectionCount, 0);
    const k = h.stack.snapshot();
    assert.deepEqual([k.ReasmReqds, k.ReasmOverLimit, k.ReasmOKs], [2, 2, 0]);
    // Unfragmented traffic is untouched.
    h.stack.receive(tcpFrom(v, seg({ flags: SYN, srcPort: 40001, options: { mss: 1460 } })));
    assert.equal(h.out.length, 1, 'a SYN+ACK for the whole SYN');

    installIpReassembly(h.stack);
    for (const f of pieces) h.stack.receive(f.slice());
    assert.equal(h.out.length, 2, 'a SYN+ACK for the reassembled SYN');
    const after = h.stack.snapshot();
    assert.deepEqual([after.ReasmReqds, after.ReasmOverLimit, after.ReasmOKs], [4, 2, 1], 'earlier counts kept');
  });
}

test('a 3000-byte echo request that came whole (a message link has no MTU): the reply leaves whole without reassembly installed, in fragments of at most the MTU with it', () => {
  const request = encodeIcmp({ src: parseAddress(V4.peer), dst: parseAddress(V4.stack), type: ICMP_ECHO_REQUEST, code: 0, rest: 0x12340001, body: new Uint8Array(3000).fill(9) });
  const h = bare();
  h.stack.receive(request);
  assert.deepEqual(h.out.map((p) => p.length), [3028], 'one datagram, unfragmented');
  installIpReassembly(h.stack);
  h.out.length = 0;
  h.stack.receive(request);
  assert.ok(h.out.length >= 3 && h.out.every((p) => p.length <= 1500), `fragments: ${h.out.map((p) => p.length).join(', ')}`);
  assert.ok(h.out.slice(0, -1).every((p) => decodeIp(p).mf), 'more-fragments on all but the last');
});

// Last: it changes what every stack made afterwards in this process has.
test('installIpReassembly() with no stack: every stack made afterwards reassembles (what the Node entry does)', () => {
  const before = bare();
  installIpReassembly();
  const after = bare();
  const syn = tcpFrom(4, seg({ flags: SYN, options: { mss: 1460 } }));
  for (const h of [before, after]) for (const f of fragmentAt(syn, [8], 5)) h.stack.receive(f);
  assert.equal(before.out.length, 0);
  assert.equal(after.out.length, 1);
});
