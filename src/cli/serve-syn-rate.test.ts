// `synack serve`'s SYN rate on its TUN device (ServeOptions.synRate, tun-device.ts applySynRate): on by
// default, off with 0, a warning when tc cannot apply the default, an error when an explicit rate cannot be.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdtempSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startServe, DEFAULT_SYN_RATE } from './serve.js';
import { runTc, synRateStats } from '../link/tun-device.js';
import { runInNetns, reportResult, NETNS_ENV } from '../link/netns.js';
import { tunTestSkip } from '../link/tun-testkit.js';
import { run } from './kernel-testkit.js';

const role = process.env[NETNS_ENV] ? process.argv[2] : undefined;

function io() {
  const err = new PassThrough();
  let e = '';
  err.on('data', (d) => (e += d));
  return { io: { stdout: new PassThrough(), stderr: err, stdin: new PassThrough() }, err: () => e };
}

if (role === 'serve') {
  const base = { addr: ['10.77.0.2'], peer: ['10.77.0.1/24'], http: 80 };
  // Default: the class is there at the default rate, and a client's SYN goes through it.
  let t = io();
  let h = await startServe({ ...base, tun: 'synrate1' }, t.io);
  const qdisc = await runTc(['qdisc', 'show', 'dev', 'synrate1']);
  const body = (await run('curl', ['-s', '--max-time', '5', 'http://10.77.0.2/bytes/100'])).out; // not execFileSync: synack serves from this process
  const byDefault = { qdisc, governed: h.synRate?.max ?? null, stats: await synRateStats('synrate1'), body: body.length, stderr: t.err() };
  await h.stop(100);
  // 0: the kernel's own queueing.
  t = io();
  h = await startServe({ ...base, tun: 'synrate2', synRate: 0 }, t.io);
  const off = { qdisc: await runTc(['qdisc', 'show', 'dev', 'synrate2']), governed: h.synRate, stats: await synRateStats('synrate2') };
  await h.stop(100);
  // No tc on PATH (only ip): the default is skipped with a warning, an explicit rate is an error.
  const dir = mkdtempSync(join(tmpdir(), 'synack-no-tc-'));
  const ip = execFileSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).trim();
  symlinkSync(ip, join(dir, 'ip'));
  const path = process.env.PATH;
  process.env.PATH = dir;
  t = io();
  h = await startServe({ ...base, tun: 'synrate3' }, t.io);
  const noTc = { governed: h.synRate, stderr: t.err() };
  await h.stop(100);
  let explicit: { code?: string; message?: string } = {};
  try {
    await startServe({ ...base, tun: 'synrate4', synRate: 5000 }, io().io);
  } catch (e) {
    explicit = { code: (e as { code?: string }).code, message: (e as Error).message };
  }
  process.env.PATH = path;
  rmSync(dir, { recursive: true, force: true });
  reportResult({ byDefault, off, noTc, explicit });
} else if (role === undefined) {
  const { skip } = tunTestSkip('serve SYN-rate tests need root, /dev/net/tun, unshare and the addon', ['tc', 'curl']);
  test('in a namespace: synack serve puts a SYN rate on its device by default, none with 0; without tc the default is skipped with a warning and an explicit rate fails', { skip }, async () => {
    const res = await runInNetns(import.meta.url, ['serve'], { timeoutMs: 60_000 });
    assert.equal(res.code, 0, res.stderr + res.stdout);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const r = res.result as any;
    assert.match(r.byDefault.qdisc, /qdisc htb 1: root/);
    assert.equal(r.byDefault.governed, DEFAULT_SYN_RATE);
    // The class starts at the most; the governor may already have brought it to its rest (max / 10).
    assert.ok(r.byDefault.stats.rate === DEFAULT_SYN_RATE || r.byDefault.stats.rate === DEFAULT_SYN_RATE / 10, `class rate ${r.byDefault.stats.rate}`);
    assert.ok(r.byDefault.stats.sent >= 1, `the client's SYN went through the class: ${JSON.stringify(r.byDefault.stats)}`);
    assert.equal(r.byDefault.body, 100);
    assert.equal(r.byDefault.stderr, '');
    assert.doesNotMatch(r.off.qdisc, /htb/);
    assert.equal(r.off.governed, null);
    assert.equal(r.off.stats, null);
    assert.equal(r.noTc.governed, null);
    assert.match(r.noTc.stderr, /no SYN rate on synrate3 .*`tc` command was not found/);
    assert.equal(r.explicit.code, 'ENOENT');
    assert.match(r.explicit.message!, /`tc` command was not found/);
  });
}
