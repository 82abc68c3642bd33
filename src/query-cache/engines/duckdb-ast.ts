// Why: which relations a statement reads decides who may share its cached answer, so it must come from
// a real parser, complete or known to be incomplete. DuckDB's parser gives its AST as JSON
// (`json_serialize_sql`); this reads that AST and resolves the names it holds against the catalog the
// way DuckDB's binder does. Pure: the adapter (duckdb-engine.ts) does the I/O.
//
// Failing closed: anything this reader does not understand (a table-ref type it does not know, a table
// function that could read a table, a view, a name the catalog does not have) makes the set incomplete,
// which the cache treats as "could read anything": per-user, dropped by every table invalidation.

import { lineColumn } from '../core/sql.ts';
import type { Relations } from './engine.ts';

/** A base-table reference as written: '' for parts not given. */
export interface TableReference {
  catalog: string;
  schema: string;
  table: string;
}

export interface AstReading {
  references: TableReference[];
  /** Table functions called, lower-cased, `schema.name` when written so. */
  functions: string[];
  /** Things read that this reader cannot see through (e.g. `SHOW tables`, an unknown table-ref type). */
  opaque: string[];
  /** A USING SAMPLE / TABLESAMPLE clause somewhere. */
  sampled: boolean;
  /** Scalar and aggregate functions called, lower-cased names as written (schema dropped). */
  calls: string[];
}

/** Table-ref types whose children hold everything they read. */
const TRANSPARENT_REFS = new Set(['JOIN', 'SUBQUERY', 'EXPRESSION_LIST', 'EMPTY', 'EMPTY_FROM', 'PIVOT']);
/** Table functions known to read no relation. */
const PURE_TABLE_FUNCTIONS = new Set(['range', 'generate_series', 'unnest']);
const SYSTEM_CATALOGS = new Set(['system', 'temp']);
const SYSTEM_SCHEMAS = new Set(['information_schema', 'pg_catalog']);
/** Largest serialized AST read (about 10 ms of JSON.parse per MiB on the event loop); a statement beyond it is not cached. */
export const MAX_AST_CHARS = 2 * 1024 * 1024;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: Json | undefined): string => (typeof v === 'string' ? v : '');
/** DuckDB compares identifiers case-insensitively in ASCII only (the Kelvin sign is not a k). */
export const foldName = (s: string): string => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
const name = (v: Json | undefined): string => foldName(text(v));
/** A query node (SELECT_NODE, SET_OPERATION_NODE, RECURSIVE_CTE_NODE …) carries modifiers and a CTE map. */
const isQueryNode = (o: JsonObject): boolean => 'modifiers' in o && 'cte_map' in o;
/** A table ref carries an alias and a sample; expressions carry a `class` instead. */
const isTableRef = (o: JsonObject): boolean => typeof o.type === 'string' && 'alias' in o && 'sample' in o && !('class' in o);

/** CTE names a query node defines, in order. */
function cteNames(node: JsonObject): string[] {
  const map = isObject(node.cte_map) ? node.cte_map.map : undefined;
  if (!Array.isArray(map)) return [];
  return map.map((m) => (isObject(m) ? name(m.key) : ''));
}

/**
 * CTE names visible at a point: the first `count` names of one WITH clause (by their first position),
 * then the enclosing clauses'. Sharing one index per clause keeps a WITH of n CTEs linear, not n².
 */
interface Scope {
  index: ReadonlyMap<string, number>;
  count: number;
  parent: Scope | undefined;
}

function inScope(scope: Scope | undefined, name: string): boolean {
  for (let s = scope; s !== undefined; s = s.parent) {
    const at = s.index.get(name);
    if (at !== undefined && at < s.count) return true;
  }
  return false;
}

/**
 * Reads the statements of a `json_serialize_sql` answer. CTE names are scoped as DuckDB binds them:
 * a query sees the CTEs of its own and enclosing WITH clauses; a CTE's body sees only the CTEs before it
 * (and itself when recursive). A one-part name in scope is a CTE, anything else a table. Iterative, so
 * deep nesting cannot exhaust the stack, and linear in the size of the AST.
 */
