/**
 * `synack connect --tun NAME --addr A --peer P/len HOST PORT`: an nc-like client whose TCP is synack, on a TUN
 * device whose other end is the kernel. stdin goes to the connection, the connection to stdout; when stdin
 * ends we send FIN (shutdown(SHUT_WR), RFC 9293 §3.10.4) and keep reading until the peer's FIN, like `nc -N`.
 *
 * Exit codes: 0 both directions finished; 1 the connection failed (refused, reset, timed out) or the device
 * could not be set up; 2 usage errors.
 */
import { Command, Option } from 'commander';
import { Socket } from '../stack/socket.js';
import { LifecycleLogger, formatRecord, type LifecycleRecord } from './lifecycle-log.js';
import { openTunHost, isUserFacingError, describePairs, type CliIo } from './tun-host.js';
import { collect, intArg, parseCommand } from './args.js';


interface ConnectOpts {
  tun?: string;
  addr: string[];
  peer: string[];
  mtu: number;
  pcap?: string;
  offload?: boolean;
  localPort?: number;
  verbose?: boolean;
  logFormat: 'text' | 'json';
  timeout: number;
}

export async function connectCommand(argv: string[], io: CliIo): Promise<number> {
  const program = new Command('connect')
    .description('nc-like client over synack on a TUN device: stdin → connection → stdout, FIN on stdin EOF')
    .argument('<host>', 'address to connect to (usually the kernel\'s --peer address)')
    .argument('<port>', 'port', intArg('port', 1, 65535))
    .option('--tun <name>', 'TUN device name (default: the kernel picks tunN)')
    .option('--addr <ip>', "synack's address (repeatable; IPv4 or IPv6)", collect, [])
    .option('--peer <ip/prefix>', "the kernel's address on the device with the prefix (repeatable)", collect, [])
    .option('--mtu <n>', 'device MTU', intArg('--mtu', 68, 65535), 1500)
    .option('--local-port <port>', 'source port (default: an ephemeral port, RFC 6056)', intArg('--local-port', 1, 65535))
    .option('--pcap <file>', 'write every packet synack sends or receives to this pcapng file')
    .option('--offload', 'use the kernel\'s TSO/GSO and checksum offloads on the device (virtio-net header; the default)')
    .option('--no-offload', 'plain TUN device: every segment MTU-sized and checksummed in JS (captures then show the wire\'s segments)')
    .option('--timeout <ms>', 'give up connecting after this long', intArg('--timeout', 1, 3_600_000), 10_000)
    .option('-v, --verbose', 'log the connection\'s lifecycle to stderr when it ends')
    .addOption(new Option('--log-format <format>', 'lifecycle line format').choices(['text', 'json']).default('text'));
  const early = parseCommand(program, argv, io);
  if (early !== null) return early;
  const [hostArg, port] = program.processedArgs as [string, number];
  const o = program.opts<ConnectOpts>();
  if (o.addr.length === 0 || o.peer.length === 0) {
    io.stderr.write("synack connect: give --addr (synack's address) and --peer (the kernel's address/prefix), e.g. --addr 10.77.0.2 --peer 10.77.0.1/24\n");
    return 2;
  }
  const host = hostArg.replace(/^\[(.*)\]$/, '$1');
  let h;
  try {
    h = await openTunHost({ tun: o.tun, addr: o.addr, peer: o.peer, mtu: o.mtu, pcap: o.pcap, name: 'synack connect', offload: o.offload !== false });
  } catch (e) {
    if (isUserFacingError(e)) {
      io.stderr.write(`synack connect: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const { stack } = h;
  if (o.verbose) io.stderr.write(`synack connect: ${h.link.name} up, mtu ${h.mtu}${h.link.offload ? ', offload' : ''}, ${describePairs(h.pairs)}\n`);
  const records: LifecycleRecord[] = [];
  const logger = new LifecycleLogger(stack, (r) => {
    records.push(r);
    if (o.verbose) io.stderr.write((o.logFormat === 'json' ? JSON.stringify(r) : formatRecord(r)) + '\n');
  });
  let failed: Error | null = null;
  let bytesIn = 0;
  let bytesOut = 0;
  const code = await new Promise<number>((resolve) => {
    let sock: Socket;
    try {
      sock = Socket.connect(stack, { host, port, localPort: o.localPort, allowHalfOpen: true });
    } catch (e) {
      failed = e as Error;
      return resolve(1);
    }
    const timer = setTimeout(() => sock.destroy(Object.assign(new Error(`connect ETIMEDOUT ${host}:${port} (no answer within ${o.timeout} ms)`), { code: 'ETIMEDOUT' })), o.timeout);
    sock.once('connect', () => {
      clearTimeout(timer);
      // stdin → connection; pipe() calls end() at stdin's EOF: our FIN, the read side stays open.
      io.stdin.pipe(sock);
    });
    sock.on('data', (d: Buffer) => {
      bytesIn += d.length;
      if (!io.stdout.write(d)) {
        sock.pause();
        io.stdout.once('drain', () => sock.resume());
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      failed = e;
    });
    sock.once('close', () => {
      bytesOut = sock.bytesWritten;
      clearTimeout(timer);
      io.stdin.unpipe(sock);
      resolve(failed ? 1 : 0);
    });
    // The peer's FIN: the read side is done; the socket closes once our own FIN is acknowledged too.
    sock.on('end', () => undefined);
  });
  // The stream is done once both directions ended, which can be before our FIN is acknowledged (LAST-ACK,
  // CLOSING): keep the device until the stack has finished the close (bounded: retransmissions give up later).
  const until = Date.now() + 5000;
  while (stack.connectionCount > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  // TIME-WAIT is ours to hold when we closed first; the process ends now, so it ends with it (as `nc` would:
  // the kernel keeps it, synack has no daemon). The last ACK has been written already.
  logger.flush();
  try {
    h.close();
  } catch (e) {
    io.stderr.write(`synack connect: ${(e as Error).message}\n`);
  }
  if (failed) io.stderr.write(`synack connect: ${(failed as Error).message}\n`);
  if (o.verbose) io.stderr.write(`synack connect: ${bytesOut} bytes sent, ${bytesIn} bytes received\n`);
  // stdin may still be open (the peer closed the connection first): stop reading it so the process can exit.
  (io.stdin as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  return code;
}
