/**
 * TCP Fast Open (RFC 7413) for one connection: the client's SYN carries a cookie request or its cookie and,
 * with a cookie, the first data (§4.2.1, §4.1.3); the server's SYN,ACK carries a cookie when the client asked
 * for one or presented an invalid one, and acknowledges the SYN's data when the cookie was valid (§4.2.2). The
 * cookies themselves (generation, validation, the client's cache) belong to the host: src/stack/fast-open.ts.
 */
import { EMPTY, seqAdd, seqGt, type TcpOptions, type TcpSegment } from '../wire/tcp-types.js';
import type { TcpConnection } from './connection.js';

/** Options and payload TFO adds to our SYN (client) or SYN,ACK (server); returns the SYN's payload. */
export function fastOpenSyn(c: TcpConnection, o: TcpOptions, withAck: boolean): Uint8Array {
  if (withAck) {
    if (c.tfoServerCookie !== null) { o.fastOpen = c.tfoServerCookie; if (c.tfoExp) o.fastOpenExp = true; }
    return EMPTY;
  }
  const cookie = c.tfoCookie;
  if (cookie === null) return EMPTY;
  o.fastOpen = cookie;
  if (c.tfoExp) o.fastOpenExp = true;
  // Data only on the first SYN and only with a cookie (§4.2.1); a retransmitted SYN goes without it, as
  // Linux's does, and the data follows the handshake.
  if (cookie.length === 0 || c.synRetransmits > 0 || c.snd.length === 0) {
    c.tfoSynData = 0;
    c.sndNxt = seqAdd(c.iss, 1);
    return EMPTY;
  }
  const len = Math.min(c.snd.length, c.sndMss > 536 ? c.sndMss : c.cfg.mss);
  c.tfoSynData = len;
  c.sndNxt = seqAdd(c.iss, 1 + len);
  return c.snd.slice(c.snd.front, len);
}

/**
 * The client's SYN,ACK (§4.2.1): remember the cookie it carries; if it did not acknowledge all our SYN's
 * data, send that data again right after the handshake (FreeBSD: snd_nxt = th_ack; Linux retransmits it).
 */
export function fastOpenSynAck(c: TcpConnection, seg: TcpSegment): void {
  const cookie = seg.options.fastOpen;
  if (cookie !== undefined && cookie.length > 0) c.tfoPeerCookie = cookie.slice();
  if (c.tfoSynData > 0 && seqGt(c.sndNxt, c.sndUna)) c.sndNxt = c.sndUna;
}
