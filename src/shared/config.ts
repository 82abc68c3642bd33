// Why: read the environment once, validate it against config-schema.ts, and stop with a message that
// names the variable and what it expected. Everything else receives a typed, frozen Config.

import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { CONFIG_VARS, type VarSpec } from './config-schema.ts';
import { ConfigError } from './config-error.ts';
import { readCaBundle, TLS_CERT_VAR, TLS_KEY_VAR } from './tls.ts';
import { legacyTenants, localTenants, parseTenants, type Tenants } from './tenants.ts';
import { DEFAULT_MODELS_JSON, parseModels, type ModelSpec } from '../inference/model-config.ts';

export interface CacheRule {
  /** Table patterns `catalog.schema.table`, `*` matches one whole part. */
  tables?: string[];
  catalogs?: string[];
  ttlSeconds?: number;
  swrSeconds?: number;
  staleIfErrorSeconds?: number;
  /** Entries for queries reading only these tables are shared by all users. Admin-configured only. */
  shared?: boolean;
  /** Allow caching queries on system./information_schema tables that this rule matches. */
  allowSystemTables?: boolean;
  /** false: never cache queries matching this rule. */
  cache?: boolean;
}

export interface Config {
  port: number;
  host: string;
  /** fastify's `trustProxy`: which peers' X-Forwarded-For names the client address. */
  trustProxy: boolean | number | string[];
  /** HTTPS (shared/tls.ts): both set, or neither (plain HTTP). */
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  tlsReloadIntervalMs: number;
  logLevel: string;
  accessLog: 'all' | 'misses' | 'off';
  redisUrl: string;
  redisPrefix: string;
  redisAutostart: boolean;
  redisCommandTimeoutMs: number;
  engine: 'duckdb' | 'trino';
  trinoUrl: string | undefined;
  /** PEM CA bundle trusted for an https TRINO_URL (checked at load). */
  trinoCaFile: string | undefined;
  trinoRequestTimeoutMs: number;
  trinoMaxRetries: number;
  /** HOTPATH_TRINO_FORWARD_AUTHORIZATION: whether the caller's Authorization goes upstream (auto: over https only). */
  trinoForwardAuthorization: 'auto' | 'always' | 'never';
  trinoClusterId: string | undefined;
  duckdbMemoryLimitMib: number;
  duckdbThreads: number;
  demoOrderRows: number;
  defaultCatalog: string;
  defaultSchema: string;
  statementTimeoutMs: number;
  allowWrites: boolean;
  maxSqlBytes: number;
  jsonDoorMaxHeldBytes: number;
  clientReadTimeoutSeconds: number;
  trinoDoorMaxQueries: number;
  trinoDoorMaxQueriesPerUser: number;
  trinoDoorMaxHeldBytes: number;
  trinoDoorMaxHeldBytesPerUser: number;
  trinoDoorClientTimeoutSeconds: number;
  trinoDoorBusyClientTimeoutSeconds: number;
  cacheTtlSeconds: number;
  cacheSwrSeconds: number;
  cacheStaleIfErrorSeconds: number;
  cacheMaxEntryBytes: number;
  cacheCompressMinBytes: number;
  l1MaxBytes: number;
  invalidationHeartbeatIntervalMs: number;
  invalidationMaxSilenceMs: number;
  cacheRules: CacheRule[];
  lockTtlMs: number;
  maxConcurrentExecutions: number;
  maxConcurrentPerUser: number;
  maxQueued: number;
  maxQueueWaitMs: number;
  auth: 'none' | 'token' | 'jwt' | 'password';
  authTokensFile: string | undefined;
  authPasswordsFile: string | undefined;
  authFailuresPerUserPerMinute: number;
  authFailuresPerAddressPerMinute: number;
  authMaxConcurrentVerifications: number;
  authMaxQueuedVerifications: number;
  jwtSecret: string | undefined;
  jwtPublicKeyFile: string | undefined;
  jwtIssuer: string | undefined;
  jwtAudience: string | undefined;
  jwtRequireExp: boolean;
  jwtUserClaim: string;
  jwtGroupsClaim: string;
  adminUsers: string[];
  allowUnauthenticatedRemote: boolean;
  advertiseUrl: string | undefined;
  shutdownGraceMs: number;
  gpuEnabled: boolean;
  gpuClusterFile: string | undefined;
  gpuPolicy: 'first-fit' | 'best-fit' | 'fgd' | 'hotpath';
  gpuLeaseTtlSeconds: number;
  gpuTickMs: number;
  gpuStarvationSeconds: number;
  gpuPreemption: boolean;
  /** HOTPATH_TENANTS parsed (or the local defaults, or the deprecated weights/quotas on them). */
  tenants: Tenants;
  inferenceEnabled: boolean;
  /** The /v2 models (HOTPATH_INFERENCE_MODELS, parsed). */
  inferenceModels: ModelSpec[];
  gpuTenantWeights: string[] | undefined;
  gpuTenantQuotas: string[] | undefined;
  gpuMaxOpenJobsPerUser: number;
  gpuExecutor: 'simulated' | 'none';
  gpuBackend: 'static' | 'kubernetes';
  kubeSchedulerName: string;
  gpuElection: 'redis' | 'lease';
  kubeLease: string;
  gpuDemoLoad: boolean;
  gpuRetentionSeconds: number;
}

