// Why: who may call a route is declared with the route, not repeated in each handler: a route's
// `config.access` says 'user' (any authenticated principal) or 'admin', and one preHandler hook
// authenticates the caller (after the request was parsed and validated, as the handlers did) and hands
// the principal to the handler as `request.principal`. A route without `access` is public (health,
// metrics, docs, Trino's /v1/info, and Trino pages, whose unguessable slug is the capability) and
// carries no hook at all.
import type { FastifyInstance, FastifyRequest, preHandlerHookHandler } from 'fastify';
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
  // Only routes that declare access get the hook (health, metrics and Trino pages pay nothing), first
  // among the route's own preHandlers: a route's other checks see an authenticated caller.
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (access === undefined) return;
    const hook = accessHook(auth, access, route.config?.adminOnly ?? 'this needs admin scope');
    const own = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
    route.preHandler = [hook, ...own];
  });
}

/**
 * A callback hook: in the modes that verify without I/O the caller is known before the hook returns, so
 * a cache hit waits on no promise; the others (JWT, passwords) settle through `done`.
 */
function accessHook(auth: Authenticator, access: Access, adminOnly: string): preHandlerHookHandler {
  const now = auth.authenticateNow;
  const settle = (request: FastifyRequest, principal: Principal, done: (err?: Error) => void): void => {
    if (access === 'admin' && !principal.admin) return done(new AppError('FORBIDDEN', adminOnly));
    request.principal = principal;
    done();
  };
  return function checkAccess(request, _reply, done) {
    if (now === undefined) {
      auth.authenticate(request.headers, request.ip).then((principal) => settle(request, principal, done), (err: Error) => done(err));
      return;
    }
    let principal: Principal;
    try {
      principal = now(request.headers, request.ip);
    } catch (err) {
      return done(err as Error);
    }
    settle(request, principal, done);
  };
}

/** The caller of a route that declares `access` (a route that does not has none: a bug). */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === undefined) throw new TypeError(`route ${request.routeOptions.url} reads the principal but declares no access`);
  return request.principal;
}
