// Why: "any Trino client can point at hotpath unmodified", shown with Trino's own reference clients:
// the JDBC driver (executeQuery, PreparedStatement with parameters, setMaxRows, SET SESSION, cancel, and
// the DatabaseMetaData calls BI tools make) and the CLI (--execute, JSON/CSV output, --catalog/--schema,
// a password over HTTPS). Against hotpath with the real Trino behind it, each client must see exactly
// what it sees talking to Trino directly; a repeated query is a cache hit for its user and not another's.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { hashPassword } from '../../src/shared/passwords.ts';
import type { TestApp } from '../helpers/app.ts';
import { cli, cliInterrupted, jdbc, type JdbcStep } from './helpers/java-clients.ts';
import { useTrinoSuite } from './helpers/hotpath.ts';
import { trinoOutcome } from './helpers/protocol.ts';

const { setup } = inject('trino');
const jdbcUrl = (base: string, params = '') => `jdbc:trino://${new URL(base).host}${params}`;

let trinoUrl: string;
let upstream: TestApp;
let secure: TestApp;
let certDir: string;
useTrinoSuite(async (s) => {
  trinoUrl = s.trinoUrl;
  upstream = await s.upstream();
  certDir = mkdtempSync(join(tmpdir(), 'hotpath-cli-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1', '-keyout', join(certDir, 'tls.key'), '-out', join(certDir, 'tls.crt')], { stdio: 'ignore' });
  writeFileSync(join(certDir, 'passwords.json'), JSON.stringify([{ user: 'alice', password: hashPassword('wonderland') }]));
  secure = await s.upstream({
    HOTPATH_TLS_CERT_FILE: join(certDir, 'tls.crt'),
    HOTPATH_TLS_KEY_FILE: join(certDir, 'tls.key'),
    HOTPATH_AUTH: 'password',
    HOTPATH_AUTH_PASSWORDS_FILE: join(certDir, 'passwords.json'),
  });
});

