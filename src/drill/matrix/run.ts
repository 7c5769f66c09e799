/**
 * Runs the conformance matrix (cells.ts) with the packetdrill runner: every cell in both address families,
 * a cell passing only if both do. Virtual time: the whole matrix takes a few seconds.
 */
import { runScriptText, type DrillResult } from '../runner.js';
import { MATRIX_PERSONALITIES, MATRIX_STATES, matrixCells, type Cell, type MatrixPersonality, type MatrixState } from './cells.js';
import { cellScript } from './generate.js';

export interface CellResult { cell: Cell; pass: boolean; failures: DrillResult[] }

export function runCell(cell: Cell): CellResult {
  const failures: DrillResult[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    const r = runScriptText(cellScript(cell, family), { file: `${cell.id}.pkt`, personality: cell.personality, ipVersion: family });
    if (r.result !== 'pass') failures.push(r);
  }
  return { cell, pass: failures.length === 0, failures };
}

export interface MatrixReport {
  results: CellResult[];
  /** personality → state → [passed, total] */
  table: Record<MatrixPersonality, Record<MatrixState, [number, number]>>;
  wallMs: number;
}

export function runMatrix(filter?: (c: Cell) => boolean): MatrixReport {
  const t0 = performance.now();
  const results = matrixCells().filter((c) => !filter || filter(c)).map(runCell);
  const table = {} as MatrixReport['table'];
  for (const p of MATRIX_PERSONALITIES) {
    table[p] = {} as Record<MatrixState, [number, number]>;
    for (const s of MATRIX_STATES) table[p][s] = [0, 0];
  }
  for (const r of results) {
    const e = table[r.cell.personality][r.cell.state];
    e[1]++;
    if (r.pass) e[0]++;
  }
  return { results, table, wallMs: performance.now() - t0 };
}

/** The report as text: cells passed per personality and state, then every failing cell with its reason. */
export function formatMatrixReport(rep: MatrixReport, details = true): string {
  const out: string[] = [];
  const total = rep.results.length, passed = rep.results.filter((r) => r.pass).length;
  out.push(`conformance matrix: ${total} cells × 2 families — ${passed} passed, ${total - passed} failed (${(rep.wallMs / 1000).toFixed(2)} s)`);
  out.push('');
  const w = 14;
  out.push(['state'.padEnd(w), ...MATRIX_PERSONALITIES.map((p) => p.padStart(11))].join(''));
  for (const s of MATRIX_STATES) {
    out.push([s.padEnd(w), ...MATRIX_PERSONALITIES.map((p) => { const [a, b] = rep.table[p][s]; return `${a}/${b}`.padStart(11); })].join(''));
  }
  out.push(['all'.padEnd(w), ...MATRIX_PERSONALITIES.map((p) => {
    let a = 0, b = 0;
    for (const s of MATRIX_STATES) { a += rep.table[p][s][0]; b += rep.table[p][s][1]; }
    return `${a}/${b}`.padStart(11);
  })].join(''));
  if (details) {
    for (const r of rep.results) {
      if (r.pass) continue;
      const f = r.failures[0]!;
      out.push(`FAIL ${r.cell.id} [${f.ipVersion}] expected ${r.cell.reply} → ${r.cell.next} (${r.cell.cite}): line ${f.line ?? '?'}: ${f.reason ?? ''}`);
    }
  }
  return out.join('\n');
}
