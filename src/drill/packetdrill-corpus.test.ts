/**
 * Parses every script of the public conformance corpus (../shared/packetdrill) and checks the result
 * against INDEX.tsv, which was written independently of this parser: the MSS and window scale of the
 * first outbound SYN/SYN-ACK, the pinned IP version, the script options, the tcpi_* fields asserted, the
 * shell programs used and the #ifdef scripts. Skips when ../shared is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScript } from './parser.js';
import { DrillParseError } from './errors.js';
import type { Expr, ParsedScript, Personality } from './ast.js';
import { CODE_OPTION_BITS, CODE_STATE_NAMES, ERRNOS, SOCKET_SYMBOLS } from './symbols.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shared = process.env.SYNACK_SHARED ?? path.resolve(repoRoot, '../shared');
const corpus = path.join(shared, 'packetdrill');
const skip = !existsSync(path.join(corpus, 'INDEX.tsv')) && '../shared not present';

interface Row { [column: string]: string }
function readIndex(): Row[] {
  const lines = readFileSync(path.join(corpus, 'INDEX.tsv'), 'utf8').trim().split('\n');
  const header = lines[0]!.split('\t');
  return lines.slice(1).map((l) => Object.fromEntries(l.split('\t').map((v, i) => [header[i]!, v])));
}
function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (e.endsWith('.pkt')) out.push(path.relative(corpus, p).split(path.sep).join('/'));
  }
  return out;
}
/** The sysctl settings every FreeBSD script starts with (§11.4). */
const SYSCTL_BASELINE = new Set([
  'net.inet.tcp.rfc1323=1', 'net.inet.tcp.blackhole=0', 'net.inet.tcp.sack.enable=1', 'net.inet.tcp.ecn.enable=2',
  'kern.ipc.maxsockbuf=2097152', 'net.inet.tcp.recvspace=65536', 'net.inet.tcp.sendspace=32768', 'net.inet.tcp.hostcache.purgenow=1',
]);
const parse = (rel: string, personality: Personality, defines?: Record<string, string>): ParsedScript =>
  parseScript(readFileSync(path.join(corpus, rel), 'utf8'), { file: rel, personality, defines });

test('every corpus script parses to an AST or to UNSUPPORTED with a named construct', { skip }, (t) => {
  const rows = readIndex();
  const files = walk(corpus).sort();
  assert.deepEqual(rows.map((r) => r.path).sort(), files, 'INDEX.tsv lists exactly the .pkt files present');

  let parsed = 0;
  const unsupported: string[] = [];
  const failed: string[] = [];
  for (const row of rows) {
    const personality = row.personality as Personality;
    try {
      const r = parse(row.path!, personality);
      if (r.unsupported) {
        assert.ok(r.unsupported.construct.length > 0 && r.unsupported.line > 0, `${row.path}: unnamed unsupported construct`);
        unsupported.push(`${row.path}:${r.unsupported.line}: ${r.unsupported.construct}`);
      } else {
        assert.ok(r.events.length > 0, `${row.path}: no events`);
        parsed++;
      }
    } catch (e) {
      failed.push(e instanceof DrillParseError ? e.message : `${row.path}: ${String(e)}`);
    }
  }
  t.diagnostic(`packetdrill corpus: ${rows.length} scripts, ${parsed} parsed, ${unsupported.length} unsupported, ${failed.length} parse errors`);
  for (const u of unsupported) t.diagnostic(`unsupported: ${u}`);
  assert.deepEqual(failed, [], 'scripts that fail to parse');
  assert.equal(parsed + unsupported.length, rows.length);
});

