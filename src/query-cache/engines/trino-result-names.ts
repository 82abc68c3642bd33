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
