// Why: Trino's CLI, JDBC driver and Python client send passwords only over HTTPS, so the service must
// serve TLS itself (both doors, every auth mode, URIs saying https), pick up rotated certificates without
// a restart (and survive a bad rotation), and reach an https Trino trusting a private CA. Real sockets,
// real certificates made by openssl.

import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect } from 'node:tls';
import { SignJWT } from 'jose';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, loadConfiguredDeps } from '../../src/app.ts';
import { ConfigError, loadConfig } from '../../src/shared/config.ts';
import { hashPassword } from '../../src/shared/passwords.ts';
import { readTlsPair, tlsReloader } from '../../src/shared/tls.ts';
import { createEngine } from '../../src/query-cache/engines/create-engine.ts';
import { EngineError, type EngineQuery } from '../../src/query-cache/engines/engine.ts';
import { testConfig, useTestStack, type TestApp, type TestStack } from '../helpers/app.ts';

interface Pair {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
  fingerprint256: string;
}

/** A self-signed pair for localhost and 127.0.0.1, valid one day, written to `dir`. */
function selfSigned(dir: string): Pair {
  mkdirSync(dir, { recursive: true });
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  const cert = readFileSync(certFile, 'utf8');
  return { certFile, keyFile, cert, key: readFileSync(keyFile, 'utf8'), fingerprint256: new X509Certificate(cert).fingerprint256 };
}

const tlsEnv = (p: Pick<Pair, 'certFile' | 'keyFile'>, extra: Record<string, string> = {}) => ({ HOTPATH_TLS_CERT_FILE: p.certFile, HOTPATH_TLS_KEY_FILE: p.keyFile, ...extra });

/** One HTTPS (or HTTP) exchange through `agent`; the body parsed as JSON when it is. */
async function call(agent: Agent, url: string, opts: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: any }> {
  const res = await request(url, { dispatcher: agent, method: opts.method ?? 'GET', headers: opts.headers ?? {}, body: opts.body });
  const text = await res.body.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.statusCode, body };
}

