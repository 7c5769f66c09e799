// `synack serve` / `synack connect` argument handling: usage errors exit 2, address errors exit 1 with the
// reason, both before any device is created (so these run anywhere, as any user, touching no network).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { serveCommand } from './serve.js';
import { connectCommand } from './connect.js';

function io() {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '', e = '';
  out.on('data', (d) => (o += d));
  err.on('data', (d) => (e += d));
  return { io: { stdout: out, stderr: err, stdin: new PassThrough() }, out: () => o, err: () => e };
}

test('serve --help lists the services and exits 0', async () => {
  const t = io();
  assert.equal(await serveCommand(['--help'], t.io), 0);
  for (const opt of ['--tun', '--addr', '--peer', '--mtu', '--http', '--echo', '--discard', '--pcap']) assert.ok(t.out().includes(opt), opt);
});

test('serve without addresses, or with a bad number, is a usage error (exit 2)', async () => {
  let t = io();
  assert.equal(await serveCommand(['--http', '80'], t.io), 2);
  assert.match(t.err(), /--addr.*--peer/);
  t = io();
  assert.equal(await serveCommand(['--addr', '10.77.0.2', '--peer', '10.77.0.1/24', '--http', '99999'], t.io), 2);
  assert.match(t.err(), /--http must be an integer in 1\.\.65535/);
  t = io();
  assert.equal(await serveCommand(['--addr', '10.77.0.2', '--peer', '10.77.0.1/24', '--mtu', 'big'], t.io), 2);
  assert.match(t.err(), /--mtu/);
});

test('serve with addresses the kernel could not route exits 1 with the reason, before opening a device', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--addr', '10.77.0.2', '--peer', '10.77.0.1'], /needs a prefix length/],
    [['--addr', '10.77.0.2', '--peer', '10.78.0.1/24'], /not inside the kernel's 10\.78\.0\.1\/24/],
    [['--addr', 'fd77::2', '--peer', '10.77.0.1/24'], /no IPv6 --peer/],
    [['--addr', 'not-an-ip', '--peer', '10.77.0.1/24'], /not an IP address/],
    [['--addr', 'fd77::2', '--peer', 'fd77::1/64', '--mtu', '1000'], /below IPv6's minimum of 1280/],
  ];
  for (const [args, re] of cases) {
    const t = io();
    assert.equal(await serveCommand([...args, '--http', '80'], t.io), 1, args.join(' '));
    assert.match(t.err(), re);
    assert.match(t.err(), /^synack serve: /);
  }
});

test('connect needs HOST and PORT (exit 2) and checks its addresses like serve (exit 1)', async () => {
  let t = io();
  assert.equal(await connectCommand(['--addr', '10.77.0.2', '--peer', '10.77.0.1/24'], t.io), 2);
  assert.match(t.err(), /missing required argument/);
  t = io();
  assert.equal(await connectCommand(['--addr', '10.77.0.2', '--peer', '10.77.0.1/24', '10.77.0.1', '0'], t.io), 2);
  assert.match(t.err(), /port must be an integer/);
  t = io();
  assert.equal(await connectCommand(['--addr', '10.77.0.2', '--peer', '10.77.0.1/33', '10.77.0.1', '80'], t.io), 1);
  assert.match(t.err(), /synack connect: prefix \/33 is not valid for IPv4/);
});
