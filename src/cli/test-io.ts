/** Test helper: runs a CLI command (`analyzeCommand`, `drillCommand`, …) with its output captured as text. */
import { PassThrough, Readable, type Writable } from 'node:stream';

export interface CliRun { code: number; stdout: string; stderr: string }

type CliCommand = (args: string[], io: { stdout: Writable; stderr: Writable; stdin: NodeJS.ReadableStream }) => Promise<number>;

/**
 * `stdout` may be given (a slow or closing stream, say); `stdin` defaults to empty; `stderr` can pretend to be a
 * terminal (for progress bars).
 */
export async function runCli(command: CliCommand, args: string[], opts: { stdout?: Writable; stdin?: NodeJS.ReadableStream; ttyStderr?: boolean } = {}): Promise<CliRun> {
  const stdout = opts.stdout ?? new PassThrough();
  const stderr = new PassThrough();
  if (opts.ttyStderr) Object.assign(stderr, { isTTY: true, columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => { out += d.toString(); });
  stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const code = await command(args, { stdout, stderr, stdin: opts.stdin ?? Readable.from([]) });
  return { code, stdout: out, stderr: err };
}
