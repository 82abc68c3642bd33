// Why: DESIGN.md's cacheability rules that need no parser, in one pure function: one statement that
// is SQL at all, read-only, deterministic, no system tables. Which tables a statement reads comes from
// the engine's parser (Engine.relations); this file only lists every name the text mentions, the
// over-approximation a protective rule falls back on when that set is incomplete.
// Conservative by construction: a false "not cacheable" costs a round trip, a false "cacheable" is a bug.

import { resolveExecute } from './execute.ts';
import { identifierName, lineColumn, normalizeSql, stringValue, tokenize, withoutTrailingSemicolons, type Token } from './sql.ts';

export type BypassReason = 'not-read-only' | 'session' | 'nondeterministic' | 'system-table' | 'empty';

export interface Classification {
  normalizedSql: string;
  readOnly: boolean;
  /** Why the result must not be cached, if it must not. */
  bypass: BypassReason | undefined;
  /** Set when the text cannot be one SQL statement (Trino-style `line L:C: …`): answered as SYNTAX_ERROR. */
  syntaxError: string | undefined;
  /**
   * Every name the text mentions (1-3 lower-cased parts), in identifier chains and inside string literals
   * (`query_table('a.b')`, `query('select … from t')`), keywords left out. A superset of what it reads.
   */
  mentions: string[][];
  /** The statement touches system./information_schema tables (may be allowed by a rule). */
  readsSystemTables: boolean;
  /**
   * It calls a table function (`TABLE(...)`, `query(...)`, `query_table(...)`, `read_*(...)`, …): what it
   * reads may be computed at run time, so without a parser's view a `cache: false` rule must assume the worst.
   */
  callsTableFunction: boolean;
  /** What an engine's parser should read: the explained statement of an EXPLAIN, else the statement. */
  parseTarget: string;
  /** The key form of `parseTarget`: an engine that can parse both checks they mean the same. */
  normalizedTarget: string;
  /** An EXECUTE that cannot run (a statement the client does not hold, a wrong parameter count): Trino's error for it. */
  executeError?: { errorName: string; message: string };
}

const READ_ONLY_FIRST = new Set(['select', 'with', 'values', 'show', 'describe', 'desc', 'table', 'explain']);

/** First words of every statement Trino or DuckDB knows; anything else is a syntax error. */
const STATEMENT_FIRST = new Set([
  ...READ_ONLY_FIRST, 'desc', 'from', 'pivot', 'unpivot', 'summarize', 'insert', 'update', 'delete', 'merge', 'create',
  'drop', 'alter', 'truncate', 'grant', 'revoke', 'deny', 'call', 'set', 'reset', 'use', 'commit', 'rollback', 'start',
  'begin', 'end', 'abort', 'prepare', 'execute', 'deallocate', 'copy', 'attach', 'detach', 'install', 'load', 'force',
  'pragma', 'export', 'import', 'checkpoint', 'vacuum', 'refresh', 'analyze', 'comment',
]);

/** How Trino (476) ends its syntax error for a statement that starts with no statement keyword. */
const TRINO_STATEMENT_EXPECTING =
  "Expecting: 'ALTER', 'ANALYZE', 'CALL', 'COMMENT', 'COMMIT', 'CREATE', 'DEALLOCATE', 'DELETE', 'DENY', 'DESC', 'DESCRIBE', " +
  "'DROP', 'EXECUTE', 'EXPLAIN', 'GRANT', 'INSERT', 'MERGE', 'PREPARE', 'REFRESH', 'RESET', 'REVOKE', 'ROLLBACK', 'SET', 'SHOW', " +
  "'START', 'TRUNCATE', 'UPDATE', 'USE', 'WITH', <query>";

/** Words that write, change session state or run side effects, wherever they appear. */
const WRITE_WORDS = new Set([
  'insert', 'update', 'delete', 'merge', 'create', 'drop', 'alter', 'truncate', 'grant', 'revoke', 'deny',
  'call', 'set', 'reset', 'use', 'commit', 'rollback', 'start', 'prepare', 'execute', 'deallocate', 'copy',
  'attach', 'detach', 'install', 'load', 'pragma', 'export', 'import', 'checkpoint', 'vacuum', 'refresh',
  'analyze', 'analyse', 'comment',
]);

