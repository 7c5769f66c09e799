/**
 * `synack demo [--scenario NAME|all] [--pcap FILE] [--loss P] [--seed N] [--absolute] [--no-color]`:
 * runs the seed scenarios on two in-memory synack stacks and prints each as a ladder diagram.
 */
import { Command, Option } from 'commander';
import { runScenario, SCENARIOS, type ScenarioResult } from '../link/scenarios.js';
import { PcapngTap, TapError } from '../link/pcapng-tap.js';
import { renderLadderText } from '../view/ladder-text.js';
import type { AnalyzeIo } from './analyze.js';
import { intArg, parseCommand } from './args.js';

export async function demoCommand(argv: string[], io: AnalyzeIo): Promise<number> {
  const program = new Command('demo')
    .description('run the seed scenarios on two in-memory synack stacks and draw each as a ladder diagram')
    .addOption(new Option('-s, --scenario <name>', `scenario to run, or "all" (${SCENARIOS.map((s) => s.name).join(', ')})`).default('all'))
    .option('--pcap <file>', 'write every packet of every scenario to one pcapng file')
    .option('--loss <p>', 'packet loss probability on the wire (0..1)', parseFloat)
    .option('--seed <n>', 'seed for every random choice (ISNs, impairments): an integer in 0..2147483647', intArg('--seed', 0, 2 ** 31 - 1), 1)
    .option('--absolute', 'absolute sequence numbers (default: relative, as Wireshark shows them)')
    .option('--no-color', 'no ANSI colours')
    .option('--list', 'list the scenarios and exit');
  const early = parseCommand(program, argv, io);
  if (early !== null) return early;
  const o = program.opts<{ scenario: string; pcap?: string; loss?: number; seed: number; absolute?: boolean; color: boolean; list?: boolean }>();
  if (o.list) {
    for (const s of SCENARIOS) io.stdout.write(wrap(`${s.name.padEnd(21)} ${s.description}`, 80, '', ' '.repeat(22)) + '\n');
    return 0;
  }
  if (o.loss !== undefined && !(o.loss >= 0 && o.loss < 1)) {
    io.stderr.write(`synack demo: --loss must be a probability in [0, 1), got ${o.loss}\n`);
    return 2;
  }
  const names = o.scenario === 'all' ? SCENARIOS.map((s) => s.name) : o.scenario.split(',');
  for (const n of names) {
    if (!SCENARIOS.some((s) => s.name === n)) {
      io.stderr.write(`synack demo: unknown scenario '${n}'. Known: ${SCENARIOS.map((s) => s.name).join(', ')}\n`);
      return 2;
    }
  }
  let tap: PcapngTap | null = null;
  if (o.pcap) {
    try {
      tap = PcapngTap.toFile(o.pcap, { application: 'synack demo', interfaceName: 'synack0', interfaceDescription: 'synack demo: in-memory wire 10.0.0.1 <-> 10.0.0.2', startTimeMs: Date.UTC(2026, 0, 1), comment: `synack demo, seed ${o.seed}` });
    } catch (e) {
      io.stderr.write(`synack demo: cannot write ${o.pcap}: ${(e as Error).message}\n`);
      return 2;
    }
  }
  const color = o.color && (io.stdout as NodeJS.WriteStream).isTTY === true;
  // A terminal's own width when it tells it (at least 60), else the classic 80 columns.
  const cols = (io.stdout as NodeJS.WriteStream).isTTY ? (io.stdout as NodeJS.WriteStream).columns : undefined;
  const width = cols !== undefined && cols >= 60 ? Math.min(cols, 160) : 80;
  let offset = 0;
  let failures = 0;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const port = 8000 + i + 1; // each scenario on its own server port so one capture can hold them all
    let r: ScenarioResult;
    try {
      r = await runScenario(name, { seed: o.seed, loss: o.loss, port });
    } catch (e) {
      io.stderr.write(`synack demo: scenario ${name} failed: ${(e as Error).stack ?? e}\n`);
      failures++;
      continue;
    }
    io.stdout.write(`\n${color ? '\x1b[1m' : ''}== ${r.title} (${name}) ==${color ? '\x1b[0m' : ''}\n${wrap(r.description, width)}\n\n`);
    io.stdout.write(renderLadderText(r.trace, { color, absolute: o.absolute === true, width }) + '\n');
    if (r.aside) io.stdout.write(`Beside it, ${r.aside.title}:\n\n${renderLadderText(r.aside.trace, { color, absolute: o.absolute === true, width })}\n`);
    for (const n of r.notes) io.stdout.write(wrap(`• ${n}`, width, '  ', '    ') + '\n');
    io.stdout.write(wrap(`• client: ${['CLOSED', ...r.clientStates].join(' → ')}`, width, '  ', '    ') + '\n' + wrap(`• server: ${(r.serverStates.length ? r.serverStates : ['CLOSED']).join(' → ')}`, width, '  ', '    ') + '\n');
    if (tap) {
      tap.comment(`scenario ${name}: ${r.title} (server port ${port})`);
      let first = true;
      for (const p of r.packets) {
        tap.record(offset + p.time, p.bytes, p.from === 'a' ? 'outbound' : 'inbound', first ? `scenario ${name}: ${r.title}` : p.fate === 'lost' ? 'lost on the wire' : undefined);
        first = false;
      }
      offset += r.duration + 1000;
    }
  }
  if (tap) {
    try { await tap.close(); } catch (e) {
      io.stderr.write(`synack demo: writing ${o.pcap} failed: ${e instanceof TapError ? e.message : String(e)}\n`);
      return 1;
    }
    io.stdout.write(`\nwrote ${o.pcap}\n`);
  }
  return failures ? 1 : 0;
}

/** Word-wraps `text` to `width` columns: the first line after `first`, the rest after `rest`. */
export function wrap(text: string, width: number, first = '', rest = first): string {
  const out: string[] = [];
  let cur = first;
  let empty = true;
  for (const w of text.split(' ')) {
    if (!empty && [...cur].length + 1 + [...w].length > width) { out.push(cur); cur = rest + w; continue; }
    cur += (empty ? '' : ' ') + w;
    empty = false;
  }
  out.push(cur);
  return out.join('\n');
}
