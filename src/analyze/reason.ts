/**
 * One line per connection for a person debugging it: what happened, in the words of the packets, e.g.
 * "client FIN retransmitted 5 times, never acknowledged; RST from the client after 85 s". Built from the
 * same per-side facts as the labels (connection.ts), so it never claims more than they do. ASCII only: the
 * line also goes into Zeek's TSV, which escapes other bytes.
 *
 * The originator is called the client and the responder the server (Zeek's roles: the originator sent the
 * first SYN, or Zeek's heuristics chose it; `direction_inferred` says which).
 */
import type { Connection, Side } from './connection.js';

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

/** The connection's reason line (see the module comment). */
export function reasonFor(c: Connection): string {
  const o = c.origSide;
  const r = (1 - o) as 0 | 1;
  const so = c.s[o];
  const sr = c.s[r];
  const who = (side: number): string => ROLE[side === o ? 0 : 1];
  const parts: string[] = [];
  const hs = c.handshake();
  const close = c.close();
  const sinceStart = (t: number): string => humanSeconds(t - c.firstTime);

  switch (hs) {
    case 'unanswered':
      parts.push(so.pureSyns > 1
        ? `SYN sent ${so.pureSyns} times over ${humanSeconds(c.lastTime - c.firstTime)}, no answer captured`
        : 'SYN sent, no answer captured');
      break;
    case 'refused':
      parts.push(`refused: the server answered the SYN with RST${so.pureSyns > 1 ? ` (SYN sent ${so.pureSyns} times)` : ''}`);
      break;
    case 'no-final-ack':
      parts.push(`SYN-ACK${sr.synAcks > 1 ? ` sent ${sr.synAcks} times` : ''} never acknowledged by the client (handshake incomplete: spoofed or vanished client, or the capture missed the ACK)`);
      break;
    case 'no-syn-ack':
      parts.push('no SYN-ACK captured, yet the client went on (one-sided capture?)');
      break;
    case 'midstream':
      parts.push('capture starts mid-connection (no SYN from the client)');
      break;
    case 'retried-syn':
      parts.push(`SYN sent ${so.pureSyns} times before the SYN-ACK`);
      break;
    case 'simultaneous-open':
      parts.push('simultaneous open (both sides sent SYN)');
      break;
    case 'normal':
      break;
  }
  if (so.synData > 0) parts.push(`client SYN carried ${so.synData} bytes of data`);

  const finText = (side: 0 | 1): string => {
    const s: Side = c.s[side];
    let t = `${who(side)} FIN`;
    if (s.finRetx > 0) t += ` retransmitted ${times(s.finRetx)}`;
    t += s.finAcked ? '' : ', never acknowledged';
    return t;
  };
  const first = c.firstFinSide;
  const second = c.secondFinSide;
  switch (close) {
    case 'four-way': case 'three-way': case 'simultaneous':
      parts.push(`${close} close${close === 'simultaneous' ? '' : `, ${who(first)} first`}`);
      if (c.s[0].finRetx + c.s[1].finRetx > 0) {
        for (const side of [first, second] as Array<0 | 1>) if (c.s[side].finRetx > 0) parts.push(`${who(side)} FIN retransmitted ${times(c.s[side].finRetx)}`);
      }
      if (c.rstAfterClose) parts.push('RST after the close');
      break;
    case 'four-way-no-last-ack': case 'three-way-no-last-ack': case 'simultaneous-no-last-ack': {
      const missing = [first, second].filter((side) => side >= 0 && !c.s[side]!.finAcked) as Array<0 | 1>;
      parts.push(`FINs both ways, ${missing.map(finText).join(' and ')}`);
      if (c.rstAfterClose) parts.push('then a RST instead of the last ACK');
      break;
    }
    case 'half-closed':
      parts.push(`${finText(first as 0 | 1)}; the ${who(1 - first)} never sent FIN`);
      break;
    case 'rst-by-originator': case 'rst-by-responder': {
      for (const side of [first, second]) if (side >= 0) parts.push(finText(side as 0 | 1));
      parts.push(`RST from the ${who(c.firstRstSide)} after ${sinceStart(c.firstRstTime)}`);
      break;
    }
    case 'open':
      if (hs !== 'no-final-ack') parts.push(`still open when the capture ends (${humanSeconds(c.lastTime - c.firstTime)} seen)`);
      break;
    case 'refused': case 'unanswered':
      break;
  }
  if (c.retransmissions > 0) {
    const known = so.finRetx + sr.finRetx + (hs === 'unanswered' || hs === 'retried-syn' ? so.pureSyns - 1 : 0)
      + (hs === 'no-final-ack' ? sr.synAcks - 1 : 0);
    if (c.retransmissions > known) parts.push(`${c.retransmissions} retransmissions`);
  }
  if (c.zeroWindows > 0) parts.push(`zero window advertised ${times(c.zeroWindows)}`);
  if (c.badChecksums > 0) parts.push(`${c.badChecksums} bad TCP checksums`);
  if (parts.length === 0) return 'complete';
  return parts.join('; ');
}
