// The kernel as client: curl (the kernel's TCP) against `synack serve --http` on a TUN device, inside a fresh
// network namespace. GETs of 0 B, 1 KB and 10 MB over IPv4 and IPv6, bodies verified; afterwards the kernel's
// sockets are in TIME-WAIT (curl closed first) or gone, synack's in CLOSED via LAST-ACK; tshark's TCP analysis
// of a tcpdump capture of the device finds nothing wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNetns, reportResult, assertInNetns, NETNS_ENV } from '../link/netns.js';
import { startServe, patternBytes } from './serve.js';
import { run, ssTcp, startTcpdump, tsharkFields, kernelTestSkipReason } from './kernel-testkit.js';
import type { LifecycleRecord } from './lifecycle-log.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const US = 'ip.src == 10.77.0.2 || ipv6.src == fd77::2';

/** The kernel sometimes sends a zero TCP checksum as 0xffff; RFC 1624 §3 makes both forms valid (tshark flags it). */
const RFC1624 = /0xffff instead of 0x0000/;

async function analyze(file: string) {
  const expert = await tsharkFields(file, 'tcp.analysis.flags || _ws.malformed || _ws.expert.severity >= warning', ['frame.number', '_ws.expert.message', 'ip.src', 'ipv6.src']);
  const badRows = await tsharkFields(file, 'tcp.checksum.status == "Bad" || ip.checksum.status == "Bad" || _ws.malformed', ['frame.number', '_ws.expert.message', 'ip.src', 'ipv6.src']);
  const fromKernel = (row: string[]) => row[2] === '10.77.0.1' || row[3] === 'fd77::1';
  const rfc1624 = badRows.filter((row) => RFC1624.test(row[1] ?? '') && fromKernel(row)).length;
  return {
    tcp: (await tsharkFields(file, 'tcp', ['frame.number'])).length,
    fromUs: (await tsharkFields(file, `tcp && (${US})`, ['frame.number'])).length,
    good: (await tsharkFields(file, 'tcp.checksum.status == "Good"', ['frame.number'])).length,
    bad: badRows.length - rfc1624,
    rfc1624,
    // Retransmissions are legitimate (a spurious RTO on a loaded machine); these must never appear.
    problems: expert.map((f) => f.join(' ')).filter((e) => /unseen|not captured|malformed|checksum/i.test(e) && !RFC1624.test(e)),
  };
}

const role = process.env[NETNS_ENV] ? process.argv[2] : undefined;
const SIZES = [0, 1000, 10_000_000];

