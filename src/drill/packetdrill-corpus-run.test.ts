/**
 * A sample of the public packetdrill corpus (../shared/packetdrill) run with each script's INDEX.tsv
 * personality: scripts from every source that synack passes must keep passing, and nothing may crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatConformance, readCorpusIndex, runCorpus } from './conformance.js';
import { runScriptText } from './runner.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shared = process.env.SYNACK_SHARED ?? path.resolve(repoRoot, '../shared');
const corpus = path.join(shared, 'packetdrill');
const skip = !existsSync(path.join(corpus, 'INDEX.tsv')) && '../shared not present';

const SAMPLE = [
  'google-packetdrill/gtests/net/tcp/close/close-local-close-then-remote-fin.pkt',
  'google-packetdrill/gtests/net/tcp/close/close-remote-fin-then-close.pkt',
  'google-packetdrill/gtests/net/tcp/ts_recent/fin_tsval.pkt',
  // Tail loss probe timing and TCP_USER_TIMEOUT; a FIN resent by the probe.
  'google-packetdrill/gtests/net/tcp/user_timeout/user_timeout.pkt',
  'google-packetdrill/gtests/net/tcp/shutdown/shutdown-rdwr-write-queue-close.pkt',
  'google-packetdrill-legacy-2013/gtests/net/packetdrill/tests/linux/close/close-unread-data-rst.pkt',
  'google-packetdrill-legacy-2013/gtests/net/packetdrill/tests/linux/mss/mss-getsockopt-tcp_maxseg-server-ts.pkt',
  'linux-kselftest-packetdrill/tcp_close_no_rst.pkt',
  'gvisor/tcp_noaccept_close_rst.pkt',
  'tldk/keep-alive-before-connect-tldk.pkt',
  'freebsd-tcp-testsuite/snippets/closing-ipv4.pkt',
  'freebsd-tcp-testsuite/snippets/syn-rcvd-via-syn-sent-ipv6.pkt',
  'freebsd-tcp-testsuite/snd-syn/snd-syn-rtx-keepinit-ipv4.pkt',
  'freebsd-tcp-testsuite/snd-syn/snd-syn-mss-inherited-from-mtu-72-ipv4.pkt',
  'freebsd-tcp-testsuite/state-event-engine/rcv-syn-time-wait/rcv-syn-time-wait-using-shutdown-left-edge-secure-ipv4.pkt',
  'freebsd-tcp-testsuite/state-event-engine/rcv-rst-ack-syn-rcvd/rcv-rst-ack-syn-rcvd-via-listen-outside-left-ack-left-edge-secure-ipv4.pkt',
];

test('a sample of the public corpus passes with its INDEX personality', { skip }, async () => {
  const index = new Map((await readCorpusIndex(corpus)).map((e) => [e.path, e]));
  for (const p of SAMPLE) {
    const e = index.get(p);
    assert.ok(e, `${p} is not in INDEX.tsv`);
    const r = runScriptText(readFileSync(path.join(corpus, p), 'utf8'), { file: p, personality: e.personality });
    assert.equal(r.result, 'pass', `${p}: ${r.result} at line ${r.line}: ${r.reason}`);
  }
});

test('a FreeBSD script run with the linux personality fails on the wire profile, not by crashing', { skip }, () => {
  const p = 'freebsd-tcp-testsuite/snippets/closing-ipv4.pkt';
  const r = runScriptText(readFileSync(path.join(corpus, p), 'utf8'), { file: p, personality: 'linux' });
  assert.equal(r.result, 'fail');
  assert.match(r.reason!, /live packet field/);
});

test('the conformance report counts by source, class and topic, and lists every non-pass with its reason', { skip }, async () => {
  const rep = await runCorpus(corpus, (e) => e.path.startsWith('gvisor/') || e.path.includes('/ioctl/'));
  assert.equal(rep.rows.length, 5);
  // accept_ack_drop needs gVisor's 100 ms tolerance, which the corpus run applies; ioctl-siocinq-fin
  // expects an immediate ACK of data+FIN that Linux 6.18 (and synack's linux profile) delays by 40 ms.
  assert.deepEqual(rep.totals, { pass: 4, fail: 1, unsupported: 0 });
  const ioctl = rep.rows.find((r) => r.entry.path.includes('ioctl-siocinq-fin'))!;
  assert.match(ioctl.result.reason!, /^\[ipv4\] live packet field tcp_ack_seq/);
  const text = formatConformance(rep);
  assert.match(text, /^packetdrill corpus: 5 scripts — 4 passed, 1 failed, 0 unsupported/);
  assert.match(text, /^gvisor\s+4\s+0\s+0\s+4$/m);
  assert.match(text, /^FAIL google-packetdrill\/gtests\/net\/tcp\/ioctl\/ioctl-siocinq-fin\.pkt:28: .*\[Linux 6\.18 reference: ipv4:FAIL ipv6:FAIL\]$/m);
});
