/** Hand-built traces shared by the ladder renderers' tests (not used at run time). */
import type { Trace, TraceEntry, TcpStateName } from '../wire/trace.js';
import { makeSegment, SYN, ACK, FIN, PSH, RST } from '../wire/tcp-types.js';

const C_ISN = 1000;
const S_ISN = 5000;

function e(time: number, from: 'a' | 'b', flags: number, seq: number, ack: number, stateA: TcpStateName, stateB: TcpStateName, extra: Partial<TraceEntry> & { len?: number; win?: number } = {}): TraceEntry {
  const fromA = from === 'a';
  return {
    time, from, stateA, stateB,
    seg: makeSegment({ srcPort: fromA ? 40000 : 80, dstPort: fromA ? 80 : 40000, seq, ack, flags, window: extra.win ?? (fromA ? 64240 : 65535), payload: new Uint8Array(extra.len ?? 0) }),
    ...(extra.lost !== undefined ? { lost: extra.lost } : {}),
    ...(extra.note !== undefined ? { note: extra.note } : {}),
  };
}

/** Three-way handshake, 100 bytes of data, four-way close, TIME-WAIT expiry (RFC 9293 Figures 6 and 12). */
export function handshakeAndClose(): Trace {
  return {
    title: 'handshake + four-way close',
    a: { addr: '10.0.0.1', port: 40000, label: 'client', isn: C_ISN },
    b: { addr: '10.0.0.2', port: 80, label: 'server', isn: S_ISN },
    changes: [
      { time: 0, side: 'b', from: 'CLOSED', to: 'LISTEN', cause: 'listen()' },
      { time: 0, side: 'a', from: 'CLOSED', to: 'SYN-SENT', cause: 'connect()' },
      { time: 10, side: 'a', from: 'ESTABLISHED', to: 'FIN-WAIT-1', cause: 'close()' },
      { time: 20, side: 'b', from: 'CLOSE-WAIT', to: 'LAST-ACK', cause: 'close()' },
      { time: 60021, side: 'a', from: 'TIME-WAIT', to: 'CLOSED', cause: '2MSL timer' },
    ],
    entries: [
      e(0, 'a', SYN, C_ISN, 0, 'SYN-SENT', 'SYN-RECEIVED'),
      e(1, 'b', SYN | ACK, S_ISN, C_ISN + 1, 'ESTABLISHED', 'SYN-RECEIVED'),
      e(2, 'a', ACK, C_ISN + 1, S_ISN + 1, 'ESTABLISHED', 'ESTABLISHED'),
      e(3, 'a', PSH | ACK, C_ISN + 1, S_ISN + 1, 'ESTABLISHED', 'ESTABLISHED', { len: 100 }),
      e(4, 'b', ACK, S_ISN + 1, C_ISN + 101, 'ESTABLISHED', 'ESTABLISHED'),
      e(10, 'a', FIN | ACK, C_ISN + 101, S_ISN + 1, 'FIN-WAIT-1', 'CLOSE-WAIT'),
      e(11, 'b', ACK, S_ISN + 1, C_ISN + 102, 'FIN-WAIT-2', 'CLOSE-WAIT'),
      e(20, 'b', FIN | ACK, S_ISN + 1, C_ISN + 102, 'TIME-WAIT', 'LAST-ACK'),
      e(21, 'a', ACK, C_ISN + 102, S_ISN + 2, 'TIME-WAIT', 'CLOSED'),
    ],
  };
}

/** A SYN lost once, retransmitted, answered; then the server's RST lost and resent (b→a loss). */
export function lossyHandshake(): Trace {
  return {
    a: { addr: 'fd00::1', port: 40000, label: 'client' },
    b: { addr: 'fd00::2', port: 80, label: 'server' },
    entries: [
      e(0, 'a', SYN, 0xfffffff0, 0, 'SYN-SENT', 'LISTEN', { lost: true }),
      e(1000, 'a', SYN, 0xfffffff0, 0, 'SYN-SENT', 'SYN-RECEIVED', { note: 'retransmission' }),
      e(1001, 'b', SYN | ACK, 7, 0xfffffff1, 'ESTABLISHED', 'SYN-RECEIVED'),
      e(1002, 'a', ACK, 0xfffffff1, 8, 'ESTABLISHED', 'ESTABLISHED'),
      e(1003.5, 'b', RST, 8, 0, 'ESTABLISHED', 'CLOSED', { lost: true }),
    ],
  };
}
