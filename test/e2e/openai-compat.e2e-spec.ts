import OpenAI from 'openai';
import { client as http, expectError } from '../support/http.js';
import { assertOpenAI } from '../support/openai-schemas.js';
import { startStandInUpstream, type StandInUpstream } from '../support/stand-in-upstream.js';
import { STANDIN_PRICING, writeTestConfig } from '../support/test-config.js';
import { clearUsageRecords, startTestApp, usageRecords as usageRecordsOf, waitFor, type TestApp } from '../support/test-app.js';

describe('OpenAI compatibility, through the official openai SDK', () => {
  let upstream: StandInUpstream;
  let backup: StandInUpstream;
  let t: TestApp;
  let sdk: OpenAI;

  beforeAll(async () => {
    upstream = await startStandInUpstream();
    backup = await startStandInUpstream();
    t = await startTestApp({
      env: {
        CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl, backup: backup.baseUrl }),
        UPSTREAM_TIMEOUT_MS: '1500',
        UPSTREAM_IDLE_TIMEOUT_MS: '400',
      },
    });
    sdk = new OpenAI({ apiKey: t.adminKey, baseURL: `${t.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await t.close();
    await upstream.close();
    await backup.close();
  });
  beforeEach(async () => {
    upstream.reset();
    backup.reset();
    await clearUsageRecords(t);
  });
  const usageRecords = () => usageRecordsOf(t);

  describe('models', () => {
    it('lists catalog models, personas and colloquy/echo in OpenAI list format', async () => {
      const page = await sdk.models.list();
      const ids = page.data.map((m) => m.id);
      expect(ids).toEqual(
        expect.arrayContaining(['standin-gpt', 'standin-text', 'colloquy/echo', 'luminary/socrates', 'luminary/sun_tzu', 'luma/therapist']),
      );
      // Providers without a key (openai here) are not listed.
      expect(ids).not.toContain('gpt-4o');
      // Colloquy's additions: which entries are personas, and which model is the default.
      expect(page.data.find((m) => m.id === 'luminary/socrates')).toMatchObject({ kind: 'persona' });
      expect(page.data.filter((m) => (m as { default?: boolean }).default).map((m) => m.id)).toEqual(['standin-gpt']);
      assertOpenAI('ListModelsResponse', (await http(t.url, t.adminKey).get('/v1/models')).body);
    });

    it('retrieves one model, persona ids with their slash included', async () => {
      const persona = await sdk.models.retrieve('luminary/socrates');
      expect(persona).toMatchObject({ id: 'luminary/socrates', object: 'model', owned_by: 'colloquy' });
      assertOpenAI('Model', (await http(t.url, t.adminKey).get('/v1/models/luminary/socrates')).body);
      await expect(sdk.models.retrieve('no-such-model')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    });
  });

  describe('chat.completions.create', () => {
    it('answers a non-streaming request in OpenAI’s schema, calling the upstream by its own id', async () => {
      const completion = await sdk.chat.completions.create({
        model: 'standin-gpt',
        messages: [{ role: 'user', content: 'What is the capital of France?' }],
        temperature: 0.2,
        seed: 7,
      });
      assertOpenAI('CreateChatCompletionResponse', completion);
      expect(completion.model).toBe('standin-gpt');
      expect(completion.choices[0].message.content).toBe('Stand-in reply to: What is the capital of France?');
      const sent = upstream.requests[0];
      expect(sent.body).toMatchObject({
        model: 'gpt-standin',
        temperature: 0.2,
        seed: 7,
        messages: [{ role: 'user', content: 'What is the capital of France?' }],
      });
      expect(sent.headers.authorization).toBe('Bearer sk-standin-primary');
      const [record] = await usageRecords();
      expect(record).toMatchObject({
        endpoint: '/v1/chat/completions',
        requestedModel: 'standin-gpt',
        upstreamModel: 'gpt-standin',
        provider: 'standin',
        promptTokens: completion.usage!.prompt_tokens,
        completionTokens: completion.usage!.completion_tokens,
        status: 'ok',
        estimated: false,
      });
      const expected = completion.usage!.prompt_tokens * STANDIN_PRICING.input + completion.usage!.completion_tokens * STANDIN_PRICING.output;
      expect(Number(record.costMicros)).toBe(Math.round(expected));
    });

    it('passes through what OpenAI accepts, including fields this server does not know', async () => {
      await sdk.chat.completions.create({
        model: 'standin-gpt',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'hi' },
        ],
        stop: ['\n\n'],
        n: 1,
        top_p: 0.9,
        max_completion_tokens: 50,
        frequency_penalty: 0.1,
        presence_penalty: 0.2,
        logit_bias: { '50256': -100 },
        response_format: { type: 'json_object' },
        user: 'end-user-42',
        // @ts-expect-error a provider extension, not in the SDK's types
        provider: { order: ['x'] },
      });
      expect(upstream.requests[0].body).toMatchObject({
        stop: ['\n\n'],
        top_p: 0.9,
        max_completion_tokens: 50,
        logit_bias: { '50256': -100 },
        response_format: { type: 'json_object' },
        user: 'end-user-42',
        provider: { order: ['x'] },
      });
      const records = await usageRecords();
      expect(records.at(-1)?.endUser).toBe('end-user-42');
    });

    it('streams chunks in OpenAI’s schema, with the usage chunk last when asked', async () => {
      const stream = await sdk.chat.completions.create({
        model: 'standin-gpt',
        messages: [{ role: 'user', content: 'count to five please' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      for (const chunk of chunks) {
        assertOpenAI('CreateChatCompletionStreamResponse', chunk);
        expect(chunk.model).toBe('standin-gpt');
      }
      const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
      expect(text).toBe('Stand-in reply to: count to five please');
      const last = chunks.at(-1)!;
      expect(last.choices).toEqual([]);
      expect(last.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: 7 });
      expect(chunks.filter((c) => c.usage)).toHaveLength(1);
      expect(upstream.requests[0].body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    });

    it('always asks the upstream for usage, but sends the usage chunk only to clients that asked', async () => {
      const stream = await sdk.chat.completions.create({
        model: 'standin-gpt',
        messages: [{ role: 'user', content: 'no usage for me' }],
        stream: true,
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      expect(chunks.some((c) => c.usage)).toBe(false);
      expect(upstream.requests[0].body).toMatchObject({ stream_options: { include_usage: true } });
      const [record] = await usageRecords();
      expect(record).toMatchObject({ status: 'ok', estimated: false, completionTokens: 7 });
    });

    it('meters a stream whose upstream reports no usage with tiktoken, marked estimated', async () => {
      upstream.script({ kind: 'reply', text: 'five words come back here', usage: null });
      const stream = await sdk.chat.completions.create({
        model: 'standin-gpt',
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      expect(chunks.at(-1)!.usage).toMatchObject({ completion_tokens: 5, prompt_tokens: expect.any(Number) });
      const [record] = await usageRecords();
      expect(record).toMatchObject({ status: 'ok', estimated: true, completionTokens: 5 });
      expect(record.promptTokens).toBeGreaterThan(0);
    });

    it('relays tool calls, streamed and not', async () => {
      const tools = [
        {
          type: 'function' as const,
          function: {
            name: 'get_weather',
            description: 'Weather for a city',
            parameters: { type: 'object', properties: { city: { type: 'string' } } },
          },
        },
      ];
      upstream.script({ kind: 'tool_call', name: 'get_weather', arguments: '{"city":"Paris"}' });
      const completion = await sdk.chat.completions.create({
        model: 'standin-gpt',
        messages: [{ role: 'user', content: 'weather?' }],
        tools,
        tool_choice: 'auto',
      });
      assertOpenAI('CreateChatCompletionResponse', completion);
      expect(completion.choices[0]).toMatchObject({
        finish_reason: 'tool_calls',
        message: { tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      });
      expect(upstream.requests[0].body).toMatchObject({ tools, tool_choice: 'auto' });

      upstream.script({ kind: 'tool_call', name: 'get_weather', arguments: '{"city":"Oslo"}' });
      const stream = await sdk.chat.completions.create({
        model: 'standin-gpt',
        messages: [{ role: 'user', content: 'weather?' }],
        tools,
        stream: true,
      });
      let args = '';
      let finish: string | null = null;
      for await (const chunk of stream) {
        assertOpenAI('CreateChatCompletionStreamResponse', chunk);
        args += chunk.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      expect({ args, finish }).toEqual({ args: '{"city":"Oslo"}', finish: 'tool_calls' });

      // The tool result goes back as a tool message.
      await sdk.chat.completions.create({
        model: 'standin-gpt',
        messages: [
          { role: 'user', content: 'weather?' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
        ],
        tools,
      });
      expect(upstream.requests.at(-1)!.body!.messages).toHaveLength(3);
    });
  });

  describe('personas', () => {
    it('injects the persona’s system prompt and answers under the persona id', async () => {
      const completion = await sdk.chat.completions.create({ model: 'luminary/socrates', messages: [{ role: 'user', content: 'What is virtue?' }] });
      expect(completion.model).toBe('luminary/socrates');
      const sent = upstream.requests[0].body!;
      expect(sent.model).toBe('gpt-standin');
      const messages = sent.messages as Array<{ role: string; content: string }>;
      expect(messages[0].role).toBe('system');
      expect(messages[0].content).toContain('Socrates');
      expect(messages[1]).toEqual({ role: 'user', content: 'What is virtue?' });

      const stream = await sdk.chat.completions.create({ model: 'luminary/sun_tzu', messages: [{ role: 'user', content: 'plan' }], stream: true });
      for await (const chunk of stream) expect(chunk.model).toBe('luminary/sun_tzu');
      const [record] = await usageRecords();
      expect(record.requestedModel).toBe('luminary/socrates');
    });

    it('keeps the client’s own system message', async () => {
      await sdk.chat.completions.create({
        model: 'luminary/confucius',
        messages: [
          { role: 'system', content: 'Answer in French.' },
          { role: 'user', content: 'hello' },
        ],
      });
      const messages = upstream.requests[0].body!.messages as Array<{ role: string; content: string }>;
      expect(messages.filter((m) => m.role === 'system')).toEqual([{ role: 'system', content: 'Answer in French.' }]);
    });

    it('applies the persona’s sampling defaults, which request parameters override', async () => {
      await sdk.chat.completions.create({ model: 'luma/therapist', messages: [{ role: 'user', content: 'rough day' }] });
      expect(upstream.requests[0].body).toMatchObject({ temperature: 0.7, max_tokens: 1000, frequency_penalty: 0.5, presence_penalty: 0.5 });
      await sdk.chat.completions.create({
        model: 'luma/therapist',
        messages: [{ role: 'user', content: 'rough day' }],
        temperature: 0.1,
        max_tokens: 50,
      });
      expect(upstream.requests[1].body).toMatchObject({ temperature: 0.1, max_tokens: 50, frequency_penalty: 0.5 });
    });
  });

  describe('errors surface as the SDK’s error classes', () => {
    it('an unknown model: NotFoundError with model_not_found, and no upstream call', async () => {
      const err = await sdk.chat.completions.create({ model: 'gpt-nope', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      expect(err.code).toBe('model_not_found');
      expect(upstream.requests).toHaveLength(0);
    });

    it('a bad key: AuthenticationError', async () => {
      const stranger = new OpenAI({ apiKey: 'cq_not-a-real-key-000000000000000000000000000000', baseURL: `${t.url}/v1`, maxRetries: 0 });
      await expect(stranger.chat.completions.create({ model: 'standin-gpt', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(
        OpenAI.AuthenticationError,
      );
    });

    it('an invalid request: BadRequestError naming the field', async () => {
      const err = await sdk.chat.completions.create({ model: 'standin-gpt', messages: [{ role: 'wizard' as 'user', content: 'x' }] }).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err.param).toMatch(/^messages\.0/);
      const empty = await sdk.chat.completions.create({ model: 'standin-gpt', messages: [] }).catch((e) => e);
      expect(empty).toBeInstanceOf(OpenAI.BadRequestError);
      const toolWithoutId = await sdk.chat.completions
        .create({ model: 'standin-gpt', messages: [{ role: 'tool', content: 'x' } as never] })
        .catch((e) => e);
      expect(toolWithoutId).toBeInstanceOf(OpenAI.BadRequestError);
      expect(upstream.requests).toHaveLength(0);
    });

    it('an upstream 5xx is retried, then becomes a 502 (InternalServerError), never a 200', async () => {
      upstream.setDefault({ kind: 'error', status: 500 });
      const err = await sdk.chat.completions.create({ model: 'standin-gpt', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.InternalServerError);
      expect(err.status).toBe(502);
      expect(upstream.requests).toHaveLength(3);
      const [record] = await usageRecords();
      expect(record).toMatchObject({ status: 'error', promptTokens: 0, completionTokens: 0, errorCode: 'upstream_error' });
    });

    it('a transient failure is retried until it succeeds', async () => {
      upstream.script({ kind: 'error', status: 503 }, { kind: 'drop' }, { kind: 'reply', text: 'third time lucky' });
      const completion = await sdk.chat.completions.create({ model: 'standin-gpt', messages: [{ role: 'user', content: 'x' }] });
      expect(completion.choices[0].message.content).toBe('third time lucky');
      expect(upstream.requests).toHaveLength(3);
      const records = await usageRecords();
      expect(records).toHaveLength(1);
      expect(records[0].status).toBe('ok');
    });

    it('an upstream 429 honours retry-after, and surfaces as RateLimitError when it persists', async () => {
      upstream.script({ kind: 'error', status: 429, headers: { 'retry-after': '0' } }, { kind: 'reply', text: 'ok now' });
      const ok = await sdk.chat.completions.create({ model: 'standin-gpt', messages: [{ role: 'user', content: 'x' }] });
      expect(ok.choices[0].message.content).toBe('ok now');
      upstream.reset();
      upstream.setDefault({ kind: 'error', status: 429, headers: { 'retry-after': '120' }, message: 'slow down' });
      const err = await sdk.chat.completions.create({ model: 'standin-gpt', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect(err.headers.get('retry-after')).toBe('120');
      // A retry-after this long is not waited for.
      expect(upstream.requests).toHaveLength(1);
    });

    it('another upstream 4xx keeps its status and message', async () => {
      upstream.setDefault({ kind: 'error', status: 422, message: 'temperature out of range for this model', code: 'invalid_value' });
      const err = await sdk.chat.completions.create({ model: 'standin-gpt', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.UnprocessableEntityError);
      expect(err.message).toContain('temperature out of range for this model');
      expect(err.code).toBe('invalid_value');
      expect(upstream.requests).toHaveLength(1);
    });

    it('an upstream that does not answer becomes a 504', async () => {
      upstream.setDefault({ kind: 'hang' });
      const res = await http(t.url, t.adminKey).post('/v1/chat/completions', { model: 'standin-gpt', messages: [{ role: 'user', content: 'x' }] });
      expectError(res, 504, 'upstream_timeout');
    }, 15_000);

    it('an upstream answering garbage becomes a 502', async () => {
      upstream.setDefault({ kind: 'garbage' });
      const res = await http(t.url, t.adminKey).post('/v1/chat/completions', { model: 'standin-gpt', messages: [{ role: 'user', content: 'x' }] });
      expectError(res, 502, 'upstream_error');
    });

    it('a stream that fails before its first byte gets a real error status, not a 200', async () => {
      upstream.setDefault({ kind: 'error', status: 400, message: 'bad thing' });
      const res = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'standin-gpt', stream: true, messages: [{ role: 'user', content: 'x' }] }),
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(((await res.json()) as { error: { message: string } }).error.message).toBe('bad thing');
    });
  });

  describe('fallbacks', () => {
    it('tries the next model when the first provider fails before the first byte', async () => {
      upstream.setDefault({ kind: 'error', status: 503 });
      const completion = await sdk.chat.completions.create({ model: 'standin-primary', messages: [{ role: 'user', content: 'fall back' }] });
      expect(completion.model).toBe('standin-primary');
      expect(completion.choices[0].message.content).toBe('Stand-in reply to: fall back');
      expect(upstream.requests).toHaveLength(3);
      expect(backup.requests[0].body).toMatchObject({ model: 'backup-standin' });
      const [record] = await usageRecords();
      expect(record).toMatchObject({ requestedModel: 'standin-primary', provider: 'backup', upstreamModel: 'backup-standin', status: 'ok' });
    });

    it('does not fall back on a client error', async () => {
      upstream.setDefault({ kind: 'error', status: 400 });
      await expect(sdk.chat.completions.create({ model: 'standin-primary', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(
        OpenAI.BadRequestError,
      );
      expect(backup.requests).toHaveLength(0);
    });
  });

  describe('streaming hygiene', () => {
    async function rawStream(body: object) {
      const res = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'standin-gpt', stream: true, messages: [{ role: 'user', content: 'x' }], ...body }),
      });
      return { res, text: await res.text() };
    }

    it('sends no-cache and no-buffering headers with the request id', async () => {
      const { res, text } = await rawStream({});
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('x-accel-buffering')).toBe('no');
      expect(res.headers.get('x-request-id')).toBeTruthy();
      expect(text.trim().endsWith('data: [DONE]')).toBe(true);
    });

    it('turns a failure after the first byte into an in-band error frame and [DONE]', async () => {
      upstream.setDefault({ kind: 'break', afterChunks: 3 });
      const { res, text } = await rawStream({});
      expect(res.status).toBe(200);
      const frames = text.split('\n\n').filter(Boolean);
      expect(frames.at(-1)).toBe('data: [DONE]');
      const error = JSON.parse(frames.at(-2)!.slice('data: '.length));
      assertOpenAI('ErrorResponse', error);
      expect(error.error.type).toBe('api_error');
      // Nothing is retried once bytes were sent.
      expect(upstream.requests).toHaveLength(1);
      const [record] = await usageRecords();
      expect(record).toMatchObject({ status: 'error', estimated: true });
      expect(record.completionTokens).toBeGreaterThan(0);
    });

    it('cuts a stream that goes silent past the idle timeout, in-band', async () => {
      upstream.setDefault({ kind: 'stall', afterChunks: 2 });
      const { text } = await rawStream({});
      const frames = text.split('\n\n').filter(Boolean);
      expect(frames.at(-1)).toBe('data: [DONE]');
      expect(JSON.parse(frames.at(-2)!.slice(6)).error.code).toBe('upstream_timeout');
      await upstream.idle();
    });

    it('aborts the upstream call when the client disconnects, records it, and keeps serving', async () => {
      upstream.setDefault({ kind: 'reply', text: Array.from({ length: 200 }, (_, i) => `w${i}`).join(' '), chunkDelayMs: 10 });
      const controller = new AbortController();
      const stream = await sdk.chat.completions.create(
        { model: 'standin-gpt', messages: [{ role: 'user', content: 'long' }], stream: true },
        { signal: controller.signal },
      );
      let received = 0;
      for await (const chunk of stream) {
        received += chunk.choices[0]?.delta?.content ? 1 : 0;
        if (received === 5) controller.abort();
      }
      await upstream.idle();
      const records = await waitForRecords(1);
      expect(records[0]).toMatchObject({ status: 'aborted', estimated: true });
      expect(records[0].completionTokens).toBeGreaterThanOrEqual(5);
      expect(records[0].completionTokens).toBeLessThan(200);
      upstream.reset();
      const after = await sdk.chat.completions.create({ model: 'standin-gpt', messages: [{ role: 'user', content: 'still there?' }] });
      expect(after.choices[0].message.content).toContain('still there?');
    });
  });

  describe('limits checked before any upstream call', () => {
    it('refuses a prompt over the model’s context window with context_length_exceeded', async () => {
      const err = await sdk.chat.completions
        .create({ model: 'standin-text', messages: [{ role: 'user', content: 'word '.repeat(3000) }] })
        .catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err.code).toBe('context_length_exceeded');
      expect(upstream.requests).toHaveLength(0);
    });

    it('refuses an image for a model without vision, naming the model', async () => {
      const err = await sdk.chat.completions
        .create({
          model: 'standin-text',
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'what is this' },
                { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
              ],
            },
          ],
        })
        .catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err.message).toContain('standin-text');
      expect(upstream.requests).toHaveLength(0);
    });
  });

  async function waitForRecords(n: number) {
    let records: Awaited<ReturnType<typeof usageRecords>> = [];
    await waitFor(async () => (records = await usageRecords()).length >= n);
    return records;
  }
});
