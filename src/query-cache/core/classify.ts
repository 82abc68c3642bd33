// Why: DESIGN.md's cacheability rules in one pure function: read-only, deterministic, no system
// tables, one statement; plus the tables a statement reads, so invalidation by table can find it.
// Conservative by construction: a false "not cacheable" costs a round trip, a false "cacheable" is a bug.

import { identifierName, normalizeSql, tokenize, type Token } from './sql.ts';

export type BypassReason = 'not-read-only' | 'session' | 'nondeterministic' | 'system-table' | 'multi-statement' | 'unparsable' | 'empty';

export interface Classification {
  normalizedSql: string;
  readOnly: boolean;
  /** Why the result must not be cached, if it must not. */
  bypass: BypassReason | undefined;
  /** Tables read, as written (1-3 lower-cased parts); undefined when the text defeated the extractor. */
  tableRefs: string[][] | undefined;
  /** The statement touches system./information_schema tables (may be allowed by a rule). */
  readsSystemTables: boolean;
}

const READ_ONLY_FIRST = new Set(['select', 'with', 'values', 'show', 'describe', 'table', 'explain']);

/** Words that write, change session state or run side effects, wherever they appear. */
const WRITE_WORDS = new Set([
  'insert', 'update', 'delete', 'merge', 'create', 'drop', 'alter', 'truncate', 'grant', 'revoke', 'deny',
  'call', 'set', 'reset', 'use', 'commit', 'rollback', 'start', 'prepare', 'execute', 'deallocate', 'copy',
  'attach', 'detach', 'install', 'load', 'pragma', 'export', 'import', 'checkpoint', 'vacuum', 'refresh',
  'analyze', 'comment',
]);

/** Functions and special registers whose value changes between executions. */
const NONDETERMINISTIC = new Set([
  'now', 'current_timestamp', 'current_date', 'current_time', 'localtime', 'localtimestamp', 'random', 'rand',
  'uuid', 'gen_random_uuid', 'random_uuid', 'shuffle', 'current_user', 'current_groups', 'current_catalog',
  'current_schema', 'current_path', 'current_role', 'session_user', 'system_user', 'nextval', 'currval',
  'setseed', 'get_current_time', 'get_current_timestamp', 'today', 'transaction_timestamp', 'tablesample',
  'current_setting', 'current_database', 'current_query', 'txid_current', 'sysdate', 'getdate',
]);

const SYSTEM_SCHEMAS = new Set(['information_schema', 'pg_catalog']);

