// Why: the cache must know, without an engine round trip, whether a statement may be cached and a normal
// form of its text (for the key). A tokenizer that understands Trino's literals, quoted identifiers and
// comments is enough for both. Which tables a statement reads is not decided here: that needs a real
// parser (the engine's, see Engine.relations); the tokenizer only lists every name the text mentions,
// an over-approximation that protective rules use when the parser cannot give a complete set.
// Pure: no I/O.

export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'punct';

export interface Token {
  kind: TokenKind;
  /** Exact source text of the token. */
  text: string;
  /** Offset of the token's first character in the source. */
  start: number;
  /** Whitespace or a comment stood between this token and the previous one. */
  spaced: boolean;
}

export interface Tokenized {
  tokens: Token[];
  /** Set when the text ends inside a literal, quoted identifier or block comment. */
  error?: string;
  /** Where the unterminated literal, identifier or comment starts. */
  errorAt?: number;
}

const isWordStart = (c: string) => /[A-Za-z_\u0080-\uffff]/.test(c);
const isWordPart = (c: string) => /[A-Za-z0-9_$@\u0080-\uffff]/.test(c);

/** A numeric literal from its first character (a digit, or `.` before a digit). */
const NUMBER = /0[xX][0-9A-Fa-f_]+|0[bB][01_]+|0[oO][0-7_]+|(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9]+)?/y;

/** `$tag$` (tag optional, never starting with a digit: `$1` is a parameter) opens a dollar-quoted string. */
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/**
 * Split SQL into tokens; comments and whitespace are dropped but remembered as `spaced`.
 * The lexing must agree with the engines' (the cache key drops what it takes for comments, and the
 * classifier reads only what it takes for code): a line comment ends at CR or LF (Trino and DuckDB both);
 * DuckDB's `E'…'` strings take backslash escapes and its `$tag$…$tag$` strings are strings; and a block
 * comment that opens another is refused, since DuckDB nests block comments and Trino does not.
 */
export function tokenize(sql: string): Tokenized {
  const tokens: Token[] = [];
  let i = 0;
  let spaced = false;
  const n = sql.length;
  const push = (kind: TokenKind, end: number) => {
    tokens.push({ kind, text: sql.slice(i, end), start: i, spaced });
    spaced = false;
    i = end;
  };
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') {
      spaced = true;
      i++;
    } else if (c === '-' && next === '-') {
      let end = i + 2;
      while (end < n && sql[end] !== '\n' && sql[end] !== '\r') end++;
      i = end;
      spaced = true;
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end === -1) return { tokens, error: 'unterminated block comment', errorAt: i };
      const inner = sql.indexOf('/*', i + 2);
      if (inner !== -1 && inner < end) return { tokens, error: "a block comment may not contain '/*' (engines disagree on nesting)", errorAt: inner };
      i = end + 2;
      spaced = true;
    } else if ((c === 'E' || c === 'e') && next === "'") {
      // DuckDB's escape string: a backslash escapes the next character, '' is a quote too. Trino reads
      // E'…' as a name and a plain string, so where a backslash escapes a quote the two disagree on where
      // the string ends: refused, like a nested comment.
      let j = i + 2;
      for (;;) {
        if (j >= n) return { tokens, error: 'unterminated string literal', errorAt: i };
        if (sql[j] === '\\') {
          if (sql[j + 1] === "'") return { tokens, error: "an E'' string may not escape a quote with a backslash (engines disagree on where it ends); write ''", errorAt: j };
          j += 2;
        } else if (sql[j] === "'" && sql[j + 1] === "'") j += 2;
        else if (sql[j] === "'") break;
        else j++;
      }
      push('string', j + 1);
    } else if (c === "'" || ((c === 'X' || c === 'x') && next === "'") || ((c === 'U' || c === 'u') && next === '&' && sql[i + 2] === "'")) {
      let j = sql.indexOf("'", i) + 1;
      for (;;) {
        const close = sql.indexOf("'", j);
        if (close === -1) return { tokens, error: 'unterminated string literal', errorAt: i };
        if (sql[close + 1] === "'") j = close + 2;
        else {
          j = close + 1;
          break;
        }
      }
      push('string', j);
    } else if (c === '$' && (DOLLAR_TAG.lastIndex = i, DOLLAR_TAG.test(sql))) {
      const tag = sql.slice(i, DOLLAR_TAG.lastIndex);
      const close = sql.indexOf(tag, DOLLAR_TAG.lastIndex);
      if (close === -1) return { tokens, error: 'unterminated dollar-quoted string', errorAt: i };
      push('string', close + tag.length);
    } else if (c === '"' || c === '`') {
      let j = i + 1;
      for (;;) {
        const close = sql.indexOf(c, j);
        if (close === -1) return { tokens, error: 'unterminated quoted identifier', errorAt: i };
        if (sql[close + 1] === c) j = close + 2;
        else {
          j = close + 1;
          break;
        }
      }
      push('quoted', j);
    } else if (/[0-9]/.test(c) || (c === '.' && next !== undefined && /[0-9]/.test(next))) {
      // As Trino and DuckDB read numbers: 0x/0b/0o forms, digits (and _ separators), a fraction, and an
      // exponent only when digits follow it. What follows is another token (`1e--x` is 1, e, a comment).
      NUMBER.lastIndex = i;
      NUMBER.test(sql);
      push('number', NUMBER.lastIndex);
    } else if (isWordStart(c)) {
      let j = i + 1;
      while (j < n && isWordPart(sql[j]!)) j++;
      push('word', j);
    } else {
      const two = sql.slice(i, i + 2);
      push('punct', i + (['<=', '>=', '<>', '!=', '||', '->', '=>', '::'].includes(two) ? 2 : 1));
    }
  }
  return { tokens };
}

