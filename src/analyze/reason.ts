/**
 * One line per connection for a person debugging it: what happened, in the words of the packets, e.g.
 * "client FIN retransmitted 5 times, never acknowledged; RST from the client after 85 s". Built from the
 * same per-side facts as the labels (connection.ts), so it never claims more than they do. ASCII only: the
 * line also goes into Zeek's TSV, which escapes other bytes.
 *
 * The originator is called the client and the responder the server (Zeek's roles: the originator sent the
 * first SYN, or Zeek's heuristics chose it; `direction_inferred` says which).
 */
import type { CloseKind, Connection, HandshakeKind, Side } from './connection.js';

/** A duration for people: ms below a second, then s with one decimal below 10 s, then whole s. */
export function humanSeconds(s: number): string {
  if (!(s >= 0)) return '0 ms';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 10) return `${(Math.round(s * 10) / 10).toFixed(1)} s`;
  return `${Math.round(s)} s`;
}

function times(n: number): string {
  return n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`;
}

const ROLE = ['client', 'server'] as const;

/** The reason line of a complete close with nothing else to say, by close kind and who closed first (0: client). */
const PLAIN_CLOSE: Record<string, [string, string]> = {
  'four-way': ['four-way close, client first', 'four-way close, server first'],
  'three-way': ['three-way close, client first', 'three-way close, server first'],
  simultaneous: ['simultaneous close', 'simultaneous close'],
};

/**
 * The connection's reason line (see the module comment). `hs` and `close` are the connection's labels when
 * the caller has them already (they are computed otherwise). The usual connection (a complete handshake and
 * close, nothing retransmitted) gets a constant string: this runs once per connection on the analyzing
 * thread, so the common case allocates nothing.
 */
export function reasonFor(c: Connection, hs: HandshakeKind = c.handshake(), close: CloseKind = c.close()): string {
  const o = c.origSide;
  const r = (1 - o) as 0 | 1;
  const so = c.s[o];
  const sr = c.s[r];
  if (hs === 'normal' && so.synData === 0 && c.retransmissions === 0 && c.zeroWindows === 0 && c.badChecksums === 0
    && !c.rstAfterClose) {
    const plain = PLAIN_CLOSE[close];
    if (plain !== undefined) return plain[c.firstFinSide === o ? 0 : 1];
  }
  let out = '';

  switch (hs) {
    case 'unanswered':
      out = cat(out, so.pureSyns > 1
        ? `SYN sent ${so.pureSyns} times over ${humanSeconds(c.lastTime - c.firstTime)}, no answer captured`
        : 'SYN sent, no answer captured');
      break;
    case 'refused':
      out = cat(out, so.pureSyns > 1 ? `refused: the server answered the SYN with RST (SYN sent ${so.pureSyns} times)` : REFUSED);
      break;
    case 'no-final-ack':
      out = cat(out, `SYN-ACK${sr.synAcks > 1 ? ` sent ${sr.synAcks} times` : ''} never acknowledged by the client (handshake incomplete: spoofed or vanished client, or the capture missed the ACK)`);
      break;
    case 'no-syn-ack':
      out = cat(out, sr.pkts > 0 ? 'the server answered the SYN without a SYN-ACK' : 'no SYN-ACK captured, yet the client went on (one-sided capture?)');
      break;
    case 'midstream':
      out = cat(out, 'capture starts mid-connection (no SYN from the client)');
      break;
    case 'retried-syn':
      out = cat(out, `SYN sent ${so.pureSyns} times before the SYN-ACK`);
      break;
    case 'simultaneous-open':
      out = cat(out, 'simultaneous open (both sides sent SYN)');
      break;
    case 'normal':
      break;
  }
  if (so.synData > 0) out = cat(out, `client SYN carried ${so.synData} bytes of data`);

  const first = c.firstFinSide;
  const second = c.secondFinSide;
  switch (close) {
    case 'four-way': case 'three-way': case 'simultaneous':
      out = cat(out, close === 'simultaneous' ? 'simultaneous close' : `${close} close, ${role(c, first)} first`);
      if (first >= 0 && c.s[first]!.finRetx > 0) out = cat(out, `${role(c, first)} FIN retransmitted ${times(c.s[first]!.finRetx)}`);
      if (second >= 0 && c.s[second]!.finRetx > 0) out = cat(out, `${role(c, second)} FIN retransmitted ${times(c.s[second]!.finRetx)}`);
      if (c.rstAfterClose) out = cat(out, 'RST after the close');
      break;
    case 'four-way-no-last-ack': case 'three-way-no-last-ack': case 'simultaneous-no-last-ack': {
      const a = !c.s[first]!.finAcked;
      const b = second >= 0 && !c.s[second]!.finAcked;
      out = cat(out, `FINs both ways, ${a ? finText(c, first) : ''}${a && b ? ' and ' : ''}${b ? finText(c, second) : ''}`);
      if (c.rstAfterClose) out = cat(out, 'then a RST instead of the last ACK');
      break;
    }
    case 'half-closed':
      out = cat(out, `${finText(c, first)}; the ${role(c, 1 - first)} never sent FIN`);
      break;
    case 'rst-by-originator': case 'rst-by-responder':
      if (first >= 0) out = cat(out, finText(c, first));
      if (second >= 0) out = cat(out, finText(c, second));
      out = cat(out, `RST from the ${role(c, c.firstRstSide)} after ${humanSeconds(c.firstRstTime - c.firstTime)}`);
      break;
    case 'open':
      if (hs !== 'no-final-ack') out = cat(out, `still open when the capture ends (${humanSeconds(c.lastTime - c.firstTime)} seen)`);
      break;
    case 'refused': case 'unanswered':
      break;
  }
  if (c.retransmissions > 0) {
    const known = so.finRetx + sr.finRetx + (hs === 'unanswered' || hs === 'retried-syn' ? so.pureSyns - 1 : 0)
      + (hs === 'no-final-ack' ? sr.synAcks - 1 : 0);
    if (c.retransmissions > known) out = cat(out, `${c.retransmissions} retransmissions`);
  }
  if (c.zeroWindows > 0) out = cat(out, `zero window advertised ${times(c.zeroWindows)}`);
  if (c.badChecksums > 0) out = cat(out, `${c.badChecksums} bad TCP checksums`);
  return out === '' ? 'complete' : out;
}

const REFUSED = 'refused: the server answered the SYN with RST';

/** `out` and `part` joined by "; " (no closure per call: this runs once per connection). */
function cat(out: string, part: string): string {
  return out === '' ? part : out + '; ' + part;
}

/** "client" for the originator's side, "server" for the responder's. */
function role(c: Connection, side: number): string {
  return ROLE[side === c.origSide ? 0 : 1];
}

/** What became of `side`'s FIN: "client FIN retransmitted twice, never acknowledged", "server FIN acknowledged". */
function finText(c: Connection, side: number): string {
  const s: Side = c.s[side as 0 | 1];
  return `${role(c, side)} FIN${s.finRetx > 0 ? ` retransmitted ${times(s.finRetx)}` : ''}${s.finAcked ? ' acknowledged' : ', never acknowledged'}`;
}

