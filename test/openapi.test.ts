// Why: /docs/json is what clients are generated from, so it must list every route and tell the truth
// about each answer. The route table is taken as fastify builds it (an onRoute hook registered before
// any route, as in the fuzz test, so hidden routes cannot slip by), with the GPU API on; each route must
// be documented with a 2xx answer and its 4xx and 5xx errors. Then real answers (the GPU API, the JSON
// and Trino doors, health) are validated by Ajv against the schema the document gives for their status:
// a documented schema that lies fails here. Objects the document describes without saying
// additionalProperties are checked as closed (every field an answer carries must be documented), so a
// field written from stored bytes (the Trino pages) cannot go undocumented either.
import { Ajv, type ValidateFunction } from 'ajv';
import formatsModule from 'ajv-formats';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { ERRORS } from '../src/shared/errors.ts';
import { k80Cluster } from '../src/gpu/inventory.ts';
import { testConfig, useTestStack, type ControlledEngine } from './helpers/app.ts';

// ajv-formats is CommonJS (module.exports = plugin, with .default): take whichever this loader gives.
const addFormats = ((formatsModule as unknown as { default?: unknown }).default ?? formatsModule) as (ajv: Ajv) => Ajv;

interface Operation {
  operationId?: string;
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}
interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown> };
}

let app: FastifyInstance;
let url = '';
let engine: ControlledEngine;
const routes: { method: string; path: string }[] = [];
let doc: OpenApiDoc;
let ajv: Ajv;

