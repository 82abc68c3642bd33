// Why: bad input gets a 4xx in the catalogue's shape `{"error":{"code","message"}}` even when it never
// reaches a route: bytes Node's HTTP parser refuses (written on raw sockets, as a broken client or a
// scanner would send them), bad percent-encoding and over-long path segments found by the router, JSON
// nested too deep to store, and requests that arrive while the app drains.
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, buildApp } from '../src/app.ts';
import { useTestStack, type ControlledEngine, type TestApp } from './helpers/app.ts';

let app: TestApp;
let engine: ControlledEngine;
let port: number;
useTestStack(async (stack) => {
  engine = stack.engine;
  app = await stack.app({ HOTPATH_GPU_ENABLED: 'true', HOTPATH_GPU_EXECUTOR: 'none' });
  port = Number(new URL(app.url).port);
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes `bytes` on a fresh connection and reads the one response until the server closes (or 5 s pass). */
function rawRequest(bytes: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => {}); // a reset after the answer still leaves the answer in `chunks`
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const head = text.slice(0, text.indexOf('\r\n\r\n'));
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(head);
      if (!m) return reject(new Error(`no HTTP response, got ${JSON.stringify(text.slice(0, 200))}`));
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(m[1]), headers, body: text.slice(head.length + 4) });
    });
    socket.write(bytes);
  });
}

function expectCatalogue(r: RawResponse, status: number, code: string): { code: string; message: string } {
  expect(r.status, r.body).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body));
  const body = JSON.parse(r.body) as { error: { code: string; message: string } };
  expect(body).toEqual({ error: { code, message: expect.any(String) } });
  return body.error;
}