/** Trino-door answers by result so far, from the app's /metrics. */
async function trinoDoorResults(app: TestApp): Promise<Record<string, number>> {
  const body = await (await fetch(`${app.url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of body.matchAll(/^hotpath_query_requests_total\{([^}]*)\} (\S+)$/gm)) {
    if (!m[1]!.includes('door="trino"')) continue;
    const result = /result="([^"]*)"/.exec(m[1]!)?.[1] ?? '?';
    out[result] = (out[result] ?? 0) + Number(m[2]);
  }
  return out;
}

/** What a step showed, without what is expected to differ between two servers (query ids in messages). */
const shown = (s: JdbcStep) => ({ ...s, ...(s.error ? { error: { ...s.error, message: s.error.message.replace(/\d{8}_\d{6}_\d{5}_\w{5}/g, '<query id>') } } : {}) });

const JDBC_SCRIPT = [
  'QUERY SELECT count(*) AS n, max(orderkey) AS top FROM tpch.tiny.orders',
  'QUERY SELECT nationkey, name, regionkey, comment FROM tpch.tiny.nation ORDER BY nationkey',
  "QUERY SELECT 9007199254740993 AS big, DECIMAL '12345678901234567890.123456789' AS d, nan() AS nan, TIMESTAMP '2024-01-01 12:00:00.123456' AS ts, ARRAY[1, 2] AS a, MAP(ARRAY['k'], ARRAY[1.5E0]) AS m",
  'PREPARED SELECT name FROM tpch.tiny.nation WHERE nationkey = ? ||| 3',
  'PREPARED SELECT count(*) FROM tpch.tiny.customer WHERE mktsegment = ? AND nationkey < ? ||| BUILDING ||| 10',
  'MAXROWS 3 SELECT nationkey FROM tpch.tiny.nation ORDER BY 1',
  "EXECUTE SET SESSION query_max_run_time = '1h'",
  'QUERY SELECT * FROM demo.sales.customers ORDER BY customer_id LIMIT 20',
  'META catalogs',
  'META schemas',
  'META tables',
  'META columns',
  'META typeinfo',
  'QUERY SELECT * FROM tpch.tiny.no_such_table',
  'QUERY SELEC 1',
];

const outcome = (sql: string) => trinoOutcome(trinoUrl, sql, 'alice');

describe('Trino JDBC driver at the door (real Trino behind it)', () => {
  it('sees through hotpath exactly what it sees from Trino: rows, types, prepared statements, max rows, metadata, errors', async () => {
    const direct = await jdbc(setup, jdbcUrl(trinoUrl), 'alice', undefined, JDBC_SCRIPT);
    expect(direct).toHaveLength(JDBC_SCRIPT.length);
    expect(direct.filter((s) => s.error).map((s) => s.step)).toEqual([13, 14]); // only the two bad statements fail
    const via = await jdbc(setup, jdbcUrl(upstream.url), 'alice', undefined, JDBC_SCRIPT);
    for (let i = 0; i < JDBC_SCRIPT.length; i++) expect(shown(via[i]!), JDBC_SCRIPT[i]).toEqual(shown(direct[i]!));
  });

  it('a repeated query is a hit for the same user, never for another', async () => {
    const script = ['QUERY SELECT regionkey, count(*) AS n FROM tpch.tiny.nation GROUP BY 1 ORDER BY 1'];
    const before = await trinoDoorResults(upstream);
    await jdbc(setup, jdbcUrl(upstream.url), 'carol', undefined, script);
    const afterFirst = await trinoDoorResults(upstream);
    expect((afterFirst.hit ?? 0) - (before.hit ?? 0)).toBe(0);
    const again = await jdbc(setup, jdbcUrl(upstream.url), 'carol', undefined, [...script, ...script]);
    const afterRepeat = await trinoDoorResults(upstream);
    expect((afterRepeat.hit ?? 0) - (afterFirst.hit ?? 0)).toBe(2);
    await jdbc(setup, jdbcUrl(upstream.url), 'dave', undefined, script);
    const afterOther = await trinoDoorResults(upstream);
    expect((afterOther.hit ?? 0) - (afterRepeat.hit ?? 0)).toBe(0);
    expect(again[0]!.rows).toEqual(again[1]!.rows);
  });

  it('Statement.cancel() stops a running query, and Trino reports it cancelled', async () => {
    const slow = 'SELECT count(*) FROM tpch.sf1.lineitem a CROSS JOIN tpch.sf1.lineitem b';
    const [step] = await jdbc(setup, jdbcUrl(upstream.url), 'alice', undefined, [`CANCEL ${slow}`]);
    expect(step!.outcome).toMatch(/^error:/); // the driver's words vary ("Error fetching results", …); Trino's record below is the proof
    // Trino's own record of the query: it ended cancelled, not finished and not still running.
    expect(await outcome(slow)).toBe('FAILED:USER_CANCELED');
  });
});

describe('Trino CLI at the door', () => {
  const args = (server: string, extra: string[]) => ['--server', server, '--user', 'alice', ...extra];

  it('--execute with JSON and CSV output, --catalog/--schema: the same bytes through hotpath as from Trino', async () => {
    for (const format of ['JSON', 'CSV', 'CSV_HEADER', 'TSV']) {
      const sql = 'SELECT nationkey, name, comment FROM nation ORDER BY nationkey';
      const extra = ['--catalog', 'tpch', '--schema', 'tiny', '--output-format', format, '--execute', sql];
      const direct = await cli(setup, args(trinoUrl, extra));
      expect(direct.code, direct.stderr).toBe(0);
      const via = await cli(setup, args(upstream.url, extra));
      expect(via.code, via.stderr).toBe(0);
      expect(via.stdout).toBe(direct.stdout);
      expect(direct.stdout.split('\n').length).toBeGreaterThan(25);
    }
  });

  it('Ctrl-C (SIGINT) during a query aborts it, and Trino records it cancelled', async () => {
    const slow = 'SELECT count(*) FROM tpch.sf1.lineitem a CROSS JOIN tpch.sf1.lineitem b WHERE a.linenumber < b.linenumber';
    const r = await cliInterrupted(setup, args(upstream.url, ['--execute', slow]), 4000);
    expect(r.output).toContain('Query aborted by user');
    expect(await outcome(slow)).toBe('FAILED:USER_CANCELED');
  });

  it('a bad statement fails the same way (exit code and message)', async () => {
    const extra = ['--execute', 'SELECT * FROM tpch.tiny.no_such_table'];
    const direct = await cli(setup, args(trinoUrl, extra));
    const via = await cli(setup, args(upstream.url, extra));
    expect(direct.code).not.toBe(0);
    expect(via.code).toBe(direct.code);
    expect(via.stderr.replace(/\d{8}_\d{6}_\d{5}_\w{5}/g, '<id>')).toContain('Table \'tpch.tiny.no_such_table\' does not exist');
  });

  it('--user with a password over HTTPS (the CLI refuses a password over HTTP)', async () => {
    const ok = await cli(setup, ['--server', secure.url, '--insecure', '--user', 'alice', '--password', '--output-format', 'CSV', '--execute', 'SELECT count(*) FROM tpch.tiny.region'], { password: 'wonderland' });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe('"5"');
    const wrong = await cli(setup, ['--server', secure.url, '--insecure', '--user', 'alice', '--password', '--execute', 'SELECT 1'], { password: 'nope' });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/401|Unauthorized|Authentication failed/i);
    const overHttp = await cli(setup, ['--server', upstream.url, '--user', 'alice', '--password', '--execute', 'SELECT 1'], { password: 'wonderland' });
    expect(overHttp.code).not.toBe(0);
    expect(overHttp.stderr).toMatch(/TLS|HTTPS|secure/i);
  });
});

describe('JDBC through HTTPS with a password', () => {
  it('SSL=true&SSLVerification=NONE with the right password answers; a wrong one is refused', async () => {
    const url = jdbcUrl(secure.url, '?SSL=true&SSLVerification=NONE');
    const [good] = await jdbc(setup, url, 'alice', 'wonderland', ['QUERY SELECT count(*) AS n FROM tpch.tiny.region']);
    expect(good!.rows).toEqual([['5']]);
    const [bad] = await jdbc(setup, url, 'alice', 'nope', ['QUERY SELECT 1']);
    expect(bad!.rows).toBeUndefined();
    expect(bad!.error?.message).toMatch(/^Authentication failed: .*wrong user or password/);
  });
});
