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

export interface FaceContext {
  catalog: string;
  schema: string;
}

/** DuckDB's information_schema type names as Trino names them (what the embedded engine's answers say). */
const TRINO_TYPE_OF_DATA_TYPE =
  "CASE data_type WHEN 'TIMESTAMP' THEN 'timestamp(6)' WHEN 'TIMESTAMP WITH TIME ZONE' THEN 'timestamp(6) with time zone' " +
  "WHEN 'TIMESTAMP_S' THEN 'timestamp(0)' WHEN 'TIMESTAMP_MS' THEN 'timestamp(3)' WHEN 'TIMESTAMP_NS' THEN 'timestamp(9)' " +
  "WHEN 'TIME' THEN 'time(6)' WHEN 'FLOAT' THEN 'real' WHEN 'BLOB' THEN 'varbinary' WHEN 'HUGEINT' THEN 'decimal(38,0)' " +
  "WHEN 'UUID' THEN 'uuid' WHEN 'JSON' THEN 'json' ELSE lower(data_type) END";

/**
 * Trino functions DuckDB has under another name, with the same arguments in the same order and the same
 * meaning (the tests check that every target exists in DuckDB, and run most). A Trino function with no entry and no DuckDB function
 * of its name fails as FUNCTION_NOT_FOUND.
 */
export const TRINO_FUNCTIONS: Readonly<Record<string, string>> = {
  approx_distinct: 'approx_count_distinct',
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
};

/** Trino's zero-argument constants DuckDB writes as casts. */
const TRINO_CONSTANTS: Readonly<Record<string, string>> = {
  nan: "CAST('NaN' AS DOUBLE)",
  infinity: "CAST('Infinity' AS DOUBLE)",
};

/** `sql` with Trino's function names (unqualified calls) renamed to DuckDB's and `system.jdbc` pointed at its emulation; the rest as it is. */
function renameFunctions(sql: string, t: readonly Token[]): string {
  let out = '';
  let at = 0;
  for (let i = 0; i < t.length; i++) {
    const tok = t[i]!;
    // system.jdbc.<table> (what the JDBC driver's DatabaseMetaData reads) lives in its own catalog here.
    if (tok.kind === 'word' && tok.text.toLowerCase() === 'system' && t[i - 1]?.text !== '.' && t[i + 1]?.text === '.' && word(t[i + 2]) === 'jdbc' && t[i + 3]?.text === '.') {
      out += sql.slice(at, tok.start) + JDBC_CATALOG;
      at = tok.start + tok.text.length;
      continue;
    }
    if (tok.kind !== 'word' || t[i + 1]?.text !== '(' || t[i - 1]?.text === '.') continue;
    const name = tok.text.toLowerCase();
    const constant = TRINO_CONSTANTS[name];
    if (constant !== undefined && t[i + 2]?.text === ')') {
      out += sql.slice(at, tok.start) + constant;
      at = t[i + 2]!.start + 1;
      i += 2;
      continue;
    }
    const renamed = TRINO_FUNCTIONS[name];
    if (renamed === undefined) continue;
    out += sql.slice(at, tok.start) + renamed;
    at = tok.start + tok.text.length;
  }
  return at === 0 ? sql : out + sql.slice(at);
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
  if (first !== 'show' && first !== 'describe' && first !== 'desc') return renameFunctions(sql, tokens);
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
      return `SELECT schema_name AS "Schema" FROM information_schema.schemata WHERE catalog_name = ${lit(catalog)}${like.sql} ORDER BY 1`;
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
      return `SELECT table_name AS "Table" FROM information_schema.tables WHERE table_catalog = ${lit(catalog)} AND table_schema = ${lit(schema)}${like.sql} ORDER BY 1`;
    }
    case 'columns':
      if (word(t[2]) !== 'from' && word(t[2]) !== 'in') throw syntax('SHOW COLUMNS: expected FROM table');
      return columnsOf(t, 3, ctx, 'SHOW COLUMNS');
    default:
      // SHOW FUNCTIONS, SESSION, CREATE TABLE, GRANTS, ROLES, STATS: not yet.
      throw unsupported(`SHOW ${what?.toUpperCase() ?? ''}`.trim());
  }
}

