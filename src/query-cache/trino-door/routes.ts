// Why: hotpath as a Trino endpoint: unmodified Trino clients POST /v1/statement and follow nextUri;
// answers come from the same cache as the JSON door, and hits are paged out of stored bytes.

import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../../shared/auth.ts';
import { AppError, isAppError } from '../../shared/errors.ts';
import { addSharedSchemas, errorResponses, ErrorBody, ref, StringEnum } from '../../shared/api-schemas.ts';
import { trinoFormat } from '../core/render-trino.ts';
import type { QueryCacheService } from '../service.ts';
import type { PageStream } from '../page-stream.ts';
import { buildPage, parseTrinoHeaders, toTrinoError, type QueryState } from './protocol.ts';
import type { StatementRegistry, StatementQuery } from './queries.ts';
import type { QueryOwners } from './owners.ts';

/** Trino caps the wait of a queued poll at 1 s; executing polls may wait longer. */
const MAX_QUEUED_WAIT_MS = 1000;
const MAX_EXECUTING_WAIT_MS = 10_000;

export interface TrinoDoorDeps {
  service: QueryCacheService;
  auth: Authenticator;
  maxSqlBytes: number;
  registry: StatementRegistry;
  owners: QueryOwners;
}

// ---- /docs ------------------------------------------------------------------------------------
// Pages are assembled from stored bytes (protocol.ts buildPage) and written as they are, never
// serialised by fastify: these schemas document them. Trino's own clients ignore fields they do not
// know, so the open parts (columns, stats, error) allow more.

const QueryState = StringEnum(['QUEUED', 'RUNNING', 'FINISHED', 'FAILED']);
const FailureInfo = Type.Object(
  { type: Type.String({ description: 'hotpath.<catalogue code>' }), message: Type.String(), suppressed: Type.Array(Type.Unknown()), stack: Type.Array(Type.Unknown()) },
  { additionalProperties: true },
);
const TrinoError = Type.Object(
  {
    message: Type.String(),
    errorCode: Type.Integer(),
    errorName: Type.String({ description: 'Trino StandardErrorCode name, e.g. SYNTAX_ERROR, QUERY_QUEUE_FULL' }),
    errorType: StringEnum(['USER_ERROR', 'INTERNAL_ERROR', 'INSUFFICIENT_RESOURCES', 'EXTERNAL']),
    failureInfo: FailureInfo,
  },
  { additionalProperties: true },
);
const Uri = Type.String({ format: 'uri' });
export const QueryResults = Type.Object(
  {
    id: Type.String(),
    infoUri: Uri,
    nextUri: Type.Optional(Type.String({ format: 'uri', description: 'Follow it (GET) for the next page; absent on the last one (FINISHED or FAILED).' })),
    columns: Type.Optional(
      Type.Array(
        Type.Object(
          { name: Type.String(), type: Type.String(), typeSignature: Type.Object({ rawType: Type.String(), arguments: Type.Array(Type.Unknown()) }, { additionalProperties: true }) },
          { additionalProperties: true },
        ),
        { description: 'Once known (from the first data page on).' },
      ),
    ),
    data: Type.Optional(Type.Array(Type.Array(Type.Unknown()), { description: 'Rows of this page, in Trino JSON encoding.' })),
    stats: Type.Object(
      {
        state: QueryState,
        queued: Type.Boolean(),
        scheduled: Type.Boolean(),
        progressPercentage: Type.Optional(Type.Number()),
        nodes: Type.Integer(),
        totalSplits: Type.Integer(),
        queuedSplits: Type.Integer(),
        runningSplits: Type.Integer(),
        completedSplits: Type.Integer(),
        cpuTimeMillis: Type.Integer(),
        wallTimeMillis: Type.Integer(),
        queuedTimeMillis: Type.Integer(),
        elapsedTimeMillis: Type.Integer(),
        processedRows: Type.Integer(),
        processedBytes: Type.Integer(),
        physicalInputBytes: Type.Integer(),
        peakMemoryBytes: Type.Integer(),
        spilledBytes: Type.Integer(),
      },
      { additionalProperties: true },
    ),
    error: Type.Optional(TrinoError),
    warnings: Type.Array(Type.Unknown()),
  },
  { $id: 'TrinoQueryResults', description: 'A QueryResults page of the Trino client protocol' },
);
const QueryInfo = Type.Object(
  { queryId: Type.String(), state: QueryState, query: Type.String(), session: Type.Object({ user: Type.String() }), failureInfo: Type.Optional(FailureInfo) },
  { $id: 'TrinoQueryInfo', description: 'What this replica knows of a query' },
);
const ServerInfo = Type.Object(
  {
    nodeVersion: Type.Object({ version: Type.String() }),
    environment: Type.String(),
    coordinator: Type.Boolean(),
    starting: Type.Boolean(),
    uptime: Type.String({ description: 'e.g. 12.50m' }),
  },
  { $id: 'TrinoServerInfo', description: 'Trino server info (what clients and probes read)' },
);
const PageParams = Type.Object({
  id: Type.String({ description: 'Query id' }),
  slug: Type.String({ description: 'The secret part of the query\'s URIs' }),
  token: Type.String({ description: 'Page token' }),
});
const PollQuery = Type.Object({ maxWait: Type.Optional(Type.String({ description: 'Longest wait for the next page: 500ms, 1s, bare milliseconds; capped at 1 s (queued) or 10 s (executing)' })) });
const IdParams = Type.Object({ id: Type.String({ description: 'Query id' }) });
const Cancelled = { type: 'null', description: 'Cancelled (or already finished)' } as const;
const tags = ['trino'];
const trinoHeaders = Type.Object({
  'x-trino-user': Type.Optional(Type.String({ description: 'The user (when auth is off), as with every door; X-Presto-* spellings work too' })),
  'x-trino-catalog': Type.Optional(Type.String()),
  'x-trino-schema': Type.Optional(Type.String()),
  'x-trino-session': Type.Optional(Type.String({ description: 'name=urlencoded(value), comma-separated' })),
});

