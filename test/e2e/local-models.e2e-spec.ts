import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { stringify } from 'yaml';
import { LocalModels } from '../../src/llm/local/local-models.js';
import { connectChatSocket, contentOf } from '../support/chat-socket-client.js';
import { writeTinyGguf } from '../support/gguf-writer.js';
import { client as http, expectError, postSse } from '../support/http.js';
import { assertOpenAI } from '../support/openai-schemas.js';
import { clearUsageRecords, startTestApp, usageRecords, waitFor, type TestApp } from '../support/test-app.js';

/**
 * Local models served in-process through llama.cpp, on a tiny GGUF (llama architecture, random
 * weights, a small SentencePiece vocabulary) written by the test itself. Its answers are noise;
 * their lengths are what max_tokens asks (the file's end-of-turn logits are zero), and its
 * tokenizer splits "zzzz" into four tokens where OpenAI's counts two.
 */
describe('local models (provider local, GGUF through llama.cpp)', () => {
  let t: TestApp;
  let sdk: OpenAI;
  let api: ReturnType<typeof http>;
  let host: LocalModels;
  const root = mkdtempSync(join(tmpdir(), 'colloquy-local-'));
  const dataDir = join(root, 'data');
  const models = join(dataDir, 'models');
  const llamalith = join(root, 'llamalith');

  beforeAll(async () => {
    mkdirSync(models, { recursive: true });
    mkdirSync(join(llamalith, 'models'), { recursive: true });
    writeTinyGguf(join(models, 'tiny.gguf'));
    writeTinyGguf(join(llamalith, 'models', 'mistral.gguf'), { seed: 7 });
    // A sound header over missing tensor data, and a vocabulary that makes llama.cpp abort its process.
    writeFileSync(join(models, 'truncated.gguf'), readFileSync(join(models, 'tiny.gguf')).subarray(0, 200_000));
    writeTinyGguf(join(models, 'abort.gguf'), { duplicateToken: true });
    writeFileSync(join(models, 'text.gguf'), 'not a model');
    // Llamalith's config.json, as is: paths relative to its own folder.
    writeFileSync(join(llamalith, 'config.json'), JSON.stringify({ model_paths: { mistral: 'models/mistral.gguf' } }));
    const config = join(root, 'colloquy.yaml');
    writeFileSync(
      config,
      stringify({
        models: [
          { id: 'tiny', provider: 'local', gguf: 'tiny.gguf', pricing: { input: 1, output: 2 } },
          { id: 'solo', provider: 'local', gguf: 'tiny.gguf', parallel: 1 },
          { id: 'small', provider: 'local', gguf: join(models, 'tiny.gguf'), context_size: 64 },
          { id: 'brief', provider: 'local', gguf: 'tiny.gguf', idle_unload_minutes: 0.005 },
          { id: 'truncated', provider: 'local', gguf: 'truncated.gguf' },
          { id: 'abort', provider: 'local', gguf: 'abort.gguf' },
          { id: 'text', provider: 'local', gguf: 'text.gguf' },
          { id: 'hidden', provider: 'local', gguf: 'tiny.gguf' },
          { id: 'rescued', provider: 'local', gguf: 'nope.gguf', fallbacks: ['colloquy/echo'] },
        ],
      }),
    );
    t = await startTestApp({
      dataDir,
      env: {
        CONFIG_FILE: config,
        LLAMALITH_CONFIG: join(llamalith, 'config.json'),
        MISSING_PATH: join(root, 'nowhere', 'missing.gguf'),
        LLM_MODELS: 'tiny,solo,small,brief,mistral,missing,truncated,abort,text',
        LOCAL_QUEUE_MAX: '2',
        DEFAULT_MODEL: 'colloquy/echo',
      },
    });
    sdk = new OpenAI({ apiKey: t.adminKey, baseURL: `${t.url}/v1`, maxRetries: 0 });
    api = http(t.url, t.adminKey);
    host = t.app.get(LocalModels);
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(() => clearUsageRecords(t));

  const ask = (model: string, content: string, extra: Record<string, unknown> = {}) =>
    api.post('/v1/chat/completions', { model, messages: [{ role: 'user', content }], max_tokens: 8, seed: 1, ...extra });

  it('lists local models from the catalog, Llamalith’s config.json and <KEY>_PATH, each with its state; a bad file only makes its model unavailable', async () => {
    const listed = await api.get('/v1/models');
    assertOpenAI('ListModelsResponse', listed.body);
    const byId = new Map(listed.body.data.map((m: { id: string }) => [m.id, m]));
    expect(byId.get('tiny')).toMatchObject({ owned_by: 'local', kind: 'model', status: 'unloaded' });
    expect(byId.get('mistral')).toMatchObject({ owned_by: 'local', status: 'unloaded' });
    expect(byId.get('missing')).toMatchObject({ status: 'unavailable', status_reason: expect.stringContaining('does not exist') });
    expect(byId.get('text')).toMatchObject({ status: 'unavailable', status_reason: expect.stringContaining('not a GGUF file') });
    // LLM_MODELS chooses what is listed; an unlisted local model is still there by its id.
    expect(byId.has('hidden')).toBe(false);
    expect((await api.get('/v1/models/hidden')).body).toMatchObject({ id: 'hidden', status: 'unloaded' });

    const one = await api.get('/v1/models/missing');
    assertOpenAI('Model', one.body);
    expect(one.body.status_reason).toContain('its GGUF file missing.gguf does not exist');
    expect(one.body.status_reason).not.toContain(root);

    const health = await api.get('/health');
    expect(health.body.status).toBe('degraded');
    expect(health.body.dependencies.local_models.tiny).toMatchObject({ state: 'unloaded', context_size: 2048, parallel: 2 });
    expect(health.body.dependencies.local_models.missing).toMatchObject({ state: 'unavailable', reason: expect.stringContaining('does not exist') });
    expect((await api.get('/health/ready')).status).toBe(200);
  });

  it('answers through the official SDK, counting the prompt with the model’s own tokenizer (exact, not estimated)', async () => {
    const completion = await sdk.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hello' }], max_tokens: 12, seed: 3 });
    assertOpenAI('CreateChatCompletionResponse', completion);
    expect(completion).toMatchObject({ model: 'tiny', choices: [{ finish_reason: 'length', message: { role: 'assistant' } }] });
    expect(completion.usage).toMatchObject({ completion_tokens: 12 });
    // "zzzz" is four tokens of this vocabulary (▁z z z z); OpenAI's tokenizer makes it two.
    const longer = await sdk.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hello zzzz' }], max_tokens: 12, seed: 3 });
    expect(longer.usage!.prompt_tokens - completion.usage!.prompt_tokens).toBe(4);

    const records = await usageRecords(t);
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({
      requestedModel: 'tiny',
      provider: 'local',
      status: 'ok',
      estimated: false,
      promptTokens: completion.usage!.prompt_tokens,
      completionTokens: 12,
    });
    // Priced like any model: 1 and 2 USD per 1M tokens.
    expect(Number(records[0].costMicros)).toBe(completion.usage!.prompt_tokens * 1 + 12 * 2);
    const status = host.status('tiny')!;
    expect(status).toMatchObject({ state: 'loaded', active: 0, waiting: 0 });
    expect(status.memory_bytes).toBeGreaterThan(100_000);

    // The same seed gives the same answer; another seed another.
    const again = await sdk.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hello' }], max_tokens: 12, seed: 3 });
    expect(again.choices[0].message.content).toBe(completion.choices[0].message.content);
  });

  it('streams token by token in OpenAI’s chunk format, with exact usage', async () => {
    const stream = await sdk.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'tell me about the local model' }],
      max_tokens: 20,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) {
      assertOpenAI('CreateChatCompletionStreamResponse', chunk);
      chunks.push(chunk);
    }
    const content = chunks.filter((c) => c.choices[0]?.delta.content).length;
    expect(content).toBeGreaterThan(3);
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe('length');
    expect(chunks.at(-1)!.usage).toMatchObject({ completion_tokens: 20 });
    const [record] = await usageRecords(t);
    expect(record).toMatchObject({
      requestedModel: 'tiny',
      estimated: false,
      completionTokens: 20,
      promptTokens: chunks.at(-1)!.usage!.prompt_tokens,
    });
  });

  it('serves /chat (stored and metered exactly), a Llamalith key as its own model id, and a job', async () => {
    const chat = await api.post('/chat', { model: 'mistral', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 10 });
    expect(chat.status).toBe(200);
    expect(chat.body.usage.completion_tokens).toBe(10);
    const conversation = await api.get(`/conversations/${chat.body.conversation_id}/messages`);
    expect(conversation.status).toBe(200);
    const [record] = await usageRecords(t);
    expect(record).toMatchObject({
      endpoint: '/chat',
      requestedModel: 'mistral',
      provider: 'local',
      estimated: false,
      promptTokens: chat.body.usage.prompt_tokens,
      completionTokens: 10,
    });

    const job = await api.post('/jobs', { model: 'tiny', messages: [{ role: 'user', content: 'hello job' }], max_tokens: 6 });
    expect(job.status).toBe(202);
    let done: { status: string; result?: { usage: { completion_tokens: number } } } = { status: 'queued' };
    await waitFor(async () => {
      done = (await api.get(`/jobs/${job.body.id}`)).body;
      return done.status === 'succeeded' || done.status === 'failed';
    }, 20_000);
    expect(done.status).toBe('succeeded');
    expect(done.result!.usage.completion_tokens).toBe(6);
  });

  it('runs `parallel` requests at once; the next wait in order in a bounded queue, and beyond it a 429 with retry-after', async () => {
    await ask('tiny', 'warm up', { max_tokens: 1 });
    const requests = Array.from({ length: 4 }, (_, i) => ask('tiny', `request ${i}`, { max_tokens: 600 }));
    await waitFor(() => host.status('tiny')!.waiting === 2);
    expect(host.status('tiny')).toMatchObject({ active: 2, waiting: 2 });
    const refused = await ask('tiny', 'one too many');
    expectError(refused, 429, 'local_queue_full');
    expect(refused.headers.get('retry-after')).toBe('2');
    const answers = await Promise.all(requests);
    for (const answer of answers) expect(answer.body.usage?.completion_tokens).toBe(600);
    expect(host.status('tiny')).toMatchObject({ active: 0, waiting: 0 });
  });

  it('frees the sequence at once when the client leaves mid-generation', async () => {
    await ask('solo', 'warm up', { max_tokens: 1 });
    const controller = new AbortController();
    const response = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'solo', messages: [{ role: 'user', content: 'a long answer' }], max_tokens: 1900, stream: true }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    let seen = '';
    while (!seen.includes('"content":"') || seen.split('"content":"').length < 4) seen += new TextDecoder().decode((await reader.read()).value);
    expect(host.status('solo')!.active).toBe(1);
    controller.abort();
    await waitFor(() => host.status('solo')!.active === 0, 2_000);
    // The one sequence is free: the next request starts at once and finishes.
    const next = await ask('solo', 'next please', { max_tokens: 5 });
    expect(next.body.usage.completion_tokens).toBe(5);
    await waitFor(async () => (await usageRecords(t)).some((r) => r.status === 'aborted'));
  });

  it('enforces the context window with the model’s tokenizer', async () => {
    // 12 × "zzzz": ~24 tokens for OpenAI's tokenizer, 48 (and the template's) for this model's 64-token window.
    const long = Array.from({ length: 12 }, () => 'zzzz').join(' ');
    const refused = await ask('small', long, { max_tokens: 4 });
    expectError(refused, 400, 'context_length_exceeded');
    expect(refused.body.error.message).toContain('maximum context length is 64 tokens');
    // Streamed, the refusal is still a 400 (the prompt is counted before any chunk is sent).
    expectError(await ask('small', long, { max_tokens: 4, stream: true }), 400, 'context_length_exceeded');
    expect((await ask('small', 'hello', { max_tokens: 4 })).status).toBe(200);
  });

  it('honours stop sequences', async () => {
    const stops = [' ', 'e', 'a', 'o', 't'];
    const res = await ask('tiny', 'hello', { max_tokens: 300, stop: stops.slice(0, 4), seed: 11 });
    expect(res.body.choices[0].finish_reason).toBe('stop');
    expect(res.body.usage.completion_tokens).toBeLessThan(300);
    for (const stop of stops.slice(0, 4)) expect(res.body.choices[0].message.content).not.toContain(stop);
  });

  it('reports a missing, a truncated and a crashing file as unavailable with the reason (503 model_unavailable), and stays up', async () => {
    const missing = await ask('missing', 'hi');
    expectError(missing, 503, 'model_unavailable');
    expect(missing.body.error.message).toContain('does not exist');

    const truncated = await ask('truncated', 'hi');
    expectError(truncated, 503, 'model_unavailable');
    expect(truncated.body.error.message).toContain('llama.cpp could not load');
    expect((await api.get('/v1/models/truncated')).body).toMatchObject({
      status: 'unavailable',
      status_reason: expect.stringContaining('truncated.gguf'),
    });

    // An unavailable local model with fallbacks is answered by them.
    const rescued = await ask('rescued', 'hi there');
    expect(rescued.status).toBe(200);
    expect(rescued.body.choices[0].message.content).toBe('hi there');

    const crashing = await ask('abort', 'hi');
    expectError(crashing, 503, 'model_unavailable');
    expect((await api.get('/health')).body.dependencies.local_models.abort).toMatchObject({ state: 'unavailable' });
    // The server (and its loaded models) survived llama.cpp stopping the probe's process.
    expect((await ask('tiny', 'still here', { max_tokens: 2 })).status).toBe(200);
  });

  it('unloads a model left unused (idle_unload_minutes) and loads it again on the next request', async () => {
    expect((await ask('brief', 'hi', { max_tokens: 2 })).status).toBe(200);
    await waitFor(() => host.status('brief')!.state === 'unloaded', 5_000);
    expect((await ask('brief', 'again', { max_tokens: 2 })).status).toBe(200);
    expect(host.status('brief')!.state).toBe('loaded');
  });

  it('refuses what a local model cannot do: several choices, tools', async () => {
    expectError(await ask('tiny', 'hi', { n: 2 }), 400);
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }];
    expect((await ask('tiny', 'hi', { tools })).status).toBe(400);
  });

  it('streams over SSE for /chat and over the chat WebSocket as well', async () => {
    const { frames } = await postSse(t.url, t.adminKey, '/chat', {
      model: 'tiny',
      messages: [{ role: 'user', content: 'stream it' }],
      stream: true,
      max_tokens: 5,
    });
    expect(frames.some((f) => f.raw.includes('"content"'))).toBe(true);

    const ws = await connectChatSocket(t.url, { key: t.adminKey });
    ws.send({ type: 'chat', id: 'local', model: 'tiny', max_tokens: 7, messages: [{ role: 'user', content: 'hello over a socket' }] });
    const turn = await ws.nextTurn();
    expect(turn.at(-1)).toEqual({ type: 'done', id: 'local' });
    expect(contentOf(turn).length).toBeGreaterThan(0);
    expect(turn.filter((f) => f.type === 'chunk').at(-1)!.data.usage).toMatchObject({ completion_tokens: 7 });
    ws.socket.close();
  });
});

