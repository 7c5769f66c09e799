/**
 * Typed parse/encode errors for everything in src/wire. Hostile bytes must never surface as a bare
 * TypeError/RangeError: every decoder checks lengths first and throws a WireError naming the layer,
 * what is wrong, and the byte offset (relative to the start of the buffer the caller passed).
 */
export type WireLayer =
  | 'ipv4' | 'ipv6' | 'tcp' | 'tcp-option' | 'ethernet' | 'sll' | 'null' | 'pcap' | 'pcapng' | 'address' | 'packet';

export class WireError extends Error {
  readonly layer: WireLayer;
  /** Byte offset at which the problem was found. */
  readonly offset: number;
  readonly code: string;
  constructor(layer: WireLayer, code: string, message: string, offset: number) {
    super(`${layer}: ${message} (at byte ${offset})`);
    this.name = 'WireError';
    this.layer = layer;
    this.code = code;
    this.offset = offset;
  }
}
