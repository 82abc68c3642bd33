// Why: one error handler for the whole app, so every failure, ours or fastify's, answers JSON
// `{error:{code,message}}` with the right status; 5xx internals are logged, never shown.

import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, isAppError } from './errors.ts';

/** Fastify's own error codes that mean "the client sent something wrong". */
const FASTIFY_CLIENT_ERRORS: Record<string, AppError['code']> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
};

export function toHttpError(err: FastifyError | Error): AppError {
  if (isAppError(err)) return err;
  const fe = err as FastifyError;
  if (fe.validation) return new AppError('BAD_REQUEST', `invalid request: ${fe.message}`);
  const mapped = fe.code ? FASTIFY_CLIENT_ERRORS[fe.code] : undefined;
  if (mapped) return new AppError(mapped, fe.message);
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    // e.g. malformed JSON (a SyntaxError with statusCode 400)
    return new AppError('BAD_REQUEST', fe.message);
  }
  return new AppError('INTERNAL', undefined, { cause: err });
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const e = toHttpError(err);
    if (e.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: e.code, status: e.status }, 'request rejected');
    if (e.headers) void reply.headers(e.headers);
    return reply.code(e.status).type('application/json').send(e.toBody());
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(new AppError('NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`).toBody()),
  );
}
