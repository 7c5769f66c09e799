// The probe table of issue 13, as tests: the same hostile and unusual packets, sent by scapy to `synack serve`
// over TUN and to a Linux listener in a second namespace over veth, must draw the same answers (captured on
// each device): fragments reassembled, malformed TCP options skipped, martian sources ignored, misplaced IPv6
// extension headers answered with parameter problem, ECN negotiated, and an in-window RST flood answered with
// one challenge ACK (RFC 5961 §7, Linux's per-socket limit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { runInNetns, reportResult, assertInNetns, NETNS_ENV } from '../link/netns.js';
import { startServe } from './serve.js';
import { kernelTestSkipReason, run } from './kernel-testkit.js';
import { makeNetns } from './kernel-ip-testkit.js';

const role = process.env[NETNS_ENV] ? process.argv[2] : undefined;

/** argv: iface, target IPv4, target IPv6, destination MAC ('-' for the TUN device), probes to run (comma list, all when empty). */
const PY_PROBES = String.raw`
import sys, json, time, struct, socket, threading
from scapy.all import (IP, IPv6, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt, TCP, Raw, Ether,
                       fragment, fragment6, sendp, conf, AsyncSniffer, ICMP, ICMPv6ParamProblem, in4_chksum, in6_chksum)
conf.verb = 0
iface, v4, v6, mac, only = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5].split(',') if len(sys.argv) > 5 and sys.argv[5] else []
me4, me6 = ('10.77.0.1', 'fd77::1') if v4.startswith('10.77.') else ('10.80.0.1', 'fd80::1')
got = []
lock = threading.Lock()
def keep(p):
    with lock: got.append(p)
sn = AsyncSniffer(iface=iface, prn=keep, store=False)
sn.start(); time.sleep(0.5)
def emit(p):
    if mac == '-': sendp(p, iface=iface)
    else: sendp(Ether(dst=mac) / p, iface=iface)
def tcp_bytes(sport, flags, seq, ack, opts, payload=b'', win=65535):
    while len(opts) % 4: opts += b'\x00'
    return struct.pack('!HHIIBBHHH', sport, 80, seq, ack, (5 + len(opts) // 4) << 4, flags, win, 0, 0) + opts + payload
def ip4(src, dst, tcp):
    p = IP(src=src, dst=dst, proto=6) / Raw(tcp)
    ck = in4_chksum(6, p[IP], tcp)
    return IP(src=src, dst=dst, proto=6) / Raw(tcp[:16] + struct.pack('!H', ck) + tcp[18:])
FLAGS = {'S': 2, 'A': 16, 'PA': 24, 'R': 4, 'SEC': 2 | 64 | 128}
STD = b'\x02\x04\x05\xb4\x04\x02\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x00\x01\x03\x03\x07'
probes = {}
def probe(name, sport, fn):
    if only and name not in only: return
    probes[name] = sport
    fn(sport)
    time.sleep(0.05)
def syn4(sport, opts=STD, src=None, flags='S'):
    return ip4(src or me4, v4, tcp_bytes(sport, FLAGS[flags], 1000, 0, opts))
def wait_synack(sport, t=2.0):
    end = time.time() + t
    while time.time() < end:
        with lock:
            for p in got:
                if TCP in p and p[TCP].dport == sport and p[TCP].flags & 0x12 == 0x12: return p[TCP].seq
        time.sleep(0.01)
    return None
def handshake_then(sport, opts):
    emit(syn4(sport))
    isn = wait_synack(sport)
    if isn is None: return
    emit(ip4(me4, v4, tcp_bytes(sport, 16, 1001, isn + 1, b'\x01\x01\x08\x0a\x00\x00\x00\x02\x00\x00\x00\x00')))
    time.sleep(0.05)
    emit(ip4(me4, v4, tcp_bytes(sport, 24, 1001, isn + 1, opts, b'hello')))

probe('frag-v4-in-order', 42001, lambda s: [emit(f) for f in fragment(syn4(s), fragsize=8)])
probe('frag-v4-reversed', 42002, lambda s: [emit(f) for f in reversed(fragment(syn4(s), fragsize=8))])
def frag6(s, size=24):
    # A SYN carrying 16 bytes (56 bytes of TCP): three fragments of 24, 24 and 8 bytes.
    p = IPv6(src=me6, dst=v6) / IPv6ExtHdrFragment(id=s) / TCP(sport=s, dport=80, flags='S', seq=1000, options=[('MSS', 1440), ('SAckOK', b''), ('Timestamp', (1, 0)), ('NOP', None), ('WScale', 7)]) / Raw(b'x' * 16)
    for f in fragment6(p, 40 + 8 + size): emit(f)
probe('frag-v6-three', 42003, frag6)
# RFC 7112 / RFC 8200 §4.5: a first fragment without the whole TCP header (16 of its 20 bytes).
probe('frag-v6-incomplete-chain', 42004, lambda s: frag6(s, 16))
probe('syn-mss-length-0', 42010, lambda s: emit(syn4(s, b'\x02\x00\x05\xb4')))
probe('syn-mss-length-3', 42011, lambda s: emit(syn4(s, b'\x02\x03\x05\x01\x01\x01\x01\x01')))
probe('syn-sackok-length-4', 42012, lambda s: emit(syn4(s, b'\x04\x04\x00\x00\x02\x04\x05\xb4')))
probe('syn-option-past-header', 42013, lambda s: emit(syn4(s, b'\x02\x04\x05\xb4\x01\x01\x08\x0a\x00\x00\x00\x00')))
probe('data-option-length-0', 42020, lambda s: handshake_then(s, b'\x01\x01\x08\x00'))
probe('data-option-past-header', 42021, lambda s: handshake_then(s, b'\x01\x01\x05\x1e'))
probe('land', 42030, lambda s: emit(syn4(s, src=v4)))
probe('src-loopback', 42031, lambda s: emit(syn4(s, src='127.0.0.1')))
probe('src-multicast', 42032, lambda s: emit(syn4(s, src='224.0.0.1')))
def v6p(s, src=None): return IPv6(src=src or me6, dst=v6) / TCP(sport=s, dport=80, flags='S', seq=1000)
probe('v6-src-loopback', 42033, lambda s: emit(v6p(s, '::1')))
probe('v6-src-multicast', 42034, lambda s: emit(v6p(s, 'ff02::1')))
probe('v6-land', 42035, lambda s: emit(v6p(s, v6)))
probe('v6-hop-by-hop-not-first', 42040, lambda s: emit(IPv6(src=me6, dst=v6) / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / TCP(sport=s, dport=80, flags='S', seq=1000)))
probe('v6-payload-length-0', 42041, lambda s: emit(IPv6(src=me6, dst=v6, plen=0) / TCP(sport=s, dport=80, flags='S', seq=1000)))
probe('syn-ece-cwr', 42050, lambda s: emit(syn4(s, flags='SEC')))
def rst_flood(s):
    emit(syn4(s))
    isn = wait_synack(s)
    if isn is None: return
    emit(ip4(me4, v4, tcp_bytes(s, 16, 1001, isn + 1, b'')))
    time.sleep(0.05)
    # 3 000 in-window RSTs that are not exact (RFC 5961 §3.2: each would earn a challenge ACK without a limit).
    pkts = [ip4(me4, v4, tcp_bytes(s, 4, 1001 + 10 + i, 0, b'')) for i in range(3000)]
    if mac != '-': pkts = [Ether(dst=mac) / p for p in pkts]
    t0 = time.time()
    sendp(pkts, iface=iface)
    flood['secs'] = time.time() - t0
flood = {'secs': 0}
probe('rst-flood-3000', 42060, rst_flood)
time.sleep(1.0)
sn.stop()
out = {}
for name, sport in probes.items():
    ans = []
    for p in got:
        if IP in p and p[IP].src != v4: continue
        if IPv6 in p and p[IPv6].src != v6: continue
        if TCP in p and p[TCP].dport == sport and not (ICMP in p):
            f = str(p[TCP].flags)
            ans.append('tcp ' + ''.join(sorted(f)) + (' data-acked' if sport in (42020, 42021) and p[TCP].ack and len(p[TCP].payload) == 0 and f == 'A' and p[TCP].ack >= 1006 and p[TCP].ack - 1006 < 2**31 else ''))
        elif ICMPv6ParamProblem in p:
            q = p[ICMPv6ParamProblem].payload
            if TCP in q and q[TCP].sport == sport: ans.append('icmp6 param-problem %d ptr %d' % (p[ICMPv6ParamProblem].code, p[ICMPv6ParamProblem].ptr))
        elif ICMP in p:
            q = p[ICMP].payload
            if TCP in q and q[TCP].sport == sport: ans.append('icmp %d/%d' % (p[ICMP].type, p[ICMP].code))
    # Summaries as sets with counts, so retransmissions (timing-dependent) count once each kind.
    kinds = {}
    for a in ans: kinds[a] = kinds.get(a, 0) + 1
    out[name] = kinds
# The flood as it left: its RSTs' capture times. Linux answers one per 500 ms at most (tcp_invalid_ratelimit): a RST
# arriving 500 ms or more after the last answered one is answered. On a loaded machine scapy's sending pauses, so
# the flood's duration alone over-counts; this replays the rule over the real arrival times.
rst_times = sorted(float(p.time) for p in got if TCP in p and p[TCP].sport == 42060 and p[TCP].flags & 0x04 and IP in p and p[IP].src == me4)
answered, last = 0, None
for t in rst_times:
    if last is None or t - last >= 0.5: answered, last = answered + 1, t
out['flood'] = {'ms': int(flood['secs'] * 1000), 'seen': len(rst_times), 'expected': answered}
print(json.dumps(out))
`;

