/**
 * The packed path of `--format json` (connections packed into numbers on the analyzing thread, JSON written
 * elsewhere) gives the same bytes, counts and anomalies as building every report: on every capture of the
 * shared corpus and on synthetic IPv4/IPv6 lifecycles, recycled connections included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Analyzer, type AnalyzerOptions } from './analyzer.js';
import { CaptureReader, type CaptureRecordView } from '../wire/capture.js';
import { jsonLine } from './format.js';
import { formatPacked, ReportPacker } from './packed-report.js';
import { shared, sharedMissing } from './corpus-helpers.js';
import { Conversation, PcapBuilder } from './synth.js';

interface Run { lines: string; summary: unknown; anomalies: unknown }

function feed(bytes: Uint8Array, an: Analyzer, inPlace: boolean): string | null {
  const rd = new CaptureReader();
  rd.pushNoCopy(bytes);
  rd.end();
  const v: CaptureRecordView = { frame: 0, tsSec: 0, tsNsec: 0, linkType: 0, interfaceId: 0, buf: bytes, start: 0, length: 0, origLength: 0, offset: 0 };
  try {
    if (inPlace) while (rd.nextView(v)) an.packetView(v);
    else for (let rec = rd.next(); rec; rec = rd.next()) an.packet(rec);
  } catch (e) {
    return (e as Error).message;
  }
  return null;
}

/** Every report built and serialised in place (the in-thread path), records read one object each. */
function viaReports(bytes: Uint8Array, opts: AnalyzerOptions): Run & { error: string | null } {
  let lines = '';
  const an = new Analyzer({ ...opts, recycle: true, onConnection: (r) => { lines += jsonLine(r); } });
  const error = feed(bytes, an, false);
  const anomalies = an.finish();
  return { lines, summary: an.summary(['x'], null), anomalies, error };
}

/** Packed in small batches (so that several batches and recycled connections occur), formatted afterwards. */
function viaPacking(bytes: Uint8Array, opts: AnalyzerOptions): Run & { error: string | null } {
  const packer = new ReportPacker(7);
  let lines = '';
  const an = new Analyzer({
    ...opts, recycle: true,
    onFinished: (c, f, rep) => {
      if (rep === null) packer.add(c, f);
      else packer.addLine(jsonLine(rep));
      if (packer.full) lines += formatPacked(packer.take()!);
    },
  });
  const error = feed(bytes, an, true);
  const anomalies = an.finish();
  const last = packer.take();
  if (last) lines += formatPacked(last);
  return { lines, summary: an.summary(['x'], null), anomalies, error };
}

function captures(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir).sort()) {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) captures(p, out);
    else if (/\.(pcap|pcapng|trace)$/.test(n)) out.push(p);
  }
  return out;
}

test('packed JSON lines equal jsonLine(report) on every corpus capture, in both checksum modes', { skip: sharedMissing }, () => {
  const files = captures(path.join(shared, 'pcap-corpus'));
  assert.ok(files.length > 50, `corpus captures found: ${files.length}`);
  let connections = 0;
  for (const f of files) {
    const bytes = new Uint8Array(readFileSync(f));
    for (const checksums of ['count', 'zeek'] as const) {
      const want = viaReports(bytes, { checksums });
      const got = viaPacking(bytes, { checksums });
      assert.equal(got.lines, want.lines, `${f} (${checksums})`);
      assert.deepEqual(got.summary, want.summary, `${f} (${checksums}) summary`);
      assert.deepEqual(got.anomalies, want.anomalies, `${f} (${checksums}) anomalies`);
      assert.equal(got.error, want.error, `${f} (${checksums}) error`);
      connections += want.lines.split('\n').length - 1;
    }
  }
  assert.ok(connections > 300, `connections compared: ${connections}`);
});

test('packed JSON lines equal jsonLine(report) on IPv4 and IPv6 lifecycles, a truncated capture included', () => {
  const pcap = new PcapBuilder();
  let time = 1_700_000_000.25;
  const hosts = [['10.1.2.3', '192.168.0.1'], ['2001:db8::1', '2001:db8:0:1::2'], ['::ffff:10.0.0.9', 'fe80::1:0:0:1']];
  for (let i = 0; i < 60; i++) {
    const [a, b] = hosts[i % hosts.length]!;
    const fmt = (h: string, p: number): string => (h.includes(':') ? `[${h}]:${p}` : `${h}:${p}`);
    const c = new Conversation(pcap, fmt(a!, 40000 + i), fmt(b!, [80, 443, 65535, 22][i % 4]!), { time, cIsn: (i * 0x9e3779b1) >>> 0, sIsn: 0xffffff00 + i });
    switch (i % 6) {
      case 0: c.handshake().send('c', 'PA', { len: 100 }).send('s', 'A').send('c', 'FA').send('s', 'FA').send('c', 'A'); break;
      case 1: c.send('c', 'S').send('s', 'RA', { seq: 0, ack: c.c.isn + 1 }); break;
      case 2: c.send('c', 'S').send('c', 'S', { seq: c.c.isn, dt: 1 }); break;
      case 3: c.handshake().send('s', 'PA', { len: 1448 }).send('c', 'RA'); break;
      case 4: c.send('s', 'PA', { len: 10 }).send('c', 'A'); break; // midstream, roles from the ports
      default: c.handshake().send('c', 'PA', { len: 5, window: 0 }).send('s', 'FA').send('c', 'FA').send('s', 'A'); break;
    }
    time = c.time + 0.5;
  }
  const whole = pcap.take();
  for (const bytes of [whole, whole.subarray(0, whole.length - 7)]) {
    const want = viaReports(bytes, {});
    const got = viaPacking(bytes, {});
    assert.ok(want.lines.split('\n').length > 50);
    assert.ok(want.lines.includes('"ip_version":6') && want.lines.includes('"ip_version":4'));
    assert.equal(got.lines, want.lines);
    assert.deepEqual(got.summary, want.summary);
    assert.deepEqual(got.anomalies, want.anomalies);
    assert.equal(got.error, want.error);
  }
});
