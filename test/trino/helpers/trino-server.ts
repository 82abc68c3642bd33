// Why: the real-Trino suite needs a real Trino 476 coordinator: fetched and unpacked once per machine by
// scripts/trino-setup.sh, started here as a single node (catalogs tpch and a memory catalog named demo,
// a small heap) on a free loopback port with the newest JDK the machine has, ready once /v1/info says
// starting:false and SELECT 1 runs, stopped by PID. The process is tied to this one (spawnTied): a killed test run leaves
// no Trino behind.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTied } from '../../../src/shared/redis-autostart.ts';
import { freePort } from '../../helpers/redis.ts';
import { stopChild } from '../../../bench/lib/cli.ts';
import { createDuckDbEngine } from '../../../src/query-cache/engines/duckdb-engine.ts';
import { loadDemoTables } from './demo-load.ts';
import { runStatement } from './protocol.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface TrinoSetup {
  version: string;
  home: string;
  javaHome: string;
  cliJar: string;
  jdbcJar: string;
}

/** Runs scripts/trino-setup.sh (downloads on the first run only) and reads its KEY=value lines. */
export function trinoSetup(): TrinoSetup {
  const out = execFileSync('sh', [join(ROOT, 'scripts', 'trino-setup.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 15 * 60_000 });
  const kv = new Map(out.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const));
  const get = (k: string) => {
    const v = kv.get(k);
    if (v === undefined) throw new Error(`scripts/trino-setup.sh printed no ${k}`);
    return v;
  };
  return { version: get('TRINO_VERSION'), home: get('TRINO_HOME'), javaHome: get('TRINO_JAVA_HOME'), cliJar: get('TRINO_CLI_JAR'), jdbcJar: get('TRINO_JDBC_JAR') };
}

export interface StartedTrino {
  url: string;
  port: number;
  /** With `https`: the TLS port's URL and the PEM certificate it serves (self-signed for 127.0.0.1). */
  httpsUrl: string | undefined;
  caPem: string | undefined;
  pid: number;
  /** The server's log (stdout and stderr). */
  logFile: string;
  stop(): Promise<void>;
}

/** Java options for a single small test node (Trino's recommended flags, a 1.5 GB heap). */
const JVM_FLAGS = (heapMb: number) => [
  `-Xmx${heapMb}m`,
  '-XX:+UseG1GC',
  '-XX:+ExitOnOutOfMemoryError',
  '-XX:-OmitStackTraceInFastThrow',
  '-XX:ReservedCodeCacheSize=256M',
  '-XX:+EnableDynamicAgentLoading',
  '-Djdk.attach.allowAttachSelf=true',
  '-Dfile.encoding=UTF-8',
];

export async function startTrino(setup: TrinoSetup, opts: { heapMb?: number; startTimeoutMs?: number; extraConfig?: string[]; https?: boolean } = {}): Promise<StartedTrino> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hotpath-trino-'));
  const etc = join(dir, 'etc');
  mkdirSync(join(etc, 'catalog'), { recursive: true });
  // https: a second port with a self-signed certificate for 127.0.0.1 (Trino reads a PEM file holding key and certificate).
  const httpsPort = opts.https === true ? await freePort() : undefined;
  let caPem: string | undefined;
  if (httpsPort !== undefined) {
    const key = join(dir, 'tls.key');
    const crt = join(dir, 'tls.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-days', '1', '-keyout', key, '-out', crt], { stdio: 'ignore' });
    caPem = readFileSync(crt, 'utf8');
    writeFileSync(join(dir, 'tls.pem'), readFileSync(key, 'utf8') + caPem);
  }
  const heapMb = opts.heapMb ?? 1536;
  writeFileSync(
    join(etc, 'config.properties'),
    [
      'coordinator=true',
      'node-scheduler.include-coordinator=true',
      // The demo loader sends its rows as one TSV literal per batch (test/trino/helpers/demo-load.ts).
      'query.max-length=10000000',
      `http-server.http.port=${port}`,
      `discovery.uri=http://127.0.0.1:${port}`,
      `plugin.dir=${join(setup.home, 'plugin')}`,
      `query.max-memory=${Math.floor(heapMb / 3)}MB`,
      `query.max-memory-per-node=${Math.floor(heapMb / 3)}MB`,
      ...(httpsPort !== undefined ? ['http-server.https.enabled=true', `http-server.https.port=${httpsPort}`, `http-server.https.keystore.path=${join(dir, 'tls.pem')}`] : []),
      ...(opts.extraConfig ?? []),
      '',
    ].join('\n'),
  );
  writeFileSync(join(etc, 'catalog', 'tpch.properties'), 'connector.name=tpch\n');
  writeFileSync(join(etc, 'catalog', 'demo.properties'), 'connector.name=memory\nmemory.max-data-per-node=512MB\n');
  writeFileSync(join(etc, 'log.properties'), 'io.trino=WARN\nio.trino.server.Server=INFO\n');
  const logFile = join(dir, 'server.log');
  const log = createWriteStream(logFile);
  const args = [
    ...JVM_FLAGS(heapMb),
    '-Dnode.environment=test',
    `-Dnode.id=hotpath-test-${port}`,
    `-Dnode.data-dir=${join(dir, 'data')}`,
    `-Dconfig=${join(etc, 'config.properties')}`,
    `-Dcatalog.config-dir=${join(etc, 'catalog')}`,
    `-Dlog.levels-file=${join(etc, 'log.properties')}`,
    '-cp',
    `${join(setup.home, 'lib')}/*`,
    'io.trino.server.TrinoServer',
  ];
  const child: ChildProcess = spawnTied(join(setup.javaHome, 'bin', 'java'), args, { cwd: setup.home, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const stop = async (): Promise<void> => {
    await stopChild(child, 10_000); // a JVM takes a few seconds to shut down
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.startTimeoutMs ?? 180_000);
  for (;;) {
    if (exited !== undefined) throw new Error(`Trino exited (code ${exited}) before it was ready; its log: ${tail(logFile)}`);
    try {
      const res = await fetch(`${url}/v1/info`, { signal: AbortSignal.timeout(2000) });
      if (res.ok && ((await res.json()) as { starting?: boolean }).starting === false) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Trino did not become ready within ${opts.startTimeoutMs ?? 180_000} ms; its log: ${tail(logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  // starting:false comes a moment before the node schedules work (NO_NODES_AVAILABLE): ready means a query runs.
  for (;;) {
    const probe = await runStatement(url, 'SELECT 1', { user: 'hotpath-setup', timeoutMs: 30_000 }).catch((err: Error) => ({ error: { errorName: err.message } }));
    if (probe.error === undefined) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Trino answered /v1/info but could not run SELECT 1 (${probe.error.errorName}); its log: ${tail(logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { url, port, httpsUrl: httpsPort !== undefined ? `https://127.0.0.1:${httpsPort}` : undefined, caPem, pid: child.pid!, logFile, stop };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '(no log)';
  }
}

/**
 * A Trino holding the embedded engine's demo tables (`demoOrderRows` orders) in its `demo` catalog: what
 * the real-Trino suite and bench:trino --real compare against. Stopped again if the copy fails.
 */
export async function startTrinoWithDemo(
  setup: TrinoSetup,
  opts: Parameters<typeof startTrino>[1] & { demoOrderRows: number; log: (line: string) => void },
): Promise<StartedTrino> {
  const trino = await startTrino(setup, opts);
  try {
    const source = await createDuckDbEngine({ demoData: true, demoOrderRowCount: opts.demoOrderRows, statementTimeoutMs: 120_000 });
    try {
      await loadDemoTables(source, trino.url, { log: opts.log });
    } finally {
      await source.close();
    }
  } catch (err) {
    await trino.stop();
    throw err;
  }
  return trino;
}
