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
//   SHOW FUNCTIONS [LIKE …]            Function, Return Type, Argument Types, Function Type, Deterministic, Description
//   [c.]information_schema.columns|tables|schemata|views, system.jdbc.*   Trino's columns
// A missing catalog, schema or table fails as in Trino. Function calls are trino-functions.ts's; result
// names and literal types trino-result-names.ts's; session statements trino-session.ts's.
import { identifierName, isNameToken, stringValue, tokenize, withoutTrailingSemicolons, type Token } from '../core/sql.ts';
import { EngineError } from './engine.ts';
import { callEdits, editOf, FACE_CATALOG, functionSetupStatements, lit, translatedTargets, unsupported, word, type Edit } from './trino-functions.ts';


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

/** Trino's information_schema tables the face answers (trino_information_schema_<name> table macros). */
const INFORMATION_SCHEMA_TABLES = new Set(['columns', 'tables', 'schemata', 'views']);

/** Words after a table reference that are clauses, not its alias. */
const NOT_ALIAS = new Set(['where', 'join', 'inner', 'left', 'right', 'full', 'cross', 'natural', 'on', 'using', 'group', 'order', 'limit', 'offset', 'fetch', 'union', 'except', 'intersect', 'having', 'window', 'qualify', 'tablesample', 'lateral']);
const isAlias = (t: Token | undefined): boolean => t !== undefined && (t.kind === 'quoted' || (t.kind === 'word' && !NOT_ALIAS.has(t.text.toLowerCase())));

/**
 * `sql` with Trino's function calls (unqualified) in DuckDB's words (renamed, a macro, a constant, a
 * converted format literal) and `system.jdbc` pointed at its emulation; everything else as it is.
 */
function translateCalls(sql: string, t: readonly Token[], ctx: FaceContext): string {
  const edits: Edit[] = [];
  const replace = (tok: Token, text: string, endTok: Token = tok) => edits.push(editOf(tok, text, endTok));
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
      replace(from, `${FACE_CATALOG}.main.trino_information_schema_${table}(${lit(catalog)})${aliased ? '' : ` AS ${table}`}`, t[i + 2]);
      i += 2;
      continue;
    }
    // system.jdbc.<table> (what the JDBC driver's DatabaseMetaData reads) lives in its own catalog here.
    if (tok.kind === 'word' && tok.text.toLowerCase() === 'system' && t[i - 1]?.text !== '.' && t[i + 1]?.text === '.' && word(t[i + 2]) === 'jdbc' && t[i + 3]?.text === '.') {
      replace(tok, FACE_CATALOG);
      continue;
    }
    const call = callEdits(t, i);
    if (call) {
      edits.push(...call.edits);
      i = call.next - 1;
    }
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

/** A (possibly qualified) name at `i`: its parts (quoted ones as written, others lower-cased) and where it ends. */
function qualifiedName(tokens: readonly Token[], i: number): { parts: string[]; next: number } | undefined {
  if (!isNameToken(tokens[i])) return undefined;
  const parts = [identifierName(tokens[i]!)];
  let j = i + 1;
  while (tokens[j]?.text === '.' && isNameToken(tokens[j + 1])) {
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

const syntax = (message: string) => new EngineError('user', 'SYNTAX_ERROR', message);

/**
 * The DuckDB statement that answers `sql` as Trino would, or `sql` itself when it is not a metadata
 * statement this covers. Throws a user EngineError (SYNTAX_ERROR, NOT_SUPPORTED) for a malformed or
 * uncovered form of one.
 */
export function translateForDuckDb(sql: string, ctx: FaceContext): string {
  const { tokens, error } = tokenize(sql);
  if (error) return sql; // the engine reports it (the classifier refused such text before it got here)
  const t = withoutTrailingSemicolons(tokens);
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
      return `SELECT database_name AS "Catalog" FROM duckdb_databases() WHERE NOT internal AND database_name <> ${lit(FACE_CATALOG)}${like.sql} ORDER BY 1`;
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
      return guarded(`SELECT schema_name AS "Schema" FROM ${FACE_CATALOG}.main.trino_information_schema_schemata(${lit(catalog)}) WHERE true${like.sql}`, '"Schema"', 'NULL', { catalog });
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
  const fns = `(SELECT * FROM duckdb_functions() WHERE function_type <> 'pragma' AND regexp_matches(function_name, '^[a-z][a-z0-9_]*$') AND database_name IN ('system', ${lit(FACE_CATALOG)}))`;
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
  let guard = `WHEN NOT EXISTS (SELECT 1 FROM duckdb_databases() WHERE database_name = ${lit(catalog)} AND database_name <> ${lit(FACE_CATALOG)}) THEN ${raiseSql('CATALOG_NOT_FOUND', `line 1:1: Catalog '${catalog}' not found`)} `;
  if (schema !== undefined) {
    guard += `WHEN NOT EXISTS (SELECT 1 FROM information_schema.schemata WHERE catalog_name = ${lit(catalog)} AND schema_name = ${lit(schema)}) THEN ${raiseSql('SCHEMA_NOT_FOUND', `line 1:1: Schema '${schema}' does not exist`)} `;
  }
  if (schema !== undefined && table !== undefined) {
    guard += `WHEN NOT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_catalog = ${lit(catalog)} AND table_schema = ${lit(schema)} AND table_name = ${lit(table)}) THEN ${raiseSql('TABLE_NOT_FOUND', `line 1:1: Table '${catalog}.${schema}.${table}' does not exist`)} `;
  }
  return `SELECT ${outputs} FROM (${select} UNION ALL SELECT ${nulls} WHERE CASE ${guard}ELSE false END) ORDER BY ${orderBy}`;
}


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
  const c = FACE_CATALOG;
  const nullVarchar = (n: string) => `CAST(NULL AS VARCHAR) AS ${n}`;
  const nullBigint = (n: string) => `CAST(NULL AS BIGINT) AS ${n}`;
  const userCatalogs = `(SELECT database_name FROM duckdb_databases() WHERE NOT internal AND database_name <> '${c}')`;
  return [
    `ATTACH ':memory:' AS ${c}`,
    ...functionSetupStatements(),
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
