// Why: the embedded engine needs realistic, identical-every-start demo tables without network access (no tpch
// extension), so they are generated with plain SQL from range() and hash(), never random().

/** The catalog and schema a query runs in when it names none (demo data loaded). */
export const DEMO_CATALOG = 'demo';
export const DEMO_SCHEMA = 'sales';
export const DEMO_CUSTOMER_COUNT = 50_000;
export const DEMO_GPU_SAMPLE_COUNT = 200_000;
export const DEFAULT_DEMO_ORDER_COUNT = 1_000_000;

/** Orders span three years from 2023-01-01, ascending with order_id, in seconds. */
const ORDER_SPAN_SECONDS = 3 * 365 * 86_400;
const EPOCH_2023_MICROS = 1_672_531_200_000_000;

/**
 * The statements that build `demo.sales.customers`, `demo.sales.orders` and `demo.ops.gpu_usage`.
 * Each hash() gets its own salt (i * 7 + k) so the columns are independent of each other.
 */
export function demoDataStatements(orderRowCount: number): string[] {
  if (!Number.isInteger(orderRowCount) || orderRowCount < 1) {
    throw new RangeError(`demoOrderRowCount must be a positive integer, got ${orderRowCount}`);
  }
  const secondsPerOrder = Math.max(1, Math.floor(ORDER_SPAN_SECONDS / orderRowCount));
  return [
    `ATTACH ':memory:' AS ${DEMO_CATALOG}`,
    `CREATE SCHEMA ${DEMO_CATALOG}.sales`,
    `CREATE SCHEMA ${DEMO_CATALOG}.ops`,
    `CREATE TABLE ${DEMO_CATALOG}.sales.customers AS
     SELECT i AS customer_id,
       'Customer ' || lpad(i::VARCHAR, 5, '0') AS name,
       CASE hash(i * 7 + 1) % 6 WHEN 0 THEN 'north-america' WHEN 1 THEN 'south-america' WHEN 2 THEN 'europe'
         WHEN 3 THEN 'middle-east' WHEN 4 THEN 'africa' ELSE 'asia-pacific' END AS region,
       CASE hash(i * 7 + 2) % 4 WHEN 0 THEN 'consumer' WHEN 1 THEN 'corporate' WHEN 2 THEN 'small-business'
         ELSE 'enterprise' END AS segment,
       DATE '2019-01-01' + (hash(i * 7 + 3) % 1826)::INTEGER AS signup_date,
       CAST(((hash(i * 7 + 4) % 9900)::INTEGER + 100) * 50 AS DECIMAL(12,2)) AS credit_limit
     FROM range(1, ${DEMO_CUSTOMER_COUNT + 1}) r(i)`,
    `CREATE TABLE ${DEMO_CATALOG}.sales.orders AS
     SELECT i AS order_id,
       1 + (hash(i * 7 + 1) % ${DEMO_CUSTOMER_COUNT})::BIGINT AS customer_id,
       CAST(make_timestamp(${EPOCH_2023_MICROS} + s * 1000000) AS DATE) AS order_date,
       CASE hash(i * 7 + 2) % 8 WHEN 0 THEN 'pending' WHEN 1 THEN 'processing' WHEN 2 THEN 'shipped'
         WHEN 6 THEN 'cancelled' WHEN 7 THEN 'returned' ELSE 'delivered' END AS status,
       CAST(((hash(i * 7 + 3) % 250000)::INTEGER + 500) / 100 AS DECIMAL(12,2)) AS total_amount,
       (1 + hash(i * 7 + 5) % 20)::INTEGER AS quantity,
       make_timestamp(${EPOCH_2023_MICROS} + s * 1000000) AS created_at
     FROM (
       SELECT i, (i - 1) * ${secondsPerOrder} + (hash(i * 7 + 4) % ${secondsPerOrder})::BIGINT AS s
       FROM range(1, ${orderRowCount + 1}) r(i)
     )`,
    // 4 nodes x 4 GPUs (2 boards of 2 on a K80), one sample per GPU per minute from 2024-01-01.
    `CREATE TABLE ${DEMO_CATALOG}.ops.gpu_usage AS
     SELECT 'k80-' || (i % 4) AS node, -- the scheduler's node names (k80-0 … k80-3)
       ((i // 4) % 4)::INTEGER AS gpu_index,
       ((i // 8) % 2)::INTEGER AS board,
       TIMESTAMP '2024-01-01 00:00:00' + to_minutes(i // 16) AS ts,
       round(greatest(0, least(100, 55 + 35 * sin((i // 16) / 90.0 + i % 16)
         + ((hash(i * 7 + 1) % 2000)::INTEGER - 1000) / 100.0)), 2)::DOUBLE AS utilization_pct,
       (hash(i * 7 + 2) % 11441)::INTEGER AS memory_used_mib,
       CASE WHEN hash((i // 1920) * 16 + i % 16) % 5 = 0 THEN NULL
         ELSE 'job-' || lpad(((i // 1920) * 16 + i % 16)::VARCHAR, 6, '0') END AS job_id
     FROM range(0, ${DEMO_GPU_SAMPLE_COUNT}) r(i)`,
  ];
}
