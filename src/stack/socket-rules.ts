/**
 * The rules both socket kinds follow, node:net's `Socket`/`Server` (socket.ts, server.ts) and the web-stream
 * `TcpSocket`/`TcpServerSocket` (stream-socket.ts), each decided in one place. Browser-clean: no Node built-ins.
 */
import type { Listener, StackConnection } from './stack.js';
import { formatAddress } from '../wire/address.js';

/**
 * The address a listener reports (Server#address(), TcpServerSocket's `opened`): the one it is bound to, or the
 * unspecified address of the stack's first address's family when it listens on every address (as node:net
 * reports '::' or '0.0.0.0'). An IPv6 one, and only an IPv6 one, has a ':'.
 */
export function listeningAddress(listener: Listener): string {
  return listener.addr ? formatAddress(listener.addr) : listener.stack.addresses[0]!.length === 16 ? '::' : '0.0.0.0';
}

/**
 * What keeps a Node process alive while a socket is open, as a Node socket does: `clock.hold?.() ?? null`, the
 * release Clock#hold gives (a browser's or virtual clock holds nothing); null when nothing is held.
 */
export type ProcessHold = (() => void) | null;

/** Let the process go (the socket closed): releases `hold` once; what the socket keeps instead (null). */
export function releaseHold(hold: ProcessHold): null {
  hold?.();
  return null;
}

/**
 * A writer blocked on a full send buffer may resume: once a third of the buffer is free (free space at least half
 * of what is queued), as Linux wakes it (sk_stream_write_space, sk_stream_min_wspace). Resumed on every ACK, it
 * would feed the engine a segment or two at a time: pieces that later segments straddle (copied), a callback each.
 */
export function writerMayResume(t: StackConnection['tcp']): boolean {
  return t.sendSpace >= t.sendQueued >> 1;
}

/**
 * A read may have opened the receive window enough for an update (the engine's read() says so: ackNow, or a
 * pending update, RFC 9293 §3.8.6.2.2): only then has the stack anything to send (service). Most reads open it by less.
 */
export function readMayOpenWindow(t: StackConnection['tcp']): boolean {
  return t.ackNow || t.windowUpdatePending;
}
