// Why: the GPU job API over HTTP (/v1/gpu/*): TypeBox schemas (which also feed /docs) validate every
// body and query, each route declares who may call it (config.access, shared/access.ts; the caller is
// authenticated by that one hook) and hands the principal to the service, which
// decides what they may see and do (tenants); the answers are the service's.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { principalOf } from '../../shared/access.ts';
import { addSharedSchemas, errorResponses, ErrorBody, ref, StringEnum } from '../../shared/api-schemas.ts';
import { PRIORITY_MAX, PRIORITY_MIN } from '../../shared/tenants.ts';
import { JOB_STATES } from './model.ts';
import type { GpuJobService } from './service.ts';

const Name = Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f]+$' });

export const SubmitBodySchema = Type.Object(
  {
    tenant: Name,
    priority: Type.Optional(Type.Integer({ minimum: PRIORITY_MIN, maximum: PRIORITY_MAX, description: "Higher runs first (default 0); at most the tenant's maxPriority unless you are an admin." })),
    gpus: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, description: 'Whole devices, all on one node.' })),
    gpuMilli: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'A share of one device (1000 = a whole one).' })),
    gpuMemoryMiB: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_048_576, description: 'GPU memory on the shared device.' })),
    cpuMilli: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000, description: 'Default 1000.' })),
    memoryMiB: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000, description: 'Default 4096.' })),
    gpuModels: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 16, description: 'Allowed models; empty = any.' })),
    durationSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 30 * 86_400, description: 'Estimate; the simulated executor runs jobs that give it this long.' })),
    maxRetries: Type.Optional(Type.Integer({ minimum: 0, maximum: 10, description: 'Re-queues after an expired lease before failing (default 1).' })),
    requeueOnPreempt: Type.Optional(Type.Boolean({ description: 'Preempted: back to the queue (default) or end as preempted.' })),
    preemptible: Type.Optional(Type.Boolean({ description: 'May higher-priority work preempt it (default true).' })),
    idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'The same key (per user and tenant) returns the same job; another user\'s key names another job.' })),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Kept with the job, returned as given to its submitter and admins only.' })),
  },
  { additionalProperties: false },
);

// ---- answers (fastify serialises them with these schemas: what they do not name is dropped) ----

