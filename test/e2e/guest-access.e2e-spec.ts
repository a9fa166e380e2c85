import { GUEST_KEY_ID } from '../../src/modules/auth/guest-access.service.js';
import { GUEST_USER_ID } from '../../src/modules/users/users.service.js';
import { client, expectError, type HttpResult } from '../support/http.js';
import { startStandInUpstream, type StandInUpstream } from '../support/stand-in-upstream.js';
import { writeTestConfig } from '../support/test-config.js';
import { openTestDatabase, type TestDatabase } from '../support/test-database.js';
import { startTestApp, usageRecords, type TestApp } from '../support/test-app.js';
import { LUMINARY_EXAMPLES } from '../support/seed-requests.js';
import { createUser } from '../support/users.js';

/** What a caller without a key sees, from the client IP `ip` (sent as X-Forwarded-For; the app trusts it). */
function guestFrom(t: TestApp, ip: string) {
  const api = client(t.url);
  const headers = { 'x-forwarded-for': ip };
  return {
    get: (path: string) => api.get(path, { headers }),
    post: (path: string, body: unknown) => api.post(path, body, { headers }),
    example: (example: (typeof LUMINARY_EXAMPLES)[keyof typeof LUMINARY_EXAMPLES]) =>
      api.call(example.method, example.path, { headers: { ...example.headers, ...headers }, body: example.body }),
  };
}

const ask = { model: 'standin-gpt', max_tokens: 20, messages: [{ role: 'user', content: 'hello' }] };

