// Why: the service's rule for bad input (a 4xx in the catalogue's shape, never a 5xx, a stack trace or
// HTML, never a crash) holds for every route fastify has registered: the route table as it is built
// (an onRoute hook registered before any route, so routes hidden from the OpenAPI are included), with
// the GPU API on and a real Redis. Random methods, path parameters, query strings, headers (X-Trino-*,
// Authorization, Cache-Control, forwarding) and bodies go over real sockets, to an app with
// X-Trino-User naming the user and to one checking JWTs. Two thirds of the requests are plausible (the
// route's method and content type, a body shaped like its schema, a valid user or token, ids and
// nextUris the app handed out earlier), so the fuzz gets past the first check into the handlers.
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';
import type { RouteOptions } from 'fastify';
import { SignJWT } from 'jose';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { k80Cluster } from '../src/gpu/inventory.ts';
import { testConfig, useTestStack } from './helpers/app.ts';

/** FUZZ_RUNS / FUZZ_SEED: a longer run, or the replay of a reported failure. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 500);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : undefined;

interface Target {
  url: string;
  routes: { method: string; path: string }[];
  /** Authorization values that authenticate (alice is an admin, bob is not); none needed without auth. */
  tokens: string[];
}
const targets: Target[] = [];
const JWT_SECRET = 'fuzz-secret-of-at-least-thirty-two-bytes';

