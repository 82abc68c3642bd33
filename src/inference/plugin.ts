// Why: the Open Inference Protocol v2 door (KServe / Triton REST) under /v2: server and model metadata,
// liveness and readiness, and infer, which checks the request against the model's signature (oip.ts)
// and hands it to the model's batcher (runner.ts). Its errors are the protocol's `{"error": "…"}` with
// 400/404/503, the one exception to the service's `{error:{code,message}}` (README: Inference): this
// plugin is encapsulated under /v2 with its own error and not-found handlers, so an auth refusal, a
// malformed body or an unknown path under /v2 answer in the protocol's shape too.
import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Config } from '../shared/config.ts';
import { toHttpError } from '../shared/http-errors.ts';
import { createInferenceMetrics, INFERENCE_RESULTS, type InferenceResult } from './metrics.ts';
import { policyOf, poolSize, type ModelSpec } from './model-config.ts';

/** How often autoscaled models look at their load. */
const AUTOSCALE_TICK_MS = 1000;
import { checkInfer, type Signature } from './oip.ts';
import { Agent } from 'undici';
import { K80_RESNET50_IMAGES_PER_S, tableCost } from './cost.ts';
import { SimulatedK80Replica, type Replica } from './replica.ts';
import { UpstreamReplica } from './upstream.ts';
import { Autoscaler } from './autoscale.ts';
import { ReplicaSet } from './replica-set.ts';
import type { GpuJobService } from '../gpu/jobs/service.ts';
import { ModelRunner, type InferOutcome } from './runner.ts';

/** The protocol's error body, and the only error shape under /v2. */
const OipError = Type.Object({ error: Type.String() }, { $id: 'OipError', description: 'Open Inference Protocol error: {"error": "message"} (not the service\'s {error:{code,message}})' });
const oipErrors = { '4xx': OipError, '5xx': OipError };
const TensorSpecSchema = Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()) });
const TensorSchema = Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()), data: Type.Array(Type.Unknown()) });
const ModelMetadata = Type.Object({ name: Type.String(), versions: Type.Array(Type.String()), platform: Type.String(), inputs: Type.Array(TensorSpecSchema), outputs: Type.Array(TensorSpecSchema) });
const InferResponse = Type.Object({ model_name: Type.String(), model_version: Type.String(), id: Type.String(), parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())), outputs: Type.Array(TensorSchema) });
const InferRequest = Type.Object(
  {
    id: Type.Optional(Type.String()),
    parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'priority: Triton level (1 the highest, 0 the model default); timeout: queue timeout in microseconds' })),
    inputs: Type.Array(TensorSchema),
    outputs: Type.Optional(Type.Array(Type.Object({ name: Type.String(), parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }))),
  },
  { additionalProperties: true },
);
const ModelParams = Type.Object({ name: Type.String() });
const VersionParams = Type.Object({ name: Type.String(), version: Type.String() });
const tags = ['inference'];

/** HTTP status and result label of a runner refusal (queue full, timeout, failure, closing: 503, try again). */
const REFUSALS: Record<Exclude<InferOutcome, { ok: true }>['code'], [number, InferenceResult]> = {
  QUEUE_FULL: [503, 'queue_full'],
  TIMEOUT: [503, 'timeout'],
  REPLICA_FAILED: [503, 'replica_failed'],
  CLOSED: [503, 'closed'],
  BAD_PRIORITY: [400, 'bad_request'],
  BAD_ROWS: [400, 'bad_request'],
};

interface Served {
  spec: ModelSpec;
  signature: Signature;
  runner: ModelRunner;
}

export interface InferenceDoor {
  models: ReadonlyMap<string, Served>;
  close(): Promise<void>;
}

