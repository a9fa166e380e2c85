import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from './app.factory.js';
import { createLogger, drainLogger } from './common/logging/logger.js';
import { ConfigError, loadConfig } from './config/config.loader.js';

async function bootstrap(): Promise<void> {
  const rootDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  let config;
  try {
    config = loadConfig({ rootDir });
  } catch (err) {
    return configFailure(err);
  }
  // A stdout whose reader went away must not crash the server (the banner writes there too).
  process.stdout.on('error', () => undefined);
  const logger = createLogger(config.http.logLevel);
  let app;
  try {
    app = await createApp(config, logger);
  } catch (err) {
    // What only the catalog can check (model aliases, DEFAULT_MODEL) fails here, as plainly as the file's own checks.
    return configFailure(err);
  }
  await app.listen(config.http.port, config.http.host);
  logger.info(
    {
      address: boundAddress(app.getHttpServer().address()),
      database: config.database.url ? 'postgres' : 'pglite',
      storage: config.s3 ? 's3' : 'local',
    },
    'listening',
  );

  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    const graceMs = config.http.shutdownGraceMs;
    logger.info({ signal, graceMs }, 'shutting down: finishing in-flight requests');
    // The whole shutdown, last log lines included, fits in the grace period: the forced exit
    // keeps a little of it for them, and waiting for stdout never goes past its end.
    const deadline = Date.now() + graceMs;
    const logReserveMs = Math.min(250, graceMs / 4);
    const exit = (code: number): void => {
      void drainLogger(logger, deadline - Date.now()).then(() => process.exit(code));
    };
    const force = setTimeout(() => {
      logger.warn('grace period over; exiting with requests still open');
      exit(1);
    }, graceMs - logReserveMs);
    force.unref();
    app
      .close()
      .then(() => {
        logger.info('stopped');
        exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** A ConfigError stops the process with its message alone and EX_CONFIG; anything else goes on up. */
function configFailure(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`colloquy: ${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}

/** The address the socket is bound to, as bound (`0.0.0.0:3000`, `[::]:3000`), not a guess at a URL. */
function boundAddress(address: AddressInfo | string | null): string {
  if (!address || typeof address === 'string') return String(address);
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}

bootstrap().catch((err: unknown) => {
  process.stderr.write(`colloquy: failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
