// IP fragments from real senders reach `synack serve` whole (RFC 791, RFC 8200, RFC 5722):
//   the kernel's `ping -s 3000` (IPv4 and IPv6): the request arrives in fragments, synack's fragmented reply
//     reassembles in the kernel, ping succeeds;
//   scapy SYNs cut into 8-byte fragments, in order, reversed, and overlapping (IPv4), and an IPv6 SYN in three
//     fragments: answered with SYN+ACK, except the overlapping one, discarded and counted;
//   a 10 MB upload whose segments the peer sends with DF clear, fragmented by a router onto an MTU-1000 link:
//     every TCP segment arrives in two fragments and the body's sha256 matches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runInNetns, reportResult, assertInNetns, NETNS_ENV } from '../link/netns.js';
import { startServe } from './serve.js';
import { kernelTestSkipReason, run } from './kernel-testkit.js';
import { buildRoutedPath } from './kernel-ip-testkit.js';
import { decodePacket } from '../wire/packet.js';
import { SYN, ACK } from '../wire/tcp-types.js';
import { DATAGRAM_OVERHEAD } from '../wire/ip-reassembly.js';

const role = process.env[NETNS_ENV] ? process.argv[2] : undefined;
/** The upload's file (the namespaces share the filesystem; PIDs repeat across PID namespaces). */
const UP = join(tmpdir(), `synack-up-${randomBytes(6).toString('hex')}.bin`);

const PY_FRAGMENTS = String.raw`
from scapy.all import IP, IPv6, IPv6ExtHdrFragment, TCP, Raw, fragment, fragment6, send, conf
conf.verb = 0
def syn(sport): return IP(src='10.77.0.1', dst='10.77.0.2') / TCP(sport=sport, dport=80, flags='S', seq=1000, options=[('MSS', 1460), ('SAckOK', b''), ('Timestamp', (1, 0)), ('NOP', None), ('WScale', 7)])
inorder = fragment(syn(41001), fragsize=8)
send(inorder, iface='syn0')
rev = fragment(syn(41002), fragsize=8)
rev.reverse()
send(rev, iface='syn0')
# Overlap (RFC 5722): the second fragment starts 8 bytes into the first one's data.
p = syn(41003); p.id = 777
f = fragment(p, fragsize=16)
o = f[1].copy(); o.frag = 1; del o.chksum
send([f[0], o] + f[1:], iface='syn0')
s6 = IPv6(src='fd77::1', dst='fd77::2') / IPv6ExtHdrFragment(id=4242) / TCP(sport=41004, dport=80, flags='S', seq=1000, options=[('MSS', 1440), ('SAckOK', b''), ('Timestamp', (1, 0)), ('NOP', None), ('WScale', 7)]) / Raw(b'x' * 16)
f6 = fragment6(s6, 40 + 8 + 24)
send(f6, iface='syn0')
print(len(inorder), len(f), len(f6), flush=True)
`;

