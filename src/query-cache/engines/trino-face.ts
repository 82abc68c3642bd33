// Why: BI tools and Trino's CLI browse a cluster with Trino's metadata statements (SHOW CATALOGS, SHOW
// SCHEMAS FROM demo, SHOW TABLES, SHOW COLUMNS, DESCRIBE), which DuckDB does not speak or answers in its
// own layout. The embedded engine translates them, before it parses or runs a statement, into DuckDB
// queries over its catalog that answer in Trino's layout (Trino's column names, Trino's type names, its
// order); every other statement passes through unchanged. Pure: text in, text out.
//
// Covered (Trino 476 syntax):          answers
//   SHOW CATALOGS [LIKE p [ESCAPE e]]  Catalog
//   SHOW SCHEMAS [FROM|IN c] [LIKE …]  Schema
//   SHOW TABLES [FROM|IN [c.]s] [LIKE …]  Table
//   SHOW COLUMNS FROM|IN [[c.]s.]t [LIKE …], DESCRIBE|DESC [[c.]s.]t   Column, Type, Extra, Comment
// and Trino's functions that DuckDB knows by another name (TRINO_FUNCTIONS), renamed where they are called.
import { identifierName, stringValue, tokenize, type Token } from '../core/sql.ts';
import { EngineError } from './engine.ts';
import { TRINO_SESSION_VERSION } from './trino-session-properties.ts';

export interface FaceContext {
  catalog: string;
  schema: string;
}

/** DuckDB's information_schema type names as Trino names them (what the embedded engine's answers say). */
const TRINO_TYPE_OF_DATA_TYPE =
  "CASE data_type WHEN 'TIMESTAMP' THEN 'timestamp(6)' WHEN 'TIMESTAMP WITH TIME ZONE' THEN 'timestamp(6) with time zone' " +
  "WHEN 'TIMESTAMP_S' THEN 'timestamp(0)' WHEN 'TIMESTAMP_MS' THEN 'timestamp(3)' WHEN 'TIMESTAMP_NS' THEN 'timestamp(9)' " +
  "WHEN 'TIME' THEN 'time(6)' WHEN 'FLOAT' THEN 'real' WHEN 'BLOB' THEN 'varbinary' WHEN 'HUGEINT' THEN 'bigint' " +
  "WHEN 'UUID' THEN 'uuid' WHEN 'JSON' THEN 'json' ELSE lower(data_type) END";

/**
 * Trino functions DuckDB has under another name, with the same arguments in the same order and the same
 * meaning (the tests check that every target exists in DuckDB, and run most). A Trino function with no entry and no DuckDB function
 * of its name fails as FUNCTION_NOT_FOUND.
 */
export const TRINO_FUNCTIONS: Readonly<Record<string, string>> = {
  approx_percentile: 'approx_quantile',
  arbitrary: 'any_value',
  regexp_like: 'regexp_matches',
  cardinality: 'len',
  contains: 'list_contains', // Trino's contains() is the array one (strings use strpos or LIKE)
  json_extract_scalar: 'json_extract_string',
  from_unixtime: 'to_timestamp',
  to_unixtime: 'epoch',
  is_nan: 'isnan',
  is_infinite: 'isinf',
  is_finite: 'isfinite',
  day_of_week: 'isodow', // ISO: Monday = 1 … Sunday = 7, as Trino (DuckDB's dayofweek has Sunday = 0)
  dow: 'isodow',
  day_of_year: 'dayofyear',
  doy: 'dayofyear',
  year_of_week: 'isoyear',
  yow: 'isoyear',
  week_of_year: 'week',
  levenshtein_distance: 'levenshtein',
  hamming_distance: 'hamming',
  codepoint: 'unicode',
  to_hex: 'hex',
  from_hex: 'unhex',
  truncate: 'trunc',
  array_join: 'array_to_string',
  sequence: 'generate_series',
  array_max: 'list_max',
  array_min: 'list_min',
  array_sort: 'list_sort',
  split: 'string_split',
  date_diff: 'date_sub', // whole units elapsed, as Trino counts (DuckDB's date_diff counts boundaries crossed)
  day_of_month: 'day',
  last_day_of_month: 'last_day',
  json_parse: 'json',
  rand: 'random',
  to_utf8: 'encode',
  from_utf8: 'decode',
};

/** Trino's zero-argument functions DuckDB writes otherwise. version() names the Trino release whose dialect and session properties this follows. */
const TRINO_CONSTANTS: Readonly<Record<string, string>> = {
  nan: "CAST('NaN' AS DOUBLE)",
  infinity: "CAST('Infinity' AS DOUBLE)",
  e: 'exp(1.0)',
  version: `CAST('${TRINO_SESSION_VERSION}' AS VARCHAR)`,
};

/**
 * Trino functions whose DuckDB counterpart answers with another type or takes its arguments otherwise:
 * macros with typed overloads (so a date stays a date, as in Trino), created in the face's own catalog
 * when the engine starts (faceSetupStatements) and called by their qualified name.
 */
