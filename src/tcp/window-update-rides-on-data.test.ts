/**
 * A window update that read() queued (RFC 9293 §3.8.6.2.2: the window can move by at least half the buffer)
 * rides on the next segment that carries an ACK. When the application's response leaves first, it carries the
 * window: no pure ACK may follow 40 ms later with the same ACK number and window, as Linux never sends one
 * (tcp_cleanup_rbuf decides at read time; every segment sent clears the delayed ACK).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair } from './pair.js';
import { TcpConnection } from './connection.js';
import { bytes, readAll } from './test-util.js';
import { ACK, PSH, SYN, FIN, RST } from '../wire/tcp-types.js';

test("request/response: the server's response carries its window; no pure ACK repeats it after the delayed-ACK timeout", () => {
  const a = new TcpConnection({ localPort: 40000, remotePort: 80, iss: 1000, config: {} });
  const b = new TcpConnection({ localPort: 80, remotePort: 40000, iss: 300, config: {} });
  b.listen(0);
  const p = new Pair(a, b, { delay: 0.05, record: true });
  a.connect(0);
  let asked = false, answered = 0;
  p.onStep = (q) => {
    if (q.a.state === 'ESTABLISHED' && !asked) { q.a.send(bytes(100, 1), q.now); asked = true; }
    if (readAll(q.b).length) q.b.send(bytes(1000, 2), q.now);
    answered += readAll(q.a).length;
  };
  p.run(() => false, 500);
  assert.equal(answered, 1000, 'the response arrived');
  const fromServer = p.log.filter((r) => r.from === 'b' && !(r.seg.flags & (SYN | FIN | RST)));
  const response = fromServer.find((r) => r.seg.payload.length > 0)!;
  assert.ok(response.seg.flags & ACK && response.seg.flags & PSH);
  const pureAcks = fromServer.filter((r) => r.seg.payload.length === 0 && r.time > response.time);
  assert.deepEqual(pureAcks.map((r) => `${r.time.toFixed(3)} ack ${r.seg.ack} win ${r.seg.window}`), []);
});
