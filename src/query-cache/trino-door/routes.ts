// Why: hotpath as a Trino endpoint: unmodified Trino clients POST /v1/statement and follow nextUri;
// answers come from the same cache as the JSON door, and hits are paged out of stored bytes. The
// handlers here parse and check a request and call named operations: the registry (registry.ts) holds
// the statements under their bounds, each statement (statement.ts) says what its next page is, and
// protocol.ts writes it; a query another replica owns is forwarded there (owners.ts).

import { principalOf } from '../../shared/access.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../../shared/errors.ts';
import { addSharedSchemas } from '../../shared/api-schemas.ts';
import { trinoFormat } from '../core/render-trino.ts';
import type { QueryCacheService } from '../service.ts';
import { externalBase, isUriBase, MAX_WAIT_MS, parseMaxWaitMs, parseTrinoHeaders, refusedPage, statementPage, toTrinoError, type PageKind, type PagePlan } from './protocol.ts';
import type { StatementRegistry } from './registry.ts';
import type { Statement } from './statement.ts';
import type { QueryOwners } from './owners.ts';
import { cancelQuerySchema, pageSchema, queryInfoSchema, serverInfoSchema, sharedSchemas, submitSchema } from './schemas.ts';

export interface TrinoDoorDeps {
  service: QueryCacheService;
  maxSqlBytes: number;
  registry: StatementRegistry;
  owners: QueryOwners;
  /** The door's one clock (ms since the epoch), the same its registry and owners read: page stats, poll deadlines, uptime. */
  now: () => number;
}

interface PollRoute {
  Params: { id: string; slug: string; token: string };
  Querystring: { maxWait?: string };
}