export function readAst(statements: Json[]): AstReading {
  const out: AstReading = { references: [], functions: [], opaque: [], sampled: false, calls: [] };
  const stack: { value: Json; scope: Scope | undefined }[] = statements.map((value) => ({ value, scope: undefined }));
  while (stack.length > 0) {
    const { value, scope } = stack.pop()!;
    if (Array.isArray(value)) {
      for (const v of value) stack.push({ value: v, scope });
      continue;
    }
    if (!isObject(value)) continue;
    if ('sample' in value && value.sample !== null) out.sampled = true;
    if (value.class === 'FUNCTION' && typeof value.function_name === 'string') out.calls.push(foldName(value.function_name));
    let inner = scope;
    if (isQueryNode(value)) {
      const names = cteNames(value);
      const index = new Map<string, number>();
      names.forEach((n, i) => index.has(n) || index.set(n, i));
      if (names.length > 0) inner = { index, count: names.length, parent: scope };
      const map = isObject(value.cte_map) && Array.isArray(value.cte_map.map) ? value.cte_map.map : [];
      map.forEach((m, i) => stack.push({ value: m, scope: i === 0 ? scope : { index, count: i, parent: scope } }));
      // A recursive CTE sees itself only in its recursive part (`right`): its first branch (`left`),
      // like everything else of the node, binds the name to whatever it meant outside.
      const self = value.type === 'RECURSIVE_CTE_NODE' && name(value.cte_name) ? name(value.cte_name) : undefined;
      for (const [k, v] of Object.entries(value)) {
        if (k === 'cte_map') continue;
        stack.push({ value: v, scope: self !== undefined && k === 'right' ? { index: new Map([[self, 0]]), count: 1, parent: inner } : inner });
      }
      continue;
    }
    if (isTableRef(value)) {
      const type = text(value.type);
      if (type === 'BASE_TABLE') {
        const ref = { catalog: name(value.catalog_name), schema: name(value.schema_name), table: name(value.table_name) };
        if (!(ref.catalog === '' && ref.schema === '' && inScope(scope, ref.table))) out.references.push(ref);
      } else if (type === 'TABLE_FUNCTION') {
        const fn = isObject(value.function) ? value.function : {};
        const schema = name(fn.schema);
        out.functions.push(`${schema && schema !== 'main' ? `${schema}.` : ''}${name(fn.function_name)}`);
      } else if (type === 'SHOW_REF') {
        if (!isObject(value.query)) out.opaque.push(`SHOW ${text(value.table_name)}`.trim());
      } else if (!TRANSPARENT_REFS.has(type)) {
        out.opaque.push(`table reference ${type}`);
      }
    }
    for (const v of Object.values(value)) stack.push({ value: v, scope: inner });
  }
  return out;
}

/** One relation of the catalog (duckdb_tables() and duckdb_views()), lower-cased. */
export interface CatalogRelation {
  catalog: string;
  schema: string;
  name: string;
  kind: 'table' | 'view';
}

export interface ResolveContext {
  /** The catalog and schema a statement runs in (what `USE` set). */
  catalog: string;
  schema: string;
  /** Functions whose value changes between executions (duckdb_functions() stability not CONSISTENT). */
  volatileFunctions: ReadonlySet<string>;
}

const key = (c: string, s: string, t: string) => `${c}.${s}.${t}`;

/**
 * Where DuckDB's binder looks for a name: `c.s.t` as given; `a.t` as a schema of the current catalog,
 * then as a catalog's `main` schema; `t` in the current schema, then DuckDB's fixed search path.
 */
function candidates(ref: TableReference, ctx: ResolveContext): [string, string, string][] {
  if (ref.catalog) return [[ref.catalog, ref.schema || 'main', ref.table]];
  if (ref.schema) return [[ctx.catalog, ref.schema, ref.table], [ref.schema, 'main', ref.table]];
  return [[ctx.catalog, ctx.schema, ref.table], ['temp', 'main', ref.table], ['system', 'main', ref.table], ['system', 'pg_catalog', ref.table]];
}

