// Why: the Trino door's routes as /docs shows them. Pages are assembled from stored bytes (protocol.ts
// buildPage) and written as they are, never serialised by fastify: these schemas document them. Trino's
// own clients ignore fields they do not know, so the open parts (columns, stats, error) allow more.

import { Type } from '@sinclair/typebox';
import { errorResponses, ErrorBody, ref, StringEnum } from '../../shared/api-schemas.ts';
import type { PageKind } from './protocol.ts';

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
  {
    queryId: Type.String(),
    state: QueryState,
    query: Type.String(),
    session: Type.Object({ user: Type.String() }),
    failureInfo: Type.Optional(FailureInfo),
    errorCode: Type.Optional(Type.Object({ code: Type.Integer(), name: Type.String(), type: Type.String() }, { description: "Trino's error code of a failed (or cancelled: USER_CANCELED) query" })),
  },
  { $id: 'TrinoQueryInfo', description: 'What this replica knows of a query: a query it no longer holds (cancelled, abandoned, finished and let go) keeps its final state while remembered' },
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

/** The named schemas the routes refer to (added to the app once). */
export const sharedSchemas = [ErrorBody, QueryResults, QueryInfo, ServerInfo];
const pageResponses = { 200: ref(QueryResults), ...errorResponses };

export const submitSchema = {
  summary: 'Submit a statement (Trino client protocol)',
  description: 'The body is the SQL text (sent with any Content-Type). Answers the first page: follow its nextUri.',
  operationId: 'trinoSubmitStatement',
  tags,
  headers: trinoHeaders,
  body: { content: { 'text/plain': { schema: { type: 'string', description: 'One SQL statement' } } } },
  response: pageResponses,
};

/** A page URI's route: GET polls it (the next page, or the same one again for a retried token), DELETE cancels. */
export function pageSchema(kind: PageKind, method: 'GET' | 'DELETE') {
  return method === 'GET'
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
      };
}

export const cancelQuerySchema = { summary: 'Cancel a query (its user or an admin)', operationId: 'trinoCancelQuery', tags, params: IdParams, response: { 204: Cancelled, ...errorResponses } };
export const queryInfoSchema = { summary: 'Query info (its user or an admin), also the final state of a cancelled or finished query; 410 for a query not known', operationId: 'trinoQueryInfo', tags, params: IdParams, response: { 200: ref(QueryInfo), ...errorResponses } };
export const serverInfoSchema = { summary: 'Server info (health probes)', operationId: 'trinoServerInfo', tags, response: { 200: ref(ServerInfo), ...errorResponses } };
