// Why: the JSON door, `POST /v1/query`: the simplest way for an application to send SQL through the
// cache. Validates the body (the same TypeBox schema feeds /docs), names the caller, and writes the
// answer's pages as they come: a hit's stored bytes as they are; a miss held until it is complete (so its
// status, Cache-Status included, is exact) or until it passes the entry cap, then streamed with backpressure.
//
//   pages ──held (≤ cap)──> complete ─> 200 with the final Cache-Status, one write
//     │                 └─> error ────> the error's status and JSON body
//     └──past the cap──> 200, streamed; an error after that point aborts the response (truncated body)

import { principalOf } from '../shared/access.ts';
import { Readable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError } from '../shared/errors.ts';
import { addSharedSchemas, errorResponses, ErrorBody, ref } from '../shared/api-schemas.ts';
import { jsonFormat } from './core/render-json.ts';
import type { PageStream } from './page-stream.ts';
import type { QueryCacheService } from './service.ts';

const Identifier = Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\u0000-\\u001f]+$' });

export const QueryBody = Type.Object(
  {
    sql: Type.String({ minLength: 1, description: 'One SQL statement.' }),
    catalog: Type.Optional(Identifier),
    schema: Type.Optional(Identifier),
    session: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.]*$' }), Type.String({ maxLength: 4096 }), { description: 'Session properties: name -> value.', additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type QueryBodyT = Static<typeof QueryBody>;

// Written from stored bytes (render-json.ts), never serialised by fastify: this is its documentation.
const Answer = Type.Object(
  {
    columns: Type.Array(Type.Object({ name: Type.String(), type: Type.String({ description: 'Trino type name, e.g. decimal(12, 2)' }) })),
    rows: Type.Array(Type.Array(Type.Unknown()), { description: 'Positional rows in Trino JSON encoding: bigint as exact numbers, decimal as strings.' }),
    rowCount: Type.Integer({ minimum: 0 }),
  },
  { $id: 'QueryAnswer', description: 'The whole answer; headers Cache-Status (RFC 9211) and, on hits, Age' },
);

/** A poll of the answer stream wakes at least this often (its producer has its own time limits). */
const PAGE_WAIT_MS = 1000;
/** Answers at least this large are watched for a client that stops reading (smaller ones fit in socket buffers). */
const WATCHED_BYTES = 256 * 1024;

export function wantsNoCache(headers: Record<string, string | string[] | undefined>): boolean {
  const cacheControl = headers['cache-control'];
  const pragma = headers['pragma'];
  if (cacheControl === undefined && pragma === undefined) return false; // every hit passes here: no allocation
  const cc = [cacheControl, pragma].flat().filter(Boolean).join(',').toLowerCase();
  return /(^|[\s,])no-cache($|[\s,=])/.test(cc);
}

function answerHeaders(reply: FastifyReply, s: PageStream): FastifyReply {
  void reply.header('cache-status', s.cacheStatus);
  if (s.ageSeconds !== undefined) void reply.header('age', String(s.ageSeconds));
  return reply.type(jsonFormat.contentType);
}

/** The pages from `next` on, as they come; throws the stream's error (which aborts a response under way). */
async function* pagesFrom(s: PageStream, next: number, held: Buffer[]): AsyncGenerator<Buffer> {
  while (held.length > 0) yield held.shift()!;
  for (;;) {
    while (next < s.pageCount) {
      const page = s.page(next)!;
      s.consumed(next++);
      yield page;
    }
    if (s.error) throw s.error;
    if (s.done) return;
    await s.waitFor(next, PAGE_WAIT_MS);
  }
}

/**
 * Bytes the door holds for answers not yet complete (held for their exact status), across requests: an
 * answer that would pass it starts streaming instead (its status then provisional), so many slow or
 * concurrent large answers cannot add up to the process's memory.
 */
export class HoldBudget {
  private used = 0;
  readonly maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get usedBytes(): number {
    return this.used;
  }

  take(bytes: number): boolean {
    if (this.used + bytes > this.maxBytes) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used -= bytes;
  }
}

/**
 * A client that takes nothing of its answer for `timeoutMs` (its socket accepts no byte: it stopped
 * reading, or reads too slowly to matter) is disconnected, so the answer it holds is let go.
 */
function dropSlowReader(reply: FastifyReply, timeoutMs: number): void {
  const res = reply.raw;
  const socket = res.socket;
  if (!socket || timeoutMs <= 0) return;
  // Bytes the kernel took (bytesWritten also counts what still waits in the socket's own buffer).
  const delivered = () => socket.bytesWritten - socket.writableLength;
  let seen = delivered();
  let quietSinceMs = Date.now();
  const timer = setInterval(() => {
    if (res.writableFinished || socket.destroyed) return clearInterval(timer);
    if (delivered() !== seen) {
      seen = delivered();
      quietSinceMs = Date.now();
    } else if (Date.now() - quietSinceMs >= timeoutMs) {
      clearInterval(timer);
      socket.destroy();
    }
  }, Math.max(50, Math.floor(timeoutMs / 4)));
  timer.unref();
  res.once('close', () => clearInterval(timer));
}

export interface SendOptions {
  /** Largest answer held for its exact status (the entry cap: beyond it, it will not be stored anyway). */
  holdBytes: number;
  budget: HoldBudget;
  clientReadTimeoutMs: number;
}

/**
 * Writes an answer stream as the response: held until complete (exact status and Cache-Status) while it
 * stays under `holdBytes` and within the door's budget, streamed after that. A failure before anything
 * was sent is thrown, so the error handler answers it in the catalogue shape. Held pages are sent as they
 * are (no copy into one buffer).
 */
export async function sendStream(reply: FastifyReply, s: PageStream, opts: SendOptions): Promise<FastifyReply> {
  // The hit path: a stored answer, complete in one piece. Nothing to hold; a small one needs no watch.
  if (s.done && s.error === undefined && s.pageCount === 1) {
    const page = s.page(0)!;
    s.consumed(0);
    if (page.length >= WATCHED_BYTES) dropSlowReader(reply, opts.clientReadTimeoutMs);
    return answerHeaders(reply, s).send(page);
  }
  const held: Buffer[] = [];
  let heldBytes = 0;
  let reserved = 0;
  let next = 0;
  let streaming = false;
  let closed = false;
  reply.raw.once('close', () => {
    closed = true;
    opts.budget.give(reserved);
    reserved = 0;
  });
  for (;;) {
    if (closed) return reply; // the client left: reserve nothing more (the run is being stopped)
    while (next < s.pageCount && !streaming) {
      const page = s.page(next)!;
      if (!s.done && !opts.budget.take(page.length)) {
        streaming = true; // over the budget: no more holding, send what there is and the rest as it comes
        break;
      }
      if (!s.done) reserved += page.length;
      s.consumed(next++);
      held.push(page);
      heldBytes += page.length;
    }
    if (s.error) throw s.error;
    if (s.done && next >= s.pageCount) break;
    if (streaming || heldBytes > opts.holdBytes) {
      dropSlowReader(reply, opts.clientReadTimeoutMs);
      return answerHeaders(reply, s).send(Readable.from(pagesFrom(s, next, held), { objectMode: false }));
    }
    await s.waitFor(next, PAGE_WAIT_MS);
  }
  if (heldBytes >= WATCHED_BYTES) dropSlowReader(reply, opts.clientReadTimeoutMs);
  if (held.length === 1) return answerHeaders(reply, s).send(held[0]);
  void reply.header('content-length', String(heldBytes));
  return answerHeaders(reply, s).send(Readable.from(held, { objectMode: false }));
}

export function registerJsonDoor(app: FastifyInstance, deps: { service: QueryCacheService; maxSqlBytes: number; send: SendOptions }): void {
  addSharedSchemas(app, ErrorBody, Answer);
  app.post<{ Body: QueryBodyT }>(
    '/v1/query',
    {
      config: { access: 'user' },
      bodyLimit: deps.maxSqlBytes * 2 + 64 * 1024,
      schema: {
        summary: 'Run one SQL statement through the cache',
        operationId: 'query',
        description:
          'Identity: `Authorization: Bearer` when auth is on, else `X-Trino-User` (default anonymous). ' +
          '`Cache-Control: no-cache` forces a refresh. The answer carries `Cache-Status` (RFC 9211) and `Age` on hits.',
        tags: ['query'],
        headers: Type.Object({
          'x-trino-user': Type.Optional(Type.String()),
          'cache-control': Type.Optional(Type.String()),
        }),
        body: QueryBody,
        response: { 200: ref(Answer), ...errorResponses },
      },
    },
    async (request, reply) => {
      // The client going away stops the engine run. Watched only once there is a run to stop (a hit has
      // none, and pays for no listener); before that, a client that left is noticed when it matters.
      const gone = new AbortController();
      const left = () => request.raw.socket?.destroyed === true;
      const principal = principalOf(request);
      if (left()) throw new AppError('QUERY_CANCELLED', 'the client went away while it was being authenticated');
      const { sql, catalog, schema, session } = request.body;
      if (Buffer.byteLength(sql) > deps.maxSqlBytes) {
        throw new AppError('SQL_TOO_LARGE', `sql is ${Buffer.byteLength(sql)} bytes; the limit is ${deps.maxSqlBytes} (HOTPATH_MAX_SQL_BYTES)`);
      }
      const stream = await deps.service.open(
        { sql, principal: principal.user, catalog, schema, session: session ?? {}, noCache: wantsNoCache(request.headers), authorization: request.headers.authorization },
        jsonFormat,
        'json',
        gone.signal,
      );
      if (!stream.done) {
        const cancel = () => gone.abort(new AppError('QUERY_CANCELLED', 'the client went away'));
        if (left()) cancel();
        else reply.raw.once('close', () => reply.raw.writableFinished || cancel()); // a finished response closes too
      }
      return sendStream(reply, stream, deps.send);
    },
  );
}