const MACROS: Readonly<Record<string, { name: string; definition: string }>> = {
  date_trunc: {
    name: 'trino_date_trunc',
    definition: '(u, x DATE) AS CAST(date_trunc(u, x) AS DATE), (u, x TIMESTAMP) AS date_trunc(u, x), (u, x TIMESTAMPTZ) AS date_trunc(u, x)',
  },
  // date_add(unit, value, x): Trino's order; DuckDB's date_add(x, interval) turns a date into a timestamp.
  date_add: {
    name: 'trino_date_add',
    definition:
      '(u, n, x DATE) AS CAST(x + hotpath_system.main.trino_interval(u, n) AS DATE), (u, n, x TIMESTAMP) AS x + hotpath_system.main.trino_interval(u, n), ' +
      '(u, n, x TIMESTAMPTZ) AS x + hotpath_system.main.trino_interval(u, n)',
  },
  // Exact: DuckDB's HyperLogLog misses by far more than Trino's standard error (2.3 %) on small sets; the exact count is within any bound.
  approx_distinct: { name: 'trino_approx_distinct', definition: '(x) AS count(DISTINCT x), (x, e) AS count(DISTINCT x)' },
  date: { name: 'trino_date', definition: '(x) AS CAST(x AS DATE)' },
  from_iso8601_date: { name: 'trino_from_iso8601_date', definition: '(s) AS CAST(s AS DATE)' },
  json_format: { name: 'trino_json_format', definition: '(x) AS CAST(x AS VARCHAR)' },
  bitwise_and: { name: 'trino_bitwise_and', definition: '(a, b) AS a & b' },
  bitwise_or: { name: 'trino_bitwise_or', definition: '(a, b) AS a | b' },
};

const INTERVAL_MACRO =
  "CREATE MACRO hotpath_system.main.trino_interval(u, n) AS CASE lower(u) WHEN 'millisecond' THEN to_milliseconds(n) WHEN 'second' THEN to_seconds(n) " +
  "WHEN 'minute' THEN to_minutes(n) WHEN 'hour' THEN to_hours(n) WHEN 'day' THEN to_days(n) WHEN 'week' THEN to_weeks(n) WHEN 'month' THEN to_months(n) " +
  "WHEN 'quarter' THEN to_months(3 * n) WHEN 'year' THEN to_years(n) ELSE error('Invalid unit: ' || u) END";

/** The functions the face translates (TRINO_FUNCTIONS, the macros, the constants and the format functions), for SHOW FUNCTIONS. */
export const TRANSLATED_FUNCTIONS: readonly string[] = [...Object.keys(TRINO_FUNCTIONS), ...Object.keys(MACROS), ...Object.keys(TRINO_CONSTANTS), 'date_format', 'date_parse', 'format_datetime', 'parse_datetime'];

/** Trino's MySQL-style date_format/date_parse specifiers as strftime's; null: Trino refuses it too, or strftime has none. */
const MYSQL_FORMAT: Readonly<Record<string, string | null>> = {
  a: '%a', b: '%b', c: '%-m', d: '%d', e: '%-d', f: '%f', H: '%H', h: '%I', I: '%I', i: '%M', j: '%j', k: '%-H', l: '%-I', M: '%B',
  m: '%m', p: '%p', r: '%I:%M:%S %p', S: '%S', s: '%S', T: '%H:%M:%S', v: '%V', W: '%A', Y: '%Y', y: '%y', '%': '%%',
  D: null, U: null, u: null, V: null, w: null, X: null, x: null,
};

/** A MySQL-style format (date_format) in strftime's words. */
export function mysqlToStrftime(format: string): string {
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== '%' || i + 1 >= format.length) {
      out += c === '%' ? '%%' : c;
      continue;
    }
    const spec = format[++i]!;
    const mapped = MYSQL_FORMAT[spec];
    if (mapped === null) throw unsupported(`date_format specifier %${spec}`);
    out += mapped ?? spec; // MySQL prints an unknown specifier's letter
  }
  return out;
}

/** Joda-Time pattern letters (format_datetime/parse_datetime) by run length, as strftime's. */
const JODA: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  y: { 2: '%y', 4: '%Y' }, Y: { 4: '%Y' }, M: { 1: '%-m', 2: '%m', 3: '%b', 4: '%B' }, d: { 1: '%-d', 2: '%d' }, H: { 1: '%-H', 2: '%H' },
  h: { 1: '%-I', 2: '%I' }, m: { 1: '%-M', 2: '%M' }, s: { 1: '%-S', 2: '%S' }, S: { 3: '%g', 6: '%f' }, a: { 1: '%p' }, E: { 3: '%a', 4: '%A' },
  D: { 1: '%-j', 3: '%j' }, Z: { 1: '%z' }, z: { 1: '%Z' },
};

/** A Joda-Time pattern (format_datetime) in strftime's words. */
export function jodaToStrftime(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i]!;
    if (c === "'") {
      const close = pattern.indexOf("'", i + 1);
      if (close < 0) throw new EngineError('user', 'INVALID_FUNCTION_ARGUMENT', `Invalid format: unterminated quote in ${pattern}`);
      out += close === i + 1 ? "'" : pattern.slice(i + 1, close).replaceAll('%', '%%');
      i = close + 1;
      continue;
    }
    if (!/[A-Za-z]/.test(c)) {
      out += c === '%' ? '%%' : c;
      i++;
      continue;
    }
    let n = 1;
    while (pattern[i + n] === c) n++;
    const mapped = JODA[c]?.[n] ?? (c === 'y' && n !== 2 ? '%Y' : undefined);
    if (mapped === undefined) throw unsupported(`format_datetime pattern ${c.repeat(n)}`);
    out += mapped;
    i += n;
  }
  return out;
}

