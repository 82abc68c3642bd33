// Why: the /v2 door as a KServe or Triton client sees it, over a real socket: metadata, readiness,
// inference whose every row comes back to its request while many are batched together, the protocol's
// {"error": "…"} with 400/404/503 for every kind of refusal (auth included), and the metrics.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startApp, testConfig } from '../helpers/app.ts';
import { useInferenceApp } from './helpers.ts';
import { simulatedScores } from '../../src/inference/replica.ts';

const MODELS = JSON.stringify({
  resnet50: { maxBatchSize: 16, batching: 'slo-aware', sloP99Ms: 2000, replicas: { simulated: { count: 2 } } },
  tiny: { maxBatchSize: 4, batching: 'fixed', maxQueueDelayMs: 1, priorityLevels: 2, defaultQueuePolicy: { maxQueueSize: 1 }, replicas: { simulated: { count: 1, deviceShare: 0.5 } } },
});

const app = useInferenceApp({ HOTPATH_INFERENCE_MODELS: MODELS });

const post = (path: string, body: unknown, headers: Record<string, string> = { 'x-trino-user': 'alice' }) =>
  fetch(`${app.t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const get = (path: string, headers: Record<string, string> = { 'x-trino-user': 'alice' }) => fetch(`${app.t.url}${path}`, { headers });
const rowsOf = (n: number, seed: number) => Array.from({ length: n }, (_, r) => Array.from({ length: 8 }, (_, i) => ((r * 8 + i + seed) % 9) - 4));

describe('/v2 (Open Inference Protocol)', () => {
  it('serves server and model metadata, liveness and readiness', async () => {
    expect(await (await get('/v2')).json()).toEqual({ name: 'hotpath', version: '0.1.0', extensions: [] });
    expect((await get('/v2/health/live', {})).status).toBe(200);
    expect(await (await get('/v2/health/ready', {})).json()).toEqual({ ready: true });
    const meta = await (await get('/v2/models/resnet50')).json();
    expect(meta).toEqual({ name: 'resnet50', versions: ['1'], platform: 'hotpath-simulated-k80', inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 8] }], outputs: [{ name: 'scores', datatype: 'FP32', shape: [-1, 4] }] });
    expect(await (await get('/v2/models/resnet50/versions/1/ready')).json()).toEqual({ name: 'resnet50', ready: true });
  });

  it('answers each of many concurrent requests with its own rows (nested or flat data), batched together', async () => {
    const answers = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const rows = rowsOf(1 + (i % 3), i);
        const data = i % 2 === 0 ? rows : rows.flat();
        const res = await post('/v2/models/resnet50/infer', { id: `req-${i}`, inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 8], data }] });
        expect(res.status).toBe(200);
        return { rows, body: (await res.json()) as { id: string; model_name: string; outputs: { name: string; shape: number[]; data: number[] }[]; parameters: { batch_rows: number } } };
      }),
    );
    answers.forEach(({ rows, body }, i) => {
      expect(body.id).toBe(`req-${i}`);
      expect(body.model_name).toBe('resnet50');
      expect(body.outputs[0]!.shape).toEqual([rows.length, 4]);
      expect(body.outputs[0]!.data).toEqual(rows.flatMap((r) => simulatedScores(r)));
    });
    expect(Math.max(...answers.map((a) => a.body.parameters.batch_rows))).toBeGreaterThan(3);
  });

  it('splits a request larger than the model\'s batch and answers it whole', async () => {
    const rows = rowsOf(10, 3);
    const res = await post('/v2/models/tiny/versions/1/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [10, 8], data: rows }], outputs: [{ name: 'scores' }] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { outputs: { data: number[] }[] };
    expect(body.outputs[0]!.data).toEqual(rows.flatMap((r) => simulatedScores(r)));
  });

  it.each([
    ['an unknown model', '/v2/models/nope/infer', { inputs: [] }, 404, /unknown model 'nope'/],
    ['an unknown version', '/v2/models/resnet50/versions/7/infer', { inputs: [] }, 404, /no version '7'/],
    ['an unknown input', '/v2/models/resnet50/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 8], data: rowsOf(1, 0) }] }, 400, /unexpected input 'x'/],
    ['a wrong datatype', '/v2/models/resnet50/infer', { inputs: [{ name: 'input', datatype: 'INT8', shape: [1, 8], data: rowsOf(1, 0) }] }, 400, /expects FP32/],
    ['a wrong row shape', '/v2/models/resnet50/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 7], data: [1, 2, 3, 4, 5, 6, 7] }] }, 400, /dimension 1 is 7/],
    ['data that does not fill the shape', '/v2/models/resnet50/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 8], data: rowsOf(1, 0) }] }, 400, /holds 16 elements, data has 8/],
    ['a string among numbers', '/v2/models/resnet50/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 8], data: [1, 2, 3, 4, 5, 6, 7, 'x'] }] }, 400, /FP32 values/],
    ['a priority past the levels', '/v2/models/resnet50/infer', { parameters: { priority: 9 }, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 8], data: rowsOf(1, 0) }] }, 400, /priority/],
    ['an unknown output', '/v2/models/resnet50/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 8], data: rowsOf(1, 0) }], outputs: [{ name: 'logits' }] }, 400, /unexpected output 'logits'/],
    ['malformed JSON', '/v2/models/resnet50/infer', '{"inputs": [', 400, /./],
    ['a body that is not an object', '/v2/models/resnet50/infer', '[1, 2]', 400, /./],
  ] as [string, string, unknown, number, RegExp][])('refuses %s with the protocol\'s error', async (_what, path, body, status, message) => {
    const res = await post(path, body);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const json = (await res.json()) as { error: unknown };
    expect(Object.keys(json)).toEqual(['error']);
    expect(typeof json.error).toBe('string');
    expect(json.error).toMatch(message);
  });

  it('an unknown path and a full queue answer in the protocol\'s shape too', async () => {
    const unknown = await get('/v2/nothing/here');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'no route for GET /v2/nothing/here' });
    // tiny holds one queued request: a burst overflows it.
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => post('/v2/models/tiny/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [4, 8], data: rowsOf(4, i) }] })));
    const full = burst.filter((r) => r.status === 503);
    expect(full.length).toBeGreaterThan(0);
    expect(await full[0]!.json()).toEqual({ error: 'the queue of priority level 2 holds its maximum of 1 requests' });
    expect(burst.filter((r) => r.status === 200).length).toBeGreaterThan(0);
  });

  it('with token auth, a request without a token is refused as everywhere (401), in the protocol\'s shape', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotpath-v2-auth-'));
    const tokens = join(dir, 'tokens.json');
    writeFileSync(tokens, JSON.stringify([{ user: 'alice', tokenSha256: createHash('sha256').update('s3cret').digest('hex') }]));
    const authed = await startApp(testConfig(app.redis.url, { HOTPATH_AUTH: 'token', HOTPATH_AUTH_TOKENS_FILE: tokens, HOTPATH_INFERENCE_MODELS: MODELS }), app.engine);
    try {
      const body = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 8], data: rowsOf(1, 0) }] });
      const anonymous = await fetch(`${authed.url}/v2/models/resnet50/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(anonymous.status).toBe(401);
      const json = (await anonymous.json()) as Record<string, unknown>;
      expect(Object.keys(json)).toEqual(['error']);
      expect(typeof json.error).toBe('string');
      const ok = await fetch(`${authed.url}/v2/models/resnet50/infer`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer s3cret' }, body });
      expect(ok.status).toBe(200);
      expect((await fetch(`${authed.url}/v2/health/live`)).status).toBe(200); // probes need no token
    } finally {
      await authed.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an upstream model forwards its batches to another OIP server, retrying a dead one on the next', async () => {
    const remote = JSON.stringify({
      remote: {
        maxBatchSize: 8, batching: 'fixed', maxQueueDelayMs: 2,
        replicas: { upstream: { urls: ['http://127.0.0.1:1', app.t.url], model: 'resnet50', timeoutMs: 5000 } },
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 8] }],
        outputs: [{ name: 'scores', datatype: 'FP32', shape: [-1, 4] }],
      },
    });
    const front = await startApp(testConfig(app.redis.url, { HOTPATH_INFERENCE_MODELS: remote }), app.engine);
    try {
      expect(((await (await fetch(`${front.url}/v2/models/remote`, { headers: { 'x-trino-user': 'alice' } })).json()) as { platform: string }).platform).toBe('hotpath-upstream');
      const answers = await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const rows = rowsOf(1 + (i % 4), i);
          const res = await fetch(`${front.url}/v2/models/remote/infer`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-trino-user': 'alice' }, body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 8], data: rows }] }) });
          return { rows, status: res.status, body: (await res.json()) as { outputs: { data: number[] }[] } };
        }),
      );
      for (const a of answers) {
        expect(a.status, JSON.stringify(a.body)).toBe(200);
        expect(a.body.outputs[0]!.data).toEqual(a.rows.flatMap((r) => simulatedScores(r)));
      }
    } finally {
      await front.close();
    }
  });

  it('an upstream that answers wrongly fails the batch: 503 in the protocol\'s shape', async () => {
    // The "upstream" is this app's tiny model, which answers scores for 8-wide rows: declared here as a
    // model whose output has another name, the answer lacks it.
    const wrong = JSON.stringify({
      wrong: {
        batching: 'none',
        replicas: { upstream: { urls: [app.t.url], model: 'resnet50', timeoutMs: 5000 } },
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 8] }],
        outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 4] }],
      },
    });
    const front = await startApp(testConfig(app.redis.url, { HOTPATH_INFERENCE_MODELS: wrong }), app.engine);
    try {
      const res = await fetch(`${front.url}/v2/models/wrong/infer`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-trino-user': 'alice' }, body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 8], data: rowsOf(1, 0) }] }) });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: string }).error).toMatch(/unexpected output 'logits'/);
    } finally {
      await front.close();
    }
  });

  it('exports the inference metrics, by model and result', async () => {
    const text = await (await fetch(`${app.t.url}/metrics`)).text();
    expect(text).toMatch(/hotpath_inference_requests_total\{model="resnet50",result="ok"\} [1-9]/);
    expect(text).toMatch(/hotpath_inference_requests_total\{model="tiny",result="queue_full"\} [1-9]/);
    expect(text).toMatch(/hotpath_inference_requests_total\{model="resnet50",result="bad_request"\} [1-9]/);
    expect(text).toMatch(/hotpath_inference_batch_rows_count\{model="resnet50"\} [1-9]/);
    expect(text).toMatch(/hotpath_inference_replicas\{model="tiny"\} 1/);
  });
});
