import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { createApp } from '../../src/app.factory.js';
import { createLogger } from '../../src/common/logging/logger.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { loadConfig } from '../../src/config/config.loader.js';
import { PrismaService } from '../../src/persistence/prisma.service.js';
import { UsageRecorder } from '../../src/metering/ledger/usage-recorder.service.js';
import { openTestDatabase, type TestDatabase } from './test-database.js';

export const TEST_ADMIN_KEY = 'cq_test-admin-key-0123456789abcdefghijklmnopqrstu';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  /** http://127.0.0.1:<port> */
  url: string;
  adminKey: string;
  db: TestDatabase;
  dataDir: string;
  /** Every log line written, for assertions that secrets never reach the log. */
  logs: string[];
  /** Resolves once a log line (written so far or later) contains `text`, e.g. '"msg":"ready for requests"'. */
  logged(text: string): Promise<void>;
  banners: string[];
  prisma: PrismaService;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string | undefined>;
  /** Reuse a database (for restart tests); a fresh one otherwise. */
  db?: TestDatabase;
  /** Use the embedded database the server opens itself under DATA_DIR (as `npm start` does). */
  onDiskDatabase?: boolean;
  dataDir?: string;
  /** Skip the admin key env var to exercise the generated-key banner. */
  withoutAdminKey?: boolean;
  /** Return as soon as the server listens, before migrations and the admin bootstrap finish. */
  noWait?: boolean;
  /** Extra raw routes registered before listening (for example a route that fails on purpose). */
  routes?: (fastify: FastifyInstance) => void;
}

/** Starts the real application on a random port with a fresh database and data directory. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const db = options.onDiskDatabase ? ON_DISK : (options.db ?? (await openTestDatabase()));
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'colloquy-data-'));
  const config = loadConfig({
    rootDir: process.cwd(),
    env: {
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      DATABASE_URL: db.url ?? undefined,
      COLLOQUY_ADMIN_KEY: options.withoutAdminKey ? undefined : TEST_ADMIN_KEY,
      ...options.env,
    },
  });
  const logs: string[] = [];
  const watchers = new Set<() => void>();
  const banners: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString());
      for (const watcher of [...watchers]) watcher();
      done();
    },
  });
  const logged = (text: string) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!logs.some((line) => line.includes(text))) return;
        watchers.delete(check);
        resolve();
      };
      watchers.add(check);
      check();
    });
  const logger = createLogger(config.http.logLevel, sink);
  const app = await createApp(config, logger, { embeddedDatabase: db.embedded ?? undefined, banner: (line) => banners.push(line) });
  options.routes?.(app.getHttpAdapter().getInstance());
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const prisma = app.get(PrismaService);
  if (!options.noWait) {
    await prisma.whenMigrated();
    await logged('"msg":"ready for requests"');
  }
  return {
    app,
    config,
    url: `http://127.0.0.1:${address.port}`,
    adminKey: TEST_ADMIN_KEY,
    db,
    dataDir,
    logs,
    logged,
    banners,
    prisma,
    close: async () => {
      await app.close();
      if (!options.db) await db.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const ON_DISK: TestDatabase = { url: null, embedded: null, close: async () => undefined };

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The usage records written so far, oldest first (the recorder's batch flushed first). */
export async function usageRecords(t: TestApp) {
  await t.app.get(UsageRecorder).flush();
  return t.prisma.usageRecord.findMany({ orderBy: { id: 'asc' } });
}

/** Forgets every usage record, including any still waiting in the recorder's batch. */
export async function clearUsageRecords(t: TestApp): Promise<void> {
  await t.app.get(UsageRecorder).flush();
  await t.prisma.usageRecord.deleteMany();
}
