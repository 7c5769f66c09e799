/**
 * synack: a userspace TCP/IP stack (IPv4 and IPv6) whose engine is a pure RFC 9293 state machine, with
 * node:net-compatible sockets, web-stream sockets, an in-memory faulty network, packet links, and pcapng
 * capture of every packet. This is the Node entry; browsers get the same minus the node:net layer.
 * Other entries: `synack/engine` (the sans-IO engine alone), `synack/wire` (codecs, pcap/pcapng),
 * `synack/analyze` (capture analysis), `synack/drill` (packetdrill runner), `synack/tun` (Linux TUN link).
 * @packageDocumentation
 */
import { installSynFastPath } from '../stack/syn-fast-path.js';
import { installIpReassembly } from '../stack/reassembly.js';

export * from './core.js';
export {
  createNet, type SynackNet, type NetOptions, type UndiciConnectOptions, type UndiciConnectCallback, type ConnectOptions, type ConnectListener,
} from '../stack/node-net.js';
export {
  Socket, Server, socketError,
  type SocketOptions, type SocketConnectOptions, type ServerOptions, type ListenOptions, type SocketError,
} from '../stack/socket.js';

// In Node every stack has the SYN-cookie fast path and IP fragment reassembly, as before they were installable (a
// browser bundle leaves them out).
installSynFastPath();
installIpReassembly();
