import { createLogger } from '../common/logging/logger.js';
import { openTestDatabase, postgresUrl, type TestDatabase } from '../../test/support/test-database.js';
import { PrismaService } from './prisma.service.js';

const silent = createLogger('silent');
const PREPARED = 'SELECT name, statement FROM pg_prepared_statements ORDER BY name';

describe('driver statements (on the real database)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await db.close();
  });

  const open = (preparedStatements?: boolean) =>
    new PrismaService(
      { url: db.url, dataDir: '/tmp', poolSize: 1, preparedStatements, migrationsDir: 'prisma/migrations', embedded: db.embedded ?? undefined },
      silent,
    );

  it('answers the same rows whether statements are prepared or not', async () => {
    for (const prepared of [true, false]) {
      const prisma = open(prepared);
      try {
        for (let i = 0; i < 3; i++) {
          expect(await prisma.query<{ n: number }>('SELECT $1::int + 1 AS n', [i])).toEqual([{ n: i + 1 }]);
          await prisma.execute('SELECT $1::text', ['x']);
        }
      } finally {
        await prisma.close();
      }
    }
  });

  // PGlite runs every statement unnamed (its one backend outlives the connections made to it).
  (postgresUrl() ? it : it.skip)('on a PostgreSQL server prepares each statement once per connection, unless told not to', async () => {
    const prepared = open();
    try {
      await prepared.query('SELECT $1::int AS n', [1]);
      await prepared.query('SELECT $1::int AS n', [2]);
      await prepared.execute('SELECT $1::text', ['x']);
      const rows = await prepared.query<{ name: string; statement: string }>(PREPARED, []);
      expect(rows.map((r) => r.statement)).toEqual(expect.arrayContaining(['SELECT $1::int AS n', 'SELECT $1::text', PREPARED]));
      expect(rows.every((r) => r.name.startsWith('colloquy_'))).toBe(true);
    } finally {
      await prepared.close();
    }
    const unnamed = open(false);
    try {
      await unnamed.query('SELECT $1::int AS n', [1]);
      expect(await unnamed.query(PREPARED, [])).toEqual([]);
    } finally {
      await unnamed.close();
    }
  });
});
