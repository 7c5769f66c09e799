// Every close variant against the kernel's TCP, asserted three ways: on a tcpdump capture of the TUN device
// (read back with tshark), on the kernel's socket states (`ss`) and on synack's lifecycle records.
//   we close first         kernel CLOSE-WAIT → LAST-ACK; synack FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT (four-way)
//   kernel closes first    curl's FIN first; synack answers FIN+ACK merged (three-way) → LAST-ACK → CLOSED
//   half-close (nc -N)     our echo keeps sending after the kernel's FIN (RFC 9293 §3.6: CLOSE-WAIT may send)
//   RST abort              GET /rst: data, then RST; curl exits 56
//   close with unread data RST (RFC 1122 §4.2.2.13); the kernel's recv() fails with ECONNRESET
//   refused port           SYN → RST+ACK (§3.10.7.1); curl exits 7
//   Ctrl-C                 `synack serve` as a process: SIGINT sends FIN on open connections, exits 0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNetns, reportResult, assertInNetns, NETNS_ENV } from '../link/netns.js';
import { startServe } from './serve.js';
import { run, ssTcp, startTcpdump, tsharkFields, kernelTestSkipReason, spawnCli, collectChild, waitFor } from './kernel-testkit.js';
import type { LifecycleRecord } from './lifecycle-log.js';

const role = process.env[NETNS_ENV] ? process.argv[2] : undefined;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A kernel-side client with exact control over when it closes, reporting its own socket states from `ss`. */
const PY_CLIENT = String.raw`
import socket, sys, time, subprocess, json
mode, host, port, lport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('', lport))
s.connect((host, port))
def ss():
    out = subprocess.run(['ss', '-tanH'], capture_output=True, text=True).stdout
    return [l.split()[0] for l in out.splitlines() if l.split()[3].endswith(':%d' % lport)]
res = {}
if mode == 'we-close-first':
    s.sendall(b'GET /bytes/1000 HTTP/1.1\r\nHost: synack\r\nConnection: close\r\n\r\n')
    n = 0
    while True:
        d = s.recv(65536)
        if not d: break
        n += len(d)
    res['received'] = n
    time.sleep(0.2)  # our FIN gets its own (delayed) ACK before the kernel closes: four-way
    res['afterEof'] = ss()
    s.close()
    time.sleep(0.1)
    res['afterClose'] = ss()
elif mode == 'unread':
    s.sendall(b'x' * 1000)
    try:
        d = s.recv(100)
        res['recv'] = len(d)
    except ConnectionResetError:
        res['reset'] = True
    time.sleep(0.05)
    res['afterReset'] = ss()
elif mode == 'hold':
    print('connected', flush=True)
    n = 0
    while True:
        d = s.recv(65536)
        if not d: break
        n += len(d)
    res['eof'] = True
    res['afterEof'] = ss()
    s.close()
print(json.dumps(res), flush=True)
`;

async function py(mode: string, host: string, port: number, lport: number): Promise<Record<string, unknown>> {
  const r = await run('python3', ['-c', PY_CLIENT, mode, host, String(port), String(lport)], { timeoutMs: 20_000 });
  try {
    return { ...JSON.parse(r.stdout.trim().split('\n').pop()!), code: r.code };
  } catch {
    return { code: r.code, stderr: r.stderr, stdout: r.stdout };
  }
}

/** Each packet of the capture on port `port`: who sent it, flags, payload length, seq/ack (absolute). */
async function packets(cap: string, port: number): Promise<Array<{ from: 'us' | 'kernel'; flags: number; len: number; seq: number; ack: number }>> {
  const rows = await tsharkFields(cap, `tcp.port == ${port}`, ['ip.src', 'ipv6.src', 'tcp.flags', 'tcp.len', 'tcp.seq_raw', 'tcp.ack_raw']);
  return rows.map(([s4, s6, f, len, seq, ack]) => ({
    from: (s4 || s6) === '10.77.0.2' || (s4 || s6) === 'fd77::2' ? 'us' : 'kernel',
    flags: Number(f),
    len: Number(len),
    seq: Number(seq),
    ack: Number(ack),
  }));
}

