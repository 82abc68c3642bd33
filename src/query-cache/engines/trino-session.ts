// Why: a Trino client keeps its session in headers and changes it with statements (SET SESSION, USE,
// PREPARE, SET TIME ZONE …); the server only answers which header to change. The embedded engine has no
// Trino behind it, so it answers those statements itself, as Trino 476 does: the same updateType, the
// same X-Trino-* response headers, the same errors. EXECUTE (a prepared statement the client holds, or
// EXECUTE IMMEDIATE, which is how the JDBC driver sends a PreparedStatement) becomes the statement to run
// with its `?` parameters replaced by the USING expressions. SHOW SESSION lists Trino's own system
// properties (trino-session-properties.ts) with the client's values. Pure: text and session in, answer out.
import { preparedBody, resolveExecute } from '../core/execute.ts';
import { identifierName, lineColumn, isNameToken, stringValue, tokenize, withoutTrailingSemicolons, wordOf, type Token } from '../core/sql.ts';
import { EngineError, type Cell, type Column, type StatementUpdate } from './engine.ts';
import { TRINO_SESSION_PROPERTIES, type SessionPropertyType } from './trino-session-properties.ts';
import { column, varcharType } from './trino-types.ts';

export interface SessionQuery {
  sql: string;
  session: Readonly<Record<string, string>>;
  preparedStatements?: Readonly<Record<string, string>> | undefined;
}

/** A statement answered without running anything, as Trino answers it. */
export interface SessionAnswer {
  kind: 'answer';
  columns: Column[];
  rows: Cell[][];
  sessionChanges?: Record<string, string[]>;
  update?: StatementUpdate;
  /** USE: the catalog and schema the engine must check exist before it answers. */
  use?: { catalog: string | undefined; schema: string };
}

/** What a session statement means to the engine: an answer, a statement to run instead, or nothing (not one). */
export type SessionOutcome = SessionAnswer | { kind: 'run'; sql: string } | undefined;

const PROPERTIES = new Map(TRINO_SESSION_PROPERTIES.map(([name, type, dflt, description]) => [name, { type, dflt, description }]));

const userError = (name: string, message: string) => new EngineError('user', name, message);
const unsupported = (what: string) => userError('NOT_SUPPORTED', `${what} is not supported by the embedded engine`);
const syntax = (sql: string, at: Token | undefined, message: string) => userError('SYNTAX_ERROR', `${lineColumn(sql, at?.start ?? sql.length)}: ${message}`);

/** Java's URLEncoder (what Trino writes into its headers): unreserved `A-Za-z0-9.-*_`, space as `+`, the rest as UTF-8 %XX. */
export function javaUrlEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replaceAll('%20', '+');
}


const answer = (update: string, sessionChanges?: Record<string, string[]>, use?: SessionAnswer['use']): SessionAnswer => ({
  kind: 'answer',
  columns: [],
  rows: [],
  update: { type: update },
  ...(sessionChanges ? { sessionChanges } : {}),
  ...(use ? { use } : {}),
});

/** The statement's tokens without trailing semicolons; undefined when the text does not tokenize. */
function statementTokens(sql: string): Token[] | undefined {
  const { tokens, error } = tokenize(sql);
  if (error) return undefined;
  return withoutTrailingSemicolons(tokens);
}

