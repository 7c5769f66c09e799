/**
 * Invalid control-bit combinations. None of these can be produced by a conforming TCP; they appear in
 * scans (nmap -sN/-sF/-sX) and attacks. synack drops them before any state processing and counts them.
 */
import { ACK, FIN, PSH, RST, SYN, URG } from '../wire/tcp-types.js';
import type { InvalidFlagCombo } from './stats.js';

/** The invalid combination a flag set belongs to, or null if it is a legal combination. */
export function classifyInvalidFlags(flags: number): InvalidFlagCombo | null {
  const f = flags & (FIN | SYN | RST | PSH | ACK | URG);
  if ((f & (FIN | PSH | URG)) === (FIN | PSH | URG) && !(f & ACK)) return 'xmas';
  if ((f & (SYN | FIN)) === (SYN | FIN)) return 'syn-fin';
  if ((f & (SYN | RST)) === (SYN | RST)) return 'syn-rst';
  if ((f & (FIN | RST)) === (FIN | RST)) return 'fin-rst';
  if (f === 0) return 'null';
  if ((f & FIN) && !(f & ACK)) return 'fin-no-ack';
  return null;
}
