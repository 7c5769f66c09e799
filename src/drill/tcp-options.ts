/**
 * Helpers between the script's TCP option lists (§4.4) and src/wire's TcpOptions.
 */
import {
  OPT_EOL, OPT_EXPERIMENTAL, OPT_FASTOPEN, OPT_MSS, OPT_NOP, OPT_SACK, OPT_SACK_PERMITTED, OPT_TIMESTAMPS, OPT_WSCALE,
  type TcpOptions,
} from '../wire/tcp-types.js';
import type { TcpOptionSpec } from './ast.js';

/** Bytes an option takes on the wire (RFC 9293 §3.2, RFC 7323, RFC 2018); undefined if unknown. */
export function tcpOptionBytes(o: TcpOptionSpec): number | undefined {
  switch (o.kind) {
    case 'nop': case 'eol': return 1;
    case 'mss': return 4;
    case 'wscale': return 3;
    case 'sackOK': return 2;
    case 'sack': return 2 + 8 * o.blocks.length;
    case 'timestamp': return 10;
    case 'fastopen': return (o.exp ? 4 : 2) + o.cookie.length;
    case 'unsupported': return undefined;
  }
}

/**
 * The script's option list as src/wire TcpOptions, with `order` giving the kinds in script order
 * (EOL padding included), so an encoder reproduces the exact layout and a comparer can check it.
 * Throws if the list holds an unsupported option (the script should never reach a runner then).
 */
export function tcpOptionsToWire(list: readonly TcpOptionSpec[]): TcpOptions {
  const out: TcpOptions = { order: [] };
  for (const o of list) {
    switch (o.kind) {
      case 'nop': out.order!.push(OPT_NOP); break;
      case 'eol': out.order!.push(OPT_EOL); break;
      case 'mss': out.mss = o.value; out.order!.push(OPT_MSS); break;
      case 'wscale': out.wscale = o.shift; out.order!.push(OPT_WSCALE); break;
      case 'sackOK': out.sackPermitted = true; out.order!.push(OPT_SACK_PERMITTED); break;
      case 'sack': out.sack = o.blocks.flat(); out.order!.push(OPT_SACK); break;
      case 'timestamp': out.tsVal = o.val; out.tsEcr = o.ecr; out.order!.push(OPT_TIMESTAMPS); break;
      case 'fastopen': out.fastOpen = o.cookie; if (o.exp) out.fastOpenExp = true; out.order!.push(o.exp ? OPT_EXPERIMENTAL : OPT_FASTOPEN); break;
      case 'unsupported': throw new Error(`TCP option '${o.name}' is not supported by synack`);
    }
  }
  return out;
}
