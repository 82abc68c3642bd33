// Why: request.log is deferred (shared/request-logger.ts): a request that logs nothing must not build a
// pino child, and one that does log must write the same line fastify's own child would have written
// (its request id bound, the parent's level respected), through a real fastify app and a real pino.
import { Writable } from 'node:stream';
import Fastify, { LogController } from 'fastify';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { deferredChildLogger } from '../../src/shared/request-logger.ts';

function capture(level: string): { logger: pino.Logger; lines: () => Record<string, unknown>[]; children: () => number } {
  const out: string[] = [];
  const stream = new Writable({ write: (chunk, _enc, cb) => (out.push(String(chunk)), cb()) });
  const logger = pino({ level }, stream);
  let made = 0;
  type ChildFn = (this: unknown, b: pino.Bindings, o?: pino.ChildLoggerOptions) => unknown;
  const child = logger.child as unknown as ChildFn;
  // Counts every child made from this logger or any of its descendants (they inherit this property).
  logger.child = function (this: unknown, b: pino.Bindings, o?: pino.ChildLoggerOptions) {
    made++;
    return child.call(this, b, o);
  } as unknown as typeof logger.child;
  return { logger, lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>), children: () => made };
}

describe('deferred request logger', () => {
  it('builds no child for a request that logs nothing (or only below the level), and binds reqId when it logs', async () => {
    const { logger, lines, children } = capture('info');
    const app = Fastify({ loggerInstance: logger, childLoggerFactory: deferredChildLogger, logController: new LogController({ disableRequestLogging: true }) });
    app.get('/quiet', async (request) => {
      request.log.debug({ x: 1 }, 'below the level');
      return { ok: true };
    });
    app.get('/loud', async (request) => {
      request.log.warn({ y: 2 }, 'something to say');
      request.log.child({ part: 'inner' }).info('from a child');
      return { level: request.log.level };
    });
    try {
      await app.ready();
      const atStart = children(); // fastify's own app logger is a child of the instance
      for (let i = 0; i < 5; i++) expect((await app.inject('/quiet')).statusCode).toBe(200);
      expect(children() - atStart).toBe(0);
      expect(lines()).toEqual([]);
      const res = await app.inject('/loud');
      expect(res.json()).toEqual({ level: 'info' });
      const written = lines();
      expect(written).toHaveLength(2);
      expect(written[0]).toMatchObject({ level: 40, y: 2, msg: 'something to say', reqId: res.headers['request-id'] ?? expect.any(String) });
      expect(written[1]).toMatchObject({ level: 30, part: 'inner', msg: 'from a child', reqId: written[0]!.reqId });
      expect(children() - atStart).toBe(2); // the request's own, made at its first line, and the child of it
    } finally {
      await app.close();
    }
  });

  it('an error handler logging through request.log (as hotpath\'s does) writes the line with its request id', async () => {
    const { logger, lines } = capture('info');
    const app = Fastify({ loggerInstance: logger, childLoggerFactory: deferredChildLogger, logController: new LogController({ disableRequestLogging: true }) });
    app.setErrorHandler((err, request, reply) => {
      request.log.error({ err }, 'request failed');
      return reply.code(500).send({ error: { code: 'INTERNAL', message: 'kaput' } });
    });
    app.get('/boom', async () => {
      throw new Error('kaput');
    });
    try {
      expect((await app.inject('/boom')).statusCode).toBe(500);
      const errors = lines().filter((l) => l.level === 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ reqId: expect.any(String), err: { message: 'kaput' } });
    } finally {
      await app.close();
    }
  });
});
