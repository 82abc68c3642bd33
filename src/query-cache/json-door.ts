// Why: the JSON door, `POST /v1/query`: the simplest way for an application to send SQL through the
// cache. Validates the body (the same TypeBox schema feeds /docs), names the caller, and writes the
// service's answer bytes as they are, with Cache-Status and Age.

import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError } from '../shared/errors.ts';
import type { Authenticator } from '../shared/auth.ts';
import { renderJsonAnswer } from './core/render-json.ts';
import type { QueryAnswer, QueryCacheService, Renderer } from './service.ts';

const Identifier = Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\u0000-\\u001f]+$' });

export const QueryBody = Type.Object(
  {
    sql: Type.String({ minLength: 1, description: 'One SQL statement.' }),
    catalog: Type.Optional(Identifier),
    schema: Type.Optional(Identifier),
    session: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.]*$' }), Type.String({ maxLength: 4096 }), { description: 'Session properties: name -> value.' })),
  },
  { additionalProperties: false },
);
export type QueryBodyT = Static<typeof QueryBody>;

const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), errorName: Type.Optional(Type.String()) }),
});

const Answer = Type.Object({
  columns: Type.Array(Type.Object({ name: Type.String(), type: Type.String({ description: 'Trino type name, e.g. decimal(12,2)' }) })),
  rows: Type.Array(Type.Array(Type.Unknown()), { description: 'Positional rows in Trino JSON encoding: bigint as exact numbers, decimal as strings.' }),
  rowCount: Type.Integer(),
});

export const jsonRenderer: Renderer = { format: 'json-v1', contentType: 'application/json; charset=utf-8', render: renderJsonAnswer };

export function wantsNoCache(headers: Record<string, string | string[] | undefined>): boolean {
  const cc = [headers['cache-control'], headers['pragma']].flat().filter(Boolean).join(',').toLowerCase();
  return /(^|[\s,])no-cache($|[\s,=])/.test(cc);
}

export function sendAnswer(reply: FastifyReply, answer: QueryAnswer): FastifyReply {
  void reply.header('cache-status', answer.cacheStatus);
  if (answer.ageSeconds !== undefined) void reply.header('age', String(answer.ageSeconds));
  return reply.type(answer.contentType).send(answer.body);
}

export function registerJsonDoor(app: FastifyInstance, deps: { service: QueryCacheService; auth: Authenticator; maxSqlBytes: number }): void {
  app.post<{ Body: QueryBodyT }>(
    '/v1/query',
    {
      bodyLimit: deps.maxSqlBytes * 2 + 64 * 1024,
      schema: {
        summary: 'Run one SQL statement through the cache',
        description:
          'Identity: `Authorization: Bearer` when auth is on, else `X-Trino-User` (default anonymous). ' +
          '`Cache-Control: no-cache` forces a refresh. The answer carries `Cache-Status` (RFC 9211) and `Age` on hits.',
        tags: ['query'],
        headers: Type.Object({
          'x-trino-user': Type.Optional(Type.String()),
          'cache-control': Type.Optional(Type.String()),
        }),
        body: QueryBody,
        response: { 200: Answer, '4xx': ErrorBody, '5xx': ErrorBody },
      },
    },
    async (request, reply) => {
      const principal = await deps.auth.authenticate(request.headers);
      const { sql, catalog, schema, session } = request.body;
      if (Buffer.byteLength(sql) > deps.maxSqlBytes) {
        throw new AppError('SQL_TOO_LARGE', `sql is ${Buffer.byteLength(sql)} bytes; the limit is ${deps.maxSqlBytes} (HOTPATH_MAX_SQL_BYTES)`);
      }
      const answer = await deps.service.query(
        { sql, principal: principal.user, catalog, schema, session: session ?? {}, noCache: wantsNoCache(request.headers), authorization: request.headers.authorization },
        jsonRenderer,
        'json',
      );
      return sendAnswer(reply, answer);
    },
  );
}
