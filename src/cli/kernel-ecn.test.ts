// ECN (RFC 3168) against the kernel's TCP over TUN, with congestion marks set on the path by nftables
// (`ip ecn set ce` on one ECN-capable packet in 50, each direction; this kernel has no netem or RED):
//   the kernel (net.ipv4.tcp_ecn = 1) asks for ECN and synack accepts it (its default, like Linux's tcp_ecn = 2);
//   download: synack's data leaves ECT(0), the kernel echoes the marks with ECE, synack reduces and sends CWR;
//   upload: the kernel's marked data makes synack echo ECE until the kernel's CWR;
//   10 MB each way, bytes intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { runInNetns, reportResult, assertInNetns, NETNS_ENV } from '../link/netns.js';
import { startServe, patternBytes } from './serve.js';
import { kernelTestSkipReason, run } from './kernel-testkit.js';
import { decodeIp } from '../wire/ip.js';
import { CWR, ECE, SYN } from '../wire/tcp-types.js';

const role = process.env[NETNS_ENV] ? process.argv[2] : undefined;
const SIZE = 10_000_000;
const UP = join(tmpdir(), `synack-ecn-${randomBytes(6).toString('hex')}.bin`);

if (role === 'ecn') {
  assertInNetns();
  const offload = process.argv[3] === 'offload';
  const quiet = { stdout: { write: () => true } as unknown as NodeJS.WritableStream, stderr: process.stderr, stdin: process.stdin };
  execFileSync('sysctl', ['-qw', 'net.ipv4.tcp_ecn=1']);
  const h = await startServe({ tun: 'syn0', addr: ['10.77.0.2'], peer: ['10.77.0.1/24'], http: 80, offload }, quiet);
  const nft = (rule: string) => execFileSync('nft', rule.split(' '), { stdio: ['ignore', 'ignore', 'pipe'] });
  nft('add table ip cemark');
  nft('add chain ip cemark pre { type filter hook prerouting priority 0 ; }');
  nft('add rule ip cemark pre ip saddr 10.77.0.2 ip ecn ect0 numgen random mod 50 0 ip ecn set ce');
  nft('add chain ip cemark post { type filter hook postrouting priority 0 ; }');
  // Toward synack, netfilter sees the kernel's GSO super-packets (segmented after POSTROUTING, up to 64 KB each:
  // ~160 for 10 MB when the sender's autosizing makes them large), so 1 in 50 left a transfer with at most one
  // mark now and then (1 run in 6 on a loaded machine); 1 in 5 gives dozens of marks however the kernel sizes them.
  nft('add rule ip cemark post ip daddr 10.77.0.2 ip ecn ect0 numgen random mod 5 0 ip ecn set ce');
  const n = { synIn: 0, synEcnIn: 0, synAckEceOut: 0, ectOut: 0, notEctDataOut: 0, ceIn: 0, eceOut: 0, cwrIn: 0, eceIn: 0, cwrOut: 0 };
  h.stack.observePackets((dir, p) => {
    const ip = decodeIp(p);
    if (ip.protocol !== 6) return;
    const t = ip.payload;
    const flags = t[13]!;
    const len = ip.payload.length - (t[12]! >> 4) * 4;
    if (dir === 'in') {
      if (flags & SYN) { n.synIn++; if ((flags & (ECE | CWR)) === (ECE | CWR)) n.synEcnIn++; }
      if ((ip.tos & 3) === 3) n.ceIn++;
      if (flags & CWR && !(flags & SYN)) n.cwrIn++;
      if (flags & ECE && !(flags & SYN)) n.eceIn++;
    } else {
      if ((flags & SYN) && (flags & ECE)) n.synAckEceOut++;
      if (len > 0 && (ip.tos & 3) === 2) n.ectOut++;
      if (len > 0 && (ip.tos & 3) === 0) n.notEctDataOut++;
      if (flags & ECE && !(flags & SYN)) n.eceOut++;
      if (flags & CWR && !(flags & SYN)) n.cwrOut++;
    }
  });
  const sh = (line: string) => run('bash', ['-c', `set -o pipefail; ${line}`], { timeoutMs: 90_000 });
  const down = await sh(`curl -sS --max-time 60 http://10.77.0.2/bytes/${SIZE} | sha256sum`);
  const afterDown = { ...n };
  await sh(`head -c ${SIZE} /dev/urandom > ${UP}`);
  const upSha = (await sh(`sha256sum ${UP}`)).stdout.split(' ')[0];
  const up = await sh(`curl -sS --max-time 60 --data-binary @${UP} http://10.77.0.2/`);
  rmSync(UP, { force: true });
  const after = { ...n };
  const delta = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - afterDown[k as keyof typeof n]]));
  await h.stop(100);
  reportResult({ down: { code: down.code, sha: down.stdout.split(' ')[0], err: down.stderr, n: afterDown }, up: { code: up.code, body: up.stdout.trim(), want: upSha, err: up.stderr, n: delta } });
  process.exit(0);
} else if (role === undefined) {
  const skip = kernelTestSkipReason(['curl', 'nft', 'sha256sum']);
  const want = createHash('sha256').update(patternBytes(SIZE)).digest('hex');
  for (const mode of ['plain', 'offload'] as const) {
    test(`ECN with the kernel (${mode === 'plain' ? '--no-offload' : 'offload'}): negotiated on the kernel's SYN; CE marks on the path are echoed and answered both ways; 10 MB each way intact`, { skip, timeout: 200_000 }, async () => {
      const res = await runInNetns(import.meta.url, ['ecn', mode], { timeoutMs: 180_000 });
      assert.equal(res.code, 0, res.stderr + res.stdout);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const { down, up } = res.result as any;
      assert.equal(down.code, 0, down.err);
      assert.equal(down.sha, want);
      const d = down.n;
      assert.ok(d.synEcnIn >= 1 && d.synAckEceOut >= 1, `negotiation: ${JSON.stringify(d)}`);
      assert.ok(d.ectOut > 100 && d.notEctDataOut < d.ectOut / 10, `synack's data is ECT(0): ${JSON.stringify(d)}`);
      assert.ok(d.eceIn >= 1, `the kernel echoed the path's CE marks: ${JSON.stringify(d)}`);
      assert.ok(d.cwrOut >= 1, `synack reduced and said CWR: ${JSON.stringify(d)}`);
      assert.equal(up.code, 0, up.err);
      assert.equal(up.body, up.want);
      const u = up.n;
      assert.ok(u.ceIn >= 1, `CE marks reached synack: ${JSON.stringify(u)}`);
      assert.ok(u.eceOut >= 1, `synack echoed them with ECE: ${JSON.stringify(u)}`);
      assert.ok(u.cwrIn >= 1, `the kernel reduced and said CWR: ${JSON.stringify(u)}`);
    });
  }
}
