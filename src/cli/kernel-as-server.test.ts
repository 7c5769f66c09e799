// The kernel as server: `synack connect` (a separate process, as a user runs it) to `nc -l` and to
// `python3 -m http.server`, bound to the namespace's kernel address. Data is verified in both directions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNetns, reportResult, assertInNetns, NETNS_ENV } from '../link/netns.js';
import { ssTcp, spawnCli, collectChild, kernelTestSkipReason } from './kernel-testkit.js';
import type { LifecycleRecord } from './lifecycle-log.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const role = process.env[NETNS_ENV] ? process.argv[2] : undefined;

/** Waits until the kernel listens on `port`. */
async function listening(port: number): Promise<void> {
  let ok = false;
  const until = Date.now() + 10_000;
  while (!ok && Date.now() < until) {
    ok = (await ssTcp()).some((s) => s.state === 'LISTEN' && s.local.endsWith(`:${port}`));
    if (!ok) await new Promise((r) => setTimeout(r, 20));
  }
  if (!ok) throw new Error(`nothing listens on ${port}`);
}

/**
 * Runs `synack connect ARGS`, writes `input` to its stdin and ends stdin (our FIN) once `expect` bytes have
 * come back (openbsd nc stops sending the rest of its input once it sees our FIN, so the kernel's side goes first).
 */
async function connect(args: string[], input: Buffer, expect = 0): Promise<{ code: number | null; out: Buffer; err: string; records: LifecycleRecord[] }> {
  const p = spawnCli('connect', ['--tun', 'syn0', '--addr', '10.77.0.2', '--peer', '10.77.0.1/24', '--addr', 'fd77::2', '--peer', 'fd77::1/64', '-v', '--log-format', 'json', ...args]);
  const c = collectChild(p);
  p.stdin!.on('error', () => undefined); // it may exit (refused) before reading its input
  p.stdin!.write(input);
  const until = Date.now() + 20_000;
  while (c.stdout().length < expect && p.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  p.stdin!.end();
  const code = await c.exit;
  const records = c.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LifecycleRecord);
  return { code, out: c.stdout(), err: c.stderr(), records };
}

