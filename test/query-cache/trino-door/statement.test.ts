// Why: a Trino door statement's lifecycle and token rules, on the object alone (no app, no Redis): the
// table of what each page URI answers after each served page, the walk through QUEUED → RUNNING →
// FINISHED with the pages a client sees, an admission refusal retried on the same URI, and the
// registry abandoning a statement by the one clock it was given.
import { describe, expect, it } from 'vitest';
import { AppError, isAppError } from '../../../src/shared/errors.ts';
import { PageStream } from '../../../src/query-cache/page-stream.ts';
import { parseTrinoHeaders, statementPage, type PageKind } from '../../../src/query-cache/trino-door/protocol.ts';
import { StatementRegistry } from '../../../src/query-cache/trino-door/registry.ts';
import { Statement } from '../../../src/query-cache/trino-door/statement.ts';

const statement = (nowMs = 1_000) => new Statement({ id: 'q1', slug: 'ys', sql: 'SELECT 1', user: 'alice', context: parseTrinoHeaders({}), authorization: undefined, nowMs });

/** A cache hit: columns and every page at once. */
function hit(...pages: string[]): PageStream {
  const s = new PageStream('hotpath; hit');
  s.setColumns(Buffer.from('[{"name":"x","type":"integer"}]'));
  s.appendComplete(pages.map((p) => Buffer.from(p)), pages.length, 'hotpath; hit');
  return s;
}

/** What a poll of `kind/raw` gets, in a word: the kept page again, a new token, or the HTTP status. */
function check(q: Statement, kind: PageKind, raw: string): string {
  try {
    const c = q.checkToken(kind, raw);
    return 'again' in c ? `again ${c.again.toString()}` : `new ${c.token}`;
  } catch (err) {
    if (isAppError(err)) return String(err.status);
    throw err;
  }
}

describe('a statement’s page tokens', () => {
  // Each row: the pages served so far, then what each URI answers.
  const q0 = statement();
  const q1 = statement();
  q1.servePage('queued', 1, Buffer.from('Q1'));
  const q2 = statement();
  q2.servePage('queued', 1, Buffer.from('Q1'));
  q2.servePage('executing', 0, Buffer.from('E0'));
  it.each([
    // Nothing served (the POST's page names queued/1): queued/1 and executing/0 are next; 0 was replaced.
    ['none', q0, 'queued', '1', 'new 1'],
    ['none', q0, 'queued', '0', '410'],
    ['none', q0, 'queued', '2', '404'],
    ['none', q0, 'executing', '0', 'new 0'],
    ['none', q0, 'executing', '1', '404'],
    ['none', q0, 'queued', 'x', '404'],
    ['none', q0, 'queued', '-1', '404'],
    // queued/1 served: it again is the same bytes (a retry); queued/2 is next.
    ['queued/1', q1, 'queued', '1', 'again Q1'],
    ['queued/1', q1, 'queued', '2', 'new 2'],
    ['queued/1', q1, 'queued', '0', '410'],
    ['queued/1', q1, 'executing', '0', 'new 0'],
    // executing/0 served: every queued token is gone, executing/1 is next.
    ['executing/0', q2, 'executing', '0', 'again E0'],
    ['executing/0', q2, 'executing', '1', 'new 1'],
    ['executing/0', q2, 'executing', '2', '404'],
    ['executing/0', q2, 'queued', '2', '410'],
    ['executing/0', q2, 'queued', '1', '410'],
  ] as const)('served %s: %s/%s -> %s', (_served, q, kind, raw, want) => {
    expect(check(q, kind, raw)).toBe(want);
  });

  it('a served page counts only the bytes it adds over the one kept before', () => {
    const q = statement();
    expect(q.servePage('queued', 1, Buffer.alloc(100))).toBe(100);
    expect(q.servePage('queued', 2, Buffer.alloc(30))).toBe(-70);
    expect(q.keptBytes).toBe(30);
  });
});

