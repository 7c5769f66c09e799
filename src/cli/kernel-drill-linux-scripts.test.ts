// synack's own linux-personality packetdrill scripts (src/drill/linux-scripts/*.pkt) against the Linux kernel they
// were written from: each is played by a small interpreter (Python + scapy, below) in a fresh network namespace,
// the kernel listening on a veth device and scapy sending the script's inbound segments from the other end, so
// the scripts' expectations stay the kernel's, not synack's reading of it. Real packetdrill is not packaged for
// Debian; the interpreter covers what these scripts use: packets with mss/sackOK/nop/wscale options (outbound
// options `<...>` or SACK blocks), socket/setsockopt/bind/listen/accept/write/read, `%{ assert tcpi_state }%`
// (from `ss`), times `+t`, absolute `t` and ranges `a~b`; an outbound packet must match flags, relative
// sequence numbers, length and ack and arrive within 25 ms of its time (relative times count from when the
// previous event happened). Uses no TUN device, so it takes no real-peer lock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsUnavailableReason } from '../link/netns.js';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'drill', 'linux-scripts');
const SCRIPTS = readdirSync(DIR).filter((f) => f.endsWith('.pkt')).sort();

/** argv: the scripts. Prints one JSON object: file name -> { result, line, reason }. */
const PY_KERNEL_DRILL = String.raw`
import sys, re, json, time, socket, struct, subprocess, threading
from scapy.all import Ether, IP, TCP, Raw, AsyncSniffer, conf, get_if_hwaddr
conf.verb = 0

def sh(c): subprocess.run(c, shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
sh('ip link set lo up; ip link add Rk type veth peer name Rp; ip addr add 10.9.0.1/24 dev Rk; ip link set Rk up; ip link set Rp up')
rp_mac = get_if_hwaddr('Rp'); rk_mac = get_if_hwaddr('Rk')
sh(f'ip neigh replace 10.9.0.2 lladdr {rp_mac} dev Rk nud permanent')
L2 = conf.L2socket(iface='Rp')
got = []; lock = threading.Lock()
def keep(p):
    if TCP in p and p[IP].src == '10.9.0.1':
        with lock: got.append(p)
sn = AsyncSniffer(iface='Rp', prn=keep, store=False); sn.start(); time.sleep(0.5)

FLAGS = {'S': 'S', 'S.': 'SA', '.': 'A', 'P.': 'PA', 'R': 'R', 'R.': 'RA', 'F.': 'FA', 'FP.': 'FPA'}
STATES = {'ESTAB': 'TCP_ESTABLISHED', 'CLOSE-WAIT': 'TCP_CLOSE_WAIT', 'FIN-WAIT-1': 'TCP_FIN_WAIT1', 'FIN-WAIT-2': 'TCP_FIN_WAIT2', 'TIME-WAIT': 'TCP_TIME_WAIT', 'LAST-ACK': 'TCP_LAST_ACK', 'CLOSING': 'TCP_CLOSING', 'SYN-RECV': 'TCP_SYN_RECV'}
TOL = float(__import__('os').environ.get('KDRILL_TOL', '0.025'))
PKT = re.compile(r'^([<>])\s+(\S+)\s+(\d+):(\d+)\((\d+)\)(?:\s+ack\s+(\d+))?(?:\s+win\s+(\d+))?\s*(?:<(.*)>)?\s*$')

def run(script, sport, ISN=1000):
    base = 0.0; t0 = None; fds = {}; irs = None; seen = 0; lst = None
    def tcp_opts(s):
        out = []
        for o in [x.strip() for x in s.split(',')]:
            if o.startswith('mss'): out.append(('MSS', int(o.split()[1])))
            elif o == 'sackOK': out.append(('SAckOK', b''))
            elif o == 'nop': out.append(('NOP', None))
            elif o.startswith('wscale'): out.append(('WScale', int(o.split()[1])))
            else: raise Exception('option ' + o)
        return out
    for n, raw in enumerate(script.splitlines(), 1):
        line = raw.split('//')[0].strip()
        if not line: continue
        m = re.match(r'^(\+?)([\d.]+)(?:~([\d.]+))?\s+(.*)$', line)
        if not m: raise Exception(f'line {n}: {raw}')
        rel, a, b, rest = m.groups()
        if t0 is None: t0 = time.time(); prev = 0.0
        # Relative times count from when the previous event actually happened (an inbound packet sent late, a
        # packet the kernel sent late), so one late event does not shift every later one.
        at = (prev + float(a)) if rel else float(a)
        late = (prev + float(b)) if (b and rel) else (float(b) if b else at)
        wait = t0 + at - time.time()
        p = PKT.match(rest)
        if p and p.group(1) == '<':
            if wait > 0: time.sleep(wait)
            _, fl, s0, s1, ln, ack, win, opts = p.groups()
            flags = FLAGS[fl]
            ackv = ((irs + int(ack)) & 0xffffffff) if (ack and irs is not None) else 0
            t = TCP(sport=sport, dport=8080, flags=flags, seq=(ISN + int(s0)) & 0xffffffff, ack=ackv, window=int(win or 0), options=tcp_opts(opts) if opts else [])
            pk = Ether(src=rp_mac, dst=rk_mac) / IP(src='10.9.0.2', dst='10.9.0.1') / t
            if int(ln): pk = pk / Raw(b'x' * int(ln))
            L2.send(pk)
            prev = time.time() - t0
        elif p and p.group(1) == '>':
            _, fl, s0, s1, ln, ack, win, opts = p.groups()
            deadline = t0 + late + TOL + 0.05
            while True:
                with lock: mine = [q for q in got if q[TCP].dport == sport]
                if len(mine) > seen: break
                if time.time() > deadline: return {'result': 'fail', 'line': n, 'reason': f'no packet for: {rest}'}
                time.sleep(0.002)
            q = mine[seen]; seen += 1
            when = float(q.time) - t0
            prev = when
            if irs is None and 'S' in str(q[TCP].flags): irs = q[TCP].seq
            rs = (q[TCP].seq - irs) & 0xffffffff; ra = (q[TCP].ack - ISN) & 0xffffffff
            qf = str(q[TCP].flags)
            sack = [o for o in q[TCP].options if o[0] == 'SAck']
            live = f"{qf} {rs}:{rs + len(q[TCP].payload)}({len(q[TCP].payload)}) ack {ra}" + (f" sack {[(x - ISN) & 0xffffffff for x in sack[0][1]]}" if sack else '')
            want_sack = None
            if opts and opts != '...':
                sm = re.findall(r'sack ((?:\d+:\d+\s*)+)', opts)
                want_sack = [int(x) for blk in (sm[0].split() if sm else []) for x in blk.split(':')]
            ok = set(qf) == set(FLAGS[fl]) and rs == int(s0) and len(q[TCP].payload) == int(ln) and (ack is None or ra == int(ack))
            if want_sack is not None: ok = ok and [(x - ISN) & 0xffffffff for x in (sack[0][1] if sack else [])] == want_sack
            if not ok: return {'result': 'fail', 'line': n, 'reason': f'expected {rest}; kernel sent {live} at {when:.3f}'}
            if when < at - TOL or when > late + TOL: return {'result': 'fail', 'line': n, 'reason': f'timing: {live} at {when:.3f}, expected {at:.3f}~{late:.3f}'}
        else:
            if wait > 0: time.sleep(wait)
            prev = max(at, time.time() - t0)
            if rest.startswith('%{'):
                sm = re.search(r'tcpi_state == (\w+)', rest)
                time.sleep(0.02)
                out = subprocess.run(['ss', '-tanH', f'( sport = :8080 and dport = :{sport} )'], capture_output=True, text=True).stdout.split()
                st = STATES.get(out[0], out[0]) if out else 'TCP_CLOSE'
                if sm and st != sm.group(1): return {'result': 'fail', 'line': n, 'reason': f'tcpi_state is {st}, not {sm.group(1)}'}
                continue
            sc = re.match(r'^(\w+)\((.*)\)\s*=\s*(-?\d+)(?:\s+(\w+))?', rest)
            if not sc: raise Exception(f'line {n}: {rest}')
            name, args, ret, errno = sc.groups(); args = [x.strip() for x in args.split(',')]
            if name == 'socket': fds[int(ret)] = socket.socket(); continue
            if name == 'setsockopt':
                fd = fds[int(args[0])]; val = int(args[3].strip('[]'))
                lvl = socket.SOL_SOCKET if args[1] == 'SOL_SOCKET' else socket.IPPROTO_TCP
                fd.setsockopt(lvl, getattr(socket, args[2]), val); continue
            if name == 'bind': fds[int(args[0])].bind(('10.9.0.1', 8080)); continue
            if name == 'listen': lst = fds[int(args[0])]; lst.listen(int(args[1])); continue
            if name == 'accept':
                lst.settimeout(2); s, _ = lst.accept(); fds[int(ret)] = s; continue
            if name == 'write':
                k = fds[int(args[0])].send(b'y' * int(args[2]))
                if k != int(ret): return {'result': 'fail', 'line': n, 'reason': f'write returned {k}'}
                continue
            if name == 'read':
                fd = fds[int(args[0])]; fd.settimeout(1)
                try:
                    k = len(fd.recv(int(args[2])))
                except ConnectionResetError: k = -104
                want = int(ret) if errno is None else -104
                if k != want: return {'result': 'fail', 'line': n, 'reason': f'read returned {k}'}
                continue
            raise Exception(f'line {n}: unsupported {name}')
    time.sleep(0.1)
    for fd in fds.values():
        try: fd.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); fd.close()
        except OSError: pass
    return {'result': 'pass'}

res = {}
for i, f in enumerate(sys.argv[1:]):
    try: res[f.split('/')[-1]] = run(open(f).read(), 41000 + i)
    except Exception as e: res[f.split('/')[-1]] = {'result': 'error', 'reason': str(e)}
sn.stop()
print(json.dumps(res))
`;

