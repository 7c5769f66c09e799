/**
 * packetdrill in the page: a script pasted or opened, run against a synack stack in virtual time (in the
 * page's Web Worker), handed to the viewer like a lab run: the ladder (the script's side and synack's), both
 * state machines (synack's from its engine, the script's inferred from its segments), the verdict with the
 * failing line, and the packets for the pcapng download.
 */
import { runDrillTraced } from '../../src/drill/browser.js';
import type { Personality } from '../../src/drill/ast.js';
import type { LabRun } from './lab-run.js';

export const PERSONALITIES: readonly Personality[] = ['synack', 'linux', 'freebsd'];

/**
 * A script like the one the seed texts use to reach CLOSING (RFC 9293 §3.6, Figure 13): a passive open, then
 * both FINs cross. Offered as the example.
 */
export const SAMPLE_SCRIPT = `// Simultaneous close through CLOSING (RFC 9293 §3.6, Figure 13): the FINs cross, each side ACKs the
// other's, and both wait in TIME-WAIT. The script plays the peer; synack is the stack under test.
0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0   bind(3, ..., ...) = 0
+0   listen(3, 1) = 0
+0   < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
+0   > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 5>
+.1  < . 1:1(0) ack 1 win 512
+0   accept(3, ..., ...) = 4
+0   shutdown(4, SHUT_WR) = 0
+0   > F. 1:1(0) ack 1
+0   %{ assert tcpi_state == TCP_FIN_WAIT1 }%
// The peer's FIN was sent before ours arrived: it does not acknowledge our FIN.
+.01 < F. 1:1(0) ack 1 win 512
+0   > . 2:2(0) ack 2
+0   %{ assert tcpi_state == TCP_CLOSING }%
+.01 < . 2:2(0) ack 2 win 512
+0   %{ assert tcpi_state == TCP_TIME_WAIT }%
`;

export function runDrill(text: string, file: string, personality: Personality): LabRun {
  if (!PERSONALITIES.includes(personality)) throw new Error(`unknown personality '${personality}' (known: ${PERSONALITIES.join(', ')})`);
  const t = runDrillTraced(text, { file, personality });
  const r = t.result;
  const lines = text.split('\n');
  const verdict = r.result === 'pass' ? 'PASS' : r.result === 'fail' ? 'FAIL' : 'UNSUPPORTED';
  const notes = [`${verdict}${r.line ? ` at line ${r.line}` : ''}${r.time !== undefined ? ` (virtual time ${r.time.toFixed(6)} s)` : ''}${r.reason ? `: ${r.reason}` : ''}`];
  if (r.line && lines[r.line - 1] !== undefined) notes.push(`line ${r.line}: ${lines[r.line - 1]!.trim()}`);
  notes.push(`synack (${personality} personality): ${t.localStates.join(' → ')}`);
  notes.push('the script\'s side has no TCB: its states are inferred from what it sends and acknowledges');
  const last = t.packets.length ? t.packets[t.packets.length - 1]!.time : 0;
  return {
    name: 'drill', title: `packetdrill: ${file}`, description: `${file} against synack, ${personality} personality, ${r.ipVersion}, in virtual time`,
    trace: t.trace, raw: t.raw,
    // In the capture synack's packets are outbound (the lab marks its client's, 'a', outbound).
    packets: t.packets.map((p) => ({ time: p.time, from: p.from === 'b' ? 'a' : 'b', bytes: p.bytes, fate: 'delivered' })),
    notes, clientStates: [], serverStates: t.localStates, duration: last,
    drill: { result: r.result, line: r.line, reason: r.reason },
  };
}