/** A Linux listener on port 80 (IPv4 and IPv6) in its own namespace, behind veth l0 (10.80.0.1 / fd80::1). */
const PY_LISTENER = String.raw`
import socket, time
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(('::', 80)); s.listen(128)
print('ready', flush=True)
time.sleep(120)
`;

if (role === 'probes') {
  assertInNetns();
  const only = process.argv[3] ?? '';
  const quiet = { stdout: { write: () => true } as unknown as NodeJS.WritableStream, stderr: process.stderr, stdin: process.stdin };
  // The discard service, like the Linux listener, reads and never answers or closes: only TCP speaks.
  const h = await startServe({ tun: 'syn0', addr: ['10.77.0.2', 'fd77::2'], peer: ['10.77.0.1/24', 'fd77::1/64'], discard: 80 }, quiet);
  const lnx = makeNetns();
  const sh = (...a: string[]) => execFileSync(a[0]!, a.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  sh('ip', 'link', 'add', 'l0', 'type', 'veth', 'peer', 'name', 'l1', 'netns', String(lnx.pid));
  sh('ip', 'addr', 'add', '10.80.0.1/24', 'dev', 'l0');
  sh('ip', 'addr', 'add', 'fd80::1/64', 'dev', 'l0', 'nodad');
  sh('ip', 'link', 'set', 'l0', 'up');
  lnx.sync(['ip', 'link', 'set', 'lo', 'up']);
  lnx.sync(['ip', 'addr', 'add', '10.80.0.2/24', 'dev', 'l1']);
  lnx.sync(['ip', 'addr', 'add', 'fd80::2/64', 'dev', 'l1', 'nodad']);
  lnx.sync(['ip', 'link', 'set', 'l1', 'up']);
  const mac = (JSON.parse(execFileSync('nsenter', [`--net=/proc/${lnx.pid}/ns/net`, '--', 'ip', '-j', 'link', 'show', 'l1'], { encoding: 'utf8' })) as Array<{ address: string }>)[0]!.address;
  // scapy's handshakes are its own: keep this namespace's kernel from resetting them.
  sh('nft', 'add table inet probes');
  sh('nft', 'add chain inet probes out { type filter hook output priority 0 ; }');
  sh('nft', 'add rule inet probes out tcp flags rst drop');
  const listener = lnx.spawn(['python3', '-c', PY_LISTENER]);
  await new Promise((r) => listener.stdout!.once('data', r));
  const probe = async (args: string[]) => {
    const r = await run('/usr/bin/python3', ['-c', PY_PROBES, ...args, only], { timeoutMs: 90_000 });
    if (r.code !== 0) throw new Error(`probes failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, Record<string, number>>;
  };
  const synack = await probe(['syn0', '10.77.0.2', 'fd77::2', '-']);
  const linux = await probe(['l0', '10.80.0.2', 'fd80::2', mac]);
  listener.kill();
  await h.stop(100);
  reportResult({ synack, linux, counters: h.stack.snapshot() });
  process.exit(0);
} else if (role === undefined) {
  const skip = kernelTestSkipReason(['nft', 'python3']);
  const scapyMissing = spawnSync('/usr/bin/python3', ['-c', 'import scapy.all']).status !== 0;
  const why = skip || (scapyMissing ? 'python3-scapy is not installed for /usr/bin/python3 (apt-get install python3-scapy)' : false);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let r: any = null;
  const get = async () => {
    if (r) return r;
    const res = await runInNetns(import.meta.url, ['probes', process.env.SYNACK_PROBES ?? ''], { timeoutMs: 200_000 });
    assert.equal(res.code, 0, res.stderr + res.stdout);
    r = res.result;
    return r;
  };
  const kinds = (x: Record<string, number> | undefined) => Object.keys(x ?? {}).sort();
  const ROWS: Array<[string, string[], string]> = [
    ['IPv4 fragments of a SYN (in order, reversed), an IPv6 SYN in three fragments: reassembled, answered', ['frag-v4-in-order', 'frag-v4-reversed', 'frag-v6-three'], 'tcp AS'],
    ['an IPv6 first fragment without the whole TCP header: parameter problem, code 3 (RFC 7112)', ['frag-v6-incomplete-chain'], 'icmp6 param-problem 3 ptr 0'],
    ['a SYN with a malformed option (MSS of length 0 or 3, SACK-permitted of length 4, an option past the header): answered', ['syn-mss-length-0', 'syn-mss-length-3', 'syn-sackok-length-4', 'syn-option-past-header'], 'tcp AS'],
    ['a data segment with an option of length 0 or past the header: accepted (its data acknowledged)', ['data-option-length-0', 'data-option-past-header'], 'tcp A data-acked'],
    ['a SYN from a martian source (LAND, 127.0.0.1, 224.0.0.1, ::1, ff02::1, IPv6 LAND): dropped', ['land', 'src-loopback', 'src-multicast', 'v6-src-loopback', 'v6-src-multicast', 'v6-land'], ''],
    ['IPv6 hop-by-hop header not first: parameter problem (unrecognized next header); IPv6 payload length 0: dropped', ['v6-hop-by-hop-not-first', 'v6-payload-length-0'], ''],
    ['SYN+ECE+CWR: ECN negotiated (SYN+ACK with ECE)', ['syn-ece-cwr'], 'tcp AES'],
  ];
  for (const [name, probes, expect] of ROWS) {
    test(`probe table: ${name}, as Linux answers`, { skip: why, timeout: 240_000 }, async () => {
      const x = await get();
      for (const p of probes) {
        assert.deepEqual(kinds(x.synack[p]), kinds(x.linux[p]), `${p}: synack ${JSON.stringify(x.synack[p])} vs Linux ${JSON.stringify(x.linux[p])}`);
        if (expect) assert.ok(kinds(x.linux[p]).includes(expect), `${p}: Linux answered ${JSON.stringify(x.linux[p])}`);
      }
    });
  }
  test('probe table: 3 000 in-window RSTs draw one challenge ACK per half second of flood, from synack as from Linux (not one per RST)', { skip: why, timeout: 240_000 }, async () => {
    const x = await get();
    const acks = (m: Record<string, number> | undefined) => m?.['tcp A'] ?? 0;
    // One per 500 ms while the flood lasts (scapy takes 0.4–5 s to send it, with the machine's load, and not
    // equally fast over TUN and veth): each side's count against its own flood, ±1. The count expected is the
    // 500 ms rule replayed over the RSTs' captured times (a pause in scapy's sending under load answers fewer than
    // the duration says: a loaded run saw Linux answer 25 in 13.3 s); from the duration only if the capture
    // missed RSTs.
    const l = acks(x.linux['rst-flood-3000']), s = acks(x.synack['rst-flood-3000']);
    const what = `synack ${JSON.stringify(x.synack['rst-flood-3000'])} in ${JSON.stringify(x.synack.flood)} vs Linux ${JSON.stringify(x.linux['rst-flood-3000'])} in ${JSON.stringify(x.linux.flood)}`;
    const expected = (f: { ms: number; seen: number; expected: number }) => f.seen === 3000 ? f.expected : Math.floor(f.ms / 500) + 1;
    assert.ok(Math.abs(l - expected(x.linux.flood)) <= 1, `Linux: ${what}`);
    assert.ok(Math.abs(s - expected(x.synack.flood)) <= 1, `synack: ${what}`);
  });
}
