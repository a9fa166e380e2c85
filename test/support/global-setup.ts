import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type * as Migrator from '../../src/persistence/migrator.js';
import type * as TestDatabase from './test-database.js';

// Jest loads globalSetup without its moduleNameMapper, so the ESM-style `.js` specifiers of
// static imports would not resolve here; these plain requires do.
/* eslint-disable @typescript-eslint/no-require-imports */
const { applyMigrations, readMigrations } = require('../../src/persistence/migrator') as typeof Migrator;
const { postgresUrl, SNAPSHOT_ENV, TEMPLATE_DB, withDatabase } = require('./test-database') as typeof TestDatabase;
/* eslint-enable @typescript-eslint/no-require-imports */

/** Migrates once per test run: a PGlite snapshot, and a PostgreSQL template when TEST_DATABASE_URL is set. */
export default async function globalSetup(): Promise<void> {
  const migrations = readMigrations(resolve('prisma/migrations'));

  const db = await PGlite.create();
  await applyMigrations(
    { exec: async (sql) => void (await db.exec(sql)), query: async (sql, params) => (await db.query<never>(sql, params)).rows },
    migrations,
  );
  const dump = await db.dumpDataDir('none');
  await db.close();
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-test-'));
  const file = join(dir, 'pglite-snapshot.tar');
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  process.env[SNAPSHOT_ENV] = file;

  const serverUrl = postgresUrl();
  if (serverUrl) {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
    } finally {
      await admin.end();
    }
    const client = new pg.Client({ connectionString: withDatabase(serverUrl, TEMPLATE_DB) });
    await client.connect();
    try {
      await applyMigrations(
        { exec: async (sql) => void (await client.query(sql)), query: async (sql, params) => (await client.query(sql, params)).rows },
        migrations,
      );
    } finally {
      await client.end();
    }
  }
}