/** Functions and special registers whose value changes between executions. */
const NONDETERMINISTIC = new Set([
  'now', 'current_timestamp', 'current_date', 'current_time', 'localtime', 'localtimestamp', 'random', 'rand',
  'uuid', 'gen_random_uuid', 'random_uuid', 'shuffle', 'current_user', 'current_groups', 'current_catalog',
  'current_schema', 'current_path', 'current_role', 'session_user', 'system_user', 'nextval', 'currval',
  'setseed', 'get_current_time', 'get_current_timestamp', 'today', 'transaction_timestamp', 'tablesample',
  'current_setting', 'current_database', 'current_query', 'txid_current', 'sysdate', 'getdate', 'uuidv4', 'uuidv7',
  'current_localtimestamp', 'current_transaction_id', 'current_query_id', 'current_schemas', 'in_search_path',
  'reservoir_quantile',
]);

const SYSTEM_SCHEMAS = new Set(['information_schema', 'pg_catalog']);

/** Table functions that read relations named at run time (Trino's `TABLE(...)` is recognised apart). */
const TABLE_FUNCTIONS = new Set(['query', 'query_table', 'glob', 'sniff_csv', 'iceberg_scan', 'delta_scan', 'postgres_query', 'mysql_query', 'sqlite_scan']);

/** Reserved words (never a table name unquoted), left out of `mentions` so a wildcard rule is not hit by grammar. */
const KEYWORDS = new Set([
  ...READ_ONLY_FIRST, 'from', 'where', 'group', 'by', 'order', 'having', 'limit', 'offset', 'fetch', 'union',
  'intersect', 'except', 'all', 'distinct', 'join', 'inner', 'left', 'right', 'full', 'outer', 'cross', 'natural',
  'on', 'using', 'as', 'and', 'or', 'not', 'in', 'is', 'null', 'true', 'false', 'case', 'when', 'then', 'else',
  'end', 'between', 'like', 'ilike', 'exists', 'cast', 'lateral', 'unnest', 'over', 'partition', 'qualify',
  'recursive', 'escape',
]);

function isIdent(t: Token | undefined): t is Token {
  return t !== undefined && (t.kind === 'word' || t.kind === 'quoted');
}

/** Index after a balanced `( … )` group starting at `k`; `k` itself when no group starts there. */
function skipParenGroup(tokens: readonly Token[], k: number): number {
  if (tokens[k]?.text !== '(') return k;
  let depth = 0;
  for (; k < tokens.length; k++) {
    if (tokens[k]!.text === '(') depth++;
    else if (tokens[k]!.text === ')' && --depth === 0) return k + 1;
  }
  return k;
}

/** Nested string literals are read this deep (a query() inside a query() …). */
const MAX_LITERAL_DEPTH = 3;

/** Identifier chains (and names inside string literals), as lower-cased parts; calls and keywords left out. */
function mentionsOf(tokens: readonly Token[], depth: number, out: string[][]): void {
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind === 'string') {
      if (depth < MAX_LITERAL_DEPTH) {
        const inner = tokenize(stringValue(t));
        if (!inner.error) mentionsOf(inner.tokens, depth + 1, out);
      }
      continue;
    }
    if (!isIdent(t) || tokens[k - 1]?.text === '.') continue;
    const parts = [identifierName(t)];
    let j = k + 1;
    while (tokens[j]?.text === '.' && isIdent(tokens[j + 1])) {
      parts.push(identifierName(tokens[j + 1]!));
      j += 2;
    }
    if (tokens[j]?.text === '(' && parts.length === 1 && t.kind === 'word') continue; // a function call
    if (parts.length === 1 && t.kind === 'word' && KEYWORDS.has(parts[0]!)) continue;
    // `t.col`, `c.s.t.col.field`: every prefix of up to three parts may be the relation.
    for (let n = 1; n <= Math.min(3, parts.length); n++) out.push(parts.slice(0, n));
  }
}

/** Statements that change only the client's session; Trino answers them with X-Trino-Set-* headers. */
function isSessionStatement(words: readonly string[]): boolean {
  const [a, b] = words;
  if (a === 'use' || a === 'prepare' || a === 'deallocate' || a === 'commit' || a === 'rollback') return true;
  if (a === 'start' && b === 'transaction') return true;
  if ((a === 'set' || a === 'reset') && (b === 'session' || b === 'role' || b === 'path' || b === 'time')) return true;
  return false;
}

