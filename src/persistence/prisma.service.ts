import { join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import type { AppLogger } from '../common/logging/logger.js';
import { EmbeddedDatabase } from './embedded-database.js';
import { applyMigrations, readMigrations, type MigrationResult, type SqlRunner } from './migrator.js';

export type DatabaseEngine = 'pglite' | 'postgres';

export interface DatabaseOptions {
  /** PostgreSQL URL; without it the embedded PGlite under dataDir is used. */
  url: string | null;
  dataDir: string;
  poolSize: number;
  /** Prepare the hot driver statements once per connection (off behind a pooler that cannot keep them). Default true. */
  preparedStatements?: boolean;
  migrationsDir: string;
  /** An embedded database already started (tests start one from a migrated snapshot); its owner closes it. */
  embedded?: EmbeddedDatabase;
}

// Any constant works; it only has to be the same on every replica.
const MIGRATION_LOCK_ID = 0x636f6c6c;
/** Driver statements are constants of the code (a few dozen): more distinct texts means one is built at run time. */
const MAX_PREPARED_STATEMENTS = 200;

/**
 * The Prisma client over PGlite (embedded default) or PostgreSQL, plus what the rest of the
 * server needs from the database itself: migrations at start, a readiness ping, and closing.
 * Both go through the same `pg` pool and Prisma adapter: PGlite runs in a worker thread that
 * speaks the wire protocol (see EmbeddedDatabase), over a pool of one connection.
 */
export class PrismaService extends PrismaClient {
  readonly engine: DatabaseEngine;
  private readonly embedded: EmbeddedDatabase | null;
  private readonly pool: pg.Pool;
  private migrated = false;
  private markMigrated!: () => void;
  private readonly migratedSignal = new Promise<void>((resolve) => (this.markMigrated = resolve));

  constructor(
    private readonly options: DatabaseOptions,
    private readonly logger: AppLogger,
  ) {
    const { embedded, pool } = openDriver(options, logger);
    super({
      adapter: new PrismaPg(pool, {
        disposeExternalPool: false,
        onPoolError: (err) => logger.warn({ err: err.message }, 'database pool error'),
      }),
    });
    this.engine = embedded ? 'pglite' : 'postgres';
    this.embedded = embedded;
    this.pool = pool;
  }

  /**
   * Loads Prisma's query compiler (WebAssembly, some 100 ms of main-thread CPU) before the server
   * listens, so that no probe waits behind it; opens no database connection.
   */
  async onModuleInit(): Promise<void> {
    await this.$connect();
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
    // On a first start the embedded database runs initdb first (in its own thread). One whose
    // reopen failed (see below) is tried again with the migrations.
    if (this.embedded) await this.embedded.ready;
    if (this.embedded?.stopped && this.embedded.persistent && !this.options.embedded) await this.embedded.restart();
    const client = await this.pool.connect();
    let result: MigrationResult;
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
      try {
        result = await applyMigrations(pgRunner(client), migrations);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
      }
    } catch (err) {
      client.release();
      throw err;
    }
    // The embedded database's memory grew with initdb and the migrations and never shrinks: it
    // is reopened in a fresh thread (~900 → ~400 MB after a first start). Queries arriving
    // meanwhile wait for it; this connection is ended first, so that none goes to the old one.
    if (result.applied.length && this.embedded?.persistent && !this.options.embedded) {
      await this.embedded.restart(() => client.release(true));
    } else {
      client.release();
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
      await Promise.race([this.embedded ? this.pingEmbedded() : this.pool.query('SELECT 1'), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The embedded database has one connection, which migrations or a queue of queries may hold:
   * its thread answering (between two statements) says it is up without waiting behind them.
   * While it migrates, a long statement can keep even its thread busy; open is up enough then
   * (readiness waits for the migrations anyway).
   */
  private async pingEmbedded(): Promise<void> {
    const embedded = this.embedded!;
    if (!embedded.available) return embedded.ping();
    if (this.migrated) await embedded.ping();
  }

  /**
   * A statement straight on the driver, outside Prisma's query engine: for the few hot statements
   * (the usage records, a /chat turn's store, its session lookup) where compiling a query per call
   * would cost more than the statement. `sql` must be a constant text: on a PostgreSQL server each
   * is prepared once per connection under its own name, so it is parsed and planned once, not on
   * every call (measured at half the server's CPU of a /chat turn). The embedded database runs
   * them unnamed: its one backend outlives the connections made to it (the tests' and the
   * app's, a reconnect), which would not know what it has prepared. So does a server behind a
   * pooler in transaction mode that cannot keep them (PgBouncer before 1.21):
   * DATABASE_PREPARED_STATEMENTS=false.
   */
  async execute(sql: string, params: unknown[]): Promise<void> {
    await this.pool.query({ name: this.statementName(sql), text: sql, values: params });
  }

  /** A read straight on the driver (see `execute`): the rows as `pg` parses them (bigint and count as strings). */
  async query<T>(sql: string, params: unknown[]): Promise<T[]> {
    return (await this.pool.query({ name: this.statementName(sql), text: sql, values: params })).rows as T[];
  }

  private readonly statementNames = new Map<string, string>();

  private statementName(sql: string): string | undefined {
    if (this.embedded || this.options.preparedStatements === false) return undefined;
    let name = this.statementNames.get(sql);
    if (!name) {
      if (this.statementNames.size >= MAX_PREPARED_STATEMENTS) throw new Error('too many distinct driver statements: their text must be constant');
      name = `colloquy_${this.statementNames.size + 1}`;
      this.statementNames.set(sql, name);
    }
    return name;
  }

  async close(): Promise<void> {
    await this.$disconnect().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
    if (this.embedded && !this.options.embedded) await this.embedded.close();
  }
}

function openDriver(options: DatabaseOptions, logger: AppLogger): { embedded: EmbeddedDatabase | null; pool: pg.Pool } {
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
    });
    // An idle client losing its server emits 'error'; unhandled, it would kill the process.
    pool.on('error', (err) => logger.warn({ err: err.message }, 'database connection lost'));
    return { embedded: null, pool };
  }
  const embedded =
    options.embedded ?? new EmbeddedDatabase({ dataDir: join(options.dataDir, 'pglite'), onWarning: (message) => logger.warn(message) });
  const pool = new pg.Pool({
    // PGlite has a single backend: one connection, kept open; requests queue for it.
    max: 1,
    idleTimeoutMillis: 0,
    connectionTimeoutMillis: 60_000,
    user: 'postgres',
    database: 'postgres',
    stream: () => embedded.connect(),
  });
  pool.on('error', (err) => logger.warn({ err: err.message }, 'embedded database connection lost'));
  return { embedded, pool };
}

function pgRunner(client: pg.PoolClient): SqlRunner {
  return {
    exec: async (sql) => {
      await client.query(sql);
    },
    query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
  };
}