/** The Relations of a reading: tables resolved against the catalog, and whether that is everything read. */
export function resolveRelations(reading: AstReading, catalog: readonly CatalogRelation[], ctx: ResolveContext): Relations {
  const byKey = new Map(catalog.map((r) => [key(r.catalog, r.schema, r.name), r]));
  const tables = new Set<string>();
  const incomplete: string[] = [...reading.opaque];
  let readsSystem = false;
  for (const ref of reading.references) {
    const found = candidates(ref, ctx).map(([c, s, t]) => byKey.get(key(c, s, t))).filter((r) => r !== undefined);
    // A one-part name binds to the first match; `a.t` may mean two things: keep both (over-approximation).
    const bound = ref.schema === '' && ref.catalog === '' ? found.slice(0, 1) : found;
    if (bound.length === 0) {
      const written = [ref.catalog, ref.schema, ref.table].filter(Boolean).join('.');
      incomplete.push(`relation ${written} not in the catalog`);
      if (SYSTEM_SCHEMAS.has(ref.schema) || SYSTEM_CATALOGS.has(ref.catalog)) readsSystem = true;
      continue;
    }
    for (const r of bound) {
      if (SYSTEM_CATALOGS.has(r.catalog) || SYSTEM_SCHEMAS.has(r.schema)) readsSystem = true;
      if (r.kind === 'view') incomplete.push(`view ${key(r.catalog, r.schema, r.name)}`);
      // Found as DuckDB binds (ASCII case only); named as rules and invalidations name tables (lower case).
      else tables.add(key(r.catalog, r.schema, r.name).toLowerCase());
    }
  }
  for (const fn of reading.functions) {
    if (fn.startsWith('duckdb_') || fn.startsWith('pragma_')) readsSystem = true;
    if (!PURE_TABLE_FUNCTIONS.has(fn)) incomplete.push(`table function ${fn}`);
  }
  return {
    kind: 'parsed',
    tables: [...tables].sort(),
    complete: incomplete.length === 0,
    ...(incomplete.length > 0 ? { incompleteReason: incomplete.slice(0, 3).join('; ') } : {}),
    readsSystem,
    nondeterministic: reading.sampled || reading.calls.some((f) => ctx.volatileFunctions.has(f)),
  };
}

/**
 * Whether two `json_serialize_sql` answers are the same statement: equal but for source positions
 * (`query_location`, an error's `position`). Both errors count as the same only with the same message.
 */
export function sameStatement(a: string, b: string): boolean {
  const strip = (text: string) => text.replace(/"(query_location|position)":("[^"]*"|\d+)/g, '');
  return strip(a) === strip(b);
}

/**
 * The Relations of a `json_serialize_sql` answer. A parser error is a syntax error (message with Trino's
 * `line L:C:` prefix, from the offset DuckDB gives); a statement it cannot serialise (not a SELECT) or an
 * answer this reader cannot make sense of is an incomplete set.
 */
export function relationsFromSerialized(serialized: string, sql: string, catalog: readonly CatalogRelation[], ctx: ResolveContext): Relations {
  const unknown = (why: string): Relations => ({ kind: 'parsed', tables: [], complete: false, incompleteReason: why, readsSystem: false, nondeterministic: false });
  // Reading the AST runs on the event loop: past this size it is not read (the engine adapter already
  // answers such a statement as not cacheable; this is the pure reader's own guard).
  if (serialized.length > MAX_AST_CHARS) return unknown(`parsed statement larger than ${MAX_AST_CHARS} characters`);
  let answer: Json;
  try {
    answer = JSON.parse(serialized) as Json;
  } catch {
    return unknown('parser answer not readable');
  }
  if (!isObject(answer)) return unknown('parser answer not readable');
  if (answer.error === true) {
    if (answer.error_type !== 'parser') return unknown(`not serialisable (${text(answer.error_message).slice(0, 80)})`);
    const at = Number(text(answer.position) || '0');
    return { kind: 'syntax-error', message: `${lineColumn(sql, Number.isFinite(at) ? at : 0)}: ${text(answer.error_message)}` };
  }
  if (!Array.isArray(answer.statements) || answer.statements.length !== 1) return unknown('not exactly one statement');
  return resolveRelations(readAst(answer.statements), catalog, ctx);
}
