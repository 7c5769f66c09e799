import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './main.js';

async function run(args: string[]) {
  const out = new PassThrough(), err = new PassThrough();
  let o = '', e = '';
  out.on('data', (d) => { o += d; }); err.on('data', (d) => { e += d; });
  const code = await main(args, { stdout: out, stderr: err, stdin: new PassThrough() });
  return { code, out: o, err: e };
}

test('synack demo --scenario four-way-close prints the ladder with the seven segments and the state sequences', async () => {
  const r = await run(['demo', '--scenario', 'four-way-close', '--seed', '4']);
  assert.equal(r.code, 0, r.err);
  const arrows = r.out.split('\n').filter((l) => /──/.test(l)).map((l) => (l.match(/(SYN\+ACK|FIN\+ACK|SYN|ACK|RST)/) ?? [''])[0]);
  assert.deepEqual(arrows, ['SYN', 'SYN+ACK', 'ACK', 'FIN+ACK', 'ACK', 'FIN+ACK', 'ACK']);
  // Notes wrap at 80 columns, continued on lines indented by four.
  assert.match(r.out.replace(/\n {4}/g, ' '), /client: CLOSED → SYN-SENT → ESTABLISHED → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED/);
  assert.doesNotMatch(r.out, /\x1b\[/, 'no colour when stdout is not a TTY');
});

test('synack demo --pcap writes a pcapng with every scenario', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synack-cli-'));
  const file = join(dir, 'all.pcapng');
  const r = await run(['demo', '--pcap', file]);
  assert.equal(r.code, 0, r.err);
  const bytes = readFileSync(file);
  assert.equal(bytes.readUInt32LE(0), 0x0a0d0d0a, 'pcapng section header block');
  for (const name of ['handshake', 'syn-flood', 'http']) assert.ok(bytes.includes(Buffer.from(`scenario ${name}`)), `comment naming ${name}`);
});

test('bad input: unknown scenario, bad loss and an unwritable pcap path give clear errors and exit 2', async () => {
  const a = await run(['demo', '--scenario', 'nope']);
  assert.equal(a.code, 2);
  assert.match(a.err, /unknown scenario 'nope'/);
  const b = await run(['demo', '--loss', '1.5']);
  assert.equal(b.code, 2);
  assert.match(b.err, /--loss must be a probability/);
  const c = await run(['demo', '--pcap', '/nonexistent-dir/x.pcapng', '--scenario', 'handshake']);
  assert.equal(c.code, 2);
  assert.match(c.err, /cannot write \/nonexistent-dir\/x\.pcapng/);
  const d = await run(['frobnicate']);
  assert.equal(d.code, 2);
  assert.match(d.err, /unknown command 'frobnicate'/);
});

test('issue 18: --seed must be an integer, --version prints the version, every demo line fits 80 columns with the time unit', async () => {
  for (const bad of ['abc', '1.5', '-3']) {
    const r = await run(['demo', '--seed', bad, '--scenario', 'handshake']);
    assert.equal(r.code, 2, `--seed ${bad}`);
    assert.match(r.err, /--seed must be an integer in 0\.\.2147483647/);
    assert.equal(r.out, '');
  }
  const v = await run(['--version']);
  assert.equal(v.code, 0, v.err);
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(v.out, `synack ${pkg.version}\n`);
  const all = await run(['demo']);
  assert.equal(all.code, 0, all.err);
  for (const l of all.out.split('\n')) assert.ok([...l].length <= 80, `${[...l].length}: ${l}`);
  assert.match(all.out, /^ *ms {2}client 10\.0\.0\.1:\d+ +server 10\.0\.0\.2:8001$/m);
});
