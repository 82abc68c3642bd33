// Why: dashboards call Trino's functions; DuckDB has most of them under another name, with other
// argument orders, or answering another type (date_trunc of a date is a timestamp in DuckDB). This maps
// a Trino function call onto DuckDB where it is called: a rename, a typed macro (overloads by argument
// type, so a date stays a date) created in the face's catalog when the engine starts, a constant, or a
// format function whose literal pattern is converted (MySQL's %i, Joda's yyyy-MM-dd → strftime). Pure.
import { stringValue, type Token } from '../core/sql.ts';
import { EngineError } from './engine.ts';
import { TRINO_SESSION_VERSION } from './trino-session-properties.ts';

/** The catalog that holds the face's macros and views (DuckDB's own `system` catalog is its internal one). */
export const FACE_CATALOG = 'hotpath_system';

export const lit = (s: string): string => `'${s.replaceAll("'", "''")}'`;
export { wordOf as word } from '../core/sql.ts';
export const unsupported = (what: string) => new EngineError('user', 'NOT_SUPPORTED', `${what} is not supported by the embedded engine`);

/** A replacement of the source text from `start` to `end`. */
export interface Edit {
  start: number;
  end: number;
  text: string;
}
export const editOf = (tok: Token, text: string, endTok: Token = tok): Edit => ({ start: tok.start, end: endTok.start + endTok.text.length, text });

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
/** The unit-and-amount interval macro date_add's overloads call (created first). */
const INTERVAL = `${FACE_CATALOG}.main.trino_interval(u, n)`;

const MACROS: Readonly<Record<string, { name: string; definition: string }>> = {
  date_trunc: {
    name: 'trino_date_trunc',
    definition: '(u, x DATE) AS CAST(date_trunc(u, x) AS DATE), (u, x TIMESTAMP) AS date_trunc(u, x), (u, x TIMESTAMPTZ) AS date_trunc(u, x)',
  },
  // date_add(unit, value, x): Trino's order; DuckDB's date_add(x, interval) turns a date into a timestamp.
  date_add: {
    name: 'trino_date_add',
    definition:
      `(u, n, x DATE) AS CAST(x + ${INTERVAL} AS DATE), (u, n, x TIMESTAMP) AS x + ${INTERVAL}, (u, n, x TIMESTAMPTZ) AS x + ${INTERVAL}`,
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
  `CREATE MACRO ${INTERVAL} AS CASE lower(u) ` +
  "WHEN 'millisecond' THEN to_milliseconds(n) WHEN 'second' THEN to_seconds(n) " +
  "WHEN 'minute' THEN to_minutes(n) WHEN 'hour' THEN to_hours(n) WHEN 'day' THEN to_days(n) WHEN 'week' THEN to_weeks(n) WHEN 'month' THEN to_months(n) " +
  "WHEN 'quarter' THEN to_months(3 * n) WHEN 'year' THEN to_years(n) ELSE error('Invalid unit: ' || u) END";


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

/** The functions the face translates (TRINO_FUNCTIONS, the macros, the constants and the format functions), for SHOW FUNCTIONS. */
export const TRANSLATED_FUNCTIONS: readonly string[] = [...Object.keys(TRINO_FUNCTIONS), ...Object.keys(MACROS), ...Object.keys(TRINO_CONSTANTS), ...Object.keys(FORMAT_FUNCTIONS)];

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

/** The DuckDB function (in duckdb_functions()) each translated Trino name stands for, to describe it by. */
export function translatedTargets(): [string, string][] {
  const macroTargets = Object.entries(MACROS).map(([n, m]): [string, string] => [n, m.name]);
  const formatTargets = Object.entries(FORMAT_FUNCTIONS).map(([n, f]): [string, string] => [n, f.target]);
  return [...Object.entries(TRINO_FUNCTIONS), ...macroTargets, ...formatTargets];
}


/**
 * The edits that put the Trino function call at `i` (an unqualified name before `(`) in DuckDB's words,
 * and the token index after what was looked at; undefined when `t[i]` is no such call or needs nothing.
 */
export function callEdits(t: readonly Token[], i: number): { edits: Edit[]; next: number } | undefined {
  const tok = t[i]!;
  if (tok.kind !== 'word' || t[i + 1]?.text !== '(' || t[i - 1]?.text === '.') return undefined;
  const name = tok.text.toLowerCase();
  const constant = TRINO_CONSTANTS[name];
  if (constant !== undefined && t[i + 2]?.text === ')') return { edits: [editOf(tok, constant, t[i + 2])], next: i + 3 };
  const format = FORMAT_FUNCTIONS[name];
  if (format !== undefined) {
    const close = closingParen(t, i + 1);
    const args = close < 0 ? [] : callArguments(t, i + 1, close);
    const [from, to] = args[1] ?? [0, 0];
    if (args.length !== 2 || to !== from + 1 || t[from]!.kind !== 'string' || !t[from]!.text.startsWith("'")) {
      throw unsupported(`${name} with a format that is not one string literal`);
    }
    return { edits: [editOf(tok, format.target), editOf(t[from]!, lit(format.convert(stringValue(t[from]!))))], next: i + 1 };
  }
  const macro = MACROS[name];
  if (macro !== undefined) return { edits: [editOf(tok, `${FACE_CATALOG}.main.${macro.name}`)], next: i + 1 };
  const renamed = TRINO_FUNCTIONS[name];
  return renamed !== undefined ? { edits: [editOf(tok, renamed)], next: i + 1 } : undefined;
}

/** The macros, created once when the engine starts (after FACE_CATALOG is attached). */
export function functionSetupStatements(): string[] {
  return [INTERVAL_MACRO, ...Object.values(MACROS).map((m) => `CREATE MACRO ${FACE_CATALOG}.main.${m.name}${m.definition}`)];
}