const State = StringEnum(JOB_STATES);
const Timestamp = Type.String({ format: 'date-time' });
/** ApiJob (model.ts). */
export const GpuJob = Type.Object(
  {
    id: Type.String(),
    tenant: Type.String(),
    priority: Type.Integer(),
    state: State,
    attempt: Type.Integer({ minimum: 0, description: 'Placements so far (0 while queued for the first time); heartbeats and complete may name it.' }),
    request: Type.Object(
      {
        gpus: Type.Optional(Type.Integer()),
        gpuMilli: Type.Optional(Type.Integer()),
        gpuMemoryMiB: Type.Optional(Type.Integer()),
        cpuMilli: Type.Integer(),
        memoryMiB: Type.Integer(),
        gpuModels: Type.Optional(Type.Array(Type.String())),
        durationSeconds: Type.Optional(Type.Number()),
        maxRetries: Type.Integer(),
        requeueOnPreempt: Type.Boolean(),
        preemptible: Type.Boolean(),
      },
      { additionalProperties: true, description: 'The submission after defaults, less tenant, priority, idempotencyKey and metadata.' },
    ),
    placement: Type.Optional(
      Type.Object(
        {
          node: Type.String(),
          gpus: Type.Array(
            Type.Object({
              index: Type.Integer(),
              board: Type.Union([Type.Integer(), Type.Null()], { description: 'The board of a multi-GPU card (a K80 has two GPUs on one), else null' }),
              model: Type.String(),
              milli: Type.Integer(),
              memoryMiB: Type.Integer(),
            }),
          ),
        },
        { description: 'Where it runs (a finished job keeps its last placement for the record).' },
      ),
    ),
    queuedAt: Timestamp,
    placedAt: Type.Optional(Timestamp),
    startedAt: Type.Optional(Timestamp),
    endedAt: Type.Optional(Timestamp),
    leaseExpiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'While placed or running: heartbeat before then.' })),
    reason: Type.Optional(Type.String()),
    retries: Type.Integer({ minimum: 0 }),
    preemptions: Type.Integer({ minimum: 0 }),
    idempotencyKey: Type.Optional(Type.String({ description: 'To its submitter and admins only.' })),
    metadata: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'As submitted; to its submitter and admins only.' })),
    submittedBy: Type.String(),
  },
  { $id: 'GpuJob', description: 'A GPU job' },
);
const GpuJobList = Type.Object(
  { jobs: Type.Array(ref(GpuJob)), nextCursor: Type.Optional(Type.String({ description: 'Pass as cursor for the next page; absent on the last page.' })) },
  { $id: 'GpuJobList', description: 'A page of GPU jobs, newest first' },
);
const Heartbeat = Type.Object(
  { id: Type.String(), state: State, attempt: Type.Integer({ minimum: 0 }), leaseExpiresAt: Timestamp },
  { $id: 'GpuHeartbeat', description: 'The lease, extended' },
);
const ClusterView = Type.Object(
  {
    nodes: Type.Array(
      Type.Object({
        name: Type.String(),
        gpus: Type.Array(
          Type.Object({
            index: Type.Integer(),
            board: Type.Union([Type.Integer(), Type.Null()]),
            model: Type.String(),
            memoryMiB: Type.Integer(),
            allocatedMilli: Type.Integer(),
            allocatedMemoryMiB: Type.Integer(),
            jobs: Type.Array(Type.String(), { description: 'Ids of the live jobs on this device' }),
          }),
        ),
      }),
    ),
    allocationRatio: Type.Number({ minimum: 0, maximum: 1 }),
    queueDepth: Type.Integer({ minimum: 0 }),
    runningJobs: Type.Integer({ minimum: 0, description: 'Jobs holding GPUs (placed or running)' }),
  },
  { $id: 'GpuCluster', description: 'Devices and what is allocated on each' },
);
const AuditReport = Type.Object(
  { ok: Type.Boolean(), live: Type.Integer({ minimum: 0 }), pending: Type.Integer({ minimum: 0 }), problems: Type.Array(Type.String()) },
  { $id: 'GpuAudit', description: 'The store checked against the invariants; ok when there are no problems' },
);

// ---- requests ---------------------------------------------------------------------------------
/** Longest job id a path may carry (app.ts sizes the router's parameter limit from it). */
export const JOB_ID_MAX_LENGTH = 128;
const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: JOB_ID_MAX_LENGTH }) });
const HeartbeatBody = Type.Union([Type.Object({ attempt: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }), Type.Null()]);
const CompleteBody = Type.Object(
  { ok: Type.Boolean(), message: Type.Optional(Type.String({ maxLength: 4096 })), attempt: Type.Optional(Type.Integer({ minimum: 1 })) },
  { additionalProperties: false },
);
const ListQuery = Type.Object(
  {
    state: Type.Optional(Type.Union(JOB_STATES.map((s) => Type.Literal(s)))),
    tenant: Type.Optional(Name),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: '1..500, default 50' })),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,12}$' })),
  },
  { additionalProperties: false },
);
// Query strings are not coerced (a bad number is a 400, not a silent 0): numbers arrive as text.
const WaitQuery = Type.Object(
  {
    waitSeconds: Type.Optional(Type.String({ pattern: '^[0-9]{1,2}(\\.[0-9]+)?$', description: 'Long-poll up to this many seconds (≤ 60).' })),
    whileState: Type.Optional(Type.Union(JOB_STATES.map((s) => Type.Literal(s)), { description: 'Long-poll while the job is in this state (default: its state when the request arrives), so a change just before the request is not missed.' })),
  },
  { additionalProperties: false },
);

