// Why: a Trino client reads result columns by Trino's names (`_col0` for `count(*)`, a column as the
// statement writes it) and types (`'abc'` is varchar(3), a bare NULL unknown), which DuckDB names and
// types otherwise. Both follow from the statement's AST (DuckDB's json_serialize_sql), read here. Pure.

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

/** The first statement's query node, or undefined. */
function statementNode(serializedAst: string): AstNode | undefined {
  try {
    return (JSON.parse(serializedAst) as { statements?: { node?: AstNode }[] }).statements?.[0]?.node;
  } catch {
    return undefined;
  }
}

/** A set operation's first branch (its names are the result's), or the node itself. */
function firstBranch(node: AstNode | undefined): AstNode | undefined {
  while (node?.type === 'SET_OPERATION_NODE') node = node.left;
  return node;
}

/**
 * Trino's names and, where literals decide them, types for a result's columns, from DuckDB's names and
 * the statement's serialized AST (json_serialize_sql), parsed once.
 */
export function trinoResultColumns(duckNames: readonly string[], serializedAst: string): { names: string[]; literalTypes: (LiteralType | undefined)[] } {
  const root = statementNode(serializedAst);
  return { names: trinoColumnNames(duckNames, firstBranch(root)), literalTypes: trinoLiteralTypes(duckNames.length, root) };
}

/** The VALUES list a `*` select reads directly (`VALUES …`) or through one `SELECT * FROM (VALUES …) t(…)`. */
function valuesListOf(node: AstNode): AstNode['from_table'] | undefined {
  const from = node.from_table;
  if (from?.type === 'EXPRESSION_LIST') return from;
  const inner = from?.subquery?.node;
  return inner?.select_list?.length === 1 && inner.select_list[0]!.class === 'STAR' && inner.from_table?.type === 'EXPRESSION_LIST' ? inner.from_table : undefined;
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
function trinoLiteralTypes(columnCount: number, node: AstNode | undefined): (LiteralType | undefined)[] {
  // `node` is the whole statement: a UNION's types are every branch's, not read here (SELECT_NODE only).
  const out: (LiteralType | undefined)[] = Array.from({ length: columnCount }, () => undefined);
  const items = node?.select_list;
  if (!node || node.type !== 'SELECT_NODE' || !items) return out;
  const settle = (t: LiteralType | 'null' | undefined): LiteralType | undefined => (t === 'null' ? { kind: 'unknown' } : t);
  const values = items.length === 1 && items[0]!.class === 'STAR' ? valuesListOf(node) : undefined;
  if (values?.values) {
    for (let k = 0; k < columnCount; k++) out[k] = settle(widest(values.values.map((row) => row[k])));
    return out;
  }
  if (items.some((e) => e.class === 'STAR') || items.length !== columnCount) return out;
  items.forEach((e, k) => (out[k] = settle(literalType(e))));
  return out;
}

/**
 * Result column names as Trino gives them, from DuckDB's names and the query node (a set operation's
 * first branch): an alias or a column reference keeps its name as written, any other expression is
 * `_col<position>`, a VALUES list's columns are `_col0…`; one `*` beside other items counts as the
 * columns it expanded to. More than one `*` keeps DuckDB's names.
 */
function trinoColumnNames(duckNames: readonly string[], node: AstNode | undefined): string[] {
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
