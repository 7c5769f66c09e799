/**
 * The link interface: how a stack's IP datagrams leave it and how received ones come in, and links that carry
 * them over a MessagePort (or Worker, or anything with postMessage) and a WebSocket, one datagram per message.
 * Browser-clean: a page can run its stack in a worker, or tunnel it to a stack in a Node process.
 */
import type { Stack } from '../stack/stack.js';

/**
 * A link carries raw IP datagrams (IPv4 or IPv6, no link-layer header) between a stack and the world.
 * Implement it to put a synack stack on anything that moves packets.
 */
export interface PacketLink {
  /** Send one datagram. The stack never touches `packet` again; the link may keep it or transfer it. */
  send(packet: Uint8Array): void;
  /**
   * Start delivering received datagrams to `receive`, in batches (a batch is processed before the stack
   * answers, so one ACK covers it). Called once, by attachLink.
   */
  start(receive: (packets: readonly Uint8Array[]) => void): void;
  /** Stop: no more sends or deliveries. */
  close(): void;
}

/** Joins `stack` to `link` in both directions. Returns a function that detaches and closes the link. */
export function attachLink(stack: Stack, link: PacketLink): () => void {
  let open = true;
  stack.attach((packet) => { if (open) link.send(packet); });
  link.start((packets) => {
    if (!open || packets.length === 0) return;
    if (packets.length === 1) stack.receive(packets[0]!);
    else stack.receiveBatch(packets);
  });
  return () => {
    if (!open) return;
    open = false;
    link.close();
  };
}

/** What messagePortLink needs: a MessagePort, a Worker, a DedicatedWorkerGlobalScope, a BroadcastChannel... */
export interface MessagePortLike {
  /** Sends one message; the datagram's buffer is in `transfer` (moved, not copied). */
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  /** The listener is called with a MessageEvent (`ev.data`); typed loosely so DOM and Node ports both fit. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any port's event type must fit
  addEventListener(type: 'message', listener: (ev: any) => void): void;
  /** Removes a listener added with addEventListener (when the link is closed). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  removeEventListener(type: 'message', listener: (ev: any) => void): void;
  /** MessagePort needs start() when listeners are added with addEventListener. */
  start?(): void;
  /** MessagePort's close(). The link never calls it: closing the link only stops listening; the port stays the caller's. */
  close?(): void;
}

/** Turns a message's data into a datagram; anything else is not a packet and is counted, not thrown. */
function asPacket(data: unknown): Uint8Array | null {
  if (data instanceof Uint8Array) return data;
  // ws (Node) hands a fragmented message as an array of Buffers.
  if (Array.isArray(data)) return data.every((d) => d instanceof Uint8Array) ? concat(data as Uint8Array[]) : null;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

/** Counters of a message link. */
export interface MessageLinkStats {
  sent: number;
  received: number;
  /** Messages that were not binary (ignored). */
  ignored: number;
}

/**
 * A link over a MessagePort (MessageChannel, a Worker, `self` in a worker): each datagram is one message,
 * its buffer transferred (zero copy) when `transfer` is true (default) and the packet owns its whole buffer.
 * Received messages in one task are delivered as one batch.
 */
export function messagePortLink(port: MessagePortLike, opts: { transfer?: boolean } = {}): PacketLink & { stats: MessageLinkStats } {
  const transfer = opts.transfer ?? true;
  return messageLink(port, (packet) => {
    const whole = packet.byteOffset === 0 && packet.byteLength === packet.buffer.byteLength && packet.buffer instanceof ArrayBuffer;
    if (transfer && whole) port.postMessage(packet, [packet.buffer as ArrayBuffer]);
    else port.postMessage(packet.slice(), []);
  }, { started: () => port.start?.() });
}

/** What webSocketLink needs: a browser WebSocket, or the `ws` package's WebSocket in Node. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  /** Sends one binary message: one datagram. */
  send(data: Uint8Array): void;
  /** The listener is called with a MessageEvent (`ev.data`); typed loosely so the browser's and ws's both fit. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any port's event type must fit
  addEventListener(type: 'message', listener: (ev: any) => void): void;
  /** Removes a listener added with addEventListener (when the link is closed). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  removeEventListener(type: 'message', listener: (ev: any) => void): void;
  /** Closes the socket (called by the link's close()). */
  close(): void;
}

/**
 * A link over a WebSocket: one binary message per datagram. Works with the browser's WebSocket and with the
 * `ws` package on the Node side, so a page's stack can talk to a stack (or a TUN device) in a Node process.
 * Datagrams sent before the socket is open are queued (bounded, like a NIC's queue: beyond 1 024 they drop,
 * and TCP retransmits).
 */
export function webSocketLink(ws: WebSocketLike): PacketLink & { stats: MessageLinkStats } {
  ws.binaryType = 'arraybuffer';
  const early: Uint8Array[] = [];
  const OPEN = 1;
  const flushEarly = () => { while (early.length && ws.readyState === OPEN) ws.send(early.shift()!); };
  (ws as unknown as { addEventListener(t: 'open', l: () => void): void }).addEventListener('open', flushEarly);
  return messageLink(ws, (packet) => {
    if (ws.readyState === OPEN) { flushEarly(); ws.send(packet); }
    else if (ws.readyState < OPEN && early.length < 1024) early.push(packet);
  }, { closed: () => { try { ws.close(); } catch { /* already closing */ } } });
}

/**
 * What both message links share: one datagram per message, counted; received ones batched per task; anything
 * that is not binary ignored and counted, never thrown.
 */
function messageLink(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- DOM, Node and ws event targets must all fit
  target: { addEventListener(type: 'message', l: (ev: any) => void): void; removeEventListener(type: 'message', l: (ev: any) => void): void },
  post: (packet: Uint8Array) => void,
  hooks: { started?: () => void; closed?: () => void } = {},
): PacketLink & { stats: MessageLinkStats } {
  const stats: MessageLinkStats = { sent: 0, received: 0, ignored: 0 };
  let onMessage: ((ev: { data: unknown }) => void) | null = null;
  let closed = false;
  return {
    stats,
    send(packet) {
      if (closed) return;
      stats.sent++;
      post(packet);
    },
    start(receive) {
      const batcher = batchInMicrotask(receive);
      onMessage = (ev) => {
        const p = asPacket(ev.data);
        if (p === null) { stats.ignored++; return; }
        stats.received++;
        batcher(p);
      };
      target.addEventListener('message', onMessage);
      hooks.started?.();
    },
    close() {
      if (closed) return;
      closed = true;
      if (onMessage) target.removeEventListener('message', onMessage);
      hooks.closed?.();
    },
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Gathers what arrives within one task and hands it over as a batch at the next microtask. */
function batchInMicrotask(receive: (packets: readonly Uint8Array[]) => void): (p: Uint8Array) => void {
  let batch: Uint8Array[] = [];
  let queued = false;
  const flush = () => {
    queued = false;
    const b = batch;
    batch = [];
    receive(b);
  };
  return (p) => {
    batch.push(p);
    if (!queued) { queued = true; queueMicrotask(flush); }
  };
}