describe('a local model too large for the memory it may use', () => {
  let t: TestApp;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-local-'));
    mkdirSync(join(dir, 'models'));
    writeTinyGguf(join(dir, 'models', 'tiny.gguf'));
    writeFileSync(join(dir, 'colloquy.yaml'), stringify({ models: [{ id: 'tiny', provider: 'local', gguf: 'tiny.gguf' }] }));
    t = await startTestApp({ dataDir: dir, env: { CONFIG_FILE: join(dir, 'colloquy.yaml'), LOCAL_MAX_MEMORY_MB: '1' } });
  });
  afterAll(() => t.close());

  it('is refused with 503 naming what it needs and what is allowed, and loads nothing', async () => {
    const api = http(t.url, t.adminKey);
    const res = await api.post('/v1/chat/completions', { model: 'tiny', messages: [{ role: 'user', content: 'hi' }] });
    expectError(res, 503, 'model_unavailable');
    expect(res.body.error.message).toMatch(
      /too large for the memory available: it needs \d+ MB of memory to load, and 1 MB LOCAL_MAX_MEMORY_MB allows/,
    );
    expect(t.app.get(LocalModels).status('tiny')).toMatchObject({ state: 'unloaded', reason: expect.stringContaining('LOCAL_MAX_MEMORY_MB') });
  });
});
