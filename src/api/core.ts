/**
 * What the Node entry and the browser entry share: stacks, the in-memory network, links, web-stream sockets and
 * the pcapng tap. Browser-clean (no Node built-ins on any path from here).
 */
import { Stack, type StackOptions } from '../stack/stack.js';
import { RealClock } from '../stack/clock.js';

export { Stack, StackConnection, Listener, StackCounters } from '../stack/stack.js';
export type {
  StackOptions, ListenOptions as StackListenOptions, ConnectionHandler, LinkSend, LinkCapabilities, ReceiveOptions,
  PacketObserver, TransitionObserver, UserTimer, StateTransition, LinkSendParts,
} from '../stack/stack.js';
export type { ReassemblerOptions } from '../wire/ip-reassembly.js';
export { RealClock, VirtualClock, type Clock } from '../stack/clock.js';
export {
  connectTcp, listenTcp, TcpSocket, TcpServerSocket, TcpSocketError,
  type ConnectTcpOptions, type ListenTcpOptions, type TcpSocketOpenInfo, type TcpServerSocketOpenInfo,
} from '../stack/stream-socket.js';
export { Network, yieldToEventLoop, type NetworkOptions } from '../link/network.js';
export { Wire, NO_IMPAIRMENTS, type Impairments, type WireOptions, type WireEndpoint, type WirePacketEvent, type PacketFate, type DirectionCounters } from '../link/wire.js';
export { driveInRealTime, type WireDriver } from '../link/real-time.js';
export {
  attachLink, messagePortLink, webSocketLink,
  type PacketLink, type MessagePortLike, type WebSocketLike, type MessageLinkStats,
} from '../link/packet-link.js';
export { installSynFastPath } from '../stack/syn-fast-path.js';
export { installSynCookies } from '../stack/syn-cookies.js';
export { installIpReassembly } from '../stack/reassembly.js';
export { PcapngTap, TapError, type TapOptions, type TapDirection, type WireTapOptions } from '../link/pcapng-tap.js';
export type { TcpConfig } from '../tcp/config.js';
export type { CongestionControl, CongestionFactory } from '../tcp/cc/congestion.js';
export type { HystartMode } from '../tcp/cc/cubic.js';
export type { TcpEvent, TcpCause, TcpErrorCode } from '../tcp/connection.js';
export type { TcpStateName } from '../wire/trace.js';

/**
 * A host stack on the real clock (unless `clock` is given): give it addresses, attach a link, then open and
 * accept connections.
 *
 * ```ts
 * const stack = createStack({ addresses: ['10.0.0.2', 'fd00::2'] });
 * attachLink(stack, messagePortLink(port));
 * ```
 */
export function createStack(opts: StackOptions): Stack {
  return new Stack({ ...opts, clock: opts.clock ?? new RealClock() });
}
