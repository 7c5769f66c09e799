/**
 * `synack/drill`: runs packetdrill scripts against a synack stack in virtual time — no root, no kernel.
 * A personality ('linux', 'freebsd', 'synack') configures the stack under test as the script's system.
 *
 * ```ts
 * const r = runScriptText(text, { file: 'close.pkt', personality: 'linux' });
 * if (r.result === 'fail') console.log(`line ${r.line}: ${r.reason}`);
 * ```
 * @packageDocumentation
 */
export { runScriptText, DrillRunner, type DrillResult, type DrillVerdict, type RunOptions } from '../drill/runner.js';
export { parseScript, type ParseScriptOptions } from '../drill/parser.js';
export type { Personality, ParsedScript, UnsupportedConstruct } from '../drill/ast.js';
