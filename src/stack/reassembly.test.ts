import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SYN } from '../wire/tcp-types.js';
import { fragmentAt } from '../wire/ip-reassembly.js';
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

test('installIpReassembly() with no stack: every stack made afterwards reassembles (what the Node entry does)', () => {
  const before = bare();
  installIpReassembly();
  const after = bare();
  const syn = tcpFrom(4, seg({ flags: SYN, options: { mss: 1460 } }));
  for (const h of [before, after]) for (const f of fragmentAt(syn, [8], 5)) h.stack.receive(f);
  assert.equal(before.out.length, 0);
  assert.equal(after.out.length, 1);
});