interface KernelResult { result: 'pass' | 'fail' | 'error'; line?: number; reason?: string }

function runOnKernel(files: string[]): Record<string, KernelResult> {
  const r = spawnSync('unshare', ['--net', '--pid', '--fork', '--kill-child', '--mount-proc', '--', '/usr/bin/python3', '-c', PY_KERNEL_DRILL, ...files],
    { encoding: 'utf8', timeout: 180_000 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  assert.ok(last.startsWith('{'), `the interpreter failed (${r.status}): ${r.stderr}`);
  return JSON.parse(last) as Record<string, KernelResult>;
}

const scapyMissing = () => spawnSync('/usr/bin/python3', ['-c', 'import scapy.all']).status !== 0;
const why = netnsUnavailableReason() ?? (scapyMissing() ? 'python3-scapy is not installed for /usr/bin/python3 (apt-get install python3-scapy)' : false);

test('every script of src/drill/linux-scripts passes against the Linux kernel', { skip: why, timeout: 400_000 }, () => {
  const files = SCRIPTS.map((f) => path.join(DIR, f));
  const first = runOnKernel(files);
  // A loaded machine can delay one packet past the 25 ms tolerance: a script that failed gets one more run.
  const again = files.filter((f) => first[path.basename(f)]?.result !== 'pass');
  const second = again.length ? runOnKernel(again) : {};
  const failed = SCRIPTS.filter((f) => (second[f] ?? first[f])?.result !== 'pass')
    .map((f) => `${f}: ${JSON.stringify(second[f] ?? first[f])} (first run: ${JSON.stringify(first[f])})`);
  const kernel = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim();
  assert.deepEqual(failed, [], `Linux ${kernel}`);
  assert.equal(Object.keys(first).length, SCRIPTS.length);
});

test('the kernel interpreter fails a script whose expectation is not what Linux does', { skip: why, timeout: 400_000 }, () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'synack-kdrill-'));
  try {
    // A RST at rcv_wup answered only by the delayed ACK (synack's rfc9293 rule), and a RST at the SACK block's
    // right edge that leaves the connection ESTABLISHED: Linux challenges the first and resets on the second.
    const silent = readFileSync(path.join(DIR, 'rst-at-rcv-wup.pkt'), 'utf8')
      .replace('+.002 < R 1:1(0) win 0\n+0   > . 1:1(0) ack 101', '+.002 < R 1:1(0) win 0\n+.038 > . 1:1(0) ack 101');
    const noReset = readFileSync(path.join(DIR, 'rst-at-sack-right-edge.pkt'), 'utf8').replace('TCP_CLOSE }%', 'TCP_ESTABLISHED }%');
    assert.notEqual(silent, readFileSync(path.join(DIR, 'rst-at-rcv-wup.pkt'), 'utf8'));
    writeFileSync(path.join(tmp, 'silent.pkt'), silent);
    writeFileSync(path.join(tmp, 'no-reset.pkt'), noReset);
    const r = runOnKernel([path.join(tmp, 'silent.pkt'), path.join(tmp, 'no-reset.pkt')]);
    assert.equal(r['silent.pkt']?.result, 'fail', JSON.stringify(r));
    assert.equal(r['silent.pkt']?.line, 19, JSON.stringify(r));
    assert.deepEqual(r['no-reset.pkt'], { result: 'fail', line: 17, reason: 'tcpi_state is TCP_CLOSE, not TCP_ESTABLISHED' });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
