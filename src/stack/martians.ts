/**
 * Martian source addresses: sources no packet arriving from a link can legitimately have (RFC 1812 §5.3.7,
 * RFC 1122 §3.2.1.3, RFC 4291 §2.5.2/§2.5.3/§2.7), as Linux's ip_route_input_slow and ip6_rcv_core reject
 * them. A host drops such packets, counts them, and never answers them (an answer would go to a forged,
 * unreachable or shared address: a LAND attack, or a reflection towards a multicast group).
 */

export type MartianReason = 'own-address' | 'loopback' | 'multicast' | 'broadcast' | 'zero' | 'v4-mapped';

function isLoopback(a: Uint8Array): boolean {
  if (a.length === 4) return a[0] === 127;
  for (let i = 0; i < 15; i++) if (a[i] !== 0) return false;
  return a[15] === 1;
}

function allZero(a: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (a[i] !== 0) return false;
  return true;
}

/**
 * Why `src` is martian for a packet to `dst` (one of our addresses), or null when it is an ordinary source.
 * `isOurs` says whether an address is one of this host's.
 */
export function martianSource(src: Uint8Array, dst: Uint8Array, isOurs: (a: Uint8Array) => boolean): MartianReason | null {
  if (src.length === 4) {
    const a = src[0]!;
    if (a >= 224 && a < 240) return 'multicast'; // 224/4 (ipv4_is_multicast)
    if (a === 255 && src[1] === 255 && src[2] === 255 && src[3] === 255) return 'broadcast'; // limited broadcast
    if (a === 0) return 'zero'; // 0/8, "this network" (RFC 1122 §3.2.1.3(a),(b): only as a source while booting)
    // 127/8 from a link is forged (RFC 1122 §3.2.1.3(g)), unless this host itself lives on loopback addresses.
    if (a === 127 && !isLoopback(dst)) return 'loopback';
  } else {
    if (src[0] === 0xff) return 'multicast'; // RFC 4291 §2.7: never a source
    if (isLoopback(src) && !isLoopback(dst)) return 'loopback'; // RFC 4291 §2.5.3
    if (allZero(src, 0, 16)) return 'zero'; // the unspecified address, only for duplicate address detection
    if (allZero(src, 0, 10) && src[10] === 0xff && src[11] === 0xff) return 'v4-mapped'; // ::ffff:0:0/96, as Linux
  }
  // Our own address as the source of a packet from the link: a LAND attack (Linux: fib_validate_source finds
  // a local route for the source and calls it martian).
  if (isOurs(src)) return 'own-address';
  return null;
}