/** Trino's formatting functions: the DuckDB function and how its literal format is converted. */
const FORMAT_FUNCTIONS: Readonly<Record<string, { target: string; convert: (f: string) => string }>> = {
  date_format: { target: 'strftime', convert: mysqlToStrftime },
  date_parse: { target: 'strptime', convert: mysqlToStrftime },
  format_datetime: { target: 'strftime', convert: jodaToStrftime },
  parse_datetime: { target: 'strptime', convert: jodaToStrftime },
};

/** Trino's information_schema tables the face answers (trino_information_schema_<name> table macros). */
const INFORMATION_SCHEMA_TABLES = new Set(['columns', 'tables', 'schemata', 'views']);

/** Words after a table reference that are clauses, not its alias. */
const NOT_ALIAS = new Set(['where', 'join', 'inner', 'left', 'right', 'full', 'cross', 'natural', 'on', 'using', 'group', 'order', 'limit', 'offset', 'fetch', 'union', 'except', 'intersect', 'having', 'window', 'qualify', 'tablesample', 'lateral']);
const isAlias = (t: Token | undefined): boolean => t !== undefined && (t.kind === 'quoted' || (t.kind === 'word' && !NOT_ALIAS.has(t.text.toLowerCase())));

/** Index of the `)` that closes the `(` at `open`, or -1. */
function closingParen(t: readonly Token[], open: number): number {
  let depth = 0;
  for (let k = open; k < t.length; k++) {
    if (t[k]!.text === '(') depth++;
    else if (t[k]!.text === ')' && --depth === 0) return k;
  }
  return -1;
}

/** Token index ranges [from, to) of the top-level arguments between `(` at `open` and its `)` at `close`. */
function callArguments(t: readonly Token[], open: number, close: number): [number, number][] {
  const out: [number, number][] = [];
  let depth = 0;
  let from = open + 1;
  for (let k = open + 1; k < close; k++) {
    const x = t[k]!.text;
    if (x === '(' || x === '[') depth++;
    else if (x === ')' || x === ']') depth--;
    else if (x === ',' && depth === 0) {
      out.push([from, k]);
      from = k + 1;
    }
  }
  if (close > open + 1) out.push([from, close]);
  return out;
}

/**
 * `sql` with Trino's function calls (unqualified) in DuckDB's words (renamed, a macro, a constant, a
 * converted format literal) and `system.jdbc` pointed at its emulation; everything else as it is.
 */
function translateCalls(sql: string, t: readonly Token[], ctx: FaceContext): string {
  const edits: { start: number; end: number; text: string }[] = [];
  const replace = (tok: Token, text: string, endTok: Token = tok) => edits.push({ start: tok.start, end: endTok.start + endTok.text.length, text });
  for (let i = 0; i < t.length; i++) {
    const tok = t[i]!;
    // [catalog.]information_schema.<table>: Trino's columns for the catalog named (or the session's).
    if (word(tok) === 'information_schema' && t[i + 1]?.text === '.' && INFORMATION_SCHEMA_TABLES.has(word(t[i + 2]) ?? '') && t[i + 3]?.text !== '(') {
      const qualified = t[i - 1]?.text === '.' && (t[i - 2]?.kind === 'word' || t[i - 2]?.kind === 'quoted') && t[i - 3]?.text !== '.';
      if (t[i - 1]?.text === '.' && !qualified) continue;
      const from = qualified ? t[i - 2]! : tok;
      const catalog = qualified ? identifierName(t[i - 2]!) : ctx.catalog;
      const table = word(t[i + 2])!;
      const aliased = isAlias(t[i + 3]);
      replace(from, `${JDBC_CATALOG}.main.trino_information_schema_${table}(${lit(catalog)})${aliased ? '' : ` AS ${table}`}`, t[i + 2]);
      i += 2;
      continue;
    }
    // system.jdbc.<table> (what the JDBC driver's DatabaseMetaData reads) lives in its own catalog here.
    if (tok.kind === 'word' && tok.text.toLowerCase() === 'system' && t[i - 1]?.text !== '.' && t[i + 1]?.text === '.' && word(t[i + 2]) === 'jdbc' && t[i + 3]?.text === '.') {
      replace(tok, JDBC_CATALOG);
      continue;
    }
    if (tok.kind !== 'word' || t[i + 1]?.text !== '(' || t[i - 1]?.text === '.') continue;
    const name = tok.text.toLowerCase();
    const constant = TRINO_CONSTANTS[name];
    if (constant !== undefined && t[i + 2]?.text === ')') {
      replace(tok, constant, t[i + 2]);
      i += 2;
      continue;
    }
    const format = FORMAT_FUNCTIONS[name];
    if (format !== undefined) {
      const close = closingParen(t, i + 1);
      const args = close < 0 ? [] : callArguments(t, i + 1, close);
      const [from, to] = args[1] ?? [0, 0];
      if (args.length !== 2 || to !== from + 1 || t[from]!.kind !== 'string' || !t[from]!.text.startsWith("'")) {
        throw unsupported(`${name} with a format that is not one string literal`);
      }
      replace(tok, format.target);
      replace(t[from]!, lit(format.convert(stringValue(t[from]!))));
      continue;
    }
    const macro = MACROS[name];
    if (macro !== undefined) {
      replace(tok, `${JDBC_CATALOG}.main.${macro.name}`);
      continue;
    }
    const renamed = TRINO_FUNCTIONS[name];
    if (renamed !== undefined) replace(tok, renamed);
  }
  if (edits.length === 0) return sql;
  edits.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const e of edits) {
    out += sql.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + sql.slice(at);
}

