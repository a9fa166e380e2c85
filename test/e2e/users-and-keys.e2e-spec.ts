import { client, expectError } from '../support/http.js';
import { startTestApp, waitFor, type TestApp } from '../support/test-app.js';

describe('users, API keys and access control', () => {
  let t: TestApp;
  let admin: ReturnType<typeof client>;

  beforeAll(async () => {
    t = await startTestApp({ env: { AUTH_CACHE_TTL_MS: '60000' } });
    admin = client(t.url, t.adminKey);
  });
  afterAll(() => t.close());

  async function userWithKey(name: string) {
    const user = await admin.post('/users', { name });
    expect(user.status).toBe(201);
    const key = await admin.post(`/users/${user.body.id}/keys`, { name: `${name}'s laptop` });
    expect(key.status).toBe(201);
    return { user: user.body, key: key.body, api: client(t.url, key.body.key) };
  }

  it('refuses requests without a key, with a malformed header or with an unknown key', async () => {
    expectError(await admin.get('/me', { key: null }), 401, 'missing_api_key');
    expectError(await admin.get('/me', { key: null, headers: { authorization: 'Basic abc' } }), 401);
    expectError(await admin.get('/me', { key: 'cq_thisKeyDoesNotExistAnywhere0123456789abcdefgh' }), 401, 'invalid_api_key');
  });

  it('returns the caller on GET /me', async () => {
    const me = await admin.get('/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ object: 'user', role: 'admin', disabled: false, key: { id: expect.any(String) } });
  });

  it('creates users and issues keys shown once, listed by prefix only', async () => {
    const { user, key } = await userWithKey('ada');
    expect(key).toMatchObject({
      id: expect.any(String),
      key: expect.stringMatching(/^cq_[\w-]{43}$/),
      prefix: key.key.slice(0, 10),
      created_at: expect.any(Number),
    });
    const list = await admin.get(`/users/${user.id}/keys`);
    expect(list.body).toMatchObject({ object: 'list', has_more: false, data: [{ id: key.id, prefix: key.prefix }] });
    expect(list.text).not.toContain(key.key);
    expect(JSON.stringify(list.body.data[0])).not.toMatch(/hash/);
    const fetched = await admin.get(`/users/${user.id}`);
    expect(fetched.body).toMatchObject({ id: user.id, name: 'ada', role: 'user', limits: { rpm: null, tpm: null }, budget: null });
  });

  it("keeps a user's key away from admin routes", async () => {
    const { api } = await userWithKey('bob');
    expect((await api.get('/me')).status).toBe(200);
    for (const res of [await api.get('/users'), await api.post('/users', { name: 'x' }), await api.get('/config')]) {
      expectError(res, 403);
    }
  });

  it('revokes a key: the very next request with it gets 401', async () => {
    const { key, api } = await userWithKey('carol');
    expect((await api.get('/me')).status).toBe(200);
    const revoked = await admin.delete(`/keys/${key.id}`);
    expect(revoked.body).toEqual({ id: key.id, object: 'api_key', deleted: true });
    expectError(await api.get('/me'), 401);
    expectError(await admin.delete(`/keys/${key.id}`), 404);
    const listed = await admin.get(`/users/${key.user_id}/keys?include_revoked=true`);
    expect(listed.body.data[0].revoked_at).toEqual(expect.any(Number));
    expect((await admin.get(`/users/${key.user_id}/keys`)).body.data).toEqual([]);
  });

  it("refuses a disabled user's keys with 403 account_disabled, and lets them back in", async () => {
    const { user, api } = await userWithKey('dave');
    expect((await api.get('/me')).status).toBe(200);
    expect((await admin.patch(`/users/${user.id}`, { disabled: true })).body.disabled).toBe(true);
    expectError(await api.get('/me'), 403, 'account_disabled');
    await admin.patch(`/users/${user.id}`, { disabled: false });
    expect((await api.get('/me')).status).toBe(200);
  });

  it('updates names, roles, limits and budgets, and resets them with null', async () => {
    const { user, key } = await userWithKey('erin');
    const patched = await admin.patch(`/users/${user.id}`, {
      name: 'Erin',
      limits: { rpm: 10, tpm: 0 },
      budget: { amount_usd: 12.5, period: 'month' },
    });
    expect(patched.body).toMatchObject({ name: 'Erin', limits: { rpm: 10, tpm: 0 }, budget: { amount_usd: 12.5, period: 'month' } });
    const reset = await admin.patch(`/users/${user.id}`, { limits: null, budget: null });
    expect(reset.body).toMatchObject({ name: 'Erin', limits: { rpm: null, tpm: null }, budget: null });
    const keyPatch = await admin.patch(`/keys/${key.id}`, { name: 'ci', limits: { rpm: 5 }, budget: { amount_usd: 1, period: 'day' } });
    expect(keyPatch.body).toMatchObject({ name: 'ci', limits: { rpm: 5, tpm: null }, budget: { amount_usd: 1, period: 'day' } });
    expect(keyPatch.text).not.toContain(key.key);
    expectError(await admin.patch(`/users/${user.id}`, { budget: { amount_usd: -1, period: 'day' } }), 400);
    expectError(await admin.patch(`/keys/${key.id}`, { limits: { rpm: 1.5 } }), 400);
  });

  it('promotes a user to admin, and refuses to demote the last admin', async () => {
    const { user, api } = await userWithKey('frank');
    await admin.patch(`/users/${user.id}`, { role: 'admin' });
    expect((await api.get('/users')).status).toBe(200);
    await admin.patch(`/users/${user.id}`, { role: 'user' });
    expectError(await api.get('/users'), 403);
    const me = await admin.get('/me');
    expectError(await admin.patch(`/users/${me.body.id}`, { role: 'user' }), 409);
    expectError(await admin.patch(`/users/${me.body.id}`, { disabled: true }), 409);
  });

  it('answers unknown ids with 404 and malformed ids with 400', async () => {
    expectError(await admin.get('/users/01a21232-0000-7000-8000-000000000000'), 404);
    expectError(await admin.get('/users/not-a-uuid'), 400);
    expectError(await admin.post('/users/01a21232-0000-7000-8000-000000000000/keys', {}), 404);
    expectError(await admin.patch('/keys/01a21232-0000-7000-8000-000000000000', { name: 'x' }), 404);
  });

  it('answers a duplicate email with 409', async () => {
    expect((await admin.post('/users', { name: 'g1', email: 'g@example.com' })).status).toBe(201);
    const dup = expectError(await admin.post('/users', { name: 'g2', email: 'g@example.com' }), 409, 'already_exists');
    expect(dup.param).toBe('email');
  });

  it('pages lists with limit, after and order', async () => {
    for (let i = 0; i < 5; i++) await admin.post('/users', { name: `page-${i}` });
    const all = (await admin.get('/users?limit=100&order=asc')).body.data.map((u: { id: string }) => u.id);
    const first = await admin.get('/users?limit=2&order=asc');
    expect(first.body).toMatchObject({ object: 'list', has_more: true, first_id: all[0], last_id: all[1] });
    const second = await admin.get(`/users?limit=2&order=asc&after=${first.body.last_id}`);
    expect(second.body.data.map((u: { id: string }) => u.id)).toEqual(all.slice(2, 4));
    const desc = await admin.get('/users?limit=3');
    expect(desc.body.data.map((u: { id: string }) => u.id)).toEqual([...all].reverse().slice(0, 3));
    const last = await admin.get(`/users?limit=100&order=asc&after=${all.at(-2)}`);
    expect(last.body).toMatchObject({ has_more: false, data: [{ id: all.at(-1) }] });
    expectError(await admin.get('/users?limit=101'), 400);
    expectError(await admin.get('/users?order=sideways'), 400);
  });

  it('shows the effective configuration to admins with secrets redacted', async () => {
    const res = await admin.get('/config');
    expect(res.status).toBe(200);
    expect(res.body.auth.admin_key).toBe('[redacted]');
    expect(res.text).not.toContain(t.adminKey);
  });

  it('refuses a revoked key and a disabled user on another replica within seconds', async () => {
    const replica = await startTestApp({ db: t.db, env: { AUTH_CACHE_TTL_MS: '1000' } });
    try {
      const { user, key } = await userWithKey('hal');
      const onReplica = client(replica.url, key.key);
      expect((await onReplica.get('/me')).status).toBe(200);
      await admin.patch(`/users/${user.id}`, { disabled: true });
      const disabledAt = Date.now();
      await waitFor(async () => (await onReplica.get('/me')).status === 403, 5_000);
      expect(Date.now() - disabledAt).toBeLessThan(3_000);
      await admin.patch(`/users/${user.id}`, { disabled: false });
      await waitFor(async () => (await onReplica.get('/me')).status === 200, 5_000);
      await admin.delete(`/keys/${key.id}`);
      const revokedAt = Date.now();
      await waitFor(async () => (await onReplica.get('/me')).status === 401, 5_000);
      expect(Date.now() - revokedAt).toBeLessThan(3_000);
    } finally {
      await replica.close();
    }
  });

  it('never writes keys to the log', async () => {
    const { key, api } = await userWithKey('gina');
    await api.get('/me');
    await api.get('/users');
    const log = t.logs.join('');
    expect(log).not.toContain(key.key);
    expect(log).not.toContain(t.adminKey);
    expect(log).toMatch(/"route":"\/me","status":200/);
  });
});
