// Path-MTU discovery against real routers (RFC 1191, RFC 8201): `synack serve` on a TUN device behind a
// forwarding kernel whose next link has MTU 1000 (IPv4) / 1280 (IPv6), then a router namespace, then curl in a
// peer namespace on a 1500-byte link (so its MSS option does not give the path away). synack's 1460-byte segments carry DF, so the router answers ICMP fragmentation
// needed / packet too big; synack lowers its MSS, resends what was in flight in the new size, and the transfer
// completes. With synack's ICMP handling switched off, the same download stalls: the control run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { runInNetns, reportResult, assertInNetns, NETNS_ENV } from '../link/netns.js';
import { startServe, patternBytes } from './serve.js';
import { kernelTestSkipReason } from './kernel-testkit.js';
import { buildRoutedPath } from './kernel-ip-testkit.js';
import { decodeIp } from '../wire/ip.js';

const role = process.env[NETNS_ENV] ? process.argv[2] : undefined;
/** The upload's file (the namespaces share the filesystem; PIDs repeat across PID namespaces). */
const UP = join(tmpdir(), `synack-up-${randomBytes(6).toString('hex')}.bin`);
const SIZE = 10_000_000;

if (role === 'pmtu') {
  assertInNetns();
  const offload = process.argv[3] === 'offload';
  const quiet = { stdout: { write: () => true } as unknown as NodeJS.WritableStream, stderr: process.stderr, stdin: process.stdin };
  const h = await startServe({ tun: 'syn0', addr: ['10.77.0.2', 'fd77::2'], peer: ['10.77.0.1/24', 'fd77::1/64'], http: 80, offload, logFormat: 'json' }, quiet);
  // The host's links toward the router are the narrow hop: its kernel, forwarding, answers synack's DF segments.
  const path = buildRoutedPath({ m1: 1000, m1v6: 1280 });
  const { stack } = h;
  // The largest TCP payload synack sent per family once it had learned the path MTU (observing costs the
  // offload fast path, so only without offload, where every packet is one segment on the wire).
  const maxAfter = { 4: 0, 6: 0 };
  if (!offload) {
    stack.observePackets((dir, p) => {
      if (dir !== 'out' || stack.counters.PmtuUpdates === 0) return;
      const ip = decodeIp(p);
      if (ip.protocol !== 6) return;
      const tcpLen = ip.payload.length - ((ip.payload[12]! >> 4) * 4);
      const v = ip.version as 4 | 6;
      if (tcpLen > maxAfter[v] && stack.pmtu.get(ip.dst, stack.clock.now()) !== Infinity) maxAfter[v] = tcpLen;
    });
  }
  const out: Record<string, unknown> = { offload };
  const curl = async (url: string, extra = '', maxTime = 60) => {
    const t0 = performance.now();
    const r = await path.peer.sh(`curl -sS -g --max-time ${maxTime} ${extra} '${url}' | sha256sum`, (maxTime + 10) * 1000);
    return { code: r.code, sha: r.stdout.split(' ')[0], err: r.stderr.trim(), seconds: (performance.now() - t0) / 1000 };
  };

  // Control: ICMP ignored, the download black-holes (bounded by curl's --max-time).
  stack.icmpEnabled = false;
  const ctl = await path.peer.sh(`curl -sS --max-time 6 -o /dev/null -w '%{size_download}' http://10.77.0.2/bytes/${SIZE}`, 20_000);
  out.control = { code: ctl.code, bytes: Number(ctl.stdout), ignored: stack.counters.IcmpIgnored, pmtuUpdates: stack.counters.PmtuUpdates };
  stack.icmpEnabled = true;

  out.down4 = await curl(`http://10.77.0.2/bytes/${SIZE}`);
  out.pmtu4 = stack.pmtu.get(new Uint8Array([10, 79, 0, 2]), stack.clock.now());
  out.down6 = await curl(`http://[fd77::2]/bytes/${SIZE}`);
  await path.peer.sh(`head -c ${SIZE} /dev/urandom > ${UP}`);
  out.upSha = (await path.peer.sh(`sha256sum ${UP}`)).stdout.split(' ')[0];
  // POST answers the body's sha256 in hex: compare it with what the peer sent.
  const up4 = await path.peer.sh(`curl -sS --max-time 60 --data-binary @${UP} http://10.77.0.2/`, 70_000);
  const up6 = await path.peer.sh(`curl -sS -g --max-time 60 --data-binary @${UP} 'http://[fd77::2]/'`, 70_000);
  out.up4 = { code: up4.code, body: up4.stdout.trim(), err: up4.stderr };
  out.up6 = { code: up6.code, body: up6.stdout.trim(), err: up6.stderr };
  out.maxAfter = maxAfter;
  out.counters = { PmtuUpdates: stack.counters.PmtuUpdates, IcmpTcpErrors: stack.counters.IcmpTcpErrors, OutOfWindowIcmps: stack.counters.OutOfWindowIcmps };
  await h.stop(200);
  rmSync(UP, { force: true });
  reportResult(out);
  process.exit(0);
} else if (role === undefined) {
  const skip = kernelTestSkipReason(['curl', 'sha256sum', 'head']);
  const want = createHash('sha256').update(patternBytes(SIZE)).digest('hex');
  for (const mode of ['plain', 'offload'] as const) {
    test(`path MTU (${mode === 'plain' ? '--no-offload' : 'offload'}): curl 10 MB from and to synack across an MTU-1000 (IPv4) / 1280 (IPv6) hop; ICMP off stalls`, { skip, timeout: 240_000 }, async () => {
      const res = await runInNetns(import.meta.url, ['pmtu', mode], { timeoutMs: 200_000 });
      assert.equal(res.code, 0, res.stderr + res.stdout);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const r = res.result as any;
      // Control: with ICMP ignored nothing gets past the router: curl times out (28) with little or nothing.
      assert.equal(r.control.code, 28, JSON.stringify(r.control));
      assert.ok(r.control.bytes < SIZE / 2, JSON.stringify(r.control));
      assert.ok(r.control.ignored > 0, 'the router did send fragmentation-needed');
      for (const d of ['down4', 'down6'] as const) {
        assert.equal(r[d].code, 0, `${d}: ${JSON.stringify(r[d])}`);
        assert.equal(r[d].sha, want, `${d}: every byte intact`);
      }
      assert.equal(r.pmtu4, 1000, 'path MTU remembered for the destination');
      for (const u of ['up4', 'up6'] as const) assert.equal(r[u].body, r.upSha, `${u}: ${JSON.stringify(r[u])}`);
      assert.ok(r.counters.PmtuUpdates >= 2, JSON.stringify(r.counters));
      if (mode === 'plain') {
        // MSS from the path MTU: 1000 − 20 − 20 = 960 (IPv4), 1280 − 40 − 20 = 1220 (IPv6), less 12 bytes of timestamps.
        assert.equal(r.maxAfter[4], 948, JSON.stringify(r.maxAfter));
        assert.equal(r.maxAfter[6], 1208, JSON.stringify(r.maxAfter));
      }
    });
  }
}
