/**
 * `--filter EXPR`: which connections to print. A small expression language over the JSON report fields:
 *
 *   close == rst-by-responder            conn_state != SF and orig_pkts > 3
 *   host 10.0.0.1 and port 443           not (handshake == normal) or history ~ "R"
 *
 * Comparisons: == != < <= > >= and ~ (substring, or /regex/). `host ADDR` and `port N` match either
 * endpoint; `anomalous` is true when the connection has anomalies. Operators: and (&&), or (||), not (!),
 * parentheses. Bare values need no quotes; quote values with spaces.
 */
import type { ConnectionReport } from './report.js';

export class FilterError extends Error {
  readonly position: number;
  constructor(message: string, position: number) {
    super(`filter: ${message} (at character ${position + 1})`);
    this.name = 'FilterError';
    this.position = position;
  }
}

export type ConnectionPredicate = (r: ConnectionReport) => boolean;

interface Tok { t: 'word' | 'str' | 'op' | '(' | ')'; v: string; pos: number }

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '(' || c === ')') { out.push({ t: c, v: c, pos: i }); i++; continue; }
    const two = src.slice(i, i + 2);
    if (['==', '!=', '<=', '>=', '&&', '||'].includes(two)) { out.push({ t: 'op', v: two, pos: i }); i += 2; continue; }
    if ('<>~!='.includes(c)) { out.push({ t: 'op', v: c === '=' ? '==' : c, pos: i }); i++; continue; }
    if (c === '"' || c === "'") {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new FilterError('unterminated string', i);
      out.push({ t: 'str', v: src.slice(i + 1, end), pos: i });
      i = end + 1;
      continue;
    }
    if (c === '/') {
      const end = src.indexOf('/', i + 1);
      if (end < 0) throw new FilterError('unterminated /regex/', i);
      out.push({ t: 'str', v: src.slice(i, end + 1), pos: i });
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < src.length && !/[\s()<>=!~&|"']/.test(src[j]!)) j++;
    out.push({ t: 'word', v: src.slice(i, j), pos: i });
    i = j;
  }
  return out;
}

const FIELDS = new Set([
  'uid', 'ts', 'duration', 'orig_h', 'orig_p', 'resp_h', 'resp_p', 'ip_version', 'handshake', 'close', 'half_close_data',
  'orig_state', 'resp_state', 'conn_state', 'history', 'completeness', 'orig_pkts', 'resp_pkts', 'orig_bytes', 'resp_bytes',
  'orig_ip_bytes', 'resp_ip_bytes', 'retransmissions', 'dup_acks', 'out_of_order', 'zero_windows', 'keep_alives',
  'lost_segments', 'bad_checksums', 'first_frame', 'last_frame', 'direction_inferred', 'split',
]);

export function compileFilter(src: string): ConnectionPredicate {
  const toks = tokenize(src);
  let k = 0;
  const peek = (): Tok | undefined => toks[k];
  const isWord = (w: string): boolean => { const t = peek(); return t !== undefined && t.t === 'word' && t.v.toLowerCase() === w; };
  const isOp = (o: string): boolean => { const t = peek(); return t !== undefined && t.t === 'op' && t.v === o; };

  function parseOr(): ConnectionPredicate {
    let left = parseAnd();
    while (isWord('or') || isOp('||')) {
      k++;
      const l = left;
      const r = parseAnd();
      left = (x) => l(x) || r(x);
    }
    return left;
  }
  function parseAnd(): ConnectionPredicate {
    let left = parseNot();
    for (;;) {
      if (isWord('and') || isOp('&&')) k++;
      else {
        const t = peek();
        // Juxtaposition means "and" (as in tcpdump: `host x port y`).
        if (!t || t.t === ')' || isWord('or') || isOp('||')) break;
      }
      const l = left;
      const r = parseNot();
      left = (x) => l(x) && r(x);
    }
    return left;
  }
  function parseNot(): ConnectionPredicate {
    if (isWord('not') || isOp('!')) {
      k++;
      const inner = parseNot();
      return (x) => !inner(x);
    }
    return parsePrimary();
  }
  function value(): Tok {
    const t = peek();
    if (!t || (t.t !== 'word' && t.t !== 'str')) throw new FilterError('expected a value', t ? t.pos : src.length);
    k++;
    return t;
  }
  function parsePrimary(): ConnectionPredicate {
    const t = peek();
    if (!t) throw new FilterError('unexpected end of expression', src.length);
    if (t.t === '(') {
      k++;
      const e = parseOr();
      const c = peek();
      if (!c || c.t !== ')') throw new FilterError("expected ')'", c ? c.pos : src.length);
      k++;
      return e;
    }
    if (t.t !== 'word') throw new FilterError(`unexpected '${t.v}'`, t.pos);
    const w = t.v.toLowerCase();
    if (w === 'host') {
      k++;
      const v = value().v.toLowerCase();
      return (x) => x.orig_h === v || x.resp_h === v;
    }
    if (w === 'port') {
      k++;
      const vt = value();
      const n = Number(vt.v);
      if (!Number.isInteger(n)) throw new FilterError(`port needs a number, got '${vt.v}'`, vt.pos);
      return (x) => x.orig_p === n || x.resp_p === n;
    }
    if (w === 'anomalous') { k++; return (x) => x.anomalies.length > 0; }
    if (!FIELDS.has(t.v)) throw new FilterError(`unknown field '${t.v}'`, t.pos);
    k++;
    const field = t.v as keyof ConnectionReport;
    const op = peek();
    if (!op || op.t !== 'op' || op.v === '&&' || op.v === '||' || op.v === '!') {
      // A bare boolean field.
      return (x) => Boolean(x[field]);
    }
    k++;
    const vt = value();
    return comparison(field, op.v, vt);
  }

  const pred = parseOr();
  if (k < toks.length) throw new FilterError(`unexpected '${toks[k]!.v}'`, toks[k]!.pos);
  return pred;
}

function comparison(field: keyof ConnectionReport, op: string, vt: Tok): ConnectionPredicate {
  const raw = vt.v;
  if (op === '~') {
    if (raw.length > 1 && raw.startsWith('/') && raw.endsWith('/')) {
      let re: RegExp;
      try { re = new RegExp(raw.slice(1, -1)); } catch (e) { throw new FilterError(`bad regex: ${(e as Error).message}`, vt.pos); }
      return (x) => re.test(String(x[field]));
    }
    return (x) => String(x[field]).includes(raw);
  }
  const num = Number(raw);
  const numeric = raw !== '' && Number.isFinite(num);
  const cmp = (a: unknown): number => {
    if (numeric && typeof a === 'number') return a - num;
    const s = a === null ? 'null' : String(a);
    return s < raw ? -1 : s > raw ? 1 : 0;
  };
  switch (op) {
    case '==': return (x) => cmp(x[field]) === 0;
    case '!=': return (x) => cmp(x[field]) !== 0;
    case '<': return (x) => cmp(x[field]) < 0;
    case '<=': return (x) => cmp(x[field]) <= 0;
    case '>': return (x) => cmp(x[field]) > 0;
    case '>=': return (x) => cmp(x[field]) >= 0;
    default: throw new FilterError(`unknown operator '${op}'`, vt.pos);
  }
}
