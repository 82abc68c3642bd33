// Why: over the concurrency limit a Trino query waits in QUEUED state while the client keeps polling;
// only a full queue answers 503 with Retry-After, and a retry of the same URI then goes through.
import { describe, expect, it } from 'vitest';
import { ControlledEngine, type TestApp, useTestStack } from '../../helpers/app.ts';

let engine: ControlledEngine;
let h: TestApp;
useTestStack(async (s) => {
  engine = s.engine;
  h = await s.app({ HOTPATH_MAX_CONCURRENT_PER_USER: '1', HOTPATH_MAX_CONCURRENT_EXECUTIONS: '1', HOTPATH_MAX_QUEUED: '1' });
});

interface Page {
  nextUri?: string;
  stats: { state: string };
  data?: unknown[][];
}

const submit = async (sql: string) =>
  (await (await fetch(`${h.url}/v1/statement`, { method: 'POST', headers: { 'x-trino-user': 'alice' }, body: sql })).json()) as Page;

describe('Trino door admission', () => {
  it('queues over the limit (QUEUED pages), refuses a full queue with 503 + Retry-After, and lets the retry through', async () => {
    engine.delayMs = 1500;
    try {
      const [a, b, c] = [await submit('SELECT 1 AS a'), await submit('SELECT 2 AS b'), await submit('SELECT 3 AS c')];
      const pa = fetch(`${a.nextUri!}?maxWait=200ms`); // runs
      await new Promise((r) => setTimeout(r, 50));
      const rb = await fetch(`${b.nextUri!}?maxWait=200ms`); // waits in the admission queue
      expect(rb.status).toBe(200);
      const pb = (await rb.json()) as Page;
      expect(pb.stats.state).toBe('QUEUED');
      expect(pb.nextUri).toMatch(/\/queued\/.+\/2$/);
      const rc = await fetch(c.nextUri!); // queue full
      expect(rc.status).toBe(503);
      expect(Number(rc.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await pa).status).toBe(200);

      engine.delayMs = 0;
      // the client retries the same URI, as the Java client does on 503, until it is admitted
      let res = await fetch(c.nextUri!);
      for (let attempt = 0; res.status === 503 && attempt < 100; attempt++) {
        await new Promise((r) => setTimeout(r, 100));
        res = await fetch(c.nextUri!);
      }
      expect(res.status).toBe(200);
      let page = (await res.json()) as Page;
      const rows: unknown[][] = [...(page.data ?? [])];
      while (page.nextUri) {
        page = (await (await fetch(page.nextUri)).json()) as Page;
        rows.push(...(page.data ?? []));
      }
      expect(rows).toEqual([[3]]);
    } finally {
      engine.delayMs = 0;
    }
  });
});