describe('what Node\'s HTTP parser refuses answers in the catalogue shape, then the connection closes', () => {
  it.each([
    ['a control character in a header value', 400, 'BAD_REQUEST', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Junk: a\x01b\r\n\r\n'],
    ['an unknown method', 400, 'BAD_REQUEST', 'BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a raw non-ASCII path', 400, 'BAD_REQUEST', Buffer.concat([Buffer.from('GET /v1/gpu/jobs/'), Buffer.from('ü€', 'utf8'), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')])],
    ['Content-Length: -1', 400, 'BAD_REQUEST', 'POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n'],
    ['both Content-Length and chunked', 400, 'BAD_REQUEST', 'POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['not HTTP at all', 400, 'BAD_REQUEST', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'],
    ['a 64 KB URL', 414, 'URI_TOO_LONG', `GET /v1/gpu/jobs?tenant=${'a'.repeat(64 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`],
    ['a 100 KB header', 431, 'HEADERS_TOO_LARGE', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(100 * 1024)}\r\n\r\n`],
    ['CONNECT (Node answers it itself)', 400, 'BAD_REQUEST', 'CONNECT example.org:80 HTTP/1.1\r\nHost: example.org:80\r\n\r\n'],
    ['no Host header, to an unknown path', 404, 'NOT_FOUND', 'GET /nowhere HTTP/1.1\r\nConnection: close\r\n\r\n'],
    ['an Expect other than 100-continue', 417, 'EXPECTATION_FAILED', 'POST /v1/query HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nContent-Length: 0\r\n\r\n'],
  ] as const)('%s: %i %s', async (_what, status, code, bytes) => {
    const r = await rawRequest(bytes);
    expectCatalogue(r, status, code);
    expect(r.headers.connection).toBe('close');
  });

  it('a CONNECT whose client resets at once does not take the process down', async () => {
    for (let i = 0; i < 5; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise((r) => socket.once('connect', r));
      socket.write('CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n');
      socket.resetAndDestroy();
    }
    await new Promise((r) => setTimeout(r, 200));
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
  });

  it('the app still answers afterwards', async () => {
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
  });
});

describe('what the router refuses', () => {
  it('bad percent-encoding in the path: 400 BAD_REQUEST', async () => {
    const r = await rawRequest('GET /v1/gpu/jobs/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expectCatalogue(r, 400, 'BAD_REQUEST');
  });

  it('a path parameter as long as the schema allows (128), even fully percent-encoded, reaches the route', async () => {
    const plain = await fetch(`${app.url}/v1/gpu/jobs/${'a'.repeat(128)}`);
    expect(plain.status).toBe(404);
    expect(await plain.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    // 128 three-byte characters: 1152 bytes on the wire, each as %XX
    const encoded = await fetch(`${app.url}/v1/gpu/jobs/${encodeURIComponent('€'.repeat(128))}`);
    expect(encoded.status).toBe(404);
    expect(await encoded.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('one character over the schema: 400 from the schema; far beyond any schema: 414 URI_TOO_LONG', async () => {
    const over = await fetch(`${app.url}/v1/gpu/jobs/${'a'.repeat(129)}`);
    expect(over.status).toBe(400);
    expect(await over.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    const r = await rawRequest(`GET /v1/gpu/jobs/${'a'.repeat(2000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expectCatalogue(r, 414, 'URI_TOO_LONG');
  });
});

describe('JSON bodies nested too deep', () => {
  const submit = (body: string) =>
    fetch(`${app.url}/v1/gpu/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-trino-user': 'alice' }, body });
  // The body object is level 1 and metadata level 2; `inner` more levels of arrays inside metadata.x.
  const nested = (inner: number) => `{"tenant":"t","gpus":1,"metadata":{"x":${'['.repeat(inner)}${']'.repeat(inner)}}}`;

  it('5000 levels of metadata: 400 BAD_REQUEST naming the limit (it was a 503 GPU_UNAVAILABLE from a RangeError)', async () => {
    const r = await submit(nested(5000));
    expect(r.status).toBe(400);
    const body = (await r.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('BAD_REQUEST');
    expect(body.error.message).toContain(`deeper than ${MAX_JSON_DEPTH} levels`);
  });

  it('exactly the limit is accepted; one more level is not; brackets inside strings do not count', async () => {
    expect((await submit(nested(MAX_JSON_DEPTH - 2))).status).toBe(201);
    expect((await submit(nested(MAX_JSON_DEPTH - 1))).status).toBe(400);
    expect((await submit(`{"tenant":"t","gpus":1,"metadata":{"s":"${'['.repeat(5000)}\\"{{{"}}`)).status).toBe(201);
  });

  it('the JSON query door refuses it the same way', async () => {
    const r = await fetch(`${app.url}/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"sql":"SELECT 1","x":${'{"a":'.repeat(500)}1${'}'.repeat(500)}}` });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ error: { code: 'BAD_REQUEST', message: expect.stringContaining('nested deeper') } });
  });
});

describe('a request that arrives while the app drains', () => {
  it('gets 503 SHUTTING_DOWN in the catalogue shape, not fastify\'s own body', async () => {
    const draining = await buildApp(app.config, { engine, defaultMetrics: false });
    let markClosing: () => void = () => {};
    const closingStarted = new Promise<void>((resolve) => (markClosing = resolve));
    draining.addHook('preClose', async () => markClosing());
    await draining.listen({ port: 0, host: '127.0.0.1' });
    const socket = connect((draining.server.address() as { port: number }).port, '127.0.0.1');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('utf8')));
    const socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    // A slow query keeps the connection busy, so close() has to drain it ...
    engine.delayMs = 1000;
    const before = engine.executions();
    try {
      socket.write(`POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 33\r\n\r\n{"sql":"SELECT 4242 AS draining"}`);
      // Until the engine has it (the query is in flight), up to 5 s.
      for (let i = 0; i < 500 && engine.executions() === before; i++) await new Promise((r) => setTimeout(r, 10));
      const closed = draining.close();
      await closingStarted;
      // ... and a request sent on it during the drain is refused in the catalogue's shape.
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await closed;
      await socketClosed;
    } finally {
      engine.delayMs = 0;
    }
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).toContain('HTTP/1.1 503 Service Unavailable');
    expect(received).toContain('{"error":{"code":"SHUTTING_DOWN","message":');
  });
});
