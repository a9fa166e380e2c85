import { expectError, postSse } from '../support/http.js';
import { assertOpenAI } from '../support/openai-schemas.js';
import { useStandInApp } from '../support/stand-in-app.js';
import { STANDIN_PRICING } from '../support/test-config.js';
import { LUMA_REQUESTS } from '../support/seed-requests.js';
import { usageRecords } from '../support/test-app.js';

const LUMA_DEFAULTS = { temperature: 0.7, max_tokens: 1000, frequency_penalty: 0.5, presence_penalty: 0.5 };
const lastUserText = (body: { messages: ReadonlyArray<{ role: string; content: string }> }) =>
  body.messages.filter((m) => m.role === 'user').at(-1)!.content;

describe("Luma's chat routers: POST /chat/completion and /chat/stream", () => {
  const s = useStandInApp();

  async function conversations() {
    return s.t.prisma.conversation.count();
  }

  describe('POST /chat/completion', () => {
    it.each(Object.entries(LUMA_REQUESTS))(
      'answers the %s request as a chat.completion on luma/therapist, metered and not stored',
      async (_name, body) => {
        const before = await conversations();
        const res = await s.admin.post('/chat/completion', body);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/application\/json/);
        assertOpenAI('CreateChatCompletionResponse', res.body);
        expect(res.body).toMatchObject({ object: 'chat.completion', model: 'luma/therapist' });
        expect(res.body.choices[0].message.content).toBe(`Stand-in reply to: ${lastUserText(body)}`);

        // The persona over the default model: its system prompt unless the client sent one, its tuned sampling.
        const sent = s.upstream.requests[0].body!;
        expect(sent).toMatchObject({ model: 'gpt-standin', ...LUMA_DEFAULTS });
        const system = (sent.messages as Array<{ role: string; content: string }>).filter((m) => m.role === 'system');
        expect(system).toHaveLength(1);
        if (!body.messages.some((m) => m.role === 'system')) expect(system[0].content).toContain('You are Luma');
        expect(sent.messages).toHaveLength(body.messages.length + (body.messages.some((m) => m.role === 'system') ? 0 : 1));

        const records = await usageRecords(s.t);
        expect(records).toHaveLength(1);
        expect(records[0]).toMatchObject({
          endpoint: '/chat/completion',
          requestedModel: 'luma/therapist',
          upstreamModel: 'gpt-standin',
          provider: 'standin',
          status: 'ok',
          promptTokens: res.body.usage.prompt_tokens,
          completionTokens: res.body.usage.completion_tokens,
        });
        const cost = res.body.usage.prompt_tokens * STANDIN_PRICING.input + res.body.usage.completion_tokens * STANDIN_PRICING.output;
        expect(Number(records[0].costMicros)).toBe(Math.round(cost));
        expect(await conversations()).toBe(before);
      },
    );

    it('takes the model the body names, and request parameters over the persona’s', async () => {
      const res = await s.admin.post('/chat/completion', { ...LUMA_REQUESTS.bare, model: 'standin-text', temperature: 0.1 });
      expect(res.status).toBe(200);
      expect(res.body.model).toBe('standin-text');
      expect(s.upstream.requests[0].body).toMatchObject({ model: 'text-standin', temperature: 0.1 });
      expect(s.upstream.requests[0].body).not.toHaveProperty('frequency_penalty');
    });

    it.each([
      ['tool', 2],
      ['developer', 1],
      ['function', 0],
      ['wizard', 3],
    ])('refuses the role %s with 400 naming the message index, before any upstream call', async (role, index) => {
      const messages: Array<Record<string, unknown>> = [
        { role: 'user', content: 'one' },
        { role: 'assistant', content: 'two' },
        { role: 'user', content: 'three' },
        { role: 'user', content: 'four' },
      ];
      messages[index] = { role, content: 'x', name: 'f', tool_call_id: 'call_1' };
      for (const path of ['/chat/completion', '/chat/stream']) {
        const error = expectError(await s.admin.post(path, { messages }), 400, 'invalid_request');
        expect(error.param).toBe(`messages.${index}.role`);
        expect(error.message).toContain("'system' | 'user' | 'assistant'");
      }
      expect(s.upstream.requests).toHaveLength(0);
      expect(await usageRecords(s.t)).toHaveLength(0);
    });

    it('refuses an unknown model with 404 model_not_found, as /v1 does', async () => {
      const luma = expectError(await s.admin.post('/chat/completion', { ...LUMA_REQUESTS.bare, model: 'gpt-nope' }), 404, 'model_not_found');
      const v1 = expectError(await s.admin.post('/v1/chat/completions', { ...LUMA_REQUESTS.bare, model: 'gpt-nope' }), 404, 'model_not_found');
      expect(luma).toEqual(v1);
      expectError(await s.admin.post('/chat/stream', { ...LUMA_REQUESTS.bare, model: 'gpt-nope' }), 404, 'model_not_found');
      assertOpenAI('ErrorResponse', { error: luma });
      expect(s.upstream.requests).toHaveLength(0);
    });

    it('refuses fields Luma does not take, and a stream flag that contradicts the route', async () => {
      expectError(await s.admin.post('/chat/completion', { ...LUMA_REQUESTS.bare, stream: true }), 400, 'invalid_request');
      expectError(await s.admin.post('/chat/stream', { ...LUMA_REQUESTS.bare, stream: false }), 400, 'invalid_request');
      expect((await s.admin.post('/chat/completion', { ...LUMA_REQUESTS.bare, stream: false })).status).toBe(200);
      s.upstream.reset();
      expectError(await s.admin.post('/chat/completion', { messages: [] }), 400, 'invalid_request');
      expectError(await s.admin.post('/chat/completion', { ...LUMA_REQUESTS.bare, conversation_id: 'c' }), 400, 'invalid_request');
      expect(s.upstream.requests).toHaveLength(0);
    });

    it('needs an API key', async () => {
      expectError(await s.admin.post('/chat/completion', LUMA_REQUESTS.bare, { key: null }), 401);
      expectError(await s.admin.post('/chat/stream', LUMA_REQUESTS.bare, { key: null }), 401);
    });

    it('leaves POST /chat as it was: a stored conversation turn', async () => {
      const res = await s.admin.post('/chat', LUMA_REQUESTS.bare);
      expect(res.status).toBe(200);
      expect(res.body.conversation_id).toEqual(expect.any(String));
    });
  });

  describe('POST /chat/stream', () => {
    it.each(Object.entries(LUMA_REQUESTS))('streams the %s request as chat.completion.chunk events ending in [DONE]', async (_name, body) => {
      const before = await conversations();
      const { res, frames } = await postSse(s.t.url, s.t.adminKey, '/chat/stream', body);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('x-accel-buffering')).toBe('no');
      expect(res.headers.get('x-request-id')).toBeTruthy();
      expect(frames.at(-1)!.data).toBe('[DONE]');
      const chunks = frames.slice(0, -1).map((f) => f.data);
      expect(chunks.length).toBeGreaterThan(1);
      for (const chunk of chunks) {
        assertOpenAI('CreateChatCompletionStreamResponse', chunk);
        expect(chunk).toMatchObject({ object: 'chat.completion.chunk', model: 'luma/therapist' });
      }
      expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe(`Stand-in reply to: ${lastUserText(body)}`);
      expect(chunks.some((c) => c.usage)).toBe(false);
      expect(s.upstream.requests[0].body).toMatchObject({ stream: true, ...LUMA_DEFAULTS });

      const records = await usageRecords(s.t);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ endpoint: '/chat/stream', requestedModel: 'luma/therapist', status: 'ok', estimated: false });
      expect(records[0].completionTokens).toBeGreaterThan(0);
      expect(await conversations()).toBe(before);
    });

    it('ends with the usage chunk when stream_options.include_usage is set', async () => {
      const { frames } = await postSse(s.t.url, s.t.adminKey, '/chat/stream', { ...LUMA_REQUESTS.bare, stream_options: { include_usage: true } });
      const chunks = frames.slice(0, -1).map((f) => f.data);
      expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: expect.any(Number) } });
      assertOpenAI('CreateChatCompletionStreamResponse', chunks.at(-1));
    });

    it('answers a failure before the first chunk with an error status, as /v1 does', async () => {
      s.upstream.setDefault({ kind: 'error', status: 400, message: 'bad thing' });
      const res = await s.admin.post('/chat/stream', LUMA_REQUESTS.bare);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(expectError(res, 400).message).toBe('bad thing');
    });

    it('turns a failure after the first chunk into an in-band error frame and [DONE], metered', async () => {
      s.upstream.setDefault({ kind: 'break', afterChunks: 3 });
      const { res, frames } = await postSse(s.t.url, s.t.adminKey, '/chat/stream', LUMA_REQUESTS.bare);
      expect(res.status).toBe(200);
      expect(frames.at(-1)!.data).toBe('[DONE]');
      const error = frames.at(-2)!.data;
      assertOpenAI('ErrorResponse', error);
      expect(error.error.type).toBe('api_error');
      const [record] = await usageRecords(s.t);
      expect(record).toMatchObject({ endpoint: '/chat/stream', status: 'error', estimated: true });
    });
  });

  it('documents both routes under the Compatibility tag', async () => {
    const doc = (await s.admin.get('/docs-json', { key: null })).body;
    for (const [path, schema] of [
      ['/chat/completion', 'LumaChatRequest'],
      ['/chat/stream', 'LumaStreamRequest'],
    ]) {
      const op = doc.paths[path].post;
      expect(op.tags).toEqual(['Compatibility']);
      expect(op.requestBody.content['application/json'].schema).toEqual({ $ref: `#/components/schemas/${schema}` });
      expect(doc.components.schemas[schema].properties.messages).toBeDefined();
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '404']));
    }
    expect(doc.paths['/chat'].post.tags).toEqual(['Chat']);
  });
});
