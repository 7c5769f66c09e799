/**
 * Turns a matrix cell (cells.ts) into a packetdrill script: a setup that brings a socket into the cell's
 * state, the probe segment, the expected reply (or none), and checks of what follows:
 * - the state, with a `tcpi_state` assertion on the socket under test (active opens);
 * - silence: a sentinel segment whose answer is known for the expected next state is sent 0.5 s later. Any
 *   reply the cell did not expect would be the first outbound segment and fail the sentinel's line (on its
 *   numbers or on its time), so a cell with no reply fails if the stack answered.
 * Script numbers: the peer's ISN and ours are 0; the peer offers MSS 1460 only (no window scale, no
 * timestamps), so windows are unscaled and RCV.WND is as cells.receiveWindow says.
 */
import {
  STATE_VARS, hasAck, receiveWindow, segLen, seqOffset, type Cell, type MatrixPersonality, type MatrixState, type SegKind,
} from './cells.js';

const FLAGS: Record<SegKind, string> = {
  'SYN': 'S', 'SYN+ACK': 'S.', 'ACK': '.', 'data': 'P.', 'FIN': 'F.', 'RST': 'R', 'RST+ACK': 'R.',
  'SYN+FIN': 'SF', 'SYN+RST': 'SR', 'FIN-no-ACK': 'F', 'no-flags': '-',
};

const u32 = (n: number): number => ((n % 2 ** 32) + 2 ** 32) % 2 ** 32;
/** The peer's window and MAX.SND.WND (unscaled): 65535. */
const PEER_WIN = 65535;
const SENTINEL_ACK = 12345;

/** The active-open prefix up to ESTABLISHED. */
function activeEstablished(): string[] {
  return [
    '0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
    '+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0',
    '+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)',
    '+0 > S 0:0(0) <...>',
    `+0.1 < S. 0:0(0) ack 1 win ${PEER_WIN} <mss 1460>`,
    '+0 > . 1:1(0) ack 1 <...>',
  ];
}

/** Setup lines that leave socket 3 (or a listener's embryonic child) in `state`. */
function setup(p: MatrixPersonality, state: MatrixState): string[] {
  const w = `win ${PEER_WIN}`;
  switch (state) {
    case 'CLOSED':
      // A socket that never connected: the probe goes to a port nobody listens on.
      return ['0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3'];
    case 'LISTEN':
      return ['0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3', '+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0', '+0 bind(3, ..., ...) = 0', '+0 listen(3, 1) = 0'];
    case 'SYN-RECEIVED':
      return [...setup(p, 'LISTEN'), `+0.1 < S 0:0(0) ${w} <mss 1460>`, '+0 > S. 0:0(0) ack 1 <...>'];
    case 'SYN-SENT':
      return activeEstablished().slice(0, 4);
    case 'ESTABLISHED':
      return activeEstablished();
    case 'FIN-WAIT-1':
      return [...activeEstablished(), '+0.1 shutdown(3, SHUT_WR) = 0', '+0 > F. 1:1(0) ack 1 <...>'];
    case 'FIN-WAIT-2':
      return [...setup(p, 'FIN-WAIT-1'), `+0.05 < . 1:1(0) ack 2 ${w}`];
    case 'TIME-WAIT':
      return [...setup(p, 'FIN-WAIT-2'), `+0.05 < F. 1:1(0) ack 2 ${w}`, '+0~+0.05 > . 2:2(0) ack 2 <...>'];
    case 'CLOSE-WAIT':
      return [...activeEstablished(), `+0.1 < F. 1:1(0) ack 1 ${w}`, '+0~+0.05 > . 1:1(0) ack 2 <...>'];
    case 'LAST-ACK':
      return [...setup(p, 'CLOSE-WAIT'), '+0.05 shutdown(3, SHUT_WR) = 0', '+0 > F. 1:1(0) ack 2 <...>'];
    case 'CLOSING':
      // FreeBSD repeats its unacknowledged FIN on the ACK (tcp_output): F. at the FIN's sequence number.
      return [...setup(p, 'FIN-WAIT-1'), `+0.05 < F. 1:1(0) ack 1 ${w}`, `+0~+0.05 > ${p === 'freebsd' ? 'F.' : '.'} ${p === 'freebsd' ? '1:1' : '2:2'}(0) ack 2 <...>`];
  }
}

