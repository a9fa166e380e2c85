import OpenAI from 'openai';
import { client, expectError } from '../support/http.js';
import { assertOpenAI } from '../support/openai-schemas.js';
import type { StandInUpstream } from '../support/stand-in-upstream.js';
import { useStandInApp } from '../support/stand-in-app.js';
import { EMBED_PRICING } from '../support/test-config.js';
import { usageRecords as usageRecordsOf, type TestApp } from '../support/test-app.js';

/** What the stand-in answers for one input: eight values derived from its length. */
const standInVector = (input: string) => Array.from({ length: 8 }, (_, i) => ((input.length + i) % 7) / 7);
const standInTokens = (inputs: string[]) => inputs.reduce((n, s) => n + Math.ceil(s.length / 4), 0);
const cosine = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
const fromBase64 = (b64: string) => {
  const bytes = Buffer.from(b64, 'base64');
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
};

describe('POST /v1/embeddings', () => {
  const stack = useStandInApp();
  let upstream: StandInUpstream;
  let t: TestApp;
  let sdk: OpenAI;
  let admin: ReturnType<typeof client>;
  beforeAll(() => ({ upstream, t, sdk, admin } = stack));
  const usageRecords = () => usageRecordsOf(t);

  it('works with the official SDK: vectors in input order, the upstream called by its own id, metered at its figures', async () => {
    const inputs = ['The quick brown fox', 'jumps over', 'the lazy dog, twice over'];
    const result = await sdk.embeddings.create({ model: 'standin-embed', input: inputs, user: 'end-user-7' });

    expect(result.model).toBe('standin-embed');
    expect(result.data.map((d) => d.index)).toEqual([0, 1, 2]);
    result.data.forEach((d, i) => standInVector(inputs[i]).forEach((x, k) => expect(d.embedding[k]).toBeCloseTo(x, 6)));
    expect(result.usage).toEqual({ prompt_tokens: standInTokens(inputs), total_tokens: standInTokens(inputs) });
    expect(upstream.requests[0].body).toMatchObject({ model: 'embed-standin', input: inputs });

    const [record] = await usageRecords();
    expect(record).toMatchObject({
      endpoint: '/v1/embeddings',
      requestedModel: 'standin-embed',
      upstreamModel: 'embed-standin',
      provider: 'standin',
      endUser: 'end-user-7',
      promptTokens: standInTokens(inputs),
      completionTokens: 0,
      status: 'ok',
      estimated: false,
    });
    expect(Number(record.costMicros)).toBe(standInTokens(inputs) * EMBED_PRICING.input);
  });

  it('answers in OpenAI’s schema, as floats by default and as little-endian float32 base64 on request', async () => {
    const floats = await admin.post('/v1/embeddings', { model: 'standin-embed', input: 'one text' });
    expect(floats.status).toBe(200);
    assertOpenAI('CreateEmbeddingResponse', floats.body);
    expect(floats.body.data).toHaveLength(1);
    // The upstream is asked for base64 (float32), so values come back at float32 precision.
    standInVector('one text').forEach((x, k) => expect(floats.body.data[0].embedding[k]).toBeCloseTo(x, 6));

    const b64 = await admin.post('/v1/embeddings', { model: 'standin-embed', input: 'one text', encoding_format: 'base64' });
    expect(b64.status).toBe(200);
    expect(typeof b64.body.data[0].embedding).toBe('string');
    // OpenAI's schema only describes float vectors; with the vector decoded the rest must match it.
    assertOpenAI('CreateEmbeddingResponse', { ...b64.body, data: [{ ...b64.body.data[0], embedding: fromBase64(b64.body.data[0].embedding) }] });
    fromBase64(b64.body.data[0].embedding).forEach((x, k) => expect(x).toBeCloseTo(floats.body.data[0].embedding[k], 6));
    expect(b64.headers.get('x-ratelimit-limit-requests')).toBeTruthy();
  });

  it('colloquy/embed works offline: deterministic unit vectors, shared words point the same way, fewer dimensions on request', async () => {
    const texts = ['red apples and green pears', 'green pears and red apples', 'quarterly tax filing deadline'];
    const { body, status } = await admin.post('/v1/embeddings', { model: 'colloquy/embed', input: texts });
    expect(status).toBe(200);
    assertOpenAI('CreateEmbeddingResponse', body);
    const [a, b, c] = body.data.map((d: { embedding: number[] }) => d.embedding);
    expect(a).toHaveLength(256);
    expect(cosine(a, a)).toBeCloseTo(1, 6);
    expect(cosine(a, b)).toBeCloseTo(1, 6); // same words, other order
    expect(cosine(a, c)).toBeLessThan(0.5);
    const again = await admin.post('/v1/embeddings', { model: 'colloquy/embed', input: texts[0] });
    expect(again.body.data[0].embedding).toEqual(a);
    expect(upstream.requests).toHaveLength(0);

    for (const dimensions of [64, 4]) {
      const short = await admin.post('/v1/embeddings', { model: 'colloquy/embed', input: texts[0], dimensions });
      expect(short.body.data[0].embedding).toHaveLength(dimensions);
      expect(cosine(short.body.data[0].embedding, short.body.data[0].embedding)).toBeCloseTo(1, 6);
    }

    const records = await usageRecords();
    expect(records).toHaveLength(4);
    expect(records[0]).toMatchObject({ provider: 'builtin', requestedModel: 'colloquy/embed', promptTokens: body.usage.prompt_tokens, status: 'ok' });
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it('lists embedding models as such, and keeps chat and embedding models apart', async () => {
    const models = await sdk.models.list();
    expect(models.data.find((m) => m.id === 'standin-embed')).toMatchObject({ kind: 'embedding' });
    expect(models.data.find((m) => m.id === 'colloquy/embed')).toMatchObject({ kind: 'embedding', owned_by: 'colloquy' });

    const asEmbedding = sdk.embeddings.create({ model: 'standin-gpt', input: 'x' });
    await expect(asEmbedding).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(asEmbedding).rejects.toMatchObject({ code: 'model_not_supported', param: 'model' });
    const asChat = sdk.chat.completions.create({ model: 'standin-embed', messages: [{ role: 'user', content: 'hi' }] });
    await expect(asChat).rejects.toMatchObject({ status: 404, code: 'model_not_supported' });
    expectError(await admin.post('/v1/embeddings', { model: 'no-such-model', input: 'x' }), 404, 'model_not_found');
    expect(upstream.requests).toHaveLength(0);
    expect(await usageRecords()).toHaveLength(0);
  });

  it('refuses bad input before any upstream call, naming the field', async () => {
    expect(expectError(await admin.post('/v1/embeddings', { model: 'standin-embed', input: '' }), 400).param).toBe('input');
    expect(expectError(await admin.post('/v1/embeddings', { model: 'standin-embed', input: [] }), 400).param).toBe('input');
    expect(expectError(await admin.post('/v1/embeddings', { model: 'standin-embed' }), 400).param).toBe('input');
    expect(expectError(await admin.post('/v1/embeddings', { input: 'x' }), 400).param).toBe('model');
    expect(expectError(await admin.post('/v1/embeddings', { model: 'standin-embed', input: 'x', encoding_format: 'hex' }), 400).param).toBe(
      'encoding_format',
    );
    expect(expectError(await admin.post('/v1/embeddings', { model: 'standin-embed', input: 'x', dimensions: 9 }), 400).param).toBe('dimensions');
    // standin-embed reads at most 64 tokens per input.
    const tooLong = expectError(
      await admin.post('/v1/embeddings', { model: 'standin-embed', input: ['short', 'word '.repeat(80)] }),
      400,
      'context_length_exceeded',
    );
    expect(tooLong.param).toBe('input');
    expect(tooLong.message).toContain('input 1');
    expect(upstream.requests).toHaveLength(0);
    expect(await usageRecords()).toHaveLength(0);
  });

  it('maps upstream failures to the SDK’s error classes and records them', async () => {
    upstream.script({ kind: 'error', status: 500 });
    await expect(sdk.embeddings.create({ model: 'standin-embed', input: 'x' })).rejects.toMatchObject({ status: 502 });
    upstream.script({ kind: 'error', status: 400, message: 'input is not valid for this model' });
    const refused = sdk.embeddings.create({ model: 'standin-embed', input: 'x' });
    await expect(refused).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(refused).rejects.toMatchObject({ message: expect.stringContaining('input is not valid for this model') });
    upstream.script({ kind: 'garbage' });
    await expect(sdk.embeddings.create({ model: 'standin-embed', input: 'x' })).rejects.toMatchObject({ status: 502 });

    const records = await usageRecords();
    expect(records.map((r) => [r.status, r.promptTokens, Number(r.costMicros)])).toEqual([
      ['error', 0, 0],
      ['error', 0, 0],
      ['error', 0, 0],
    ]);
  });

  it('holds the caller to its tokens per minute', async () => {
    const user = await admin.post('/users', { name: 'embedder' });
    const key = await admin.post(`/users/${user.body.id}/keys`, { limits: { tpm: 40 } });
    const api = client(t.url, key.body.key);
    const ok = await api.post('/v1/embeddings', { model: 'colloquy/embed', input: 'a few words to embed' });
    expect(ok.status).toBe(200);
    expect(Number(ok.headers.get('x-ratelimit-remaining-tokens'))).toBe(40 - ok.body.usage.prompt_tokens);
    const over = expectError(await api.post('/v1/embeddings', { model: 'colloquy/embed', input: 'word '.repeat(60) }), 429, 'rate_limit_exceeded');
    expect(over.type).toBe('tokens');
  });
});
