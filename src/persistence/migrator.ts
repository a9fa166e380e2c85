import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The few raw operations migrations need, on PGlite or on a dedicated PostgreSQL connection. */
export interface SqlRunner {
  /** Runs a script that may hold several statements. */
  exec(sql: string): Promise<void>;
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  applied: string[];
  /** Applied migrations whose file changed since (Prisma warns about these too). */
  modified: string[];
}

// Prisma's own bookkeeping table, created exactly as `prisma migrate deploy` creates it, so that
// either tool recognises what the other applied.
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
);`;

/** Reads prisma/migrations/<name>/migration.sql in name order (names start with a timestamp). */
export function readMigrations(dir: string): MigrationFile[] {
  if (!existsSync(dir)) throw new Error(`migrations directory ${dir} does not exist`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const bytes = readFileSync(join(dir, name, 'migration.sql'));
      return { name, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    });
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/**
 * Applies every migration not yet recorded, each in its own transaction together with its
 * `_prisma_migrations` row, so a failure leaves neither half behind. The caller serialises
 * concurrent runners (an advisory lock on PostgreSQL; PGlite has a single connection).
 */
export async function applyMigrations(runner: SqlRunner, migrations: MigrationFile[]): Promise<MigrationResult> {
  await runner.exec(CREATE_MIGRATIONS_TABLE);
  const rows = await runner.query<AppliedRow>('SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"');
  const done = new Map(rows.filter((r) => r.finished_at && !r.rolled_back_at).map((r) => [r.migration_name, r]));
  const failed = rows.find((r) => !r.finished_at && !r.rolled_back_at);
  if (failed) {
    throw new Error(`migration ${failed.migration_name} failed earlier and is not resolved; see "prisma migrate resolve"`);
  }

  const result: MigrationResult = { applied: [], modified: [] };
  for (const migration of migrations) {
    const existing = done.get(migration.name);
    if (existing) {
      if (existing.checksum !== migration.checksum) result.modified.push(migration.name);
      continue;
    }
    await runner.exec('BEGIN');
    try {
      const startedAt = new Date();
      await runner.exec(migration.sql);
      await runner.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
         VALUES ($1, $2, now(), $3, $4, 1)`,
        [randomUUID(), migration.checksum, migration.name, startedAt],
      );
      await runner.exec('COMMIT');
    } catch (err) {
      await runner.exec('ROLLBACK').catch(() => undefined);
      throw new Error(`migration ${migration.name} failed: ${(err as Error).message}`, { cause: err });
    }
    result.applied.push(migration.name);
  }
  return result;
}
