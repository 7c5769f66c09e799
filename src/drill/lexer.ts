/**
 * The packetdrill tokenizer (§2.2 of packetdrill-language.md), a hand-written port of google/packetdrill's
 * lexer.l with flex's rule: the longest match wins, ties go to the earlier rule. Keywords (ack, win,
 * mss, ...) are returned as WORD tokens; the parser recognises them by position, which accepts every
 * script packetdrill accepts.
 */
import { DrillParseError } from './errors.js';

export type TokenType =
  | 'option'     // --name            value: the name
  | 'float'      // -?[0-9]*\.[0-9]+
  | 'int'        // -?[0-9]+
  | 'hex'        // 0x[0-9a-fA-F]+
  | 'word'       // [a-zA-Z0-9_]+ (keywords, symbols, flag strings, syscall names)
  | 'string'     // "..."             value: the text inside the quotes, unchanged
  | 'backquote'  // `...`             value: the command inside the back-quotes, unchanged
  | 'code'       // %{ ... }%         value: the code, spaces and tabs trimmed at both ends
  | 'ipv4'       // 192.0.2.1
  | 'ipv6'       // 2001:db8::1
  | 'ellipsis'   // ...
  | 'punct'      // any other single character: < > . , : ( ) [ ] { } = | + * ~ - / etc.
  | 'eof';

export interface Token {
  type: TokenType;
  /** The source text of the token. */
  text: string;
  /** The decoded value (see TokenType); equal to `text` for most types. */
  value: string;
  line: number;
  column: number;
  /** Offsets into the (preprocessed) source: [offset, end). */
  offset: number;
  end: number;
}

