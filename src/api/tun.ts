/**
 * `synack/tun`: a synack stack on a Linux TUN device, so the kernel (and every real tool on the machine) talks
 * TCP to it. Node on Linux only; the native addon is built when synack is installed where it can be, and is
 * loaded on the first `TunLink.open()` — which throws a TunError saying why when it is missing.
 *
 * ```ts
 * const tun = TunLink.open('synack0');          // needs CAP_NET_ADMIN (run it in a network namespace)
 * tun.attachStack(stack);                        // then: ip addr add 10.0.0.1/24 dev synack0; ip link set synack0 up
 * ```
 * @packageDocumentation
 */
export {
  TunLink, TunError, tunUnavailableReason,
  type TunErrorCode, type TunOpenOptions, type TunStats, type TunOffloadStats, type TunWriteResult, type StackLike,
} from '../link/tun.js';
export type { VirtioNetHdr } from '../link/virtio-net.js';