/** `maxWait=500ms` / `1s` / `0.5s` / bare milliseconds -> ms, capped. */
function parseMaxWaitMs(value: unknown, capMs: number): number {
  if (typeof value !== 'string' || value === '') return capMs;
  const m = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m)?$/.exec(value.trim());
  if (!m) return capMs;
  const unit = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000 }[(m[2] ?? 'ms') as 'ms'];
  return Math.min(capMs, Math.max(0, Number(m[1]) * unit));
}

/** A host[:port] fit for a URI (a name, IPv4 or [IPv6], an optional port): nothing else goes into nextUri. */
const URI_HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** `http(s)://host[:port]` and nothing more. */
function isUriBase(base: string): boolean {
  const m = /^(https?):\/\/(.+)$/.exec(base);
  return m !== null && URI_HOST.test(m[2]!);
}

/**
 * The base of the absolute URIs a client follows (with its credentials): X-Forwarded-Proto/-Host only
 * from a trusted proxy (fastify applies HOTPATH_TRUST_PROXY), else the Host header and the socket; a
 * value that is no valid scheme or host falls back to the address the request arrived at.
 */
export function externalBase(request: FastifyRequest): string {
  const proto = String(request.protocol ?? 'http').split(',')[0]!.trim().toLowerCase();
  const host = String(request.host ?? '').split(',')[0]!.trim();
  const local = request.raw.socket;
  const fallback = local.localAddress?.includes(':') ? `[${local.localAddress}]:${local.localPort}` : `${local.localAddress ?? '127.0.0.1'}:${local.localPort ?? 80}`;
  return `${proto === 'https' ? 'https' : 'http'}://${URI_HOST.test(host) ? host : fallback}`;
}

