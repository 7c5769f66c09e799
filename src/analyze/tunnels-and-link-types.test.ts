/**
 * TCP inside tunnels and on the link types added for issue 17, each capture built at run time by a real tool
 * (scapy for the encapsulations the kernel here cannot build; the kernel's own VXLAN tunnel and NFLOG between
 * network namespaces this test creates, captured by tcpdump), and every one compared with tshark on the same
 * file: the same inner TCP endpoints, the same number of TCP packets and the same completeness. Skips with the
 * reason when scapy, tshark or root are missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { analyzeBytes } from './corpus-helpers.js';

const PYTHON = '/usr/bin/python3';
const noTshark: false | string = spawnSync('tshark', ['-v']).status !== 0 && 'tshark not installed';
const noScapy: false | string = (!existsSync(PYTHON) || spawnSync(PYTHON, ['-c', 'import scapy.all']).status !== 0) && 'python3-scapy not installed';
const noRoot: false | string = (process.getuid?.() !== 0 && 'needs root (network namespaces)')
  || (spawnSync('ip', ['-V']).status !== 0 && 'iproute2 not installed')
  || (spawnSync('tcpdump', ['--version']).status !== 0 && 'tcpdump not installed');

/** The scapy program writing one small capture per encapsulation into argv[1]. */
const GENERATOR = `import sys, struct, os
from scapy.all import Ether, IP, IPv6, TCP, UDP, Raw, wrpcap, conf
from scapy.layers.l2 import GRE, Dot3, LLC, SNAP
from scapy.layers.vxlan import VXLAN
from scapy.layers.ppp import PPP, PPPoE, HDLC
from scapy.layers.dot11 import Dot11, RadioTap, Dot11QoS
from scapy.contrib.geneve import GENEVE
from scapy.contrib.gtp import GTP_U_Header
from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III
out = sys.argv[1]
T0 = 1700000000.0

def conv(v6=False, a='10.9.0.1', b='10.9.0.2'):
    if v6: a, b = 'fd09::1', 'fd09::2'
    L = (lambda s, d: IPv6(src=s, dst=d)) if v6 else (lambda s, d: IP(src=s, dst=d))
    c, s = 1000, 5000
    seg = [
        (a, b, TCP(sport=40000, dport=80, flags='S', seq=c)),
        (b, a, TCP(sport=80, dport=40000, flags='SA', seq=s, ack=c+1)),
        (a, b, TCP(sport=40000, dport=80, flags='A', seq=c+1, ack=s+1)),
        (a, b, TCP(sport=40000, dport=80, flags='PA', seq=c+1, ack=s+1)/Raw(b'GET / HTTP/1.0\\r\\n\\r\\n')),
        (b, a, TCP(sport=80, dport=40000, flags='FA', seq=s+1, ack=c+19)),
        (a, b, TCP(sport=40000, dport=80, flags='FA', seq=c+19, ack=s+2)),
        (b, a, TCP(sport=80, dport=40000, flags='A', seq=s+2, ack=c+20)),
    ]
    return [L(x, y)/t for x, y, t in seg]

def outer(inner_dir_fwd, mk):
    return mk

def write(name, pkts, linktype=None):
    for i, p in enumerate(pkts): p.time = T0 + i * 0.001
    if linktype is None: wrpcap(os.path.join(out, name + '.pcap'), pkts)
    else: wrpcap(os.path.join(out, name + '.pcap'), pkts, linktype=linktype)

E = lambda: Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')
O4 = lambda: IP(src='192.0.2.1', dst='192.0.2.2')
O6 = lambda: IPv6(src='2001:db8::1', dst='2001:db8::2')
write('gre-ip', [E()/O4()/GRE(proto=0x0800)/p for p in conv()])
write('gre-key-seq-ipv6', [E()/O4()/GRE(proto=0x86dd, key_present=1, key=7, seqnum_present=1, seqence_number=i)/p for i, p in enumerate(conv(True))])
write('gretap', [E()/O4()/GRE(proto=0x6558)/Ether()/p for p in conv()])
write('erspan2', [E()/O4()/GRE(proto=0x88be, seqnum_present=1)/ERSPAN_II(ver=1, session_id=5)/Ether()/p for p in conv()])
write('erspan3', [E()/O4()/GRE(proto=0x22eb, seqnum_present=1)/ERSPAN_III(session_id=5)/Ether()/p for p in conv()])
write('vxlan', [E()/O4()/UDP(sport=50000, dport=4789)/VXLAN(vni=42, flags=0x08)/Ether()/p for p in conv()])
write('geneve', [E()/O4()/UDP(sport=50000, dport=6081)/GENEVE(vni=7, proto=0x6558)/Ether()/p for p in conv()])
write('gtp-u', [E()/O4()/UDP(sport=2152, dport=2152)/GTP_U_Header(teid=9, gtp_type=255)/p for p in conv()])
ay = lambda nh: bytes([0x41, 0x52, 0x11, nh]) + struct.pack('>I', 0) + bytes(16) + bytes(20)
write('ayiya', [E()/O4()/UDP(sport=5072, dport=5072)/Raw(ay(41))/p for p in conv(True)])
write('ipip', [E()/O4()/p for p in conv()])
write('6in4', [E()/O4()/p for p in conv(True)])
write('4in6', [E()/O6()/p for p in conv()])
write('6in6', [E()/O6()/p for p in conv(True)])
write('ppp', [PPP(proto=0x0021)/p for p in conv()], 9)
write('ppp-hdlc', [HDLC()/PPP(proto=0x0057)/p for p in conv(True)], 50)
write('pppoe-ether', [PPPoE(sessionid=3, len=2 + len(p))/PPP(proto=0x0021)/p for p in conv()], 51)
write('chdlc', [Raw(b'\\x0f\\x00\\x08\\x00')/p for p in conv()], 104)
d11 = lambda: Dot11(type=2, subtype=0, FCfield='to-DS', addr1='02:00:00:00:00:02', addr2='02:00:00:00:00:01', addr3='02:00:00:00:00:03')
d11q = lambda: Dot11(type=2, subtype=8, FCfield='to-DS', addr1='02:00:00:00:00:02', addr2='02:00:00:00:00:01', addr3='02:00:00:00:00:03')/Dot11QoS()
snap = lambda t: LLC(dsap=0xaa, ssap=0xaa, ctrl=3)/SNAP(OUI=0, code=t)
write('wifi', [d11()/snap(0x0800)/p for p in conv()], 105)
write('wifi-radiotap-qos', [RadioTap()/d11q()/snap(0x0800)/p for p in conv()], 127)
prism = b'\\x44\\x00\\x00\\x00' + struct.pack('<I', 144) + bytes(136)
write('wifi-prism', [Raw(prism)/d11()/snap(0x86dd)/p for p in conv(True)], 119)
avs = struct.pack('>II', 0x80211001, 64) + bytes(56)
write('wifi-avs', [Raw(avs)/d11()/snap(0x0800)/p for p in conv()], 163)
write('ipoib', [Raw(bytes(40) + b'\\x08\\x00\\x00\\x00')/p for p in conv()], 242)
write('juniper-ether', [Raw(b'MGC\\x81\\x00\\x03\\x01\\x01\\x05')/E()/p for p in conv()], 178)
write('juniper-ether-no-l2', [Raw(b'MGC\\x03\\x02\\x00\\x00\\x00')/p for p in conv()], 178)
fddi = b'\\x50' + bytes.fromhex('020000000002') + bytes.fromhex('020000000001')
write('fddi', [Raw(fddi + bytes(snap(0x0800)))/p for p in conv()], 10)
write('arcnet-linux', [Raw(bytes([1, 2, 0, 0, 212, 0, 0, 0]))/p for p in conv()], 129)
write('ether-llc-snap', [Dot3(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')/snap(0x0800)/p for p in conv()])
write('pbb', [Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02', type=0x88e7)/Raw(b'\\x00\\x00\\x00\\x01')/E()/p for p in conv()])
from scapy.all import fragment as ip_fragment
frag_pkts = []
for p in conv():
    frag_pkts.extend(ip_fragment(p, fragsize=16) if p.haslayer(Raw) else [p])
write('ipv4-fragments', [E()/x for x in frag_pkts])
write('vntag', [Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02', type=0x8926)/Raw(b'\\x00\\x01\\x00\\x02\\x08\\x00')/p for p in conv()])
`;