const lit = (s: string): string => `'${s.replaceAll("'", "''")}'`;

const word = (t: Token | undefined): string | undefined => (t?.kind === 'word' ? t.text.toLowerCase() : undefined);

/** A (possibly qualified) name at `i`: its parts (quoted ones as written, others lower-cased) and where it ends. */
function qualifiedName(tokens: readonly Token[], i: number): { parts: string[]; next: number } | undefined {
  const isName = (t: Token | undefined) => t !== undefined && (t.kind === 'word' || t.kind === 'quoted');
  if (!isName(tokens[i])) return undefined;
  const parts = [identifierName(tokens[i]!)];
  let j = i + 1;
  while (tokens[j]?.text === '.' && isName(tokens[j + 1])) {
    parts.push(identifierName(tokens[j + 1]!));
    j += 2;
  }
  return { parts, next: j };
}

/** `LIKE 'p' [ESCAPE 'e']` at `i` as a DuckDB condition on `column`; '' when absent; undefined when malformed. */
function likeClause(tokens: readonly Token[], i: number, column: string): { sql: string; next: number } | undefined {
  if (word(tokens[i]) !== 'like') return { sql: '', next: i };
  const pattern = tokens[i + 1];
  if (pattern?.kind !== 'string') return undefined;
  if (word(tokens[i + 2]) === 'escape') {
    const escape = tokens[i + 3];
    if (escape?.kind !== 'string') return undefined;
    return { sql: ` AND ${column} LIKE ${lit(stringValue(pattern))} ESCAPE ${lit(stringValue(escape))}`, next: i + 4 };
  }
  return { sql: ` AND ${column} LIKE ${lit(stringValue(pattern))}`, next: i + 2 };
}

const unsupported = (what: string) => new EngineError('user', 'NOT_SUPPORTED', `${what} is not supported by the embedded engine`);
const syntax = (message: string) => new EngineError('user', 'SYNTAX_ERROR', message);

/**
 * The DuckDB statement that answers `sql` as Trino would, or `sql` itself when it is not a metadata
 * statement this covers. Throws a user EngineError (SYNTAX_ERROR, NOT_SUPPORTED) for a malformed or
 * uncovered form of one.
 */
export function translateForDuckDb(sql: string, ctx: FaceContext): string {
  const { tokens, error } = tokenize(sql);
  if (error) return sql; // the engine reports it (the classifier refused such text before it got here)
  let end = tokens.length;
  while (end > 0 && tokens[end - 1]!.text === ';') end--;
  const t = tokens.slice(0, end);
  const first = word(t[0]);
  if (first !== 'show' && first !== 'describe' && first !== 'desc') return translateCalls(sql, tokens, ctx);
  if (first === 'describe' || first === 'desc') {
    if (word(t[1]) === 'input' || word(t[1]) === 'output') throw unsupported(`DESCRIBE ${t[1]!.text.toUpperCase()}`);
    return columnsOf(t, 1, ctx, 'DESCRIBE');
  }
  const what = word(t[1]);
  switch (what) {
    case 'catalogs': {
      const like = likeClause(t, 2, 'database_name');
      if (!like || like.next !== t.length) throw syntax('SHOW CATALOGS: expected [LIKE pattern [ESCAPE escape]]');
      return `SELECT database_name AS "Catalog" FROM duckdb_databases() WHERE NOT internal AND database_name <> ${lit(JDBC_CATALOG)}${like.sql} ORDER BY 1`;
    }
    case 'schemas': {
      let i = 2;
      let catalog = ctx.catalog;
      if (word(t[i]) === 'from' || word(t[i]) === 'in') {
        const name = qualifiedName(t, i + 1);
        if (!name || name.parts.length !== 1) throw syntax('SHOW SCHEMAS: expected FROM catalog');
        catalog = name.parts[0]!;
        i = name.next;
      }
      const like = likeClause(t, i, 'schema_name');
      if (!like || like.next !== t.length) throw syntax('SHOW SCHEMAS: expected [FROM catalog] [LIKE pattern [ESCAPE escape]]');
      return guarded(`SELECT schema_name AS "Schema" FROM ${JDBC_CATALOG}.main.trino_information_schema_schemata(${lit(catalog)}) WHERE true${like.sql}`, '"Schema"', 'NULL', { catalog });
    }
    case 'tables': {
      let i = 2;
      let { catalog, schema } = ctx;
      if (word(t[i]) === 'from' || word(t[i]) === 'in') {
        const name = qualifiedName(t, i + 1);
        if (!name || name.parts.length > 2) throw syntax('SHOW TABLES: expected FROM [catalog.]schema');
        [catalog, schema] = name.parts.length === 2 ? [name.parts[0]!, name.parts[1]!] : [ctx.catalog, name.parts[0]!];
        i = name.next;
      }
      const like = likeClause(t, i, 'table_name');
      if (!like || like.next !== t.length) throw syntax('SHOW TABLES: expected [FROM [catalog.]schema] [LIKE pattern [ESCAPE escape]]');
      return guarded(`SELECT table_name AS "Table" FROM information_schema.tables WHERE table_catalog = ${lit(catalog)} AND table_schema = ${lit(schema)}${like.sql}`, '"Table"', 'NULL', { catalog, schema });
    }
    case 'functions': {
      const like = likeClause(t, 2, 'f."Function"');
      if (!like || like.next !== t.length) throw syntax('SHOW FUNCTIONS: expected [LIKE pattern [ESCAPE escape]]');
      return showFunctions(like.sql);
    }
    case 'columns':
      if (word(t[2]) !== 'from' && word(t[2]) !== 'in') throw syntax('SHOW COLUMNS: expected FROM table');
      return columnsOf(t, 3, ctx, 'SHOW COLUMNS');
    default:
      // SHOW CREATE, GRANTS, ROLES, STATS: not emulated (SHOW SESSION is trino-session.ts's).
      throw unsupported(`SHOW ${what?.toUpperCase() ?? ''}`.trim());
  }
}