async function waitFor(run: Promise<void> | undefined, ms: number): Promise<void> {
  if (!run || ms <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([run, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

export function registerTrinoDoor(app: FastifyInstance, deps: TrinoDoorDeps): void {
  const { registry, now } = deps;
  app.addHook('onClose', async () => registry.close());
  addSharedSchemas(app, ...sharedSchemas);

  /** Where the client came in: the forwarding replica's word for it (tagged), else this request's own. */
  const baseOf = (request: FastifyRequest): string => {
    const forwarded = deps.owners.forwardedBase(request);
    return forwarded !== undefined && isUriBase(forwarded) ? forwarded : externalBase(request);
  };

  const render = (request: FastifyRequest, q: Statement, plan: PagePlan): Buffer => statementPage(plan, { id: q.id, slug: q.slug, base: baseOf(request), ...q.timings(now()) });

  const send = (reply: FastifyReply, q: Statement, body: Buffer) => {
    const headers = q.headers;
    if (headers) void reply.header('cache-status', headers.cacheStatus);
    if (headers?.ageSeconds !== undefined) void reply.header('age', String(headers.ageSeconds));
    // Session changes travel like cookies: the client applies them to its next statements.
    for (const [name, values] of Object.entries(headers?.sessionHeaders ?? {})) {
      void reply.header(q.context.family === 'x-presto-' ? name.replace(/^x-trino-/, 'x-presto-') : name, values);
    }
    return reply.type('application/json').send(body);
  };

  // Statement text arrives as text/plain or, from axios-based clients, form-encoded: take any body as text.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: deps.maxSqlBytes }, (_req, body, done) => done(null, body));

    scope.post('/v1/statement', { schema: submitSchema, config: { access: 'user' } }, async (request, reply) => {
      const ctx = parseTrinoHeaders(request.headers);
      const principal = principalOf(request);
      const sql = typeof request.body === 'string' ? request.body : '';
      if (sql.trim() === '') throw new AppError('BAD_REQUEST', 'SQL statement is empty');
      let q: Statement;
      try {
        q = registry.create(sql, principal.user, ctx, request.headers.authorization);
      } catch (err) {
        // Over the registry's bounds: Trino's answer for a full queue, a FAILED page (clients report it).
        if (!isAppError(err) || err.code !== 'QUEUE_FULL') throw err;
        return reply.type('application/json').send(refusedPage(registry.newId(), baseOf(request), err));
      }
      deps.owners.claim(q.id);
      return send(reply, q, render(request, q, q.submittedPage()));
    });
  });

  /** Requests for a query this replica does not know go to the replica that owns it. */
  const forwardForeign = async (request: FastifyRequest, reply: FastifyReply) => {
    const { id } = request.params as { id: string };
    if (registry.has(id)) {
      deps.owners.touch(id);
      return;
    }
    if (await deps.owners.forwardIfForeign(id, request, reply, baseOf(request))) return reply;
  };
  const pageRoute = (kind: PageKind, method: 'GET' | 'DELETE') => ({ schema: pageSchema(kind, method), preHandler: forwardForeign });

  const open = (q: Statement) => {
    const ctx = q.context;
    return deps.service.open(
      {
        sql: q.sql,
        principal: q.user,
        catalog: ctx.catalog,
        schema: ctx.schema,
        session: ctx.session,
        noCache: false,
        authorization: q.authorization,
        upstreamHeaders: ctx.forward,
        allowSessionStatements: true,
        bypassReason: ctx.transactionId ? 'transaction' : undefined,
        keyExtras: {
          path: ctx.path,
          timeZone: ctx.timeZone,
          language: ctx.language,
          clientCapabilities: ctx.clientCapabilities,
          roles: ctx.roles,
          extraCredentialHash: ctx.extraCredentialHash,
          preparedStatements: ctx.preparedStatements,
        },
      },
      trinoFormat,
      'trino',
      q.signal,
    );
  };

  /**
   * A page poll: a retried token gets its page again; a new one starts the run and waits, up to maxWait,
   * for what this poll needs next, then gets the statement's next page (kept for its own retry).
   */
  const poll = (kind: PageKind) => async (request: FastifyRequest<PollRoute>, reply: FastifyReply) => {
    const q = registry.lookup(request.params.id, request.params.slug);
    const checked = q.checkToken(kind, request.params.token);
    if ('again' in checked) return send(reply, q, checked.again);
    q.assertNotCompleted();
    const waitMs = parseMaxWaitMs(request.query.maxWait, MAX_WAIT_MS[kind]);
    const deadline = now() + waitMs;
    await waitFor(registry.start(q, open), waitMs);
    await q.waitForPage(kind, deadline - now());
    // A retry of this token that arrived while we waited may have been answered first: then this is
    // that retry's twin, and gets the same page (else each would take a page and one would be lost).
    const rechecked = q.checkToken(kind, request.params.token);
    if ('again' in rechecked) return send(reply, q, rechecked.again);
    const answer = q.nextPage(kind, rechecked.token, now());
    if ('retry' in answer) {
      registry.resetRun(q); // the client's retry of this URI starts it again
      return reply.code(503).header('retry-after', answer.retry.headers?.['retry-after'] ?? '1').send(answer.retry.toBody());
    }
    const body = render(request, q, answer.page);
    registry.servePage(q, kind, rechecked.token, body);
    return send(reply, q, body);
  };
  app.get<PollRoute>('/v1/statement/queued/:id/:slug/:token', pageRoute('queued', 'GET'), poll('queued'));
  app.get<PollRoute>('/v1/statement/executing/:id/:slug/:token', pageRoute('executing', 'GET'), poll('executing'));

  /**
   * `/v1/query/{id}` names no slug, so the id alone must not open a query to anyone: only its user
   * (or an admin) may see or cancel it; others are told it does not exist.
   */
  const ownQuery = (request: FastifyRequest, id: string): Statement => {
    const principal = principalOf(request);
    const q = registry.lookup(id);
    if (q.user !== principal.user && !principal.admin) throw new AppError('NOT_FOUND', `unknown query ${id}`);
    return q;
  };

  const cancel = async (request: FastifyRequest<{ Params: { id: string; slug?: string } }>, reply: FastifyReply) => {
    try {
      if (request.params.slug === undefined) ownQuery(request, request.params.id);
      else registry.lookup(request.params.id, request.params.slug);
    } catch (err) {
      if (isAppError(err) && err.code === 'GONE') return reply.code(204).send();
      throw err;
    }
    registry.remove(request.params.id);
    return reply.code(204).send();
  };
  app.delete<{ Params: { id: string; slug: string } }>('/v1/statement/queued/:id/:slug/:token', pageRoute('queued', 'DELETE'), cancel);
  app.delete<{ Params: { id: string; slug: string } }>('/v1/statement/executing/:id/:slug/:token', pageRoute('executing', 'DELETE'), cancel);
  app.delete<{ Params: { id: string } }>('/v1/query/:id', { schema: cancelQuerySchema, config: { access: 'user' }, preHandler: forwardForeign }, cancel);

  app.get<{ Params: { id: string } }>('/v1/query/:id', { schema: queryInfoSchema, config: { access: 'user' }, preHandler: forwardForeign }, async (request) => {
    let q: Pick<Statement, 'user' | 'sql' | 'infoState' | 'failure'>;
    try {
      q = ownQuery(request, request.params.id);
    } catch (err) {
      // A query no longer held (cancelled, abandoned, finished and let go): its final state, as Trino tells it.
      const ended = isAppError(err) && err.code === 'GONE' ? registry.outcome(request.params.id) : undefined;
      const principal = principalOf(request);
      if (ended !== undefined && (ended.user === principal.user || principal.admin)) q = { user: ended.user, sql: ended.sql, infoState: ended.state, failure: ended.failure };
      else if (isAppError(err) && (err.code === 'NOT_FOUND' || err.code === 'GONE')) throw new AppError('GONE', `unknown query ${request.params.id}`);
      else throw err;
    }
    const failed = q.failure;
    const info = failed ? toTrinoError(failed) : undefined;
    return {
      queryId: request.params.id,
      state: q.infoState,
      query: q.sql,
      session: { user: q.user },
      ...(info ? { failureInfo: info.failureInfo, errorCode: { code: info.errorCode, name: info.errorName, type: info.errorType } } : {}),
    };
  });

  const startedAt = now();
  app.get('/v1/info', { schema: serverInfoSchema }, async () => ({
    nodeVersion: { version: 'hotpath-0.1.0' },
    environment: 'hotpath',
    coordinator: true,
    starting: false,
    uptime: `${((now() - startedAt) / 60_000).toFixed(2)}m`,
  }));
}