const TCPI: Record<MatrixState | 'CLOSED', string> = {
  'LISTEN': 'TCPI_LISTEN', 'SYN-SENT': 'TCPI_SYN_SENT', 'SYN-RECEIVED': 'TCPI_SYN_RECEIVED', 'ESTABLISHED': 'TCPI_ESTABLISHED',
  'FIN-WAIT-1': 'TCPI_FIN_WAIT_1', 'FIN-WAIT-2': 'TCPI_FIN_WAIT_2', 'CLOSE-WAIT': 'TCPI_CLOSE_WAIT', 'CLOSING': 'TCPI_CLOSING',
  'LAST-ACK': 'TCPI_LAST_ACK', 'TIME-WAIT': 'TCPI_TIME_WAIT', 'CLOSED': 'TCPI_CLOSED',
};

/** An ACK line from the connection with SND.NXT `snd`, RCV.NXT `rcv`; FreeBSD repeats a pending FIN. */
function ackLine(p: MatrixPersonality, snd: number, rcv: number, finPending: boolean, time = '+0'): string {
  if (p === 'freebsd' && finPending) return `${time} > F. ${snd - 1}:${snd - 1}(0) ack ${rcv} <...>`;
  return `${time} > . ${snd}:${snd}(0) ack ${rcv} <...>`;
}

const finPendingIn = (s: MatrixState | 'CLOSED'): boolean => s === 'FIN-WAIT-1' || s === 'CLOSING' || s === 'LAST-ACK';

