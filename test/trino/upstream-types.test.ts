// Why: hotpath's promise is that a Trino client cannot tell it from Trino. With the real Trino 476
// behind it (HOTPATH_ENGINE=trino), every statement of a corpus covering each type Trino's JSON encoding
// has must come back through hotpath's Trino door, on the miss and on the hit, with the same columns
// (name, type, typeSignature) and the same values: integers as their exact text, other numbers as the
// double they spell (hotpath re-encodes doubles the JavaScript way: see comparable()).
import { describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.ts';
import { useTrinoSuite } from './helpers/hotpath.ts';
import { comparable, runStatement, type RawAnswer } from './helpers/protocol.ts';

const TYPE_CORPUS: Record<string, string> = {
  integers: "SELECT 9007199254740993 AS past_2_53, BIGINT '-9223372036854775808' AS min_bigint, BIGINT '9223372036854775807' AS max_bigint, 7 AS int, SMALLINT '-2' AS small, TINYINT '1' AS tiny",
  decimals: "SELECT DECIMAL '12345678901234567890.123456789' AS d38, CAST(1.5 AS decimal(3,1)) AS d31, DECIMAL '-0.00' AS negzero, CAST(NULL AS decimal(10,2)) AS dnull",
  doubles: "SELECT nan() AS nan, infinity() AS inf, -infinity() AS ninf, DOUBLE '1.7976931348623157E308' AS dmax, 0.1E0 + 0.2E0 AS sum, 1E-320 AS subnormal, 5E-1 AS half",
  reals: "SELECT REAL '3.4028235E38' AS rmax, REAL '1.5' AS r, CAST(nan() AS real) AS rnan, CAST(infinity() AS real) AS rinf",
  dates_times: "SELECT DATE '2024-02-29' AS d, DATE '-0001-01-01' AS bc, TIME '12:34:56.789' AS t3, TIME '01:02:03.123456789' AS t9, TIME '12:34:56 +05:30' AS ttz, TIME '23:59:59.999999999999' AS t12",
  timestamps: "SELECT TIMESTAMP '2024-01-01 12:00:00.123' AS ts3, TIMESTAMP '2024-01-01 12:00:00.123456789012' AS ts12, TIMESTAMP '2024-01-01 12:00:00 UTC' AS tstz, TIMESTAMP '2024-01-01 12:00:00.123456 America/New_York' AS tstz6, TIMESTAMP '2024-03-10 02:30:00 +01:00' AS offset, CAST('2024-01-01 00:00:00' AS timestamp(0)) AS ts0",
  intervals: "SELECT INTERVAL '3' DAY AS ds, INTERVAL '2-3' YEAR TO MONTH AS ym, INTERVAL '-1 02:03:04.567' DAY TO SECOND AS neg",
  strings: "SELECT 'héllo ✓ \u{1F600}' AS v, CAST('ab' AS char(5)) AS c5, CAST('x' AS varchar(10)) AS v10, '' AS empty, 'quote \" and \\ backslash' AS esc, X'00FF10' AS bin, X'' AS emptybin",
  json_uuid_ip: "SELECT JSON '{\"a\":[1,2.5,null],\"b\":\"x\"}' AS j, UUID '12151fd2-7586-11e9-8f9e-2a86e4085a59' AS u, IPADDRESS '10.0.0.1' AS ip4, IPADDRESS '2001:db8::1' AS ip6, CAST(NULL AS json) AS jnull",
  structured: "SELECT ARRAY[1, 2, NULL] AS a, MAP(ARRAY['k1', 'k2'], ARRAY[1.5E0, NULL]) AS m, CAST(ROW(1, 'x', ARRAY[DATE '2024-01-01']) AS ROW(id bigint, name varchar, days array(date))) AS r, ARRAY[ARRAY[TIMESTAMP '2024-01-01 00:00:00.5']] AS nested, ROW(1, 2.5) AS anon_row, ARRAY[] AS empty",
  nulls_booleans: 'SELECT NULL AS n, CAST(NULL AS bigint) AS nb, true AS t, false AS f, CAST(NULL AS boolean) AS bn, ARRAY[NULL] AS an',
  tpch_nation: 'SELECT * FROM tpch.tiny.nation ORDER BY nationkey',
  tpch_orders: 'SELECT orderkey, custkey, totalprice, orderdate, orderpriority, comment FROM tpch.tiny.orders ORDER BY orderkey LIMIT 200',
  tpch_aggregate: 'SELECT returnflag, linestatus, sum(quantity) AS qty, sum(extendedprice * (1 - discount)) AS revenue, avg(discount) AS avg_disc, count(*) AS n FROM tpch.tiny.lineitem GROUP BY 1, 2 ORDER BY 1, 2',
  demo_customers: 'SELECT * FROM demo.sales.customers ORDER BY customer_id LIMIT 100',
  demo_gpu: 'SELECT * FROM demo.ops.gpu_usage ORDER BY ts, node, gpu_index LIMIT 100',
  demo_orders_by_month: "SELECT date_trunc('month', created_at) AS month, status, count(*) AS n, sum(total_amount) AS total FROM demo.sales.orders GROUP BY 1, 2 ORDER BY 1, 2",
};

const same = (via: RawAnswer, direct: RawAnswer) => {
  expect(via.error).toEqual(direct.error);
  expect(via.columns).toEqual(direct.columns);
  expect(comparable(via.rows)).toEqual(comparable(direct.rows));
};

let trinoUrl: string;
let hotpath: TestApp;
useTrinoSuite(async (s) => {
  trinoUrl = s.trinoUrl;
  hotpath = await s.upstream();
});

describe('hotpath with the real Trino behind it: every type, miss and hit, as Trino sends it', () => {
  for (const [name, sql] of Object.entries(TYPE_CORPUS)) {
    it(name, async () => {
      const direct = await runStatement(trinoUrl, sql, { user: 'alice' });
      expect(direct.error, `Trino refused the corpus statement: ${direct.error?.message}`).toBeUndefined();
      expect(direct.rows.length).toBeGreaterThan(0);
      const miss = await runStatement(hotpath.url, sql, { user: 'alice' });
      same(miss, direct);
      const hit = await runStatement(hotpath.url, sql, { user: 'alice' });
      expect(hit.cacheStatus).toMatch(/^hotpath; hit/);
      expect(hit.age).toMatch(/^\d+$/); // a hit says how old it is, as on the JSON door
      expect(miss.age).toBeUndefined();
      same(hit, direct);
    });
  }

  it('a large result streams page by page and arrives whole (miss and hit)', async () => {
    const sql = 'SELECT orderkey, linenumber, extendedprice, shipdate, comment FROM tpch.tiny.lineitem ORDER BY orderkey, linenumber LIMIT 30000';
    const direct = await runStatement(trinoUrl, sql, { user: 'alice' });
    expect(direct.rows).toHaveLength(30000);
    const miss = await runStatement(hotpath.url, sql, { user: 'alice' });
    expect(miss.responses).toBeGreaterThan(2);
    same(miss, direct);
    const hit = await runStatement(hotpath.url, sql, { user: 'alice' });
    expect(hit.cacheStatus).toMatch(/^hotpath; hit/);
    same(hit, direct);
  });

  // JSON.stringify writes -0 as 0 (another value); hotpath writes it as Trino does, -0.0.
  it('a negative zero double keeps its sign, miss and hit', async () => {
    const sql = "SELECT DOUBLE '-0.0' AS negzero, -0E0 AS negzero2, ARRAY[DOUBLE '-0.0'] AS nested";
    const direct = await runStatement(trinoUrl, sql, { user: 'alice' });
    same(await runStatement(hotpath.url, sql, { user: 'alice' }), direct);
    const hit = await runStatement(hotpath.url, sql, { user: 'alice' });
    expect(hit.cacheStatus).toMatch(/^hotpath; hit/);
    same(hit, direct);
  });

  it('a hit for one user is never an answer for another', async () => {
    const sql = 'SELECT count(*) AS n FROM tpch.tiny.region';
    await runStatement(hotpath.url, sql, { user: 'alice' });
    expect((await runStatement(hotpath.url, sql, { user: 'alice' })).cacheStatus).toMatch(/^hotpath; hit/);
    expect((await runStatement(hotpath.url, sql, { user: 'bob' })).cacheStatus).not.toMatch(/hit/);
  });
});