test('parsed corpus scripts agree with INDEX.tsv (SYN options, family, options, asserts, shell programs, sysctl knobs)', { skip }, () => {
  const mismatches: string[] = [];
  for (const row of readIndex()) {
    const personality = row.personality as Personality;
    const r = parse(row.path!, personality);
    if (r.unsupported) continue;

    // First outbound SYN or SYN-ACK: its MSS and window scale as INDEX.tsv records them.
    let mss = '-';
    let wscale = '-';
    for (const e of r.events) {
      if (e.kind === 'packet' && e.direction === 'outbound' && e.packet.protocol === 'tcp' && (e.packet.flags & 0x02)) {
        if (e.packet.options !== 'unchecked') {
          for (const o of e.packet.options) {
            if (o.kind === 'mss') mss = String(o.value);
            if (o.kind === 'wscale') wscale = String(o.shift);
          }
        }
        break;
      }
    }
    const ipVersion = r.options.given.find((g) => g.name === 'ip_version')?.value ?? 'any';
    const opts = r.options.given.filter((g) => g.name !== 'ip_version')
      .map((g) => `--${g.name}${g.value === undefined ? '' : `=${g.value}`}`).sort().join(' ') || '-';
    const tcpi = [...new Set(r.events.flatMap((e) => (e.kind === 'code' ? (e.assertions ?? []).map((a) => (a.lhs.kind === 'name' ? a.lhs.name : '?')) : [])))]
      .sort().join(',') || '-';

    // Shell programs over both #ifdef branches (the FreeBSD branch holds the tcpdrop calls).
    const both = parse(row.path!, personality, { FreeBSD: '' });
    const commands = [both.init?.command, ...both.events.map((e) => (e.kind === 'command' ? e.command : undefined)), both.cleanup?.command]
      .filter((c): c is string => c !== undefined);
    const programs = [...new Set(commands.map((c) => path.posix.basename(c.trim().split(/\s+/)[0]!)))].sort().join(',') || '-';
    // sysctl knobs beyond the suite's baseline, in script order, as INDEX.tsv lists them.
    const knobs = commands.map((c) => /^sysctl -w (\S+)$/.exec(c.trim())?.[1])
      .filter((k): k is string => k !== undefined && !SYSCTL_BASELINE.has(k))
      .map((k) => k.replace(/^net\.inet\.tcp\./, '')).join(',') || '-';
    const hasBranches = both.events.length > r.events.length;

    const expected = {
      mss: row.out_syn_mss, wscale: row.out_syn_wscale, ipVersion: row.ip_version,
      opts: row.script_options!.split(' ').sort().join(' '), tcpi: row.tcpi_asserts!.split(',').sort().join(','),
      programs: row.shell_commands!.split(',').sort().join(','), ifdef: row.ifdef, knobs: row.sysctl_knobs_beyond_suite_baseline,
    };
    const actual = { mss, wscale, ipVersion, opts, tcpi, programs, ifdef: hasBranches ? 'yes' : 'no', knobs };
    if (JSON.stringify(expected) !== JSON.stringify(actual)) {
      mismatches.push(`${row.path}: INDEX ${JSON.stringify(expected)} vs parsed ${JSON.stringify(actual)}`);
    }
  }
  assert.deepEqual(mismatches, []);
});

test('every corpus event has a position and its time is well formed', { skip }, () => {
  for (const row of readIndex()) {
    const r = parse(row.path!, row.personality as Personality);
    let prevLine = 0;
    for (const e of r.events) {
      assert.ok(e.line > prevLine, `${row.path}:${e.line}: events in file order`);
      prevLine = e.line;
      assert.ok(e.column >= 1);
      assert.ok(e.text.length > 0);
      if (e.time.kind === 'absolute' || e.time.kind === 'relative') assert.ok(Number.isSafeInteger(e.time.usecs) && e.time.usecs >= 0);
    }
  }
});

test('every symbol, errno and %{ }% name the corpus uses is in the symbol table', { skip }, () => {
  const unknown = new Set<string>();
  const visit = (e: Expr, where: string): void => {
    switch (e.kind) {
      case 'symbol':
        if (SOCKET_SYMBOLS[e.name] === undefined && ERRNOS[e.name] === undefined) unknown.add(`${where}: ${e.name}`);
        break;
      case 'or': e.operands.forEach((o) => visit(o, where)); break;
      case 'array': case 'struct': e.items.forEach((o) => visit(o, where)); break;
      case 'call': e.args.forEach((o) => visit(o, where)); break;
      case 'assign': visit(e.value, where); break;
      default: break;
    }
  };
  for (const row of readIndex()) {
    const r = parse(row.path!, row.personality as Personality);
    for (const e of r.events) {
      const where = `${row.path}:${e.line}`;
      if (e.kind === 'syscall') {
        e.args.forEach((a) => visit(a, where));
        visit(e.result, where);
        if (e.errno !== undefined && !ERRNOS[e.errno]) unknown.add(`${where}: errno ${e.errno}`);
      }
      if (e.kind === 'code') {
        for (const a of e.assertions ?? []) {
          for (const side of [a.lhs, a.rhs]) {
            if (side.kind === 'name' && !side.name.startsWith('tcpi_') && !CODE_STATE_NAMES[side.name] && CODE_OPTION_BITS[side.name] === undefined) {
              unknown.add(`${where}: ${side.name}`);
            }
          }
        }
      }
    }
  }
  assert.deepEqual([...unknown], []);
});
