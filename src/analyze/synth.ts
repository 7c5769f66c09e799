/**
 * Synthetic captures for tests and the benchmark: a little-endian microsecond pcap writer (raw IP link
 * type) and a scripted two-endpoint conversation that keeps sequence and acknowledgment numbers consistent
 * unless told otherwise. Browser-clean (bytes only).
 */
import { encodeTcpPacket } from '../wire/packet.js';
import { parseAddress } from '../wire/address.js';
import { ACK, FIN, PSH, RST, SYN, URG, makeSegment, type TcpOptions } from '../wire/tcp-types.js';

export const LINKTYPE_RAW = 101;

/** Accumulates pcap records in growing chunks; take() returns the file so far. */
export class PcapBuilder {
  private chunks: Uint8Array[] = [];
  private cur: Uint8Array;
  private len = 0;
  packets = 0;
  constructor(linkType = LINKTYPE_RAW, chunkSize = 1 << 20) {
    this.cur = new Uint8Array(chunkSize);
    const h = new DataView(this.cur.buffer);
    h.setUint32(0, 0xa1b2c3d4, true);
    h.setUint16(4, 2, true);
    h.setUint16(6, 4, true);
    h.setUint32(16, 262144, true);
    h.setUint32(20, linkType, true);
    this.len = 24;
  }

  /** Adds a packet at `time` seconds (float). */
  add(time: number, data: Uint8Array, origLength = data.length): void {
    const need = 16 + data.length;
    if (this.len + need > this.cur.length) {
      this.chunks.push(this.cur.subarray(0, this.len));
      this.cur = new Uint8Array(Math.max(this.cur.length, need));
      this.len = 0;
    }
    const b = this.cur;
    const o = this.len;
    const sec = Math.floor(time);
    const usec = Math.min(999999, Math.round((time - sec) * 1e6));
    w32(b, o, sec);
    w32(b, o + 4, usec);
    w32(b, o + 8, data.length);
    w32(b, o + 12, origLength);
    b.set(data, o + 16);
    this.len += need;
    this.packets++;
  }

  /** Chunks of the file (for streaming writes). Resets the builder's buffer (the header is in the first). */
  drain(): Uint8Array[] {
    const out = [...this.chunks, this.cur.subarray(0, this.len)];
    this.chunks = [];
    this.cur = new Uint8Array(this.cur.length);
    this.len = 0;
    return out;
  }

  take(): Uint8Array {
    const parts = this.drain();
    const total = parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }
}

function w32(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

const FLAG_LETTERS: Record<string, number> = { S: SYN, A: ACK, F: FIN, R: RST, P: PSH, U: URG };

/** "SA" → SYN|ACK; "" or "0" → no flags. */
export function flagsOf(s: string): number {
  let f = 0;
  for (const ch of s) {
    if (ch === '0') continue;
    const bit = FLAG_LETTERS[ch];
    if (bit === undefined) throw new Error(`unknown flag letter ${ch}`);
    f |= bit;
  }
  return f;
}

export interface SendOpts {
  len?: number;
  seq?: number;
  ack?: number;
  window?: number;
  options?: TcpOptions;
  /** Seconds to advance the clock before this packet (default 0.001). */
  dt?: number;
  /** Do not advance the sender's next sequence number (a retransmission). */
  noAdvance?: boolean;
  /** Corrupt the TCP checksum. */
  badChecksum?: boolean;
}

interface Side { addr: Uint8Array; port: number; nxt: number; isn: number }

/**
 * A scripted conversation between client `c` and server `s`. Each send uses the sender's next sequence
 * number and acknowledges everything the peer has sent, unless opts say otherwise.
 */
export class Conversation {
  readonly c: Side;
  readonly s: Side;
  time: number;
  constructor(readonly pcap: PcapBuilder, client: string, server: string, opts: { time?: number; cIsn?: number; sIsn?: number } = {}) {
    const [ca, cp] = splitHostPort(client);
    const [sa, sp] = splitHostPort(server);
    const cIsn = opts.cIsn ?? 1000;
    const sIsn = opts.sIsn ?? 5000;
    this.c = { addr: ca, port: cp, nxt: cIsn, isn: cIsn };
    this.s = { addr: sa, port: sp, nxt: sIsn, isn: sIsn };
    this.time = opts.time ?? 1700000000;
  }

  send(from: 'c' | 's', flags: string | number, o: SendOpts = {}): this {
    const me = from === 'c' ? this.c : this.s;
    const peer = from === 'c' ? this.s : this.c;
    const f = typeof flags === 'number' ? flags : flagsOf(flags);
    const len = o.len ?? 0;
    const seq = o.seq ?? me.nxt;
    const seg = makeSegment({
      srcPort: me.port, dstPort: peer.port, seq, ack: f & ACK ? (o.ack ?? peer.nxt) : (o.ack ?? 0), flags: f,
      window: o.window ?? 65535, options: o.options ?? {}, payload: new Uint8Array(len).fill(0x61),
    });
    const pkt = encodeTcpPacket({ src: me.addr, dst: peer.addr }, seg);
    if (o.badChecksum) {
      const tcpAt = me.addr.length === 4 ? 20 : 40;
      pkt[tcpAt + 16] ^= 0xff;
    }
    this.time += o.dt ?? 0.001;
    this.pcap.add(this.time, pkt);
    if (!o.noAdvance && !(f & RST)) {
      const end = (seq + len + (f & SYN ? 1 : 0) + (f & FIN ? 1 : 0)) >>> 0;
      if (((end - me.nxt) | 0) > 0) me.nxt = end;
    }
    return this;
  }

  /** The usual three-way handshake. */
  handshake(): this {
    return this.send('c', 'S', { options: { mss: 1460, wscale: 7 } }).send('s', 'SA', { options: { mss: 1460, wscale: 7 } }).send('c', 'A');
  }
}

export function splitHostPort(s: string): [Uint8Array, number] {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(s);
  if (!m) throw new Error(`bad host:port ${s}`);
  return [parseAddress(m[1]!), Number(m[2])];
}
