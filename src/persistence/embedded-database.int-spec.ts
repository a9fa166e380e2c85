import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SNAPSHOT_ENV } from '../../test/support/test-database.js';
import { EmbeddedDatabase } from './embedded-database.js';

describe('EmbeddedDatabase (PGlite in its own thread, over the wire protocol)', () => {
  let db: EmbeddedDatabase;
  const clients: pg.Client[] = [];
  beforeAll(async () => {
    db = new EmbeddedDatabase({ dumpFile: process.env[SNAPSHOT_ENV] });
    await db.ready;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
  });
  afterAll(() => db.close());

  async function connect(): Promise<pg.Client> {
    const client = new pg.Client({ user: 'postgres', database: 'postgres', stream: () => db.connect() });
    client.on('error', () => undefined);
    await client.connect();
    clients.push(client);
    return client;
  }

  it('answers simple and parameterised queries, and its thread answers a ping', async () => {
    const client = await connect();
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    expect((await client.query('SELECT $1::text || $2::text AS s', ['a', 'b'])).rows).toEqual([{ s: 'ab' }]);
    await expect(client.query('SELECT * FROM no_such_table')).rejects.toThrow(/does not exist/);
    expect((await client.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    await expect(db.ping()).resolves.toBeUndefined();
  });

  it('serves several connections without interleaving a transaction', async () => {
    const a = await connect();
    const b = await connect();
    await a.query('CREATE TEMP TABLE IF NOT EXISTS t (n int)');
    await a.query('BEGIN');
    await a.query('INSERT INTO t VALUES (1)');
    // b waits for a's transaction to end, then sees its outcome.
    let bDone = false;
    const seen = b.query('SELECT count(*)::int AS n FROM t').then((r) => {
      bDone = true;
      return r.rows[0].n;
    });
    await a.query('SELECT pg_sleep(0.2)');
    expect(bDone).toBe(false);
    await a.query('COMMIT');
    expect(await seen).toBe(1);
  });

  it('rolls back what a connection that went away left open, and carries on', async () => {
    const a = await connect();
    await a.query('CREATE TEMP TABLE IF NOT EXISTS gone (n int)');
    await a.query('BEGIN');
    await a.query('INSERT INTO gone VALUES (1)');
    (a as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    const b = await connect();
    expect((await b.query('SELECT count(*)::int AS n FROM gone')).rows[0].n).toBe(0);
    await b.query('BEGIN');
    await b.query('COMMIT');
  });

  it('reopens its data directory in a fresh thread: the data is there, and a connection made meanwhile waits for it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-embedded-'));
    const own = new EmbeddedDatabase({ dataDir: join(dir, 'db') });
    const open = (): pg.Client => {
      const client = new pg.Client({ user: 'postgres', database: 'postgres', stream: () => own.connect() });
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    };
    try {
      await own.ready;
      const before = open();
      await before.connect();
      await before.query('CREATE TABLE kept (n int)');
      await before.query('INSERT INTO kept VALUES (42)');

      let ended = false;
      const restarted = own.restart(() => {
        ended = true;
        void before.end();
      });
      expect(ended).toBe(true);
      expect(own.available).toBe(false);
      const during = open();
      const answer = during.connect().then(() => during.query('SELECT n FROM kept'));
      await restarted;

      expect((await answer).rows).toEqual([{ n: 42 }]);
      expect(own.available).toBe(true);
      await expect(own.ping()).resolves.toBeUndefined();
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
      await own.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('after a reopen that fails, says it stopped and refuses connections at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-embedded-'));
    const dataDir = join(dir, 'db');
    const own = new EmbeddedDatabase({ dataDir });
    try {
      await own.ready;
      const ruin = () => {
        rmSync(dataDir, { recursive: true, force: true });
        writeFileSync(dataDir, 'not a data directory');
      };
      await expect(own.restart(ruin)).rejects.toThrow();
      expect(own.stopped).toBe(true);
      expect(own.available).toBe(false);
      const client = new pg.Client({ user: 'postgres', database: 'postgres', stream: () => own.connect() });
      client.on('error', () => undefined);
      await expect(client.connect()).rejects.toThrow();
    } finally {
      await own.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to reopen a database that lives only in memory', async () => {
    expect(db.persistent).toBe(false);
    await expect(db.restart()).rejects.toThrow(/kept in a directory/);
  });
});
