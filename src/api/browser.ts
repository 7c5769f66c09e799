/**
 * synack for browsers (the `browser` condition of `synack`): a userspace TCP/IP stack with web-stream sockets,
 * an in-memory network, packet links over MessagePort and WebSocket, and pcapng capture. No Node built-ins.
 * @packageDocumentation
 */
export * from './core.js';
