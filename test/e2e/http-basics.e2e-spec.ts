import { assertOpenAI } from '../support/openai-schemas.js';
import { client, expectError } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describe('HTTP basics: errors, request ids, CORS, security headers, docs', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    t = await startTestApp({
      env: { CORS_ORIGINS: 'https://app.example.com', MAX_BODY_MB: '0.01' },
      routes: (fastify) => {
        // A deliberately broken route: what an unexpected bug looks like to a client.
        fastify.get('/__test/boom', async () => {
          throw new Error('connection string postgres://secret@db/internal leaked');
        });
      },
    });
    api = client(t.url, t.adminKey);
  });
  afterAll(() => t.close());

  it('answers an unknown route with a 404 envelope', async () => {
    const res = await api.get('/no/such/route');
    const error = expectError(res, 404);
    expect(error.message).toContain('/no/such/route');
    assertOpenAI('ErrorResponse', res.body);
  });

  it('answers malformed JSON with a 400 envelope', async () => {
    const res = await api.post('/users', '{"name": ', { headers: { 'content-type': 'application/json' } });
    expectError(res, 400);
    assertOpenAI('ErrorResponse', res.body);
  });

  it('answers a wrong content type with 415', async () => {
    const res = await api.post('/users', 'name=x', { headers: { 'content-type': 'text/plain' } });
    expectError(res, 415);
    const form = await api.post('/users', 'name=x', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expectError(form, 415);
  });

  it('answers an oversized body with 413', async () => {
    const res = await api.post('/users', { name: 'x'.repeat(20_000) });
    expectError(res, 413);
  });

  it('answers a validation failure naming the field', async () => {
    const res = await api.post('/users', { name: 'ok', role: 'emperor' });
    const error = expectError(res, 400);
    expect(error.param).toBe('role');
    const unknown = await api.post('/users', { name: 'ok', favourite_colour: 'blue' });
    expectError(unknown, 400);
  });

  it('hides the details of an internal failure behind a plain 500', async () => {
    const res = await api.get('/__test/boom');
    const error = expectError(res, 500);
    assertOpenAI('ErrorResponse', res.body);
    expect(res.text).not.toMatch(/secret|postgres|stack|Error:/);
    expect(error.type).toBe('server_error');
    // The log keeps what the client is not told, for the operator.
    expect(t.logs.join('')).toContain('unhandled error');
  });

  it('keeps a well-formed incoming x-request-id and makes one otherwise', async () => {
    const kept = await api.get('/health/live', { headers: { 'x-request-id': 'trace-abc.123' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-abc.123');
    const replaced = await api.get('/health/live', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const error = await api.get('/nope', { headers: { 'x-request-id': 'trace-err-1' } });
    expect(error.headers.get('x-request-id')).toBe('trace-err-1');
  });

  it('allows only the configured origins and exposes the headers clients need', async () => {
    const preflight = await fetch(`${t.url}/v1/models`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    const simple = await fetch(`${t.url}/health/live`, { headers: { origin: 'https://app.example.com' } });
    expect(simple.headers.get('access-control-expose-headers')).toMatch(/x-request-id/);
    expect(simple.headers.get('access-control-expose-headers')).toMatch(/x-ratelimit-remaining-requests/);
    const other = await fetch(`${t.url}/health/live`, { headers: { origin: 'https://evil.example.net' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('without CORS_ORIGINS allows no origin at all: no preflight, no CORS headers', async () => {
    const closed = await startTestApp();
    try {
      const preflight = await fetch(`${closed.url}/v1/models`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
      });
      expect(preflight.status).toBe(404);
      const simple = await fetch(`${closed.url}/health/live`, { headers: { origin: 'https://app.example.com' } });
      expect(simple.status).toBe(200);
      for (const res of [preflight, simple]) {
        expect([...res.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
      }
    } finally {
      await closed.close();
    }
  });

  it('sends security headers on every response, errors included', async () => {
    for (const res of [await fetch(`${t.url}/`), await fetch(`${t.url}/nope`)]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBeTruthy();
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });

  it('serves the index, Swagger UI and an OpenAPI 3 document with bearer auth', async () => {
    const index = await api.get('/', { key: null });
    expect(index.body).toMatchObject({ name: 'colloquy', links: { docs: '/docs' } });
    const ui = await fetch(`${t.url}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
    const doc = await api.get('/docs-json', { key: null });
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(doc.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const createUser = doc.body.paths['/users'].post;
    expect(createUser.requestBody.content['application/json'].schema).toBeDefined();
    expect(Object.keys(createUser.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403']));
    // Every route documents at least one error response, the probes and the index included.
    for (const [path, item] of Object.entries<Record<string, { responses: object }>>(doc.body.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const statuses = Object.keys(op.responses ?? {});
        expect({ route: `${method} ${path}`, errors: statuses.some((s) => s >= '400') }).toEqual({ route: `${method} ${path}`, errors: true });
      }
    }
    for (const path of ['/health/live', '/health', '/']) {
      expect(doc.body.paths[path].get.responses['503'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
    }
  });
});
