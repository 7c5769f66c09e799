// A SYN read from the device is answered inside the call that delivers it (tun.ts TunReceiver, the stack set up
// as attachStack sets it up, a socket Server listening as synack serve's): the SYN+ACK is handed to the link
// before deliver() returns, in one link call per read batch, with no microtask, immediate or timer between. A
// SYN+ACK that waited for a later turn would add the event loop's latency to every handshake (issue 14: curl's
// connect time against synack serve).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, SYN } from '../wire/tcp-types.js';
import { decodePacket } from '../wire/packet.js';
import { Stack } from '../stack/stack.js';
import { VirtualClock } from '../stack/clock.js';
import { Server } from '../stack/server.js';
import { installSynFastPath } from '../stack/syn-fast-path.js';
import { installIpReassembly } from '../stack/reassembly.js';
import { reuseOutputBuffers } from '../stack/ip-output.js';
import { V4, V6, seg, tcpFrom } from '../stack/ip-test-peer.js';
import { TunReceiver, type TunOffloadStats } from './tun.js';
import { VIRTIO_NET_HDR_F_DATA_VALID } from './virtio-net.js';

const stats = (): TunOffloadStats => ({ rxGsoPackets: 0, rxGsoBytes: 0, rxChecksumSkipped: 0, rxOversize: 0, txGsoPackets: 0, txGsoBytes: 0 });

/** One link call: the datagrams it carried and whether it came while deliver() ran. */
interface LinkCall { pkts: Uint8Array[]; during: boolean }

/** A stack joined to a fake device as TunLink.attachStack joins one (capabilities, fast path, reassembly, reused output). */
function served(hdr: number) {
  const clock = new VirtualClock();
  const stack = new Stack({ addresses: [V4.stack, V6.stack], clock, random: (b) => b.fill(7) });
  installSynFastPath(stack); installIpReassembly(stack); reuseOutputBuffers(stack);
  const calls: LinkCall[] = [];
  let during = false;
  const record = (pkts: Uint8Array[]): void => { calls.push({ pkts: pkts.map((p) => p.slice()), during }); };
  stack.attach((p) => record([p]), {
    checksumOffload: hdr > 0,
    sendParts: (h, payload) => { const p = new Uint8Array(h.length + payload.length); p.set(h); p.set(payload, h.length); record([p]); },
    sendBatch: (buf, offsets, count) => record(Array.from({ length: count }, (_, i) => buf.subarray(offsets[2 * i]!, offsets[2 * i]! + offsets[2 * i + 1]!))),
    sendPackets: (pkts) => record(pkts),
    pollInput: (then) => setImmediate(then),
  });
  const accepted: unknown[] = [];
  // As synack serve listens: a socket Server (noDelay, half-open allowed) on port 80.
  new Server(stack, { allowHalfOpen: true, noDelay: true }, (s) => accepted.push(s)).listen(80);
  const receiver = new TunReceiver(stack, hdr, stats());
  const deliver = (pkts: Uint8Array[]): void => {
    const chunk = new ArrayBuffer(pkts.reduce((a, p) => a + hdr + p.length + 3, 0));
    const bytes = new Uint8Array(chunk);
    const offsets = new Uint32Array(2 * pkts.length);
    let o = 0;
    pkts.forEach((p, i) => {
      if (hdr > 0) bytes[o] = VIRTIO_NET_HDR_F_DATA_VALID;
      bytes.set(p, o + hdr);
      offsets[2 * i] = o; offsets[2 * i + 1] = hdr + p.length;
      o += hdr + p.length + 3;
    });
    during = true;
    try { receiver.deliver(chunk, offsets, pkts.length); } finally { during = false; }
  };
  return { stack, clock, calls, accepted, deliver };
}

const synFrom = (v: 4 | 6, port: number, from?: string): Uint8Array =>
  tcpFrom(v, seg({ flags: SYN, srcPort: port, seq: port * 1000, options: { mss: 1460, sackPermitted: true, tsVal: 1, tsEcr: 0, wscale: 7 } }), from);

/** Every turn's leftovers: microtasks, an immediate, and the virtual clock's due timers. */
async function laterTurns(clock: VirtualClock): Promise<void> {
  await new Promise((r) => setImmediate(r));
  clock.advanceTo(clock.now());
}

for (const v of [4, 6] as const) {
  for (const hdr of [0, 10]) {
    const what = `IPv${v}${hdr ? ', offload' : ''}`;
    test(`${what}: a lone SYN's SYN+ACK is handed to the device before the read's delivery returns, in one link call`, async () => {
      const h = served(hdr);
      h.deliver([synFrom(v, 40000)]);
      const during = h.calls.filter((c) => c.during);
      assert.equal(during.length, 1, 'one link call while the SYN was delivered');
      assert.equal(during[0]!.pkts.length, 1);
      const sa = decodePacket(during[0]!.pkts[0]!).tcp!.seg;
      assert.equal(sa.flags, SYN | ACK);
      assert.equal(sa.ack, 40000 * 1000 + 1);
      assert.equal(sa.dstPort, 40000);
      assert.equal(h.stack.counters.SynFastPath, 0, 'the SYN queue had room: the general path answered (a connection, not a cookie)');
      assert.equal([...h.stack.allConnections()].filter((c) => c.tcp.state === 'SYN-RECEIVED').length, 1);
      await laterTurns(h.clock);
      assert.equal(h.calls.filter((c) => !c.during).length, 0, 'nothing left for a later turn');
    });

    test(`${what}: SYNs read in one batch from several clients are answered in one link call, before the delivery returns`, async () => {
      const h = served(hdr);
      const peers = v === 4 ? ['10.0.0.1', '10.0.0.5', '10.0.0.9'] : ['fd00::1', 'fd00::5', 'fd00::9'];
      h.deliver(peers.map((p, i) => synFrom(v, 41000 + i, p)));
      const during = h.calls.filter((c) => c.during);
      assert.equal(during.length, 1, 'the batch\'s answers leave in one call');
      assert.deepEqual(during[0]!.pkts.map((p) => decodePacket(p).tcp!.seg).map((s) => [s.flags, s.dstPort]), peers.map((_, i) => [SYN | ACK, 41000 + i]));
      await laterTurns(h.clock);
      assert.equal(h.calls.filter((c) => !c.during).length, 0, 'nothing left for a later turn');
      // The handshakes complete: each client's ACK of its SYN+ACK makes a connection the server accepts.
      h.deliver(during[0]!.pkts.map((p, i) => {
        const sa = decodePacket(p).tcp!.seg;
        return tcpFrom(v, seg({ flags: ACK, srcPort: 41000 + i, seq: sa.ack, ack: (sa.seq + 1) >>> 0, options: { tsVal: 2, tsEcr: sa.options.tsVal } }), peers[i]);
      }));
      assert.equal(h.accepted.length, 3);
    });
  }
}
