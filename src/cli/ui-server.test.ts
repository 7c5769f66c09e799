// `synack ui`: what the command prints and serves (the page's files, the capture files given to it), and its errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { uiCommand } from './ui.js';

function capture() {
  let out = '', err = '';
  return { io: { stdout: { write: (s: string) => { out += s; return true; } }, stderr: { write: (s: string) => { err += s; return true; } } }, out: () => out, err: () => err };
}

/** A raw GET (no URL normalisation by a client library), so that traversal attempts reach the server as sent. */
function get(url: string, rawPath: string): Promise<{ status: number; type: string; body: Buffer }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: rawPath, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function fakeDist(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'synack-ui-dist-'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>synack</title>');
  writeFileSync(path.join(dir, 'assets', 'app-1.js'), 'console.log(1)');
  return dir;
}

test('synack ui serves the page and the capture files given to it, and stops cleanly', async () => {
  const dist = fakeDist();
  const capFile = path.join(dist, '..', `cap-${process.pid}.pcap`);
  writeFileSync(capFile, Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1, 1, 2, 3));
  const c = capture();
  const ac = new AbortController();
  const done = uiCommand(['--port', '0', '--dist', dist, capFile], c.io, ac.signal);
  try {
    for (let i = 0; i < 200 && !c.out().includes('http://'); i++) await new Promise((r) => setTimeout(r, 10));
    const m = /serving the page at (http:\/\/127\.0\.0\.1:\d+\/) \(offering 1 capture file\)/.exec(c.out());
    assert.ok(m, c.out() + c.err());
    const url = m[1]!;
    const index = await get(url, '/');
    assert.equal(index.status, 200);
    assert.match(index.type, /^text\/html/);
    assert.match(index.body.toString(), /<title>synack<\/title>/);
    const js = await get(url, '/assets/app-1.js');
    assert.equal(js.status, 200);
    assert.match(js.type, /^text\/javascript/);
    const list = await get(url, '/api/files');
    assert.deepEqual(JSON.parse(list.body.toString()), { files: [{ name: path.basename(capFile), size: 7, url: 'api/files/0' }] });
    const file = await get(url, '/api/files/0');
    assert.deepEqual([...file.body], [0xd4, 0xc3, 0xb2, 0xa1, 1, 2, 3]);
    assert.equal((await get(url, '/api/files/1')).status, 404);
    assert.equal((await get(url, '/nope.js')).status, 404);
    // Nothing outside the page's directory, however the path is spelled.
    // (The URL parser folds %2e%2e into '..' and normalises it away; the file beside the page is not served.)
    assert.equal((await get(url, '/%2e%2e/' + path.basename(capFile))).status, 404);
    assert.equal((await get(url, '/..%2f..%2fetc%2fpasswd')).status, 403);
  } finally {
    ac.abort();
    assert.equal(await done, 0);
    rmSync(dist, { recursive: true, force: true });
    rmSync(capFile, { force: true });
  }
});

test('synack ui refuses a missing file, a bad port and an unbuilt page with exit 2 and a clear message', async () => {
  const dist = fakeDist();
  try {
    let c = capture();
    assert.equal(await uiCommand(['--port', '0', '--dist', dist, '/no/such/file.pcap'], c.io), 2);
    assert.match(c.err(), /^synack ui: \/no\/such\/file\.pcap: no such file\n$/);
    c = capture();
    assert.equal(await uiCommand(['--port', '70000', '--dist', dist], c.io), 2);
    assert.match(c.err(), /--port must be an integer in \[0, 65535\], got '70000'/);
    c = capture();
    const empty = mkdtempSync(path.join(os.tmpdir(), 'synack-ui-empty-'));
    assert.equal(await uiCommand(['--port', '0', '--dist', empty], c.io), 2);
    assert.match(c.err(), /the page is not built .*run 'npm run build' first/);
    rmSync(empty, { recursive: true, force: true });
    c = capture();
    assert.equal(await uiCommand(['--port', '0', '--dist', dist, dist], c.io), 2);
    assert.match(c.err(), /not a regular file/);
  } finally {
    rmSync(dist, { recursive: true, force: true });
  }
});
