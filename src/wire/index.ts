// Public surface of src/wire: pure, browser-clean codecs.
export * from './tcp-types.js';
export * from './errors.js';
export * from './trace.js';
export * from './address.js';
export * from './checksum.js';
export * from './ip.js';
export * from './tcp.js';
export * from './packet.js';
// Capture files (pcap/pcapng), written alongside.
export * from './capture.js';
export * from './linktypes.js';
export * from './pcapng-writer.js';
// linktypes.ts and pcapng-writer.ts both define these (same values); name the canonical source.
export { LINKTYPE_ETHERNET, LINKTYPE_RAW } from './linktypes.js';
