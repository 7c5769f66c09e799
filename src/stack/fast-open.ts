/**
 * TCP Fast Open cookies for a host (RFC 7413 §4.1.2, §4.1.3): the server's cookie generator and check, and the
 * client's cache of the cookies servers gave it. The engine's part (option, SYN data) is src/tcp/fast-open.ts.
 */
import { SipHash } from '../tcp/siphash.js';
import type { TcpConnection } from '../tcp/connection.js';
import type { TcpSegment } from '../wire/tcp-types.js';

/**
 * Server cookies, as Linux makes them (net/ipv4/tcp_fastopen.c __tcp_fastopen_cookie_gen_cipher): SipHash-2-4,
 * keyed with the 16-byte TFO key, of the client's address followed by the server's, as 8 little-endian bytes.
 * A MAC of the client's address under a secret, as §4.1.2 asks.
 */
export class FastOpenCookies {
  private readonly sip: SipHash;
  constructor(key: Uint8Array) { this.sip = new SipHash(key); }

  /** The cookie for a client address talking to a server address (both 4 or both 16 bytes). */
  cookieFor(client: Uint8Array, server: Uint8Array): Uint8Array {
    const buf = new Uint8Array(client.length + server.length);
    buf.set(client); buf.set(server, client.length);
    const lo = this.sip.hash(buf);
    const hi = this.sip.hi;
    const out = new Uint8Array(8);
    for (let i = 0; i < 4; i++) { out[i] = (lo >>> (8 * i)) & 0xff; out[4 + i] = (hi >>> (8 * i)) & 0xff; }
    return out;
  }

  /**
   * A SYN with a Fast Open option arrived at a listener with TFO on (§4.2.2), for the embryonic connection
   * `tcp`: a valid cookie lets its data in at once (returns true: the connection may be accepted before the
   * handshake completes); a request or an invalid cookie is answered with our cookie in the SYN,ACK.
   */
  onSyn(tcp: TcpConnection, seg: TcpSegment, client: Uint8Array, server: Uint8Array): boolean {
    const offered = seg.options.fastOpen;
    if (offered === undefined) return false;
    tcp.tfoExp = seg.options.fastOpenExp === true;
    const cookie = this.cookieFor(client, server);
    if (offered.length === cookie.length && offered.every((b, i) => b === cookie[i])) {
      tcp.tfoAcceptData = true;
      return true;
    }
    tcp.tfoServerCookie = cookie;
    return false;
  }
}

/** The client's cookie cache (§4.1.3), by server address. */
export class FastOpenCookieCache {
  private readonly m = new Map<string, Uint8Array>();
  private static key(server: Uint8Array): string { return Array.from(server).join('.'); }
  get(server: Uint8Array): Uint8Array | null { return this.m.get(FastOpenCookieCache.key(server)) ?? null; }
  set(server: Uint8Array, cookie: Uint8Array): void { this.m.set(FastOpenCookieCache.key(server), cookie.slice()); }
}
