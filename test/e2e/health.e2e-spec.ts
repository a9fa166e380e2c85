import { client, expectError } from '../support/http.js';
import { startS3rver, type S3rverHandle } from '../support/s3rver.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { openTestDatabase, postgresUrl } from '../support/test-database.js';
import { startTestApp, waitFor, type TestApp } from '../support/test-app.js';

async function status(url: string): Promise<number> {
  return (await fetch(url)).status;
}

describe('health probes', () => {
  describe('on the embedded defaults', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp();
    });
    afterAll(() => t.close());

    it('answers live, ready and health without a key, checking each dependency', async () => {
      const api = client(t.url, undefined);
      expect((await api.get('/health/live')).body).toEqual({ status: 'ok' });
      const ready = await api.get('/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({
        status: 'ready',
        checks: {
          database: { status: 'up', driver: t.db.url ? 'postgres' : 'pglite', latency_ms: expect.any(Number) },
          storage: { status: 'up', driver: 'local' },
          migrations: { status: 'applied' },
        },
      });
      const health = await api.get('/health');
      expect(health.body).toMatchObject({ status: 'ok', version: expect.stringMatching(/^\d+\.\d+\.\d+/), uptime_seconds: expect.any(Number) });
      expect(health.body.dependencies.database.status).toBe('up');
    });
  });

  describe('with S3 storage that goes away and comes back', () => {
    let s3: S3rverHandle;
    let proxy: TcpProxy;
    let t: TestApp;
    beforeAll(async () => {
      s3 = await startS3rver({ bucket: 'health-bucket' });
      const target = new URL(s3.endpoint);
      proxy = await startTcpProxy(target.hostname, Number(target.port));
      t = await startTestApp({
        env: {
          S3_BUCKET: s3.bucket,
          S3_ENDPOINT: `http://127.0.0.1:${proxy.port}`,
          S3_ACCESS_KEY_ID: s3.accessKeyId,
          S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
          S3_FORCE_PATH_STYLE: 'true',
        },
      });
    });
    afterAll(async () => {
      await t.close();
      await proxy.close();
      await s3.stop();
    });

    it('turns not ready while the blob store does not answer, and ready again after', async () => {
      expect(await status(`${t.url}/health/ready`)).toBe(200);
      await proxy.cut();
      const down = await client(t.url).get('/health/ready');
      const error = expectError(down, 503, 'not_ready');
      expect(error.message).toContain('storage');
      expect(down.body.checks.storage.status).toBe('down');
      expect(await status(`${t.url}/health/live`)).toBe(200);
      await proxy.restore();
      await waitFor(async () => (await status(`${t.url}/health/ready`)) === 200);
    });
  });

  const pg = postgresUrl();
  (pg ? describe : describe.skip)('with PostgreSQL that stops and starts again (needs TEST_DATABASE_URL)', () => {
    let proxy: TcpProxy;
    let t: TestApp;
    let db: Awaited<ReturnType<typeof openTestDatabase>>;
    beforeAll(async () => {
      db = await openTestDatabase();
      const target = new URL(db.url!);
      proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
      const viaProxy = new URL(db.url!);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      t = await startTestApp({ db: { ...db, url: viaProxy.toString() }, env: { AUTH_CACHE_TTL_MS: '0' } });
    });
    afterAll(async () => {
      await t.close();
      await proxy.close();
      await db.close();
    });

    it('answers ready 503 and live 200 while the database is down, and recovers without a restart', async () => {
      const api = client(t.url, t.adminKey);
      expect((await api.get('/me')).status).toBe(200);
      await proxy.cut();
      const ready = await api.get('/health/ready', { key: null });
      expectError(ready, 503, 'not_ready');
      expect(ready.body.checks.database.status).toBe('down');
      expect(await status(`${t.url}/health/live`)).toBe(200);
      // Requests that need the database say so with a retryable 503, not a 500.
      expectError(await api.get('/me'), 503, 'service_unavailable');
      await proxy.restore();
      await waitFor(async () => (await status(`${t.url}/health/ready`)) === 200, 15_000);
      expect((await api.get('/me')).status).toBe(200);
    });

    it('starts with the database down: live at once, ready only after migrations could run', async () => {
      const fresh = await openTestDatabase();
      const target = new URL(fresh.url!);
      const gate = await startTcpProxy(target.hostname, Number(target.port || 5432));
      await gate.cut();
      const viaGate = new URL(fresh.url!);
      viaGate.hostname = '127.0.0.1';
      viaGate.port = String(gate.port);
      const late = await startTestApp({ db: { ...fresh, url: viaGate.toString() }, noWait: true });
      try {
        expect(await status(`${late.url}/health/live`)).toBe(200);
        const notYet = await client(late.url).get('/health/ready');
        expectError(notYet, 503, 'not_ready');
        expect(notYet.body.checks.migrations.status).toBe('pending');
        expectError(await client(late.url, late.adminKey).get('/me'), 503);
        await gate.restore();
        await waitFor(async () => (await status(`${late.url}/health/ready`)) === 200, 20_000);
        expect((await client(late.url, late.adminKey).get('/me')).status).toBe(200);
      } finally {
        await late.close();
        await gate.close();
        await fresh.close();
      }
    });
  });
});
