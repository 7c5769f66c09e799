/**
 * `synack/wire`: bytes to typed packets and back — IPv4, IPv6, TCP and its options, Internet checksums,
 * pcap/pcapng reading and pcapng writing. Pure functions over Uint8Array; runs anywhere.
 * @packageDocumentation
 */
export * from '../wire/index.js';
