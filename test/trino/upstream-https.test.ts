// Why: an upstream Trino usually serves HTTPS (with a private CA or a self-signed certificate). With the
// test Trino's TLS port as TRINO_URL and its certificate as TRINO_CA_FILE, hotpath's misses go over
// https and answer like Trino; without the CA the same upstream is refused (never trusted blindly); and
// a password the caller sent reaches Trino only over https unless told otherwise
// (HOTPATH_TRINO_FORWARD_AUTHORIZATION=auto).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import type { TestApp } from '../helpers/app.ts';
import { useTrinoSuite } from './helpers/hotpath.ts';
import { comparable, runStatement } from './helpers/protocol.ts';

const { httpsUrl, caPem, url: trinoUrl } = inject('trino');
let trusted: TestApp;
let untrusted: TestApp;
let httpAuto: TestApp;
let httpAlways: TestApp;
useTrinoSuite(async (s) => {
  const ca = join(mkdtempSync(join(tmpdir(), 'hotpath-trino-ca-')), 'ca.pem');
  writeFileSync(ca, caPem);
  trusted = await s.upstream({ TRINO_URL: httpsUrl, TRINO_CA_FILE: ca });
  untrusted = await s.upstream({ TRINO_URL: httpsUrl });
  httpAuto = await s.upstream();
  httpAlways = await s.upstream({ HOTPATH_TRINO_FORWARD_AUTHORIZATION: 'always' });
});

describe('the upstream adapter over HTTPS to the real Trino', () => {
  it('with TRINO_CA_FILE: the same answer as Trino over http, then a hit', async () => {
    const sql = 'SELECT nationkey, name FROM tpch.tiny.nation ORDER BY nationkey';
    const direct = await runStatement(trinoUrl, sql, { user: 'alice' });
    const miss = await runStatement(trusted.url, sql, { user: 'alice' });
    expect(miss.error).toBeUndefined();
    expect(miss.columns).toEqual(direct.columns);
    expect(comparable(miss.rows)).toEqual(comparable(direct.rows));
    expect((await runStatement(trusted.url, sql, { user: 'alice' })).cacheStatus).toMatch(/^hotpath; hit/);
  });

  it('without it, the self-signed upstream is not trusted: an EXTERNAL error, nothing served', async () => {
    const a = await runStatement(untrusted.url, 'SELECT 1', { user: 'alice' });
    expect(a.error).toMatchObject({ errorType: 'EXTERNAL' });
    expect(a.error!.message).toMatch(/certificate|self.signed|UNABLE_TO_VERIFY|unavailable|fetch failed/i);
  });

  it("a caller's credentials go to an http Trino only when told to (Trino refuses a password over http)", async () => {
    const basic = { authorization: `Basic ${Buffer.from('alice:secret').toString('base64')}` };
    // auto (the default) over http: not forwarded, so Trino runs it as the user hotpath names.
    const auto = await runStatement(httpAuto.url, 'SELECT 42', { user: 'alice', headers: basic });
    expect(auto.error).toBeUndefined();
    // always: forwarded, and Trino itself refuses a password over http.
    const always = await runStatement(httpAlways.url, 'SELECT 43', { user: 'alice', headers: basic });
    expect(always.error?.message).toMatch(/Password not allowed for insecure authentication/);
    // auto over https: forwarded. This Trino has no password authenticator, so it refuses the password
    // there too, which shows it arrived (a Trino with LDAP/file passwords would check it).
    const secure = await runStatement(trusted.url, 'SELECT 44', { user: 'alice', headers: basic });
    expect(secure.error?.message).toMatch(/Password not allowed for insecure authentication/);
    expect((await runStatement(trusted.url, 'SELECT 45', { user: 'alice' })).error).toBeUndefined(); // no credentials: runs
  });
});