export function sessionStatement(q: SessionQuery): SessionOutcome {
  const t = statementTokens(q.sql);
  if (!t) return undefined;
  const [a, b] = [wordOf(t[0]), wordOf(t[1])];
  if (a === 'set' && b === 'session') return setSession(q.sql, t);
  if (a === 'reset' && b === 'session') {
    if (!isNameToken(t[2]) || t.length !== 3) throw syntax(q.sql, t[3] ?? t[2], 'expected RESET SESSION name');
    const name = identifierName(t[2]!);
    if (!PROPERTIES.has(name)) throw userError('INVALID_SESSION_PROPERTY', `${lineColumn(q.sql, t[0]!.start)}: Session property '${name}' does not exist`);
    return answer('RESET SESSION', { 'x-trino-clear-session': [name] });
  }
  if (a === 'use') {
    const parts = t.slice(1).filter((_x, i) => i % 2 === 0);
    const dots = t.slice(1).filter((_x, i) => i % 2 === 1);
    if (parts.length < 1 || parts.length > 2 || !parts.every(isNameToken) || !dots.every((d) => d.text === '.')) throw syntax(q.sql, t[1], 'expected USE [catalog.]schema');
    const [catalog, schema] = parts.length === 2 ? [identifierName(parts[0]!), identifierName(parts[1]!)] : [undefined, identifierName(parts[0]!)];
    return answer('USE', { ...(catalog !== undefined ? { 'x-trino-set-catalog': [catalog] } : {}), 'x-trino-set-schema': [schema] }, { catalog, schema });
  }
  if (a === 'prepare') {
    if (!isNameToken(t[1]) || wordOf(t[2]) !== 'from' || t.length < 4) throw syntax(q.sql, t[2] ?? t[1], 'expected PREPARE name FROM statement');
    const body = q.sql.slice(t[3]!.start, t.at(-1)!.start + t.at(-1)!.text.length);
    return answer('PREPARE', { 'x-trino-added-prepare': [`${javaUrlEncode(identifierName(t[1]!))}=${javaUrlEncode(body)}`] });
  }
  if (a === 'deallocate') {
    if (b !== 'prepare' || !isNameToken(t[2]) || t.length !== 3) throw syntax(q.sql, t[2] ?? t[1], 'expected DEALLOCATE PREPARE name');
    const name = identifierName(t[2]!);
    if (preparedBody(q.preparedStatements, t[2]!) === undefined) throw userError('NOT_FOUND', `Prepared statement not found: ${name}`);
    return answer('DEALLOCATE', { 'x-trino-deallocated-prepare': [javaUrlEncode(name)] });
  }
  if (a === 'execute') {
    const resolved = resolveExecute(q.sql, t, q.preparedStatements)!;
    if (resolved.kind === 'error') throw userError(resolved.errorName, resolved.message);
    return { kind: 'run', sql: resolved.sql };
  }
  if (a === 'set' && b === 'time' && wordOf(t[2]) === 'zone') {
    const zone = t[3];
    if (zone?.kind !== 'string' || t.length !== 4) throw unsupported('SET TIME ZONE other than a zone name literal');
    const id = stringValue(zone);
    if (!isTimeZone(id)) throw userError('NOT_SUPPORTED', `Time zone not supported: ${id}`);
    return answer('SET TIME ZONE', { 'x-trino-set-session': [`time_zone_id=${javaUrlEncode(id)}`] });
  }
  if (a === 'show' && b === 'session') return showSession(q, t);
  if ((a === 'start' && b === 'transaction') || a === 'commit' || a === 'rollback') throw userError('NOT_SUPPORTED', 'Transactions are not supported by the embedded engine (it runs read statements only)');
  if ((a === 'set' || a === 'reset') && (b === 'role' || b === 'path' || b === 'authorization')) throw unsupported(`${a.toUpperCase()} ${b.toUpperCase()}`);
  return undefined;
}

function isTimeZone(id: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: id });
    return true;
  } catch {
    return false;
  }
}

/** A literal's Trino type and its value as the session header carries it; undefined for anything but a literal. */
function literal(t: readonly Token[]): { type: string; value: string } | undefined {
  const negative = t[0]?.text === '-' && t.length === 2;
  const v = negative ? t[1] : t[0];
  if (!v || t.length !== (negative ? 2 : 1)) return undefined;
  if (v.kind === 'string' && !negative && v.text.startsWith("'")) return { type: `varchar(${[...stringValue(v)].length})`, value: stringValue(v) };
  if (v.kind === 'word' && !negative && (v.text.toLowerCase() === 'true' || v.text.toLowerCase() === 'false')) return { type: 'boolean', value: v.text.toLowerCase() };
  if (v.kind !== 'number') return undefined;
  const text = (negative ? '-' : '') + v.text.replaceAll('_', '');
  if (/^-?\d+$/.test(text)) {
    const n = BigInt(text);
    return { type: n >= -(2n ** 31n) && n < 2n ** 31n ? 'integer' : 'bigint', value: n.toString() };
  }
  if (/e/i.test(text)) return { type: 'double', value: String(Number(text)) };
  return { type: 'decimal', value: String(Number(text)) };
}

/** Which literal types Trino coerces, without a CAST, to a session property's type. */
const COERCES: Record<SessionPropertyType, (type: string) => boolean> = {
  varchar: (type) => type.startsWith('varchar'),
  boolean: (type) => type === 'boolean',
  integer: (type) => type === 'integer',
  bigint: (type) => type === 'integer' || type === 'bigint',
  double: (type) => type === 'integer' || type === 'bigint' || type === 'decimal' || type === 'double',
};

/** Trino's duration (`1h`, `10.00m`) in ms; undefined when `text` is not one. */
export function durationMs(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = ({ ns: 1e-6, us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 } as Record<string, number>)[m[2]!];
  return unit === undefined ? undefined : Number(m[1]) * unit;
}

const DURATION = /^\d+(?:\.\d+)?[a-zA-Z]+$/;
const DATA_SIZE = /^\d+(?:\.\d+)?(B|kB|MB|GB|TB|PB)$/;

