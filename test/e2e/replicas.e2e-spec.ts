import pg from 'pg';
import { client, expectError, postSse } from '../support/http.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { startStandInUpstream, type StandInUpstream } from '../support/stand-in-upstream.js';
import { writeTestConfig } from '../support/test-config.js';
import { openTestDatabase, type TestDatabase } from '../support/test-database.js';
import { waitFor } from '../support/test-app.js';
import { createUser } from '../support/users.js';

const databaseUrl = process.env.TEST_DATABASE_URL;
const redisUrl = process.env.TEST_REDIS_URL;
const ADMIN_KEY = 'replicas-admin-key-0123456789abcdef';

// Two server processes on one PostgreSQL and one Redis, as in production (CI provides both).
(databaseUrl && redisUrl ? describe : describe.skip)('two replicas sharing PostgreSQL and Redis (needs TEST_DATABASE_URL and TEST_REDIS_URL)', () => {
  let upstream: StandInUpstream;
  let db: TestDatabase;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    upstream = await startStandInUpstream();
    db = await openTestDatabase();
    const env = {
      DATABASE_URL: db.url!,
      REDIS_URL: redisUrl!,
      COLLOQUY_ADMIN_KEY: ADMIN_KEY,
      CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }),
      UPSTREAM_MAX_RETRIES: '0',
      AUTH_CACHE_TTL_MS: '30000',
    };
    [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.close();
    await upstream?.close();
  });

  async function newKey(userPatch: object, keyBody: object = {}) {
    const user = await createUser(a.url, ADMIN_KEY, { user: userPatch, key: keyBody });
    return { userId: user.id, keyId: user.keyId, key: user.key };
  }
  const ask = (url: string, key: string, maxTokens = 50) =>
    client(url, key).post('/v1/chat/completions', { model: 'standin-gpt', messages: [{ role: 'user', content: 'hi' }], max_tokens: maxTokens });

  it('admits exactly N of 2N requests a minute, whichever replica they reach', async () => {
    const { key } = await newKey({}, { limits: { rpm: 5 } });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => ask(i % 2 ? a.url : b.url, key)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    for (const r of results.filter((x) => x.status === 429)) expectError(r, 429, 'rate_limit_exceeded');
    // Still refused on both a moment later: the window slides, it does not restart.
    expectError(await ask(a.url, key), 429);
    expectError(await ask(b.url, key), 429);
  });

  it('lets 4×K concurrent requests across both replicas spend at most a budget that affords K', async () => {
    // Each call costs exactly 100 × $2.50 + 100 × $10 per 1M = $0.00125; the budget affords K = 3.
    upstream.setDefault({ kind: 'reply', text: 'x', delayMs: 50, usage: { prompt_tokens: 100, completion_tokens: 100 } });
    const { userId, key } = await newKey({ budget: { amount_usd: 0.00375, period: 'day' } });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => ask(i % 2 ? a.url : b.url, key, 100)));
    const admitted = results.filter((r) => r.status === 200).length;
    expect(admitted).toBeGreaterThanOrEqual(1);
    expect(admitted).toBeLessThanOrEqual(3);
    for (const r of results.filter((x) => x.status !== 200)) {
      expectError(r, 429, 'insufficient_quota');
      expect(r.headers.get('x-should-retry')).toBe('false');
    }
    // The records (written in batches) show the spend, within the budget.
    const pool = new pg.Pool({ connectionString: db.url! });
    try {
      let spent = 0;
      await waitFor(async () => {
        const { rows } = await pool.query(
          'SELECT count(*)::int AS n, coalesce(sum(cost_micros), 0)::int AS micros FROM usage_records WHERE user_id = $1',
          [userId],
        );
        spent = rows[0].micros;
        return rows[0].n === admitted;
      }, 5_000);
      expect(spent).toBe(admitted * 1_250);
      expect(spent).toBeLessThanOrEqual(3_750);
    } finally {
      await pool.end();
    }
    upstream.reset();
  });

  it("keeps one key's /chat totals equal to the ledger while its turns land on both replicas at once", async () => {
    upstream.setDefault({ kind: 'reply', text: 'an answer of several words', chunkDelayMs: 1 });
    const { userId, key } = await newKey({});
    const first = await client(a.url, key).post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'start' }] });
    expect(first.status).toBe(200);
    // 24 turns at once, alternating replicas: every third continues the first conversation, the
    // others start their own; a third of them stream. All join the key's one active session.
    const turns = Array.from({ length: 24 }, (_, i) => {
      const url = i % 2 ? a.url : b.url;
      const body = {
        model: 'standin-gpt',
        messages: [{ role: 'user', content: `turn ${i}` }],
        ...(i % 3 === 0 ? { conversation_id: first.body.conversation_id } : {}),
      };
      if (i % 3 === 1) return postSse(url, key, '/chat', body).then((r) => r.res.status);
      return client(url, key)
        .post('/chat', body)
        .then((r) => r.status);
    });
    expect(await Promise.all(turns)).toEqual(Array(24).fill(200));

    const pool = new pg.Pool({ connectionString: db.url! });
    try {
      const ledger = async (where: string, id: string) =>
        (
          await pool.query(
            `SELECT count(*)::int AS n, coalesce(sum(prompt_tokens), 0)::int AS prompt, coalesce(sum(completion_tokens), 0)::int AS completion,
                    coalesce(sum(cost_micros), 0)::int AS cost FROM usage_records WHERE ${where} = $1`,
            [id],
          )
        ).rows[0];
      const all = await ledger('user_id', userId);
      expect(all.n).toBe(25);
      for (const url of [a.url, b.url]) {
        const sessions = (await client(url, key).get('/users/me/sessions?limit=100')).body.data;
        expect(sessions).toHaveLength(1);
        expect(sessions[0]).toMatchObject({
          id: first.body.session_id,
          request_count: 25,
          conversation_count: 1 + 16,
          message_count: 2 * 25,
          prompt_tokens: all.prompt,
          completion_tokens: all.completion,
        });
        expect(Math.round(sessions[0].cost_usd * 1e6)).toBe(all.cost);
        const conversations = (await client(url, key).get('/conversations?limit=100')).body.data as Array<Record<string, number | string>>;
        expect(conversations).toHaveLength(17);
        for (const conversation of conversations) {
          const own = await ledger('conversation_id', conversation.id as string);
          const messages = (await pool.query('SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1', [conversation.id])).rows[0].n;
          expect({
            messages: conversation.message_count,
            prompt: conversation.prompt_tokens,
            completion: conversation.completion_tokens,
            cost: Math.round((conversation.cost_usd as number) * 1e6),
          }).toEqual({ messages, prompt: own.prompt, completion: own.completion, cost: own.cost });
          expect(conversation.message_count).toBe(conversation.id === first.body.conversation_id ? 2 * 9 : 2);
        }
      }
    } finally {
      await pool.end();
    }
    upstream.reset();
  });

  it('refuses a key revoked on one replica on the other at once (Redis carries the news)', async () => {
    const { key, keyId } = await newKey({});
    expect((await client(b.url, key).get('/me')).status).toBe(200);
    await client(a.url, ADMIN_KEY).delete(`/keys/${keyId}`);
    const revokedAt = Date.now();
    await waitFor(async () => (await client(b.url, key).get('/me')).status === 401, 5_000);
    // Well within the 30 s this test gives the auth cache: the invalidation was pushed.
    expect(Date.now() - revokedAt).toBeLessThan(2_000);
  });
});
