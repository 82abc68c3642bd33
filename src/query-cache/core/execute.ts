// Why: what an EXECUTE runs is its prepared statement with each `?` replaced by its USING expression,
// and the cache must judge exactly that statement (what it reads, whether it is deterministic: a USING
// expression can be a subquery or random()), not the body with its placeholders. One pure resolution,
// used by the classifier and by the embedded engine that runs it, so both see the same statement.
import { identifierName, isNameToken, lineColumn, stringValue, tokenize, wordOf, type Token } from './sql.ts';

export type Resolution =
  | { kind: 'statement'; sql: string }
  /** Trino's error name and words: NOT_FOUND, INVALID_PARAMETER_USAGE, SYNTAX_ERROR. */
  | { kind: 'error'; errorName: string; message: string };

const fail = (errorName: string, message: string): Resolution => ({ kind: 'error', errorName, message });

/** The body a prepared-statement name stands for: exact name first, then Trino's case-insensitive match. */
export function preparedBody(prepared: Readonly<Record<string, string>> | undefined, nameToken: Token): string | undefined {
  if (!prepared) return undefined;
  const name = identifierName(nameToken);
  return prepared[nameToken.text] ?? prepared[name] ?? Object.entries(prepared).find(([k]) => k.toLowerCase() === name)?.[1];
}

/** Splits tokens at top-level commas (outside parentheses and brackets). */
function splitTopLevel(t: readonly Token[]): Token[][] {
  const out: Token[][] = [[]];
  let depth = 0;
  for (const tok of t) {
    if (tok.text === '(' || tok.text === '[') depth++;
    else if (tok.text === ')' || tok.text === ']') depth--;
    if (tok.text === ',' && depth === 0) out.push([]);
    else out.at(-1)!.push(tok);
  }
  return out;
}

/**
 * `EXECUTE name [USING e, …]` (the body from the prepared statements the client holds) or
 * `EXECUTE IMMEDIATE 'sql' [USING e, …]`, given the statement's tokens without trailing semicolons:
 * the statement it runs, each `?` replaced by its parenthesized argument; or Trino's error for it.
 * Undefined when `t` is not an EXECUTE.
 */
export function resolveExecute(sql: string, t: readonly Token[], prepared: Readonly<Record<string, string>> | undefined): Resolution | undefined {
  if (wordOf(t[0]) !== 'execute') return undefined;
  const syntax = (at: Token | undefined, message: string) => fail('SYNTAX_ERROR', `${lineColumn(sql, at?.start ?? sql.length)}: ${message}`);
  let body: string;
  let bodyAt: number; // where a position in the body lies in the request text, for Trino's line:column
  let next: number;
  if (wordOf(t[1]) === 'immediate') {
    if (t[2]?.kind !== 'string') return syntax(t[2], "expected EXECUTE IMMEDIATE 'statement'");
    body = stringValue(t[2]);
    bodyAt = t[2].start + 1;
    next = 3;
  } else {
    if (!isNameToken(t[1])) return syntax(t[1], 'expected EXECUTE name [USING value, …]');
    const found = preparedBody(prepared, t[1]!);
    if (found === undefined) return fail('NOT_FOUND', `Prepared statement not found: ${identifierName(t[1]!)}`);
    body = found;
    bodyAt = 0;
    next = 2;
  }
  let args: Token[][] = [];
  if (t.length > next) {
    if (wordOf(t[next]) !== 'using' || t.length === next + 1) return syntax(t[next], 'expected USING value, …');
    args = splitTopLevel(t.slice(next + 1));
    if (args.some((x) => x.length === 0)) return syntax(t[next + 1], 'expected USING value, …');
  }
  const inner = tokenize(body);
  if (inner.error) return fail('SYNTAX_ERROR', `${bodyAt > 0 ? lineColumn(sql, bodyAt) : 'line 1:1'}: the prepared statement does not parse (${inner.error})`);
  const marks = inner.tokens.filter((x) => x.kind === 'punct' && x.text === '?');
  if (marks.length !== args.length) {
    const where = bodyAt > 0 ? lineColumn(sql, bodyAt) : 'line 1:1';
    return fail('INVALID_PARAMETER_USAGE', `${where}: Incorrect number of parameters: expected ${marks.length} but found ${args.length}`);
  }
  let out = '';
  let at = 0;
  marks.forEach((mark, k) => {
    const arg = args[k]!;
    out += `${body.slice(at, mark.start)}(${sql.slice(arg[0]!.start, arg.at(-1)!.start + arg.at(-1)!.text.length)})`;
    at = mark.start + 1;
  });
  return { kind: 'statement', sql: out + body.slice(at) };
}
