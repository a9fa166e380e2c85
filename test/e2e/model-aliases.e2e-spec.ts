import { ConfigError } from '../../src/config/config.loader.js';
import { expectError } from '../support/http.js';
import { assertOpenAI } from '../support/openai-schemas.js';
import { useStandInApp } from '../support/stand-in-app.js';
import { writeTestConfig } from '../support/test-config.js';
import { startTestApp, usageRecords } from '../support/test-app.js';
import { openTestDatabase } from '../support/test-database.js';

const ALIASES = {
  fast: 'standin-text',
  therapist: 'luma/therapist',
  direct: 'standin/unlisted-upstream-model',
  vectors: 'standin-embed',
  // Ollama is not configured here: the alias is valid but hidden, as the catalog's Ollama models are.
  mistral: 'ollama/mistral',
};

describe('model_aliases', () => {
  const s = useStandInApp({ LUMA_MODEL: 'fast' }, { model_aliases: ALIASES });

  it('answers /v1/chat/completions on an alias as the catalog model it names: its id, upstream, pricing and usage record', async () => {
    const res = await s.admin.post('/v1/chat/completions', { model: 'fast', messages: [{ role: 'user', content: 'hello' }] });
    expect(res.status).toBe(200);
    assertOpenAI('CreateChatCompletionResponse', res.body);
    expect(res.body.model).toBe('standin-text');
    expect(s.upstream.requests[0].body).toMatchObject({ model: 'text-standin' });
    const [record] = await usageRecords(s.t);
    expect(record).toMatchObject({ endpoint: '/v1/chat/completions', requestedModel: 'standin-text', upstreamModel: 'text-standin', status: 'ok' });
    // standin-text's prices: 1 and 2 USD per 1M tokens.
    expect(Number(record.costMicros)).toBe(res.body.usage.prompt_tokens * 1 + res.body.usage.completion_tokens * 2);
  });

  it("takes the named model's limits: its context window refuses what it cannot hold", async () => {
    const res = await s.admin.post('/v1/chat/completions', { model: 'fast', messages: [{ role: 'user', content: 'word '.repeat(3000) }] });
    expectError(res, 400, 'context_length_exceeded');
    expect(s.upstream.requests).toHaveLength(0);
  });

  it('reaches a provider/<model> outside the catalog through that provider, unpriced', async () => {
    const res = await s.admin.post('/v1/chat/completions', { model: 'direct', messages: [{ role: 'user', content: 'hi' }], stream: true });
    expect(res.status).toBe(200);
    expect(res.text.trim().endsWith('data: [DONE]')).toBe(true);
    expect(s.upstream.requests[0].body).toMatchObject({ model: 'unlisted-upstream-model' });
    const [record] = await usageRecords(s.t);
    expect(record).toMatchObject({
      requestedModel: 'standin/unlisted-upstream-model',
      upstreamModel: 'unlisted-upstream-model',
      provider: 'standin',
    });
    expect(Number(record.costMicros)).toBe(0);
  });

  it('answers a persona alias as the persona', async () => {
    const res = await s.admin.post('/v1/chat/completions', { model: 'therapist', messages: [{ role: 'user', content: 'rough day' }] });
    expect(res.body.model).toBe('luma/therapist');
    expect(s.upstream.requests[0].body).toMatchObject({ model: 'gpt-standin', temperature: 0.7, presence_penalty: 0.5 });
  });

  it('works on /chat, which stores the turn and meters the named model', async () => {
    const res = await s.admin.post('/chat', { model: 'fast', messages: [{ role: 'user', content: 'remember me' }] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ model: 'standin-text', conversation_id: expect.any(String) });
    expect(s.upstream.requests[0].body).toMatchObject({ model: 'text-standin' });
    const [record] = await usageRecords(s.t);
    expect(record).toMatchObject({ endpoint: '/chat', requestedModel: 'standin-text' });
  });

  it('works on /v1/embeddings for an embedding model, and as LUMA_MODEL', async () => {
    const embedded = await s.admin.post('/v1/embeddings', { model: 'vectors', input: 'hello' });
    expect(embedded.status).toBe(200);
    assertOpenAI('CreateEmbeddingResponse', embedded.body);
    expect(embedded.body.model).toBe('standin-embed');
    expect((await usageRecords(s.t)).at(-1)).toMatchObject({ endpoint: '/v1/embeddings', requestedModel: 'standin-embed' });
    s.upstream.reset();
    const luma = await s.admin.post('/chat/completion', { messages: [{ role: 'user', content: 'hi' }] });
    expect(luma.body.model).toBe('standin-text');
    expect(s.upstream.requests[0].body).toMatchObject({ model: 'text-standin' });
  });

  it('lists usable aliases on /v1/models with alias_for, in OpenAI’s schema, and answers /v1/models/{alias}', async () => {
    const list = await s.admin.get('/v1/models');
    assertOpenAI('ListModelsResponse', list.body);
    const byId = new Map<string, Record<string, unknown>>(list.body.data.map((m: { id: string }) => [m.id, m]));
    expect(byId.get('fast')).toMatchObject({ object: 'model', owned_by: 'standin', kind: 'model', alias_for: 'standin-text' });
    expect(byId.get('therapist')).toMatchObject({ kind: 'persona', alias_for: 'luma/therapist' });
    expect(byId.get('direct')).toMatchObject({ owned_by: 'standin', alias_for: 'standin/unlisted-upstream-model' });
    expect(byId.get('vectors')).toMatchObject({ kind: 'embedding', alias_for: 'standin-embed' });
    expect(byId.has('mistral')).toBe(false);
    // The default flag stays on the model itself.
    expect([...byId.values()].filter((m) => m.default).map((m) => m.id)).toEqual(['standin-gpt']);

    const one = await s.admin.get('/v1/models/fast');
    expect(one.status).toBe(200);
    assertOpenAI('Model', one.body);
    expect(one.body).toMatchObject({ id: 'fast', alias_for: 'standin-text' });
    expectError(await s.admin.get('/v1/models/mistral'), 404, 'model_not_found');
    expectError(await s.admin.post('/v1/chat/completions', { model: 'mistral', messages: [{ role: 'user', content: 'x' }] }), 404, 'model_not_found');
    expect(s.upstream.requests).toHaveLength(0);
  });

  describe('refused at start', () => {
    /** Starting on these aliases fails; the error it fails with. */
    async function startFailure(aliases: Record<string, string>): Promise<unknown> {
      const db = await openTestDatabase();
      try {
        const file = writeTestConfig({ primary: 'http://127.0.0.1:9/v1' }, { model_aliases: aliases });
        const t = await startTestApp({ db, env: { CONFIG_FILE: file } });
        await t.close();
        return null;
      } catch (err) {
        return err;
      } finally {
        await db.close();
      }
    }

    it.each([
      [{ 'standin-gpt': 'standin-text' }, /^model_aliases\.standin-gpt: the alias would hide the catalog model 'standin-gpt'$/],
      [{ 'luminary/socrates': 'standin-gpt' }, /^model_aliases\.luminary\/socrates: the alias would hide the persona/],
      [{ fast: 'acme/model-1' }, /^model_aliases\.fast: 'acme\/model-1' names an unknown provider 'acme'$/],
      [{ fast: 'no-such-model' }, /^model_aliases\.fast: 'no-such-model' is not a catalog model, a persona or <provider>\/<model>$/],
    ])('%j: the server does not start, and the ConfigError names the key', async (aliases, message) => {
      const err = await startFailure(aliases);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(message);
    });

    it('refuses an alias name the config cannot hold, naming it', async () => {
      const err = await startFailure({ 'has space': 'standin-gpt' });
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/model_aliases\.has space/);
    });
  });
});