if (role === 'server') {
  assertInNetns();
  // The kernel's servers bind to 10.77.0.1 / fd77::1 before synack connect creates the device that carries
  // those addresses: allow binding to an address not (yet) configured (per-namespace sysctls).
  writeFileSync('/proc/sys/net/ipv4/ip_nonlocal_bind', '1');
  writeFileSync('/proc/sys/net/ipv6/ip_nonlocal_bind', '1');
  const dir = mkdtempSync(join(tmpdir(), 'synack-ks-'));
  const out: Record<string, unknown> = {};
  for (const [fam, addr] of [['v4', '10.77.0.1'], ['v6', 'fd77::1']] as const) {
    const toUs = randomBytes(fam === 'v4' ? 1 << 20 : 100_000);
    const toKernel = randomBytes(fam === 'v4' ? 700_000 : 50_000);
    writeFileSync(join(dir, `${fam}-a`), toUs);
    // nc -N: shutdown(SHUT_WR) after its stdin ends, so both directions end with a FIN.
    const nc = spawn('sh', ['-c', `exec nc -N -l ${addr} 9000 < ${dir}/${fam}-a > ${dir}/${fam}-b`], { stdio: 'ignore' });
    const ncExit = new Promise<number | null>((r) => nc.once('exit', (c) => r(c)));
    await listening(9000);
    // Offload is the default; the IPv6 run uses the plain device, so both transmit paths meet the kernel.
    const r = await connect([...(fam === 'v6' ? ['--no-offload'] : []), addr, '9000'], toKernel, toUs.length);
    const ncCode = await Promise.race([ncExit, new Promise((res) => setTimeout(() => res('still running'), 5000))]);
    out[`nc-${fam}`] = {
      code: r.code, err: r.err, ncCode,
      received: r.out.length, receivedOk: sha(r.out) === sha(toUs),
      sentOk: sha(readFileSync(join(dir, `${fam}-b`))) === sha(toKernel),
      records: r.records,
    };
  }
  // python3 -m http.server on the kernel's address: an HTTP/1.0 GET written on stdin, the response on stdout.
  const file = randomBytes(2_000_000);
  writeFileSync(join(dir, 'file.bin'), file);
  const py = spawn('python3', ['-m', 'http.server', '8000', '--bind', '10.77.0.1', '--directory', dir], { stdio: 'ignore' });
  await listening(8000);
  const r = await connect(['10.77.0.1', '8000'], Buffer.from('GET /file.bin HTTP/1.0\r\nHost: 10.77.0.1\r\n\r\n'));
  const sep = r.out.indexOf('\r\n\r\n');
  const head = r.out.subarray(0, sep).toString('latin1');
  out.http = { code: r.code, err: r.err, status: head.split('\r\n')[0], bodyOk: sha(r.out.subarray(sep + 4)) === sha(file), records: r.records };
  py.kill('SIGKILL');
  await new Promise((res) => setTimeout(res, 200));
  out.ss = (await ssTcp()).filter((s) => s.state !== 'LISTEN').map((s) => s.state);
  // Refused: nothing listens on 9999 → the kernel answers our SYN with RST.
  const refused = await connect(['10.77.0.1', '9999'], Buffer.alloc(0));
  out.refused = { code: refused.code, err: refused.err, records: refused.records };
  rmSync(dir, { recursive: true, force: true });
  reportResult(out);
  process.exit(0);
} else if (role === undefined) {
  const skip = kernelTestSkipReason(['nc', 'python3', 'ss']);
  test('synack connect exchanges data both ways with nc -l (IPv4 and IPv6) and downloads from python3 -m http.server', { skip, timeout: 120_000 }, async () => {
    const res = await runInNetns(import.meta.url, ['server'], { timeoutMs: 100_000 });
    assert.equal(res.code, 0, res.stderr + res.stdout);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const r = res.result as any;
    for (const fam of ['v4', 'v6']) {
      const x = r[`nc-${fam}`];
      assert.equal(x.code, 0, `${fam}: synack connect exit ${x.code}: ${x.err}`);
      // Offload by default; --no-offload (the IPv6 run) a plain device.
      assert.match(x.err, fam === 'v4' ? /syn0 up, mtu 1500, offload,/ : /syn0 up, mtu 1500, 10\.77/);
      assert.ok(x.receivedOk, `${fam}: nc → synack data differs (${x.received} bytes) ${x.err}`);
      assert.ok(x.sentOk, `${fam}: synack → nc data differs`);
      assert.equal(x.ncCode, 0, `${fam}: nc exit`);
      assert.equal(x.records.length, 1);
      const rec = x.records[0] as LifecycleRecord;
      assert.equal(rec.open, 'active');
      assert.deepEqual(rec.states.slice(0, 3), ['CLOSED', 'SYN-SENT', 'ESTABLISHED']);
      assert.ok(['four-way', 'three-way', 'simultaneous'].includes(rec.close), rec.close);
    }
    assert.equal(r.http.code, 0, r.http.err);
    assert.match(r.http.status, /^HTTP\/1\.[01] 200/);
    assert.ok(r.http.bodyOk, 'http.server body differs');
    // Half-close: our FIN followed the request at once (stdin ended), and the whole response still arrived
    // while we sat in FIN-WAIT-2; the server's FIN then took us to TIME-WAIT.
    assert.deepEqual(r.http.records[0].states.slice(-3), ['FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT'], JSON.stringify(r.http.records));
    for (const s of r.ss) assert.ok(s === 'TIME-WAIT', `kernel socket left in ${s}`);
    assert.equal(r.refused.code, 1);
    assert.match(r.refused.err, /ECONNREFUSED/);
    assert.equal(r.refused.records[0].close, 'refused');
  });
}
