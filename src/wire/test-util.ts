/** Helpers shared by the codec tests (no node: imports: src/wire stays browser-clean). */
import { WireError } from './errors.js';

/** Bytes from a hex string (whitespace ignored). */
export const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((x) => parseInt(x, 16)));

/** An assert.throws validator: the error is a WireError of this layer and code, at this byte offset. */
export function wireError(layer: string, code: string, offset: number) {
  return (e: unknown): boolean => {
    if (!(e instanceof WireError)) throw new Error(`expected WireError, got ${String(e)}`);
    const got = `${e.layer}/${e.code}@${e.offset}`;
    if (got !== `${layer}/${code}@${offset}`) throw new Error(`expected WireError ${layer}/${code}@${offset}, got ${got}: ${e.message}`);
    return true;
  };
}
