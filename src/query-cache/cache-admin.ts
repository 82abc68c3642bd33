// Why: operators invalidate the cache after a data load: by table, by user, or everything. The
// change reaches Redis and every replica's L1 before the answer returns. Admin scope when auth is on.

import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { addSharedSchemas, errorResponses, ErrorBody } from '../shared/api-schemas.ts';
import { AppError } from '../shared/errors.ts';
import type { QueryCacheMetrics } from './metrics.ts';
import type { Invalidation } from './store/redis-store.ts';
import type { TieredStore } from './store/tiered-store.ts';

const Query = Type.Object(
  {
    table: Type.Optional(Type.String({ pattern: '^[^.\\s]+\\.[^.\\s]+\\.[^.\\s]+$', description: 'catalog.schema.table' })),
    user: Type.Optional(Type.String({ minLength: 1 })),
    all: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
  },
  { additionalProperties: false },
);

export function registerCacheAdmin(app: FastifyInstance, deps: { store: TieredStore; metrics: QueryCacheMetrics }): void {
  addSharedSchemas(app, ErrorBody);
  app.delete<{ Querystring: Static<typeof Query> }>(
    '/v1/cache',
    {
      config: { access: 'admin', adminOnly: 'cache invalidation needs admin scope' },
      schema: {
        summary: 'Invalidate cached results',
        operationId: 'invalidateCache',
        description: 'Exactly one of `table=catalog.schema.table`, `user=`, `all=true`. Answers the number of entries removed from Redis.',
        tags: ['cache'],
        querystring: Query,
        response: { 200: Type.Object({ invalidated: Type.Integer({ minimum: 0, description: 'Entries removed from Redis' }) }), ...errorResponses },
      },
    },
    async (request) => {
      const { table, user, all } = request.query;
      const given = [table !== undefined, user !== undefined, all === 'true'].filter(Boolean).length;
      if (given !== 1) throw new AppError('BAD_REQUEST', 'give exactly one of table=catalog.schema.table, user=NAME or all=true');
      const inv: Invalidation = table !== undefined ? { kind: 'table', table: table.toLowerCase() } : user !== undefined ? { kind: 'user', user } : { kind: 'all' };
      if (!deps.store.available()) throw new AppError('CACHE_UNAVAILABLE', 'Redis is unavailable: nothing could be invalidated; retry when it is back');
      let invalidated: number;
      try {
        invalidated = await deps.store.invalidate(inv);
      } catch (err) {
        throw new AppError('CACHE_UNAVAILABLE', 'Redis failed during invalidation; retry', { cause: err });
      }
      deps.metrics.invalidations.inc({ kind: inv.kind });
      request.log.info({ kind: inv.kind, invalidated }, 'cache invalidated');
      return { invalidated };
    },
  );
}
