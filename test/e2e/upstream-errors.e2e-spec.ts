import { client, expectError, type HttpResult } from '../support/http.js';
import { startStandInUpstream, type Behavior, type StandInUpstream } from '../support/stand-in-upstream.js';
import { writeTestConfig } from '../support/test-config.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

// What an upstream might say in a failure: it must never reach a client, only the log.
const SECRET = 'INTERNAL-DETAIL-XYZ';
const exploded: Behavior = { kind: 'error', status: 500, message: `upstream exploded ${SECRET}` };

/** POSTs with stream: true and splits the SSE body into its data frames. */
async function stream(url: string, key: string, path: string, body: object) {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
  });
  const text = await res.text();
  const frames = text
    .split('\n\n')
    .filter((f) => f.startsWith('data: '))
    .map((f) => (f === 'data: [DONE]' ? '[DONE]' : JSON.parse(f.slice(6))));
  return { res, text, frames };
}

describe('upstream failures as clients see them', () => {
  let upstream: StandInUpstream;
  let t: TestApp;
  let api: ReturnType<typeof client>;
  const chat = { model: 'standin-gpt', messages: [{ role: 'user', content: 'hello' }] };

  beforeAll(async () => {
    upstream = await startStandInUpstream();
    t = await startTestApp({ env: { CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }), UPSTREAM_MAX_RETRIES: '0' } });
    api = client(t.url, t.adminKey);
  });
  afterAll(async () => {
    await t.close();
    await upstream.close();
  });
  beforeEach(() => upstream.reset());

  /** The error says which provider and model failed, and with which status, in our words only. */
  function expectOwnWords(res: HttpResult, status: number, model: string, upstreamStatus?: number) {
    expect(res.text).not.toContain(SECRET);
    const error = expectError(res, status);
    expect(error.message).toContain('standin');
    expect(error.message).toContain(model);
    if (upstreamStatus) expect(error.message).toContain(`HTTP ${upstreamStatus}`);
    return error;
  }

  describe('a 5xx with internal detail in its body', () => {
    it.each([
      [500, 502],
      [502, 502],
      [503, 503],
    ])('upstream %i: the client gets %i naming provider, model and status, not the text', async (upstreamStatus, status) => {
      upstream.setDefault({ kind: 'error', status: upstreamStatus, message: `upstream exploded ${SECRET}`, code: 'server_error' });
      expectOwnWords(await api.post('/v1/chat/completions', chat), status, 'standin-gpt', upstreamStatus);
      expectOwnWords(await api.post('/chat', chat), status, 'standin-gpt', upstreamStatus);
      expectOwnWords(await api.post('/v1/embeddings', { model: 'standin-embed', input: 'x' }), status, 'standin-embed', upstreamStatus);
      expectOwnWords(await api.post('/v1/images/generations', { model: 'standin-dalle', prompt: 'x' }), status, 'standin-dalle', upstreamStatus);
    });

    it('a non-JSON body (an HTML error page) is not quoted either', async () => {
      upstream.setDefault({
        kind: 'error',
        status: 500,
        headers: { 'content-type': 'text/html' },
        body: `<html><pre>Traceback ${SECRET}</pre></html>`,
      });
      expectOwnWords(await api.post('/v1/chat/completions', chat), 502, 'standin-gpt', 500);
      expectOwnWords(await api.post('/v1/embeddings', { model: 'standin-embed', input: 'x' }), 502, 'standin-embed', 500);
      expectOwnWords(await api.post('/v1/images/generations', { model: 'standin-dalle', prompt: 'x' }), 502, 'standin-dalle', 500);
      upstream.setDefault({ kind: 'error', status: 503, headers: { 'content-type': 'text/plain' }, body: `backend ${SECRET} down` });
      expectOwnWords(await api.post('/chat', chat), 503, 'standin-gpt', 503);
    });

    it('before the first streamed byte: a real error status, still without the text', async () => {
      upstream.setDefault(exploded);
      for (const path of ['/v1/chat/completions', '/chat']) {
        const { res, text } = await stream(t.url, t.adminKey, path, chat);
        expect(res.status).toBe(502);
        expect(text).not.toContain(SECRET);
        expect(JSON.parse(text).error.message).toContain('standin-gpt');
      }
    });
  });

  describe('an upstream 4xx: the client’s own request was bad', () => {
    it.each([400, 404, 422])('upstream %i keeps its status and message', async (status) => {
      const message = `temperature is out of range (${status})`;
      upstream.setDefault({ kind: 'error', status, message, code: 'invalid_value' });
      for (const res of [
        await api.post('/v1/chat/completions', chat),
        await api.post('/chat', chat),
        await api.post('/v1/embeddings', { model: 'standin-embed', input: 'x' }),
        await api.post('/v1/images/generations', { model: 'standin-dalle', prompt: 'x' }),
      ]) {
        expect(expectError(res, status, 'invalid_value').message).toBe(message);
      }
      const { res, text } = await stream(t.url, t.adminKey, '/v1/chat/completions', chat);
      expect(res.status).toBe(status);
      expect(JSON.parse(text).error.message).toBe(message);
    });
  });

  describe('failures inside a 200 stream', () => {
    const inStream = { message: `stream exploded ${SECRET}`, type: 'server_error', code: 502 };

    it('an error object as the first event: a 502 before anything is committed', async () => {
      upstream.setDefault({ kind: 'stream_error', afterChunks: 0, error: inStream });
      for (const path of ['/v1/chat/completions', '/chat']) {
        const { res, text } = await stream(t.url, t.adminKey, path, chat);
        expect(res.status).toBe(502);
        expect(text).not.toContain(SECRET);
        expect(JSON.parse(text).error.message).toMatch(/standin.*standin-gpt/);
      }
    });

    it.each<[string, Behavior, RegExp]>([
      ['an error object after some chunks', { kind: 'stream_error', afterChunks: 2, error: inStream }, /error mid-stream/],
      ['a malformed chunk', { kind: 'stream_error', afterChunks: 2, raw: `{"choices": [${SECRET}` }, /malformed JSON/],
      [
        'a chunk that is not a chunk',
        { kind: 'stream_error', afterChunks: 2, raw: JSON.stringify({ detail: SECRET }) },
        /not a chat completion chunk/,
      ],
      ['a connection that breaks', { kind: 'break', afterChunks: 3, text: `one two three ${SECRET}` }, /broke off the stream/],
    ])('%s: an in-band error naming provider and model, not the upstream’s text', async (_, behavior, what) => {
      upstream.setDefault(behavior);
      for (const path of ['/v1/chat/completions', '/chat']) {
        const { res, frames, text } = await stream(t.url, t.adminKey, path, chat);
        expect(res.status).toBe(200);
        expect(text).not.toContain(SECRET);
        const error = frames.find((f) => f !== '[DONE]' && f.error)?.error;
        expect(error).toMatchObject({ type: 'api_error', code: 'upstream_error' });
        expect(error.message).toMatch(/^The upstream provider standin /);
        expect(error.message).toContain('standin-gpt');
        expect(error.message).toMatch(what);
      }
    });
  });

  it('the upstream’s own words reach the log, at warn level only', () => {
    const lines = t.logs.flatMap((chunk) => chunk.split('\n')).filter((line) => line.includes(SECRET));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ level: 'warn' });
  });
});