describe('guest access', () => {
  let upstream: StandInUpstream;
  let db: TestDatabase;

  beforeAll(async () => {
    upstream = await startStandInUpstream();
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await db.close();
    await upstream.close();
  });
  beforeEach(() => upstream.reset());

  const start = (env: Record<string, string> = {}) =>
    startTestApp({ db, env: { CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }), UPSTREAM_MAX_RETRIES: '0', ...env } });

  describe('off (the default)', () => {
    let t: TestApp;
    beforeAll(async () => (t = await start()));
    afterAll(() => t.close());

    it('answers a request without a key 401, and leaves the public routes public', async () => {
      expectError(await client(t.url).get('/v1/models'), 401, 'missing_api_key');
      expectError(await client(t.url).post('/v1/chat/completions', ask), 401, 'missing_api_key');
      expect((await client(t.url).get('/health')).status).toBe(200);
      expect((await client(t.url).get('/')).status).toBe(200);
      expect((await client(t.url).get('/config', { key: t.adminKey })).body.guest).toEqual({
        enabled: false,
        rpm_per_ip: 10,
        daily_budget_usd: 0.5,
        scope: 'all',
      });
      expect(t.logs.some((line) => line.includes('guest access is ON'))).toBe(false);
      expect(await t.prisma.user.count({ where: { id: GUEST_USER_ID } })).toBe(0);
    });
  });

  describe('on', () => {
    let t: TestApp;
    let admin: ReturnType<typeof client>;
    // The shared guest account's own windows stay out of the way (RATE_LIMIT_RPM); the budget is small.
    beforeAll(async () => {
      t = await start({ GUEST_ACCESS: 'true', TRUST_PROXY: 'true', GUEST_DAILY_BUDGET_USD: '0.05', RATE_LIMIT_RPM: '1000' });
      admin = client(t.url, t.adminKey);
    });
    afterAll(() => t.close());

    it('says so in the startup log and in GET /config, and creates the guest as a plain user with the daily budget', async () => {
      expect(t.logs.some((line) => line.includes("guest access is ON: requests without a key act as 'guest' (10 req/min per IP, $0.05/day)"))).toBe(
        true,
      );
      // The guest is ready before the server says it is.
      const lines = t.logs.join('');
      expect(lines.indexOf('guest access is ON')).toBeLessThan(lines.indexOf('"msg":"ready for requests"'));
      const config = await admin.get('/config');
      expect(config.body.guest).toEqual({ enabled: true, rpm_per_ip: 10, daily_budget_usd: 0.05, scope: 'all' });
      const guest = await admin.get(`/users/${GUEST_USER_ID}`);
      expect(guest.body).toMatchObject({ name: 'guest', role: 'user', disabled: false, budget: { amount_usd: 0.05, period: 'day' } });
    });

    it("serves LuminaryChat's curl examples without an Authorization header, metered to the guest", async () => {
      const guest = guestFrom(t, '198.51.100.1');
      const models = await guest.example(LUMINARY_EXAMPLES.listModels);
      expect(models.status).toBe(200);
      expect(models.body.data.map((m: { id: string }) => m.id)).toEqual(expect.arrayContaining(['luminary/socrates', 'luminary/sun_tzu']));

      const chat = await guest.example(LUMINARY_EXAMPLES.chat);
      expect(chat.status).toBe(200);
      expect(chat.body).toMatchObject({ object: 'chat.completion', model: 'luminary/socrates' });
      expect(chat.body.choices[0].message.content).toContain('What is wisdom?');
      expect(chat.headers.get('x-ratelimit-limit-requests')).toBe('10');

      const stream = await guest.example(LUMINARY_EXAMPLES.stream);
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
      expect(stream.text).toContain('"model":"luminary/sun_tzu"');
      expect(stream.text.trim().endsWith('data: [DONE]')).toBe(true);

      const records = (await usageRecords(t)).filter((r) => r.userId === GUEST_USER_ID);
      expect(records).toHaveLength(2);
      expect(records.map((r) => [r.apiKeyId, r.requestedModel, r.status])).toEqual([
        [GUEST_KEY_ID, 'luminary/socrates', 'ok'],
        [GUEST_KEY_ID, 'luminary/sun_tzu', 'ok'],
      ]);
      expect(records.every((r) => r.costMicros > 0n)).toBe(true);
    });

    it('allows 10 requests a minute per client IP (every guest request counts), then 429 with retry-after; another IP still gets through', async () => {
      const guest = guestFrom(t, '198.51.100.2');
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) statuses.push((i % 2 ? await guest.get('/v1/models') : await guest.post('/v1/chat/completions', ask)).status);
      expect(statuses).toEqual(Array(10).fill(200));
      const refused = await guest.post('/v1/chat/completions', ask);
      const error = expectError(refused, 429, 'rate_limit_exceeded');
      expect(error.type).toBe('requests');
      expect(error.message).toMatch(/client IP/);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
      expectError(await guest.get('/v1/models'), 429, 'rate_limit_exceeded');
      expect(upstream.requests).toHaveLength(5);

      expect((await guestFrom(t, '198.51.100.3').post('/v1/chat/completions', ask)).status).toBe(200);
      // A keyed caller from the same address is not a guest: its own limits only.
      const user = await createUser(t.url, t.adminKey);
      expect((await user.api.post('/v1/chat/completions', ask, { headers: { 'x-forwarded-for': '198.51.100.2' } })).status).toBe(200);
    });

    it('answers a wrong, revoked, empty or malformed key 401, never as the guest', async () => {
      const api = client(t.url);
      const wrong = await api.get('/v1/models', { key: 'cq_not-a-real-key-0123456789abcdefghijklmnop' });
      expectError(wrong, 401, 'invalid_api_key');
      const user = await createUser(t.url, t.adminKey);
      await admin.delete(`/keys/${user.keyId}`);
      expectError(await user.api.post('/v1/chat/completions', ask), 401);
      for (const authorization of ['', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'cq_not-a-real-key-0123456789abcdefghijklmnop']) {
        const res = await api.get('/v1/models', { headers: { authorization } });
        expect({ authorization, status: res.status }).toEqual({ authorization, status: 401 });
      }
    });

    it('lets guests use every user route as the one shared guest account (stored and metered), never an admin route', async () => {
      const guest = guestFrom(t, '198.51.100.4');
      for (const path of ['/users', `/users/${GUEST_USER_ID}/keys`, '/config']) {
        expectError(await guest.get(path), 403, 'admin_required');
      }
      expectError(await guest.post(`/users/${GUEST_USER_ID}/keys`, {}), 403, 'admin_required');
      const chat = await guest.post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'hi' }] });
      expect(chat.status).toBe(200);
      const other = guestFrom(t, '198.51.100.40');
      // Guests share what they store: the README says so.
      expect((await other.get('/conversations')).body.data.map((c: { id: string }) => c.id)).toContain(chat.body.conversation_id);
      expect((await other.get('/me')).body).toMatchObject({ id: GUEST_USER_ID, role: 'user' });
      expect((await usageRecords(t)).filter((r) => r.conversationId === chat.body.conversation_id)).toMatchObject([{ userId: GUEST_USER_ID }]);
    });

    it('never lets the guest become an admin', async () => {
      expectError(await admin.patch(`/users/${GUEST_USER_ID}`, { role: 'admin' }), 409);
      expect((await admin.get(`/users/${GUEST_USER_ID}`)).body.role).toBe('user');
    });

    it('stops guests at once when an admin disables the guest user (403), and serves them again once enabled', async () => {
      const guest = guestFrom(t, '198.51.100.5');
      await admin.patch(`/users/${GUEST_USER_ID}`, { disabled: true });
      expectError(await guest.get('/v1/models'), 403, 'account_disabled');
      await admin.patch(`/users/${GUEST_USER_ID}`, { disabled: false });
      expect((await guest.get('/v1/models')).status).toBe(200);
    });

    it("refuses a guest call once the guest's daily budget cannot cover it, as any budget does (429 insufficient_quota)", async () => {
      const guest = guestFrom(t, '198.51.100.6');
      // 4,000 answer tokens at $10 per 1M: $0.04 of the $0.05 budget.
      upstream.setDefault({ kind: 'reply', text: 'long', usage: { prompt_tokens: 10, completion_tokens: 4_000 } });
      expect((await guest.post('/v1/chat/completions', { ...ask, max_tokens: 4_000 })).status).toBe(200);
      const refused = await guest.post('/v1/chat/completions', { ...ask, max_tokens: 4_000 });
      const error = expectError(refused, 429, 'insufficient_quota');
      expect(error.message).toMatch(/user's budget of \$0\.05 for today/);
      expect(refused.headers.get('x-should-retry')).toBe('false');
      expect(upstream.requests).toHaveLength(1);
      // A request from another IP meets the same budget: it is the guest account's.
      expectError(await guestFrom(t, '198.51.100.7').post('/v1/chat/completions', { ...ask, max_tokens: 4_000 }), 429, 'insufficient_quota');
      expect((await guest.get('/v1/models')).status).toBe(200);
    });
  });

  describe('on again, without TRUST_PROXY', () => {
    let t: TestApp;
    beforeAll(async () => (t = await start({ GUEST_ACCESS: 'true', GUEST_SCOPE: 'stateless', RATE_LIMIT_RPM: '1000' })));
    afterAll(() => t.close());

    it('with guest.scope stateless, keeps guests off every stateful route (403), charging them nothing', async () => {
      const guest = guestFrom(t, '198.51.100.4');
      for (const path of ['/users', `/users/${GUEST_USER_ID}/keys`, '/config']) {
        expectError(await guest.get(path), 403, 'admin_required');
      }
      expectError(await guest.post(`/users/${GUEST_USER_ID}/keys`, {}), 403, 'admin_required');
      for (const path of [
        '/me',
        '/conversations',
        '/files',
        '/v1/files',
        '/memories',
        '/usage',
        '/jobs',
        '/sessions/x',
        `/users/me/stats`,
        '/tools',
      ]) {
        const res = await guest.get(path);
        expect({ path, status: res.status, code: res.body?.error?.code }).toEqual({ path, status: 403, code: 'guest_not_allowed' });
      }
      const denied: HttpResult[] = [
        await guest.post('/chat', { messages: [{ role: 'user', content: 'hi' }] }),
        await guest.post('/jobs', { messages: [{ role: 'user', content: 'hi' }] }),
        await guest.post('/memories', { content: 'I am a guest' }),
        await guest.post('/v1/images/generations', { prompt: 'a cat' }),
      ];
      for (const res of denied) expectError(res, 403, 'guest_not_allowed');
      expect(upstream.requests).toHaveLength(0);
      // None of that counted against the IP.
      const first = await guest.get('/v1/models');
      expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('9');
    });

    it('updates the same guest user (idempotent) with the budget now configured', async () => {
      expect(await t.prisma.user.count({ where: { name: 'guest' } })).toBe(1);
      expect(await t.prisma.apiKey.count({ where: { userId: GUEST_USER_ID } })).toBe(1);
      const guest = await client(t.url, t.adminKey).get(`/users/${GUEST_USER_ID}`);
      expect(guest.body).toMatchObject({ role: 'user', budget: { amount_usd: 0.5, period: 'day' } });
      expect(t.logs.some((line) => line.includes('(10 req/min per IP, $0.50/day)'))).toBe(true);
    });

    it("counts guests by the connection's address, whatever X-Forwarded-For claims", async () => {
      // One of the address's 10 went to the test above.
      for (let i = 0; i < 9; i++) expect((await guestFrom(t, `203.0.113.${i}`).get('/v1/models')).status).toBe(200);
      expectError(await guestFrom(t, '203.0.113.99').get('/v1/models'), 429, 'rate_limit_exceeded');
      // Another client address (Fastify's inject stands in for a second machine).
      const other = await t.app.inject({ method: 'GET', url: '/v1/models', remoteAddress: '192.0.2.10' });
      expect(other.statusCode).toBe(200);
    });
  });

  describe('off again', () => {
    let t: TestApp;
    beforeAll(async () => (t = await start()));
    afterAll(() => t.close());

    it('answers requests without a key 401 again, the guest user left in place', async () => {
      expectError(await client(t.url).get('/v1/models'), 401, 'missing_api_key');
      expectError(await client(t.url).post('/v1/chat/completions', ask), 401, 'missing_api_key');
      expect(await t.prisma.user.count({ where: { id: GUEST_USER_ID } })).toBe(1);
    });
  });
});