/** The packetdrill script for a cell, in one family. */
export function cellScript(cell: Cell, family: 'ipv4' | 'ipv6'): string {
  const p = cell.personality;
  const wnd = receiveWindow(p, family);
  const lines: string[] = [
    `// ${cell.id} (${family}): expect ${cell.reply}, then ${cell.next}. ${cell.cite}`,
    `--ip_version=${family}`,
    '--tolerance_usecs=50000',
    // FreeBSD's default (tcp_input.c V_drop_synfin = 0): a SYN+FIN is processed as a SYN.
    ...(p === 'freebsd' ? ['0.000 `sysctl -w net.inet.tcp.drop_synfin=0`'] : []),
    ...setup(p, cell.state),
  ];
  const kind = cell.kind;
  const len = segLen(kind);
  const flags = FLAGS[kind];
  const payload = kind === 'data' ? 1 : 0;
  const passive = cell.state === 'LISTEN' || cell.state === 'SYN-RECEIVED';

  // Numbers before the probe, in script space.
  let rcvNxt: number, sndUna: number, sndNxt: number;
  if (cell.state === 'LISTEN' || cell.state === 'CLOSED') { rcvNxt = 0; sndUna = 0; sndNxt = 0; }
  else if (cell.state === 'SYN-SENT') { rcvNxt = 0; sndUna = 0; sndNxt = 1; }
  else ({ rcvNxt, sndUna, sndNxt } = STATE_VARS[cell.state]);

  // The probe.
  let seq: number, ack: number;
  const pos = cell.position;
  if (cell.state === 'LISTEN') { seq = 0; ack = 1; }
  else if (cell.state === 'CLOSED') { seq = 0; ack = 1000; }
  else if (cell.state === 'SYN-SENT') {
    seq = 0;
    ack = pos === 'ack-old' ? 0 : pos === 'ack-beyond' ? 2 : 1;
  } else if (pos.startsWith('ack-')) {
    seq = rcvNxt;
    ack = pos === 'ack-old' ? u32(sndUna - PEER_WIN - 1) : pos === 'ack-duplicate' ? sndUna : pos === 'ack-new' ? sndNxt : sndNxt + 1;
  } else {
    seq = u32(rcvNxt + seqOffset(pos, wnd, len));
    ack = sndNxt;
  }
  const carriesAck = hasAck(kind);
  const end = u32(seq + len);
  const synOpts = kind.startsWith('SYN') && !kind.includes('RST') ? ' <mss 1460>' : '';
  lines.push(`+0.01 < ${flags} ${seq}:${u32(seq + payload)}(${payload})${carriesAck ? ` ack ${ack}` : ''} win ${PEER_WIN}${synOpts}`);

  // Numbers after the probe.
  const next = cell.next;
  let rcvAfter = rcvNxt, sndAfter = sndNxt;
  if (cell.state === 'SYN-SENT' && (next === 'ESTABLISHED' || next === 'SYN-RECEIVED')) rcvAfter = 1;
  if ((kind === 'data' || kind === 'FIN') && pos === 'left-edge' && !STATE_VARS[cell.state as 'ESTABLISHED']?.peerFin && next !== 'CLOSED') rcvAfter = rcvNxt + 1;
  if (cell.state === 'SYN-SENT' && next === 'SYN-RECEIVED') sndAfter = 1;

  switch (cell.reply) {
    case 'none': break;
    case 'ack': lines.push(ackLine(p, sndAfter, rcvAfter, finPendingIn(next), '+0~+0.05')); break;
    case 'challenge': lines.push(`+0 > . ${sndNxt}:${sndNxt}(0) ack ${rcvNxt} <...>`); break;
    case 'rst': lines.push(`+0 > R ${ack}:${ack}(0) <...>`); break;
    case 'rst-ack': lines.push(`+0 > R. 0:0(0) ack ${end} <...>`); break;
    case 'abort':
      lines.push(p === 'linux' || p === 'freebsd' ? `+0 > R. ${sndNxt}:${sndNxt}(0) ack ${rcvNxt} <...>` : `+0 > R ${sndNxt}:${sndNxt}(0) <...>`);
      break;
    case 'syn-ack': lines.push(cell.state === 'SYN-SENT' ? '+0 > S. 0:0(0) ack 1 <...>' : '+0 > S. 0:0(0) ack 1 <...>'); break;
  }

  // The state, then silence up to a sentinel with a known answer.
  if (!passive) lines.push(`+0.01 %{ assert tcpi_state == ${TCPI[next]} }%`);
  if (cell.state === 'LISTEN' || cell.state === 'CLOSED') {
    lines.push(`+0.1 < . 100:100(0) ack ${SENTINEL_ACK} win ${PEER_WIN}`, `+0 > R ${SENTINEL_ACK}:${SENTINEL_ACK}(0) <...>`);
  } else if (next === 'CLOSED') {
    lines.push(`+0.1 < . 100:100(0) ack ${SENTINEL_ACK} win ${PEER_WIN}`, `+0 > R ${SENTINEL_ACK}:${SENTINEL_ACK}(0) <...>`);
  } else if (next === 'SYN-SENT') {
    lines.push(`+0.1 < . 0:0(0) ack ${SENTINEL_ACK} win ${PEER_WIN}`, `+0 > R ${SENTINEL_ACK}:${SENTINEL_ACK}(0) <...>`);
  } else {
    // Far beyond the window: always answered with an ACK (RFC 9293 §3.10.7.4 first).
    const far = u32(rcvAfter + 0x40000000);
    lines.push(`+0.1 < P. ${far}:${u32(far + 1)}(1) ack ${sndAfter} win ${PEER_WIN}`, ackLine(p, sndAfter, rcvAfter, finPendingIn(next)));
  }
  return lines.join('\n') + '\n';
}
