// Why: a miss is paged to the client as the upstream produces it: hotpath never pulls far ahead of a
// slow client (no full buffering), a result over the cache cap streams through unstored, and a client
// cancel reaches the upstream and stores nothing.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrinoEngine } from '../../../src/query-cache/engines/trino-engine.ts';
import { startApp, testConfig, type TestApp } from '../../helpers/app.ts';
import { startTestRedis, type TestRedis } from '../../helpers/redis.ts';

const PAGES = 20;
const ROWS_PER_PAGE = 2000;

/** An upstream speaking Trino's wire format: 20 pages of 2000 rows; it counts what it served. */
class FakeTrino {
  server: Server;
  url = '';
  pagesServed = 0;
  posts = 0;
  deletes = 0;
  constructor() {
    this.server = createServer((req, res) => {
      const base = `http://${req.headers.host}`;
      const json = (body: object) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'q', infoUri: `${base}/v1/query/q`, warnings: [], ...body }));
      };
      if (req.method === 'DELETE') {
        this.deletes++;
        res.writeHead(204).end();
        return;
      }
      if (req.method === 'POST') {
        this.posts++;
        req.resume();
        json({ nextUri: `${base}/v1/statement/executing/q/s/0`, stats: { state: 'QUEUED' } });
        return;
      }
      const token = Number(req.url!.split('/').at(-1));
      this.pagesServed++;
      const rows = Array.from({ length: ROWS_PER_PAGE }, (_, i) => [token * ROWS_PER_PAGE + i, `row-${token}-${i}-${'x'.repeat(400)}`]);
      json({
        columns: [
          { name: 'n', type: 'bigint', typeSignature: { rawType: 'bigint', arguments: [] } },
          { name: 's', type: 'varchar', typeSignature: { rawType: 'varchar', arguments: [{ kind: 'LONG', value: 2147483647 }] } },
        ],
        data: rows,
        stats: { state: token === PAGES - 1 ? 'FINISHED' : 'RUNNING' },
        ...(token < PAGES - 1 ? { nextUri: `${base}/v1/statement/executing/q/s/${token + 1}` } : {}),
      });
    });
  }
  async start() {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }
}

let redis: TestRedis;
let fake: FakeTrino;
let h: TestApp;

beforeAll(async () => {
  redis = await startTestRedis();
  fake = new FakeTrino();
  await fake.start();
  const engine = createTrinoEngine({ url: fake.url, requestTimeoutMs: 10_000, statementTimeoutMs: 60_000 });
  h = await startApp(testConfig(redis.url, { HOTPATH_ENGINE: 'trino', TRINO_URL: fake.url, HOTPATH_CACHE_MAX_ENTRY_BYTES: String(4 * 1024 * 1024) }), engine);
});
afterAll(async () => {
  await h?.close();
  await h?.app.queryCache.engine.close();
  await new Promise((r) => fake?.server.close(r));
  await redis?.stop();
});

interface Page {
  nextUri?: string;
  data?: unknown[][];
  stats: { state: string };
}

async function post(sql: string): Promise<Page> {
  return (await (await fetch(`${h.url}/v1/statement`, { method: 'POST', headers: { 'x-trino-user': 'alice' }, body: sql })).json()) as Page;
}

const until = async (cond: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('streaming misses through the Trino door', () => {
  it('pulls only a few pages ahead of a slow client, then streams the rest; over the cap it is not stored', async () => {
    const sql = 'SELECT n, s FROM big_table';
    let page = await post(sql);
    let uri = page.nextUri!;
    let text = await (await fetch(uri)).text();
    while (!(JSON.parse(text) as Page).data) {
      uri = (JSON.parse(text) as Page).nextUri!;
      text = await (await fetch(uri)).text();
    }
    const first = JSON.parse(text) as Page; // the first page with data
    expect(first.data?.length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 300)); // the client dawdles
    // Bounded read-ahead, not all 20 pages: while the answer may still be stored (up to the 4 MiB cap,
    // ~5 upstream pages) the fill does not wait for its client; past the cap, two pages ahead at most.
    expect(fake.pagesServed).toBeLessThanOrEqual(9);
    expect(await (await fetch(uri)).text()).toBe(text); // a retried GET gets the identical page, though more arrived

    let rows = first.data!.length;
    let status: string | null = null;
    page = first;
    while (page.nextUri) {
      const res = await fetch(page.nextUri);
      status = res.headers.get('cache-status');
      page = (await res.json()) as Page;
      rows += page.data?.length ?? 0;
    }
    expect(page.stats.state).toBe('FINISHED');
    expect(rows).toBe(PAGES * ROWS_PER_PAGE);
    expect(fake.pagesServed).toBe(PAGES);
    expect(status).toBe('hotpath; fwd=miss; detail=too-large'); // ~17 MB > the 4 MiB cap

    const postsBefore = fake.posts;
    let again = await post(sql);
    while (again.nextUri) again = (await (await fetch(again.nextUri)).json()) as Page;
    expect(fake.posts).toBe(postsBefore + 1); // not served from cache
  });

  it('a client cancel mid-result reaches the upstream and stores nothing', async () => {
    const sql = 'SELECT n, s FROM another_big_table';
    const deletesBefore = fake.deletes;
    let page = await post(sql);
    page = (await (await fetch(page.nextUri!)).json()) as Page;
    while (!page.data) page = (await (await fetch(page.nextUri!)).json()) as Page;
    const first = page;
    expect(first.nextUri).toBeDefined();
    expect((await fetch(first.nextUri!, { method: 'DELETE' })).status).toBe(204);
    await until(() => fake.deletes > deletesBefore);

    const postsBefore = fake.posts;
    let again = await post(sql);
    while (again.nextUri) again = (await (await fetch(again.nextUri)).json()) as Page;
    expect(again.stats.state).toBe('FINISHED');
    expect(fake.posts).toBe(postsBefore + 1);
  });
});
