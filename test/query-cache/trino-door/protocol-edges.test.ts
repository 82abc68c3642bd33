// Why: the protocol facts of TRINO-PROTOCOL.md that clients rely on for retries and cleanup: the same
// token returns the same page, an older one is gone, unknown ones are not found, DELETE cancels,
// URIs are absolute and honour X-Forwarded-* from a trusted proxy only, and the older X-Presto-* spelling works.
import { describe, expect, it } from 'vitest';
import { ControlledEngine, type TestApp, useTestStack } from '../../helpers/app.ts';

let engine: ControlledEngine;
let h: TestApp;
let untrusted: TestApp;
useTestStack(async (s) => {
  engine = s.engine;
  h = await s.app({ HOTPATH_TRUST_PROXY: 'loopback' });
  untrusted = await s.app();
});

interface Page {
  id: string;
  infoUri: string;
  nextUri?: string;
  columns?: unknown[];
  data?: unknown[][];
  stats: { state: string };
  error?: { errorName: string };
}

async function submit(sql: string, headers: Record<string, string> = { 'x-trino-user': 'alice' }, app = h): Promise<{ status: number; page: Page; headers: Headers }> {
  const res = await fetch(`${app.url}/v1/statement`, { method: 'POST', headers, body: sql });
  return { status: res.status, page: (await res.json()) as Page, headers: res.headers };
}

const get = async (uri: string) => {
  const res = await fetch(uri);
  return { status: res.status, text: await res.text(), headers: res.headers };
};

describe('Trino door protocol edges', () => {
  it('POST answers QUEUED with id, infoUri and an absolute nextUri, and no data', async () => {
    const { status, page } = await submit('SELECT 1 AS one');
    expect(status).toBe(200);
    expect(page.stats.state).toBe('QUEUED');
    expect(page.id).toMatch(/^\d{8}_\d{6}_\d{5}_[0-9a-z]{5}$/);
    expect(page.infoUri).toBe(`${h.url}/v1/query/${page.id}`);
    expect(page.nextUri).toMatch(new RegExp(`^${h.url}/v1/statement/queued/${page.id}/[0-9a-z]+/1$`));
    expect(page.columns).toBeUndefined();
    expect(page.data).toBeUndefined();
  });

  it('a repeated token returns the identical page; an older token is 410; unknown tokens and slugs are 404', async () => {
    const { page: queued } = await submit('SELECT 2 AS two');
    // the answer is ready at the first poll, so that page carries the data (data may come on any page)
    const first = await get(queued.nextUri!);
    const again = await get(queued.nextUri!);
    expect(again.status).toBe(200);
    expect(again.text).toBe(first.text);
    let page = JSON.parse(first.text) as Page;
    expect(page.columns).toBeDefined();
    expect(page.data).toEqual([[2]]);
    while (page.nextUri) page = JSON.parse((await get(page.nextUri)).text) as Page;
    expect(page.stats.state).toBe('FINISHED');

    const executing = (token: number) => queued.nextUri!.replace('/queued/', '/executing/').replace(/\/1$/, `/${token}`);
    expect((await get(executing(5))).status).toBe(404);
    const wrongSlug = executing(0).replace(/\/executing\/([^/]+)\/[^/]+\//, '/executing/$1/ynotaslug/');
    expect((await get(wrongSlug)).status).toBe(404);
    expect((await get(`${h.url}/v1/statement/executing/20260101_000000_00000_zzzzz/x/0`)).status).toBe(404);
  });

  it('an older executing token is 410 Gone once the client moved on', async () => {
    const { page: queued } = await submit('SELECT order_id, status, total_amount FROM demo.sales.orders CROSS JOIN range(5)');
    let page = JSON.parse((await get(queued.nextUri!)).text) as Page; // may carry page 0 already
    while (!page.data && page.nextUri) page = JSON.parse((await get(page.nextUri)).text) as Page;
    const secondUri = page.nextUri!;
    page = JSON.parse((await get(secondUri)).text) as Page;
    expect(page.nextUri).toBeDefined();
    await get(page.nextUri!); // the client moved past secondUri
    expect((await get(secondUri)).status).toBe(410);
  });

  it('DELETE on the nextUri cancels (204), and the query is gone afterwards', async () => {
    const { page } = await submit('SELECT 3 AS three');
    const del = await fetch(page.nextUri!, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect((await get(page.nextUri!)).status).toBe(410);
    expect((await get(page.infoUri)).status).toBe(410);
  });

  it('an empty body is 400 with a JSON error', async () => {
    const { status, page } = await submit('   ');
    expect(status).toBe(400);
    expect((page as unknown as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
  });

  it('accepts the older X-Presto-* spelling, and refuses a mix of both', async () => {
    const presto = await submit('SELECT 4 AS four', { 'x-presto-user': 'alice', 'x-presto-catalog': 'demo', 'x-presto-schema': 'sales' });
    expect(presto.status).toBe(200);
    let page = presto.page;
    const rows: unknown[][] = [];
    while (page.nextUri) {
      page = JSON.parse((await get(page.nextUri)).text) as Page;
      rows.push(...(page.data ?? []));
    }
    expect(rows).toEqual([[4]]);
    const mixed = await submit('SELECT 5', { 'x-trino-user': 'alice', 'x-presto-catalog': 'demo' });
    expect(mixed.status).toBe(400);
  });

  it('builds absolute URIs from X-Forwarded-Proto and X-Forwarded-Host', async () => {
    const { page } = await submit('SELECT 6 AS six', { 'x-trino-user': 'alice', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'trino.example.org' });
    expect(page.nextUri).toMatch(/^https:\/\/trino\.example\.org\/v1\/statement\/queued\//);
    expect(page.infoUri).toBe(`https://trino.example.org/v1/query/${page.id}`);
  });

  it('ignores X-Forwarded-* from a peer that is not a trusted proxy, and never builds a URI from a malformed host', async () => {
    // clients follow nextUri with their credentials: a spoofed host would send them elsewhere
    const spoofed = await submit('SELECT 6', { 'x-trino-user': 'alice', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' }, untrusted);
    expect(spoofed.page.nextUri!.startsWith(`${untrusted.url}/v1/statement/queued/`)).toBe(true);
    const bad: [string, string][] = [['x-forwarded-host', 'a b'], ['x-forwarded-host', 'x/y@z'], ['x-forwarded-proto', ''], ['x-forwarded-proto', 'javascript']];
    for (const [name, value] of bad) {
      const { page } = await submit('SELECT 6', { 'x-trino-user': 'alice', [name]: value });
      expect(page.nextUri).toMatch(/^https?:\/\/[A-Za-z0-9.:[\]-]+\/v1\/statement\/queued\//);
      expect(new URL(page.nextUri!).pathname).toMatch(/^\/v1\/statement\/queued\//);
    }
  });

  it('sends Cache-Status on pages: a miss, then a hit for the same user', async () => {
    const run = async () => {
      let page = (await submit('SELECT 7 AS seven')).page;
      let status: string | null = null;
      while (page.nextUri) {
        const r = await get(page.nextUri);
        status = r.headers.get('cache-status') ?? status;
        page = JSON.parse(r.text) as Page;
      }
      return status;
    };
    expect(await run()).toBe('hotpath; fwd=miss; stored');
    expect(await run()).toMatch(/^hotpath; hit/);
  });

  it('/v1/info says the server is not starting', async () => {
    const info = JSON.parse((await get(`${h.url}/v1/info`)).text) as { starting: boolean; coordinator: boolean };
    expect(info).toMatchObject({ starting: false, coordinator: true });
  });
});