interface TsharkView { a: string; b: string; packets: number; completeness: number }

/** tshark's view of the (one) TCP stream in a file: innermost addresses, packet count, completeness. */
function tsharkView(file: string): TsharkView {
  const out = spawnSync('tshark', ['-r', file, '-2', '-Y', 'tcp', '-T', 'fields', '-E', 'occurrence=l',
    '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'ipv6.dst', '-e', 'tcp.dstport', '-e', 'tcp.completeness'],
  { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  // Not trim(): a line may start with an empty field (no IPv4 layer).
  const rows = out.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => l.split('\t'));
  assert.ok(rows.length > 0, `tshark sees TCP in ${path.basename(file)}`);
  // With IPv6 inside IPv4 (or the reverse) both address fields are set (one is the outer header's): the
  // comparison accepts either for the address, and the ports and counts decide.
  const ep = (r: string[], v4: number, v6: number, port: number): [string, string, string] => [r[v4]!, r[v6]!, r[port]!];
  const first = rows[0]!;
  const [s4, s6, sp] = ep(first, 0, 1, 2);
  const [d4, d6, dp] = ep(first, 3, 4, 5);
  return {
    a: `${s4}|${s6}|${sp}`, b: `${d4}|${d6}|${dp}`, packets: rows.length,
    completeness: Number(rows.at(-1)![6]),
  };
}

function compareWithTshark(file: string): void {
  const name = path.basename(file);
  const { reports, analyzer } = analyzeBytes(new Uint8Array(readFileSync(file)));
  const t = tsharkView(file);
  assert.equal(reports.length, 1, `${name}: one TCP connection (summary ${JSON.stringify(analyzer.stats)})`);
  const r = reports[0]!;
  const [s4, s6, sp] = t.a.split('|');
  const [d4, d6, dp] = t.b.split('|');
  assert.ok(r.orig_h === s4 || r.orig_h === s6, `${name}: originator ${r.orig_h} is tshark's ${s4}/${s6}`);
  assert.ok(r.resp_h === d4 || r.resp_h === d6, `${name}: responder ${r.resp_h} is tshark's ${d4}/${d6}`);
  assert.equal(String(r.orig_p), sp, name);
  assert.equal(String(r.resp_p), dp, name);
  assert.equal(r.orig_pkts + r.resp_pkts, t.packets, `${name}: TCP packets`);
  assert.equal(r.completeness, t.completeness, `${name}: completeness`);
  assert.equal(analyzer.stats.malformed, 0, name);
  assert.equal(analyzer.stats.unsupportedLink, 0, name);
}

test('tunnels and link types built by scapy: the inner TCP connection, as tshark reads each file', { skip: noTshark || noScapy }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'synack-encap-'));
  try {
    writeFileSync(path.join(dir, 'gen.py'), GENERATOR);
    const g = spawnSync(PYTHON, [path.join(dir, 'gen.py'), dir], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(g.status, 0, g.stderr);
    const files = readdirSync(dir).filter((f) => f.endsWith('.pcap')).sort();
    assert.deepEqual(files, [
      '4in6', '6in4', '6in6', 'arcnet-linux', 'ayiya', 'chdlc', 'erspan2', 'erspan3', 'ether-llc-snap', 'fddi', 'geneve',
      'gre-ip', 'gre-key-seq-ipv6', 'gretap', 'gtp-u', 'ipip', 'ipoib', 'ipv4-fragments', 'juniper-ether', 'juniper-ether-no-l2', 'pbb', 'ppp', 'ppp-hdlc', 'pppoe-ether', 'vntag', 'vxlan',
      'wifi', 'wifi-avs', 'wifi-prism', 'wifi-radiotap-qos',
    ].map((n) => `${n}.pcap`).sort());
    for (const f of files) {
      assert.ok(statSync(path.join(dir, f)).size < 20_000);
      compareWithTshark(path.join(dir, f));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs `cmd` (argv), failing the test with its stderr when it fails. */
function sh(cmd: string[], opts: { ok?: boolean } = {}): string {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: 20_000 });
  if (opts.ok !== false) assert.equal(r.status, 0, `${cmd.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Two namespaces joined by a veth pair (only addresses inside them), removed afterwards whatever happens. */
async function withNamespaces(tag: string, body: (a: string, b: string) => Promise<void>): Promise<void> {
  const a = `synack-${tag}-a-${process.pid}`;
  const b = `synack-${tag}-b-${process.pid}`;
  try {
    sh(['ip', 'netns', 'add', a]);
    sh(['ip', 'netns', 'add', b]);
    sh(['ip', 'link', 'add', 'veth-sa', 'netns', a, 'type', 'veth', 'peer', 'name', 'veth-sb', 'netns', b]);
    sh(['ip', '-n', a, 'addr', 'add', '10.201.0.1/24', 'dev', 'veth-sa']);
    sh(['ip', '-n', b, 'addr', 'add', '10.201.0.2/24', 'dev', 'veth-sb']);
    for (const [ns, dev] of [[a, 'veth-sa'], [b, 'veth-sb']] as const) {
      sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    await body(a, b);
  } finally {
    sh(['ip', 'netns', 'del', a], { ok: false });
    sh(['ip', 'netns', 'del', b], { ok: false });
  }
}

/** tcpdump in `ns` on `dev` into `file` while `traffic` runs; stopped by its own process id. */
async function capture(ns: string, dev: string, file: string, traffic: () => void): Promise<void> {
  const td = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', dev, '-U', '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  td.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  // tcpdump says "listening on" when its capture is armed.
  for (let i = 0; i < 50 && !err.includes('listening'); i++) await new Promise((r) => setTimeout(r, 100));
  try {
    traffic();
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    td.kill('SIGINT');
    await new Promise((r) => td.once('exit', r));
  }
  assert.ok(existsSync(file), `tcpdump wrote nothing: ${err}`);
}

/** One nc exchange from a to b:8080 (bounded by timeouts). */
function ncExchange(a: string, b: string, dst: string): void {
  const server = spawn('ip', ['netns', 'exec', b, 'timeout', '5', 'nc', '-l', '-p', '8080'], { stdio: ['ignore', 'ignore', 'ignore'] });
  spawnSync('sleep', ['0.3']);
  spawnSync('ip', ['netns', 'exec', a, 'timeout', '5', 'sh', '-c', `echo hello | nc -q1 ${dst} 8080`], { timeout: 8_000 });
  server.kill();
}

test('a kernel VXLAN tunnel between namespaces carrying nc: the inner connection, as tshark reads it', { skip: noTshark || noRoot }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'synack-vxlan-'));
  try {
    await withNamespaces('vx', async (a, b) => {
      for (const [ns, local, remote, dev, inner] of [[a, '10.201.0.1', '10.201.0.2', 'veth-sa', '10.202.0.1/24'], [b, '10.201.0.2', '10.201.0.1', 'veth-sb', '10.202.0.2/24']] as const) {
        sh(['ip', '-n', ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'local', local, 'remote', remote, 'dev', dev]);
        sh(['ip', '-n', ns, 'addr', 'add', inner, 'dev', 'vx0']);
        sh(['ip', '-n', ns, 'link', 'set', 'vx0', 'up']);
      }
      const file = path.join(dir, 'vxlan.pcap');
      await capture(a, 'veth-sa', file, () => ncExchange(a, b, '10.202.0.2'));
      const { reports, analyzer } = analyzeBytes(new Uint8Array(readFileSync(file)));
      assert.ok(analyzer.stats.tunneled > 0, 'VXLAN packets decapsulated');
      const conn = reports.find((r) => r.resp_p === 8080);
      assert.ok(conn, `the nc connection inside the tunnel (${reports.length} connections)`);
      assert.equal(conn.orig_h, '10.202.0.1');
      assert.equal(conn.close === 'three-way' || conn.close === 'four-way', true, conn.close);
      compareWithTshark(file);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('NFLOG: nc traffic logged by an nftables `log group` rule and captured with tcpdump -i nflog, as tshark reads it', { skip: noTshark || noRoot || (spawnSync('nft', ['--version']).status !== 0 && 'nft not installed') }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'synack-nflog-'));
  try {
    await withNamespaces('nf', async (a, b) => {
      // Every TCP packet to or from port 8080 leaving (output) and arriving (input) in namespace a, to NFLOG group 5.
      const rules = ['add table inet synack',
        'add chain inet synack out { type filter hook output priority 0 ; }',
        'add chain inet synack in { type filter hook input priority 0 ; }',
        'add rule inet synack out tcp dport 8080 log group 5',
        'add rule inet synack in tcp sport 8080 log group 5'].join('\n');
      const rulesFile = path.join(dir, 'rules.nft');
      writeFileSync(rulesFile, rules + '\n');
      sh(['ip', 'netns', 'exec', a, 'nft', '-f', rulesFile]);
      const file = path.join(dir, 'nflog.pcap');
      await capture(a, 'nflog:5', file, () => ncExchange(a, b, '10.201.0.2'));
      const { reports, analyzer } = analyzeBytes(new Uint8Array(readFileSync(file)));
      assert.equal(analyzer.stats.unsupportedLink, 0);
      const conn = reports.find((r) => r.resp_p === 8080);
      assert.ok(conn, `the nc connection (${reports.length} connections)`);
      compareWithTshark(file);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
