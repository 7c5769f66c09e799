/**
 * A script error found while reading a packetdrill script (§2.3 of packetdrill-language.md): bad
 * syntax, an out-of-range value, a construct used where the language forbids it. Never a test failure
 * (that is the runner's business) and never a bare TypeError.
 */
export type DrillErrorCode =
  | 'lex'          // a character or token the lexer cannot read (unterminated string, stray char)
  | 'syntax'       // a token the grammar does not allow here
  | 'range'        // a number outside its field (port, window, wscale, ...)
  | 'semantic'     // well-formed but forbidden (inbound without win, `*` on a syscall, time going backward, ...)
  | 'preprocess'   // #ifdef / #endif structure
  | 'option';      // a `--name=value` line with a bad value

export class DrillParseError extends Error {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly code: DrillErrorCode;
  /** What the parser was looking for, e.g. "'win N' (mandatory on inbound packets)". */
  readonly expected?: string;
  /** What it found instead, e.g. "'<'" or "end of file". */
  readonly found?: string;
  /** The message without the file:line:column prefix. */
  readonly detail: string;

  constructor(init: { file: string; line: number; column: number; code: DrillErrorCode; message: string; expected?: string; found?: string }) {
    super(`${init.file}:${init.line}:${init.column}: ${init.message}`);
    this.name = 'DrillParseError';
    this.file = init.file;
    this.line = init.line;
    this.column = init.column;
    this.code = init.code;
    this.expected = init.expected;
    this.found = init.found;
    this.detail = init.message;
  }
}

/** A run's failure (a mismatch, a timing error) with the script line it is on: the runner's FAIL verdict. */
export class DrillFailure extends Error {
  constructor(message: string, readonly line: number) { super(message); this.name = 'DrillFailure'; }
}

/** A construct synack cannot run (never a silent pass): the runner's UNSUPPORTED verdict. */
export class DrillUnsupported extends Error {
  constructor(readonly construct: string, readonly line: number) { super(construct); this.name = 'DrillUnsupported'; }
}