if (role === 'frag') {
  assertInNetns();
  const quiet = { stdout: { write: () => true } as unknown as NodeJS.WritableStream, stderr: process.stderr, stdin: process.stdin };
  const h = await startServe({ tun: 'syn0', addr: ['10.77.0.2', 'fd77::2'], peer: ['10.77.0.1/24', 'fd77::1/64'], http: 80 }, quiet);
  const { stack } = h;
  const out: Record<string, unknown> = {};
  const synAcks = new Map<number, number>();
  stack.observePackets((dir, p) => {
    if (dir !== 'out') return;
    try {
      const d = decodePacket(p);
      if (d.tcp && (d.tcp.seg.flags & (SYN | ACK)) === (SYN | ACK)) synAcks.set(d.tcp.seg.dstPort, (synAcks.get(d.tcp.seg.dstPort) ?? 0) + 1);
    } catch { /* only counting */ }
  });

  const p4 = await run('ping', ['-c', '3', '-i', '0.2', '-W', '2', '-s', '3000', '10.77.0.2'], { timeoutMs: 15_000 });
  const p6 = await run('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', '-s', '3000', 'fd77::2'], { timeoutMs: 15_000 });
  out.ping4 = { code: p4.code, out: p4.stdout.slice(-200) };
  out.ping6 = { code: p6.code, out: p6.stdout.slice(-200) };
  out.afterPing = { ReasmOKs: stack.snapshot().ReasmOKs, IcmpOutEchoReps: stack.counters.IcmpOutEchoReps };

  if (process.argv[3] === 'scapy') {
    const before = stack.snapshot();
    const s = await run('/usr/bin/python3', ['-c', PY_FRAGMENTS], { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 300));
    const after = stack.snapshot();
    out.scapy = {
      code: s.code, err: s.stderr.slice(-500), counts: s.stdout.trim(),
      synAcks: Object.fromEntries([41001, 41002, 41003, 41004].map((p) => [p, synAcks.get(p) ?? 0])),
      overlaps: after.ReasmOverlaps - before.ReasmOverlaps, oks: after.ReasmOKs - before.ReasmOKs,
    };
  }

  // A router fragments the peer's DF-clear segments onto an MTU-1000 link on their way to synack.
  const path = buildRoutedPath({ m1: 1000 });
  await path.peer.sh('sysctl -qw net.ipv4.ip_no_pmtu_disc=1');
  await path.peer.sh(`head -c 10000000 /dev/urandom > ${UP}`);
  const want = (await path.peer.sh(`sha256sum ${UP}`)).stdout.split(' ')[0];
  const before = stack.snapshot().ReasmOKs;
  const up = await path.peer.sh(`curl -sS --max-time 60 --data-binary @${UP} http://10.77.0.2/`, 70_000);
  out.upload = { code: up.code, body: up.stdout.trim(), want, err: up.stderr, reassembled: stack.snapshot().ReasmOKs - before };
  out.held = stack.reassembler.heldBytes;
  await h.stop(200);
  rmSync(UP, { force: true });
  reportResult(out);
  process.exit(0);
} else if (role === undefined) {
  const skip = kernelTestSkipReason(['ping', 'curl', 'sha256sum']);
  const scapyMissing = spawnSync('/usr/bin/python3', ['-c', 'import scapy.all']).status !== 0;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let r: any = null;
  const get = async () => {
    if (r) return r;
    const res = await runInNetns(import.meta.url, ['frag', scapyMissing ? 'no-scapy' : 'scapy'], { timeoutMs: 150_000 });
    assert.equal(res.code, 0, res.stderr + res.stdout);
    r = res.result;
    return r;
  };
  test('ping -s 3000 (IPv4 and IPv6): the fragmented request is reassembled and the fragmented reply satisfies ping', { skip, timeout: 180_000 }, async () => {
    const x = await get();
    assert.equal(x.ping4.code, 0, x.ping4.out);
    assert.match(x.ping4.out, /3 received/);
    assert.equal(x.ping6.code, 0, x.ping6.out);
    assert.match(x.ping6.out, /3 received/);
    assert.ok(x.afterPing.ReasmOKs >= 6);
  });
  test('scapy: a SYN in 8-byte fragments (in order, reversed) and an IPv6 SYN in fragments are answered; overlapping fragments are discarded (RFC 5722)', { skip: skip || (scapyMissing ? 'python3-scapy is not installed for /usr/bin/python3' : false), timeout: 180_000 }, async () => {
    const s = (await get()).scapy;
    assert.equal(s.code, 0, s.err);
    assert.equal(s.synAcks[41001], 1, JSON.stringify(s));
    assert.equal(s.synAcks[41002], 1, JSON.stringify(s));
    assert.equal(s.synAcks[41003], 0, JSON.stringify(s));
    assert.equal(s.synAcks[41004], 1, JSON.stringify(s));
    assert.equal(s.overlaps, 1);
  });
  test('a 10 MB upload sent with DF clear and fragmented by a router onto an MTU-1000 link arrives intact', { skip, timeout: 180_000 }, async () => {
    const u = (await get()).upload;
    assert.equal(u.code, 0, u.err);
    assert.equal(u.body, u.want);
    assert.ok(u.reassembled > 5000, `${u.reassembled} datagrams reassembled`);
    // Nothing left half-finished: at most the scapy overlap's discarded entry (RFC 5722), kept until its timeout.
    assert.ok((await get()).held <= DATAGRAM_OVERHEAD, `${(await get()).held} bytes held`);
  });
}
