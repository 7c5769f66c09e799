// Hostile input from real tools against `synack serve` on a TUN device, inside a fresh namespace:
//   nmap -sS/-sN/-sF/-sX at an open and a closed port: the RFC 9293 answers (closed → RST; open: SYN → SYN+ACK,
//     NULL/FIN/Xmas → silence, §3.10.7.2), reported by nmap as for Linux, and counted as invalid flags;
//   hping3 --flood --rand-source -S at the HTTP port while curl fetches in a loop: every fetch succeeds (SYN
//     cookies, RFC 4987 §3.6) and the stack's tables stay bounded;
//   scapy injects blind RSTs and SYNs into a live connection (RFC 5961): in-window but not exact → challenge
//     ACK and the connection survives; exact → reset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { runInNetns, reportResult, assertInNetns, NETNS_ENV } from '../link/netns.js';
import { startServe } from './serve.js';
import { run, kernelTestSkipReason, collectChild, waitFor, sleep } from './kernel-testkit.js';

const role = process.env[NETNS_ENV] ? process.argv[2] : undefined;

/** nmap's verdict per port from its XML output. */
function nmapStates(xml: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of xml.matchAll(/<port protocol="tcp" portid="(\d+)"><state state="([^"]+)" reason="([^"]+)"/g)) out[m[1]!] = `${m[2]} (${m[3]})`;
  return out;
}

/** A live kernel-side connection to the echo port, driven line by line from stdin. */
const PY_LIVE = String.raw`
import socket, sys, json
s = socket.create_connection(('10.77.0.2', 7))
s.settimeout(3)
print(json.dumps({'lport': s.getsockname()[1]}), flush=True)
for line in sys.stdin:
    cmd = line.strip()
    try:
        s.sendall(cmd.encode())
        got = b''
        while len(got) < len(cmd):
            d = s.recv(100)
            if not d: break
            got += d
        print(json.dumps({'cmd': cmd, 'echo': got.decode()}), flush=True)
    except Exception as e:
        print(json.dumps({'cmd': cmd, 'error': type(e).__name__}), flush=True)
`;

/** Sends spoofed segments "from the kernel's side" of the live connection: one line of JSON per segment. */
const PY_SCAPY = String.raw`
import sys, json
from scapy.all import IP, TCP, send, conf
conf.verb = 0
print('ready', flush=True)
for line in sys.stdin:
    p = json.loads(line)
    send(IP(src='10.77.0.1', dst='10.77.0.2') / TCP(sport=p['sport'], dport=7, flags=p['flags'], seq=p['seq'], ack=p.get('ack', 0), window=1000), iface='syn0')
    print('sent', flush=True)
`;

