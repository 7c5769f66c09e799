/** The `synack` command: subcommands dispatch to their modules (loaded lazily so each starts fast). */
export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

type CommandFn = (argv: string[], io: CommandIo) => Promise<number>;

const COMMANDS: Record<string, { module: string; fn: string; summary: string }> = {
  demo: { module: './demo.js', fn: 'demoCommand', summary: 'run the seed scenarios on two in-memory stacks and draw ladder diagrams' },
  analyze: { module: './analyze.js', fn: 'analyzeCommand', summary: "reconstruct every TCP connection's lifecycle from pcap/pcapng captures" },
  drill: { module: './drill.js', fn: 'drillCommand', summary: 'run packetdrill scripts against synack in virtual time' },
  ui: { module: './ui.js', fn: 'uiCommand', summary: 'serve the web page (scenario lab, ladders, state machine, capture view)' },
  serve: { module: './serve.js', fn: 'serveCommand', summary: 'run synack on a Linux TUN device with HTTP, echo and discard services' },
  connect: { module: './connect.js', fn: 'connectCommand', summary: 'nc-like client over synack on a TUN device' },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(9)}  ${c.summary}`);
  return `usage: synack <command> [options]\n\ncommands:\n${lines.join('\n')}\n  help       this text\n  --version  the version\n\nRun 'synack <command> --help' for a command's options.\n`;
}

export async function main(argv: string[], io: CommandIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    io.stdout.write(usage());
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
    io.stdout.write(`synack ${await version()}\n`);
    return 0;
  }
  const c = COMMANDS[cmd];
  if (!c) {
    io.stderr.write(`synack: unknown command '${cmd}'\n\n${usage()}`);
    return 2;
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(c.module)) as Record<string, unknown>;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(c.module.slice(2, -3))) {
      io.stderr.write(`synack: the '${cmd}' command is not available in this build\n`);
      return 2;
    }
    throw e;
  }
  return (mod[c.fn] as CommandFn)(rest, io);
}

/** The package's version, from the package.json two levels up (source and compiled dist/src/cli alike). */
async function version(): Promise<string> {
  const { readFileSync } = await import('node:fs');
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'synack' && pkg.version) return pkg.version;
    } catch { /* try the next */ }
  }
  return 'unknown';
}