/** SHOW COLUMNS / DESCRIBE of the table named at `i`, in Trino's four columns. */
function columnsOf(t: readonly Token[], i: number, ctx: FaceContext, statement: string): string {
  const name = qualifiedName(t, i);
  if (!name || name.parts.length > 3) throw syntax(`${statement}: expected a table name`);
  const like = likeClause(t, name.next, 'column_name');
  if (!like || like.next !== t.length) throw syntax(`${statement}: expected a table name${statement === 'SHOW COLUMNS' ? ' [LIKE pattern]' : ''}`);
  const parts = name.parts;
  const [catalog, schema, table] = parts.length === 3 ? parts : parts.length === 2 ? [ctx.catalog, parts[0]!, parts[1]!] : [ctx.catalog, ctx.schema, parts[0]!];
  return (
    `SELECT column_name AS "Column", ${TRINO_TYPE_OF_DATA_TYPE} AS "Type", '' AS "Extra", '' AS "Comment" FROM information_schema.columns ` +
    `WHERE table_catalog = ${lit(catalog!)} AND table_schema = ${lit(schema!)} AND table_name = ${lit(table!)}${like.sql} ORDER BY ordinal_position`
  );
}

/** Special registers DuckDB parses as column references; to Trino they are expressions (`_colN`). */
const REGISTERS = new Set(['current_date', 'current_time', 'current_timestamp', 'localtime', 'localtimestamp', 'current_user', 'current_catalog', 'current_schema', 'current_path', 'current_role', 'session_user']);
const isRegister = (e: AstItem): boolean => e.column_names?.length === 1 && REGISTERS.has(e.column_names[0]!.toLowerCase());

interface AstItem {
  class?: string;
  alias?: string;
  column_names?: string[];
}
interface AstNode {
  type?: string;
  left?: AstNode;
  select_list?: AstItem[];
  from_table?: { type?: string };
}

/**
 * Result column names as Trino gives them, from DuckDB's names and its serialized AST
 * (json_serialize_sql): an alias or a column reference keeps its name as written, any other expression is
 * `_col<position>`, a VALUES list's columns are `_col0…`; one `*` beside other items counts as the
 * columns it expanded to. More than one `*` keeps DuckDB's names.
 */
export function trinoColumnNames(duckNames: readonly string[], serializedAst: string): string[] {
  let node: AstNode | undefined;
  try {
    node = (JSON.parse(serializedAst) as { statements?: { node?: AstNode }[] }).statements?.[0]?.node;
  } catch {
    return [...duckNames];
  }
  while (node?.type === 'SET_OPERATION_NODE') node = node.left;
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
export function jdbcViewStatements(): string[] {
  const c = JDBC_CATALOG;
  const nullVarchar = (n: string) => `CAST(NULL AS VARCHAR) AS ${n}`;
  const nullBigint = (n: string) => `CAST(NULL AS BIGINT) AS ${n}`;
  const userCatalogs = `(SELECT database_name FROM duckdb_databases() WHERE NOT internal AND database_name <> '${c}')`;
  return [
    `ATTACH ':memory:' AS ${c}`,
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
      "WHEN data_type = 'DOUBLE' THEN 53 WHEN data_type = 'FLOAT' THEN 24 WHEN data_type = 'DATE' THEN 14 WHEN data_type = 'TIMESTAMP' THEN 26 END AS BIGINT) AS column_size, " +
      `${nullBigint('buffer_length')}, ` +
      "CAST(CASE WHEN data_type LIKE 'DECIMAL%' THEN numeric_scale WHEN data_type IN ('BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT') THEN 0 WHEN data_type = 'TIMESTAMP' THEN 6 END AS BIGINT) AS decimal_digits, " +
      "CAST(CASE WHEN data_type IN ('BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT') OR data_type LIKE 'DECIMAL%' THEN 10 WHEN data_type IN ('DOUBLE', 'FLOAT') THEN 2 END AS BIGINT) AS num_prec_radix, " +
      "CAST(1 AS BIGINT) AS nullable, " +
      `${nullVarchar('remarks')}, ${nullVarchar('column_def')}, ${nullBigint('sql_data_type')}, ${nullBigint('sql_datetime_sub')}, ` +
      "CAST(CASE WHEN data_type = 'VARCHAR' OR data_type = 'BLOB' THEN 2147483647 END AS BIGINT) AS char_octet_length, " +
      "CAST(ordinal_position AS BIGINT) AS ordinal_position, 'YES' AS is_nullable, " +
      `${nullVarchar('scope_catalog')}, ${nullVarchar('scope_schema')}, ${nullVarchar('scope_table')}, ${nullBigint('source_data_type')}, ` +
      `'NO' AS is_autoincrement, 'NO' AS is_generatedcolumn FROM information_schema.columns WHERE table_catalog IN ${userCatalogs}`,
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