const jsonQuery = (agent: Agent, base: string, sql: string, headers: Record<string, string> = {}) =>
  call(agent, `${base}/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ sql }) });

/** The fingerprint of the certificate a new TLS connection is served (trust not checked: only what is served). */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fp);
    });
    socket.on('error', reject);
  });
}

async function until(what: string, ok: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const root = mkdtempSync(join(tmpdir(), 'hp-tls-'));
const pair = selfSigned(join(root, 'main'));
const trusted = new Agent({ connect: { ca: pair.cert } });
const untrusted = new Agent();
const plain = new Agent();

let stack: TestStack;
useTestStack(async (s) => {
  stack = s;
});
afterAll(async () => {
  await Promise.all([trusted.close(), untrusted.close(), plain.close()]);
});

describe('HTTPS door (HOTPATH_AUTH=none)', () => {
  let h: TestApp;
  let port: number;
  beforeAll(async () => {
    h = await stack.app(tlsEnv(pair));
    port = (h.app.server.address() as { port: number }).port;
  });

  it('answers a JSON-door query over HTTPS with the CA trusted; plain HTTP and an untrusted client get no answer', async () => {
    expect(h.url).toBe(`https://127.0.0.1:${port}`);
    const ok = await jsonQuery(trusted, h.url, 'SELECT 42 AS answer', { 'x-trino-user': 'alice' });
    expect(ok.status).toBe(200);
    expect(ok.body.rows).toEqual([[42]]);
    // HTTPS only: the same request in plain HTTP is dropped at the TLS handshake, not answered.
    await expect(jsonQuery(plain, `http://127.0.0.1:${port}`, 'SELECT 42 AS answer', { 'x-trino-user': 'alice' })).rejects.toThrow();
    await expect(jsonQuery(untrusted, h.url, 'SELECT 42 AS answer', { 'x-trino-user': 'alice' })).rejects.toThrow(/self-signed|certificate/i);
  });

  it('Trino door: nextUri and infoUri say https, and following them over HTTPS gives the rows', async () => {
    const post = await call(trusted, `${h.url}/v1/statement`, { method: 'POST', headers: { 'x-trino-user': 'alice' }, body: 'SELECT 7 AS seven' });
    expect(post.status).toBe(200);
    expect(post.body.nextUri).toMatch(new RegExp(`^https://127\\.0\\.0\\.1:${port}/`));
    expect(post.body.infoUri).toMatch(/^https:\/\//);
    let page = post.body;
    const rows: unknown[] = [...(page.data ?? [])];
    while (page.nextUri) {
      expect(page.nextUri).toMatch(/^https:\/\//);
      page = (await call(trusted, page.nextUri)).body;
      rows.push(...(page.data ?? []));
    }
    expect(page.stats.state).toBe('FINISHED');
    expect(rows).toEqual([[7]]);
  });

  it('a request without Host still gets https URIs (the listen address)', async () => {
    const body = await new Promise<any>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ca: pair.cert, servername: 'localhost' }, () => {
        socket.end('POST /v1/statement HTTP/1.1\r\nX-Trino-User: alice\r\nContent-Length: 8\r\nConnection: close\r\n\r\nSELECT 1');
      });
      let raw = '';
      socket.on('data', (c: Buffer) => (raw += c.toString()));
      socket.on('end', () => resolve(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))));
      socket.on('error', reject);
    });
    expect(body.nextUri).toMatch(new RegExp(`^https://127\\.0\\.0\\.1:${port}/`));
  });

  it('TRINO_CA_FILE: the Trino engine adapter reaches an https Trino (this door) trusting that CA, and refuses it without', async () => {
    const q: EngineQuery = { sql: 'SELECT 3 AS three', user: 'alice', catalog: 'demo', schema: 'sales', session: {} };
    const viaCa = await createEngine(loadConfig({ HOTPATH_ENGINE: 'trino', TRINO_URL: h.url, TRINO_CA_FILE: pair.certFile, HOTPATH_TRINO_MAX_RETRIES: '0' }));
    const withoutCa = await createEngine(loadConfig({ HOTPATH_ENGINE: 'trino', TRINO_URL: h.url, HOTPATH_TRINO_MAX_RETRIES: '0' }));
    try {
      expect((await viaCa.execute(q, new AbortController().signal)).rows).toEqual([[3]]);
      const err = await withoutCa.execute(q, new AbortController().signal).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(EngineError);
      expect((err as EngineError).kind).toBe('unavailable');
    } finally {
      await viaCa.close();
      await withoutCa.close();
    }
  });
});

