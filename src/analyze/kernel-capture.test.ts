/**
 * Real kernel TCP, captured live on the loopback interface with dumpcap (Wireshark's capture engine) while
 * Node's sockets talk to each other: each close order must classify correctly. Needs root (or capture
 * rights) and dumpcap; skipped cleanly otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { analyzeBytes } from './corpus-helpers.js';

function unavailable(): false | string {
  const v = spawnSync('dumpcap', ['-v'], { encoding: 'utf8' });
  if (v.status !== 0) return 'dumpcap not installed (apt-get install tshark)';
  const l = spawnSync('dumpcap', ['-D'], { encoding: 'utf8' });
  if (l.status !== 0 || !/\blo\b/.test(l.stdout)) return 'no permission to capture on lo';
  return false;
}
const skip = unavailable();

function listen(onConn: (s: net.Socket) => void): Promise<net.Server> {
  return new Promise((resolve) => {
    const srv = net.createServer(onConn);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}
const portOf = (s: net.Server): number => (s.address() as net.AddressInfo).port;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => resolve(c));
    c.on('error', reject);
  });
}

test('kernel loopback capture: client-first close, server-first close, RST abort, refused', { skip, timeout: 30_000 }, async () => {
  // Client closes first: the server answers, then ends when it sees the client's FIN.
  const a = await listen((s) => { s.on('data', () => s.write('pong')); s.on('end', () => s.end()); });
  // Server closes first right after its reply; the client ends when it sees the server's FIN.
  const b = await listen((s) => { s.on('data', () => s.end('bye')); s.on('end', () => { /* already ended */ }); });
  // The client aborts with RST.
  const c = await listen((s) => { s.on('error', () => { /* ECONNRESET expected */ }); s.on('data', () => s.write('x')); });
  const closed = await listen(() => { /* never */ });
  const refusedPort = portOf(closed);
  await new Promise<void>((r) => closed.close(() => r()));

  const dir = mkdtempSync(path.join(tmpdir(), 'synack-lo-'));
  const file = path.join(dir, 'lo.pcapng');
  const [pa, pb, pc] = [portOf(a), portOf(b), portOf(c)];
  const ports = [pa, pb, pc, refusedPort];
  const filter = ports.map((p) => `tcp port ${p}`).join(' or ');
  const cap = spawn('dumpcap', ['-i', 'lo', '-f', filter, '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    cap.stderr.on('data', (d: Buffer) => { err += d.toString(); if (/Capturing on/.test(err)) resolve(); });
    cap.on('exit', (code) => reject(new Error(`dumpcap exited ${code}: ${err}`)));
  });
  await sleep(200);
  try {
    const ca = await connect(pa);
    ca.write('ping');
    await new Promise<void>((r) => ca.once('data', () => r()));
    ca.resume();
    ca.end();
    await new Promise<void>((r) => ca.on('close', () => r()));

    const cb = await connect(pb);
    cb.on('end', () => cb.end());
    cb.resume(); // consume 'bye' so that 'end' can follow
    cb.write('ping');
    await new Promise<void>((r) => cb.on('close', () => r()));

    const cc = await connect(pc);
    cc.write('ping');
    await new Promise<void>((r) => cc.once('data', () => r()));
    cc.resetAndDestroy();
    await sleep(50);

    await new Promise<void>((resolve) => {
      const s = net.connect(refusedPort, '127.0.0.1');
      s.on('error', () => resolve());
    });
    await sleep(300);
  } finally {
    cap.kill('SIGINT');
    await new Promise<void>((r) => cap.on('exit', () => r()));
    for (const s of [a, b, c]) s.close();
  }
  // Linux loopback leaves checksums to the (absent) NIC: count them, analyse anyway.
  const { reports } = analyzeBytes(new Uint8Array(readFileSync(file)));
  const byPort = (p: number): typeof reports => reports.filter((r) => r.resp_p === p);
  const [ra] = byPort(pa);
  assert.ok(ra, 'client-first connection captured');
  assert.equal(ra.handshake, 'normal');
  assert.ok(ra.close === 'three-way' || ra.close === 'four-way', ra.close);
  assert.equal(ra.conn_state, 'SF');
  assert.equal(ra.orig_state, 'TIME-WAIT');
  assert.equal(ra.resp_state, 'CLOSED');

  const [rb] = byPort(pb);
  assert.ok(rb, 'server-first connection captured');
  assert.ok(rb.close === 'three-way' || rb.close === 'four-way', rb.close);
  assert.equal(rb.orig_state, 'CLOSED');
  assert.equal(rb.resp_state, 'TIME-WAIT');

  const [rc] = byPort(pc);
  assert.ok(rc, 'RST connection captured');
  assert.equal(rc.close, 'rst-by-originator');
  assert.equal(rc.conn_state, 'RSTO');

  const rr = byPort(refusedPort);
  assert.ok(rr.length >= 1, 'refused attempt captured');
  assert.equal(rr[0]!.close, 'refused');
  assert.equal(rr[0]!.conn_state, 'REJ');
});