/** Keywords that may follow a table reference and are never its alias. */
const CLAUSE_WORDS = new Set([
  'where', 'group', 'order', 'having', 'limit', 'offset', 'fetch', 'union', 'intersect', 'except', 'join',
  'inner', 'left', 'right', 'full', 'cross', 'natural', 'on', 'using', 'window', 'qualify', 'for', 'tablesample',
  'match_recognize', 'lateral', 'as', 'with', 'select',
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

/** Names defined by WITH clauses anywhere (`name AS (` or `name (cols) AS (`). */
function cteNames(tokens: readonly Token[]): Set<string> {
  const names = new Set<string>();
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (!isIdent(t)) continue;
    const prev = tokens[k - 1]?.text.toLowerCase();
    if (prev !== 'with' && prev !== ',' && prev !== 'recursive') continue;
    const j = skipParenGroup(tokens, k + 1);
    if (tokens[j]?.text.toLowerCase() === 'as' && tokens[j + 1]?.text === '(') names.add(identifierName(t));
  }
  return names;
}

/** Table references after FROM / JOIN (and DESCRIBE, SHOW … FROM/IN). Undefined when unsure. */
function extractTables(tokens: readonly Token[], ctes: Set<string>): string[][] | undefined {
  const refs: string[][] = [];
  let k = 0;
  const readName = (): string[] | 'function' | undefined => {
    if (!isIdent(tokens[k])) return undefined;
    const parts = [identifierName(tokens[k]!)];
    k++;
    while (tokens[k]?.text === '.' && isIdent(tokens[k + 1])) {
      parts.push(identifierName(tokens[k + 1]!));
      k += 2;
    }
    if (tokens[k]?.text === '(') return 'function';
    return parts.length <= 3 ? parts : undefined;
  };
  for (; k < tokens.length; k++) {
    const word = tokens[k]!.kind === 'word' ? tokens[k]!.text.toLowerCase() : '';
    if (word !== 'from' && word !== 'join' && word !== 'describe') continue;
    k++;
    for (;;) {
      const t = tokens[k];
      if (t === undefined) return word === 'describe' ? refs : undefined;
      if (t.text === '(') break; // subquery or VALUES list: its own FROMs are found by the scan
      if (t.kind === 'word' && ['lateral', 'unnest', 'table'].includes(t.text.toLowerCase())) break;
      const name = readName();
      if (name === 'function') break; // table function such as range(10) or unnest(...)
      if (name === undefined) return undefined;
      if (!(name.length === 1 && ctes.has(name[0]!))) refs.push(name);
      // optional alias (with or without AS), optional column aliases
      if (tokens[k]?.text.toLowerCase() === 'as') k++;
      if (isIdent(tokens[k]) && !CLAUSE_WORDS.has(tokens[k]!.text.toLowerCase())) k++;
      k = skipParenGroup(tokens, k);
      if (tokens[k]?.text !== ',' || word !== 'from') break;
      k++;
    }
    k--;
  }
  return refs;
}

/** Statements that change only the client's session; Trino answers them with X-Trino-Set-* headers. */
function isSessionStatement(words: readonly string[]): boolean {
  const [a, b] = words;
  if (a === 'use' || a === 'prepare' || a === 'deallocate' || a === 'commit' || a === 'rollback') return true;
  if (a === 'start' && b === 'transaction') return true;
  if ((a === 'set' || a === 'reset') && (b === 'session' || b === 'role' || b === 'path' || b === 'time')) return true;
  return false;
}

export function classifySql(sql: string): Classification {
  const { tokens, error } = tokenize(sql);
  const normalizedSql = normalizeSql(tokens);
  const base = { normalizedSql, tableRefs: undefined, readsSystemTables: false };
  if (error) return { ...base, readOnly: false, bypass: 'unparsable' };
  let end = tokens.length;
  while (end > 0 && tokens[end - 1]!.text === ';') end--;
  const body = tokens.slice(0, end);
  if (body.length === 0) return { ...base, readOnly: false, bypass: 'empty' };
  if (body.some((t) => t.text === ';')) return { ...base, readOnly: false, bypass: 'multi-statement' };

  const first = body.find((t) => t.text !== '(');
  const words = body.filter((t) => t.kind === 'word').map((t) => t.text.toLowerCase());
  const readOnly = first !== undefined && READ_ONLY_FIRST.has(first.text.toLowerCase()) && !words.some((w) => WRITE_WORDS.has(w));
  const tableRefs = extractTables(body, cteNames(body));
  const readsSystemTables =
    words.some((w) => SYSTEM_SCHEMAS.has(w) || w.startsWith('duckdb_')) ||
    (tableRefs ?? []).some((r) => (r.length === 3 && r[0] === 'system') || r.some((p) => p.includes('$'))) ||
    body.some((t) => t.kind === 'quoted' && t.text.includes('$'));

  let bypass: BypassReason | undefined;
  if (!readOnly) bypass = isSessionStatement(words) ? 'session' : 'not-read-only';
  else if (words.some((w) => NONDETERMINISTIC.has(w))) bypass = 'nondeterministic';
  else if (readsSystemTables) bypass = 'system-table';
  return { normalizedSql, readOnly, bypass, tableRefs, readsSystemTables };
}

/** Complete 1- and 2-part references with the session's catalog and schema: `catalog.schema.table`. */
export function qualifyTables(refs: readonly string[][], catalog: string, schema: string): string[] {
  const out = new Set<string>();
  for (const r of refs) {
    const full = r.length === 3 ? r : r.length === 2 ? [catalog, ...r] : [catalog, schema, ...r];
    out.add(full.join('.').toLowerCase());
  }
  return [...out].sort();
}
