/** The `synack` command: subcommands dispatch to their modules (loaded lazily so each starts fast). */
const USAGE = `usage: synack <command> [options]

commands:
  demo       run the seed scenarios on two in-memory stacks and draw ladder diagrams
  analyze    reconstruct every TCP connection's lifecycle from pcap/pcapng captures
  help       this text

Run 'synack <command> --help' for a command's options.
`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
  switch (cmd) {
    case 'demo': return (await import('./demo.js')).demoCommand(rest, io);
    case 'analyze': return (await import('./analyze.js')).analyzeCommand(rest, io);
    case undefined: case 'help': case '--help': case '-h':
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`synack: unknown command '${cmd}'\n\n${USAGE}`);
      return 2;
  }
}