async function waitFor(run: Promise<void> | undefined, ms: number): Promise<void> {
  if (!run || ms <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([run, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

export function registerTrinoDoor(app: FastifyInstance, deps: TrinoDoorDeps): void {
  const { registry } = deps;
  app.addHook('onClose', async () => registry.close());
  addSharedSchemas(app, ErrorBody, QueryResults, QueryInfo, ServerInfo);
  const pageResponses = { 200: ref(QueryResults), ...errorResponses };

  /** Where the client came in: the forwarding replica's word for it (tagged), else this request's own. */
  const baseOf = (request: FastifyRequest): string => {
    const forwarded = deps.owners.forwardedBase(request);
    return forwarded !== undefined && isUriBase(forwarded) ? forwarded : externalBase(request);
  };
  const uris = (request: FastifyRequest, q: StatementQuery) => {
    const base = baseOf(request);
    return {
      info: `${base}/v1/query/${q.id}`,
      queued: (token: number) => `${base}/v1/statement/queued/${q.id}/${q.slug}/${token}`,
      executing: (token: number) => `${base}/v1/statement/executing/${q.id}/${q.slug}/${token}`,
    };
  };

  const send = (reply: FastifyReply, q: StatementQuery, body: Buffer) => {
    const headers = q.stream ?? q.finalHeaders;
    if (headers) void reply.header('cache-status', headers.cacheStatus);
    // Session changes travel like cookies: the client applies them to its next statements.
    for (const [name, values] of Object.entries(headers?.sessionHeaders ?? {})) {
      void reply.header(q.context.family === 'x-presto-' ? name.replace(/^x-trino-/, 'x-presto-') : name, values);
    }
    return reply.type('application/json').send(body);
  };

  const page = (request: FastifyRequest, q: StatementQuery, state: QueryState, extra: Partial<Parameters<typeof buildPage>[0]>) =>
    buildPage({
      id: q.id,
      infoUri: uris(request, q).info,
      nextUri: undefined,
      state,
      elapsedMs: (q.finishedAtMs ?? Date.now()) - q.createdAtMs,
      queuedMs: (q.startedAtMs ?? Date.now()) - q.createdAtMs,
      ...extra,
    });

  const failedPage = (request: FastifyRequest, q: StatementQuery, err: AppError) => page(request, q, 'FAILED', { error: toTrinoError(err) });

  // Statement text arrives as text/plain or, from axios-based clients, form-encoded: take any body as text.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: deps.maxSqlBytes }, (_req, body, done) => done(null, body));

    scope.post(
      '/v1/statement',
      {
        schema: {
          summary: 'Submit a statement (Trino client protocol)',
          description: 'The body is the SQL text (sent with any Content-Type). Answers the first page: follow its nextUri.',
          operationId: 'trinoSubmitStatement',
          tags,
          headers: trinoHeaders,
          body: { content: { 'text/plain': { schema: { type: 'string', description: 'One SQL statement' } } } },
          response: pageResponses,
        },
      },
      async (request, reply) => {
        const ctx = parseTrinoHeaders(request.headers);
        const principal = await deps.auth.authenticate(request.headers, request.ip);
        const sql = typeof request.body === 'string' ? request.body : '';
        if (sql.trim() === '') throw new AppError('BAD_REQUEST', 'SQL statement is empty');
        let q: StatementQuery;
        try {
          q = registry.create(sql, principal.user, ctx, request.headers.authorization);
        } catch (err) {
          // Over the registry's bounds: Trino's answer for a full queue, a FAILED page (clients report it).
          if (!isAppError(err) || err.code !== 'QUEUE_FULL') throw err;
          const id = registry.newId();
          const refused = buildPage({ id, infoUri: `${baseOf(request)}/v1/query/${id}`, nextUri: undefined, state: 'FAILED', elapsedMs: 0, queuedMs: 0, error: toTrinoError(err) });
          return reply.type('application/json').send(refused);
        }
        deps.owners.claim(q.id);
        return send(reply, q, page(request, q, 'QUEUED', { nextUri: uris(request, q).queued(1) }));
      },
    );
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
  /** A page URI's route: GET polls it (the next page, or the same one again for a retried token), DELETE cancels. */
  const pageRoute = (kind: 'queued' | 'executing', method: 'GET' | 'DELETE') => ({
    schema:
      method === 'GET'
        ? {
            summary: `Next page of a ${kind} query (follow nextUri)`,
            description: 'The same token again answers the same page (a retry). 503 (Retry-After) while the queue is full: retry the same URI.',
            operationId: kind === 'queued' ? 'trinoQueuedPage' : 'trinoExecutingPage',
            tags,
            params: PageParams,
            querystring: PollQuery,
            response: pageResponses,
          }
        : {
            summary: `Cancel a ${kind} query`,
            operationId: kind === 'queued' ? 'trinoCancelQueued' : 'trinoCancelExecuting',
            tags,
            params: PageParams,
            response: { 204: Cancelled, ...errorResponses },
          },
    preHandler: forwardForeign,
  });

  const open = (q: StatementQuery) => {
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
      q.abort.signal,
    );
  };

  /** The query's error, if it failed: refused at open, or failed while running. */
  const failure = (q: StatementQuery): AppError | undefined => q.error ?? q.stream?.error;

  /**
   * Checks a page URI's token: the last one served is answered again as it was (a retry); the next one
   * gets a new response; an older one is gone, a later one unknown. Returns true when it resent.
   */
  const resendOrCheck = (reply: FastifyReply, q: StatementQuery, kind: 'queued' | 'executing', raw: string, current: number): boolean => {
    const token = Number(raw);
    if (q.last && q.last.kind === kind && q.last.token === token) {
      void send(reply, q, q.last.body);
      return true;
    }
    if (!Number.isInteger(token) || token > current + 1 || token < 0) throw new AppError('NOT_FOUND', `no page ${raw}`);
    if (token <= current || (q.last && q.last.kind === 'executing' && kind === 'queued')) throw new AppError('GONE', `page ${raw} was replaced by a later one`);
    return false;
  };

  const remember = (reply: FastifyReply, q: StatementQuery, kind: 'queued' | 'executing', token: number, body: Buffer) => {
    registry.remember(q, { kind, token, body });
    if (kind === 'queued') q.queuedToken = token;
    else q.executingToken = token;
    const sent = send(reply, q, body);
    // The last page (FINISHED or FAILED) is out: the query stops counting against the bounds.
    if (q.finishedAtMs !== undefined || failure(q) !== undefined) registry.complete(q);
    return sent;
  };

  /** The next executing response: the next data page if there is one, FINISHED after the last, else an empty RUNNING page. */
  const executingBody = (request: FastifyRequest, q: StatementQuery, s: PageStream, token: number): Buffer => {
    const index = q.nextPage;
    const data = s.page(index);
    if (data !== undefined) {
      s.consumed(index);
      q.nextPage = index + 1;
    }
    const last = s.done && q.nextPage >= s.pageCount;
    if (last) q.finishedAtMs ??= Date.now();
    return page(request, q, last ? 'FINISHED' : 'RUNNING', {
      columns: s.columns,
      data,
      nextUri: last ? undefined : uris(request, q).executing(token + 1),
      processedRows: s.rowCount,
      ...(last ? { progressPercentage: 100 } : {}),
    });
  };

  /**
   * The common start of a page poll: find the query, answer a retried token with its page again (then
   * undefined), else start the run and wait, up to maxWait, for what this poll needs next.
   */
  const beginPoll = async (
    request: FastifyRequest<{ Params: { id: string; slug: string; token: string }; Querystring: { maxWait?: string } }>,
    reply: FastifyReply,
    kind: 'queued' | 'executing',
  ): Promise<{ q: StatementQuery; token: number } | undefined> => {
    const q = registry.lookup(request.params.id, request.params.slug);
    if (resendOrCheck(reply, q, kind, request.params.token, kind === 'queued' ? q.queuedToken : q.executingToken)) return undefined;
    // Its last page is out: only a retry of that page (answered above) is left to ask for.
    if (q.completed) throw new AppError('GONE', `query ${q.id} has finished; its last page was token ${q.last?.token ?? '-'}`);
    const waitMs = parseMaxWaitMs(request.query.maxWait, kind === 'queued' ? MAX_QUEUED_WAIT_MS : MAX_EXECUTING_WAIT_MS);
    const deadline = Date.now() + waitMs;
    await waitFor(registry.start(q, open), waitMs);
    await q.stream?.waitFor(kind === 'queued' ? 0 : q.nextPage, deadline - Date.now());
    // A retry of this token that arrived while we waited may have been answered first: then this is
    // that retry's twin, and gets the same page (else each would take a page and one would be lost).
    if (resendOrCheck(reply, q, kind, request.params.token, kind === 'queued' ? q.queuedToken : q.executingToken)) return undefined;
    return { q, token: Number(request.params.token) };
  };

  app.get<{ Params: { id: string; slug: string; token: string }; Querystring: { maxWait?: string } }>(
    '/v1/statement/queued/:id/:slug/:token',
    pageRoute('queued', 'GET'),
    async (request, reply) => {
      const polled = await beginPoll(request, reply, 'queued');
      if (!polled) return reply;
      const { q, token } = polled;
      const refused = failure(q);
      if (refused && (refused.code === 'QUEUE_FULL' || refused.code === 'QUEUE_TIMEOUT')) {
        registry.resetRun(q); // the client's retry of this URI starts it again
        return reply.code(503).header('retry-after', refused.headers?.['retry-after'] ?? '1').send(refused.toBody());
      }
      if (refused) return remember(reply, q, 'queued', token, failedPage(request, q, refused));
      const s = q.stream;
      if (!s || (!s.columns && !s.done)) return remember(reply, q, 'queued', token, page(request, q, 'QUEUED', { nextUri: uris(request, q).queued(token + 1) }));
      // Data may come on any page: when the first page is already there (a hit), it comes now, which
      // saves the client a round trip.
      if (s.pageCount > 0 || s.done) {
        q.executingToken = -1;
        return remember(reply, q, 'queued', token, executingBody(request, q, s, -1));
      }
      return remember(reply, q, 'queued', token, page(request, q, 'RUNNING', { nextUri: uris(request, q).executing(0) }));
    },
  );

  app.get<{ Params: { id: string; slug: string; token: string }; Querystring: { maxWait?: string } }>(
    '/v1/statement/executing/:id/:slug/:token',
    pageRoute('executing', 'GET'),
    async (request, reply) => {
      const polled = await beginPoll(request, reply, 'executing');
      if (!polled) return reply;
      const { q, token } = polled;
      const s = q.stream;
      const failed = failure(q);
      if (failed) return remember(reply, q, 'executing', token, failedPage(request, q, failed));
      if (!s) return remember(reply, q, 'executing', token, page(request, q, 'RUNNING', { nextUri: uris(request, q).executing(token + 1) }));
      return remember(reply, q, 'executing', token, executingBody(request, q, s, token));
    },
  );

  /**
   * `/v1/query/{id}` names no slug, so the id alone must not open a query to anyone: only its user
   * (or an admin) may see or cancel it; others are told it does not exist.
   */
  const ownQuery = async (request: FastifyRequest, id: string): Promise<StatementQuery> => {
    const principal = await deps.auth.authenticate(request.headers, request.ip);
    const q = registry.lookup(id);
    if (q.user !== principal.user && !principal.admin) throw new AppError('NOT_FOUND', `unknown query ${id}`);
    return q;
  };

  const cancel = async (request: FastifyRequest<{ Params: { id: string; slug?: string } }>, reply: FastifyReply) => {
    try {
      if (request.params.slug === undefined) await ownQuery(request, request.params.id);
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
  app.delete<{ Params: { id: string } }>(
    '/v1/query/:id',
    { schema: { summary: 'Cancel a query (its user or an admin)', operationId: 'trinoCancelQuery', tags, params: IdParams, response: { 204: Cancelled, ...errorResponses } }, preHandler: forwardForeign },
    cancel,
  );

  app.get<{ Params: { id: string } }>(
    '/v1/query/:id',
    { schema: { summary: 'Query info (its user or an admin); 410 for a query not known', operationId: 'trinoQueryInfo', tags, params: IdParams, response: { 200: ref(QueryInfo), ...errorResponses } }, preHandler: forwardForeign },
    async (request) => {
      let q: StatementQuery;
      try {
        q = await ownQuery(request, request.params.id);
      } catch (err) {
        if (isAppError(err) && err.code === 'NOT_FOUND') throw new AppError('GONE', `unknown query ${request.params.id}`);
        throw err;
      }
      const failed = failure(q);
      const state: QueryState = failed ? 'FAILED' : q.completed || q.stream?.done ? 'FINISHED' : q.run ? 'RUNNING' : 'QUEUED';
      return { queryId: q.id, state, query: q.sql, session: { user: q.user }, ...(failed ? { failureInfo: toTrinoError(failed).failureInfo } : {}) };
    },
  );

  const startedAt = Date.now();
  app.get('/v1/info', { schema: { summary: 'Server info (health probes)', operationId: 'trinoServerInfo', tags, response: { 200: ref(ServerInfo), ...errorResponses } } }, async () => ({
    nodeVersion: { version: 'hotpath-0.1.0' },
    environment: 'hotpath',
    coordinator: true,
    starting: false,
    uptime: `${((Date.now() - startedAt) / 60_000).toFixed(2)}m`,
  }));

}