/** Registers /v2 (encapsulated) and returns the models it serves. */
export function registerInference(app: FastifyInstance, deps: { config: Config; registry: Registry; gpu?: GpuJobService }): InferenceDoor {
  const metrics = createInferenceMetrics(deps.registry);
  const models = new Map<string, Served>();
  // One keep-alive pool per upstream origin, for every upstream model.
  const upstreamAgent = new Agent({ keepAliveTimeout: 10_000 });
  const sets: ReplicaSet[] = [];
  const starts: (() => void)[] = [];
  const timers: NodeJS.Timeout[] = [];
  const instance = randomUUID().slice(0, 8);
  for (const spec of deps.config.inferenceModels) {
    const r = spec.replicas;
    const size = poolSize(spec);
    const prior = tableCost(K80_RESNET50_IMAGES_PER_S, r.deviceShare);
    const replicas: Replica[] =
      r.kind === 'simulated'
        ? Array.from({ length: size }, (_, i) => new SimulatedK80Replica(`${spec.name}-${i}`, r.deviceShare))
        : r.urls.slice(0, size).map((url, i) => new UpstreamReplica({ id: `${spec.name}-${i}`, url, model: r.model, ...(r.version !== undefined ? { version: r.version } : {}), outputs: spec.signature.outputs, costMs: prior, timeoutMs: r.timeoutMs, agent: upstreamAgent }));
    let misses = 0;
    const runner: ModelRunner = new ModelRunner({
      queue: spec.queue,
      policy: policyOf(spec),
      replicas,
      sloMs: spec.sloP99Ms,
      events: {
        batch: (e) => {
          metrics.executionSeconds.observe({ model: spec.name }, e.executionMs / 1000);
          metrics.batchRows.observe({ model: spec.name }, e.rows);
        },
        answered: (e) => {
          if (e.late || (!e.outcome.ok && e.outcome.code === 'TIMEOUT')) misses++;
          metrics.queueSeconds.observe({ model: spec.name }, e.queueMs / 1000);
          metrics.requests.inc({ model: spec.name, result: e.outcome.ok ? 'ok' : REFUSALS[e.outcome.code][1] });
        },
      },
    });
    const gpuBacked = spec.gpu !== undefined && deps.gpu !== undefined;
    const set = new ReplicaSet({
      runner,
      size,
      ...(gpuBacked
        ? { gpu: { service: deps.gpu!, model: spec.name, ask: { ...spec.gpu!, gpuMilli: r.deviceShare < 1 ? Math.max(1, Math.round(r.deviceShare * 1000)) : undefined }, instance, leaseTtlMs: deps.config.gpuLeaseTtlSeconds * 1000, log: app.log } }
        : {}),
      onChange: (available) => metrics.replicas.set({ model: spec.name }, available),
    });
    metrics.replicas.set({ model: spec.name }, 0);
    const startActive = spec.autoscaling?.minReplicas ?? size;
    starts.push(() => set.setActive(startActive));
    sets.push(set);
    if (spec.autoscaling !== undefined) {
      const scaler = new Autoscaler(spec.autoscaling);
      const full = spec.queue.maxBatchSize;
      const replicaRowsPerMs = full / prior(full);
      starts.push(() => {
        const timer = setInterval(() => {
          const desired = scaler.desired({ nowMs: performance.now(), replicas: set.active, arrivalRowsPerMs: runner.arrivalRowsPerMs(), replicaRowsPerMs, queuedRows: runner.queuedRows, maxBatchSize: full, recentMisses: misses });
          misses = 0;
          if (desired !== set.active) {
            app.log.info({ model: spec.name, from: set.active, to: desired }, 'inference: scaling replicas');
            set.setActive(desired);
          }
        }, AUTOSCALE_TICK_MS);
        timer.unref();
        timers.push(timer);
      });
    }
    for (const result of INFERENCE_RESULTS) metrics.requests.inc({ model: spec.name, result }, 0);
    models.set(spec.name, { spec, signature: spec.signature, runner });
  }
  let closing = false;
  const door: InferenceDoor = {
    models,
    close: async () => {
      closing = true;
      for (const t of timers) clearInterval(t);
      for (const m of models.values()) m.runner.close();
      await Promise.all(sets.map((x) => x.close()));
      await upstreamAgent.close().catch(() => {});
    },
  };
  app.addHook('onReady', async () => {
    for (const start of starts) start();
  });
  // preClose: while Redis and the GPU service still run, so the replicas' jobs are completed (freed).
  app.addHook('preClose', async () => door.close());

  void app.register(
    async (v2) => {
      v2.addSchema(OipError);
      v2.setErrorHandler((err: FastifyError, request, reply) => {
        const e = toHttpError(err);
        if (e.status >= 500) request.log.error({ err }, 'inference request failed');
        const status = e.status === 404 ? 404 : e.status >= 500 ? 503 : e.status;
        if (e.headers) void reply.headers(e.headers);
        return reply.code(status).type('application/json').send({ error: e.message });
      });
      v2.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no route for ${request.method} ${request.url.split('?')[0]}` }));

      const modelOf = (name: string, version?: string): Served | string => {
        const m = models.get(name);
        if (m === undefined) return `unknown model '${name}'`;
        if (version !== undefined && version !== m.spec.version) return `model '${name}' has no version '${version}' (it serves ${m.spec.version})`;
        return m;
      };
      const metadataOf = (m: Served) => ({ name: m.spec.name, versions: [m.spec.version], platform: m.spec.replicas.kind === 'simulated' ? 'hotpath-simulated-k80' : 'hotpath-upstream', inputs: m.signature.inputs.map((s) => ({ ...s, shape: [...s.shape] })), outputs: m.signature.outputs.map((s) => ({ ...s, shape: [...s.shape] })) });

      v2.get('/', { prefixTrailingSlash: 'no-slash', schema: { summary: 'Server metadata (Open Inference Protocol v2)', operationId: 'oipServerMetadata', tags, response: { 200: Type.Object({ name: Type.String(), version: Type.String(), extensions: Type.Array(Type.String()) }), ...oipErrors } } }, async () => ({
        name: 'hotpath',
        version: '0.1.0',
        extensions: [],
      }));
      v2.get('/health/live', { schema: { summary: 'Liveness', operationId: 'oipLive', tags, response: { 200: Type.Object({ live: Type.Boolean() }), ...oipErrors } } }, async () => ({ live: true }));
      v2.get('/health/ready', { schema: { summary: 'Readiness: every model can take requests', operationId: 'oipReady', tags, response: { 200: Type.Object({ ready: Type.Boolean() }), ...oipErrors } } }, async (_request, reply) => {
        if (closing) return reply.code(503).send({ error: 'shutting down' });
        const waiting = [...models.values()].filter((m) => m.runner.availableReplicas === 0).map((m) => m.spec.name);
        if (waiting.length > 0) return reply.code(503).send({ error: `no replica placed yet for ${waiting.join(', ')}` });
        return { ready: true };
      });

      for (const versioned of [false, true]) {
        const base = versioned ? '/models/:name/versions/:version' : '/models/:name';
        const params = versioned ? VersionParams : ModelParams;
        const suffix = versioned ? 'Version' : '';
        v2.get(base, { config: { access: 'user' }, schema: { summary: 'Model metadata: its inputs and outputs', operationId: `oipModelMetadata${suffix}`, tags, params, response: { 200: ModelMetadata, ...oipErrors } } }, async (request, reply) => {
          const { name, version } = request.params as { name: string; version?: string };
          const m = modelOf(name, version);
          if (typeof m === 'string') return reply.code(404).send({ error: m });
          return metadataOf(m);
        });
        v2.get(`${base}/ready`, { config: { access: 'user' }, schema: { summary: 'Model readiness', operationId: `oipModelReady${suffix}`, tags, params, response: { 200: Type.Object({ name: Type.String(), ready: Type.Boolean() }), ...oipErrors } } }, async (request, reply) => {
          const { name, version } = request.params as { name: string; version?: string };
          const m = modelOf(name, version);
          if (typeof m === 'string') return reply.code(404).send({ error: m });
          if (closing) return reply.code(503).send({ error: 'shutting down' });
          if (m.runner.availableReplicas === 0) return reply.code(503).send({ error: `model '${name}' has no replica placed on a GPU yet` });
          return { name, ready: true };
        });
        v2.post(
          `${base}/infer`,
          { config: { access: 'user' }, bodyLimit: 32 * 1024 * 1024, schema: { summary: 'Inference, batched with other requests (parameters.priority, parameters.timeout as Triton)', operationId: `oipInfer${suffix}`, tags, params, body: InferRequest, response: { 200: InferResponse, ...oipErrors } } },
          async (request, reply) => {
            const { name, version } = request.params as { name: string; version?: string };
            const m = modelOf(name, version);
            if (typeof m === 'string') return reply.code(404).send({ error: m });
            const checked = checkInfer(request.body, m.signature, 65_536);
            if (!checked.ok) {
              metrics.requests.inc({ model: name, result: 'bad_request' });
              return reply.code(400).send({ error: checked.message });
            }
            const outcome = await m.runner.infer({ id: randomUUID(), inputs: checked.inputs, priority: checked.priority, ...(checked.timeoutMs !== undefined ? { timeoutMs: checked.timeoutMs } : {}) });
            if (!outcome.ok) return reply.code(REFUSALS[outcome.code][0]).send({ error: outcome.message });
            const outputs = checked.outputs === undefined ? outcome.outputs : outcome.outputs.filter((t) => checked.outputs!.includes(t.name));
            return { model_name: name, model_version: m.spec.version, id: checked.id ?? randomUUID(), parameters: { batch_rows: outcome.batchRows, queue_ms: Math.round(outcome.queueMs * 1000) / 1000 }, outputs };
          },
        );
      }
    },
    { prefix: '/v2' },
  );
  return door;
}