if (role === 'hostile') {
  assertInNetns();
  const io = { stdout: { write: () => true } as unknown as NodeJS.WritableStream, stderr: process.stderr, stdin: process.stdin };
  const h = await startServe({ tun: 'syn0', addr: ['10.77.0.2'], peer: ['10.77.0.1/24'], http: 80, echo: 7, logFormat: 'json' }, io);
  const { stack } = h;
  const out: Record<string, unknown> = {};

  // --- nmap ---------------------------------------------------------------------------------------------
  const scans: Record<string, unknown> = {};
  for (const kind of ['-sS', '-sN', '-sF', '-sX']) {
    const before = { ...stack.stats.invalidFlags, rsts: stack.counters.NoPortRsts };
    const r = await run('nmap', ['-n', '-Pn', kind, '-p', '80,81', '-e', 'syn0', '--send-ip', '--max-retries', '1', '--initial-rtt-timeout', '100ms', '--max-rtt-timeout', '300ms', '-oX', '-', '10.77.0.2'], { timeoutMs: 30_000 });
    const after = stack.stats.invalidFlags;
    scans[kind] = {
      code: r.code,
      err: r.stderr,
      ports: nmapStates(r.stdout),
      invalid: { null: after.null - before.null, finNoAck: after['fin-no-ack'] - before['fin-no-ack'], xmas: after.xmas - before.xmas },
      rsts: stack.counters.NoPortRsts - before.rsts,
    };
  }
  out.nmap = scans;
  out.afterNmapConnections = stack.connectionCount;

  // --- hping3 flood + curl loop ----------------------------------------------------------------------------
  const hping = spawn('timeout', ['-s', 'KILL', '4', 'hping3', '--flood', '--rand-source', '-S', '-p', '80', '10.77.0.2'], { stdio: 'ignore' });
  const hpingExit = new Promise((r) => hping.once('exit', r));
  await sleep(300);
  const curls: Array<{ code: number | null; err: string; ms: number }> = [];
  let maxConn = 0, maxHeap = 0, maxRate = 0, maxMem = 0;
  const sampler = setInterval(() => {
    maxConn = Math.max(maxConn, stack.connectionCount);
    maxHeap = Math.max(maxHeap, stack.timerHeapSize);
    maxRate = Math.max(maxRate, stack.rateLimiterSize);
    maxMem = Math.max(maxMem, process.memoryUsage().heapUsed);
  }, 50);
  const start = Date.now();
  const cookiesBefore = stack.counters.SyncookiesSent;
  const inBefore = stack.stats.InSegs;
  while (Date.now() - start < 3000) {
    const t = Date.now();
    const r = await run('curl', ['-sS', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code}', 'http://10.77.0.2/bytes/10000']);
    curls.push({ code: r.code, err: r.stderr + r.stdout, ms: Date.now() - t });
  }
  await hpingExit;
  clearInterval(sampler);
  const link = JSON.parse((await run('ip', ['-s', '-j', 'link', 'show', 'syn0'])).stdout)[0];
  out.flood = {
    deviceTx: link?.stats64?.tx, 
    curls, maxConn, maxHeap, maxRate, maxMemMB: Math.round(maxMem / 1e6),
    cookiesSent: stack.counters.SyncookiesSent - cookiesBefore, cookiesRecv: stack.counters.SyncookiesRecv, segsIn: stack.stats.InSegs - inBefore,
    synRateDrops: stack.counters.SynRateDrops,
  };

  // --- scapy: blind RSTs and SYNs into a live connection --------------------------------------------------
  if (process.argv[3] !== 'no-scapy') {
    const live = spawn('python3', ['-c', PY_LIVE], { stdio: ['pipe', 'pipe', 'pipe'] });
    const lc = collectChild(live);
    const lines = () => lc.stdout().toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    await waitFor(() => lines().length >= 1, 10_000, 'the live connection');
    const lport = lines()[0]!.lport as number;
    const say = async (cmd: string) => {
      const n = lines().length;
      live.stdin!.write(cmd + '\n');
      await waitFor(() => lines().length > n, 10_000, `echo of ${cmd}`);
      return lines()[n]!;
    };
    const scapy = spawn('/usr/bin/python3', ['-c', PY_SCAPY], { stdio: ['pipe', 'pipe', 'pipe'] });
    const sc = collectChild(scapy);
    await waitFor(() => sc.stdout().toString().includes('ready'), 30_000, 'scapy to load');
    const inject = async (seg: { flags: string; seq: number; ack?: number }) => {
      const n = sc.stdout().toString().split('sent').length;
      scapy.stdin!.write(JSON.stringify({ sport: lport, ...seg }) + '\n');
      await waitFor(() => sc.stdout().toString().split('sent').length > n, 10_000, 'scapy send');
      // Past the 500 ms synack (like Linux) keeps between two challenge ACKs of one connection (RFC 5961 §7).
      await sleep(550);
    };
    const conn = () => [...stack.allConnections()].find((c) => c.remotePort === lport) ?? null;
    const scapyOut: Record<string, unknown> = {};
    scapyOut.first = await say('hello');
    const c = conn()!;
    const rcvNxt = c.tcp.rcvNxt;
    const sndNxt = c.tcp.sndNxt;
    const ch0 = stack.stats.TCPChallengeACK;
    await inject({ flags: 'R', seq: (rcvNxt + 1000) >>> 0 });
    scapyOut.afterInWindowRst = { state: conn()?.state ?? 'gone', challengeAcks: stack.stats.TCPChallengeACK - ch0 };
    await inject({ flags: 'S', seq: (rcvNxt + 5000) >>> 0 });
    scapyOut.afterSyn = { state: conn()?.state ?? 'gone', challengeAcks: stack.stats.TCPChallengeACK - ch0 };
    scapyOut.alive = await say('still-here');
    const rcvNxt2 = conn()!.tcp.rcvNxt;
    await inject({ flags: 'R', seq: (rcvNxt2 + 1) >>> 0 }); // one off: still not exact
    scapyOut.afterOffByOne = { state: conn()?.state ?? 'gone', challengeAcks: stack.stats.TCPChallengeACK - ch0 };
    await inject({ flags: 'R', seq: rcvNxt2 });
    scapyOut.afterExactRst = { state: conn()?.state ?? 'gone', record: h.records.find((r) => r.remote.endsWith(`:${lport}`)) ?? null };
    scapyOut.afterReset = await say('anyone');
    scapyOut.sndNxt = sndNxt;
    live.stdin!.end();
    scapy.stdin!.end();
    await Promise.all([lc.exit, sc.exit]);
    out.scapy = scapyOut;
  }
  await h.stop(200);
  reportResult(out);
  process.exit(0);
} else if (role === undefined) {
  const skip = kernelTestSkipReason(['nmap', 'hping3', 'curl', 'python3', 'timeout']);
  // Debian's python3-scapy lives with the system interpreter (a pyenv python3 on PATH may lack it).
  const scapyMissing = spawnSync('/usr/bin/python3', ['-c', 'import scapy.all']).status !== 0;
  const scapySkip = skip || (scapyMissing && !process.env.SYNACK_REQUIRE_TUN ? 'python3-scapy is not installed for /usr/bin/python3 (apt-get install python3-scapy)' : false);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let r: any = null;
  const get = async () => {
    if (r) return r;
    const res = await runInNetns(import.meta.url, ['hostile', scapyMissing ? 'no-scapy' : 'scapy'], { timeoutMs: 120_000 });
    assert.equal(res.code, 0, res.stderr + res.stdout);
    r = res.result;
    return r;
  };

  test('nmap -sS/-sN/-sF/-sX: closed port answers RST, open port SYN+ACK to SYN and silence to NULL/FIN/Xmas; invalid flags counted', { skip, timeout: 150_000 }, async () => {
    const x = (await get()).nmap;
    assert.equal(x['-sS'].code, 0, x['-sS'].err);
    assert.match(x['-sS'].ports['80'], /^open \(syn-ack\)/);
    assert.match(x['-sS'].ports['81'], /^closed \(reset\)/);
    for (const [kind, counter] of [['-sN', 'null'], ['-sF', 'finNoAck'], ['-sX', 'xmas']] as const) {
      assert.equal(x[kind].code, 0, x[kind].err);
      // No answer from the open port is exactly what nmap reports as open|filtered for Linux (RFC 9293 §3.10.7.2).
      assert.match(x[kind].ports['80'], /^open\|filtered \(no-response\)/, kind);
      assert.match(x[kind].ports['81'], /^closed \(reset\)/, kind);
      // Each probe to each port is counted (nmap may retry the unanswered one).
      assert.ok(x[kind].invalid[counter] >= 2, `${kind}: ${JSON.stringify(x[kind].invalid)}`);
      assert.ok(x[kind].rsts >= 1, `${kind}: RST for the closed port`);
    }
    assert.equal((await get()).afterNmapConnections, 0, 'no connection left behind by the scans');
  });

  test('hping3 --flood --rand-source -S: every curl during the flood succeeds (SYN cookies) and the stack stays bounded', { skip, timeout: 150_000 }, async () => {
    const f = (await get()).flood;
    // On a 2-core machine hping3 outruns any reader of the device: the kernel's TUN queue drops most packets,
    // curl's included, so a fetch may need SYN retransmissions (1 s, 3 s). What matters: none fails.
    assert.ok(f.curls.length >= 1, `no fetch: ${JSON.stringify(f)}`);
    if (process.env.SYNACK_DEBUG) console.log(JSON.stringify(f));
    for (const c of f.curls) assert.equal(c.code, 0, `curl failed during the flood: ${c.err} ${JSON.stringify(f)}`);
    for (const c of f.curls) assert.equal(c.err, '200');
    assert.ok(f.segsIn > 10_000, `the flood reached the stack (${f.segsIn} segments)`);
    assert.ok(f.cookiesSent > 0, 'SYN cookies were used once the SYN queue was full');
    // hping3 never answers a SYN+ACK: the handshakes completed from cookies are curl's.
    assert.ok(f.cookiesRecv >= 1, 'curl completed its handshake with a cookie');
    // Bounded: SYN queue (backlog 511) plus a few live connections; the timer heap is compacted; the rate
    // limiter keeps at most 8192 sources.
    assert.ok(f.maxConn <= 511 + 16, `connections ${f.maxConn}`);
    assert.ok(f.maxHeap <= 4 * 527 + 1024, `timer heap ${f.maxHeap}`);
    assert.ok(f.maxRate <= 8192, `rate limiter ${f.maxRate}`);
    assert.ok(f.maxMemMB < 400, `heap ${f.maxMemMB} MB`);
  });

  test('scapy blind injection (RFC 5961): in-window RST and SYN draw challenge ACKs, the connection survives; the exact RST resets it', { skip: scapySkip, timeout: 150_000 }, async () => {
    const s = (await get()).scapy;
    assert.equal(s.first.echo, 'hello');
    assert.equal(s.afterInWindowRst.state, 'ESTABLISHED');
    assert.equal(s.afterInWindowRst.challengeAcks, 1);
    assert.equal(s.afterSyn.state, 'ESTABLISHED');
    assert.equal(s.afterSyn.challengeAcks, 2);
    assert.equal(s.alive.echo, 'still-here');
    assert.equal(s.afterOffByOne.state, 'ESTABLISHED');
    assert.equal(s.afterOffByOne.challengeAcks, 3);
    assert.equal(s.afterExactRst.state, 'gone');
    assert.equal(s.afterExactRst.record.close, 'rst-by-peer');
    // The kernel never sent that RST: its next segment reaches a tuple synack no longer knows, and synack's
    // RST (§3.10.7.1) resets the kernel's socket too.
    assert.equal(s.afterReset.error, 'ConnectionResetError', JSON.stringify(s.afterReset));
  });
}
