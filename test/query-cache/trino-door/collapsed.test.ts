// Why: identical Trino-door queries share one execution; what the leading client does must not cost the
// others. A leader whose client cancels hands the flight to a waiter (one more execution, then stored,
// not one per waiter and none stored), and a leader whose client stops reading does not hold the waiters.
import { describe, expect, it } from 'vitest';
import { ControlledEngine, type TestApp, useTestStack } from '../../helpers/app.ts';

interface Page {
  nextUri?: string;
  data?: unknown[][];
  stats: { state: string };
  error?: { errorName: string };
}

let engine: ControlledEngine;
let h: TestApp;
useTestStack(async (s) => {
  engine = s.engine;
  h = await s.app({ HOTPATH_CACHE_RULES: JSON.stringify([{ tables: ['demo.sales.*'], shared: true }]) });
});

const post = async (sql: string, user: string) =>
  (await (await fetch(`${h.url}/v1/statement`, { method: 'POST', headers: { 'x-trino-user': user }, body: sql })).json()) as Page;

/** Every page to the end: the rows, and the Cache-Status of the last page. */
async function drain(first: Page): Promise<{ rows: number; status: string | null; state: string; age: string | null }> {
  let page = first;
  let rows = 0;
  let status: string | null = null;
  let age: string | null = null;
  while (page.nextUri) {
    const res = await fetch(page.nextUri);
    status = res.headers.get('cache-status');
    age = res.headers.get('age');
    page = (await res.json()) as Page;
    rows += page.data?.length ?? 0;
  }
  return { rows, status, state: page.stats.state, age };
}

describe('collapsed Trino-door queries', () => {
  it("a leader's cancel hands the execution to a waiter, which stores it", async () => {
    const sql = 'SELECT order_id, status FROM demo.sales.orders ORDER BY order_id LIMIT 5000';
    engine.delayMs = 400;
    try {
      const leader = await post(sql, 'alice');
      const started = fetch(`${leader.nextUri!}?maxWait=50ms`); // starts the execution
      await new Promise((r) => setTimeout(r, 100));
      const waiter = await post(sql, 'bob'); // shared rule: the same entry
      const waiting = drain(waiter);
      await new Promise((r) => setTimeout(r, 100));
      const polled = (await (await started).json()) as Page;
      expect((await fetch(polled.nextUri ?? leader.nextUri!, { method: 'DELETE' })).status).toBe(204);
      const got = await waiting;
      expect(got).toMatchObject({ rows: 5000, state: 'FINISHED' });
      expect(got.status).toBe('hotpath; fwd=miss; stored');
      expect(engine.executions(sql)).toBe(2);
    } finally {
      engine.delayMs = 0;
    }
    const third = await drain(await post(sql, 'carol'));
    expect(third.status).toMatch(/^hotpath; hit/);
    expect(third.age).toMatch(/^\d+$/); // a hit carries Age, as on the JSON door
    expect(engine.executions(sql)).toBe(2);
  });

  it('a leader whose client stops reading does not hold the waiters (its answer fits under the cap)', async () => {
    const sql = 'SELECT order_id, customer_id, total_amount, status FROM demo.sales.orders CROSS JOIN range(8)'; // ~6 MB: six pages, under the 8 MiB cap
    const leader = await post(sql, 'alice');
    let page = (await (await fetch(leader.nextUri!)).json()) as Page;
    while (!page.data && page.nextUri) page = (await (await fetch(page.nextUri)).json()) as Page; // one page, then silence
    const started = Date.now();
    const waiter = await drain(await post(sql, 'bob'));
    expect(waiter).toMatchObject({ rows: 160_000, state: 'FINISHED' });
    expect(Date.now() - started).toBeLessThan(10_000); // not the leader client's 30 s busy timeout
    expect(engine.executions(sql)).toBe(1);
  });
});
