// Why: Triton's queue semantics, which operators who know Triton will expect: levels (1 highest, 0 the
// default), FIFO within a level, bounded queues refusing at once, timeouts that reject or delay, and
// requests larger than a batch split into parts.
import { describe, expect, it } from 'vitest';
import { BatchQueue, NO_TIMEOUT_POLICY, type Arrival, type QueueConfig } from '../../src/inference/batching/queue.ts';

const config = (extra: Partial<QueueConfig> = {}): QueueConfig => ({ maxBatchSize: 8, priorityLevels: 3, defaultPriorityLevel: 2, policies: [], defaultPolicy: NO_TIMEOUT_POLICY, ...extra });
const req = (id: string, extra: Partial<Arrival> = {}): Arrival => ({ id, rows: 1, arrivalMs: 0, priority: 0, deadlineMs: Infinity, ...extra });

describe('BatchQueue', () => {
  it('takes the highest level first, FIFO within a level; 0 means the default level', () => {
    const q = new BatchQueue(config());
    q.enqueue(req('low', { priority: 3 }));
    q.enqueue(req('default-a'));
    q.enqueue(req('high', { priority: 1 }));
    q.enqueue(req('default-b', { priority: 2 }));
    expect(q.take(8).map((p) => p.requestId)).toEqual(['high', 'default-a', 'default-b', 'low']);
  });

  it('fills a batch up to its rows and keeps order: a part that does not fit ends the batch', () => {
    const q = new BatchQueue(config());
    q.enqueue(req('a', { rows: 3 }));
    q.enqueue(req('b', { rows: 4 }));
    q.enqueue(req('c', { rows: 2 }));
    q.enqueue(req('d', { rows: 1 }));
    expect(q.take(8).map((p) => p.requestId)).toEqual(['a', 'b']);
    expect(q.rows).toBe(3);
    expect(q.take(1).map((p) => p.requestId)).toEqual(['c']); // at least one part, even over the cap
  });

  it('splits a request larger than the maximum batch into parts', () => {
    const q = new BatchQueue(config());
    q.enqueue(req('big', { rows: 20 }));
    expect(q.ordered().map((p) => [p.part, p.parts, p.rows])).toEqual([[0, 3, 8], [1, 3, 8], [2, 3, 4]]);
  });

  it('refuses bad rows and priorities, and a full level at once', () => {
    const q = new BatchQueue(config({ policies: [NO_TIMEOUT_POLICY, { ...NO_TIMEOUT_POLICY, maxQueueSize: 2 }] }));
    expect(q.enqueue(req('x', { rows: 0 }))?.code).toBe('BAD_ROWS');
    expect(q.enqueue(req('x', { rows: 1.5 }))?.code).toBe('BAD_ROWS');
    expect(q.enqueue(req('x', { priority: 4 }))?.code).toBe('BAD_PRIORITY');
    expect(q.enqueue(req('x', { priority: -1 }))?.code).toBe('BAD_PRIORITY');
    expect(q.enqueue(req('a'))).toBeUndefined();
    expect(q.enqueue(req('b', { rows: 20 }))).toBeUndefined(); // one request, three parts
    expect(q.enqueue(req('c'))?.code).toBe('QUEUE_FULL');
    expect(q.enqueue(req('c', { priority: 1 }))).toBeUndefined(); // another level has room
  });

  it('rejects at the timeout (the request, once, all its parts), or delays behind the others', () => {
    const reject = { timeoutAction: 'reject' as const, defaultTimeoutMs: 100, allowTimeoutOverride: true, maxQueueSize: 0 };
    const delay = { ...reject, timeoutAction: 'delay' as const };
    const q = new BatchQueue(config({ policies: [reject, delay] }));
    q.enqueue(req('r-big', { priority: 1, rows: 20 }));
    q.enqueue(req('r-override', { priority: 1, timeoutMs: 500 }));
    q.enqueue(req('d-old', { priority: 2, arrivalMs: 0 }));
    q.enqueue(req('d-new', { priority: 2, arrivalMs: 50 }));
    expect(q.expire(99)).toEqual([]);
    expect(q.expire(100)).toEqual(['r-big']);
    expect(q.ordered().map((p) => p.requestId)).toEqual(['r-override', 'd-new', 'd-old']);
    expect(q.ordered().find((p) => p.requestId === 'd-old')?.delayed).toBe(true);
    expect(q.expire(150)).toEqual([]); // d-new delayed behind d-old
    expect(q.ordered().map((p) => p.requestId)).toEqual(['r-override', 'd-old', 'd-new']);
    expect(q.expire(500)).toEqual(['r-override']);
  });

  it('ignores a request timeout where the level does not allow overriding', () => {
    const q = new BatchQueue(config({ defaultPolicy: { timeoutAction: 'reject', defaultTimeoutMs: 100, allowTimeoutOverride: false, maxQueueSize: 0 } }));
    q.enqueue(req('a', { timeoutMs: 10_000 }));
    expect(q.expire(100)).toEqual(['a']);
  });

  it('keeps its counts and the next timeout in step through enqueue, take, expire and remove', () => {
    const q = new BatchQueue(config({ policies: [{ timeoutAction: 'delay', defaultTimeoutMs: 100, allowTimeoutOverride: true, maxQueueSize: 0 }] }));
    expect(q.nextTimeoutMs()).toBe(Infinity);
    q.enqueue(req('untimed', { rows: 20 }));
    q.enqueue(req('timed', { priority: 1, arrivalMs: 5 }));
    expect(q.size).toBe(4);
    expect(q.head(2).map((p) => p.requestId)).toEqual(['timed', 'untimed']);
    expect(q.nextTimeoutMs()).toBe(105);
    q.expire(105); // delayed: no longer a timeout ahead
    expect(q.nextTimeoutMs()).toBe(Infinity);
    expect(q.take(8).map((p) => p.requestId)).toEqual(['timed']);
    expect(q.size).toBe(3);
    q.remove('untimed');
    expect(q.size).toBe(0);
  });

  it('removes every part of a request', () => {
    const q = new BatchQueue(config());
    q.enqueue(req('big', { rows: 20 }));
    q.enqueue(req('small'));
    expect(q.remove('big')).toBe(3);
    expect(q.ordered().map((p) => p.requestId)).toEqual(['small']);
  });
});
