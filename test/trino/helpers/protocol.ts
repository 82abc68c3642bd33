// Why: comparing hotpath with Trino must see the wire as it is: this is a minimal client of Trino's
// statement protocol (POST /v1/statement, follow nextUri) that keeps every number as the exact text it
// was sent as (a bigint past 2^53, a double's digits, NaN spelled as Trino spells it), collects the
// session headers of every response, and retries what the protocol says to retry (502/503/504, Trino's
// SERVER_STARTING_UP). trino-client would parse numbers into doubles, which is exactly what must not happen here.
import type { Dispatcher } from 'undici';
import { request } from 'undici';

/** A number as the text the server sent. */
export class Num {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

export type Lossless = null | boolean | string | Num | Lossless[] | { [k: string]: Lossless };

/** JSON.parse keeping numbers as their source text (Node 22's reviver context). */
export function parseLossless(text: string): Lossless {
  return JSON.parse(text, (_key, value, context?: { source?: string }) =>
    typeof value === 'number' ? new Num(context?.source ?? String(value)) : value,
  ) as Lossless;
}

export interface TrinoErrorInfo {
  message: string;
  errorName: string;
  errorCode: number;
  errorType: string;
}

export interface RawAnswer {
  id: string | undefined;
  columns: { name: string; type: string; typeSignature: unknown }[] | undefined;
  rows: Lossless[][];
  error: TrinoErrorInfo | undefined;
  /** Final state of the last response (FINISHED, FAILED, …). */
  state: string | undefined;
  updateType: string | undefined;
  /** x-trino-set-*, x-trino-clear-*, x-trino-added-prepare, … of every response, lower-cased names. */
  sessionHeaders: Record<string, string[]>;
  /** Responses the client fetched (POST included). */
  responses: number;
  /** hotpath's Cache-Status and Age: the first response that carried them (Trino sends neither). */
  cacheStatus: string | undefined;
  age: string | undefined;
}

export interface StatementOptions {
  user: string;
  headers?: Record<string, string>;
  dispatcher?: Dispatcher;
  timeoutMs?: number;
}

const RETRY_STATUSES = new Set([502, 503, 504]);

async function fetchText(method: 'GET' | 'POST', url: string, body: string | undefined, headers: Record<string, string>, opts: StatementOptions, deadline: number): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }> {
  for (let attempt = 0; ; attempt++) {
    const res = await request(url, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      ...(opts.dispatcher !== undefined ? { dispatcher: opts.dispatcher } : {}),
      headersTimeout: Math.max(1000, deadline - Date.now()),
    });
    const text = await res.body.text();
    const startingUp = res.statusCode === 503 || /SERVER_STARTING_UP/.test(text);
    if ((RETRY_STATUSES.has(res.statusCode) || startingUp) && Date.now() < deadline && attempt < 50) {
      await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
      continue;
    }
    return { status: res.statusCode, text, headers: res.headers };
  }
}

const SESSION_HEADER = /^x-(trino|presto)-(set|clear|added|deallocated|started|clear-transaction|set-authorization|reset-authorization)/;

/** Runs one statement to its end (FINISHED or FAILED) and returns what the server sent, losslessly. */
export async function runStatement(baseUrl: string, sql: string, opts: StatementOptions): Promise<RawAnswer> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const headers: Record<string, string> = { 'x-trino-user': opts.user, 'content-type': 'text/plain', ...opts.headers };
  const answer: RawAnswer = { id: undefined, columns: undefined, rows: [], error: undefined, state: undefined, updateType: undefined, sessionHeaders: {}, responses: 0, cacheStatus: undefined, age: undefined };
  let url: string | undefined = `${baseUrl}/v1/statement`;
  let method: 'GET' | 'POST' = 'POST';
  while (url !== undefined) {
    const res = await fetchText(method, url, method === 'POST' ? sql : undefined, method === 'POST' ? headers : { 'x-trino-user': opts.user, ...(opts.headers?.authorization ? { authorization: opts.headers.authorization } : {}) }, opts, deadline);
    answer.responses++;
    const h = (n: string) => (Array.isArray(res.headers[n]) ? (res.headers[n] as string[])[0] : (res.headers[n] as string | undefined));
    answer.cacheStatus ??= h('cache-status');
    answer.age ??= h('age');
    for (const [name, value] of Object.entries(res.headers)) {
      if (!SESSION_HEADER.test(name) || value === undefined) continue;
      (answer.sessionHeaders[name] ??= []).push(...(Array.isArray(value) ? value : [value]));
    }
    if (res.status !== 200) throw new Error(`${method} ${url} answered ${res.status}: ${res.text.slice(0, 500)}`);
    const page = parseLossless(res.text) as { [k: string]: Lossless };
    answer.id ??= page.id as string;
    if (page.columns !== undefined && answer.columns === undefined) answer.columns = page.columns as unknown as RawAnswer['columns'];
    if (Array.isArray(page.data)) for (const row of page.data) answer.rows.push(row as Lossless[]);
    const stats = page.stats as { state?: string } | undefined;
    answer.state = stats?.state;
    if (page.updateType !== undefined) answer.updateType = page.updateType as string;
    if (page.error !== undefined) {
      const e = page.error as { message: string; errorName: string; errorCode: Num; errorType: string };
      answer.error = { message: e.message, errorName: e.errorName, errorCode: Number(e.errorCode.text), errorType: e.errorType };
    }
    url = typeof page.nextUri === 'string' ? page.nextUri : undefined;
    method = 'GET';
    if (Date.now() > deadline) throw new Error(`${sql.slice(0, 80)}: not finished within ${opts.timeoutMs ?? 120_000} ms`);
  }
  return answer;
}

/**
 * A value for comparing answers: every number becomes the double it spells (`380456.0` and `380456`,
 * `1.7976931348623157E308` and `1.7976931348623157e+308` are Java's and JavaScript's spellings of one
 * double), -0 kept apart from 0, except integers beyond 2^53, which stay exact text (a bigint must
 * arrive digit for digit).
 */
export function comparable(v: Lossless): unknown {
  if (v instanceof Num) {
    const n = Number(v.text);
    if (/^-?\d+$/.test(v.text) && !Number.isSafeInteger(n)) return `int:${v.text}`;
    return `num:${Object.is(n, -0) ? '-0' : String(n)}`;
  }
  if (Array.isArray(v)) return v.map(comparable);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, comparable(x)]));
  return v;
}

/** runStatement, failing on a Trino error (setup statements). */
export async function execute(baseUrl: string, sql: string, opts: StatementOptions): Promise<RawAnswer> {
  const a = await runStatement(baseUrl, sql, opts);
  if (a.error !== undefined) throw new Error(`${sql.slice(0, 120)}: ${a.error.errorName}: ${a.error.message}`);
  return a;
}

/**
 * How Trino recorded the query with exactly this text (its /v1/query list): `STATE:errorName` once it
 * failed, or what it was when `timeoutMs` ran out.
 */
export async function trinoOutcome(trinoUrl: string, sql: string, user: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let state = '';
  while (Date.now() < deadline) {
    const queries = (await (await fetch(`${trinoUrl}/v1/query`, { headers: { 'x-trino-user': user } })).json()) as { query: string; state: string; errorCode?: { name: string } }[];
    const q = queries.find((x) => x.query === sql);
    state = `${q?.state}:${q?.errorCode?.name ?? ''}`;
    if (q?.state === 'FAILED') break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return state;
}
