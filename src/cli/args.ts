/** Shared command-line parsing: commander with output routed to the command's io and no process.exit. */
import { CommanderError, InvalidArgumentError, type Command } from 'commander';

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

/**
 * Parse `argv` (user arguments only). Returns null when the command should run, or the exit code to return
 * at once: 0 after --help/--version, 2 for a usage error (commander has already printed it to io.stderr).
 */
export function parseCommand(program: Command, argv: string[], io: CliIo): number | null {
  program.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  try {
    program.parse(argv, { from: 'user' });
    return null;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
}

/** An option parser for an integer in min..max, with a message naming the option. */
export function intArg(what: string, min: number, max: number): (v: string) => number {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`${what} must be an integer in ${min}..${max}`);
    return n;
  };
}

/** A repeatable option's values, in order. */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
