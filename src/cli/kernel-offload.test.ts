// `synack serve --offload`: the kernel's curl GETs and POSTs 10 MB over IPv4 and IPv6 with TSO/GSO super-packets
// both ways, inside a fresh network namespace; synack's --pcap capture stays valid pcapng that tshark reads,
// with super-packets as real TSO captures show them and IP lengths that match the bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNetns, reportResult, assertInNetns, NETNS_ENV } from '../link/netns.js';
import { startServe, patternBytes } from './serve.js';
import { run, ssTcp, spawnCli, collectChild, startTcpdump, tsharkFields, kernelTestSkipReason } from './kernel-testkit.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const SIZE = 10_000_000;
const US = 'ip.src == 10.77.0.2 || ipv6.src == fd77::2';

const role = process.env[NETNS_ENV] ? process.argv[2] : undefined;

if (role === 'curl') {
  assertInNetns();
  const dir = mkdtempSync(join(tmpdir(), 'synack-ko-'));
  const ours = join(dir, 'synack.pcapng');
  const lines: string[] = [];
  const io = { stdout: { write: (s: string) => { lines.push(s); return true; } } as unknown as NodeJS.WritableStream, stderr: process.stderr, stdin: process.stdin };
  const h = await startServe({ tun: 'syn0', addr: ['10.77.0.2', 'fd77::2'], peer: ['10.77.0.1/24', 'fd77::1/64'], http: 80, logFormat: 'json', pcap: ours, offload: true }, io);
  const body = patternBytes(SIZE, 12345);
  const upload = join(dir, 'up');
  writeFileSync(upload, body);
  const out: Record<string, unknown> = { banner: lines[0] ?? '', expectedGet: sha(patternBytes(SIZE)), expectedPost: sha(body) };
  for (const [fam, base] of [['v4', 'http://10.77.0.2'], ['v6', 'http://[fd77::2]']] as const) {
    const file = join(dir, `${fam}-get`);
    const get = await run('curl', ['-sS', '-g', '--max-time', '30', '-o', file, `${base}/bytes/${SIZE}`]);
    const post = await run('curl', ['-sS', '-g', '--max-time', '30', '--data-binary', `@${upload}`, `${base}/upload`]);
    let got: string | null = null;
    try { got = sha(readFileSync(file)); } catch { /* no file */ }
    out[fam] = { getCode: get.code, getErr: get.stderr, got, postCode: post.code, postErr: post.stderr, postReply: post.stdout.trim() };
  }
  out.offload = h.host.link.offloadStats;
  out.csumErrors = h.stack.counters.InCsumErrors;
  await h.stop(500);
  // The capture as tshark reads it: per frame, its length, the IP length fields, direction, TCP checksum status.
  const rows = await tsharkFields(ours, 'tcp', ['frame.len', 'ip.len', 'ipv6.plen', 'ip.src', 'ipv6.src', 'tcp.checksum.status']);
  // A malformed frame is rare (1 run in ~40 this session, never caught in a kept capture): say which and why.
  const malformed = await tsharkFields(ours, '_ws.malformed', ['frame.number', 'frame.len', 'frame.protocols', 'ip.len', 'ipv6.plen', 'tcp.srcport', 'tcp.seq_raw', 'tcp.len', '_ws.expert.message']);
  const isUs = (r: string[]) => r[3] === '10.77.0.2' || r[4] === 'fd77::2';
  const ipLen = (r: string[]) => (r[1] ? Number(r[1]) : Number(r[2]) + 40);
  out.capture = {
    frames: rows.length,
    malformed: malformed.length,
    malformedFrames: malformed.slice(0, 5).map((r) => r.join(' | ')),
    lengthMismatch: rows.filter((r) => ipLen(r) !== Number(r[0])).length,
    bigFromUs: rows.filter((r) => isUs(r) && Number(r[0]) > 1500).length,
    bigFromKernel: rows.filter((r) => !isUs(r) && Number(r[0]) > 1500).length,
    // Our segments are recorded before the link seeds their checksum for the kernel: all verify. (The
    // kernel's carry only the pseudo-header sum it left for "hardware", as in any capture with offloads.)
    fromUsNotGood: rows.filter((r) => isUs(r) && r[5] !== '1' && r[5] !== 'Good').length,
    statuses: [...new Set(rows.filter(isUs).map((r) => `${r[5]} ${Number(r[0]) > 1500}`))],
    fromUs: (await tsharkFields(ours, `tcp && (${US})`, ['frame.number'])).length,
  };
  rmSync(dir, { recursive: true, force: true });
  reportResult(out);
  process.exit(0);
} else if (role === 'connect') {
  // synack connect --offload against nc -l: 10 MB each way, with tcpdump on every interface (`any` also sees
  // the device connect creates later) counting super-packets in both directions.
  assertInNetns();
  writeFileSync('/proc/sys/net/ipv4/ip_nonlocal_bind', '1');
  writeFileSync('/proc/sys/net/ipv6/ip_nonlocal_bind', '1');
  const dir = mkdtempSync(join(tmpdir(), 'synack-koc-'));
  const cap = join(dir, 'any.pcap');
  const dump = await startTcpdump('any', cap);
  const out: Record<string, unknown> = {};
  for (const [fam, addr] of [['v4', '10.77.0.1'], ['v6', 'fd77::1']] as const) {
    const toUs = patternBytes(SIZE, 7);
    const toKernel = patternBytes(SIZE, 99);
    writeFileSync(join(dir, `${fam}-a`), toUs);
    const nc = spawn('sh', ['-c', `exec nc -N -l ${addr} 9000 < ${dir}/${fam}-a > ${dir}/${fam}-b`], { stdio: 'ignore' });
    const ncExit = new Promise<number | null>((r) => nc.once('exit', (c) => r(c)));
    for (let i = 0; i < 500 && !(await ssTcp()).some((x) => x.state === 'LISTEN' && x.local.endsWith(':9000')); i++) await new Promise((r) => setTimeout(r, 20));
    const p = spawnCli('connect', ['--tun', 'syn0', '--addr', '10.77.0.2', '--peer', '10.77.0.1/24', '--addr', 'fd77::2', '--peer', 'fd77::1/64', '--offload', addr, '9000']);
    const c = collectChild(p);
    p.stdin!.on('error', () => undefined);
    p.stdin!.write(toKernel);
    const until = Date.now() + 60_000;
    while (c.stdout().length < toUs.length && p.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    p.stdin!.end();
    const code = await c.exit;
    const ncCode = await Promise.race([ncExit, new Promise((res) => setTimeout(() => res('still running'), 5000))]);
    let sentOk = false;
    try { sentOk = sha(readFileSync(join(dir, `${fam}-b`))) === sha(toKernel); } catch { /* nc wrote nothing */ }
    out[fam] = { code, err: c.stderr(), ncCode, received: c.stdout().length, receivedOk: sha(c.stdout()) === sha(toUs), sentOk };
  }
  await dump.stop();
  const rows = await tsharkFields(cap, 'tcp', ['ip.len', 'ipv6.plen', 'ip.src', 'ipv6.src']);
  const size = (r: string[]) => (r[0] ? Number(r[0]) : Number(r[1]) + 40);
  const isUs = (r: string[]) => r[2] === '10.77.0.2' || r[3] === 'fd77::2';
  out.bigFromUs = rows.filter((r) => isUs(r) && size(r) > 1500).length;
  out.bigFromKernel = rows.filter((r) => !isUs(r) && size(r) > 1500).length;
  rmSync(dir, { recursive: true, force: true });
  reportResult(out);
  process.exit(0);
} else if (role === undefined) {
  const skip = kernelTestSkipReason(['curl', 'tshark']);
  test('synack serve --offload: curl GETs and POSTs 10 MB over IPv4 and IPv6; --pcap holds the super-packets with correct IP lengths', { skip, timeout: 150_000 }, async () => {
    const res = await runInNetns(import.meta.url, ['curl'], { timeoutMs: 140_000 });
    assert.equal(res.code, 0, res.stderr + res.stdout);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const r = res.result as any;
    assert.match(r.banner, /mtu 1500, offload,/);
    for (const fam of ['v4', 'v6']) {
      assert.equal(r[fam].getCode, 0, `${fam} GET: curl ${r[fam].getCode} ${r[fam].getErr}`);
      assert.equal(r[fam].got, r.expectedGet, `${fam} GET body differs from the pattern`);
      assert.equal(r[fam].postCode, 0, `${fam} POST: curl ${r[fam].postCode} ${r[fam].postErr}`);
      assert.equal(r[fam].postReply, r.expectedPost, `${fam} POST digest differs`);
    }
    assert.ok(r.offload.rxGsoPackets > 20 && r.offload.txGsoPackets > 20, JSON.stringify(r.offload));
    assert.equal(r.csumErrors, 0);
    const c = r.capture;
    assert.ok(c.frames > 1000, `capture has ${c.frames} TCP frames`);
    assert.equal(c.malformed, 0, `tshark found malformed frames (number | length | protocols | IPv4 length | IPv6 payload length | source port | raw seq | TCP length | expert): ${c.malformedFrames.join('; ')}`);
    assert.equal(c.lengthMismatch, 0, 'a captured datagram\'s IP length differs from its size');
    assert.ok(c.bigFromUs > 20 && c.bigFromKernel > 20, `super-packets in the capture: ${c.bigFromUs} from us, ${c.bigFromKernel} from the kernel`);
    // tshark's tcp.checksum.status: 1 = Good (0 Bad, 2 Unverified).
    assert.equal(c.fromUsNotGood, 0, `a segment from synack has a TCP checksum tshark does not verify: ${JSON.stringify(c.statuses)}`);
  });

  test('synack connect --offload exchanges 10 MB each way with nc -l (IPv4 and IPv6); tcpdump sees super-packets both ways', { skip: kernelTestSkipReason(['nc', 'tcpdump', 'tshark', 'ss']), timeout: 150_000 }, async () => {
    const res = await runInNetns(import.meta.url, ['connect'], { timeoutMs: 140_000 });
    assert.equal(res.code, 0, res.stderr + res.stdout);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const r = res.result as any;
    for (const fam of ['v4', 'v6']) {
      const x = r[fam];
      assert.equal(x.code, 0, `${fam}: synack connect exit ${x.code}: ${x.err}`);
      assert.ok(x.receivedOk, `${fam}: nc → synack data differs (${x.received} bytes)`);
      assert.ok(x.sentOk, `${fam}: synack → nc data differs`);
      assert.equal(x.ncCode, 0, `${fam}: nc exit`);
    }
    assert.ok(r.bigFromUs > 20, `tcpdump saw ${r.bigFromUs} super-packets from synack`);
    assert.ok(r.bigFromKernel > 20, `tcpdump saw ${r.bigFromKernel} super-packets from the kernel`);
  });
}