/** A word token's text, lower-cased (keywords and unquoted names); undefined for any other token. */
export const wordOf = (t: Token | undefined): string | undefined => (t?.kind === 'word' ? t.text.toLowerCase() : undefined);

/** Whether a token can be a name: a word or a quoted identifier. */
export const isNameToken = (t: Token | undefined): t is Token => t !== undefined && (t.kind === 'word' || t.kind === 'quoted');

/** The statement's tokens without its trailing semicolons. */
export function withoutTrailingSemicolons(tokens: readonly Token[]): Token[] {
  let end = tokens.length;
  while (end > 0 && tokens[end - 1]!.text === ';') end--;
  return tokens.slice(0, end);
}

/** The key form of a statement: comments dropped, whitespace runs collapsed, a trailing `;` removed (counted in place: no copy, as this runs for every new statement). */
export function normalizeSql(tokens: readonly Token[]): string {
  let end = tokens.length;
  while (end > 0 && tokens[end - 1]!.text === ';') end--;
  let out = '';
  for (let k = 0; k < end; k++) {
    const t = tokens[k]!;
    if (k > 0 && t.spaced) out += ' ';
    out += t.text;
  }
  return out;
}

/** Identifier value: unquoted are case-insensitive (lower-cased), quoted keep their case. */
export function identifierName(t: Token): string {
  if (t.kind === 'quoted') return t.text.slice(1, -1).replaceAll(t.text[0]! + t.text[0]!, t.text[0]!).toLowerCase();
  return t.text.toLowerCase();
}

/** The text of a string literal token (`'it''s'` -> `it's`, `$x$a$x$` -> `a`); prefixed forms (E'', X'', U&'') keep their escapes. */
export function stringValue(t: Token): string {
  if (t.text.startsWith('$')) {
    const tagEnd = t.text.indexOf('$', 1) + 1;
    return t.text.slice(tagEnd, t.text.length - tagEnd);
  }
  const open = t.text.indexOf("'");
  return t.text.slice(open + 1, -1).replaceAll("''", "'");
}

/** `line L:C` of an offset, as Trino's error messages say where they are (1-based). */
export function lineColumn(sql: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < sql.length; i++) {
    if (sql[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return `line ${line}:${offset - lineStart + 1}`;
}