function setSession(sql: string, t: readonly Token[]): SessionAnswer {
  // SET SESSION [catalog.]name = expression
  let i = 2;
  const nameParts: string[] = [];
  while (isNameToken(t[i])) {
    nameParts.push(identifierName(t[i]!));
    if (t[i + 1]?.text !== '.') break;
    i += 2;
  }
  const eq = t[i + 1];
  if (nameParts.length === 0 || eq?.text !== '=' || t.length <= i + 2) throw syntax(sql, eq ?? t[i], 'expected SET SESSION name = value');
  const name = nameParts.join('.');
  const valueTokens = t.slice(i + 2);
  const at = lineColumn(sql, valueTokens[0]!.start);
  const property = PROPERTIES.get(name);
  if (!property) throw userError('INVALID_SESSION_PROPERTY', `${at}: Session property '${name}' does not exist`);
  const value = literal(valueTokens);
  if (!value) throw unsupported('SET SESSION with a value other than a literal');
  const written = sql.slice(valueTokens[0]!.start, valueTokens.at(-1)!.start + valueTokens.at(-1)!.text.length);
  if (!COERCES[property.type](value.type)) {
    throw userError('INVALID_SESSION_PROPERTY', `Unable to set session property '${name}' to '${written}': Cannot cast type ${value.type} to ${property.type}`);
  }
  // Trino checks the text of its duration and data-size properties (told apart by their defaults) when set.
  const unit = /^\s*\d+(?:\.\d+)?\s*([a-zA-Z]+)\s*$/.exec(value.value)?.[1];
  const textKind = property.type !== 'varchar' ? undefined : DATA_SIZE.test(property.dflt) ? 'size' : DURATION.test(property.dflt) ? 'duration' : undefined;
  if (textKind === 'duration' && durationMs(value.value) === undefined) {
    throw userError('INVALID_SESSION_PROPERTY', `${at}: ${unit !== undefined ? `Unknown time unit: ${unit}` : `duration is not a valid data duration string: ${value.value}`}`);
  }
  if (textKind === 'size' && !DATA_SIZE.test(value.value.trim())) {
    throw userError('INVALID_SESSION_PROPERTY', `${at}: ${unit !== undefined ? `Unknown unit: ${unit}` : `size is not a valid data size string: ${value.value}`}`);
  }
  return answer('SET SESSION', { 'x-trino-set-session': [`${name}=${javaUrlEncode(value.value)}`] });
}

/**
 * Trino's LIKE (`%` any run, `_` one character, an optional escape character). A greedy matcher with one
 * backtrack point, O(text × pattern) at worst: a hostile pattern cannot stall the loop as a RegExp could.
 */
const ANY_RUN = Symbol('%');
const ANY_ONE = Symbol('_');

export function likeMatch(text: string, pattern: string, escape: string | undefined): boolean {
  // The pattern as literal characters and the two wildcards (an escaped % or _ is a literal).
  const items: (string | typeof ANY_RUN | typeof ANY_ONE)[] = [];
  const p = [...pattern];
  for (let i = 0; i < p.length; i++) {
    if (escape !== undefined && p[i] === escape && i + 1 < p.length) items.push(p[++i]!);
    else items.push(p[i] === '%' ? ANY_RUN : p[i] === '_' ? ANY_ONE : p[i]!);
  }
  const s = [...text];
  let [ti, pi, starPi, starTi] = [0, 0, -1, 0];
  while (ti < s.length) {
    const item = items[pi];
    if (item === ANY_ONE || item === s[ti]) {
      ti++;
      pi++;
    } else if (item === ANY_RUN) {
      starPi = pi++;
      starTi = ti;
    } else if (starPi >= 0) {
      pi = starPi + 1;
      ti = ++starTi;
    } else return false;
  }
  while (items[pi] === ANY_RUN) pi++;
  return pi === items.length;
}

/** SHOW SESSION [LIKE p [ESCAPE e]]: Trino's system properties with the client's values; widths as Trino types them (over every row). */
function showSession(q: SessionQuery, t: readonly Token[]): SessionAnswer {
  let filter: ((name: string) => boolean) | undefined;
  if (t.length > 2) {
    const ok = wordOf(t[2]) === 'like' && t[3]?.kind === 'string' && (t.length === 4 || (wordOf(t[4]) === 'escape' && t[5]?.kind === 'string' && t.length === 6));
    if (!ok) throw syntax(q.sql, t[2], 'expected SHOW SESSION [LIKE pattern [ESCAPE escape]]');
    const [pattern, escape] = [stringValue(t[3]!), t[5] ? stringValue(t[5]) : undefined];
    filter = (name) => likeMatch(name, pattern, escape);
  }
  const all = TRINO_SESSION_PROPERTIES.map(([name, type, dflt, description]) => [name, q.session[name] ?? dflt, dflt, type, description]);
  const width = (k: number) => Math.max(0, ...all.map((r) => [...r[k]!].length));
  const names = ['Name', 'Value', 'Default', 'Type', 'Description'];
  const columns = names.map((n, k) => column(n, varcharType(width(k))));
  return { kind: 'answer', columns, rows: all.filter((r) => !filter || filter(r[0]!)) };
}

/**
 * The time limit the client's session asks for (query_max_run_time, query_max_execution_time), in ms;
 * undefined when it sets neither.
 */
export function sessionTimeLimitMs(session: Readonly<Record<string, string>>): number | undefined {
  const limits = ['query_max_run_time', 'query_max_execution_time'].map((k) => (session[k] !== undefined ? durationMs(session[k]) : undefined)).filter((v): v is number => v !== undefined);
  return limits.length > 0 ? Math.min(...limits) : undefined;
}
