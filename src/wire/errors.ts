/**
 * Typed parse/encode errors for everything in src/wire. Hostile bytes must never surface as a bare
 * TypeError/RangeError: every decoder checks lengths first and throws a WireError naming the layer,
 * what is wrong, and the byte offset (relative to the start of the buffer the caller passed).
 */
/** The protocol layer (or file format) a WireError is about. */
export type WireLayer =
  | 'ipv4' | 'ipv6' | 'tcp' | 'tcp-option' | 'ethernet' | 'sll' | 'null' | 'pcap' | 'pcapng' | 'address' | 'packet';

/**
 * Malformed or unencodable bytes: thrown by every decoder and encoder in `synack/wire` instead of a bare
 * TypeError/RangeError, naming the layer, a stable `code` and the byte offset where the problem was found.
 */
export class WireError extends Error {
  /** The layer whose bytes are wrong. */
  readonly layer: WireLayer;
  /** Byte offset at which the problem was found. */
  readonly offset: number;
  /** What is wrong, machine-readable (e.g. 'truncated', 'bad-length', 'not-a-capture'). */
  readonly code: string;
  constructor(layer: WireLayer, code: string, message: string, offset: number) {
    super(`${layer}: ${message} (at byte ${offset})`);
    this.name = 'WireError';
    this.layer = layer;
    this.code = code;
    this.offset = offset;
  }
}