if (role === 'variants') {
  assertInNetns();
  const dir = mkdtempSync(join(tmpdir(), 'synack-cv-'));
  const cap = join(dir, 'tun.pcap');
  const io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
  const h = await startServe({ tun: 'syn0', addr: ['10.77.0.2'], peer: ['10.77.0.1/24'], http: 80, echo: 7, unread: 5, logFormat: 'json' }, io);
  const dump = await startTcpdump('syn0', cap);
  const out: Record<string, unknown> = {};
  const recordFor = (lport: number) => h.records.find((r) => r.remote.endsWith(`:${lport}`)) ?? null;

  out.weCloseFirst = await py('we-close-first', '10.77.0.2', 80, 40001);

  const curl2 = await run('curl', ['-sS', '--local-port', '40002', '-o', '/dev/null', 'http://10.77.0.2/bytes/1000']);
  await new Promise((r) => setTimeout(r, 100));
  out.kernelClosesFirst = { code: curl2.code, ss: (await ssTcp()).filter((s) => s.local.endsWith(':40002')).map((s) => s.state) };

  // nc -N half-closes after sending 1 MB; the echo is still sending most of it back when that FIN arrives.
  const echoIn = randomBytes(1 << 20);
  writeFileSync(join(dir, 'echo-in'), echoIn);
  // The reader behind nc starts late: nc stops reading the socket, the kernel's window closes, and our echo
  // still holds data when nc's FIN arrives.
  const nc = await run('sh', ['-c', `nc -N -p 40003 10.77.0.2 7 < ${dir}/echo-in | (sleep 0.5; cat > ${dir}/echo-out)`], { timeoutMs: 20_000 });
  out.halfClose = { code: nc.code, err: nc.stderr, echoed: sha(readFileSync(join(dir, 'echo-out'))) === sha(echoIn), bytes: readFileSync(join(dir, 'echo-out')).length };

  const curl4 = await run('curl', ['-sS', '--local-port', '40004', '-o', '/dev/null', 'http://10.77.0.2/rst']);
  out.rstAbort = { code: curl4.code, err: curl4.stderr, ss: (await ssTcp()).filter((s) => s.local.endsWith(':40004')).map((s) => s.state) };

  out.unread = await py('unread', '10.77.0.2', 5, 40005);

  const before = h.stack.counters.NoPortRsts;
  const curl6 = await run('curl', ['-sS', '--local-port', '40006', 'http://10.77.0.2:81/']);
  out.refused = { code: curl6.code, err: curl6.stderr, noPortRsts: h.stack.counters.NoPortRsts - before };

  await new Promise((r) => setTimeout(r, 200));
  out.tcpdump = await dump.stop();
  out.records = Object.fromEntries([40001, 40002, 40003, 40004, 40005].map((p) => [p, recordFor(p)]));
  out.packets = Object.fromEntries(await Promise.all([40001, 40002, 40003, 40004, 40005, 40006].map(async (p) => [p, await packets(cap, p)] as const)));
  await h.stop(200);
  if (process.env.SYNACK_KEEP_CAPTURE) writeFileSync(process.env.SYNACK_KEEP_CAPTURE, readFileSync(cap));

  // Ctrl-C: `synack serve` as its own process, with a connection open when SIGINT arrives.
  const serve = spawnCli('serve', ['--tun', 'syn1', '--addr', '10.77.0.2', '--peer', '10.77.0.1/24', '--http', '80', '--log-format', 'json']);
  const sc = collectChild(serve);
  await waitFor(() => sc.stdout().toString().includes('synack serve: syn1 up'), 20_000, 'synack serve to start');
  const hold = spawn('python3', ['-c', PY_CLIENT, 'hold', '10.77.0.2', '80', '40007'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const hc = collectChild(hold);
  await waitFor(() => hc.stdout().toString().includes('connected'), 10_000, 'the held connection');
  serve.kill('SIGINT');
  // Bounded, so that a serve that does not exit (or a client never told the connection ended) fails here with
  // what each printed, instead of the whole namespace run timing out without a word.
  const within = <T>(p: Promise<T>, what: string): Promise<T> => Promise.race([p, new Promise<T>((_, rej) => setTimeout(() => {
    serve.kill('SIGKILL'); hold.kill('SIGKILL');
    rej(new Error(`${what} within 20 s of SIGINT; serve stdout: ${sc.stdout()} stderr: ${sc.stderr()}; client: ${hc.stdout()}`));
  }, 20_000).unref())]);
  const serveCode = await within(sc.exit, 'synack serve did not exit');
  await within(hc.exit, 'the held connection did not end');
  out.sigint = {
    serveCode,
    serveErr: sc.stderr(),
    banner: sc.stdout().toString().split('\n').find((l) => l.includes(' up, mtu ')),
    records: sc.stdout().toString().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)),
    client: JSON.parse(hc.stdout().toString().trim().split('\n').pop()!),
  };
  rmSync(dir, { recursive: true, force: true });
  reportResult(out);
  process.exit(0);
} else if (role === undefined) {
  const skip = kernelTestSkipReason(['curl', 'nc', 'python3', 'tcpdump', 'tshark', 'ss']);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let r: any = null;
  const FIN = 0x01, SYN = 0x02, RST = 0x04, ACK = 0x10;
  const get = async () => {
    if (r) return r;
    const res = await runInNetns(import.meta.url, ['variants'], { timeoutMs: 100_000 });
    assert.equal(res.code, 0, res.stderr + res.stdout);
    r = res.result;
    if (process.env.SYNACK_DEBUG) console.log(r.tcpdump);
    return r;
  };
  type Pkt = { from: 'us' | 'kernel'; flags: number; len: number; seq: number; ack: number };
  const firstIndex = (ps: Pkt[], pred: (p: Pkt) => boolean) => ps.findIndex(pred);

  test('we close first: kernel CLOSE-WAIT then LAST-ACK; synack FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT (four-way)', { skip, timeout: 120_000 }, async () => {
    const x = await get();
    assert.equal(x.weCloseFirst.code, 0, JSON.stringify(x.weCloseFirst));
    assert.ok(x.weCloseFirst.received > 1000, 'response received');
    assert.deepEqual(x.weCloseFirst.afterEof, ['CLOSE-WAIT'], 'kernel after our FIN');
    assert.deepEqual(x.weCloseFirst.afterClose, [], 'kernel socket gone after LAST-ACK got our ACK');
    const rec = x.records[40001] as LifecycleRecord;
    assert.deepEqual(rec.states, ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT']);
    assert.equal(rec.close, 'four-way');
    assert.equal(rec.firstFin, 'us');
    const ps: Pkt[] = x.packets[40001];
    const ourFin = firstIndex(ps, (p) => p.from === 'us' && (p.flags & FIN) !== 0);
    const theirFin = firstIndex(ps, (p) => p.from === 'kernel' && (p.flags & FIN) !== 0);
    assert.ok(ourFin >= 0 && theirFin > ourFin, 'our FIN first');
    // The kernel ACKed our FIN on its own before its FIN (that is what makes it four-way).
    const finAck = firstIndex(ps, (p) => p.from === 'kernel' && p.ack === ((ps[ourFin]!.seq + ps[ourFin]!.len + 1) >>> 0) && !(p.flags & FIN));
    assert.ok(finAck > ourFin && finAck < theirFin, 'separate ACK of our FIN');
    // The kernel's FIN (CLOSE-WAIT → LAST-ACK) is the last thing it sent; our ACK of it ends its LAST-ACK.
    assert.equal(theirFin, ps.length - 2);
    assert.equal(ps.at(-1)!.from, 'us');
    assert.equal(ps.at(-1)!.flags, ACK, 'our last ACK');
    assert.equal(ps.at(-1)!.ack, (ps[theirFin]!.seq + 1) >>> 0, 'acknowledges the kernel\'s FIN');
  });

  test('kernel closes first: curl FIN, synack answers with one merged FIN+ACK (three-way), kernel ends in TIME-WAIT', { skip, timeout: 120_000 }, async () => {
    const x = await get();
    assert.equal(x.kernelClosesFirst.code, 0);
    assert.deepEqual(x.kernelClosesFirst.ss, ['TIME-WAIT']);
    const rec = x.records[40002] as LifecycleRecord;
    assert.deepEqual(rec.states, ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
    assert.equal(rec.firstFin, 'peer');
    const ps: Pkt[] = x.packets[40002];
    const theirFin = firstIndex(ps, (p) => p.from === 'kernel' && (p.flags & FIN) !== 0);
    const next = ps.slice(theirFin + 1).find((p) => p.from === 'us')!;
    // Our first segment after their FIN is our FIN, and it acknowledges theirs: FIN, FIN+ACK, ACK.
    assert.equal(next.flags & (FIN | ACK), FIN | ACK);
    assert.equal(next.ack, (ps[theirFin]!.seq + ps[theirFin]!.len + 1) >>> 0);
    assert.equal(rec.close, 'three-way');
  });

  test('half-close with nc -N: our echo keeps sending after the kernel\'s FIN, then closes', { skip, timeout: 120_000 }, async () => {
    const x = await get();
    assert.equal(x.halfClose.code, 0, x.halfClose.err);
    assert.ok(x.halfClose.echoed, `echoed ${x.halfClose.bytes} bytes, not the 1 MiB sent`);
    const ps: Pkt[] = x.packets[40003];
    const theirFin = firstIndex(ps, (p) => p.from === 'kernel' && (p.flags & FIN) !== 0);
    const ourFin = firstIndex(ps, (p) => p.from === 'us' && (p.flags & FIN) !== 0);
    const dataAfter = ps.slice(theirFin + 1, ourFin).filter((p) => p.from === 'us' && p.len > 0).reduce((n, p) => n + p.len, 0);
    assert.ok(theirFin >= 0 && ourFin > theirFin);
    assert.ok(dataAfter > 0, 'no data from us after the kernel\'s FIN');
    const rec = x.records[40003] as LifecycleRecord;
    assert.deepEqual(rec.states.slice(-3), ['CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
    assert.equal(rec.close, 'four-way');
  });

  test('RST abort: GET /rst sends data then RST; curl exits 56 and the kernel socket is gone', { skip, timeout: 120_000 }, async () => {
    const x = await get();
    assert.equal(x.rstAbort.code, 56, x.rstAbort.err);
    assert.match(x.rstAbort.err, /reset/i);
    assert.deepEqual(x.rstAbort.ss, []);
    const ps: Pkt[] = x.packets[40004];
    const rst = ps.find((p) => p.from === 'us' && (p.flags & RST) !== 0);
    assert.ok(rst, 'RST from us on the wire');
    assert.ok(!ps.some((p) => p.from === 'us' && (p.flags & FIN)), 'no FIN: an abort');
    assert.equal((x.records[40004] as LifecycleRecord).close, 'rst-by-us');
  });

  test('close with unread data sends RST (RFC 1122 §4.2.2.13): the kernel\'s recv fails with ECONNRESET', { skip, timeout: 120_000 }, async () => {
    const x = await get();
    assert.equal(x.unread.reset, true, JSON.stringify(x.unread));
    assert.deepEqual(x.unread.afterReset, []);
    const ps: Pkt[] = x.packets[40005];
    assert.ok(ps.some((p) => p.from === 'us' && (p.flags & RST) !== 0), 'RST from us');
    assert.ok(!ps.some((p) => p.from === 'us' && (p.flags & FIN)), 'no FIN');
    const rec = x.records[40005] as LifecycleRecord;
    assert.equal(rec.close, 'rst-by-us');
    assert.equal(rec.endCause, 'user close');
  });

  test('refused port: SYN is answered with RST+ACK, curl exits 7', { skip, timeout: 120_000 }, async () => {
    const x = await get();
    assert.equal(x.refused.code, 7, x.refused.err);
    assert.equal(x.refused.noPortRsts, 1);
    const ps: Pkt[] = x.packets[40006];
    assert.equal(ps[0]!.from, 'kernel');
    assert.equal(ps[0]!.flags, SYN);
    assert.equal(ps[1]!.from, 'us');
    assert.equal(ps[1]!.flags, RST | ACK);
    assert.equal(ps[1]!.ack, (ps[0]!.seq + 1) >>> 0);
    assert.equal(ps.length, 2);
  });

  test('SIGINT stops synack serve gracefully: FIN to the open connection, a lifecycle line, exit 0', { skip, timeout: 120_000 }, async () => {
    const x = await get();
    assert.equal(x.sigint.serveCode, 0, x.sigint.serveErr);
    assert.match(x.sigint.banner, /syn1 up, mtu 1500, offload,/, 'serve uses offload by default');
    assert.match(x.sigint.serveErr, /SIGINT/);
    assert.equal(x.sigint.client.eof, true, 'the client saw our FIN');
    const rec = x.sigint.records.find((q: LifecycleRecord) => q.remote.endsWith(':40007')) as LifecycleRecord;
    assert.ok(rec, 'lifecycle line for the held connection');
    assert.equal(rec.firstFin, 'us');
    assert.deepEqual(rec.states.slice(0, 4), ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1']);
  });
}
