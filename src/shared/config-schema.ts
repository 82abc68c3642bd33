// Why: the one schema of every setting hotpath reads from the environment: name, type, default and what
// it means. config.ts validates against it; the README's configuration table is printed from it
// (`npm run config:doc`), so the docs cannot drift from the code.

export type VarType =
  | { kind: 'int'; min: number; max: number }
  | { kind: 'bool' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'url'; protocols: readonly string[] }
  | { kind: 'string' }
  | { kind: 'list' }
  /** fastify's trustProxy: true/false, a hop count, or a comma-separated list of addresses/CIDRs. */
  | { kind: 'trustProxy' };

export interface VarSpec {
  env: string;
  type: VarType;
  /**
   * Default as the environment would spell it; undefined = unset. A variable with a default that is set
   * to '' is an error naming it (a list's '' is the empty list); one without a default treats '' as unset.
   */
  default?: string;
  /** May also be read from `${env}_FILE`, and is never logged. */
  secret?: boolean;
  doc: string;
}

const int = (min: number, max: number): VarType => ({ kind: 'int', min, max });
const bool: VarType = { kind: 'bool' };
const str: VarType = { kind: 'string' };
const MiB = 1024 * 1024;

/**
 * Connections the embedded engine opens at most: min(this, HOTPATH_MAX_CONCURRENT_EXECUTIONS). Each holds
 * a libuv thread while it runs, so the threadpool is sized from the same figure (shared/threadpool.ts).
 */
export const MAX_ENGINE_CONNECTIONS = 64;

