import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../common/logging/logger.js';
import { loadConfig } from '../config/config.loader.js';
import { PrismaService } from './prisma.service.js';

/**
 * `npm run db:migrate`: applies pending migrations to DATABASE_URL (or the embedded database under
 * DATA_DIR) and exits; for deployments that migrate in a separate step before rolling out.
 */
async function main(): Promise<void> {
  const rootDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const config = loadConfig({ rootDir });
  const logger = createLogger(config.http.logLevel);
  const prisma = new PrismaService({ url: config.database.url, dataDir: config.dataDir, poolSize: 1, migrationsDir: config.migrationsDir }, logger);
  try {
    const { applied, modified } = await prisma.migrate();
    process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'The database is up to date.\n');
    if (modified.length) process.stdout.write(`Warning: applied migrations changed since: ${modified.join(', ')}\n`);
  } finally {
    await prisma.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`colloquy db:migrate: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