// Candidate rules in lexer.l order (ties go to the earlier one). Sticky regexes anchor at lastIndex.
const RE_ELLIPSIS = /\.\.\./y;
const RE_OPTION = /--[a-zA-Z0-9_]+/y;
const RE_FLOAT = /-?[0-9]*\.[0-9]+/y;
const RE_INT = /-?[0-9]+/y;
const RE_HEX = /0x[0-9a-fA-F]+/y;
const RE_WORD = /[a-zA-Z0-9_]+/y;
const RE_IPV4 = /[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/y;

// IPv6, as lexer.l spells it: the variants keep `1:1001` (a sequence range) from looking like an address.
const SEG = '[0-9a-fA-F]{1,4}';
const V4 = '[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+';
const IPV6_VARIANTS = [
  '::',
  `(?:${SEG}:){7}${SEG}`,
  `(?:${SEG}:){1,7}:`,
  `(?:${SEG}:){1,6}:${SEG}`,
  `(?:${SEG}:){1,5}(?::${SEG}){1,2}`,
  `(?:${SEG}:){1,4}(?::${SEG}){1,3}`,
  `(?:${SEG}:){1,3}(?::${SEG}){1,4}`,
  `(?:${SEG}:){1,2}(?::${SEG}){1,5}`,
  `${SEG}:(?::${SEG}){1,6}`,
  `:(?::${SEG}){1,7}`,
  `::ffff:${V4}`,
  `::ffff:(?:0){1,4}:${V4}`,
  `(?:${SEG}:){1,4}:${V4}`,
].map((s) => new RegExp(s, 'y'));

function matchLen(re: RegExp, src: string, pos: number): number {
  re.lastIndex = pos;
  const m = re.exec(src);
  return m ? m[0].length : 0;
}

/** Longest IPv6 match at pos. JS alternation is first-match, so try each variant and keep the longest. */
function ipv6Len(src: string, pos: number): number {
  let best = 0;
  for (const re of IPV6_VARIANTS) best = Math.max(best, matchLen(re, src, pos));
  // A match ending inside a longer run of address characters would split a token oddly; flex has the
  // same behaviour, so keep it.
  return best;
}

function isSpace(c: string): boolean {
  // flex's rule is [ \t\n]; CR, FF and VT are accepted too so CRLF files work.
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
}

/**
 * Tokenizes a whole script. Comments (`//` to end of line, `/* … *\/`) and whitespace are skipped.
 * Throws DrillParseError (code 'lex') for an unterminated string, command, code block or comment.
 */
export function tokenize(src: string, file: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  let lineStart = 0;

  // Advance pos to `to`, keeping line/lineStart in step.
  const advance = (to: number): void => {
    for (let i = pos; i < to; i++) {
      if (src.charCodeAt(i) === 10) { line++; lineStart = i + 1; }
    }
    pos = to;
  };
  const err = (message: string, atLine: number, atCol: number): DrillParseError =>
    new DrillParseError({ file, line: atLine, column: atCol, code: 'lex', message });
  const push = (type: TokenType, start: number, end: number, value: string, tLine: number, tCol: number): void => {
    tokens.push({ type, text: src.slice(start, end), value, line: tLine, column: tCol, offset: start, end });
  };

  while (pos < src.length) {
    const c = src[pos]!;
    if (isSpace(c)) { advance(pos + 1); continue; }
    const tLine = line;
    const tCol = pos - lineStart + 1;

    // Comments.
    if (c === '/' && src[pos + 1] === '/') {
      const nl = src.indexOf('\n', pos);
      advance(nl < 0 ? src.length : nl);
      continue;
    }
    if (c === '/' && src[pos + 1] === '*') {
      const close = src.indexOf('*/', pos + 2);
      if (close < 0) throw err('unterminated /* comment', tLine, tCol);
      advance(close + 2);
      continue;
    }
    // Code block %{ ... }% (any text up to the first }%).
    if (c === '%' && src[pos + 1] === '{') {
      const close = src.indexOf('}%', pos + 2);
      if (close < 0) throw err("unterminated %{ code block: no closing '}%'", tLine, tCol);
      const inner = src.slice(pos + 2, close).replace(/^[ \t]+|[ \t]+$/g, '');
      push('code', pos, close + 2, inner, tLine, tCol);
      advance(close + 2);
      continue;
    }
    // Strings and back-quoted commands: a backslash escapes the next character.
    if (c === '"' || c === '`') {
      let i = pos + 1;
      while (i < src.length && src[i] !== c) i += src[i] === '\\' ? 2 : 1;
      if (i >= src.length) {
        throw err(c === '"' ? 'unterminated string: no closing \'"\'' : 'unterminated `command`: no closing back-quote', tLine, tCol);
      }
      push(c === '"' ? 'string' : 'backquote', pos, i + 1, src.slice(pos + 1, i), tLine, tCol);
      advance(i + 1);
      continue;
    }

    // Numbers, words, addresses, ellipsis, options: longest match, earlier rule on ties.
    const candidates: Array<[TokenType, number]> = [
      ['ellipsis', matchLen(RE_ELLIPSIS, src, pos)],
      ['option', matchLen(RE_OPTION, src, pos)],
      ['float', matchLen(RE_FLOAT, src, pos)],
      ['int', matchLen(RE_INT, src, pos)],
      ['hex', matchLen(RE_HEX, src, pos)],
      ['word', matchLen(RE_WORD, src, pos)],
      ['punct', 1],
      ['ipv4', matchLen(RE_IPV4, src, pos)],
      ['ipv6', /[0-9a-fA-F:]/.test(c) ? ipv6Len(src, pos) : 0],
    ];
    let bestType: TokenType = 'punct';
    let bestLen = 0;
    for (const [type, len] of candidates) {
      if (len > bestLen) { bestType = type; bestLen = len; }
    }
    const end = pos + bestLen;
    const text = src.slice(pos, end);
    if (bestType === 'punct' && (c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127)) {
      throw err(`unexpected control character 0x${c.charCodeAt(0).toString(16).padStart(2, '0')}`, tLine, tCol);
    }
    push(bestType, pos, end, bestType === 'option' ? text.slice(2) : text, tLine, tCol);
    advance(end);
  }
  tokens.push({ type: 'eof', text: '', value: '', line, column: pos - lineStart + 1, offset: pos, end: pos });
  return tokens;
}

/** How a token is named in error messages. */
export function describeToken(t: Token): string {
  if (t.type === 'eof') return 'end of file';
  const shown = t.text.length > 40 ? `${t.text.slice(0, 37)}...` : t.text;
  return `'${shown.replace(/\n/g, '\\n')}'`;
}