export { ConfigError };

type Env = Record<string, string | undefined>;

function rawValue(spec: VarSpec, env: Env): string | undefined {
  const fileVar = `${spec.env}_FILE`;
  const direct = env[spec.env];
  const file = env[fileVar];
  if (direct !== undefined && direct !== '' && file) {
    throw new ConfigError(`${spec.env} and ${fileVar} are both set; set only one`);
  }
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`${fileVar}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (direct !== '') return direct ?? spec.default;
  // Set but empty: "unset" only where unset means nothing; a list's '' is the empty list; a variable
  // with a default says so rather than silently taking the default (or crashing later, as HOST='' did).
  if (spec.default === undefined) return undefined;
  if (spec.type.kind === 'list') return '';
  throw new ConfigError(`${spec.env}: empty; unset it for the default (${spec.secret ? 'hidden' : JSON.stringify(spec.default)}) or give a value`);
}

/** proxy-addr's names for address ranges (fastify's trustProxy accepts them in a list). */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrCidr(s: string): boolean {
  if (PROXY_RANGE_NAMES.has(s)) return true;
  const [address = '', bits, ...rest] = s.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

function parseVar(spec: VarSpec, raw: string): unknown {
  const t = spec.type;
  const shown = spec.secret ? '(hidden)' : JSON.stringify(raw);
  switch (t.kind) {
    case 'int': {
      const n = Number(raw);
      if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < t.min || n > t.max) {
        throw new ConfigError(`${spec.env}: expected an integer from ${t.min} to ${t.max}, got ${shown}`);
      }
      return n;
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      throw new ConfigError(`${spec.env}: expected true or false, got ${shown}`);
    }
    case 'enum':
      if (!t.values.includes(raw)) throw new ConfigError(`${spec.env}: expected one of ${t.values.join(', ')}, got ${shown}`);
      return raw;
    case 'url': {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new ConfigError(`${spec.env}: expected a ${t.protocols.join(' or ')} URL, got ${shown}`);
      }
      if (!t.protocols.includes(url.protocol)) {
        throw new ConfigError(`${spec.env}: expected a ${t.protocols.join(' or ')} URL, got ${shown}`);
      }
      return raw;
    }
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
    case 'trustProxy': {
      const v = raw.trim().toLowerCase();
      if (v === 'true') return true;
      if (v === 'false') return false;
      if (/^\d{1,3}$/.test(v) && Number(v) <= 100) return Number(v);
      const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
      if (list.length > 0 && list.every(isAddressOrCidr)) return list;
      throw new ConfigError(`${spec.env}: expected true, false, a hop count or a comma-separated list of addresses/CIDRs, got ${shown}`);
    }
    case 'string':
      return raw;
  }
}

const RULE_KEYS = new Set(['tables', 'catalogs', 'ttlSeconds', 'swrSeconds', 'staleIfErrorSeconds', 'shared', 'allowSystemTables', 'cache']);

export function parseCacheRules(text: string, source: string): CacheRule[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${source}: expected a JSON list of cache rules (${(err as Error).message})`);
  }
  if (!Array.isArray(parsed)) throw new ConfigError(`${source}: expected a JSON list of cache rules`);
  return parsed.map((rule: unknown, i) => {
    const where = `${source}[${i}]`;
    if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) throw new ConfigError(`${where}: expected an object`);
    const r = rule as Record<string, unknown>;
    for (const k of Object.keys(r)) if (!RULE_KEYS.has(k)) throw new ConfigError(`${where}: unknown field "${k}"`);
    for (const k of ['tables', 'catalogs'] as const) {
      const v = r[k];
      if (v !== undefined && (!Array.isArray(v) || !v.every((s) => typeof s === 'string' && s.length > 0))) {
        throw new ConfigError(`${where}.${k}: expected a list of non-empty strings`);
      }
    }
    if (r.tables === undefined && r.catalogs === undefined) throw new ConfigError(`${where}: needs "tables" or "catalogs"`);
    for (const k of ['ttlSeconds', 'swrSeconds', 'staleIfErrorSeconds'] as const) {
      const v = r[k];
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
        throw new ConfigError(`${where}.${k}: expected a number of seconds >= 0`);
      }
    }
    for (const k of ['shared', 'allowSystemTables', 'cache'] as const) {
      if (r[k] !== undefined && typeof r[k] !== 'boolean') throw new ConfigError(`${where}.${k}: expected true or false`);
    }
    const lower = (xs: unknown) => (xs as string[] | undefined)?.map((s) => s.toLowerCase());
    return { ...(r as CacheRule), tables: lower(r.tables), catalogs: lower(r.catalogs) };
  });
}

