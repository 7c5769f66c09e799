import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapngTap, TapError } from './pcapng-tap.js';
import { Wire, type WireEndpoint } from './wire.js';
import { encodeTcpPacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { makeSegment, ACK, SYN } from '../wire/tcp-types.js';

const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
const A = parseAddress('10.0.0.1');
const B = parseAddress('10.0.0.2');
const sink: WireEndpoint = { deliver() {} };

function seg(i: number, fromA = true): Uint8Array {
  return encodeTcpPacket(fromA ? { src: A, dst: B } : { src: B, dst: A },
    makeSegment({ srcPort: fromA ? 1234 : 80, dstPort: fromA ? 80 : 1234, seq: 1000 + i, ack: 1, flags: i === 0 ? SYN : ACK, window: 100, payload: new Uint8Array(i === 0 ? 0 : 10) }));
}

/** Block types of a pcapng file, checking each block's leading and trailing length agree. */
function blockTypes(b: Uint8Array): number[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const types: number[] = [];
  for (let off = 0; off < b.length;) {
    const len = dv.getUint32(off + 4, true);
    assert.equal(dv.getUint32(off + len - 4, true), len);
    types.push(dv.getUint32(off, true));
    off += len;
  }
  return types;
}

/** A wire A↔B with 30% loss and some duplication, tapped; returns what the wire counted. */
function lossyRun(tap: PcapngTap, n: number) {
  const wire = new Wire({ seed: 3, impairments: { loss: 0.3, duplicate: 0.1, delayMs: 2 } });
  const ia = wire.attach(sink, A);
  const ib = wire.attach({ deliver() {} }, B);
  tap.attachWire(wire);
  tap.comment('scenario: lossy');
  for (let i = 0; i < n; i++) {
    wire.advance(i);
    wire.send(ia, seg(i), i);
    wire.send(ib, seg(i, false), i);
  }
  wire.runUntilIdle();
  const ab = wire.counters(ia, ib);
  const ba = wire.counters(ib, ia);
  return { ab, ba, total: ab.delivered + ab.lost + ba.delivered + ba.lost };
}

test('in-memory tap records every wire event as a pcapng EPB', () => {
  const tap = PcapngTap.inMemory({ comment: 'unit test' });
  const { total } = lossyRun(tap, 200);
  assert.equal(tap.packetCount, total);
  const bytes = tap.close()!;
  const types = blockTypes(bytes);
  assert.deepEqual(types.slice(0, 2), [0x0a0d0d0a, 1]);
  assert.equal(types.filter((t) => t === 6).length, total);
  assert.equal(types.length, 2 + total);
  assert.throws(() => tap.record(0, seg(1)), (e) => e instanceof TapError && e.code === 'closed');
});

test('includeDropped: false records only what was delivered', () => {
  const tap = PcapngTap.inMemory();
  const wire = new Wire({ impairments: { loss: 1 } });
  const ia = wire.attach(sink, A);
  wire.attach({ deliver() {} }, B);
  tap.attachWire(wire, { includeDropped: false });
  wire.send(ia, seg(0), 0);
  wire.runUntilIdle();
  assert.equal(tap.packetCount, 0);
});

test('file tap streams to disk and tshark reads the same packets, comments and directions, zero malformed', { skip: !hasTshark && 'tshark not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'synack-tap-'));
  try {
    const f = join(dir, 'lossy.pcapng');
    const tap = PcapngTap.toFile(f, { interfaceName: 'synack-wire', startTimeMs: Date.UTC(2024, 0, 1) });
    const { ab, ba, total } = lossyRun(tap, 3000); // > 64 KiB: exercises the streaming flush
    tap.close();
    assert.ok(statSync(f).size > 64 * 1024);
    const r = spawnSync('tshark', ['-r', f, '-o', 'tcp.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=|',
      '-e', 'frame.number', '-e', 'tcp.flags', '-e', '_ws.malformed', '-e', 'frame.comment', '-e', 'tcp.checksum.status', '-e', 'frame.p2p_dir', '-e', 'ip.src'],
    { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => l.split('|'));
    assert.equal(rows.length, total);
    assert.ok(rows.every((x) => x[2] === ''), 'no malformed packets');
    assert.ok(rows.every((x) => x[4] === '1'), 'every TCP checksum good (1 = Good)');
    const lost = rows.filter((x) => x[3]!.includes('lost on the wire')).length;
    assert.equal(lost, ab.lost + ba.lost);
    const dups = rows.filter((x) => x[3]!.includes('duplicate')).length;
    assert.equal(dups, ab.duplicated + ba.duplicated);
    assert.ok(rows.some((x) => x[3]!.includes('scenario: lossy')));
    // epb_flags direction from endpoint 0's view: A's packets outbound (p2p_dir 0 = sent), B's inbound (1 = received).
    for (const x of rows) assert.equal(x[5], x[6] === '10.0.0.1' ? '0' : '1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('corrupted packets are recorded as delivered and tshark flags their checksum', { skip: !hasTshark && 'tshark not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'synack-tap-'));
  try {
    const f = join(dir, 'corrupt.pcapng');
    const tap = PcapngTap.toFile(f);
    const wire = new Wire({ seed: 5, impairments: { corrupt: 1 } });
    const ia = wire.attach(sink, A);
    wire.attach({ deliver() {} }, B);
    tap.attachWire(wire);
    for (let i = 1; i <= 40; i++) wire.send(ia, seg(i), i);
    wire.runUntilIdle();
    tap.close();
    const r = spawnSync('tshark', ['-r', f, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=|',
      '-e', 'frame.comment', '-e', 'ip.checksum.status', '-e', 'tcp.checksum.status', '-e', '_ws.malformed', '-e', 'frame.protocols'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => l.split('|'));
    assert.equal(rows.length, 40);
    for (const x of rows) {
      assert.match(x[0]!, /one bit flipped/);
      // Each flip shows up: IPv4 header checksum bad (status 0), TCP checksum bad (0), a header tshark cannot
      // accept, or no IP/TCP at all (a flipped version nibble makes it "raw data").
      const caught = x[1] === '0' || x[2] === '0' || x[3] !== '' || !/\bip:tcp\b/.test(x[4]!);
      assert.ok(caught, `flip went unnoticed: ${x.join('|')}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad paths give a TapError naming the path and the cause', () => {
  const dir = mkdtempSync(join(tmpdir(), 'synack-tap-'));
  try {
    const missing = join(dir, 'no-such-dir', 'x.pcapng');
    assert.throws(() => PcapngTap.toFile(missing), (e) => e instanceof TapError && e.code === 'ENOENT' && e.path === missing && e.message.includes(missing) && /does not exist/.test(e.message));
    assert.throws(() => PcapngTap.toFile(dir), (e) => e instanceof TapError && e.code === 'EISDIR' && e.message.includes(dir));
    const f = join(dir, 'file');
    PcapngTap.toFile(f).close();
    assert.throws(() => PcapngTap.toFile(join(f, 'x.pcapng')), (e) => e instanceof TapError && e.code === 'ENOTDIR');
    // A closed file tap: valid pcapng with just the headers.
    assert.deepEqual(blockTypes(new Uint8Array(readFileSync(f))), [0x0a0d0d0a, 1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a full disk (ENOSPC, via /dev/full) is a TapError from the wire tap, not a crash inside the wire', { skip: !existsSync('/dev/full') && '/dev/full not present' }, () => {
  const tap = PcapngTap.toFile('/dev/full');
  const wire = new Wire();
  const ia = wire.attach(sink, A);
  wire.attach({ deliver() {} }, B);
  tap.attachWire(wire);
  // Enough to pass the 64 KiB buffer: the write fails inside an observer, which must not throw into the wire.
  for (let i = 1; i <= 2000; i++) wire.send(ia, seg(i), i);
  assert.doesNotThrow(() => wire.runUntilIdle());
  assert.ok(tap.error instanceof TapError);
  assert.equal(tap.error.code, 'ENOSPC');
  assert.match(tap.error.message, /\/dev\/full: no space left on device/);
  assert.throws(() => tap.close(), (e) => e instanceof TapError && e.code === 'ENOSPC');
  // Direct recording after the failure reports the same error.
  const direct = PcapngTap.toFile('/dev/full');
  assert.throws(() => { for (let i = 0; i < 2000; i++) direct.record(i, seg(1)); }, (e) => e instanceof TapError && e.code === 'ENOSPC' && e.path === '/dev/full');
  assert.throws(() => direct.close(), (e) => e instanceof TapError && e.code === 'ENOSPC');
});
