import { client } from '../support/http.js';
import { startS3rver, type S3rverHandle } from '../support/s3rver.js';
import { openTestDatabase } from '../support/test-database.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { writeTestConfig } from '../support/test-config.js';

// Every secret below ends in "-secret"; none may appear in GET /config, /health or the log.
const SECRETS = /[\w.]*-secret/g;

describe('GET /config with credentials inside URLs', () => {
  let s3: S3rverHandle;
  let t: TestApp;
  let admin: ReturnType<typeof client>;

  beforeAll(async () => {
    s3 = await startS3rver({ bucket: 'config-bucket' });
    const endpoint = new URL(s3.endpoint);
    endpoint.username = 'ep-user-secret';
    endpoint.password = 'ep-pw-secret';
    const file = writeTestConfig(
      { primary: 'http://yaml-user-secret:yaml-pw-secret@127.0.0.1:9/v1?api-key=yaml-key-secret&password=yaml-qpw-secret' },
      {
        providers: {
          standin: { base_url: 'http://127.0.0.1:9/v1?token=standin-q-secret', api_key: 'sk-standin-secret' },
          other: {
            base_url: 'https://other.example.com/v1?whatever=other-q-secret',
            api_key: 'sk-other-secret',
            headers: { 'x-team': 'team-secret' },
          },
        },
        redis: { url: 'redis://default:redis-pw-secret@127.0.0.1:1/0' },
      },
    );
    // On PostgreSQL (TEST_DATABASE_URL) the database URL carries a password and a query too; trust
    // auth ignores the password. The embedded database has no URL.
    const env: Record<string, string> = {
      CONFIG_FILE: file,
      OPENAI_BASE_URL: 'https://env-user-secret:env-pw-secret@api.example.com/v1?api-key=env-key-secret',
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: endpoint.toString(),
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    };
    const db = await openTestDatabase();
    if (db.url) {
      const url = new URL(db.url);
      url.password = 'db-pw-secret';
      url.searchParams.set('application_name', 'db-app-secret');
      env.DATABASE_URL = url.toString();
    }
    t = await startTestApp({ db, env });
    admin = client(t.url, t.adminKey);
  });
  afterAll(async () => {
    await t.close();
    await t.db.close();
    await s3.stop();
  });

  it('redacts userinfo and every query value of every URL, env and YAML alike', async () => {
    const res = await admin.get('/config');
    expect(res.status).toBe(200);
    expect(res.text.match(SECRETS)).toBeNull();
    const { providers, storage, redis, database } = res.body;
    expect(providers.openai.base_url).toBe('https://redacted:redacted@api.example.com/v1?api-key=redacted');
    expect(providers.standin).toMatchObject({ base_url: 'http://127.0.0.1:9/v1?token=redacted', api_key: '[redacted]' });
    expect(providers.other).toMatchObject({ base_url: 'https://other.example.com/v1?whatever=redacted', headers: { 'x-team': '[redacted]' } });
    expect(storage.s3).toMatchObject({ endpoint: `http://redacted:redacted@${new URL(s3.endpoint).host}/`, secret_access_key: '[redacted]' });
    expect(redis.url).toBe('redis://redacted:redacted@127.0.0.1:1/0');
    if (t.db.url) expect(database.url).toMatch(/^postgres(ql)?:\/\/\w+:redacted@[^?]+\?application_name=redacted$/);
  });

  it('never prints those URLs with their credentials in /health or the log', async () => {
    const health = await client(t.url).get('/health');
    const ready = await client(t.url).get('/health/ready');
    for (const text of [health.text, ready.text, t.logs.join('')]) expect(text.match(SECRETS)).toBeNull();
    // Redis is unreachable on purpose: the report says so without its URL.
    expect(ready.body.checks.redis).toMatchObject({ status: 'down' });
  });
});