export const CONFIG_VARS = [
  { env: 'PORT', type: int(0, 65535), default: '8080', doc: 'Listen port (HTTP, or HTTPS only with HOTPATH_TLS_CERT_FILE).' },
  { env: 'HOST', type: str, default: '127.0.0.1', doc: 'Listen address. Anything but a loopback address (127.0.0.0/8, ::1, ::ffff:127.x.y.z, or the name localhost; checked as an address, so 127.0.0.1.nip.io is not loopback) requires HOTPATH_AUTH other than none (or HOTPATH_ALLOW_UNAUTHENTICATED_REMOTE=true).' },
  { env: 'HOTPATH_TLS_CERT_FILE', type: str, doc: 'PEM certificate (then any intermediates) to serve HTTPS with; with HOTPATH_TLS_KEY_FILE (both or neither) the whole service listens with HTTPS only. Trino clients send passwords only over HTTPS. Checked at start (readable, a certificate, its key): a bad pair stops the process.' },
  { env: 'HOTPATH_TLS_KEY_FILE', type: str, doc: 'Unencrypted PEM private key of HOTPATH_TLS_CERT_FILE.' },
  { env: 'HOTPATH_TLS_RELOAD_INTERVAL_MS', type: int(0, 86_400_000), default: '10000', doc: 'How often the cert and key files are checked for a change (stat: size, times, inode, so a Kubernetes secret\'s symlink swap counts); a changed pair is loaded for new connections, and one that does not load is logged (warn) while the previous pair keeps serving. 0: never reload.' },
  { env: 'HOTPATH_TRUST_PROXY', type: { kind: 'trustProxy' }, default: 'false', doc: 'Which peers are proxies whose X-Forwarded-For names the client address (what failure rate limits count by): false (none: the socket peer is the client); a comma-separated list of proxy addresses/CIDRs (or loopback, linklocal, uniquelocal), e.g. the ingress pods\' range; a hop count (trust that many proxies in front, whoever the peer is: a client that can reach the pod directly can then forge its address, so prefer the address list); true (trust every hop: only when nothing but the proxy can reach hotpath, and it overwrites the header).' },
  { env: 'HOTPATH_ACCESS_LOG', type: { kind: 'enum', values: ['all', 'misses', 'off'] }, default: 'misses', doc: 'One log line per request (method, route pattern, status, ms, Cache-Status, request id), written after the answer: all; misses (every request but a cache hit: hits are counted by the metrics instead); off (errors are still logged).' },
  { env: 'LOG_LEVEL', type: { kind: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }, default: 'info', doc: 'pino log level. At debug, SQL text is logged; otherwise only its hash.' },
  { env: 'REDIS_URL', type: { kind: 'url', protocols: ['redis:', 'rediss:'] }, default: 'redis://127.0.0.1:6379', secret: true, doc: 'Redis for the L2 cache, single-flight locks and invalidation. May carry a password (use REDIS_URL_FILE).' },
  { env: 'HOTPATH_REDIS_PREFIX', type: str, default: 'hp:', doc: 'Prefix of every Redis key hotpath writes.' },
  { env: 'HOTPATH_REDIS_AUTOSTART', type: bool, default: 'true', doc: '`npm start` only: when nothing answers at a loopback REDIS_URL and redis-server is on PATH, start a private one.' },
  { env: 'HOTPATH_REDIS_COMMAND_TIMEOUT_MS', type: int(10, 60000), default: '500', doc: 'A Redis command slower than this counts as Redis unavailable for that request.' },
  { env: 'HOTPATH_ENGINE', type: { kind: 'enum', values: ['duckdb', 'trino'] }, default: 'duckdb', doc: 'Query engine: embedded DuckDB with demo data, or an upstream Trino.' },
  { env: 'TRINO_URL', type: { kind: 'url', protocols: ['http:', 'https:'] }, doc: 'Upstream Trino coordinator (HOTPATH_ENGINE=trino).' },
  { env: 'TRINO_CA_FILE', type: str, doc: 'PEM CA bundle trusted (instead of the default roots) for an https TRINO_URL, e.g. a private CA or a self-signed coordinator certificate. Checked at start.' },
  { env: 'HOTPATH_TRINO_REQUEST_TIMEOUT_MS', type: int(100, 600_000), default: '30000', doc: 'Budget of one HTTP request to the upstream Trino (long-polled pages included).' },
  { env: 'HOTPATH_TRINO_FORWARD_AUTHORIZATION', type: { kind: 'enum', values: ['auto', 'always', 'never'] }, default: 'auto', doc: "Pass the client's Authorization header on to the upstream Trino: `auto` only to an https TRINO_URL (Trino refuses credentials over http: 'Password not allowed for insecure authentication'; hotpath has verified the caller and names it in X-Trino-User), `always`, or `never`." },
  { env: 'HOTPATH_TRINO_MAX_RETRIES', type: int(0, 100), default: '5', doc: 'Retries of one upstream request after 429/502/503/504 or a failed connection (back-off attempt × 100 ms, as the Java client).' },
  { env: 'HOTPATH_TRINO_CLUSTER_ID', type: str, doc: 'Names the upstream cluster in cache keys (default: its host); two clusters never share entries.' },
  { env: 'HOTPATH_DUCKDB_MEMORY_LIMIT_MIB', type: int(64, 1024 * 1024), default: '1024', doc: "Embedded DuckDB's memory_limit: what its buffer manager may use; a query needing more fails (EXCEEDED_LOCAL_MEMORY_LIMIT). DuckDB's own default is 80 % of the machine, too much beside the service in a shared pod." },
  { env: 'HOTPATH_DUCKDB_THREADS', type: int(1, 256), default: '2', doc: "Embedded DuckDB's worker threads (its default is one per core of the machine, not of the pod's CPU limit)." },
  { env: 'HOTPATH_DEMO_ORDER_ROWS', type: int(0, 100_000_000), default: '1000000', doc: 'Rows of demo.sales.orders created by the embedded engine at start.' },
  { env: 'HOTPATH_DEFAULT_CATALOG', type: str, default: 'demo', doc: 'Catalog assumed for unqualified table names (cache invalidation by table).' },
  { env: 'HOTPATH_DEFAULT_SCHEMA', type: str, default: 'sales', doc: 'Schema assumed for unqualified table names.' },
  { env: 'HOTPATH_STATEMENT_TIMEOUT_MS', type: int(100, 3_600_000), default: '30000', doc: 'Engine execution limit; past it the query answers 504.' },
  { env: 'HOTPATH_ALLOW_WRITES', type: bool, default: 'false', doc: 'Let non-read-only statements through (never cached). Off: they answer 403 NOT_READ_ONLY.' },
  { env: 'HOTPATH_MAX_SQL_BYTES', type: int(64, 16 * MiB), default: String(256 * 1024), doc: 'Largest SQL text accepted (413 beyond).' },
  { env: 'HOTPATH_TRINO_DOOR_MAX_QUERIES', type: int(1, 1_000_000), default: '5000', doc: 'Trino door: statements held at once (submitted, running, or finished with its last page not yet fetched), all users; beyond it a POST gets a FAILED QUERY_QUEUE_FULL page. One whose last page was fetched no longer counts.' },
  { env: 'HOTPATH_TRINO_DOOR_MAX_QUERIES_PER_USER', type: int(1, 1_000_000), default: '100', doc: 'Trino door: statements held at once by one user (with HOTPATH_AUTH=none a user is only a name: only the overall bounds hold).' },
  { env: 'HOTPATH_TRINO_DOOR_MAX_HELD_BYTES', type: int(1024 * 1024, 64 * 1024 * MiB), default: String(256 * MiB), doc: 'Trino door: bytes held by statements (their text, the page kept for a retried poll, pages produced and not yet fetched), all users; a POST that would pass it gets QUERY_QUEUE_FULL, a query whose answer would pass it fails with EXCEEDED_LOCAL_MEMORY_LIMIT.' },
  { env: 'HOTPATH_TRINO_DOOR_MAX_HELD_BYTES_PER_USER', type: int(1024 * 1024, 64 * 1024 * MiB), default: String(32 * MiB), doc: 'Trino door: bytes held by one user\'s statements.' },
  { env: 'HOTPATH_TRINO_DOOR_CLIENT_TIMEOUT_SECONDS', type: int(1, 86_400), default: '300', doc: "Trino door: a query its client has not polled for this long is abandoned (Trino's query.client.timeout)." },
  { env: 'HOTPATH_TRINO_DOOR_BUSY_CLIENT_TIMEOUT_SECONDS', type: int(1, 86_400), default: '30', doc: 'Trino door: sooner for a query never polled since its POST (clients poll at once), or whose answer is being produced (it holds, or waits for, an engine slot) while its client reads nothing.' },
  { env: 'HOTPATH_JSON_DOOR_MAX_HELD_BYTES', type: int(1024 * 1024, 64 * 1024 * MiB), default: String(256 * MiB), doc: 'JSON door: bytes held, across requests, for answers not yet complete (held so their status is exact); an answer that would pass it is streamed instead, with a provisional Cache-Status.' },
  { env: 'HOTPATH_CLIENT_READ_TIMEOUT_SECONDS', type: int(1, 3600), default: '30', doc: 'JSON door: a client that takes no byte of its answer for this long (it stopped reading) is disconnected and its answer let go.' },
  { env: 'HOTPATH_CACHE_TTL_SECONDS', type: int(0, 86400 * 30), default: '60', doc: 'Default freshness of a cached result.' },
  { env: 'HOTPATH_CACHE_SWR_SECONDS', type: int(0, 86400 * 30), default: '30', doc: 'Stale-while-revalidate window after the TTL: serve stale, refresh once in the background.' },
  { env: 'HOTPATH_CACHE_STALE_IF_ERROR_SECONDS', type: int(0, 86400 * 30), default: '300', doc: 'After the TTL, serve stale when the engine fails (unreachable, timeout).' },
  { env: 'HOTPATH_CACHE_MAX_ENTRY_BYTES', type: int(1024, 512 * MiB), default: String(8 * MiB), doc: 'Results larger than this (serialised) are served but not stored.' },
  { env: 'HOTPATH_CACHE_COMPRESS_MIN_BYTES', type: int(0, 512 * MiB), default: String(256 * 1024), doc: 'Entries at least this large are gzip-compressed in Redis (0: never). Each L2 hit on a compressed entry pays a gunzip, so keep it above typical dashboard answers.' },
  { env: 'HOTPATH_L1_MAX_BYTES', type: int(0, 64 * 1024 * MiB), default: String(128 * MiB), doc: 'In-process L1 LRU budget in bytes; 0 disables L1 (every hit goes to Redis). The memo of query plans is sized from it (half of it, at least 64 MiB: ~110k statements), so a hit does not re-plan.' },
  { env: 'HOTPATH_INVALIDATION_HEARTBEAT_INTERVAL_MS', type: int(50, 60_000), default: '1000', doc: 'Each replica publishes a heartbeat on the invalidation channel this often and expects it back through its own subscription (proof that invalidations reach its L1).' },
  { env: 'HOTPATH_INVALIDATION_MAX_SILENCE_MS', type: int(100, 600_000), default: '3000', doc: 'A replica serves L1 only while its last proof (own heartbeat back, stamped when sent, or a resubscribe) is younger than this: the bound on serving an invalidated entry from L1. Past it, L1 is off and dropped and the subscriber reconnects; at least twice the heartbeat interval.' },
  { env: 'HOTPATH_CACHE_RULES', type: str, secret: false, doc: 'JSON list of cache rules (TTL per table/catalog, shared tables, system tables); also HOTPATH_CACHE_RULES_FILE. See README.' },
  { env: 'HOTPATH_LOCK_TTL_MS', type: int(100, 3_600_000), default: '15000', doc: 'Single-flight lock lease across replicas; renewed while the leader runs.' },
  { env: 'HOTPATH_MAX_CONCURRENT_EXECUTIONS', type: int(1, 10000), default: '16', doc: 'Engine executions at once, all users.' },
  { env: 'HOTPATH_MAX_CONCURRENT_PER_USER', type: int(1, 10000), default: '4', doc: 'Engine executions at once, per user.' },
  { env: 'HOTPATH_MAX_QUEUED', type: int(0, 1_000_000), default: '256', doc: 'Queries waiting for an execution slot; beyond it 429 with Retry-After.' },
  { env: 'HOTPATH_MAX_QUEUE_WAIT_MS', type: int(0, 3_600_000), default: '10000', doc: 'Longest wait for an execution slot before 429.' },
  { env: 'HOTPATH_AUTH', type: { kind: 'enum', values: ['none', 'token', 'jwt', 'password'] }, default: 'none', doc: 'none: X-Trino-User names the user (loopback only). token: bearer tokens from HOTPATH_AUTH_TOKENS_FILE. jwt: signed JWTs. password: HTTP Basic against HOTPATH_AUTH_PASSWORDS_FILE (what Trino CLI/JDBC/Superset send).' },
  { env: 'HOTPATH_AUTH_PASSWORDS_FILE', type: str, doc: 'JSON list `[{"user","password":"scrypt$…","admin"?}]` for HOTPATH_AUTH=password; make entries with `npm run hash-password -- USER`.' },
  { env: 'HOTPATH_AUTH_FAILURES_PER_USER_PER_MINUTE', type: int(1, 1_000_000), default: '20', doc: 'HOTPATH_AUTH=password: wrong passwords per user name (known or not) per minute, a token bucket (a burst of N, then one more every 60/N s); beyond it 429 TOO_MANY_FAILURES with Retry-After, and no scrypt runs. A right password used in the last 5 minutes still passes. Keep it above the per-address limit, so one address cannot hold off a user\'s new sign-ins alone (README: Identity).' },
  { env: 'HOTPATH_AUTH_FAILURES_PER_ADDRESS_PER_MINUTE', type: int(1, 1_000_000), default: '10', doc: 'HOTPATH_AUTH=password: wrong passwords allowed per client address (see HOTPATH_TRUST_PROXY) per minute, a token bucket like the per-user one. Without HOTPATH_TRUST_PROXY behind an ingress, every client shares the ingress\'s address and so this budget.' },
  { env: 'HOTPATH_AUTH_MAX_CONCURRENT_VERIFICATIONS', type: int(1, 64), default: '2', doc: 'HOTPATH_AUTH=password: scrypt checks running at once, off the event loop on libuv\'s threadpool (hotpath sizes it to the engine\'s connections plus 6 unless UV_THREADPOOL_SIZE is set; shared with the embedded engine, DNS lookups, fs and zlib). Each takes about 16 MiB and tens of ms of one core.' },
  { env: 'HOTPATH_AUTH_MAX_QUEUED_VERIFICATIONS', type: int(0, 100_000), default: '32', doc: 'HOTPATH_AUTH=password: scrypt checks waiting for a slot; beyond it 503 AUTH_BUSY with Retry-After (Trino clients retry 503).' },
  { env: 'HOTPATH_AUTH_TOKENS_FILE', type: str, doc: 'JSON list `[{"user","tokenSha256","admin"?}]` for HOTPATH_AUTH=token.' },
  { env: 'HOTPATH_JWT_SECRET', type: str, secret: true, doc: 'HMAC secret for HOTPATH_AUTH=jwt (or HOTPATH_JWT_SECRET_FILE): at least 32 bytes (HS256); HS384 is accepted only with 48 bytes or more, HS512 with 64 or more.' },
  { env: 'HOTPATH_JWT_PUBLIC_KEY_FILE', type: str, doc: 'PEM public key (RS256/ES256) for HOTPATH_AUTH=jwt.' },
  { env: 'HOTPATH_JWT_ISSUER', type: str, doc: 'Required `iss` of JWTs, when set.' },
  { env: 'HOTPATH_JWT_AUDIENCE', type: str, doc: 'Required `aud` of JWTs, when set.' },
  { env: 'HOTPATH_JWT_REQUIRE_EXP', type: bool, default: 'true', doc: 'Refuse (401) JWTs without an `exp` claim; false accepts tokens that never expire.' },
  { env: 'HOTPATH_JWT_USER_CLAIM', type: str, default: 'sub', doc: 'JWT claim that names the user.' },
  { env: 'HOTPATH_JWT_GROUPS_CLAIM', type: str, default: 'groups', doc: 'JWT claim that lists the user\'s groups (a list of strings, or one space-separated string), matched against `groups` in HOTPATH_TENANTS.' },
  { env: 'HOTPATH_ADMIN_USERS', type: { kind: 'list' }, default: '', doc: 'Users with admin scope (cache invalidation, any GPU job and tenant, the GPU audit), comma-separated; in every auth mode only these (and token/password entries or JWT scope `hotpath:admin`) are admins, so with HOTPATH_AUTH=none and this empty nobody is.' },
  { env: 'HOTPATH_ALLOW_UNAUTHENTICATED_REMOTE', type: bool, default: 'false', doc: 'Allow HOTPATH_AUTH=none on a non-loopback HOST (trusted networks only).' },
  { env: 'HOTPATH_ADVERTISE_URL', type: { kind: 'url', protocols: ['http:', 'https:'] }, doc: 'How other replicas reach this one (pod address), for Trino-door pages of a query this replica owns. Default: http://<listen address or first non-loopback IPv4>:<port> (https:// with HOTPATH_TLS_CERT_FILE; then replicas verify each other\'s certificate, so name an address it covers and trust its CA, e.g. NODE_EXTRA_CA_CERTS).' },
  { env: 'HOTPATH_SHUTDOWN_GRACE_MS', type: int(0, 600_000), default: '10000', doc: 'On SIGTERM, time given to in-flight requests before connections are closed.' },
  { env: 'HOTPATH_GPU_ENABLED', type: bool, default: 'true', doc: 'Serve the GPU job API (/v1/gpu/*) and take part in scheduling.' },
  { env: 'HOTPATH_GPU_CLUSTER_FILE', type: str, doc: 'GPU inventory as JSON `{"nodes":[{"name","cpuMilli","memoryMiB","gpus":[{"model","memoryMiB","boardId"}]}]}`. Unset: the simulated platform cluster, 16 K80 devices (8 boards) on 4 nodes.' },
  { env: 'HOTPATH_GPU_POLICY', type: { kind: 'enum', values: ['first-fit', 'best-fit', 'fgd', 'hotpath'] }, default: 'hotpath', doc: 'Placement policy (see README: GPU placement).' },
  { env: 'HOTPATH_GPU_LEASE_TTL_SECONDS', type: int(1, 86_400), default: '30', doc: 'A placed job must heartbeat within this; when its lease runs out its GPUs are freed and it is re-queued (retries left) or failed.' },
  { env: 'HOTPATH_GPU_TICK_MS', type: int(10, 60_000), default: '500', doc: 'The leader schedules at least this often (and at once on every submit, finish or cancel).' },
  { env: 'HOTPATH_GPU_STARVATION_SECONDS', type: int(0, 86_400 * 7), default: '600', doc: 'Backfill bound: a job that does not fit and has waited this long gets a node reserved, so smaller jobs stop passing it.' },
  { env: 'HOTPATH_GPU_PREEMPTION', type: bool, default: 'true', doc: 'A higher-priority job that cannot fit preempts the cheapest set of lower-priority jobs (fewest GPU-seconds lost).' },
  { env: 'HOTPATH_TENANTS', type: str, doc: 'The tenants (JSON, or HOTPATH_TENANTS_FILE): per tenant its members (`users`, `groups`), `open` (anyone may submit), fair-share `weight`, `quotaGpuMilli`, `maxPriority` and `namespaces` (Kubernetes); `"*"` admits any other name. Unset: the local defaults (ml, serve, research, batch, urgent and `*`, open to everyone at any priority). See README: GPU tenants.' },
  { env: 'HOTPATH_GPU_TENANT_WEIGHTS', type: { kind: 'list' }, doc: 'Deprecated (use `weight` in HOTPATH_TENANTS; both set is an error): fair-share weights `tenant=weight,…` on top of the local defaults.' },
  { env: 'HOTPATH_GPU_TENANT_QUOTAS', type: { kind: 'list' }, doc: 'Deprecated (use `quotaGpuMilli` in HOTPATH_TENANTS; both set is an error): GPU quotas in milli `tenant=milli,…` on top of the local defaults.' },
  { env: 'HOTPATH_GPU_MAX_OPEN_JOBS_PER_USER', type: int(1, 1_000_000), default: '1000', doc: 'Jobs one user may have queued, placed or running at once; beyond it a submission answers 429 TOO_MANY_JOBS. Checked at submit, so a burst faster than the intake records jobs may pass it by that burst.' },
  { env: 'HOTPATH_GPU_BACKEND', type: { kind: 'enum', values: ['static', 'kubernetes'] }, default: 'static', doc: 'static: the inventory of HOTPATH_GPU_CLUSTER_FILE (or the embedded K80 cluster); kubernetes: hotpath is a secondary Kubernetes scheduler: nodes with nvidia.com/gpu from the API server (in-cluster config, else KUBECONFIG), pods with spec.schedulerName = HOTPATH_KUBE_SCHEDULER_NAME placed and bound, next to HTTP-API jobs.' },
  { env: 'HOTPATH_KUBE_SCHEDULER_NAME', type: str, default: 'hotpath', doc: 'The spec.schedulerName of the pods hotpath schedules (kubernetes backend).' },
  { env: 'HOTPATH_GPU_ELECTION', type: { kind: 'enum', values: ['redis', 'lease'] }, default: 'redis', doc: 'How replicas elect the one that schedules. redis: a key in Redis; lease (kubernetes backend only): the coordination.k8s.io/v1 Lease HOTPATH_KUBE_LEASE, whose leaseTransitions becomes the fencing epoch in Redis (so `kubectl get lease` shows the leader). All replicas sharing a Redis prefix must use the same.' },
  { env: 'HOTPATH_KUBE_LEASE', type: str, default: 'hotpath-gpu-scheduler', doc: 'The Lease of HOTPATH_GPU_ELECTION=lease, as `name` or `namespace/name`; without a namespace, the pod\'s own (the kubeconfig context\'s, else default).' },
  { env: 'HOTPATH_GPU_EXECUTOR', type: { kind: 'enum', values: ['simulated', 'none'] }, default: 'simulated', doc: 'simulated: jobs that give durationSeconds are "run" here (heartbeats, then complete) so the embedded cluster is live; none: workers (Ray) run jobs.' },
  { env: 'HOTPATH_GPU_DEMO_LOAD', type: bool, default: 'false', doc: 'Submit a steady demo stream of simulated jobs (three tenants: ml, serve, research; mixed sizes) so dashboards show a busy cluster.' },
  { env: 'HOTPATH_INFERENCE_ENABLED', type: bool, default: 'true', doc: 'Serve the Open Inference Protocol v2 door (/v2/*): models batched per HOTPATH_INFERENCE_MODELS.' },
  { env: 'HOTPATH_INFERENCE_MODELS', type: str, doc: 'The models of the /v2 door and how each is batched (JSON, or HOTPATH_INFERENCE_MODELS_FILE): per model maxBatchSize, preferredBatchSizes, maxQueueDelayMs, priorityLevels, defaultPriorityLevel, defaultQueuePolicy / priorityQueuePolicy (Triton\'s names), batching (slo-aware, fixed, aimd, none), sloP99Ms, replicas (simulated, or upstream OIP v2 servers with the model\'s inputs and outputs). Unset: resnet50, a simulated ResNet-50 on two simulated K80 devices, SLO-aware with a 300 ms objective. See README: Inference.' },
  { env: 'HOTPATH_GPU_RETENTION_SECONDS', type: int(60, 86_400 * 90), default: String(7 * 86_400), doc: 'Finished jobs stay readable this long.' },
] as const satisfies readonly VarSpec[];

export type ConfigVarName = (typeof CONFIG_VARS)[number]['env'];
