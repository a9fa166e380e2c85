import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageRecorder } from '../../src/metering/ledger/usage-recorder.service.js';
import { readMigrations } from '../../src/persistence/migrator.js';
import { client } from '../support/http.js';
import { startTestApp } from '../support/test-app.js';

describe('the embedded database under DATA_DIR, across restarts', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'colloquy-restart-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints a generated admin key once, keeps users and keys, and does not re-apply migrations', async () => {
    const first = await startTestApp({ onDiskDatabase: true, dataDir, withoutAdminKey: true });
    let userKey: string;
    let adminKey: string;
    try {
      expect(first.banners).toHaveLength(1);
      adminKey = /(cq_[\w-]{43})/.exec(first.banners[0])![1];
      // The banner goes to stdout, never into the structured log.
      expect(first.logs.join('')).not.toContain(adminKey);
      expect(first.logs.join('')).toContain('"msg":"migrations applied"');
      const admin = client(first.url, adminKey);
      expect((await admin.get('/me')).body.role).toBe('admin');
      const user = await admin.post('/users', { name: 'kept' });
      userKey = (await admin.post(`/users/${user.body.id}/keys`, {})).body.key;
      // Metering works on a database migrated moments ago (not only on a prepared snapshot).
      expect((await admin.post('/v1/chat/completions', { messages: [{ role: 'user', content: 'metered?' }] })).status).toBe(200);
      await first.app.get(UsageRecorder).flush();
      expect(await first.prisma.usageRecord.count({ where: { status: 'ok' } })).toBe(1);
    } finally {
      await first.close();
    }

    const second = await startTestApp({ onDiskDatabase: true, dataDir, withoutAdminKey: true });
    try {
      expect(second.banners).toEqual([]);
      expect(second.logs.join('')).toContain('"msg":"schema up to date"');
      expect((await client(second.url, adminKey).get('/me')).status).toBe(200);
      expect((await client(second.url, userKey).get('/me')).body.name).toBe('kept');
      const rows = await second.prisma.$queryRawUnsafe<Array<{ n: bigint }>>('SELECT count(*) AS n FROM _prisma_migrations');
      expect(Number(rows[0].n)).toBe(readMigrations('prisma/migrations').length);
    } finally {
      await second.close();
    }
  });

  it('finishes in-flight requests when closing, and refuses new ones', async () => {
    let arrived!: () => void;
    let release!: () => void;
    let stopped!: () => void;
    const inHandler = new Promise<void>((r) => (arrived = r));
    const released = new Promise<void>((r) => (release = r));
    const listenerClosed = new Promise<void>((r) => (stopped = r));
    const t = await startTestApp({
      routes: (fastify) => {
        fastify.get('/__test/slow', async () => {
          arrived();
          await released;
          return { finished: true };
        });
        // Fastify closes its listener right after the preClose hooks (synchronously, once they are done).
        fastify.addHook('preClose', (done) => {
          done();
          stopped();
        });
      },
    });
    const inFlight = fetch(`${t.url}/__test/slow`).then(async (r) => ({ status: r.status, body: await r.json() }));
    await inHandler;
    const closing = t.close();
    try {
      await listenerClosed;
      // Closing, with the request still in its handler: new connections are refused meanwhile.
      expect(t.app.getHttpServer().listening).toBe(false);
      await expect(fetch(`${t.url}/health/live`)).rejects.toThrow();
    } finally {
      release();
    }
    await expect(inFlight).resolves.toEqual({ status: 200, body: { finished: true } });
    await closing;
    await expect(fetch(`${t.url}/health/live`)).rejects.toThrow();
  });
});
