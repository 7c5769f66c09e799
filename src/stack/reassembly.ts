/**
 * IP fragments for a stack (RFC 791 §3.2, RFC 8200 §4.5: src/wire/ip-reassembly.ts): reassembly of what arrives,
 * fragmentation of the datagrams it originates beyond TCP (echo replies) to the path MTU. Installed rather than
 * imported by stack.ts so that a bundle which never installs it leaves it out (issue 12: the browser bundle;
 * synack and kernels send TCP with DF, and a stack in a page rarely has a router between it and its peers).
 * The Node entry installs it for every stack, TunLink.attachStack for its stack (the kernel may fragment).
 */
import { IpReassembler, fragment } from '../wire/ip-reassembly.js';
import { reassemblyTimedOut } from './ip-output.js';
import { setDefaultReassembly, type Reassembly, type Stack } from './stack.js';

/** The reassembler that also fragments (Stack.reassembler). */
class HostFragments extends IpReassembler implements Reassembly {
  fragment(packet: Uint8Array, mtu: number, id: number): Uint8Array[] { return fragment(packet, mtu, id); }
}

function reassemblerFor(s: Stack): Reassembly {
  return new HostFragments({ ...s.reassemblyOptions, onTimeout: (f) => reassemblyTimedOut(s, f) });
}

/**
 * Installs IP fragment reassembly (StackOptions.reassembly), and fragmentation of the datagrams the host
 * originates beyond TCP, on `stack`, or, without one, on every stack made from now on. The Node entry (`synack`) installs it for every stack and `TunLink.attachStack` for its stack, so
 * in Node nothing needs calling; a browser bundle has it only if the page calls this. What was counted before
 * (fragments dropped while none was installed) is kept.
 */
export function installIpReassembly(stack?: Stack): void {
  if (stack === undefined) { setDefaultReassembly(reassemblerFor); return; }
  if (stack.reassembler instanceof IpReassembler) return;
  const counted = stack.reassembler.counters;
  stack.reassembler = reassemblerFor(stack);
  Object.assign(stack.reassembler.counters, counted);
}
