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
import { installSynCookies } from '../stack/syn-cookies.js';

export * from './core.js';
export {
  createNet, type SynackNet, type NetOptions, type UndiciConnectOptions, type UndiciConnectCallback, type ConnectOptions, type ConnectListener,
} from '../stack/node-net.js';
export { Socket, type SocketOptions, type SocketConnectOptions } from '../stack/socket.js';
export { Server, type ServerOptions, type ListenOptions } from '../stack/server.js';
export { socketError, type SocketError } from '../stack/socket-errors.js';

// In Node every stack has SYN cookies, their fast path and IP fragment reassembly, as before they were installable
// (a browser bundle leaves them out).
installSynCookies();
installSynFastPath();
installIpReassembly();
