/**
 * `synack drill PATH... [--personality linux|freebsd|synack] [--json] [--verbose]`: runs packetdrill
 * scripts against synack's stack in virtual time (src/drill). Directories are walked for *.pkt. One line
 * per script (PASS, FAIL with the script line, expected vs actual and virtual time, UNSUPPORTED with the
 * construct), then `N passed, N failed, N unsupported`.
 *
 * Personality: given, or else taken from an INDEX.tsv (the corpus index of ../shared/packetdrill) in a
 * directory above the script, or else `synack`.
 *
 * Exit codes: 0 nothing failed; 1 a script failed; 2 usage errors or unreadable paths.
 */
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { Personality } from '../drill/ast.js';
import { runScriptText, type DrillResult } from '../drill/runner.js';
import { runDrillTraced } from '../drill/browser.js';
import { PcapngTap, TapError } from '../link/pcapng-tap.js';
import { renderLadderText } from '../view/ladder-text.js';
import { wrap } from './demo.js';
import { parseCommand } from './args.js';

export interface DrillIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

function walk(p: string, out: string[]): void {
  const st = statSync(p);
  if (st.isDirectory()) {
    for (const name of readdirSync(p).sort()) {
      if (name.startsWith('.')) continue;
      walk(path.join(p, name), out);
    }
  } else if (st.isFile() && p.endsWith('.pkt')) out.push(p);
}

/** Personality per script from the nearest INDEX.tsv above it (cached per index file). */
class IndexLookup {
  private readonly cache = new Map<string, Map<string, Personality> | null>();
  find(script: string): Personality | undefined {
    let dir = path.dirname(path.resolve(script));
    for (;;) {
      const idx = path.join(dir, 'INDEX.tsv');
      let table = this.cache.get(idx);
      if (table === undefined) {
        table = existsSync(idx) ? parseIndex(readFileSync(idx, 'utf8')) : null;
        this.cache.set(idx, table);
      }
      if (table) {
        const rel = path.relative(dir, path.resolve(script)).split(path.sep).join('/');
        const p = table.get(rel);
        if (p) return p;
      }
      const up = path.dirname(dir);
      if (up === dir) return undefined;
      dir = up;
    }
  }
}

function parseIndex(text: string): Map<string, Personality> {
  const [head, ...lines] = text.split('\n');
  const cols = (head ?? '').split('\t');
  const pi = cols.indexOf('path'), qi = cols.indexOf('personality');
  const m = new Map<string, Personality>();
  if (pi < 0 || qi < 0) return m;
  for (const l of lines) {
    const r = l.split('\t');
    const p = r[qi];
    if (r[pi] && (p === 'linux' || p === 'freebsd' || p === 'synack')) m.set(r[pi]!, p);
  }
  return m;
}

function line(r: DrillResult, verbose: boolean): string {
  const where = r.line ? `:${r.line}` : '';
  switch (r.result) {
    case 'pass': return `PASS ${r.script}${verbose ? ` [${r.personality}, ${r.ipVersion}]` : ''}`;
    case 'fail': return `FAIL ${r.script}${where}: ${r.reason ?? ''}${r.time !== undefined ? ` (virtual time ${r.time.toFixed(6)} s)` : ''}`;
    case 'unsupported': return `UNSUPPORTED ${r.script}${where}: ${r.reason ?? ''}`;
  }
}