useTestStack(async (stack) => {
  engine = stack.engine;
  const config = testConfig(stack.redis.url, {
    HOTPATH_GPU_ENABLED: 'true',
    HOTPATH_GPU_EXECUTOR: 'none',
    HOTPATH_GPU_TICK_MS: '50',
    HOTPATH_GPU_PREEMPTION: 'false',
    HOTPATH_ADMIN_USERS: 'alice',
    // ml: anyone may submit; closed: carol's alone (bob's submission is refused with the tenant named).
    HOTPATH_TENANTS: JSON.stringify({ ml: { open: true }, closed: { users: ['carol'] } }),
  });
  const onRoute = (r: RouteOptions) => {
    for (const method of [r.method].flat()) routes.push({ method, path: r.url ?? '' });
  };
  app = await buildApp(config, { engine: stack.engine, defaultMetrics: false, gpuCluster: k80Cluster(1), onRoute });
  await app.listen({ port: 0, host: '127.0.0.1' });
  stack.onClose(() => app.close());
  url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  // As startApp: the cache's Redis up and its invalidation channel proven, so /readyz starts all ok.
  const store = app.queryCache.store;
  const deadline = Date.now() + 5000;
  while (!(store.available() && store.invalidationChannelUp()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
});

beforeAll(async () => {
  const res = await fetch(`${url}/docs/json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as OpenApiDoc;
  ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
  ajv.addSchema({ ...(closedObjects(structuredClone(doc)) as object), $id: 'openapi' });
});

// ---- the document, as a validator ---------------------------------------------------------------

/** Objects with properties and no word on others are closed: what an answer carries must be documented. */
function closedObjects(node: unknown): unknown {
  if (Array.isArray(node)) node.forEach(closedObjects);
  else if (node !== null && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o.type === 'object' && typeof o.properties === 'object' && !('additionalProperties' in o)) o.additionalProperties = false;
    for (const v of Object.values(o)) closedObjects(v);
  }
  return node;
}

const pointer = (...parts: string[]) => `#/${parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

/** fastify `/v1/gpu/jobs/:id` -> OpenAPI `/v1/gpu/jobs/{id}`. */
const openapiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** The document's path template that a concrete URL path matches. */
function templateOf(path: string): string {
  const matches = Object.keys(doc.paths).filter((t) => new RegExp(`^${t.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path));
  const exact = matches.find((t) => !t.includes('{'));
  expect(matches.length, `one documented path for ${path}: ${matches.join(', ')}`).toBeGreaterThan(0);
  return exact ?? matches[0]!;
}

/** The response entry the document gives for a status: its own, else its range (4XX), else default. */
function responseKey(op: Operation, status: number): string | undefined {
  return [String(status), `${String(status)[0]}XX`, 'default'].find((k) => op.responses[k] !== undefined);
}

const validators = new Map<string, ValidateFunction>();
function validatorFor(template: string, method: string, key: string, mediaType: string): ValidateFunction {
  const ref = `openapi${pointer('paths', template, method, 'responses', key, 'content', mediaType, 'schema')}`;
  let v = validators.get(ref);
  if (v === undefined) {
    v = ajv.compile({ $ref: ref });
    validators.set(ref, v);
  }
  return v;
}

interface Answer {
  status: number;
  type: string;
  text: string;
  body: unknown;
}

async function call(method: string, path: string, opts: { json?: unknown; text?: string; user?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { 'x-trino-user': opts.user ?? 'alice' };
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.text !== undefined) {
    headers['content-type'] = 'text/plain';
    body = opts.text;
  }
  const res = await fetch(url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, type, text, body: type.startsWith('application/json') && text !== '' ? JSON.parse(text) : text };
}

/** Checks an answer against what /docs/json says of this method, path and status; returns its body. */
function conforms(method: string, path: string, a: Answer): any {
  const template = templateOf(path.split('?')[0]!);
  const op = doc.paths[template]?.[method.toLowerCase()];
  expect(op, `${method} ${template} documented`).toBeDefined();
  const key = responseKey(op!, a.status);
  const where = `${method} ${path} -> ${a.status} ${a.text.slice(0, 400)}`;
  expect(key, `${where}: status documented (documented: ${Object.keys(op!.responses).join(', ')})`).toBeDefined();
  const content = op!.responses[key!]!.content;
  if (content === undefined) {
    expect(a.text, `${where}: documented without a body`).toBe('');
    return undefined;
  }
  const essence = (t: string) => t.split(';')[0]!.trim().toLowerCase();
  const mediaType = Object.keys(content).find((m) => m === a.type) ?? Object.keys(content).find((m) => essence(m) === essence(a.type));
  expect(mediaType, `${where}: content type ${a.type} documented (documented: ${Object.keys(content).join(', ')})`).toBeDefined();
  const validate = validatorFor(template, method.toLowerCase(), key!, mediaType!);
  const ok = validate(a.body);
  expect(ok, `${where}\ndoes not match the documented ${key} schema: ${ajv.errorsText(validate.errors, { separator: '\n' })}`).toBe(true);
  return a.body;
}

async function documented(method: string, path: string, opts: Parameters<typeof call>[2] = {}): Promise<Answer & { body: any }> {
  const a = await call(method, path, opts);
  conforms(method, path, a);
  return a;
}

// ---- every route is documented --------------------------------------------------------------------

/** The swagger-ui plugin's own routes (the page, its static files, the document itself). */
const isDocsUi = (path: string) => path === '/docs' || path.startsWith('/docs/');
/**
 * HEAD routes fastify adds for each GET (exposeHeadRoutes, its default): the GET's answer without a
 * body. @fastify/swagger leaves them out (they would describe bodies a HEAD never has); a HEAD route
 * someone registered on its own (no GET beside it) still has to be documented.
 */
const isAutoHead = (r: { method: string; path: string }) => r.method === 'HEAD' && routes.some((g) => g.method === 'GET' && g.path === r.path);

describe('/docs/json', () => {
  it('documents every route fastify serves, each with a 2xx answer and its 4xx and 5xx errors', () => {
    const served = routes.filter((r) => !isDocsUi(r.path) && !isAutoHead(r));
    // The doors are all there (the table is not empty or partial).
    for (const p of ['/healthz', '/readyz', '/metrics', '/v1/query', '/v1/statement', '/v1/statement/queued/:id/:slug/:token', '/v1/gpu/jobs/:id', '/v1/cache']) {
      expect(served.map((r) => r.path)).toContain(p);
    }
    const missing: string[] = [];
    const errorBody = (status: number) => {
      const code = Object.entries(ERRORS).find(([, e]) => e.status === status)?.[0] ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST');
      return { error: { code, message: 'the catalogue shape' } };
    };
    for (const r of served) {
      const template = openapiPath(r.path);
      const op = doc.paths[template]?.[r.method.toLowerCase()];
      if (op === undefined) {
        missing.push(`${r.method} ${template}`);
        continue;
      }
      const keys = Object.keys(op.responses);
      const where = `${r.method} ${template} (responses ${keys.join(', ')})`;
      expect(op.operationId, `${where}: operationId`).toMatch(/^[A-Za-z][A-Za-z0-9]*$/);
      expect(keys.some((k) => /^2(\d\d|XX)$/.test(k)), `${where}: a 2xx answer`).toBe(true);
      for (const range of ['4', '5']) {
        const errors = keys.filter((k) => k.startsWith(range));
        expect(errors.length, `${where}: ${range}xx errors`).toBeGreaterThan(0);
        for (const k of errors) {
          // Every error response documented accepts the catalogue's error body (and no other shape for it),
          // except under /v2, where the Open Inference Protocol's {"error": "…"} is the one shape.
          const status = k.endsWith('XX') ? Number(`${range}00`) : Number(k);
          const v = validatorFor(template, r.method.toLowerCase(), k, 'application/json');
          if (template.startsWith('/v2')) {
            expect(v({ error: 'the protocol shape' }), `${where}: ${k} accepts {error: string}: ${ajv.errorsText(v.errors)}`).toBe(true);
            expect(v(errorBody(status)), `${where}: ${k} refuses the catalogue shape`).toBe(false);
            continue;
          }
          expect(v(errorBody(status)), `${where}: ${k} accepts {error:{code,message}}: ${ajv.errorsText(v.errors)}`).toBe(true);
          expect(v({ error: { message: 'no code' } }), `${where}: ${k} requires error.code`).toBe(false);
        }
      }
      // Each 2xx with a body describes it (a body-less one, 204, says so by giving none).
      for (const k of keys.filter((key) => key.startsWith('2') && key !== '204')) expect(op.responses[k]!.content, `${where}: ${k} content`).toBeDefined();
    }
    expect(missing, 'routes fastify serves that /docs/json lacks').toEqual([]);
    // And nothing documented that is not served.
    const servedKeys = new Set(served.map((r) => `${r.method.toLowerCase()} ${openapiPath(r.path)}`));
    const extra = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).filter((m) => m !== 'parameters').map((m) => `${m} ${p}`)).filter((k) => !servedKeys.has(k));
    expect(extra).toEqual([]);
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(new Set(ids).size, 'operationIds are unique').toBe(ids.length);
  });

  it('the validator catches a lie (a wrong type, a missing field, an undocumented one)', () => {
    const job = validatorFor('/v1/gpu/jobs/{id}', 'get', '200', 'application/json');
    expect(job({ id: 1 })).toBe(false);
    const page = validatorFor('/v1/statement', 'post', '200', 'application/json');
    const good = { id: 'q', infoUri: 'http://h/v1/query/q', stats: { state: 'QUEUED', queued: true, scheduled: false, nodes: 1, totalSplits: 1, queuedSplits: 1, runningSplits: 0, completedSplits: 0, cpuTimeMillis: 0, wallTimeMillis: 0, queuedTimeMillis: 0, elapsedTimeMillis: 0, processedRows: 0, processedBytes: 0, physicalInputBytes: 0, peakMemoryBytes: 0, spilledBytes: 0 }, warnings: [] };
    expect(page(good), ajv.errorsText(page.errors)).toBe(true);
    expect(page({ ...good, undocumented: 1 })).toBe(false);
    const { warnings: _w, ...noWarnings } = good;
    expect(page(noWarnings)).toBe(false);
  });
});

// ---- real answers match it ------------------------------------------------------------------------

describe('real answers match the documented schemas', () => {
  it('health: /healthz, /readyz (ready and not ready), /metrics', async () => {
    expect((await documented('GET', '/healthz')).body).toEqual({ status: 'ok' });
    const ready = await documented('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(Object.keys(ready.body.checks).sort()).toEqual(['cache', 'engine', 'redis']);
    const ping = engine.ping;
    engine.ping = async () => {
      throw new Error('engine down');
    };
    try {
      const notReady = await documented('GET', '/readyz');
      expect(notReady.status).toBe(503);
      expect(notReady.body).toMatchObject({ status: 'not-ready', checks: { engine: 'failed: engine down' } });
    } finally {
      engine.ping = ping;
    }
    const metrics = await documented('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.text).toContain('# TYPE ');
  });

  it('the JSON door and cache admin: an answer, a syntax error (errorName kept), a bad body, an invalidation', async () => {
    const ok = await documented('POST', '/v1/query', { json: { sql: 'SELECT 1 AS one, NULL AS nothing' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ columns: [{ name: 'one' }, { name: 'nothing' }], rows: [[1, null]], rowCount: 1 });
    // Again: a hit, from stored bytes.
    expect((await documented('POST', '/v1/query', { json: { sql: 'SELECT 1 AS one, NULL AS nothing' } })).body).toEqual(ok.body);
    const syntax = await documented('POST', '/v1/query', { json: { sql: "SELECT 'unterminated" } });
    expect(syntax.status).toBe(400);
    expect(syntax.body.error).toMatchObject({ code: 'SQL_ERROR', errorName: 'SYNTAX_ERROR' });
    expect((await documented('POST', '/v1/query', { json: { sql: 42 } })).status).toBe(400);
    expect((await documented('GET', '/v1/query/nope')).status).toBe(410);
    const cleared = await documented('DELETE', '/v1/cache?all=true');
    expect(cleared.status).toBe(200);
    expect(typeof cleared.body.invalidated).toBe('number');
    expect((await documented('DELETE', '/v1/cache?all=true', { user: 'bob' })).status).toBe(403);
  });

  it('the Trino door: submit, info, every page to the end, a retried and a replaced page, a failure, cancel, /v1/info', async () => {
    expect((await documented('GET', '/v1/info')).body).toMatchObject({ coordinator: true, starting: false });
    const first = await documented('POST', '/v1/statement', { text: 'SELECT order_id, quantity FROM demo.sales.orders ORDER BY order_id LIMIT 3' });
    expect(first.status).toBe(200);
    expect(first.body.stats.state).toBe('QUEUED');
    const info = await documented('GET', `/v1/query/${first.body.id}`);
    expect(info.body).toMatchObject({ queryId: first.body.id, session: { user: 'alice' } });
    let page = first.body;
    const paths: string[] = [];
    let rows = 0;
    while (page.nextUri !== undefined) {
      const path = new URL(page.nextUri).pathname;
      paths.push(path);
      const a = await documented('GET', path);
      expect(a.status).toBe(200);
      page = a.body;
      rows += page.data?.length ?? 0;
    }
    expect(page.stats.state).toBe('FINISHED');
    expect(rows).toBe(3);
    expect(page.columns.map((c: { name: string }) => c.name)).toEqual(['order_id', 'quantity']);
    // The last page again (a retry) is the same page; an earlier one was replaced.
    expect((await documented('GET', paths.at(-1)!)).body).toEqual(page);
    if (paths.length > 1) expect((await documented('GET', paths[0]!)).status).toBe(410);
    expect((await documented('GET', '/v1/statement/executing/nope/x/0')).status).toBe(404);

    // A statement the engine refuses ends on a FAILED page with a Trino error.
    let failed = (await documented('POST', '/v1/statement', { text: 'SELECT * FROM demo.sales.no_such_table' })).body;
    while (failed.nextUri !== undefined) failed = (await documented('GET', new URL(failed.nextUri).pathname)).body;
    expect(failed.stats.state).toBe('FAILED');
    expect(failed.error).toMatchObject({ errorName: expect.any(String), errorType: expect.any(String) });
    expect(failed.error.failureInfo.type).toMatch(/^hotpath\./);
    expect((await documented('POST', '/v1/statement', { text: '   ' })).status).toBe(400);

    // Cancel: by its page URI, and by id.
    const toCancel = (await documented('POST', '/v1/statement', { text: 'SELECT 2' })).body;
    expect((await documented('DELETE', new URL(toCancel.nextUri).pathname)).status).toBe(204);
    const byId = (await documented('POST', '/v1/statement', { text: 'SELECT 3' })).body;
    expect((await documented('DELETE', `/v1/query/${byId.id}`)).status).toBe(204);
  });

  it('the GPU API: submit (201, then 200 for the same key), get, list, heartbeat, cluster, audit, complete, cancel, errors', async () => {
    const submitted = await documented('POST', '/v1/gpu/jobs', { json: { tenant: 'ml', gpus: 1, idempotencyKey: 'openapi-1', metadata: { run: 7, nested: { a: [1, 'x', null] } } } });
    expect(submitted.status).toBe(201);
    // Open shapes come through whole (fastify drops what a response schema does not name).
    expect(submitted.body).toMatchObject({ idempotencyKey: 'openapi-1', metadata: { run: 7, nested: { a: [1, 'x', null] } }, request: { gpus: 1, cpuMilli: 1000 } });
    const id = submitted.body.id as string;
    const again = await documented('POST', '/v1/gpu/jobs', { json: { tenant: 'ml', gpus: 1, idempotencyKey: 'openapi-1' } });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(id);

    const placed = await documented('GET', `/v1/gpu/jobs/${id}?waitSeconds=20&whileState=queued`);
    expect(placed.body).toMatchObject({ state: 'placed', placement: { node: 'k80-0' } });
    expect(placed.body.leaseExpiresAt).toBeDefined();
    const hb = await documented('POST', `/v1/gpu/jobs/${id}/heartbeat`, { json: { attempt: 1 } });
    expect(hb.body).toMatchObject({ id, state: 'running', attempt: 1 });

    const other = (await documented('POST', '/v1/gpu/jobs', { json: { tenant: 'ml', gpuMilli: 250, gpuMemoryMiB: 1024 } })).body.id as string;
    // Placed (so recorded: the list reads the store), on a share of a device.
    expect((await documented('GET', `/v1/gpu/jobs/${other}?waitSeconds=20&whileState=queued`)).body.placement.gpus[0]).toMatchObject({ milli: 250, memoryMiB: 1024 });
    const list = await documented('GET', '/v1/gpu/jobs?limit=1');
    expect(list.body.jobs).toHaveLength(1);
    expect(list.body.nextCursor).toBeDefined();
    expect((await documented('GET', `/v1/gpu/jobs?cursor=${list.body.nextCursor}`)).body.jobs.length).toBeGreaterThan(0);
    const cluster = await documented('GET', '/v1/gpu/cluster');
    expect(cluster.body.nodes[0].gpus[0].board).not.toBeUndefined();
    expect((await documented('GET', '/v1/gpu/audit')).body).toMatchObject({ ok: true, problems: [] });
    expect((await documented('GET', '/v1/gpu/audit', { user: 'bob' })).status).toBe(403);

    const done = await documented('POST', `/v1/gpu/jobs/${id}/complete`, { json: { ok: true, message: 'trained' } });
    expect(done.body).toMatchObject({ state: 'completed', reason: 'trained' });
    expect(done.body.endedAt).toBeDefined();
    const cancelled = await documented('DELETE', `/v1/gpu/jobs/${other}`);
    expect(cancelled.body.state).toBe('cancelled');

    // Errors keep their detail fields: state (LEASE_LOST), tenant (FORBIDDEN).
    const late = await documented('POST', `/v1/gpu/jobs/${id}/heartbeat`);
    expect(late.status).toBe(409);
    expect(late.body.error).toMatchObject({ code: 'LEASE_LOST', state: 'completed' });
    const refused = await documented('POST', '/v1/gpu/jobs', { json: { tenant: 'closed', gpus: 1 }, user: 'bob' });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'FORBIDDEN', tenant: 'closed' });
    expect((await documented('GET', '/v1/gpu/jobs/j-missing')).status).toBe(404);
    expect((await documented('POST', '/v1/gpu/jobs', { json: { tenant: 'ml', gpus: 99 } })).status).toBe(400);
  });
});
