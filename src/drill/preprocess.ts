/**
 * The FreeBSD suite's conditional-text dialect (nplab/packetdrill, §10 of packetdrill-language.md):
 * `#ifdef NAME` … `#endif` keeps the text only when NAME is defined. synack also accepts `#ifndef`,
 * `#else` and nesting (nplab has none of these; every script nplab accepts means the same here).
 *
 * Works on whole lines and keeps the line count: skipped lines and directive lines become empty lines,
 * so every later token keeps its original line number for error messages.
 */
import { DrillParseError } from './errors.js';
import type { Personality } from './ast.js';

/**
 * Names defined for each personality (§11.7): the FreeBSD suite's `STANDARD` branches hold the RFC
 * reaction and its `FreeBSD` branches what FreeBSD does instead, so every personality runs with
 * STANDARD defined and FreeBSD undefined. The linux personality also has the host-platform name
 * `Linux`, which nplab predefines on a Linux host.
 */
export function personalityDefines(personality: Personality): Record<string, string> {
  switch (personality) {
    case 'linux': return { STANDARD: '', Linux: '' };
    case 'freebsd': return { STANDARD: '' };
    case 'synack': return { STANDARD: '' };
    case 'rfc793': return { STANDARD: '' };
  }
}

export interface PreprocessResult {
  /** The text with skipped and directive lines emptied (same number of lines). */
  text: string;
  /** The defines in force at the end: the caller's plus every active `--define=NAME[=VALUE]` line. */
  defines: Record<string, string>;
}

interface Frame { line: number; column: number; directive: string; parentActive: boolean; cond: boolean; sawElse: boolean }

const DIRECTIVE = /^([ \t]*)#[ \t]*(ifdef|ifndef|else|endif)\b(.*)$/;
const DEFINE_LINE = /^[ \t]*--define=([A-Za-z_][A-Za-z0-9_]*)(?:=(.*?))?[ \t]*(?:\/\/.*)?$/;

export function preprocess(text: string, opts: { file: string; defines: Record<string, string> }): PreprocessResult {
  const defines: Record<string, string> = { ...opts.defines };
  const lines = text.split('\n');
  const stack: Frame[] = [];
  const active = (): boolean => stack.length === 0 || (stack[stack.length - 1]!.parentActive && stack[stack.length - 1]!.cond);
  const err = (line: number, column: number, message: string, expected?: string): DrillParseError =>
    new DrillParseError({ file: opts.file, line, column, code: 'preprocess', message, expected });

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const lineNo = i + 1;
    const m = DIRECTIVE.exec(raw.replace(/\r$/, ''));
    if (m) {
      const column = m[1]!.length + 1;
      const directive = m[2]!;
      const rest = m[3]!.replace(/\/\/.*$/, '').replace(/\/\*.*?\*\//g, '').trim();
      if (directive === 'ifdef' || directive === 'ifndef') {
        const nm = /^([A-Za-z_][A-Za-z0-9_]*)$/.exec(rest);
        if (!nm) throw err(lineNo, column, `#${directive} needs one name`, 'a name after #' + directive);
        const name = nm[1]!;
        // nplab rejects one-letter names; keep the rule so scripts stay portable to it.
        if (name.length < 2) throw err(lineNo, column, `#${directive} name '${name}' is too short (at least 2 characters)`);
        const isDefined = Object.prototype.hasOwnProperty.call(defines, name);
        stack.push({ line: lineNo, column, directive, parentActive: active(), cond: directive === 'ifdef' ? isDefined : !isDefined, sawElse: false });
      } else if (directive === 'else') {
        if (rest !== '') throw err(lineNo, column, `unexpected text after #else: '${rest}'`);
        const top = stack[stack.length - 1];
        if (!top) throw err(lineNo, column, '#else without #ifdef');
        if (top.sawElse) throw err(lineNo, column, `second #else for the #${top.directive} on line ${top.line}`);
        top.sawElse = true;
        top.cond = !top.cond;
      } else {
        if (rest !== '') throw err(lineNo, column, `unexpected text after #endif: '${rest}'`);
        if (!stack.pop()) throw err(lineNo, column, '#endif without #ifdef');
      }
      lines[i] = '';
      continue;
    }
    if (!active()) {
      lines[i] = '';
      continue;
    }
    const d = DEFINE_LINE.exec(raw.replace(/\r$/, ''));
    if (d) defines[d[1]!] = d[2] ?? '';
  }
  const open = stack[stack.length - 1];
  if (open) {
    throw err(open.line, open.column, `unterminated #${open.directive}: no #endif before end of file`, '#endif');
  }
  return { text: lines.join('\n'), defines };
}