/** The DuckDB function (in duckdb_functions()) each translated Trino name stands for, to describe it by. */
function translatedTargets(): [string, string][] {
  const macroTargets = Object.entries(MACROS).map(([n, m]): [string, string] => [n, m.name]);
  const formatTargets = Object.entries(FORMAT_FUNCTIONS).map(([n, f]): [string, string] => [n, f.target]);
  return [...Object.entries(TRINO_FUNCTIONS), ...macroTargets, ...formatTargets];
}

/**
 * SHOW FUNCTIONS in Trino's six columns: the functions a statement can call here, DuckDB's own (its
 * type names) and the Trino names the face translates (described by their DuckDB counterpart).
 */
function showFunctions(likeSql: string): string {
  const targets = translatedTargets().map(([n, d]) => `(${lit(n)}, ${lit(d)})`).join(', ');
  const kind = "CASE function_type WHEN 'aggregate' THEN 'aggregate' WHEN 'table' THEN 'table' WHEN 'table_macro' THEN 'table' ELSE 'scalar' END";
  const row = (name: string) =>
    `${name} AS "Function", lower(coalesce(return_type, '')) AS "Return Type", lower(array_to_string(list_transform(parameter_types, lambda p: coalesce(p, 'unknown')), ', ')) AS "Argument Types", ` +
    `${kind} AS "Function Type", coalesce(stability, 'CONSISTENT') = 'CONSISTENT' AS "Deterministic", coalesce(description, '') AS "Description"`;
  const fns = `(SELECT * FROM duckdb_functions() WHERE function_type <> 'pragma' AND regexp_matches(function_name, '^[a-z][a-z0-9_]*$') AND database_name IN ('system', ${lit(JDBC_CATALOG)}))`;
  return (
    `SELECT * FROM (SELECT ${row('function_name')} FROM ${fns} WHERE database_name = 'system' ` +
    `UNION ALL SELECT ${row('m.trino')} FROM (VALUES ${targets}) AS m(trino, duck) JOIN ${fns} ON function_name = m.duck) AS f ` +
    `WHERE true${likeSql} ORDER BY 1, 3`
  );
}

/** SHOW COLUMNS / DESCRIBE of the table named at `i`, in Trino's four columns. */
function columnsOf(t: readonly Token[], i: number, ctx: FaceContext, statement: string): string {
  const name = qualifiedName(t, i);
  if (!name || name.parts.length > 3) throw syntax(`${statement}: expected a table name`);
  const like = likeClause(t, name.next, 'column_name');
  if (!like || like.next !== t.length) throw syntax(`${statement}: expected a table name${statement === 'SHOW COLUMNS' ? ' [LIKE pattern]' : ''}`);
  const parts = name.parts;
  const [catalog, schema, table] = parts.length === 3 ? parts : parts.length === 2 ? [ctx.catalog, parts[0]!, parts[1]!] : [ctx.catalog, ctx.schema, parts[0]!];
  return guarded(
    `SELECT column_name AS "Column", ${TRINO_TYPE_OF_DATA_TYPE} AS "Type", '' AS "Extra", '' AS "Comment", ordinal_position AS hotpath_order FROM information_schema.columns ` +
      `WHERE table_catalog = ${lit(catalog!)} AND table_schema = ${lit(schema!)} AND table_name = ${lit(table!)}${like.sql}`,
    'hotpath_order',
    'NULL, NULL, NULL, NULL, NULL',
    { catalog: catalog!, schema: schema!, table: table! },
    '"Column", "Type", "Extra", "Comment"',
  );
}

/** An error a statement raises from inside DuckDB (error()), read back by the engine as this Trino error name and message. */
export const raiseSql = (errorName: string, message: string): string => `error(${lit(`${RAISED_PREFIX}${errorName}:${message}`)})`;
export const RAISED_PREFIX = 'hotpath-trino-error:';

/**
 * `select` (its rows ordered by `orderBy`), failing as Trino does when the catalog, schema or table it
 * lists does not exist: a second branch that always runs once and raises the error (a filter on the
 * listing alone would never run for an empty one). `nulls` is that branch's row: a NULL per column of `select`.
 */
function guarded(select: string, orderBy: string, nulls: string, what: { catalog: string; schema?: string; table?: string }, outputs = '*'): string {
  const { catalog, schema, table } = what;
  let guard = `WHEN NOT EXISTS (SELECT 1 FROM duckdb_databases() WHERE database_name = ${lit(catalog)} AND database_name <> ${lit(JDBC_CATALOG)}) THEN ${raiseSql('CATALOG_NOT_FOUND', `line 1:1: Catalog '${catalog}' not found`)} `;
  if (schema !== undefined) {
    guard += `WHEN NOT EXISTS (SELECT 1 FROM information_schema.schemata WHERE catalog_name = ${lit(catalog)} AND schema_name = ${lit(schema)}) THEN ${raiseSql('SCHEMA_NOT_FOUND', `line 1:1: Schema '${schema}' does not exist`)} `;
  }
  if (schema !== undefined && table !== undefined) {
    guard += `WHEN NOT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_catalog = ${lit(catalog)} AND table_schema = ${lit(schema)} AND table_name = ${lit(table)}) THEN ${raiseSql('TABLE_NOT_FOUND', `line 1:1: Table '${catalog}.${schema}.${table}' does not exist`)} `;
  }
  return `SELECT ${outputs} FROM (${select} UNION ALL SELECT ${nulls} WHERE CASE ${guard}ELSE false END) ORDER BY ${orderBy}`;
}