describe('HTTPS with HOTPATH_AUTH=password and jwt', () => {
  let password: TestApp;
  let jwt: TestApp;
  const secret = 'a-test-secret-of-enough-length-0123456789';
  beforeAll(async () => {
    const file = join(root, 'passwords.json');
    writeFileSync(file, JSON.stringify([{ user: 'alice', password: hashPassword('wonderland') }]));
    password = await stack.app(tlsEnv(pair, { HOTPATH_AUTH: 'password', HOTPATH_AUTH_PASSWORDS_FILE: file }));
    jwt = await stack.app(tlsEnv(pair, { HOTPATH_AUTH: 'jwt', HOTPATH_JWT_SECRET: secret }));
  });
  const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

  it('password: HTTP Basic over HTTPS on both doors; a wrong password is 401', async () => {
    const ok = await jsonQuery(trusted, password.url, 'SELECT 1 AS one', { authorization: basic('alice', 'wonderland') });
    expect(ok.status).toBe(200);
    const wrong = await jsonQuery(trusted, password.url, 'SELECT 1 AS one', { authorization: basic('alice', 'looking-glass') });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('UNAUTHENTICATED');
    const post = await call(trusted, `${password.url}/v1/statement`, { method: 'POST', headers: { authorization: basic('alice', 'wonderland'), 'x-trino-user': 'alice' }, body: 'SELECT 1' });
    expect(post.status).toBe(200);
    expect(post.body.nextUri).toMatch(/^https:\/\//);
  });

  it('jwt: a bearer token over HTTPS', async () => {
    const token = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(secret));
    const ok = await jsonQuery(trusted, jwt.url, 'SELECT 2 AS two', { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(ok.body.rows).toEqual([[2]]);
    expect((await jsonQuery(trusted, jwt.url, 'SELECT 2 AS two')).status).toBe(401);
  });
});

describe('certificate rotation (HOTPATH_TLS_RELOAD_INTERVAL_MS)', () => {
  // The layout a Kubernetes secret volume has: tls.crt -> ..data/tls.crt, ..data -> a timestamped dir
  // that an update replaces by swapping the ..data symlink.
  const dir = join(root, 'rotating');
  const first = selfSigned(join(dir, '..v1'));
  symlinkSync('..v1', join(dir, '..data'));
  symlinkSync('..data/tls.crt', join(dir, 'tls.crt'));
  symlinkSync('..data/tls.key', join(dir, 'tls.key'));
  const files = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
  let logs = '';
  let port: number;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const config = testConfig(stack.redis.url, tlsEnv(files, { HOTPATH_TLS_RELOAD_INTERVAL_MS: '50', LOG_LEVEL: 'info', HOTPATH_ACCESS_LOG: 'off' }));
    const stream = new Writable({ write: (chunk, _enc, cb) => void ((logs += chunk.toString()), cb()) });
    const app = await buildApp(config, { engine: stack.engine, defaultMetrics: false, logger: { level: 'info', stream } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
    close = () => app.close();
  });
  afterAll(async () => close?.());

  it('serves a rewritten pair to new connections, keeps serving through a garbage one, and loads a symlink swap', async () => {
    expect(await servedFingerprint(port)).toBe(first.fingerprint256);

    // 1. The files rewritten in place (through the links) with a new pair.
    const second = selfSigned(join(root, 'second'));
    writeFileSync(join(dir, '..v1', 'tls.crt'), second.cert);
    writeFileSync(join(dir, '..v1', 'tls.key'), second.key);
    await until('the second certificate', async () => (await servedFingerprint(port)) === second.fingerprint256);
    const trustSecond = new Agent({ connect: { ca: second.cert } });
    try {
      expect((await jsonQuery(trustSecond, `https://127.0.0.1:${port}`, 'SELECT 5 AS five', { 'x-trino-user': 'alice' })).status).toBe(200);
    } finally {
      await trustSecond.close();
    }

    // 2. Garbage in place of the certificate: logged, and the second pair keeps serving.
    writeFileSync(join(dir, '..v1', 'tls.crt'), '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
    await until('the refusal to be logged', () => logs.includes('TLS certificate reload failed'));
    await new Promise((r) => setTimeout(r, 200)); // a few more polls
    expect(await servedFingerprint(port)).toBe(second.fingerprint256);
    const refusal = logs.split('\n').find((l) => l.includes('TLS certificate reload failed'))!;
    expect(JSON.parse(refusal)).toMatchObject({ level: 40, certFile: files.certFile, keyFile: files.keyFile });
    expect(JSON.parse(refusal).reason).toMatch(/^HOTPATH_TLS_CERT_FILE: /);
    expect(logs).not.toContain('PRIVATE KEY');
    expect(logs).not.toContain(second.key.split('\n')[1]!);

    // 3. A Kubernetes-style update: a new directory, then ..data swapped to it atomically.
    const third = selfSigned(join(dir, '..v2'));
    symlinkSync('..v2', join(dir, '..data.tmp'));
    renameSync(join(dir, '..data.tmp'), join(dir, '..data'));
    await until('the third certificate', async () => (await servedFingerprint(port)) === third.fingerprint256);
    expect(logs).toContain(third.fingerprint256); // the reload is logged with the new (public) fingerprint
  });
});

describe('TLS configuration', () => {
  const other = selfSigned(join(root, 'other'));

  it.each([
    [{ HOTPATH_TLS_CERT_FILE: pair.certFile }, /^HOTPATH_TLS_KEY_FILE: required when HOTPATH_TLS_CERT_FILE is set/],
    [{ HOTPATH_TLS_KEY_FILE: pair.keyFile }, /^HOTPATH_TLS_CERT_FILE: required when HOTPATH_TLS_KEY_FILE is set/],
    [{ HOTPATH_TLS_RELOAD_INTERVAL_MS: '-1' }, /^HOTPATH_TLS_RELOAD_INTERVAL_MS: expected an integer from 0/],
    [{ HOTPATH_ENGINE: 'trino', TRINO_URL: 'https://trino:8443', TRINO_CA_FILE: '/nonexistent/ca.pem' }, /^TRINO_CA_FILE: cannot read \/nonexistent\/ca\.pem \(ENOENT\)$/],
    [{ HOTPATH_ENGINE: 'trino', TRINO_URL: 'https://trino:8443', TRINO_CA_FILE: pair.keyFile }, /^TRINO_CA_FILE: .* holds no PEM certificate$/],
    [{ HOTPATH_ENGINE: 'trino', TRINO_URL: 'http://trino:8080', TRINO_CA_FILE: pair.certFile }, /^TRINO_CA_FILE: set, but TRINO_URL is http:/],
  ])('loadConfig(%o) is a ConfigError', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it.each([
    ['an unreadable certificate', { certFile: '/nonexistent/tls.crt', keyFile: pair.keyFile }, /^HOTPATH_TLS_CERT_FILE: cannot read \/nonexistent\/tls\.crt \(ENOENT\)$/],
    ['an unreadable key', { certFile: pair.certFile, keyFile: join(root, 'missing.key') }, /^HOTPATH_TLS_KEY_FILE: cannot read .*missing\.key \(ENOENT\)$/],
    ['a key file in place of the certificate', { certFile: pair.keyFile, keyFile: pair.keyFile }, /^HOTPATH_TLS_CERT_FILE: .*tls\.key holds no PEM certificate$/],
    ['a certificate in place of the key', { certFile: pair.certFile, keyFile: pair.certFile }, /^HOTPATH_TLS_KEY_FILE: .*tls\.crt holds no usable PEM private key/],
    ['another certificate\'s key', { certFile: pair.certFile, keyFile: other.keyFile }, /^HOTPATH_TLS_KEY_FILE: .*other\/tls\.key is not the private key of the certificate in .*main\/tls\.crt$/],
  ])('%s stops the start with a ConfigError naming the file', async (_what, files, message) => {
    const config = testConfig('redis://127.0.0.1:1', tlsEnv(files));
    await expect(loadConfiguredDeps(config)).rejects.toThrow(ConfigError);
    await expect(loadConfiguredDeps(config)).rejects.toThrow(message);
    // buildApp without the loaded pair reads the files itself: the same error, nothing started.
    await expect(buildApp(config, { engine: stack.engine, defaultMetrics: false })).rejects.toThrow(message);
  });

  it('the reloader: unchanged files do nothing; a mismatched pair is refused once, then loaded when fixed', () => {
    const dir = join(root, 'unit');
    const start = selfSigned(dir);
    const applied: string[] = [];
    const warned: string[] = [];
    const log = { info: () => {}, warn: (o: { reason: string }) => void warned.push(o.reason) } as never;
    const reloader = tlsReloader({ files: start, current: readTlsPair(start), apply: (p) => void applied.push(p.fingerprint256), log });
    expect(reloader.check()).toBe('unchanged');
    writeFileSync(start.certFile, other.cert); // the cert lands before its key
    expect(reloader.check()).toBe('refused');
    expect(warned).toEqual([expect.stringMatching(/^HOTPATH_TLS_KEY_FILE: .* is not the private key/)]);
    expect(reloader.check()).toBe('unchanged'); // not retried (nor logged) until a file changes again
    writeFileSync(start.keyFile, other.key);
    expect(reloader.check()).toBe('reloaded');
    expect(applied).toEqual([other.fingerprint256]);
  });
});
