/**
 * The typed TCP segment every layer of synack exchanges (RFC 9293 §3.1).
 * Kept monomorphic (every field always present) so the engine's hot path stays fast.
 */

// Control bits, RFC 9293 §3.1 (plus ECE/CWR from RFC 3168, NS/AE from the reserved bits).
/** FIN control bit: no more data from the sender (RFC 9293 §3.1). */
export const FIN = 0x01;
/** SYN control bit: synchronize sequence numbers. */
export const SYN = 0x02;
/** RST control bit: reset the connection. */
export const RST = 0x04;
/** PSH control bit: push function. */
export const PSH = 0x08;
/** ACK control bit: the acknowledgment field is significant. */
export const ACK = 0x10;
/** URG control bit: the urgent pointer field is significant. */
export const URG = 0x20;
/** ECE control bit: ECN-Echo (RFC 3168 §6.1). */
export const ECE = 0x40;
/** CWR control bit: congestion window reduced (RFC 3168 §6.1). */
export const CWR = 0x80;
/** The bit RFC 3540 called NS (now AE, accurate ECN); it lives in the byte before the flags. */
export const AE = 0x100;

// Option kinds (RFC 9293 §3.2, RFC 7323, RFC 2018).
export const OPT_EOL = 0;
export const OPT_NOP = 1;
export const OPT_MSS = 2;
export const OPT_WSCALE = 3;
export const OPT_SACK_PERMITTED = 4;
export const OPT_SACK = 5;
export const OPT_TIMESTAMPS = 8;
/** TCP Fast Open cookie (RFC 7413 §4.1.1): kind 34; length 2 is a cookie request, 6..18 carries a cookie. */
export const OPT_FASTOPEN = 34;
/** Experimental option (RFC 6994) used by TFO before kind 34 was assigned, with the 16-bit ExID 0xF989. */
export const OPT_EXPERIMENTAL = 254;
export const TFO_EXP_MAGIC = 0xf989;

/** A TCP option synack does not interpret, kept as it was on the wire. */
export interface UnknownOption {
  /** The option kind (first byte). */
  kind: number;
  /** The option's data bytes (without kind and length). */
  data: Uint8Array;
}

/**
 * Parsed TCP options. A field is present only when the option was on the wire.
 * `order` lists the kinds exactly as they appeared (NOP = 1 and EOL = 0 included), so an encoder can
 * reproduce a peer's layout and packetdrill can compare options in order.
 */
export interface TcpOptions {
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  /** SACK blocks flattened: [left0, right0, left1, right1, ...] (RFC 2018 §3). */
  sack?: number[];
  /** Timestamps (RFC 7323 §3): present iff tsVal is defined. */
  tsVal?: number;
  tsEcr?: number;
  /**
   * TCP Fast Open (RFC 7413): the cookie, empty for a cookie request. `fastOpenExp` marks the experimental
   * form (kind 254, ExID 0xF989) instead of kind 34.
   */
  fastOpen?: Uint8Array;
  fastOpenExp?: boolean;
  /** Options of other kinds, in wire order. */
  unknown?: UnknownOption[];
  /**
   * Every option's kind in wire order (NOP and EOL included), as decoded from bytes or as a sender asks for it.
   * Absent where the layout is the encoder's default (Linux's): the engine's own segments, and those that cross an
   * in-memory Network without being encoded (their bytes would be that layout).
   */
  order?: number[];
}

/**
 * A TCP segment (RFC 9293 §3.1) as every layer of synack exchanges it: header fields, parsed options and the
 * payload. Sequence numbers are uint32; compare them with seqLt/seqGt ..., never with < and >.
 */
export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  /** SEG.SEQ, uint32. */
  seq: number;
  /** SEG.ACK, uint32 (meaningful only with ACK set). */
  ack: number;
  /** Control bits: FIN|SYN|RST|PSH|ACK|URG|ECE|CWR|AE. */
  flags: number;
  /** The raw 16-bit window field as on the wire (unscaled). */
  window: number;
  /** The urgent pointer (meaningful only with URG set). */
  urgent: number;
  /**
   * The options, parsed. Never written once the segment is built: segments share options objects (the host decoder's
   * frozen common layouts, the engine's timestamps of one clock tick), so a changed option is a new object.
   */
  options: TcpOptions;
  /** Payload bytes. A view: whoever receives a segment owns its payload and must not expect it to stay stable if the producer reuses buffers (links in synack never do). */
  payload: Uint8Array;
}

const FLAG_NAMES: Array<[number, string]> = [
  [SYN, 'SYN'], [FIN, 'FIN'], [RST, 'RST'], [PSH, 'PSH'], [ACK, 'ACK'], [URG, 'URG'], [ECE, 'ECE'], [CWR, 'CWR'], [AE, 'AE'],
];

/** Human form as Wireshark prints it, e.g. "SYN, ACK" → here "SYN+ACK"; "<none>" for no flags. */
export function flagsToString(flags: number, sep = '+'): string {
  const parts: string[] = [];
  for (const [bit, name] of FLAG_NAMES) if (flags & bit) parts.push(name);
  return parts.length ? parts.join(sep) : '<none>';
}

/** A fresh segment with every field present (monomorphic shape). */
export function makeSegment(init: Partial<TcpSegment> & { srcPort: number; dstPort: number }): TcpSegment {
  return {
    srcPort: init.srcPort,
    dstPort: init.dstPort,
    seq: (init.seq ?? 0) >>> 0,
    ack: (init.ack ?? 0) >>> 0,
    flags: init.flags ?? 0,
    window: init.window ?? 0,
    urgent: init.urgent ?? 0,
    options: init.options ?? {},
    payload: init.payload ?? EMPTY,
  };
}

export const EMPTY: Uint8Array = new Uint8Array(0);

/** Sequence-number space length a segment occupies: data + SYN + FIN (RFC 9293 §3.4 SEG.LEN). */
export function segLen(seg: TcpSegment): number {
  return seg.payload.length + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0);
}

// Modular 32-bit sequence arithmetic (RFC 9293 §3.4; RFC 1982 serial numbers).
/** a < b in sequence space (RFC 9293 §3.4: modulo 2^32, valid for distances under 2^31). */
export function seqLt(a: number, b: number): boolean { return ((a - b) | 0) < 0; }
/** a ≤ b in sequence space (modulo 2^32). */
export function seqLe(a: number, b: number): boolean { return ((a - b) | 0) <= 0; }
/** a > b in sequence space (modulo 2^32). */
export function seqGt(a: number, b: number): boolean { return ((a - b) | 0) > 0; }
/** a ≥ b in sequence space (modulo 2^32). */
export function seqGe(a: number, b: number): boolean { return ((a - b) | 0) >= 0; }
/** a + n modulo 2^32 (a sequence number `n` octets further on). */
export function seqAdd(a: number, n: number): number { return (a + n) >>> 0; }
/** b - a as a signed 32-bit distance. */
export function seqDiff(b: number, a: number): number { return (b - a) | 0; }
