import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import pg from 'pg';
import type { EmbeddedDatabase } from '../../src/persistence/embedded-database.js';

/**
 * One migrated database per test file. Embedded by default: globalSetup migrates a PGlite once
 * and dumps it; each file starts the embedded database (in its worker thread, as the server
 * does) from the dump (~0.3 s instead of initdb + migrations). With
 * TEST_DATABASE_URL, each file gets its own PostgreSQL database cloned from a migrated template.
 */
export const SNAPSHOT_ENV = 'COLLOQUY_TEST_PGLITE_SNAPSHOT';
export const TEMPLATE_DB = 'colloquy_test_template';

export interface TestDatabase {
  /** PostgreSQL URL of this file's database, or null on PGlite. */
  url: string | null;
  /** The started embedded database, or null on PostgreSQL. */
  embedded: EmbeddedDatabase | null;
  close(): Promise<void>;
}

export function postgresUrl(): string | null {
  const url = process.env.TEST_DATABASE_URL;
  return url && url.trim() ? url.trim() : null;
}

export async function openTestDatabase(): Promise<TestDatabase> {
  const serverUrl = postgresUrl();
  if (serverUrl) return clonePostgres(serverUrl);
  const snapshot = process.env[SNAPSHOT_ENV];
  if (!snapshot || !existsSync(snapshot)) throw new Error('the PGlite snapshot is missing: run through jest (globalSetup)');
  // Imported here, not at the top: globalSetup loads this file without jest's module mapping.
  const { EmbeddedDatabase } = await import('../../src/persistence/embedded-database.js');
  const embedded = new EmbeddedDatabase({ dumpFile: snapshot });
  await embedded.ready;
  return { url: null, embedded, close: () => embedded.close() };
}

async function clonePostgres(serverUrl: string): Promise<TestDatabase> {
  const name = `colloquy_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(serverUrl, name);
  return {
    url,
    embedded: null,
    close: async () => {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
