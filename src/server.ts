// Why: the process. Reads and validates the config, files it names included (a bad value stops here
// with a clear message, before anything is started), makes sure Redis is there, builds the engine and
// the app, listens, and drains on SIGTERM/SIGINT.

import './shared/threadpool.ts'; // first: sizes libuv's threadpool before anything uses it
import { buildApp, loadConfiguredDeps, loggerOptions, type AppDeps } from './app.ts';
import { ConfigError, loadConfig, redactedConfig, type Config } from './shared/config.ts';
import { ensureLocalRedis, type StartedRedis } from './shared/redis-autostart.ts';
import { createEngine } from './query-cache/engines/create-engine.ts';

async function main(): Promise<void> {
  let config: Config;
  let configured: Pick<AppDeps, 'auth' | 'gpuCluster' | 'tls'>;
  try {
    config = loadConfig();
    configured = await loadConfiguredDeps(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`hotpath: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }

  let privateRedis: StartedRedis | undefined;
  if (config.redisAutostart) {
    privateRedis = await ensureLocalRedis(config.redisUrl, (msg) => process.stderr.write(`hotpath: ${msg}\n`));
  }
  // A stop while the engine loads (seconds, for the demo data) must not leave the private Redis behind.
  const stopEarly = (signal: NodeJS.Signals) => {
    process.stderr.write(`hotpath: ${signal} while starting; stopping\n`);
    privateRedis?.stop();
    process.exit(1);
  };
  process.once('SIGTERM', stopEarly);
  process.once('SIGINT', stopEarly);
  const startedAt = performance.now();
  const engine = await createEngine(config);
  const app = await buildApp(config, { ...configured, engine, ownsEngine: true, logger: loggerOptions(config) });
  app.log.info({ config: redactedConfig(config), engineStartMs: Math.round(performance.now() - startedAt) }, 'configuration loaded');

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down: no new connections, draining in-flight requests');
    const force = setTimeout(() => {
      app.log.warn('drain took longer than HOTPATH_SHUTDOWN_GRACE_MS; exiting');
      privateRedis?.stop();
      process.exit(1);
    }, config.shutdownGraceMs);
    force.unref();
    // Keep-alive connections whose last request finishes during the drain would hold close() open
    // until their idle timeout: close each as soon as it goes idle.
    const reapIdle = setInterval(() => app.server.closeIdleConnections(), 50);
    let exitCode = 0;
    try {
      await app.close();
    } catch (err) {
      app.log.error({ err }, 'closing failed');
      exitCode = 1;
    } finally {
      clearInterval(reapIdle);
      privateRedis?.stop();
      clearTimeout(force);
      app.log.info('stopped');
    }
    // Everything is closed; a client still retrying a Redis that is down (its reconnect timer) must not
    // keep a stopped process alive. (pino writes synchronously, so the lines above are out.)
    process.exit(exitCode);
  };
  process.off('SIGTERM', stopEarly);
  process.off('SIGINT', stopEarly);
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    app.log.error({ err }, 'cannot listen');
    privateRedis?.stop();
    process.exit(1);
  }
  app.log.info({ docs: `${configured.tls ? 'https' : 'http'}://${config.host}:${config.port}/docs` }, 'hotpath ready');
}

main().catch((err: unknown) => {
  process.stderr.write(`hotpath: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