/** Special registers DuckDB parses as column references; to Trino they are expressions (`_colN`). */
const REGISTERS = new Set(['current_date', 'current_time', 'current_timestamp', 'localtime', 'localtimestamp', 'current_user', 'current_catalog', 'current_schema', 'current_path', 'current_role', 'session_user']);
const isRegister = (e: AstItem): boolean => e.column_names?.length === 1 && REGISTERS.has(e.column_names[0]!.toLowerCase());

interface AstItem {
  class?: string;
  alias?: string;
  column_names?: string[];
  value?: { type?: { id?: string }; is_null?: boolean; value?: unknown };
  case_checks?: { then_expr?: AstItem }[];
  else_expr?: AstItem;
}
interface AstNode {
  type?: string;
  left?: AstNode;
  select_list?: AstItem[];
  from_table?: { type?: string; values?: AstItem[][]; subquery?: { node?: AstNode } };
}

/** The first statement's query node (a set operation's first branch), or undefined. */
function queryNode(serializedAst: string, firstBranch = true): AstNode | undefined {
  let node: AstNode | undefined;
  try {
    node = (JSON.parse(serializedAst) as { statements?: { node?: AstNode }[] }).statements?.[0]?.node;
  } catch {
    return undefined;
  }
  while (firstBranch && node?.type === 'SET_OPERATION_NODE') node = node.left;
  return node;
}

/** A result column's type as Trino gives it, where it follows from literals alone and DuckDB's differs. */
export type LiteralType = { kind: 'unknown' } | { kind: 'varchar'; length: number };

/** Trino's type of an expression made of literals only: a string literal is varchar(its length), a CASE of them the widest, NULL unknown. */
function literalType(e: AstItem | undefined): LiteralType | 'null' | undefined {
  if (!e) return 'null'; // a CASE without ELSE
  if (e.class === 'CONSTANT') {
    if (e.value?.is_null) return 'null';
    return e.value?.type?.id === 'VARCHAR' && typeof e.value.value === 'string' ? { kind: 'varchar', length: [...e.value.value].length } : undefined;
  }
  if (e.class !== 'CASE') return undefined;
  return widest([...(e.case_checks ?? []).map((c) => c.then_expr ?? { class: 'CONSTANT', value: { is_null: true } }), e.else_expr]);
}

function widest(branches: (AstItem | undefined)[]): LiteralType | 'null' | undefined {
  let length = -1;
  for (const b of branches) {
    const t = literalType(b);
    if (t === undefined || t === 'null' ? t === undefined : t.kind !== 'varchar') return undefined;
    if (t !== 'null') length = Math.max(length, (t as { length: number }).length);
  }
  return length < 0 ? 'null' : { kind: 'varchar', length };
}

/**
 * Per result column, the type Trino gives it where it follows from literals (undefined elsewhere):
 * `'abc'` is varchar(3), a CASE over string literals the widest of them, a bare NULL unknown — in the
 * select list, and in the columns of a VALUES list (`VALUES …`, `SELECT * FROM (VALUES …) t(…)`).
 */
export function trinoLiteralTypes(columnCount: number, serializedAst: string): (LiteralType | undefined)[] {
  const node = queryNode(serializedAst, false); // a UNION's type is every branch's: not read here
  const out: (LiteralType | undefined)[] = Array.from({ length: columnCount }, () => undefined);
  const items = node?.select_list;
  if (!node || node.type !== 'SELECT_NODE' || !items) return out;
  const settle = (t: LiteralType | 'null' | undefined): LiteralType | undefined => (t === 'null' ? { kind: 'unknown' } : t);
  const star = items.length === 1 && items[0]!.class === 'STAR';
  const values = star ? (node.from_table?.type === 'EXPRESSION_LIST' ? node.from_table : node.from_table?.subquery?.node?.select_list?.length === 1 && node.from_table.subquery.node.select_list[0]!.class === 'STAR' ? node.from_table.subquery.node.from_table : undefined) : undefined;
  if (values?.type === 'EXPRESSION_LIST' && values.values) {
    for (let k = 0; k < columnCount; k++) out[k] = settle(widest(values.values.map((row) => row[k])));
    return out;
  }
  if (items.some((e) => e.class === 'STAR') || items.length !== columnCount) return out;
  items.forEach((e, k) => (out[k] = settle(literalType(e))));
  return out;
}

/**
 * Result column names as Trino gives them, from DuckDB's names and its serialized AST
 * (json_serialize_sql): an alias or a column reference keeps its name as written, any other expression is
 * `_col<position>`, a VALUES list's columns are `_col0…`; one `*` beside other items counts as the
 * columns it expanded to. More than one `*` keeps DuckDB's names.
 */
