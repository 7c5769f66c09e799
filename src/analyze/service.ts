/**
 * The application protocol of a connection from the first payload bytes each side sends (at most 8 are
 * looked at), as Zeek's `service` column reports it from its protocol analyzers: HTTP (a request method, or a
 * status line), TLS (a handshake record, RFC 8446 §5.1), SSH (the identification string, RFC 4253 §4.2) and
 * DNS over TCP (RFC 1035 §4.2.2: a length prefix and a one-question header). Ports are not trusted. Pure.
 */
/** The application protocol recognised from a connection's first payload bytes (Zeek's `service`), ports not trusted. */
export type Service = 'http' | 'tls' | 'ssh' | 'dns';

export const SERVICES: readonly Service[] = ['http', 'tls', 'ssh', 'dns'];

/** Zeek's names in conn.log's `service` column (Zeek calls TLS "ssl"). */
export const ZEEK_SERVICE_NAMES: Record<Service, string> = { http: 'http', tls: 'ssl', ssh: 'ssh', dns: 'dns' };

const METHODS = ['GET ', 'POST ', 'HEAD ', 'PUT ', 'DELETE ', 'OPTIONS ', 'CONNECT ', 'PATCH ', 'TRACE '];

function startsWith(b: Uint8Array, off: number, n: number, s: string): boolean {
  if (n < s.length) return false;
  for (let i = 0; i < s.length; i++) if (b[off + i] !== s.charCodeAt(i)) return false;
  return true;
}

/**
 * The service the first payload of one side shows: `b[off .. off+n)` are the captured first bytes (n ≤ 8 is
 * enough), `segLen` the segment's payload length, `fromOriginator` who sent it. Null when none matches.
 */
export function detectService(b: Uint8Array, off: number, n: number, segLen: number, fromOriginator: boolean): Service | null {
  if (n < 3) return null;
  const b0 = b[off]!;
  if (startsWith(b, off, n, 'SSH-')) return 'ssh';
  // TLS record: content type handshake (22), legacy version 3.x with x ≤ 4.
  if (b0 === 0x16 && b[off + 1] === 0x03 && b[off + 2]! <= 0x04) return 'tls';
  if (fromOriginator) {
    for (const m of METHODS) if (startsWith(b, off, n, m)) return 'http';
  } else if (startsWith(b, off, n, 'HTTP/1.') || startsWith(b, off, n, 'HTTP/2 ')) {
    return 'http';
  }
  if (n >= 8) {
    // DNS over TCP: 2-byte length, then the header: id(2) flags(2) QDCOUNT(2) ... A query from the originator
    // (QR 0) is whole in its segment; an answer (QR 1) may continue in later segments. One question, a
    // standard opcode (query, notify, update: 0, 4, 5), at least a header's worth of message.
    const len = (b0 << 8) | b[off + 1]!;
    const flags = b[off + 4]!;
    const qr = flags >> 7;
    const opcode = (flags >> 3) & 0xf;
    const qd = (b[off + 6]! << 8) | b[off + 7]!;
    if (len >= 12 + 5 && qd === 1 && (opcode === 0 || opcode === 4 || opcode === 5)
      && (fromOriginator ? qr === 0 && len + 2 <= segLen : qr === 1)) return 'dns';
  }
  return null;
}