export async function drillCommand(argv: string[], io: DrillIo): Promise<number> {
  const program = new Command('drill')
    .description('run packetdrill scripts against synack\'s stack in virtual time (directories are walked for *.pkt)')
    .argument('<path...>', 'script files or directories')
    .addOption(new Option('--personality <name>', 'stack profile the scripts were written for (default: from INDEX.tsv, else synack)').choices(['linux', 'freebsd', 'synack', 'rfc793']))
    .option('--json', 'one JSON line per script: {"script","result","reason"?,"line"?}')
    .option('--verbose', 'trace every event of every script')
    .addOption(new Option('--ip-version <family>', 'family for scripts that do not pin one').choices(['ipv4', 'ipv6']).default('ipv4'))
    .option('-D, --define <NAME=VALUE...>', 'define a symbol (also for #ifdef)')
    .option('--tolerance-usecs <n>', 'timing tolerance in microseconds, overriding the scripts\' (gVisor\'s harness uses 100000)')
    .option('--pcap <file>', 'write every packet of every script (in and out of synack, in virtual time) to one pcapng')
    .option('--ladder', 'draw each script\'s first connection as a ladder: the script\'s side, synack\'s side and its states')
    .option('--no-color', 'no ANSI colours in ladders');
  const early = parseCommand(program, argv, io);
  if (early !== null) return early;
  const opts = program.opts<{ personality?: Personality; json?: boolean; verbose?: boolean; ipVersion: 'ipv4' | 'ipv6'; define?: string[]; toleranceUsecs?: string; pcap?: string; ladder?: boolean; color: boolean }>();
  let toleranceUsecs: number | undefined;
  if (opts.toleranceUsecs !== undefined) {
    toleranceUsecs = Number(opts.toleranceUsecs);
    if (!Number.isInteger(toleranceUsecs) || toleranceUsecs < 0) { io.stderr.write(`synack drill: --tolerance-usecs needs a non-negative integer, not '${opts.toleranceUsecs}'\n`); return 2; }
  }
  const defines: Record<string, string> = {};
  for (const d of opts.define ?? []) {
    const m = /^([A-Za-z_]\w*)(?:=(.*))?$/.exec(d);
    if (!m) { io.stderr.write(`synack drill: bad -D value '${d}' (expected NAME or NAME=VALUE)\n`); return 2; }
    defines[m[1]!] = m[2] ?? '';
  }
  const files: string[] = [];
  for (const p of program.args) {
    try {
      walk(p, files);
    } catch (e) {
      io.stderr.write(`synack drill: ${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}\n`);
      return 2;
    }
  }
  if (files.length === 0) { io.stderr.write('synack drill: no *.pkt scripts found\n'); return 2; }
  const index = new IndexLookup();
  let tap: PcapngTap | null = null;
  if (opts.pcap) {
    try {
      tap = PcapngTap.toFile(opts.pcap, { application: 'synack drill', interfaceName: 'drill0', interfaceDescription: 'packetdrill: the script\'s peer <-> synack', startTimeMs: Date.UTC(2026, 0, 1) });
    } catch (e) {
      io.stderr.write(`synack drill: cannot write ${opts.pcap}: ${(e as Error).message}\n`);
      return 2;
    }
  }
  const traced = tap !== null || opts.ladder === true;
  const color = opts.color && (io.stdout as NodeJS.WriteStream).isTTY === true;
  let offset = 0;
  const totals = { pass: 0, fail: 0, unsupported: 0 };
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      io.stderr.write(`synack drill: ${file}: ${(e as Error).message}\n`);
      return 2;
    }
    const personality = opts.personality ?? index.find(file) ?? 'synack';
    const log = opts.verbose ? (s: string): void => { io.stdout.write(`  ${s}\n`); } : undefined;
    if (opts.verbose) io.stdout.write(`${file} [${personality}]\n`);
    const runOpts = { file, personality, defines, ipVersion: opts.ipVersion, log, toleranceUsecs };
    // With --pcap or --ladder the run also records its packets and synack's transitions.
    const t = traced ? runDrillTraced(text, runOpts) : null;
    const r = t ? t.result : runScriptText(text, runOpts);
    if (t && tap) {
      tap.comment(`script ${file} [${personality}]: ${r.result.toUpperCase()}${r.line ? ` at line ${r.line}` : ''}`);
      let last = 0;
      t.packets.forEach((p, i) => { tap!.record(offset + p.time, p.bytes, p.from === 'b' ? 'outbound' : 'inbound', i === 0 ? `script ${file}` : undefined); last = p.time; });
      offset += last + 1000;
    }
    totals[r.result]++;
    if (opts.json) {
      const o: Record<string, unknown> = { script: r.script, result: r.result };
      if (r.reason !== undefined) o.reason = r.reason;
      if (r.line !== undefined) o.line = r.line;
      io.stdout.write(JSON.stringify(o) + '\n');
    } else {
      io.stdout.write(line(r, opts.verbose === true) + '\n');
    }
    if (t && opts.ladder && !opts.json) io.stdout.write('\n' + renderLadderText(t.trace, { color }) + wrap(`• synack: ${t.localStates.join(' → ')}`, 80, '  ', '    ') + '\n\n');
  }
  if (tap) {
    try { await tap.close(); } catch (e) {
      io.stderr.write(`synack drill: writing ${opts.pcap} failed: ${e instanceof TapError ? e.message : String(e)}\n`);
      return 2;
    }
  }
  const summary = `${totals.pass} passed, ${totals.fail} failed, ${totals.unsupported} unsupported`;
  if (opts.json) io.stderr.write(summary + '\n');
  else io.stdout.write(summary + '\n');
  return totals.fail > 0 ? 1 : 0;
}
