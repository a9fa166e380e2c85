// `npm run db:new-migration -- <name> [--schema prisma/schema.prisma] [--dry-run]`
//
// What `prisma migrate dev --create-only --name <name>` does, without the native schema engine it
// would download: writes <migrations>/<YYYYMMDDHHMMSS>_<name>/migration.sql with the SQL that
// brings the existing migrations up to the schema (see schema-diff.ts), plus migration_lock.toml
// if missing. Nothing is written when they already agree. The server applies new migrations at
// start (migrator.ts). --dry-run prints the SQL instead of writing it.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { diffSql, MIGRATION_LOCK_TOML } from './schema-diff.js';

export interface NewMigrationOptions {
  name: string;
  schemaPath: string;
  /** Defaults to `migrations` next to the schema, as Prisma does. */
  migrationsDir?: string;
  now?: Date;
}

/** Writes the migration and returns its migration.sql path, or null when there is nothing to do. */
export async function createMigration(options: NewMigrationOptions): Promise<string | null> {
  const migrationsDir = resolve(options.migrationsDir ?? join(dirname(options.schemaPath), 'migrations'));
  const sql = await diffSql({ schemaPath: options.schemaPath, migrationsDir });
  if (sql === '') return null;

  const dir = join(migrationsDir, `${timestamp(options.now ?? new Date())}_${migrationName(options.name)}`);
  if (existsSync(dir)) throw new Error(`${dir} already exists`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'migration.sql');
  writeFileSync(file, sql);
  const lock = join(migrationsDir, 'migration_lock.toml');
  if (!existsSync(lock)) writeFileSync(lock, MIGRATION_LOCK_TOML);
  return file;
}

/** 14-digit UTC timestamp, the prefix `prisma migrate` gives migration directories. */
function timestamp(date: Date): string {
  return date.toISOString().replace(/\D/g, '').slice(0, 14);
}

/** Prisma's rule: anything but letters, digits and `_` becomes `_`. */
function migrationName(name: string): string {
  const cleaned = name
    .trim()
    .replace(/[^A-Za-z0-9_]/g, '_')
    .slice(0, 200);
  if (!/[A-Za-z0-9]/.test(cleaned)) throw new Error(`invalid migration name ${JSON.stringify(name)}`);
  return cleaned;
}

const USAGE = 'usage: npm run db:new-migration -- <name> [--schema prisma/schema.prisma] [--dry-run]';

async function main(argv: string[]): Promise<number> {
  let schemaPath = 'prisma/schema.prisma';
  let dryRun = false;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--schema' && argv[i + 1]) schemaPath = argv[++i]!;
    else if (arg.startsWith('--schema=')) schemaPath = arg.slice('--schema='.length);
    else if (arg === '--dry-run') dryRun = true;
    else if (arg === '-h' || arg === '--help') {
      console.log(USAGE);
      return 0;
    } else if (arg.startsWith('-')) {
      console.error(`unknown option ${arg}\n${USAGE}`);
      return 2;
    } else names.push(arg);
  }

  if (dryRun) {
    const sql = await diffSql({ schemaPath, migrationsDir: join(dirname(schemaPath), 'migrations') });
    process.stdout.write(sql === '' ? 'No changes: the migrations already match the schema.\n' : sql);
    return 0;
  }
  if (names.length !== 1) {
    console.error(USAGE);
    return 2;
  }
  const file = await createMigration({ name: names[0], schemaPath });
  console.log(file ? `Created ${relative(process.cwd(), file)}` : 'No changes: the migrations already match the schema.');
  return 0;
}

// Run only as the entry point (`node .../new-migration.js`), never when imported. The schema
// engine may keep handles open, hence the explicit exit.
if (/[\\/]new-migration\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