/** HOTPATH_TENANTS (or its file), else the deprecated weights/quotas on the local defaults, else those defaults. */
function tenantsFrom(env: Env, out: Record<string, unknown>): Tenants {
  const text = out.tenants as string | undefined;
  const legacy = ['HOTPATH_GPU_TENANT_WEIGHTS', 'HOTPATH_GPU_TENANT_QUOTAS'].filter((v) => (out[camel(v)] as string[] | undefined)?.length);
  if (text !== undefined && legacy.length > 0) {
    throw new ConfigError(`${legacy.join(' and ')}: replaced by HOTPATH_TENANTS ("weight" and "quotaGpuMilli" per tenant); set only HOTPATH_TENANTS`);
  }
  if (text !== undefined) return parseTenants(text, env.HOTPATH_TENANTS_FILE ? 'HOTPATH_TENANTS_FILE' : 'HOTPATH_TENANTS');
  if (legacy.length > 0) return legacyTenants(out.gpuTenantWeights as string[] | undefined, out.gpuTenantQuotas as string[] | undefined);
  return localTenants();
}

const camel = (env: string) =>
  env
    .replace(/^HOTPATH_/, '')
    .toLowerCase()
    .replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Validate `env` (default: process.env). Throws ConfigError naming the bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const out: Record<string, unknown> = {};
  for (const spec of CONFIG_VARS as readonly VarSpec[]) {
    const raw = rawValue(spec, env);
    out[camel(spec.env)] = raw === undefined ? undefined : parseVar(spec, raw);
  }
  const rulesFile = env.HOTPATH_CACHE_RULES_FILE;
  const rulesText = rulesFile ? rawValue(CONFIG_VARS.find((v) => v.env === 'HOTPATH_CACHE_RULES')!, env) : env.HOTPATH_CACHE_RULES;
  out.cacheRules = rulesText ? parseCacheRules(rulesText, rulesFile ? 'HOTPATH_CACHE_RULES_FILE' : 'HOTPATH_CACHE_RULES') : [];
  out.tenants = tenantsFrom(env, out);
  out.inferenceModels = parseModels((out.inferenceModels as string | undefined) ?? DEFAULT_MODELS_JSON);
  const gpuBacked = (out.inferenceModels as ModelSpec[]).find((m) => m.gpu !== undefined);
  if (gpuBacked !== undefined && out.gpuEnabled === false) {
    throw new ConfigError(`HOTPATH_INFERENCE_MODELS: ${gpuBacked.name}.gpu places its replicas as GPU jobs, which needs HOTPATH_GPU_ENABLED=true`);
  }
  const config = out as unknown as Config;

  if (config.engine === 'trino' && !config.trinoUrl) throw new ConfigError('TRINO_URL: required when HOTPATH_ENGINE=trino');
  if (Boolean(config.tlsCertFile) !== Boolean(config.tlsKeyFile)) {
    const [set, unset] = config.tlsCertFile ? [TLS_CERT_VAR, TLS_KEY_VAR] : [TLS_KEY_VAR, TLS_CERT_VAR];
    throw new ConfigError(`${unset}: required when ${set} is set (HTTPS needs both the certificate and its key, or neither for plain HTTP)`);
  }
  if (config.trinoCaFile) {
    if (config.trinoUrl !== undefined && new URL(config.trinoUrl).protocol === 'http:') throw new ConfigError('TRINO_CA_FILE: set, but TRINO_URL is http:; the CA is trusted only for an https TRINO_URL');
    readCaBundle('TRINO_CA_FILE', config.trinoCaFile);
  }
  if (config.invalidationMaxSilenceMs < 2 * config.invalidationHeartbeatIntervalMs) {
    throw new ConfigError(
      `HOTPATH_INVALIDATION_MAX_SILENCE_MS: expected at least twice HOTPATH_INVALIDATION_HEARTBEAT_INTERVAL_MS (${2 * config.invalidationHeartbeatIntervalMs}), got ${config.invalidationMaxSilenceMs}; one late heartbeat must not turn L1 off`,
    );
  }
  if (config.gpuElection === 'lease' && config.gpuBackend !== 'kubernetes') {
    throw new ConfigError('HOTPATH_GPU_ELECTION=lease: needs HOTPATH_GPU_BACKEND=kubernetes (the Lease lives on its API server); use redis with the static backend');
  }
  if (!/^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/)?[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/.test(config.kubeLease)) {
    throw new ConfigError(`HOTPATH_KUBE_LEASE: expected a Lease name or namespace/name (lower-case DNS names), got ${JSON.stringify(config.kubeLease.slice(0, 80))}`);
  }
  if (config.auth === 'token' && !config.authTokensFile) throw new ConfigError('HOTPATH_AUTH_TOKENS_FILE: required when HOTPATH_AUTH=token');
  if (config.auth === 'password' && !config.authPasswordsFile) throw new ConfigError('HOTPATH_AUTH_PASSWORDS_FILE: required when HOTPATH_AUTH=password');
  if (config.auth === 'jwt' && !config.jwtSecret && !config.jwtPublicKeyFile) {
    throw new ConfigError('HOTPATH_JWT_SECRET or HOTPATH_JWT_PUBLIC_KEY_FILE: one is required when HOTPATH_AUTH=jwt');
  }
  if (config.auth === 'jwt' && config.jwtSecret !== undefined && Buffer.byteLength(config.jwtSecret) < HMAC_MIN_SECRET_BYTES.HS256) {
    // RFC 7518 3.2: an HMAC key at least as long as the hash; shorter ones can be brute-forced offline from one token.
    throw new ConfigError(
      `HOTPATH_JWT_SECRET: an HMAC secret needs at least ${HMAC_MIN_SECRET_BYTES.HS256} bytes (HS256; ${HMAC_MIN_SECRET_BYTES.HS384} for HS384, ` +
        `${HMAC_MIN_SECRET_BYTES.HS512} for HS512), got ${Buffer.byteLength(config.jwtSecret)}; e.g. openssl rand -base64 48`,
    );
  }
  if (config.auth === 'none' && !isLoopback(config.host) && !config.allowUnauthenticatedRemote) {
    throw new ConfigError(
      `HOST: ${config.host} is not a loopback address, and HOTPATH_AUTH=none would let anyone name any user; ` +
        'set HOTPATH_AUTH=token or jwt (or HOTPATH_ALLOW_UNAUTHENTICATED_REMOTE=true on a trusted network)',
    );
  }
  return Object.freeze(config);
}

/** Shortest HMAC secret for each JWT algorithm (the hash's output length, RFC 7518 3.2). */
export const HMAC_MIN_SECRET_BYTES = { HS256: 32, HS384: 48, HS512: 64 } as const;

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4'); // also matches ::ffff:127.x.y.z
LOOPBACK.addAddress('::1', 'ipv6');

/** A loopback address (127.0.0.0/8, ::1, ::ffff:127.x.y.z) or the name localhost; judged as an address, never by prefix. */
export function isLoopback(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/** Secrets removed, for a start-up log line. */
export function redactedConfig(config: Config): Record<string, unknown> {
  const hidden = new Set((CONFIG_VARS as readonly VarSpec[]).filter((v) => v.secret).map((v) => camel(v.env)));
  const shown = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, hidden.has(k) && v !== undefined ? '(hidden)' : v]));
  // A Map logs as {}: say where the tenants came from and which are named instead.
  shown.tenants = { source: config.tenants.source, named: [...config.tenants.named.keys()], otherNames: config.tenants.other !== undefined };
  return shown;
}
