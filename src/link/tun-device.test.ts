// Device setup with iproute2: argument checking everywhere, the real kernel's view inside a namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TunLink } from './tun.js';
import { configureTunDevice, describeDevice, pairAddresses, checkPair, DeviceSetupError } from './tun-device.js';
import { runInNetns, reportResult, NETNS_ENV } from './netns.js';
import { tunTestSkip } from './tun-testkit.js';

function errorOf(fn: () => unknown): DeviceSetupError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof DeviceSetupError, `expected DeviceSetupError, got ${e}`);
    return e;
  }
  assert.fail('no error thrown');
}

async function rejection(p: Promise<unknown>): Promise<{ name: string; code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as DeviceSetupError;
    return { name: err.name, code: err.code, message: err.message };
  }
  throw new Error('no rejection');
}

const role = process.env[NETNS_ENV] ? process.argv[2] : undefined;

if (role === 'configure') {
  const link = TunLink.open('synackcfg');
  const cfg = {
    name: link.name,
    addresses: pairAddresses(['10.77.0.2', 'fd77::2', '10.78.0.2', 'fd78::2'], ['10.77.0.1/24', '10.78.0.1/16', 'fd77::1/64', 'fd78::1/64']),
    mtu: 65535,
    txqueuelen: 2000,
  };
  await configureTunDevice(cfg);
  await configureTunDevice(cfg); // re-applying the same configuration is not an error
  const info = await describeDevice(link.name);
  const missing = await rejection(configureTunDevice({ name: 'nosuchdev0', mtu: 1500 }));
  const badMtu = await rejection(configureTunDevice({ name: link.name, mtu: 1000, addresses: [{ stack: 'fd77::2', kernel: 'fd77::1', prefix: 64 }] }));
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  const noIp = await rejection(configureTunDevice({ name: link.name, mtu: 1500 }));
  process.env.PATH = path;
  link.close();
  reportResult({ info, missing, badMtu, noIp });
} else if (role === undefined) {
  test('pairAddresses pairs each --addr with the --peer of its family, in order', () => {
    assert.deepEqual(pairAddresses(['10.77.0.2', 'fd77::2', '10.78.0.2'], ['fd77::1/64', '10.77.0.1/24', '10.78.0.1/16']), [
      { stack: '10.77.0.2', kernel: '10.77.0.1', prefix: 24 },
      { stack: 'fd77::2', kernel: 'fd77::1', prefix: 64 },
      { stack: '10.78.0.2', kernel: '10.78.0.1', prefix: 16 },
    ]);
  });

  test('pairAddresses rejects unpaired, prefix-less, malformed and off-link addresses with DeviceSetupError', () => {
    assert.match(errorOf(() => pairAddresses(['10.77.0.2'], ['10.77.0.1'])).message, /needs a prefix length/);
    assert.match(errorOf(() => pairAddresses(['10.77.0.2'], ['fd77::1/64'])).message, /no IPv4 --peer/);
    assert.match(errorOf(() => pairAddresses(['10.77.0.2'], ['10.77.0.1/24', '10.78.0.1/24'])).message, /10\.78\.0\.1\/24 has no --addr/);
    assert.match(errorOf(() => pairAddresses(['10.77.0.2/24'], ['10.77.0.1/24'])).message, /without a prefix/);
    assert.match(errorOf(() => pairAddresses(['10.77.0.300'], ['10.77.0.1/24'])).message, /not an IP address/);
    assert.match(errorOf(() => pairAddresses(['10.77.1.2'], ['10.77.0.1/24'])).message, /not inside the kernel's 10\.77\.0\.1\/24/);
    assert.equal(errorOf(() => pairAddresses(['10.77.0.2'], ['10.77.0.1/33'])).code, 'EINVAL');
  });

  test('checkPair: families, equal addresses, host-length prefixes', () => {
    assert.doesNotThrow(() => checkPair({ stack: 'fd77::2', kernel: 'fd77::1', prefix: 126 }));
    assert.match(errorOf(() => checkPair({ stack: 'fd77::2', kernel: '10.0.0.1', prefix: 8 })).message, /different families/);
    assert.match(errorOf(() => checkPair({ stack: '10.0.0.1', kernel: '10.0.0.1', prefix: 8 })).message, /both/);
    assert.match(errorOf(() => checkPair({ stack: '10.0.0.2', kernel: '10.0.0.1', prefix: 32 })).message, /not inside/);
  });

  test('configureTunDevice validates name, MTU and txqueuelen before running ip', async () => {
    assert.equal((await rejection(configureTunDevice({ name: 'bad name', mtu: 1500 }))).code, 'EINVAL');
    assert.equal((await rejection(configureTunDevice({ name: 'a'.repeat(16) }))).code, 'EINVAL');
    assert.match((await rejection(configureTunDevice({ name: 'tun9', mtu: 65536 }))).message, /outside 68\.\.65535/);
    assert.match((await rejection(configureTunDevice({ name: 'tun9', txqueuelen: -1 }))).message, /txqueuelen/);
  });

  const { skip } = tunTestSkip('needs root, /dev/net/tun, unshare and the addon');

  test('in a namespace: MTU 65535, txqueuelen, two IPv4 and two IPv6 addresses, up; errors name the problem', { skip }, async () => {
    const res = await runInNetns(import.meta.url, ['configure'], { timeoutMs: 30_000 });
    assert.equal(res.code, 0, res.stderr + res.stdout);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const r = res.result as any;
    assert.equal(r.info.name, 'synackcfg');
    assert.equal(r.info.mtu, 65535);
    assert.equal(r.info.txqueuelen, 2000);
    assert.equal(r.info.up, true);
    // The kernel adds its own IPv6 link-local address (fe80::/64) to any device with IPv6 on it.
    assert.deepEqual(r.info.addresses.filter((a: string) => !a.startsWith('fe80:')).sort(), ['10.77.0.1/24', '10.78.0.1/16', 'fd77::1/64', 'fd78::1/64']);
    assert.equal(r.missing.name, 'DeviceSetupError');
    assert.equal(r.missing.code, 'ENODEV');
    assert.match(r.badMtu.message, /below IPv6's minimum of 1280/);
    assert.equal(r.noIp.code, 'ENOENT');
    assert.match(r.noIp.message, /iproute2/);
  });
}