export function trinoColumnNames(duckNames: readonly string[], serializedAst: string): string[] {
  const node = queryNode(serializedAst);
  const items = node?.select_list;
  if (!items) return [...duckNames];
  if (items.length === 1 && items[0]!.class === 'STAR' && node!.from_table?.type === 'EXPRESSION_LIST') return duckNames.map((_n, i) => `_col${i}`);
  const stars = items.filter((e) => e.class === 'STAR').length;
  if (stars > 1) return [...duckNames];
  const starWidth = duckNames.length - (items.length - stars);
  if (starWidth < 0 || (stars === 0 && starWidth !== 0)) return [...duckNames];
  const out: string[] = [];
  for (const e of items) {
    const at = out.length;
    if (e.class === 'STAR') for (let k = 0; k < starWidth; k++) out.push(duckNames[at + k]!);
    else if (e.alias) out.push(duckNames[at]!);
    // A column as the statement writes it (`SELECT TYPE_NAME` is TYPE_NAME to Trino; DuckDB names it as stored).
    else if (e.class === 'COLUMN_REF' && !isRegister(e)) out.push(e.column_names?.at(-1) ?? duckNames[at]!);
    else out.push(`_col${at}`);
  }
  return out;
}

/** The catalog that holds the `system.jdbc` emulation (DuckDB's own `system` catalog is its internal one). */
export const JDBC_CATALOG = 'hotpath_system';

const JDBC_TYPE_CODE =
  "CASE WHEN data_type = 'BIGINT' THEN -5 WHEN data_type = 'INTEGER' THEN 4 WHEN data_type = 'SMALLINT' THEN 5 WHEN data_type = 'TINYINT' THEN -6 " +
  "WHEN data_type = 'BOOLEAN' THEN 16 WHEN data_type = 'DOUBLE' THEN 8 WHEN data_type = 'FLOAT' THEN 7 WHEN data_type = 'VARCHAR' THEN 12 " +
  "WHEN data_type = 'DATE' THEN 91 WHEN data_type = 'TIMESTAMP' THEN 93 WHEN data_type = 'TIMESTAMP WITH TIME ZONE' THEN 2014 WHEN data_type = 'TIME' THEN 92 " +
  "WHEN data_type LIKE 'DECIMAL%' THEN 3 WHEN data_type = 'BLOB' THEN -3 WHEN data_type LIKE '%[]' THEN 2003 ELSE 2000 END";

/**
 * Views that answer the `system.jdbc` tables Trino's JDBC driver reads for DatabaseMetaData (getCatalogs,
 * getSchemas, getTables, getColumns, getTypeInfo), with Trino's columns, over DuckDB's catalog; run once
 * when the engine starts. `system.jdbc.x` in a statement reads `hotpath_system.jdbc.x`.
 */