export function registerGpuRoutes(app: FastifyInstance, deps: { service: GpuJobService }): void {
  const { service } = deps;
  const tags = ['gpu'];
  addSharedSchemas(app, ErrorBody, GpuJob, GpuJobList, Heartbeat, ClusterView, AuditReport);
  const job = { 200: ref(GpuJob), ...errorResponses };

  app.post<{ Body: Static<typeof SubmitBodySchema> }>(
    '/v1/gpu/jobs',
    {
      bodyLimit: 64 * 1024,
      config: { access: 'user' },
      schema: {
        summary: 'Submit a GPU job (queued durably)',
        description: '201 with the new job; 200 with the job an earlier submission of the same idempotencyKey (same user) made.',
        operationId: 'submitGpuJob',
        tags,
        body: SubmitBodySchema,
        response: { 201: ref(GpuJob), 200: ref(GpuJob), ...errorResponses },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { created, job } = await service.submit(request.body, principal);
      return reply.code(created ? 201 : 200).send(job);
    },
  );

  app.get<{ Params: Static<typeof Id>; Querystring: Static<typeof WaitQuery> }>(
    '/v1/gpu/jobs/:id',
    { config: { access: 'user' }, schema: { summary: 'A GPU job; waitSeconds long-polls until its state changes', operationId: 'getGpuJob', tags, params: Id, querystring: WaitQuery, response: job } },
    async (request) => {
      const principal = principalOf(request);
      const gone = new AbortController();
      request.raw.once('close', () => gone.abort());
      return service.get(request.params.id, principal, Number(request.query.waitSeconds ?? 0), gone.signal, request.query.whileState);
    },
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/v1/gpu/jobs',
    { config: { access: 'user' }, schema: { summary: 'GPU jobs, newest first, with paging', operationId: 'listGpuJobs', tags, querystring: ListQuery, response: { 200: ref(GpuJobList), ...errorResponses } } },
    async (request) => {
      const principal = principalOf(request);
      const q = request.query;
      return service.list({
        ...(q.state !== undefined ? { state: q.state } : {}),
        ...(q.tenant !== undefined ? { tenant: q.tenant } : {}),
        limit: Math.min(500, Math.max(1, Number(q.limit ?? 50))),
        cursor: Number(q.cursor ?? 0),
      }, principal);
    },
  );

  app.post<{ Params: Static<typeof Id>; Body: Static<typeof HeartbeatBody> }>(
    '/v1/gpu/jobs/:id/heartbeat',
    {
      config: { access: 'user' },
      schema: {
        summary: 'Extend the lease (the first heartbeat marks the job running); 409 LEASE_LOST when preempted, cancelled or expired',
        operationId: 'heartbeatGpuJob',
        tags,
        params: Id,
        body: HeartbeatBody,
        response: { 200: ref(Heartbeat), ...errorResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      return service.heartbeat(request.params.id, principal, request.body?.attempt);
    },
  );

  app.post<{ Params: Static<typeof Id>; Body: Static<typeof CompleteBody> }>(
    '/v1/gpu/jobs/:id/complete',
    { config: { access: 'user' }, schema: { summary: 'Finish a job (ok: completed, else failed); frees its GPUs', operationId: 'completeGpuJob', tags, params: Id, body: CompleteBody, response: job } },
    async (request) => {
      const principal = principalOf(request);
      return service.complete(request.params.id, principal, request.body.ok, request.body.message, request.body.attempt);
    },
  );

  app.delete<{ Params: Static<typeof Id> }>(
    '/v1/gpu/jobs/:id',
    { config: { access: 'user' }, schema: { summary: 'Cancel a job; frees its GPUs', operationId: 'cancelGpuJob', tags, params: Id, response: job } },
    async (request) => {
      const principal = principalOf(request);
      return service.cancel(request.params.id, principal);
    },
  );

  app.get('/v1/gpu/cluster', { config: { access: 'user' }, schema: { summary: 'Devices, what is allocated on each, allocation ratio and queue depth', operationId: 'gpuCluster', tags, response: { 200: ref(ClusterView), ...errorResponses } } }, async (request) => {
    return service.clusterView();
  });

  app.get('/v1/gpu/audit', { config: { access: 'admin', adminOnly: 'the GPU audit is for admins' }, schema: { summary: 'Admins: check allocations in Redis against the invariants (no device over-committed, indexes consistent)', operationId: 'gpuAudit', tags, response: { 200: ref(AuditReport), ...errorResponses } } }, async (request) => {
    const principal = principalOf(request);
    return service.audit(principal);
  });
}
