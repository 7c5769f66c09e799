/**
 * The conformance matrix in the test suite: every cell (state × segment kind × position × personality) as a
 * generated packetdrill script, both address families, in virtual time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KNOWN_GAPS, MATRIX_PERSONALITIES, matrixCells } from './cells.js';
import { runCell, runMatrix } from './run.js';
import { cellScript } from './generate.js';

test('every cell of the matrix passes in IPv4 and IPv6, except the known gaps, which still fail', () => {
  const rep = runMatrix();
  const unexpected: string[] = [];
  for (const r of rep.results) {
    const gap = KNOWN_GAPS[r.cell.id];
    if (gap === undefined && !r.pass) unexpected.push(`${r.cell.id}: ${r.failures[0]!.ipVersion} line ${r.failures[0]!.line}: ${r.failures[0]!.reason}`);
    if (gap !== undefined && r.pass) unexpected.push(`${r.cell.id} passes now: remove it from KNOWN_GAPS`);
  }
  assert.deepEqual(unexpected, []);
  // Every personality covers every state it has cells for.
  for (const p of MATRIX_PERSONALITIES) assert.ok(rep.results.filter((r) => r.cell.personality === p).length > 400, p);
});

test('the matrix covers each state with every segment kind and cites a rule for each cell', () => {
  const cells = matrixCells();
  const ids = new Set(cells.map((c) => c.id));
  assert.equal(ids.size, cells.length, 'cell ids are unique');
  for (const c of cells) assert.ok(c.cite.length > 10, `${c.id} cites its rule`);
  for (const id of Object.keys(KNOWN_GAPS)) assert.ok(ids.has(id), `${id} is a cell`);
  const kinds = new Set(cells.filter((c) => c.state === 'ESTABLISHED').map((c) => c.kind));
  assert.equal(kinds.size, 11);
});

test('a cell with a wrong expectation fails: the silence and state checks bite', () => {
  const cell = matrixCells().find((c) => c.id === 'synack/ESTABLISHED/RST/middle')!;
  assert.equal(cell.reply, 'challenge');
  assert.equal(runCell(cell).pass, true);
  // Expecting no reply: the challenge ACK comes before the sentinel's answer and fails it.
  assert.equal(runCell({ ...cell, reply: 'none' }).pass, false);
  // Expecting the blind RST to reset (RFC 793): the connection is still there.
  assert.equal(runCell({ ...cell, reply: 'none', next: 'CLOSED' }).pass, false);
  // The same cell under RFC 793's rules resets.
  const r793 = matrixCells().find((c) => c.id === 'rfc793/ESTABLISHED/RST/middle')!;
  assert.deepEqual([r793.reply, r793.next], ['none', 'CLOSED']);
  assert.equal(runCell(r793).pass, true);
  assert.match(cellScript(r793, 'ipv6'), /--ip_version=ipv6/);
});
