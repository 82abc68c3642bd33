// Why: who may call a route is declared with the route, not repeated in each handler: a route's
// `config.access` says 'user' (any authenticated principal) or 'admin', and one preHandler hook
// authenticates the caller (after the request was parsed and validated, as the handlers did) and hands
// the principal to the handler as `request.principal`. A route without `access` is public (health,
// metrics, docs, Trino's /v1/info, and Trino pages, whose unguessable slug is the capability).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator, Principal } from './auth.ts';
import { AppError } from './errors.ts';

export type Access = 'user' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route (shared/access.ts); absent: anyone. */
    access?: Access;
    /** The 403 message for a non-admin on an admin route. */
    adminOnly?: string;
  }
  interface FastifyRequest {
    /** The authenticated caller of a route that declares `access`. */
    principal: Principal | undefined;
  }
}

export function registerAccess(app: FastifyInstance, auth: Authenticator): void {
  app.decorateRequest('principal', undefined);
  app.addHook('preHandler', async (request) => {
    const { access, adminOnly } = request.routeOptions.config;
    if (access === undefined) return;
    const principal = await auth.authenticate(request.headers, request.ip);
    if (access === 'admin' && !principal.admin) throw new AppError('FORBIDDEN', adminOnly ?? 'this needs admin scope');
    request.principal = principal;
  });
}

/** The caller of a route that declares `access` (a route that does not has none: a bug). */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === undefined) throw new TypeError(`route ${request.routeOptions.url} reads the principal but declares no access`);
  return request.principal;
}
