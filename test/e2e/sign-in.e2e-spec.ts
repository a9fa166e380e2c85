import WebSocket from 'ws';
import { connectChatSocket, contentOf } from '../support/chat-socket-client.js';
import { client, expectError, type HttpResult } from '../support/http.js';
import { startTestApp, waitFor, type TestApp } from '../support/test-app.js';

const PASSWORD = 'correct horse battery';
const ECHO_CHAT = { model: 'colloquy/echo', messages: [{ role: 'user', content: 'hello there' }] };

interface SignedIn {
  res: HttpResult;
  setCookie: string;
  /** `colloquy_session=<token>`, as a browser would send it back. */
  cookie: string;
  csrf: string;
}

let ipCounter = 0;
/** A client address of its own (Fastify's inject stands in for another machine), so that failure counts never add up across tests. */
const freshIp = () => `198.51.100.${++ipCounter}`;

describe('sign-in: passwords, session cookies, CSRF', () => {
  let t: TestApp;
  let admin: ReturnType<typeof client>;
  let anon: ReturnType<typeof client>;
  const passwordsUsed = new Set<string>([PASSWORD]);

  beforeAll(async () => {
    t = await startTestApp();
    admin = client(t.url, t.adminKey);
    anon = client(t.url);
  });
  afterAll(() => t.close());

  async function login(body: object, headers: Record<string, string> = {}): Promise<SignedIn> {
    const res = await anon.post('/auth/login', body, { headers });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    return { res, setCookie, cookie: setCookie.split(';')[0], csrf: res.body.csrf_token };
  }

  /** Attempts a sign-in from another client address; answers the status and body. */
  async function loginFrom(ip: string, body: object) {
    const res = await t.app.inject({ method: 'POST', url: '/auth/login', payload: body, remoteAddress: ip });
    return { status: res.statusCode, body: res.json(), headers: res.headers };
  }

  async function userWithPassword(extra: object = {}) {
    const name = `u-${Math.random().toString(36).slice(2, 10)}`;
    const created = await admin.post('/users', { name, email: `${name}@example.com`, password: PASSWORD, ...extra });
    expect(created.status).toBe(201);
    return created.body as { id: string; name: string; email: string };
  }

  const withCookie = (s: SignedIn, csrf?: string) => ({ key: null, headers: { cookie: s.cookie, ...(csrf ? { 'x-csrf-token': csrf } : {}) } });

  it('lets an admin set a password (at least 12 characters), never showing it', async () => {
    const short = await admin.post('/users', { name: 'shorty', password: 'short' });
    expect(expectError(short, 400).param).toBe('password');
    const user = await userWithPassword();
    expect(user).toMatchObject({ has_password: true });
    expect(JSON.stringify(user)).not.toContain(PASSWORD);
    const read = await admin.get(`/users/${user.id}`);
    expect(read.text).not.toContain(PASSWORD);
    expect(read.text).not.toContain('scrypt');
    const tooShort = await admin.patch(`/users/${user.id}`, { password: 'x'.repeat(11) });
    expect(expectError(tooShort, 400).param).toBe('password');
  });

  it('signs in by name, by email (any case) and by API key, setting an HttpOnly SameSite=Strict cookie without Secure over http', async () => {
    const user = await userWithPassword();
    for (const body of [
      { name_or_email: user.name, password: PASSWORD },
      { name_or_email: user.email.toUpperCase(), password: PASSWORD },
    ]) {
      const s = await login(body);
      expect(s.res.body).toMatchObject({
        user: { id: user.id, object: 'user', name: user.name, key: { id: expect.any(String) } },
        csrf_token: expect.any(String),
      });
      expect(s.cookie).toMatch(/^colloquy_session=[\w-]{43}$/);
      const flags = s.setCookie.split(';').map((f) => f.trim());
      expect(flags).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/']));
      expect(flags).not.toContain('Secure');
      expect(s.res.text).not.toContain(PASSWORD);
    }
    const key = await admin.post(`/users/${user.id}/keys`, { name: 'laptop' });
    const byKey = await login({ api_key: key.body.key });
    // A key sign-in acts through that key: same limits, same usage records.
    expect(byKey.res.body.user).toMatchObject({ id: user.id, key: { id: key.body.id } });
  });

  it('accepts the cookie on every route as a bearer key: GET /me, /v1/models', async () => {
    const user = await userWithPassword();
    const s = await login({ name_or_email: user.name, password: PASSWORD });
    const me = await anon.get('/me', withCookie(s));
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: user.id, key: { id: s.res.body.user.key.id } });
    expect((await anon.get('/v1/models', withCookie(s))).status).toBe(200);
  });

  it('needs x-csrf-token on cookie-authenticated writes (403 csrf_token_invalid), never on bearer ones', async () => {
    const user = await userWithPassword();
    const s = await login({ name_or_email: user.name, password: PASSWORD });
    expectError(await anon.post('/memories', { content: 'no token' }, withCookie(s)), 403, 'csrf_token_invalid');
    expectError(await anon.post('/memories', { content: 'wrong token' }, withCookie(s, 'not-the-token')), 403, 'csrf_token_invalid');
    const other = await login({ name_or_email: user.name, password: PASSWORD });
    expectError(await anon.post('/chat', ECHO_CHAT, withCookie(s, other.csrf)), 403, 'csrf_token_invalid');
    const memory = await anon.post('/memories', { content: 'with the token' }, withCookie(s, s.csrf));
    expect(memory.status).toBe(201);
    const chat = await anon.post('/chat', ECHO_CHAT, withCookie(s, s.csrf));
    expect(chat.status).toBe(200);
    expect(chat.body).toMatchObject({ object: 'chat.completion', conversation_id: expect.any(String) });
    // Requests through the cookie are the user's, metered to the key the session acts through.
    const key = await admin.post(`/users/${user.id}/keys`, {});
    expect((await client(t.url, key.body.key).post('/memories', { content: 'bearer needs none' })).status).toBe(201);
  });

  it('answers every failed sign-in with the same 401, unknown account and wrong password alike', async () => {
    const user = await userWithPassword();
    const unknown = await loginFrom(freshIp(), { name_or_email: 'nobody-here', password: PASSWORD });
    const wrong = await loginFrom(freshIp(), { name_or_email: user.name, password: 'wrong password!' });
    const badKey = await loginFrom(freshIp(), { api_key: 'cq_thisKeyDoesNotExistAnywhere0123456789abcdefgh' });
    for (const res of [unknown, wrong, badKey]) {
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'invalid_credentials', message: unknown.body.error.message });
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    expectError(await anon.post('/auth/login', { name_or_email: user.name }), 400);
  });

  it('refuses the 6th attempt within a minute for one account (429 with retry-after), even with the right password', async () => {
    const user = await userWithPassword();
    for (let i = 0; i < 5; i++) expect((await loginFrom(freshIp(), { name_or_email: user.email, password: `wrong password ${i}` })).status).toBe(401);
    for (const password of ['wrong password 6', PASSWORD]) {
      const refused = await loginFrom(freshIp(), { name_or_email: user.email.toUpperCase(), password });
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe('too_many_login_attempts');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    }
    // Another account is not locked by it.
    const other = await userWithPassword();
    expect((await loginFrom(freshIp(), { name_or_email: other.name, password: PASSWORD })).status).toBe(200);
  });

  it('refuses the 6th failed attempt within a minute from one client IP, whatever accounts it tries', async () => {
    const ip = freshIp();
    for (let i = 0; i < 5; i++) expect((await loginFrom(ip, { name_or_email: `nobody-${i}`, password: PASSWORD })).status).toBe(401);
    const user = await userWithPassword();
    const refused = await loginFrom(ip, { name_or_email: user.name, password: PASSWORD });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await loginFrom(ip, { api_key: t.adminKey })).status).toBe(429);
    // Successes do not count: the same user from another address signs in, many times.
    const elsewhere = freshIp();
    for (let i = 0; i < 6; i++) expect((await loginFrom(elsewhere, { name_or_email: user.name, password: PASSWORD })).status).toBe(200);
  });

  it('signs out: the session ends on the server (401 after), the cookie is cleared; needs the CSRF token', async () => {
    const user = await userWithPassword();
    const s = await login({ name_or_email: user.name, password: PASSWORD });
    expectError(await anon.post('/auth/logout', undefined, withCookie(s)), 403, 'csrf_token_invalid');
    expect((await anon.get('/me', withCookie(s))).status).toBe(200);
    const out = await anon.post('/auth/logout', undefined, withCookie(s, s.csrf));
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/^colloquy_session=;.*Max-Age=0/);
    expectError(await anon.get('/me', withCookie(s)), 401, 'session_invalid');
    expectError(await anon.post('/auth/logout', undefined, withCookie(s, s.csrf)), 401);
    expectError(await anon.post('/auth/logout'), 401);
  });

  it('tells a reloaded page its session and CSRF token again (GET /auth/session)', async () => {
    const user = await userWithPassword();
    const s = await login({ name_or_email: user.name, password: PASSWORD });
    const again = await anon.get('/auth/session', withCookie(s));
    expect(again.status).toBe(200);
    expect(again.body).toEqual(s.res.body);
    expectError(await anon.get('/auth/session'), 401);
  });

  it('counts failures per account whether it is named by name or by email; wildcards name no one', async () => {
    const user = await userWithPassword();
    for (let i = 0; i < 5; i++) {
      const name_or_email = i % 2 ? user.name : user.email;
      expect((await loginFrom(freshIp(), { name_or_email, password: `wrong password ${i}` })).status).toBe(401);
    }
    expect((await loginFrom(freshIp(), { name_or_email: user.name, password: PASSWORD })).status).toBe(429);
    // A LIKE pattern that would match the user's email signs in no one, and counts against no real account.
    const other = await userWithPassword();
    const pattern = other.email.replace(/^u-/, 'u_').replace(/@.*/, '%');
    expect((await loginFrom(freshIp(), { name_or_email: pattern, password: PASSWORD })).status).toBe(401);
    expect((await loginFrom(freshIp(), { name_or_email: '%', password: PASSWORD })).status).toBe(401);
  });

  it('ends a password session when its sign-in key is revoked, and a later sign-in does not bring it back', async () => {
    const user = await userWithPassword();
    const s = await login({ name_or_email: user.name, password: PASSWORD });
    expect(s.setCookie).not.toMatch(/Max-Age/i);
    const keyId = s.res.body.user.key.id as string;
    expect((await admin.delete(`/keys/${keyId}`)).status).toBe(200);
    expectError(await anon.get('/me', withCookie(s)), 401, 'session_invalid');
    const again = await login({ name_or_email: user.name, password: PASSWORD });
    expect((await anon.get('/me', withCookie(again))).status).toBe(200);
    expectError(await anon.get('/me', withCookie(s)), 401, 'session_invalid');
  });

  it('ends the sessions of a user who is disabled (and re-enabling does not bring them back)', async () => {
    const user = await userWithPassword();
    const s = await login({ name_or_email: user.name, password: PASSWORD });
    expect((await anon.get('/me', withCookie(s))).status).toBe(200);
    expect((await admin.patch(`/users/${user.id}`, { disabled: true })).status).toBe(200);
    expectError(await anon.get('/me', withCookie(s)), 401, 'session_invalid');
    const disabled = await loginFrom(freshIp(), { name_or_email: user.name, password: PASSWORD });
    expect({ status: disabled.status, code: disabled.body.error.code }).toEqual({ status: 403, code: 'account_disabled' });
    expect((await admin.patch(`/users/${user.id}`, { disabled: false })).status).toBe(200);
    expectError(await anon.get('/me', withCookie(s)), 401, 'session_invalid');
    expect((await loginFrom(freshIp(), { name_or_email: user.name, password: PASSWORD })).status).toBe(200);
  });

  it('lets users change their own password with the current one; the old one stops working, other sessions end', async () => {
    const user = await userWithPassword();
    const s = await login({ name_or_email: user.name, password: PASSWORD });
    const elsewhere = await login({ name_or_email: user.name, password: PASSWORD });
    const next = 'a brand new passphrase';
    passwordsUsed.add(next);
    const wrong = await anon.patch('/me/password', { current_password: 'not my password', password: next }, withCookie(s, s.csrf));
    expectError(wrong, 401, 'invalid_credentials');
    expectError(await anon.patch('/me/password', { password: next }, withCookie(s, s.csrf)), 401, 'invalid_credentials');
    expect(expectError(await anon.patch('/me/password', { current_password: PASSWORD, password: 'short' }, withCookie(s, s.csrf)), 400).param).toBe(
      'password',
    );
    const changed = await anon.patch('/me/password', { current_password: PASSWORD, password: next }, withCookie(s, s.csrf));
    expect(changed.status).toBe(200);
    expect(changed.text).not.toContain(next);
    expect((await anon.get('/me', withCookie(s))).status).toBe(200);
    expectError(await anon.get('/me', withCookie(elsewhere)), 401);
    expect((await loginFrom(freshIp(), { name_or_email: user.name, password: PASSWORD })).status).toBe(401);
    expect((await loginFrom(freshIp(), { name_or_email: user.name, password: next })).status).toBe(200);
  });

  it('lets the first admin set its password with its printed key, once; then signs in with it', async () => {
    const mine = 'the first admin password';
    passwordsUsed.add(mine);
    expect((await admin.patch('/me/password', { password: mine })).status).toBe(200);
    expectError(await admin.patch('/me/password', { password: 'yet another password' }), 401, 'invalid_credentials');
    const s = await login({ name_or_email: 'admin', password: mine });
    expect(s.res.body.user).toMatchObject({ role: 'admin', has_password: true });
    expect((await anon.get('/users', withCookie(s))).status).toBe(200);
  });

  it('expires a session past its expiry', async () => {
    const user = await userWithPassword();
    const s = await login({ name_or_email: user.name, password: PASSWORD });
    expect((await anon.get('/me', withCookie(s))).status).toBe(200);
    const row = await t.prisma.loginSession.findFirstOrThrow({ where: { userId: user.id } });
    // 12 hours by default (SESSION_TTL_HOURS).
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBeGreaterThan(11.9 * 3_600_000);
    expect(row.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(s.cookie).not.toContain(row.tokenHash);
    await t.prisma.loginSession.update({ where: { id: row.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    // The verdict is cached for AUTH_CACHE_TTL_MS (2 s), as a key's is.
    await waitFor(async () => (await anon.get('/me', withCookie(s))).status === 401);
  });

  it("keeps a user's cookie out of admin routes (403) and other users' conversations (404)", async () => {
    const user = await userWithPassword();
    const s = await login({ name_or_email: user.name, password: PASSWORD });
    expectError(await anon.get('/users', withCookie(s)), 403, 'admin_required');
    expectError(await anon.post('/users', { name: 'x' }, withCookie(s, s.csrf)), 403, 'admin_required');
    const theirs = await admin.post('/chat', ECHO_CHAT);
    expect(theirs.status).toBe(200);
    expectError(await anon.get(`/conversations/${theirs.body.conversation_id}`, withCookie(s)), 404);
  });

  it('refuses a cookie that is present but not valid with 401, and one without its value', async () => {
    expectError(await anon.get('/me', { key: null, headers: { cookie: 'colloquy_session=not-a-session' } }), 401, 'session_invalid');
    expectError(await anon.get('/me', { key: null, headers: { cookie: 'colloquy_session=' } }), 401, 'session_invalid');
    // Other cookies are not a credential: no cookie of ours is no credential at all.
    expectError(await anon.get('/me', { key: null, headers: { cookie: 'theme=dark' } }), 401, 'missing_api_key');
  });

  it('sends a CSP without upgrade-insecure-requests over plain HTTP', async () => {
    const res = await anon.get('/docs');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toContain('upgrade-insecure-requests');
  });

  it('documents the routes under the Auth tag', async () => {
    const doc = (await anon.get('/docs-json')).body;
    for (const [path, method] of [
      ['/auth/login', 'post'],
      ['/auth/logout', 'post'],
      ['/auth/session', 'get'],
      ['/me/password', 'patch'],
    ]) {
      expect(doc.paths[path][method]).toMatchObject({ tags: ['Auth'], description: expect.any(String) });
    }
    expect(doc.tags).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Auth' })]));
    expect(JSON.stringify(doc.paths['/auth/login'].post.requestBody)).toContain('name_or_email');
  });

  describe('the chat WebSocket', () => {
    it('accepts the cookie with a matching Origin, and refuses it (403) from a foreign or missing Origin', async () => {
      const user = await userWithPassword();
      const s = await login({ name_or_email: user.name, password: PASSWORD });
      const ws = await connectChatSocket(t.url, { headers: { cookie: s.cookie, origin: t.url } });
      ws.send({ type: 'chat', ...ECHO_CHAT });
      const turn = await ws.nextTurn();
      expect(turn.at(-1)).toMatchObject({ type: 'done' });
      expect(contentOf(turn)).toContain('hello there');
      ws.socket.close();
      for (const headers of [{ cookie: s.cookie, origin: 'https://evil.example' }, { cookie: s.cookie }] as Array<Record<string, string>>) {
        const refused = await upgradeRefusal(t.url, headers);
        expect(refused.status).toBe(403);
        expect(refused.body.error.code).toBe('origin_mismatch');
      }
      expect((await upgradeRefusal(t.url, { cookie: 'colloquy_session=nope', origin: t.url })).status).toBe(401);
    });
  });

  it('never shows or logs a password', () => {
    const log = t.logs.join('');
    for (const password of passwordsUsed) expect(log).not.toContain(password);
    expect(log).not.toContain('scrypt$');
  });
});

describe('sign-in behind a TLS-terminating proxy (TRUST_PROXY)', () => {
  let t: TestApp;
  let anon: ReturnType<typeof client>;
  beforeAll(async () => {
    t = await startTestApp({ env: { TRUST_PROXY: 'true', GUEST_ACCESS: 'true' } });
    anon = client(t.url);
  });
  afterAll(() => t.close());

  it('marks the cookie Secure when the request came over HTTPS (X-Forwarded-Proto)', async () => {
    const res = await anon.post('/auth/login', { api_key: t.adminKey }, { headers: { 'x-forwarded-proto': 'https' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toMatch(/; Secure$/);
    const plain = await anon.post('/auth/login', { api_key: t.adminKey });
    expect(plain.headers.get('set-cookie')).not.toContain('Secure');
  });

  it('adds upgrade-insecure-requests to the CSP over HTTPS only', async () => {
    const https = await anon.get('/docs', { headers: { 'x-forwarded-proto': 'https' } });
    expect(https.headers.get('content-security-policy')).toContain('upgrade-insecure-requests');
    expect((await anon.get('/docs')).headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
  });

  it('counts failures by the client IP X-Forwarded-For names', async () => {
    const from = (ip: string, body: object) => anon.post('/auth/login', body, { headers: { 'x-forwarded-for': ip } });
    for (let i = 0; i < 5; i++) expect((await from('203.0.113.7', { name_or_email: `ghost-${i}`, password: 'whatever password' })).status).toBe(401);
    expectError(await from('203.0.113.7', { api_key: t.adminKey }), 429, 'too_many_login_attempts');
    expect((await from('203.0.113.8', { api_key: t.adminKey })).status).toBe(200);
  });

  it('with guest access on, a cookie present but not valid is a 401, never the guest', async () => {
    expect((await anon.get('/me')).body).toMatchObject({ name: 'guest' });
    expectError(await anon.get('/me', { headers: { cookie: 'colloquy_session=stale-or-forged' } }), 401, 'session_invalid');
    const s = await anon.post('/auth/login', { api_key: t.adminKey });
    const me = await anon.get('/me', { headers: { cookie: (s.headers.get('set-cookie') ?? '').split(';')[0] } });
    expect(me.body).toMatchObject({ role: 'admin', name: 'admin' });
  });
});

/** The HTTP answer to a WebSocket upgrade the server refused. */
function upgradeRefusal(url: string, headers: Record<string, string>): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/chat/ws`, [], { headers });
    socket.once('open', () => {
      socket.close();
      reject(new Error('the upgrade was accepted'));
    });
    socket.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: new Headers(), body: JSON.parse(text), text }));
    });
  });
}
