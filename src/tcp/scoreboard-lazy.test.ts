/**
 * A SACK connection keeps no scoreboard until something is SACKed: sending data without loss must not create
 * one (RFC 6675's pipe needs it only in recovery), so connections that only ever sent cleanly hold no array.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair } from './pair.js';
import { TcpConnection } from './connection.js';
import { bytes, readAll } from './test-util.js';

test('a SACK connection without RACK (RFC 6675 pipe, as the FreeBSD personality) that sent 200 KB without loss holds no scoreboard', () => {
  const a = new TcpConnection({ localPort: 40000, remotePort: 80, iss: 1000, config: { rack: false } });
  const b = new TcpConnection({ localPort: 80, remotePort: 40000, iss: 300, config: { rack: false } });
  b.listen(0);
  const p = new Pair(a, b, { delay: 5 });
  a.connect(0);
  const data = bytes(200_000, 3);
  let off = 0, got = 0;
  p.onStep = (q) => {
    if (q.a.state === 'ESTABLISHED' && off < data.length) off += q.a.send(data.subarray(off), q.now);
    got += readAll(q.b).length;
  };
  p.run(() => got === data.length && a.sndUna === a.sndNxt, 60_000);
  assert.equal(got, data.length);
  assert.ok(a.sackOk, 'SACK was negotiated');
  assert.equal(a.scoreboardCreated, false);
});
