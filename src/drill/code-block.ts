/**
 * The `%{ }%` subset synack evaluates (§11.6 of packetdrill-language.md): statements of the form
 * `assert LHS OP RHS [, "message"]` where each side is a name, an integer, or a bitwise OR of those.
 * Anything else is Python that synack does not run; the parser then marks the script UNSUPPORTED.
 */
import type { CodeAssertion, CodeOperand } from './ast.js';

type Tok = { t: 'name' | 'int' | 'op' | 'str' | 'punct'; v: string };

function lexStatement(s: string): Tok[] | null {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === '#') break; // Python comment to end of line
    let m: RegExpExecArray | null;
    const rest = s.slice(i);
    if ((m = /^(0[xX][0-9a-fA-F]+|[0-9]+)/.exec(rest))) { out.push({ t: 'int', v: m[1]! }); i += m[1]!.length; continue; }
    if ((m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(rest))) { out.push({ t: 'name', v: m[0] }); i += m[0].length; continue; }
    if ((m = /^(==|!=|<=|>=|<|>)/.exec(rest))) { out.push({ t: 'op', v: m[1]! }); i += m[1]!.length; continue; }
    if ((m = /^("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/.exec(rest))) { out.push({ t: 'str', v: m[1]!.slice(1, -1) }); i += m[1]!.length; continue; }
    if (c === '|' || c === ',' || c === '(' || c === ')') { out.push({ t: 'punct', v: c }); i++; continue; }
    return null;
  }
  return out;
}

/** Parses a %{ }% block into assertions; null if any statement is outside the subset. */
export function parseCodeAssertions(code: string, firstLine: number): CodeAssertion[] | null {
  const result: CodeAssertion[] = [];
  const lines = code.split('\n');
  for (let li = 0; li < lines.length; li++) {
    for (const stmt of lines[li]!.split(';')) {
      const toks = lexStatement(stmt);
      if (toks === null) return null;
      if (toks.length === 0) continue;
      let k = 0;
      const peek = (): Tok | undefined => toks[k];
      if (peek()?.t !== 'name' || peek()!.v !== 'assert') return null;
      k++;
      let depth = 0;
      const operand = (): CodeOperand | null => {
        if (++depth > 64) return null; // hostile nesting: not the simple subset
        const parts: CodeOperand[] = [];
        for (;;) {
          const t = toks[k];
          let term: CodeOperand | null = null;
          if (t?.t === 'name' && t.v !== 'assert') { term = { kind: 'name', name: t.v }; k++; }
          else if (t?.t === 'int') { term = { kind: 'int', value: Number(t.v.toLowerCase().startsWith('0x') ? parseInt(t.v.slice(2), 16) : parseInt(t.v, 10)) }; k++; }
          else if (t?.t === 'punct' && t.v === '(') {
            k++;
            term = operand();
            if (!term || toks[k]?.v !== ')') return null;
            k++;
          }
          if (!term) return null;
          parts.push(term);
          if (toks[k]?.t === 'punct' && toks[k]!.v === '|') { k++; continue; }
          break;
        }
        return parts.length === 1 ? parts[0]! : { kind: 'or', operands: parts };
      };
      const lhs = operand();
      if (!lhs) return null;
      const opTok = toks[k];
      if (opTok?.t !== 'op') return null;
      k++;
      const rhs = operand();
      if (!rhs) return null;
      let message: string | undefined;
      if (toks[k]?.t === 'punct' && toks[k]!.v === ',') {
        k++;
        if (toks[k]?.t !== 'str') return null;
        message = toks[k]!.v;
        k++;
      }
      if (k !== toks.length) return null;
      result.push({ line: firstLine + li, lhs, op: opTok.v as CodeAssertion['op'], rhs, message, text: stmt.trim() });
    }
  }
  return result;
}
