// Why: one error handler for the whole app, so every failure, ours, fastify's or Node's HTTP parser's,
// answers JSON `{error:{code,message}}` with the right status; 5xx internals are logged, never shown.
// Only INTERNAL (a bug) is logged at error with its stack; the expected 5xx of an outage (Redis, the
// engine) are logged per request at info, since the outage itself is logged once (redis.ts).

import { STATUS_CODES, maxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError } from './errors.ts';

/** Fastify's own error codes that mean "the client sent something wrong", with our message where theirs echoes the input. */
const FASTIFY_CLIENT_ERRORS: Record<string, [AppError['code'], string?]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['BODY_TOO_LARGE'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['BAD_REQUEST'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['BAD_REQUEST'],
  FST_ERR_CTP_EMPTY_TYPE: ['UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_INVALID_TYPE: ['UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_BAD_URL: ['BAD_REQUEST', 'the URL path is not valid percent-encoding'],
  FST_ERR_MAX_PARAM_LENGTH: ['URI_TOO_LONG', 'a path segment is longer than any route allows'],
};

export function toHttpError(err: FastifyError | Error): AppError {
  if (isAppError(err)) return err;
  const fe = err as FastifyError;
  if (fe.validation) return new AppError('BAD_REQUEST', `invalid request: ${fe.message}`);
  const mapped = fe.code ? FASTIFY_CLIENT_ERRORS[fe.code] : undefined;
  if (mapped) return new AppError(mapped[0], mapped[1] ?? fe.message);
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    // e.g. malformed JSON (a SyntaxError with statusCode 400)
    return new AppError('BAD_REQUEST', fe.message);
  }
  return new AppError('INTERNAL', undefined, { cause: err });
}

function logFailure(log: FastifyBaseLogger, e: AppError, err: unknown): void {
  if (e.code === 'INTERNAL') log.error({ err }, 'request failed');
  else if (e.status >= 500) {
    // An outage answered as the catalogue says: no stack (it is not a bug), and not at warn (it is
    // one line per request; the outage is logged once, when the connection goes and comes back).
    const cause = e.cause instanceof Error ? e.cause.message : undefined;
    log.info({ code: e.code, status: e.status, ...(cause !== undefined ? { cause } : {}) }, 'request failed');
  } else log.info({ code: e.code, status: e.status }, 'request rejected');
}

function send(reply: FastifyReply, e: AppError): FastifyReply {
  if (e.headers) void reply.headers(e.headers);
  return reply.code(e.status).type('application/json').send(e.toBody());
}

/** For fastify's `frameworkErrors` option: a bad percent-encoding or an over-long path segment, found while routing. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fastify types this option generically over every server kind
export function answerFrameworkError(err: FastifyError, request: FastifyRequest<any, any, any, any, any>, reply: FastifyReply<any, any, any, any, any, any, any>): void {
  const e = toHttpError(err);
  logFailure(request.log, e, err);
  // Under /v2 (the Open Inference Protocol door) errors are the protocol's {"error": "…"}, even these.
  if (isOipPath(request.url)) void reply.code(e.status).type('application/json').send({ error: e.message });
  else void send(reply, e);
}

/** The Open Inference Protocol door's paths, whose errors are `{"error": "…"}` (src/inference/plugin.ts). */
export const isOipPath = (url: string): boolean => url === '/v2' || url.startsWith('/v2/') || url.startsWith('/v2?');

interface ParserError extends Error {
  code?: string;
  reason?: string;
  rawPacket?: Buffer;
}

/**
 * What Node's HTTP parser refused, as a catalogue error. A header overflow whose packet ends inside
 * a long request line (a method, a space, then a kilobyte or more of URL) is the URL's fault: 414.
 */
export function clientErrorOf(err: ParserError): AppError {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new AppError('REQUEST_TIMEOUT');
    case 'HPE_HEADER_OVERFLOW': {
      const raw = err.rawPacket?.toString('latin1') ?? '';
      const lastLine = raw.slice(raw.lastIndexOf('\n') + 1);
      if (/^[A-Z]+ [^\s]{1024,}$/.test(lastLine)) return new AppError('URI_TOO_LONG', `the URL is longer than the ${maxHeaderSize} bytes allowed for the request line and headers`);
      return new AppError('HEADERS_TOO_LARGE', `the request line and headers are larger than the ${maxHeaderSize} bytes allowed`);
    }
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new AppError('BODY_TOO_LARGE', 'the chunk extensions are larger than allowed');
    case 'HPE_INVALID_METHOD':
      return new AppError('BAD_REQUEST', 'the HTTP method is not one this server knows');
    default:
      return new AppError('BAD_REQUEST', `the HTTP request is malformed (${err.reason ?? err.code ?? 'parse error'})`);
  }
}

/** A whole HTTP/1.1 response on a raw socket (there is no request object to answer through). */
export function rawErrorResponse(e: AppError, oip = false): string {
  const body = JSON.stringify(oip ? { error: e.message } : e.toBody());
  return (
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? 'Error'}\r\n` +
    'content-type: application/json; charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    'connection: close\r\n\r\n' +
    body
  );
}

/**
 * For fastify's `clientErrorHandler` option (bound to the instance): Node's parser refused the bytes
 * before any request existed. Like Node's own handler, answer only when no response of an earlier
 * request on this connection has started (that would corrupt it), then close the connection.
 */
export function answerClientError(this: FastifyInstance, error: Error, socket: Socket): void {
  const err = error as ParserError;
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e = clientErrorOf(err);
  this.log.debug({ code: e.code, parserCode: err.code }, 'malformed request refused');
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  // The path, when the request line got that far (to answer a /v2 request in its protocol's shape).
  const path = /^[^ \r\n]* ([^ \r\n]+)/.exec(err.rawPacket?.toString('latin1') ?? '')?.[1] ?? '';
  if (socket.writable && inFlight?.headersSent !== true) socket.write(rawErrorResponse(e, isOipPath(path)));
  socket.destroy();
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const e = toHttpError(err);
    logFailure(request.log, e, err);
    return send(reply, e);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(new AppError('NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`).toBody()),
  );
  // Instead of fastify's own 503 body while closing (return503OnClosing off in app.ts): requests that
  // arrive on a kept-alive connection during the drain get the catalogue's answer, and the connection ends.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // A callback hook, not an async one: every request passes it, hits included.
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    void reply.header('connection', 'close');
    done(new AppError('SHUTTING_DOWN'));
  });
}