describe('a statement’s lifecycle', () => {
  it('QUEUED → RUNNING → FINISHED: a hit’s first page comes on the queued poll, the last says FINISHED', async () => {
    const q = statement(1_000);
    expect(q.submittedPage()).toEqual({ state: 'QUEUED', next: { kind: 'queued', token: 1 } });
    expect(q.infoState).toBe('QUEUED');
    expect(q.busy).toBe(true); // never polled: abandoned sooner

    await q.begin(1_040, async () => q.attach(hit('[[1]]', '[[2]]')));
    expect(q.infoState).toBe('FINISHED'); // the answer is complete, fetched or not

    const first = q.nextPage('queued', 1, 1_050);
    expect(first).toMatchObject({ page: { state: 'RUNNING', next: { kind: 'executing', token: 0 }, processedRows: 2 } });
    expect('page' in first && first.page.data?.toString()).toBe('[[1]]');
    q.servePage('queued', 1, Buffer.from('p1'));
    expect(q.ended).toBe(false);

    const last = q.nextPage('executing', 0, 1_070);
    expect(last).toMatchObject({ page: { state: 'FINISHED', next: undefined, progressPercentage: 100 } });
    expect('page' in last && last.page.data?.toString()).toBe('[[2]]');
    expect(q.ended).toBe(true);
    // Elapsed runs from the POST to the end (the last data page taken), queued from the POST to the start.
    expect(q.timings(9_999)).toEqual({ elapsedMs: 70, queuedMs: 40 });

    q.complete();
    q.detach();
    expect(q.completed).toBe(true);
    expect(q.headers).toEqual({ cacheStatus: 'hotpath; hit', sessionHeaders: undefined }); // a retried last page keeps them
    expect(() => q.assertNotCompleted()).toThrow(/has finished; its last page was token/);
  });

  it('refused by admission: a queued poll says retry (503), the run is reset and the next poll queues again', async () => {
    const q = statement();
    const full = new AppError('QUEUE_FULL', 'full', { headers: { 'retry-after': '5' } });
    await q.begin(1_010, async () => q.fail(full, 1_020));
    expect(q.nextPage('queued', 1, 1_030)).toEqual({ retry: full });
    // An executing poll is told the query failed (a FAILED page, the last).
    expect(q.nextPage('executing', 0, 1_030)).toEqual({ page: { state: 'FAILED', next: undefined, failure: full } });
    q.reset();
    expect(q.run).toBeUndefined();
    expect(q.failure).toBeUndefined();
    expect(q.nextPage('queued', 1, 1_040)).toEqual({ page: { state: 'QUEUED', next: { kind: 'queued', token: 2 } } });
  });

  it('cancel stops the engine, fails the answer and drops the kept page', () => {
    const q = statement();
    const miss = new PageStream('hotpath; miss');
    q.attach(miss);
    q.servePage('queued', 1, Buffer.from('Q1'));
    const cancelled = new AppError('QUERY_CANCELLED', 'cancelled');
    q.cancel(cancelled);
    expect(q.signal.aborted).toBe(true);
    expect(q.failure).toBe(cancelled);
    expect(miss.error).toBe(cancelled);
    expect(q.keptBytes).toBe(0);
  });

  it('a plan becomes a page with absolute URIs under the base the client came in by', () => {
    const body = statementPage({ state: 'QUEUED', next: { kind: 'queued', token: 2 } }, { id: 'q1', slug: 'ys', base: 'https://trino.example.org', elapsedMs: 5, queuedMs: 5 });
    expect(JSON.parse(body.toString())).toMatchObject({
      id: 'q1',
      infoUri: 'https://trino.example.org/v1/query/q1',
      nextUri: 'https://trino.example.org/v1/statement/queued/q1/ys/2',
      stats: { state: 'QUEUED', elapsedTimeMillis: 5, queuedTimeMillis: 5 },
    });
  });
});

describe('the registry’s clock', () => {
  it('abandons a statement nobody polled once its clock passes the busy timeout, and its URIs then answer 410', async () => {
    let nowMs = Date.UTC(2026, 10, 27, 5, 47, 12);
    const registry = new StatementRegistry({
      maxQueries: 10,
      maxQueriesPerUser: 10,
      maxBytes: 1 << 20,
      maxBytesPerUser: 1 << 20,
      clientTimeoutMs: 60_000,
      busyClientTimeoutMs: 1_000, // the sweep runs every 333 ms of real time
      now: () => nowMs,
    });
    try {
      const q = registry.create('SELECT 1', 'alice', parseTrinoHeaders({}));
      expect(q.id).toMatch(/^20261127_054712_\d{5}_[0-9a-f]{5}$/); // the id's stamp is the clock's
      expect(q.createdAtMs).toBe(nowMs);
      await new Promise((r) => setTimeout(r, 500));
      expect(registry.lookup(q.id, q.slug)).toBe(q); // real time passed, the door's clock did not
      nowMs += 1_001;
      await new Promise((r) => setTimeout(r, 800));
      expect(() => registry.lookup(q.id, q.slug)).toThrow(expect.objectContaining({ code: 'GONE' }));
      expect(registry.usage).toEqual({ count: 0, bytes: 0 });
    } finally {
      registry.close();
    }
  });
});