if (role === 'curl') {
  assertInNetns();
  const dir = mkdtempSync(join(tmpdir(), 'synack-kc-'));
  const cap = join(dir, 'tun.pcap');
  const io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
  const ours = join(dir, 'synack.pcapng');
  const h = await startServe({ tun: 'syn0', addr: ['10.77.0.2', 'fd77::2'], peer: ['10.77.0.1/24', 'fd77::1/64'], http: 80, logFormat: 'json', pcap: ours }, io);
  const dump = await startTcpdump('syn0', cap);
  const out: Record<string, unknown> = { gets: [] };
  const gets = out.gets as unknown[];
  for (const [fam, base] of [['v4', 'http://10.77.0.2'], ['v6', 'http://[fd77::2]']] as const) {
    for (const n of SIZES) {
      const file = join(dir, `${fam}-${n}`);
      const t0 = performance.now();
      const r = await run('curl', ['-sS', '-g', '--max-time', '20', '-o', file, '-w', '%{http_code} %{size_download}', `${base}/bytes/${n}`]);
      const ms = performance.now() - t0;
      let got: string | null = null;
      try { got = sha(readFileSync(file)); } catch { /* no file */ }
      gets.push({ fam, n, code: r.code, err: r.stderr, w: r.stdout, ok: got === sha(patternBytes(n)), ms: Math.round(ms) });
    }
  }
  // Let the last LAST-ACK exchange finish, then look at both sides.
  await new Promise((r) => setTimeout(r, 300));
  out.ss = (await ssTcp()).map((s) => s.state);
  out.stackConnections = h.stack.connectionCount;
  const report = await dump.stop();
  out.captureDrops = Number(/(\d+) packets? dropped by kernel\s*$/.exec(report.trim())?.[1] ?? -1);
  out.records = h.records;
  // Packets the kernel routed to the device but dropped because its queue was full (we read too slowly).
  out.deviceTxDropped = JSON.parse((await run('ip', ['-s', '-j', 'link', 'show', 'syn0'])).stdout)[0]?.stats64?.tx?.dropped ?? -1;
  await h.stop(500);
  // tshark's TCP analysis over both captures: tcpdump's of the device (the kernel's view) and synack's own
  // (--pcap, lossless by construction: every packet the stack sent or received).
  out.dump = await analyze(cap);
  out.ours = await analyze(ours);
  if (process.env.SYNACK_KEEP_CAPTURE) copyFileSync(cap, process.env.SYNACK_KEEP_CAPTURE);
  rmSync(dir, { recursive: true, force: true });
  reportResult(out);
  process.exit(0);
} else if (role === undefined) {
  const skip = kernelTestSkipReason(['curl', 'tcpdump', 'tshark', 'ss']);
  test('curl GETs 0 B, 1 KB and 10 MB from synack serve over IPv4 and IPv6; the kernel closes first and ends in TIME-WAIT', { skip, timeout: 240_000 }, async () => {
    // ~15 s on a quiet machine; the two tshark analyses of 10 MB captures took it past 100 s beside 3 busy loops.
    const res = await runInNetns(import.meta.url, ['curl'], { timeoutMs: 200_000 });
    assert.equal(res.code, 0, res.stderr + res.stdout);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const r = res.result as any;
    for (const g of r.gets) {
      assert.equal(g.code, 0, `${g.fam} GET ${g.n}: curl exit ${g.code} ${g.err}`);
      assert.equal(g.w, `200 ${g.n}`, `${g.fam} GET ${g.n}: status and size`);
      assert.ok(g.ok, `${g.fam} GET ${g.n}: body differs from the pattern`);
    }
    // Kernel side: every connection curl made is in TIME-WAIT (it closed first) or already gone; never stuck.
    for (const s of r.ss) assert.equal(s, 'TIME-WAIT', `kernel socket left in ${s}`);
    assert.equal(r.stackConnections, 0, 'synack still holds connections');
    // synack side: passive open, the kernel's FIN first, then ours: CLOSE-WAIT → LAST-ACK → CLOSED.
    const recs = r.records as LifecycleRecord[];
    assert.equal(recs.length, SIZES.length * 2, JSON.stringify(recs));
    for (const rec of recs) {
      assert.equal(rec.open, 'passive');
      assert.deepEqual(rec.states, ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED'], JSON.stringify(rec));
      assert.equal(rec.firstFin, 'peer');
      assert.ok(rec.close === 'three-way' || rec.close === 'four-way', rec.close);
    }
    assert.equal(recs.filter((x) => x.remote.startsWith('[fd77::1]')).length, SIZES.length, 'IPv6 connections');
    // tshark: every TCP checksum verifies, nothing malformed, no "ACKed unseen segment" or "previous segment
    // not captured", in synack's own capture.
    const { dump, ours } = r;
    if (process.env.SYNACK_DEBUG) console.log(JSON.stringify({ dump, ours, dropped: r.deviceTxDropped, captureDrops: r.captureDrops, gets: r.gets }));
    assert.ok(ours.tcp > 7000, `capture has ${ours.tcp} TCP segments`);
    assert.equal(ours.good + ours.rfc1624, ours.tcp, 'every TCP checksum verified by tshark (ours)');
    assert.equal(ours.bad, 0);
    assert.deepEqual(ours.problems, [], ours.problems.join('\n'));
    // The kernel's view: the same segments from us, byte-exact checksums on both directions; segments the
    // kernel sent that never reached us are exactly those its device queue dropped.
    assert.equal(dump.good + dump.rfc1624, dump.tcp, 'every TCP checksum verified by tshark (tcpdump)');
    assert.equal(dump.bad, 0);
    assert.equal(dump.fromUs, ours.fromUs, 'segments from synack: tcpdump and --pcap agree');
    assert.ok(dump.tcp - dump.fromUs - (ours.tcp - ours.fromUs) <= r.deviceTxDropped, `kernel→synack: ${dump.tcp - dump.fromUs} sent, ${ours.tcp - ours.fromUs} received, ${r.deviceTxDropped} dropped by the device queue`);
    // tcpdump itself may drop under CPU pressure; its "not captured" verdicts only count when it did not.
    if (r.captureDrops === 0) assert.deepEqual(dump.problems, [], dump.problems.join('\n'));
  });
}