export function faceSetupStatements(): string[] {
  const c = JDBC_CATALOG;
  const nullVarchar = (n: string) => `CAST(NULL AS VARCHAR) AS ${n}`;
  const nullBigint = (n: string) => `CAST(NULL AS BIGINT) AS ${n}`;
  const userCatalogs = `(SELECT database_name FROM duckdb_databases() WHERE NOT internal AND database_name <> '${c}')`;
  return [
    `ATTACH ':memory:' AS ${c}`,
    INTERVAL_MACRO,
    ...Object.values(MACROS).map((m) => `CREATE MACRO ${c}.main.${m.name}${m.definition}`),
    `CREATE SCHEMA ${c}.jdbc`,
    `CREATE VIEW ${c}.jdbc.catalogs AS SELECT database_name AS table_cat FROM duckdb_databases() WHERE NOT internal AND database_name <> '${c}'`,
    `CREATE VIEW ${c}.jdbc.schemas AS SELECT schema_name AS table_schem, catalog_name AS table_catalog FROM information_schema.schemata WHERE catalog_name IN ${userCatalogs}`,
    `CREATE VIEW ${c}.jdbc.tables AS SELECT table_catalog AS table_cat, table_schema AS table_schem, table_name, ` +
      "CASE table_type WHEN 'BASE TABLE' THEN 'TABLE' ELSE table_type END AS table_type, " +
      `${['remarks', 'type_cat', 'type_schem', 'type_name', 'self_referencing_col_name', 'ref_generation'].map(nullVarchar).join(', ')} ` +
      `FROM information_schema.tables WHERE table_catalog IN ${userCatalogs}`,
    `CREATE VIEW ${c}.jdbc.columns AS SELECT table_catalog AS table_cat, table_schema AS table_schem, table_name, column_name, ` +
      `CAST(${JDBC_TYPE_CODE} AS BIGINT) AS data_type, ${TRINO_TYPE_OF_DATA_TYPE} AS type_name, ` +
      "CAST(CASE WHEN data_type = 'VARCHAR' OR data_type = 'BLOB' THEN 2147483647 WHEN data_type LIKE 'DECIMAL%' THEN numeric_precision " +
      "WHEN data_type = 'BIGINT' THEN 19 WHEN data_type = 'INTEGER' THEN 10 WHEN data_type = 'SMALLINT' THEN 5 WHEN data_type = 'TINYINT' THEN 3 " +
      "WHEN data_type = 'DOUBLE' THEN 53 WHEN data_type = 'FLOAT' THEN 24 WHEN data_type = 'DATE' THEN 14 WHEN data_type = 'TIMESTAMP' THEN 28 END AS BIGINT) AS column_size, " +
      'CAST(0 AS BIGINT) AS buffer_length, ' +
      "CAST(CASE WHEN data_type LIKE 'DECIMAL%' THEN numeric_scale WHEN data_type = 'TIMESTAMP' THEN 6 END AS BIGINT) AS decimal_digits, " +
      "CAST(CASE WHEN data_type IN ('BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT') OR data_type LIKE 'DECIMAL%' THEN 10 WHEN data_type IN ('DOUBLE', 'FLOAT') THEN 2 END AS BIGINT) AS num_prec_radix, " +
      "CAST(1 AS BIGINT) AS nullable, " +
      `${nullVarchar('remarks')}, ${nullVarchar('column_def')}, ${nullBigint('sql_data_type')}, ${nullBigint('sql_datetime_sub')}, ` +
      "CAST(CASE WHEN data_type = 'VARCHAR' OR data_type = 'BLOB' THEN 2147483647 END AS BIGINT) AS char_octet_length, " +
      "CAST(ordinal_position AS BIGINT) AS ordinal_position, 'YES' AS is_nullable, " +
      `${nullVarchar('scope_catalog')}, ${nullVarchar('scope_schema')}, ${nullVarchar('scope_table')}, ${nullBigint('source_data_type')}, ` +
      `${nullVarchar('is_autoincrement')}, ${nullVarchar('is_generatedcolumn')} FROM information_schema.columns WHERE table_catalog IN ${userCatalogs}`,
    `CREATE VIEW ${c}.jdbc.table_types AS SELECT * FROM (VALUES ('TABLE'), ('VIEW')) AS t(table_type)`,
    // Trino's information_schema of one catalog (its columns, types named as Trino names them, its own tables listed too).
    `CREATE MACRO ${c}.main.trino_information_schema_columns(cat) AS TABLE SELECT table_catalog, table_schema, table_name, column_name, ` +
      `CAST(ordinal_position AS BIGINT) AS ordinal_position, CAST(column_default AS VARCHAR) AS column_default, is_nullable, ${TRINO_TYPE_OF_DATA_TYPE} AS data_type ` +
      'FROM information_schema.columns WHERE table_catalog = cat',
    `CREATE MACRO ${c}.main.trino_information_schema_tables(cat) AS TABLE SELECT table_catalog, table_schema, table_name, table_type FROM information_schema.tables WHERE table_catalog = cat ` +
      "UNION ALL SELECT cat, 'information_schema', t, 'BASE TABLE' FROM (VALUES ('applicable_roles'), ('columns'), ('enabled_roles'), ('roles'), ('schemata'), ('table_privileges'), ('tables'), ('views')) AS v(t) " +
      'WHERE cat IN (SELECT database_name FROM duckdb_databases() WHERE NOT internal)',
    `CREATE MACRO ${c}.main.trino_information_schema_schemata(cat) AS TABLE SELECT catalog_name, schema_name FROM information_schema.schemata WHERE catalog_name = cat ` +
      "UNION ALL SELECT cat, 'information_schema' WHERE cat IN (SELECT database_name FROM duckdb_databases() WHERE NOT internal)",
    `CREATE MACRO ${c}.main.trino_information_schema_views(cat) AS TABLE SELECT database_name AS table_catalog, schema_name AS table_schema, view_name AS table_name, sql AS view_definition ` +
      'FROM duckdb_views() WHERE NOT internal AND database_name = cat',
    // The types the embedded engine answers with, with the values Trino 476 gives them.
    `CREATE VIEW ${c}.jdbc.types AS SELECT type_name, CAST(data_type AS BIGINT) AS data_type, CAST(precision AS BIGINT) AS precision, ` +
      `${nullVarchar('literal_prefix')}, ${nullVarchar('literal_suffix')}, ${nullVarchar('create_params')}, CAST(1 AS BIGINT) AS nullable, false AS case_sensitive, ` +
      'CAST(searchable AS BIGINT) AS searchable, CAST(NULL AS BOOLEAN) AS unsigned_attribute, false AS fixed_prec_scale, CAST(NULL AS BOOLEAN) AS auto_increment, ' +
      `${nullVarchar('local_type_name')}, CAST(0 AS BIGINT) AS minimum_scale, CAST(0 AS BIGINT) AS maximum_scale, ${nullBigint('sql_data_type')}, ${nullBigint('sql_datetime_sub')}, ` +
      'CAST(num_prec_radix AS BIGINT) AS num_prec_radix FROM (VALUES ' +
      "('tinyint', -6, 3, 3, 10), ('bigint', -5, 19, 3, 10), ('varbinary', -3, 2147483647, 3, NULL), ('integer', 4, 10, 3, 10), ('smallint', 5, 5, 3, 10), " +
      "('real', 7, 24, 3, 2), ('double', 8, 53, 3, 2), ('boolean', 16, NULL, 3, NULL), ('date', 91, 14, 3, NULL), ('json', 2000, NULL, 3, NULL), " +
      "('interval year to month', 2000, NULL, 3, NULL), ('interval day to second', 2000, NULL, 3, NULL), ('time with time zone', 2000, NULL, 0, NULL), " +
      "('varchar', 2000, NULL, 0, NULL), ('timestamp with time zone', 2000, NULL, 0, NULL), ('uuid', 2000, NULL, 3, NULL), ('timestamp', 2000, NULL, 0, NULL), " +
      "('char', 2000, NULL, 0, NULL), ('row', 2000, NULL, 0, NULL)" +
      ') AS t(type_name, data_type, precision, searchable, num_prec_radix)',
  ];
}