/** The statement an EXPLAIN explains: after `EXPLAIN`, its `( options )` and `ANALYZE`/`VERBOSE`. */
function explainedStart(body: readonly Token[]): number {
  let k = 1;
  k = skipParenGroup(body, k);
  while (body[k]?.kind === 'word' && ['analyze', 'verbose'].includes(body[k]!.text.toLowerCase())) k++;
  return k;
}

export interface ClassifyOptions {
  /** Prepared statements the client holds (X-Trino-Prepared-Statement): `EXECUTE name` is classified as its body. */
  prepared?: Readonly<Record<string, string>> | undefined;
  /** Classifying what an EXECUTE runs: an EXECUTE inside it is not looked into (one level only). */
  executed?: boolean;
}

export function classifySql(sql: string, opts: ClassifyOptions = {}): Classification {
  const { tokens, error, errorAt } = tokenize(sql);
  const normalizedSql = normalizeSql(tokens);
  const base = { normalizedSql, mentions: [], readsSystemTables: false, callsTableFunction: false, syntaxError: undefined, parseTarget: sql, normalizedTarget: normalizedSql };
  if (error) return { ...base, readOnly: false, bypass: undefined, syntaxError: `${lineColumn(sql, errorAt ?? 0)}: ${error}` };
  const body = withoutTrailingSemicolons(tokens);
  if (body.length === 0) return { ...base, readOnly: false, bypass: 'empty' };
  const semicolon = body.find((t) => t.text === ';');
  if (semicolon) {
    return { ...base, readOnly: false, bypass: undefined, syntaxError: `${lineColumn(sql, semicolon.start)}: only one statement per request (more SQL follows ';')` };
  }
  const first = body.find((t) => t.text !== '(');
  const firstWord = first?.kind === 'word' ? first.text.toLowerCase() : '';
  if (!STATEMENT_FIRST.has(firstWord)) {
    const what = first ? `mismatched input '${first.text.slice(0, 64)}'` : 'no statement inside the parentheses';
    // At the very start, the words of Trino's own message (what a Trino client would have seen).
    const expecting = first === body[0] ? TRINO_STATEMENT_EXPECTING : 'Expecting a statement (SELECT, WITH, VALUES, SHOW, DESCRIBE, EXPLAIN, …)';
    return {
      ...base,
      readOnly: false,
      bypass: undefined,
      syntaxError: `${lineColumn(sql, first?.start ?? 0)}: ${what}. ${expecting}`,
    };
  }
  // EXECUTE of a read-only statement reads like the statement it runs: the body with its USING values in
  // place (a value may read a table or call random()). Its key stays the whole EXECUTE text, USING values
  // included, and the door keys prepared bodies too; anything else stays not read-only.
  const executed = opts.executed === true ? undefined : resolveExecute(sql, body, opts.prepared);
  if (executed?.kind === 'error') return { ...base, readOnly: false, bypass: 'not-read-only', executeError: { errorName: executed.errorName, message: executed.message } };
  if (executed !== undefined) {
    const inner = classifySql(executed.sql, { executed: true });
    if (inner.readOnly && inner.syntaxError === undefined) return { ...inner, normalizedSql };
  }
  // The whole text goes to the parser (trailing comments and semicolons included: it must see exactly what
  // the engine will run); for EXPLAIN, everything after the EXPLAIN and its options.
  const explained = firstWord === 'explain' ? explainedStart(body) : 0;
  const parseTarget = explained > 0 ? sql.slice(body[explained]?.start ?? sql.length) : sql;
  const normalizedTarget = explained > 0 ? normalizeSql(body.slice(explained)) : normalizedSql;

  const words = body.filter((t) => t.kind === 'word').map((t) => t.text.toLowerCase());
  // A quoted name calls the same function: `"now"()` is now().
  const called = body.filter((t, i) => t.kind === 'quoted' && body[i + 1]?.text === '(').map(identifierName);
  const readOnly = READ_ONLY_FIRST.has(firstWord) && !body.some((t, i) => t.kind === 'word' && WRITE_WORDS.has(t.text.toLowerCase()) && !usedAsName(body, i));
  const mentions: string[][] = [];
  mentionsOf(body, 0, mentions);
  const callsTableFunction = body.some((t, i) => {
    if (body[i + 1]?.text !== '(' || (t.kind !== 'word' && t.kind !== 'quoted')) return false;
    const fn = identifierName(t);
    return fn === 'table' || TABLE_FUNCTIONS.has(fn) || fn.startsWith('read_') || fn.startsWith('scan_');
  });
  const readsSystemTables =
    words.some((w) => SYSTEM_SCHEMAS.has(w) || w.startsWith('duckdb_')) ||
    mentions.some((r) => (r.length === 3 && r[0] === 'system') || r.some((p) => p.includes('$') || SYSTEM_SCHEMAS.has(p)));
  // DuckDB's `USING SAMPLE` draws rows at random, like TABLESAMPLE.
  const sampled = words.some((w, i) => w === 'using' && words[i + 1] === 'sample');

  let bypass: BypassReason | undefined;
  if (!readOnly) bypass = isSessionStatement(words) ? 'session' : 'not-read-only';
  else if (sampled || nondeterministicWord(body) || called.some((w) => NONDETERMINISTIC.has(w))) bypass = 'nondeterministic';
  else if (readsSystemTables) bypass = 'system-table';
  return { normalizedSql, readOnly, bypass, syntaxError: undefined, mentions, readsSystemTables, callsTableFunction, parseTarget, normalizedTarget };
}