/** What the apps handed out (job ids, Trino nextUri paths, query ids): later runs poke at them. */
const seen = { jobIds: [] as string[], trinoPaths: [] as string[], queryIds: [] as string[] };
function remember(text: string): void {
  let body: { id?: unknown; nextUri?: unknown } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return;
  }
  const keep = (list: string[], v: string) => list.length < 50 && !list.includes(v) && list.push(v);
  if (typeof body?.id === 'string') keep(body.id.startsWith('j-') ? seen.jobIds : seen.queryIds, body.id);
  // The path only: X-Forwarded-* may have put any scheme and host in front of it.
  const path = typeof body?.nextUri === 'string' ? /^[^/]*\/\/[^/]*(\/[^?#]*)/.exec(body.nextUri)?.[1] : undefined;
  if (path !== undefined) keep(seen.trinoPaths, path);
}

useTestStack(async (stack) => {
  const envs: Record<string, string>[] = [
    { HOTPATH_AUTH: 'none' },
    { HOTPATH_AUTH: 'jwt', HOTPATH_JWT_SECRET: JWT_SECRET, HOTPATH_ADMIN_USERS: 'alice' },
  ];
  const key = new TextEncoder().encode(JWT_SECRET);
  const jwtFor = async (sub: string) => `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(key)}`;
  const jwts = [await jwtFor('alice'), await jwtFor('bob')];
  for (const env of envs) {
    const config = testConfig(stack.redis.url, { HOTPATH_GPU_ENABLED: 'true', HOTPATH_GPU_EXECUTOR: 'none', HOTPATH_GPU_TICK_MS: '100', ...env });
    const routes: Target['routes'] = [];
    const onRoute = (r: RouteOptions) => {
      for (const method of [r.method].flat()) routes.push({ method, path: r.url ?? '' });
    };
    const app = await buildApp(config, { engine: stack.engine, defaultMetrics: false, gpuCluster: k80Cluster(2), onRoute });
    await app.listen({ port: 0, host: '127.0.0.1' });
    stack.onClose(() => app.close());
    targets.push({ url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`, routes, tokens: env.HOTPATH_AUTH === 'jwt' ? jwts : [] });
  }
});

// ---- arbitraries -------------------------------------------------------------------------------

/** Visible ASCII, what undici lets through a path or a header value unencoded. */
const visible = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const headerText = fc.oneof(
  fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constant(0x09), fc.integer({ min: 0x80, max: 0xff })).map((c) => String.fromCharCode(c)), maxLength: 60 }),
  fc.constantFrom('', ' ', '=', ',', ';', '%', '%00', 'a=b', 'a=b, c=d', '=x', 'x=', 'a=%zz', "'; DROP TABLE x; --", 'null', 'undefined', '-1', '1e999', 'é'),
  fc.string({ minLength: 200, maxLength: 4000, unit: fc.constantFrom('a', '=', ',', ' ', '%', '.') }),
);
const unicode = fc.string({ unit: 'binary', maxLength: 30 });

/** One path segment: plain, percent-encoded Unicode, long, raw odd characters, broken escapes. */
const segment = fc.oneof(
  fc.stringMatching(/^[a-z0-9-]{1,20}$/),
  unicode.map(encodeURIComponent),
  fc.integer({ min: 90, max: 1400 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 20, max: 200 }).chain((n) => fc.constant(encodeURIComponent('€'.repeat(n)))),
  visible.filter((s) => s.length > 0 && !s.includes('/') && !s.includes('?') && !s.includes('#')),
  fc.constantFrom('.', '..', '%', '%zz', '%E0%A4%A', '%00', '%2F', '%2e%2e', 'q-1', '0', '-1', '__proto__', 'constructor', '😀', 'ü'),
);
const wildcard = fc.array(segment, { minLength: 0, maxLength: 4 }).map((parts) => parts.join('/'));

const QUERY_KEYS = ['waitSeconds', 'whileState', 'limit', 'cursor', 'tenant', 'state', 'maxWait', 'table', 'user', 'all', 'format', 'nocache'];
const queryValue = fc.oneof(
  fc.constantFrom('', '0', '1', '60', '99', '0.5', '-1', '1e3', 'true', 'false', 'queued', 'running', '500ms', '1s', '10m', 'NaN', 'demo.sales.orders', 'a.b', '%zz'),
  unicode.map(encodeURIComponent),
  visible.map((s) => s.replace(/[&#]/g, '')),
);
const queryString = fc.oneof(
  fc.constant(''),
  fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.stringMatching(/^[a-z_]{1,8}$/)), queryValue), { maxLength: 4 })
    .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : '')),
  fc.constantFrom('?', '?&&', '?a', '?a=1&a=2', '?waitSeconds=1&waitSeconds=2', `?x=${'y'.repeat(3000)}`),
);

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const authorization = fc.oneof(
  fc.constantFrom('Bearer', 'Bearer ', 'Basic', 'Basic !!!', 'Basic Og==', 'Negotiate abc', 'bearer a.b.c', 'Bearer ..', 'Bearer a.b', 'Bearer ' + 'x'.repeat(5000)),
  fc.tuple(fc.jsonValue(), fc.jsonValue()).map(([h, p]) => `Bearer ${b64(JSON.stringify(h))}.${b64(JSON.stringify(p))}.${b64('sig')}`),
  fc.tuple(fc.constantFrom('HS256', 'none', 'RS256', 'ES256', 'HS512'), fc.jsonValue()).map(([alg, p]) => `Bearer ${b64(JSON.stringify({ alg, typ: 'JWT' }))}.${b64(JSON.stringify(p))}.`),
  headerText.map((s) => `Basic ${Buffer.from(s, 'latin1').toString('base64')}`),
  headerText,
);

/** Header names: the ones hotpath reads (X-Trino-*, auth, caching, forwarding) and random tokens. */
const HEADER_NAMES = [
  'x-trino-user', 'x-presto-user', 'x-trino-catalog', 'x-trino-schema', 'x-trino-session', 'x-trino-source', 'x-trino-client-tags',
  'x-trino-client-info', 'x-trino-time-zone', 'x-trino-language', 'x-trino-role', 'x-trino-extra-credential', 'x-trino-prepared-statement',
  'x-trino-transaction-id', 'x-trino-trace-token', 'x-trino-resource-estimate', 'x-trino-client-capabilities', 'cache-control', 'pragma',
  'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-for', 'accept', 'accept-encoding', 'if-none-match', 'cookie', 'x-request-id', 'origin',
];
const headers = fc
  .tuple(
    fc.dictionary(fc.oneof(fc.constantFrom(...HEADER_NAMES), fc.stringMatching(/^x-[a-z0-9-]{1,12}$/)), headerText, { maxKeys: 6 }),
    fc.option(authorization, { nil: undefined }),
    fc.option(fc.constantFrom('no-cache', 'no-store', 'max-age=0', 'max-age=-1', 'max-age=abc', 'no-cache, no-store', 'only-if-cached', 'max-stale'), { nil: undefined }),
    fc.option(fc.constantFrom('alice', 'bob', '', ' ', 'a'.repeat(300), 'al\tice', 'ü'), { nil: undefined }),
  )
  .map(([h, auth, cacheControl, user]) => ({
    ...h,
    ...(auth !== undefined ? { authorization: auth } : {}),
    ...(cacheControl !== undefined ? { 'cache-control': cacheControl } : {}),
    ...(user !== undefined ? { 'x-trino-user': user } : {}),
  }));

const SQL = [
  'SELECT 1', 'SELECT 1 AS one', 'select * from demo.sales.orders limit 3', 'SELECT count(*) FROM orders', 'SHOW TABLES', 'SHOW CATALOGS',
  'EXPLAIN SELECT 1', 'SELECT * FROM system.runtime.nodes', 'SELECT * FROM information_schema.tables', 'INSERT INTO t VALUES (1)',
  'DROP TABLE demo.sales.orders', 'SELECT', '', ';', 'SELECT 1; SELECT 2', "SELECT 'unterminated", 'SELECT now()', 'SELECT random()',
  'WITH x AS (SELECT 1) SELECT * FROM x', 'SELECT * FROM read_csv(\'/etc/passwd\')', 'PREPARE p FROM SELECT 1', 'EXECUTE p',
  'SELECT 1e999', 'SELECT 1/0', "SELECT 'é😀'", 'SELECT * FROM demo.sales.nope', 'CALL system.sync()', 'SET SESSION a = 1',
];
const sql = fc.oneof(fc.constantFrom(...SQL), unicode, fc.constantFrom(...SQL).chain((s) => unicode.map((u) => `${s} ${u}`)));
const anyValue = fc.oneof(fc.jsonValue(), fc.integer(), fc.double(), fc.string(), fc.constant(null), fc.boolean());

/** Bodies shaped like the routes' schemas (so they get past the first check), and free-form ones. */
const jsonBody = fc.oneof(
  fc.record({ sql, catalog: anyValue, schema: anyValue, session: anyValue, noCache: anyValue, format: anyValue }, { requiredKeys: ['sql'] }),
  fc.record(
    {
      tenant: fc.oneof(fc.constantFrom('t', 'ml', ''), unicode, anyValue),
      gpus: fc.oneof(fc.integer({ min: -2, max: 70 }), anyValue),
      gpuMilli: fc.oneof(fc.integer({ min: -1, max: 1001 }), anyValue),
      gpuMemoryMiB: fc.oneof(fc.integer({ min: 0, max: 2_000_000 }), anyValue),
      cpuMilli: anyValue,
      memoryMiB: anyValue,
      priority: fc.oneof(fc.integer({ min: -2000, max: 2000 }), anyValue),
      gpuModels: fc.oneof(fc.array(fc.oneof(fc.constantFrom('K80', 'A100', ''), unicode), { maxLength: 20 }), anyValue),
      durationSeconds: fc.oneof(fc.double(), anyValue),
      maxRetries: anyValue,
      requeueOnPreempt: anyValue,
      preemptible: anyValue,
      idempotencyKey: fc.oneof(unicode, anyValue),
      metadata: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 5 }), anyValue),
    },
    { requiredKeys: [] },
  ),
  fc.record({ ok: anyValue, message: anyValue, attempt: fc.oneof(fc.integer({ min: -1, max: 5 }), anyValue) }, { requiredKeys: [] }),
  fc.jsonValue(),
).map((v) => JSON.stringify(v));

const body = fc.oneof(
  fc.constant(undefined),
  jsonBody,
  sql,
  fc.json(),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('{', '[', '{"sql":', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', 'null', '""', '[]', '{}', '\u0000', '{"sql":"SELECT 1"}garbage'),
  // Lone surrogates and prototype keys inside otherwise valid bodies.
  fc.constantFrom(
    '{"tenant":"\\ud800","gpus":1}', '{"tenant":"t","gpus":1,"idempotencyKey":"\\udfff"}', '{"tenant":"t","gpus":1,"metadata":{"a":{"__proto__":{"b":1}}}}',
    '{"sql":"SELECT \'\\ud800\' AS x"}', '{"sql":"SELECT 1","session":{"__proto__":"x"}}', '{"sql":"SELECT 1","catalog":"\\ud83d"}', '{"ok":true,"message":"\\ud800"}',
  ),
  fc.integer({ min: 40, max: 300 }).map((n) => `{"tenant":"t","gpus":1,"metadata":{"x":${'['.repeat(n)}${']'.repeat(n)}}}`),
);
const contentType = fc.oneof(
  fc.constantFrom(
    'application/json', 'application/json; charset=utf-8', 'application/json;charset=latin1', 'APPLICATION/JSON', 'text/plain', 'text/plain; charset=utf-8',
    'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', '*/*', 'application/vnd.api+json', 'text/html', '',
  ),
  fc.stringMatching(/^[a-z]{1,8}\/[a-z+.-]{1,10}(; ?[a-z]{1,6}=[a-z0-9-]{0,8})?$/),
);

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'BREW'];

/** Plausible requests: what a real client of each route would send, with odd but valid values. */
const smallJson = fc.jsonValue({ maxDepth: 3 });
const plausible = fc.record({
  user: fc.constantFrom('alice', 'bob'),
  trinoHeaders: fc.record(
    {
      'x-trino-catalog': fc.constantFrom('demo', 'system', 'nope', 'a.b'),
      'x-trino-schema': fc.constantFrom('sales', 'information_schema', 'x'),
      'x-trino-session': fc.constantFrom('query_max_run_time=1m', 'a=1,b=2', 'x=%20y', 'threads=%E2%82%AC'),
      'x-trino-source': fc.constantFrom('fuzz', 'trino-cli'),
      'x-trino-time-zone': fc.constantFrom('UTC', 'Europe/Paris', 'Mars/Olympus'),
      'x-trino-prepared-statement': fc.constantFrom('p=SELECT%201', 'q=SELECT%20%3F', 'r=SELECT%20*%20FROM%20demo.sales.orders'),
      'x-trino-transaction-id': fc.constantFrom('NONE', 'tx-1'),
      'x-trino-client-capabilities': fc.constantFrom('PARAMETRIC_DATETIME', 'SESSION_AUTHORIZATION'),
      'x-trino-extra-credential': fc.constantFrom('k=v', 'a=1,b=2', 'nokey'),
      'cache-control': fc.constantFrom('no-cache', 'max-age=0', 'no-store'),
      'x-forwarded-proto': fc.constantFrom('https', 'http', 'gopher', ''),
      'x-forwarded-host': fc.constantFrom('example.com', 'a:1', '[::1]:8080', 'x y', 'h\\x'),
    },
    { requiredKeys: [] },
  ),
  query: fc.record({ sql, catalog: fc.constantFrom('demo', 'system', 'x'), schema: fc.constantFrom('sales', 'x'), session: fc.dictionary(fc.stringMatching(/^[a-z_]{1,10}$/), fc.string({ maxLength: 20 }), { maxKeys: 3 }) }, { requiredKeys: ['sql'] }),
  submit: fc.record(
    {
      tenant: fc.constantFrom('t', 'ml', 'a b', 'ü'),
      gpus: fc.integer({ min: 1, max: 5 }),
      priority: fc.integer({ min: -10, max: 10 }),
      cpuMilli: fc.integer({ min: 0, max: 40_000 }),
      memoryMiB: fc.integer({ min: 0, max: 300_000 }),
      gpuModels: fc.constantFrom([], ['K80'], ['A100'], ['K80', 'V100']),
      durationSeconds: fc.double({ min: 0.001, max: 5, noNaN: true }),
      maxRetries: fc.integer({ min: 0, max: 10 }),
      requeueOnPreempt: fc.boolean(),
      preemptible: fc.boolean(),
      idempotencyKey: fc.constantFrom('k1', 'k2', 'ü', 'k3', 'k4', 'k5'),
      metadata: fc.dictionary(fc.string({ maxLength: 8 }), smallJson, { maxKeys: 4 }),
    },
    { requiredKeys: ['tenant'] },
  ),
  share: fc.record({ gpuMilli: fc.integer({ min: 1, max: 1000 }), gpuMemoryMiB: fc.integer({ min: 1, max: 20_000 }) }, { requiredKeys: [] }),
  finish: fc.record({ ok: fc.boolean(), message: fc.string({ maxLength: 40 }), attempt: fc.integer({ min: 1, max: 3 }) }, { requiredKeys: ['ok'] }),
  heartbeat: fc.oneof(fc.constant(undefined), fc.constant('null'), fc.integer({ min: 1, max: 3 }).map((attempt) => JSON.stringify({ attempt }))),
  listQuery: fc.constantFrom('', '?state=queued', '?tenant=t&limit=5', '?limit=500&cursor=0', '?cursor=999999999999', '?state=running&tenant=ml'),
  waitQuery: fc.constantFrom('', '?waitSeconds=0', '?waitSeconds=0.2', '?waitSeconds=0.3&whileState=queued', '?whileState=completed&waitSeconds=0.1'),
  cacheQuery: fc.constantFrom('?table=demo.sales.orders', '?user=alice', '?all=true', '?table=a.b', '?user=', '?all=false', ''),
  maxWait: fc.constantFrom('', '?maxWait=0', '?maxWait=50ms', '?maxWait=0.2s', '?maxWait=1m'),
  pooled: fc.nat(),
  token: fc.integer({ min: 0, max: 3 }),
});

const scenario = fc.record({
  mode: fc.oneof({ arbitrary: fc.constant('plausible' as const), weight: 2 }, { arbitrary: fc.constant('wild' as const), weight: 1 }),
  plausible,
  target: fc.integer({ min: 0, max: 1 }),
  route: fc.nat(),
  // Mostly the route's own method; sometimes another one (404s, 400s from the parser).
  otherMethod: fc.oneof({ arbitrary: fc.constant(undefined), weight: 5 }, { arbitrary: fc.constantFrom(...METHODS), weight: 1 }),
  params: fc.array(segment, { minLength: 4, maxLength: 4 }),
  rest: wildcard,
  query: queryString,
  headers,
  body,
  contentType: fc.option(contentType, { freq: 8, nil: undefined }),
});

// ---- requests ----------------------------------------------------------------------------------

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;
interface Built {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

const fill = (routePath: string, params: readonly string[], rest = '') => {
  let i = 0;
  return routePath.replace(/:[A-Za-z0-9_]+/g, () => params[i++ % params.length]!).replace(/\*$/, rest) || '/';
};

/** Anything at all: junk methods, segments, query strings, headers, bodies and content types. */
function wildRequest(route: Target['routes'][number], s: Scenario): Built {
  return {
    method: s.otherMethod ?? route.method,
    path: fill(route.path, s.params, s.rest) + s.query,
    headers: { ...s.headers, ...(s.contentType !== undefined ? { 'content-type': s.contentType } : {}) },
    body: s.body,
  };
}

/** What a real client of `route` would send, with odd values inside the valid syntax. */
function plausibleRequest(route: Target['routes'][number], target: Target, p: Scenario['plausible'], params: readonly string[]): Built {
  const pick = <T>(list: readonly T[]): T | undefined => (list.length > 0 ? list[p.pooled % list.length] : undefined);
  const headers: Record<string, string> = { 'x-trino-user': p.user, ...p.trinoHeaders };
  // With JWTs: mostly a valid token (for the named user, or another one: impersonation), sometimes none.
  const token = target.tokens[p.token];
  if (token !== undefined) headers.authorization = token;
  const json = { ...headers, 'content-type': 'application/json' };
  const id = pick(seen.jobIds) ?? params[0]!;
  const path = route.path;
  const m = route.method;
  if (m === 'POST' && path === '/v1/query') return { method: m, path, headers: json, body: JSON.stringify(p.query) };
  if (m === 'POST' && path === '/v1/statement') return { method: m, path, headers, body: p.query.sql };
  if (m === 'POST' && path === '/v1/gpu/jobs') {
    // Whole devices, or a share of one (a third of the time).
    const { gpus: _whole, ...shareable } = p.submit;
    return { method: m, path, headers: json, body: JSON.stringify(p.pooled % 3 === 0 ? { ...shareable, ...p.share } : p.submit) };
  }
  if (path === '/v1/gpu/jobs/:id/heartbeat') return { method: m, path: `/v1/gpu/jobs/${id}/heartbeat`, headers: json, body: p.heartbeat };
  if (path === '/v1/gpu/jobs/:id/complete') return { method: m, path: `/v1/gpu/jobs/${id}/complete`, headers: json, body: JSON.stringify(p.finish) };
  if (path === '/v1/gpu/jobs/:id') return { method: m, path: `/v1/gpu/jobs/${id}${m === 'GET' ? p.waitQuery : ''}`, headers, body: undefined };
  if (path === '/v1/gpu/jobs') return { method: m, path: path + p.listQuery, headers, body: undefined };
  if (path === '/v1/cache') return { method: m, path: path + p.cacheQuery, headers, body: undefined };
  if (path.startsWith('/v1/statement/')) {
    const kind = path.split('/')[3]!;
    const known = pick(seen.trinoPaths.filter((u) => u.includes(`/${kind}/`)));
    return { method: m, path: (known ?? fill(path, params)) + (m === 'GET' ? p.maxWait : ''), headers, body: undefined };
  }
  if (path === '/v1/query/:id') return { method: m, path: `/v1/query/${pick(seen.queryIds) ?? params[0]!}`, headers, body: undefined };
  return { method: m, path: fill(path, params), headers, body: undefined };
}

// ---- the property ------------------------------------------------------------------------------

const isTrinoRoute = (path: string) => path.startsWith('/v1/statement') || path.startsWith('/v1/query/') || path === '/v1/info';
const TRINO_ERROR_KEYS = ['errorCode', 'errorName', 'errorType', 'message'];

describe('every route, random input', () => {
  it(`${RUNS} random requests: never a 5xx; every error is {error:{code,message}} (or a Trino error page, or under /v2 the protocol's {error}); the app keeps answering`, async () => {
    const started = Date.now();
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const target = targets[s.target]!;
        const route = target.routes[s.route % target.routes.length]!;
        const r = s.mode === 'plausible' ? plausibleRequest(route, target, s.plausible, s.params) : wildRequest(route, s);
        const { method, path } = r;
        const res = await request(target.url + path, {
          method,
          headers: r.headers,
          ...(r.body !== undefined && method !== 'HEAD' ? { body: r.body } : {}),
          headersTimeout: 20_000,
          bodyTimeout: 20_000,
        });
        const text = await res.body.text();
        if (res.statusCode < 300) remember(text);
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        if (process.env.FUZZ_TRACE) appendFileSync(process.env.FUZZ_TRACE, `${res.statusCode} ${method} ${route.path} ${text.slice(0, 160).replace(/\s+/g, ' ')}\n`);
        const where = `${s.mode}: ${method} ${path.slice(0, 300)} ${JSON.stringify(r.headers).slice(0, 300)} ${String(r.body).slice(0, 300)} -> ${res.statusCode} ${text.slice(0, 300)}`;
        expect(res.statusCode, where).toBeLessThan(500);
        const type = String(res.headers['content-type'] ?? '');
        if (res.statusCode >= 300 && res.statusCode < 400) {
          // The docs' redirects (/docs/static/index.html -> /docs/) are not errors.
          expect(res.headers.location, where).toBeDefined();
        } else if (res.statusCode >= 400 && method !== 'HEAD') {
          expect(type, where).toMatch(/^application\/json/);
          if (path.startsWith('/v2')) {
            // The Open Inference Protocol's error, the one exception to the catalogue's shape (README: Inference).
            const oip = JSON.parse(text) as Record<string, unknown>;
            expect(Object.keys(oip), where).toEqual(['error']);
            expect(typeof oip.error, where).toBe('string');
          } else {
            const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
            expect(typeof parsed.error?.code, where).toBe('string');
            expect(typeof parsed.error?.message, where).toBe('string');
          }
          expect(text, where).not.toMatch(/<html|\n\s+at \S+ \(/i); // no page, no stack trace
        } else if (res.statusCode < 300 && isTrinoRoute(route.path) && type.startsWith('application/json') && text !== '') {
          const page = JSON.parse(text) as { error?: Record<string, unknown> };
          if (page.error !== undefined) for (const k of TRINO_ERROR_KEYS) expect(page.error, where).toHaveProperty(k);
        }
      }),
      { numRuns: RUNS, endOnFailure: true, ...(SEED !== undefined ? { seed: SEED } : {}) },
    );
    for (const t of targets) expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    // Bounded: a few hundred runs well within a minute on a shared 2-core machine.
    const byStatus = [...statuses].sort(([a], [b]) => a - b).map(([code, n]) => `${code}×${n}`).join(' ');
    console.info(`fuzz: ${RUNS} runs over ${targets[0]!.routes.length} routes in ${Date.now() - started} ms: ${byStatus}`);
  }, 60_000);

  it('the fuzzed route table includes the health, metrics, Trino paging and GPU routes', () => {
    const paths = new Set(targets[0]!.routes.map((r) => r.path));
    for (const p of ['/healthz', '/readyz', '/metrics', '/v1/statement/queued/:id/:slug/:token', '/v1/gpu/jobs/:id', '/v1/query']) expect(paths).toContain(p);
  });
});
