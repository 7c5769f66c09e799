/**
 * `synack ui [--port N] [--host H] [--open] [--dist DIR] [FILE.pcap ...]`: serves the page (ui/dist, built by `npm run
 * build`) on localhost with node:http. The engine and the analyzer run in the page; the only server logic
 * is handing the files named on the command line to it: GET api/files lists them, api/files/N streams one.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { Command, CommanderError } from 'commander';

export interface UiIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  stdin?: unknown;
}

export interface UiServerOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Capture files offered to the page. */
  files?: string[];
  /** Directory holding the built page (default: ui/dist of this checkout). */
  root?: string;
}

export interface UiServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.json': 'application/json', '.png': 'image/png', '.ico': 'image/x-icon', '.map': 'application/json',
  '.woff2': 'font/woff2', '.txt': 'text/plain; charset=utf-8',
};

/** ui/dist of this checkout: found upward from this module (src/cli when run with tsx, dist/src/cli when built). */
export function defaultUiRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const cand = path.join(dir, 'ui', 'dist');
    if (existsSync(path.join(cand, 'index.html'))) return cand;
    dir = path.dirname(dir);
  }
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../ui/dist');
}

export class UiError extends Error {
  constructor(message: string) { super(message); this.name = 'UiError'; }
}

export async function startUiServer(opts: UiServerOptions = {}): Promise<UiServer> {
  const root = path.resolve(opts.root ?? defaultUiRoot());
  if (!existsSync(path.join(root, 'index.html'))) {
    throw new UiError(`the page is not built (no ${path.join(root, 'index.html')}); run 'npm run build' first`);
  }
  const files = (opts.files ?? []).map((f) => {
    let st;
    try { st = statSync(f); } catch { throw new UiError(`${f}: no such file`); }
    if (!st.isFile()) throw new UiError(`${f}: not a regular file`);
    return { path: path.resolve(f), name: path.basename(f), size: st.size };
  });
  const host = opts.host ?? '127.0.0.1';

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let p: string;
    try { p = decodeURIComponent(url.pathname); } catch { return send(res, 400, 'bad path'); }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
    if (p === '/api/files') {
      const body = JSON.stringify({ files: files.map((f, i) => ({ name: f.name, size: f.size, url: `api/files/${i}` })) });
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const m = /^\/api\/files\/(\d+)$/.exec(p);
    if (m) {
      const f = files[Number(m[1])];
      if (!f) return send(res, 404, 'no such file');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(f.size), 'cache-control': 'no-store' });
      if (req.method === 'HEAD') { res.end(); return; }
      createReadStream(f.path).on('error', () => res.destroy()).pipe(res);
      return;
    }
    // Static files of the built page; never outside its root.
    const rel = p === '/' ? 'index.html' : p.replace(/^\/+/, '');
    const full = path.resolve(root, rel);
    if (full !== root && !full.startsWith(root + path.sep)) return send(res, 403, 'forbidden');
    let data: Buffer;
    try { data = await readFile(full); } catch { return send(res, 404, 'not found'); }
    const type = TYPES[path.extname(full)] ?? 'application/octet-stream';
    // Hashed assets never change; index.html must be re-read after a rebuild.
    const cache = rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    res.writeHead(200, { 'content-type': type, 'content-length': String(data.length), 'cache-control': cache, 'x-content-type-options': 'nosniff' });
    res.end(req.method === 'HEAD' ? undefined : data);
  };

  const server = createServer((req, res) => { handler(req, res).catch(() => { if (!res.headersSent) send(res, 500, 'internal error'); else res.destroy(); }); });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new UiError(`port ${opts.port} is already in use (try --port 0)`) : e));
    server.listen(opts.port ?? 8737, host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port ?? 0;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    server,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}

function openBrowser(url: string): void {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(cmd as string, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => { /* no browser opener: the URL is printed anyway */ });
    child.unref();
  } catch { /* same */ }
}

/**
 * Runs until SIGINT/SIGTERM (or `signal` aborts, for tests). Exit codes: 0 after a clean stop, 2 for
 * usage errors (bad option, missing file, page not built, port taken).
 */
export async function uiCommand(argv: string[], io: UiIo, signal?: AbortSignal): Promise<number> {
  const program = new Command('ui')
    .description('serve the synack page on localhost: scenario lab, ladder and state views, capture view')
    .argument('[files...]', 'pcap/pcapng files to open in the page')
    .option('-p, --port <n>', 'port to listen on (0: any free port)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CommanderError(2, 'synack.badPort', `--port must be an integer in [0, 65535], got '${v}'`);
      return n;
    }, 8737)
    .option('--host <addr>', 'address to bind (default 127.0.0.1: this machine only)', '127.0.0.1')
    .option('--open', 'open the page in the default browser')
    .option('--dist <dir>', 'serve the built page from DIR instead of ui/dist')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'synack.badPort') io.stderr.write(`synack ui: ${e.message}\n`);
      return e.exitCode === 0 ? 0 : 2;
    }
    throw e;
  }
  const o = program.opts<{ port: number; host: string; open?: boolean; dist?: string }>();
  let srv: UiServer;
  try {
    srv = await startUiServer({ port: o.port, host: o.host, files: program.args, root: o.dist });
  } catch (e) {
    if (e instanceof UiError) { io.stderr.write(`synack ui: ${e.message}\n`); return 2; }
    throw e;
  }
  io.stdout.write(`synack ui: serving the page at ${srv.url}${program.args.length ? ` (offering ${program.args.length} capture file${program.args.length > 1 ? 's' : ''})` : ''}\n`);
  io.stdout.write('press Ctrl+C to stop\n');
  if (o.open) openBrowser(srv.url);
  await new Promise<void>((resolve) => {
    const done = () => { process.off('SIGINT', done); process.off('SIGTERM', done); resolve(); };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (signal) { if (signal.aborted) done(); else signal.addEventListener('abort', done, { once: true }); }
  });
  await srv.close();
  return 0;
}