/** Nondeterministic function names that are also type names: only a call counts (`UUID '…'` is a literal). */
const CALLED_ONLY = new Set(['uuid']);

function nondeterministicWord(body: readonly Token[]): boolean {
  return body.some((t, i) => {
    if (t.kind !== 'word') return false;
    const w = t.text.toLowerCase();
    return NONDETERMINISTIC.has(w) && (!CALLED_ONLY.has(w) || body[i + 1]?.text === '(');
  });
}

/** Words after which a write word can only be a column or other name, never the start of a statement. */
const NAME_CONTEXT_BEFORE = new Set(['.', ',', 'select', 'distinct', 'by', 'where', 'and', 'or', 'not', 'on', 'when', 'then', 'else', 'as', 'is', 'in', 'like', 'between', '=', '<>', '!=', '<', '>', '<=', '>=', '+', '-', '*', '/', '%', '||']);
// Not FROM or AS: `WITH x AS (…) DELETE FROM t` starts a write with a word FROM follows.
const NAME_CONTEXT_AFTER = new Set(['.', ',', ')', '=', '<>', '!=', '<', '>', '<=', '>=', '||', 'is', 'like', 'between', 'asc', 'desc', 'and', 'or']);

/**
 * Whether the write word at `i` is used as a name (tpch's `comment` column, a `start` or `load` column):
 * a statement that writes can only begin at the start, after `(` or after a WITH clause's `)`, or after
 * EXPLAIN; a word right after a `.`, `,`, an operator or a clause keyword, or right before one, is a name.
 * EXPLAIN ANALYZE (which runs its statement) is never a name.
 */
function usedAsName(body: readonly Token[], i: number): boolean {
  const before = body[i - 1]?.text.toLowerCase();
  const after = body[i + 1]?.text.toLowerCase();
  // EXPLAIN ANALYZE, EXPLAIN (ANALYSE) run their statement: those words are never taken for names.
  if (before === 'explain' || body[i]!.text.toLowerCase().startsWith('analy')) return false;
  return (before !== undefined && NAME_CONTEXT_BEFORE.has(before)) || (after !== undefined && NAME_CONTEXT_AFTER.has(after));
}

/**
 * Every relation a mention could name, fully qualified and lower-cased: a one-part name in the session's
 * schema, `a.b` as schema.table (Trino) and as catalog.table in its `main` schema (DuckDB).
 */
export function qualifyMentions(mentions: readonly string[][], catalog: string, schema: string): string[] {
  const out = new Set<string>();
  for (const r of mentions) {
    if (r.length === 3) out.add(r.join('.'));
    else if (r.length === 2) {
      out.add([catalog, ...r].join('.'));
      out.add([r[0], 'main', r[1]].join('.'));
    } else out.add([catalog, schema, r[0]].join('.'));
  }
  return [...out].map((t) => t.toLowerCase()).sort();
}
