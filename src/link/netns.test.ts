// The namespace harness itself: fresh and isolated, lo up, results handed back, everything killed at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { runInNetns, runCodeInNetns, reportResult, assertInNetns, netnsUnavailableReason, NETNS_ENV } from './netns.js';
import { TunLink, tunUnavailableReason } from './tun.js';

const role = process.env[NETNS_ENV] ? process.argv[2] : undefined;
const MARKER = '987.654321'; // a sleep duration no other process uses: finds our grandchild in /proc

if (role === 'inspect') {
  const tag = assertInNetns();
  const links = JSON.parse(execFileSync('ip', ['-j', 'addr', 'show'], { encoding: 'utf8' })) as Array<{ ifname: string; flags: string[] }>;
  const routes = execFileSync('ip', ['route', 'show'], { encoding: 'utf8' }).trim();
  const input = readFileSync(0, 'utf8');
  reportResult({ tag, pid: process.pid, args: process.argv.slice(3), links: links.map((l) => ({ name: l.ifname, up: l.flags.includes('UP') })), routes, input });
} else if (role === 'hold-device') {
  const link = TunLink.open('synackiso');
  reportResult({ name: link.name });
  setTimeout(() => link.close(), 1500);
} else if (role === 'hang') {
  spawn('sleep', [MARKER], { stdio: 'ignore' });
  setInterval(() => undefined, 1000);
} else if (role === 'fail') {
  process.stderr.write('deliberate failure\n');
  process.exit(3);
} else if (role === undefined) {
  const reason = netnsUnavailableReason();
  const skip = reason && !process.env.SYNACK_REQUIRE_TUN ? `network namespaces unavailable: ${reason}` : false;

  test('the script runs as PID 1 of a fresh namespace: only lo, up, no routes but loopback; args, stdin and result pass through', { skip }, async () => {
    const r = await runInNetns(import.meta.url, ['inspect', 'a b', '--x'], { input: 'hello' });
    assert.equal(r.code, 0, r.stderr);
    const res = r.result as { tag: string; pid: number; args: string[]; links: unknown[]; routes: string; input: string };
    assert.match(res.tag, /^synack-[0-9a-f]{8}$/);
    assert.equal(res.pid, 1);
    assert.deepEqual(res.args, ['a b', '--x']);
    assert.deepEqual(res.links, [{ name: 'lo', up: true }]);
    assert.equal(res.routes, '', 'a fresh namespace has no routes in the main table (no default route)');
    assert.equal(res.input, 'hello');
  });

  test('a device created inside never appears in the root namespace', { skip: skip || (tunUnavailableReason() ?? false) }, async () => {
    const run = runInNetns(import.meta.url, ['hold-device']);
    let seen = false;
    const until = Date.now() + 1200;
    while (Date.now() < until) {
      if (existsSync('/sys/class/net/synackiso')) seen = true;
      await new Promise((r) => setTimeout(r, 50));
    }
    const r = await run;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.result, { name: 'synackiso' });
    assert.equal(seen, false);
  });

  test('on timeout the namespace and everything started in it are killed', { skip }, async () => {
    const r = await runInNetns(import.meta.url, ['hang'], { timeoutMs: 1000 });
    assert.equal(r.timedOut, true);
    assert.notEqual(r.code, 0);
    await new Promise((res) => setTimeout(res, 200));
    const survivors = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(MARKER);
      } catch {
        return false;
      }
    });
    assert.deepEqual(survivors, [], 'a process started inside the namespace outlived it');
  });

  test('runCodeInNetns runs a snippet in a namespace, with bare imports resolved from the package', { skip }, async () => {
    const code = `
      import { execFileSync } from 'node:child_process';
      import fc from 'fast-check';
      const links = JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })).map((l) => l.ifname);
      process.stdout.write(JSON.stringify({ links, pid: process.pid, args: process.argv.slice(2), fc: typeof fc.assert }) + '\\n');
    `;
    const r = await runCodeInNetns(code, ['x']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim()), { links: ['lo'], pid: 1, args: ['x'], fc: 'function' });
  });

  test('a failing script is reported with its exit code and stderr, not thrown', { skip }, async () => {
    const r = await runInNetns(import.meta.url, ['fail']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /deliberate failure/);
    assert.equal(r.result, undefined);
  });
}
