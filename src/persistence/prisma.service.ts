import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.js';
import type { AppLogger } from '../common/logging/logger.js';
import { applyMigrations, readMigrations, type MigrationResult, type SqlRunner } from './migrator.js';

export type DatabaseEngine = 'pglite' | 'postgres';

export interface DatabaseOptions {
  /** PostgreSQL URL; without it the embedded PGlite under dataDir is used. */
  url: string | null;
  dataDir: string;
  poolSize: number;
  migrationsDir: string;
  /** An already opened PGlite (tests load a migrated snapshot instead of running initdb). */
  pglite?: PGlite;
}

// Any constant works; it only has to be the same on every replica.
const MIGRATION_LOCK_ID = 0x636f6c6c;

/**
 * The Prisma client over PGlite (embedded default) or PostgreSQL, plus what the rest of the
 * server needs from the database itself: migrations at start, a readiness ping, and closing.
 */
export class PrismaService extends PrismaClient {
  readonly engine: DatabaseEngine;
  private readonly pglite: PGlite | null;
  private readonly pool: pg.Pool | null;
  private migrated = false;
  private markMigrated!: () => void;
  private readonly migratedSignal = new Promise<void>((resolve) => (this.markMigrated = resolve));

  constructor(
    private readonly options: DatabaseOptions,
    private readonly logger: AppLogger,
  ) {
    const { pglite, pool } = openDriver(options, logger);
    super({
      adapter: pglite
        ? new PrismaPGlite(pglite)
        : new PrismaPg(pool!, {
            disposeExternalPool: false,
            onPoolError: (err) => logger.warn({ err: err.message }, 'database pool error'),
          }),
    });
    this.engine = pglite ? 'pglite' : 'postgres';
    this.pglite = pglite;
    this.pool = pool;
  }

  get isMigrated(): boolean {
    return this.migrated;
  }

  /** Resolves once the schema is up to date; start-up work that needs tables waits on it. */
  whenMigrated(): Promise<void> {
    return this.migratedSignal;
  }

  /** Applies pending migrations (serialised across replicas on PostgreSQL). */
  async migrate(): Promise<MigrationResult> {
    const migrations = readMigrations(this.options.migrationsDir);
    let result: MigrationResult;
    if (this.pglite) {
      const db = this.pglite;
      await db.waitReady;
      result = await applyMigrations(pgliteRunner(db), migrations);
      // PGlite learns array types at start; types a migration just created would be unknown.
      if (result.applied.length) await db.refreshArrayTypes();
    } else {
      const client = await this.pool!.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
        try {
          result = await applyMigrations(pgRunner(client), migrations);
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
        }
      } finally {
        client.release();
      }
    }
    this.migrated = true;
    this.markMigrated();
    return result;
  }

  /** One round trip to the database, bounded so a hung server reads as down. */
  async ping(timeoutMs = 2_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.pool ? this.pool.query('SELECT 1') : this.pglite!.query('SELECT 1'), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A statement straight on the driver, outside Prisma's query engine: for the few hot writes
   * (batched usage records) where compiling a query per call would cost more than the write.
   */
  async execute(sql: string, params: unknown[]): Promise<void> {
    if (this.pool) await this.pool.query(sql, params);
    else await this.pglite!.query(sql, params);
  }

  async close(): Promise<void> {
    await this.$disconnect().catch(() => undefined);
    if (this.pool) await this.pool.end().catch(() => undefined);
    if (this.pglite && !this.options.pglite && !this.pglite.closed) await this.pglite.close();
  }
}

function openDriver(options: DatabaseOptions, logger: AppLogger): { pglite: PGlite | null; pool: pg.Pool | null } {
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
    });
    // An idle client losing its server emits 'error'; unhandled, it would kill the process.
    pool.on('error', (err) => logger.warn({ err: err.message }, 'database connection lost'));
    return { pglite: null, pool };
  }
  if (options.pglite) return { pglite: options.pglite, pool: null };
  const dir = join(options.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  return { pglite: new PGlite(dir), pool: null };
}

function pgliteRunner(db: PGlite): SqlRunner {
  return {
    exec: async (sql) => {
      await db.exec(sql);
    },
    query: async <T>(sql: string, params?: unknown[]) => (await db.query<T>(sql, params)).rows,
  };
}

function pgRunner(client: pg.PoolClient): SqlRunner {
  return {
    exec: async (sql) => {
      await client.query(sql);
    },
    query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
  };
}
